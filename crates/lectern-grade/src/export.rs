//! The files made from the gradebook: `gradebook.csv`, `students/<id>/results.json`
//! and `report.html`. They depend on the gradebook (and `overrides.toml`) only, so a
//! rerun and a merge of shards write the same bytes as one clean run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};


use crate::answers::valid_student_id;
use crate::overrides::{self, Override};
use crate::quiz::number;
use crate::store::{KeySummary, LateMarks, Record};
use crate::{Detail, GradeError};

/// A graded class, ready to export: overrides applied, clashing claims made errors.
#[derive(Debug, Clone)]
pub struct Class {
    pub key: KeySummary,
    /// Sorted by student, then source folder.
    pub students: Vec<Record>,
    /// Overrides that name no hand-in of the class.
    pub unused_overrides: Vec<Override>,
    /// What ran the code (Python, numpy, BLAS), as the gradebook recorded it.
    pub environment: Option<String>,
    /// The similarity review in brief, when one was made (`similarity.html`).
    pub similarity: Option<crate::similarity::Summary>,
}

/// Where the instructor keeps overrides: beside the outputs, never written by Lectern.
pub fn overrides_path(out: &Path) -> PathBuf {
    out.join("overrides.toml")
}

impl Class {
    pub fn new(key: KeySummary, mut students: Vec<Record>, overrides_file: &Path) -> Result<Class, GradeError> {
        // Two folders claiming one student. The folder named after the student keeps the
        // grade (nobody can take a classmate's place by writing their ID); the others are
        // error rows under their own folder's name. When no folder has the student's name,
        // none is graded until the instructor says which is theirs.
        let mut claims: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &students {
            claims.entry(r.student.clone()).or_default().push(r.source.clone());
        }
        // A folder is named after a student when its name is the ID in NFC.
        let named_after = |source: &str, student: &str| crate::answers::student_id(source) == student;
        // Of several folders named after one student (`José` written in NFC and in NFD
        // by two systems), the one spelled exactly as the ID is graded, else the first.
        let graded_folder = |student: &str, sources: &[String]| -> Option<String> {
            sources.iter().find(|s| *s == student).or_else(|| sources.iter().find(|s| named_after(s, student))).cloned()
        };
        for r in &mut students {
            let sources = &claims[&r.student];
            if sources.len() < 2 {
                continue;
            }
            if named_after(&r.source, &r.student) {
                if let Some(winner) = graded_folder(&r.student, sources)
                    && winner != r.source
                {
                    r.error = Some(format!(
                        "folder `{}` names the same student as folder `{}` (the same letters in another Unicode form, as macOS and Windows write them); only `{}` is graded",
                        crate::answers::shown(&r.source),
                        crate::answers::shown(&winner),
                        crate::answers::shown(&winner)
                    ));
                    r.student = format!("{}~{}", r.student, sources.iter().position(|s| *s == r.source).unwrap_or(0));
                }
                continue;
            }
            let others: Vec<String> = sources.iter().filter(|s| **s != r.source).map(|s| format!("`{s}`")).collect();
            if sources.iter().any(|s| named_after(s, &r.student)) {
                r.error = Some(format!("folder `{}` claims student `{}`, whose own folder is graded; this one is not", r.source, r.student));
                r.student = r.source.clone();
            } else {
                r.error = Some(format!(
                    "folder `{}` claims student `{}`, as does {}; neither is graded until one is renamed or its answers.toml fixed",
                    r.source,
                    r.student,
                    others.join(" and ")
                ));
            }
        }
        students.sort_by(|a, b| (&a.student, &a.source).cmp(&(&b.student, &b.source)));
        let mut unused = Vec::new();
        let answered: Vec<overrides::Answered<'_>> =
            students.iter().filter(|r| r.error.is_none()).flat_map(|r| r.results.iter().map(move |x| (r.student.as_str(), x.item.as_str(), x.answer.as_str()))).collect();
        let read = overrides::read(overrides_file, &key, &answered)?;
        for o in read {
            let target = students.iter_mut().find(|r| r.student == o.student && r.error.is_none()).and_then(|r| r.results.iter_mut().find(|x| x.item == o.item));
            match target {
                Some(result) => {
                    result.score = o.points;
                    result.overridden = Some(o.comment.clone());
                }
                None => unused.push(o),
            }
        }
        Ok(Class { key, students, unused_overrides: unused, environment: None, similarity: None })
    }

    /// The records that are graded (not error rows).
    pub fn graded(&self) -> impl Iterator<Item = &Record> {
        self.students.iter().filter(|r| r.error.is_none())
    }
}

/// Writes every export of `class` into `out`, with Canvas's LATE marks (`late`, by
/// source) where the hand-ins carried them.
pub fn write_all(class: &Class, late: &LateMarks, out: &Path) -> Result<(), GradeError> {
    write_exports(class, late, None, out)
}

/// [`write_all`], and `similarity.html` from `review` when there is one (the class's
/// `similarity` summary should be the review's, so that the report links to it).
pub fn write_exports(class: &Class, late: &LateMarks, review: Option<&crate::similarity::Review>, out: &Path) -> Result<(), GradeError> {
    if let Some(review) = review {
        let course = crate::report::course_name(&class.key.course_code, &class.key.course_title);
        write(&out.join("similarity.html"), crate::similarity::render(review, &course).as_bytes())?;
    }
    write(&out.join("gradebook.csv"), gradebook_csv(class, late).as_bytes())?;
    write(&out.join("report.html"), crate::report::render(class).as_bytes())?;
    let students = out.join("students");
    let mut keep = std::collections::BTreeSet::new();
    let mut files = Vec::new();
    for r in &class.students {
        if valid_student_id(&r.student) && keep.insert(r.student.clone()) {
            files.push(r);
        }
    }
    // Creating thousands of small files is the file system's work more than ours: spread
    // it over the cores.
    let threads = std::thread::available_parallelism().map_or(2, usize::from).min(8);
    let chunk = files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let students = &students;
                scope.spawn(move || -> Result<(), GradeError> {
                    for r in part {
                        let dir = students.join(&r.student);
                        std::fs::create_dir_all(&dir).map_err(|e| GradeError::Output { path: dir.clone(), message: e.to_string() })?;
                        let mut json = serde_json::to_vec_pretty(&results_json(class, late, r)).unwrap_or_default();
                        json.push(b'\n');
                        write(&dir.join("results.json"), &json)?;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|_| Err(GradeError::Output { path: students.clone(), message: "a writer thread panicked".into() })))
    })?;
    // Students no longer in the class lose their old results.
    if let Ok(entries) = std::fs::read_dir(&students) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) && entry.path().join("results.json").is_file() {
                let _ = std::fs::remove_file(entry.path().join("results.json"));
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` unless it already holds them: a new file directly (a file
/// cut short by a crash differs, so the next run rewrites it), an existing one through a
/// temporary file, so that a reader never sees it half-written.
fn write(path: &Path, bytes: &[u8]) -> Result<(), GradeError> {
    let err = |e: std::io::Error| GradeError::Output { path: path.to_owned(), message: e.to_string() };
    match std::fs::read(path) {
        Ok(old) if old == bytes => Ok(()),
        Ok(_) => {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).map_err(err)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::write(path, bytes).map_err(err),
        Err(e) => Err(err(e)),
    }
}

/// A CSV cell. Text a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, a tab or
/// a carriage return first) gets a leading `'`, as OWASP advises against CSV injection.
fn csv_field(s: &str) -> String {
    // A name or answer is hostile data: control characters (a terminal escape in a
    // folder's name) become U+FFFD; line breaks stay, quoted.
    let visible: String;
    let s = if s.chars().any(|c| c.is_control() && c != '\n') {
        visible = s.chars().map(|c| if c.is_control() && c != '\n' { '\u{fffd}' } else { c }).collect();
        visible.as_str()
    } else {
        s
    };
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// One row per student, a column per item, the total (`Final Points`), and an `Error`
/// column. The first columns and the `Points Possible` row are the ones Canvas's
/// gradebook import reads. When some hand-in carried Canvas's LATE mark (`late`, by
/// source), a `Late` column before `Error` says `true` or `false` for each (empty for a
/// hand-in that carried none); without any, the columns are as they always were.
pub fn gradebook_csv(class: &Class, late: &LateMarks) -> String {
    let mut out = String::new();
    let mut header = vec!["Student".to_owned(), "SIS User ID".into(), "SIS Login ID".into(), "Section".into()];
    header.extend(class.key.items.iter().map(|i| i.id.clone()));
    // Canvas's own exports call the total `Final Points` and take it back as read-only;
    // a column named anything else would become a new assignment on import.
    header.push("Final Points".to_owned());
    let marked = !late.is_empty();
    if marked {
        header.push("Late".into());
    }
    header.push("Error".into());
    out.push_str(&header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(","));
    out.push('\n');
    let mut possible = vec!["Points Possible".to_owned(), String::new(), String::new(), String::new()];
    possible.extend(class.key.items.iter().map(|i| number(i.max_points)));
    possible.push(number(class.key.max_total()));
    if marked {
        possible.push(String::new());
    }
    possible.push(String::new());
    out.push_str(&possible.join(","));
    out.push('\n');
    for r in &class.students {
        let mut row = vec![r.student.clone(), r.student.clone(), r.student.clone(), String::new()];
        match &r.error {
            Some(_) => {
                row.extend(class.key.items.iter().map(|_| String::new()));
                row.push(String::new());
            }
            None => {
                for item in &class.key.items {
                    row.push(r.results.iter().find(|x| x.item == item.id).map_or(String::new(), |x| number(x.score)));
                }
                row.push(number(r.score()));
            }
        }
        if marked {
            row.push(late.get(&r.source).map_or(String::new(), bool::to_string));
        }
        row.push(r.error.clone().unwrap_or_default());
        out.push_str(&row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// Gradescope's `results.json`: the fields Gradescope reads, in its order.
#[derive(Debug, serde::Serialize)]
pub struct ResultsJson<'a> {
    pub score: f64,
    pub max_score: f64,
    pub output: String,
    pub tests: Vec<TestJson<'a>>,
    /// Gradescope's field for data of one's own: what the LMS said about the hand-in,
    /// written only when it said something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_data: Option<ExtraData>,
}

/// `extra_data` in `results.json`.
#[derive(Debug, serde::Serialize)]
pub struct ExtraData {
    /// Whether Canvas marked the hand-in LATE.
    pub late: bool,
}

/// One entry of `tests[]`.
#[derive(Debug, serde::Serialize)]
pub struct TestJson<'a> {
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    pub status: &'static str,
    pub output: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<&'static str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub tags: &'static [&'static str],
}

/// Gradescope's `results.json` fields for one student: score, max_score, output, tests[],
/// and `extra_data.late` where the hand-in carried Canvas's LATE mark (`late`, by source).
pub fn results_json<'a>(class: &Class, late: &LateMarks, r: &'a Record) -> ResultsJson<'a> {
    let max = class.key.max_total();
    let mut notes = r.notes.clone();
    let extra_data = late.get(&r.source).map(|&late| ExtraData { late });
    if let Some(e) = &r.error {
        notes.insert(0, format!("This hand-in could not be graded: {e}"));
        return ResultsJson { score: 0.0, max_score: max, output: notes.join("\n"), tests: Vec::new(), extra_data };
    }
    let mut tests = Vec::new();
    for (result, item) in r.results.iter().zip(&class.key.items) {
        if let Detail::Cases { cases } = &result.detail
            && result.overridden.is_none()
        {
            // An exercise is shown case by case, hidden cases without their values.
            for c in cases {
                tests.push(TestJson {
                    name: format!("{} · {}", item.id, c.name),
                    score: c.score,
                    max_score: c.max_score,
                    status: if c.passed { "passed" } else { "failed" },
                    output: c.message.as_str().into(),
                    visibility: Some(if c.visible { "visible" } else { "after_published" }),
                    tags: &[],
                });
            }
            continue;
        }
        let mut output = result.feedback.join("\n");
        if let Some(comment) = &result.overridden {
            output.push_str(&format!("\nInstructor: {comment} ({} of {} points)", number(result.score), number(result.max_score)));
        }
        tests.push(TestJson {
            name: format!("{} ({})", item.id, item.kind),
            score: result.score,
            max_score: result.max_score,
            status: if result.score >= result.max_score && result.max_score > 0.0 { "passed" } else { "failed" },
            output: output.into(),
            visibility: None,
            tags: if result.flag.is_some() && result.overridden.is_none() { &["review"] } else { &[] },
        });
    }
    let total = format!("{} of {} points.", number(r.score()), number(max));
    ResultsJson { score: r.score(), max_score: max, output: if notes.is_empty() { total } else { format!("{total}\n{}", notes.join("\n")) }, tests, extra_data }
}
