//! What can stop a whole batch (as opposed to one hand-in, which gets its own error row).

use std::path::PathBuf;

#[derive(Debug)]
pub enum GradeError {
    /// The submissions folder or zip cannot be read at all.
    Submissions { path: PathBuf, message: String },
    /// The output folder or one of its files cannot be written.
    Output { path: PathBuf, message: String },
    /// The gradebook database failed.
    Database { path: PathBuf, message: String },
    /// The gradebook belongs to another course, or was written by an incompatible version.
    Incompatible { path: PathBuf, message: String },
    /// `overrides.toml` is malformed or names what does not exist.
    Overrides { path: PathBuf, message: String },
    /// Shards that cannot be merged.
    Merge { message: String },
    /// The submissions hold no hand-in at all (`skipped` entries were not folders).
    NoHandIns { path: PathBuf, skipped: usize },
    /// The gradebook in `out` holds hand-ins that `submissions` does not: the run would
    /// drop them, and does only with `--prune`.
    FewerHandIns { out: PathBuf, submissions: PathBuf, gone: Vec<String> },
    /// Code could not be run at all while grading `exercise` (the Python environment, the
    /// sandbox, a scratch folder): the batch stopped; what was graded before is kept.
    CodeRunner { exercise: String, message: String },
    /// The similarity finder failed on an item's texts.
    Similarity { item: String, message: String },
}

impl std::fmt::Display for GradeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GradeError::Submissions { path, message } => write!(f, "cannot read the hand-ins at {}: {message}", path.display()),
            GradeError::Output { path, message } => write!(f, "cannot write {}: {message}", path.display()),
            GradeError::Database { path, message } => write!(f, "gradebook {}: {message}", path.display()),
            GradeError::Incompatible { path, message } => write!(f, "{}: {message}", path.display()),
            GradeError::Overrides { path, message } => write!(f, "{}: {message}", path.display()),
            GradeError::Merge { message } => write!(f, "cannot merge: {message}"),
            GradeError::Similarity { item, message } => write!(f, "comparing the hand-ins of {item}: {message}"),
            GradeError::NoHandIns { path, skipped } => {
                write!(f, "no hand-in folders found in {}", path.display())?;
                if *skipped > 0 {
                    write!(f, " ({skipped} entries skipped as not folders: one folder per student is expected)")?;
                }
                write!(f, "; nothing was changed")
            }
            GradeError::FewerHandIns { out, submissions, gone } => {
                let some: Vec<String> = gone.iter().take(5).map(|g| format!("`{}`", crate::answers::shown(g))).collect();
                write!(
                    f,
                    "the gradebook in {} holds {} hand-in{} that {} does not ({}{}); nothing was changed. Pass --prune to drop them from the gradebook and its exports, or grade into another --out",
                    out.display(),
                    gone.len(),
                    if gone.len() == 1 { "" } else { "s" },
                    submissions.display(),
                    some.join(", "),
                    if gone.len() > 5 { ", …" } else { "" }
                )
            }
            GradeError::CodeRunner { exercise, message } => write!(
                f,
                "code cannot be run here, so grading stopped (at exercise `{exercise}`): {message}\nNo hand-in was scored for it; hand-ins finished before are kept. Mend this, then run the same command again."
            ),
        }
    }
}

impl std::error::Error for GradeError {}
