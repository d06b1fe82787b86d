//! `report.html` for the small class of `fixtures/report/class.rs`: key fragments, no
//! external requests, escaping, determinism, and a full snapshot
//! (`fixtures/report/sample.html`; `UPDATE_SNAPSHOTS=1` rewrites it, then read the diff).

#[path = "fixtures/report/class.rs"]
mod class;

use std::path::Path;

use lectern_grade::export::Class;
use lectern_grade::report::render;

fn page() -> String {
    render(&class::class())
}

/// Every value of attribute `name` in `html`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle).filter_map(|(at, _)| html[at + needle.len()..].split('"').next()).collect()
}

#[test]
fn the_page_is_self_contained() {
    let html = page();
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.contains("<style>"));
    assert!(!html.contains("http://") && !html.contains("https://"), "the page names a network address");
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("<img") && !html.contains("@import") && !html.contains("url("));
    assert!(attributes(&html, "src").is_empty());
    for href in attributes(&html, "href") {
        assert!(href.starts_with('#') || href == "similarity.html" || (href.starts_with("students/") && href.ends_with("/results.json")), "unexpected link {href}");
    }
}

#[test]
fn the_distribution_is_an_svg_histogram_with_labels() {
    let html = page();
    let svg = &html[html.find("<svg").expect("an svg")..html.find("</svg>").expect("svg end")];
    assert!(svg.contains("role=\"img\""));
    assert!(svg.contains("<title id=\"hist-title\">Distribution of total scores</title>"));
    // Ten bars, each with its own title; 3 to 3.5 holds two students.
    assert_eq!(svg.matches("<rect class=\"bin\"").count(), 10);
    assert!(svg.contains("<title>3 to under 3.5 points: 2 students</title>"));
    assert!(svg.contains("<title>4.5 to 5 points: 1 student</title>"));
    assert!(svg.contains(">Total score (points, of 5)</text>"));
    assert!(svg.contains(">Students</text>"));
}

#[test]
fn the_header_and_item_analysis_carry_the_figures() {
    let html = page();
    assert!(html.contains("<title>AI012 · Models &amp; &lt;Architectures&gt; — grading report</title>"));
    assert!(html.contains("<dt>Students graded</dt><dd>5</dd>"));
    assert!(html.contains("<dt>Error rows</dt><dd>1</dd>"));
    assert!(html.contains("<dt>Mean total</dt><dd>2.40</dd>"));
    assert!(html.contains("<dt>Median total</dt><dd>3.00</dd>"));
    // q1: mean 0.6, facility 60 %, SD √0.3, r = √6/16 ≈ 0.15: weak.
    assert!(html.contains(
        "<tr><td><a href=\"#item-1\">q1</a></td><td>single choice</td><td class=\"num\">1</td><td class=\"num\">0.60</td><td class=\"num\">60.0%</td><td class=\"num\">0.55</td><td class=\"num weak\">0.15 <span class=\"mark warn\">weak</span></td></tr>"
    ));
    // ch/s1: r ≈ 0.94, not marked.
    assert!(html.contains("<td class=\"num\">40.0%</td><td class=\"num\">0.84</td><td class=\"num\">0.94</td></tr>"));
}

#[test]
fn choice_rubric_and_exercise_details() {
    let html = page();
    assert!(html.contains("<tr class=\"correct\"><td>A</td><td>Decoders scale</td><td><span class=\"mark ok\">✓ correct</span></td><td class=\"num\">3</td>"));
    assert!(html.contains("<tr><td>B</td><td>Encoders &lt;cannot&gt; read</td><td><span class=\"muted\">distractor</span></td><td class=\"num\">1</td>"));
    assert!(html.contains("No answer</td><td class=\"num\">1</td>"));
    assert!(html.contains("<td>Say why KV caching helps.</td><td class=\"num\">1</td><td class=\"num\">1</td><td><span class=\"bar\" aria-hidden=\"true\"><span style=\"width:20.0%\"></span></span>20.0%</td>"));
    assert!(html.contains("<tr><td>c1</td><td class=\"num\">3</td>"));
    assert!(html.contains("<li><code>wrong-values</code> — 2</li>\n<li><code>timeout</code> — 1</li>"));
    assert!(html.contains("1 student had no code run"));
}

#[test]
fn student_and_author_text_is_escaped() {
    let html = page();
    assert!(html.contains("It is &lt;script&gt;alert(1)&lt;/script&gt; quadratic"));
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("expected `=` at line 3 &lt;here&gt;"));
    assert!(html.contains("Late &lt;b&gt;hand-in&lt;/b&gt;"));
    assert!(html.contains("nothing handed in &amp; 0 stands."));
}

#[test]
fn flags_link_to_feedback_and_overrides_and_errors_are_listed() {
    let html = page();
    let review = &html[html.find("id=\"review\"").expect("review")..html.find("id=\"overrides\"").expect("overrides")];
    assert!(review.contains("<td>s3</td><td>ch/s1</td><td>matches no rubric item</td>"));
    assert!(review.contains("<a href=\"students/s3/results.json\">results.json</a>"));
    assert!(review.contains("<td>s4</td><td>ch/s1</td><td>empty answer<br><span class=\"mark ok\">overridden</span>"));
    assert_eq!(review.matches("<tr><td>s").count(), 2);
    let overrides = &html[html.find("id=\"overrides\"").expect("overrides")..html.find("id=\"errors\"").expect("errors")];
    assert!(overrides.contains("<h3>Applied (1)</h3>"));
    assert!(overrides.contains("<h3>Unused (1)</h3>"));
    assert!(overrides.contains("<td>s99</td><td>q1</td><td class=\"num\">1</td>"));
    let errors = &html[html.find("id=\"errors\"").expect("errors")..];
    assert!(errors.contains("<tr><td>s6</td><td><code>s6-folder</code></td>"));
    assert!(errors.contains("unknown question `q9` ignored"));
}

#[test]
fn odd_student_ids_get_no_link_or_an_encoded_one() {
    let mut class = class::class();
    class.students[2].student = "zoë".into();
    class.students[3].student = "../x".into();
    let html = render(&class);
    assert!(html.contains("href=\"students/zo%C3%AB/results.json\""));
    assert!(!html.contains("students/../"));
}

#[test]
fn rendering_is_deterministic() {
    let class = class::class();
    let first = render(&class);
    assert_eq!(first, render(&class));
    assert_eq!(first, render(&class.clone()));
    assert_eq!(first, page());
}

#[test]
fn an_empty_class_still_renders() {
    let class = Class { key: class::key(), students: vec![], unused_overrides: vec![], environment: None, similarity: None };
    let html = render(&class);
    assert!(html.contains("No graded hand-ins."));
    assert!(html.contains("<dt>Students graded</dt><dd>0</dd>"));
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn the_whole_page_matches_its_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/sample.html");
    let actual = page();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_SNAPSHOTS=1 and review it", path.display()));
    if let Some((n, (e, a))) = expected.lines().zip(actual.lines()).enumerate().find(|(_, (e, a))| e != a) {
        panic!("{} differs at line {}:\n--- expected\n{e}\n--- actual\n{a}\n(UPDATE_SNAPSHOTS=1 rewrites it)", path.display(), n + 1);
    }
    assert_eq!(expected, actual, "{} differs in length (UPDATE_SNAPSHOTS=1 rewrites it)", path.display());
}
