//! `lectern new`: the skeleton it writes passes `lectern check` without a warning, and it
//! never writes over existing work.

use std::fs;

use crate::{lectern, tempdir, transcript};

#[test]
fn a_new_course_checks_clean_and_shows_every_feature() {
    let tmp = tempdir("new");
    let output = lectern(&tmp, &["new", "demo"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let output = lectern(&tmp, &["check", "--deny-warnings", "demo"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "DEMO: 1 lesson, 2 quizzes, 1 challenge, 1 exercise; no problems\n"
    );
    let loaded = lectern_lesson::load_course(&tmp.join("demo"));
    let lesson = &loaded.course.lessons[0];
    let kinds: Vec<&str> = lesson
        .blocks
        .iter()
        .map(|b| match b {
            lectern_lesson::Block::Markdown(_) => "markdown",
            lectern_lesson::Block::Callout(_) => "callout",
            lectern_lesson::Block::Code(_) => "code",
            lectern_lesson::Block::Cards(_) => "cards",
            lectern_lesson::Block::Quiz(_) => "quiz",
            lectern_lesson::Block::Challenge(_) => "challenge",
            lectern_lesson::Block::Exercise(_) => "exercise",
        })
        .collect();
    for kind in ["markdown", "callout", "code", "cards", "quiz", "challenge", "exercise"] {
        assert!(kinds.contains(&kind), "the skeleton shows no {kind}: {kinds:?}");
    }
    let _ = fs::remove_dir_all(&tmp);
}

#[test]
fn new_refuses_a_folder_that_holds_something() {
    let tmp = tempdir("new-refuses");
    fs::create_dir_all(tmp.join("taken")).expect("mkdir");
    fs::write(tmp.join("taken/notes.txt"), "mine").expect("write");
    let output = lectern(&tmp, &["new", "taken"]);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert_eq!(fs::read_to_string(tmp.join("taken/notes.txt")).expect("kept"), "mine");
    assert!(!tmp.join("taken/course.toml").exists());
    let _ = fs::remove_dir_all(&tmp);
}

