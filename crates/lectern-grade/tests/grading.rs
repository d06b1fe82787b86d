//! Grading answers against the key, question type by question type, on a small fixture
//! course (`tests/fixtures/grade/course`): what each answer scores and says.

use std::collections::BTreeMap;
use std::path::Path;

use lectern_grade::batch::grade_handin;
use lectern_grade::handin::HandIn;
use lectern_grade::store::Record;
use lectern_grade::{CaseOutcome, CodeRunner, Detail, Key};
use lectern_lesson::model::Exercise;

struct NoCode;

impl CodeRunner for NoCode {
    fn run(&self, _: &Exercise, _: &[u8]) -> Result<Vec<CaseOutcome>, String> {
        Err("the fixture course has no exercises".into())
    }
    fn fingerprint(&self) -> String {
        "none".into()
    }
}

fn key() -> Key {
    let loaded = lectern_lesson::load_course(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/grade/course"));
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    Key::new(&loaded.course)
}

/// Grades `answers` (the body of answers.toml) as hand-in `s001`.
fn grade(answers: &str) -> Record {
    let handin = HandIn { source: "s001".into(), files: BTreeMap::from([("answers.toml".to_owned(), answers.as_bytes().to_vec())]), problems: Vec::new(), error: None };
    grade_handin(&key(), &handin, "hash", "key", &NoCode, None).expect("no code to run").0
}

fn quiz(body: &str) -> Record {
    grade(&format!("[lessons.01-quizzes.quiz]\n{body}\n"))
}

fn score(record: &Record, item: &str) -> f64 {
    record.results.iter().find(|r| r.item == item).unwrap_or_else(|| panic!("no {item} in {record:?}")).score
}

fn feedback(record: &Record, item: &str) -> String {
    record.results.iter().find(|r| r.item == item).map(|r| r.feedback.join("\n")).unwrap_or_default()
}

#[test]
fn single_choice_is_all_or_nothing_and_takes_a_letter_in_any_case() {
    assert_eq!(score(&quiz(r#"single = "B""#), "single"), 1.0);
    assert_eq!(score(&quiz(r#"single = "b""#), "single"), 1.0);
    assert_eq!(score(&quiz(r#"single = ["B"]"#), "single"), 1.0);
    assert_eq!(score(&quiz(r#"single = "Ｂ""#), "single"), 1.0);
    assert_eq!(score(&quiz(r#"single = " b ""#), "single"), 1.0);
    assert_eq!(score(&quiz(r#"single = "A""#), "single"), 0.0);
    let two = quiz(r#"single = ["A", "B"]"#);
    assert_eq!(score(&two, "single"), 0.0);
    assert!(feedback(&two, "single").contains("one option is asked for, 2 were chosen"));
    let bad = quiz(r#"single = "Z""#);
    assert_eq!(score(&bad, "single"), 0.0);
    assert!(feedback(&bad, "single").contains("`Z` is not an option (A–C)"), "{}", feedback(&bad, "single"));
    assert!(feedback(&quiz(r"single = 2"), "single").contains("expected an option letter"));
    assert!(feedback(&quiz(""), "single").contains("no answer"));
}

#[test]
fn multiple_choice_all_or_nothing_needs_exactly_the_correct_set() {
    assert_eq!(score(&quiz(r#"all = ["A", "C"]"#), "all"), 2.0);
    assert_eq!(score(&quiz(r#"all = ["C", "A"]"#), "all"), 2.0);
    assert_eq!(score(&quiz(r#"all = "A, C""#), "all"), 2.0);
    assert_eq!(score(&quiz(r#"all = "Ａ，Ｃ""#), "all"), 2.0);
    assert_eq!(score(&quiz(r#"all = ["A"]"#), "all"), 0.0);
    assert_eq!(score(&quiz(r#"all = ["A", "B", "C"]"#), "all"), 0.0);
}

#[test]
fn right_minus_wrong_earns_per_right_option_and_loses_per_wrong_one_floored_at_zero() {
    // 3 points, 3 correct options (A, C, E): each right +1, each wrong −1.
    assert_eq!(score(&quiz(r#"rmw = ["A", "C", "E"]"#), "rmw"), 3.0);
    assert_eq!(score(&quiz(r#"rmw = ["A", "C"]"#), "rmw"), 2.0);
    assert_eq!(score(&quiz(r#"rmw = ["A", "C", "B"]"#), "rmw"), 1.0);
    assert_eq!(score(&quiz(r#"rmw = ["A", "B", "D"]"#), "rmw"), 0.0);
    assert_eq!(score(&quiz(r#"rmw = ["B", "D"]"#), "rmw"), 0.0);
    let partial = quiz(r#"rmw = ["A", "C", "B"]"#);
    assert!(feedback(&partial, "rmw").contains("2 of the 3 correct options and 1 wrong option chosen (right minus wrong); 1 of 3 points"), "{}", feedback(&partial, "rmw"));
}

#[test]
fn numeric_answers_hold_within_absolute_or_relative_tolerance_with_or_without_the_unit() {
    assert_eq!(score(&quiz("kv = 1"), "kv"), 1.0);
    assert_eq!(score(&quiz("kv = 1.05"), "kv"), 1.0);
    assert_eq!(score(&quiz("kv = 0.95"), "kv"), 1.0);
    assert_eq!(score(&quiz("kv = 1.06"), "kv"), 0.0);
    assert_eq!(score(&quiz(r#"kv = "1.02 GiB""#), "kv"), 1.0);
    assert_eq!(score(&quiz(r#"kv = "１.０２ ｇｉｂ""#), "kv"), 1.0);
    let unit = quiz(r#"kv = "1 MiB""#);
    assert_eq!(score(&unit, "kv"), 0.0);
    assert!(feedback(&unit, "kv").contains("the unit `mib` is not the quiz's unit `GiB`"), "{}", feedback(&unit, "kv"));
    assert!(feedback(&quiz(r#"kv = "about one""#), "kv").contains("cannot be read as a number"));
    // A decimal comma is not taken for a thousands separator, nor its digits for a unit.
    let comma = quiz(r#"kv = "1,05""#);
    assert_eq!(score(&comma, "kv"), 0.0);
    assert!(feedback(&comma, "kv").contains("`1,05` cannot be read as a number"), "{}", feedback(&comma, "kv"));
    assert_eq!(score(&quiz(r#"kv = "1.02GiB""#), "kv"), 1.0);
    assert_eq!(score(&quiz(r#"kv = "1.02\u00a0GiB""#), "kv"), 1.0);
    // 2 % of 15.26 is 0.3052.
    assert_eq!(score(&quiz("ppl = 15.5"), "ppl"), 1.0);
    assert_eq!(score(&quiz("ppl = 14.96"), "ppl"), 1.0);
    assert_eq!(score(&quiz("ppl = 15.6"), "ppl"), 0.0);
    assert_eq!(score(&quiz("ppl = nan"), "ppl"), 0.0);
}

#[test]
fn text_answers_match_after_trimming_case_folding_and_nfkc() {
    assert_eq!(score(&quiz(r#"arch = "decoder-only""#), "arch"), 1.0);
    assert_eq!(score(&quiz(r#"arch = "  Decoder-Only ""#), "arch"), 1.0);
    assert_eq!(score(&quiz(r#"arch = "ｄｅｃｏｄｅｒ－ｏｎｌｙ""#), "arch"), 1.0);
    assert_eq!(score(&quiz(r#"arch = "僅解碼器""#), "arch"), 1.0);
    assert_eq!(score(&quiz(r#"arch = "GPT-2""#), "arch"), 1.0);
    assert_eq!(score(&quiz(r#"arch = "ＧＰＴ３""#), "arch"), 1.0);
    // A pattern written with full-width punctuation matches the answer as written.
    assert_eq!(score(&quiz(r#"paren = "注意力（交叉）""#), "paren"), 1.0);
    assert_eq!(score(&quiz(r#"paren = "注意力(交叉)""#), "paren"), 0.0);
    // A phrase is the whole answer, not a part of it.
    assert_eq!(score(&quiz(r#"arch = "not decoder-only""#), "arch"), 0.0);
    assert_eq!(score(&quiz(r#"arch = "GPT-2 and more""#), "arch"), 0.0);
    // Typography never costs points: every hyphen and dash is a hyphen (the whole table
    // is tested row by row in lectern_lesson::answer).
    for dash in [r"\u2010", r"\u2011", r"\u2012", r"\u2013", r"\u2212"] {
        assert_eq!(score(&quiz(&format!(r#"arch = "decoder{dash}only""#)), "arch"), 1.0, "{dash}");
    }
    assert_eq!(score(&quiz(r#"arch = "decoder\u00adonly""#), "arch"), 0.0, "a soft hyphen is invisible, not a hyphen");
}

fn step(answer: &str) -> Record {
    grade(&format!("[lessons.02-challenge.challenge.bottleneck]\nstep1 = '''{answer}'''\n"))
}

fn hits(record: &Record) -> Vec<bool> {
    match &record.results.iter().find(|r| r.item == "bottleneck/step1").expect("step").detail {
        Detail::Rubric { hits } => hits.clone(),
        other => panic!("{other:?}"),
    }
}

fn flag(record: &Record) -> Option<String> {
    record.results.iter().find(|r| r.item == "bottleneck/step1").and_then(|r| r.flag.clone())
}

#[test]
fn rubric_items_earn_their_points_when_a_phrase_or_pattern_matches_in_english_and_chinese() {
    let full = step("Running the whole input through the ENCODER is the cost, and the KV-cache keeps decoding cheap.");
    assert_eq!(hits(&full), [true, true]);
    assert_eq!(score(&full, "bottleneck/step1"), 3.0);
    assert_eq!(flag(&full), None);
    let chinese = step("瓶頸在於每一步都要對整個輸入做交叉注意力,而 ＫＶ　快取 只幫得上解碼器。");
    assert_eq!(hits(&chinese), [true, true]);
    assert_eq!(score(&chinese, "bottleneck/step1"), 3.0);
    let half = step("Cross-Attention over a long input at every decoder step is expensive.");
    assert_eq!(hits(&half), [true, false]);
    assert_eq!(score(&half, "bottleneck/step1"), 2.0);
    assert!(feedback(&half, "bottleneck/step1").contains("Mentions the KV cache. (−1)"), "{}", feedback(&half, "bottleneck/step1"));
}

#[test]
fn uncertain_step_grades_are_flagged_for_review() {
    assert_eq!(flag(&step("")).as_deref(), Some("empty answer"));
    assert_eq!(flag(&step("KV cache")).as_deref(), Some("very short answer (7 characters)"));
    let copy = step("Encoder-decoders must run the entire long input through the encoder, and the decoder cross-attends to all of it.");
    assert!(flag(&copy).is_some_and(|f| f.starts_with("near-copy of the published solution")), "{:?}", flag(&copy));
    assert_eq!(flag(&step("The model is slow because of its size and its training data.")).as_deref(), Some("matches no rubric item"));
    let not_text = grade("[lessons.02-challenge.challenge.bottleneck]\nstep1 = 42\n");
    assert_eq!(flag(&not_text).as_deref(), Some("the answer is not text"));
}

#[test]
fn answers_the_key_has_no_place_for_are_named_in_the_notes() {
    let r = grade(
        "student = \"s001\"\nextra = 1\n[lessons.01-quizzes.quiz]\nsingle = \"B\"\nnope = \"A\"\n[lessons.02-challenge.quiz]\nkv = 1\n[lessons.99-missing.quiz]\nq = 1\n[lessons.02-challenge.challenge.bottleneck]\nstep9 = \"x\"\n",
    );
    assert_eq!(r.error, None);
    assert_eq!(score(&r, "single"), 1.0);
    // Filed under the wrong lesson: not counted.
    assert_eq!(score(&r, "kv"), 0.0);
    let notes = r.notes.join("\n");
    for expected in [
        "`extra` is not a key Lectern reads",
        "the course has no quiz `nope`",
        "quiz `kv` belongs to lesson `01-quizzes`, not `02-challenge`",
        "the course has no lesson `99-missing` with questions",
        "challenge `bottleneck` has no step `step9` (its steps: step1)",
    ] {
        assert!(notes.contains(expected), "{expected:?} not in\n{notes}");
    }
}

#[test]
fn answers_toml_that_cannot_be_read_make_an_error_row_with_its_reason() {
    let r = grade("[lessons.01-quizzes.quiz\nsingle = \"B\"\n");
    assert!(r.error.as_deref().is_some_and(|e| e.starts_with("answers.toml is not valid TOML at line 1")), "{:?}", r.error);
    let handin = HandIn { source: "s002".into(), files: BTreeMap::from([("answers.toml".to_owned(), vec![0xff, 0xfe, 0x00, 0x81])]), problems: Vec::new(), error: None };
    let r = grade_handin(&key(), &handin, "h", "k", &NoCode, None).expect("no code to run").0;
    assert!(r.error.as_deref().is_some_and(|e| e.contains("not UTF-8 text")), "{:?}", r.error);
    let r = grade("student = \"../etc\"\n");
    assert!(r.error.as_deref().is_some_and(|e| e.contains("cannot be a student ID")), "{:?}", r.error);
    let r = grade("student = 7\n");
    assert!(r.error.as_deref().is_some_and(|e| e.contains("`student` must be a string")), "{:?}", r.error);
}

#[test]
fn the_key_fingerprint_changes_with_the_key_and_not_with_prose() {
    let dir = std::env::temp_dir().join(format!("lectern-grade-key-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/grade/course");
    std::fs::create_dir_all(dir.join("lessons")).expect("mkdir");
    std::fs::copy(src.join("course.toml"), dir.join("course.toml")).expect("copy");
    std::fs::copy(src.join("lessons/02-challenge.md"), dir.join("lessons/02-challenge.md")).expect("copy");
    let lesson = std::fs::read_to_string(src.join("lessons/01-quizzes.md")).expect("read");
    let fingerprint = |text: &str| {
        std::fs::write(dir.join("lessons/01-quizzes.md"), text).expect("write");
        Key::new(&lectern_lesson::load_course(&dir).course).fingerprint
    };
    let original = fingerprint(&lesson);
    assert_eq!(fingerprint(&lesson.replace("Perplexity?", "What is the perplexity?")), original);
    assert_ne!(fingerprint(&lesson.replace("answer=15.26", "answer=15.27")), original);
    assert_ne!(fingerprint(&lesson.replace("- [ ] BERT", "- [x] BERT")), original);
    // Rubric feedback is what students read: a change reaches every results.json.
    let challenge = std::fs::read_to_string(src.join("lessons/02-challenge.md")).expect("read");
    std::fs::write(dir.join("lessons/02-challenge.md"), challenge.replace("Mentions the KV cache.", "Mentions the key-value cache.")).expect("write");
    assert_ne!(fingerprint(&lesson), original);
    std::fs::write(dir.join("lessons/02-challenge.md"), &challenge).expect("write");
    assert_eq!(fingerprint(&lesson), original);
    // The course's default policy decides quizzes that name none.
    std::fs::write(dir.join("course.toml"), std::fs::read_to_string(src.join("course.toml")).expect("read") + "[grading]\nmultiple_choice = \"right-minus-wrong\"\n").expect("write");
    assert_ne!(fingerprint(&lesson), original);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A runner whose first run of any code times out and whose later runs pass: a loaded
/// machine, then a quiet one.
struct LoadedThenQuiet(std::sync::atomic::AtomicUsize);

impl CodeRunner for LoadedThenQuiet {
    fn run(&self, exercise: &Exercise, _: &[u8]) -> Result<Vec<CaseOutcome>, String> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (passed, verdict) = if n == 0 { (false, "timeout") } else { (true, "pass") };
        Ok(vec![CaseOutcome {
            name: "only case".into(),
            visible: true,
            passed,
            verdict: verdict.into(),
            message: String::new(),
            score: if passed { exercise.points } else { 0.0 },
            max_score: exercise.points,
            machine_may_be_to_blame: !passed,
        }])
    }
    fn fingerprint(&self) -> String {
        "loaded".into()
    }
}

/// A verdict the machine may have caused (a timeout) is run again, alone, and only that
/// run is kept and cached: a loaded moment never becomes a grade.
#[test]
fn a_timeout_is_run_again_before_it_counts() {
    let loaded = lectern_lesson::load_course(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../courses/ai012"));
    let key = Key::new(&loaded.course);
    let handin = HandIn { source: "s1".into(), files: BTreeMap::from([("attention.py".to_owned(), b"def f(): pass\n".to_vec())]), problems: Vec::new(), error: None };
    let runner = LoadedThenQuiet(std::sync::atomic::AtomicUsize::new(0));
    let (record, runs) = grade_handin(&key, &handin, "hash", "key", &runner, None).expect("graded");
    let attention = record.results.iter().find(|r| r.item == "attention").expect("the exercise");
    assert_eq!(attention.score, attention.max_score, "{attention:?}");
    assert_eq!(runner.0.load(std::sync::atomic::Ordering::SeqCst), 2, "run twice");
    assert!(runs.iter().all(|r| r.outcomes.iter().all(|c| c.verdict == "pass")), "only the rerun is cached");
}
