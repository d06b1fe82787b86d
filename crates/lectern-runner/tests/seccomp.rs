//! The seccomp filter in a real Bubblewrap sandbox: what it refuses is refused by the
//! kernel (a nested user namespace, a memfd, a mount as root, `TIOCSTI`, odd
//! personalities), and what Python needs still works (threads, `subprocess`, ctypes
//! callbacks, numpy where `/usr/bin/python3` has it). Each refusal is checked against
//! the same sandbox without the filter where that is meaningful, so the test shows that
//! the filter is what refuses.
//!
//! The program reaches `bwrap --seccomp 3` without unsafe code: it is written to a file,
//! and `/bin/sh` opens that file as descriptor 3 and execs bwrap.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BWRAP: &str = "/usr/bin/bwrap";
const PYTHON: &str = "/usr/bin/python3";

/// Which namespaces the sandbox gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespaces {
    /// `--unshare-all` (user namespace where bwrap can make one).
    All,
    /// PID, network, IPC and UTS but no user namespace: the sandbox's root mode, where
    /// the code would be real root with bwrap's capabilities.
    NoUser,
}

/// The filter file, written once for this test binary into Cargo's folder for test files
/// (kept between runs, where the next run finds it current and reuses it).
fn filter_file() -> PathBuf {
    static FILE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    FILE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seccomp");
        std::fs::create_dir_all(&dir).expect("temp dir");
        lectern_runner::seccomp::write_filter_file(&dir).expect("filter file")
    })
    .clone()
}

/// Runs `cmd` in a sandbox, under the filter when `seccomp`.
fn sandboxed(seccomp: bool, namespaces: Namespaces, cmd: &[&str]) -> Output {
    let mut args: Vec<&str> = match namespaces {
        Namespaces::All => vec!["--unshare-all"],
        Namespaces::NoUser => vec!["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"],
    };
    args.extend(["--die-with-parent", "--ro-bind", "/usr", "/usr"]);
    for dir in ["/lib", "/lib64", "/bin", "/sbin"] {
        if Path::new(dir).exists() {
            args.extend(["--ro-bind", dir, dir]);
        }
    }
    args.extend(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]);
    if seccomp {
        args.extend(["--seccomp", "3"]);
    }
    args.push("--");
    args.extend(cmd);
    let file = filter_file();
    Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"exec "$0" "$@" 3<"$LECTERN_SECCOMP_FILE""#)
        .arg(BWRAP)
        .args(&args)
        .env("LECTERN_SECCOMP_FILE", &file)
        .stdin(Stdio::null())
        .output()
        .expect("sh")
}

/// Whether bwrap runs here at all (with the filter); the tests are skipped otherwise.
fn bwrap_works() -> bool {
    if !Path::new(BWRAP).exists() {
        eprintln!("skipped: no {BWRAP}");
        return false;
    }
    let out = sandboxed(true, Namespaces::All, &["/bin/true"]);
    if !out.status.success() {
        eprintln!("skipped: bwrap does not start here: {}", String::from_utf8_lossy(&out.stderr));
        return false;
    }
    true
}

fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

fn show(out: &Output) -> String {
    format!("status {:?}\nstdout: {}\nstderr: {}", out.status.code(), String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_nested_user_namespace_is_refused() {
    if !bwrap_works() {
        return;
    }
    for namespaces in [Namespaces::All, Namespaces::NoUser] {
        let control = sandboxed(false, namespaces, &["unshare", "-U", "true"]);
        if !control.status.success() {
            eprintln!("note: without the filter `unshare -U` fails here too ({namespaces:?}): {}", show(&control));
        }
        let out = sandboxed(true, namespaces, &["unshare", "-U", "true"]);
        assert!(!out.status.success(), "{namespaces:?}: {}", show(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"), "{namespaces:?}: {}", show(&out));
    }
}

#[test]
fn memfd_create_is_refused() {
    if !bwrap_works() {
        return;
    }
    let code = "import os; os.memfd_create('x')";
    let control = sandboxed(false, Namespaces::All, &[PYTHON, "-c", code]);
    assert!(control.status.success(), "without the filter: {}", show(&control));
    let out = sandboxed(true, Namespaces::All, &[PYTHON, "-c", code]);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PermissionError"), "{}", show(&out));
}

#[test]
fn mount_as_root_without_a_user_namespace_is_refused() {
    if !bwrap_works() {
        return;
    }
    let cmd = ["mount", "-t", "tmpfs", "x", "/tmp"];
    if is_root() {
        // bwrap keeps root's capabilities when no user namespace is asked for: without
        // the filter, the mount goes through.
        let control = sandboxed(false, Namespaces::NoUser, &cmd);
        assert!(control.status.success(), "without the filter: {}", show(&control));
    }
    let out = sandboxed(true, Namespaces::NoUser, &cmd);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ermission denied") || String::from_utf8_lossy(&out.stderr).contains("not permitted"), "{}", show(&out));
}

/// Calls straight through libc (ctypes), where Python's own wrappers would get in the
/// way: personality, and ioctl(TIOCSTI) on a pty with the high bits of the request set
/// (the kernel reads only the low 32, and so must the filter).
#[test]
fn personality_and_tiocsti_are_refused_by_the_kernel() {
    if !bwrap_works() {
        return;
    }
    let code = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def errno_of(r):
    return 0 if r != -1 else ctypes.get_errno()
print("personality-linux", errno_of(libc.personality(ctypes.c_ulong(0))))
print("personality-query", errno_of(libc.personality(ctypes.c_ulong(0xffffffff))))
print("personality-norandom", errno_of(libc.personality(ctypes.c_ulong(0x0040000))))
master, slave = os.openpty()
# TIOCSTI works on one's own controlling terminal: a new session, the pty as its terminal.
if os.fork():
    os._exit(os.waitstatus_to_exitcode(os.wait()[1]))
os.setsid()
import fcntl, termios, sys
fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
ch = ctypes.c_char(b"x")
SYS_ioctl = {"x86_64": 16, "aarch64": 29}[os.uname().machine]
for name, request in [("tiocsti", 0x5412), ("tiocsti-high", 0x5412 | (1 << 40))]:
    r = libc.syscall(ctypes.c_long(SYS_ioctl), ctypes.c_long(slave), ctypes.c_ulong(request), ctypes.byref(ch))
    print(name, errno_of(r))
print("tcgets", errno_of(libc.tcgetattr(slave, ctypes.create_string_buffer(64))))
sys.stdout.flush()
"#;
    let results = |seccomp: bool| -> Vec<(String, i32)> {
        let out = sandboxed(seccomp, Namespaces::All, &[PYTHON, "-c", code]);
        assert!(out.status.success(), "seccomp {seccomp}: {}", show(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                let (name, errno) = l.split_once(' ').expect("name errno");
                (name.to_owned(), errno.parse().expect("errno"))
            })
            .collect()
    };
    let control = results(false);
    let filtered = results(true);
    eprintln!("without the filter: {control:?}\nwith it: {filtered:?}");
    let errno = |list: &[(String, i32)], name: &str| list.iter().find(|(n, _)| n == name).map(|(_, e)| *e).expect(name);
    assert_eq!(errno(&control, "personality-norandom"), 0, "control");
    if errno(&control, "tiocsti") != 0 {
        eprintln!("note: TIOCSTI is refused here without the filter too (dev.tty.legacy_tiocsti = 0?)");
    }
    for (name, expected) in [("personality-linux", 0), ("personality-query", 0), ("personality-norandom", libc::EPERM), ("tiocsti", libc::EPERM), ("tiocsti-high", libc::EPERM), ("tcgets", 0)] {
        assert_eq!(errno(&filtered, name), expected, "{name}");
    }
}

#[test]
fn threads_fork_and_exec_still_work() {
    if !bwrap_works() {
        return;
    }
    let code = "import threading, subprocess, os\n\
                t = threading.Thread(target=lambda: None); t.start(); t.join()\n\
                pid = os.fork()\n\
                if pid == 0: os._exit(7)\n\
                assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7\n\
                print(subprocess.run(['/bin/true']).returncode)";
    let out = sandboxed(true, Namespaces::All, &[PYTHON, "-c", code]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{}", show(&out));

    // ctypes callbacks need executable closures from libffi, which may try a memfd first.
    let code = "import ctypes; print(ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 41)() + 1)";
    let out = sandboxed(true, Namespaces::All, &[PYTHON, "-c", code]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42", "{}", show(&out));
}

#[test]
fn numpy_still_imports() {
    if !bwrap_works() {
        return;
    }
    let has_numpy = Command::new(PYTHON).args(["-c", "import numpy"]).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if !has_numpy {
        eprintln!("skipped: {PYTHON} has no numpy");
        return;
    }
    let code = "import numpy as np; a = np.ones((300, 300)); print(int((a @ a)[0, 0]))";
    let out = sandboxed(true, Namespaces::All, &[PYTHON, "-c", code]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "300", "{}", show(&out));
}
