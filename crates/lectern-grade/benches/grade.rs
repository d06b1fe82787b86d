//! The grader's throughput, in one run on this machine:
//!
//! 1. 10,000 generated ai012 hand-ins of quiz and challenge answers (no code): hand-ins
//!    per second through the whole batch — reading the folders, grading, one gradebook
//!    transaction per hand-in, and writing every export (CSV, 10,000 results.json,
//!    report.html) — and the process's peak memory while grading (target >= 5,000/s on 2
//!    cores);
//! 2. then a rerun of the same batch (nothing changed: every hand-in is skipped);
//! 3. the cost of sharding: 1,000 of those hand-ins graded as 1, 2, 4 and 8 shards (the
//!    shards one after another on this machine, as `--shard K/N` runs on N machines
//!    would each be), then merged; per N, the shards' total and mean time, the overhead
//!    per shard against one run, and the merge's time.
//!
//! Code grading (the sandbox) is measured by `cargo bench -p lectern --bench grade_speed`,
//! against the pytest baseline.
//!
//! Run: `cargo bench -p lectern-grade --bench grade` (`LECTERN_BENCH_DIR=/dev/shm` runs on
//! a RAM disk).

use std::path::Path;
use std::time::Instant;

use lectern_grade::{BatchOptions, CodeRunner, Progress};
use lectern_lesson::model::Exercise;

const QUIZ_HAND_INS: usize = 10_000;

/// For the quiz-only batch: no hand-in has code, so nothing may be run.
struct NoCode;

impl CodeRunner for NoCode {
    fn run(&self, _: &Exercise, _: &[u8]) -> Result<Vec<lectern_grade::CaseOutcome>, String> {
        Err("no code runs in this benchmark".into())
    }
    fn fingerprint(&self) -> String {
        "none".into()
    }
}

const STEP1: [&str; 5] = [
    "The encoder has to run the entire long input, and cross-attention in the decoder attends over all of it at every step.",
    "A decoder-only model keeps prompt and output in a single stack, and the KV cache makes long contexts cheap.",
    "編碼器必須處理整個長輸入,解碼器每一步都要做交叉注意力。",
    "It is slow.",
    "FlashAttention and a KV cache; encoding twice is wasteful.",
];
const STEP2: [&str; 4] = [
    "Scaling laws: predictable gains as parameters and data grow, with emergent abilities and zero-shot use.",
    "規模定律與湧現能力,還有零樣本。",
    "Because GPT is popular.",
    "",
];

fn generate(dir: &Path, n: usize) {
    for i in 0..n {
        let d = dir.join(format!("s{i:05}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        let q1 = ["A", "A", "B", "A", "C", "D", "A"][i % 7];
        let q2 = ["C", "A", "C", "B", "D"][i % 5];
        let text = format!(
            "student = \"s{i:05}\"\n[lessons.02-llm-architectures.quiz]\nq1 = \"{q1}\"\nq2 = \"{q2}\"\n[lessons.02-llm-architectures.challenge.bottleneck]\nstep1 = \"{}\"\nstep2 = \"{}\"\n",
            STEP1[i % STEP1.len()],
            STEP2[i % STEP2.len()]
        );
        std::fs::write(d.join("answers.toml"), text).expect("write");
    }
}

/// Peak resident memory of this process (VmHWM), in MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok()).map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let loaded = lectern_lesson::load_course(&root.join("courses/ai012"));
    assert!(!loaded.has_errors(), "ai012 must load");
    let course = &loaded.course;
    // LECTERN_BENCH_DIR puts the hand-ins and outputs elsewhere (e.g. /dev/shm, to see
    // what is the disk's share of the time).
    let base = std::env::var_os("LECTERN_BENCH_DIR").map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let tmp = base.join(format!("lectern-bench-grade-{}", std::process::id()));
    println!("hand-ins and outputs under {}", base.display());
    let _ = std::fs::remove_dir_all(&tmp);
    let (subs, out) = (tmp.join("submissions"), tmp.join("out"));
    generate(&subs, QUIZ_HAND_INS);
    let before = peak_mib();
    // Reset the high-water mark so that it measures grading, not generating.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let options = BatchOptions { jobs: 2, ..BatchOptions::default() };
    let quiet = |_: Progress| {};
    let started = Instant::now();
    let summary = lectern_grade::grade_batch(course, &subs, &out, &options, &NoCode, None, &quiet).expect("grades");
    let first = started.elapsed();
    let peak = peak_mib();
    assert_eq!(summary.graded, QUIZ_HAND_INS);
    let started = Instant::now();
    let again = lectern_grade::grade_batch(course, &subs, &out, &options, &NoCode, None, &quiet).expect("grades");
    let rerun = started.elapsed();
    assert_eq!(again.unchanged, QUIZ_HAND_INS);
    println!("quiz and challenge hand-ins: {QUIZ_HAND_INS}, --jobs 2");
    println!("  first batch: {:.2} s = {:.0} hand-ins/s (target >= 5000), peak memory {peak:.1} MiB (before: {before:.1} MiB)", first.as_secs_f64(), QUIZ_HAND_INS as f64 / first.as_secs_f64());
    println!(
        "    of which reading and grading into the gradebook {:.2} s ({:.0}/s), writing the exports {:.2} s",
        summary.grading.as_secs_f64(),
        QUIZ_HAND_INS as f64 / summary.grading.as_secs_f64(),
        summary.exporting.as_secs_f64()
    );
    println!("  rerun, nothing changed: {:.2} s = {:.0} hand-ins/s", rerun.as_secs_f64(), QUIZ_HAND_INS as f64 / rerun.as_secs_f64());
    // The floor under the exports: the file system making 10,000 folders with one file
    // of a results.json's size each, in two threads as the exports do, on the same disk.
    let floor_dir = tmp.join("floor");
    let body = std::fs::read(out.join("students/s00000/results.json")).expect("a results.json");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for half in 0..2 {
            let (floor_dir, body) = (&floor_dir, &body);
            scope.spawn(move || {
                for i in (half..QUIZ_HAND_INS).step_by(2) {
                    let d = floor_dir.join(format!("s{i:05}"));
                    std::fs::create_dir_all(&d).expect("mkdir");
                    std::fs::write(d.join("results.json"), body).expect("write");
                }
            });
        }
    });
    let floor = started.elapsed();
    println!(
        "  file-system floor: 10,000 folders with one {}-byte file each in {:.2} s; the exports took {:.2}x that",
        body.len(),
        floor.as_secs_f64(),
        summary.exporting.as_secs_f64() / floor.as_secs_f64()
    );

    sharding(course, &tmp);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Part 3: 1,000 hand-ins in 1, 2, 4 and 8 shards, each shard as its own batch, then the
/// merge (best of 3 for each figure).
fn sharding(course: &lectern_lesson::model::Course, tmp: &Path) {
    const N: usize = 1000;
    let subs = tmp.join("sharding-subs");
    generate(&subs, N);
    let quiet = |_: Progress| {};
    println!("sharding {N} quiz and challenge hand-ins, --jobs 2 per shard (best of 3):");
    println!("  | shards | sum of the shards | slowest shard | merge | on N machines (slowest + merge) | extra work over one run | extra per shard |");
    println!("  |---:|---:|---:|---:|---:|---:|---:|");
    let mut single = 0.0;
    for count in [1u32, 2, 4, 8] {
        let round = || -> (f64, f64, f64) {
            let run = tmp.join(format!("sharding-{count}"));
            let _ = std::fs::remove_dir_all(&run);
            let started = Instant::now();
            let mut slowest = 0.0f64;
            let mut dirs = Vec::new();
            if count == 1 {
                let options = BatchOptions { jobs: 2, ..BatchOptions::default() };
                lectern_grade::grade_batch(course, &subs, &run.join("all"), &options, &NoCode, None, &quiet).expect("grades");
            } else {
                for index in 1..=count {
                    let dir = run.join(format!("{index}-of-{count}"));
                    let options = BatchOptions { jobs: 2, shard: Some(lectern_grade::Shard { index, count }), database_only: true, ..BatchOptions::default() };
                    let one = Instant::now();
                    lectern_grade::grade_batch(course, &subs, &dir, &options, &NoCode, None, &quiet).expect("grades a shard");
                    slowest = slowest.max(one.elapsed().as_secs_f64());
                    dirs.push(dir);
                }
            }
            let shards_s = started.elapsed().as_secs_f64();
            let mut merge_s = 0.0;
            if count > 1 {
                let merging = Instant::now();
                lectern_grade::merge_shards(&dirs, &run.join("all"), None, lectern_grade::similarity::DEFAULT_THRESHOLD).expect("merges");
                merge_s = merging.elapsed().as_secs_f64();
            }
            (shards_s, if count == 1 { shards_s } else { slowest }, merge_s)
        };
        // The round with the least total time.
        let (shards_s, slowest, merge_s) = (0..3).map(|_| round()).min_by(|a, b| (a.0 + a.2).total_cmp(&(b.0 + b.2))).expect("three rounds");
        let total = shards_s + merge_s;
        if count == 1 {
            single = total;
        }
        let extra = total - single;
        let dash = |s: String| if count == 1 { "—".to_string() } else { s };
        println!(
            "  | {count} | {shards_s:.3} s | {slowest:.3} s | {} | {:.3} s | {} | {} |",
            dash(format!("{merge_s:.3} s")),
            slowest + merge_s,
            dash(format!("{extra:+.3} s")),
            dash(format!("{:+.3} s", extra / f64::from(count)))
        );
    }
}
