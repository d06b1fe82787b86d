//! The runner's typed error: what went wrong, in which op, with which shapes.
//!
//! Written by hand rather than with `thiserror` to keep the dependency list short; callers
//! match on the variants, and the binary turns them into messages.

use std::fmt;

/// Everything the runner's library code can fail with.
///
/// Variants name the op (the reference's registry name, such as `"causal-attention"`)
/// so that a message read in a course author's terminal says where to look.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunnerError {
    /// A device name other than `cpu`, `cuda` or `auto`.
    UnknownDevice { given: String },
    /// `cuda` was asked for, but this binary was built without the `cuda` feature.
    CudaNotBuilt,
    /// `cuda` was asked for and built, but no GPU answered.
    NoGpu { source: candle_core::Error },
    /// Inputs whose shapes do not fit together. `expected` says what the op needs, in the
    /// words of its documentation; `shapes` lists each input involved with its shape.
    Shape {
        op: &'static str,
        expected: String,
        shapes: Vec<(String, Vec<usize>)>,
    },
    /// The model width cannot be split evenly into `n_heads` heads.
    HeadsDoNotDivide {
        op: &'static str,
        model_dim: usize,
        n_heads: usize,
    },
    /// An input of a dtype the op cannot compute with (e.g. integer activations).
    DType {
        op: &'static str,
        input: String,
        dtype: candle_core::DType,
        expected: &'static str,
    },
    /// The registry was asked for a name it does not have.
    UnknownReference { name: String },
    /// A required named input was not given.
    MissingInput { op: &'static str, input: String },
    /// A named input the op does not take (most often a typo in `exercise.toml`).
    UnexpectedInput { op: &'static str, input: String },
    /// A keyword argument that is missing, of the wrong kind, out of range or unknown.
    BadArgument {
        op: &'static str,
        arg: String,
        reason: String,
    },
    /// candle itself failed inside an op whose inputs we had already checked.
    Candle {
        op: &'static str,
        source: candle_core::Error,
    },
    /// The sandbox cannot be had (and `--no-sandbox` was not given).
    NoSandbox { reason: String },
    /// A program the runner starts (the sandbox, python, pip) could not be started.
    Spawn { what: String, message: String },
    /// The Python environment could not be made or does not work.
    Python { message: String },
    /// The scratch folder of a run could not be prepared or read.
    Scratch { message: String },
    /// The sandbox did not start the program (twice): Bubblewrap or the interpreter
    /// failed before any of the program's code ran. `exit` is how the run ended, `stderr`
    /// what it printed.
    NotStarted { exit: String, stderr: String },
    /// Lectern's own supervisor in the sandbox failed (twice, in two sandboxes) before it
    /// could say how a hand-in ended: the grader's problem, never the student's verdict.
    Supervisor { exit: String, stderr: String },
}

impl RunnerError {
    /// Shorthand for [`RunnerError::Shape`] from `(name, tensor)` pairs.
    pub(crate) fn shape(
        op: &'static str,
        expected: impl Into<String>,
        inputs: &[(&str, &candle_core::Tensor)],
    ) -> Self {
        RunnerError::Shape {
            op,
            expected: expected.into(),
            shapes: inputs
                .iter()
                .map(|(name, t)| ((*name).to_owned(), t.dims().to_vec()))
                .collect(),
        }
    }

    pub(crate) fn bad_arg(op: &'static str, arg: &str, reason: impl Into<String>) -> Self {
        RunnerError::BadArgument {
            op,
            arg: arg.to_owned(),
            reason: reason.into(),
        }
    }

    /// A `map_err` adaptor that tags a candle error with the op it happened in.
    pub(crate) fn candle(op: &'static str) -> impl Fn(candle_core::Error) -> Self {
        move |source| RunnerError::Candle { op, source }
    }
}

impl fmt::Display for RunnerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunnerError::NoSandbox { reason } => write!(f, "no sandbox: {reason}"),
            RunnerError::Spawn { what, message } => write!(f, "could not start {what}: {message}"),
            RunnerError::Python { message } => write!(f, "the Python environment: {message}"),
            RunnerError::Scratch { message } => write!(f, "the run's scratch folder: {message}"),
            RunnerError::NotStarted { exit, stderr } => write!(f, "the sandbox did not start the program ({exit}): {}", stderr.trim()),
            RunnerError::Supervisor { exit, stderr } => write!(f, "Lectern's supervisor in the sandbox failed ({exit}): {}", stderr.trim()),
            RunnerError::UnknownDevice { given } => {
                write!(
                    f,
                    "unknown device `{given}`: expected `cpu`, `cuda` or `auto`"
                )
            }
            RunnerError::CudaNotBuilt => f.write_str(
                "this lectern was built without the `cuda` feature; rebuild with `--features cuda`",
            ),
            RunnerError::NoGpu { source } => {
                // candle's CUDA errors carry a backtrace after their first line.
                let text = source.to_string();
                let first = text.lines().next().unwrap_or_default();
                write!(f, "the `cuda` device was asked for but no GPU answered: {first}")
            }
            RunnerError::Shape {
                op,
                expected,
                shapes,
            } => {
                write!(f, "{op}: {expected}; got ")?;
                for (i, (name, dims)) in shapes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name} {dims:?}")?;
                }
                Ok(())
            }
            RunnerError::HeadsDoNotDivide {
                op,
                model_dim,
                n_heads,
            } => write!(
                f,
                "{op}: model width {model_dim} is not divisible by n_heads = {n_heads}"
            ),
            RunnerError::DType {
                op,
                input,
                dtype,
                expected,
            } => write!(f, "{op}: input `{input}` is {dtype:?}, expected {expected}"),
            RunnerError::UnknownReference { name } => {
                write!(f, "no reference implementation is named `{name}`")
            }
            RunnerError::MissingInput { op, input } => {
                write!(f, "{op}: missing input `{input}`")
            }
            RunnerError::UnexpectedInput { op, input } => {
                write!(f, "{op}: does not take an input named `{input}`")
            }
            RunnerError::BadArgument { op, arg, reason } => {
                write!(f, "{op}: argument `{arg}`: {reason}")
            }
            RunnerError::Candle { op, source } => write!(f, "{op}: candle failed: {source}"),
        }
    }
}

impl std::error::Error for RunnerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunnerError::NoGpu { source } | RunnerError::Candle { source, .. } => Some(source),
            _ => None,
        }
    }
}
