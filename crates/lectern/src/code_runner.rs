//! The runner wired into the grader: `lectern_grade::CodeRunner` for Lectern's sandbox,
//! every case (hidden ones included) of a hand-in in one sandbox. The Python environment
//! and the sandbox are set up on first use, so a batch without code hand-ins needs
//! neither.

use std::path::PathBuf;
use std::sync::OnceLock;

use lectern_lesson::model::{Exercise, RunnerConfig};
use lectern_runner::device::Device;
use lectern_runner::harness::{self, CaseResult, Cases, RunOptions};
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};

use lectern_grade::{CaseOutcome, CodeRunner};

/// Runs hand-ins' code with the runner.
#[derive(Debug)]
pub struct SandboxRunner {
    config: RunnerConfig,
    limits: Limits,
    isolation: Isolation,
    device: Device,
    cache: PathBuf,
    /// Hidden cases draw their inputs from this secret too (visible ones never do).
    secret: Option<u64>,
    sandbox: OnceLock<Result<Sandbox, String>>,
}

impl SandboxRunner {
    /// `config` is the course's `[runner]` (requirements and lock file); environments are
    /// cached in `cache`.
    pub fn new(config: RunnerConfig, limits: Limits, isolation: Isolation, device: Device, cache: PathBuf, secret: Option<u64>) -> SandboxRunner {
        SandboxRunner { config, limits, isolation, device, cache, secret, sandbox: OnceLock::new() }
    }

    fn sandbox(&self) -> Result<&Sandbox, String> {
        self.sandbox
            .get_or_init(|| {
                Sandbox::for_course(&self.config, &self.cache, self.limits, self.isolation, &mut |m| eprintln!("{m}")).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl CodeRunner for SandboxRunner {
    fn run(&self, exercise: &Exercise, code: &[u8]) -> Result<Vec<CaseOutcome>, String> {
        let sandbox = self.sandbox()?;
        let options = RunOptions { cases: Cases::All, secret: self.secret };
        let results = harness::test_source_with(exercise, code, sandbox, &self.device, &options);
        let results = results.map_err(|e| e.to_string())?;
        let per_case = exercise.points / results.len().max(1) as f64;
        Ok(results.iter().map(|r| outcome(r, per_case)).collect())
    }

    fn fingerprint(&self) -> String {
        let cases = match self.secret {
            // The secret itself never lands in the gradebook, only a digest of it.
            Some(s) => format!("secret-{:016x}", lectern_lesson::stable_hash([b"lectern-secret".as_slice(), &s.to_le_bytes()])),
            None => "public".to_owned(),
        };
        // What the environment is made from: a new lock regrades the code.
        let made_from = self.config.lock.clone().unwrap_or_else(|| self.config.requirements.join("\n"));
        format!("{cases}:env-{:016x}", lectern_lesson::stable_hash([made_from.as_bytes()]))
    }

    fn environment(&self) -> Option<String> {
        match self.sandbox.get() {
            Some(Ok(sandbox)) => Some(sandbox.python.info.to_string()),
            _ => None,
        }
    }
}

fn outcome(r: &CaseResult, per_case: f64) -> CaseOutcome {
    let verdict = r.verdict.kind().to_owned();
    let passed = r.verdict.passed();
    CaseOutcome { name: r.name.clone(), visible: r.visible, passed, verdict, message: r.describe(), score: if passed { per_case } else { 0.0 }, max_score: per_case, machine_may_be_to_blame: r.verdict.may_be_the_machine() }
}
