//! One exercise, one student file: the exercise prepared once ([`crate::prepare`]), the
//! student's file run in one sandbox by Lectern's supervisor (`shim.py`), every case and
//! check in a process of its own forked from it, the outputs streamed back over a pipe
//! ([`crate::protocol`]) and judged here ([`crate::judge`]). The expected outputs never
//! exist where the student's process can see them, and a verdict depends only on what
//! the grader reads and checks itself.
//!
//! **Time.** Each case and check (and the import) gets
//! [`Limits::cpu_seconds`](crate::sandbox::Limits::cpu_seconds) of CPU time (counted for
//! every process it starts, so a classmate's load cannot spend it) and
//! [`Limits::wall`](crate::sandbox::Limits::wall) of wall-clock time (for code that sleeps
//! or waits). The first one that runs out gets `timeout`; the ones after it are not run
//! and get `not-run`. Code that never ends therefore costs the limit once per hand-in,
//! not once per case, and a slow but correct solution still gets the limit for each.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use candle_core::{Device, Tensor};
use lectern_lesson::model::Exercise;

use crate::behaviour;
use crate::judge::judge;
use crate::prepare::{self, Judge, Prepared};
use crate::protocol::{self, Budget, CaseReport, ChildExit, Ending, FrameError, LoadFailure, Plan, Report, Source, Stop, ZygoteReport};
use crate::sandbox::{Exit, Sandbox, Session, SessionEnd};
use crate::RunnerError;

pub use crate::inputs::{case_dtype, case_inputs, case_seed, case_seed_with, check_seed, student_dtype};
pub(crate) use crate::inputs::Rng;
pub use crate::judge::{atol_scale, default_tolerances};
pub use crate::prepare::{Cases, RunOptions};
pub use crate::verdict::{CaseResult, Clock, Verdict};

const SHIM: &str = include_str!("shim.py");

/// Runs `student` (a file holding the exercise's function) on the exercise's cases, then
/// its behaviour checks (each a [`CaseResult`] named `check: PROPERTY`).
pub fn test_exercise(exercise: &Exercise, student: &Path, sandbox: &Sandbox, device: &Device, cases: Cases) -> Result<Vec<CaseResult>, RunnerError> {
    test_exercise_with(exercise, student, sandbox, device, &RunOptions { cases, secret: None })
}

/// [`test_exercise`] with every option: at grading time, `Cases::All` and a secret.
pub fn test_exercise_with(exercise: &Exercise, student: &Path, sandbox: &Sandbox, device: &Device, options: &RunOptions) -> Result<Vec<CaseResult>, RunnerError> {
    let source = std::fs::read(student).map_err(|e| RunnerError::Scratch { message: format!("{}: {e}", student.display()) })?;
    test_source_with(exercise, &source, sandbox, device, options)
}

/// [`test_exercise_with`] for a student's file already read (the grader holds hand-ins
/// in memory).
pub fn test_source_with(exercise: &Exercise, source: &[u8], sandbox: &Sandbox, device: &Device, options: &RunOptions) -> Result<Vec<CaseResult>, RunnerError> {
    // A new sandbox imports numpy while the exercise is prepared.
    let taken = take(sandbox)?;
    let prepared = prepare::prepared(exercise, options, device)?;
    // A sandbox that never started (Bubblewrap out of namespaces or processes for a
    // moment) is tried once more; if it still does not start, that is the grader's
    // problem and never the student's verdict.
    match run(&prepared, source, sandbox, taken)? {
        Ran::Results(results) => Ok(results),
        Ran::NotStarted(_) | Ran::SupervisorFailed(_) => match run(&prepared, source, sandbox, take(sandbox)?)? {
            Ran::Results(results) => Ok(results),
            Ran::NotStarted(end) => Err(RunnerError::NotStarted { exit: format!("{:?}", end.exit), stderr: end.stderr.chars().take(2000).collect() }),
            Ran::SupervisorFailed(end) => Err(RunnerError::Supervisor { exit: format!("{:?}", end.exit), stderr: end.stderr.chars().take(2000).collect() }),
        },
    }
}

enum Ran {
    Results(Vec<CaseResult>),
    NotStarted(SessionEnd),
    /// The zygote itself failed (it says so on its stderr, which no student code can
    /// reach): tried once more in a new sandbox, then the grader's error.
    SupervisorFailed(SessionEnd),
}

/// What the grader learnt of one unit.
#[derive(Default)]
struct Seen {
    /// Outputs read, per call, in order.
    outputs: Vec<Vec<Tensor>>,
    /// A verdict already reached from an output's header (or a broken stream).
    early: Option<Verdict>,
    ending: Option<Ending>,
    done: Option<(ChildExit, Option<Stop>, f64, String)>,
    not_run: Option<Stop>,
}

/// Sessions (warm sandboxes, numpy imported) that finished their last hand-in cleanly,
/// by the sandbox they were made for, with the plan each holds: every hand-in still gets
/// a fresh process and an emptied sandbox, but the sandbox and numpy start once per
/// worker rather than once per hand-in.
type Pool = std::sync::Mutex<Vec<(String, Session, u64)>>;
static POOL: Pool = std::sync::Mutex::new(Vec::new());
/// At most this many idle sessions are kept.
const POOL_SIZE: usize = 16;

fn pool_key(sandbox: &Sandbox) -> String {
    format!("{:?}|{:?}|{:?}|{:?}", sandbox.python.python(), sandbox.limits, sandbox.isolation, crate::sandbox::Mode::current())
}

/// A session for a hand-in: warm from the pool (with the plan it holds), or just started
/// (numpy still importing while the grader prepares the exercise).
enum Taken {
    Warm(Session, u64),
    Cold(Session),
}

fn take(sandbox: &Sandbox) -> Result<Taken, RunnerError> {
    let key = pool_key(sandbox);
    {
        let mut pool = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = pool.iter().position(|(k, _, _)| *k == key) {
            let (_, session, held) = pool.swap_remove(at);
            return Ok(Taken::Warm(session, held));
        }
    }
    Ok(Taken::Cold(sandbox.session(SHIM)?))
}

/// Waits for a session to be ready (`Err` with how it ended when it did not start).
fn ready(taken: Taken, sandbox: &Sandbox) -> Result<(Session, Option<u64>), SessionEnd> {
    match taken {
        Taken::Warm(session, held) => Ok((session, Some(held))),
        Taken::Cold(mut session) => {
            // Starting is bounded too: a sandbox that never says it is ready is ended.
            let guard = session.arm(sandbox.limits.wall + Duration::from_secs(30));
            let said = protocol::read_frame::<ZygoteReport>(&mut session.stdout);
            drop(guard);
            match said {
                Ok(ZygoteReport::Ready) => Ok((session, None)),
                _ => Err(session.finish(true)),
            }
        }
    }
}

fn give_back(sandbox: &Sandbox, session: Session, held: u64) {
    let mut pool = POOL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if pool.len() < POOL_SIZE {
        pool.push((pool_key(sandbox), session, held));
    } else {
        drop(pool);
        session.finish(true);
    }
}

/// A number no hand-in can know in advance (the clock and a counter, hashed).
fn fresh_nonce() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    lectern_lesson::stable_hash([now.as_nanos().to_le_bytes().as_slice(), &n.to_le_bytes(), &std::process::id().to_le_bytes()])
}

/// How the hand-in's process ended: as the zygote said, or the whole sandbox ended.
enum HandInEnd {
    Ended { exit: ChildExit, stopped: Option<Stop> },
    Sandbox(SessionEnd),
}

fn run(prepared: &Prepared, source: &[u8], sandbox: &Sandbox, taken: Taken) -> Result<Ran, RunnerError> {
    let limits = &sandbox.limits;
    let budget = Budget { cpu_seconds: limits.cpu_seconds as f64, wall_seconds: limits.wall.as_secs_f64() };
    let (mut session, held) = match ready(taken, sandbox) {
        Ok(warm) => warm,
        Err(end) => return Ok(Ran::NotStarted(end)),
    };
    // The sandbox keeps to the limits itself; this is the backstop for one that does not
    // (student code that took its processes over): every unit's and the import's limit.
    let units = prepared.units.len() as u32 + 1;
    let guard = session.arm(limits.wall * units + Duration::from_secs(15));
    let nonce = fresh_nonce();
    let plan = Plan {
        id: prepared.id,
        nonce,
        inputs_follow: held != Some(prepared.id),
        entry: prepared.entry.clone(),
        function: prepared.function.clone(),
        units: prepared.plan.clone(),
        budget,
        // Always: a case past the limit is stopped with `memory-limit`; the cgroup, where
        // there is one, is the hard bound behind it.
        watch_memory: true,
        memory_bytes: limits.memory_bytes,
        output_bytes: limits.output_bytes,
    };
    let sent = (|| {
        let stdin = session.stdin.as_mut().ok_or_else(|| std::io::Error::other("no stdin"))?;
        protocol::write_frame(stdin, &plan)?;
        if plan.inputs_follow {
            stdin.write_all(&prepared.input_bytes)?;
        }
        protocol::write_frame(stdin, &Source { bytes: source.len() as u64 })?;
        stdin.write_all(source)?;
        stdin.flush()
    })();
    let mut seen: Vec<Seen> = prepared.units.iter().map(|_| Seen::default()).collect();
    let mut load: Option<Result<String, (LoadFailure, String)>> = None;
    let mut broken: Option<String> = None;
    let mut ended = None;
    let mut reusable = false;
    if sent.is_ok() {
        match protocol::read_frame::<ZygoteReport>(&mut session.stdout) {
            Ok(ZygoteReport::HandIn { bytes, nonce: said }) if said == nonce => {
                let mut stream = (&mut session.stdout).take(bytes);
                read_reports(prepared, &mut stream, &mut seen, &mut load, &mut broken);
                // What the reports did not use is read past, never kept.
                let left = stream.limit();
                if protocol::skip(&mut stream, left).is_err() {
                    broken.get_or_insert_with(|| "the stream ended inside the reports".into());
                }
                match protocol::read_frame::<ZygoteReport>(&mut session.stdout) {
                    Ok(ZygoteReport::Ended { exit, stopped, nonce: said, clean }) if said == nonce => {
                        ended = Some(HandInEnd::Ended { exit, stopped });
                        reusable = clean;
                    }
                    Ok(other) => broken = Some(format!("the sandbox said {other:?} out of turn")),
                    Err(FrameError::End) => {}
                    Err(e) => broken = Some(e.to_string()),
                }
            }
            Ok(other) => broken = Some(format!("the sandbox said {other:?} out of turn")),
            Err(FrameError::End) => {}
            Err(e) => broken = Some(e.to_string()),
        }
    }
    drop(guard);
    let ended = match ended {
        Some(ended) => {
            if reusable {
                give_back(sandbox, session, prepared.id);
            } else {
                // Not emptied: retired (the zygote ends itself too).
                session.finish(true);
            }
            ended
        }
        None => {
            let end = session.finish(true);
            if end.stderr.contains("Traceback") && !matches!(end.exit, Exit::WallTimeout) {
                return Ok(Ran::SupervisorFailed(end));
            }
            if load.is_none() && broken.is_none() && held.is_none() && seen.iter().all(|s| s.done.is_none()) && end.exit != Exit::WallTimeout {
                // A new sandbox that died before a word about the hand-in: not started.
                if sent.is_err() {
                    return Ok(Ran::NotStarted(end));
                }
            }
            HandInEnd::Sandbox(end)
        }
    };
    let import_printed = match &load {
        Some(Ok(p)) => p.clone(),
        Some(Err((_, p))) => p.clone(),
        None => String::new(),
    };
    let mut results = Vec::with_capacity(prepared.units.len());
    for (unit, s) in prepared.units.iter().zip(seen) {
        let (verdict, printed) = match &load {
            Some(Err((failure, _))) => (load_verdict(failure), String::new()),
            None => (ended_early(&ended, budget, broken.as_deref()), String::new()),
            Some(Ok(_)) => judge_unit(prepared, unit, s, &ended, budget, broken.as_deref()),
        };
        let output = if unit.visible { format!("{import_printed}{printed}") } else { String::new() };
        results.push(CaseResult { name: unit.name.clone(), visible: unit.visible, verdict, output });
    }
    Ok(Ran::Results(results))
}

/// Reads a hand-in's reports (hostile: its process ran student code).
fn read_reports(prepared: &Prepared, stream: &mut impl Read, seen: &mut [Seen], load: &mut Option<Result<String, (LoadFailure, String)>>, broken: &mut Option<String>) {
    loop {
        let report = match protocol::read_frame::<Report>(stream) {
            Ok(report) => report,
            Err(FrameError::End) => return,
            Err(e) => {
                *broken = Some(e.to_string());
                return;
            }
        };
        let unit = match &report {
            Report::Unit { unit, .. } | Report::Done { unit, .. } | Report::NotRun { unit, .. } => Some(*unit),
            _ => None,
        };
        if unit.is_some_and(|u| u >= seen.len()) {
            *broken = Some(format!("a report of unit {}, which does not exist", unit.unwrap_or_default()));
            return;
        }
        match report {
            Report::Loaded { printed } => *load = Some(Ok(printed)),
            Report::LoadFailed { failure, printed } => *load = Some(Err((failure, printed))),
            Report::Unit { unit, bytes } => {
                let mut sub = stream.take(bytes);
                read_unit(&prepared.units[unit], &mut sub, &mut seen[unit]);
                let left = sub.limit();
                if protocol::skip(&mut sub, left).is_err() {
                    *broken = Some("the reports ended inside a unit's".into());
                    return;
                }
            }
            Report::Done { unit, exit, stopped, cpu_seconds, printed, .. } => seen[unit].done = Some((exit, stopped, cpu_seconds, printed)),
            Report::NotRun { unit, spent } => seen[unit].not_run = Some(spent),
            Report::Finished { .. } => return,
        }
    }
}

/// The verdict of every unit when the file itself could not be used.
fn load_verdict(failure: &LoadFailure) -> Verdict {
    match failure {
        LoadFailure::SyntaxError { line, message } => Verdict::SyntaxError { line: *line, message: message.clone() },
        LoadFailure::ImportError { message } => Verdict::ImportError { message: message.clone() },
        LoadFailure::MissingFunction { name } => Verdict::MissingFunction { name: name.clone() },
        LoadFailure::Memory => Verdict::MemoryLimit,
    }
}

/// The verdict of a unit that has no report: the hand-in's process, or the sandbox,
/// ended (or was ended) first.
fn ended_early(ended: &HandInEnd, budget: Budget, broken: Option<&str>) -> Verdict {
    if let Some(why) = broken {
        // Ended by the grader, which stopped listening: not the machine, not memory.
        return Verdict::BadOutput { reason: format!("the sandbox's reports broke off: {why}") };
    }
    match ended {
        HandInEnd::Ended { stopped: Some(Stop::Wall), .. } => Verdict::Timeout { seconds: budget.wall_seconds, clock: Clock::Wall },
        HandInEnd::Ended { stopped: Some(Stop::Cpu), .. } | HandInEnd::Ended { exit: ChildExit::Signal { signal: 24 }, .. } => {
            Verdict::Timeout { seconds: budget.cpu_seconds, clock: Clock::Cpu }
        }
        HandInEnd::Ended { stopped: Some(Stop::Memory), .. } | HandInEnd::Ended { exit: ChildExit::Signal { signal: 9 }, .. } => Verdict::MemoryLimit,
        HandInEnd::Ended { exit: ChildExit::Signal { signal }, .. } => Verdict::Crashed { signal: *signal },
        HandInEnd::Ended { exit: ChildExit::Code { code: 96 }, .. } => Verdict::NoProcess,
        HandInEnd::Ended { exit: ChildExit::Code { code }, .. } => Verdict::ExitedEarly { code: *code },
        HandInEnd::Sandbox(end) => match end.exit {
            Exit::WallTimeout => Verdict::Timeout { seconds: budget.wall_seconds, clock: Clock::Wall },
            Exit::Signal(24) => Verdict::Timeout { seconds: budget.cpu_seconds, clock: Clock::Cpu },
            Exit::Signal(9) => Verdict::MemoryLimit,
            Exit::Signal(signal) => Verdict::Crashed { signal },
            Exit::Code(code) => Verdict::ExitedEarly { code },
        },
    }
}

fn judge_unit(prepared: &Prepared, unit: &prepare::Unit, s: Seen, ended: &HandInEnd, budget: Budget, broken: Option<&str>) -> (Verdict, String) {
    if let Some(spent) = s.not_run {
        return (Verdict::NotRun { spent: clock(spent) }, String::new());
    }
    let Some((exit, stopped, _cpu, printed)) = s.done else {
        return (ended_early(ended, budget, broken), String::new());
    };
    let verdict = match (stopped, exit) {
        (Some(Stop::Cpu), _) | (None, ChildExit::Signal { signal: 24 }) => Verdict::Timeout { seconds: budget.cpu_seconds, clock: Clock::Cpu },
        (Some(Stop::Wall), _) => Verdict::Timeout { seconds: budget.wall_seconds, clock: Clock::Wall },
        (Some(Stop::Memory), _) | (None, ChildExit::Signal { signal: 9 }) => Verdict::MemoryLimit,
        (None, ChildExit::Signal { signal }) => Verdict::Crashed { signal },
        (None, ChildExit::Code { code: 96 }) => Verdict::NoProcess,
        (None, ChildExit::Code { code: 97 }) => Verdict::BadOutput { reason: "the outputs do not fit the sandbox's scratch space".into() },
        (None, ChildExit::Code { code }) => match s.ending {
            Some(Ending::Returned) => match s.early {
                Some(early) => early,
                None => judge_outputs(prepared, unit, &s.outputs),
            },
            Some(Ending::Exception { kind, message, traceback }) => Verdict::Exception { kind, message, traceback },
            Some(Ending::Memory) => Verdict::MemoryLimit,
            Some(Ending::BadOutput { message }) => Verdict::BadOutput { reason: message },
            None => s.early.unwrap_or(Verdict::ExitedEarly { code }),
        },
    };
    (verdict, printed)
}

fn clock(stop: Stop) -> Clock {
    match stop {
        Stop::Wall => Clock::Wall,
        Stop::Cpu | Stop::Memory => Clock::Cpu,
    }
}

fn judge_outputs(prepared: &Prepared, unit: &prepare::Unit, outputs: &[Vec<Tensor>]) -> Verdict {
    match &unit.judge {
        Judge::Case { case, inputs, expected } => judge(&prepared.reference, case, inputs, expected, outputs.first().map_or(&[][..], Vec::as_slice)),
        Judge::Check(probe) => {
            let mut got = outputs.to_vec();
            got.resize(probe.calls.len(), Vec::new());
            behaviour::judge(probe, &got)
        }
    }
}

/// Reads one unit's frames: outputs in order, each checked against what the reference
/// gives before its bytes are read; an output larger than the reference's is judged by
/// its header and never held.
fn read_unit(unit: &prepare::Unit, stream: &mut impl Read, s: &mut Seen) {
    loop {
        let frame = match protocol::read_frame::<CaseReport>(stream) {
            Ok(frame) => frame,
            Err(FrameError::End) => return,
            Err(e) => {
                s.early.get_or_insert(Verdict::BadOutput { reason: format!("unreadable output: {e}") });
                return;
            }
        };
        match frame {
            CaseReport::End { ending } => {
                s.ending = Some(ending);
                return;
            }
            CaseReport::Output { call, index, array } => {
                let in_order = call < unit.caps.len() && (call + 1 == s.outputs.len() || call == s.outputs.len()) && {
                    s.outputs.resize(call + 1, Vec::new());
                    index == s.outputs[call].len()
                };
                if !in_order || index >= protocol::MAX_OUTPUTS {
                    s.early.get_or_insert(Verdict::BadOutput { reason: format!("output {index} of call {call} out of order, or more than {} outputs", protocol::MAX_OUTPUTS) });
                    return;
                }
                let dtype = match protocol::check_array(&array) {
                    Ok(dtype) => dtype,
                    Err(reason) => {
                        s.early.get_or_insert(Verdict::BadOutput { reason: format!("output {index}: {reason}") });
                        return;
                    }
                };
                let cap = unit.caps[call].get(index).copied().unwrap_or(0);
                if array.bytes > cap {
                    // Not what the reference gives, and larger: judged by the header.
                    let expected = unit.judge.expected(call);
                    let verdict = match expected.get(index) {
                        None => Verdict::WrongCount { expected: expected.len(), got: index + 1 },
                        Some((dims, _)) if *dims != array.shape => Verdict::WrongShape { output: index, expected: dims.clone(), got: array.shape.clone() },
                        Some((_, want)) => crate::judge::wrong_dtype(index, *want, dtype),
                    };
                    s.early.get_or_insert(verdict);
                    if protocol::skip(stream, array.bytes).is_err() {
                        return;
                    }
                    // A placeholder keeps the count of outputs right.
                    s.outputs[call].push(Tensor::zeros(0, candle_core::DType::U8, &Device::Cpu).unwrap_or_else(|_| unreachable!()));
                    continue;
                }
                let mut bytes = vec![0u8; array.bytes as usize];
                if stream.read_exact(&mut bytes).is_err() {
                    s.early.get_or_insert(Verdict::BadOutput { reason: format!("output {index} cut short") });
                    return;
                }
                match protocol::tensor_from(&array, dtype, &bytes) {
                    Ok(t) => s.outputs[call].push(t),
                    Err(reason) => {
                        s.early.get_or_insert(Verdict::BadOutput { reason: format!("output {index}: {reason}") });
                        return;
                    }
                }
            }
        }
    }
}
