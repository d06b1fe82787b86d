//! `lectern check`: load the course, print every diagnostic, say what was checked.

use std::process::ExitCode;

use anyhow::{bail, Result};
use lectern_lesson::{load_course, Diagnostic, LoadedCourse, Severity, Span};

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
    let mut loaded = load_course(course_dir);
    runner_checks(&mut loaded);
    Ok(loaded)
}

/// What only the runner knows: that each exercise names a reference it has, with the
/// inputs and arguments that reference takes. Reported at the line that says it.
fn runner_checks(loaded: &mut LoadedCourse) {
    let mut found = Vec::new();
    for (id, exercise) in &loaded.course.exercises {
        let file = std::path::Path::new("exercises").join(id).join("exercise.toml");
        let text = loaded.sources.get(&file).map_or("", String::as_str);
        for problem in lectern_runner::exercise::check_exercise(exercise) {
            let needle = match &problem.case {
                None => "reference".to_string(),
                Some(case) => format!("\"{case}\""),
            };
            let at = text.find(&needle).map_or(Span::new(0, 0), |i| Span::new(i, i + needle.len()));
            let message = match &problem.case {
                None => problem.message.clone(),
                Some(case) => format!("case `{case}`: {}", problem.message),
            };
            found.push(Diagnostic::error(&file, at, message));
        }
    }
    loaded.diagnostics.extend(found);
    loaded.diagnostics.sort_by(|a, b| (&a.file, a.span.start).cmp(&(&b.file, b.span.start)));
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
    eprint!("{}", render_diagnostics(course_dir, loaded));
}

/// Every diagnostic of the course, rendered, each followed by a blank line.
pub fn render_diagnostics(course_dir: &std::path::Path, loaded: &LoadedCourse) -> String {
    let locate = |file: &std::path::Path| (course_dir.join(file), loaded.sources.get(file).map(String::as_str));
    let mut text = String::new();
    for d in &loaded.diagnostics {
        let source = loaded.sources.get(&d.file).map(String::as_str);
        text.push_str(&report::render(d, &course_dir.join(&d.file), source, &locate));
        text.push('\n');
    }
    text
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
