//! Running untrusted Python: a Bubblewrap sandbox (no network, a read-only view of the
//! system and the Python environment, one writable scratch folder, its own PID
//! namespace) as an unprivileged user with limits on CPU time, memory, processes and
//! file size, under a wall-clock limit that kills the whole process tree.
//!
//! What it needs: Debian's `bubblewrap` (`bwrap`), and `setpriv` and `prlimit` from
//! util-linux; the grader runs as root here (sessions and CI do), so that it can drop to
//! an unprivileged uid inside the sandbox — RLIMIT_NPROC does not bind root. Without
//! Bubblewrap, nothing runs unless the caller asks for [`Isolation::None`] explicitly.
//!
//! With [`Limits::gpu`] (only for runs on `--device cuda`) the sandbox also lets the
//! student's code reach an NVIDIA GPU: the device nodes that exist are bound in
//! (`--dev-bind`), the driver's library folder is bound read-only and put on
//! `LD_LIBRARY_PATH`, and the memory limit becomes RLIMIT_DATA instead of RLIMIT_AS (see
//! [`Limits::memory_bytes`]). Everything else holds: no network, the `nobody` user, the CPU
//! and wall-clock limits, one writable scratch folder.

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
    pub cpu_seconds: u64,
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
        let gpu = if l.gpu && self.isolation == Isolation::Bubblewrap { GpuPaths::discover(Path::new("/")) } else { GpuPaths::default() };
        let mut command = match self.isolation {
            Isolation::Bubblewrap => {
                let mut c = Command::new("/usr/bin/bwrap");
                c.args(self.bwrap_args(scratch, args, &gpu));
                c
            }
            Isolation::None => {
                let inner = self.limited_python(args);
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
        let mut c: Vec<OsString> = Vec::new();
        let mut push = |items: &[&dyn AsRef<std::ffi::OsStr>]| c.extend(items.iter().map(|i| i.as_ref().to_os_string()));
        push(&[&"--unshare-pid", &"--unshare-net", &"--unshare-ipc", &"--unshare-uts", &"--unshare-cgroup-try"]);
        push(&[&"--die-with-parent", &"--new-session", &"--clearenv"]);
        for dir in SYSTEM_DIRS {
            if Path::new(dir).exists() {
                push(&[&"--ro-bind", &dir, &dir]);
            }
        }
        push(&[&"--proc", &"/proc", &"--dev", &"/dev", &"--tmpfs", &"/tmp"]);
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
        push(&[&"--bind", &scratch, &"/work"]);
        push(&[&"--chdir", &"/work", &"--setenv", &"HOME", &"/work", &"--setenv", &"OPENBLAS_NUM_THREADS", &"1"]);
        push(&[&"--setenv", &"OMP_NUM_THREADS", &"1", &"--setenv", &"PATH", &"/usr/bin:/bin", &"--"]);
        push(&[&"/usr/bin/setpriv", &format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}"), &"--clear-groups", &"--"]);
        c.extend(self.limited_python(args));
        c
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
