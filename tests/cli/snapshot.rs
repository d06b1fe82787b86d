//! File snapshots: compare, or rewrite when `UPDATE_SNAPSHOTS` is set.

use std::fs;
use std::path::Path;

/// Compares `actual` with the file at `path`; returns a description of the mismatch.
pub fn compare(path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::write(path, actual).map_err(|e| format!("writing {}: {e}", path.display()))?;
        return Ok(());
    }
    let expected = fs::read_to_string(path)
        .map_err(|_| format!("{} is missing: run with UPDATE_SNAPSHOTS=1 and review it", path.display()))?;
    if expected == actual {
        return Ok(());
    }
    let first = expected.lines().zip(actual.lines()).position(|(e, a)| e != a);
    let line = first.unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
    Err(format!(
        "{} differs from line {}:\n--- expected\n{expected}\n--- actual\n{actual}\n(UPDATE_SNAPSHOTS=1 rewrites it)",
        path.display(),
        line + 1
    ))
}

/// Panics when `actual` does not match the snapshot at `path`.
pub fn assert(path: &Path, actual: &str) {
    if let Err(e) = compare(path, actual) {
        panic!("{e}");
    }
}
