//! Writing a site to disk all at once: into a temporary folder beside the target, then
//! swapped in, so that a failed build leaves the previous site as it was. A folder that
//! is not a previous Lectern build is never overwritten.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Site, SiteError, MARKER};

/// Writes `site` to `out`, replacing a previous Lectern build there.
pub fn write_site(site: &Site, out: &Path) -> Result<(), SiteError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| SiteError::Io { path, message: e.to_string() }
    };
    if out.exists() {
        let is_build = out.join(MARKER).is_file();
        let is_empty = out.is_dir() && fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !is_build && !is_empty {
            return Err(SiteError::NotALecternBuild { path: out.to_path_buf() });
        }
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let name = out.file_name().map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    // Random names made with O_EXCL-style creation: builds side by side, on one host or
    // on several sharing the folder, never write into each other's.
    let staging = tempfile::Builder::new().prefix(&format!(".{name}.lectern-tmp-")).tempdir_in(&parent).map_err(io(&parent))?;
    let tmp = staging.path().to_path_buf();
    let result = (|| {
        for (path, bytes) in &site.files {
            let target = tmp.join(path);
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir).map_err(io(dir))?;
            }
            // A page the previous build wrote the same is linked, not written: on a
            // rebuild most pages are unchanged, and creating (then freeing) thousands of
            // inodes costs more than the whole render.
            let previous = out.join(path);
            let unchanged = fs::read(&previous).is_ok_and(|old| old == *bytes);
            if !(unchanged && fs::hard_link(&previous, &target).is_ok()) {
                fs::write(&target, bytes).map_err(io(&target))?;
            }
        }
        fs::write(tmp.join(MARKER), "a site built by lectern; `lectern build` may replace this folder\n")
            .map_err(io(&tmp))?;
        if out.exists() {
            // An empty folder of a name nobody else has; the old site is renamed onto it.
            let old = tempfile::Builder::new().prefix(&format!(".{name}.lectern-old-")).tempdir_in(&parent).map_err(io(&parent))?.keep();
            fs::rename(out, &old).map_err(io(out))?;
            if let Err(e) = fs::rename(&tmp, out) {
                // Put the previous site back before reporting.
                let _ = fs::rename(&old, out);
                return Err(io(out)(e));
            }
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&tmp, out).map_err(io(out))?;
        }
        Ok(())
    })();
    if result.is_ok() {
        // Renamed into place: nothing left to remove.
        let _ = staging.keep();
    }
    result
}
