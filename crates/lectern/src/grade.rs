//! `lectern grade`: a whole class in one batch — quizzes and challenge steps from the
//! course's key, code through the runner's sandbox — into a resumable gradebook and its
//! exports; `lectern grade merge` combines shards.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use lectern_grade::{BatchOptions, BatchSummary, Progress, Shard};
use lectern_runner::sandbox::{Isolation, Limits};

use crate::code_runner::SandboxRunner;
use crate::{check, report};

pub struct GradeArgs<'a> {
    pub course: &'a Path,
    pub submissions: &'a Path,
    pub out: &'a Path,
    pub jobs: Option<usize>,
    pub device: &'a str,
    pub shard: Option<&'a str>,
    pub secret: Option<&'a str>,
    pub no_sandbox: bool,
    pub time_limit: u64,
    pub max_file_size: u64,
    pub prune: bool,
    pub similarity_threshold: f64,
}

pub fn run(args: GradeArgs<'_>) -> Result<ExitCode> {
    let started = Instant::now();
    let Some(loaded) = check::load_and_report(args.course, false)? else {
        return Ok(ExitCode::from(1));
    };
    let course = &loaded.course;
    if inside(args.out, args.submissions) {
        bail!("--out {} is inside the hand-ins folder; choose another folder", args.out.display());
    }
    let shard = match args.shard {
        Some(s) => Some(Shard::parse(s).ok_or_else(|| anyhow::anyhow!("--shard {s}: expected K/N with 1 ≤ K ≤ N, e.g. 2/8"))?),
        None => None,
    };
    let choice = lectern_runner::device::DeviceChoice::parse(args.device)?;
    let (device, used) = lectern_runner::device::select(choice)?;
    let needs_code = !course.exercises.is_empty();
    // A lock made from other requirements would grade with packages the course no
    // longer asks for (or without ones it does): refused, where `check` only warns.
    let runner_config = &course.config.runner;
    if needs_code
        && let Some(lock) = &runner_config.lock
        && lectern_lesson::model::locked_requirements(lock).as_deref() != Some(runner_config.requirements.as_slice())
    {
        bail!(
            "{} does not match `[runner] requirements` in course.toml: run `lectern lock {}` first",
            lectern_lesson::model::LOCK_FILE,
            args.course.display()
        );
    }
    if needs_code && !args.no_sandbox {
        lectern_runner::sandbox::probe().context("grading never runs student code without a sandbox unless given --no-sandbox")?;
    }
    let isolation = if args.no_sandbox {
        eprintln!("{}: --no-sandbox: student code runs without isolation", report::paint("warning", report::Style::Warning));
        Isolation::None
    } else {
        Isolation::Bubblewrap
    };
    let limits = Limits {
        cpu_seconds: args.time_limit.max(1),
        wall: Duration::from_secs(args.time_limit.max(1) * 3),
        // Student code sees the GPU only when the references run there.
        gpu: used == lectern_runner::device::DeviceChoice::Cuda,
        ..Limits::default()
    };
    let secret = args.secret.map(|s| lectern_lesson::stable_hash([s.as_bytes()]));
    let runner = SandboxRunner::new(course.config.runner.clone(), limits, isolation, device, lectern_runner::python::cache_dir(), secret);
    let options = BatchOptions {
        jobs: args.jobs.unwrap_or_else(|| BatchOptions::default().jobs).max(1),
        shard,
        max_file_bytes: args.max_file_size,
        database_only: shard.is_some(),
        prune: args.prune,
        similarity_threshold: args.similarity_threshold,
    };
    let bar = Bar::new();
    let finder = crate::similarity::Finder::default();
    let summary = lectern_grade::grade_batch(course, args.submissions, args.out, &options, &runner, Some(&finder), &|p| bar.show(p))?;
    bar.finish();
    print_summary(&summary, args.out, started, shard.is_some(), needs_code.then_some(used.name()));
    Ok(ExitCode::SUCCESS)
}

/// Whether `path` (which may not exist yet) lies in `folder`, links and `..` resolved.
fn inside(path: &Path, folder: &Path) -> bool {
    let Ok(folder) = folder.canonicalize() else { return false };
    // The deepest part of `path` that exists, resolved, with the rest put back.
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.file_name().map(ToOwned::to_owned), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = if parent.as_os_str().is_empty() { PathBuf::from(".") } else { parent.to_path_buf() };
            }
            _ => return false,
        }
    }
    let Ok(mut resolved) = existing.canonicalize() else { return false };
    resolved.extend(rest.iter().rev());
    resolved.starts_with(folder)
}

pub fn merge(out: &Path, shards: &[PathBuf], similarity_threshold: f64) -> Result<ExitCode> {
    let started = Instant::now();
    let summary = lectern_grade::merge_shards(shards, out, Some(&crate::similarity::Finder::default()), similarity_threshold)?;
    print_summary(&summary, out, started, false, None);
    Ok(ExitCode::SUCCESS)
}

fn print_summary(s: &BatchSummary, out: &Path, started: Instant, shard: bool, device: Option<&str>) {
    for note in &s.notes {
        eprintln!("{}: {note}", report::paint("note", report::Style::Note));
    }
    let on = device.map(|d| format!(" (code on {d})")).unwrap_or_default();
    println!(
        "graded {} hand-in{}{on}: {} new or changed, {} unchanged; {} could not be graded; {} answer{} flagged for review; in {:.2} s (grading {:.2} s, writing {:.2} s)",
        s.handins,
        if s.handins == 1 { "" } else { "s" },
        s.graded,
        s.unchanged,
        s.errors,
        s.flagged,
        if s.flagged == 1 { "" } else { "s" },
        started.elapsed().as_secs_f64(),
        s.grading.as_secs_f64(),
        s.exporting.as_secs_f64()
    );
    if shard {
        println!("wrote {} (combine the shards with `lectern grade merge --out DIR SHARD…`)", out.join("gradebook.sqlite").display());
    } else {
        println!("wrote {}: gradebook.csv, gradebook.sqlite, report.html, similarity.html, students/<id>/results.json", out.display());
    }
}

/// A progress bar with rate and ETA on a terminal; on a pipe, a line every 10 %.
struct Bar {
    tty: bool,
    last: Mutex<(Instant, usize)>,
}

impl Bar {
    fn new() -> Bar {
        Bar { tty: std::io::stderr().is_terminal(), last: Mutex::new((Instant::now(), 0)) }
    }

    fn show(&self, p: Progress) {
        let Ok(mut last) = self.last.lock() else { return };
        if p.total == 0 {
            return;
        }
        let rate = p.done as f64 / p.elapsed.as_secs_f64().max(1e-9);
        let eta = if p.done == 0 { String::from("?") } else { format!("{:.0} s", (p.total - p.done) as f64 / rate) };
        if self.tty {
            if p.done != p.total && last.0.elapsed() < Duration::from_millis(100) {
                return;
            }
            let width = 30;
            let filled = width * p.done / p.total;
            eprint!("\r[{}{}] {}/{} · {:.1}/s · ETA {eta}   ", "#".repeat(filled), ".".repeat(width - filled), p.done, p.total, rate);
            let _ = std::io::stderr().flush();
        } else {
            let step = (p.total / 10).max(1);
            if p.done / step == last.1 / step && p.done != p.total {
                return;
            }
            eprintln!("graded {}/{} · {:.1}/s · ETA {eta}", p.done, p.total, rate);
        }
        *last = (Instant::now(), p.done);
    }

    fn finish(&self) {
        if self.tty && self.last.lock().is_ok_and(|l| l.1 > 0) {
            eprintln!();
        }
    }
}
