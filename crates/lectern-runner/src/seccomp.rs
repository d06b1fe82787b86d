//! The seccomp filter every sandbox runs under: a short list of system calls that
//! untrusted Python has no business making, refused by the kernel before they do anything.
//!
//! It knows system calls and the BPF program Bubblewrap loads (`bwrap --seccomp FD`); it
//! must never know HTML, exercises or how grades are recorded.
//!
//! The namespaces, the read-only binds, the unprivileged user and the limits of
//! [`crate::sandbox`] do the isolating; this filter closes the kernel interfaces that those
//! leave open and that let code undo them, reach past them, or attack the kernel itself.
//! Everything not listed is allowed (the default action is Allow), so ordinary Python,
//! numpy, threads, `subprocess` and `fork` are untouched.
//!
//! Refused with `EPERM` ("Operation not permitted"):
//!
//! - **New namespaces and mounts**: `unshare`, `setns`, `clone` with any of
//!   `CLONE_NEWNS`, `CLONE_NEWCGROUP`, `CLONE_NEWUTS`, `CLONE_NEWIPC`, `CLONE_NEWUSER`,
//!   `CLONE_NEWPID`, `CLONE_NEWNET` or `CLONE_NEWTIME` in its flags; `mount`, `umount2`,
//!   `pivot_root`, `chroot`, and the new mount API (`fsopen`, `fsconfig`, `fsmount`,
//!   `fspick`, `move_mount`, `open_tree`, `mount_setattr`). As root, Bubblewrap without a
//!   user namespace keeps every capability inside until `setpriv` drops them, and a user
//!   namespace of its own gives code a full set of capabilities in it: either way, these
//!   are how code would remount what it sees or reach the large kernel surface that
//!   namespaces expose to an unprivileged user.
//! - **Other processes**: `ptrace`, `process_vm_readv`, `process_vm_writev`.
//! - **Kernel interfaces that are attack surface and no use to an exercise**: the kernel
//!   keyring (`keyctl`, `add_key`, `request_key`), `bpf`, `perf_event_open`,
//!   `userfaultfd` (the classic tool for widening kernel race windows), file handles
//!   (`open_by_handle_at`, the "shocker" escape from containers, and `name_to_handle_at`),
//!   `lookup_dcookie`, `vhangup`.
//! - **The machine itself**: `kexec_load`, `kexec_file_load`, `init_module`,
//!   `finit_module`, `delete_module`, `swapon`, `swapoff`, `reboot`, `acct`, `syslog`
//!   (the kernel log), `quotactl`, `quotactl_fd`, the clock (`settimeofday`,
//!   `clock_settime`, `clock_adjtime`, `adjtimex`), and on x86_64 I/O ports (`iopl`,
//!   `ioperm`).
//! - **Memory outside the limit**: `memfd_create` (a memfd's pages are not in the
//!   process's address space until mapped, so RLIMIT_AS does not count what is written to
//!   one) and `memfd_secret`; System V IPC (`shmget`, `shmat`, `msgget`, `semget`) and
//!   POSIX message queues (`mq_open` and the rest): their objects outlive the processes
//!   that made them, and a grading sandbox serves one hand-in after another.
//! - **Large kernel surface, no use to an exercise**: `io_uring_setup`,
//!   `io_uring_enter`, `io_uring_register` (a source of kernel escapes, and I/O the other
//!   rules do not see), `kcmp`.
//! - **`personality`** with anything but `PER_LINUX` (0) or the query `0xffffffff`:
//!   other personalities turn off address-space randomisation (`ADDR_NO_RANDOMIZE`) or
//!   make readable memory executable (`READ_IMPLIES_EXEC`).
//! - **`ioctl`** with `TIOCSTI` (pushes characters into a terminal's input: with a
//!   terminal shared with the grader, commands typed into the shell that started it) and
//!   `TIOCLINUX`. The request is compared on its low 32 bits only, as the kernel reads it
//!   (an `unsigned int`), so setting high bits does not slip past.
//!
//! Refused with `ENOSYS` ("Function not implemented"):
//!
//! - **`clone3`**: its flags are in a structure in memory, which seccomp cannot read, so
//!   it cannot be allowed selectively like `clone`. `ENOSYS` makes glibc (`pthread_create`,
//!   `fork`, `posix_spawn`) fall back to `clone`, where the flags are checked; `EPERM`
//!   would make every thread and child process fail.
//! - On x86_64, **every x32 system call** (numbers with bit 30 set): x32 calls report the
//!   same architecture as x86_64 ones, so without this a kernel with x32 enabled would let
//!   `unshare` and the rest through under their x32 numbers. Kernels without x32 answer
//!   `ENOSYS` to them anyway.
//!
//! System calls of another architecture (the 32-bit `int 0x80` interface on x86_64) kill
//! the process: the numbers above are the native ones only.
//!
//! The program is compiled by [`seccompiler`] (from Firecracker) from rule lists: two
//! filters, the `ENOSYS` list and the `EPERM` list (one seccompiler filter has one action),
//! chained into one program by turning each "allow" of the first into a jump to the next.
//! The only hand-written BPF is that jump and the x32 check (four instructions).

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch, sock_filter,
};

/// Namespace flags that `clone` may not carry. `CLONE_NEWTIME` (0x80) lies in the byte
/// `clone` reads as the exit signal, where no valid signal sets it; time namespaces come
/// only from `clone3` and `unshare`, both refused, and the rule costs nothing.
const CLONE_NAMESPACE_FLAGS: [libc::c_int; 8] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWTIME,
];

/// `personality` arguments that are allowed: `PER_LINUX` and the query.
const PERSONALITY_ALLOWED: [u64; 2] = [0, 0xffff_ffff];

/// The x32 ABI's mark on x86_64 system call numbers (`__X32_SYSCALL_BIT`).
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// BPF opcodes used by [`chain`] and the x32 check (`linux/bpf_common.h`).
const BPF_JMP_JA: u16 = 0x05;
const BPF_RET_K: u16 = 0x06;
#[cfg(target_arch = "x86_64")]
const BPF_LD_W_ABS: u16 = 0x20;
#[cfg(target_arch = "x86_64")]
const BPF_JMP_JGE_K: u16 = 0x35;

/// The seccomp filter every sandbox runs under, as the raw BPF program bytes (an array of
/// `struct sock_filter`, native endian) that `bwrap --seccomp FD` reads.
///
/// Built once per process. An error says why it could not be built (an architecture
/// seccompiler does not know, or a program too long for the kernel); it does not change
/// from call to call.
pub fn filter() -> Result<&'static [u8], String> {
    static FILTER: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    match FILTER.get_or_init(build) {
        Ok(bytes) => Ok(bytes.as_slice()),
        Err(e) => Err(e.clone()),
    }
}

/// Writes [`filter`] into `dir` as `lectern-seccomp-<hash of the bytes>.bpf` (mode 0644)
/// and returns its path, for a shell to open as the descriptor `bwrap --seccomp FD` reads.
///
/// A file already there under that name is kept when it is a regular file with exactly
/// these bytes and mode 0644; anything else there (another version, a partial write, a
/// symlink) is replaced. Writing goes to a temporary file in `dir` that is then renamed
/// into place, so a reader sees either no file or the whole program. `dir` must be a
/// folder only this user can write: whoever else can write there could swap the file
/// between this check and the sandbox reading it.
pub fn write_filter_file(dir: &Path) -> Result<PathBuf, String> {
    let bytes = filter()?;
    let path = dir.join(format!("lectern-seccomp-{:016x}.bpf", fnv1a(bytes)));
    if is_current(&path, bytes) {
        return Ok(path);
    }
    let context = |what: &str, e: std::io::Error| format!("seccomp filter in {}: {what}: {e}", dir.display());
    let mut temp = tempfile::Builder::new()
        .prefix(".lectern-seccomp-")
        .tempfile_in(dir)
        .map_err(|e| context("creating a temporary file", e))?;
    temp.write_all(bytes).map_err(|e| context("writing", e))?;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .map_err(|e| context("setting its mode", e))?;
    temp.persist(&path).map_err(|e| context("renaming into place", e.error))?;
    Ok(path)
}

/// Whether `path` is a regular file (not a symlink) of mode 0644 holding exactly `bytes`.
fn is_current(path: &Path, bytes: &[u8]) -> bool {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    if !meta.file_type().is_file() || meta.permissions().mode() & 0o7777 != 0o644 || meta.len() != bytes.len() as u64 {
        return false;
    }
    std::fs::read(path).is_ok_and(|found| found == bytes)
}

/// FNV-1a, 64 bits: a stable name for the program's bytes (not a security measure: the
/// content is compared before a file is reused).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

/// Builds the program: the `ENOSYS` filter, the x32 check (x86_64), the `EPERM` filter,
/// chained, as bytes.
fn build() -> Result<Vec<u8>, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|e| format!("seccomp filter: {e}"))?;
    let mut parts = vec![compile(enosys_rules(), libc::ENOSYS, arch)?];
    #[cfg(target_arch = "x86_64")]
    parts.push(x32_check());
    parts.push(compile(eperm_rules()?, libc::EPERM, arch)?);
    let program = chain(parts);
    // BPF_MAXINSNS: the kernel refuses longer programs.
    if program.len() > 4096 {
        return Err(format!("seccomp filter: {} instructions, the kernel takes at most 4096", program.len()));
    }
    Ok(to_bytes(&program))
}

/// The calls refused with `ENOSYS`: `clone3`, so that glibc falls back to `clone`.
fn enosys_rules() -> BTreeMap<i64, Vec<SeccompRule>> {
    BTreeMap::from([(libc::SYS_clone3, Vec::new())])
}

/// The calls refused with `EPERM`: unconditionally (an empty rule list), or when one of
/// their rules matches.
fn eperm_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, String> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = [
        libc::SYS_unshare,
        libc::SYS_setns,
        libc::SYS_mount,
        libc::SYS_umount2,
        libc::SYS_pivot_root,
        libc::SYS_chroot,
        libc::SYS_fsopen,
        libc::SYS_fsconfig,
        libc::SYS_fsmount,
        libc::SYS_fspick,
        libc::SYS_move_mount,
        libc::SYS_open_tree,
        libc::SYS_mount_setattr,
        libc::SYS_ptrace,
        libc::SYS_process_vm_readv,
        libc::SYS_process_vm_writev,
        libc::SYS_keyctl,
        libc::SYS_add_key,
        libc::SYS_request_key,
        libc::SYS_bpf,
        libc::SYS_perf_event_open,
        libc::SYS_userfaultfd,
        libc::SYS_open_by_handle_at,
        libc::SYS_name_to_handle_at,
        libc::SYS_lookup_dcookie,
        libc::SYS_vhangup,
        libc::SYS_kexec_load,
        libc::SYS_kexec_file_load,
        libc::SYS_init_module,
        libc::SYS_finit_module,
        libc::SYS_delete_module,
        libc::SYS_swapon,
        libc::SYS_swapoff,
        libc::SYS_reboot,
        libc::SYS_acct,
        libc::SYS_syslog,
        libc::SYS_quotactl,
        libc::SYS_quotactl_fd,
        libc::SYS_settimeofday,
        libc::SYS_clock_settime,
        libc::SYS_clock_adjtime,
        libc::SYS_adjtimex,
        libc::SYS_memfd_create,
        libc::SYS_memfd_secret,
        libc::SYS_io_uring_setup,
        libc::SYS_io_uring_enter,
        libc::SYS_io_uring_register,
        libc::SYS_kcmp,
        libc::SYS_shmget,
        libc::SYS_shmat,
        libc::SYS_msgget,
        libc::SYS_semget,
        libc::SYS_mq_open,
        libc::SYS_mq_unlink,
        libc::SYS_mq_timedsend,
        libc::SYS_mq_timedreceive,
        libc::SYS_mq_notify,
        libc::SYS_mq_getsetattr,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_iopl,
        #[cfg(target_arch = "x86_64")]
        libc::SYS_ioperm,
    ]
    .into_iter()
    .map(|nr| (nr, Vec::new()))
    .collect();

    let err = |e: seccompiler::BackendError| format!("seccomp filter: {e}");
    let dword = |arg: u8, op: SeccompCmpOp, value: u64| SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value).map_err(err);

    // clone: one rule per namespace flag, "flags & FLAG == FLAG" on the low 32 bits of arg 0
    // (the flags are an unsigned long; every namespace flag is in the low half).
    let clone = CLONE_NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = u64::from(flag as u32);
            SeccompRule::new(vec![dword(0, SeccompCmpOp::MaskedEq(flag), flag)?]).map_err(err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_clone, clone);

    // personality: refused unless arg 0 (an unsigned int) is one of the allowed values;
    // the conditions of one rule must all hold.
    let persona = PERSONALITY_ALLOWED.iter().map(|&v| dword(0, SeccompCmpOp::Ne, v)).collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_personality, vec![SeccompRule::new(persona).map_err(err)?]);

    // ioctl: the request is arg 1, an unsigned int to the kernel, so only its low 32 bits count.
    let ioctl = [libc::TIOCSTI, libc::TIOCLINUX]
        .iter()
        .map(|&request| SeccompRule::new(vec![dword(1, SeccompCmpOp::Eq, u64::from(request as u32))?]).map_err(err))
        .collect::<Result<Vec<_>, _>>()?;
    rules.insert(libc::SYS_ioctl, ioctl);

    Ok(rules)
}

/// One seccompiler filter: `rules` answered with `errno`, everything else allowed.
fn compile(rules: BTreeMap<i64, Vec<SeccompRule>>, errno: libc::c_int, arch: TargetArch) -> Result<BpfProgram, String> {
    let errno = u32::try_from(errno).map_err(|e| format!("seccomp filter: errno {errno}: {e}"))?;
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, SeccompAction::Errno(errno), arch).map_err(|e| format!("seccomp filter: {e}"))?;
    BpfProgram::try_from(filter).map_err(|e| format!("seccomp filter: {e}"))
}

/// On x86_64, x32 system calls (number ≥ `__X32_SYSCALL_BIT`) get `ENOSYS`; everything
/// else goes on (a part for [`chain`]).
#[cfg(target_arch = "x86_64")]
fn x32_check() -> BpfProgram {
    let stmt = |code, k| sock_filter { code, jt: 0, jf: 0, k };
    vec![
        // The system call number: offset 0 of struct seccomp_data.
        stmt(BPF_LD_W_ABS, 0),
        // ≥ the x32 bit: go on to the next instruction (refuse), else skip it.
        sock_filter { code: BPF_JMP_JGE_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT },
        stmt(BPF_RET_K, libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32),
        stmt(BPF_RET_K, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Chains seccomp programs into one: in every part but the last, each "return Allow"
/// becomes a jump to the start of the next part, so a call is allowed only when every
/// part allows it and is answered by the first part that does not.
///
/// Sound because each part only jumps within itself (seccompiler's programs and the x32
/// check are self-contained) and a classic BPF `JA` takes a 32-bit offset, so any
/// distance within the kernel's 4096 instructions is reachable.
fn chain(parts: Vec<BpfProgram>) -> BpfProgram {
    let count = parts.len();
    let mut program = BpfProgram::new();
    for (index, mut part) in parts.into_iter().enumerate() {
        if index + 1 < count {
            let len = part.len();
            for (i, insn) in part.iter_mut().enumerate() {
                if insn.code == BPF_RET_K && insn.k == libc::SECCOMP_RET_ALLOW {
                    // JA k: the next instruction run is i + 1 + k, the first of the next part.
                    *insn = sock_filter { code: BPF_JMP_JA, jt: 0, jf: 0, k: (len - i - 1) as u32 };
                }
            }
        }
        program.append(&mut part);
    }
    program
}

/// The program as `struct sock_filter` bytes: `u16 code, u8 jt, u8 jf, u32 k`, native
/// endian, 8 bytes each with no padding.
fn to_bytes(program: &[sock_filter]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for insn in program {
        bytes.extend_from_slice(&insn.code.to_ne_bytes());
        bytes.push(insn.jt);
        bytes.push(insn.jf);
        bytes.extend_from_slice(&insn.k.to_ne_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `AUDIT_ARCH_*` of this build (`linux/audit.h`).
    #[cfg(target_arch = "x86_64")]
    const AUDIT_ARCH: u32 = 62 | 0x8000_0000 | 0x4000_0000;
    #[cfg(target_arch = "aarch64")]
    const AUDIT_ARCH: u32 = 183 | 0x8000_0000 | 0x4000_0000;

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    const ENOSYS: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

    /// Runs the program on one system call as the kernel would (the handful of classic BPF
    /// instructions seccompiler and [`chain`] emit) and returns the action.
    fn run(bytes: &[u8], arch: u32, nr: i64, args: [u64; 6]) -> u32 {
        let mut data = Vec::with_capacity(64);
        data.extend_from_slice(&(nr as i32).to_ne_bytes());
        data.extend_from_slice(&arch.to_ne_bytes());
        data.extend_from_slice(&0u64.to_ne_bytes());
        for a in args {
            data.extend_from_slice(&a.to_ne_bytes());
        }
        let insns: Vec<(u16, u8, u8, u32)> = bytes
            .chunks_exact(8)
            .map(|c| (u16::from_ne_bytes([c[0], c[1]]), c[2], c[3], u32::from_ne_bytes([c[4], c[5], c[6], c[7]])))
            .collect();
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let (code, jt, jf, k) = insns[pc];
            let jump = |taken: bool| pc + 1 + usize::from(if taken { jt } else { jf });
            pc = match code {
                0x20 => {
                    let o = k as usize;
                    acc = u32::from_ne_bytes([data[o], data[o + 1], data[o + 2], data[o + 3]]);
                    pc + 1
                }
                0x54 => {
                    acc &= k;
                    pc + 1
                }
                0x05 => pc + 1 + k as usize,
                0x15 => jump(acc == k),
                0x25 => jump(acc > k),
                0x35 => jump(acc >= k),
                0x06 => return k,
                other => panic!("instruction {other:#x} at {pc} not understood by this test"),
            };
        }
    }

    fn call(nr: i64, args: [u64; 6]) -> u32 {
        run(filter().expect("filter"), AUDIT_ARCH, nr, args)
    }

    #[test]
    fn the_program_is_whole_instructions_and_stable() {
        let bytes = filter().expect("filter");
        assert!(!bytes.is_empty());
        assert_eq!(bytes.len() % 8, 0);
        assert!(bytes.len() / 8 <= 4096);
        assert_eq!(build().expect("again"), bytes);
        assert_eq!(build().expect("and again"), build().expect("and again"));
    }

    #[test]
    fn listed_calls_get_eperm_and_others_are_allowed() {
        for nr in [libc::SYS_unshare, libc::SYS_setns, libc::SYS_mount, libc::SYS_memfd_create, libc::SYS_ptrace, libc::SYS_bpf, libc::SYS_open_tree] {
            assert_eq!(call(nr, [0; 6]), EPERM, "syscall {nr}");
        }
        for nr in [libc::SYS_read, libc::SYS_write, libc::SYS_openat, libc::SYS_mmap, libc::SYS_getpid, libc::SYS_execve, libc::SYS_futex, libc::SYS_wait4] {
            assert_eq!(call(nr, [0; 6]), ALLOW, "syscall {nr}");
        }
        #[cfg(target_arch = "x86_64")]
        assert_eq!(call(libc::SYS_iopl, [3, 0, 0, 0, 0, 0]), EPERM);
    }

    #[test]
    fn clone3_gets_enosys() {
        assert_eq!(call(libc::SYS_clone3, [0; 6]), ENOSYS);
    }

    #[test]
    fn clone_is_refused_only_with_a_namespace_flag() {
        let thread = (libc::CLONE_VM | libc::CLONE_FS | libc::CLONE_FILES | libc::CLONE_SIGHAND | libc::CLONE_THREAD | libc::CLONE_SYSVSEM | libc::CLONE_SETTLS | libc::CLONE_PARENT_SETTID | libc::CLONE_CHILD_CLEARTID) as u64;
        let fork = (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID | libc::SIGCHLD) as u64;
        let spawn = (libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD) as u64;
        for flags in [thread, fork, spawn, fork | 0xffff_ffff_0000_0000] {
            assert_eq!(call(libc::SYS_clone, [flags, 0, 0, 0, 0, 0]), ALLOW, "flags {flags:#x}");
        }
        for ns in CLONE_NAMESPACE_FLAGS {
            let flags = fork | ns as u32 as u64;
            assert_eq!(call(libc::SYS_clone, [flags, 0, 0, 0, 0, 0]), EPERM, "flags {flags:#x}");
        }
    }

    #[test]
    // libc's ioctl requests are c_ulong with glibc but c_int with musl.
    #[allow(clippy::unnecessary_cast)]
    fn ioctl_tiocsti_is_refused_whatever_the_high_bits() {
        for request in [libc::TIOCSTI as u64, libc::TIOCLINUX as u64, libc::TIOCSTI as u64 | 0xdead_0000_0000_0000] {
            assert_eq!(call(libc::SYS_ioctl, [0, request, 0, 0, 0, 0]), EPERM, "request {request:#x}");
        }
        for request in [libc::TCGETS as u64, libc::FIONREAD as u64, libc::TIOCGWINSZ as u64] {
            assert_eq!(call(libc::SYS_ioctl, [1, request, 0, 0, 0, 0]), ALLOW, "request {request:#x}");
        }
    }

    #[test]
    fn personality_only_linux_or_query() {
        assert_eq!(call(libc::SYS_personality, [0, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]), ALLOW);
        // ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_LINUX32
        for persona in [0x0004_0000, 0x0040_0000, 0x0008] {
            assert_eq!(call(libc::SYS_personality, [persona, 0, 0, 0, 0, 0]), EPERM, "persona {persona:#x}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn x32_calls_get_enosys() {
        let x32 = i64::from(X32_SYSCALL_BIT);
        assert_eq!(call(x32 | libc::SYS_unshare, [0; 6]), ENOSYS);
        assert_eq!(call(x32 | libc::SYS_getpid, [0; 6]), ENOSYS);
    }

    #[test]
    fn another_architecture_is_killed() {
        // AUDIT_ARCH_I386: x86_64's `int 0x80`.
        assert_eq!(run(filter().expect("filter"), 3 | 0x4000_0000, libc::SYS_getpid, [0; 6]), libc::SECCOMP_RET_KILL_PROCESS);
    }

    #[test]
    fn the_filter_file_is_written_once_and_repaired() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_filter_file(dir.path()).expect("write");
        assert_eq!(std::fs::read(&path).expect("read"), filter().expect("filter"));
        let meta = std::fs::metadata(&path).expect("meta");
        assert_eq!(meta.permissions().mode() & 0o7777, 0o644);
        let modified = meta.modified().expect("mtime");
        assert_eq!(write_filter_file(dir.path()).expect("again"), path);
        assert_eq!(std::fs::metadata(&path).expect("meta").modified().expect("mtime"), modified);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1, "no temporary files left");

        std::fs::write(&path, b"not a filter").expect("damage");
        assert_eq!(write_filter_file(dir.path()).expect("repair"), path);
        assert_eq!(std::fs::read(&path).expect("read"), filter().expect("filter"));

        std::fs::remove_file(&path).expect("remove");
        std::os::unix::fs::symlink("/dev/zero", &path).expect("symlink");
        assert_eq!(write_filter_file(dir.path()).expect("replace symlink"), path);
        assert!(std::fs::symlink_metadata(&path).expect("meta").file_type().is_file());
        assert_eq!(std::fs::read(&path).expect("read"), filter().expect("filter"));
    }
}
