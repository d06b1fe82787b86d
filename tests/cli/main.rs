//! Lectern's command-line behaviour, as specifications: each fixture is a small course,
//! each expectation a snapshot reviewed in the diff.
//!
//! Snapshots: run with `UPDATE_SNAPSHOTS=1` to rewrite them, then read the diff.

mod browser;
mod check;
mod commonmark;
mod contract;
mod grade;
mod lms;
mod machines;
mod model;
mod new;
mod review;
mod runner;
mod serve;
mod similarity;
mod site;
mod slurm;
mod snapshot;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// `lectern` with `args`, run in `cwd`, without colours.
pub fn lectern(cwd: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("lectern")
        .expect("the lectern binary is built")
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("lectern runs")
}

/// A fresh, empty folder for one test.
pub fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lectern-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Exit code and both streams, as one text for a snapshot.
pub fn transcript(output: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().map_or("signal".to_string(), |c| c.to_string()),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    )
}
