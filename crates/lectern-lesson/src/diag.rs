//! Diagnostics: what is wrong with the input, where (a byte span in one file), and how bad.
//!
//! Library code never prints or exits; it collects [`Diagnostic`]s and hands them back
//! with whatever model it could build. Rendering them is the binary's job.

use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end: end.max(start) }
    }

    /// The span moved `by` bytes to the right (for text parsed out of a larger file).
    pub fn shift(self, by: usize) -> Self {
        Span::new(self.start + by, self.end + by)
    }

    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(r: Range<usize>) -> Self {
        Span::new(r.start, r.end)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about the input, anchored at a span of a file of the course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file, relative to the course folder.
    pub file: PathBuf,
    pub span: Span,
    pub message: String,
    /// Extra lines that help fix it.
    pub notes: Vec<String>,
    /// Other places that explain it ("first used here"), shown as `note: … at path:line:col`.
    pub related: Vec<Related>,
}

/// Another place in the course that a diagnostic points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Related {
    pub file: PathBuf,
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    pub fn error(file: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            span,
            message: message.into(),
            notes: Vec::new(),
            related: Vec::new(),
        }
    }

    pub fn warning(file: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(file, span, message) }
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_related(mut self, file: impl Into<PathBuf>, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related { file: file.into(), span, message: message.into() });
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A 1-based line and column (in characters) of a byte offset in `text`.
///
/// Offsets past the end, or inside a multi-byte character, are clamped to the
/// nearest character boundary before them.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The full text of the line holding `offset`, without its line ending, and the byte
/// offset where that line starts.
pub fn line_at(text: &str, offset: usize) -> (&str, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    (text[start..end].trim_end_matches('\r'), start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let text = "ab\n僅解碼器 x\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        let x = text.find('x').unwrap_or_default();
        assert_eq!(line_col(text, x), (2, 6));
        assert_eq!(line_col(text, 4), (2, 1), "inside a character clamps back");
        assert_eq!(line_col(text, 999), (3, 1));
    }

    #[test]
    fn line_at_returns_the_whole_line() {
        let text = "one\r\ntwo\nthree";
        assert_eq!(line_at(text, 0), ("one", 0));
        assert_eq!(line_at(text, 6), ("two", 5));
        assert_eq!(line_at(text, 12), ("three", 9));
    }
}
