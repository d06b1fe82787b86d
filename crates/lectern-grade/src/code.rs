//! Code exercises through the runner: every case, hidden ones included, in the
//! runner's sandbox. The Python environment and the sandbox are set up on first use, so
//! a batch without code hand-ins needs neither.

use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::Device;
use lectern_lesson::model::Exercise;
use lectern_runner::harness::{self, CaseResult, Cases, Verdict};
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};

use crate::batch::CodeRunner;
use crate::CaseOutcome;

/// Runs hand-ins' code with the runner.
#[derive(Debug)]
pub struct SandboxRunner {
    requirements: Vec<String>,
    limits: Limits,
    isolation: Isolation,
    device: Device,
    cache: PathBuf,
    /// Hidden cases draw their inputs from this secret too (visible ones never do).
    secret: Option<u64>,
    sandbox: OnceLock<Result<Sandbox, String>>,
}

impl SandboxRunner {
    pub fn new(requirements: Vec<String>, limits: Limits, isolation: Isolation, device: Device, cache: PathBuf, secret: Option<u64>) -> SandboxRunner {
        SandboxRunner { requirements, limits, isolation, device, cache, secret, sandbox: OnceLock::new() }
    }

    fn sandbox(&self) -> Result<&Sandbox, String> {
        self.sandbox
            .get_or_init(|| {
                let python = lectern_runner::python::provision(&self.requirements, &self.cache, &mut |m| eprintln!("{m}")).map_err(|e| e.to_string())?;
                Sandbox::new(python, self.limits, self.isolation).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl CodeRunner for SandboxRunner {
    fn run(&self, exercise: &Exercise, code: &[u8]) -> Result<Vec<CaseOutcome>, String> {
        let sandbox = self.sandbox()?;
        let scratch = self.cache.join("scratch");
        std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        // The student's file is written where only this run reads it.
        let dir = tempdir_in(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
        let file = dir.join(&exercise.entry);
        std::fs::write(&file, code).map_err(|e| format!("{}: {e}", file.display()))?;
        let results = harness::test_exercise(exercise, &file, sandbox, &self.device, Cases::All, &scratch);
        let _ = std::fs::remove_dir_all(&dir);
        let results = results.map_err(|e| e.to_string())?;
        let per_case = exercise.points / results.len().max(1) as f64;
        Ok(results.iter().map(|r| outcome(r, per_case)).collect())
    }

    fn fingerprint(&self) -> String {
        match self.secret {
            // The secret itself never lands in the gradebook, only a digest of it.
            Some(s) => format!("secret-{:016x}", lectern_lesson::stable_hash([b"lectern-secret".as_slice(), &s.to_le_bytes()])),
            None => "public".to_owned(),
        }
    }
}

fn tempdir_in(root: &std::path::Path) -> std::io::Result<PathBuf> {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = root.join(format!("grade-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn outcome(r: &CaseResult, per_case: f64) -> CaseOutcome {
    let verdict = serde_json::to_value(&r.verdict).ok().and_then(|v| v.get("verdict").and_then(|k| k.as_str()).map(str::to_owned)).unwrap_or_default();
    let passed = r.verdict.passed();
    CaseOutcome { name: r.name.clone(), visible: r.visible, passed, verdict, message: describe(&r.verdict, r.visible), score: if passed { per_case } else { 0.0 }, max_score: per_case }
}

/// One line a student can act on; for a hidden case, without the values it compared.
fn describe(verdict: &Verdict, visible: bool) -> String {
    match verdict {
        Verdict::WrongValues { max_abs_error, max_rel_error, worst_index, expected, got } if visible => {
            format!("values differ: max abs error {max_abs_error:.3e}, max rel error {max_rel_error:.3e}; at {worst_index:?} expected {expected:.6} got {got:.6}")
        }
        Verdict::WrongValues { max_abs_error, .. } => format!("values differ from the reference (max abs error {max_abs_error:.3e})"),
        Verdict::WrongShape { output, expected, got } if visible => format!("output {output} has shape {got:?}, expected {expected:?}"),
        Verdict::WrongShape { output, got, .. } => format!("output {output} has the wrong shape ({got:?})"),
        other => harness_line(other),
    }
}

fn harness_line(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass { max_abs_error } => format!("matches the reference (max abs error {max_abs_error:.1e})"),
        Verdict::WrongValues { .. } | Verdict::WrongShape { .. } => "does not match the reference".into(),
        Verdict::WrongDtype { output, expected, got } => format!("output {output} is {got}, expected {expected}"),
        Verdict::WrongCount { expected, got } => format!("returned {got} value(s), expected {expected}"),
        Verdict::NotFinite { output, count } => format!("output {output} has {count} NaN or infinite value(s) where the reference is finite"),
        Verdict::PropertyFailed { reason } => format!("does not hold: {reason}"),
        Verdict::SyntaxError { line, message } => format!("syntax error at line {}: {message}", line.map_or("?".into(), |l| l.to_string())),
        Verdict::ImportError { message } => format!("the file does not import: {message}"),
        Verdict::MissingFunction { name } => format!("the file defines no function `{name}`"),
        Verdict::Exception { kind, message, .. } => format!("raised {kind}: {message}"),
        Verdict::Timeout { seconds } => format!("still running after {seconds:.0} s: stopped (an endless loop?)"),
        Verdict::CpuLimit { seconds } => format!("used up its {seconds} s of CPU time: stopped"),
        Verdict::MemoryLimit => "ran out of memory".into(),
        Verdict::Crashed { signal } => format!("crashed (signal {signal})"),
        Verdict::ExitedEarly { code } => format!("the process exited (code {code}) before returning"),
        Verdict::BadOutput { reason } => format!("unusable output: {reason}"),
    }
}
