//! Running untrusted Python: a Bubblewrap sandbox (no network, a read-only view of the
//! system and the Python environment, one writable scratch folder, its own PID
//! namespace) as an unprivileged user with limits on CPU time, memory, processes and
//! file size, under a wall-clock limit that kills the whole process tree.
//!
//! What it needs: Debian's `bubblewrap` (`bwrap`), and `setpriv` and `prlimit` from
//! util-linux; the grader runs as root here (sessions and CI do), so that it can drop to
//! an unprivileged uid inside the sandbox — RLIMIT_NPROC does not bind root. Without
//! Bubblewrap, nothing runs unless the caller asks for [`Isolation::None`] explicitly.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::python::PythonEnv;
use crate::RunnerError;

/// The uid and gid untrusted code runs as (Debian's `nobody`).
const NOBODY: u32 = 65534;

/// Limits of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub cpu_seconds: u64,
    pub wall: Duration,
    /// Address space (RLIMIT_AS).
    pub memory_bytes: u64,
    pub processes: u64,
    /// Largest file the code may write (RLIMIT_FSIZE).
    pub file_bytes: u64,
    /// What is kept of stdout and of stderr each.
    pub output_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_seconds: 10,
            wall: Duration::from_secs(20),
            memory_bytes: 2 << 30,
            processes: 64,
            file_bytes: 64 << 20,
            output_bytes: 64 << 10,
        }
    }
}

/// How untrusted code is isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Bubblewrap, as described above.
    Bubblewrap,
    /// None at all: only with the user's explicit `--no-sandbox`. Limits still apply
    /// through `prlimit`, and the wall clock still kills the process group.
    None,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed at the wall-clock limit.
    WallTimeout,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub exit: Exit,
    pub stdout: String,
    pub stderr: String,
    /// Output beyond [`Limits::output_bytes`] was thrown away.
    pub truncated: bool,
    pub wall: Duration,
}

#[derive(Debug, Clone)]
pub struct Sandbox {
    pub python: PythonEnv,
    pub limits: Limits,
    pub isolation: Isolation,
}

/// Whether Bubblewrap and the tools the sandbox uses are installed; why not otherwise.
pub fn bubblewrap_available() -> Result<(), RunnerError> {
    for tool in ["/usr/bin/bwrap", "/usr/bin/setpriv", "/usr/bin/prlimit"] {
        if !Path::new(tool).exists() {
            return Err(RunnerError::NoSandbox {
                reason: format!(
                    "{tool} is missing: install Debian's bubblewrap and util-linux, or pass --no-sandbox to run untrusted code without isolation"
                ),
            });
        }
    }
    Ok(())
}

impl Sandbox {
    /// A sandbox for `python`; fails clearly when Bubblewrap is asked for but missing.
    pub fn new(python: PythonEnv, limits: Limits, isolation: Isolation) -> Result<Self, RunnerError> {
        if isolation == Isolation::Bubblewrap {
            bubblewrap_available()?;
        }
        Ok(Sandbox { python, limits, isolation })
    }

    /// Runs `python -I -B ARGS…` in `scratch` (which becomes `/work`, the only writable
    /// place).
    pub fn run_python(&self, scratch: &Path, args: &[&str]) -> Result<Run, RunnerError> {
        let l = &self.limits;
        let python = self.python.python();
        let mut inner: Vec<String> = vec![
            "/usr/bin/prlimit".into(),
            format!("--cpu={}", l.cpu_seconds),
            format!("--as={}", l.memory_bytes),
            format!("--nproc={}", l.processes),
            format!("--fsize={}", l.file_bytes),
            "--core=0".into(),
            "--".into(),
            python.to_string_lossy().into_owned(),
            "-I".into(),
            "-B".into(),
        ];
        inner.extend(args.iter().map(|a| (*a).to_string()));
        let mut command = match self.isolation {
            Isolation::Bubblewrap => {
                let mut c = Command::new("/usr/bin/bwrap");
                c.args(["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]);
                c.args(["--die-with-parent", "--new-session", "--clearenv"]);
                for dir in ["/usr", "/lib", "/lib64", "/bin", "/sbin"] {
                    if Path::new(dir).exists() {
                        c.args(["--ro-bind", dir, dir]);
                    }
                }
                c.args(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
                for dir in [&self.python.base_prefix, &self.python.venv] {
                    for ancestor in ancestors(dir) {
                        c.args(["--perms", "0755", "--dir"]).arg(&ancestor);
                    }
                    c.arg("--ro-bind").arg(dir).arg(dir);
                }
                c.arg("--bind").arg(scratch).arg("/work");
                c.args(["--chdir", "/work", "--setenv", "HOME", "/work", "--setenv", "OPENBLAS_NUM_THREADS", "1"]);
                c.args(["--setenv", "OMP_NUM_THREADS", "1", "--setenv", "PATH", "/usr/bin:/bin", "--"]);
                c.args(["/usr/bin/setpriv", &format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), "--clear-groups", "--"]);
                c.args(&inner);
                c
            }
            Isolation::None => {
                let mut c = Command::new(&inner[0]);
                c.args(&inner[1..]).current_dir(scratch).env("OPENBLAS_NUM_THREADS", "1").env("OMP_NUM_THREADS", "1");
                c
            }
        };
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // A process group of its own, so that the wall clock can kill everything it started.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| RunnerError::Spawn { what: "the sandbox".into(), message: e.to_string() })?;
        let cap = l.output_bytes;
        // Readers report through channels: a process that escaped (possible only without
        // the sandbox) may hold the pipes open forever, and the run must not wait for it.
        let reader = |stream: Option<Box<dyn Read + Send>>| {
            let (tx, rx) = std::sync::mpsc::channel();
            if let Some(s) = stream {
                std::thread::spawn(move || {
                    let _ = tx.send(read_capped(s, cap));
                });
            }
            rx
        };
        let out = reader(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
        let err = reader(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>));
        let exit = loop {
            match child.try_wait() {
                Ok(Some(status)) => {
                    use std::os::unix::process::ExitStatusExt;
                    break match (status.code(), status.signal()) {
                        (Some(code), _) => Exit::Code(code),
                        (None, Some(signal)) => Exit::Signal(signal),
                        (None, None) => Exit::Code(-1),
                    };
                }
                Ok(None) if started.elapsed() >= l.wall => {
                    kill_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    break Exit::WallTimeout;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(RunnerError::Spawn { what: "the sandbox".into(), message: e.to_string() }),
            }
        };
        // Whatever is left of the group (a daemon that left the namespace cannot: the
        // PID namespace died with its first process) goes too.
        kill_group(child.id());
        // Bubblewrap reports a child killed by signal N as exit code 128 + N.
        let exit = match exit {
            Exit::Code(code) if self.isolation == Isolation::Bubblewrap && (129..=192).contains(&code) => Exit::Signal(code - 128),
            other => other,
        };
        let (stdout, t1) = out.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        let (stderr, t2) = err.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        Ok(Run { exit, stdout, stderr, truncated: t1 || t2, wall: started.elapsed() })
    }
}

/// Every ancestor of `dir` below `/`, outermost first (for `--dir` with open permissions).
fn ancestors(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = dir.ancestors().skip(1).filter(|a| a.parent().is_some()).map(Path::to_path_buf).collect();
    out.reverse();
    out
}

fn kill_group(pid: u32) {
    // `kill -KILL -PGID`: std has no killpg, and this crate forbids unsafe code.
    let _ = Command::new("/bin/kill").args(["-KILL", "--", &format!("-{pid}")]).stderr(Stdio::null()).status();
}

/// Reads all of `stream`, keeping the first `cap` bytes.
fn read_capped(mut stream: impl Read, cap: usize) -> (String, bool) {
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    let mut truncated = false;
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                truncated |= n > room;
            }
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), truncated)
}
