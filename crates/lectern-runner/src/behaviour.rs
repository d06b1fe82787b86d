//! Behaviour checks (`[[check]] property = "…"` in `exercise.toml`): properties of the
//! student's function beyond matching outputs on the cases.
//!
//! Each check is planned here as a [`Probe`]: a few calls of the student's function on
//! inputs drawn from the check's seed (run one after another in one sandboxed process),
//! the reference's outputs for each call, and comparisons judged here in Rust:
//!
//! - `no-future-leak`: inputs after position `t` are redrawn; no output at or before `t`
//!   may change (`attention` with `causal = true` and a random mask, `causal-attention`).
//! - `padding-respected`: keys and values at padded positions are redrawn; no output of a
//!   real position may change (`attention` with a key mask, `bidirectional-attention`,
//!   `cross-attention`).
//! - `kv-cache-consistent`: decoding a sequence step by step, each step fed the caches
//!   the student's previous step returned, gives full causal attention's outputs and the
//!   reference's caches (`kv-cache`).
//! - `stable-large-logits`: inputs scaled so that attention scores are about 1e4; outputs
//!   must be finite and equal to the reference's.
//! - `batch-independent`: the last batch item is redrawn; no other item's output may change.
//!
//! The perturbation checks run twice: at the cases' scale, and with scores near 1e4, where
//! a mask that adds -1e4 instead of excluding a key (or a softmax shifted by a maximum
//! taken over the wrong positions) lets one position reach another. A value that turns
//! from finite to NaN or infinite when only other positions changed counts as a change.

use std::collections::BTreeMap;
use std::sync::Arc;

use candle_core::{DType as CDType, Device, Tensor};
use lectern_lesson::model::{ArgValue, Case, DType, Exercise, Property};

use crate::harness::{Rng, Verdict};
use crate::reference::{self, Reference};
use crate::RunnerError;
use crate::tolerance;

/// Scores of this size: `exp` of them overflows in float32 and float64 alike.
const LARGE_SCORES: f64 = 1e4;

/// One call of the student's function in a probe.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// Written to the scratch folder, read by the shim.
    pub inputs: BTreeMap<String, Tensor>,
    pub args: BTreeMap<String, ArgValue>,
    /// Inputs taken from what an earlier call returned: (name, call, output).
    pub from: Vec<(String, usize, usize)>,
}

/// Which elements of an output a comparison looks at, by multi-index.
type Region = Arc<dyn Fn(&[usize]) -> bool + Send + Sync>;

pub(crate) enum Comparison {
    /// Output `output` of calls `a` and `b` must agree inside `region`.
    Unchanged { a: usize, b: usize, output: usize, region: Region, what: String },
    /// Output `output` of `call` must equal `expected` within the tolerances.
    Matches { call: usize, output: usize, expected: Tensor, rtol: f64, atol: f64, what: String },
}

/// A planned check: what to run and how to judge it.
pub(crate) struct Probe {
    pub calls: Vec<Call>,
    /// The reference's outputs of each call (on the CPU), for the shapes and dtypes.
    pub expected: Vec<Vec<Tensor>>,
    pub comparisons: Vec<Comparison>,
}

/// Whether `property` can be checked on `reference`; why not otherwise.
pub fn fits(reference: &str, property: Property) -> Result<(), String> {
    if fits_quietly(reference, property) {
        return Ok(());
    }
    let which: Vec<&str> =
        reference::names().iter().copied().filter(|r| fits_quietly(r, property)).collect();
    Err(format!(
        "the check `{}` does not fit the reference `{reference}`; it fits {}",
        property.name(),
        which.join(", ")
    ))
}

fn fits_quietly(reference: &str, property: Property) -> bool {
    reference::by_name(reference).is_some_and(|r| r.checks.contains(&property))
}

/// The case a check takes its sizes and arguments from: the first visible case that gives
/// every input the reference requires, else the first such case.
pub(crate) fn base_case<'a>(exercise: &'a Exercise, reference: &Reference) -> Option<&'a Case> {
    // Checks compare the student with itself at tight tolerances: f16 and bf16 cases
    // (rounding errors of 1e-3 to 1e-2) never give their sizes.
    let complete = |c: &&Case| {
        matches!(c.dtype, DType::F32 | DType::F64)
            && reference.inputs.iter().filter(|i| i.required).all(|i| c.inputs.iter().any(|(n, _)| n == i.name))
    };
    exercise.cases.iter().filter(complete).find(|c| c.visible).or_else(|| exercise.cases.iter().find(complete))
}

/// The random draws of a probe, in the base case's dtype.
struct Draw {
    rng: Rng,
    dtype: CDType,
}

fn candle(e: candle_core::Error) -> RunnerError {
    RunnerError::Candle { op: "check", source: e }
}

impl Draw {
    fn normal(&mut self, shape: &[usize]) -> Result<Tensor, RunnerError> {
        let n: usize = shape.iter().product();
        let values: Vec<f64> = (0..n).map(|_| self.rng.normal()).collect();
        Tensor::from_vec(values, shape, &Device::Cpu).and_then(|t| t.to_dtype(self.dtype)).map_err(candle)
    }

    /// `t` with the elements `select` picks replaced by fresh draws (plus 1, so that none
    /// stays equal by chance).
    fn perturb(&mut self, t: &Tensor, select: impl Fn(&[usize]) -> bool) -> Result<Tensor, RunnerError> {
        let dims = t.dims().to_vec();
        let mut values = t.to_dtype(CDType::F64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f64>()).map_err(candle)?;
        for (i, v) in values.iter_mut().enumerate() {
            if select(&unravel(i, &dims)) {
                *v = self.rng.normal() + 1.0;
            }
        }
        Tensor::from_vec(values, dims.as_slice(), &Device::Cpu).and_then(|t| t.to_dtype(self.dtype)).map_err(candle)
    }
}

pub(crate) fn unravel(mut index: usize, dims: &[usize]) -> Vec<usize> {
    let mut out = vec![0; dims.len()];
    for (slot, &d) in out.iter_mut().zip(dims).rev() {
        *slot = index % d.max(1);
        index /= d.max(1);
    }
    out
}

/// A 0/1 key mask `[B, L]` (as u8) with the last `pads[b]` positions of item `b` padded.
fn key_mask(pads: &[usize], l: usize) -> Result<Tensor, RunnerError> {
    let values: Vec<u8> = pads.iter().flat_map(|&p| (0..l).map(move |j| u8::from(j + p < l))).collect();
    Tensor::from_vec(values, (pads.len(), l), &Device::Cpu).map_err(candle)
}

/// Padding per batch item: 1, 2, … up to half the length, at least one real token.
fn pads(b: usize, l: usize) -> Vec<usize> {
    let most = (l / 2).max(1);
    (0..b).map(|i| (1 + i % most).min(l.saturating_sub(1))).collect()
}

type Inputs = BTreeMap<String, Tensor>;

fn scaled(inputs: &Inputs, factors: &[(&str, f64)]) -> Result<Inputs, RunnerError> {
    let mut out = inputs.clone();
    for (name, factor) in factors {
        if let Some(t) = out.get(*name) {
            let s = t.affine(*factor, 0.0).map_err(candle)?;
            out.insert((*name).to_owned(), s);
        }
    }
    Ok(out)
}

fn int_arg(case: &Case, name: &str) -> Option<i64> {
    match case.args.get(name) {
        Some(ArgValue::Int(n)) => Some(*n),
        _ => None,
    }
}

fn shape_of<'a>(case: &'a Case, name: &str) -> Option<&'a [usize]> {
    case.inputs.iter().find(|(n, _)| n == name).map(|(_, s)| s.as_slice())
}

/// Plans `property` on `exercise`; `Ok(Err(why))` when it does not fit.
pub(crate) fn plan(
    exercise: &Exercise,
    reference: &Reference,
    property: Property,
    seed: u64,
    device: &Device,
) -> Result<Result<Probe, String>, RunnerError> {
    if let Err(why) = fits(reference.name, property) {
        return Ok(Err(why));
    }
    let Some(base) = base_case(exercise, reference) else {
        return Ok(Err(format!(
            "the check `{}` takes its sizes from a case, and no f32 or f64 case gives every input `{}` needs",
            property.name(),
            reference.name
        )));
    };
    let dtype = match base.dtype {
        DType::F64 => CDType::F64,
        DType::F32 => CDType::F32,
        DType::F16 | DType::BF16 => {
            return Ok(Err("behaviour checks take their sizes from an f32 or f64 case, not an f16 or bf16 one".into()));
        }
    };
    let mut planner = Planner { draw: Draw { rng: Rng(seed), dtype }, reference, device, calls: Vec::new(), comparisons: Vec::new(), property };
    let planned = match reference.name {
        "attention" => planner.attention(base)?,
        "causal-attention" | "bidirectional-attention" => planner.self_attention(base)?,
        "cross-attention" => planner.cross_attention(base)?,
        "kv-cache" => planner.kv_cache(base)?,
        _ => planner.elementwise(base)?,
    };
    if let Err(why) = planned {
        return Ok(Err(why));
    }
    let mut expected = Vec::new();
    for call in &planner.calls {
        expected.push(planner.reference_of(call, &expected)?);
    }
    let mut probe = Probe { calls: planner.calls, expected, comparisons: planner.comparisons };
    finish(&mut probe);
    Ok(Ok(probe))
}

struct Planner<'a> {
    draw: Draw,
    reference: &'a Reference,
    device: &'a Device,
    calls: Vec<Call>,
    comparisons: Vec<Comparison>,
    property: Property,
}

/// What a check's reference comparisons allow, by dtype.
fn check_tolerances(dtype: CDType) -> (f64, f64) {
    match dtype {
        CDType::F64 => (1e-7, 1e-9),
        _ => (1e-3, 1e-4),
    }
}

impl Planner<'_> {
    fn reference_of(&self, call: &Call, earlier: &[Vec<Tensor>]) -> Result<Vec<Tensor>, RunnerError> {
        let mut inputs = call.inputs.clone();
        for (name, j, i) in &call.from {
            inputs.insert(name.clone(), earlier[*j][*i].clone());
        }
        let on_device: Inputs = inputs
            .iter()
            .map(|(k, t)| t.to_device(self.device).map(|t| (k.clone(), t)))
            .collect::<Result<_, _>>()
            .map_err(candle)?;
        let out = self.reference.run(&on_device, &call.args, self.device)?;
        self.reference
            .outputs
            .iter()
            .map(|n| out[*n].to_device(&Device::Cpu).map_err(candle))
            .collect()
    }

    fn push(&mut self, inputs: Inputs, args: &BTreeMap<String, ArgValue>) -> usize {
        self.calls.push(Call { inputs, args: args.clone(), from: Vec::new() });
        self.calls.len() - 1
    }

    /// Four calls — base and perturbed, at the cases' scale and with large scores — and
    /// the two comparisons of `outputs` inside `region`.
    #[allow(clippy::too_many_arguments)]
    fn perturbation(
        &mut self,
        base: Inputs,
        perturbed: Inputs,
        large: &[(&str, f64)],
        args: &BTreeMap<String, ArgValue>,
        outputs: usize,
        region: Region,
        what: &str,
    ) -> Result<(), RunnerError> {
        for (scale, factors) in [("", &[][..]), (", with scores near 1e4", large)] {
            let a = self.push(scaled(&base, factors)?, args);
            let b = self.push(scaled(&perturbed, factors)?, args);
            for output in 0..outputs {
                self.comparisons.push(Comparison::Unchanged {
                    a,
                    b,
                    output,
                    region: Arc::clone(&region),
                    what: format!("{what}{scale}"),
                });
            }
        }
        Ok(())
    }

    /// Calls compared with the reference (for `stable-large-logits`): with the exact
    /// (float64) values and the error bound of [`tolerance`], as cases are, since scores
    /// near 1e4 make the softmax far more sensitive than any fixed tolerance allows for.
    fn against_reference(&mut self, inputs: Inputs, args: &BTreeMap<String, ArgValue>, what: &str) -> Result<(), RunnerError> {
        let seed = self.draw.rng.next();
        let expected = tolerance::expected(self.reference, &inputs, args, self.device, seed)?;
        let call = self.push(inputs, args);
        for (output, (e, bound)) in expected.exact.into_iter().zip(expected.bound).enumerate() {
            let atol = tolerance::ERROR_MULTIPLE * bound;
            self.comparisons.push(Comparison::Matches { call, output, expected: e, rtol: 0.0, atol, what: what.to_owned() });
        }
        Ok(())
    }

    fn attention(&mut self, base: &Case) -> Result<Result<(), String>, RunnerError> {
        let (Some(q), Some(k), Some(v)) = (shape_of(base, "q"), shape_of(base, "k"), shape_of(base, "v")) else {
            return Ok(Err("the base case has no q, k and v".into()));
        };
        let r = q.len();
        if r < 3 || k.len() != r || v.len() != r {
            return Ok(Err("checks need q, k and v with a batch axis: [B, …, L, d]".into()));
        }
        let mut lead = q[..r - 2].to_vec();
        lead[0] = lead[0].max(2);
        let l = q[r - 2].max(k[r - 2]).max(6);
        let (d, dv) = (q[r - 1], v[r - 1]);
        let shape = |a: usize, b: usize| [lead.as_slice(), &[a, b]].concat();
        let mut inputs = Inputs::new();
        inputs.insert("q".into(), self.draw.normal(&shape(l, d))?);
        inputs.insert("k".into(), self.draw.normal(&shape(l, d))?);
        inputs.insert("v".into(), self.draw.normal(&shape(l, dv))?);
        let large = [("q", LARGE_SCORES.sqrt()), ("k", LARGE_SCORES.sqrt())];
        let seq = r - 2;
        let b = lead[0];
        // A key-padding mask [B, 1, …, 1, Lk] that broadcasts over heads and queries.
        let pads = pads(b, l);
        let mut mask_shape = vec![1; r];
        mask_shape[0] = b;
        mask_shape[r - 1] = l;
        let key_mask = key_mask(&pads, l)?.reshape(mask_shape.as_slice()).map_err(candle)?;
        let no_args = BTreeMap::new();
        match self.property {
            Property::NoFutureLeak => {
                let t = l / 2 - 1;
                // A random mask too: causal must hold when a mask is also given.
                let n: usize = shape(l, l).iter().product();
                let dims = shape(l, l);
                let keep: Vec<u8> = (0..n)
                    .map(|i| {
                        let idx = unravel(i, &dims);
                        u8::from(idx[r - 1] == idx[r - 2] || self.draw.rng.unit() < 0.75)
                    })
                    .collect();
                inputs.insert("mask".into(), Tensor::from_vec(keep, dims.as_slice(), &Device::Cpu).map_err(candle)?);
                let mut perturbed = inputs.clone();
                for name in ["q", "k", "v"] {
                    let p = self.draw.perturb(&inputs[name], |i| i[seq] > t)?;
                    perturbed.insert(name.into(), p);
                }
                let args = BTreeMap::from([("causal".to_owned(), ArgValue::Bool(true))]);
                let what = format!("with causal=True (and a mask), changing q, k and v after position {t} changed an output at or before it");
                self.perturbation(inputs, perturbed, &large, &args, 1, Arc::new(move |i: &[usize]| i[seq] <= t), &what)?;
            }
            Property::PaddingRespected => {
                inputs.insert("mask".into(), key_mask);
                let mut perturbed = inputs.clone();
                for name in ["k", "v"] {
                    let pads = pads.clone();
                    let p = self.draw.perturb(&inputs[name], move |i| i[seq] + pads[i[0]] >= l)?;
                    perturbed.insert(name.into(), p);
                }
                let what = "changing k and v at masked key positions changed the output";
                self.perturbation(inputs, perturbed, &large, &no_args, 1, Arc::new(|_: &[usize]| true), what)?;
            }
            Property::StableLargeLogits => {
                let big = scaled(&inputs, &large)?;
                self.against_reference(big.clone(), &no_args, "with q and k scaled so that scores are near 1e4")?;
                let mut masked = big;
                masked.insert("mask".into(), key_mask);
                self.against_reference(masked, &no_args, "with scores near 1e4 and a key mask")?;
            }
            Property::BatchIndependent => {
                let last = b - 1;
                let mut perturbed = inputs.clone();
                for name in ["q", "k", "v"] {
                    let p = self.draw.perturb(&inputs[name], |i| i[0] == last)?;
                    perturbed.insert(name.into(), p);
                }
                let what = format!("changing batch item {last} of q, k and v changed another item's output");
                self.perturbation(inputs, perturbed, &large, &no_args, 1, Arc::new(move |i: &[usize]| i[0] != last), &what)?;
            }
            Property::KvCacheConsistent => unreachable!("checked by fits"),
        }
        Ok(Ok(()))
    }

    fn weights(&mut self, d: usize, inputs: &mut Inputs) -> Result<(), RunnerError> {
        for name in ["w_q", "w_k", "w_v", "w_o"] {
            inputs.insert(name.into(), self.draw.normal(&[d, d])?);
        }
        Ok(())
    }

    /// `causal-attention` and `bidirectional-attention`: x `[B, L, D]`.
    fn self_attention(&mut self, base: &Case) -> Result<Result<(), String>, RunnerError> {
        let Some(&[b, l, d]) = shape_of(base, "x") else {
            return Ok(Err("checks need x of shape [B, L, D]".into()));
        };
        let Some(n_heads) = int_arg(base, "n_heads") else {
            return Ok(Err("checks need the base case's n_heads".into()));
        };
        let (b, l) = (b.max(2), l.max(6));
        let args = BTreeMap::from([("n_heads".to_owned(), ArgValue::Int(n_heads))]);
        let mut inputs = Inputs::new();
        inputs.insert("x".into(), self.draw.normal(&[b, l, d])?);
        self.weights(d, &mut inputs)?;
        // x @ w has entries of size √D; scores are then about D·a² with w_q, w_k scaled by a.
        let a = (LARGE_SCORES / d as f64).sqrt();
        let large = [("w_q", a), ("w_k", a)];
        let bidirectional = self.reference.name == "bidirectional-attention";
        let pads = pads(b, l);
        match self.property {
            Property::NoFutureLeak => {
                let t = l / 2 - 1;
                let mut perturbed = inputs.clone();
                perturbed.insert("x".into(), self.draw.perturb(&inputs["x"], |i| i[1] > t)?);
                let what = format!("changing x after position {t} changed an output at or before it");
                self.perturbation(inputs, perturbed, &large, &args, 1, Arc::new(move |i: &[usize]| i[1] <= t), &what)?;
            }
            Property::PaddingRespected => {
                inputs.insert("padding_mask".into(), key_mask(&pads, l)?);
                let mut perturbed = inputs.clone();
                let p = pads.clone();
                perturbed.insert("x".into(), self.draw.perturb(&inputs["x"], move |i| i[1] + p[i[0]] >= l)?);
                let what = "changing x at padded positions changed the output of a real position";
                self.perturbation(inputs, perturbed, &large, &args, 1, Arc::new(move |i: &[usize]| i[1] + pads[i[0]] < l), what)?;
            }
            Property::StableLargeLogits => {
                let big = scaled(&inputs, &large)?;
                self.against_reference(big.clone(), &args, "with w_q and w_k scaled so that scores are near 1e4")?;
                if bidirectional {
                    let mut masked = big;
                    masked.insert("padding_mask".into(), key_mask(&pads, l)?);
                    self.against_reference(masked, &args, "with scores near 1e4 and a padding mask")?;
                }
            }
            Property::BatchIndependent => {
                let last = b - 1;
                let mut perturbed = inputs.clone();
                perturbed.insert("x".into(), self.draw.perturb(&inputs["x"], |i| i[0] == last)?);
                let what = format!("changing batch item {last} of x changed another item's output");
                self.perturbation(inputs, perturbed, &large, &args, 1, Arc::new(move |i: &[usize]| i[0] != last), &what)?;
            }
            Property::KvCacheConsistent => unreachable!("checked by fits"),
        }
        Ok(Ok(()))
    }

    fn cross_attention(&mut self, base: &Case) -> Result<Result<(), String>, RunnerError> {
        let (Some(&[b, lq, d]), Some(&[_, lk, _])) = (shape_of(base, "x"), shape_of(base, "enc")) else {
            return Ok(Err("checks need x [B, Lq, D] and enc [B, Lk, D]".into()));
        };
        let Some(n_heads) = int_arg(base, "n_heads") else {
            return Ok(Err("checks need the base case's n_heads".into()));
        };
        let (b, lk) = (b.max(2), lk.max(4));
        let args = BTreeMap::from([("n_heads".to_owned(), ArgValue::Int(n_heads))]);
        let mut inputs = Inputs::new();
        inputs.insert("x".into(), self.draw.normal(&[b, lq, d])?);
        inputs.insert("enc".into(), self.draw.normal(&[b, lk, d])?);
        self.weights(d, &mut inputs)?;
        let a = (LARGE_SCORES / d as f64).sqrt();
        let large = [("w_q", a), ("w_k", a)];
        let pads = pads(b, lk);
        match self.property {
            Property::PaddingRespected => {
                inputs.insert("enc_mask".into(), key_mask(&pads, lk)?);
                let mut perturbed = inputs.clone();
                perturbed.insert("enc".into(), self.draw.perturb(&inputs["enc"], move |i| i[1] + pads[i[0]] >= lk)?);
                let what = "changing enc at padded positions changed the output";
                self.perturbation(inputs, perturbed, &large, &args, 1, Arc::new(|_: &[usize]| true), what)?;
            }
            Property::StableLargeLogits => {
                let big = scaled(&inputs, &large)?;
                self.against_reference(big.clone(), &args, "with w_q and w_k scaled so that scores are near 1e4")?;
                let mut masked = big;
                masked.insert("enc_mask".into(), key_mask(&pads, lk)?);
                self.against_reference(masked, &args, "with scores near 1e4 and an encoder mask")?;
            }
            Property::BatchIndependent => {
                let last = b - 1;
                let mut perturbed = inputs.clone();
                for name in ["x", "enc"] {
                    perturbed.insert(name.into(), self.draw.perturb(&inputs[name], |i| i[0] == last)?);
                }
                let what = format!("changing batch item {last} of x and enc changed another item's output");
                self.perturbation(inputs, perturbed, &large, &args, 1, Arc::new(move |i: &[usize]| i[0] != last), &what)?;
            }
            Property::NoFutureLeak | Property::KvCacheConsistent => unreachable!("checked by fits"),
        }
        Ok(Ok(()))
    }

    fn kv_cache(&mut self, base: &Case) -> Result<Result<(), String>, RunnerError> {
        let (Some(&[b, _, d]), Some(&[_, h, t, dh])) = (shape_of(base, "x_t"), shape_of(base, "cache_k")) else {
            return Ok(Err("checks need x_t [B, 1, D] and cache_k [B, H, T, D/H]".into()));
        };
        let Some(n_heads) = int_arg(base, "n_heads") else {
            return Ok(Err("checks need the base case's n_heads".into()));
        };
        let args = BTreeMap::from([("n_heads".to_owned(), ArgValue::Int(n_heads))]);
        let b = b.max(2);
        let a = (LARGE_SCORES / d as f64).sqrt();
        match self.property {
            Property::KvCacheConsistent => {
                // x [B, L, D]; the caches of position 0 come from the reference; every later
                // step gets the caches the student's previous step returned.
                let l = (t + 1).max(5);
                let x = self.draw.normal(&[b, l, d])?;
                let mut weights = Inputs::new();
                self.weights(d, &mut weights)?;
                let w = |n: &str| weights[n].to_device(self.device).map_err(candle);
                // Full causal attention over the sequence, exact (float64), with the error
                // bound of a computation in the case's dtype (see `tolerance`).
                let causal = reference::by_name("causal-attention").ok_or_else(|| RunnerError::UnknownReference { name: "causal-attention".into() })?;
                let mut sequence = weights.clone();
                sequence.insert("x".into(), x.clone());
                let full = tolerance::expected(&causal, &sequence, &args, self.device, self.draw.rng.next())?;
                let step_atol = tolerance::ERROR_MULTIPLE * full.bound[0];
                let full = full.exact[0].clone();
                let empty = Tensor::zeros((b, h, 0, dh), self.draw.dtype, self.device).map_err(candle)?;
                let x0 = x.narrow(1, 0, 1).and_then(|t| t.to_device(self.device)).map_err(candle)?;
                let (_, cache_k, cache_v) = reference::decode_step(&x0, &empty, &empty, &w("w_q")?, &w("w_k")?, &w("w_v")?, &w("w_o")?, n_heads as usize)?;
                let (rtol, atol) = check_tolerances(self.draw.dtype);
                for step in 1..l {
                    let mut inputs = weights.clone();
                    inputs.insert("x_t".into(), x.narrow(1, step, 1).map_err(candle)?);
                    let mut from = Vec::new();
                    if step == 1 {
                        inputs.insert("cache_k".into(), cache_k.to_device(&Device::Cpu).map_err(candle)?);
                        inputs.insert("cache_v".into(), cache_v.to_device(&Device::Cpu).map_err(candle)?);
                    } else {
                        let previous = self.calls.len() - 1;
                        from = vec![("cache_k".to_owned(), previous, 1), ("cache_v".to_owned(), previous, 2)];
                    }
                    self.calls.push(Call { inputs, args: args.clone(), from });
                    let call = self.calls.len() - 1;
                    let y = full.narrow(1, step, 1).map_err(candle)?;
                    self.comparisons.push(Comparison::Matches {
                        call,
                        output: 0,
                        expected: y,
                        rtol: 0.0,
                        atol: step_atol,
                        what: format!("step {step} (fed the caches your earlier steps returned) differs from full causal attention at position {step}"),
                    });
                }
                // The caches after the last step are compared below, once the reference's
                // own chain is known (see `plan`): its outputs become `expected`.
                self.comparisons.push(Comparison::Matches {
                    call: usize::MAX,
                    output: 1,
                    expected: Tensor::zeros(1, CDType::F32, &Device::Cpu).map_err(candle)?,
                    rtol,
                    atol,
                    what: "the key cache after the last step differs from the keys of the whole sequence".into(),
                });
                self.comparisons.push(Comparison::Matches {
                    call: usize::MAX,
                    output: 2,
                    expected: Tensor::zeros(1, CDType::F32, &Device::Cpu).map_err(candle)?,
                    rtol,
                    atol,
                    what: "the value cache after the last step differs from the values of the whole sequence".into(),
                });
            }
            Property::StableLargeLogits | Property::BatchIndependent => {
                let t = t.max(3);
                let mut inputs = Inputs::new();
                inputs.insert("x_t".into(), self.draw.normal(&[b, 1, d])?);
                inputs.insert("cache_k".into(), self.draw.normal(&[b, h, t, dh])?);
                inputs.insert("cache_v".into(), self.draw.normal(&[b, h, t, dh])?);
                self.weights(d, &mut inputs)?;
                // q and the new k have entries of size √D·a; the cached keys are scaled to match.
                let large = [("w_q", a), ("w_k", a), ("cache_k", a * (d as f64).sqrt())];
                if self.property == Property::StableLargeLogits {
                    let big = scaled(&inputs, &large)?;
                    self.against_reference(big, &args, "with w_q, w_k and the key cache scaled so that scores are near 1e4")?;
                } else {
                    let last = b - 1;
                    let mut perturbed = inputs.clone();
                    for name in ["x_t", "cache_k", "cache_v"] {
                        perturbed.insert(name.into(), self.draw.perturb(&inputs[name], |i| i[0] == last)?);
                    }
                    let what = format!("changing batch item {last} of x_t and the caches changed another item's output");
                    self.perturbation(inputs, perturbed, &large, &args, 3, Arc::new(move |i: &[usize]| i[0] != last), &what)?;
                }
            }
            Property::NoFutureLeak | Property::PaddingRespected => unreachable!("checked by fits"),
        }
        Ok(Ok(()))
    }

    /// `layer-norm`, `gelu`, `feed-forward`: only `batch-independent` fits; axis 0 of x.
    fn elementwise(&mut self, base: &Case) -> Result<Result<(), String>, RunnerError> {
        let mut inputs = Inputs::new();
        let mut b = 0;
        for (name, shape) in &base.inputs {
            let mut shape = shape.clone();
            if name == "x" {
                let Some(first) = shape.first_mut() else {
                    return Ok(Err("`batch-independent` needs x with a batch axis".into()));
                };
                *first = (*first).max(2);
                b = *first;
            }
            inputs.insert(name.clone(), self.draw.normal(&shape)?);
        }
        if b == 0 {
            return Ok(Err("`batch-independent` needs the input x".into()));
        }
        let last = b - 1;
        let mut perturbed = inputs.clone();
        perturbed.insert("x".into(), self.draw.perturb(&inputs["x"], |i| i[0] == last)?);
        let what = format!("changing batch item {last} of x changed another item's output");
        let args = base.args.clone();
        self.perturbation(inputs, perturbed, &[], &args, 1, Arc::new(move |i: &[usize]| i[0] != last), &what)?;
        Ok(Ok(()))
    }
}

/// Fills in the comparisons that wait for the reference's chain (the kv-cache's final
/// caches): `call == usize::MAX` means the last call.
pub(crate) fn finish(probe: &mut Probe) {
    let last = probe.calls.len().saturating_sub(1);
    for c in &mut probe.comparisons {
        if let Comparison::Matches { call, output, expected, .. } = c
            && *call == usize::MAX {
                *call = last;
                if let Some(e) = probe.expected.get(last).and_then(|o| o.get(*output)) {
                    *expected = e.clone();
                }
            }
    }
}

/// Judges a probe on what the student's calls returned.
pub(crate) fn judge(probe: &Probe, got: &[Vec<Tensor>]) -> Verdict {
    for (k, (g, e)) in got.iter().zip(&probe.expected).enumerate() {
        if g.len() != e.len() {
            return Verdict::WrongCount { expected: e.len(), got: g.len() };
        }
        for (i, (g, e)) in g.iter().zip(e).enumerate() {
            if g.dims() != e.dims() {
                let _ = k;
                return Verdict::WrongShape { output: i, expected: e.dims().to_vec(), got: g.dims().to_vec() };
            }
            if g.dtype() != e.dtype() {
                return Verdict::WrongDtype {
                    output: i,
                    expected: format!("{:?}", e.dtype()).to_lowercase(),
                    got: format!("{:?}", g.dtype()).to_lowercase(),
                };
            }
        }
    }
    if got.len() != probe.expected.len() {
        return Verdict::BadOutput { reason: format!("{} of {} calls returned", got.len(), probe.expected.len()) };
    }
    let as_f64 = |t: &Tensor| t.to_dtype(CDType::F64).and_then(|t| t.flatten_all()).and_then(|t| t.to_vec1::<f64>());
    let mut worst_pass = 0.0f64;
    for c in &probe.comparisons {
        match c {
            Comparison::Unchanged { a, b, output, region, what } => {
                let (ta, tb) = (&got[*a][*output], &got[*b][*output]);
                let (Ok(va), Ok(vb)) = (as_f64(ta), as_f64(tb)) else {
                    return Verdict::BadOutput { reason: "outputs cannot be read as numbers".into() };
                };
                let dims = ta.dims();
                for (i, (x, y)) in va.iter().zip(&vb).enumerate() {
                    let same = match (x.is_finite(), y.is_finite()) {
                        (false, false) => true,
                        (true, true) => (x - y).abs() <= 1e-5 + 1e-4 * x.abs(),
                        _ => false,
                    };
                    if !same && region(&unravel(i, dims)) {
                        return Verdict::PropertyFailed {
                            reason: format!("{what}: output {output} at {:?} went from {x:.6} to {y:.6}", unravel(i, dims)),
                        };
                    }
                }
            }
            Comparison::Matches { call, output, expected, rtol, atol, what } => {
                let g = &got[*call][*output];
                let (Ok(gv), Ok(ev)) = (as_f64(g), as_f64(expected)) else {
                    return Verdict::BadOutput { reason: "outputs cannot be read as numbers".into() };
                };
                let not_finite = gv.iter().zip(&ev).filter(|(g, e)| !g.is_finite() && e.is_finite()).count();
                if not_finite > 0 {
                    return Verdict::PropertyFailed {
                        reason: format!("{what}: output {output} has {not_finite} NaN or infinite value(s) where the reference is finite"),
                    };
                }
                for (i, (x, e)) in gv.iter().zip(&ev).enumerate() {
                    let abs = (x - e).abs();
                    if abs > atol + rtol * e.abs() {
                        return Verdict::PropertyFailed {
                            reason: format!(
                                "{what}: output {output} at {:?} is {x:.6}, expected {e:.6}",
                                unravel(i, expected.dims())
                            ),
                        };
                    }
                    worst_pass = worst_pass.max(abs);
                }
            }
        }
    }
    Verdict::Pass { max_abs_error: worst_pass }
}
