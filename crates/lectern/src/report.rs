//! Diagnostics as a compiler prints them: `path:line:col: error: message`, the source
//! line, a caret under the span, and notes.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use lectern_lesson::diag::{line_at, line_col};
use lectern_lesson::{Diagnostic, Severity};
use unicode_width::UnicodeWidthStr;

#[derive(Clone, Copy)]
pub enum Style {
    Error,
    Warning,
    Note,
}

/// Colours only for a terminal, and never when NO_COLOR is set.
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

pub fn paint(text: &str, style: Style) -> String {
    if !colour() {
        return text.to_string();
    }
    let code = match style {
        Style::Error => "1;31",
        Style::Warning => "1;33",
        Style::Note => "1;36",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Renders one diagnostic. `shown` is the file's path as the user should see it;
/// `source` its text, when it could be read.
///
/// `locate` gives, for any file of the course, the path to show and its text (for the
/// places a diagnostic relates to).
pub fn render<'a>(
    d: &Diagnostic,
    shown: &Path,
    source: Option<&str>,
    locate: &dyn Fn(&Path) -> (std::path::PathBuf, Option<&'a str>),
) -> String {
    let (severity, style) = match d.severity {
        Severity::Error => ("error", Style::Error),
        Severity::Warning => ("warning", Style::Warning),
    };
    let mut out = String::new();
    let Some(text) = source else {
        let _ = writeln!(out, "{}: {}: {}", shown.display(), paint(severity, style), d.message);
        for note in &d.notes {
            let _ = writeln!(out, "  = {}: {note}", paint("note", Style::Note));
        }
        return out;
    };
    let (line, col) = line_col(text, d.span.start);
    let _ = writeln!(out, "{}:{line}:{col}: {}: {}", shown.display(), paint(severity, style), d.message);
    let (line_text, line_start) = line_at(text, d.span.start);
    let number = line.to_string();
    let gutter = " ".repeat(number.len());
    let line_text = line_text.replace('\t', "    ");
    let raw_line = text[line_start..].split('\n').next().unwrap_or("").trim_end_matches('\r');
    // Caret under the span's part on this line, measured in display columns.
    let start_in_line = d.span.start.saturating_sub(line_start).min(raw_line.len());
    let end_in_line = d.span.end.saturating_sub(line_start).clamp(start_in_line, raw_line.len());
    let before = floor_boundary(raw_line, start_in_line);
    let until = floor_boundary(raw_line, end_in_line);
    let pad = raw_line[..before].replace('\t', "    ").width();
    let carets = raw_line[before..until].replace('\t', "    ").width().max(1);
    let _ = writeln!(out, "{gutter} |");
    let _ = writeln!(out, "{number} | {line_text}");
    let _ = writeln!(out, "{gutter} | {}{}", " ".repeat(pad), paint(&"^".repeat(carets), style));
    for note in &d.notes {
        let _ = writeln!(out, "{gutter} = {}: {note}", paint("note", Style::Note));
    }
    for related in &d.related {
        let (path, text) = locate(&related.file);
        let at = text.map_or(String::new(), |t| {
            let (line, col) = line_col(t, related.span.start);
            format!(":{line}:{col}")
        });
        let _ = writeln!(out, "{gutter} = {}: {} at {}{at}", paint("note", Style::Note), related.message, path.display());
    }
    out
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
