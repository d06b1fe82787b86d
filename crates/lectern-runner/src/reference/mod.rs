//! The reference implementations an exercise names (`reference = "causal-attention"`),
//! computed with candle on the device the runner chose, and the registry that finds them.
//!
//! Each op is also a plain function (`causal_self_attention(x, w_q, …)`) for callers that
//! know what they want; the registry ([`by_name`], [`Reference::run`]) is for the runner,
//! which only has a name from `exercise.toml`, named input tensors and keyword arguments.

mod attention;
mod checks;
mod layers;
mod memory;
mod mlm;
mod softmax;

use std::collections::BTreeMap;

use candle_core::{DType, Device, Tensor};
use lectern_lesson::model::{ArgValue, Property};

use crate::RunnerError;

pub use attention::{
    bidirectional_self_attention, causal_mask, causal_self_attention, cross_attention, decode_step,
    scaled_dot_product_attention,
};
pub use layers::{feed_forward, gelu, layer_norm};
pub use memory::kv_cache_bytes;
pub use mlm::{IGNORE_INDEX, MlmSample, check_mlm, mlm_mask};

/// One reference implementation as an exercise sees it: what it takes, what it gives back,
/// and how a student's answer is judged against it.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// The name `exercise.toml` uses.
    pub name: &'static str,
    /// One line for `lectern` listings and error messages.
    pub summary: &'static str,
    /// Named input tensors, in the order the student's function takes them.
    pub inputs: &'static [Input],
    /// Keyword arguments it understands (from a case's `args`).
    pub params: &'static [Param],
    /// Names of its outputs, in the order the student's function returns them.
    pub outputs: &'static [&'static str],
    /// The behaviour checks (`[[check]] property = …`) that fit it: `lectern check`
    /// refuses the others.
    pub checks: &'static [Property],
    pub judged_by: Judgement,
    compute: fn(&Call<'_>) -> Result<Vec<Tensor>, RunnerError>,
}

/// A named input tensor of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    pub name: &'static str,
    pub kind: InputKind,
    /// Optional inputs (masks) may be left out of a case.
    pub required: bool,
}

/// What values a case must draw for an input: the runner draws them from the seed, and
/// random reals make no sense as a mask or as token ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// Real numbers in the case's dtype: activations, weights, caches.
    Values,
    /// 0/1 flags of any dtype; nonzero means "attend" or "real token".
    Mask,
    /// Integer token ids in `[0, vocab_size)`, as i64.
    TokenIds,
}

/// A keyword argument of a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub required: bool,
    /// What it means and, when optional, its default.
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Bool,
    /// A whole number (a count or size, never negative unless said).
    Int,
    /// A real number; a whole number is accepted too.
    Float,
}

/// How a student's outputs are compared with the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Element by element, within the case's tolerances.
    Values,
    /// By [`check_mlm`]'s properties: the masking is random, so no two correct answers agree.
    MlmProperties,
}

impl Reference {
    /// Computes the reference on `inputs` (by name) with keyword `args`, returning its
    /// outputs by name. Tensors the op creates itself (masks, the `kv-cache-memory` count)
    /// go on `device`; everything else stays on its input's device.
    ///
    /// Inputs and arguments the reference does not take are errors: in `exercise.toml` they
    /// are almost always typos, and silently ignoring `n_head = 4` would grade against the
    /// wrong thing.
    pub fn run(
        &self,
        inputs: &BTreeMap<String, Tensor>,
        args: &BTreeMap<String, ArgValue>,
        device: &Device,
    ) -> Result<BTreeMap<String, Tensor>, RunnerError> {
        let op = self.name;
        if let Some(extra) = inputs
            .keys()
            .find(|n| !self.inputs.iter().any(|i| i.name == *n))
        {
            return Err(RunnerError::UnexpectedInput {
                op,
                input: extra.clone(),
            });
        }
        if let Some(missing) = self
            .inputs
            .iter()
            .find(|i| i.required && !inputs.contains_key(i.name))
        {
            return Err(RunnerError::MissingInput {
                op,
                input: missing.name.to_owned(),
            });
        }
        if let Some(extra) = args
            .keys()
            .find(|n| !self.params.iter().any(|p| p.name == *n))
        {
            let known: Vec<&str> = self.params.iter().map(|p| p.name).collect();
            let reason = if known.is_empty() {
                "this reference takes no arguments".to_owned()
            } else {
                format!(
                    "not an argument of this reference; it takes {}",
                    known.join(", ")
                )
            };
            return Err(RunnerError::bad_arg(op, extra, reason));
        }
        if let Some(missing) = self
            .params
            .iter()
            .find(|p| p.required && !args.contains_key(p.name))
        {
            return Err(RunnerError::bad_arg(op, missing.name, "is required"));
        }
        let call = Call {
            op,
            inputs,
            args,
            device,
        };
        let outputs = (self.compute)(&call)?;
        Ok(self
            .outputs
            .iter()
            .map(|name| (*name).to_owned())
            .zip(outputs)
            .collect())
    }
}

/// The names [`by_name`] knows, in the order of the course.
pub fn names() -> &'static [&'static str] {
    &NAMES
}

/// The reference called `name` in `exercise.toml`, if there is one.
pub fn by_name(name: &str) -> Option<Reference> {
    REFERENCES.iter().find(|r| r.name == name).copied()
}

const NAMES: [&str; 10] = [
    "attention",
    "causal-attention",
    "bidirectional-attention",
    "cross-attention",
    "kv-cache",
    "kv-cache-memory",
    "mlm-masking",
    "layer-norm",
    "gelu",
    "feed-forward",
];

const fn values(name: &'static str) -> Input {
    Input {
        name,
        kind: InputKind::Values,
        required: true,
    }
}

const fn optional_mask(name: &'static str) -> Input {
    Input {
        name,
        kind: InputKind::Mask,
        required: false,
    }
}

const N_HEADS: Param = Param {
    name: "n_heads",
    kind: ParamKind::Int,
    required: true,
    doc: "number of attention heads; must divide the model width D",
};

const fn int(name: &'static str, doc: &'static str) -> Param {
    Param {
        name,
        kind: ParamKind::Int,
        required: true,
        doc,
    }
}

const WEIGHTS: [Input; 4] = [values("w_q"), values("w_k"), values("w_v"), values("w_o")];

static REFERENCES: [Reference; 10] = [
    Reference {
        name: "attention",
        summary: "scaled dot-product attention softmax(q kᵀ / √d) v",
        inputs: &[values("q"), values("k"), values("v"), optional_mask("mask")],
        params: &[Param {
            name: "causal",
            kind: ParamKind::Bool,
            required: false,
            doc: "query i attends to keys j ≤ i only (top-left aligned, like PyTorch's \
                  is_causal); combined with `mask` if both are given; default false",
        }],
        outputs: &["out"],
        checks: &[Property::NoFutureLeak, Property::PaddingRespected, Property::StableLargeLogits, Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: run_attention,
    },
    Reference {
        name: "causal-attention",
        summary: "GPT-style multi-head causal self-attention",
        inputs: &[values("x"), WEIGHTS[0], WEIGHTS[1], WEIGHTS[2], WEIGHTS[3]],
        params: &[N_HEADS],
        outputs: &["out"],
        checks: &[Property::NoFutureLeak, Property::StableLargeLogits, Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x, w_q, w_k, w_v, w_o] = c.inputs(["x", "w_q", "w_k", "w_v", "w_o"])?;
            Ok(vec![causal_self_attention(
                x,
                w_q,
                w_k,
                w_v,
                w_o,
                c.count("n_heads")?,
            )?])
        },
    },
    Reference {
        name: "bidirectional-attention",
        summary: "BERT-style multi-head self-attention with a padding mask",
        inputs: &[
            values("x"),
            WEIGHTS[0],
            WEIGHTS[1],
            WEIGHTS[2],
            WEIGHTS[3],
            optional_mask("padding_mask"),
        ],
        params: &[N_HEADS],
        outputs: &["out"],
        checks: &[Property::PaddingRespected, Property::StableLargeLogits, Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x, w_q, w_k, w_v, w_o] = c.inputs(["x", "w_q", "w_k", "w_v", "w_o"])?;
            let mask = c.optional("padding_mask");
            let n_heads = c.count("n_heads")?;
            Ok(vec![bidirectional_self_attention(
                x, w_q, w_k, w_v, w_o, n_heads, mask,
            )?])
        },
    },
    Reference {
        name: "cross-attention",
        summary: "T5-style cross-attention from decoder states to encoder outputs",
        inputs: &[
            values("x"),
            values("enc"),
            WEIGHTS[0],
            WEIGHTS[1],
            WEIGHTS[2],
            WEIGHTS[3],
            optional_mask("enc_mask"),
        ],
        params: &[N_HEADS],
        outputs: &["out"],
        checks: &[Property::PaddingRespected, Property::StableLargeLogits, Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x, enc, w_q, w_k, w_v, w_o] =
                c.inputs(["x", "enc", "w_q", "w_k", "w_v", "w_o"])?;
            let mask = c.optional("enc_mask");
            let n_heads = c.count("n_heads")?;
            Ok(vec![cross_attention(
                x, enc, w_q, w_k, w_v, w_o, n_heads, mask,
            )?])
        },
    },
    Reference {
        name: "kv-cache",
        summary: "one decoding step of causal attention with a KV cache",
        inputs: &[
            values("x_t"),
            values("cache_k"),
            values("cache_v"),
            WEIGHTS[0],
            WEIGHTS[1],
            WEIGHTS[2],
            WEIGHTS[3],
        ],
        params: &[N_HEADS],
        outputs: &["y_t", "cache_k", "cache_v"],
        checks: &[Property::KvCacheConsistent, Property::StableLargeLogits, Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x_t, cache_k, cache_v, w_q, w_k, w_v, w_o] =
                c.inputs(["x_t", "cache_k", "cache_v", "w_q", "w_k", "w_v", "w_o"])?;
            let n_heads = c.count("n_heads")?;
            let (y, k, v) = decode_step(x_t, cache_k, cache_v, w_q, w_k, w_v, w_o, n_heads)?;
            Ok(vec![y, k, v])
        },
    },
    Reference {
        name: "kv-cache-memory",
        summary: "bytes held by a KV cache: 2 × layers × KV heads × head dim × tokens × batch × bytes",
        inputs: &[],
        params: &[
            int("n_layers", "number of transformer layers"),
            int(
                "n_kv_heads",
                "key/value heads per layer (fewer than query heads under GQA/MQA)",
            ),
            int("head_dim", "width of one head"),
            int("seq_len", "tokens held in the cache"),
            int("batch", "sequences in the batch"),
            int("bytes_per_value", "2 for fp16/bf16, 4 for fp32, 1 for int8"),
        ],
        outputs: &["bytes"],
        checks: &[],
        judged_by: Judgement::Values,
        compute: |c| {
            let [l, h, d, t, b, s] = [
                "n_layers",
                "n_kv_heads",
                "head_dim",
                "seq_len",
                "batch",
                "bytes_per_value",
            ]
            .map(|name| c.count(name).map(|n| n as u64));
            let bytes = kv_cache_bytes(l?, h?, d?, t?, b?, s?);
            let bytes = i64::try_from(bytes).map_err(|_| {
                RunnerError::bad_arg(c.op, "n_layers", "the cache size does not fit in an i64")
            })?;
            Ok(vec![
                Tensor::new(bytes, c.device).map_err(RunnerError::candle(c.op))?,
            ])
        },
    },
    Reference {
        name: "mlm-masking",
        summary: "BERT's masked-language-model corruption (80% mask, 10% random, 10% kept)",
        inputs: &[Input {
            name: "tokens",
            kind: InputKind::TokenIds,
            required: true,
        }],
        params: &[
            int("mask_id", "the [MASK] token id"),
            int("vocab_size", "tokens are drawn from [0, vocab_size)"),
            Param {
                name: "seed",
                kind: ParamKind::Int,
                required: false,
                doc: "seed of the reference's own draws; default 0",
            },
            Param {
                name: "p",
                kind: ParamKind::Float,
                required: false,
                doc: "probability that a position is chosen; default 0.15",
            },
        ],
        outputs: &["inputs", "labels"],
        checks: &[],
        judged_by: Judgement::MlmProperties,
        compute: run_mlm,
    },
    Reference {
        name: "layer-norm",
        summary: "layer normalisation over the last axis",
        inputs: &[values("x"), values("gamma"), values("beta")],
        params: &[Param {
            name: "eps",
            kind: ParamKind::Float,
            required: false,
            doc: "added to the variance; default 1e-5 (PyTorch's)",
        }],
        outputs: &["out"],
        checks: &[Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x, gamma, beta] = c.inputs(["x", "gamma", "beta"])?;
            Ok(vec![layer_norm(x, gamma, beta, c.real_or("eps", 1e-5)?)?])
        },
    },
    Reference {
        name: "gelu",
        summary: "GELU, exact erf form",
        inputs: &[values("x")],
        params: &[],
        outputs: &["out"],
        checks: &[Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x] = c.inputs(["x"])?;
            Ok(vec![gelu(x)?])
        },
    },
    Reference {
        name: "feed-forward",
        summary: "the position-wise MLP gelu(x @ w1 + b1) @ w2 + b2",
        inputs: &[
            values("x"),
            values("w1"),
            values("b1"),
            values("w2"),
            values("b2"),
        ],
        params: &[],
        outputs: &["out"],
        checks: &[Property::BatchIndependent],
        judged_by: Judgement::Values,
        compute: |c| {
            let [x, w1, b1, w2, b2] = c.inputs(["x", "w1", "b1", "w2", "b2"])?;
            Ok(vec![feed_forward(x, w1, b1, w2, b2)?])
        },
    },
];

fn run_attention(c: &Call<'_>) -> Result<Vec<Tensor>, RunnerError> {
    const OP: &str = "attention";
    let [q, k, v] = c.inputs(["q", "k", "v"])?;
    let mask = c.optional("mask");
    if !c.flag_or("causal", false)? {
        return Ok(vec![scaled_dot_product_attention(q, k, v, mask)?]);
    }
    let (lq, lk) = (q.dims().iter().rev().nth(1), k.dims().iter().rev().nth(1));
    let (Some(&lq), Some(&lk)) = (lq, lk) else {
        // Too few axes: let the op say so with its own message.
        return Ok(vec![scaled_dot_product_attention(q, k, v, mask)?]);
    };
    let causal = causal_mask(lq, lk, q.device()).map_err(RunnerError::candle(OP))?;
    let combined = match mask {
        None => causal,
        Some(mask) => {
            // Check the student's mask against the scores' shape before combining, so a
            // wrong mask is reported as a shape error rather than a broadcasting failure.
            let mut scores = q.dims()[..q.rank() - 2].to_vec();
            scores.extend([lq, lk]);
            if !checks::broadcastable(mask.dims(), &scores) {
                return Err(RunnerError::Shape {
                    op: OP,
                    expected: format!("the mask must broadcast to the scores' shape {scores:?}"),
                    shapes: vec![("mask".to_owned(), mask.dims().to_vec())],
                });
            }
            let both = || {
                mask.ne(0f64)?
                    .broadcast_mul(&causal.to_device(mask.device())?)
            };
            both().map_err(RunnerError::candle(OP))?
        }
    };
    Ok(vec![scaled_dot_product_attention(
        q,
        k,
        v,
        Some(&combined),
    )?])
}

fn run_mlm(c: &Call<'_>) -> Result<Vec<Tensor>, RunnerError> {
    let [tokens] = c.inputs(["tokens"])?;
    if tokens.dtype().is_float() {
        return Err(RunnerError::DType {
            op: c.op,
            input: "tokens".to_owned(),
            dtype: tokens.dtype(),
            expected: "integer token ids (i64, u32 or u8)",
        });
    }
    let ids = || tokens.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>();
    let ids = ids().map_err(RunnerError::candle(c.op))?;
    let seed = c.count_or("seed", 0)? as u64;
    let sample = mlm_mask(
        &ids,
        c.int("mask_id")?,
        c.int("vocab_size")?,
        seed,
        c.real_or("p", 0.15)?,
    )?;
    let to_tensor = |v: Vec<i64>| Tensor::from_vec(v, tokens.shape(), tokens.device());
    let inputs = to_tensor(sample.inputs).map_err(RunnerError::candle(c.op))?;
    let labels = to_tensor(sample.labels).map_err(RunnerError::candle(c.op))?;
    Ok(vec![inputs, labels])
}

/// One call of a reference through the registry: its inputs and arguments, with typed
/// accessors that turn a missing or ill-typed value into a [`RunnerError`].
struct Call<'a> {
    op: &'static str,
    inputs: &'a BTreeMap<String, Tensor>,
    args: &'a BTreeMap<String, ArgValue>,
    device: &'a Device,
}

impl<'a> Call<'a> {
    fn inputs<const N: usize>(&self, names: [&str; N]) -> Result<[&'a Tensor; N], RunnerError> {
        let mut found = Vec::with_capacity(N);
        for name in names {
            found.push(
                self.inputs
                    .get(name)
                    .ok_or_else(|| RunnerError::MissingInput {
                        op: self.op,
                        input: name.to_owned(),
                    })?,
            );
        }
        found.try_into().map_err(|_| RunnerError::MissingInput {
            op: self.op,
            input: names.join(", "),
        })
    }

    fn optional(&self, name: &str) -> Option<&'a Tensor> {
        self.inputs.get(name)
    }

    fn int(&self, name: &str) -> Result<i64, RunnerError> {
        match self.args.get(name) {
            Some(ArgValue::Int(n)) => Ok(*n),
            Some(other) => Err(RunnerError::bad_arg(
                self.op,
                name,
                format!("must be a whole number, got {other:?}"),
            )),
            None => Err(RunnerError::bad_arg(self.op, name, "is required")),
        }
    }

    /// A required whole number that is not negative (a count or a size).
    fn count(&self, name: &str) -> Result<usize, RunnerError> {
        let n = self.int(name)?;
        usize::try_from(n).map_err(|_| {
            RunnerError::bad_arg(self.op, name, format!("must not be negative, got {n}"))
        })
    }

    fn count_or(&self, name: &str, default: usize) -> Result<usize, RunnerError> {
        if self.args.contains_key(name) {
            self.count(name)
        } else {
            Ok(default)
        }
    }

    fn flag_or(&self, name: &str, default: bool) -> Result<bool, RunnerError> {
        match self.args.get(name) {
            None => Ok(default),
            Some(ArgValue::Bool(b)) => Ok(*b),
            Some(other) => Err(RunnerError::bad_arg(
                self.op,
                name,
                format!("must be true or false, got {other:?}"),
            )),
        }
    }

    fn real_or(&self, name: &str, default: f64) -> Result<f64, RunnerError> {
        match self.args.get(name) {
            None => Ok(default),
            Some(ArgValue::Float(x)) => Ok(*x),
            Some(ArgValue::Int(n)) => Ok(*n as f64),
            Some(other) => Err(RunnerError::bad_arg(
                self.op,
                name,
                format!("must be a number, got {other:?}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_registry_agree() {
        let registered: Vec<&str> = REFERENCES.iter().map(|r| r.name).collect();
        assert_eq!(registered, names());
        for name in names() {
            assert_eq!(by_name(name).map(|r| r.name), Some(*name));
        }
        assert!(by_name("softmax").is_none());
    }

    #[test]
    fn outputs_are_named_once() {
        for r in &REFERENCES {
            let mut seen: Vec<&str> = r.outputs.to_vec();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), r.outputs.len(), "{}", r.name);
            assert!(!r.outputs.is_empty(), "{}", r.name);
        }
    }
}
