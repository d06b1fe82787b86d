//! A case's inputs: seeds (a case's own, mixed with the grader's secret for hidden cases
//! and checks), the random draws, and the dtypes they travel in.
//!
//! It knows cases and references; it must never know the sandbox.

use std::collections::BTreeMap;

use candle_core::{DType as CDType, Device, Tensor};
use lectern_lesson::model::{ArgValue, Case, DType, Exercise, Property};

use crate::reference::{self, InputKind, Reference};
use crate::RunnerError;

/// The seed of a case: its own, or one derived from the exercise and case names.
pub fn case_seed(exercise: &Exercise, case: &Case) -> u64 {
    case.seed.unwrap_or_else(|| lectern_lesson::stable_hash([exercise.id.as_bytes(), case.name.as_bytes()]))
}

/// The seed a case is drawn from in a run: hidden cases mix in the grader's secret, if
/// any; visible cases never change.
pub fn case_seed_with(exercise: &Exercise, case: &Case, secret: Option<u64>) -> u64 {
    let seed = case_seed(exercise, case);
    match secret {
        Some(secret) if !case.visible => mix(seed, secret),
        _ => seed,
    }
}

/// The seed of a behaviour check: from the exercise and the property, mixed with the
/// grader's secret, if any.
pub fn check_seed(exercise: &Exercise, property: Property, secret: Option<u64>) -> u64 {
    let seed = lectern_lesson::stable_hash([exercise.id.as_bytes(), b"check", property.name().as_bytes()]);
    secret.map_or(seed, |s| mix(seed, s))
}

fn mix(seed: u64, secret: u64) -> u64 {
    lectern_lesson::stable_hash([b"secret".as_slice(), &seed.to_le_bytes(), &secret.to_le_bytes()])
}

/// The input tensors of `case` (on the CPU), exactly as the reference and the student's
/// function both receive them in a run with `secret`.
pub fn case_inputs(exercise: &Exercise, case: &Case, secret: Option<u64>) -> Result<BTreeMap<String, Tensor>, RunnerError> {
    let reference = reference::by_name(&exercise.reference)
        .ok_or_else(|| RunnerError::UnknownReference { name: exercise.reference.clone() })?;
    draw_inputs(&reference, case, case_seed_with(exercise, case, secret))
}

/// SplitMix64: small, seedable, the same everywhere.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub(crate) fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit().max(f64::MIN_POSITIVE), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The candle dtype of a case's `dtype`.
pub fn case_dtype(dtype: DType) -> CDType {
    match dtype {
        DType::F64 => CDType::F64,
        DType::F32 => CDType::F32,
        DType::F16 => CDType::F16,
        DType::BF16 => CDType::BF16,
    }
}

/// The dtype the student's function receives (and must return) for reference values of
/// `dtype`. `.npy` files, and numpy, have no bfloat16: a bf16 case's inputs reach the
/// student as float32 arrays holding exactly the bf16-rounded values, and float32 comes
/// back. f16 is numpy's float16 and stays float16. `case.json` names the case's own dtype
/// (`"dtype": "bf16"`) and the shim sets `LECTERN_DTYPE`, so that a PyTorch solution can
/// compute in `torch.bfloat16`; the shim turns tensors it returns into numpy arrays
/// (bfloat16 into float32).
pub fn student_dtype(dtype: CDType) -> CDType {
    match dtype {
        CDType::BF16 => CDType::F32,
        other => other,
    }
}

/// The lowercase name of a dtype, as case files and `case.json` spell it.
pub(crate) fn dtype_name(dtype: CDType) -> String {
    format!("{dtype:?}").to_lowercase()
}

/// The case's input tensors, drawn from its seed.
pub(crate) fn draw_inputs(reference: &Reference, case: &Case, seed: u64) -> Result<BTreeMap<String, Tensor>, RunnerError> {
    let mut rng = Rng(seed);
    let mut inputs = BTreeMap::new();
    let op = reference.name;
    for (name, shape) in &case.inputs {
        let kind = reference.inputs.iter().find(|i| i.name == name).map_or(InputKind::Values, |i| i.kind);
        let n: usize = shape.iter().product();
        let tensor = match kind {
            InputKind::Values => {
                // Drawn in f64 and rounded (to nearest) to the case's dtype: the reference
                // computes in that dtype, and the student gets exactly these rounded values.
                let values: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
                let t = Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(RunnerError::candle(op))?;
                t.to_dtype(case_dtype(case.dtype)).map_err(RunnerError::candle(op))?
            }
            InputKind::Mask => {
                let values: Vec<u8> = (0..n).map(|_| u8::from(rng.unit() < 0.75)).collect();
                Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(RunnerError::candle(op))?
            }
            InputKind::TokenIds => {
                let vocab = match case.args.get("vocab_size") {
                    Some(ArgValue::Int(v)) if *v > 1 => *v as u64,
                    _ => 1000,
                };
                let values: Vec<i64> = (0..n).map(|_| (rng.next() % vocab) as i64).collect();
                Tensor::from_vec(values, shape.as_slice(), &Device::Cpu).map_err(RunnerError::candle(op))?
            }
        };
        inputs.insert(name.clone(), tensor);
    }
    Ok(inputs)
}

