//! Quiz answers against the key: single and multiple choice (with the quiz's
//! partial-credit policy), numeric with tolerance and unit, text with accepted phrases
//! and patterns.

use lectern_lesson::answer;
use lectern_lesson::model::{ChoicePolicy, Tolerance};

use crate::key::{ChoiceOption, ItemKind, Matcher};
use crate::{Detail, ItemResult};

/// Grades `answer` (as `answers.toml` holds it; `None` when the hand-in has none) for a
/// quiz item.
pub fn grade_quiz(id: &str, kind: &ItemKind, points: f64, answer: Option<&toml::Value>) -> ItemResult {
    let mut result = ItemResult { item: id.to_owned(), score: 0.0, max_score: points, answer: String::new(), feedback: Vec::new(), flag: None, detail: Detail::None, overridden: None };
    let Some(answer) = answer else {
        result.feedback.push(format!("{id}: no answer."));
        return result;
    };
    match kind {
        ItemKind::Choice { options, policy, multiple } => choice(&mut result, options, *policy, *multiple, answer),
        ItemKind::Numeric { answer: key, tolerance, unit } => numeric(&mut result, *key, *tolerance, unit.as_deref(), answer),
        ItemKind::Text { accept } => text(&mut result, accept, answer),
        ItemKind::Step { .. } | ItemKind::Exercise(_) => {}
    }
    result
}

/// The letters a choice answer names, read by the answer contract
/// ([`answer::choice_letters`]).
fn letters(answer: &toml::Value) -> Result<Vec<char>, String> {
    match answer {
        toml::Value::String(s) => answer::choice_letters(&[s]),
        toml::Value::Array(values) => {
            let mut parts = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    toml::Value::String(s) => parts.push(s.as_str()),
                    other => return Err(format!("`{}` is not an option letter", capped(other))),
                }
            }
            answer::choice_letters(&parts)
        }
        other => Err(format!("expected an option letter such as \"A\", found `{}`", capped(other))),
    }
}

fn choice(result: &mut ItemResult, options: &[ChoiceOption], policy: ChoicePolicy, multiple: bool, answer: &toml::Value) {
    let id = result.item.clone();
    let chosen = match letters(answer) {
        Ok(chosen) => chosen,
        Err(message) => {
            result.answer = capped(answer);
            result.feedback.push(format!("{id}: {message}; scored 0."));
            return;
        }
    };
    result.answer = chosen.iter().map(char::to_string).collect::<Vec<_>>().join(",");
    let last = options.last().map_or('A', |o| o.letter);
    if let Some(bad) = chosen.iter().find(|c| !options.iter().any(|o| o.letter == **c)) {
        result.feedback.push(format!("{id}: `{bad}` is not an option (A–{last}); scored 0."));
        return;
    }
    if chosen.is_empty() {
        result.feedback.push(format!("{id}: no option chosen."));
        return;
    }
    let key: Vec<char> = options.iter().filter(|o| o.correct).map(|o| o.letter).collect();
    let (correct, right) = (key.len(), chosen.iter().filter(|c| key.contains(c)).count());
    let wrong = chosen.len() - right;
    if !multiple && chosen.len() > 1 {
        result.feedback.push(format!("{id}: one option is asked for, {} were chosen; scored 0.", chosen.len()));
        return;
    }
    result.score = result.max_score * answer::choice_share(&key, &chosen, policy);
    if result.score == result.max_score {
        result.feedback.push(format!("{id}: correct."));
    } else if multiple {
        result.feedback.push(format!(
            "{id}: {right} of the {correct} correct options and {wrong} wrong option{} chosen ({}); {} of {} points.",
            if wrong == 1 { "" } else { "s" },
            policy_name(policy),
            number(result.score),
            number(result.max_score)
        ));
    } else {
        result.feedback.push(format!("{id}: not correct."));
    }
}

fn policy_name(policy: ChoicePolicy) -> &'static str {
    match policy {
        ChoicePolicy::AllOrNothing => "all or nothing",
        ChoicePolicy::RightMinusWrong => "right minus wrong",
    }
}

/// A TOML value as the gradebook keeps an answer: at most 200 characters.
pub fn capped(value: &toml::Value) -> String {
    value.to_string().chars().take(200).collect()
}

/// A number as people write it: no trailing `.0`, at most four decimals.
pub fn number(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

fn numeric(result: &mut ItemResult, key: f64, tolerance: Tolerance, unit: Option<&str>, given: &toml::Value) {
    let id = result.item.clone();
    let value = match given {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) if f.is_finite() => Ok(*f),
        toml::Value::Float(_) => Err(answer::NumberError::NotFinite.to_string()),
        toml::Value::String(s) => answer::parse_number(s, unit).map_err(|e| e.to_string()),
        other => Err(format!("expected a number, found `{}`", capped(other))),
    };
    result.answer = match given {
        toml::Value::String(s) => s.trim().chars().take(200).collect(),
        other => capped(other),
    };
    match value {
        Err(message) => result.feedback.push(format!("{id}: {message}; scored 0.")),
        Ok(v) if answer::NumericRange::of(key, tolerance).contains(v) => {
            result.score = result.max_score;
            result.feedback.push(format!("{id}: correct."));
        }
        Ok(v) => result.feedback.push(format!("{id}: {} is not within the tolerance.", number(v))),
    }
}

fn text(result: &mut ItemResult, accept: &[Matcher], answer: &toml::Value) {
    let id = result.item.clone();
    let given = match answer {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => answer.to_string(),
        other => {
            result.answer = capped(other);
            result.feedback.push(format!("{id}: expected a text answer, found `{}`; scored 0.", capped(other)));
            return;
        }
    };
    result.answer = given.trim().chars().take(200).collect();
    let answer = crate::key::Answer::new(&given);
    if accept.iter().any(|m| m.accepts_whole(&answer)) {
        result.score = result.max_score;
        result.feedback.push(format!("{id}: correct."));
    } else {
        result.feedback.push(format!("{id}: not an accepted answer."));
    }
}
