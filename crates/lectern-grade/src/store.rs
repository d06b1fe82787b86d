//! `gradebook.sqlite`: every hand-in, its content hash, every result. The other output
//! files are made from it alone, so that shards merge into exactly what one run gives.
//!
//! Each hand-in's results are written in one transaction: a batch killed at any point
//! leaves every hand-in either fully recorded or not at all, and a rerun picks up the
//! rest. WAL with `synchronous=NORMAL` keeps that across a killed process (a commit is
//! in the log before the call returns) without an fsync per hand-in.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::key::{ItemKind, Key};
use crate::{CaseOutcome, GradeError, ItemResult};

/// Bumped when the tables change; a newer gradebook is refused, not misread, and an older
/// one is brought up to date when opened (schema 1 had no `late` column: its hand-ins
/// read as carrying no LATE mark, as they did not).
const SCHEMA: &str = "2";

/// Canvas's LATE marks by hand-in source: `true` for a hand-in Canvas marked late, `false`
/// for one it did not. A hand-in whose layout carries no such mark (a student's own
/// folder, Moodle's download) is absent; the gradebook keeps it as `NULL`.
pub type LateMarks = BTreeMap<String, bool>;

/// What the exports need of the key, kept in the gradebook so that they need no course.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeySummary {
    pub course_code: String,
    pub course_title: String,
    pub fingerprint: String,
    pub items: Vec<ItemSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemSummary {
    pub id: String,
    pub lesson: Option<String>,
    /// `single choice`, `multiple choice`, `numeric`, `text`, `challenge step`, `exercise`.
    pub kind: String,
    pub max_points: f64,
    /// Choice quizzes: (letter, correct, text) in author order.
    #[serde(default)]
    pub options: Vec<(char, bool, String)>,
    /// Challenge steps: each rubric item's points and feedback.
    #[serde(default)]
    pub rubric: Vec<(f64, String)>,
    /// Exercises: each case's name (and behaviour check's), in order.
    #[serde(default)]
    pub cases: Vec<String>,
    /// Exercises: the starter code every student was given (left out of similarity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starter: Option<String>,
}

impl KeySummary {
    pub fn new(course: &lectern_lesson::Course, key: &Key) -> KeySummary {
        let items = key
            .items
            .iter()
            .map(|item| {
                let mut s = ItemSummary { id: item.id.clone(), lesson: item.lesson.clone(), kind: item.kind.name().to_owned(), max_points: item.max_points, options: Vec::new(), rubric: Vec::new(), cases: Vec::new(), starter: None };
                match &item.kind {
                    ItemKind::Choice { options, .. } => s.options = options.iter().map(|o| (o.letter, o.correct, o.text.clone())).collect(),
                    ItemKind::Step { rubric, .. } => s.rubric = rubric.iter().map(|r| (r.points, r.feedback.clone())).collect(),
                    ItemKind::Exercise(e) => {
                        s.cases = e.cases.iter().map(|c| c.name.clone()).collect();
                        s.cases.extend(e.checks.iter().map(|c| format!("check: {}", c.property.name())));
                        s.starter = Some(e.starter.clone());
                    }
                    ItemKind::Numeric { .. } | ItemKind::Text { .. } => {}
                }
                s
            })
            .collect();
        KeySummary { course_code: course.config.code.clone(), course_title: course.config.title.clone(), fingerprint: key.fingerprint.clone(), items }
    }

    pub fn max_total(&self) -> f64 {
        self.items.iter().map(|i| i.max_points).sum()
    }
}

/// One run of an exercise's code, kept so that the same file under the same key is not
/// run again.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRun {
    pub exercise_key: String,
    pub code_hash: String,
    pub outcomes: Vec<CaseOutcome>,
    /// The code itself (as UTF-8, invalid bytes replaced), kept by its hash for the
    /// similarity review; `None` when not at hand (a merge copies the texts separately).
    pub code: Option<String>,
}

/// One hand-in as recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub source: String,
    pub student: String,
    pub content_hash: String,
    /// The key fingerprint (and secret digest) it was graded under.
    pub graded_under: String,
    /// Set when the hand-in could not be graded.
    pub error: Option<String>,
    /// Messages about the hand-in as a whole (unknown IDs, files not read, …).
    pub notes: Vec<String>,
    /// In key order; empty for an error row.
    pub results: Vec<ItemResult>,
}

impl Record {
    pub fn score(&self) -> f64 {
        self.results.iter().map(|r| r.score).sum()
    }
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, GradeError> {
        let db = |e: rusqlite::Error| GradeError::Database { path: path.to_owned(), message: e.to_string() };
        let conn = Connection::open(path).map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS handins (
                 source TEXT PRIMARY KEY,
                 student TEXT NOT NULL,
                 content_hash TEXT NOT NULL,
                 graded_under TEXT NOT NULL,
                 error TEXT,
                 notes TEXT NOT NULL,
                 score REAL NOT NULL,
                 late INTEGER
             );
             CREATE TABLE IF NOT EXISTS results (
                 source TEXT NOT NULL REFERENCES handins(source) ON DELETE CASCADE,
                 position INTEGER NOT NULL,
                 item TEXT NOT NULL,
                 score REAL NOT NULL,
                 max_score REAL NOT NULL,
                 answer TEXT NOT NULL,
                 feedback TEXT NOT NULL,
                 flag TEXT,
                 detail TEXT NOT NULL,
                 PRIMARY KEY (source, item)
             );
             CREATE TABLE IF NOT EXISTS code_runs (
                 exercise_key TEXT NOT NULL,
                 code_hash TEXT NOT NULL,
                 outcomes TEXT NOT NULL,
                 PRIMARY KEY (exercise_key, code_hash)
             );
             CREATE TABLE IF NOT EXISTS code_texts (code_hash TEXT PRIMARY KEY, text TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS similarity (item TEXT PRIMARY KEY, inputs TEXT NOT NULL, pairs TEXT NOT NULL);",
        )
        .map_err(db)?;
        let store = Store { conn, path: path.to_owned() };
        match store.meta("schema")?.as_deref() {
            None => store.set_meta("schema", SCHEMA)?,
            Some(SCHEMA) => {}
            Some("1") => store.migrate_from_1()?,
            Some(s) => return Err(GradeError::Incompatible { path: path.to_owned(), message: format!("written by another version of Lectern (schema {s}, this one reads {SCHEMA}); grade into a new folder") }),
        }
        Ok(store)
    }

    /// Schema 1 → 2: the `late` column, `NULL` for every hand-in recorded (no layout that
    /// carried a LATE mark was read then). In one transaction, and only once however many
    /// connections open the gradebook at the same time.
    fn migrate_from_1(&self) -> Result<(), GradeError> {
        let db = self.err();
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(&db)?;
        let done = (|| -> Result<(), rusqlite::Error> {
            let schema: String = self.conn.query_row("SELECT value FROM meta WHERE name = 'schema'", [], |r| r.get(0))?;
            let has_late: bool = self.conn.query_row("SELECT count(*) > 0 FROM pragma_table_info('handins') WHERE name = 'late'", [], |r| r.get(0))?;
            if schema == "1" && !has_late {
                self.conn.execute_batch("ALTER TABLE handins ADD COLUMN late INTEGER")?;
            }
            self.conn.execute("UPDATE meta SET value = ?1 WHERE name = 'schema'", [SCHEMA])?;
            Ok(())
        })();
        match done {
            Ok(()) => self.conn.execute_batch("COMMIT").map_err(&db),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(db(e))
            }
        }
    }

    /// Checkpoints the write-ahead log into the database file and closes it, leaving one
    /// self-contained file.
    pub fn close(self) -> Result<(), GradeError> {
        let path = self.path.clone();
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;").map_err(|e| GradeError::Database { path: path.clone(), message: e.to_string() })?;
        self.conn.close().map_err(|(_, e)| GradeError::Database { path, message: e.to_string() })
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> GradeError + '_ {
        |e| GradeError::Database { path: self.path.clone(), message: e.to_string() }
    }

    pub fn meta(&self, name: &str) -> Result<Option<String>, GradeError> {
        self.conn.query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| r.get(0)).optional().map_err(self.err())
    }

    pub fn set_meta(&self, name: &str, value: &str) -> Result<(), GradeError> {
        self.conn.execute("INSERT INTO meta (name, value) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET value = excluded.value", [name, value]).map_err(self.err())?;
        Ok(())
    }

    /// The key the gradebook was last written with.
    pub fn key(&self) -> Result<Option<KeySummary>, GradeError> {
        let Some(json) = self.meta("key")? else { return Ok(None) };
        serde_json::from_str(&json).map(Some).map_err(|e| GradeError::Database { path: self.path.clone(), message: format!("the stored key is unreadable: {e}") })
    }

    pub fn set_key(&self, key: &KeySummary) -> Result<(), GradeError> {
        self.set_meta("key", &serde_json::to_string(key).unwrap_or_default())
    }

    /// source → (content hash, what it was graded under), for every recorded hand-in.
    pub fn graded(&self) -> Result<HashMap<String, (String, String)>, GradeError> {
        let mut stmt = self.conn.prepare("SELECT source, content_hash, graded_under FROM handins").map_err(self.err())?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get::<_, String>(1)?, r.get::<_, String>(2)?)))).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// Forgets hand-ins that are no longer among the submissions.
    pub fn forget(&mut self, sources: &[String]) -> Result<(), GradeError> {
        let tx = self.conn.transaction().map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })?;
        for s in sources {
            tx.execute("DELETE FROM results WHERE source = ?1", [s]).map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })?;
            tx.execute("DELETE FROM handins WHERE source = ?1", [s]).map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })?;
        }
        tx.commit().map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })
    }

    /// Records hand-ins, each with all its results, and code runs, in one transaction:
    /// after a crash each hand-in is in the gradebook whole or not at all. None of them
    /// carries a LATE mark.
    pub fn put_many(&mut self, records: &[Record], runs: &[CodeRun]) -> Result<(), GradeError> {
        self.put_marked(records, &LateMarks::new(), runs)
    }

    /// [`Store::put_many`], each hand-in with its LATE mark from `late` (none where absent).
    pub fn put_marked(&mut self, records: &[Record], late: &LateMarks, runs: &[CodeRun]) -> Result<(), GradeError> {
        let path = self.path.clone();
        let db = move |e: rusqlite::Error| GradeError::Database { path: path.clone(), message: e.to_string() };
        let tx = self.conn.transaction().map_err(&db)?;
        {
            let mut delete = tx.prepare_cached("DELETE FROM results WHERE source = ?1").map_err(&db)?;
            let mut handin = tx
                .prepare_cached(
                    "INSERT INTO handins (source, student, content_hash, graded_under, error, notes, score, late) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT(source) DO UPDATE SET student = excluded.student, content_hash = excluded.content_hash, graded_under = excluded.graded_under,
                         error = excluded.error, notes = excluded.notes, score = excluded.score, late = excluded.late",
                )
                .map_err(&db)?;
            let mut result = tx.prepare_cached("INSERT INTO results (source, position, item, score, max_score, answer, feedback, flag, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)").map_err(&db)?;
            let mut run = tx.prepare_cached("INSERT OR REPLACE INTO code_runs (exercise_key, code_hash, outcomes) VALUES (?1, ?2, ?3)").map_err(&db)?;
            let mut text = tx.prepare_cached("INSERT OR IGNORE INTO code_texts (code_hash, text) VALUES (?1, ?2)").map_err(&db)?;
            for record in records {
                delete.execute([&record.source]).map_err(&db)?;
                handin
                    .execute(params![
                        record.source,
                        record.student,
                        record.content_hash,
                        record.graded_under,
                        record.error,
                        serde_json::to_string(&record.notes).unwrap_or_default(),
                        record.score(),
                        late.get(&record.source)
                    ])
                    .map_err(&db)?;
                for (i, r) in record.results.iter().enumerate() {
                    result
                        .execute(params![
                            record.source,
                            i as i64,
                            r.item,
                            r.score,
                            r.max_score,
                            r.answer,
                            serde_json::to_string(&r.feedback).unwrap_or_default(),
                            r.flag,
                            serde_json::to_string(&r.detail).unwrap_or_default()
                        ])
                        .map_err(&db)?;
                }
            }
            for r in runs {
                run.execute(params![r.exercise_key, r.code_hash, serde_json::to_string(&r.outcomes).unwrap_or_default()]).map_err(&db)?;
                if let Some(code) = &r.code {
                    text.execute(params![r.code_hash, code]).map_err(&db)?;
                }
            }
        }
        tx.commit().map_err(&db)
    }

    /// Every recorded hand-in with its results, sorted by student then source.
    pub fn records(&self) -> Result<Vec<Record>, GradeError> {
        let mut records: Vec<Record> = {
            let mut stmt = self.conn.prepare("SELECT source, student, content_hash, graded_under, error, notes FROM handins").map_err(self.err())?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Record {
                        source: r.get(0)?,
                        student: r.get(1)?,
                        content_hash: r.get(2)?,
                        graded_under: r.get(3)?,
                        error: r.get(4)?,
                        notes: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                        results: Vec::new(),
                    })
                })
                .map_err(self.err())?;
            rows.collect::<Result<_, _>>().map_err(self.err())?
        };
        let mut index: HashMap<String, usize> = records.iter().enumerate().map(|(i, r)| (r.source.clone(), i)).collect();
        let mut stmt = self.conn.prepare(// Rows of one hand-in are inserted in position order in one transaction, so
        // rowid order is position order within each hand-in, and needs no sort.
        "SELECT source, item, score, max_score, answer, feedback, flag, detail FROM results ORDER BY rowid").map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    ItemResult {
                        item: r.get(1)?,
                        score: r.get(2)?,
                        max_score: r.get(3)?,
                        answer: r.get(4)?,
                        feedback: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                        flag: r.get(6)?,
                        detail: serde_json::from_str(&r.get::<_, String>(7)?).unwrap_or_default(),
                        overridden: None,
                    },
                ))
            })
            .map_err(self.err())?;
        for row in rows {
            let (source, result) = row.map_err(self.err())?;
            if let Some(&i) = index.get(&source) {
                records[i].results.push(result);
            }
        }
        index.clear();
        records.sort_by(|a, b| (&a.student, &a.source).cmp(&(&b.student, &b.source)));
        Ok(records)
    }

    /// The LATE mark of every recorded hand-in that carries one.
    pub fn late_marks(&self) -> Result<LateMarks, GradeError> {
        let mut stmt = self.conn.prepare("SELECT source, late FROM handins WHERE late IS NOT NULL").map_err(self.err())?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// A cached run of one exercise's code, if the same code ran under the same key.
    pub fn code_run(&self, exercise_key: &str, code_hash: &str) -> Result<Option<Vec<CaseOutcome>>, GradeError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT outcomes FROM code_runs WHERE exercise_key = ?1 AND code_hash = ?2", [exercise_key, code_hash], |r| r.get(0))
            .optional()
            .map_err(self.err())?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Copies every hand-in (with its LATE mark) of `other` into this gradebook, with the
    /// code runs and code texts its hand-ins' results refer to (shard merge): what a
    /// shard's folder kept from an earlier run of other hand-ins is left behind.
    pub fn absorb(&mut self, other: &Store) -> Result<(), GradeError> {
        let records = other.records()?;
        let late = other.late_marks()?;
        let used: std::collections::HashSet<&str> =
            records.iter().flat_map(|r| &r.results).filter(|x| matches!(x.detail, crate::Detail::Cases { .. })).map(|x| x.answer.as_str()).collect();
        let mut runs = Vec::new();
        {
            let mut stmt = other.conn.prepare("SELECT exercise_key, code_hash, outcomes FROM code_runs").map_err(other.err())?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))).map_err(other.err())?;
            for row in rows {
                let (exercise_key, code_hash, outcomes) = row.map_err(other.err())?;
                if !used.contains(code_hash.as_str()) {
                    continue;
                }
                runs.push(CodeRun { exercise_key, code_hash, outcomes: serde_json::from_str(&outcomes).unwrap_or_default(), code: None });
            }
        }
        self.put_marked(&records, &late, &runs)?;
        let mut texts: Vec<(String, String)> = other.code_texts()?.into_iter().filter(|(hash, _)| used.contains(hash.as_str())).collect();
        texts.sort();
        let tx = self.conn.transaction().map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })?;
        for (hash, text) in &texts {
            tx.execute("INSERT OR IGNORE INTO code_texts (code_hash, text) VALUES (?1, ?2)", [hash, text])
                .map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })?;
        }
        tx.commit().map_err(|e| GradeError::Database { path: self.path.clone(), message: e.to_string() })
    }

    /// Forgets the code texts no recorded result refers to (code handed in again, or by
    /// hand-ins no longer in the class).
    pub fn forget_unused_code(&self) -> Result<(), GradeError> {
        self.conn.execute("DELETE FROM code_texts WHERE code_hash NOT IN (SELECT answer FROM results)", []).map_err(self.err())?;
        Ok(())
    }

    /// Every kept code text, by its hash (an exercise result's `answer`).
    pub fn code_texts(&self) -> Result<HashMap<String, String>, GradeError> {
        let mut stmt = self.conn.prepare("SELECT code_hash, text FROM code_texts").map_err(self.err())?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(self.err())?;
        rows.collect::<Result<_, _>>().map_err(self.err())
    }

    /// The similarity pairs kept for `item`, if they were found from the same `inputs`.
    pub fn similarity(&self, item: &str, inputs: &str) -> Result<Option<crate::similarity::Found>, GradeError> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT pairs FROM similarity WHERE item = ?1 AND inputs = ?2", [item, inputs], |r| r.get(0))
            .optional()
            .map_err(self.err())?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Keeps the similarity pairs of `item`, found from `inputs`.
    pub fn set_similarity(&self, item: &str, inputs: &str, found: &crate::similarity::Found) -> Result<(), GradeError> {
        let json = serde_json::to_string(found).unwrap_or_default();
        self.conn
            .execute("INSERT INTO similarity (item, inputs, pairs) VALUES (?1, ?2, ?3) ON CONFLICT(item) DO UPDATE SET inputs = excluded.inputs, pairs = excluded.pairs", [item, inputs, &json])
            .map_err(self.err())?;
        Ok(())
    }
}
