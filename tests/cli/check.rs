//! `lectern check`: every error the lesson format defines, each in a fixture course
//! under `tests/fixtures/check/`, with its exact output in `expected.txt` beside it.

use std::fs;

use crate::{lectern, root, snapshot, transcript};

#[test]
fn every_fixture_course_gives_its_expected_diagnostics() {
    let dir = root().join("tests/fixtures/check");
    let mut cases: Vec<_> = fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "fixtures went missing: {cases:?}");
    let mut failures = Vec::new();
    for case in &cases {
        let output = lectern(&dir, &["check", case]);
        let text = transcript(&output);
        // Every fixture here is broken on purpose: check must fail and say where.
        if output.status.code() != Some(1) || !text.contains(": error: ") {
            failures.push(format!("{case}: expected exit 1 with an error, got:\n{text}"));
        }
        if let Err(e) = snapshot::compare(&dir.join(case).join("expected.txt"), &text) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_demo_course_and_the_guide_check_clean() {
    for course in ["courses/ai012", "courses/guide"] {
        let output = lectern(&root(), &["check", "--deny-warnings", course]);
        assert_eq!(output.status.code(), Some(0), "{course}:\n{}", transcript(&output));
        assert!(output.stderr.is_empty(), "{course} has diagnostics:\n{}", transcript(&output));
    }
    let output = lectern(&root(), &["check", "courses/ai012"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "AI012: 1 lesson, 2 quizzes, 1 challenge, 6 exercises; no problems\n"
    );
}

#[test]
fn a_missing_course_folder_is_an_input_error() {
    let output = lectern(&root(), &["check", "courses/does-not-exist"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: courses/does-not-exist is not a folder: give the course folder, the one holding course.toml\n"
    );
}

#[test]
fn usage_errors_exit_2_and_help_helps() {
    let output = lectern(&root(), &["check"]);
    assert_eq!(output.status.code(), Some(2));
    let output = lectern(&root(), &["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    let output = lectern(&root(), &["check", "--help"]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.contains("every") && help.contains("--deny-warnings"), "{help}");
}

#[test]
fn a_missing_or_stale_lock_is_a_warning_and_grading_refuses_a_stale_one() {
    let tmp = crate::tempdir("lock");
    let course = tmp.join("course");
    crate::machines::copy_tree(&root().join("courses/ai012"), &course);
    let lock = course.join("requirements.lock");

    fs::remove_file(&lock).expect("lock");
    let output = lectern(&tmp, &["check", "course"]);
    let text = transcript(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("warning: the course has no requirements.lock") && text.contains("run `lectern lock course`"), "{text}");
    assert_eq!(lectern(&tmp, &["check", "-D", "course"]).status.code(), Some(1));

    fs::write(&lock, "# requirements = [\"numpy>=1.20\"]\nnumpy==1.26.4\n").expect("stale lock");
    let output = lectern(&tmp, &["check", "course"]);
    let text = transcript(&output);
    assert!(text.contains("requirements.lock was made from other requirements ([\"numpy>=1.20\"])"), "{text}");
    let class = tmp.join("class/ada");
    fs::create_dir_all(&class).expect("class");
    fs::copy(root().join("courses/ai012/exercises/attention/solution.py"), class.join("attention.py")).expect("hand-in");
    let output = lectern(&tmp, &["grade", "course", "class", "--out", "out"]);
    let text = transcript(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("requirements.lock does not match `[runner] requirements`"), "{text}");
    let _ = fs::remove_dir_all(&tmp);
}

/// Links between pages: to a lesson, an anchor on it or on this page, or a file of the
/// course. Each dead one is a warning naming what exists; `--deny-warnings` fails.
#[test]
fn dead_links_are_reported_with_what_exists() {
    let dir = root().join("tests/fixtures/links");
    let output = lectern(&dir, &["check", "--deny-warnings", "course"]);
    let text = transcript(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    snapshot::compare(&dir.join("expected.txt"), &text).unwrap_or_else(|e| panic!("{e}"));
    // The links that work are not reported: the warnings are on line 12 and 13 only.
    assert_eq!(text.matches(": warning: ").count(), 5, "{text}");
}
