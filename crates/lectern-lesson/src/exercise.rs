//! `exercises/ID/exercise.toml` → an [`Exercise`], with diagnostics at TOML spans.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::diag::{Diagnostic, Span};
use crate::lesson::{find_key, Parsed};
use crate::model::{ArgValue, Case, Check, DType, Exercise, Property};

#[derive(Deserialize)]
struct RawExercise {
    title: String,
    statement: Option<Spanned<String>>,
    entry: Spanned<String>,
    function: Spanned<String>,
    reference: Spanned<String>,
    points: Spanned<f64>,
    #[serde(default, rename = "case")]
    cases: Vec<Spanned<RawCase>>,
    #[serde(default, rename = "check")]
    checks: Vec<RawCheck>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct RawCase {
    name: String,
    /// A TOML table keeps the author's order (toml's `preserve_order`). Empty for a
    /// reference that takes only arguments.
    #[serde(default)]
    inputs: toml::Table,
    #[serde(default)]
    args: BTreeMap<String, Spanned<toml::Value>>,
    dtype: Option<Spanned<String>>,
    #[serde(default)]
    visible: bool,
    seed: Option<u64>,
    rtol: Option<f64>,
    atol: Option<f64>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
struct RawCheck {
    property: Spanned<String>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

/// Parses `exercise.toml` of exercise `id`. `starter` and `solution` are the texts of
/// the files beside it (the loader reads them).
pub fn parse_exercise(
    id: &str,
    file: &Path,
    text: &str,
    starter: String,
    solution: Option<String>,
) -> Parsed<Option<Exercise>> {
    let mut diagnostics = Vec::new();
    let raw: RawExercise = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().map_or(Span::new(0, 0), Span::from);
            diagnostics.push(Diagnostic::error(file, span, format!("exercise.toml: {}", e.message().trim())));
            return Parsed { value: None, diagnostics };
        }
    };
    let mut error = |span: Span, message: String| diagnostics.push(Diagnostic::error(file, span, message));

    let entry = raw.entry.get_ref();
    if entry.is_empty() || entry.contains(['/', '\\']) || entry.starts_with('.') || !entry.ends_with(".py") {
        error(Span::from(raw.entry.span()), format!("`entry` must be a plain Python file name like `attention.py`, not `{entry}`"));
    }
    let function = raw.function.get_ref();
    if !is_identifier(function) {
        error(Span::from(raw.function.span()), format!("`function` must be a Python identifier, not `{function}`"));
    }
    if raw.reference.get_ref().trim().is_empty() {
        error(Span::from(raw.reference.span()), "`reference` names no reference implementation".into());
    }
    let points = *raw.points.get_ref();
    if !(points.is_finite() && points > 0.0) {
        error(Span::from(raw.points.span()), format!("`points` must be a positive number, not {points}"));
    }
    let mut cases = Vec::new();
    let mut names: BTreeMap<String, Span> = BTreeMap::new();
    // Unknown keys inside `[[case]]` and `[[check]]` tables, with their table's span.
    let mut unknown: Vec<(String, Span)> = Vec::new();
    for spanned in raw.cases {
        let span = Span::from(spanned.span());
        let case = spanned.into_inner();
        if names.insert(case.name.clone(), span).is_some() {
            error(span, format!("two cases are named `{}`", case.name));
        }
        if case.inputs.is_empty() && case.args.is_empty() {
            error(span, format!("case `{}` has neither `inputs` nor `args`", case.name));
        }
        let mut inputs = Vec::new();
        for (arg, value) in &case.inputs {
            let shape: Option<Vec<usize>> = value.as_array().and_then(|dims| {
                dims.iter().map(|d| d.as_integer().and_then(|d| usize::try_from(d).ok())).collect()
            });
            match shape {
                Some(shape) if shape.contains(&0) => {
                    error(span, format!("case `{}`: input `{arg}` has a zero dimension in {shape:?}", case.name));
                    // Kept, so that later checks do not also call it missing.
                    inputs.push((arg.clone(), shape));
                }
                Some(shape) => inputs.push((arg.clone(), shape)),
                None => error(span, format!("case `{}`: input `{arg}` must be a shape like [2, 4, 8]", case.name)),
            }
        }
        for key in case.other.keys() {
            unknown.push((key.clone(), span));
        }
        let dtype = match &case.dtype {
            None => DType::F32,
            Some(d) => DType::parse(d.get_ref()).unwrap_or_else(|| {
                error(
                    Span::from(d.span()),
                    format!("unknown dtype `{}`; expected f32, f64, f16 or bf16", d.get_ref()),
                );
                DType::F32
            }),
        };
        let mut args = BTreeMap::new();
        for (key, value) in case.args {
            let at = Span::from(value.span());
            match arg_value(value.into_inner()) {
                Some(v) => {
                    args.insert(key, v);
                }
                None => error(at, format!("case `{}`: argument `{key}` must be a bool, number, string or list", case.name)),
            }
        }
        for (what, tol) in [("rtol", case.rtol), ("atol", case.atol)] {
            if tol.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
                error(span, format!("case `{}`: `{what}` must be a number ≥ 0", case.name));
            }
        }
        cases.push(Case {
            name: case.name,
            inputs,
            args,
            dtype,
            visible: case.visible,
            seed: case.seed,
            rtol: case.rtol,
            atol: case.atol,
        });
    }
    if cases.is_empty() {
        error(Span::new(0, 0), "exercise has no `[[case]]`".into());
    } else if !cases.iter().any(|c| c.visible) {
        diagnostics.push(Diagnostic::warning(
            file,
            Span::new(0, 0),
            "no case is `visible = true`: students cannot check their code with `lectern test`",
        ));
    }
    let mut checks = Vec::new();
    for check in raw.checks {
        for key in check.other.keys() {
            unknown.push((key.clone(), Span::from(check.property.span())));
        }
        match Property::parse(check.property.get_ref()) {
            Some(property) => checks.push(Check { property }),
            None => diagnostics.push(Diagnostic::error(
                file,
                Span::from(check.property.span()),
                format!(
                    "unknown property `{}`; expected one of: {}",
                    check.property.get_ref(),
                    Property::ALL.map(Property::name).join(", ")
                ),
            )),
        }
    }
    for key in raw.other.keys() {
        let at = find_key(text, key).unwrap_or_default();
        diagnostics.push(Diagnostic::warning(file, at, format!("unknown key `{key}` in exercise.toml")));
    }
    // The statement is Markdown with math, like a lesson: its formulas must render too.
    // (Reported at the statement: its text is unescaped TOML, so offsets inside it do
    // not map back to the file exactly.)
    if let Some(statement) = &raw.statement {
        let text = statement.get_ref();
        let mut sink = crate::markdown::Sink { file, diagnostics: Vec::new() };
        crate::markdown::outline(text, &crate::dollars::mask_dollars(text), Span::new(0, text.len()), &mut sink);
        let at = Span::from(statement.span());
        for d in sink.diagnostics {
            diagnostics.push(Diagnostic { span: at, message: format!("in the statement: {}", d.message), ..d });
        }
    }
    for (key, table) in unknown {
        let at = find_key(&text[table.range()], &key).map_or(table, |s| s.shift(table.start));
        let hint = match key.as_str() {
            "arg" => "; did you mean `args`?",
            "visibel" | "visable" => "; did you mean `visible`?",
            _ => "",
        };
        diagnostics.push(Diagnostic::warning(file, at, format!("unknown key `{key}` in this table{hint}")));
    }
    let exercise = Exercise {
        id: id.to_string(),
        title: raw.title,
        statement: raw.statement.map(Spanned::into_inner).unwrap_or_default(),
        entry: raw.entry.into_inner(),
        function: raw.function.into_inner(),
        reference: raw.reference.into_inner(),
        points,
        cases,
        checks,
        starter,
        solution,
    };
    Parsed { value: Some(exercise), diagnostics }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn arg_value(v: toml::Value) -> Option<ArgValue> {
    Some(match v {
        toml::Value::Boolean(b) => ArgValue::Bool(b),
        toml::Value::Integer(i) => ArgValue::Int(i),
        toml::Value::Float(f) => ArgValue::Float(f),
        toml::Value::String(s) => ArgValue::Str(s),
        toml::Value::Array(a) => ArgValue::List(a.into_iter().map(arg_value).collect::<Option<_>>()?),
        toml::Value::Table(_) | toml::Value::Datetime(_) => return None,
    })
}
