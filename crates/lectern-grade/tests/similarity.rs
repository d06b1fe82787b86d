//! `similarity.html` for a small review: both sides of a pair with the shared code lines
//! and text passages marked, groups of three, escaping of everything a student wrote,
//! no script or request, determinism, and a full snapshot
//! (`fixtures/report/similarity.html`; `UPDATE_SNAPSHOTS=1` rewrites it).

use std::path::Path;

use lectern_grade::similarity::{render, Kind, Match, Member, Review, Section};

fn member(students: &[&str], text: &str) -> Member {
    Member { students: students.iter().map(|s| (*s).to_string()).collect(), text: text.into() }
}

fn review() -> Review {
    let code = |body: &str| format!("import numpy as np\n\n\ndef f(x):\n{body}\n");
    let text_a = "Cross-attention over the <whole> input costs the most.";
    let text_b = "cross attention, over the <whole> input, costs the most!";
    Review {
        threshold: 0.25,
        sections: vec![
            Section {
                item: "bottleneck/step1".into(),
                kind: Kind::Text,
                compared: 5,
                members: vec![member(&["s1"], text_a), member(&["s2"], text_b), member(&["s3", "s4"], "Something else entirely.")],
                missing: 0,
                pairs: vec![Match { a: 0, b: 1, score: 0.91, over_smaller: 0.91, shared: vec![((0, 15), (0, 15)), ((16, 44), (17, 46))] }],
                total: 1,
                groups: vec![],
            },
            Section {
                item: "attention".into(),
                kind: Kind::Code,
                compared: 4,
                members: vec![
                    member(&["a<script>"], &code("    return np.exp(x) / 2  # <b>")),
                    member(&["b"], &code("    y = np.exp(x)\n    return y / 2")),
                    member(&["c"], &code("    return np.exp(x) / 2")),
                    member(&["d"], &code("    return x")),
                ],
                missing: 1,
                pairs: vec![
                    Match { a: 0, b: 2, score: 1.0, over_smaller: 1.0, shared: vec![((4, 5), (4, 5))] },
                    Match { a: 0, b: 1, score: 0.5, over_smaller: 0.6, shared: vec![((5, 5), (5, 6))] },
                    Match { a: 1, b: 2, score: 0.5, over_smaller: 0.6, shared: vec![((5, 6), (5, 5))] },
                ],
                total: 3,
                groups: vec![vec![0, 1, 2]],
            },
        ],
    }
}

#[test]
fn a_pair_shows_both_sides_with_the_shared_parts_marked() {
    let html = render(&review(), "AI012 · Demo");
    assert!(html.contains("<mark>Cross-attention</mark>"), "the shared passage of s1 is not marked");
    assert!(html.contains("<mark>over the &lt;whole&gt; input, costs</mark>"), "the shared passage of s2 is not marked");
    assert!(html.contains("<span class=\"line-shared\"><span class=\"ln\">5</span>    return np.exp(x) / 2  # &lt;b&gt;</span>"), "{html}");
    assert!(html.contains("<span class=\"line\"><span class=\"ln\">1</span>import numpy as np</span>"));
    assert!(html.contains("Group of 3</h3>\n<p>a&lt;script&gt;, b, c</p>"));
    assert!(html.contains("1 hand-in graded by an earlier Lectern"));
    assert!(html.contains("at a score of 0.25 or more"));
    // Two identical hand-ins are one member, listed as a pair of their own.
    assert!(html.contains("<tr><td>s3</td><td>s4</td><td class=\"num\">100%</td>"), "{html}");
    assert!(html.contains("s3 and s4: the same answer (as kept"));
}

#[test]
fn the_page_is_self_contained_escaped_and_deterministic() {
    let html = render(&review(), "AI012 · <Demo>");
    assert!(!html.contains("<script") && !html.contains("<b>") && !html.contains("<Demo>"), "student or author text reached the page unescaped");
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("@import") && !html.contains(" src="));
    assert_eq!(html, render(&review(), "AI012 · <Demo>"));
}

#[test]
fn the_whole_page_matches_its_snapshot() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report/similarity.html");
    let actual = render(&review(), "AI012 · Demo");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &actual).expect("write the snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_SNAPSHOTS=1 and review it", path.display()));
    assert_eq!(expected, actual, "{} differs (UPDATE_SNAPSHOTS=1 rewrites it)", path.display());
}
