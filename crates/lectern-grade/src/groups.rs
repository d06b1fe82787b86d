//! Near-identical answers to a challenge step, grouped so that an instructor reads one
//! answer per group and grades the whole group at once (`[[group]]` in
//! `overrides.toml`).
//!
//! Two answers are near-identical when they hold the same negations (a `not` more is a
//! different answer; [`crate::rubric::cues`]) and their signatures (the folded answer
//! with punctuation dropped, signs and comparison symbols kept) are equal, or both have
//! at least [`MIN_GRAMS`] character 3-grams and share [`NEAR`] of them (Jaccard index):
//! a changed word or two in a paragraph, not a different answer.

use std::collections::HashSet;

use lectern_lesson::answer::fold;

/// Jaccard index of character 3-grams at or above which two answers are one group.
pub const NEAR: f64 = 0.85;
/// Answers shorter than this many 3-grams group only when their signatures are equal.
pub const MIN_GRAMS: usize = 20;

/// The answer as groups compare it: folded, letters, digits, signs and comparison
/// symbols (`x = -3` is not `x = 3`), single spaces.
pub fn signature(answer: &str) -> String {
    let folded = fold(answer);
    let mut out = String::with_capacity(folded.len());
    let chars: Vec<char> = folded.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // A minus sign (`-3`, `= -0.5`) is kept; a hyphen (`kv-cache`) is a space.
        let sign = c == '-' && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit() || *n == '.') && !(i > 0 && chars[i - 1].is_alphanumeric());
        if c.is_alphanumeric() || sign || matches!(c, '+' | '<' | '>' | '=' | '≤' | '≥' | '≠' | '×' | '÷' | '/' | '*' | '^' | '%') {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

fn grams(signature: &str) -> HashSet<[char; 3]> {
    let chars: Vec<char> = signature.chars().collect();
    chars.windows(3).map(|w| [w[0], w[1], w[2]]).collect()
}

fn same_negations(a: &str, b: &str) -> bool {
    let (a, b) = (fold(a), fold(b));
    crate::rubric::cues(&a) == crate::rubric::cues(&b)
}

/// Whether two answers are near-identical (see the module's description).
pub fn near_identical(a: &str, b: &str) -> bool {
    if !same_negations(a, b) {
        return false;
    }
    let (a, b) = (signature(a), signature(b));
    if a == b {
        return !a.is_empty();
    }
    let (ga, gb) = (grams(&a), grams(&b));
    if ga.len() < MIN_GRAMS || gb.len() < MIN_GRAMS {
        return false;
    }
    let shared = ga.intersection(&gb).count();
    shared as f64 / (ga.len() + gb.len() - shared) as f64 >= NEAR
}

/// Groups `answers` (empty ones left out): each group lists indices into `answers` in
/// their order, the first being the group's representative; an answer joins the
/// first group whose representative it is near-identical to. Groups come in order of
/// their first answer.
pub fn group(answers: &[&str]) -> Vec<Vec<usize>> {
    let sigs: Vec<(String, HashSet<[char; 3]>, Vec<String>)> = answers
        .iter()
        .map(|a| {
            let s = signature(a);
            let g = grams(&s);
            let folded = fold(a);
            let cues = crate::rubric::cues(&folded).into_iter().map(str::to_owned).collect();
            (s, g, cues)
        })
        .collect();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (i, (sig, g, cues)) in sigs.iter().enumerate() {
        if sig.is_empty() {
            continue;
        }
        let home = groups.iter_mut().find(|members| {
            let (rs, rg, rc) = &sigs[members[0]];
            rc == cues && (rs == sig || (g.len() >= MIN_GRAMS && rg.len() >= MIN_GRAMS && {
                let shared = g.intersection(rg).count();
                shared as f64 / (g.len() + rg.len() - shared) as f64 >= NEAR
            }))
        });
        match home {
            Some(members) => members.push(i),
            None => groups.push(vec![i]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_identical_answers_group_and_different_ones_do_not() {
        let base = "The encoder must read the whole long input first, then the decoder cross-attends to all of it at every step.";
        assert!(near_identical(base, "the encoder must read the whole long input first; then the decoder cross-attends to all of it at every step"));
        assert!(near_identical(base, "The encoder must read the whole long input first, then the decoder cross‑attends to all of it at each step."));
        assert!(!near_identical(base, "A decoder-only model treats prompt and output in one stack, and its KV cache keeps every step cheap."));
        // Short answers group only when equal.
        assert!(near_identical("KV cache", "kv-cache"));
        assert!(!near_identical("KV cache", "KV caches"));
        assert!(!near_identical("", " "));
        // Opposite answers are never one group.
        assert!(!near_identical("x = -3", "x = 3"));
        assert!(!near_identical("ratio > 1", "ratio < 1"));
        assert!(!near_identical(base, &base.replace("must read", "must not read")));
        assert!(!near_identical("編碼器是瓶頸，因為它必須讀完整個長輸入再交給解碼器做交叉注意力", "編碼器不是瓶頸，因為它必須讀完整個長輸入再交給解碼器做交叉注意力"));
        let groups = group(&[base, "short", &base.to_uppercase(), "", "SHORT!", "something else entirely"]);
        assert_eq!(groups, vec![vec![0, 2], vec![1, 4], vec![5]]);
    }
}
