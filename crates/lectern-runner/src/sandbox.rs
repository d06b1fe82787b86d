//! Running untrusted Python: a Bubblewrap sandbox (no network, a read-only view of the
//! system and the Python environment, writable places that are size-limited tmpfs or one
//! scratch folder, its own PID namespace, the seccomp filter of [`crate::seccomp`]) with
//! limits on CPU time, memory, processes and file size, under a wall-clock limit that
//! kills the whole process tree. Every command makes its sandbox here
//! ([`Sandbox::for_course`]); grading runs in long-lived [`Session`]s, single runs
//! (`build`, `serve`) through [`Sandbox::run_python`].
//!
//! Two modes, chosen by who runs Lectern ([`Mode::current`]):
//!
//! - **root** (a grading server, CI): Bubblewrap without a user namespace, and `setpriv`
//!   drops to an unprivileged uid inside, so that RLIMIT_NPROC binds (it never binds
//!   root) and the code owns nothing on the host: for a session a uid of its own from a
//!   range ([`UidSlot`]), so that no classmate's processes count against its limit, and a
//!   cgroup v1 of its own ([`Cgroup`]) for the memory and processes of its whole tree;
//!   for a single run uid 65534 (`nobody`).
//! - **an ordinary user** (a student's laptop, most instructors): Bubblewrap in a user
//!   namespace of its own (`--unshare-user`, and `--disable-userns` so the code cannot
//!   nest another); the code runs as that user mapped into the namespace, with no
//!   capabilities outside it. Every limit is the same `prlimit` list. What differs:
//!   RLIMIT_NPROC counts the processes of the sandbox's own user namespace (Linux ≥ 5.14
//!   counts it per namespace); there is no cgroup (an ordinary user's are not
//!   delegated), so the supervisor inside sums its processes' memory itself; files the
//!   code writes belong to the user.
//!
//! What it needs: Debian's `bubblewrap` (`/usr/bin/bwrap`, or the one `LECTERN_BWRAP`
//! names) and `prlimit` from util-linux (and
//! `setpriv`, as root); as an ordinary user, unprivileged user namespaces (on by default
//! on Debian, Fedora and Arch; Ubuntu ≥ 24.04 restricts them through AppArmor).
//! [`probe`] tries a real sandbox once per process and says what is missing and how to
//! get it. Without a sandbox nothing runs unless the caller asks for [`Isolation::None`]
//! explicitly.
//!
//! With [`Limits::gpu`] (only for runs on `--device cuda`) the sandbox also lets the
//! student's code reach an NVIDIA GPU: the device nodes that exist are bound in
//! (`--dev-bind`), the driver's library folder is bound read-only and put on
//! `LD_LIBRARY_PATH`, and the memory limit becomes RLIMIT_DATA instead of RLIMIT_AS (see
//! [`Limits::memory_bytes`]). Everything else holds: no network, the unprivileged user,
//! the CPU and wall-clock limits, one writable scratch folder.

use std::ffi::OsString;
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
    /// CPU seconds. For a grading session: the budget of one exercise of one hand-in,
    /// every case and check together (the sandbox's processes' CPU time, counted by the
    /// supervisor inside). For a single run (`run_python`): RLIMIT_CPU of its process.
    pub cpu_seconds: u64,
    /// Wall-clock time: a session's exercise budget, or a single run's limit.
    pub wall: Duration,
    /// Memory: the address space (RLIMIT_AS); with [`Limits::gpu`], the data segment
    /// (RLIMIT_DATA) instead.
    ///
    /// Why not RLIMIT_AS on a GPU: the CUDA driver reserves hundreds of GB of virtual
    /// address space at start (unified addressing), so any useful address-space limit
    /// makes `cuInit` fail. RLIMIT_DATA (Linux ≥ 4.7) counts private writable mappings —
    /// the heap and anonymous `mmap`s, where numpy's and PyTorch's host arrays live — and
    /// not `PROT_NONE` reservations or the device's shared mappings, so a host-memory hog
    /// still gets a `MemoryError` and CUDA still starts. GPU memory itself is bounded by
    /// the card. A cgroup would bound resident memory more tightly, but needs a writable
    /// cgroup hierarchy (v1 here, v2 or systemd elsewhere), which a grader cannot count on.
    pub memory_bytes: u64,
    /// RLIMIT_NPROC (processes and threads of the sandbox's user); with [`Limits::gpu`]
    /// at least [`GPU_PROCESSES`].
    pub processes: u64,
    /// Largest file the code may write (RLIMIT_FSIZE).
    pub file_bytes: u64,
    /// What is kept of stdout and of stderr each.
    pub output_bytes: usize,
    /// Pass the NVIDIA GPU through (device nodes and driver libraries) and use the memory
    /// limit that CUDA tolerates. Only for runs on `--device cuda`; off by default.
    pub gpu: bool,
}

/// The least RLIMIT_NPROC of a GPU run: the CUDA driver and runtime start a few threads
/// per process, PyTorch its own pools; a fork bomb still stops there (and at the wall
/// clock, and with the PID namespace).
pub const GPU_PROCESSES: u64 = 256;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_seconds: 10,
            wall: Duration::from_secs(20),
            memory_bytes: 2 << 30,
            processes: 64,
            file_bytes: 64 << 20,
            output_bytes: 64 << 10,
            gpu: false,
        }
    }
}

/// How untrusted code is isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isolation {
    /// Bubblewrap, as described above.
    Bubblewrap,
    /// None at all: with the user's explicit `--no-sandbox`, or for `lectern test` where no
    /// sandbox can be had (the student's own code on their own machine). Limits still
    /// apply through `prlimit` where it exists, and the wall clock still kills the
    /// process group.
    None,
}

/// How Bubblewrap isolates here: decided by the effective uid of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lectern runs as root: no user namespace, `setpriv` to uid 65534 inside.
    Root,
    /// Lectern runs as an ordinary user: a user namespace of the sandbox's own.
    UserNamespace,
}

impl Mode {
    /// The mode for this process.
    pub fn current() -> Mode {
        if effective_uid() == Some(0) { Mode::Root } else { Mode::UserNamespace }
    }
}

/// The effective uid of this process, from `/proc/self/status` (this crate has no
/// unsafe code to call `geteuid`).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
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
    /// Whether the program itself started: the sandbox and the interpreter came up and
    /// Lectern's wrapper ran before any of the program's code (see [`STARTED`]). A run
    /// that did not start failed for a reason that is never the program's — Bubblewrap
    /// could not set up (out of namespaces or processes for a moment), the interpreter
    /// could not load — and its outcome must not be scored or cached.
    pub started: bool,
    /// What the program printed (without [`STARTED`]).
    pub stdout: String,
    pub stderr: String,
    /// Output beyond [`Limits::output_bytes`] was thrown away.
    pub truncated: bool,
    pub wall: Duration,
}

/// What the wrapper prints first, before any of the program's code can run: the program
/// cannot take it back, and a failure before it cannot print it.
pub const STARTED: &str = "lectern: the sandbox started\n";

/// The wrapper every run goes through: `python -I -B -c WRAPPER SCRIPT ARGS…` closes
/// every descriptor but stdin, stdout and stderr (whatever Lectern inherited, a
/// jobserver's pipe, must not reach the program), prints [`STARTED`], then runs SCRIPT as `__main__` with `sys.argv = [SCRIPT, ARGS…]`; an
/// uncaught exception prints its traceback without the wrapper's frame and exits 1, as
/// Python itself does.
const WRAPPER: &str = r#"import os, sys
os.closerange(3, 1 << 16)
sys.stdout.write("lectern: the sandbox started\n")
sys.stdout.flush()
sys.argv = sys.argv[1:]
def _lectern_run():
    path = sys.argv[0]
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    scope = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
    try:
        exec(code, scope)
    except SystemExit:
        raise
    except BaseException as e:
        import traceback
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        sys.stderr.flush()
        raise SystemExit(1)
_lectern_run()
"#;

#[derive(Debug, Clone)]
pub struct Sandbox {
    pub python: PythonEnv,
    pub limits: Limits,
    pub isolation: Isolation,
}

/// Whether a Bubblewrap sandbox can be had here, tried for real once per process: the
/// tools it needs are installed, and `bwrap` starts a sandbox of the current [`Mode`]
/// that runs `/usr/bin/true`. The error names the fix.
pub fn probe() -> Result<(), RunnerError> {
    static PROBED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    PROBED.get_or_init(try_sandbox).clone().map_err(|reason| RunnerError::NoSandbox { reason })
}

fn try_sandbox() -> Result<(), String> {
    let mode = Mode::current();
    let bwrap = bwrap();
    let mut tools = vec![bwrap.as_path(), Path::new("/usr/bin/prlimit")];
    if mode == Mode::Root {
        tools.push(Path::new("/usr/bin/setpriv"));
    }
    if let Some(tool) = tools.iter().find(|t| !t.exists()) {
        let tool = tool.display();
        return Err(format!(
            "{tool} is missing: install Bubblewrap and util-linux (Debian and Ubuntu: `apt install bubblewrap util-linux`; Fedora: `dnf install bubblewrap util-linux`)"
        ));
    }
    let dir = tempfile::Builder::new().prefix("lectern-probe-").tempdir().map_err(|e| format!("a temporary folder: {e}"))?;
    let mut args = namespace_args(mode);
    args.extend(system_binds());
    args.extend(["--bind".into(), dir.path().into(), "/work".into(), "--chdir".into(), "/work".into(), "--".into()]);
    args.extend(drop_privileges(mode, NOBODY));
    args.push("/usr/bin/true".into());
    let out = Command::new(&bwrap)
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{} could not be started: {e}", bwrap.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    Err(match mode {
        Mode::Root => format!("Bubblewrap cannot make a sandbox here ({said})"),
        Mode::UserNamespace => format!(
            "Bubblewrap cannot make a sandbox as an ordinary user here ({said}): unprivileged user namespaces are probably switched off. \
             Switch them on (`sudo sysctl -w kernel.unprivileged_userns_clone=1` on Debian, `sudo sysctl -w user.max_user_namespaces=15000` where it is 0, \
             or on Ubuntu ≥ 24.04 an AppArmor profile for /usr/bin/bwrap or `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`), or run as root"
        ),
    })
}

/// The Bubblewrap binary: `$LECTERN_BWRAP`, else Debian's `/usr/bin/bwrap`.
fn bwrap() -> PathBuf {
    std::env::var_os("LECTERN_BWRAP").map_or_else(|| PathBuf::from("/usr/bin/bwrap"), PathBuf::from)
}

/// Bubblewrap's namespace options for `mode`.
fn namespace_args(mode: Mode) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"].map(OsString::from).into();
    if mode == Mode::UserNamespace {
        args.push("--unshare-user".into());
        // So that the code cannot make a user namespace of its own inside (bwrap ≥ 0.8;
        // older ones, as in Ubuntu 22.04 and RHEL 9, lack it and run without).
        if disable_userns_supported() {
            args.push("--disable-userns".into());
        }
    }
    args.extend(["--die-with-parent", "--new-session", "--clearenv"].map(OsString::from));
    args
}

/// Whether this `bwrap` knows `--disable-userns` (0.8.0 and later), asked once.
fn disable_userns_supported() -> bool {
    static KNOWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KNOWN.get_or_init(|| {
        let out = Command::new(bwrap()).arg("--version").stdin(Stdio::null()).output();
        let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
        // "bubblewrap 0.8.0"
        let version: Vec<u32> = text.split_whitespace().nth(1).unwrap_or("").split('.').map(|p| p.parse().unwrap_or(0)).collect();
        version.as_slice() >= [0, 8].as_slice()
    })
}

/// Read-only binds of the system folders that exist.
fn system_binds() -> Vec<OsString> {
    SYSTEM_DIRS.iter().filter(|d| Path::new(d).exists()).flat_map(|d| ["--ro-bind", d, d].map(OsString::from)).collect()
}

/// As root, `setpriv` to `nobody` before anything else runs; as a user, nothing.
/// A run's scratch folder, removed when dropped, whatever the code left in it.
#[derive(Debug)]
pub struct Scratch(Option<PathBuf>);

impl Scratch {
    pub fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some(path) = self.0.take()
            && !remove_tree(&path)
        {
            eprintln!("lectern: could not remove the scratch folder {} (what the code left there); remove it by hand", path.display());
        }
    }
}

/// Removes a folder that student code filled, however deep. std's `remove_dir_all`
/// recurses, one stack frame and one open folder per level: 25,000 nested folders
/// overflow a worker thread's stack and abort the grader, and deeper ones run out of
/// descriptors and fail. So it runs on a thread with a large stack, and where it still
/// fails `rm -rf` (which walks any depth with fts) finishes the job. True when the
/// folder is gone.
pub fn remove_tree(path: &Path) -> bool {
    let owned = path.to_path_buf();
    let quick = std::thread::Builder::new().stack_size(256 << 20).spawn(move || std::fs::remove_dir_all(&owned)).ok().and_then(|h| h.join().ok());
    if matches!(quick, Some(Ok(()))) || std::fs::symlink_metadata(path).is_err() {
        return true;
    }
    let _ = Command::new("rm").arg("-rf").arg("--one-file-system").arg("--").arg(path).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).status();
    std::fs::symlink_metadata(path).is_err()
}

fn drop_privileges(mode: Mode, uid: u32) -> Vec<OsString> {
    match mode {
        Mode::Root => vec![
            "/usr/bin/setpriv".into(),
            format!("--reuid={uid}").into(),
            format!("--regid={uid}").into(),
            "--clear-groups".into(),
            "--".into(),
        ],
        Mode::UserNamespace => Vec::new(),
    }
}

impl Sandbox {
    /// Where the code's working folder is inside the sandbox: `/work`, unless the Python
    /// environment lives under a host folder of that name (a checkout in `/work`, a
    /// cache there), which the working folder would hide; then `/lectern-work`.
    pub fn work_dir(&self) -> &'static str {
        let hidden = |dir: &Path| dir.starts_with("/work");
        if hidden(&self.python.venv) || hidden(&self.python.base_prefix) { "/lectern-work" } else { "/work" }
    }

    /// The one way every command gets its sandbox: the course's Python environment
    /// (`runner`, made on first use in `cache`, `progress` told what is happening),
    /// and, with [`Isolation::Bubblewrap`], a sandbox tried for real first ([`probe`]),
    /// so that a machine without one is told before any environment is made.
    pub fn for_course(
        runner: &lectern_lesson::model::RunnerConfig,
        cache: &Path,
        limits: Limits,
        isolation: Isolation,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Sandbox, RunnerError> {
        if isolation == Isolation::Bubblewrap {
            probe()?;
        }
        let python = crate::python::provision(runner, cache, progress)?;
        Sandbox::new(python, limits, isolation)
    }

    /// A sandbox for `python`; fails clearly when Bubblewrap is asked for but cannot make a
    /// sandbox here ([`probe`]), or when the environment's Python does not start in it
    /// (tried once, with a trivial program, so that a broken setup is the caller's error
    /// and never a student's failed case).
    pub fn new(python: PythonEnv, limits: Limits, isolation: Isolation) -> Result<Self, RunnerError> {
        if isolation == Isolation::Bubblewrap {
            probe()?;
        }
        let sandbox = Sandbox { python, limits, isolation };
        let scratch = sandbox.scratch(&std::env::temp_dir())?;
        let probe = scratch.path().join("lectern_probe.py");
        std::fs::write(&probe, "import sys\nsys.stdout.write('lectern-ready')\n").map_err(|e| RunnerError::Scratch { message: format!("{}: {e}", probe.display()) })?;
        let run = sandbox.run_python(scratch.path(), &["lectern_probe.py"])?;
        if !run.started || run.exit != Exit::Code(0) || run.stdout != "lectern-ready" {
            return Err(RunnerError::Python {
                message: format!(
                    "{} does not start in the sandbox ({:?}): {}",
                    sandbox.python.python().display(),
                    run.exit,
                    run.stderr.trim()
                ),
            });
        }
        Ok(sandbox)
    }

    /// A new scratch folder for one run under `root`: a name no other process on any
    /// host can pick (random, made with `O_EXCL`-style creation), writable by the
    /// sandbox's user, removed when dropped.
    pub fn scratch(&self, root: &Path) -> Result<Scratch, RunnerError> {
        let scratch = |e: std::io::Error| RunnerError::Scratch { message: format!("{}: {e}", root.display()) };
        std::fs::create_dir_all(root).map_err(scratch)?;
        let dir = tempfile::Builder::new().prefix("lectern-run-").tempdir_in(root).map_err(scratch)?;
        if self.isolation == Isolation::Bubblewrap && Mode::current() == Mode::Root {
            // Only the folder itself is handed to `nobody`; its parent stays private.
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).map_err(scratch)?;
        }
        Ok(Scratch(Some(dir.keep())))
    }

    /// Runs the Python script `args[0]` (a file in `scratch`) with the arguments after it,
    /// in `scratch` (which becomes `/work`, the only writable place), through the wrapper
    /// that tells whether it started ([`Run::started`]).
    pub fn run_python(&self, scratch: &Path, args: &[&str]) -> Result<Run, RunnerError> {
        let l = &self.limits;
        if self.isolation == Isolation::Bubblewrap && Mode::current() == Mode::Root {
            readable_by_all(scratch);
        }
        let args: Vec<&str> = ["-c", WRAPPER].into_iter().chain(args.iter().copied()).collect();
        let args = args.as_slice();
        let gpu = if l.gpu && self.isolation == Isolation::Bubblewrap { GpuPaths::discover(Path::new("/")) } else { GpuPaths::default() };
        let mut command = match self.isolation {
            Isolation::Bubblewrap => wrapped(self.bwrap_args(scratch, args, &gpu), None)?,
            Isolation::None => {
                let mut inner = self.limited_python(args);
                if !Path::new("/usr/bin/prlimit").exists() {
                    // macOS and other systems without util-linux: the wall clock only.
                    inner.drain(..inner.iter().position(|a| a == "--").map_or(0, |p| p + 1));
                }
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
        let (began, stdout) = match stdout.strip_prefix(STARTED) {
            Some(rest) => (true, rest.to_owned()),
            None => (false, stdout),
        };
        Ok(Run { exit, started: began, stdout, stderr, truncated: t1 || t2, wall: started.elapsed() })
    }
}

impl Run {
    /// What a code block's terminal shows for `python NAME`: the command, what it
    /// printed, and how it ended when that was not a clean exit (`wall` is its time
    /// limit). The same for a build's captured output and for `serve`'s Run button.
    pub fn terminal(&self, name: &str, wall: Duration) -> String {
        let mut text = format!("$ python {name}\n{}{}", self.stdout, self.stderr);
        match self.exit {
            Exit::Code(0) => {}
            Exit::Code(code) => text.push_str(&format!("[exit status {code}]\n")),
            Exit::Signal(signal) => text.push_str(&format!("[killed by signal {signal}]\n")),
            Exit::WallTimeout => text.push_str(&format!("[stopped: it ran past the {} s time limit]\n", wall.as_secs())),
        }
        if self.truncated {
            text.push_str("[output cut at the size limit]\n");
        }
        text
    }
}

impl Sandbox {
    /// `prlimit LIMITS… -- python -I -B ARGS…`: the command that runs inside the sandbox.
    fn limited_python(&self, args: &[&str]) -> Vec<OsString> {
        let l = &self.limits;
        let (memory, processes) = if l.gpu {
            (format!("--data={}", l.memory_bytes), l.processes.max(GPU_PROCESSES))
        } else {
            (format!("--as={}", l.memory_bytes), l.processes)
        };
        let mut inner: Vec<OsString> = [
            "/usr/bin/prlimit".to_string(),
            format!("--cpu={}", l.cpu_seconds),
            memory,
            format!("--nproc={processes}"),
            format!("--fsize={}", l.file_bytes),
            "--core=0".into(),
            "--".into(),
        ]
        .into_iter()
        .map(OsString::from)
        .collect();
        inner.push(self.python.python().into_os_string());
        inner.extend(["-I", "-B"].into_iter().chain(args.iter().copied()).map(OsString::from));
        inner
    }

    /// Bubblewrap's whole argument list for a run in `scratch`, with `gpu`'s device nodes
    /// and library folders passed through when [`Limits::gpu`] is set (public for tests).
    pub fn bwrap_args(&self, scratch: &Path, args: &[&str], gpu: &GpuPaths) -> Vec<OsString> {
        self.bwrap_args_for(Work::Host(scratch), args, gpu, NOBODY)
    }

    /// [`Sandbox::bwrap_args`] for a `/work` from `work`, as `uid` (in [`Mode::Root`]).
    fn bwrap_args_for(&self, work: Work<'_>, args: &[&str], gpu: &GpuPaths, uid: u32) -> Vec<OsString> {
        let mode = Mode::current();
        let work_dir = self.work_dir();
        let mut c: Vec<OsString> = namespace_args(mode);
        c.extend(system_binds());
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| c.extend(items.iter().map(|i| i.as_ref().to_os_string()));
        // Every writable place is a tmpfs of bounded size (student code can fill none of
        // the host's disks), world-writable with the sticky bit so that the sandbox's own
        // uid may write there in root mode.
        let size = self.limits.file_bytes.saturating_mul(4).to_string();
        push(&[&"--proc", &"/proc", &"--dev", &"/dev"]);
        push(&[&"--size", &size, &"--perms", &"01777", &"--tmpfs", &"/tmp", &"--size", &"1048576", &"--perms", &"01777", &"--tmpfs", &"/dev/shm"]);
        if crate::seccomp::filter().is_ok() {
            // The descriptor `spawn` opens (see [`SPAWN`]).
            push(&[&"--seccomp", &"3"]);
        }
        for dir in [&self.python.base_prefix, &self.python.venv] {
            for ancestor in ancestors(dir) {
                push(&[&"--perms", &"0755", &"--dir", &ancestor]);
            }
            push(&[&"--ro-bind", dir, dir]);
        }
        if self.limits.gpu {
            for (source, target) in &gpu.devices {
                push(&[&"--dev-bind", source, target]);
            }
            for (source, target) in &gpu.libraries {
                // A folder under /usr or /lib is there already, unless it comes from elsewhere.
                let seen = source == target && SYSTEM_DIRS.iter().any(|d| target.starts_with(d));
                if !seen {
                    for ancestor in ancestors(target) {
                        push(&[&"--perms", &"0755", &"--dir", &ancestor]);
                    }
                    push(&[&"--ro-bind", source, target]);
                }
            }
            let search: Vec<String> = gpu.libraries.iter().map(|(_, t)| t.to_string_lossy().into_owned()).collect();
            if !search.is_empty() {
                push(&[&"--setenv", &"LD_LIBRARY_PATH", &search.join(":")]);
            }
            if let Ok(visible) = std::env::var("CUDA_VISIBLE_DEVICES") {
                push(&[&"--setenv", &"CUDA_VISIBLE_DEVICES", &visible]);
            }
        }
        match work {
            Work::Host(scratch) => push(&[&"--bind", &scratch, &work_dir]),
            Work::Tmpfs => push(&[&"--size", &size, &"--perms", &"01777", &"--tmpfs", &work_dir]),
        }
        // Everything else is read-only: the root and /dev that Bubblewrap made are tmpfs of
        // their own (owned by the user, as an ordinary user), unsized and never emptied.
        push(&[&"--remount-ro", &"/dev", &"--remount-ro", &"/"]);
        push(&[&"--chdir", &work_dir, &"--setenv", &"HOME", &work_dir, &"--setenv", &"OPENBLAS_NUM_THREADS", &"1"]);
        push(&[&"--setenv", &"OMP_NUM_THREADS", &"1", &"--setenv", &"PATH", &"/usr/bin:/bin", &"--"]);
        c.extend(drop_privileges(mode, uid));
        c.extend(self.limited_python(args));
        c
    }
}

/// Where a run's `/work` comes from.
#[derive(Debug, Clone, Copy)]
pub enum Work<'a> {
    /// A folder of this machine, bound in (runs from `build` and `serve`, which read
    /// what the code wrote).
    Host(&'a Path),
    /// A tmpfs of the sandbox's own, of bounded size: nothing the code writes lands on,
    /// or has to be removed from, this machine (sessions).
    Tmpfs,
}

/// How every Bubblewrap run is started: `/bin/sh` puts itself into the run's cgroups (if
/// any), opens the seccomp filter as descriptor 3 and execs `bwrap` with `args`. (std
/// cannot hand a child a descriptor without unsafe code, which this crate forbids; the
/// shell does it with a redirection.)
const SPAWN: &str = r#"IFS=:; for d in $LECTERN_CGROUPS; do echo $$ > "$d/cgroup.procs" || exit 125; done; unset IFS; exec "$@" 3< "$LECTERN_SECCOMP""#;

/// The filter as a file the spawning shell can open: an unlinked temporary file this
/// process holds open, reached through `/proc/PID/fd/N` (nothing to remove, nothing
/// another user can swap).
fn seccomp_path() -> Option<String> {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    static FILE: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    let file = FILE.get_or_init(|| {
        let bytes = crate::seccomp::filter().ok()?;
        let mut file = tempfile::tempfile().ok()?;
        file.write_all(bytes).ok()?;
        Some(file)
    });
    file.as_ref().map(|f| format!("/proc/{}/fd/{}", std::process::id(), f.as_raw_fd()))
}

/// `bwrap ARGS` through [`SPAWN`], in `cgroup` when given.
fn wrapped(args: Vec<OsString>, cgroup: Option<&Cgroup>) -> Result<Command, RunnerError> {
    let mut c = Command::new("/bin/sh");
    c.arg("-c").arg(SPAWN).arg("lectern-sandbox").arg(bwrap()).args(args);
    let seccomp = if crate::seccomp::filter().is_ok() {
        seccomp_path().ok_or_else(|| RunnerError::Spawn { what: "the sandbox".into(), message: "the seccomp filter could not be written".into() })?
    } else {
        "/dev/null".to_owned()
    };
    c.env("LECTERN_SECCOMP", seccomp);
    let dirs: Vec<String> = cgroup.map(|g| g.dirs.iter().map(|d| d.to_string_lossy().into_owned()).collect()).unwrap_or_default();
    c.env("LECTERN_CGROUPS", dirs.join(":"));
    Ok(c)
}

/// A cgroup (v1) of one sandbox, made where this process may (root on a machine with
/// writable cgroup v1 hierarchies): `memory` bounds the resident memory of every process
/// of the sandbox together (tmpfs pages included; a hard bound above the limit the
/// supervisor keeps, so that a case is stopped with a verdict before the kernel's OOM
/// killer picks a process), `pids` the number of its processes and
/// threads, `cpuacct` counts its CPU time. Removed, with anything left in it, on drop.
///
/// On cgroup v2 (and as an ordinary user, whose cgroups are not delegated) there is
/// none: the supervisor's own sum of its processes' resident memory is then the only
/// bound besides RLIMIT_AS, RLIMIT_NPROC bounds processes (per
/// user namespace, or per uid from [`UidSlot`]'s range as root) and CPU time is summed
/// from `/proc`.
#[derive(Debug)]
pub struct Cgroup {
    dirs: Vec<PathBuf>,
}

impl Cgroup {
    fn make(limits: &Limits) -> Option<Cgroup> {
        if Mode::current() != Mode::Root || std::env::var_os("LECTERN_NO_CGROUP").is_some() {
            return None;
        }
        let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        let name = format!("lectern-{}-{:016x}", std::process::id(), lectern_lesson::stable_hash([format!("{:?}", Instant::now()).as_bytes(), format!("{:?}", std::thread::current().id()).as_bytes()]));
        let mut dirs = Vec::new();
        for controller in ["memory", "pids", "cpuacct"] {
            // Under this process's own cgroup of that hierarchy ("4:memory:/a/b").
            let path = own.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
                list.split(',').any(|c| c == controller).then(|| path.trim_start_matches('/').to_owned())
            })?;
            let parent = Path::new("/sys/fs/cgroup").join(controller).join(path);
            remove_stale(&parent);
            let dir = parent.join(&name);
            if std::fs::create_dir(&dir).is_err() {
                let cgroup = Cgroup { dirs };
                drop(cgroup);
                return None;
            }
            dirs.push(dir);
        }
        let group = Cgroup { dirs };
        let set = |file: &str, value: String| group.dirs.iter().map(|d| d.join(file)).filter(|p| p.exists()).all(|p| std::fs::write(p, &value).is_ok());
        let processes = if limits.gpu { limits.processes.max(GPU_PROCESSES) } else { limits.processes };
        // The supervisor stops a case whose processes hold more than `memory_bytes` (and
        // says so); the cgroup is the hard bound behind it, with room for the sandbox's
        // tmpfs (counted here, not in any process) and the supervisor itself.
        let hard = limits.memory_bytes.saturating_add(limits.file_bytes.saturating_mul(8)).saturating_add(256 << 20);
        if !set("memory.limit_in_bytes", hard.to_string()) || !set("pids.max", processes.to_string()) {
            return None;
        }
        // Where swap is accounted, swap counts too.
        let _ = set("memory.memsw.limit_in_bytes", hard.to_string());
        Some(group)
    }

    /// CPU time of every process that ran in the cgroup, in seconds.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let dir = self.dirs.iter().find(|d| d.join("cpuacct.usage").exists())?;
        let nanos: u64 = std::fs::read_to_string(dir.join("cpuacct.usage")).ok()?.trim().parse().ok()?;
        Some(nanos as f64 / 1e9)
    }
}

/// Removes the empty cgroups of `lectern` processes that are gone (sessions still warm
/// when their process ended are not dropped; their sandboxes end with the process).
fn remove_stale(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("lectern-").and_then(|rest| rest.split('-').next()).and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir(entry.path());
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            for _ in 0..50 {
                let tasks = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
                if tasks.trim().is_empty() {
                    break;
                }
                for pid in tasks.split_whitespace() {
                    let _ = Command::new("/bin/kill").args(["-KILL", pid]).stderr(Stdio::null()).status();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// In [`Mode::Root`], each sandbox runs as a uid of its own from [`UID_BASE`] on, held
/// for the session with a lock file, so that RLIMIT_NPROC and everything else counted per
/// user is the sandbox's own, not shared with a classmate's or another `lectern`'s.
const UID_BASE: u32 = 3_000_000;
/// How many uids the range holds.
const UID_SLOTS: u32 = 4096;

/// A uid from the range, held until dropped (the lock goes with the process, too).
#[derive(Debug)]
pub struct UidSlot {
    pub uid: u32,
    _lock: std::fs::File,
}

impl UidSlot {
    fn take() -> Result<UidSlot, RunnerError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = Path::new("/run/lectern-uids");
        let dir = if std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).is_ok() { dir.to_path_buf() } else { std::env::temp_dir().join("lectern-uids-root") };
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).map_err(|e| RunnerError::Spawn { what: "a uid for the sandbox".into(), message: e.to_string() })?;
        let start = (std::process::id().wrapping_mul(2_654_435_761)) % UID_SLOTS;
        for _ in 0..200 {
            for i in 0..UID_SLOTS {
                let slot = (start + i) % UID_SLOTS;
                let Ok(file) = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(slot.to_string())) else { continue };
                if file.try_lock().is_ok() {
                    return Ok(UidSlot { uid: UID_BASE + slot, _lock: file });
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(RunnerError::Spawn { what: "a uid for the sandbox".into(), message: format!("all {UID_SLOTS} are taken") })
    }
}

/// A running supervisor session (see `shim.py`): its stdin takes the plan, its stdout
/// gives the reports. A watchdog kills the whole sandbox at `deadline`, whatever it does.
#[derive(Debug)]
pub struct Session {
    child: std::process::Child,
    pub stdin: Option<std::process::ChildStdin>,
    pub stdout: std::process::ChildStdout,
    stderr: std::sync::mpsc::Receiver<(String, bool)>,
    started: Instant,
    /// Set by a watchdog that ended the sandbox.
    killed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cgroup: Option<Cgroup>,
    _uid: Option<UidSlot>,
    _scratch: Option<Scratch>,
}

/// Disarms [`Session::arm`]'s watchdog when dropped.
#[derive(Debug)]
pub struct Watchdog {
    _cancel: std::sync::mpsc::Sender<()>,
}

/// How a session ended.
#[derive(Debug, Clone)]
pub struct SessionEnd {
    pub exit: Exit,
    /// What the sandbox printed on stderr (the interpreter's own errors; capped).
    pub stderr: String,
    pub wall: Duration,
    /// CPU time of the whole sandbox, where a cgroup counted it.
    pub cpu_seconds: Option<f64>,
}

impl Session {
    /// A watchdog that ends the whole sandbox unless the guard is dropped within
    /// `deadline` (then [`SessionEnd::exit`] is [`Exit::WallTimeout`]).
    pub fn arm(&self, deadline: Duration) -> Watchdog {
        let (cancel, cancelled) = std::sync::mpsc::channel::<()>();
        let group = self.child.id();
        let killed = std::sync::Arc::clone(&self.killed);
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(deadline) {
                killed.store(true, std::sync::atomic::Ordering::SeqCst);
                kill_group(group);
            }
        });
        Watchdog { _cancel: cancel }
    }

    /// Waits for the sandbox to end (the watchdog still stands), or with `kill` ends it
    /// at once, and cleans up.
    pub fn finish(mut self, kill: bool) -> SessionEnd {
        drop(self.stdin.take());
        if kill {
            kill_group(self.child.id());
        }
        let status = self.child.wait();
        kill_group(self.child.id());
        use std::os::unix::process::ExitStatusExt;
        let exit = match status {
            Ok(s) => match (s.code(), s.signal()) {
                (Some(code), _) if (129..=192).contains(&code) => Exit::Signal(code - 128),
                (Some(code), _) => Exit::Code(code),
                (None, Some(signal)) => Exit::Signal(signal),
                _ => Exit::Code(-1),
            },
            Err(_) => Exit::Code(-1),
        };
        let exit = if self.killed.load(std::sync::atomic::Ordering::SeqCst) { Exit::WallTimeout } else { exit };
        let (stderr, _) = self.stderr.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
        let cpu_seconds = self.cgroup.as_ref().and_then(Cgroup::cpu_seconds);
        SessionEnd { exit, stderr, wall: self.started.elapsed(), cpu_seconds }
    }
}

impl Sandbox {
    /// Starts Lectern's supervisor (`shim`, run with `python -c`) in a sandbox of its
    /// own: `/work` a tmpfs, a cgroup and (as root) a uid of its own where they can be
    /// had, the seccomp filter. It lives for many hand-ins, so its process gets no
    /// RLIMIT_CPU (each hand-in's process sets its own); [`Session::arm`] bounds each.
    pub fn session(&self, shim: &str) -> Result<Session, RunnerError> {
        let gpu = if self.limits.gpu && self.isolation == Isolation::Bubblewrap { GpuPaths::discover(Path::new("/")) } else { GpuPaths::default() };
        let sandboxed = if self.isolation == Isolation::Bubblewrap { "sandboxed" } else { "bare" };
        let args = ["-c", shim, sandboxed];
        let mut cgroup = None;
        let mut uid = None;
        let mut scratch = None;
        let mut command = match self.isolation {
            Isolation::Bubblewrap => {
                cgroup = Cgroup::make(&self.limits);
                let id = if Mode::current() == Mode::Root {
                    let slot = UidSlot::take()?;
                    let id = slot.uid;
                    uid = Some(slot);
                    id
                } else {
                    NOBODY
                };
                let mut bwrap = self.bwrap_args_for(Work::Tmpfs, &args, &gpu, id);
                bwrap.retain(|a| !a.to_string_lossy().starts_with("--cpu="));
                // The zygote is the namespace's init: no process of the sandbox can signal
                // it, nor reach the pipes to the grader through a reaper's /proc/1/fd
                // (as an ordinary user that reaper would be the same user, and dumpable).
                let at = bwrap.iter().position(|a| a == "--die-with-parent").unwrap_or(0);
                bwrap.insert(at, "--as-pid-1".into());
                wrapped(bwrap, cgroup.as_ref())?
            }
            Isolation::None => {
                let dir = self.scratch(&std::env::temp_dir())?;
                let mut inner = self.limited_python(&args);
                inner.retain(|a| !a.to_string_lossy().starts_with("--cpu="));
                if !Path::new("/usr/bin/prlimit").exists() {
                    inner.drain(..inner.iter().position(|a| a == "--").map_or(0, |p| p + 1));
                }
                let mut c = Command::new(&inner[0]);
                c.args(&inner[1..]).current_dir(dir.path()).env("OPENBLAS_NUM_THREADS", "1").env("OMP_NUM_THREADS", "1");
                scratch = Some(dir);
                c
            }
        };
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| RunnerError::Spawn { what: "the sandbox".into(), message: e.to_string() })?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or_else(|| RunnerError::Spawn { what: "the sandbox".into(), message: "no stdout".into() })?;
        let (tx, stderr) = std::sync::mpsc::channel();
        if let Some(s) = child.stderr.take() {
            let cap = self.limits.output_bytes;
            std::thread::spawn(move || {
                let _ = tx.send(read_capped(s, cap));
            });
        }
        let killed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        Ok(Session { child, stdin, stdout, stderr, started, killed, cgroup, _uid: uid, _scratch: scratch })
    }
}

/// The system folders every sandbox sees, read-only.
const SYSTEM_DIRS: [&str; 5] = ["/usr", "/lib", "/lib64", "/bin", "/sbin"];

/// What a GPU run passes through: `(source on this machine, path in the sandbox)` pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GpuPaths {
    /// NVIDIA device nodes, bound with `--dev-bind`.
    pub devices: Vec<(PathBuf, PathBuf)>,
    /// Driver library folders the system binds do not already cover, bound read-only and
    /// put on `LD_LIBRARY_PATH` (the sandbox has no `/etc/ld.so.cache`).
    pub libraries: Vec<(PathBuf, PathBuf)>,
}

impl GpuPaths {
    /// The NVIDIA device nodes under `root`/dev that exist (`nvidia0`…`nvidiaN`,
    /// `nvidiactl`, `nvidia-uvm`, `nvidia-uvm-tools`, everything in `nvidia-caps/`), the
    /// folder of the driver's `libcuda.so.1` (from `ldconfig -p`, when `root` is `/`) and
    /// `root`/usr/local/nvidia/{lib,lib64} where they exist. Paths in the sandbox are the
    /// same paths relative to `/`. Nothing found is no error: CUDA then says it sees no
    /// device, and the student's code gets that as its own exception.
    pub fn discover(root: &Path) -> GpuPaths {
        let mut paths = GpuPaths::default();
        let dev = root.join("dev");
        let mut names: Vec<String> = std::fs::read_dir(&dev)
            .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        let node = |name: &str| {
            let numbered = name.strip_prefix("nvidia").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            numbered || ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"].contains(&name)
        };
        for name in names.iter().filter(|n| node(n)) {
            paths.devices.push((dev.join(name), Path::new("/dev").join(name)));
        }
        let mut caps: Vec<String> = std::fs::read_dir(dev.join("nvidia-caps"))
            .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        caps.sort();
        for name in caps {
            paths.devices.push((dev.join("nvidia-caps").join(&name), Path::new("/dev/nvidia-caps").join(name)));
        }
        let mut folders: Vec<PathBuf> = Vec::new();
        if root == Path::new("/") {
            folders.extend(libcuda_folder());
        }
        folders.push(PathBuf::from("/usr/local/nvidia/lib64"));
        folders.push(PathBuf::from("/usr/local/nvidia/lib"));
        for folder in folders {
            let source = root.join(folder.strip_prefix("/").unwrap_or(&folder));
            if source.is_dir() && !paths.libraries.iter().any(|(_, t)| *t == folder) {
                paths.libraries.push((source, folder));
            }
        }
        paths
    }
}

/// The folder of the `libcuda.so.1` that `ldconfig -p` lists, the 64-bit one if there
/// are several.
fn libcuda_folder() -> Option<PathBuf> {
    let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"].into_iter().find(|p| Path::new(p).exists())?;
    let out = Command::new(ldconfig).arg("-p").stderr(Stdio::null()).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let found: Vec<(bool, PathBuf)> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("libcuda.so.1 "))
        .filter_map(|l| {
            let (kind, path) = l.rsplit_once("=> ")?;
            let wide = kind.contains("x86-64") || kind.contains("AArch64") || kind.contains("64bit");
            Some((wide, Path::new(path.trim()).parent()?.to_path_buf()))
        })
        .collect();
    found.iter().find(|(wide, _)| *wide).or(found.first()).map(|(_, folder)| folder.clone())
}

/// As root, files Lectern writes into a scratch folder follow its umask (077 on some
/// servers), and uid 65534 must read them: folders 0755 and files 0644 below the folder
/// (itself handed to 65534 by [`Sandbox::scratch`]). Links are not followed.
fn readable_by_all(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() {
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o755));
            readable_by_all(&entry.path());
        } else if kind.is_file() {
            let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o644));
        }
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
