//! Right on every machine and for every user: Lectern as an ordinary user (not root), on
//! a cold cache, several processes at once, an environment maker killed mid-way, no
//! access to the package index, and no sandbox at all.
//!
//! As root (CI), the "ordinary user" is a uid from 54321 on through `setpriv`, one per
//! test (process limits count per user: tests side by side must not share one), with its
//! own home
//! and cache, Debian's `python3` and copies of the binary and the course in a
//! world-readable temporary folder (the checkout may sit under a private home). Run by an
//! ordinary user, these tests are that user.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{root, tempdir, transcript};

/// The first ordinary user's uid; each [`Ordinary`] takes the next.
const USER: u32 = 54321;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)).map(|u| u == "0"))
        .unwrap_or(false)
}

/// A world-readable copy of the binary and of `courses`, owned by the ordinary user, with
/// a home and an empty cache of its own.
struct Ordinary {
    dir: PathBuf,
    uid: u32,
}

impl Ordinary {
    fn new(name: &str) -> Ordinary {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(USER);
        let uid = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = tempdir(&format!("user-{name}"));
        copy_tree(&root().join("courses/ai012"), &dir.join("ai012"));
        copy_tree(&root().join("tests/fixtures/runner"), &dir.join("runner"));
        copy_tree(&root().join("tests/fixtures/site/elements"), &dir.join("elements"));
        std::fs::copy(assert_cmd::cargo::cargo_bin("lectern"), dir.join("lectern")).expect("binary");
        for sub in ["home", "cache", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).expect("folder");
        }
        if is_root() {
            chown_tree(&dir, uid);
        }
        Ordinary { dir, uid }
    }

    /// `lectern ARGS` as the ordinary user, in its folder.
    fn lectern(&self, args: &[&str]) -> Output {
        self.lectern_with(args, &[])
    }

    /// The same with more environment variables.
    fn lectern_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let bin = self.dir.join("lectern");
        let mut command = if is_root() {
            let mut c = Command::new("/usr/bin/setpriv");
            c.args([format!("--reuid={}", self.uid), format!("--regid={}", self.uid), "--clear-groups".into(), "--".into()]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", self.dir.join("home"))
            .env("TMPDIR", self.dir.join("tmp"))
            .env("LECTERN_CACHE_DIR", self.dir.join("cache"))
            .env("LECTERN_INSTALLER", "pip")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("lectern runs")
    }
}

impl Drop for Ordinary {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("inside"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn chown_tree(dir: &Path, uid: u32) {
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        std::os::unix::fs::lchown(entry.path(), Some(uid), Some(uid)).expect("chown");
    }
    // The temporary folder above it must be passable.
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(output)))
}

#[test]
fn an_ordinary_user_passes_every_ai012_solution_and_builds_with_captured_output() {
    let user = Ordinary::new("solutions");
    for exercise in ["attention", "causal-attention", "cross-attention", "kv-cache", "kv-cache-memory", "mlm-masking"] {
        let solution = format!("ai012/exercises/{exercise}/solution.py");
        let output = user.lectern(&["test", "ai012", exercise, &solution, "--json"]);
        assert_eq!(output.status.code(), Some(0), "{exercise}: {}", transcript(&output));
        let json = json(&output);
        assert_eq!(json["score"], json["max_score"], "{exercise}");
        assert_eq!(json["sandboxed"], true, "{exercise}: {json:#}");
        assert!(json["environment"]["numpy"].is_string(), "{exercise}: {json:#}");
    }
    let output = user.lectern(&["build", "elements", "--out", "site"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let page = std::fs::read_to_string(user.dir.join("site/01-everything.html")).expect("page");
    assert!(page.contains("$ python show.py\nhi\n"), "the page holds no output of show.py: {}", transcript(&output));
    // Scratch folders go with their runs.
    let left: Vec<_> = std::fs::read_dir(user.dir.join("tmp")).expect("tmp").flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}

#[test]
fn the_sandbox_holds_its_limits_for_an_ordinary_user() {
    let user = Ordinary::new("limits");
    for (file, verdict, seconds, says) in [
        ("fork_bomb.py", "timeout", "2", ""),
        ("memory_hog.py", "memory-limit", "30", ""),
        ("network.py", "exception", "3", "Network is unreachable"),
        ("reads_solution.py", "exception", "3", "'/etc/passwd', \"[Errno 2]"),
        ("daemon.py", "exception", "3", ""),
    ] {
        let path = format!("runner/hostile/{file}");
        let output = user.lectern(&["test", "runner/course", "attention", &path, "--json", "--time-limit", seconds]);
        let json = json(&output);
        assert_eq!(output.status.code(), Some(1), "{file}: {json:#}");
        assert_eq!(json["tests"][0]["verdict"]["verdict"], verdict, "{file}: {json:#}");
        assert!(json["tests"][0]["output"].as_str().unwrap_or("").contains(says), "{file}: {json:#}");
    }
}

#[test]
fn four_builds_at_once_on_a_cold_cache_all_capture_the_real_output() {
    let dir = tempdir("builds-at-once");
    let cache = dir.join("cache");
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(assert_cmd::cargo::cargo_bin("lectern"))
                .args(["build", "tests/fixtures/site/elements", "--out"])
                .arg(dir.join(format!("site-{i}")))
                .current_dir(root())
                .env("LECTERN_CACHE_DIR", &cache)
                .env("NO_COLOR", "1")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("lectern starts")
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().expect("lectern ends");
        assert_eq!(output.status.code(), Some(0), "build {i}: {}", transcript(&output));
        let page = std::fs::read_to_string(dir.join(format!("site-{i}/01-everything.html"))).expect("page");
        assert!(page.contains("$ python show.py\nhi\n"), "build {i} captured something else: {}", transcript(&output));
    }
    // One environment, nothing half-made left.
    let names: Vec<String> = std::fs::read_dir(&cache).expect("cache").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.iter().filter(|n| n.starts_with("venv-") && !n.ends_with(".lock")).count(), 1, "{names:?}");
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `lectern test` of the attention solution on `cache`, in a process group of its own.
fn start_test(cache: &Path, extra_env: &[(&str, &str)]) -> std::process::Child {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("lectern"));
    c.args(["test", "courses/ai012", "attention", "courses/ai012/exercises/attention/solution.py"])
        .current_dir(root())
        .env("LECTERN_CACHE_DIR", cache)
        .env("LECTERN_INSTALLER", "pip")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        c.env(k, v);
    }
    std::os::unix::process::CommandExt::process_group(&mut c, 0);
    c.spawn().expect("lectern starts")
}

#[test]
fn an_environment_maker_killed_mid_way_blocks_nobody_and_leaves_nothing_half_made() {
    let dir = tempdir("killed-maker");
    let cache = dir.join("cache");
    let mut first = start_test(&cache, &[]);
    // Wait until it is building (its folder appears), then kill it and pip with it.
    let started = Instant::now();
    let building = || std::fs::read_dir(&cache).into_iter().flatten().flatten().any(|e| e.file_name().to_string_lossy().contains(".tmp-"));
    while !building() {
        assert!(started.elapsed() < Duration::from_secs(60), "the environment was never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("/bin/kill").args(["-KILL", "--", &format!("-{}", first.id())]).status();
    let status = first.wait().expect("the first lectern ends");
    // Killed while building, not finished before the kill (which would prove nothing).
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "{status:?}");
    // The next one takes the lock at once and makes the environment anew.
    let started = Instant::now();
    let output = start_test(&cache, &[]).wait_with_output().expect("lectern ends");
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    assert!(!String::from_utf8_lossy(&output.stderr).contains("waiting for another lectern"), "{}", transcript(&output));
    assert!(started.elapsed() < Duration::from_secs(300));
    let names: Vec<String> = std::fs::read_dir(&cache).expect("cache").flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.contains(".tmp-")), "{names:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_the_package_index_grading_stops_and_caches_nothing() {
    let dir = tempdir("no-index");
    let cache = dir.join("cache");
    let class = dir.join("class/ada");
    std::fs::create_dir_all(&class).expect("class");
    std::fs::copy(root().join("courses/ai012/exercises/attention/solution.py"), class.join("attention.py")).expect("hand-in");
    // Nothing listens on port 9: pip fails at once, as without a network.
    let offline = [("PIP_INDEX_URL", "http://127.0.0.1:9/simple"), ("PIP_RETRIES", "0"), ("PIP_TIMEOUT", "2"), ("LECTERN_INSTALLER", "pip")];
    for attempt in 0..2 {
        let mut c = Command::new(assert_cmd::cargo::cargo_bin("lectern"));
        c.args(["grade", "courses/ai012"]).arg(dir.join("class")).arg("--out").arg(dir.join("out")).current_dir(root());
        c.env("LECTERN_CACHE_DIR", &cache).env("NO_COLOR", "1").env("PIP_NO_CACHE_DIR", "1");
        for (k, v) in offline {
            c.env(k, v);
        }
        let output = c.output().expect("lectern runs");
        let text = transcript(&output);
        assert_eq!(output.status.code(), Some(1), "attempt {attempt}: {text}");
        assert!(text.contains("grading stopped"), "attempt {attempt}: {text}");
        let names: Vec<String> = std::fs::read_dir(&cache).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        assert!(!names.iter().any(|n| n.contains(".tmp-") || (n.starts_with("venv-") && !n.ends_with(".lock"))), "attempt {attempt}: {names:?}");
        // Nobody was scored: the gradebook holds no hand-in.
        let db = rusqlite::Connection::open(dir.join("out/gradebook.sqlite")).expect("gradebook");
        let rows: i64 = db.query_row("SELECT COUNT(*) FROM handins", [], |r| r.get(0)).expect("count");
        assert_eq!(rows, 0, "attempt {attempt}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_a_sandbox_test_warns_and_runs_while_grade_and_serve_refuse() {
    // A student on their own machine: their code runs unisolated, and they are told once.
    let user = Ordinary::new("no-sandbox");
    let no_bwrap = [("LECTERN_BWRAP", "/bin/false")];
    let output = user.lectern_with(&["test", "ai012", "attention", "ai012/exercises/attention/solution.py", "--json"], &no_bwrap);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("runs without isolation").count(), 1, "{stderr}");
    assert!(stderr.contains("cannot make a sandbox") && stderr.contains("user namespaces"), "{stderr}");
    assert_eq!(json(&output)["sandboxed"], false);

    let dir = tempdir("no-sandbox");
    let class = dir.join("class/ada");
    std::fs::create_dir_all(&class).expect("class");
    std::fs::copy(root().join("courses/ai012/exercises/attention/solution.py"), class.join("attention.py")).expect("hand-in");
    let run = |args: &[&str]| {
        Command::new(assert_cmd::cargo::cargo_bin("lectern"))
            .args(args)
            .current_dir(root())
            .env("LECTERN_BWRAP", "/bin/false")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("lectern runs")
    };
    let (class_dir, out) = (dir.join("class"), dir.join("out"));
    let (class_dir, out) = (class_dir.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    let mut refusals = vec![run(&["grade", "courses/ai012", class_dir, "--out", out]), run(&["serve", "courses/ai012", "--port", "0"])];
    if is_root() {
        // As root (a container, an autograder image) not even `test` runs code unisolated.
        refusals.push(run(&["test", "courses/ai012", "attention", "courses/ai012/exercises/attention/solution.py"]));
    }
    for output in refusals {
        assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains("--no-sandbox"), "{}", transcript(&output));
    }
    let output = run(&["grade", "courses/ai012", class_dir, "--out", out, "--no-sandbox"]);
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let _ = std::fs::remove_dir_all(&dir);
}

/// What each hand-in of `tests/fixtures/runner/class` must get: its score and words of its
/// verdict. Two correct solutions (one threaded) among classmates that spin in 61
/// processes of their own sessions, hold 63 sleeping processes, fill every writable
/// place, hold 9 GiB in six forks or 3 GiB in a memfd, make a user namespace, leave
/// 25,000 nested folders, forge the runner's reports, leave a FIFO, loop for ever, set
/// traps in Lectern's own folder, lock a full folder against removal, or write forged
/// reports into every pipe they can find; then correct solutions graded after them in
/// the same sandboxes.
const CLASS: &[(&str, f64, &str)] = &[
    ("s01-correct", 1.0, "matches the reference"),
    ("s02-threads", 1.0, "matches the reference"),
    ("s03-spinners", 0.0, ""),
    ("s04-sleepers", 0.0, "values differ"),
    ("s05-fills-disk", 0.0, "scratch space"),
    ("s06-forks-memory", 0.0, "ran out of memory"),
    ("s07-memfd", 0.0, "PermissionError"),
    ("s08-unshare", 0.0, "unshare: Operation not permitted"),
    ("s09-deep-nesting", 0.0, "values differ"),
    ("s10-forged-reports", 0.0, "reports broke off"),
    ("s11-status-fifo", 0.0, "exited (code 0)"),
    ("s12-infinite-loop", 0.0, "CPU time"),
    ("s13-poisons-lectern", 0.0, "scratch space"),
    ("s14-locked-folder", 0.0, "scratch space"),
    ("s15-forges-pipes", 0.0, "values differ"),
    // Attacks at import time, with a right function after them.
    ("s16-sigint-init", 1.0, "matches the reference"),
    ("s17-ghost-thread", 1.0, "matches the reference"),
    ("s18-locks-env-folder", 1.0, "matches the reference"),
    ("s19-writes-root", 1.0, "matches the reference"),
    ("s20-message-queue", 1.0, "matches the reference"),
    ("s21-orphans-burn", 0.0, "CPU time"),
    ("s22-import-loop", 0.0, "CPU time"),
    // Graded after the classmates above, in the same sandboxes.
    ("s30-correct", 1.0, "matches the reference"),
    ("s31-reads-leftovers", 1.0, "matches the reference"),
    ("s32-correct", 1.0, "matches the reference"),
    ("s33-correct", 1.0, "matches the reference"),
    ("s34-correct", 1.0, "matches the reference"),
];

/// The class in `into`: the hand-ins of `tests/fixtures/runner/class` with a correct
/// solution and hostile files from beside it (`runner` is a copy of
/// `tests/fixtures/runner`).
fn assemble_class(runner: &Path, into: &Path) {
    copy_tree(&runner.join("class"), into);
    let borrowed = [
        ("s01-correct", "correct/attention/float64.py"),
        ("s09-deep-nesting", "hostile/deep_nesting.py"),
        ("s10-forged-reports", "hostile/forged_reports.py"),
        ("s11-status-fifo", "hostile/status_fifo.py"),
        ("s12-infinite-loop", "hostile/infinite_loop.py"),
        ("s30-correct", "correct/attention/einsum.py"),
        ("s32-correct", "correct/attention/kahan.py"),
        ("s33-correct", "correct/attention/loops.py"),
        ("s34-correct", "correct/attention/transposed.py"),
    ];
    for (student, file) in borrowed {
        std::fs::create_dir_all(into.join(student)).expect("folder");
        std::fs::copy(runner.join(file), into.join(student).join("attention.py")).expect("hand-in");
    }
    // An attack at import time (`attack.py`) with a right function after it.
    let right = std::fs::read_to_string(runner.join("correct/attention/float64.py")).expect("solution");
    for entry in std::fs::read_dir(into).expect("class").flatten() {
        let attack = entry.path().join("attack.py");
        if let Ok(text) = std::fs::read_to_string(&attack) {
            std::fs::write(entry.path().join("attention.py"), format!("{text}\n{right}")).expect("hand-in");
            std::fs::remove_file(&attack).expect("attack");
        }
    }
}

fn class_results(out: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for (student, score, says) in CLASS {
        let path = out.join("students").join(student).join("results.json");
        let results: Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_default()).unwrap_or(Value::Null);
        let output = results["tests"][0]["output"].as_str().unwrap_or("(no result)");
        if results["score"].as_f64() != Some(*score) || !output.contains(says) {
            wrong.push(format!("{student}: expected {score} and {says:?}, got {} and {output:?}", results["score"]));
        }
    }
    wrong
}

#[test]
fn a_hostile_class_is_graded_to_the_last_hand_in_as_root_and_as_an_ordinary_user() {
    // As this user (root in CI: a cgroup and a uid of its own per sandbox).
    let dir = tempdir("hostile-class");
    let (class, out) = (dir.join("class"), dir.join("out"));
    assemble_class(&root().join("tests/fixtures/runner"), &class);
    let started = Instant::now();
    let output = crate::lectern(&root(), &["grade", "tests/fixtures/runner/course", class.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "--jobs", "2", "--time-limit", "5"]);
    assert!(output.status.success(), "{}", transcript(&output));
    let wrong = class_results(&out);
    assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), transcript(&output));
    // The batch did not wait on what they left running (the sleepers, the forks).
    assert!(started.elapsed() < Duration::from_secs(240), "took {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(&dir);

    // As an ordinary user: no cgroup, so the runner sums the sandbox's memory itself.
    let user = Ordinary::new("hostile-class");
    assemble_class(&user.dir.join("runner"), &user.dir.join("class"));
    if is_root() {
        chown_tree(&user.dir, user.uid);
    }
    let output = user.lectern(&["grade", "runner/course", "class", "--out", "out", "--jobs", "2", "--time-limit", "5"]);
    assert!(output.status.success(), "{}", transcript(&output));
    let wrong = class_results(&user.dir.join("out"));
    assert!(wrong.is_empty(), "{}\n{}", wrong.join("\n"), transcript(&output));
}

#[test]
fn a_python_environment_under_a_folder_named_work_still_starts_in_the_sandbox() {
    // The sandbox's working folder is /work: an environment cached under the host's
    // /work (a checkout there, a CI cache) must not be hidden by it.
    if std::fs::create_dir_all("/work").is_err() {
        return;
    }
    let Ok(cache) = tempfile::Builder::new().prefix("lectern-cache-").tempdir_in("/work") else { return };
    let solution = root().join("courses/ai012/exercises/attention/solution.py");
    let output = Command::new(assert_cmd::cargo::cargo_bin("lectern"))
        .args(["test", "courses/ai012", "attention", solution.to_str().expect("utf-8"), "--json"])
        .current_dir(root())
        .env("LECTERN_CACHE_DIR", cache.path())
        .env("LECTERN_INSTALLER", "pip")
        .output()
        .expect("lectern runs");
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
}
