//! What can stop a comparison. A hand-in never does: a syntax error is tokenised as far as
//! it parses, an over-long source is cut and flagged, a short answer is skipped and listed.

use std::fmt;

/// Why a comparison could not run at all.
#[derive(Debug)]
#[non_exhaustive]
pub enum SimilarityError {
    /// A configuration value is out of its range (e.g. `k = 0`, a fraction above 1, NaN).
    InvalidConfig {
        /// The field, as named in [`CodeConfig`](crate::CodeConfig) or
        /// [`TextConfig`](crate::TextConfig).
        parameter: &'static str,
        /// The value given, as written by `{:?}`.
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The tree-sitter runtime refused the Python grammar (incompatible ABI versions of
    /// the `tree-sitter` and `tree-sitter-python` crates): a build problem, not an input one.
    Grammar(tree_sitter::LanguageError),
    /// tree-sitter returned no tree for a source. It does so only when parsing is
    /// cancelled, which this crate never asks for; reported rather than unwrapped.
    ParseAborted,
}

impl fmt::Display for SimilarityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimilarityError::InvalidConfig { parameter, value, expected } => {
                write!(f, "invalid similarity setting `{parameter}` = {value}: expected {expected}")
            }
            SimilarityError::Grammar(e) => write!(f, "the Python grammar cannot be loaded: {e}"),
            SimilarityError::ParseAborted => write!(f, "the Python parser returned no syntax tree"),
        }
    }
}

impl std::error::Error for SimilarityError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SimilarityError::Grammar(e) => Some(e),
            _ => None,
        }
    }
}

impl From<tree_sitter::LanguageError> for SimilarityError {
    fn from(e: tree_sitter::LanguageError) -> Self {
        SimilarityError::Grammar(e)
    }
}

/// `Err(InvalidConfig)` unless `ok`.
pub(crate) fn check(
    ok: bool,
    parameter: &'static str,
    value: impl fmt::Debug,
    expected: &'static str,
) -> Result<(), SimilarityError> {
    if ok { Ok(()) } else { Err(SimilarityError::InvalidConfig { parameter, value: format!("{value:?}"), expected }) }
}
