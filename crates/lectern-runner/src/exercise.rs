//! Whether an exercise, as the course wrote it, can run against its reference: the name
//! exists, every case gives the inputs the reference takes and only arguments it knows,
//! and every `[[check]]` fits the reference (and can take its sizes from a case).
//! `lectern check` reports these with the rest of the course's diagnostics.

use lectern_lesson::model::{ArgValue, Exercise};

use crate::reference::{self, ParamKind};

/// One problem with an exercise definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExerciseProblem {
    /// The case it is about; `None` for the exercise itself (its `reference`).
    pub case: Option<String>,
    pub message: String,
}

/// Every problem that would stop `exercise` from running against its reference.
pub fn check_exercise(exercise: &Exercise) -> Vec<ExerciseProblem> {
    let Some(reference) = reference::by_name(&exercise.reference) else {
        return vec![ExerciseProblem {
            case: None,
            message: format!(
                "unknown reference `{}`; the runner has: {}",
                exercise.reference,
                reference::names().join(", ")
            ),
        }];
    };
    let mut problems = Vec::new();
    for case in &exercise.cases {
        let mut problem = |message: String| problems.push(ExerciseProblem { case: Some(case.name.clone()), message });
        for (name, _) in &case.inputs {
            if !reference.inputs.iter().any(|i| i.name == name) {
                let known: Vec<&str> = reference.inputs.iter().map(|i| i.name).collect();
                problem(format!("`{}` takes no input `{name}`; its inputs are {}", reference.name, known.join(", ")));
            }
        }
        for input in reference.inputs.iter().filter(|i| i.required) {
            if !case.inputs.iter().any(|(name, _)| name == input.name) {
                problem(format!("`{}` needs the input `{}`", reference.name, input.name));
            }
        }
        for (name, value) in &case.args {
            match reference.params.iter().find(|p| p.name == name) {
                None => {
                    let known: Vec<&str> = reference.params.iter().map(|p| p.name).collect();
                    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
                    problem(format!("`{}` takes no argument `{name}`; its arguments are {known}", reference.name));
                }
                Some(param) => {
                    let fits = matches!(
                        (param.kind, value),
                        (ParamKind::Bool, ArgValue::Bool(_))
                            | (ParamKind::Int, ArgValue::Int(_))
                            | (ParamKind::Float, ArgValue::Float(_) | ArgValue::Int(_))
                    );
                    if !fits {
                        problem(format!("argument `{name}` must be {:?}, not {value:?}", param.kind));
                    }
                }
            }
        }
        for param in reference.params.iter().filter(|p| p.required) {
            if !case.args.contains_key(param.name) {
                problem(format!("`{}` needs the argument `{}` ({})", reference.name, param.name, param.doc));
            }
        }
    }
    for check in &exercise.checks {
        let property = check.property;
        let problem = match crate::behaviour::plan(exercise, &reference, property, 0, &candle_core::Device::Cpu) {
            Ok(Ok(_)) => continue,
            Ok(Err(why)) => why,
            Err(e) => format!("the check `{}` cannot be prepared: {e}", property.name()),
        };
        problems.push(ExerciseProblem { case: None, message: problem });
    }
    problems
}
