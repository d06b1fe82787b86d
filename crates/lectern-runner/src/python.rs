//! The Python environment student code runs in: a virtual environment made from the
//! course's `[runner] requirements` on first use and cached by their hash, so that a
//! fresh machine needs nothing but `python3` with its `venv` module.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::RunnerError;

/// A ready virtual environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonEnv {
    /// The virtual environment's folder.
    pub venv: PathBuf,
    /// The interpreter installation it was made from (its standard library lives there).
    pub base_prefix: PathBuf,
}

impl PythonEnv {
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }
}

/// Where Lectern caches environments: `$LECTERN_CACHE_DIR`, else `$XDG_CACHE_HOME/lectern`,
/// else `~/.cache/lectern`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LECTERN_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("lectern");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/lectern")
}

/// The environment for `requirements`, made (with pip, from the package index) if it is
/// not cached yet. `progress` hears what is being done, for a first use that takes time.
pub fn provision(requirements: &[String], cache: &Path, progress: &mut dyn FnMut(&str)) -> Result<PythonEnv, RunnerError> {
    let key = lectern_lesson::stable_hash([requirements.join("\n").as_bytes()]);
    let venv = cache.join(format!("venv-{key:016x}"));
    let ready = venv.join(".lectern-ready");
    if !ready.is_file() {
        std::fs::create_dir_all(cache).map_err(|e| io(cache, &e))?;
        // One maker at a time (several `lectern` processes may start at once): the
        // others wait for the ready marker.
        let lock = cache.join(format!("venv-{key:016x}.lock"));
        let mine = std::fs::OpenOptions::new().write(true).create_new(true).open(&lock).is_ok();
        if !mine {
            progress("waiting for another lectern that is making the Python environment");
            let started = std::time::Instant::now();
            while !ready.is_file() {
                let stale = std::fs::metadata(&lock).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                if !lock.exists() || stale.is_some_and(|age| age > std::time::Duration::from_secs(900)) {
                    let _ = std::fs::remove_file(&lock);
                    return provision(requirements, cache, progress);
                }
                if started.elapsed() > std::time::Duration::from_secs(1800) {
                    return Err(RunnerError::Python { message: format!("{} never became ready", venv.display()) });
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        } else {
            let made = make_venv(requirements, cache, key, &venv, progress);
            let _ = std::fs::remove_file(&lock);
            made?;
        }
    }
    let output = Command::new(venv.join("bin/python"))
        .args(["-c", "import sys; print(sys.base_prefix)"])
        .output()
        .map_err(|e| RunnerError::Spawn { what: "python".into(), message: e.to_string() })?;
    let base_prefix = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !output.status.success() || !base_prefix.is_dir() {
        return Err(RunnerError::Python { message: format!("{} does not start", venv.display()) });
    }
    Ok(PythonEnv { venv, base_prefix })
}

/// Builds the environment aside and renames it into place, so that an interrupted
/// install is redone rather than half used.
fn make_venv(requirements: &[String], cache: &Path, key: u64, venv: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), RunnerError> {
    progress(&format!("creating the Python environment for {} (first use only)", requirements.join(", ")));
    let tmp = cache.join(format!("venv-{key:016x}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    run(Command::new("python3").args(["-m", "venv"]).arg(&tmp), "python3 -m venv")?;
    if !requirements.is_empty() {
        progress("installing the requirements with pip");
        run(
            Command::new(tmp.join("bin/python")).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(requirements),
            "pip install",
        )?;
    }
    std::fs::write(tmp.join(".lectern-ready"), requirements.join("\n")).map_err(|e| io(&tmp, &e))?;
    // A half-made environment left by an interrupted run is replaced.
    let _ = std::fs::remove_dir_all(venv);
    std::fs::rename(&tmp, venv).map_err(|e| io(venv, &e))
}

fn run(command: &mut Command, what: &str) -> Result<(), RunnerError> {
    let output = command.output().map_err(|e| RunnerError::Spawn { what: what.into(), message: e.to_string() })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(RunnerError::Python { message: format!("{what} failed: {}", stderr.trim()) })
}

fn io(path: &Path, e: &std::io::Error) -> RunnerError {
    RunnerError::Python { message: format!("{}: {e}", path.display()) }
}
