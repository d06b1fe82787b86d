//! Item statistics against values computed by hand for the small class of
//! `fixtures/report/class.rs` (five graded students, one error row, three items).

#[path = "fixtures/report/class.rs"]
mod class;

use lectern_grade::export::Class;
use lectern_grade::stats::{histogram, pearson, sample_sd, Breakdown, ClassStats, ItemStats};

use class::{choice, exercise, record, result, step};

fn close(actual: Option<f64>, expected: f64) {
    let a = actual.unwrap_or_else(|| panic!("expected {expected}, got None"));
    assert!((a - expected).abs() < 1e-9, "expected {expected}, got {a}");
}

fn item<'a>(stats: &'a ClassStats, id: &str) -> &'a ItemStats {
    stats.items.iter().find(|i| i.id == id).unwrap_or_else(|| panic!("no item {id}"))
}

// Scores (q1, ch/s1, ex) of the graded students s1..s5, and totals:
//   s1: 1 2 2 = 5   s2: 1 1 1 = 3   s3: 0 1 2 = 3   s4: 1 0 0 = 1   s5: 0 0 0 = 0
// s6 is an error row and counts nowhere.
//
// q1: x = [1,1,0,1,0], mean 0.6, facility 0.6/1 = 60 %.
//   deviations .4 .4 −.6 .4 −.6; Σd² = 3·0.16 + 2·0.36 = 1.2; SD = √(1.2/4) = √0.3.
//   rest = ch/s1 + ex = [4,2,3,0,0], mean 1.8, deviations 2.2 .2 1.2 −1.8 −1.8,
//   Σd² = 4.84+0.04+1.44+3.24+3.24 = 12.8;
//   Σdxdy = .88 + .08 − .72 − .72 + 1.08 = 0.6;
//   r = 0.6 / √(1.2·12.8) = 0.6/√15.36 = 6/√1536 = √6/16 ≈ 0.1531 (weak).
// ch/s1: x = [2,1,1,0,0], mean 0.8, facility 0.8/2 = 40 %.
//   deviations 1.2 .2 .2 −.8 −.8; Σd² = 1.44+.04+.04+.64+.64 = 2.8; SD = √0.7.
//   rest = q1 + ex = [3,2,2,1,0], mean 1.6, deviations 1.4 .4 .4 −.6 −1.6,
//   Σd² = 1.96+.16+.16+.36+2.56 = 5.2;
//   Σdxdy = 1.68 + .08 + .08 + .48 + 1.28 = 3.6;
//   r = 3.6 / √(2.8·5.2) = 3.6/√14.56 ≈ 0.9435.
// ex: x = [2,1,2,0,0], mean 1, facility 1/2 = 50 %.
//   deviations 1 0 1 −1 −1; Σd² = 4; SD = √(4/4) = 1.
//   rest = q1 + ch/s1 = [3,2,1,1,0], mean 1.4, deviations 1.6 .6 −.4 −.4 −1.4,
//   Σd² = 2.56+.36+.16+.16+1.96 = 5.2;
//   Σdxdy = 1.6 + 0 − .4 + .4 + 1.4 = 3;
//   r = 3 / √(4·5.2) = 3/√20.8 ≈ 0.6578.
// Totals [5,3,3,1,0]: mean 2.4, median 3, deviations 2.6 .6 .6 −1.4 −2.4,
//   Σd² = 6.76+.36+.36+1.96+5.76 = 15.2, SD = √(15.2/4) = √3.8; min 0, max 5.
#[test]
fn item_statistics_match_the_hand_computation() {
    let stats = ClassStats::of(&class::class());
    assert_eq!((stats.students, stats.errors), (5, 1));
    assert_eq!(stats.max_total, 5.0);
    assert_eq!(stats.totals, [5.0, 3.0, 3.0, 1.0, 0.0]);

    let q1 = item(&stats, "q1");
    close(q1.mean, 0.6);
    close(q1.facility, 60.0);
    close(q1.sd, 0.3f64.sqrt());
    close(q1.discrimination, 0.6 / 15.36f64.sqrt());
    close(q1.discrimination, 6f64.sqrt() / 16.0);
    assert!(q1.weak_discrimination());

    let s1 = item(&stats, "ch/s1");
    close(s1.mean, 0.8);
    close(s1.facility, 40.0);
    close(s1.sd, 0.7f64.sqrt());
    close(s1.discrimination, 3.6 / 14.56f64.sqrt());
    assert!(!s1.weak_discrimination());

    let ex = item(&stats, "ex");
    close(ex.mean, 1.0);
    close(ex.facility, 50.0);
    close(ex.sd, 1.0);
    close(ex.discrimination, 3.0 / 20.8f64.sqrt());

    let summary = stats.summary.expect("summary");
    close(Some(summary.mean), 2.4);
    close(Some(summary.median), 3.0);
    close(summary.sd, 3.8f64.sqrt());
    assert_eq!((summary.min, summary.max), (0.0, 5.0));
}

#[test]
fn statistics_keep_their_order_and_kinds() {
    let stats = ClassStats::of(&class::class());
    let ids: Vec<(&str, &str)> = stats.items.iter().map(|i| (i.id.as_str(), i.kind.as_str())).collect();
    assert_eq!(ids, [("q1", "single choice"), ("ch/s1", "challenge step"), ("ex", "exercise")]);
}

// q1 answers of the graded students: A, A, B, A, (none). The error row's A counts nowhere.
#[test]
fn option_counts_mark_the_key_and_count_no_answer() {
    let stats = ClassStats::of(&class::class());
    let Breakdown::Choice(c) = &item(&stats, "q1").breakdown else { panic!("not a choice breakdown") };
    let counts: Vec<(char, bool, usize)> = c.options.iter().map(|o| (o.letter, o.correct, o.count)).collect();
    assert_eq!(counts, [('A', true, 3), ('B', false, 1), ('C', false, 0)]);
    assert_eq!((c.no_answer, c.invalid), (1, 0));
    close(c.options[0].percent, 60.0);
    close(c.options[1].percent, 20.0);
    assert_eq!(c.options[1].text, "Encoders <cannot> read");
}

// Multiple choice: "A,C", "C", "", "Z" (no option), "B, c" → A 1, B 1, C 3, none 1, invalid 1.
#[test]
fn multiple_choice_counts_each_option_chosen() {
    let mut key = class::key();
    key.items.truncate(1);
    key.items[0].kind = "multiple choice".into();
    let students = ["A,C", "C", "", "Z", "B, c"].iter().enumerate().map(|(i, a)| record(&format!("m{i}"), vec![choice(a, 0.0)])).collect();
    let stats = ClassStats::of(&Class { key, students, unused_overrides: vec![], environment: None, similarity: None });
    let Breakdown::Choice(c) = &stats.items[0].breakdown else { panic!("not a choice breakdown") };
    let counts: Vec<usize> = c.options.iter().map(|o| o.count).collect();
    assert_eq!(counts, [1, 1, 3]);
    assert_eq!((c.no_answer, c.invalid), (1, 1));
}

// ch/s1 hits: s1 ✓✓, s2 ✓✗, s3 ✓✗, s4 ✗✗, s5 ✗✗ → item 1: 3 of 5 = 60 %, item 2: 1 of 5 = 20 %.
#[test]
fn rubric_hit_rates() {
    let stats = ClassStats::of(&class::class());
    let Breakdown::Rubric(rubric) = &item(&stats, "ch/s1").breakdown else { panic!("not a rubric breakdown") };
    assert_eq!(rubric.iter().map(|r| r.hits).collect::<Vec<_>>(), [3, 1]);
    close(rubric[0].rate, 60.0);
    close(rubric[1].rate, 20.0);
    assert_eq!(rubric[1].feedback, "Say why KV caching helps.");
}

// ex: c1 passes for s1, s2, s3 (60 %); c2 for s1, s3 (40 %); s4 fails both (timeout,
// wrong-values), s2 fails c2 (wrong-values), s5 has no code (not run, both failed).
#[test]
fn exercise_pass_rates_and_failure_verdicts() {
    let stats = ClassStats::of(&class::class());
    let Breakdown::Exercise(e) = &item(&stats, "ex").breakdown else { panic!("not an exercise breakdown") };
    assert_eq!(e.cases.iter().map(|c| (c.name.as_str(), c.passed)).collect::<Vec<_>>(), [("c1", 3), ("c2", 2)]);
    close(e.cases[0].rate, 60.0);
    close(e.cases[1].rate, 40.0);
    assert_eq!(e.not_run, 1);
    assert_eq!(e.failures, [("wrong-values".to_owned(), 2), ("timeout".to_owned(), 1)]);
}

#[test]
fn failure_verdict_ties_are_ordered_by_name() {
    let mut key = class::key();
    key.items.retain(|i| i.id == "ex");
    let students = vec![record("a", vec![exercise(Some([("c1", "timeout"), ("c2", "crash")]))]), record("b", vec![exercise(Some([("c1", "pass"), ("c2", "pass")]))])];
    let stats = ClassStats::of(&Class { key, students, unused_overrides: vec![], environment: None, similarity: None });
    let Breakdown::Exercise(e) = &stats.items[0].breakdown else { panic!("not an exercise breakdown") };
    assert_eq!(e.failures, [("crash".to_owned(), 1), ("timeout".to_owned(), 1)]);
}

// Totals [5,3,3,1,0] over 0..=5 in 10 bins of 0.5: 0 → bin 0, 1 → bin 2, 3 → bin 6 (twice),
// 5 (the maximum) → the last bin.
#[test]
fn histogram_of_the_class() {
    let stats = ClassStats::of(&class::class());
    assert_eq!(stats.histogram.iter().map(|b| b.count).collect::<Vec<_>>(), [1, 0, 1, 0, 0, 0, 2, 0, 0, 1]);
    assert_eq!((stats.histogram[6].low, stats.histogram[6].high), (3.0, 3.5));
    assert_eq!(stats.histogram[9].high, 5.0);
}

#[test]
fn histogram_bins_hold_their_lower_bound() {
    // Bins of 2 over 0..=20: [0,2) [2,4) … [18,20].
    let h = histogram(&[0.0, 1.9, 2.0, 7.5, 19.99, 20.0], 20.0, 10);
    assert_eq!(h.iter().map(|b| b.count).collect::<Vec<_>>(), [2, 1, 0, 1, 0, 0, 0, 0, 0, 2]);
    // Bins of 0.3 over 0..=3: 0.9 and 2.1 sit on boundaries that rounding must not lose.
    let h = histogram(&[0.9, 2.1, 0.3 * 3.0], 3.0, 10);
    assert_eq!(h[3].count, 2);
    assert_eq!(h[7].count, 1);
    // A key with no points: one bin.
    assert_eq!(histogram(&[0.0, 0.0], 0.0, 10).len(), 1);
    assert!(histogram(&[], 10.0, 10).iter().all(|b| b.count == 0));
}

#[test]
fn one_student_has_no_spread_and_no_discrimination() {
    let mut class = class::class();
    class.students.truncate(1);
    let stats = ClassStats::of(&class);
    assert_eq!(stats.students, 1);
    for i in &stats.items {
        assert_eq!((i.sd, i.discrimination), (None, None), "{}", i.id);
        assert!(i.mean.is_some() && i.facility.is_some());
    }
    let summary = stats.summary.expect("summary");
    assert_eq!((summary.mean, summary.median, summary.sd), (5.0, 5.0, None));
}

#[test]
fn zero_variance_makes_discrimination_undefined() {
    // q1 is right for everyone (no item variance); ch/s1 varies, but its rest (q1 + ex)
    // is the same for everyone, so it is undefined too; ex is 0 for everyone.
    let students = [[true, true], [true, false], [false, false]]
        .iter()
        .enumerate()
        .map(|(i, hits)| record(&format!("z{i}"), vec![choice("A", 1.0), step("words words words", *hits), exercise(None)]))
        .collect();
    let stats = ClassStats::of(&Class { key: class::key(), students, unused_overrides: vec![], environment: None, similarity: None });
    for i in &stats.items {
        assert_eq!(i.discrimination, None, "{}", i.id);
    }
    assert_eq!(item(&stats, "q1").sd, Some(0.0));
    close(item(&stats, "q1").facility, 100.0);
    close(item(&stats, "ch/s1").sd, 1.0);
    assert_eq!(item(&stats, "ex").sd, Some(0.0));
    // Equal values that do not average exactly still have no variance.
    assert_eq!(sample_sd(&[0.1, 0.1, 0.1]), Some(0.0));
    assert_eq!(pearson(&[0.1, 0.1, 0.1], &[1.0, 2.0, 3.0]), None);
}

#[test]
fn no_graded_students_gives_no_figures() {
    let mut class = class::class();
    class.students.retain(|r| r.error.is_some());
    let stats = ClassStats::of(&class);
    assert_eq!((stats.students, stats.errors), (0, 1));
    assert_eq!(stats.summary, None);
    assert!(stats.items.iter().all(|i| i.mean.is_none() && i.facility.is_none() && i.sd.is_none() && i.discrimination.is_none()));
    assert!(stats.histogram.iter().all(|b| b.count == 0));
}

#[test]
fn a_missing_result_scores_zero_and_counts_as_no_answer() {
    let students = vec![record("a", vec![choice("A", 1.0)]), record("b", vec![result("q1", 0.0, 1.0, "", lectern_grade::Detail::None)])];
    let stats = ClassStats::of(&Class { key: class::key(), students, unused_overrides: vec![], environment: None, similarity: None });
    assert_eq!(stats.totals, [1.0, 0.0]);
    let Breakdown::Exercise(e) = &item(&stats, "ex").breakdown else { panic!("not an exercise breakdown") };
    assert_eq!(e.not_run, 2);
}
