//! Reviewing free text by groups: `report.html` groups near-identical answers to a step,
//! and the `[[group]]` it offers, pasted into `overrides.toml`, grades every answer of
//! the group at once (a student's own `[[override]]` still wins).

use std::fs;

use crate::{lectern, root, tempdir, transcript};

fn handin(folder: &std::path::Path, student: &str, answer: &str) {
    let dir = folder.join(student);
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("answers.toml"), format!("[lessons.02-challenge.challenge.bottleneck]\nstep1 = {}\n", toml::Value::String(answer.into()))).expect("write");
}

fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

fn step_score(out: &std::path::Path, student: &str) -> f64 {
    let results: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join(format!("students/{student}/results.json"))).expect("results.json")).expect("json");
    results["tests"].as_array().expect("tests").iter().find(|t| t["name"].as_str().is_some_and(|n| n.starts_with("bottleneck/step1"))).expect("the step")["score"].as_f64().expect("a score")
}

#[test]
fn a_group_of_near_identical_answers_is_graded_at_once() {
    let tmp = tempdir("review-groups");
    let (handins, out) = (tmp.join("handins"), tmp.join("out"));
    let shared = "The decoder has to look back at everything the encoder produced, for each token it writes; that is the slow part.";
    handin(&handins, "s1", shared);
    handin(&handins, "s2", &shared.to_uppercase());
    handin(&handins, "s3", "The decoder has to look back at everything the encoder produced, for each token it writes: that's the slow part!");
    handin(&handins, "s4", "Cross-attention over the whole input, and no KV cache to help.");
    let course = root().join("tests/fixtures/grade/course");
    let grade = || lectern(&root(), &["grade", &course.to_string_lossy(), &handins.to_string_lossy(), "--out", &out.to_string_lossy()]);
    let o = grade();
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));

    let report = fs::read_to_string(out.join("report.html")).expect("report.html");
    let section = &report[report.find("<section id=\"groups\">").expect("the groups section")..];
    let section = &section[..section.find("</section>").expect("its end")];
    assert!(section.contains("4 answers in 2 groups; 1 group of two or more"), "{section}");
    let row = &section[section.find("<tr><td class=\"num\">3</td>").unwrap_or_else(|| panic!("a group of 3: {section}"))..];
    let row = &row[..row.find("</tr>").expect("the row's end")];
    assert!(row.contains("s1, s2, s3"), "{row}");
    let snippet = unescape(&row[row.rfind("<pre>").expect("a snippet") + 5..row.rfind("</pre>").expect("its end")]);

    // The instructor pastes the group, sets its points, and gives s2 a grade of their own.
    let overrides = format!(
        "{}\n\n[[override]]\nstudent = \"s2\"\nitem = \"bottleneck/step1\"\npoints = 0\ncomment = \"Copied.\"\n",
        snippet.replace("points = 2", "points = 3").replace("comment = \"\"", "comment = \"Names the cost of cross-attention in other words.\"")
    );
    fs::write(out.join("overrides.toml"), overrides).expect("write overrides");
    let o = grade();
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert_eq!([step_score(&out, "s1"), step_score(&out, "s2"), step_score(&out, "s3"), step_score(&out, "s4")], [3.0, 0.0, 3.0, 2.0]);
    let report = fs::read_to_string(out.join("report.html")).expect("report.html");
    assert!(report.contains("Names the cost of cross-attention in other words."), "the report lists the group's overrides");

    // A group that matches no answer changes nothing and is listed as unused.
    fs::write(out.join("overrides.toml"), "[[group]]\nitem = \"bottleneck/step1\"\nanswer = \"Something nobody wrote at all, in any words.\"\npoints = 3\ncomment = \"x\"\n").expect("write");
    let o = grade();
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    assert_eq!(step_score(&out, "s1"), 2.0);
    assert!(fs::read_to_string(out.join("report.html")).expect("report").contains("(group: no answer matches)"));
    let _ = fs::remove_dir_all(&tmp);
}

/// Checks that a constant function passes (`padding-respected`, `batch-independent`,
/// `no-future-leak`) earn in proportion to the value cases passed: code that returns
/// zeros of the right shape scores 0 on every ai012 exercise and is flagged, and correct
/// code still earns every check.
#[test]
fn code_that_computes_nothing_scores_nothing_and_is_flagged() {
    let tmp = tempdir("review-zeros");
    let (handins, out) = (tmp.join("handins"), tmp.join("out"));
    let files = [("attention", "attention.py"), ("causal-attention", "causal_attention.py"), ("cross-attention", "cross_attention.py"), ("kv-cache", "kv_cache.py")];
    for (exercise, entry) in files {
        fs::create_dir_all(handins.join("zeros")).expect("mkdir");
        fs::create_dir_all(handins.join("right")).expect("mkdir");
        fs::copy(root().join(format!("tests/fixtures/runner/zeros/{exercise}.py")), handins.join("zeros").join(entry)).expect("copy zeros");
        fs::copy(root().join(format!("tests/fixtures/runner/correct/{exercise}/einsum.py")), handins.join("right").join(entry)).expect("copy correct");
    }
    let o = lectern(&root(), &["grade", "courses/ai012", &handins.to_string_lossy(), "--out", &out.to_string_lossy()]);
    assert_eq!(o.status.code(), Some(0), "{}", transcript(&o));
    let results = |student: &str| -> serde_json::Value { serde_json::from_str(&fs::read_to_string(out.join(format!("students/{student}/results.json"))).expect("results")).expect("json") };
    let zeros = results("zeros");
    assert_eq!(zeros["score"].as_f64(), Some(0.0), "{zeros:#}");
    let right = results("right");
    for (exercise, _) in files {
        let checks: Vec<&serde_json::Value> = right["tests"].as_array().expect("tests").iter().filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with(&format!("{exercise} · check: ")))).collect();
        assert!(!checks.is_empty(), "{exercise} has checks");
        for c in checks {
            assert_eq!(c["score"], c["max_score"], "correct code earns every check: {c:#}");
        }
    }
    let report = fs::read_to_string(out.join("report.html")).expect("report.html");
    let review = &report[report.find("<section id=\"review\">").expect("review section")..report.find("<section id=\"groups\">").expect("groups section")];
    for (exercise, _) in files {
        assert!(review.contains(&format!("<td>zeros</td><td>{exercise}</td><td>computes nothing the cases check")), "{exercise} flagged: {review}");
    }
    assert!(!review.contains("<td>right</td>"), "{review}");
    let _ = fs::remove_dir_all(&tmp);
}
