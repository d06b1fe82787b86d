//! The grader: hand-ins in, results and a gradebook out, from the course's own key.
//!
//! In: a [`Course`](lectern_lesson::Course) and a folder (or `.zip`) of hand-ins, one
//! folder per student, or an LMS download (Canvas's flat zip, Moodle's folders) grouped
//! by student. Out: `gradebook.sqlite` (every hand-in and result; the source of
//! everything else), `gradebook.csv`, `students/<id>/results.json` and `report.html`.
//!
//! It knows the course model and asks a [`CodeRunner`] to run code; it must never know
//! the site's HTML templates, the command line or how code is run (the binary wires
//! Lectern's sandboxed runner in through that trait), and it never runs student code
//! itself.

pub mod answers;
pub mod batch;
pub mod code;
pub mod error;
pub mod export;
pub mod groups;
pub mod handin;
pub mod key;
pub mod overrides;
pub mod quiz;
pub mod report;
pub mod rubric;
pub mod similarity;
pub mod stats;
pub mod store;

pub use batch::{grade_batch, merge_shards, BatchOptions, BatchSummary, CodeRunner, Progress, Shard};
pub use error::GradeError;
pub use similarity::{Match, SimilarityFinder};
pub use key::{Item, ItemKind, Key};

/// What one graded item of one hand-in came to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ItemResult {
    /// The item's ID in the key (`q1`, `bottleneck/step1`, `attention`).
    pub item: String,
    pub score: f64,
    pub max_score: f64,
    /// The answer as the report counts it: option letters (`A,C`), a number, a text
    /// (capped), or empty when there was none.
    pub answer: String,
    /// Feedback lines for the student.
    pub feedback: Vec<String>,
    /// Why a human should look at this grade, if they should.
    pub flag: Option<String>,
    /// Kind-specific detail: rubric items earned, exercise cases and their verdicts.
    pub detail: Detail,
    /// The instructor's comment when `overrides.toml` set this score (applied when the
    /// exports are written; the gradebook keeps the computed score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Detail {
    #[default]
    None,
    /// One entry per rubric item, in author order: earned or not.
    Rubric { hits: Vec<bool> },
    /// One entry per case (and behaviour check) of the exercise.
    Cases { cases: Vec<CaseOutcome> },
}

/// One case of an exercise, as the gradebook keeps it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CaseOutcome {
    pub name: String,
    pub visible: bool,
    pub passed: bool,
    /// The verdict's kind (`pass`, `wrong-values`, `timeout`, …).
    pub verdict: String,
    /// A readable account of the verdict; for hidden cases it never shows expected values.
    pub message: String,
    pub score: f64,
    pub max_score: f64,
    /// The verdict may come from the machine rather than the code (out of wall-clock time
    /// or memory on a loaded machine): the hand-in is run again, alone, before it counts.
    /// Said by the runner; never kept in the gradebook (only a kept run is).
    #[serde(skip)]
    pub machine_may_be_to_blame: bool,
}
