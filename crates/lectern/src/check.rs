//! `lectern check`: load the course, print every diagnostic, say what was checked.

use std::process::ExitCode;

use anyhow::{bail, Result};
use lectern_lesson::{load_course, LoadedCourse, Severity};

use crate::report;

pub fn run(course_dir: &std::path::Path, deny_warnings: bool) -> Result<ExitCode> {
    let loaded = load(course_dir)?;
    let mut errors = 0;
    let mut warnings = 0;
    for d in &loaded.diagnostics {
        match d.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
        }
    }
    print_diagnostics(course_dir, &loaded);
    let course = &loaded.course;
    let lessons = course.lessons.len();
    let quizzes = course.quizzes().count();
    let challenges = course.challenges().count();
    let exercises = course.exercises.len();
    let what = format!(
        "{} lesson{}, {} quiz{}, {} challenge{}, {} exercise{}",
        lessons,
        plural(lessons, "", "s"),
        quizzes,
        plural(quizzes, "", "zes"),
        challenges,
        plural(challenges, "", "s"),
        exercises,
        plural(exercises, "", "s"),
    );
    let name = if course.config.code.is_empty() { course_dir.display().to_string() } else { course.config.code.clone() };
    if errors > 0 || (deny_warnings && warnings > 0) {
        eprintln!(
            "{}: {name} has {errors} error{} and {warnings} warning{} ({what})",
            report::paint("check failed", report::Style::Error),
            plural(errors, "", "s"),
            plural(warnings, "", "s"),
        );
        return Ok(ExitCode::from(1));
    }
    if warnings > 0 {
        println!("{name}: {what}; {warnings} warning{}", plural(warnings, "", "s"));
    } else {
        println!("{name}: {what}; no problems");
    }
    Ok(ExitCode::SUCCESS)
}

fn load(course_dir: &std::path::Path) -> Result<LoadedCourse> {
    if !course_dir.is_dir() {
        bail!("{} is not a folder: give the course folder, the one holding course.toml", course_dir.display());
    }
    Ok(load_course(course_dir))
}

/// Prints every diagnostic of the course; returns it loaded when it has no error.
pub fn load_and_report(course_dir: &std::path::Path, deny_warnings: bool) -> Result<Option<LoadedCourse>> {
    let loaded = load(course_dir)?;
    print_diagnostics(course_dir, &loaded);
    let errors = loaded.diagnostics.iter().filter(|d| d.is_error() || deny_warnings).count();
    if errors > 0 {
        eprintln!(
            "{}: {} has {errors} error{}; nothing was built",
            report::paint("error", report::Style::Error),
            course_dir.display(),
            plural(errors, "", "s")
        );
        return Ok(None);
    }
    Ok(Some(loaded))
}

fn print_diagnostics(course_dir: &std::path::Path, loaded: &LoadedCourse) {
    for d in &loaded.diagnostics {
        let shown = course_dir.join(&d.file);
        let source = loaded.sources.get(&d.file).map(String::as_str);
        let locate = |file: &std::path::Path| (course_dir.join(file), loaded.sources.get(file).map(String::as_str));
        eprintln!("{}", report::render(d, &shown, source, &locate));
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
