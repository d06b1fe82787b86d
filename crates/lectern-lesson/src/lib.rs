//! The Lectern course model and the parser that reads it.
//!
//! In: a course folder (`course.toml`, `lessons/*.md`, `exercises/*/`). Out: a
//! [`Course`](model::Course) and every [`Diagnostic`](diag::Diagnostic) with its span.
//!
//! This crate knows nothing of HTML, templates, candle, sandboxes, grading or the
//! command line. The site, the runner and the grader all read the model it builds, so
//! the answer key they use is exactly the one the author wrote.

pub mod anchors;
pub mod answer;
pub mod cjk;
pub mod course;
pub mod diag;
pub mod dollars;
pub mod directive;
pub mod exercise;
pub mod lesson;
pub mod markdown;
pub mod model;
pub mod regex_check;
pub mod tex_check;

pub use course::{load_course, load_course_cached, CourseCache, LoadedCourse};
pub use diag::{Diagnostic, Severity, Span};
pub use lesson::{parse_lesson, Parsed};
pub use model::*;

/// FNV-1a over `parts`, with a zero byte between them: a hash that is the same on every
/// run and platform (std's hashers are not), for cache keys and derived seeds.
pub fn stable_hash<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.into_iter().enumerate() {
        let separator: &[u8] = if i == 0 { &[] } else { &[0] };
        for &byte in separator.iter().chain(part) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    /// Cache keys on disk (captured run output, Python environments) are made with this
    /// hash: its values must not change between versions.
    #[test]
    fn stable_hash_keeps_its_values() {
        assert_eq!(super::stable_hash([b"python".as_slice(), b"print(1)\n".as_slice()]), 0xfe56_722b_a80e_f68c);
        assert_eq!(super::stable_hash([b"numpy>=1.26".as_slice()]), 0x04b8_bd1b_f51e_b48e);
        assert_eq!(super::stable_hash(std::iter::empty()), 0xcbf2_9ce4_8422_2325);
    }
}
