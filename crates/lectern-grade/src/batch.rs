//! A whole class in one batch: read every hand-in, grade in parallel those whose content
//! or key changed, record each in its own transaction, then write the exports from the
//! gradebook alone.

use std::path::{Path, PathBuf};
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Instant;

use lectern_lesson::model::{Course, Exercise};

use crate::answers;
use crate::handin::{list_submissions, HandIn, Origin, ReadLimits, ANSWERS};
use crate::key::{ItemKind, Key};
use crate::store::{CodeRun, KeySummary, LateMarks, Record, Store};
use crate::{export, quiz, rubric, CaseOutcome, Detail, GradeError, ItemResult, SimilarityFinder};

/// Runs one exercise's code (in the runner's sandbox) and judges every case.
pub trait CodeRunner: Sync {
    /// The outcome of every case and check. An error says that code cannot be run here
    /// at all (no Python environment, no sandbox, a scratch folder that cannot be made):
    /// never the student's fault, so it stops the batch instead of scoring anybody.
    fn run(&self, exercise: &Exercise, code: &[u8]) -> Result<Vec<CaseOutcome>, String>;
    /// What, besides the exercise's key, decides outcomes (a secret seed changes hidden
    /// cases): part of what a hand-in is graded under.
    fn fingerprint(&self) -> String;
    /// What ran the code, once it has run any (`Python 3.11.2, numpy 2.2.6, BLAS …`):
    /// recorded in the gradebook and shown in the report.
    fn environment(&self) -> Option<String> {
        None
    }
}

/// `--shard K/N`: this run grades the hand-ins whose source hashes to K−1 modulo N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `K/N` with 1 ≤ K ≤ N.
    pub fn parse(s: &str) -> Option<Shard> {
        let (k, n) = s.split_once('/')?;
        let (index, count) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
        (1..=count).contains(&index).then_some(Shard { index, count })
    }

    pub fn holds(&self, source: &str) -> bool {
        lectern_lesson::stable_hash([source.as_bytes()]) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Hand-ins graded at once.
    pub jobs: usize,
    pub shard: Option<Shard>,
    /// The largest file read from a hand-in.
    pub max_file_bytes: u64,
    /// Write only `gradebook.sqlite` (shards: `merge` writes the rest).
    pub database_only: bool,
    /// Drop from the gradebook the hand-ins that are no longer among the submissions
    /// (without it such a run changes nothing and fails).
    pub prune: bool,
    /// The score from which a pair is listed in `similarity.html`
    /// ([`crate::similarity::DEFAULT_THRESHOLD`] by default).
    pub similarity_threshold: f64,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions { jobs: std::thread::available_parallelism().map_or(2, usize::from), shard: None, max_file_bytes: 1 << 20, database_only: false, prune: false, similarity_threshold: crate::similarity::DEFAULT_THRESHOLD }
    }
}

/// Where a batch stands, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
    pub elapsed: std::time::Duration,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchSummary {
    /// Hand-ins in this run (this shard's, with `--shard`).
    pub handins: usize,
    /// Graded in this run (new, or their content or key changed).
    pub graded: usize,
    /// Already in the gradebook under the same content and key.
    pub unchanged: usize,
    /// Hand-ins that could not be graded.
    pub errors: usize,
    /// Answers flagged for review.
    pub flagged: usize,
    /// Notes about the submissions folder itself (entries skipped).
    pub notes: Vec<String>,
    /// Time spent reading and grading hand-ins into the gradebook.
    pub grading: std::time::Duration,
    /// Time spent writing the exports from the gradebook.
    pub exporting: std::time::Duration,
}

/// Grades the hand-ins at `submissions` into `out`.
pub fn grade_batch(
    course: &Course,
    submissions: &Path,
    out: &Path,
    options: &BatchOptions,
    runner: &dyn CodeRunner,
    similarity: Option<&dyn SimilarityFinder>,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<BatchSummary, GradeError> {
    let key = Key::new(course);
    // The hand-ins are listed before anything in `out` changes: a run that finds none, or
    // fewer than the gradebook holds, must not empty the gradebook and its exports.
    let wanted = key.items.iter().filter_map(|i| if let ItemKind::Exercise(e) = &i.kind { Some(e.entry.clone()) } else { None }).collect();
    let limits = ReadLimits { max_file_bytes: options.max_file_bytes, wanted };
    let (mut pending, notes) = list_submissions(submissions, &limits)?;
    if pending.is_empty() {
        return Err(GradeError::NoHandIns { path: submissions.to_owned(), skipped: notes.len() });
    }
    // Which class this is (every hand-in's name, before sharding): shards of different
    // classes are never merged.
    let class_id = {
        let mut sources: Vec<&str> = pending.iter().map(|h| h.source.as_str()).collect();
        sources.sort_unstable();
        format!("{:016x}", lectern_lesson::stable_hash(sources.iter().map(|s| s.as_bytes())))
    };
    if let Some(shard) = options.shard {
        pending.retain(|h| shard.holds(&h.source));
    }
    std::fs::create_dir_all(out).map_err(|e| GradeError::Output { path: out.to_owned(), message: e.to_string() })?;
    let mut store = Store::open(&out.join("gradebook.sqlite"))?;
    let summary = KeySummary::new(course, &key);
    if let Some(old) = store.key()?
        && old.course_code != summary.course_code
    {
        return Err(GradeError::Incompatible {
            path: out.join("gradebook.sqlite"),
            message: format!("this gradebook is for course {}, not {}; grade into another folder", old.course_code, summary.course_code),
        });
    }
    let graded_under = format!("{}:{}", key.fingerprint, runner.fingerprint());
    let known = store.graded()?;
    let present: HashSet<&str> = pending.iter().map(|p| p.source.as_str()).collect();
    let gone: Vec<String> = known.keys().filter(|s| !present.contains(s.as_str())).cloned().collect();
    if !gone.is_empty() && !options.prune {
        return Err(GradeError::FewerHandIns { out: out.to_owned(), submissions: submissions.to_owned(), gone });
    }
    store.set_key(&summary)?;
    // What a merge checks: which part of the class this is, and that it was finished.
    store.set_meta("shard", &options.shard.map_or_else(|| "all".to_owned(), |s| format!("{}/{}", s.index, s.count)))?;
    store.set_meta("complete", "no")?;
    store.set_meta("class", &class_id)?;
    store.forget(&gone)?;

    let start = Instant::now();
    let total = pending.len();
    progress(Progress { done: 0, total, elapsed: start.elapsed() });
    let queue = Mutex::new(pending.into_iter());
    let jobs = options.jobs.clamp(1, total.max(1));
    let (tx, rx) = mpsc::sync_channel::<Option<Result<Graded, GradeError>>>(jobs * 64);
    let mut graded = 0;
    // What this run recorded, kept for the exports when it is the whole class.
    let mut fresh = Vec::new();
    // The LATE marks of what this run graded.
    let mut late = LateMarks::new();
    std::thread::scope(|scope| -> Result<(), GradeError> {
        for _ in 0..jobs {
            let tx = tx.clone();
            let (key, queue, known, graded_under, limits) = (&key, &queue, &known, &graded_under, &limits);
            let store_path = out.join("gradebook.sqlite");
            scope.spawn(move || {
                // Each worker looks up earlier code runs through its own connection.
                let reader = Store::open(&store_path).ok();
                while let Some(next) = queue.lock().ok().and_then(|mut q| q.next()) {
                    let origin = next.origin().cloned();
                    let handin = next.load(limits);
                    let hash = crate::handin::content_hash(&handin, origin.as_ref());
                    let unchanged = known.get(&handin.source).is_some_and(|(h, under)| *h == hash && under == graded_under);
                    let message = (!unchanged).then(|| {
                        grade_submission(key, &handin, origin.as_ref(), &hash, graded_under, runner, reader.as_ref()).map(|(record, runs)| Graded { record, late: origin.as_ref().and_then(|o| o.late), runs })
                    });
                    if tx.send(message).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Owned here, so that an error below drops it and the workers stop sending.
        let rx = rx;
        let mut done = 0;
        let mut batch = Vec::new();
        let mut batch_records = Vec::new();
        let mut runs = Vec::new();
        while let Ok(first) = rx.recv() {
            // Whatever the workers have finished goes into one transaction (each hand-in
            // whole): fewer commits, and still nothing half-written after a kill.
            let mut message = Some(first);
            while let Some(m) = message {
                done += 1;
                if let Some(graded) = m {
                    batch.push(graded);
                }
                message = if batch.len() < 256 { rx.try_recv().ok() } else { None };
            }
            // A hand-in whose code could not be run at all: what is finished is kept, and
            // the batch stops with the runner's error (nothing scored, nothing cached).
            if let Some(at) = batch.iter().position(Result::is_err) {
                let failed = batch.swap_remove(at);
                let finished: Vec<_> = std::mem::take(&mut batch).into_iter().flatten().collect();
                let (records, runs) = Graded::split(finished, &mut late);
                store.put_marked(&records, &late, &runs)?;
                return failed.map(|_| ());
            }
            let (records, more_runs) = Graded::split(std::mem::take(&mut batch).into_iter().flatten().collect(), &mut late);
            batch_records.extend(records);
            runs.extend(more_runs);
            graded += batch_records.len();
            store.put_marked(&batch_records, &late, &runs)?;
            fresh.append(&mut batch_records);
            runs.clear();
            progress(Progress { done, total, elapsed: start.elapsed() });
        }
        Ok(())
    })?;

    if let Some(environment) = runner.environment() {
        store.set_meta("environment", &environment)?;
    }
    store.set_meta("complete", "yes")?;
    store.forget_unused_code()?;
    let grading = start.elapsed();
    let records = if graded == total && gone.is_empty() && known.is_empty() {
        // A first run: the gradebook holds exactly what was just written (the tests
        // compare such a run with one exported from the gradebook, byte for byte).
        fresh.sort_by(|a: &Record, b: &Record| (&a.student, &a.source).cmp(&(&b.student, &b.source)));
        fresh
    } else {
        drop(fresh);
        store.records()?
    };
    // Errors and flags as the exports show them (clashing claims are errors there).
    let (errors, flagged) = if options.database_only {
        errors_and_flags(&records)
    } else {
        let mut class = export::Class::new(summary, records, &export::overrides_path(out))?;
        class.environment = store.meta("environment")?;
        let review = similarity.map(|finder| crate::similarity::review(&class, &store, finder, options.similarity_threshold)).transpose()?;
        class.similarity = review.as_ref().map(crate::similarity::Review::summary);
        export::write_exports(&class, &store.late_marks()?, review.as_ref(), out)?;
        errors_and_flags(&class.students)
    };
    Ok(BatchSummary { handins: total, graded, unchanged: total - graded, errors, flagged, notes, grading, exporting: start.elapsed() - grading })
}

/// Combines shard outputs (each a `gradebook.sqlite` in its folder) into `out`, writing
/// exactly what a single run over all hand-ins writes (the similarity review too, from
/// the code and answers the shards kept, with `similarity` at `threshold`).
pub fn merge_shards(shards: &[PathBuf], out: &Path, similarity: Option<&dyn SimilarityFinder>, threshold: f64) -> Result<BatchSummary, GradeError> {
    std::fs::create_dir_all(out).map_err(|e| GradeError::Output { path: out.to_owned(), message: e.to_string() })?;
    let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
    if let Some(shard) = shards.iter().find(|s| same(s, out)) {
        return Err(GradeError::Merge { message: format!("--out {} is one of the shards; merge into another folder", shard.display()) });
    }
    // The merged gradebook is made aside and swapped in whole; a refused or failed merge
    // leaves nothing of it behind.
    let building = out.join("gradebook.sqlite.merging");
    let remove_building = || {
        for stale in ["gradebook.sqlite.merging", "gradebook.sqlite.merging-wal", "gradebook.sqlite.merging-shm"] {
            let _ = std::fs::remove_file(out.join(stale));
        }
    };
    remove_building();
    let merged = merge_into(shards, out, &building, similarity, threshold);
    if merged.is_err() {
        remove_building();
    }
    merged
}

/// [`merge_shards`] once its folder is ready: the gradebook made at `building`, then
/// swapped in.
fn merge_into(shards: &[PathBuf], out: &Path, building: &Path, similarity: Option<&dyn SimilarityFinder>, threshold: f64) -> Result<BatchSummary, GradeError> {
    let target = out.join("gradebook.sqlite");
    let mut store = Store::open(building)?;
    let mut key: Option<(KeySummary, &Path)> = None;
    let mut parts: Vec<(Shard, &Path)> = Vec::new();
    let mut class: Option<(String, &Path)> = None;
    let mut graded_under: Option<String> = None;
    for shard in shards {
        let path = shard.join("gradebook.sqlite");
        if !path.is_file() {
            return Err(GradeError::Merge { message: format!("{} has no gradebook.sqlite", shard.display()) });
        }
        let other = Store::open(&path)?;
        let Some(k) = other.key()? else {
            return Err(GradeError::Merge { message: format!("{} holds no graded batch", path.display()) });
        };
        match &key {
            Some((first, first_path)) if first.fingerprint != k.fingerprint => {
                return Err(GradeError::Merge {
                    message: format!("{} and {} were graded under different answer keys; regrade one with the other's course", first_path.display(), path.display()),
                });
            }
            Some(_) => {}
            None => key = Some((k, shard.as_path())),
        }
        let part = other.meta("shard")?.as_deref().and_then(Shard::parse);
        let Some(part) = part else {
            return Err(GradeError::Merge { message: format!("{} is not a shard (graded without --shard K/N)", shard.display()) });
        };
        if other.meta("complete")?.as_deref() != Some("yes") {
            return Err(GradeError::Merge { message: format!("{} was stopped before it finished; run its `lectern grade --shard {}/{}` again", shard.display(), part.index, part.count) });
        }
        if let Some((first, first_path)) = parts.iter().find(|(p, _)| p.count != part.count) {
            return Err(GradeError::Merge {
                message: format!(
                    "{} is part {}/{} and {} is part {}/{}: shards of runs with different N cannot be merged",
                    first_path.display(),
                    first.index,
                    first.count,
                    shard.display(),
                    part.index,
                    part.count
                ),
            });
        }
        if let Some((_, first_path)) = parts.iter().find(|(p, _)| *p == part) {
            return Err(GradeError::Merge { message: format!("part {}/{} is given twice: {} and {}", part.index, part.count, first_path.display(), shard.display()) });
        }
        // Gradebooks from before the class was recorded carry none, and are not compared.
        if let Some(this) = other.meta("class")? {
            match &class {
                Some((first, first_path)) if *first != this => {
                    return Err(GradeError::Merge {
                        message: format!("{} and {} were graded from different sets of hand-ins; grade every shard from the same submissions", first_path.display(), shard.display()),
                    });
                }
                Some(_) => {}
                None => class = Some((this, shard.as_path())),
            }
        }
        parts.push((part, shard.as_path()));
        let handins = other.graded()?;
        for (_, under) in handins.values() {
            match &graded_under {
                Some(first) if first != under => {
                    return Err(GradeError::Merge { message: format!("{} was graded under another key or secret than the other shards; regrade it with the same course and --secret", shard.display()) });
                }
                Some(_) => {}
                None => graded_under = Some(under.clone()),
            }
        }
        let existing = store.graded()?;
        if let Some(clash) = handins.keys().find(|s| existing.contains_key(*s)) {
            return Err(GradeError::Merge { message: format!("hand-in `{clash}` is in two shards; were the shards made with the same N?") });
        }
        store.absorb(&other)?;
    }
    let Some((key, _)) = key else {
        return Err(GradeError::Merge { message: "no shards given".into() });
    };
    let count = parts[0].0.count;
    let missing: Vec<String> = (1..=count).filter(|k| !parts.iter().any(|(p, _)| p.index == *k)).map(|k| format!("{k}/{count}")).collect();
    if !missing.is_empty() {
        return Err(GradeError::Merge { message: format!("shard {} missing: every part of the class must be merged", missing.join(", ")) });
    }
    store.set_key(&key)?;
    // What one run over the whole class records.
    store.set_meta("shard", "all")?;
    store.set_meta("complete", "yes")?;
    if let Some((class, _)) = &class {
        store.set_meta("class", class)?;
    }
    // What ran each shard's code (the same everywhere, normally: said once).
    let mut environments = std::collections::BTreeSet::new();
    for shard in shards {
        if let Some(e) = Store::open(&shard.join("gradebook.sqlite"))?.meta("environment")? {
            environments.insert(e);
        }
    }
    let environment = (!environments.is_empty()).then(|| environments.into_iter().collect::<Vec<_>>().join("; "));
    if let Some(e) = &environment {
        store.set_meta("environment", e)?;
    }
    let records = store.records()?;
    let late = store.late_marks()?;
    let started = Instant::now();
    let mut class = export::Class::new(key, records, &export::overrides_path(out))?;
    class.environment = environment;
    let review = similarity.map(|finder| crate::similarity::review(&class, &store, finder, threshold)).transpose()?;
    class.similarity = review.as_ref().map(crate::similarity::Review::summary);
    store.close()?;
    for stale in ["gradebook.sqlite-wal", "gradebook.sqlite-shm"] {
        let _ = std::fs::remove_file(out.join(stale));
    }
    std::fs::rename(building, &target).map_err(|e| GradeError::Output { path: target.clone(), message: e.to_string() })?;
    export::write_exports(&class, &late, review.as_ref(), out)?;
    let (errors, flagged) = errors_and_flags(&class.students);
    let handins = class.students.len();
    Ok(BatchSummary { handins, graded: 0, unchanged: handins, errors, flagged, notes: Vec::new(), grading: std::time::Duration::ZERO, exporting: started.elapsed() })
}

/// One hand-in graded by a worker: its record, its LATE mark, and the code it ran.
#[derive(Debug)]
struct Graded {
    record: Record,
    late: Option<bool>,
    runs: Vec<CodeRun>,
}

impl Graded {
    /// The records and code runs of `graded`, their LATE marks put into `late`.
    fn split(graded: Vec<Graded>, late: &mut LateMarks) -> (Vec<Record>, Vec<CodeRun>) {
        let mut records = Vec::with_capacity(graded.len());
        let mut runs = Vec::new();
        for g in graded {
            match g.late {
                Some(mark) => late.insert(g.record.source.clone(), mark),
                None => late.remove(&g.record.source),
            };
            records.push(g.record);
            runs.extend(g.runs);
        }
        (records, runs)
    }
}

/// How many hand-ins could not be graded, and how many answers are flagged for review.
fn errors_and_flags(records: &[Record]) -> (usize, usize) {
    let errors = records.iter().filter(|r| r.error.is_some()).count();
    let flagged = records.iter().flat_map(|r| &r.results).filter(|r| r.flag.is_some()).count();
    (errors, flagged)
}

/// Grades one hand-in. What goes wrong with the hand-in becomes its error row or an
/// item's feedback; an error is the runner's (code cannot be run here at all), and
/// grades nothing.
pub fn grade_handin(key: &Key, handin: &HandIn, hash: &str, graded_under: &str, runner: &dyn CodeRunner, store: Option<&Store>) -> Result<(Record, Vec<CodeRun>), GradeError> {
    grade_submission(key, handin, None, hash, graded_under, runner, store)
}

/// [`grade_handin`] for a hand-in that came in an LMS's layout (`origin`): the student is
/// the ID the LMS's names give, whatever `student` in `answers.toml` says, since the LMS
/// knows who uploaded and its gradebook matches on that ID.
pub fn grade_submission(
    key: &Key,
    handin: &HandIn,
    origin: Option<&Origin>,
    hash: &str,
    graded_under: &str,
    runner: &dyn CodeRunner,
    store: Option<&Store>,
) -> Result<(Record, Vec<CodeRun>), GradeError> {
    let mut record = Record {
        source: handin.source.clone(),
        student: handin.source.clone(),
        content_hash: hash.to_owned(),
        graded_under: graded_under.to_owned(),
        error: None,
        notes: handin.problems.clone(),
        results: Vec::new(),
    };
    if let Some(e) = &handin.error {
        record.error = Some(e.clone());
        return Ok((record, Vec::new()));
    }
    let given = match handin.files.get(ANSWERS).map(|b| answers::parse(b)) {
        Some(Ok(a)) => Some(a),
        Some(Err(message)) => {
            record.error = Some(message);
            return Ok((record, Vec::new()));
        }
        None => None,
    };
    let claimed = match origin {
        Some(o) => answers::student_id(&o.student),
        None => given.as_ref().and_then(|a| a.student.clone()).unwrap_or_else(|| answers::student_id(&record.source)),
    };
    if !answers::valid_student_id(&claimed) {
        // The row keeps the folder's name: the claimed ID is not safe to show as one.
        record.error = Some(format!(
            "`{}` cannot be a student ID: use letters, digits, `.`, `_`, `-` or `@`, starting with a letter or digit",
            answers::shown(&claimed)
        ));
        return Ok((record, Vec::new()));
    }
    record.student = claimed;
    let exercise_files: Vec<&str> = key.items.iter().filter_map(|i| if let ItemKind::Exercise(e) = &i.kind { Some(e.entry.as_str()) } else { None }).collect();
    if given.is_none() && !exercise_files.iter().any(|f| handin.files.contains_key(*f)) {
        let mut expected = vec![ANSWERS];
        expected.extend(&exercise_files);
        record.error = Some(format!("nothing to grade: the hand-in has none of {}", expected.join(", ")));
        return Ok((record, Vec::new()));
    }
    match &given {
        Some(a) => record.notes.extend(a.unknown(key)),
        None if key.items.iter().any(|i| !matches!(i.kind, ItemKind::Exercise(_))) => record.notes.push(format!("the hand-in has no {ANSWERS}: every quiz and challenge step scores 0")),
        None => {}
    }
    let mut runs = Vec::new();
    for item in &key.items {
        let result = match &item.kind {
            ItemKind::Choice { .. } | ItemKind::Numeric { .. } | ItemKind::Text { .. } => {
                let answer = given.as_ref().zip(item.lesson.as_deref()).and_then(|(a, l)| a.quiz(l, &item.id));
                quiz::grade_quiz(&item.id, &item.kind, item.max_points, answer)
            }
            ItemKind::Step { rubric, solution } => {
                let (challenge, step) = item.id.split_once('/').unwrap_or((&item.id, ""));
                let answer = given.as_ref().zip(item.lesson.as_deref()).and_then(|(a, l)| a.step(l, challenge, step));
                rubric::grade_step(&item.id, rubric, solution, item.max_points, answer)
            }
            ItemKind::Exercise(exercise) => grade_code(&item.id, exercise, handin.files.get(&exercise.entry), runner, store, &mut runs)?,
        };
        record.results.push(result);
    }
    Ok((record, runs))
}

fn grade_code(id: &str, exercise: &Exercise, code: Option<&Vec<u8>>, runner: &dyn CodeRunner, store: Option<&Store>, runs: &mut Vec<CodeRun>) -> Result<ItemResult, GradeError> {
    let mut result = ItemResult { item: id.to_owned(), score: 0.0, max_score: exercise.points, answer: String::new(), feedback: Vec::new(), flag: None, detail: Detail::None, overridden: None };
    let Some(code) = code else {
        result.feedback.push(format!("{id}: no {} in the hand-in.", exercise.entry));
        return Ok(result);
    };
    let code_hash = format!("{:016x}", lectern_lesson::stable_hash([code.as_slice()]));
    result.answer = code_hash.clone();
    let exercise_key = format!("{}:{}", Key::exercise_fingerprint(exercise), runner.fingerprint());
    let cached = store.and_then(|s| s.code_run(&exercise_key, &code_hash).ok().flatten());
    let mut outcomes = match cached {
        Some(o) => {
            // Recorded again with the code itself, which a gradebook written before the
            // similarity review did not keep.
            runs.push(CodeRun { exercise_key, code_hash, outcomes: o.clone(), code: Some(String::from_utf8_lossy(code).into_owned()) });
            o
        }
        None => match run_alone_if_the_machine_may_be_to_blame(runner, exercise, code) {
            Ok(o) => {
                runs.push(CodeRun { exercise_key, code_hash, outcomes: o.clone(), code: Some(String::from_utf8_lossy(code).into_owned()) });
                o
            }
            Err(message) => return Err(GradeError::CodeRunner { exercise: exercise.id.clone(), message }),
        },
    };
    result.flag = crate::code::weigh(exercise, &mut outcomes);
    result.score = outcomes.iter().map(|c| c.score).sum();
    let passed = outcomes.iter().filter(|c| c.passed).count();
    result.feedback.push(format!("{id}: {passed} of {} cases pass.", outcomes.len()));
    for c in outcomes.iter().filter(|c| !c.passed) {
        result.feedback.push(format!("{id} · {}: {}", c.name, c.message));
    }
    result.detail = Detail::Cases { cases: outcomes };
    Ok(result)
}

/// Runs that may run side by side hold this for reading; a rerun holds it for writing,
/// so that it runs alone.
static ALONE: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// Runs the code; when a case ends in a verdict the machine may have caused
/// ([`CaseOutcome::machine_may_be_to_blame`]: a classmate's processes can slow or crowd
/// a correct solution), runs it once more with no other code running, and keeps that run. Only
/// the kept run is ever cached, so a loaded moment never becomes a student's grade for
/// good.
fn run_alone_if_the_machine_may_be_to_blame(runner: &dyn CodeRunner, exercise: &Exercise, code: &[u8]) -> Result<Vec<CaseOutcome>, String> {
    let first = {
        let _shared = ALONE.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        runner.run(exercise, code)?
    };
    if !first.iter().any(|c| c.machine_may_be_to_blame) {
        return Ok(first);
    }
    let _alone = ALONE.write().unwrap_or_else(std::sync::PoisonError::into_inner);
    runner.run(exercise, code)
}
