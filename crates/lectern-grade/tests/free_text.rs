//! Free-text grading measured against people: a labelled set of answers to ai012's
//! two challenge steps (`tests/fixtures/free-text/ai012-bottleneck.toml`: right,
//! partial, wrong, negated and keyword-stuffed answers in English and Chinese, each with
//! the points a careful human gives) graded by the rubric rules.
//!
//! The figure that matters is "full marks without review": an answer that gets every
//! point and no flag is never read by a person, so it must deserve them (precision),
//! and most deserving answers should get there (recall), or the instructor reads them
//! all. The figures are committed (`FIGURES.md` beside the set) and must match what
//! the rules give today.

use std::collections::BTreeMap;
use std::path::Path;

use lectern_grade::rubric::grade_step;
use lectern_grade::{ItemKind, Key};
use serde::Deserialize;

#[derive(Deserialize)]
struct Set {
    answer: Vec<Labelled>,
}

#[derive(Deserialize)]
struct Labelled {
    step: String,
    lang: String,
    kind: String,
    points: f64,
    text: String,
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/free-text").join(name)
}

struct Graded<'a> {
    answer: &'a Labelled,
    score: f64,
    max: f64,
    flag: Option<String>,
}

fn grade_all(set: &Set) -> Vec<Graded<'_>> {
    let loaded = lectern_lesson::load_course(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../courses/ai012"));
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let key = Key::new(&loaded.course);
    set.answer
        .iter()
        .map(|a| {
            let id = format!("bottleneck/{}", a.step);
            let item = key.items.iter().find(|i| i.id == id).unwrap_or_else(|| panic!("no item {id}"));
            let ItemKind::Step { rubric, solution } = &item.kind else { panic!("{id} is not a step") };
            let r = grade_step(&id, rubric, solution, item.max_points, Some(&toml::Value::String(a.text.clone())));
            Graded { answer: a, score: r.score, max: r.max_score, flag: r.flag }
        })
        .collect()
}

/// The confusion table of "full marks without review" against "a person gives full
/// marks", per kind of answer, and overall precision and recall, as Markdown.
fn figures(graded: &[Graded<'_>]) -> String {
    let mut rows: BTreeMap<(&str, &str), [usize; 4]> = BTreeMap::new();
    let mut all = [0usize; 4];
    for g in graded {
        let auto = g.score == g.max && g.flag.is_none();
        let human = g.answer.points == g.max;
        let cell = match (auto, human) {
            (true, true) => 0,
            (true, false) => 1,
            (false, true) => 2,
            (false, false) => 3,
        };
        all[cell] += 1;
        rows.entry((g.answer.kind.as_str(), g.answer.lang.as_str())).or_default()[cell] += 1;
    }
    let mut out = String::from("| kind | lang | full, deserved | full, not deserved | not full, deserved | not full, not deserved |\n|---|---|---|---|---|---|\n");
    for ((kind, lang), c) in &rows {
        out.push_str(&format!("| {kind} | {lang} | {} | {} | {} | {} |\n", c[0], c[1], c[2], c[3]));
    }
    let [tp, fp, fn_, tn] = all;
    out.push_str(&format!("| all | all | {tp} | {fp} | {fn_} | {tn} |\n\n"));
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    out.push_str(&format!("Full marks without review: precision {precision:.2} ({tp} of {}), recall {recall:.2} ({tp} of {}).\n", tp + fp, tp + fn_));
    let mean_abs = graded.iter().map(|g| (g.score - g.answer.points).abs()).sum::<f64>() / graded.len() as f64;
    out.push_str(&format!("Mean absolute difference from the human points: {mean_abs:.2} of 4.\n"));
    out
}

#[test]
fn the_labelled_set_measures_what_the_committed_figures_say() {
    let set: Set = toml::from_str(&std::fs::read_to_string(fixture("ai012-bottleneck.toml")).expect("the labelled set")).expect("valid TOML");
    for step in ["step1", "step2"] {
        let n = set.answer.iter().filter(|a| a.step == step).count();
        assert!(n >= 40, "{step}: {n} answers; the set needs at least 40 per step");
    }
    let graded = grade_all(&set);
    for g in &graded {
        eprintln!("{:>7} {:>2} {} human {} rules {} {:?} | {}", g.answer.kind, g.answer.lang, g.answer.step, g.answer.points, g.score, g.flag, g.answer.text.chars().take(90).collect::<String>());
    }
    let table = figures(&graded);
    let committed = std::fs::read_to_string(fixture("FIGURES.md")).unwrap_or_default();
    assert!(committed.contains(&table), "tests/fixtures/free-text/FIGURES.md must hold today's figures:\n\n{table}");
    // No gamed answer passes unread: negated and keyword-stuffed answers never get full
    // marks without review, whatever phrases they hold.
    for g in graded.iter().filter(|g| matches!(g.answer.kind.as_str(), "negated" | "stuffed")) {
        assert!(g.score < g.max || g.flag.is_some(), "full marks without review for a {} answer: {}", g.answer.kind, g.answer.text);
    }
    let auto: Vec<_> = graded.iter().filter(|g| g.score == g.max && g.flag.is_none()).collect();
    let deserved = auto.iter().filter(|g| g.answer.points == g.max).count();
    let right = graded.iter().filter(|g| g.answer.points == g.max).count();
    assert!(deserved as f64 >= 0.95 * auto.len() as f64, "precision below 0.95:\n{table}");
    assert!(deserved as f64 >= 0.5 * right as f64, "recall below 0.5:\n{table}");
}
