//! `lectern build`: check the course, then compile its site and swap it into place.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use lectern_lesson::Mode;
use lectern_site::BuildOptions;

use crate::check;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ModeArg {
    Practice,
    Exam,
}

pub fn run(course_dir: &Path, out: &Path, mode: Option<ModeArg>) -> Result<ExitCode> {
    let started = Instant::now();
    let Some(loaded) = check::load_and_report(course_dir, false)? else {
        return Ok(ExitCode::from(1));
    };
    let templates = course_dir.join("templates");
    let options = BuildOptions {
        mode: mode.map(|m| match m {
            ModeArg::Practice => Mode::Practice,
            ModeArg::Exam => Mode::Exam,
        }),
        templates_dir: templates.is_dir().then_some(templates),
        ..BuildOptions::default()
    };
    let site = lectern_site::build(&loaded.course, &options).context("building the site")?;
    if out.starts_with(course_dir) && out != course_dir {
        // Allowed, but the site must not end up inside what the next check reads.
        if out.starts_with(course_dir.join("lessons")) || out.starts_with(course_dir.join("exercises")) {
            bail!("--out {} is inside the course's lessons or exercises; choose another folder", out.display());
        }
    }
    lectern_site::write_site(&site, out)?;
    let mode = options.mode.unwrap_or(loaded.course.config.mode);
    println!(
        "built {} ({} mode): {} pages in {} in {:.2} s",
        loaded.course.config.code,
        if mode == Mode::Exam { "exam" } else { "practice" },
        loaded.course.lessons.len() + 1,
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
