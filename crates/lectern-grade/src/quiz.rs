//! Quiz answers against the key: single and multiple choice (with the quiz's
//! partial-credit policy), numeric with tolerance and unit, text with accepted phrases
//! and patterns.

use lectern_lesson::model::{ChoicePolicy, Tolerance};

use crate::key::{ChoiceOption, ItemKind, Matcher};
use crate::normalize::normalize;
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

/// The letters a choice answer names: `"B"`, `["A", "C"]`, or `"A, C"`, in either case
/// and in full-width forms (`"Ｂ"`).
fn letters(answer: &toml::Value) -> Result<Vec<char>, String> {
    let mut out = Vec::new();
    let mut push = |s: &str| -> Result<(), String> {
        for part in normalize(s).split([',', ' ']).filter(|p| !p.is_empty()) {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii_alphabetic() => {
                    let c = c.to_ascii_uppercase();
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
                _ => return Err(format!("`{part}` is not an option letter")),
            }
        }
        Ok(())
    };
    match answer {
        toml::Value::String(s) => push(s)?,
        toml::Value::Array(values) => {
            for v in values {
                match v {
                    toml::Value::String(s) => push(s)?,
                    other => return Err(format!("`{}` is not an option letter", capped(other))),
                }
            }
        }
        other => return Err(format!("expected an option letter such as \"A\", found `{}`", capped(other))),
    }
    out.sort_unstable();
    Ok(out)
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
    let correct = options.iter().filter(|o| o.correct).count();
    let right = chosen.iter().filter(|c| options.iter().any(|o| o.letter == **c && o.correct)).count();
    let wrong = chosen.len() - right;
    if !multiple && chosen.len() > 1 {
        result.feedback.push(format!("{id}: one option is asked for, {} were chosen; scored 0.", chosen.len()));
        return;
    }
    result.score = if right == correct && wrong == 0 {
        result.max_score
    } else {
        match policy {
            ChoicePolicy::AllOrNothing => 0.0,
            ChoicePolicy::RightMinusWrong if multiple => (result.max_score / correct as f64 * (right as f64 - wrong as f64)).max(0.0),
            ChoicePolicy::RightMinusWrong => 0.0,
        }
    };
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

fn numeric(result: &mut ItemResult, key: f64, tolerance: Tolerance, unit: Option<&str>, answer: &toml::Value) {
    let id = result.item.clone();
    let given = match answer {
        toml::Value::Integer(i) => Ok(*i as f64),
        toml::Value::Float(f) => Ok(*f),
        toml::Value::String(s) => parse_with_unit(s, unit),
        other => Err(format!("expected a number, found `{}`", capped(other))),
    };
    result.answer = match answer {
        toml::Value::String(s) => s.trim().chars().take(200).collect(),
        other => capped(other),
    };
    let given = match given {
        Ok(v) if v.is_finite() => v,
        Ok(_) => {
            result.feedback.push(format!("{id}: the answer is not a finite number; scored 0."));
            return;
        }
        Err(message) => {
            result.feedback.push(format!("{id}: {message}; scored 0."));
            return;
        }
    };
    let allowed = match tolerance {
        Tolerance::Absolute(t) => t,
        Tolerance::Relative(r) => r * key.abs(),
    };
    // A little slack for decimal answers that are exactly on the boundary.
    if (given - key).abs() <= allowed + 1e-9 * key.abs().max(1.0) {
        result.score = result.max_score;
        result.feedback.push(format!("{id}: correct."));
    } else {
        result.feedback.push(format!("{id}: {} is not within the tolerance.", number(given)));
    }
}

/// `"15.3"`, `"15.3 GiB"`, `"１５.３ｇｉｂ"`: a number, then maybe the quiz's unit.
fn parse_with_unit(text: &str, unit: Option<&str>) -> Result<f64, String> {
    let t = normalize(text);
    let end = t.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e'))).unwrap_or(t.len());
    let (num, rest) = t.split_at(end);
    let value: f64 = num.trim().parse().map_err(|_| format!("`{}` is not a number", text.trim()))?;
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(value);
    }
    match unit {
        Some(u) if normalize(u) == rest => Ok(value),
        Some(u) => Err(format!("the unit `{rest}` is not the quiz's unit `{u}`")),
        None => Err(format!("`{}` is not a number", text.trim())),
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
