//! `lectern grade` against a pytest autograder on the same 20 hand-ins, driving the built
//! `lectern` binary from outside (nothing of the crate is linked in):
//!
//! 1. speed: the 20 `attention.py` hand-ins of the shared baseline (17 right, s18–s20
//!    wrong), graded by the baseline (`sh grade_all.sh`: one pytest process per hand-in,
//!    8 parametrized tests, no sandbox) and by `lectern grade` on the like-for-like
//!    one-exercise course (same 8 cases, f64), with `--jobs 1` and `--jobs 2`. R rounds
//!    (`LECTERN_BENCH_ROUNDS`, default 3) alternate the three, each Lectern run into a
//!    new `--out` folder so that no gradebook is reused and every hand-in really runs.
//!    It reports the medians, lectern(jobs 1)/pytest (target <= 0.5) and the speed-up
//!    of jobs 2 over jobs 1 (target >= 1.7);
//! 2. an endless loop (`while True: pass`) graded alone with `--time-limit 2`: its wall
//!    time in units of T, less the time of one correct hand-in graded alone (process
//!    and sandbox start; target <= 1.5 T);
//! 3. the grader's peak memory for hand-ins that return 1 MiB, 64 MiB and 200 MiB of
//!    float64 (the wrong shape: the grader must read them within bounds): `lectern`'s
//!    own VmHWM, polled from /proc, and GNU time's %M (`/usr/bin/time`, Debian's `time`)
//!    when present, which also counts the children it reaps (target: roughly flat,
//!    largest <= 1.5 x smallest).
//!
//! Every Lectern run's gradebook.csv is checked (17 at full marks, s18–s20 not; the
//! loop and the big outputs at 0), and the baseline's exit codes too: the bench exits
//! non-zero when a check fails; a speed or memory target missed only prints MISS.
//!
//! The Python environment that Lectern makes is cached in one folder for the whole run,
//! Lectern's usual one (`$LECTERN_CACHE_DIR`, else `$XDG_CACHE_HOME/lectern`, else
//! `~/.cache/lectern`), and made, if it is not there yet, by an untimed first grade. Not
//! under `target/`: the sandbox mounts its own `/work` over the host's, so a venv under
//! a workspace in `/work` does not start there. The baseline's Python (numpy, pytest)
//! is a venv made once under `target/bench-venv`.
//!
//! Run: `cargo bench -p lectern --bench grade_speed` (`LECTERN_BENCH_ROUNDS=1` for a
//! quick look). Needs python3 (with venv and pip, and the package index the first
//! time), bwrap, and the project's shared `bench` folder (README.md,
//! autograder_baseline/, grade-speed/): `$LECTERN_BENCH_DIR`, else `../shared/bench`
//! next to the workspace.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const HAND_INS: usize = 20;
const WRONG: [&str; 3] = ["s18", "s19", "s20"];
const LOOP_LIMIT_S: u64 = 2;
/// (label, float64 values returned): 1 MiB, 64 MiB and 200 MiB.
const BIG_OUTPUTS: [(&str, usize); 3] = [("1 MiB", 131_072), ("64 MiB", 8_388_608), ("200 MiB", 26_214_400)];

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bench = bench_dir(&root);
    let lectern = PathBuf::from(env!("CARGO_BIN_EXE_lectern"));
    let target = lectern.parent().and_then(Path::parent).map_or_else(|| root.join("target"), Path::to_path_buf);
    let rounds: usize = match std::env::var("LECTERN_BENCH_ROUNDS") {
        Ok(r) => r.trim().parse().ok().filter(|&r| r > 0).unwrap_or_else(|| fatal(&format!("LECTERN_BENCH_ROUNDS={r}: not a positive number"))),
        Err(_) => 3,
    };
    let cache = lectern_cache_dir();
    let work = std::env::temp_dir().join(format!("lectern-bench-grade-speed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    mkdir(&work);
    let python = baseline_venv(&target.join("bench-venv"));
    let course = bench.join("grade-speed/course");
    let grade_all = bench.join("autograder_baseline/grade_all.sh");
    let originals = bench.join("autograder_baseline/submissions");
    let lectern = Lectern { exe: lectern, cache: cache.clone(), course };
    let mut failures: Vec<String> = Vec::new();

    // SUBS/sNN/attention.py, the 20 hand-ins; and s01 alone, for the warm-up and for the
    // start-up time the endless loop is measured against.
    let subs = work.join("subs");
    for i in 1..=HAND_INS {
        let id = format!("s{i:02}");
        let from = originals.join(&id).join("attention.py");
        mkdir(&subs.join(&id));
        std::fs::copy(&from, subs.join(&id).join("attention.py")).unwrap_or_else(|e| fatal(&format!("{}: {e}", from.display())));
    }
    let one = work.join("one");
    mkdir(&one.join("s01"));
    std::fs::copy(subs.join("s01/attention.py"), one.join("s01/attention.py")).unwrap_or_else(|e| fatal(&format!("copy s01: {e}")));

    println!("lectern: {}", lectern.exe.display());
    println!("bench inputs: {}; Lectern's Python cache: {}; work: {}", bench.display(), cache.display(), work.display());
    println!("warming up (untimed): Lectern's Python environment (made on first use), the baseline's imports");
    let warm = lectern.grade(&one, &work.join("out-warm"), 1, &[]);
    if !warm.status.success() {
        fatal(&format!("the warm-up `lectern grade` failed: see {}", warm.log.display()));
    }
    let _ = baseline(&grade_all, &python);

    // 1: R rounds alternating the baseline, jobs 1 and jobs 2.
    let (mut pytest, mut jobs1, mut jobs2) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (wall, rcs) = baseline(&grade_all, &python);
        pytest.push(wall.as_secs_f64());
        check(&mut failures, &format!("round {round} pytest baseline"), check_baseline(&rcs));
        for (jobs, times) in [(1, &mut jobs1), (2, &mut jobs2)] {
            let out = work.join(format!("out-r{round}-j{jobs}"));
            let run = lectern.grade(&subs, &out, jobs, &[]);
            times.push(run.wall.as_secs_f64());
            check(&mut failures, &format!("round {round} lectern --jobs {jobs}"), run.ok().and_then(|()| check_twenty(&out)));
        }
        println!(
            "round {round}/{rounds}: pytest {:.2} s, lectern --jobs 1 {:.2} s, lectern --jobs 2 {:.2} s",
            pytest[round - 1],
            jobs1[round - 1],
            jobs2[round - 1]
        );
    }

    // 2: the endless loop, against one correct hand-in graded alone.
    let alone = lectern.grade(&one, &work.join("out-one"), 1, &[]);
    check(&mut failures, "s01 graded alone", alone.ok().and_then(|()| expect_score(&work.join("out-one"), "s01", Score::Full)));
    let looping = work.join("loop");
    mkdir(&looping.join("s01"));
    write(&looping.join("s01/attention.py"), "def attention(q, k, v, causal=False):\n    while True: pass\n");
    let limit = LOOP_LIMIT_S.to_string();
    let endless = lectern.grade(&looping, &work.join("out-loop"), 1, &["--time-limit", &limit]);
    check(&mut failures, "endless loop", endless.ok().and_then(|()| expect_score(&work.join("out-loop"), "s01", Score::Zero)));

    // 3: peak memory of the grader for big (wrong-shaped) outputs.
    let gnu_time = Path::new("/usr/bin/time").is_file();
    let mut memory = Vec::new();
    for (label, n) in BIG_OUTPUTS {
        let dir = work.join(format!("big-{n}"));
        mkdir(&dir.join("s01"));
        write(
            &dir.join("s01/attention.py"),
            &format!("import numpy as np\n\n\ndef attention(q, k, v, causal=False):\n    return np.zeros(({n},), dtype=np.float64)\n"),
        );
        let out = work.join(format!("out-big-{n}"));
        let polled = lectern.grade_polled(&dir, &out);
        check(&mut failures, &format!("{label} output"), polled.ok().and_then(|()| expect_score(&out, "s01", Score::Zero)));
        let timed = gnu_time.then(|| {
            let out = work.join(format!("out-big-{n}-time"));
            let run = lectern.grade_gnu_time(&dir, &out);
            check(&mut failures, &format!("{label} output (under /usr/bin/time)"), run.ok().and_then(|()| expect_score(&out, "s01", Score::Zero)));
            run.peak_kb
        });
        memory.push((label, polled.peak_kb, timed.flatten()));
    }

    // The report.
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let (p, j1, j2) = (median(&pytest), median(&jobs1), median(&jobs2));
    let per = |s: f64| s / HAND_INS as f64;
    let list = |v: &[f64]| v.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(" ");
    println!();
    println!("grade_speed: {HAND_INS} hand-ins of `attention` (8 cases each), {rounds} round(s) alternating; {cores} core(s)");
    println!("  {:<34} {:>9} {:>12}   rounds (s)", "", "median", "per hand-in");
    println!("  {:<34} {:>7.2} s {:>10.3} s   {}", "pytest baseline (grade_all.sh)", p, per(p), list(&pytest));
    println!("  {:<34} {:>7.2} s {:>10.3} s   {}", "lectern grade --jobs 1", j1, per(j1), list(&jobs1));
    println!("  {:<34} {:>7.2} s {:>10.3} s   {}", "lectern grade --jobs 2", j2, per(j2), list(&jobs2));
    let loop_wall = endless.wall.as_secs_f64();
    let start = alone.wall.as_secs_f64();
    let t = LOOP_LIMIT_S as f64;
    println!("  endless loop alone, --time-limit {LOOP_LIMIT_S}: {loop_wall:.2} s = {:.2} T; one correct hand-in alone: {start:.2} s", loop_wall / t);
    println!("  grader peak RSS, one hand-in returning float64 zeros of the wrong shape:");
    println!("    {:<10} {:>22} {:>36}", "output", "lectern (VmHWM polled)", "/usr/bin/time %M (+ reaped children)");
    for (label, polled, timed) in &memory {
        println!("    {:<10} {:>22} {:>36}", label, mib(*polled), mib(*timed));
    }
    println!();
    println!("targets:");
    target_line("lectern(jobs 1) / pytest", j1 / p, "<= 0.5", j1 / p <= 0.5);
    target_line(&format!("speed-up jobs 1 / jobs 2 ({cores} cores)"), j1 / j2, ">= 1.7", j1 / j2 >= 1.7);
    let over = (loop_wall - start) / t;
    target_line("endless loop: (wall - one hand-in) / T", over, "<= 1.5", over <= 1.5);
    // Flatness on lectern's own peak when it could be polled, else on GNU time's.
    let peaks: Vec<u64> = memory.iter().filter_map(|(_, p, _)| *p).collect();
    let peaks = if peaks.len() == memory.len() { peaks } else { memory.iter().filter_map(|(_, _, t)| *t).collect() };
    if peaks.len() == memory.len() {
        let (lo, hi) = (peaks.iter().min().copied().unwrap_or(1).max(1), peaks.iter().max().copied().unwrap_or(0));
        let ratio = hi as f64 / lo as f64;
        target_line("grader peak RSS largest / smallest", ratio, "<= 1.5", ratio <= 1.5);
    } else {
        println!("  {:<44} not measured (no /proc and no /usr/bin/time)", "grader peak RSS largest / smallest");
    }
    println!();
    if failures.is_empty() {
        println!("grading checks: all passed (baseline 17 pass / 3 fail each round; lectern 17 at full marks, s18–s20 not; loop and big outputs at 0)");
        let _ = std::fs::remove_dir_all(&work);
        ExitCode::SUCCESS
    } else {
        println!("grading checks FAILED ({}), work kept in {}:", failures.len(), work.display());
        for f in &failures {
            println!("  {f}");
        }
        ExitCode::FAILURE
    }
}

/// The shared bench folder: `$LECTERN_BENCH_DIR`, else `<workspace>/../shared/bench`.
fn bench_dir(root: &Path) -> PathBuf {
    let dir = std::env::var_os("LECTERN_BENCH_DIR").map_or_else(|| root.join("../shared/bench"), PathBuf::from);
    let needed = ["grade-speed/course/course.toml", "autograder_baseline/grade_all.sh", "autograder_baseline/submissions/s20/attention.py"];
    if let Some(missing) = needed.iter().find(|p| !dir.join(p).is_file()) {
        fatal(&format!(
            "no benchmark inputs at {} ({missing} is missing). They are not in this repository: they are the \
             project's shared `bench` folder (README.md, autograder_baseline/ with its 20 submissions, \
             grade-speed/course/), which the project's checkout keeps in `shared/bench` next to the \
             workspace. Put a copy there, or point LECTERN_BENCH_DIR at it: \
             LECTERN_BENCH_DIR=/path/to/bench cargo bench -p lectern --bench grade_speed",
            dir.display()
        ));
    }
    std::fs::canonicalize(&dir).unwrap_or(dir)
}

/// Lectern's own choice of cache folder, made explicit so that every run shares it.
fn lectern_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LECTERN_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("lectern");
    }
    std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from).join(".cache/lectern")
}

/// A venv with numpy and pytest for the baseline, made once.
fn baseline_venv(dir: &Path) -> PathBuf {
    let python = dir.join("bin/python");
    let ready = |py: &Path| Command::new(py).args(["-c", "import numpy, pytest"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if ready(&python) {
        return python;
    }
    println!("making the baseline's Python (numpy, pytest) in {} (first run only)", dir.display());
    let _ = std::fs::remove_dir_all(dir);
    let made = Command::new("python3").arg("-m").arg("venv").arg(dir).status().is_ok_and(|s| s.success())
        && Command::new(&python).args(["-m", "pip", "install", "--quiet", "numpy", "pytest"]).status().is_ok_and(|s| s.success());
    if !made || !ready(&python) {
        fatal(&format!(
            "could not make {}: needs python3 with venv and pip, and the package index (`python3 -m venv {0} && {0}/bin/pip install numpy pytest`)",
            dir.display()
        ));
    }
    python
}

/// One run of `sh grade_all.sh`: its wall time and each hand-in's pytest exit code.
fn baseline(grade_all: &Path, python: &Path) -> (Duration, BTreeMap<String, i32>) {
    let started = Instant::now();
    let out = Command::new("sh")
        .arg(grade_all)
        .env("PY", python)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| fatal(&format!("sh {}: {e}", grade_all.display())));
    let wall = started.elapsed();
    let rcs = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (id, rc) = l.trim().split_once(" rc=")?;
            Some((id.to_string(), rc.parse().ok()?))
        })
        .collect();
    (wall, rcs)
}

fn check_baseline(rcs: &BTreeMap<String, i32>) -> Result<(), String> {
    if rcs.len() != HAND_INS {
        return Err(format!("{} hand-ins graded, expected {HAND_INS}", rcs.len()));
    }
    for (id, rc) in rcs {
        let wrong = WRONG.contains(&id.as_str());
        if wrong == (*rc == 0) {
            return Err(format!("{id}: pytest exit code {rc}, expected {}", if wrong { "a failure" } else { "0" }));
        }
    }
    Ok(())
}

struct Lectern {
    exe: PathBuf,
    cache: PathBuf,
    course: PathBuf,
}

struct Run {
    wall: Duration,
    status: ExitStatus,
    log: PathBuf,
    peak_kb: Option<u64>,
}

impl Run {
    fn ok(&self) -> Result<(), String> {
        if self.status.success() { Ok(()) } else { Err(format!("lectern grade failed ({}): see {}", self.status, self.log.display())) }
    }
}

impl Lectern {
    /// `[WRAPPER...] lectern grade COURSE SUBS --out OUT --jobs N --device cpu EXTRA...`,
    /// its output going to OUT.log.
    fn command(&self, wrapper: &[&OsStr], subs: &Path, out: &Path, jobs: usize, extra: &[&str]) -> (Command, PathBuf) {
        assert!(!out.exists(), "{} exists: every run grades into a new folder", out.display());
        let log = out.with_extension("log");
        let file = File::create(&log).unwrap_or_else(|e| fatal(&format!("{}: {e}", log.display())));
        let err = file.try_clone().unwrap_or_else(|e| fatal(&format!("{}: {e}", log.display())));
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&self.exe);
                cmd
            }
            None => Command::new(&self.exe),
        };
        cmd.arg("grade")
            .arg(&self.course)
            .arg(subs)
            .arg("--out")
            .arg(out)
            .args(["--jobs", &jobs.to_string(), "--device", "cpu"])
            .args(extra)
            .env("LECTERN_CACHE_DIR", &self.cache)
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err);
        (cmd, log)
    }

    fn grade(&self, subs: &Path, out: &Path, jobs: usize, extra: &[&str]) -> Run {
        let (mut cmd, log) = self.command(&[], subs, out, jobs, extra);
        let started = Instant::now();
        let status = cmd.status().unwrap_or_else(|e| fatal(&format!("{}: {e}", self.exe.display())));
        Run { wall: started.elapsed(), status, log, peak_kb: None }
    }

    /// Graded with `--jobs 1`, polling lectern's own high-water mark (VmHWM) meanwhile.
    fn grade_polled(&self, subs: &Path, out: &Path) -> Run {
        let (mut cmd, log) = self.command(&[], subs, out, 1, &[]);
        let started = Instant::now();
        let mut child = cmd.spawn().unwrap_or_else(|e| fatal(&format!("{}: {e}", self.exe.display())));
        let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
        let mut peak_kb = None;
        let status = loop {
            // VmHWM only grows, so the last reading before exit is the peak (short of
            // the last two milliseconds).
            if let Some(kb) = std::fs::read_to_string(&status_file).ok().as_deref().and_then(vm_hwm_kb) {
                peak_kb = Some(peak_kb.map_or(kb, |p: u64| p.max(kb)));
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(Duration::from_millis(2)),
                Err(e) => fatal(&format!("waiting for lectern: {e}")),
            }
        };
        Run { wall: started.elapsed(), status, log, peak_kb }
    }

    /// Graded with `--jobs 1` under GNU time: %M, the peak of lectern and of any child it
    /// reaps, whichever is larger.
    fn grade_gnu_time(&self, subs: &Path, out: &Path) -> Run {
        let report = out.with_extension("time");
        let wrapper = [OsStr::new("/usr/bin/time"), OsStr::new("-f"), OsStr::new("%M"), OsStr::new("-o"), report.as_os_str()];
        let (mut cmd, log) = self.command(&wrapper, subs, out, 1, &[]);
        let started = Instant::now();
        let status = cmd.status().unwrap_or_else(|e| fatal(&format!("/usr/bin/time: {e}")));
        let wall = started.elapsed();
        // With a failing command GNU time writes "Command exited with non-zero status N" first.
        let peak_kb = std::fs::read_to_string(&report).ok().and_then(|s| s.lines().last().and_then(|l| l.trim().parse().ok()));
        Run { wall, status, log, peak_kb }
    }
}

fn vm_hwm_kb(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()
}

/// gradebook.csv: the points possible and each student's final points.
fn gradebook(out: &Path) -> Result<(f64, BTreeMap<String, f64>), String> {
    let path = out.join("gradebook.csv");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = header.iter().position(|h| *h == "Final Points").ok_or_else(|| format!("{}: no `Final Points` column", path.display()))?;
    let mut possible = None;
    let mut scores = BTreeMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(name), Some(points)) = (fields.first(), fields.get(col)) else { continue };
        let points: f64 = points.trim().parse().map_err(|_| format!("{}: `{points}` for {name}", path.display()))?;
        if *name == "Points Possible" {
            possible = Some(points);
        } else {
            scores.insert((*name).to_string(), points);
        }
    }
    Ok((possible.ok_or_else(|| format!("{}: no `Points Possible` row", path.display()))?, scores))
}

fn check_twenty(out: &Path) -> Result<(), String> {
    let (possible, scores) = gradebook(out)?;
    if scores.len() != HAND_INS {
        return Err(format!("{} students in the gradebook, expected {HAND_INS}", scores.len()));
    }
    let full: Vec<&String> = scores.iter().filter(|(_, p)| **p >= possible).map(|(id, _)| id).collect();
    let expected: Vec<String> = (1..=HAND_INS).map(|i| format!("s{i:02}")).filter(|id| !WRONG.contains(&id.as_str())).collect();
    if full.len() != expected.len() || full.iter().zip(&expected).any(|(a, b)| *a != b) {
        return Err(format!("full marks for {full:?}, expected s01–s17 only; scores {scores:?} of {possible}"));
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum Score {
    Full,
    Zero,
}

fn expect_score(out: &Path, id: &str, want: Score) -> Result<(), String> {
    let (possible, scores) = gradebook(out)?;
    let got = *scores.get(id).ok_or_else(|| format!("{id} is not in {}", out.join("gradebook.csv").display()))?;
    let right = match want {
        Score::Full => got >= possible,
        Score::Zero => got == 0.0,
    };
    if right { Ok(()) } else { Err(format!("{id}: {got} of {possible} points, expected {want:?}")) }
}

fn check(failures: &mut Vec<String>, what: &str, result: Result<(), String>) {
    if let Err(e) = result {
        println!("CHECK FAILED: {what}: {e}");
        failures.push(format!("{what}: {e}"));
    }
}

fn target_line(what: &str, value: f64, target: &str, pass: bool) {
    println!("  {what:<44} {value:>7.2}   target {target:<7} {}", if pass { "PASS" } else { "MISS" });
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { f64::midpoint(v[n / 2 - 1], v[n / 2]) }
}

fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(|| "-".to_string(), |kb| format!("{:.1} MiB", kb as f64 / 1024.0))
}

fn mkdir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| fatal(&format!("{}: {e}", dir.display())));
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| fatal(&format!("{}: {e}", path.display())));
}

fn fatal(message: &str) -> ! {
    eprintln!("grade_speed: {message}");
    std::process::exit(2);
}
