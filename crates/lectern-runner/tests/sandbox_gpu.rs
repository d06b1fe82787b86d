//! GPU passthrough of the sandbox, as far as a machine without a GPU can check it: the
//! device nodes found under a root (a temporary folder with fake `nvidia*` files here),
//! the library folders, the memory limit switched from RLIMIT_AS to RLIMIT_DATA, a
//! process limit that CUDA's threads fit in, and nothing passed through without `gpu`;
//! then, for real, a memory hog under the GPU limits is still stopped, through the
//! harness, with the `memory-limit` verdict.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use candle_core::Device;
use lectern_runner::harness::{self, Cases, RunOptions, Verdict};
use lectern_runner::python::PythonEnv;
use lectern_runner::sandbox::{GpuPaths, Isolation, Limits, Sandbox, GPU_PROCESSES};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lectern-gpu-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp");
    dir
}

/// A machine's root with fake NVIDIA device nodes (plain files) and driver folders.
fn fake_root() -> PathBuf {
    let root = temp("root");
    std::fs::create_dir_all(root.join("dev/nvidia-caps")).expect("dev");
    for name in ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset", "null", "nvidia-caps/nvidia-cap1", "nvidia-caps/nvidia-cap2"] {
        std::fs::write(root.join("dev").join(name), b"").expect("node");
    }
    std::fs::create_dir_all(root.join("usr/local/nvidia/lib64")).expect("lib64");
    root
}

fn sandbox(gpu: bool) -> Sandbox {
    let python = PythonEnv { venv: PathBuf::from("/opt/venv"), base_prefix: PathBuf::from("/usr"), info: Default::default() };
    Sandbox { python, limits: Limits { gpu, ..Limits::default() }, isolation: Isolation::Bubblewrap }
}

fn strings(args: &[OsString]) -> Vec<String> {
    args.iter().map(|a| a.to_string_lossy().into_owned()).collect()
}

/// Whether `args` holds `window` as consecutive items.
fn has(args: &[String], window: &[&str]) -> bool {
    args.windows(window.len()).any(|w| w.iter().zip(window).all(|(a, b)| a == b))
}

#[test]
fn device_nodes_and_library_folders_are_found_under_a_root() {
    let root = fake_root();
    let found = GpuPaths::discover(&root);
    let devices: Vec<(String, String)> =
        found.devices.iter().map(|(s, t)| (s.strip_prefix(&root).expect("under root").display().to_string(), t.display().to_string())).collect();
    let expected: Vec<(String, String)> = ["nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1", "nvidiactl", "nvidia-caps/nvidia-cap1", "nvidia-caps/nvidia-cap2"]
        .iter()
        .map(|n| (format!("dev/{n}"), format!("/dev/{n}")))
        .collect();
    assert_eq!(devices, expected, "nvidia-modeset and null are not passed");
    assert_eq!(found.libraries, vec![(root.join("usr/local/nvidia/lib64"), PathBuf::from("/usr/local/nvidia/lib64"))]);

    // Nothing there, nothing found (and no error).
    let empty = temp("empty");
    assert_eq!(GpuPaths::discover(&empty), GpuPaths::default());
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&empty);
}

#[test]
fn a_gpu_run_binds_the_nodes_and_limits_data_instead_of_address_space() {
    let root = fake_root();
    let found = GpuPaths::discover(&root);
    let scratch = Path::new("/tmp/scratch");
    let gpu = strings(&sandbox(true).bwrap_args(scratch, &["shim.py"], &found));
    for name in ["nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-caps/nvidia-cap1"] {
        let source = root.join("dev").join(name).display().to_string();
        assert!(has(&gpu, &["--dev-bind", &source, &format!("/dev/{name}")]), "{name}: {gpu:?}");
    }
    let lib = root.join("usr/local/nvidia/lib64").display().to_string();
    assert!(has(&gpu, &["--ro-bind", &lib, "/usr/local/nvidia/lib64"]), "{gpu:?}");
    assert!(has(&gpu, &["--setenv", "LD_LIBRARY_PATH", "/usr/local/nvidia/lib64"]), "{gpu:?}");
    let limits = Limits::default();
    assert!(gpu.contains(&format!("--data={}", limits.memory_bytes)), "{gpu:?}");
    assert!(!gpu.iter().any(|a| a.starts_with("--as=")), "{gpu:?}");
    assert!(gpu.contains(&format!("--nproc={}", limits.processes.max(GPU_PROCESSES))), "{gpu:?}");
    // What holds in every run holds here too.
    for kept in [&["--unshare-net"][..], &["--unshare-pid"], &["--clearenv"], &["--bind", "/tmp/scratch", "/work"], &["--reuid=65534"], &["--cpu=10"]] {
        assert!(has(&gpu, kept), "{kept:?}: {gpu:?}");
    }
    assert!(!gpu.iter().any(|a| a == "/dev/nvidia-modeset"));

    // Without `gpu`, the same paths pass nothing through.
    let plain = strings(&sandbox(false).bwrap_args(scratch, &["shim.py"], &found));
    assert!(!plain.iter().any(|a| a == "--dev-bind" || a.contains("nvidia") || a == "LD_LIBRARY_PATH"), "{plain:?}");
    assert!(plain.contains(&format!("--as={}", limits.memory_bytes)) && !plain.iter().any(|a| a.starts_with("--data=")), "{plain:?}");
    assert!(plain.contains(&format!("--nproc={}", limits.processes)), "{plain:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_memory_hog_is_still_stopped_under_the_gpu_limits() {
    if lectern_runner::sandbox::probe().is_err() {
        eprintln!("skipped: no bubblewrap");
        return;
    }
    let loaded = lectern_lesson::load_course(&root().join("tests/fixtures/runner/course"));
    let exercise = &loaded.course.exercises["attention"];
    let cache = lectern_runner::python::cache_dir();
    let python = lectern_runner::python::provision(&loaded.course.config.runner, &cache, &mut |m| eprintln!("{m}")).expect("python");
    let limits = Limits { gpu: true, memory_bytes: 1 << 30, cpu_seconds: 20, wall: std::time::Duration::from_secs(30), ..Limits::default() };
    let sandbox = Sandbox::new(python, limits, Isolation::Bubblewrap).expect("sandbox");
    let scratch = temp("scratch");

    // The limits the code runs under, as the kernel sees them.
    let limits_py = scratch.join("limits.py");
    std::fs::write(&limits_py, "print(open('/proc/self/limits').read())\n").expect("script");
    let work = temp("work");
    std::fs::copy(&limits_py, work.join("limits.py")).expect("copy");
    std::fs::set_permissions(&work, std::os::unix::fs::PermissionsExt::from_mode(0o777)).expect("perms");
    let run = sandbox.run_python(&work, &["limits.py"]).expect("runs");
    let line = |name: &str| run.stdout.lines().find(|l| l.starts_with(name)).unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(line("Max data size").contains(&(1u64 << 30).to_string()), "{}{}", run.stdout, run.stderr);
    assert!(line("Max address space").contains("unlimited"), "{}", run.stdout);
    assert!(line("Max processes").contains(&GPU_PROCESSES.to_string()), "{}", run.stdout);

    // A hog through the harness: the memory-limit verdict, as without a GPU.
    let hog = root().join("tests/fixtures/runner/hostile/memory_hog.py");
    let options = RunOptions { cases: Cases::Visible, secret: None };
    let started = std::time::Instant::now();
    let results = harness::test_exercise_with(exercise, &hog, &sandbox, &Device::Cpu, &options).expect("runs");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].verdict, Verdict::MemoryLimit, "{results:#?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(25), "stopped by the wall clock, not by memory");

    // And the right answer still passes under those limits.
    let solution = root().join("tests/fixtures/runner/course/exercises/attention/solution.py");
    let results = harness::test_exercise_with(exercise, &solution, &sandbox, &Device::Cpu, &options).expect("runs");
    assert!(results.iter().all(|r| r.verdict.passed()), "{results:#?}");
    let _ = std::fs::remove_dir_all(&scratch);
    let _ = std::fs::remove_dir_all(&work);
}
