//! Attention references: scaled dot-product attention and the multi-head layers built on
//! it (GPT's causal self-attention, BERT's bidirectional self-attention, T5's
//! cross-attention, and one decoding step with a KV cache).
//!
//! Conventions shared by every op here, chosen to match what students write in numpy:
//!
//! - Weights are `[D, D]` and applied on the right, `x @ w` (no biases).
//! - Heads are split from the last axis: `[B, L, D]` → `[B, L, H, D/H]` → `[B, H, L, D/H]`,
//!   so head `h` owns columns `h·D/H .. (h+1)·D/H` of each projection.
//! - Masks are any dtype; nonzero means "may attend". A query row whose keys are all
//!   masked gets all-zero weights, so its output is zeros (not NaN, and not a uniform
//!   average over keys it was told to ignore).
//! - Computation stays in the inputs' float dtype (f32 by default), except that in f16
//!   and bf16 the softmax runs in f32 (its row sums would swamp otherwise).

use candle_core::{D, DType, Device, Tensor};

use super::checks;
use crate::RunnerError;

/// `softmax(q kᵀ / √d) v` over the last two axes.
///
/// `q` is `[..., Lq, d]`, `k` is `[..., Lk, d]`, `v` is `[..., Lk, dv]` with the same leading
/// axes; `mask`, if given, broadcasts to `[..., Lq, Lk]` and is nonzero where a query may
/// attend to a key. The softmax subtracts each row's largest attended score first, so
/// scores near 1e4 stay finite. Returns `[..., Lq, dv]`.
pub fn scaled_dot_product_attention(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
) -> Result<Tensor, RunnerError> {
    const OP: &str = "attention";
    checks::floats(OP, &[("q", q), ("k", k), ("v", v)])?;
    let all = [("q", q), ("k", k), ("v", v)];
    if q.rank() < 2 || k.rank() != q.rank() || v.rank() != q.rank() {
        return Err(RunnerError::shape(
            OP,
            "q, k and v must have the same rank, at least 2 ([..., L, d])",
            &all,
        ));
    }
    let r = q.rank();
    let (qd, kd, vd) = (q.dims(), k.dims(), v.dims());
    if qd[..r - 2] != kd[..r - 2] || qd[..r - 2] != vd[..r - 2] {
        return Err(RunnerError::shape(
            OP,
            "q, k and v must share their leading (batch, head) axes",
            &all,
        ));
    }
    if qd[r - 1] != kd[r - 1] {
        return Err(RunnerError::shape(
            OP,
            "q and k must share the last axis d",
            &all,
        ));
    }
    if kd[r - 2] != vd[r - 2] {
        return Err(RunnerError::shape(
            OP,
            "k and v must have the same number of positions Lk",
            &all,
        ));
    }
    if kd[r - 2] == 0 || qd[r - 1] == 0 {
        return Err(RunnerError::shape(
            OP,
            "there must be at least one key and d must be positive",
            &all,
        ));
    }
    if let Some(mask) = mask {
        let mut scores = qd[..r - 2].to_vec();
        scores.extend([qd[r - 2], kd[r - 2]]);
        if !checks::broadcastable(mask.dims(), &scores) {
            return Err(RunnerError::Shape {
                op: OP,
                expected: format!("the mask must broadcast to the scores' shape {scores:?}"),
                shapes: vec![("mask".to_owned(), mask.dims().to_vec())],
            });
        }
    }
    attend(q, k, v, mask).map_err(RunnerError::candle(OP))
}

/// GPT-style masked self-attention: `x` is `[B, L, D]`, each weight `[D, D]`; position `t`
/// attends to positions `0..=t` only. Returns `[B, L, D]`.
pub fn causal_self_attention(
    x: &Tensor,
    w_q: &Tensor,
    w_k: &Tensor,
    w_v: &Tensor,
    w_o: &Tensor,
    n_heads: usize,
) -> Result<Tensor, RunnerError> {
    const OP: &str = "causal-attention";
    let weights = Weights::check(OP, x, [w_q, w_k, w_v, w_o], n_heads)?;
    let run = || {
        let l = x.dim(1)?;
        let mask = causal_mask(l, l, x.device())?;
        weights.attend(x, x, Some(&mask))
    };
    run().map_err(RunnerError::candle(OP))
}

/// BERT-style self-attention: every position sees every real token. `padding_mask`, if
/// given, is `[B, L]`, nonzero for real tokens; padded keys get no weight (padded queries
/// still get an output, which a model ignores downstream).
pub fn bidirectional_self_attention(
    x: &Tensor,
    w_q: &Tensor,
    w_k: &Tensor,
    w_v: &Tensor,
    w_o: &Tensor,
    n_heads: usize,
    padding_mask: Option<&Tensor>,
) -> Result<Tensor, RunnerError> {
    const OP: &str = "bidirectional-attention";
    let weights = Weights::check(OP, x, [w_q, w_k, w_v, w_o], n_heads)?;
    if let Some(m) = padding_mask {
        key_mask_fits(OP, "padding_mask", m, x)?;
    }
    let run = || {
        let mask = padding_mask.map(key_mask_to_scores).transpose()?;
        weights.attend(x, x, mask.as_ref())
    };
    run().map_err(RunnerError::candle(OP))
}

/// T5-style cross-attention: queries from the decoder states `x` `[B, Lq, D]`, keys and
/// values from the encoder outputs `enc` `[B, Lk, D]`. `enc_mask`, if given, is `[B, Lk]`,
/// nonzero for real encoder tokens. Returns `[B, Lq, D]`.
#[allow(clippy::too_many_arguments)] // the weights are the op's own inputs, named as taught
pub fn cross_attention(
    x: &Tensor,
    enc: &Tensor,
    w_q: &Tensor,
    w_k: &Tensor,
    w_v: &Tensor,
    w_o: &Tensor,
    n_heads: usize,
    enc_mask: Option<&Tensor>,
) -> Result<Tensor, RunnerError> {
    const OP: &str = "cross-attention";
    let weights = Weights::check(OP, x, [w_q, w_k, w_v, w_o], n_heads)?;
    checks::floats(OP, &[("x", x), ("enc", enc)])?;
    checks::rank(OP, "enc", enc, 3, "[B, Lk, D]")?;
    if enc.dims()[0] != x.dims()[0] || enc.dims()[2] != x.dims()[2] || enc.dims()[1] == 0 {
        return Err(RunnerError::shape(
            OP,
            "enc must be [B, Lk, D] with x's B and D and Lk > 0",
            &[("x", x), ("enc", enc)],
        ));
    }
    if let Some(m) = enc_mask {
        key_mask_fits(OP, "enc_mask", m, enc)?;
    }
    let run = || {
        let mask = enc_mask.map(key_mask_to_scores).transpose()?;
        weights.attend(x, enc, mask.as_ref())
    };
    run().map_err(RunnerError::candle(OP))
}

/// One step of autoregressive decoding with a KV cache.
///
/// `x_t` is the new token's states `[B, 1, D]`; `cache_k` and `cache_v` hold the keys and
/// values of the `T` earlier positions, already split into heads, `[B, H, T, D/H]` (`T` may
/// be 0). The new key and value are appended on the `T` axis and the new query attends to
/// all `T + 1` positions — no mask is needed, since nothing later exists yet.
///
/// Returns `(y_t [B, 1, D], cache_k [B, H, T+1, D/H], cache_v [B, H, T+1, D/H])`.
#[allow(clippy::too_many_arguments)] // the weights are the op's own inputs, named as taught
pub fn decode_step(
    x_t: &Tensor,
    cache_k: &Tensor,
    cache_v: &Tensor,
    w_q: &Tensor,
    w_k: &Tensor,
    w_v: &Tensor,
    w_o: &Tensor,
    n_heads: usize,
) -> Result<(Tensor, Tensor, Tensor), RunnerError> {
    const OP: &str = "kv-cache";
    let weights = Weights::check(OP, x_t, [w_q, w_k, w_v, w_o], n_heads)?;
    checks::floats(
        OP,
        &[("x_t", x_t), ("cache_k", cache_k), ("cache_v", cache_v)],
    )?;
    let (b, one, _) = (x_t.dims()[0], x_t.dims()[1], x_t.dims()[2]);
    let expected = [b, n_heads, weights.head_dim];
    let fits = |c: &Tensor| {
        let d = c.dims();
        d.len() == 4 && [d[0], d[1], d[3]] == expected
    };
    if one != 1 || !fits(cache_k) || !fits(cache_v) || cache_k.dims() != cache_v.dims() {
        return Err(RunnerError::shape(
            OP,
            format!(
                "x_t must be [B, 1, D] and both caches [B, H, T, D/H] = [{b}, {n_heads}, T, {}]",
                weights.head_dim
            ),
            &[("x_t", x_t), ("cache_k", cache_k), ("cache_v", cache_v)],
        ));
    }
    let run = || {
        let q = split_heads(&x_t.broadcast_matmul(weights.w_q)?, n_heads)?;
        let k = split_heads(&x_t.broadcast_matmul(weights.w_k)?, n_heads)?;
        let v = split_heads(&x_t.broadcast_matmul(weights.w_v)?, n_heads)?;
        let append = |cache: &Tensor, new: Tensor| {
            if cache.dims()[2] == 0 {
                Ok(new)
            } else {
                Tensor::cat(&[cache, &new], 2)?.contiguous()
            }
        };
        let cache_k = append(cache_k, k)?;
        let cache_v = append(cache_v, v)?;
        let heads = attend(&q, &cache_k, &cache_v, None)?;
        let y = merge_heads(&heads)?.broadcast_matmul(weights.w_o)?;
        Ok((y, cache_k, cache_v))
    };
    run().map_err(RunnerError::candle(OP))
}

/// A `[lq, lk]` u8 mask, 1 where key `j ≤` query `i`: the top-left-aligned causal mask of
/// PyTorch's `is_causal=True` and of `np.tril(np.ones((lq, lk)))`.
pub fn causal_mask(lq: usize, lk: usize, device: &Device) -> candle_core::Result<Tensor> {
    let keep: Vec<u8> = (0..lq)
        .flat_map(|i| (0..lk).map(move |j| u8::from(j <= i)))
        .collect();
    Tensor::from_vec(keep, (lq, lk), device)
}

/// The four projection weights of a multi-head layer, checked against its input `x`.
struct Weights<'a> {
    w_q: &'a Tensor,
    w_k: &'a Tensor,
    w_v: &'a Tensor,
    w_o: &'a Tensor,
    n_heads: usize,
    head_dim: usize,
}

impl<'a> Weights<'a> {
    fn check(
        op: &'static str,
        x: &Tensor,
        [w_q, w_k, w_v, w_o]: [&'a Tensor; 4],
        n_heads: usize,
    ) -> Result<Self, RunnerError> {
        let named = [
            ("x", x),
            ("w_q", w_q),
            ("w_k", w_k),
            ("w_v", w_v),
            ("w_o", w_o),
        ];
        checks::floats(op, &named)?;
        checks::rank(op, "x", x, 3, "[B, L, D]")?;
        let d = x.dims()[2];
        checks::square_weights(op, d, &named[1..])?;
        let head_dim = checks::head_dim(op, d, n_heads)?;
        if x.dims()[1] == 0 {
            return Err(RunnerError::shape(
                op,
                "x must hold at least one position",
                &[("x", x)],
            ));
        }
        Ok(Weights {
            w_q,
            w_k,
            w_v,
            w_o,
            n_heads,
            head_dim,
        })
    }

    /// Queries from `x`, keys and values from `source` (`x` itself for self-attention),
    /// attention per head, heads merged, output projection.
    fn attend(
        &self,
        x: &Tensor,
        source: &Tensor,
        mask: Option<&Tensor>,
    ) -> candle_core::Result<Tensor> {
        let (x, source) = (x.contiguous()?, source.contiguous()?);
        let q = split_heads(&x.broadcast_matmul(self.w_q)?, self.n_heads)?;
        let k = split_heads(&source.broadcast_matmul(self.w_k)?, self.n_heads)?;
        let v = split_heads(&source.broadcast_matmul(self.w_v)?, self.n_heads)?;
        let heads = attend(&q, &k, &v, mask)?;
        merge_heads(&heads)?.broadcast_matmul(self.w_o)
    }
}

/// A `[B, Lk]` key mask must match the batch and length of the tensor the keys come from.
fn key_mask_fits(
    op: &'static str,
    name: &str,
    mask: &Tensor,
    keys_from: &Tensor,
) -> Result<(), RunnerError> {
    if mask.dims() != &keys_from.dims()[..2] {
        let from = if name == "enc_mask" { "enc" } else { "x" };
        return Err(RunnerError::shape(
            op,
            format!("`{name}` must be [B, L], the first two axes of `{from}`"),
            &[(name, mask), (from, keys_from)],
        ));
    }
    Ok(())
}

/// `[B, Lk]` → `[B, 1, 1, Lk]`, which broadcasts over heads and queries.
fn key_mask_to_scores(mask: &Tensor) -> candle_core::Result<Tensor> {
    let (b, lk) = mask.dims2()?;
    mask.reshape((b, 1, 1, lk))
}

/// `[B, L, D]` → `[B, H, L, D/H]`, contiguous because candle's batched matmul needs it.
fn split_heads(x: &Tensor, n_heads: usize) -> candle_core::Result<Tensor> {
    let (b, l, d) = x.dims3()?;
    x.reshape((b, l, n_heads, d / n_heads))?
        .transpose(1, 2)?
        .contiguous()
}

/// `[B, H, L, D/H]` → `[B, L, D]`.
fn merge_heads(x: &Tensor) -> candle_core::Result<Tensor> {
    let (b, h, l, dh) = x.dims4()?;
    x.transpose(1, 2)?.contiguous()?.reshape((b, l, h * dh))
}

/// The unchecked core of [`scaled_dot_product_attention`].
///
/// `k` goes to the matmul transposed as a view (candle's CPU matmul takes the strides as
/// they are), the `1/√d` scale is folded into the softmax, and on the CPU the softmax runs
/// fused and in place on the scores ([`super::softmax`]).
fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
) -> candle_core::Result<Tensor> {
    let d = q.dim(D::Minus1)?;
    let scale = 1.0 / (d as f64).sqrt();
    let k_t = k.contiguous()?.transpose(D::Minus2, D::Minus1)?;
    // Off the CPU, kᵀ is laid out as before (the CPU matmul is the one measured to take
    // the transposed view as it is).
    let k_t = if k.device().is_cpu() { k_t } else { k_t.contiguous()? };
    let scores = q.contiguous()?.matmul(&k_t)?;
    // f16 and bf16: the softmax runs in f32, as PyTorch's and FlashAttention's do (scores
    // and weights still pass through the dtype). In bf16 a row's sum over a few hundred
    // keys swamps — at 512 its ulp is 4, so further exps of order 1 are lost — and the
    // output drifts by its own size at Lk = 2048 (measured: 0.86 of max |output|).
    let dtype = scores.dtype();
    let half = matches!(dtype, DType::F16 | DType::BF16);
    let scores = if half { scores.to_dtype(DType::F32)? } else { scores };
    let keep = match mask {
        None => None,
        Some(mask) => Some(
            mask.to_device(scores.device())?
                .ne(0f64)?
                .broadcast_as(scores.shape())?
                .contiguous()?,
        ),
    };
    let weights = if super::softmax::softmax_in_place(&scores, scale, keep.as_ref())? {
        scores
    } else {
        masked_softmax(&scores.affine(scale, 0.0)?, keep.as_ref())?
    };
    let weights = if half { weights.to_dtype(dtype)? } else { weights };
    weights.matmul(&v.contiguous()?)
}

/// Softmax over the last axis, skipping masked positions, stable for large scores.
///
/// candle-core has no `masked_fill`, so masked scores become `-inf` through `where_cond`.
/// Each row's maximum is then taken over attended scores only (a masked score must not set
/// the scale, or it could underflow every attended `exp` to 0). A row with no attended key
/// has maximum `-inf`; we replace that by 0 so `x - max` stays `-inf` (not NaN) and its
/// `exp`s are all 0, then divide that row by 1 instead of its zero sum: the row's weights,
/// and so its output, are zeros. Every other row sums to at least 1 (its maximum
/// contributes `exp(0)`), so it is untouched.
fn masked_softmax(scores: &Tensor, mask: Option<&Tensor>) -> candle_core::Result<Tensor> {
    let Some(mask) = mask else {
        let max = scores.max_keepdim(D::Minus1)?;
        let e = scores.broadcast_sub(&max)?.exp()?;
        return e.broadcast_div(&e.sum_keepdim(D::Minus1)?);
    };
    // A mask built on the CPU may meet scores on a GPU; moving it is free when they agree.
    // candle converts the scalar to the mask's own dtype, so any mask dtype works.
    let keep = mask.to_device(scores.device())?.ne(0f64)?;
    let keep = keep.broadcast_as(scores.shape())?.contiguous()?;
    let neg_inf = Tensor::new(f32::NEG_INFINITY, scores.device())?
        .to_dtype(scores.dtype())?
        .broadcast_as(scores.shape())?;
    let masked = keep.where_cond(scores, &neg_inf)?;
    let max = masked.max_keepdim(D::Minus1)?;
    let row_has_key = max.ne(f64::NEG_INFINITY)?;
    let max = row_has_key.where_cond(&max, &max.zeros_like()?)?;
    let e = masked.broadcast_sub(&max)?.exp()?;
    let sum = e.sum_keepdim(D::Minus1)?;
    let sum = row_has_key.where_cond(&sum, &sum.ones_like()?)?;
    e.broadcast_div(&sum)
}
