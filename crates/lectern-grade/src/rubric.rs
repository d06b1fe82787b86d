//! Challenge steps by rubric: each item's points when one of its phrases or patterns
//! matches, feedback for each item missed, and a flag for a human where the grade is
//! uncertain.

use crate::key::RubricEntry;
use lectern_lesson::answer::fold;
use crate::quiz::number;
use crate::{Detail, ItemResult};

/// Answers with fewer non-space characters than this are flagged as very short.
pub const SHORT_ANSWER_CHARS: usize = 12;
/// Share of an answer's character 5-grams found in the published solution above which
/// the answer is flagged as a near-copy.
pub const NEAR_COPY: f64 = 0.8;

/// Grades one step's answer (`None`: the hand-in has none).
pub fn grade_step(id: &str, rubric: &[RubricEntry], solution: &Grams, max: f64, answer: Option<&toml::Value>) -> ItemResult {
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
        result.answer = crate::quiz::capped(answer);
        result.feedback.push(format!("{id}: expected a text answer, found `{}`; scored 0.", result.answer));
        result.flag = Some("the answer is not text".to_owned());
        return result;
    };
    result.answer = text.trim().chars().take(2000).collect();
    let answer = crate::key::Answer::new(text);
    let folded = &answer.folded;
    let mut hits = Vec::with_capacity(rubric.len());
    let mut by_hand = false;
    for item in rubric {
        let hit = item.accept.iter().any(|m| m.find_in(&answer));
        by_hand |= item.accept.is_empty();
        if hit {
            result.score += item.points;
        } else if !item.feedback.is_empty() {
            result.feedback.push(format!("{id}: {} (−{})", item.feedback, number(item.points)));
        }
        hits.push(hit);
    }
    let chars = folded.chars().filter(|c| !c.is_whitespace()).count();
    let copied = solution.share_of(folded);
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

/// The character 5-grams (white space ignored) of a published solution, made once per
/// batch, to tell how much of an answer is copied from it.
#[derive(Debug, Default)]
pub struct Grams(std::collections::HashSet<[char; GRAM]>);

const GRAM: usize = 5;

fn grams(text: &str) -> Vec<[char; GRAM]> {
    let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    chars.windows(GRAM).map(|w| [w[0], w[1], w[2], w[3], w[4]]).collect()
}

impl Grams {
    /// The 5-grams of `solution` (folded here).
    pub fn of(solution: &str) -> Grams {
        Grams(grams(&fold(solution)).into_iter().collect())
    }

    /// The share of the folded `answer`'s 5-grams that occur in the solution.
    pub fn share_of(&self, answer: &str) -> f64 {
        let a = grams(answer);
        if a.is_empty() || self.0.is_empty() {
            return 0.0;
        }
        a.iter().filter(|g| self.0.contains(*g)).count() as f64 / a.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::Grams;

    #[test]
    fn the_copied_share_counts_shared_five_grams() {
        assert_eq!(Grams::of("xxabcdefgxx").share_of("abcdefg"), 1.0);
        assert_eq!(Grams::of("zzzzzzz").share_of("abcdefg"), 0.0);
        assert!((Grams::of("abcde").share_of("abcdezzz") - 0.25).abs() < 1e-12);
        assert_eq!(Grams::of("abc").share_of("abc"), 0.0);
        assert_eq!(Grams::of("ABC DE").share_of("abcde"), 1.0);
    }
}
