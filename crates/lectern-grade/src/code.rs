//! Code exercises: how the outcomes a [`CodeRunner`](crate::CodeRunner) returns are
//! weighed. Running code is not this crate's business: the binary hands `grade_batch` a
//! runner (Lectern's sandbox) through the `CodeRunner` trait.

use lectern_lesson::model::Exercise;

use crate::CaseOutcome;

/// Weighs an exercise's outcomes so that checks a constant function passes
/// ([`Property::constant_passes`](lectern_lesson::model::Property::constant_passes))
/// earn nothing alone: each earns its share of the points times the share of the
/// exercise's value cases that pass. Returns the flag for the instructor when no value
/// case passes but such a check holds: the code computes nothing the cases check.
///
/// Applied to outcomes as the runner returned them (or as the gradebook cached them),
/// so a change of this rule needs no rerun of the code.
pub fn weigh(exercise: &Exercise, outcomes: &mut [CaseOutcome]) -> Option<String> {
    let invariance: Vec<String> = exercise.checks.iter().filter(|c| c.property.constant_passes()).map(|c| format!("check: {}", c.property.name())).collect();
    let is_value = |o: &CaseOutcome| !o.name.starts_with("check: ");
    let values = outcomes.iter().filter(|o| is_value(o)).count();
    if values == 0 || invariance.is_empty() {
        return None;
    }
    let passed = outcomes.iter().filter(|o| is_value(o) && o.passed).count();
    let share = passed as f64 / values as f64;
    let mut held = 0;
    for o in outcomes.iter_mut().filter(|o| invariance.contains(&o.name)) {
        if o.passed {
            held += 1;
            o.score = o.max_score * share;
        }
    }
    (passed == 0 && held > 0).then(|| {
        format!("computes nothing the cases check: none of its {values} value cases pass, so the {held} check{} that a constant function also passes earn nothing", if held == 1 { "" } else { "s" })
    })
}
