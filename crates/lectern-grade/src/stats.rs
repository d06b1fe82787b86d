//! Item statistics of a graded class (facility, discrimination, option counts, rubric
//! hit rates, exercise pass rates), computed from the exports' [`Class`].
//!
//! Only graded hand-ins count: error rows (`Record.error` set) are left out of every
//! figure here and only counted. Scores are the exported ones, overrides applied.
//!
//! The definitions are Moodle's quiz statistics:
//!
//! - **facility index**: the item's mean score as a percentage of its maximum;
//! - **standard deviation**: the sample standard deviation (divisor `n − 1`) of the
//!   item's scores;
//! - **discrimination index**: the Pearson correlation, over students, between the
//!   item's score and the score on the rest of the test (the total less this item), in
//!   −1 … 1. Moodle prints it ×100; the report prints it as is and marks values below
//!   [`WEAK_DISCRIMINATION`].
//!
//! Every function here is pure and deterministic: the same class gives the same
//! numbers, bit for bit (sums are taken in key order, students in class order).

use std::collections::BTreeMap;

use crate::export::Class;
use crate::store::{ItemSummary, Record};
use crate::{Detail, ItemResult};

/// How many bars the score distribution has.
pub const HISTOGRAM_BINS: usize = 10;

/// A discrimination index below this (or negative) marks an item that separates
/// strong from weak students poorly.
pub const WEAK_DISCRIMINATION: f64 = 0.2;

/// The statistics of a whole class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassStats {
    /// Hand-ins graded (the statistics' `n`).
    pub students: usize,
    /// Error rows: hand-ins that could not be graded, left out of every figure.
    pub errors: usize,
    /// The most points a hand-in can earn.
    pub max_total: f64,
    /// The graded students' totals, in class order.
    pub totals: Vec<f64>,
    /// Mean, median, spread of [`ClassStats::totals`]; `None` with no graded students.
    pub summary: Option<Summary>,
    /// The distribution of totals over `0 ..= max_total`, [`HISTOGRAM_BINS`] bins.
    pub histogram: Vec<Bin>,
    /// One entry per item of the key, in key order.
    pub items: Vec<ItemStats>,
}

/// Summary figures of a list of scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub mean: f64,
    pub median: f64,
    /// Sample standard deviation; `None` for fewer than two scores.
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
}

/// One bar of a histogram: the scores in `low .. high` (the last bar includes `high`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub low: f64,
    pub high: f64,
    pub count: usize,
}

/// The statistics of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStats {
    pub id: String,
    /// As [`ItemSummary::kind`]: `single choice`, `challenge step`, `exercise`, …
    pub kind: String,
    pub max_points: f64,
    /// Mean score; `None` with no graded students.
    pub mean: Option<f64>,
    /// Mean score / max score × 100; `None` with no graded students or no points.
    pub facility: Option<f64>,
    /// Sample standard deviation of the scores; `None` for fewer than two students.
    pub sd: Option<f64>,
    /// Pearson r of this item's score against the rest of the test's; `None` for fewer
    /// than two students or when either has no variance.
    pub discrimination: Option<f64>,
    /// What the item's kind adds: options chosen, rubric items hit, cases passed.
    pub breakdown: Breakdown,
}

impl ItemStats {
    /// Whether the discrimination index is weak (below [`WEAK_DISCRIMINATION`]) or
    /// negative. Undefined discrimination is not weak: there is nothing to judge.
    pub fn weak_discrimination(&self) -> bool {
        self.discrimination.is_some_and(|d| d < WEAK_DISCRIMINATION)
    }
}

/// Kind-specific counts of one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Breakdown {
    /// Numeric and text quizzes.
    None,
    Choice(ChoiceStats),
    /// Challenge steps: one entry per rubric item, in author order.
    Rubric(Vec<RubricItemStats>),
    Exercise(ExerciseStats),
}

/// How often each option of a choice quiz was chosen.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceStats {
    /// In author order. A multiple-choice answer counts once for each option it names.
    pub options: Vec<OptionCount>,
    /// Students with no answer (nothing chosen).
    pub no_answer: usize,
    /// Students whose answer names something that is not an option (`Z`, `true`); it
    /// counts for no option.
    pub invalid: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OptionCount {
    pub letter: char,
    pub correct: bool,
    /// The option as the author wrote it (inline Markdown).
    pub text: String,
    /// Students who chose it.
    pub count: usize,
    /// `count` as a percentage of the graded students; `None` with none.
    pub percent: Option<f64>,
}

/// How often one rubric item of a challenge step was earned.
#[derive(Debug, Clone, PartialEq)]
pub struct RubricItemStats {
    pub points: f64,
    pub feedback: String,
    /// Students who earned it.
    pub hits: usize,
    /// `hits` as a percentage of the graded students; `None` with none.
    pub rate: Option<f64>,
}

/// How an exercise's cases went.
#[derive(Debug, Clone, PartialEq)]
pub struct ExerciseStats {
    /// One entry per case (and behaviour check), in the key's order.
    pub cases: Vec<CaseStats>,
    /// Students whose code did not run at all (no file, or the runner failed): every
    /// case counts as failed for them, with no verdict.
    pub not_run: usize,
    /// Verdicts of failed cases (`wrong-values`, `timeout`, …) with how many failed
    /// cases had each, most common first (ties by name).
    pub failures: Vec<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CaseStats {
    pub name: String,
    /// Students whose code passed it.
    pub passed: usize,
    /// `passed` as a percentage of the graded students (code not run counts as failed);
    /// `None` with none.
    pub rate: Option<f64>,
}

impl ClassStats {
    /// Every statistic of `class`.
    pub fn of(class: &Class) -> ClassStats {
        let graded: Vec<&Record> = class.graded().collect();
        let n = graded.len();
        let items = &class.key.items;
        // scores[s][i]: student s's score on item i (0 when the record lacks the item).
        let results: Vec<Vec<Option<&ItemResult>>> = graded.iter().map(|r| items.iter().enumerate().map(|(i, item)| find_result(r, i, &item.id)).collect()).collect();
        let scores: Vec<Vec<f64>> = results.iter().map(|row| row.iter().map(|r| r.map_or(0.0, |r| r.score)).collect()).collect();
        let totals: Vec<f64> = scores.iter().map(|row| row.iter().sum()).collect();
        let max_total = class.key.max_total();
        let item_stats = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let column: Vec<f64> = scores.iter().map(|row| row[i]).collect();
                // The rest of the test, summed afresh in key order (not total − item), so
                // that students with the same other scores have bit-identical rests.
                let rest: Vec<f64> = scores.iter().map(|row| row.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, x)| x).sum()).collect();
                let mean = mean(&column);
                let answers: Vec<Option<&ItemResult>> = results.iter().map(|row| row[i]).collect();
                ItemStats {
                    id: item.id.clone(),
                    kind: item.kind.clone(),
                    max_points: item.max_points,
                    mean,
                    facility: mean.filter(|_| item.max_points > 0.0).map(|m| m / item.max_points * 100.0),
                    sd: sample_sd(&column),
                    discrimination: pearson(&column, &rest),
                    breakdown: breakdown(item, &answers),
                }
            })
            .collect();
        ClassStats {
            students: n,
            errors: class.students.len() - n,
            max_total,
            summary: summarize(&totals),
            histogram: histogram(&totals, max_total, HISTOGRAM_BINS),
            totals,
            items: item_stats,
        }
    }
}

/// The result for item `id` (at `position` in key order) in `record`, if it has one.
fn find_result<'a>(record: &'a Record, position: usize, id: &str) -> Option<&'a ItemResult> {
    match record.results.get(position) {
        Some(r) if r.item == id => Some(r),
        _ => record.results.iter().find(|r| r.item == id),
    }
}

fn breakdown(item: &ItemSummary, answers: &[Option<&ItemResult>]) -> Breakdown {
    let n = answers.len();
    if !item.options.is_empty() {
        let mut counts = vec![0usize; item.options.len()];
        let (mut no_answer, mut invalid) = (0, 0);
        for a in answers {
            let text = a.map_or("", |a| a.answer.trim());
            if text.is_empty() {
                no_answer += 1;
                continue;
            }
            let chosen: Option<Vec<usize>> = text
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let mut chars = p.chars();
                    match (chars.next(), chars.next()) {
                        (Some(c), None) => item.options.iter().position(|(letter, _, _)| letter.eq_ignore_ascii_case(&c)),
                        _ => None,
                    }
                })
                .collect();
            match chosen {
                Some(mut chosen) if !chosen.is_empty() => {
                    chosen.sort_unstable();
                    chosen.dedup();
                    for o in chosen {
                        counts[o] += 1;
                    }
                }
                _ => invalid += 1,
            }
        }
        let options = item.options.iter().zip(counts).map(|((letter, correct, text), count)| OptionCount { letter: *letter, correct: *correct, text: text.clone(), count, percent: percent(count, n) }).collect();
        return Breakdown::Choice(ChoiceStats { options, no_answer, invalid });
    }
    if item.kind == "challenge step" || !item.rubric.is_empty() {
        let mut hits = vec![0usize; item.rubric.len()];
        for a in answers.iter().flatten() {
            if let Detail::Rubric { hits: h } = &a.detail {
                for (count, hit) in hits.iter_mut().zip(h) {
                    *count += usize::from(*hit);
                }
            }
        }
        return Breakdown::Rubric(item.rubric.iter().zip(hits).map(|((points, feedback), hits)| RubricItemStats { points: *points, feedback: feedback.clone(), hits, rate: percent(hits, n) }).collect());
    }
    if item.kind == "exercise" || !item.cases.is_empty() {
        let mut passed = vec![0usize; item.cases.len()];
        let mut not_run = 0;
        let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
        for a in answers {
            let cases = match a.map(|a| &a.detail) {
                Some(Detail::Cases { cases }) => cases,
                _ => {
                    not_run += 1;
                    continue;
                }
            };
            for (i, name) in item.cases.iter().enumerate() {
                // By name; by position when the run named it otherwise.
                let outcome = cases.iter().find(|c| &c.name == name).or_else(|| cases.get(i).filter(|c| !item.cases.contains(&c.name)));
                passed[i] += usize::from(outcome.is_some_and(|c| c.passed));
            }
            for c in cases.iter().filter(|c| !c.passed) {
                *failures.entry(c.verdict.as_str()).or_default() += 1;
            }
        }
        let mut failures: Vec<(String, usize)> = failures.into_iter().map(|(v, c)| (v.to_owned(), c)).collect();
        // Stable: the BTreeMap gave name order, so ties stay by name.
        failures.sort_by_key(|f| std::cmp::Reverse(f.1));
        let cases = item.cases.iter().zip(passed).map(|(name, passed)| CaseStats { name: name.clone(), passed, rate: percent(passed, n) }).collect();
        return Breakdown::Exercise(ExerciseStats { cases, not_run, failures });
    }
    Breakdown::None
}

/// `count` of `n` as a percentage; `None` when `n` is 0.
pub fn percent(count: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| count as f64 / n as f64 * 100.0)
}

/// The arithmetic mean; `None` for no values.
pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// The sample standard deviation (divisor `n − 1`, as Moodle's); `None` for fewer than
/// two values. All-equal values give exactly 0.
pub fn sample_sd(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    if all_equal(xs) {
        return Some(0.0);
    }
    let m = mean(xs)?;
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (xs.len() - 1) as f64).sqrt())
}

/// The median (mean of the two middle values for an even count); `None` for none.
pub fn median(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let mut sorted = xs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 })
}

/// The Pearson correlation of paired values: Σ(x−x̄)(y−ȳ) / √(Σ(x−x̄)² · Σ(y−ȳ)²).
/// `None` for fewer than two pairs, unequal lengths, or when either side is constant
/// (its variance is 0 and the correlation undefined).
pub fn pearson(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 2 || all_equal(xs) || all_equal(ys) {
        return None;
    }
    let (mx, my) = (mean(xs)?, mean(ys)?);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        let (dx, dy) = (x - mx, y - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let denominator = (sxx * syy).sqrt();
    (denominator > 0.0).then(|| (sxy / denominator).clamp(-1.0, 1.0))
}

/// Constant values have no variance; compared exactly, since a mean of equal values
/// can be off by rounding and leave a tiny spurious spread.
fn all_equal(xs: &[f64]) -> bool {
    xs.windows(2).all(|w| w[0] == w[1])
}

/// Mean, median, spread of `xs`; `None` for none.
pub fn summarize(xs: &[f64]) -> Option<Summary> {
    Some(Summary {
        mean: mean(xs)?,
        median: median(xs)?,
        sd: sample_sd(xs),
        min: xs.iter().copied().fold(f64::INFINITY, f64::min),
        max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Counts `totals` in `bins` equal bins over `0 ..= max`: bin `k` holds
/// `k·w ≤ t < (k+1)·w` with `w = max / bins`, and the last bin also holds `max`. Values
/// below 0 count in the first bin, above `max` in the last. With `max ≤ 0` (a key with
/// no points) there is one bin, `0 ..= 0`, holding everything.
pub fn histogram(totals: &[f64], max: f64, bins: usize) -> Vec<Bin> {
    let bins = bins.max(1);
    if max <= 0.0 || !max.is_finite() {
        return vec![Bin { low: 0.0, high: 0.0, count: totals.len() }];
    }
    let mut out: Vec<Bin> = (0..bins).map(|k| Bin { low: max * k as f64 / bins as f64, high: max * (k + 1) as f64 / bins as f64, count: 0 }).collect();
    for &t in totals {
        // t·bins/max rather than t/w: exact for whole points on round maxima. The small
        // allowance keeps a total on a boundary (3 of 10 in bins of 0.3…) from slipping
        // into the bin below by rounding.
        let k = (t * bins as f64 / max + 1e-9).floor();
        let k = if k.is_nan() || k < 0.0 { 0 } else { (k as usize).min(bins - 1) };
        out[k].count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_boundaries_in_the_upper_bin_and_max_in_the_last() {
        let h = histogram(&[0.0, 1.0, 9.99, 10.0, -1.0, 11.0], 10.0, 10);
        let counts: Vec<usize> = h.iter().map(|b| b.count).collect();
        assert_eq!(counts, [2, 1, 0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!((h[3].low, h[3].high), (3.0, 4.0));
    }

    #[test]
    fn constant_values_have_no_correlation_and_zero_spread() {
        let xs = [0.1, 0.1, 0.1];
        assert_eq!(sample_sd(&xs), Some(0.0));
        assert_eq!(pearson(&xs, &[1.0, 2.0, 3.0]), None);
        assert_eq!(pearson(&[1.0], &[2.0]), None);
    }
}
