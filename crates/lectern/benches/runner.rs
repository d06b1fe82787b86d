//! The runner's costs, in one run on this machine:
//!
//! 1. hand-ins per second for the ai012 `attention` exercise (every case, visible and
//!    hidden) through the full path: inputs drawn, candle reference, sandbox, shim,
//!    outputs read back and compared;
//! 2. that full path per hand-in as a ratio to plain `python3` running the same student
//!    code on the same inputs (the shim, no sandbox, no reference; target <= 1.5);
//! 3. candle's reference attention at [4, 512, 64] f32 against numpy float32 on the same
//!    inputs, each timed inside its own process (target <= 1.0).
//!
//! The full path is timed twice: the cases alone (what plain `python3` is compared with)
//! and the whole hand-in with its behaviour checks and a grading secret.
//!
//! Run: `cargo bench -p lectern --bench runner` (needs bwrap and python3; the first run
//! makes the Python environment).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use lectern_runner::harness::{self, Cases, RunOptions};
use lectern_runner::sandbox::{Isolation, Limits, Sandbox};

const HAND_INS: usize = 12;

fn main() {
    if std::env::var_os("LECTERN_BENCH_CANDLE_ONLY").is_some() {
        candle_only();
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let loaded = lectern_lesson::load_course(&root.join("courses/ai012"));
    let exercise = &loaded.course.exercises["attention"];
    let solution = root.join("courses/ai012/exercises/attention/solution.py");
    let cache = lectern_runner::python::cache_dir();
    let python = lectern_runner::python::provision(&loaded.course.config.runner, &cache, &mut |m| eprintln!("{m}"))
        .expect("a Python environment");
    let sandbox = Sandbox::new(python.clone(), Limits::default(), Isolation::Bubblewrap).expect("bubblewrap");
    let scratch = std::env::temp_dir().join(format!("lectern-bench-runner-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch");

    // 1 and 2: the full path, hand-in after hand-in: the cases alone (what plain python3
    // is compared with), then the whole hand-in with its behaviour checks.
    let mut cases_only = exercise.clone();
    cases_only.checks.clear();
    let started = Instant::now();
    for _ in 0..HAND_INS {
        let results = harness::test_exercise(&cases_only, &solution, &sandbox, &Device::Cpu, Cases::All).expect("runs");
        assert!(results.iter().all(|r| r.verdict.passed()), "{results:?}");
    }
    let full = started.elapsed() / HAND_INS as u32;
    let options = RunOptions { cases: Cases::All, secret: Some(0x5eed) };
    let started = Instant::now();
    for _ in 0..HAND_INS {
        let results = harness::test_exercise_with(exercise, &solution, &sandbox, &Device::Cpu, &options).expect("runs");
        assert!(results.iter().all(|r| r.verdict.passed()), "{results:?}");
    }
    let with_checks = started.elapsed() / HAND_INS as u32;
    let cases = exercise.cases.len();

    // Plain python3: the same shim and student file on the same inputs, one process per
    // case, no sandbox and no work on the Rust side.
    let plain_dirs: Vec<_> = (0..cases).map(|i| scratch.join(format!("plain-{i}"))).collect();
    for (dir, case) in plain_dirs.iter().zip(&exercise.cases) {
        std::fs::create_dir_all(dir.join("in/0")).expect("mkdir");
        std::fs::copy(&solution, dir.join(&exercise.entry)).expect("copy");
        std::fs::write(dir.join("lectern_shim.py"), include_str!("../../lectern-runner/src/shim.py")).expect("shim");
        let mut names = Vec::new();
        for (name, shape) in &case.inputs {
            let t = Tensor::randn(0f32, 1.0, shape.as_slice(), &Device::Cpu).expect("randn");
            let t = if name == "mask" { t.ge(-0.5).expect("mask") } else { t };
            t.write_npy(dir.join("in/0").join(format!("{name}.npy"))).expect("npy");
            names.push(name.clone());
        }
        let args: serde_json::Map<String, serde_json::Value> =
            case.args.iter().map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default())).collect();
        let json = serde_json::json!({"entry": exercise.entry, "function": exercise.function, "calls": [{"inputs": names, "args": args}]});
        std::fs::write(dir.join("case.json"), json.to_string()).expect("case");
    }
    let started = Instant::now();
    for _ in 0..HAND_INS {
        for dir in &plain_dirs {
            let status = Command::new(python.python()).args(["-I", "-B", "lectern_shim.py"]).current_dir(dir).status().expect("python");
            assert!(status.success());
        }
    }
    let plain = started.elapsed() / HAND_INS as u32;
    println!("attention, {cases} cases a hand-in, {HAND_INS} hand-ins, one at a time:");
    println!("  full sandboxed path  {:>8.1} ms a hand-in = {:.2} hand-ins/s", ms(full), 1.0 / full.as_secs_f64());
    println!("  plain python3        {:>8.1} ms a hand-in", ms(plain));
    println!("  ratio full/plain     {:>8.2}   (target <= 1.5)", full.as_secs_f64() / plain.as_secs_f64());
    println!(
        "  with its {} behaviour checks and a grading secret: {:.1} ms a hand-in = {:.2} hand-ins/s",
        exercise.checks.len(),
        ms(with_checks),
        1.0 / with_checks.as_secs_f64()
    );

    // 3: the reference attention against numpy, each in a process of its own with the
    // same number of threads (RAYON_NUM_THREADS for candle's matmuls and softmax,
    // OPENBLAS_NUM_THREADS for numpy): one thread each, then two (the machine's cores).
    // Three rounds alternating candle and numpy, so that load from elsewhere on the
    // machine falls on both; each round's ratio is printed, and the median of the three.
    let exe = std::env::current_exe().expect("the bench's own path");
    println!("attention [4, 512, 64] f32, medians of 15 calls, each side in its own process:");
    for threads in ["1", "2"] {
        let mut ratios = Vec::new();
        for round in 1..=3 {
            let candle = Command::new(&exe).env("LECTERN_BENCH_CANDLE_ONLY", "1").env("RAYON_NUM_THREADS", threads).output().expect("candle");
            let candle_s: f64 = String::from_utf8_lossy(&candle.stdout).trim().parse().expect("a time");
            let numpy = Command::new(python.python())
                .env("OPENBLAS_NUM_THREADS", threads)
                .env("OMP_NUM_THREADS", threads)
                .args(["-c", "
import numpy as np, time
rng = np.random.default_rng(0)
q, k, v = (rng.standard_normal((4, 512, 64), dtype=np.float32) for _ in range(3))
def attention(q, k, v):
    s = q @ np.swapaxes(k, -1, -2) / np.float32(np.sqrt(q.shape[-1]))
    s = s - s.max(-1, keepdims=True)
    w = np.exp(s)
    return (w / w.sum(-1, keepdims=True)) @ v
attention(q, k, v)
ts = []
for _ in range(15):
    t = time.perf_counter(); attention(q, k, v); ts.append(time.perf_counter() - t)
ts.sort(); print(ts[len(ts) // 2])
"])
                .output()
                .expect("numpy");
            let numpy_s: f64 = String::from_utf8_lossy(&numpy.stdout).trim().parse().expect("a time");
            ratios.push(candle_s / numpy_s);
            println!(
                "  {threads} thread(s), round {round}: candle reference {:>6.2} ms, numpy float32 {:>6.2} ms, ratio {:.2}",
                candle_s * 1e3,
                numpy_s * 1e3,
                candle_s / numpy_s
            );
        }
        ratios.sort_by(f64::total_cmp);
        println!("  {threads} thread(s): ratio candle/numpy {:.2} (median of the rounds; target <= 1.0)", ratios[1]);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}

/// The candle side of 3, in its own process: prints the median seconds of 15 calls.
fn candle_only() {
    let q = Tensor::randn(0f32, 1.0, (4, 512, 64), &Device::Cpu).expect("q");
    let k = Tensor::randn(0f32, 1.0, (4, 512, 64), &Device::Cpu).expect("k");
    let v = Tensor::randn(0f32, 1.0, (4, 512, 64), &Device::Cpu).expect("v");
    let attention = || lectern_runner::reference::scaled_dot_product_attention(&q, &k, &v, None).expect("attention");
    std::hint::black_box(attention());
    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(attention());
            t.elapsed()
        })
        .collect();
    times.sort();
    println!("{}", times[times.len() / 2].as_secs_f64());
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
