//! An exercise prepared once for a whole batch: every case's inputs drawn, the
//! reference's outputs computed, every behaviour check planned, and the plan the sandbox
//! reads already framed, for one secret. Every hand-in of the batch reuses it.
//!
//! It knows exercises, references and the protocol; it must never know the sandbox or
//! how a hand-in is graded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use candle_core::{Device, Tensor};
use lectern_lesson::model::{Case, Exercise};

use crate::behaviour::{self, Call, Probe};
use crate::inputs::{case_seed_with, check_seed, draw_inputs, dtype_name, student_dtype};
use crate::protocol::{self, CallPlan, UnitPlan};
use crate::reference::{self, Reference};
use crate::tolerance::{self, Expected};
use crate::RunnerError;

/// Which cases to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cases {
    /// The student's self-check.
    Visible,
    /// Grading: every case.
    All,
}

/// How a hand-in is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    pub cases: Cases,
    /// Mixed into the seeds of hidden cases and of behaviour checks at grading time, so
    /// that their inputs cannot be known in advance. Visible cases never change.
    pub secret: Option<u64>,
}

/// One case or check: the calls its process makes, and how its outputs are judged.
pub struct Unit {
    /// The case's name, or `check: PROPERTY`.
    pub name: String,
    pub visible: bool,
    pub judge: Judge,
    /// For each call, the byte length of each output the reference gives: the most the
    /// grader reads of that output (anything larger is judged by its header alone).
    pub caps: Vec<Vec<u64>>,
}

/// How a unit is judged.
pub enum Judge {
    Case { case: Case, inputs: BTreeMap<String, Tensor>, expected: Expected },
    Check(Probe),
}

impl Judge {
    /// The shape and dtype of each output the reference gives for call `call` (the
    /// student returns [`student_dtype`] of that dtype).
    pub fn expected(&self, call: usize) -> Vec<(Vec<usize>, candle_core::DType)> {
        match self {
            Judge::Case { expected, .. } => expected.exact.iter().zip(&expected.dtypes).map(|(t, d)| (t.dims().to_vec(), *d)).collect(),
            Judge::Check(probe) => probe.expected.get(call).map_or_else(Vec::new, |outs| outs.iter().map(|t| (t.dims().to_vec(), t.dtype())).collect()),
        }
    }
}

/// An exercise ready to run hand-ins against.
pub struct Prepared {
    /// Names this preparation (the exercise, the cases, the secret, the device).
    pub id: u64,
    pub reference: Reference,
    pub entry: String,
    pub function: String,
    pub units: Vec<Unit>,
    /// The plan without its budget and limits, and every input's bytes.
    pub plan: Vec<UnitPlan>,
    pub input_bytes: Vec<u8>,
}

/// `exercise` prepared for `options` on `device`: made on first use, then shared by every
/// hand-in of this process (a batch, or `serve`'s runs).
pub fn prepared(exercise: &Exercise, options: &RunOptions, device: &Device) -> Result<Arc<Prepared>, RunnerError> {
    type Slot = Arc<Mutex<Option<Arc<Prepared>>>>;
    static CACHE: Mutex<Option<HashMap<u64, Slot>>> = Mutex::new(None);
    let key = lectern_lesson::stable_hash([
        format!("{exercise:?}").as_bytes(),
        format!("{:?}{:?}{:?}", options.cases, options.secret, device.location()).as_bytes(),
    ]);
    let slot = {
        let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(cache.get_or_insert_with(HashMap::new).entry(key).or_default())
    };
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = slot.as_ref() {
        return Ok(Arc::clone(done));
    }
    let mut made = prepare(exercise, options, device)?;
    made.id = key;
    let done = Arc::new(made);
    *slot = Some(Arc::clone(&done));
    Ok(done)
}

/// Prepares `exercise` (see [`prepared`], which caches this).
pub fn prepare(exercise: &Exercise, options: &RunOptions, device: &Device) -> Result<Prepared, RunnerError> {
    let reference = reference::by_name(&exercise.reference).ok_or_else(|| RunnerError::UnknownReference { name: exercise.reference.clone() })?;
    let op = reference.name;
    let mut units = Vec::new();
    let mut plan = Vec::new();
    let mut input_bytes = Vec::new();
    let mut add = |name: String, visible: bool, calls: &[Call], judge: Judge| -> Result<(), RunnerError> {
        let mut planned = Vec::with_capacity(calls.len());
        for call in calls {
            let mut inputs = Vec::new();
            for (name, tensor) in &call.inputs {
                let sent = if tensor.dtype() == student_dtype(tensor.dtype()) { tensor.clone() } else { tensor.to_dtype(student_dtype(tensor.dtype())).map_err(RunnerError::candle(op))? };
                let (header, bytes) = protocol::array_bytes(name, &sent).map_err(|reason| RunnerError::BadArgument { op, arg: name.clone(), reason })?;
                inputs.push(header);
                input_bytes.extend_from_slice(&bytes);
            }
            // The case's float dtype (f32 when no input is a float).
            let dtype = call.inputs.values().map(Tensor::dtype).find(|d| d.is_float()).map_or_else(|| "f32".to_string(), dtype_name);
            let from = call.from.iter().map(|(name, j, i)| (name.clone(), (*j, *i))).collect();
            planned.push(CallPlan { inputs, from, args: call.args.clone(), dtype });
        }
        let caps = (0..calls.len())
            .map(|k| judge.expected(k).iter().map(|(dims, dtype)| (dims.iter().product::<usize>() * student_dtype(*dtype).size_in_bytes()) as u64).collect())
            .collect();
        plan.push(UnitPlan { calls: planned });
        units.push(Unit { name, visible, judge, caps });
        Ok(())
    };
    for case in exercise.cases.iter().filter(|c| options.cases == Cases::All || c.visible) {
        let seed = case_seed_with(exercise, case, options.secret);
        let inputs = draw_inputs(&reference, case, seed)?;
        let expected = tolerance::expected(&reference, &inputs, &case.args, device, seed)?;
        let call = Call { inputs: inputs.clone(), args: case.args.clone(), from: Vec::new() };
        add(case.name.clone(), case.visible, std::slice::from_ref(&call), Judge::Case { case: case.clone(), inputs, expected })?;
    }
    for check in &exercise.checks {
        let property = check.property;
        let seed = check_seed(exercise, property, options.secret);
        let probe = match behaviour::plan(exercise, &reference, property, seed, device)? {
            Ok(probe) => probe,
            Err(reason) => return Err(RunnerError::BadArgument { op, arg: format!("[[check]] {}", property.name()), reason }),
        };
        let calls = probe.calls.clone();
        add(format!("check: {}", property.name()), true, &calls, Judge::Check(probe))?;
    }
    let id = lectern_lesson::stable_hash([input_bytes.as_slice(), format!("{exercise:?}{options:?}").as_bytes()]);
    Ok(Prepared { id, reference, entry: exercise.entry.clone(), function: exercise.function.clone(), units, plan, input_bytes })
}
