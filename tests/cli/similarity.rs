//! Similarity, measured and as instructors meet it.
//!
//! The test set (`tests/fixtures/similarity/`, see its manifest): independent correct
//! solutions of two ai012 exercises in many styles, disguised copies of some of them,
//! and hand-ins of the starter code alone. Each exercise's files are compared as one
//! class, as `lectern grade` compares them. Every disguised pair must score above every
//! independent pair (ROC AUC 1, a positive worst margin), every disguised pair must
//! reach the default threshold, and no starter-only pair may.
//!
//! Then `lectern grade` on the sample class: `similarity.html` beside `report.html`,
//! linked from it, never in a student's `results.json`, re-used from the gradebook while
//! nothing changed, recomputed when the threshold changes, and the same through a merge.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use lectern_grade::similarity::DEFAULT_THRESHOLD;
use lectern_similarity::{compare_code, CodeConfig};

use crate::{lectern, root, tempdir, transcript};

#[derive(serde::Deserialize)]
struct Manifest {
    file: Vec<Entry>,
}

#[derive(serde::Deserialize)]
struct Entry {
    path: String,
    exercise: String,
    kind: String,
    from: Option<String>,
}

/// Named pairs with their scores.
type Scored = Vec<(String, f64)>;

/// (score of each disguised pair, of each independent pair, of each starter-only pair),
/// per exercise, over both sides (`|A ∩ B| / |A ∪ B|`).
fn scores() -> BTreeMap<String, (Scored, Scored, Scored)> {
    let dir = root().join("tests/fixtures/similarity");
    let manifest: Manifest = toml::from_str(&fs::read_to_string(dir.join("manifest.toml")).expect("manifest")).expect("manifest.toml");
    let mut out = BTreeMap::new();
    let exercises: std::collections::BTreeSet<&str> = manifest.file.iter().map(|f| f.exercise.as_str()).collect();
    for exercise in exercises {
        let files: Vec<&Entry> = manifest.file.iter().filter(|f| f.exercise == exercise).collect();
        let sources: Vec<String> = files.iter().map(|f| fs::read_to_string(dir.join(&f.path)).expect("hand-in")).collect();
        let texts: Vec<&str> = sources.iter().map(String::as_str).collect();
        let starter = fs::read_to_string(root().join("courses/ai012/exercises").join(exercise).join("starter.py")).expect("starter");
        let config = CodeConfig { min_over_both: 0.0, ..CodeConfig::default() };
        let found = compare_code(Some(&starter), &texts, &config).expect("compared");
        let score: BTreeMap<(usize, usize), f64> = found.pairs.iter().map(|p| ((p.a, p.b), p.over_both)).collect();
        // The file each one derives from (itself for an original).
        let family = |i: usize| files[i].from.clone().unwrap_or_else(|| files[i].path.clone());
        let (mut copied, mut independent, mut starter_only) = (Vec::new(), Vec::new(), Vec::new());
        for a in 0..files.len() {
            for b in a + 1..files.len() {
                let s = score.get(&(a, b)).copied().unwrap_or(0.0);
                let name = format!("{} ~ {}", files[a].path, files[b].path);
                match (files[a].kind.as_str(), files[b].kind.as_str()) {
                    ("starter-only", "starter-only") => starter_only.push((name, s)),
                    ("starter-only", _) | (_, "starter-only") => {}
                    _ if family(a) == family(b) => copied.push((name, s)),
                    _ => independent.push((name, s)),
                }
            }
        }
        out.insert(exercise.to_string(), (copied, independent, starter_only));
    }
    out
}

#[test]
fn every_disguised_copy_ranks_above_every_independent_pair_and_starter_code_matches_nothing() {
    let mut report = String::new();
    for (exercise, (copied, independent, starter_only)) in scores() {
        assert!(copied.len() >= 10 && independent.len() >= 100 && starter_only.len() >= 3, "{exercise}: the test set is smaller than it should be");
        let (lowest_copy, top_independent) = (
            copied.iter().min_by(|a, b| a.1.total_cmp(&b.1)).expect("copies"),
            independent.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("independent pairs"),
        );
        // ROC AUC: the chance that a disguised pair outscores an independent one.
        let mut wins = 0.0;
        for (_, c) in &copied {
            for (_, i) in &independent {
                wins += if c > i { 1.0 } else if c == i { 0.5 } else { 0.0 };
            }
        }
        let auc = wins / (copied.len() * independent.len()) as f64;
        let top_starter = starter_only.iter().map(|s| s.1).fold(0.0, f64::max);
        report.push_str(&format!(
            "{exercise}: {} disguised pairs, {} independent pairs; ROC AUC {auc:.4}; lowest disguised {:.3} ({}), highest independent {:.3} ({}), worst margin {:+.3}; highest starter-only pair {top_starter:.3}\n",
            copied.len(),
            independent.len(),
            lowest_copy.1,
            lowest_copy.0,
            top_independent.1,
            top_independent.0,
            lowest_copy.1 - top_independent.1
        ));
        assert!(auc == 1.0 && lowest_copy.1 > top_independent.1, "{exercise}: a disguised pair ranks at or below an independent pair:\n{report}");
        assert!(lowest_copy.1 >= DEFAULT_THRESHOLD, "{exercise}: a disguised pair is under the default threshold {DEFAULT_THRESHOLD}:\n{report}");
        assert!(top_independent.1 < DEFAULT_THRESHOLD, "{exercise}: an independent pair reaches the default threshold {DEFAULT_THRESHOLD}:\n{report}");
        assert!(top_starter < DEFAULT_THRESHOLD, "{exercise}: starter-only hand-ins match each other:\n{report}");
    }
    eprint!("{report}");
}

fn results_of(out: &Path) -> String {
    let mut all = String::new();
    for entry in fs::read_dir(out.join("students")).expect("students").flatten() {
        all.push_str(&fs::read_to_string(entry.path().join("results.json")).unwrap_or_default());
    }
    all
}

#[test]
fn grading_the_sample_class_writes_similarity_html_for_the_instructor_only() {
    let tmp = tempdir("similarity-sample");
    let out = tmp.join("out");
    let grade = |extra: &[&str]| {
        let mut args = vec!["grade", "courses/ai012", "courses/ai012/sample-class", "--out", out.to_str().expect("utf-8")];
        args.extend(extra);
        let o = lectern(&root(), &args);
        assert!(o.status.success(), "{}", transcript(&o));
        fs::read_to_string(out.join("similarity.html")).expect("similarity.html")
    };
    let page = grade(&[]);
    // s12 handed in the published kv-cache solution, as s19 did: the same code, one
    // member of two students, listed as a pair.
    assert!(page.contains("<tr><td>s12</td><td>s19</td><td class=\"num\">100%</td>"), "{page}");
    assert!(page.contains("s12 and s19: the same code, byte for byte"));
    assert!(page.contains("line-shared"), "no shared fragment is marked");
    assert!(page.contains("Group of "), "no group of three or more");
    // Self-contained: no script, nothing loaded from elsewhere.
    for banned in ["<script", "src=\"http", "href=\"http", "@import"] {
        assert!(!page.contains(banned), "similarity.html has {banned}");
    }
    let report = fs::read_to_string(out.join("report.html")).expect("report");
    assert!(report.contains("<a href=\"similarity.html\">similarity.html</a>"), "report.html does not link to similarity.html");
    let results = results_of(&out);
    assert!(!results.to_lowercase().contains("similar"), "a student's results.json speaks of the review");

    // Kept in the gradebook and re-used while nothing changed: a stored result that the
    // finder would never give shows through on a rerun …
    let db = rusqlite::Connection::open(out.join("gradebook.sqlite")).expect("gradebook");
    let stored: String = db.query_row("SELECT pairs FROM similarity WHERE item = 'causal-attention'", [], |r| r.get(0)).expect("causal-attention's pairs are kept");
    assert!(stored.contains("\"score\":0.8"), "{stored}");
    db.execute("UPDATE similarity SET pairs = json_set(pairs, '$.pairs[0].score', 0.987) WHERE item = 'causal-attention'", []).expect("update");
    drop(db);
    assert!(grade(&[]).contains("<td class=\"num\">99%</td>"), "the kept result was not re-used");
    // … and a changed threshold compares again: every pair listed now reaches it.
    let strict = grade(&["--similarity-threshold", "0.95"]);
    assert!(!strict.contains("99%") && strict.contains("at a score of 0.95 or more"), "the threshold did not apply");
    assert!(!strict.contains("<td class=\"num\">40%</td>"), "a pair under the threshold is listed");

    // A threshold outside 0..1 is a usage error with a message.
    let o = lectern(&root(), &["grade", "courses/ai012", "courses/ai012/sample-class", "--out", out.to_str().expect("utf-8"), "--similarity-threshold", "1.5"]);
    assert_eq!(o.status.code(), Some(2), "{}", transcript(&o));
    assert!(transcript(&o).contains("expected a number from 0 to 1"), "{}", transcript(&o));
    let _ = fs::remove_dir_all(&tmp);
}

/// A kept review is re-used only for exactly the texts it was made from: two classes
/// whose answers join into the same bytes (a NUL inside an answer) do not share one, so a
/// rerun after the class changed shows what a fresh run shows, and never crashes.
#[test]
fn a_kept_review_is_never_re_used_for_other_texts() {
    let tmp = tempdir("similarity-reuse");
    let t1 = "Cross-attention over the whole encoded input costs the most at every decoding step.";
    let t2 = "Cross-attention over the whole encoded input costs the most at each decoding step!";
    let write = |class: &str, a: &str, b: &str| {
        for (student, text) in [("a", a), ("b", b)] {
            let dir = tmp.join(class).join(student);
            fs::create_dir_all(&dir).expect("mkdir");
            let answer = toml::Value::String(text.to_string()).to_string();
            fs::write(dir.join("answers.toml"), format!("[lessons.02-challenge.challenge.bottleneck]\nstep1 = {answer}\n")).expect("write");
        }
    };
    write("one", t1, t2);
    write("two", &format!("{t1}\u{0}b\u{0}{t2}"), "");
    let grade = |class: &str, out: &str| {
        let o = lectern(&root(), &["grade", "tests/fixtures/grade/course", &tmp.join(class).to_string_lossy(), "--out", &tmp.join(out).to_string_lossy(), "--prune"]);
        assert!(o.status.success(), "{}", transcript(&o));
        fs::read_to_string(tmp.join(out).join("similarity.html")).expect("similarity.html")
    };
    for (first, second) in [("one", "two"), ("two", "one")] {
        let fresh = grade(second, &format!("fresh-{second}"));
        grade(first, &format!("rerun-{first}-{second}"));
        let rerun = grade(second, &format!("rerun-{first}-{second}"));
        assert_eq!(rerun, fresh, "a rerun after {first} shows other pairs than a fresh run of {second}");
    }
    assert!(grade("one", "fresh-one").contains("<tr><td>a</td><td>b</td>"), "the copied pair is not listed");
    let _ = fs::remove_dir_all(&tmp);
}
