//! Verdicts: what became of one case or check of a hand-in, and the line a student reads.
//!
//! It knows verdicts and how they read; it must never know how code is run or graded.

use serde::Serialize;

/// What became of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    Pass { max_abs_error: f64 },
    /// Values differ beyond the tolerances.
    WrongValues { max_abs_error: f64, max_rel_error: f64, worst_index: Vec<usize>, expected: f64, got: f64 },
    WrongShape { output: usize, expected: Vec<usize>, got: Vec<usize> },
    WrongDtype { output: usize, expected: String, got: String },
    WrongCount { expected: usize, got: usize },
    /// NaN or infinity where the reference is finite.
    NotFinite { output: usize, count: usize },
    /// Judged by properties (MLM masking), and one does not hold.
    PropertyFailed { reason: String },
    SyntaxError { line: Option<u64>, message: String },
    ImportError { message: String },
    MissingFunction { name: String },
    Exception { kind: String, message: String, traceback: String },
    /// Stopped when its `seconds` of `clock` time were spent.
    Timeout { seconds: f64, clock: Clock },
    /// Killed by RLIMIT_CPU.
    CpuLimit { seconds: u64 },
    /// Not run: an earlier case or check of the hand-in ran out of `spent` time.
    NotRun { spent: Clock },
    /// Its process could not be started (the machine's or the sandbox's process limit).
    NoProcess,
    MemoryLimit,
    /// Killed by a signal (a segfault, for instance).
    Crashed { signal: i32 },
    /// The process ended before it wrote its outputs (`os._exit`, `sys.exit`).
    ExitedEarly { code: i32 },
    /// Outputs that are not arrays of numbers, or files too big to read.
    BadOutput { reason: String },
}

/// Which clock a time budget counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clock {
    /// CPU time of the sandbox's processes: what a classmate's load cannot spend.
    Cpu,
    /// Wall-clock time: the generous cap for code that sleeps or waits.
    Wall,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass { .. })
    }

    /// The verdict's name, as `--json` and the gradebook spell it (`wrong-values`).
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Pass { .. } => "pass",
            Verdict::WrongValues { .. } => "wrong-values",
            Verdict::WrongShape { .. } => "wrong-shape",
            Verdict::WrongDtype { .. } => "wrong-dtype",
            Verdict::WrongCount { .. } => "wrong-count",
            Verdict::NotFinite { .. } => "not-finite",
            Verdict::PropertyFailed { .. } => "property-failed",
            Verdict::SyntaxError { .. } => "syntax-error",
            Verdict::ImportError { .. } => "import-error",
            Verdict::MissingFunction { .. } => "missing-function",
            Verdict::Exception { .. } => "exception",
            Verdict::Timeout { .. } => "timeout",
            Verdict::CpuLimit { .. } => "cpu-limit",
            Verdict::NotRun { .. } => "not-run",
            Verdict::NoProcess => "no-process",
            Verdict::MemoryLimit => "memory-limit",
            Verdict::Crashed { .. } => "crashed",
            Verdict::ExitedEarly { .. } => "exited-early",
            Verdict::BadOutput { .. } => "bad-output",
        }
    }

    /// Whether a loaded machine could have caused this verdict on code that is right:
    /// out of wall-clock time (and what was not run after it), out of memory that others
    /// hold, or no process to run in. Out of CPU time is the code's own: the budget counts only the
    /// sandbox's processes, which no classmate's load can spend.
    pub fn may_be_the_machine(&self) -> bool {
        matches!(self, Verdict::Timeout { clock: Clock::Wall, .. } | Verdict::NotRun { spent: Clock::Wall } | Verdict::MemoryLimit | Verdict::NoProcess)
    }
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    pub name: String,
    pub visible: bool,
    pub verdict: Verdict,
    /// What the student's code printed (visible cases only; capped).
    pub output: String,
}

impl CaseResult {
    /// One line a student can act on. For a hidden case it never shows the values it
    /// compared, nor where.
    pub fn describe(&self) -> String {
        match &self.verdict {
            Verdict::Pass { .. } if self.name.starts_with("check: ") => "holds".into(),
            Verdict::Pass { max_abs_error } => format!("matches the reference (max abs error {max_abs_error:.1e})"),
            Verdict::WrongValues { max_abs_error, max_rel_error, worst_index, expected, got } if self.visible => format!(
                "values differ: max abs error {max_abs_error:.3e}, max rel error {max_rel_error:.3e}; at {worst_index:?} expected {expected:.6} got {got:.6}"
            ),
            Verdict::WrongValues { max_abs_error, .. } => format!("values differ from the reference (max abs error {max_abs_error:.3e})"),
            Verdict::WrongShape { output, expected, got } if self.visible => format!("output {output} has shape {got:?}, expected {expected:?}"),
            Verdict::WrongShape { output, got, .. } => format!("output {output} has the wrong shape ({got:?})"),
            Verdict::WrongDtype { output, expected, got } => format!("output {output} is {got}, expected {expected}"),
            Verdict::WrongCount { expected, got } => format!("returned {got} value(s), expected {expected}"),
            Verdict::NotFinite { output, count } => format!("output {output} has {count} NaN or infinite value(s) where the reference is finite"),
            Verdict::PropertyFailed { reason } => format!("does not hold: {reason}"),
            Verdict::SyntaxError { line, message } => format!("syntax error at line {}: {message}", line.map_or("?".into(), |l| l.to_string())),
            Verdict::ImportError { message } => format!("the file does not import: {message}"),
            Verdict::MissingFunction { name } => format!("the file defines no function `{name}`"),
            Verdict::Exception { kind, message, traceback } => {
                let last = traceback.lines().rev().find(|l| l.trim_start().starts_with("File")).unwrap_or("").trim();
                format!("raised {kind}: {message} ({last})")
            }
            Verdict::Timeout { seconds, clock: Clock::Cpu } => {
                format!("used up its {seconds:.0} s of CPU time: stopped (an endless loop?); the cases after it were not run")
            }
            Verdict::Timeout { seconds, clock: Clock::Wall } => {
                format!("still running after {seconds:.0} s of wall-clock time: stopped (waiting or sleeping?); the cases after it were not run")
            }
            Verdict::CpuLimit { seconds } => format!("used up its {seconds} s of CPU time: stopped"),
            Verdict::NotRun { spent } => format!(
                "not run: an earlier case or check ran out of {} time",
                match spent {
                    Clock::Cpu => "CPU",
                    Clock::Wall => "wall-clock",
                }
            ),
            Verdict::MemoryLimit => "ran out of memory".into(),
            Verdict::NoProcess => "its process could not be started: a process limit was reached (the machine's, or by processes the hand-in itself left); grading runs it again, alone".into(),
            Verdict::Crashed { signal } => format!("crashed (signal {signal})"),
            Verdict::ExitedEarly { code } => format!("the process exited (code {code}) before returning"),
            Verdict::BadOutput { reason } => format!("unusable output: {reason}"),
        }
    }
}
