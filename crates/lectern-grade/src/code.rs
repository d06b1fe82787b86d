//! Code exercises through the runner: every case, hidden ones included, in the
//! runner's sandbox. The Python environment and the sandbox are set up on first use, so
//! a batch without code hand-ins needs neither.

use std::path::PathBuf;
use std::sync::OnceLock;

use candle_core::Device;
use lectern_lesson::model::{Exercise, RunnerConfig};
use lectern_runner::harness::{self, CaseResult, Cases, RunOptions};
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};

use crate::batch::CodeRunner;
use crate::CaseOutcome;

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
                let python = lectern_runner::python::provision(&self.config, &self.cache, &mut |m| eprintln!("{m}")).map_err(|e| e.to_string())?;
                Sandbox::new(python, self.limits, self.isolation).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

impl CodeRunner for SandboxRunner {
    fn run(&self, exercise: &Exercise, code: &[u8]) -> Result<Vec<CaseOutcome>, String> {
        let sandbox = self.sandbox()?;
        let options = RunOptions { cases: Cases::All, secret: self.secret };
        // Scratch folders on this host's temporary disk, never in a cache that other
        // hosts may share.
        let results = harness::test_source_with(exercise, code, sandbox, &self.device, &options, &std::env::temp_dir());
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
    let verdict = serde_json::to_value(&r.verdict).ok().and_then(|v| v.get("verdict").and_then(|k| k.as_str()).map(str::to_owned)).unwrap_or_default();
    let passed = r.verdict.passed();
    CaseOutcome { name: r.name.clone(), visible: r.visible, passed, verdict, message: r.describe(), score: if passed { per_case } else { 0.0 }, max_score: per_case }
}

/// Weighs an exercise's outcomes so that checks a constant function passes
/// ([`Property::constant_passes`](lectern_lesson::model::Property::constant_passes))
/// earn nothing alone: each earns its share of the points times the share of the
/// exercise's value cases that pass. Returns the flag for the instructor when no value
/// case passes but such a check holds: the code computes nothing the cases check.
///
/// Applied to outcomes as the runner returned them (or as the gradebook cached them),
/// so a change of this rule needs no rerun of the code.
pub fn weigh(exercise: &Exercise, outcomes: &mut [CaseOutcome]) -> Option<String> {
    let invariance: Vec<String> = exercise.checks.iter().filter(|c| c.property.constant_passes()).map(|c| format!("check: {}", c.property.name())).collect();
    let is_value = |o: &CaseOutcome| !o.name.starts_with("check: ");
    let values = outcomes.iter().filter(|o| is_value(o)).count();
    if values == 0 || invariance.is_empty() {
        return None;
    }
    let passed = outcomes.iter().filter(|o| is_value(o) && o.passed).count();
    let share = passed as f64 / values as f64;
    let mut held = 0;
    for o in outcomes.iter_mut().filter(|o| invariance.contains(&o.name)) {
        if o.passed {
            held += 1;
            o.score = o.max_score * share;
        }
    }
    (passed == 0 && held > 0).then(|| {
        format!("computes nothing the cases check: none of its {values} value cases pass, so the {held} check{} that a constant function also passes earn nothing", if held == 1 { "" } else { "s" })
    })
}
