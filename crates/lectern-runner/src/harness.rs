//! One exercise, one student file: every case's inputs drawn from its seed, the
//! reference computed here, the student's function run in the sandbox through a small
//! shim, and the outputs compared here. The expected outputs never exist where the
//! student's process can see them, and a verdict depends only on what the grader reads
//! and checks itself.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candle_core::{DType as CDType, Device, Tensor};
use lectern_lesson::model::{ArgValue, Case, DType, Exercise, Property};
use serde::Serialize;

use crate::behaviour;
use crate::tolerance;
use crate::reference::{self, InputKind, Judgement, Reference};
use crate::sandbox::{Exit, Sandbox};
use crate::RunnerError;

const SHIM: &str = include_str!("shim.py");
/// The largest output file read back (a student's array is data, not a denial of service).
const MAX_OUTPUT_FILE: u64 = 256 << 20;
/// At most this many outputs per call are looked at (more is a bad output).
const MAX_OUTPUTS: usize = 16;
/// The outputs of one run together may hold at most this many bytes.
const MAX_OUTPUT_TOTAL: u64 = 512 << 20;

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
    Timeout { seconds: f64 },
    CpuLimit { seconds: u64 },
    MemoryLimit,
    /// Killed by a signal (a segfault, for instance).
    Crashed { signal: i32 },
    /// The process ended before it wrote its outputs (`os._exit`, `sys.exit`).
    ExitedEarly { code: i32 },
    /// Outputs that are not arrays of numbers, or files too big to read.
    BadOutput { reason: String },
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Pass { .. })
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
            Verdict::Timeout { seconds } => format!("still running after {seconds:.0} s: stopped (an endless loop?)"),
            Verdict::CpuLimit { seconds } => format!("used up its {seconds} s of CPU time: stopped"),
            Verdict::MemoryLimit => "ran out of memory".into(),
            Verdict::Crashed { signal } => format!("crashed (signal {signal})"),
            Verdict::ExitedEarly { code } => format!("the process exited (code {code}) before returning"),
            Verdict::BadOutput { reason } => format!("unusable output: {reason}"),
        }
    }
}

/// Which cases to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cases {
    /// The student's self-check.
    Visible,
    /// Grading: every case.
    All,
}

/// How a hand-in is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    pub cases: Cases,
    /// Mixed into the seeds of hidden cases and of behaviour checks at grading time, so
    /// that their inputs cannot be known in advance. Visible cases never change.
    pub secret: Option<u64>,
}

/// Runs `student` (a file holding the exercise's function) on the exercise's cases, then
/// its behaviour checks (each a [`CaseResult`] named `check: PROPERTY`).
pub fn test_exercise(
    exercise: &Exercise,
    student: &Path,
    sandbox: &Sandbox,
    device: &Device,
    cases: Cases,
    scratch_root: &Path,
) -> Result<Vec<CaseResult>, RunnerError> {
    test_exercise_with(exercise, student, sandbox, device, &RunOptions { cases, secret: None }, scratch_root)
}

/// [`test_exercise`] with every option: at grading time, `Cases::All` and a secret.
pub fn test_exercise_with(
    exercise: &Exercise,
    student: &Path,
    sandbox: &Sandbox,
    device: &Device,
    options: &RunOptions,
    scratch_root: &Path,
) -> Result<Vec<CaseResult>, RunnerError> {
    let source = std::fs::read(student).map_err(|e| scratch(student, &e))?;
    test_source_with(exercise, &source, sandbox, device, options, scratch_root)
}

/// [`test_exercise_with`] for a student's file already read (the grader holds hand-ins
/// in memory); each run writes it into its own scratch folder.
pub fn test_source_with(
    exercise: &Exercise,
    source: &[u8],
    sandbox: &Sandbox,
    device: &Device,
    options: &RunOptions,
    scratch_root: &Path,
) -> Result<Vec<CaseResult>, RunnerError> {
    let reference = reference::by_name(&exercise.reference)
        .ok_or_else(|| RunnerError::UnknownReference { name: exercise.reference.clone() })?;
    let mut results = Vec::new();
    for case in exercise.cases.iter().filter(|c| options.cases == Cases::All || c.visible) {
        let (verdict, printed) = run_case(exercise, &reference, case, options.secret, source, sandbox, device, scratch_root)?;
        results.push(CaseResult { name: case.name.clone(), visible: case.visible, verdict, output: if case.visible { printed } else { String::new() } });
    }
    for check in &exercise.checks {
        let property = check.property;
        let seed = check_seed(exercise, property, options.secret);
        let probe = match behaviour::plan(exercise, &reference, property, seed, device)? {
            Ok(probe) => probe,
            Err(reason) => {
                return Err(RunnerError::BadArgument { op: reference.name, arg: format!("[[check]] {}", property.name()), reason });
            }
        };
        let (outcome, printed) = run_in_sandbox(exercise, reference.name, &probe.calls, source, sandbox, scratch_root)?;
        let verdict = match outcome {
            Ok(got) => behaviour::judge(&probe, &got),
            Err(verdict) => verdict,
        };
        results.push(CaseResult { name: format!("check: {}", property.name()), visible: true, verdict, output: printed });
    }
    Ok(results)
}

fn scratch(path: &Path, e: &std::io::Error) -> RunnerError {
    RunnerError::Scratch { message: format!("{}: {e}", path.display()) }
}

/// The seed of a case: its own, or one derived from the exercise and case names.
pub fn case_seed(exercise: &Exercise, case: &Case) -> u64 {
    case.seed.unwrap_or_else(|| lectern_lesson::stable_hash([exercise.id.as_bytes(), case.name.as_bytes()]))
}

/// The seed a case is drawn from in a run: hidden cases mix in the grader's secret, if
/// any; visible cases never change.
pub fn case_seed_with(exercise: &Exercise, case: &Case, secret: Option<u64>) -> u64 {
    let seed = case_seed(exercise, case);
    match secret {
        Some(secret) if !case.visible => mix(seed, secret),
        _ => seed,
    }
}

/// The seed of a behaviour check: from the exercise and the property, mixed with the
/// grader's secret, if any.
pub fn check_seed(exercise: &Exercise, property: Property, secret: Option<u64>) -> u64 {
    let seed = lectern_lesson::stable_hash([exercise.id.as_bytes(), b"check", property.name().as_bytes()]);
    secret.map_or(seed, |s| mix(seed, s))
}

fn mix(seed: u64, secret: u64) -> u64 {
    lectern_lesson::stable_hash([b"secret".as_slice(), &seed.to_le_bytes(), &secret.to_le_bytes()])
}

/// The input tensors of `case` (on the CPU), exactly as the reference and the student's
/// function both receive them in a run with `secret`.
pub fn case_inputs(exercise: &Exercise, case: &Case, secret: Option<u64>) -> Result<BTreeMap<String, Tensor>, RunnerError> {
    let reference = reference::by_name(&exercise.reference)
        .ok_or_else(|| RunnerError::UnknownReference { name: exercise.reference.clone() })?;
    draw_inputs(&reference, case, case_seed_with(exercise, case, secret))
}

/// SplitMix64: small, seedable, the same everywhere.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The candle dtype of a case's `dtype`.
pub fn case_dtype(dtype: DType) -> CDType {
    match dtype {
        DType::F64 => CDType::F64,
        DType::F32 => CDType::F32,
        DType::F16 => CDType::F16,
        DType::BF16 => CDType::BF16,
    }
}

/// The dtype the student's function receives (and must return) for reference values of
/// `dtype`. `.npy` files, and numpy, have no bfloat16: a bf16 case's inputs reach the
/// student as float32 arrays holding exactly the bf16-rounded values, and float32 comes
/// back. f16 is numpy's float16 and stays float16. `case.json` names the case's own dtype
/// (`"dtype": "bf16"`) and the shim sets `LECTERN_DTYPE`, so that a PyTorch solution can
/// compute in `torch.bfloat16`; the shim turns tensors it returns into numpy arrays
/// (bfloat16 into float32).
pub fn student_dtype(dtype: CDType) -> CDType {
    match dtype {
        CDType::BF16 => CDType::F32,
        other => other,
    }
}

/// The lowercase name of a dtype, as case files and `case.json` spell it.
fn dtype_name(dtype: CDType) -> String {
    format!("{dtype:?}").to_lowercase()
}

/// The case's input tensors, drawn from its seed.
fn draw_inputs(reference: &Reference, case: &Case, seed: u64) -> Result<BTreeMap<String, Tensor>, RunnerError> {
    let mut rng = Rng(seed);
    let mut inputs = BTreeMap::new();
    let op = reference.name;
    for (name, shape) in &case.inputs {
        let kind = reference.inputs.iter().find(|i| i.name == name).map_or(InputKind::Values, |i| i.kind);
        let n: usize = shape.iter().product();
        let tensor = match kind {
            InputKind::Values => {
                // Drawn in f64 and rounded (to nearest) to the case's dtype: the reference
                // computes in that dtype, and the student gets exactly these rounded values.
                let values: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                let t = Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(RunnerError::candle(op))?;
                t.to_dtype(case_dtype(case.dtype)).map_err(RunnerError::candle(op))?
            }
            InputKind::Mask => {
                let values: Vec<u8> = (0..n).map(|_| u8::from(rng.unit() < 0.75)).collect();
                Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(RunnerError::candle(op))?
            }
            InputKind::TokenIds => {
                let vocab = match case.args.get("vocab_size") {
                    Some(ArgValue::Int(v)) if *v > 1 => *v as u64,
                    _ => 1000,
                };
                let values: Vec<i64> = (0..n).map(|_| (rng.next() % vocab) as i64).collect();
                Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(RunnerError::candle(op))?
            }
        };
        inputs.insert(name.clone(), tensor);
    }
    Ok(inputs)
}

#[allow(clippy::too_many_arguments)]
fn run_case(
    exercise: &Exercise,
    reference: &Reference,
    case: &Case,
    secret: Option<u64>,
    source: &[u8],
    sandbox: &Sandbox,
    device: &Device,
    scratch_root: &Path,
) -> Result<(Verdict, String), RunnerError> {
    let seed = case_seed_with(exercise, case, secret);
    let inputs = draw_inputs(reference, case, seed)?;
    let expected = tolerance::expected(reference, &inputs, &case.args, device, seed)?;
    let call = behaviour::Call { inputs, args: case.args.clone(), from: Vec::new() };
    let (outcome, printed) = run_in_sandbox(exercise, reference.name, std::slice::from_ref(&call), source, sandbox, scratch_root)?;
    let verdict = match outcome {
        Ok(mut got) => judge(reference, case, &call.inputs, &expected, &got.pop().unwrap_or_default()),
        Err(verdict) => verdict,
    };
    Ok((verdict, printed))
}

/// What each call returned, or why there is nothing to compare.
type Outcome = Result<Vec<Vec<Tensor>>, Verdict>;

/// Runs the student's function once per call in one sandboxed process; returns what each
/// call returned (read back and checked here), or the verdict of what went wrong, and
/// what the process printed.
fn run_in_sandbox(
    exercise: &Exercise,
    op: &'static str,
    calls: &[behaviour::Call],
    source: &[u8],
    sandbox: &Sandbox,
    scratch_root: &Path,
) -> Result<(Outcome, String), RunnerError> {
    // The scratch folder: the student's file, the inputs, the shim; nothing else. Its
    // name is random, so that runs side by side (threads, processes, hosts sharing the
    // folder) never share one; it goes when this function returns.
    let scratch_dir = sandbox.scratch(scratch_root)?;
    let dir = scratch_dir.path();
    std::fs::create_dir_all(dir.join("in")).map_err(|e| scratch(dir, &e))?;
    std::fs::write(dir.join(&exercise.entry), source).map_err(|e| scratch(dir, &e))?;
    std::fs::write(dir.join("lectern_shim.py"), SHIM).map_err(|e| scratch(dir, &e))?;
    let mut described = Vec::new();
    for (k, call) in calls.iter().enumerate() {
        let folder = dir.join("in").join(k.to_string());
        std::fs::create_dir_all(&folder).map_err(|e| scratch(&folder, &e))?;
        for (name, tensor) in &call.inputs {
            let as_written = if tensor.dtype() == student_dtype(tensor.dtype()) {
                tensor.clone()
            } else {
                tensor.to_dtype(student_dtype(tensor.dtype())).map_err(RunnerError::candle(op))?
            };
            as_written.write_npy(folder.join(format!("{name}.npy"))).map_err(RunnerError::candle(op))?;
        }
        // The case's float dtype (f32 when no input is a float).
        let dtype = call.inputs.values().map(Tensor::dtype).find(|d| d.is_float()).map_or_else(|| "f32".to_string(), dtype_name);
        let args: serde_json::Map<String, serde_json::Value> =
            call.args.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect();
        let from: serde_json::Map<String, serde_json::Value> =
            call.from.iter().map(|(name, j, i)| (name.clone(), serde_json::json!([j, i]))).collect();
        let names: Vec<&String> = call.inputs.keys().collect();
        described.push(serde_json::json!({ "inputs": names, "from": from, "args": args, "dtype": dtype }));
    }
    let case_json = serde_json::json!({ "entry": exercise.entry, "function": exercise.function, "calls": described });
    std::fs::write(dir.join("case.json"), case_json.to_string()).map_err(|e| scratch(dir, &e))?;

    // A run that never started (Bubblewrap out of namespaces or processes for a moment)
    // is tried once more; if it still does not start, that is the grader's problem and
    // never the student's verdict.
    let mut run = sandbox.run_python(dir, &["lectern_shim.py"])?;
    if !run.started {
        let _ = std::fs::remove_dir_all(dir.join("out"));
        let _ = std::fs::remove_file(dir.join("status.json"));
        run = sandbox.run_python(dir, &["lectern_shim.py"])?;
    }
    if !run.started {
        return Err(RunnerError::NotStarted { exit: format!("{:?}", run.exit), stderr: run.stderr.chars().take(2000).collect() });
    }
    let printed = format!("{}{}", run.stdout, run.stderr);
    let outcome = match failure(dir, &run, sandbox.limits.cpu_seconds) {
        Some(verdict) => Err(verdict),
        None => read_outputs(dir, calls.len()),
    };
    Ok((outcome, printed))
}

#[derive(serde::Deserialize, Default)]
struct Status {
    status: String,
    #[serde(default)]
    line: Option<u64>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    traceback: String,
    #[serde(default)]
    name: String,
}

/// The verdict of a run that did not finish every call (from the exit and the shim's
/// status; the status alone never passes anything).
fn failure(dir: &Path, run: &crate::sandbox::Run, cpu_seconds: u64) -> Option<Verdict> {
    let status: Status = read_untrusted(&dir.join("status.json"), 1 << 20).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    match run.exit {
        Exit::WallTimeout => return Some(Verdict::Timeout { seconds: run.wall.as_secs_f64() }),
        Exit::Signal(24) => return Some(Verdict::CpuLimit { seconds: cpu_seconds }),
        Exit::Signal(9) if status.status.is_empty() => return Some(Verdict::MemoryLimit),
        Exit::Signal(signal) => return Some(Verdict::Crashed { signal }),
        _ => {}
    }
    Some(match status.status.as_str() {
        "ok" => return None,
        "syntax_error" => Verdict::SyntaxError { line: status.line, message: status.message },
        "import_error" => Verdict::ImportError { message: status.message },
        "missing_function" => Verdict::MissingFunction { name: status.name },
        "memory" => Verdict::MemoryLimit,
        "exception" => Verdict::Exception { kind: status.kind, message: status.message, traceback: status.traceback },
        "bad_output" => Verdict::BadOutput { reason: status.message },
        _ => {
            let code = match run.exit {
                Exit::Code(c) => c,
                _ => -1,
            };
            Verdict::ExitedEarly { code }
        }
    })
}

/// Every call's outputs, `out/K/N.npy` (what status.json claims is not trusted: the files
/// themselves are counted and checked).
fn read_outputs(dir: &Path, calls: usize) -> Result<Vec<Vec<Tensor>>, Verdict> {
    let plain_dir = |path: &Path| std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    let out = dir.join("out");
    if !plain_dir(&out) {
        return Err(Verdict::BadOutput { reason: "`out` is not a plain folder".into() });
    }
    // First every call's files by their metadata alone: how many, and how big in all,
    // before a byte of them is read.
    let mut planned: Vec<Vec<PathBuf>> = Vec::with_capacity(calls);
    let mut total: u64 = 0;
    for k in 0..calls {
        let call = out.join(k.to_string());
        if !plain_dir(&call) {
            planned.push(Vec::new());
            continue;
        }
        let mut files = Vec::new();
        for i in 0..=MAX_OUTPUTS {
            let path = call.join(format!("{i}.npy"));
            let Ok(meta) = std::fs::symlink_metadata(&path) else { break };
            if i == MAX_OUTPUTS {
                return Err(Verdict::BadOutput { reason: format!("more than {MAX_OUTPUTS} outputs") });
            }
            if !meta.is_file() || meta.len() > MAX_OUTPUT_FILE {
                return Err(Verdict::BadOutput { reason: format!("output {i} is not a plain file of at most {MAX_OUTPUT_FILE} bytes") });
            }
            total = total.saturating_add(meta.len());
            files.push(path);
        }
        planned.push(files);
    }
    if total > MAX_OUTPUT_TOTAL {
        return Err(Verdict::BadOutput { reason: format!("the outputs hold {total} bytes in all, more than {MAX_OUTPUT_TOTAL}") });
    }
    let mut all = Vec::with_capacity(calls);
    for files in planned {
        let mut got = Vec::with_capacity(files.len());
        for (i, path) in files.iter().enumerate() {
            match read_npy_checked(path) {
                Ok(t) => got.push(t),
                Err(reason) => return Err(Verdict::BadOutput { reason: format!("output {i}: {reason}") }),
            }
        }
        all.push(got);
    }
    Ok(all)
}

/// Reads a file that student code could have replaced: never through a symbolic link
/// (`O_NOFOLLOW`), never waiting on a FIFO (`O_NONBLOCK`, and only a regular file is
/// read), and at most `limit` bytes.
fn read_untrusted(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a plain file".into());
    }
    if meta.len() > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(format!("larger than {limit} bytes"));
    }
    Ok(bytes)
}

/// A case's outputs against the reference's: within [`tolerance`]'s error bound of the
/// exact values, or within the case's own `rtol`/`atol`.
pub fn judge(reference: &Reference, case: &Case, inputs: &BTreeMap<String, Tensor>, expected: &tolerance::Expected, got: &[Tensor]) -> Verdict {
    if got.len() != expected.exact.len() {
        return Verdict::WrongCount { expected: expected.exact.len(), got: got.len() };
    }
    if reference.judged_by == Judgement::MlmProperties {
        return judge_mlm(case, inputs, got);
    }
    let mut worst_pass = 0.0f64;
    for (i, (g, e)) in got.iter().zip(&expected.exact).enumerate() {
        let dtype = expected.dtypes[i];
        if g.dims() != e.dims() {
            return Verdict::WrongShape { output: i, expected: e.dims().to_vec(), got: g.dims().to_vec() };
        }
        if g.dtype() != student_dtype(dtype) {
            let expected = match dtype {
                CDType::BF16 => "f32 (a bf16 case: numpy has no bfloat16)".to_string(),
                other => dtype_name(other),
            };
            return Verdict::WrongDtype { output: i, expected, got: dtype_name(g.dtype()) };
        }
        let as_f64 = |t: &Tensor| t.to_dtype(CDType::F64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f64>());
        let (gv, ev) = match (as_f64(g), as_f64(e)) {
            (Ok(g), Ok(e)) => (g, e),
            _ => return Verdict::BadOutput { reason: format!("output {i} cannot be read as numbers") },
        };
        let not_finite = gv.iter().zip(&ev).filter(|(g, e)| !g.is_finite() && e.is_finite()).count();
        if not_finite > 0 {
            return Verdict::NotFinite { output: i, count: not_finite };
        }
        let (index, abs, fails) = if case.rtol.is_some() || case.atol.is_some() {
            let (rtol, atol) = tolerances(case, dtype);
            let atol = atol * atol_scale(dtype, &ev);
            tolerance::worst(&gv, &ev, |e| atol + rtol * e.abs())
        } else {
            let allowed = tolerance::ERROR_MULTIPLE * expected.bound[i];
            tolerance::worst(&gv, &ev, |_| allowed)
        };
        if fails {
            let max_rel = gv.iter().zip(&ev).map(|(g, e)| (g - e).abs() / e.abs().max(1e-12)).fold(0.0, f64::max);
            return Verdict::WrongValues {
                max_abs_error: gv.iter().zip(&ev).map(|(g, e)| (g - e).abs()).fold(0.0, f64::max),
                max_rel_error: max_rel,
                worst_index: unravel(index, e.dims()),
                expected: ev[index],
                got: gv[index],
            };
        }
        worst_pass = worst_pass.max(abs);
    }
    Verdict::Pass { max_abs_error: worst_pass }
}

/// Tolerances `(rtol, atol)`: the case's own, else [`default_tolerances`].
fn tolerances(case: &Case, dtype: CDType) -> (f64, f64) {
    let (rtol, atol) = default_tolerances(dtype);
    (case.rtol.unwrap_or(rtol), case.atol.unwrap_or(atol))
}

/// The tolerances `(rtol, atol)` a case's own `rtol` or `atol` is completed with (a case
/// that gives neither is judged by [`tolerance`]'s error bound instead). With them a value
/// passes when `|got − expected| ≤ atol · s + rtol · |expected|`, where `s` is 1 for f64
/// and f32, and for f16 and bf16 the largest `|expected|` of that output (see
/// [`atol_scale`]).
///
/// Why these numbers. The reference computes in the case's dtype (attention's softmax in
/// f32, as PyTorch's does), so in f16 and bf16 its own rounding error dominates, and that
/// error follows the size of the values rather than of each element: an attention output
/// near zero is a sum of terms as large as the largest output. Measured on the CPU against
/// the same op in float64 on the same rounded inputs, as max |Δ| / max |exact|
/// (`tests/half.rs` over the ai012 cases and several secrets, and attention up to
/// [1, 2048, 2048, 128]):
///
/// - f32: ≤ 1.1e-6, so `rtol 1e-4, atol 1e-5` (unchanged) leaves an order of margin;
/// - f16: ≤ 2.6e-3 (attention), 9e-4 (one KV-cache step); a numpy solution computing in
///   float16 errs by ≤ 2.5e-3 itself, so `rtol 1e-2, atol 1e-2·s` leaves 2× margin;
/// - bf16: ≤ 1.4e-2 (attention), 1.1e-2 (KV cache); a numpy solution gets float32 and adds
///   nothing, a PyTorch one in bf16 about as much again, so `rtol 2e-2, atol 4e-2·s`.
///
/// Mistakes the cases are there to catch still fail by far: attention without the 1/√d
/// scale is off by ≥ 0.5·s (tested). The multi-head layers of ai012 draw their weights
/// N(0, 1), so their scores reach hundreds and are ill-conditioned in half precision (f16
/// 2.3e-2·s, bf16 0.19·s): such cases need their own, looser `rtol`/`atol`.
pub fn default_tolerances(dtype: CDType) -> (f64, f64) {
    match dtype {
        CDType::F64 => (1e-9, 1e-12),
        CDType::F32 => (1e-4, 1e-5),
        CDType::F16 => (1e-2, 1e-2),
        CDType::BF16 => (2e-2, 4e-2),
        _ => (0.0, 0.0),
    }
}

/// What `atol` is multiplied by for an output whose reference values are `expected`: 1 for
/// f64 and f32; for f16 and bf16 the largest finite `|expected|` (1 if that is 0).
pub fn atol_scale(dtype: CDType, expected: &[f64]) -> f64 {
    match dtype {
        CDType::F16 | CDType::BF16 => {
            let largest = expected.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
            if largest > 0.0 { largest } else { 1.0 }
        }
        _ => 1.0,
    }
}

fn unravel(mut index: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0; dims.len()];
    for (slot, &d) in out.iter_mut().zip(dims).rev() {
        *slot = index % d.max(1);
        index /= d.max(1);
    }
    out
}

fn judge_mlm(case: &Case, inputs: &BTreeMap<String, Tensor>, got: &[Tensor]) -> Verdict {
    let ints = |t: &Tensor| t.to_dtype(CDType::I64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<i64>());
    let int_arg = |name: &str, default: i64| match case.args.get(name) {
        Some(ArgValue::Int(v)) => *v,
        _ => default,
    };
    let p = match case.args.get("p") {
        Some(ArgValue::Float(p)) => *p,
        Some(ArgValue::Int(p)) => *p as f64,
        _ => 0.15,
    };
    let (Some(tokens), Ok(student_inputs), Ok(labels)) = (inputs.get("tokens").and_then(|t| ints(t).ok()), ints(&got[0]), ints(&got[1])) else {
        return Verdict::BadOutput { reason: "inputs and labels must be integer arrays".into() };
    };
    match reference::check_mlm(&tokens, &student_inputs, &labels, int_arg("mask_id", 0), int_arg("vocab_size", 1000), p) {
        Ok(()) => Verdict::Pass { max_abs_error: 0.0 },
        Err(reason) => Verdict::PropertyFailed { reason },
    }
}

/// Reads an `.npy` file the student's process wrote, refusing headers whose shape and
/// dtype do not match the file's size (before anything is allocated for them).
fn read_npy_checked(path: &Path) -> Result<Tensor, String> {
    let bytes = read_untrusted(path, MAX_OUTPUT_FILE)?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not an .npy file".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return Err("unknown .npy version".into()),
    };
    let header = bytes.get(start..start + header_len).ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "the header is not text")?;
    // numpy writes each key once; a header with a key twice is read one way here and
    // another by whatever reads it next.
    for key in ["'descr'", "'fortran_order'", "'shape'"] {
        if header.matches(key).count() != 1 {
            return Err(format!("the header must hold {key} exactly once"));
        }
    }
    if header.matches(':').count() != 3 {
        return Err("the header holds keys other than descr, fortran_order and shape".into());
    }
    let descr = header.split("'descr':").nth(1).and_then(|s| s.split('\'').nth(1)).ok_or("no dtype")?;
    let size = match &descr[descr.len().saturating_sub(2)..] {
        "f8" | "i8" | "u8" => 8,
        "f4" | "i4" | "u4" => 4,
        "f2" | "i2" | "u2" => 2,
        "b1" | "i1" | "u1" => 1,
        other => return Err(format!("unsupported dtype {other}")),
    };
    let shape = header.split("'shape':").nth(1).and_then(|s| s.split(['(', ')']).nth(1)).ok_or("no shape")?;
    let mut elements: usize = 1;
    for dim in shape.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let d: usize = dim.parse().map_err(|_| "bad shape")?;
        elements = elements.checked_mul(d).ok_or("shape too large")?;
    }
    if elements.checked_mul(size) != Some(bytes.len() - start - header_len) {
        return Err("the header's shape does not match the data".into());
    }
    if header.contains("'fortran_order': True") {
        return Err("Fortran-ordered arrays are not read".into());
    }
    // Built from the bytes already checked, never from the path again.
    let dtype = match descr {
        "<f8" => CDType::F64,
        "<f4" => CDType::F32,
        "<f2" => CDType::F16,
        "<i8" => CDType::I64,
        "<i4" => CDType::I32,
        "<i2" => CDType::I16,
        "<u4" => CDType::U32,
        "|u1" | "|b1" => CDType::U8,
        other => return Err(format!("unsupported dtype {other}")),
    };
    let dims: Vec<usize> = shape.split(',').map(str::trim).filter(|d| !d.is_empty()).map(|d| d.parse().unwrap_or(0)).collect();
    Tensor::from_raw_buffer(&bytes[start + header_len..], dtype, &dims, &Device::Cpu).map_err(|e| e.to_string())
}
