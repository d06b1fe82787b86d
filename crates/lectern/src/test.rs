//! `lectern test`: a student's self-check of one exercise on its visible cases, in the
//! sandbox, against the candle references.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use lectern_runner::harness::{self, Cases, RunOptions};
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};

use crate::{check, report};

pub struct TestArgs<'a> {
    pub course: &'a Path,
    pub exercise: &'a str,
    pub file: &'a Path,
    pub json: bool,
    pub no_sandbox: bool,
    pub device: &'a str,
    pub time_limit: u64,
}

pub fn run(args: TestArgs<'_>) -> Result<ExitCode> {
    let Some(loaded) = check::load_and_report(args.course, false)? else {
        return Ok(ExitCode::from(1));
    };
    let Some(exercise) = loaded.course.exercises.get(args.exercise) else {
        let known: Vec<&str> = loaded.course.exercises.keys().map(String::as_str).collect();
        bail!("the course has no exercise `{}`; it has: {}", args.exercise, known.join(", "));
    };
    if !args.file.is_file() {
        bail!("{} is not a file", args.file.display());
    }
    let choice = lectern_runner::device::DeviceChoice::parse(args.device)?;
    let (device, used) = lectern_runner::device::select(choice)?;
    // Where no sandbox can be had, the student's own code runs on their own machine
    // without one: said once, with the fix. (`grade` and `serve` refuse instead.)
    let isolation = if args.no_sandbox {
        eprintln!("{}: --no-sandbox: the code runs without isolation", report::paint("warning", report::Style::Warning));
        Isolation::None
    } else if let Err(e) = lectern_runner::sandbox::probe() {
        // As root (a container, an autograder image) code without a sandbox would run as
        // root: never without being told to.
        if lectern_runner::sandbox::Mode::current() == lectern_runner::sandbox::Mode::Root {
            bail!("{e}\n  As root, code never runs without a sandbox unless given --no-sandbox.");
        }
        eprintln!("{}: {e}\n  Your code runs without isolation, as you (pass --no-sandbox to skip this check).", report::paint("warning", report::Style::Warning));
        Isolation::None
    } else {
        Isolation::Bubblewrap
    };
    // On a GPU the student's code may use it too: the sandbox passes the NVIDIA device
    // nodes and driver libraries through and limits memory in a way CUDA survives.
    let on_gpu = used == lectern_runner::device::DeviceChoice::Cuda;
    let limits = Limits {
        cpu_seconds: args.time_limit.max(1),
        wall: std::time::Duration::from_secs(args.time_limit.max(1) * 3),
        gpu: on_gpu,
        ..Limits::default()
    };
    // The probe above already decided the isolation: the sandbox is made with it.
    let sandbox = Sandbox::for_course(&loaded.course.config.runner, &lectern_runner::python::cache_dir(), limits, isolation, &mut |m| eprintln!("{m}"))?;
    let options = RunOptions { cases: Cases::Visible, secret: None };
    let results = harness::test_exercise_with(exercise, args.file, &sandbox, &device, &options)?;
    // Every case and every behaviour check weighs the same.
    let per_case = exercise.points / (exercise.cases.len() + exercise.checks.len()).max(1) as f64;
    let passed = results.iter().filter(|r| r.verdict.passed()).count();
    if args.json {
        let tests: Vec<serde_json::Value> = results
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name,
                    "status": if r.verdict.passed() { "passed" } else { "failed" },
                    "score": if r.verdict.passed() { per_case } else { 0.0 },
                    "max_score": per_case,
                    "output": r.describe(),
                    "verdict": r.verdict,
                })
            })
            .collect();
        let out = serde_json::json!({
            "score": per_case * passed as f64,
            "max_score": per_case * results.len() as f64,
            "output": format!("{passed} of {} visible cases and checks pass (on {used})", results.len()),
            "environment": sandbox.python.info,
            "sandboxed": isolation == Isolation::Bubblewrap,
            "tests": tests,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for r in &results {
            let mark = if r.verdict.passed() { report::paint("PASS", report::Style::Note) } else { report::paint("FAIL", report::Style::Error) };
            println!("{mark} {}: {}", r.name, r.describe());
            if !r.verdict.passed() && !r.output.trim().is_empty() {
                for line in r.output.lines().take(20) {
                    println!("     | {line}");
                }
            }
        }
        println!("{passed} of {} visible cases and checks pass ({}, on {used})", results.len(), exercise.title);
    }
    Ok(if passed == results.len() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
