//! Hand-ins as LMSs deliver them: Canvas's flat submission download and Moodle's "Download
//! all submissions", graded as they come, each student by the ID the LMS's gradebook
//! matches on, with Canvas's LATE mark kept as a column.
//!
//! The two example downloads are in `tests/fixtures/grade/lms/` (its README lists what
//! each holds); both are graded against the fixture course `tests/fixtures/grade/course`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::{lectern, root, tempdir, transcript};


fn example(name: &str) -> PathBuf {
    root().join("tests/fixtures/grade/lms").join(name)
}

/// `lectern grade <fixture course> <submissions> --out <out> [extra…]`.
fn grade(submissions: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let course = root().join("tests/fixtures/grade/course");
    let mut args = vec!["grade".to_owned(), course.display().to_string(), submissions.display().to_string(), "--out".into(), out.display().to_string()];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    lectern(&root(), &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn results(out: &Path, student: &str) -> serde_json::Value {
    serde_json::from_str(&read(&out.join("students").join(student).join("results.json"))).expect("results.json is JSON")
}

/// Every hand-in in the gradebook: (source, student, late as stored).
fn stored(out: &Path) -> Vec<(String, String, Option<bool>)> {
    let db = rusqlite::Connection::open(out.join("gradebook.sqlite")).expect("gradebook");
    let mut stmt = db.prepare("SELECT source, student, late FROM handins ORDER BY source").expect("query");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("rows").collect::<Result<_, _>>().expect("rows")
}

fn row(source: &str, student: &str, late: Option<bool>) -> (String, String, Option<bool>) {
    (source.into(), student.into(), late)
}

/// Unpacks a zip into `dir`, as an instructor would before grading the folder.
fn unpack(zip_path: &Path, dir: &Path) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip_path).expect("zip")).expect("readable zip");
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let path = dir.join(entry.enclosed_name().expect("a name inside the folder"));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("unpack");
        std::fs::write(path, bytes).expect("write");
    }
}

/// A zip of `entries` (name, contents), written as given.
fn zip_of(path: &Path, entries: &[(&str, &str)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).expect("create"));
    for (name, body) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).expect("entry");
        zip.write_all(body.as_bytes()).expect("write");
    }
    zip.finish().expect("zip");
}

/// What Canvas's download grades to. The student is Canvas's user ID (whatever
/// `student` in answers.toml says), `Late` is Canvas's mark, `doejohn` handed
/// `answers.toml` in again (Canvas named it `answers-1.toml`), and of `leeann`'s
/// `answers.toml` and `answers-2.toml` the second counts.
const CANVAS_CSV: &str = "\
Student,SIS User ID,SIS Login ID,Section,single,all,rmw,kv,ppl,arch,paren,bottleneck/step1,Final Points,Late,Error
Points Possible,,,,1,2,3,1,1,1,1,3,13,,
12345,12345,12345,,1,2,3,1,1,1,1,3,13,false,
23456,23456,23456,,1,0,0,0,0,0,0,0,1,true,
34567,34567,34567,,1,0,0,1,0,0,0,0,2,false,
45678,45678,45678,,1,0,0,0,0,0,0,0,1,true,
";

#[test]
fn canvas_flat_download_is_graded_by_user_id_with_the_late_mark_as_a_column() {
    let tmp = tempdir("lms-canvas");
    let out = tmp.join("out");
    let o = grade(&example("canvas-flat.zip"), &out, &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(stderr(&o).contains("note: read as Canvas's submission download: 4 students from 7 files, each by Canvas user ID"), "{}", transcript(&o));
    assert_eq!(read(&out.join("gradebook.csv")), CANVAS_CSV);
    // The gradebook keeps the mark; results.json has it in Gradescope's `extra_data`.
    assert_eq!(stored(&out), [row("12345", "12345", Some(false)), row("23456", "23456", Some(true)), row("34567", "34567", Some(false)), row("45678", "45678", Some(true))]);
    assert_eq!(results(&out, "23456")["extra_data"], serde_json::json!({ "late": true }));
    assert_eq!(results(&out, "12345")["extra_data"], serde_json::json!({ "late": false }));
    let leeann = results(&out, "34567");
    assert!(leeann["output"].as_str().is_some_and(|s| s.contains("answers.toml was handed in 2 times (`answers.toml`, `answers-2.toml`); the last, `answers-2.toml`, was graded")), "{leeann}");
    // `student = "jane.smith@uni.example"` in 12345's answers names no row of its own.
    assert!(!out.join("students/jane.smith@uni.example").exists());

    // The same download unpacked into a folder grades the same.
    let folder = tmp.join("unpacked");
    unpack(&example("canvas-flat.zip"), &folder);
    let o = grade(&folder, &tmp.join("from-folder"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert_eq!(read(&tmp.join("from-folder/gradebook.csv")), CANVAS_CSV);
    assert_eq!(results(&tmp.join("from-folder"), "34567"), leeann);

    // Zipped again inside its folder (one enclosing folder is looked through), too.
    let rezipped = tmp.join("rezipped.zip");
    let mut archive = zip::ZipArchive::new(std::fs::File::open(example("canvas-flat.zip")).expect("zip")).expect("zip");
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("entry");
        let mut body = String::new();
        entry.read_to_string(&mut body).expect("text");
        entries.push((format!("submissions/{}", entry.name()), body));
    }
    zip_of(&rezipped, &entries.iter().map(|(n, b)| (n.as_str(), b.as_str())).collect::<Vec<_>>());
    let o = grade(&rezipped, &tmp.join("rezipped"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert_eq!(read(&tmp.join("rezipped/gradebook.csv")), CANVAS_CSV);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// What Moodle's download grades to: each participant by participant ID, a participant's
/// file and online-text folders one hand-in, one who handed in only text an error row.
const MOODLE_CSV: &str = "\
Student,SIS User ID,SIS Login ID,Section,single,all,rmw,kv,ppl,arch,paren,bottleneck/step1,Final Points,Error
Points Possible,,,,1,2,3,1,1,1,1,3,13,
1234567,1234567,1234567,,1,2,3,1,1,1,1,3,13,
2345678,2345678,2345678,,1,0,0,0,0,0,0,0,1,
3456789,3456789,3456789,,1,0,0,1,0,0,0,0,2,
4567890,4567890,4567890,,,,,,,,,,,nothing to grade: the hand-in has none of answers.toml
";

#[test]
fn moodle_folders_are_graded_by_participant_id_with_a_participants_folders_merged() {
    let tmp = tempdir("lms-moodle");
    let out = tmp.join("out");
    let o = grade(&example("moodle-folders.zip"), &out, &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(stderr(&o).contains("note: read as Moodle's download of all submissions in folders: 4 participants from 5 folders, each by participant ID"), "{}", transcript(&o));
    // Moodle's names carry no LATE mark: no `Late` column, nothing stored.
    assert_eq!(read(&out.join("gradebook.csv")), MOODLE_CSV);
    assert!(stored(&out).iter().all(|(_, _, late)| late.is_none()));
    assert!(results(&out, "1234567").get("extra_data").is_none());

    // Unpacked into a folder, the same.
    let folder = tmp.join("unpacked");
    unpack(&example("moodle-folders.zip"), &folder);
    let o = grade(&folder, &tmp.join("from-folder"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert_eq!(read(&tmp.join("from-folder/gradebook.csv")), MOODLE_CSV);

    // Without "Download submissions in folders" the same names are flat; newer Moodles
    // name a folder without its last `_`. A file in two of a participant's folders is
    // read from neither: which one counts is not clear.
    let full = read(&folder.join("Jane Smith_1234567_assignsubmission_file_/answers.toml"));
    let flat = tmp.join("flat.zip");
    zip_of(&flat, &[("Jane Smith_1234567_assignsubmission_file_answers.toml", &full), ("Jane Smith_1234567_assignsubmission_onlinetext_onlinetext.html", "<p>x</p>")]);
    let o = grade(&flat, &tmp.join("flat"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(stderr(&o).contains("read as Moodle's download of all submissions, flat: 1 participant from 2 files"), "{}", transcript(&o));
    assert!(read(&tmp.join("flat/gradebook.csv")).contains("\n1234567,1234567,1234567,,1,2,3,1,1,1,1,3,13,\n"));
    let newer = tmp.join("newer.zip");
    zip_of(
        &newer,
        &[
            ("Jane Smith_1234567_assignsubmission_file/answers.toml", &full),
            ("John Doe_2345678_assignsubmission_file/answers.toml", &full),
            ("John Doe_2345678_assignsubmission_onlinetext/answers.toml", &full),
        ],
    );
    let o = grade(&newer, &tmp.join("newer"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(read(&tmp.join("newer/gradebook.csv")).contains("\n1234567,1234567,1234567,,1,2,3,1,1,1,1,3,13,\n"));
    let twice = results(&tmp.join("newer"), "2345678")["output"].as_str().unwrap_or_default().to_owned();
    assert!(twice.contains("nothing to grade") && twice.contains("answers.toml was handed in 2 times under the same name"), "{twice}");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_changed_late_mark_is_recorded_on_a_rerun_and_shards_keep_the_marks() {
    let tmp = tempdir("lms-rerun");
    let (folder, out) = (tmp.join("download"), tmp.join("out"));
    unpack(&example("canvas-flat.zip"), &folder);
    assert!(grade(&folder, &out, &[]).status.success());
    // The instructor extends doejohn's deadline; the next download has no LATE mark.
    std::fs::rename(folder.join("doejohn_LATE_23456_67900_answers-1.toml"), folder.join("doejohn_23456_67900_answers-1.toml")).expect("rename");
    let o = grade(&folder, &out, &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 new or changed, 3 unchanged"), "{}", transcript(&o));
    assert!(read(&out.join("gradebook.csv")).contains("\n23456,23456,23456,,1,0,0,0,0,0,0,0,1,false,\n"));
    assert_eq!(results(&out, "23456")["extra_data"], serde_json::json!({ "late": false }));

    // Shards merged write what one run writes, marks and all.
    let mut shards = Vec::new();
    for k in 1..=2 {
        let dir = tmp.join(format!("shard{k}"));
        let o = grade(&example("canvas-flat.zip"), &dir, &["--shard", &format!("{k}/2")]);
        assert!(o.status.success(), "{}", transcript(&o));
        shards.push(dir.display().to_string());
    }
    let merged = tmp.join("merged").display().to_string();
    let mut args = vec!["grade", "merge", "--out", merged.as_str()];
    args.extend(shards.iter().map(String::as_str));
    let o = lectern(&root(), &args);
    assert!(o.status.success(), "{}", transcript(&o));
    assert_eq!(read(&tmp.join("merged/gradebook.csv")), CANVAS_CSV);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_layout_with_names_that_do_not_fit_is_refused_naming_them_and_nothing_changes() {
    let tmp = tempdir("lms-refused");
    let answers = "[lessons.01-quizzes.quiz]\nsingle = \"B\"\n";
    let folder = |name: &str, files: &[&str]| {
        let dir = tmp.join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        for f in files {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, answers).expect("write");
        }
        dir
    };
    let cases = [
        // A file that is not Canvas's beside Canvas's: whose is it?
        (folder("stray", &["smithjane_12345_67890_answers.toml", "doejohn_23456_67900_answers.toml", "README.txt"]), "2 of the files are named as in Canvas's submission download (`name[_LATE]_<user id>_<file id>_<file name>`), but `README.txt` is not"),
        // Looks like Canvas's, but the user cannot be read from it.
        (folder("unreadable", &["smithjane_LATE_x9_67890_answers.toml"]), "`smithjane_LATE_x9_67890_answers.toml` is named like an LMS's download, but whose file it is cannot be told"),
        // Moodle's folders and a student's own.
        (folder("mixed", &["Jane Smith_1234567_assignsubmission_file_/answers.toml", "s001/answers.toml"]), "1 of the folders is named as Moodle names a participant's (`Full Name_<participant id>_assignsubmission_file_`), but `s001` is not"),
        (folder("moodle-odd", &["Jane Smith_1234567_assignsubmission_file_/answers.toml", "John Doe_x_assignsubmission_file_/answers.toml"]), "but `John Doe_x_assignsubmission_file_` is not"),
        // Nothing of an LMS's and no folder: the refusal there always was.
        (folder("unrecognised", &["answers.toml", "notes.txt"]), "no hand-in folders found in"),
    ];
    for (submissions, says) in &cases {
        let out = tmp.join("out");
        let o = grade(submissions, &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
        assert!(stderr(&o).contains(says), "{} lacks {says:?}:\n{}", submissions.display(), transcript(&o));
        assert!(stderr(&o).contains("nothing was changed"), "{}", transcript(&o));
        assert!(!out.exists(), "a refused run wrote {}", out.display());
    }
    // Student folders stay student folders, a Canvas-named file beside them skipped and said so.
    let plain = folder("plain", &["s001/answers.toml", "s002/answers.toml", "smithjane_12345_67890_answers.toml"]);
    let o = grade(&plain, &tmp.join("plain-out"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(stderr(&o).contains("smithjane_12345_67890_answers.toml: not a folder, skipped"), "{}", transcript(&o));
    assert!(stderr(&o).contains("1 file beside the folders is named as in an LMS's submission download"), "{}", transcript(&o));
    assert_eq!(stored(&tmp.join("plain-out")), [row("s001", "s001", None), row("s002", "s002", None)]);
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn hostile_names_in_a_download_neither_escape_nor_crash_and_are_shown_as_text() {
    let tmp = tempdir("lms-hostile");
    let answers = "[lessons.01-quizzes.quiz]\nsingle = \"B\"\n";
    let long = format!("{}_5_6_answers.toml", "a".repeat(20_000));
    let zip_path = tmp.join("hostile.zip");
    zip_of(
        &zip_path,
        &[
            ("smith\u{7}jane\u{1b}[2J_1_2_answers.toml", answers),
            // NFD in the name part: the ID is the user ID all the same.
            ("nu\u{303}n\u{303}ez_3_4_answers.toml", answers),
            (long.as_str(), answers),
            // A file named `..`: never a path, and not a file grading wants.
            ("odd_7_8_..", answers),
            ("../evil_9_10_answers.toml", answers),
            ("/abs_11_12_answers.toml", answers),
            ("C:\\win_13_14_answers.toml", answers),
        ],
    );
    let out = tmp.join("out");
    let o = grade(&zip_path, &out, &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert_eq!(stored(&out), [row("1", "1", Some(false)), row("3", "3", Some(false)), row("5", "5", Some(false)), row("7", "7", Some(false))]);
    for skipped in ["`../evil_9_10_answers.toml` has `..` or an absolute path: skipped", "`/abs_11_12_answers.toml` has `..` or an absolute path: skipped", "`C:\\win_13_14_answers.toml` has `..` or an absolute path: skipped"] {
        assert!(stderr(&o).contains(skipped), "{}", transcript(&o));
    }
    assert!(results(&out, "7")["output"].as_str().is_some_and(|s| s.contains("nothing to grade")));
    assert!(!tmp.join("evil_9_10_answers.toml").exists() && !Path::new("/abs_11_12_answers.toml").exists());
    let students: Vec<String> = std::fs::read_dir(out.join("students")).expect("students").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    assert!(students.iter().all(|s| s.bytes().all(|b| b.is_ascii_digit())), "{students:?}");

    // A name that cannot be read is named in the refusal as text: control characters as
    // U+FFFD, cut short.
    let unreadable = tmp.join("unreadable.zip");
    let name = format!("x\u{1b}[31m\u{0}_LATE_{}_1_answers.toml", "9".repeat(500));
    zip_of(&unreadable, &[(name.as_str(), answers), ("smithjane_1_2_answers.toml", answers)]);
    let o = grade(&unreadable, &tmp.join("never"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    assert!(stderr(&o).contains("but `x\u{fffd}[31m\u{fffd}_LATE_9999"), "{}", transcript(&o));
    assert!(!stderr(&o).contains('\u{1b}') && !stderr(&o).contains(&"9".repeat(100)), "{}", transcript(&o));

    // On disk: a link named as Canvas names files is never followed.
    let folder = tmp.join("linked");
    std::fs::create_dir_all(&folder).expect("mkdir");
    std::os::unix::fs::symlink("/etc/passwd", folder.join("smithjane_1_2_answers.toml")).expect("symlink");
    std::fs::write(folder.join("smith\u{7}jane_3_4_answers.toml"), answers).expect("write");
    let o = grade(&folder, &tmp.join("linked-out"), &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(results(&tmp.join("linked-out"), "1")["output"].as_str().is_some_and(|s| s.contains("answers.toml is a symbolic link; links are never followed")));
    assert_eq!(results(&tmp.join("linked-out"), "3")["score"], serde_json::json!(1.0));
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn a_gradebook_written_before_the_late_column_is_brought_up_to_date() {
    let tmp = tempdir("lms-schema");
    let (subs, out) = (tmp.join("subs"), tmp.join("out"));
    for s in ["s001", "s002"] {
        std::fs::create_dir_all(subs.join(s)).expect("mkdir");
        std::fs::write(subs.join(s).join("answers.toml"), "[lessons.01-quizzes.quiz]\nsingle = \"B\"\n").expect("write");
    }
    assert!(grade(&subs, &out, &[]).status.success());
    let csv = read(&out.join("gradebook.csv"));
    // Make it what the last version wrote: schema 1, no `late` column.
    {
        let db = rusqlite::Connection::open(out.join("gradebook.sqlite")).expect("gradebook");
        db.execute_batch("ALTER TABLE handins DROP COLUMN late; UPDATE meta SET value = '1' WHERE name = 'schema';").expect("downgrade");
    }
    let o = grade(&subs, &out, &[]);
    assert!(o.status.success(), "{}", transcript(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 new or changed, 2 unchanged"), "{}", transcript(&o));
    assert_eq!(read(&out.join("gradebook.csv")), csv);
    let db = rusqlite::Connection::open(out.join("gradebook.sqlite")).expect("gradebook");
    let schema: String = db.query_row("SELECT value FROM meta WHERE name = 'schema'", [], |r| r.get(0)).expect("schema");
    assert_eq!(schema, "2");
    assert_eq!(stored(&out), [row("s001", "s001", None), row("s002", "s002", None)]);
    // A gradebook from a later version is refused, not misread.
    db.execute("UPDATE meta SET value = '3' WHERE name = 'schema'", []).expect("bump");
    drop(db);
    let o = grade(&subs, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", transcript(&o));
    assert!(stderr(&o).contains("written by another version of Lectern (schema 3, this one reads 2)"), "{}", transcript(&o));
    let _ = std::fs::remove_dir_all(&tmp);
}
