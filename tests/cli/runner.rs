//! `lectern test`: every ai012 solution passes its visible cases, every realistic wrong
//! solution fails at least one, and hostile code gets its own verdict while the run goes
//! on — all through the real sandbox (Bubblewrap) and a Python environment Lectern
//! provisions itself.
//!
//! Needs `bwrap` (Debian's bubblewrap; .ci/run installs it) and `python3` with `venv`;
//! the first run installs numpy from the package index into Lectern's cache.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::{lectern, root, transcript};

/// `lectern test --json`, parsed.
fn test(course: &str, exercise: &str, file: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["test", course, exercise, file.to_str().expect("utf-8 path"), "--json"];
    args.extend_from_slice(extra);
    let output = lectern(&root(), &args);
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&output)));
    (output.status.code().unwrap_or(-1), json)
}

fn verdicts(json: &Value) -> Vec<String> {
    json["tests"].as_array().map_or_else(Vec::new, |tests| {
        tests.iter().map(|t| t["verdict"]["verdict"].as_str().unwrap_or("?").to_string()).collect()
    })
}

#[test]
fn every_ai012_solution_passes_its_visible_cases() {
    for exercise in ["attention", "causal-attention", "cross-attention", "kv-cache", "kv-cache-memory", "mlm-masking"] {
        let solution = root().join("courses/ai012/exercises").join(exercise).join("solution.py");
        let (code, json) = test("courses/ai012", exercise, &solution, &[]);
        assert_eq!(code, 0, "{exercise}: {json:#}");
        assert!(verdicts(&json).iter().all(|v| v == "pass"), "{exercise}: {json:#}");
        assert_eq!(json["score"], json["max_score"], "{exercise}");
    }
    // A right answer returned as a transposed (Fortran-ordered) view is still a right answer.
    let transposed = root().join("tests/fixtures/runner/correct/causal-attention/transposed.py");
    let (code, json) = test("courses/ai012", "causal-attention", &transposed, &[]);
    assert_eq!(code, 0, "{json:#}");
}

#[test]
fn every_realistic_wrong_solution_fails_a_visible_case() {
    let wrong = root().join("tests/fixtures/runner/wrong");
    let mut checked = 0;
    for exercise in fs::read_dir(&wrong).expect("fixtures").flatten() {
        let name = exercise.file_name().to_string_lossy().into_owned();
        let mut files: Vec<_> = fs::read_dir(exercise.path()).expect("folder").flatten().map(|e| e.path()).collect();
        files.sort();
        assert!(files.len() >= 2, "{name} has fewer than two wrong solutions");
        for file in files {
            let (code, json) = test("courses/ai012", &name, &file, &[]);
            assert_eq!(code, 1, "{} passed: {json:#}", file.display());
            assert!(verdicts(&json).iter().any(|v| v != "pass"), "{}", file.display());
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} wrong solutions");
}

/// (file under tests/fixtures/runner/hostile/, the verdict it must get, seconds allowed)
const HOSTILE: &[(&str, &str, &str)] = &[
    ("syntax_error.py", "syntax-error", "3"),
    ("import_error.py", "import-error", "3"),
    ("exception.py", "exception", "3"),
    ("infinite_loop.py", "timeout", "2"),
    ("sleeps_forever.py", "timeout", "2"),
    ("fork_bomb.py", "timeout", "2"),
    ("network.py", "exception", "3"),
    ("segfault.py", "crashed", "3"),
    ("early_exit.py", "exited-early", "3"),
    ("wrong_shape.py", "wrong-shape", "3"),
    ("wrong_dtype.py", "wrong-dtype", "3"),
    ("nan.py", "not-finite", "3"),
    ("huge_output.py", "wrong-values", "10"),
    ("daemon.py", "exception", "3"),
    ("reads_solution.py", "exception", "3"),
    ("status_fifo.py", "exited-early", "3"),
    ("status_symlink.py", "exited-early", "3"),
    // Files in the scratch folder are never read back now (outputs travel on a pipe):
    // these two only leave before returning.
    ("npy_two_shapes.py", "exited-early", "3"),
    ("out_symlink.py", "exited-early", "3"),
    ("forged_reports.py", "bad-output", "3"),
    ("many_outputs.py", "bad-output", "10"),
];

#[test]
fn hostile_code_gets_its_own_verdict_and_the_run_goes_on() {
    let course = "tests/fixtures/runner/course";
    let dir = root().join("tests/fixtures/runner/hostile");
    let mut wrong = Vec::new();
    for (file, expected, seconds) in HOSTILE {
        let (code, json) = test(course, "attention", &dir.join(file), &["--time-limit", seconds]);
        let got = verdicts(&json);
        if code != 1 || got != [*expected] {
            wrong.push(format!("{file}: expected {expected}, got {got:?} (exit {code}): {json:#}"));
        }
        let message = json["tests"][0]["output"].as_str().unwrap_or("");
        match *file {
            "syntax_error.py" => assert!(message.contains("line 2"), "{message}"),
            "network.py" => assert!(message.contains("Network is unreachable"), "{message}"),
            "reads_solution.py" => {
                // The course, the grader's files and the system's users are not there.
                assert!(message.contains("'/work/main', \"[Errno 2]"), "{message}");
                assert!(message.contains("'/etc/passwd', \"[Errno 2]"), "{message}");
            }
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_memory_hog_runs_out_of_memory_not_the_machine() {
    let file = root().join("tests/fixtures/runner/hostile/memory_hog.py");
    let (code, json) = test("tests/fixtures/runner/course", "attention", &file, &["--time-limit", "30"]);
    assert_eq!((code, verdicts(&json)), (1, vec!["memory-limit".to_string()]), "{json:#}");
}

#[test]
fn a_daemon_does_not_outlive_its_run() {
    let file = root().join("tests/fixtures/runner/hostile/daemon.py");
    let (_, json) = test("tests/fixtures/runner/course", "attention", &file, &["--time-limit", "3"]);
    assert_eq!(verdicts(&json), ["exception"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let ps = std::process::Command::new("ps").args(["-eo", "args"]).output().expect("ps");
    let left: Vec<String> = String::from_utf8_lossy(&ps.stdout).lines().filter(|l| l.contains("sleep 4242")).map(str::to_string).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

#[test]
fn huge_output_is_capped() {
    let file = root().join("tests/fixtures/runner/hostile/huge_output.py");
    let output = lectern(&root(), &["test", "tests/fixtures/runner/course", "attention", file.to_str().expect("path"), "--time-limit", "10"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.len() < 200 << 10, "{} bytes of output came through", output.stdout.len());
}

/// Solutions that are right on every visible case but break a behaviour: each file's first
/// line names the check it must fail (`# LEAKS (no-future-leak): …`, `# FAILS stable-large-logits: …`).
#[test]
fn solutions_right_on_the_cases_but_wrong_in_behaviour_fail_their_check() {
    let leaky = root().join("tests/fixtures/runner/leaky");
    let mut checked = 0;
    for exercise in fs::read_dir(&leaky).expect("fixtures").flatten() {
        let name = exercise.file_name().to_string_lossy().into_owned();
        for file in fs::read_dir(exercise.path()).expect("folder").flatten().map(|e| e.path()) {
            let text = fs::read_to_string(&file).expect("fixture");
            let first = text.lines().next().unwrap_or("");
            let property = ["no-future-leak", "padding-respected", "kv-cache-consistent", "stable-large-logits", "batch-independent"]
                .into_iter()
                .find(|p| first.contains(p))
                .unwrap_or_else(|| panic!("{}: the first line names no check", file.display()));
            let (code, json) = test("courses/ai012", &name, &file, &[]);
            assert_eq!(code, 1, "{}: {json:#}", file.display());
            for t in json["tests"].as_array().expect("tests") {
                let test_name = t["name"].as_str().unwrap_or("");
                let verdict = t["verdict"]["verdict"].as_str().unwrap_or("?");
                if !test_name.starts_with("check: ") {
                    assert_eq!(verdict, "pass", "{}: case {test_name}: {t:#}", file.display());
                } else if test_name == format!("check: {property}") {
                    assert_eq!(verdict, "property-failed", "{}: {t:#}", file.display());
                    assert!(t["output"].as_str().unwrap_or("").contains("does not hold"), "{t:#}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 4, "only {checked} leaky solutions were checked");
}

#[test]
fn solutions_pass_every_behaviour_check_and_checks_are_scored_like_cases() {
    let solution = root().join("courses/ai012/exercises/kv-cache/solution.py");
    let (code, json) = test("courses/ai012", "kv-cache", &solution, &[]);
    assert_eq!(code, 0, "{json:#}");
    let names: Vec<&str> = json["tests"].as_array().expect("tests").iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(names.contains(&"check: kv-cache-consistent") && names.contains(&"check: batch-independent"), "{names:?}");
    // 12 points over 2 visible + 2 hidden cases and 2 checks.
    assert_eq!(json["tests"][0]["max_score"], 2.0, "{json:#}");
}

#[test]
fn lectern_check_rejects_a_behaviour_check_that_does_not_fit_the_reference() {
    let dir = crate::tempdir("runner-check-misfit");
    crate::site::copy_dir(&root().join("tests/fixtures/runner/course"), &dir);
    let toml = dir.join("exercises/attention/exercise.toml");
    let mut text = fs::read_to_string(&toml).expect("exercise.toml");
    text.push_str("\n[[check]]\nproperty = \"kv-cache-consistent\"\n\n[[check]]\nproperty = \"no-future-leak\"\n");
    fs::write(&toml, text).expect("write");
    let output = lectern(&root(), &["check", dir.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{}", transcript(&output));
    assert!(stderr.contains("the check `kv-cache-consistent` does not fit the reference `attention`; it fits kv-cache"), "{stderr}");
    assert!(!stderr.contains("`no-future-leak`"), "{stderr}");
    let _ = fs::remove_dir_all(&dir);
}

/// f16 and bf16 cases: the numpy solution passes them (float16 in and out; float32 holding
/// bf16 values in and out), a solution without the 1/√d scale fails both, and the summary
/// says where the references ran.
#[test]
fn half_precision_cases_pass_the_solution_and_fail_a_wrong_one() {
    let course = "tests/fixtures/runner/half";
    let solution = root().join("courses/ai012/exercises/attention/solution.py");
    let (code, json) = test(course, "attention", &solution, &[]);
    assert_eq!((code, verdicts(&json)), (0, vec!["pass".to_string(), "pass".to_string()]), "{json:#}");
    assert!(json["output"].as_str().unwrap_or("").ends_with("(on cpu)"), "{json:#}");
    let wrong = root().join("tests/fixtures/runner/wrong/attention/no_scaling.py");
    let (code, json) = test(course, "attention", &wrong, &[]);
    assert_eq!((code, verdicts(&json)), (1, vec!["wrong-values".to_string(), "wrong-values".to_string()]), "{json:#}");
    let output = lectern(&root(), &["test", course, "attention", solution.to_str().expect("path"), "--device", "auto"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && stdout.contains(", on cpu)"), "{}", transcript(&output));
}

/// Whatever a hand-in leaves in its scratch folder is removed after the run, however
/// deep (25,000 nested folders overflowed the stack that removed them), and the run's
/// verdict is the code's own.
#[test]
fn a_deep_tree_left_behind_is_removed_and_the_run_goes_on() {
    let tmp = crate::tempdir("deep-nesting");
    let file = root().join("tests/fixtures/runner/hostile/deep_nesting.py");
    let output = assert_cmd::Command::cargo_bin("lectern")
        .expect("the lectern binary is built")
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("TMPDIR", &tmp)
        .args(["test", "tests/fixtures/runner/course", "attention", &file.to_string_lossy(), "--json", "--time-limit", "20"])
        .output()
        .expect("lectern runs");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&output)));
    assert_eq!(verdicts(&json), ["wrong-values"], "{json:#}");
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left behind in the scratch root: {left:?}");
    // The same hand-in in a batch, where runs happen on worker threads with small stacks.
    let handins = crate::tempdir("deep-nesting-class");
    std::fs::create_dir_all(handins.join("class/s1")).expect("mkdir");
    std::fs::copy(&file, handins.join("class/s1/attention.py")).expect("copy");
    let out = handins.join("out");
    let output = assert_cmd::Command::cargo_bin("lectern")
        .expect("the lectern binary is built")
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("TMPDIR", &tmp)
        .args(["grade", "tests/fixtures/runner/course", &handins.join("class").to_string_lossy(), "--out", &out.to_string_lossy(), "--jobs", "2"])
        .output()
        .expect("lectern runs");
    assert_eq!(output.status.code(), Some(0), "{}", transcript(&output));
    let left: Vec<_> = std::fs::read_dir(&tmp).expect("tmp").filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "left behind in the scratch root: {left:?}");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&handins);
}

#[test]
fn descriptors_lectern_inherited_never_reach_the_code() {
    // The shell leaves descriptor 7 open across exec, as a make jobserver does.
    let file = root().join("tests/fixtures/runner/hostile/inherited_fd.py");
    let output = std::process::Command::new("/bin/sh")
        .args(["-c", "exec 7</dev/null; exec \"$0\" \"$@\""])
        .arg(assert_cmd::cargo::cargo_bin("lectern"))
        .args(["test", "tests/fixtures/runner/course", "attention", file.to_str().expect("utf-8"), "--json"])
        .current_dir(root())
        .output()
        .expect("lectern runs");
    let json: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&output)));
    assert_eq!(verdicts(&json), ["wrong-values"], "{json:#}");
}

#[test]
fn an_endless_loop_costs_the_limit_once_and_the_cases_after_it_are_not_run() {
    let file = root().join("tests/fixtures/runner/hostile/infinite_loop.py");
    let (code, json) = test("courses/ai012", "attention", &file, &["--time-limit", "2"]);
    let got = verdicts(&json);
    assert_eq!(code, 1, "{json:#}");
    assert!(got.len() > 2, "{json:#}");
    assert_eq!(got[0], "timeout", "{json:#}");
    assert!(got[1..].iter().all(|v| v == "not-run"), "{json:#}");
    assert_eq!(json["tests"][0]["verdict"]["clock"], "cpu", "{json:#}");
}
