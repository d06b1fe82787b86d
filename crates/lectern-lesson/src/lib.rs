//! The Lectern course model and the parser that reads it.
//!
//! In: a course folder (`course.toml`, `lessons/*.md`, `exercises/*/`). Out: a
//! [`Course`](model::Course) and every [`Diagnostic`](diag::Diagnostic) with its span.
//!
//! This crate knows nothing of HTML, templates, candle, sandboxes, grading or the
//! command line. The site, the runner and the grader all read the model it builds, so
//! the answer key they use is exactly the one the author wrote.

pub mod course;
pub mod diag;
pub mod directive;
pub mod exercise;
pub mod lesson;
pub mod markdown;
pub mod model;
pub mod regex_check;

pub use course::{load_course, load_course_cached, CourseCache, LoadedCourse};
pub use diag::{Diagnostic, Severity, Span};
pub use lesson::{parse_lesson, Parsed};
pub use model::*;
