//! Judging: a case's outputs against the reference's, within the error bound or the
//! case's own tolerances; MLM masking by its properties.
//!
//! It knows tensors, tolerances and verdicts; it must never know how the outputs came.

use std::collections::BTreeMap;

use candle_core::{DType as CDType, Tensor};
use lectern_lesson::model::{ArgValue, Case};

use crate::inputs::{dtype_name, student_dtype};
use crate::reference::{self, Judgement, Reference};
use crate::tolerance;
use crate::verdict::Verdict;

/// A case's outputs against the reference's: within [`tolerance`]'s error bound of the
/// exact values, or within the case's own `rtol`/`atol`.
pub fn judge(reference: &Reference, case: &Case, inputs: &BTreeMap<String, Tensor>, expected: &tolerance::Expected, got: &[Tensor]) -> Verdict {
    if got.len() != expected.exact.len() {
        return Verdict::WrongCount { expected: expected.exact.len(), got: got.len() };
    }
    if reference.judged_by == Judgement::MlmProperties {
        return judge_mlm(case, inputs, got);
    }
    let mut worst_pass = 0.0f64;
    for (i, (g, e)) in got.iter().zip(&expected.exact).enumerate() {
        let dtype = expected.dtypes[i];
        if g.dims() != e.dims() {
            return Verdict::WrongShape { output: i, expected: e.dims().to_vec(), got: g.dims().to_vec() };
        }
        if g.dtype() != student_dtype(dtype) {
            return wrong_dtype(i, dtype, g.dtype());
        }
        let as_f64 = |t: &Tensor| t.to_dtype(CDType::F64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f64>());
        let (gv, ev) = match (as_f64(g), as_f64(e)) {
            (Ok(g), Ok(e)) => (g, e),
            _ => return Verdict::BadOutput { reason: format!("output {i} cannot be read as numbers") },
        };
        let not_finite = gv.iter().zip(&ev).filter(|(g, e)| !g.is_finite() && e.is_finite()).count();
        if not_finite > 0 {
            return Verdict::NotFinite { output: i, count: not_finite };
        }
        let (index, abs, fails) = if case.rtol.is_some() || case.atol.is_some() {
            let (rtol, atol) = tolerances(case, dtype);
            let atol = atol * atol_scale(dtype, &ev);
            tolerance::worst(&gv, &ev, |e| atol + rtol * e.abs())
        } else {
            let allowed = tolerance::ERROR_MULTIPLE * expected.bound[i];
            tolerance::worst(&gv, &ev, |_| allowed)
        };
        if fails {
            let max_rel = gv.iter().zip(&ev).map(|(g, e)| (g - e).abs() / e.abs().max(1e-12)).fold(0.0, f64::max);
            return Verdict::WrongValues {
                max_abs_error: gv.iter().zip(&ev).map(|(g, e)| (g - e).abs()).fold(0.0, f64::max),
                max_rel_error: max_rel,
                worst_index: unravel(index, e.dims()),
                expected: ev[index],
                got: gv[index],
            };
        }
        worst_pass = worst_pass.max(abs);
    }
    Verdict::Pass { max_abs_error: worst_pass }
}

/// Output `output` came as `got` where the reference gives `dtype` (a bf16 case wants
/// float32, which the message says).
pub(crate) fn wrong_dtype(output: usize, dtype: CDType, got: CDType) -> Verdict {
    let expected = match dtype {
        CDType::BF16 => "f32 (a bf16 case: numpy has no bfloat16)".to_string(),
        other => dtype_name(student_dtype(other)),
    };
    Verdict::WrongDtype { output, expected, got: dtype_name(got) }
}

/// Tolerances `(rtol, atol)`: the case's own, else [`default_tolerances`].
fn tolerances(case: &Case, dtype: CDType) -> (f64, f64) {
    let (rtol, atol) = default_tolerances(dtype);
    (case.rtol.unwrap_or(rtol), case.atol.unwrap_or(atol))
}

/// The tolerances `(rtol, atol)` a case's own `rtol` or `atol` is completed with (a case
/// that gives neither is judged by [`tolerance`]'s error bound instead). With them a value
/// passes when `|got − expected| ≤ atol · s + rtol · |expected|`, where `s` is 1 for f64
/// and f32, and for f16 and bf16 the largest `|expected|` of that output (see
/// [`atol_scale`]).
///
/// Why these numbers. The reference computes in the case's dtype (attention's softmax in
/// f32, as PyTorch's does), so in f16 and bf16 its own rounding error dominates, and that
/// error follows the size of the values rather than of each element: an attention output
/// near zero is a sum of terms as large as the largest output. Measured on the CPU against
/// the same op in float64 on the same rounded inputs, as max |Δ| / max |exact|
/// (`tests/half.rs` over the ai012 cases and several secrets, and attention up to
/// [1, 2048, 2048, 128]):
///
/// - f32: ≤ 1.1e-6, so `rtol 1e-4, atol 1e-5` (unchanged) leaves an order of margin;
/// - f16: ≤ 2.6e-3 (attention), 9e-4 (one KV-cache step); a numpy solution computing in
///   float16 errs by ≤ 2.5e-3 itself, so `rtol 1e-2, atol 1e-2·s` leaves 2× margin;
/// - bf16: ≤ 1.4e-2 (attention), 1.1e-2 (KV cache); a numpy solution gets float32 and adds
///   nothing, a PyTorch one in bf16 about as much again, so `rtol 2e-2, atol 4e-2·s`.
///
/// Mistakes the cases are there to catch still fail by far: attention without the 1/√d
/// scale is off by ≥ 0.5·s (tested). The multi-head layers of ai012 draw their weights
/// N(0, 1), so their scores reach hundreds and are ill-conditioned in half precision (f16
/// 2.3e-2·s, bf16 0.19·s): such cases need their own, looser `rtol`/`atol`.
pub fn default_tolerances(dtype: CDType) -> (f64, f64) {
    match dtype {
        CDType::F64 => (1e-9, 1e-12),
        CDType::F32 => (1e-4, 1e-5),
        CDType::F16 => (1e-2, 1e-2),
        CDType::BF16 => (2e-2, 4e-2),
        _ => (0.0, 0.0),
    }
}

/// What `atol` is multiplied by for an output whose reference values are `expected`: 1 for
/// f64 and f32; for f16 and bf16 the largest finite `|expected|` (1 if that is 0).
pub fn atol_scale(dtype: CDType, expected: &[f64]) -> f64 {
    match dtype {
        CDType::F16 | CDType::BF16 => {
            let largest = expected.iter().filter(|v| v.is_finite()).fold(0.0f64, |m, v| m.max(v.abs()));
            if largest > 0.0 { largest } else { 1.0 }
        }
        _ => 1.0,
    }
}

fn unravel(mut index: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0; dims.len()];
    for (slot, &d) in out.iter_mut().zip(dims).rev() {
        *slot = index % d.max(1);
        index /= d.max(1);
    }
    out
}

fn judge_mlm(case: &Case, inputs: &BTreeMap<String, Tensor>, got: &[Tensor]) -> Verdict {
    let ints = |t: &Tensor| t.to_dtype(CDType::I64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<i64>());
    let int_arg = |name: &str, default: i64| match case.args.get(name) {
        Some(ArgValue::Int(v)) => *v,
        _ => default,
    };
    let p = match case.args.get("p") {
        Some(ArgValue::Float(p)) => *p,
        Some(ArgValue::Int(p)) => *p as f64,
        _ => 0.15,
    };
    let (Some(tokens), Ok(student_inputs), Ok(labels)) = (inputs.get("tokens").and_then(|t| ints(t).ok()), ints(&got[0]), ints(&got[1])) else {
        return Verdict::BadOutput { reason: "inputs and labels must be integer arrays".into() };
    };
    match reference::check_mlm(&tokens, &student_inputs, &labels, int_arg("mask_id", 0), int_arg("vocab_size", 1000), p) {
        Ok(()) => Verdict::Pass { max_abs_error: 0.0 },
        Err(reason) => Verdict::PropertyFailed { reason },
    }
}

