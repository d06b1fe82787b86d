//! `lectern grade`: a class in one batch, every bad hand-in on its own row, a killed batch
//! that resumes, reruns and shards that write the same bytes as one clean run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{lectern, root, tempdir, transcript};

fn fixture() -> PathBuf {
    root().join("tests/fixtures/grade/course")
}

const SINGLE: [&str; 4] = ["B", "A", "B", "C"];
const ALL: [&str; 3] = [r#"["A", "C"]"#, r#"["A"]"#, r#""A, C, D""#];
const STEP: [&str; 4] = [
    "Running the whole input through the encoder, then cross-attention, costs the most; a KV cache helps decoders.",
    "交叉注意力在長輸入上很貴。",
    "It is slow.",
    "",
];

/// `n` hand-ins `s000`… with answers that vary by student.
fn class(dir: &Path, n: usize) {
    for i in 0..n {
        let d = dir.join(format!("s{i:03}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        let text = format!(
            "[lessons.01-quizzes.quiz]\nsingle = \"{}\"\nall = {}\nrmw = [\"A\", \"{}\"]\nkv = {}\narch = \"{}\"\n[lessons.02-challenge.challenge.bottleneck]\nstep1 = \"{}\"\n",
            SINGLE[i % 4],
            ALL[i % 3],
            ["C", "B", "E"][i % 3],
            [1.0, 1.04, 2.0][i % 3],
            ["decoder-only", "GPT-3", "BERT"][i % 3],
            STEP[i % 4]
        );
        std::fs::write(d.join("answers.toml"), text).expect("write");
    }
}

/// Every output file but the database, by relative path.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir(dir)
        .into_iter()
        .filter(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("gradebook.sqlite")))
        .map(|p| (p.strip_prefix(dir).expect("inside").to_string_lossy().into_owned(), std::fs::read(&p).expect("read")))
        .collect()
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walkdir(&path)) } else { out.push(path) }
    }
    out
}

fn grade(args: &[&str]) -> std::process::Output {
    let mut all = vec!["grade"];
    all.extend(args);
    lectern(&root(), &all)
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_class_is_graded_into_every_export_and_a_rerun_changes_no_byte() {
    let tmp = tempdir("grade-class");
    let (subs, out) = (tmp.join("subs"), tmp.join("out"));
    class(&subs, 12);
    let first = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert!(first.status.success(), "{}", transcript(&first));
    assert!(stdout(&first).contains("graded 12 hand-ins: 12 new or changed, 0 unchanged; 0 could not be graded"), "{}", stdout(&first));
    let files = outputs(&out);
    assert!(files.contains_key("report.html") && files.contains_key("students/s007/results.json"));
    crate::snapshot::assert(&root().join("tests/snapshots/grade/gradebook.csv"), &String::from_utf8_lossy(&files["gradebook.csv"]));
    crate::snapshot::assert(&root().join("tests/snapshots/grade/s002-results.json"), &String::from_utf8_lossy(&files["students/s002/results.json"]));

    let again = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert!(stdout(&again).contains("0 new or changed, 12 unchanged"), "{}", stdout(&again));
    assert!(outputs(&out) == files, "a rerun must write the same bytes");

    // One changed hand-in is the only one graded again.
    std::fs::write(subs.join("s003/answers.toml"), "[lessons.01-quizzes.quiz]\nsingle = \"B\"\n").expect("write");
    let changed = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert!(stdout(&changed).contains("1 new or changed, 11 unchanged"), "{}", stdout(&changed));

    // An instructor's override holds across regrades.
    std::fs::write(
        out.join("overrides.toml"),
        "[[override]]\nstudent = \"s002\"\nitem = \"bottleneck/step1\"\npoints = 2.5\ncomment = \"Says it in other words.\"\n",
    )
    .expect("write");
    let overridden = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert!(overridden.status.success(), "{}", transcript(&overridden));
    let results = std::fs::read_to_string(out.join("students/s002/results.json")).expect("results");
    assert!(results.contains("Instructor: Says it in other words. (2.5 of 3 points)"), "{results}");
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).expect("csv");
    let row = csv.lines().find(|l| l.starts_with("s002,")).expect("s002 row");
    assert!(row.contains(",2.5,"), "{row}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn shards_merge_into_exactly_what_one_run_writes() {
    let tmp = tempdir("grade-shards");
    let subs = tmp.join("subs");
    class(&subs, 30);
    let course = fixture();
    let (course, subs_s) = (course.to_str().expect("utf-8"), subs.to_str().expect("utf-8"));
    let single = tmp.join("single");
    assert!(grade(&[course, subs_s, "--out", single.to_str().expect("utf-8")]).status.success());
    let mut shard_dirs = Vec::new();
    for k in 1..=3 {
        let dir = tmp.join(format!("shard{k}"));
        let o = grade(&[course, subs_s, "--out", dir.to_str().expect("utf-8"), "--shard", &format!("{k}/3")]);
        assert!(o.status.success(), "{}", transcript(&o));
        assert!(!dir.join("gradebook.csv").exists(), "a shard writes only its gradebook");
        shard_dirs.push(dir);
    }
    let merged = tmp.join("merged");
    let mut args = vec!["merge", "--out", merged.to_str().expect("utf-8")];
    args.extend(shard_dirs.iter().map(|d| d.to_str().expect("utf-8")));
    let o = grade(&args);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(outputs(&merged) == outputs(&single), "merged shards must equal one run");
    // The same shard twice is refused.
    let twice = grade(&["merge", "--out", tmp.join("twice").to_str().expect("utf-8"), shard_dirs[0].to_str().expect("utf-8"), shard_dirs[0].to_str().expect("utf-8")]);
    assert_eq!(twice.status.code(), Some(1), "{}", transcript(&twice));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("part 1/3 is given twice"), "{}", transcript(&twice));
    // A missing part would silently drop students: refused.
    let partial = grade(&["merge", "--out", tmp.join("partial").to_str().expect("utf-8"), shard_dirs[0].to_str().expect("utf-8"), shard_dirs[2].to_str().expect("utf-8")]);
    assert_eq!(partial.status.code(), Some(1), "{}", transcript(&partial));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("shard 2/3 missing"), "{}", transcript(&partial));
    // So would a single run's folder given as a shard.
    let whole = grade(&["merge", "--out", tmp.join("whole").to_str().expect("utf-8"), single.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&whole.stderr).contains("is not a shard"), "{}", transcript(&whole));
    // Merging into a shard's own folder would lose it: refused, the shard intact.
    let into = grade(&["merge", "--out", shard_dirs[1].to_str().expect("utf-8"), shard_dirs[0].to_str().expect("utf-8"), shard_dirs[1].to_str().expect("utf-8")]);
    assert_eq!(into.status.code(), Some(1), "{}", transcript(&into));
    assert!(String::from_utf8_lossy(&into.stderr).contains("is one of the shards"), "{}", transcript(&into));
    let o = grade(&["merge", "--out", tmp.join("again").to_str().expect("utf-8"), shard_dirs[0].to_str().expect("utf-8"), shard_dirs[1].to_str().expect("utf-8"), shard_dirs[2].to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(outputs(&tmp.join("again")) == outputs(&single));
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The message of `student`'s row in gradebook.csv (its last column), or "" when graded.
fn csv_error(out: &Path, student: &str) -> String {
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).expect("csv");
    let line = csv.lines().find(|l| l.starts_with(&format!("{student},"))).unwrap_or_else(|| panic!("no row for {student} in\n{csv}"));
    if line.ends_with('"') {
        line.rsplit_once(",\"").map_or(String::new(), |(_, e)| e.trim_end_matches('"').replace("\"\"", "\""))
    } else {
        line.rsplit_once(',').map_or(String::new(), |(_, e)| e.to_owned())
    }
}

fn results(out: &Path, student: &str) -> String {
    std::fs::read_to_string(out.join("students").join(student).join("results.json")).unwrap_or_else(|_| panic!("no results for {student}"))
}

#[test]
fn every_bad_hand_in_gets_its_own_message_and_harms_nobody() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempdir("grade-bad");
    let (subs, out) = (tmp.join("subs"), tmp.join("out"));
    class(&subs, 2);
    let put = |dir: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(subs.join(dir)).expect("mkdir");
        std::fs::write(subs.join(dir).join(name), bytes).expect("write");
    };
    put("malformed", "answers.toml", b"[lessons.01-quizzes.quiz\nsingle = 'B'\n");
    put("garbage", "answers.toml", &[0x7f, 0x45, 0x4c, 0x46, 0xff, 0x00, 0x81, 0x9c]);
    put("unknown", "answers.toml", b"[lessons.01-quizzes.quiz]\nsingle = 'B'\nq99 = 'A'\n[lessons.02-challenge.quiz]\nkv = 1\n");
    put("huge", "answers.toml", format!("[lessons.01-quizzes.quiz]\narch = '{}'\n", "x".repeat(5000)).as_bytes());
    put("missing", "notes.txt", b"I forgot my answers");
    std::fs::create_dir_all(subs.join("linked")).expect("mkdir");
    std::os::unix::fs::symlink("/etc/passwd", subs.join("linked/answers.toml")).expect("symlink");
    std::os::unix::fs::symlink(subs.join("s000"), subs.join("folder-link")).expect("symlink");
    put("formula", "answers.toml", b"student = '@SUM(1+1)'\n");
    put("impostor", "answers.toml", b"student = 's001'\n[lessons.01-quizzes.quiz]\nsingle = 'A'\n");
    put("twin-a", "answers.toml", b"student = 'twin'\n");
    put("twin-b", "answers.toml", b"student = 'twin'\n");
    let bad_name = subs.join(std::ffi::OsStr::from_bytes(b"caf\xe9"));
    std::fs::create_dir_all(&bad_name).expect("mkdir");
    std::fs::write(bad_name.join("answers.toml"), "").expect("write");
    std::fs::write(subs.join("README.txt"), "not a hand-in").expect("write");

    // Outputs inside the hand-ins would be read as hand-ins next time: refused, however
    // the path is spelled.
    let sneaky = subs.join("s000/../grades");
    let o = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", sneaky.to_str().expect("utf-8")]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is inside the hand-ins folder"), "{}", transcript(&o));
    let o = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "--max-file-size", "4096"]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("README.txt: not a folder, skipped"), "{}", transcript(&o));
    // The good hand-ins are graded whatever the others hold.
    assert_eq!(csv_error(&out, "s000"), "");
    assert!(results(&out, "s000").contains("\"score\": 10.0"), "{}", results(&out, "s000"));
    assert_eq!(csv_error(&out, "s001"), "");
    let expectations = [
        ("malformed", "answers.toml is not valid TOML at line 1"),
        ("garbage", "answers.toml is not UTF-8 text"),
        ("missing", "nothing to grade: the hand-in has none of answers.toml"),
        ("linked", "nothing to grade"),
        ("folder-link", "the hand-in is a symbolic link; links are never followed"),
        ("twin", "folder `twin-a` claims student `twin`, as does `twin-b`"),
        ("caf\\xE9", "the folder's name is not valid UTF-8"),
        ("huge", "nothing to grade"),
        ("formula", "`@SUM(1+1)` cannot be a student ID"),
        ("impostor", "folder `impostor` claims student `s001`, whose own folder is graded; this one is not"),
    ];
    for (student, message) in expectations {
        assert!(csv_error(&out, student).contains(message), "{student}: {:?} lacks {message:?}", csv_error(&out, student));
    }
    assert!(results(&out, "linked").contains("answers.toml is a symbolic link; links are never followed"), "{}", results(&out, "linked"));
    assert!(results(&out, "huge").contains("answers.toml is 5"), "{}", results(&out, "huge"));
    let unknown = results(&out, "unknown");
    assert!(unknown.contains("the course has no quiz `q99`") && unknown.contains("quiz `kv` belongs to lesson `01-quizzes`, not `02-challenge`"), "{unknown}");
    assert!(!out.join("students/caf").exists());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_zip_of_folders_is_graded_and_entries_that_leave_their_folder_are_refused() {
    use std::io::Write;
    let tmp = tempdir("grade-zip");
    let zip_path = tmp.join("class.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        let mut add = |name: &str, body: &str| {
            zip.start_file(name, options).expect("entry");
            zip.write_all(body.as_bytes()).expect("write");
        };
        // LMS exports wrap the class in one folder.
        add("export/s100/answers.toml", "[lessons.01-quizzes.quiz]\nsingle = 'B'\n");
        add("export/s101/answers.toml", "[lessons.01-quizzes.quiz]\nsingle = 'A'\n");
        add("export/s102/../../evil/answers.toml", "student = 's100'\n");
        add("/abs/answers.toml", "student = 's100'\n");
        zip.start_file("export/s103/answers.toml", options.compression_method(zip::CompressionMethod::Stored)).expect("entry");
        zip.write_all(b"[lessons.01-quizzes.quiz]\nsingle = 'B'\n").expect("write");
        zip.finish().expect("zip");
    }
    // Mark s103's entry as bzip2 (method 12), which this build cannot unpack, in its local
    // and central headers: one student's odd entry must not stop the batch.
    let mut bytes = std::fs::read(&zip_path).expect("zip");
    let name = b"export/s103/answers.toml";
    for (signature, name_at, method_at) in [(b"PK\x03\x04", 30, 8), (b"PK\x01\x02", 46, 10)] {
        let at = (0..bytes.len() - name_at - name.len()).find(|&i| &bytes[i..i + 4] == signature && &bytes[i + name_at..i + name_at + name.len()] == name).expect("header");
        bytes[at + method_at..at + method_at + 2].copy_from_slice(&12u16.to_le_bytes());
    }
    std::fs::write(&zip_path, bytes).expect("write");
    let out = tmp.join("out");
    let o = grade(&[fixture().to_str().expect("utf-8"), zip_path.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(results(&out, "s100").contains("\"score\": 1.0"), "{}", results(&out, "s100"));
    assert_eq!(csv_error(&out, "s101"), "");
    assert!(csv_error(&out, "s102").contains("leaves its folder"), "{}", csv_error(&out, "s102"));
    assert!(csv_error(&out, "s103").contains("nothing to grade"), "{}", csv_error(&out, "s103"));
    assert!(results(&out, "s103").contains("answers.toml could not be unpacked"), "{}", results(&out, "s103"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`/abs/answers.toml` has `..` or an absolute path: skipped"), "{}", transcript(&o));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_batch_killed_mid_way_resumes_and_ends_like_a_clean_run() {
    let tmp = tempdir("grade-kill");
    let subs = tmp.join("subs");
    let solution = std::fs::read_to_string(root().join("courses/ai012/exercises/attention/solution.py")).expect("solution");
    for i in 0..5 {
        let d = subs.join(format!("k{i}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("attention.py"), format!("{solution}\n# {i}\n")).expect("write");
        std::fs::write(d.join("answers.toml"), "[lessons.02-llm-architectures.quiz]\nq1 = 'A'\n").expect("write");
    }
    let course = root().join("courses/ai012");
    let killed = tmp.join("killed");
    let args = |out: &Path| vec!["grade".to_owned(), course.display().to_string(), subs.display().to_string(), "--out".into(), out.display().to_string(), "--jobs".into(), "1".into()];
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lectern"))
        .args(args(&killed))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until some hand-ins, not all, are in the gradebook, then kill -9.
    let db = killed.join("gradebook.sqlite");
    let started = std::time::Instant::now();
    loop {
        let n: i64 = rusqlite::Connection::open(&db).ok().and_then(|c| c.query_row("SELECT count(*) FROM handins", [], |r| r.get(0)).ok()).unwrap_or(0);
        if n >= 1 || started.elapsed() > std::time::Duration::from_secs(120) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    let resumed = std::process::Command::new(assert_cmd::cargo::cargo_bin("lectern")).args(args(&killed)).output().expect("runs");
    assert!(resumed.status.success(), "{}", transcript(&resumed));
    let said = stdout(&resumed);
    // Some hand-ins were in the gradebook before the kill, not all: the rerun grades the
    // rest and keeps those.
    let count = |what: &str| said.split(", ").chain(said.split("; ")).find_map(|p| p.trim().strip_suffix(what).and_then(|n| n.rsplit(' ').next()?.parse::<usize>().ok()));
    let (new, kept) = (count(" new or changed").expect("a count"), count(" unchanged").expect("a count"));
    assert!(new >= 1 && kept >= 1 && new + kept == 5, "the rerun must pick up where the batch stopped: {said}");
    let clean = tmp.join("clean");
    let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("lectern")).args(args(&clean)).output().expect("runs");
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(outputs(&killed) == outputs(&clean), "a resumed batch must end as a clean run does");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn the_sample_class_grades_as_its_readme_says() {
    let tmp = tempdir("grade-sample");
    let out = tmp.join("out");
    let o = grade(&["courses/ai012", "courses/ai012/sample-class", "--out", out.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(stdout(&o).contains("graded 21 hand-ins (code on cpu): 21 new or changed, 0 unchanged; 2 could not be graded"), "{}", stdout(&o));
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).expect("csv");
    let total = |student: &str| csv.lines().find(|l| l.starts_with(&format!("{student},"))).and_then(|l| l.split(',').nth(14)).unwrap_or_default().to_owned();
    assert_eq!(total("s19"), "62", "everything right\n{csv}");
    assert_eq!(total("s01"), "24");
    assert!(csv_error(&out, "s06").contains("not valid TOML at line 2"));
    assert_eq!(csv_error(&out, "s13"), "", "the folder named s13 keeps its grade");
    assert!(csv_error(&out, "s13-resubmit").contains("claims student `s13`, whose own folder is graded"));
    assert!(results(&out, "s11").contains("the course has no lesson `01-intro` with questions"));
    assert!(results(&out, "s09").contains("syntax error at line"), "{}", results(&out, "s09"));
    let report = std::fs::read_to_string(out.join("report.html")).expect("report");
    assert!(report.contains("students/s04/results.json") && report.contains("near-copy of the published solution"), "the report lists flagged answers");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn names_are_compared_in_nfc_and_shown_as_text() {
    let tmp = tempdir("grade-names");
    let (subs, out) = (tmp.join("subs"), tmp.join("out"));
    let quiz = "[lessons.01-quizzes.quiz]\nsingle = \"B\"\n";
    let put = |dir: &str, student: &str| {
        std::fs::create_dir_all(subs.join(dir)).expect("mkdir");
        std::fs::write(subs.join(dir).join("answers.toml"), format!("student = \"{student}\"\n{quiz}")).expect("write");
    };
    // macOS names folders in NFD; the page writes `student = ""` when no ID was typed.
    put("Jose\u{301}", "");
    // The same name in NFC as well (two downloads merged): one student, one graded row.
    put("Jos\u{e9}", "");
    // A folder in NFD named after the student, and another folder claiming the same
    // student in NFC: the first keeps the grade.
    put("Zoe\u{308}", "");
    put("zoe-copy", "Zo\u{eb}");
    put("tab", "a\\tb");
    // A folder named with a terminal escape: shown, never replayed.
    put("red\u{1b}[31m\u{7}", "");
    let o = grade(&[fixture().to_str().expect("utf-8"), subs.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert_eq!(csv_error(&out, "Jos\u{e9}"), "");
    assert!(results(&out, "Jos\u{e9}").contains("\"score\""), "{}", results(&out, "Jos\u{e9}"));
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).expect("csv");
    assert_eq!(csv.lines().filter(|l| l.starts_with("Jos\u{e9},")).count(), 1, "one row for the student:\n{csv}");
    assert_eq!(csv.matches("names the same student as folder `Jos\u{e9}`").count(), 1, "the other folder is an error row:\n{csv}");
    assert_eq!(csv_error(&out, "Zo\u{eb}"), "");
    assert!(csv_error(&out, "zoe-copy").contains("claims student `Zo\u{eb}`, whose own folder is graded"), "{}", csv_error(&out, "zoe-copy"));
    let tab = csv_error(&out, "tab");
    assert!(tab.contains("`a\u{fffd}b` cannot be a student ID"), "{tab}");
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).expect("csv");
    assert!(!csv.contains("\\u{") && !csv.contains("\\t"), "Rust escapes reached the gradebook:\n{csv}");
    let report = std::fs::read_to_string(out.join("report.html")).expect("report");
    for (name, text) in [("gradebook.csv", &csv), ("report.html", &report)] {
        assert!(!text.contains(['\u{1b}', '\u{7}']), "a control character reached {name}");
    }
    assert!(csv.contains("red\u{fffd}[31m\u{fffd}"), "{csv}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_run_that_finds_fewer_hand_ins_changes_nothing_unless_told_to_prune() {
    let tmp = tempdir("grade-fewer");
    let (subs, out) = (tmp.join("subs"), tmp.join("out"));
    class(&subs, 3);
    let course = fixture();
    let course = course.to_str().expect("utf-8");
    let run = |from: &Path, extra: &[&str]| {
        let mut args = vec![course, from.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8")];
        args.extend_from_slice(extra);
        grade(&args)
    };
    let o = run(&subs, &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    let before = outputs(&out);
    let database = || std::fs::read(out.join("gradebook.sqlite")).expect("gradebook");
    let db_before = database();

    // An empty folder, loose files that are no LMS's download (no folder per student),
    // and a Canvas download of one student (tests/cli/lms.rs), which the gradebook's
    // three are not among.
    let empty = tmp.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let flat = tmp.join("flat");
    std::fs::create_dir_all(&flat).expect("mkdir");
    std::fs::write(flat.join("ada-answers.toml"), "").expect("write");
    let canvas = tmp.join("canvas");
    std::fs::create_dir_all(&canvas).expect("mkdir");
    std::fs::write(canvas.join("ada_123_456_answers.toml"), "").expect("write");
    for (from, says) in [(&empty, "no hand-in folders found in"), (&flat, "1 entries skipped as not folders"), (&canvas, "holds 3 hand-ins that")] {
        let o = run(from, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{}", transcript(&o));
        assert_eq!(outputs(&out), before, "the exports changed");
        assert_eq!(database(), db_before, "the gradebook changed");
    }

    // One hand-in fewer: refused, then dropped with --prune.
    std::fs::remove_dir_all(subs.join("s001")).expect("rm");
    let o = run(&subs, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds 1 hand-in that") && String::from_utf8_lossy(&o.stderr).contains("`s001`"), "{}", transcript(&o));
    assert_eq!(outputs(&out), before, "the exports changed");
    let o = run(&subs, &["--prune"]);
    assert!(o.status.success(), "{}", transcript(&o));
    let csv = std::fs::read_to_string(out.join("gradebook.csv")).expect("csv");
    assert!(!csv.contains("s001,") && csv.contains("s000,") && csv.contains("s002,"), "{csv}");
    let _ = std::fs::remove_dir_all(&tmp);
}
