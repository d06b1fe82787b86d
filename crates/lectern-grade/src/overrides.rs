//! `overrides.toml` in the output folder: the instructor's word on single grades. It is
//! read each time the exports are written, so overrides hold across regrades; the
//! gradebook keeps the computed score beside it.
//!
//! ```toml
//! [[override]]
//! student = "s007"
//! item = "bottleneck/step1"
//! points = 2
//! comment = "Names the encoder's cost in other words."
//!
//! [[group]]
//! item = "bottleneck/step1"
//! answer = """The encoder reads the whole input, then cross-attention …"""
//! points = 3
//! comment = "Right, but says nothing of the KV cache."
//! ```
//!
//! A `[[group]]` sets the grade of every hand-in whose answer to `item` is
//! near-identical to `answer` ([`crate::groups`]; `report.html` lists the groups, each
//! with its `[[group]]` to copy). An `[[override]]` for one student wins over a group.

use std::path::Path;

use serde::Deserialize;

use crate::store::KeySummary;
use crate::GradeError;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub student: String,
    pub item: String,
    pub points: f64,
    pub comment: String,
}

/// One grade for every near-identical answer to an item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub item: String,
    /// An answer of the group (the report gives its representative's).
    pub answer: String,
    pub points: f64,
    pub comment: String,
}

/// Who wrote which answer to which item: (student, item ID, answer).
pub type Answered<'a> = (&'a str, &'a str, &'a str);

/// The student a group override stands for when no answer matches it (listed as
/// unused in the report).
pub const NO_MATCH: &str = "(group: no answer matches)";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "override")]
    overrides: Vec<Override>,
    #[serde(default, rename = "group")]
    groups: Vec<Group>,
}

/// The overrides at `path` (none when the file does not exist), checked against the key,
/// with each `[[group]]` expanded into one override per student whose answer in
/// `answered` is near-identical to the group's (a student's own `[[override]]` wins).
/// A group that matches no answer comes back once, as student [`NO_MATCH`].
pub fn read(path: &Path, key: &KeySummary, answered: &[Answered<'_>]) -> Result<Vec<Override>, GradeError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(GradeError::Overrides { path: path.to_owned(), message: e.to_string() }),
    };
    let file: File = toml::from_str(&text).map_err(|e| GradeError::Overrides { path: path.to_owned(), message: e.to_string() })?;
    let mut seen = std::collections::HashSet::new();
    for (n, o) in file.overrides.iter().enumerate() {
        let at = |message: String| GradeError::Overrides { path: path.to_owned(), message: format!("override {} ({} · {}): {message}", n + 1, o.student, o.item) };
        let Some(item) = key.items.iter().find(|i| i.id == o.item) else {
            let ids: Vec<&str> = key.items.iter().map(|i| i.id.as_str()).collect();
            return Err(at(format!("the course has no item `{}`; items: {}", o.item, ids.join(", "))));
        };
        if !(0.0..=item.max_points).contains(&o.points) {
            return Err(at(format!("points must be between 0 and {}", item.max_points)));
        }
        if !seen.insert((o.student.as_str(), o.item.as_str())) {
            return Err(at("given twice".into()));
        }
    }
    let mut out = file.overrides;
    for (n, g) in file.groups.iter().enumerate() {
        let at = |message: String| GradeError::Overrides { path: path.to_owned(), message: format!("group {} ({}): {message}", n + 1, g.item) };
        let Some(item) = key.items.iter().find(|i| i.id == g.item) else {
            return Err(at(format!("the course has no item `{}`", g.item)));
        };
        if !(0.0..=item.max_points).contains(&g.points) {
            return Err(at(format!("points must be between 0 and {}", item.max_points)));
        }
        let mut matched = false;
        for (student, id, answer) in answered.iter().filter(|(_, id, _)| *id == g.item) {
            if !crate::groups::near_identical(answer, &g.answer) {
                continue;
            }
            matched = true;
            if out.iter().any(|o| o.student == *student && o.item == *id) {
                continue;
            }
            out.push(Override { student: (*student).to_owned(), item: (*id).to_owned(), points: g.points, comment: g.comment.clone() });
        }
        if !matched {
            out.push(Override { student: NO_MATCH.to_owned(), item: g.item.clone(), points: g.points, comment: g.comment.clone() });
        }
    }
    Ok(out)
}
