//! How close a student's output must be to the reference, from error analysis rather
//! than constants: the exact values (float64) and, per output, the largest error a
//! correct computation in the case's dtype makes *on this case*.
//!
//! # The rule
//!
//! For each case the reference is computed
//!
//! 1. in float64 on the case's inputs, exactly as the student receives them: the
//!    **exact** values `e` (float64 rounding, ~1e-16, is far below anything compared);
//! 2. in the case's dtype on those inputs, and on [`PERTURBED`] copies whose every value
//!    is moved by a random relative amount of at most two units in the last place of
//!    that dtype (`|δ| ≤ 2u`, `u` = 2⁻²⁴ for f32, 2⁻¹¹ f16, 2⁻⁸ bf16, 2⁻⁵³ f64).
//!
//! The **error bound** `E` of an output is the largest `|r − e|` over those
//! computations `r` and the output's elements, and at least `u · max|e|` (one rounding
//! of the largest value). A value passes when
//!
//! ```text
//! |got − e| ≤ ERROR_MULTIPLE · E
//! ```
//!
//! Why this bounds what a correct solution does. A solution in the case's dtype makes
//! the same operations in another order (another BLAS kernel, another core count,
//! einsum, loops over heads, a transposed product, pairwise or Kahan sums): each
//! rounding is a relative error of at most `u` on an intermediate value, and a
//! backward-stable computation equals the exact one on inputs moved by a few `u`
//! (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1 and §3.5:
//! `|fl(xᵀy) − xᵀy| ≤ γₙ |x|ᵀ|y|`, `γₙ = nu/(1−nu)`). The perturbed runs measure how
//! much *this case's data* amplifies such moves — large attention scores make the
//! softmax nearly one-hot and sensitive, a final projection can cancel — and the
//! reference's own rounding measures the size of a dtype computation's error; the
//! multiple covers the worst summation order against the reference's blocked one (a
//! sequential sum errs up to about √n times more than a blocked one on random data) and
//! the maximum of a few samples. A solution computing in float64 and casting back errs
//! by at most `u/2 · |e|`.
//!
//! The mistakes the cases are there to catch are many orders above this: a missing
//! `1/√d`, a softmax over the wrong axis, a mask off by one or heads not merged change
//! outputs by a sizeable fraction of their magnitude, against `E ≈ 1e-6` of it in f32.
//! The margins seen are in the crate's tests (`tests/tolerance.rs`) and in the
//! closing note of the issue that introduced the rule.
//!
//! A case's own `rtol`/`atol` replace the rule: `|got − e| ≤ atol · s + rtol · |e|`
//! (`s` as in [`crate::harness::atol_scale`]), the other one defaulting to
//! [`crate::harness::default_tolerances`].

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};
use lectern_lesson::model::ArgValue;

use crate::harness::Rng;
use crate::reference::Reference;
use crate::RunnerError;

/// How many times the error seen on the case a correct solution may make.
pub const ERROR_MULTIPLE: f64 = 16.0;

/// How many perturbed copies of the inputs the error is measured on (besides the
/// inputs themselves).
pub const PERTURBED: u64 = 3;

/// What a case's outputs are judged against.
#[derive(Debug, Clone)]
pub struct Expected {
    /// Every output of the reference, in its order: float outputs computed in float64
    /// (the exact values), others as the reference gives them. On the CPU.
    pub exact: Vec<Tensor>,
    /// The dtype each output comes in when computed in the case's dtype (what the student
    /// must return, through [`crate::harness::student_dtype`]).
    pub dtypes: Vec<DType>,
    /// Each output's error bound `E` (0 for integer outputs, compared exactly).
    pub bound: Vec<f64>,
}

/// The unit roundoff of `dtype` (half the distance from 1 to the next value).
pub fn unit_roundoff(dtype: DType) -> f64 {
    match dtype {
        DType::F64 => f64::EPSILON / 2.0,
        DType::F32 => f64::from(f32::EPSILON) / 2.0,
        DType::F16 => 2f64.powi(-11),
        DType::BF16 => 2f64.powi(-8),
        _ => 0.0,
    }
}

/// Computes `reference` on `inputs` (on the CPU, in the case's dtype) with `args` on
/// `device`, in float64 and in the case's dtype, and the error bound of each output.
/// `seed` draws the perturbations (the same case always gets the same bound).
///
/// Errors: those of the reference itself (bad shapes or arguments), or candle's.
pub fn expected(
    reference: &Reference,
    inputs: &BTreeMap<String, Tensor>,
    args: &BTreeMap<String, ArgValue>,
    device: &Device,
    seed: u64,
) -> Result<Expected, RunnerError> {
    let op = reference.name;
    let c = RunnerError::candle(op);
    let run = |inputs: &BTreeMap<String, Tensor>| -> Result<Vec<Tensor>, RunnerError> {
        let on_device: BTreeMap<String, Tensor> =
            inputs.iter().map(|(k, t)| t.to_device(device).map(|t| (k.clone(), t))).collect::<Result<_, _>>().map_err(&c)?;
        let out = reference.run(&on_device, args, device)?;
        reference.outputs.iter().map(|n| out[*n].to_device(&Device::Cpu).map_err(&c)).collect()
    };
    let in_dtype = run(inputs)?;
    let dtypes: Vec<DType> = in_dtype.iter().map(Tensor::dtype).collect();
    let as_f64: BTreeMap<String, Tensor> = inputs
        .iter()
        .map(|(k, t)| if t.dtype().is_float() { t.to_dtype(DType::F64).map(|t| (k.clone(), t)) } else { Ok((k.clone(), t.clone())) })
        .collect::<Result<_, _>>()
        .map_err(&c)?;
    let exact = run(&as_f64)?;
    let mut computed = vec![in_dtype];
    for j in 1..=PERTURBED {
        computed.push(run(&perturbed(inputs, seed.wrapping_add(j)).map_err(&c)?)?);
    }
    let values = |t: &Tensor| t.to_dtype(DType::F64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f64>());
    let mut bound = Vec::with_capacity(exact.len());
    for (o, e) in exact.iter().enumerate() {
        if !dtypes[o].is_float() {
            bound.push(0.0);
            continue;
        }
        let ev = values(e).map_err(&c)?;
        let largest = ev.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
        let mut worst = unit_roundoff(dtypes[o]) * largest;
        for r in &computed {
            let rv = values(&r[o]).map_err(&c)?;
            for (r, e) in rv.iter().zip(&ev) {
                if r.is_finite() && e.is_finite() {
                    worst = worst.max((r - e).abs());
                }
            }
        }
        bound.push(worst);
    }
    Ok(Expected { exact, dtypes, bound })
}

/// `inputs` with every float value moved by a random relative amount of at most 2u of
/// its dtype, rounded back to that dtype; other inputs (masks, token ids) unchanged.
fn perturbed(inputs: &BTreeMap<String, Tensor>, seed: u64) -> candle_core::Result<BTreeMap<String, Tensor>> {
    let mut rng = Rng(seed);
    let mut out = BTreeMap::new();
    for (name, t) in inputs {
        if !t.dtype().is_float() {
            out.insert(name.clone(), t.clone());
            continue;
        }
        let u = unit_roundoff(t.dtype());
        let factors: Vec<f64> = (0..t.elem_count()).map(|_| 1.0 + 2.0 * u * (2.0 * rng.unit() - 1.0)).collect();
        let factors = Tensor::from_vec(factors, t.dims(), &Device::Cpu)?;
        let moved = t.to_device(&Device::Cpu)?.to_dtype(DType::F64)?.mul(&factors)?.to_dtype(t.dtype())?;
        out.insert(name.clone(), moved);
    }
    Ok(out)
}

/// Whether `got` is within `allowed` of `exact`, and the worst element: `(index, |Δ|)`,
/// the first failing one if any fails (then `true` in the third place). Where the exact
/// value is not finite (NaN, ±∞) only the same value passes.
pub(crate) fn worst(got: &[f64], exact: &[f64], allowed: impl Fn(f64) -> f64) -> (usize, f64, bool) {
    let mut worst = (0usize, 0.0f64, false);
    for (k, (g, e)) in got.iter().zip(exact).enumerate() {
        let (abs, fails) = if e.is_finite() {
            let abs = (g - e).abs();
            // Written negated on purpose: a NaN difference fails.
            #[allow(clippy::neg_cmp_op_on_partial_ord)]
            let fails = !(abs <= allowed(*e));
            (abs, fails)
        } else {
            (0.0, !(g == e || (g.is_nan() && e.is_nan())))
        };
        if (fails && !worst.2) || (fails == worst.2 && abs > worst.1) {
            worst = (k, abs, fails);
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::worst;

    #[test]
    fn only_the_same_value_passes_where_the_exact_one_is_not_finite() {
        let wide = |_: f64| f64::INFINITY;
        // (got, exact, fails)
        for (got, exact, fails) in [
            (0.0, f64::NAN, true),
            (f64::NAN, f64::NAN, false),
            (1.0, f64::INFINITY, true),
            (f64::NEG_INFINITY, f64::INFINITY, true),
            (f64::INFINITY, f64::INFINITY, false),
            (f64::NAN, 1.0, true),
        ] {
            assert_eq!(worst(&[got], &[exact], wide).2, fails, "{got} against {exact}");
        }
    }

    #[test]
    fn the_worst_element_is_the_first_failing_one_or_the_largest_error() {
        assert_eq!(worst(&[1.0, 3.5, 2.0], &[1.0, 1.0, 1.0], |_| 2.0), (1, 2.5, true));
        assert_eq!(worst(&[1.0, 1.5, 2.0], &[1.0, 1.0, 1.0], |_| 2.0), (2, 1.0, false));
    }
}
