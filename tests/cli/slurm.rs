//! Sharded grading on a real Slurm cluster, with the guide's own script
//! (`courses/guide/lessons/06-grading/grade-slurm.sh`), as an ordinary user.
//!
//! The sample class (and one hand-in that loops for ever, so that its shard runs long
//! enough to be killed) is graded in 3 shards and merged; the merge must equal one run
//! over the whole class byte for byte, `gradebook.sqlite` included (compared table by
//! table in key order). Then the slow shard's task is cancelled mid-run: its merge must
//! be cancelled too, not left pending, and `ONLY=K` must submit it again and merge.
//!
//! Needs a running Slurm (`.ci/run` starts a one-node cluster with `.ci/slurm/start.sh`
//! and exports `SLURM_CONF`) and an ordinary user Slurm knows (`LECTERN_SLURM_USER`,
//! which `.ci/run` creates). Without them the test fails with the reason, unless
//! `LECTERN_SKIP_SLURM=1` says to skip it on purpose. Every wait is bounded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::machines::copy_tree;
use crate::{root, tempdir, transcript};

const SHARDS: u32 = 3;
/// The hand-in that never ends (its code loops; each exercise costs the time limit).
const SLOW: &str = "zz-slow";

fn slurm_ready() -> Result<String, String> {
    let user = std::env::var("LECTERN_SLURM_USER").map_err(|_| "LECTERN_SLURM_USER names no ordinary user for the jobs".to_string())?;
    let sinfo = Command::new("sinfo").args(["-h", "-o", "%T"]).output().map_err(|e| format!("sinfo: {e} (is slurm-wlm installed?)"))?;
    let states = String::from_utf8_lossy(&sinfo.stdout).into_owned();
    if !sinfo.status.success() || !states.lines().any(|s| s.trim().starts_with("idle") || s.trim().starts_with("mix")) {
        return Err(format!("no idle Slurm node (SLURM_CONF={:?}): {}{}", std::env::var("SLURM_CONF").ok(), states, String::from_utf8_lossy(&sinfo.stderr)));
    }
    Ok(user)
}

/// A command run as `user` (through `runuser`), with a clean environment.
fn as_user(user: &str, program: &str) -> Command {
    let mut c = Command::new("/usr/sbin/runuser");
    c.args(["-u", user, "--", program]).env_clear().env("PATH", "/usr/local/bin:/usr/bin:/bin").stdin(Stdio::null());
    if let Some(conf) = std::env::var_os("SLURM_CONF") {
        c.env("SLURM_CONF", conf);
    }
    c
}

fn run(mut c: Command) -> Output {
    let o = c.output().expect("runs");
    assert!(o.status.success(), "{c:?}\n{}", transcript(&o));
    o
}

/// Submits the guide's script as `user`; the array's and the merge's job IDs.
fn submit(user: &str, work: &Path, out: &Path, only: Option<u32>) -> (String, String) {
    let mut c = as_user(user, "bash");
    c.arg(root().join("courses/guide/lessons/06-grading/grade-slurm.sh"))
        .current_dir(work)
        .env("HOME", work.join("home"))
        .env("LECTERN", work.join("lectern"))
        .env("COURSE", work.join("ai012"))
        .env("SUBMISSIONS", work.join("class"))
        .env("OUT", out)
        .env("SHARDS", SHARDS.to_string())
        .env("CPUS", "1")
        .env("MEMORY", "1G")
        .env("TIME", "00:10:00")
        .env("TMPDIR", work.join("tmp"));
    if let Some(k) = only {
        c.env("ONLY", k.to_string());
    }
    let o = run(c);
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let ids = text.lines().find_map(|l| l.strip_prefix("array=")).unwrap_or_else(|| panic!("no job IDs in {text}"));
    let (array, merge) = ids.split_once(" merge=").expect("array= merge=");
    (array.trim().to_string(), merge.trim().to_string())
}

/// The jobs of `ids` still known to Slurm, with their states.
fn queued(ids: &[&str]) -> Vec<String> {
    let o = Command::new("squeue").args(["-h", "-o", "%i %T %r", "-j", &ids.join(",")]).output().expect("squeue");
    String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).filter(|l| !l.trim().is_empty()).collect()
}

fn wait_until_gone(ids: &[&str], within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let left = queued(ids);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "jobs still queued after {within:?}: {left:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every exported file of a grading folder (not the gradebook, logs or shards).
fn exports(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let rel = e.path().strip_prefix(dir).ok()?.to_string_lossy().into_owned();
            let skip = rel.starts_with("gradebook.sqlite") || rel.starts_with("logs/") || rel.starts_with("shards/");
            (!skip).then(|| (rel, std::fs::read(e.path()).expect("read")))
        })
        .collect()
}

/// The gradebook's every table, rows in key order, as text.
fn dump(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("gradebook");
    let mut out = String::new();
    let tables: Vec<String> = {
        let mut s = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").expect("tables");
        s.query_map([], |r| r.get(0)).expect("tables").flatten().collect()
    };
    for table in tables {
        let mut s = conn.prepare(&format!("SELECT * FROM \"{table}\"")).expect("select");
        let n = s.column_count();
        let mut rows: Vec<String> = s
            .query_map([], |r| {
                Ok((0..n).map(|i| format!("{:?}", r.get_ref(i).map(|v| v.to_owned()).ok())).collect::<Vec<_>>().join(" | "))
            })
            .expect("rows")
            .flatten()
            .collect();
        rows.sort();
        out.push_str(&format!("== {table}\n{}\n", rows.join("\n")));
    }
    out
}

fn assert_same_as_one_run(merged: &Path, single: &Path) {
    let (a, b) = (exports(merged), exports(single));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "the merge wrote other files than one run");
    for (name, bytes) in &a {
        assert!(*bytes == b[name], "{name} differs between the merge and one run");
    }
    let (da, db) = (dump(&merged.join("gradebook.sqlite")), dump(&single.join("gradebook.sqlite")));
    if da != db {
        let line = da.lines().zip(db.lines()).find(|(x, y)| x != y);
        panic!("gradebook.sqlite differs between the merge and one run: {line:?}");
    }
}

#[test]
fn the_guides_slurm_script_grades_in_shards_recovers_a_killed_task_and_merges_to_one_run() {
    let user = match slurm_ready() {
        Ok(user) => user,
        Err(why) if std::env::var_os("LECTERN_SKIP_SLURM").is_some() => {
            eprintln!("Slurm test skipped (LECTERN_SKIP_SLURM is set): {why}");
            return;
        }
        Err(why) => panic!("{why}\n(.ci/run starts a one-node Slurm; set LECTERN_SKIP_SLURM=1 to skip this test on purpose)"),
    };
    let work = tempdir("slurm");
    copy_tree(&root().join("courses/ai012"), &work.join("ai012"));
    copy_tree(&root().join("courses/ai012/sample-class"), &work.join("class"));
    let _ = std::fs::remove_dir_all(work.join("ai012/sample-class"));
    std::fs::create_dir_all(work.join("class").join(SLOW)).expect("mkdir");
    std::fs::write(work.join("class").join(SLOW).join("attention.py"), "def scaled_dot_product_attention(q, k, v, mask=None, causal=False):\n    while True:\n        pass\n").expect("write");
    std::fs::copy(assert_cmd::cargo::cargo_bin("lectern"), work.join("lectern")).expect("binary");
    for sub in ["home", "tmp"] {
        std::fs::create_dir_all(work.join(sub)).expect("mkdir");
    }
    run({
        let mut c = Command::new("chown");
        c.args(["-R", &format!("{user}:"), &work.to_string_lossy()]);
        c
    });
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    // One run over the whole class, as the same user, for comparison.
    let single = work.join("single");
    run({
        let mut c = as_user(&user, &work.join("lectern").to_string_lossy());
        c.args(["grade", &work.join("ai012").to_string_lossy(), &work.join("class").to_string_lossy(), "--out", &single.to_string_lossy()])
            .current_dir(&work)
            .env("HOME", work.join("home"))
            .env("LECTERN_CACHE_DIR", work.join("tmp").join("single-cache"));
        c
    });

    // Three shards through Slurm, then the merge.
    let out = work.join("grades");
    let (array, merge) = submit(&user, &work, &out, None);
    wait_until_gone(&[&array, &merge], Duration::from_secs(600));
    assert!(out.join("gradebook.csv").is_file(), "the merge job wrote nothing; logs: {}", logs(&out));
    let id = |p: &Path| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap_or(0);
    assert_ne!(id(&out.join("gradebook.sqlite")), 0, "the jobs ran as root, not as {user}");
    assert_same_as_one_run(&out, &single);
    assert!(!out.join("gradebook.sqlite.merging").exists());
    let stray: Vec<_> = std::fs::read_dir(&work).expect("work").flatten().filter(|e| e.file_name().to_string_lossy().starts_with("slurm-")).collect();
    assert!(stray.is_empty(), "slurm-*.out files in the folder the script was run from");

    // The slow hand-in's shard, killed mid-run: its merge is cancelled, not left pending.
    let slow_shard = (lectern_lesson::stable_hash([SLOW.as_bytes()]) % u64::from(SHARDS)) as u32 + 1;
    let again = work.join("again");
    let (array, merge) = submit(&user, &work, &again, None);
    let task = format!("{array}_{slow_shard}");
    let deadline = Instant::now() + Duration::from_secs(300);
    while !queued(&[&task]).iter().any(|l| l.contains("RUNNING")) {
        assert!(Instant::now() < deadline, "task {task} never ran: {:?}", queued(&[&array, &merge]));
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    run({
        let mut c = Command::new("scancel");
        c.arg(&task);
        c
    });
    wait_until_gone(&[&array, &merge], Duration::from_secs(300));
    assert!(!again.join("gradebook.csv").exists(), "the merge ran though a task was killed");
    let shard = again.join(format!("shards/{slow_shard}-of-{SHARDS}/gradebook.sqlite"));
    let complete: Option<String> = rusqlite::Connection::open(&shard).ok().and_then(|c| c.query_row("SELECT value FROM meta WHERE name = 'complete'", [], |r| r.get(0)).ok());
    assert_ne!(complete.as_deref(), Some("yes"), "the killed shard says it finished");

    // Submitted again alone, with the same N; the new merge takes every shard.
    let (array, merge) = submit(&user, &work, &again, Some(slow_shard));
    wait_until_gone(&[&array, &merge], Duration::from_secs(600));
    assert!(again.join("gradebook.csv").is_file(), "the merge after the resubmission wrote nothing; logs: {}", logs(&again));
    assert_same_as_one_run(&again, &single);
    let _ = std::fs::remove_dir_all(&work);
}

/// The tails of the jobs' logs, for a failure message.
fn logs(out: &Path) -> String {
    let mut text = String::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("logs")).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.sort();
    for f in files {
        let body = std::fs::read_to_string(&f).unwrap_or_default();
        let tail: Vec<&str> = body.lines().rev().take(15).collect();
        text.push_str(&format!("\n--- {}\n{}", f.display(), tail.into_iter().rev().collect::<Vec<_>>().join("\n")));
    }
    text
}
