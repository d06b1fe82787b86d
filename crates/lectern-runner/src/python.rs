//! The Python environment student code runs in: a virtual environment made from the
//! course's lock file (`requirements.lock`, written by `lectern lock`), or from its
//! `[runner] requirements` where it has none, on first use, and cached by what it was
//! made from and the interpreter it was made with.
//!
//! Made with `uv` where it is on `PATH` (`uv venv` + `uv pip sync`), else with the
//! interpreter's own `venv` and `pip`, so that a fresh machine needs nothing but `python3`.
//!
//! Safe for any number of `lectern` processes, on one host or on several sharing the
//! cache folder: one of them makes an environment while the others wait on an advisory
//! lock (`flock`, released by the kernel when its holder dies, so a killed maker never
//! blocks anybody), it is built in a folder of a random name and renamed into place only
//! once it works, and folders left by a killed maker are removed by the next one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use lectern_lesson::model::RunnerConfig;
use serde::{Deserialize, Serialize};

use crate::RunnerError;

/// A ready virtual environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PythonEnv {
    /// The virtual environment's folder.
    pub venv: PathBuf,
    /// The interpreter installation it was made from (its standard library lives there).
    pub base_prefix: PathBuf,
    /// What is in it, as its own interpreter reports it on this machine.
    pub info: EnvInfo,
}

impl PythonEnv {
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }
}

/// The versions that decide results: written into `lectern test --json`, the gradebook
/// and the report, so that any verdict can be traced to what computed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvInfo {
    /// `3.11.2`.
    pub python: String,
    /// numpy's version, when the environment has numpy.
    pub numpy: Option<String>,
    /// The BLAS numpy was built with, its version and, for OpenBLAS, the kernel it chose
    /// for this CPU (`scipy-openblas 0.3.29, kernel Haswell`).
    pub blas: Option<String>,
    /// What the environment was made from: `requirements.lock` or `[runner] requirements`.
    pub made_from: String,
    /// `uv` or `pip`.
    pub installer: String,
}

impl std::fmt::Display for EnvInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Python {}", self.python)?;
        if let Some(numpy) = &self.numpy {
            write!(f, ", numpy {numpy}")?;
        }
        if let Some(blas) = &self.blas {
            write!(f, ", BLAS {blas}")?;
        }
        write!(f, " (from {}, by {})", self.made_from, self.installer)
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

/// The environment for `runner` (its lock file where it has one, else its requirements),
/// made if it is not cached yet. `progress` hears what is being done, for a first use
/// that takes time.
///
/// Errors: the interpreter or the installer cannot be started, the install fails (no
/// access to the package index, a hash that does not match), or the made environment
/// does not start. Nothing half-made is ever used or left behind.
pub fn provision(runner: &RunnerConfig, cache: &Path, progress: &mut dyn FnMut(&str)) -> Result<PythonEnv, RunnerError> {
    let base = base_python()?;
    let installer = Installer::find();
    let (made_from, spec) = match &runner.lock {
        Some(lock) => (lectern_lesson::model::LOCK_FILE, lock.clone()),
        None => ("[runner] requirements", runner.requirements.join("\n")),
    };
    // Hosts sharing a cache may differ in CPU architecture and system: part of the key.
    let platform = format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS);
    let key = lectern_lesson::stable_hash([
        made_from.as_bytes(),
        spec.as_bytes(),
        base.as_os_str().as_encoded_bytes(),
        installer.name().as_bytes(),
        platform.as_bytes(),
    ]);
    let name = format!("venv-{key:016x}");
    let venv = cache.join(&name);
    if !venv.join(READY).is_file() {
        std::fs::create_dir_all(cache).map_err(|e| io(cache, &e))?;
        let lock_path = cache.join(format!("{name}.lock"));
        // flock needs no write access: a lock file another user made opens read-only.
        let lock = std::fs::File::open(&lock_path)
            .or_else(|_| std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path))
            .map_err(|e| io(&lock_path, &e))?;
        if lock.try_lock().is_err() {
            progress("waiting for another lectern that is making the Python environment");
            lock.lock().map_err(|e| io(&lock_path, &e))?;
        }
        // Ours now: whoever held it before either finished (ready) or died (its folders
        // are left over and go).
        if !venv.join(READY).is_file() {
            remove_leftovers(cache, &name);
            let plan = Plan { base: &base, installer: &installer, lock: runner.lock.as_deref(), requirements: &runner.requirements, made_from };
            make_venv(&plan, cache, &name, &venv, progress)?;
        }
        drop(lock);
    }
    let info: EnvInfo = std::fs::read(venv.join(READY)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    // What the interpreter said last time on this machine, while the interpreter it was
    // made from is the same file: asking again costs an interpreter and numpy's import.
    let stamp = machine_stamp(&base);
    let described: Option<Described> = std::fs::read(venv.join(DESCRIBED)).ok().and_then(|b| serde_json::from_slice(&b).ok());
    if let Some(d) = described.filter(|d| d.stamp == stamp && d.env.base_prefix.is_dir() && d.env.venv == venv && d.env.info.made_from == info.made_from) {
        return Ok(d.env);
    }
    let env = describe(&venv, info).map_err(|e| RunnerError::Python {
        message: format!("{e}; the cached environment is broken (was its interpreter removed?): delete {} to make it again", venv.display()),
    })?;
    // Kept for next time where the cache is writable (a shared read-only one is asked
    // every time); written aside and renamed in, so a reader never sees half of it.
    if let Ok(json) = serde_json::to_vec(&Described { stamp, env: env.clone() })
        && let Ok(mut file) = tempfile::NamedTempFile::new_in(&venv)
        && std::io::Write::write_all(&mut file, &json).is_ok()
    {
        let _ = file.persist(venv.join(DESCRIBED));
    }
    Ok(env)
}

/// What [`describe`] found, and on what: kept in the environment as [`DESCRIBED`].
#[derive(Serialize, Deserialize)]
struct Described {
    stamp: String,
    env: PythonEnv,
}

/// Where [`Described`] is kept.
const DESCRIBED: &str = ".lectern-described";

/// The interpreter `base` as a file (size and modification time: an upgrade changes
/// them) and this machine (host name and CPU model: OpenBLAS picks its kernel by CPU,
/// and a cache may be shared by hosts).
fn machine_stamp(base: &Path) -> String {
    let file = std::fs::metadata(base).map(|m| format!("{}:{:?}", m.len(), m.modified().ok())).unwrap_or_default();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(str::to_owned)).unwrap_or_default();
    format!("{}|{file}|{}|{}", base.display(), host.trim(), cpu.trim())
}

/// The marker that says an environment is complete; it holds its [`EnvInfo`] as made.
const READY: &str = ".lectern-ready";

/// The interpreter environments are made from: `$LECTERN_PYTHON`, else `python3` on
/// `PATH`, links resolved (part of the cache key: another interpreter, another
/// environment).
fn base_python() -> Result<PathBuf, RunnerError> {
    let named = std::env::var_os("LECTERN_PYTHON").map(PathBuf::from);
    let found = named.or_else(|| on_path("python3")).ok_or_else(|| RunnerError::Python {
        message: "no `python3` on PATH: install Python 3 with its venv module (Debian: `apt install python3-venv`), or name one with LECTERN_PYTHON".into(),
    })?;
    // pyenv's shims are scripts that pick a version by the current folder: ask the
    // interpreter for its real path instead of trusting the name.
    let out = Command::new(&found)
        .args(["-c", "import os, sys; sys.stdout.write(os.path.realpath(sys.executable))"])
        .output()
        .map_err(|e| RunnerError::Spawn { what: found.display().to_string(), message: e.to_string() })?;
    let real = PathBuf::from(String::from_utf8_lossy(&out.stdout).into_owned());
    if !out.status.success() || !real.is_file() {
        return Err(RunnerError::Python { message: format!("{} does not start: {}", found.display(), String::from_utf8_lossy(&out.stderr).trim()) });
    }
    Ok(real)
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// What makes environments.
#[derive(Debug)]
enum Installer {
    Uv(PathBuf),
    Pip,
}

impl Installer {
    /// `uv` where it is on `PATH` (and `LECTERN_INSTALLER` is not `pip`), else pip.
    fn find() -> Installer {
        if std::env::var("LECTERN_INSTALLER").is_ok_and(|v| v == "pip") {
            return Installer::Pip;
        }
        on_path("uv").map_or(Installer::Pip, Installer::Uv)
    }

    fn name(&self) -> &'static str {
        match self {
            Installer::Uv(_) => "uv",
            Installer::Pip => "pip",
        }
    }
}

struct Plan<'a> {
    base: &'a Path,
    installer: &'a Installer,
    lock: Option<&'a str>,
    requirements: &'a [String],
    made_from: &'static str,
}

/// Removes what a killed maker of `name` left: its build folders.
fn remove_leftovers(cache: &Path, name: &str) {
    let prefix = format!("{name}.tmp-");
    for entry in std::fs::read_dir(cache).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Builds the environment in a folder of its own and renames it into place once it
/// works; on any failure the folder goes and nothing is cached.
fn make_venv(plan: &Plan<'_>, cache: &Path, name: &str, venv: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), RunnerError> {
    let what = match plan.lock {
        Some(_) => lectern_lesson::model::LOCK_FILE.to_owned(),
        None => plan.requirements.join(", "),
    };
    progress(&format!("creating the Python environment from {what} with {} (first use only)", plan.installer.name()));
    let started = std::time::Instant::now();
    let tmp = tempfile::Builder::new().prefix(&format!("{name}.tmp-")).tempdir_in(cache).map_err(|e| io(cache, &e))?;
    let dir = tmp.path();
    let python = dir.join("bin/python");
    let lock_file = dir.join(lectern_lesson::model::LOCK_FILE);
    if let Some(lock) = plan.lock {
        std::fs::write(&lock_file, lock).map_err(|e| io(&lock_file, &e))?;
    }
    let hashed = plan.lock.is_some_and(|l| l.contains("--hash="));
    match plan.installer {
        Installer::Uv(uv) => {
            run(Command::new(uv).args(["venv", "--quiet", "--allow-existing", "--python"]).arg(plan.base).arg(dir), "uv venv")?;
            let mut install = Command::new(uv);
            match plan.lock {
                Some(_) => {
                    install.args(["pip", "sync", "--quiet", "--python"]).arg(&python).arg(&lock_file);
                    if hashed {
                        install.arg("--require-hashes");
                    }
                }
                None => {
                    install.args(["pip", "install", "--quiet", "--python"]).arg(&python).args(plan.requirements);
                }
            }
            if plan.lock.is_some() || !plan.requirements.is_empty() {
                run(&mut install, "uv pip")?;
            }
        }
        Installer::Pip => {
            run(Command::new(plan.base).args(["-m", "venv"]).arg(dir), "python3 -m venv")?;
            let mut install = Command::new(&python);
            install.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input"]);
            match plan.lock {
                Some(_) => {
                    // Exactly what the lock lists: no resolution, no other dependency.
                    install.args(["--no-deps", "-r"]).arg(&lock_file);
                    if hashed {
                        install.arg("--require-hashes");
                    }
                }
                None => {
                    install.args(plan.requirements);
                }
            }
            if plan.lock.is_some() || !plan.requirements.is_empty() {
                run(&mut install, "pip install")?;
            }
        }
    }
    let _ = std::fs::remove_file(&lock_file);
    // It must start and import what it was made for before anybody uses it.
    let info = EnvInfo { made_from: plan.made_from.to_owned(), installer: plan.installer.name().to_owned(), ..EnvInfo::default() };
    let env = describe(dir, info)?;
    let mut marker = tempfile::NamedTempFile::new_in(dir).map_err(|e| io(dir, &e))?;
    marker.write_all(&serde_json::to_vec(&env.info).unwrap_or_default()).map_err(|e| io(dir, &e))?;
    marker.persist(dir.join(READY)).map_err(|e| io(dir, &e.error))?;
    // Temporary folders and files are private; the environment is read by the sandbox's
    // user (uid 65534 as root) and by everyone sharing the cache.
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(|e| io(dir, &e))?;
        std::fs::set_permissions(dir.join(READY), std::fs::Permissions::from_mode(0o644)).map_err(|e| io(dir, &e))?;
    }
    let kept = tmp.keep();
    if std::fs::rename(&kept, venv).is_err() {
        // Something is there already. A ready environment (another host made it while a
        // file system whose locks do not reach across hosts let us both in) stays, in use
        // as it may be, and ours goes; a folder without the marker is half-made and is
        // replaced.
        if !venv.join(READY).is_file() {
            let _ = std::fs::remove_dir_all(venv);
            if std::fs::rename(&kept, venv).is_ok() {
                progress(&format!("the Python environment is ready ({}; {:.1} s)", env.info, started.elapsed().as_secs_f64()));
                return Ok(());
            }
        }
        let _ = std::fs::remove_dir_all(&kept);
        if !venv.join(READY).is_file() {
            return Err(RunnerError::Python { message: format!("{} could not be put in place", venv.display()) });
        }
    }
    progress(&format!("the Python environment is ready ({}; {:.1} s)", env.info, started.elapsed().as_secs_f64()));
    Ok(())
}

/// What the environment's interpreter reports on this machine (the BLAS kernel depends
/// on the CPU, so it is asked anew by every process): Python, numpy and BLAS versions and
/// its `sys.base_prefix`. `info` brings what only the maker knows.
fn describe(venv: &Path, info: EnvInfo) -> Result<PythonEnv, RunnerError> {
    let output = Command::new(venv.join("bin/python"))
        .args(["-I", "-c", ENV_INFO])
        .output()
        .map_err(|e| RunnerError::Spawn { what: "python".into(), message: e.to_string() })?;
    #[derive(Deserialize)]
    struct Reported {
        base_prefix: PathBuf,
        python: String,
        numpy: Option<String>,
        blas: Option<String>,
        #[serde(default)]
        failed: BTreeMap<String, String>,
    }
    let reported: Option<Reported> = serde_json::from_slice(&output.stdout).ok();
    let Some(reported) = reported.filter(|r| output.status.success() && r.base_prefix.is_dir()) else {
        return Err(RunnerError::Python {
            message: format!("{} does not start: {}", venv.display(), String::from_utf8_lossy(&output.stderr).trim()),
        });
    };
    if let Some((module, error)) = reported.failed.iter().next() {
        return Err(RunnerError::Python { message: format!("{}: `import {module}` fails: {error}", venv.display()) });
    }
    let info = EnvInfo { python: reported.python, numpy: reported.numpy, blas: reported.blas, ..info };
    Ok(PythonEnv { venv: venv.to_path_buf(), base_prefix: reported.base_prefix, info })
}

/// Run by the environment's own interpreter (our code, outside the sandbox): prints its
/// versions as JSON. numpy's BLAS comes from `numpy.show_config`; OpenBLAS's kernel for
/// this CPU from `openblas_get_corename` in the library numpy loaded (the way
/// threadpoolctl asks it).
const ENV_INFO: &str = r#"
import json, sys, platform
out = {"base_prefix": sys.base_prefix, "python": platform.python_version(), "numpy": None, "blas": None, "failed": {}}
try:
    import numpy
    out["numpy"] = numpy.__version__
    blas = None
    try:
        deps = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = " ".join(str(deps.get(k)) for k in ("name", "version") if deps.get(k))
    except Exception:
        pass
    try:
        import ctypes
        for line in open("/proc/self/maps"):
            path = line.split()[-1]
            if "openblas" in path.lower() and ".so" in path:
                lib = ctypes.CDLL(path)
                for symbol in ("openblas_get_corename", "scipy_openblas_get_corename64_", "openblas_get_corename64_", "scipy_openblas_get_corename"):
                    fn = getattr(lib, symbol, None)
                    if fn is not None:
                        fn.restype = ctypes.c_char_p
                        blas = (blas or "OpenBLAS") + ", kernel " + fn().decode()
                        break
                break
    except Exception:
        pass
    out["blas"] = blas
except ImportError as e:
    if "No module named 'numpy'" not in str(e):
        out["failed"]["numpy"] = str(e)
except Exception as e:
    out["failed"]["numpy"] = repr(e)
sys.stdout.write(json.dumps(out))
"#;

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

/// Resolves `requirements` into the text of a lock file ([`lectern_lesson::model::LOCK_FILE`]):
/// with `uv pip compile --universal --generate-hashes` where uv is installed (exact
/// versions and the hashes of every file of each, for every platform), else with pip's
/// resolver for this interpreter (`pip install --dry-run --report`: exact versions, no
/// hashes). Needs the package index.
pub fn lock(requirements: &[String], progress: &mut dyn FnMut(&str)) -> Result<String, RunnerError> {
    let base = base_python()?;
    let installer = Installer::find();
    let work = tempfile::Builder::new().prefix("lectern-lock-").tempdir().map_err(|e| io(Path::new("/tmp"), &e))?;
    let input = work.path().join("requirements.in");
    std::fs::write(&input, requirements.join("\n") + "\n").map_err(|e| io(&input, &e))?;
    let header = lectern_lesson::model::lock_header(requirements);
    progress(&format!("resolving {} with {}", requirements.join(", "), installer.name()));
    let body = match &installer {
        Installer::Uv(uv) => {
            let out = Command::new(uv)
                .args(["pip", "compile", "--quiet", "--universal", "--generate-hashes", "--no-header", "--python"])
                .arg(&base)
                .arg(&input)
                .output()
                .map_err(|e| RunnerError::Spawn { what: "uv pip compile".into(), message: e.to_string() })?;
            if !out.status.success() {
                return Err(RunnerError::Python { message: format!("uv pip compile failed: {}", String::from_utf8_lossy(&out.stderr).trim()) });
            }
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
        Installer::Pip => {
            let venv = work.path().join("venv");
            // The interpreter itself may have no pip (Debian's python3): a venv's has.
            run(Command::new(&base).args(["-m", "venv"]).arg(&venv), "python3 -m venv")?;
            let report = work.path().join("report.json");
            run(
                Command::new(venv.join("bin/python"))
                    .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--dry-run", "--ignore-installed", "--report"])
                    .arg(&report)
                    .args(["-r"])
                    .arg(&input),
                "pip install --dry-run",
            )?;
            #[derive(Deserialize)]
            struct Report {
                install: Vec<Item>,
            }
            #[derive(Deserialize)]
            struct Item {
                metadata: Meta,
            }
            #[derive(Deserialize)]
            struct Meta {
                name: String,
                version: String,
            }
            let text = std::fs::read(&report).map_err(|e| io(&report, &e))?;
            let report: Report = serde_json::from_slice(&text).map_err(|e| RunnerError::Python { message: format!("pip's report: {e}") })?;
            let mut lines: Vec<String> = report.install.iter().map(|i| format!("{}=={}", i.metadata.name.to_lowercase(), i.metadata.version)).collect();
            lines.sort();
            format!("# resolved by pip for Python {} on this platform, without hashes (with uv installed, `lectern lock` also pins every file's hash)\n{}\n", python_version(&base), lines.join("\n"))
        }
    };
    Ok(format!("# Made by `lectern lock` from course.toml's [runner] requirements; make it again after changing them.\n{header}\n{body}"))
}

fn python_version(base: &Path) -> String {
    Command::new(base)
        .args(["-c", "import platform; print(platform.python_version())"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_info_reads_as_one_line() {
        let info = EnvInfo {
            python: "3.11.2".into(),
            numpy: Some("2.2.6".into()),
            blas: Some("scipy-openblas 0.3.29, kernel Haswell".into()),
            made_from: "requirements.lock".into(),
            installer: "pip".into(),
        };
        assert_eq!(info.to_string(), "Python 3.11.2, numpy 2.2.6, BLAS scipy-openblas 0.3.29, kernel Haswell (from requirements.lock, by pip)");
    }
}
