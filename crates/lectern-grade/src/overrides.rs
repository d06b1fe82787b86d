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
//! ```

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "override")]
    overrides: Vec<Override>,
}

/// The overrides at `path` (none when the file does not exist), checked against the key.
pub fn read(path: &Path, key: &KeySummary) -> Result<Vec<Override>, GradeError> {
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
    Ok(file.overrides)
}
