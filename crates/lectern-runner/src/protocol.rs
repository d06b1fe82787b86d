//! What the grader and the sandbox say to each other: one serde type per direction,
//! framed on a pipe (the sandbox's stdin and stdout), never a file.
//!
//! It knows the messages and their framing; it must never know how a verdict is judged
//! or how the sandbox is made.
//!
//! A frame is a little-endian `u32` length, then that many bytes of JSON (one message, at
//! most [`MAX_HEADER`] bytes). A message that announces data (`bytes`) is followed by
//! exactly that many raw bytes. Everything the sandbox sends is hostile: student code
//! shares the supervisor's process until it is forked away, so it can write frames of its
//! own. Messages are parsed strictly (unknown fields and types are errors), every length
//! is checked against a limit before a byte is read, and arrays are taken only in the
//! dtypes numpy writes and with the exact byte length their shape needs. Nothing a frame
//! says can pass a case: the grader judges the values itself.
//!
//! The Python side (`shim.py`) writes and reads the same shapes; `tests` at the bottom
//! check the two agree on a real run.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use candle_core::{DType as CDType, Device, Tensor};
use lectern_lesson::model::ArgValue;
use serde::{Deserialize, Serialize};

/// The largest JSON message either side accepts, in bytes.
pub const MAX_HEADER: u32 = 1 << 20;
/// At most this many outputs per call are accepted (more is a bad output).
pub const MAX_OUTPUTS: usize = 16;

/// Grader → sandbox, first frame of a hand-in: what to run. Followed by every input
/// array's bytes, in the order of `units[*].calls[*].inputs[*]`, when `inputs_follow`
/// (else the sandbox reuses those of the plan `id` it holds already).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Names the prepared exercise (and secret) the inputs belong to.
    pub id: u64,
    /// Fresh for every hand-in; the zygote says it back around the hand-in's reports, so
    /// that the grader knows the stream is in step.
    pub nonce: u64,
    pub inputs_follow: bool,
    /// The student's file name (`attention.py`) and the function to call.
    pub entry: String,
    pub function: String,
    pub units: Vec<UnitPlan>,
    pub budget: Budget,
    /// The supervisor sums its processes' resident memory and stops a case past
    /// `memory_bytes` (with a memory cgroup behind it where there is one).
    pub watch_memory: bool,
    pub memory_bytes: u64,
    /// What is kept of a case's printed output, in bytes.
    pub output_bytes: usize,
}

/// The limits of each case and check (and of the import); the first that runs out stops
/// the hand-in's remaining units.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    /// CPU time of every process a unit starts, in seconds.
    pub cpu_seconds: f64,
    /// Wall-clock time of a unit, in seconds: a generous cap for code that sleeps or waits.
    pub wall_seconds: f64,
}

/// A case or a behaviour check: calls of the student's function in one forked process.
#[derive(Debug, Clone, Serialize)]
pub struct UnitPlan {
    pub calls: Vec<CallPlan>,
}

/// One call: inputs by name (their bytes follow the plan), inputs from what an earlier
/// call of the unit returned (`name → [call, output]`), keyword arguments, and the case's
/// dtype (`f64`, `f32`, `f16` or `bf16`, also set as `LECTERN_DTYPE`).
#[derive(Debug, Clone, Serialize)]
pub struct CallPlan {
    pub inputs: Vec<ArrayHeader>,
    pub from: BTreeMap<String, (usize, usize)>,
    pub args: BTreeMap<String, ArgValue>,
    pub dtype: String,
}

/// An array on the wire: numpy's dtype string (`<f8`), its shape, and its byte length.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayHeader {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub dtype: String,
    pub shape: Vec<usize>,
    pub bytes: u64,
}

/// Grader → sandbox, second frame: the student's file (its bytes follow).
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub bytes: u64,
}

/// Sandbox → grader: what the zygote (the sandbox's first process) says. No student code
/// shares its process or can reach its stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ZygoteReport {
    /// numpy is imported; hand-ins may come.
    Ready,
    /// The hand-in's reports: `bytes` bytes of [`Report`] frames follow.
    HandIn { bytes: u64, nonce: u64 },
    /// The hand-in's process ended (after its reports): how, whether the zygote stopped
    /// it (past its budget with a margin: its process was taken over), and whether the
    /// sandbox could be emptied after it (if not, the zygote ends: the sandbox is never
    /// handed to another hand-in).
    Ended { exit: ChildExit, stopped: Option<Stop>, nonce: u64, clean: bool },
}

/// Sandbox → grader, inside a [`ZygoteReport::HandIn`]: what the hand-in's process
/// reports. Student code shares that process, so any of it may be forged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Report {
    /// The student's file is imported and defines the function.
    Loaded { printed: String },
    /// The student's file could not be used; no unit runs.
    LoadFailed { failure: LoadFailure, printed: String },
    /// What unit `unit`'s process wrote: `bytes` bytes of [`CaseReport`] frames follow.
    Unit { unit: usize, bytes: u64 },
    /// Unit `unit` ended: how its process exited, whether the supervisor stopped it, the
    /// CPU and wall time it took, and what it printed (capped).
    Done { unit: usize, exit: ChildExit, stopped: Option<Stop>, cpu_seconds: f64, wall_seconds: f64, printed: String },
    /// Unit `unit` was not run: an earlier one ran out of time.
    NotRun { unit: usize, spent: Stop },
    /// Every unit is done.
    Finished { cpu_seconds: f64 },
}

/// Why a student's file could not be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LoadFailure {
    SyntaxError { line: Option<u64>, message: String },
    ImportError { message: String },
    MissingFunction { name: String },
    Memory,
}

/// How a unit's process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ChildExit {
    Code { code: i32 },
    Signal { signal: i32 },
}

/// What the supervisor stopped a unit for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// The unit's CPU time is spent.
    Cpu,
    /// The unit's wall-clock time is spent.
    Wall,
    /// The sandbox's processes hold more memory than allowed.
    Memory,
}

/// Sandbox → grader, inside a [`Report::Unit`]: what the unit's process returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CaseReport {
    /// Output `index` of call `call`; its bytes follow.
    Output { call: usize, index: usize, array: ArrayHeader },
    /// How the calls ended.
    End { ending: Ending },
}

/// How the calls of a unit ended, as the unit's process saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "how", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Ending {
    /// Every call returned, and every output was sent.
    Returned,
    Exception { kind: String, message: String, traceback: String },
    Memory,
    BadOutput { message: String },
}

/// Why a frame stream could not be read.
#[derive(Debug)]
pub enum FrameError {
    /// The stream ended (cleanly, between frames).
    End,
    Io(io::Error),
    /// A frame that breaks the protocol: too long, not JSON, not a known message.
    Malformed(String),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::End => write!(f, "the stream ended"),
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::Malformed(why) => write!(f, "{why}"),
        }
    }
}

/// Writes one frame.
pub fn write_frame<T: Serialize>(out: &mut impl Write, message: &T) -> io::Result<()> {
    let json = serde_json::to_vec(message).map_err(io::Error::other)?;
    let len = u32::try_from(json.len()).ok().filter(|n| *n <= MAX_HEADER).ok_or_else(|| io::Error::other("a frame over the limit"))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&json)
}

/// Reads one frame of at most [`MAX_HEADER`] bytes and parses it strictly.
pub fn read_frame<T: for<'de> Deserialize<'de>>(input: &mut impl Read) -> Result<T, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match input.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::End),
            Ok(0) => return Err(FrameError::Malformed("a frame cut short".into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_HEADER {
        return Err(FrameError::Malformed(format!("a frame of {len} bytes (at most {MAX_HEADER})")));
    }
    let mut json = vec![0u8; len as usize];
    input.read_exact(&mut json).map_err(|e| FrameError::Malformed(format!("a frame cut short: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| FrameError::Malformed(format!("not a message: {e}")))
}

/// The numpy dtype string of a candle dtype, as arrays travel (little-endian).
pub fn numpy_dtype(dtype: CDType) -> Option<&'static str> {
    Some(match dtype {
        CDType::F64 => "<f8",
        CDType::F32 => "<f4",
        CDType::F16 => "<f2",
        CDType::I64 => "<i8",
        CDType::U32 => "<u4",
        CDType::U8 => "|u1",
        _ => return None,
    })
}

/// The candle dtype arrays of numpy dtype `descr` are read as, and its element size.
/// Only what numpy writes on a little-endian machine for the kinds Lectern compares.
pub fn candle_dtype(descr: &str) -> Option<(CDType, usize)> {
    Some(match descr {
        "<f8" => (CDType::F64, 8),
        "<f4" => (CDType::F32, 4),
        "<f2" => (CDType::F16, 2),
        "<i8" => (CDType::I64, 8),
        "<i4" => (CDType::I32, 4),
        "<i2" => (CDType::I16, 2),
        "<u4" => (CDType::U32, 4),
        "|u1" | "|b1" => (CDType::U8, 1),
        _ => return None,
    })
}

/// Checks an array header: a known dtype, and a byte length that is exactly what its
/// shape needs (without overflow). Returns the candle dtype.
pub fn check_array(header: &ArrayHeader) -> Result<CDType, String> {
    let (dtype, size) = candle_dtype(&header.dtype).ok_or_else(|| format!("unsupported dtype {}", header.dtype))?;
    let elements = header.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d)).ok_or("shape too large")?;
    let bytes = elements.checked_mul(size).ok_or("shape too large")?;
    if bytes as u64 != header.bytes {
        return Err(format!("shape {:?} of {} needs {bytes} bytes, not {}", header.shape, header.dtype, header.bytes));
    }
    Ok(dtype)
}

/// A tensor from an array's bytes, already checked with [`check_array`].
pub fn tensor_from(header: &ArrayHeader, dtype: CDType, bytes: &[u8]) -> Result<Tensor, String> {
    Tensor::from_raw_buffer(bytes, dtype, &header.shape, &Device::Cpu).map_err(|e| e.to_string())
}

/// An input tensor as it travels: its header and little-endian bytes.
pub fn array_bytes(name: &str, tensor: &Tensor) -> Result<(ArrayHeader, Vec<u8>), String> {
    let dtype = numpy_dtype(tensor.dtype()).ok_or_else(|| format!("{:?} arrays do not travel", tensor.dtype()))?;
    let flat = tensor.flatten_all().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = match tensor.dtype() {
        CDType::F64 => flat.to_vec1::<f64>().map_err(|e| e.to_string())?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        CDType::F32 => flat.to_vec1::<f32>().map_err(|e| e.to_string())?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        CDType::F16 => flat.to_vec1::<half::f16>().map_err(|e| e.to_string())?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        CDType::I64 => flat.to_vec1::<i64>().map_err(|e| e.to_string())?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        CDType::U32 => flat.to_vec1::<u32>().map_err(|e| e.to_string())?.iter().flat_map(|v| v.to_le_bytes()).collect(),
        CDType::U8 => flat.to_vec1::<u8>().map_err(|e| e.to_string())?,
        other => return Err(format!("{other:?} arrays do not travel")),
    };
    let header = ArrayHeader { name: name.to_owned(), dtype: dtype.to_owned(), shape: tensor.dims().to_vec(), bytes: bytes.len() as u64 };
    Ok((header, bytes))
}

/// Reads and throws away `n` bytes (data the grader will not hold), in small pieces.
pub fn skip(input: &mut impl Read, n: u64) -> io::Result<()> {
    let copied = io::copy(&mut input.take(n), &mut io::sink())?;
    if copied < n {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream ended inside an array"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frames_round_trip_and_unknown_fields_are_refused() {
        let mut buf = Vec::new();
        let report = Report::Done { unit: 2, exit: ChildExit::Signal { signal: 9 }, stopped: Some(Stop::Cpu), cpu_seconds: 1.5, wall_seconds: 2.0, printed: "hi".into() };
        write_frame(&mut buf, &report).unwrap();
        let back: Report = read_frame(&mut buf.as_slice()).unwrap();
        assert_eq!(back, report);
        for forged in [&br#"{"type":"not-run","unit":1,"spent":"cpu","extra":1}"#[..], br#"{"type":"passed","unit":1}"#, br#"{"type":"not-run","unit":-1,"spent":"cpu"}"#, b"\xff\xfe"] {
            let mut framed = (forged.len() as u32).to_le_bytes().to_vec();
            framed.extend_from_slice(forged);
            assert!(matches!(read_frame::<Report>(&mut framed.as_slice()), Err(FrameError::Malformed(_))), "{}", String::from_utf8_lossy(forged));
        }
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_before_it_is_read() {
        let framed = (MAX_HEADER + 1).to_le_bytes();
        assert!(matches!(read_frame::<Report>(&mut framed.as_slice()), Err(FrameError::Malformed(_))));
        assert!(matches!(read_frame::<Report>(&mut [].as_slice()), Err(FrameError::End)));
        assert!(matches!(read_frame::<Report>(&mut [1u8, 0].as_slice()), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn arrays_need_a_known_dtype_and_the_exact_byte_length() {
        let ok = ArrayHeader { name: String::new(), dtype: "<f8".into(), shape: vec![2, 3], bytes: 48 };
        assert_eq!(check_array(&ok), Ok(CDType::F64));
        for bad in [
            ArrayHeader { bytes: 47, ..ok.clone() },
            ArrayHeader { dtype: ">f8".into(), ..ok.clone() },
            ArrayHeader { dtype: "|O".into(), ..ok.clone() },
            ArrayHeader { shape: vec![usize::MAX, 3], ..ok.clone() },
            ArrayHeader { shape: vec![1 << 40, 1 << 40], bytes: 0, ..ok.clone() },
        ] {
            assert!(check_array(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn arrays_travel_unchanged() {
        let t = Tensor::from_vec(vec![1.5f32, -2.0, 3.25, 0.0], (2, 2), &Device::Cpu).unwrap();
        let (header, bytes) = array_bytes("q", &t).unwrap();
        let dtype = check_array(&header).unwrap();
        let back = tensor_from(&header, dtype, &bytes).unwrap();
        assert_eq!(back.to_vec2::<f32>().unwrap(), t.to_vec2::<f32>().unwrap());
    }
}
