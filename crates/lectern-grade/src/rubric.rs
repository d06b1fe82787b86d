//! Challenge steps by rubric: each item's points when one of its phrases or patterns
//! matches, feedback for each item missed, and a flag for a human where the grade is
//! uncertain.

use crate::key::RubricEntry;
use crate::normalize::normalize;
use crate::quiz::number;
use crate::{Detail, ItemResult};

/// Answers with fewer non-space characters than this are flagged as very short.
pub const SHORT_ANSWER_CHARS: usize = 12;
/// Share of an answer's character 5-grams found in the published solution above which
/// the answer is flagged as a near-copy.
pub const NEAR_COPY: f64 = 0.8;

/// Grades one step's answer (`None`: the hand-in has none).
pub fn grade_step(id: &str, rubric: &[RubricEntry], solution: &str, max: f64, answer: Option<&toml::Value>) -> ItemResult {
    let mut result = ItemResult {
        item: id.to_owned(),
        score: 0.0,
        max_score: max,
        answer: String::new(),
        feedback: Vec::new(),
        flag: None,
        detail: Detail::Rubric { hits: vec![false; rubric.len()] },
        overridden: None,
    };
    let Some(answer) = answer else {
        result.feedback.push(format!("{id}: no answer."));
        return result;
    };
    let toml::Value::String(text) = answer else {
        result.answer = answer.to_string();
        result.feedback.push(format!("{id}: expected a text answer, found `{answer}`; scored 0."));
        result.flag = Some("the answer is not text".to_owned());
        return result;
    };
    result.answer = text.trim().chars().take(2000).collect();
    let normalized = normalize(text);
    let mut hits = Vec::with_capacity(rubric.len());
    let mut by_hand = false;
    for item in rubric {
        let hit = item.accept.iter().any(|m| m.find_in(&normalized));
        by_hand |= item.accept.is_empty();
        if hit {
            result.score += item.points;
        } else if !item.feedback.is_empty() {
            result.feedback.push(format!("{id}: {} (−{})", item.feedback, number(item.points)));
        }
        hits.push(hit);
    }
    let chars = normalized.chars().filter(|c| !c.is_whitespace()).count();
    let copied = copied_share(&normalized, &normalize(solution));
    result.flag = if chars == 0 {
        Some("empty answer".to_owned())
    } else if chars < SHORT_ANSWER_CHARS {
        Some(format!("very short answer ({chars} characters)"))
    } else if copied >= NEAR_COPY {
        Some(format!("near-copy of the published solution ({:.0}% of its 5-grams)", copied * 100.0))
    } else if by_hand {
        Some("a rubric item is graded by hand".to_owned())
    } else if !rubric.is_empty() && !hits.iter().any(|h| *h) {
        Some("matches no rubric item".to_owned())
    } else {
        None
    };
    if hits.iter().all(|h| *h) && !rubric.is_empty() {
        result.feedback.push(format!("{id}: every rubric item met."));
    }
    result.detail = Detail::Rubric { hits };
    result
}

/// The share of `answer`'s character 5-grams (spaces ignored) that occur in `solution`.
fn copied_share(answer: &str, solution: &str) -> f64 {
    const N: usize = 5;
    let a: Vec<char> = answer.chars().filter(|c| !c.is_whitespace()).collect();
    let s: Vec<char> = solution.chars().filter(|c| !c.is_whitespace()).collect();
    if a.len() < N || s.len() < N {
        return 0.0;
    }
    let grams: std::collections::HashSet<&[char]> = s.windows(N).collect();
    let found = a.windows(N).filter(|w| grams.contains(w)).count();
    found as f64 / (a.len() - N + 1) as f64
}

#[cfg(test)]
mod tests {
    use super::copied_share;

    #[test]
    fn copied_share_counts_shared_five_grams() {
        assert_eq!(copied_share("abcdefg", "xxabcdefgxx"), 1.0);
        assert_eq!(copied_share("abcdefg", "zzzzzzz"), 0.0);
        assert!((copied_share("abcdezzz", "abcde") - 0.25).abs() < 1e-12);
        assert_eq!(copied_share("abc", "abc"), 0.0);
    }
}
