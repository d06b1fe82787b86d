//! The runner: student code in a sandbox, checked against reference implementations in
//! Rust with candle.
//!
//! It knows exercises (from the course model), the sandbox and the references; it must
//! never know HTML or how grades are recorded, and it never runs untrusted code in its
//! own process.
//!
//! Not built yet: `lectern test` arrives with the runner issue.
