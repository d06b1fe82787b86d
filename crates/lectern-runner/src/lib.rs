//! The runner: student code in a sandbox, checked against reference implementations in
//! Rust with candle.
//!
//! It knows exercises (from the course model), the sandbox and the references; it must
//! never know HTML or how grades are recorded, and it never runs untrusted code in its
//! own process: student code only ever runs in the sandbox, and what comes back from it
//! is data to compare, never code to load.
//!
//! What is here so far:
//!
//! - [`reference`]: the reference implementations an exercise names with `reference = "…"`,
//!   each computed with candle on a chosen device, and the registry that finds them by name.
//! - [`device`]: choosing where the references run (`cpu`, `cuda` or `auto`).
//!
//! - [`python`]: the Python environment student code runs in (from the course's lock file).
//! - [`sandbox`]: Bubblewrap, as root or as an ordinary user, with its limits.
//! - [`harness`]: one exercise, one student file: inputs drawn, the reference computed,
//!   the code run in the sandbox, the outputs judged ([`tolerance`] says how close).
//! - [`behaviour`]: the behaviour checks (`no-future-leak`, …).

mod error;

pub mod behaviour;

pub mod device;
pub mod exercise;
pub mod harness;
pub mod inputs;
pub mod judge;
mod prepare;
pub mod protocol;
pub mod verdict;
pub mod python;
pub mod reference;
pub mod sandbox;
pub mod tolerance;
pub mod seccomp;

pub use error::RunnerError;
