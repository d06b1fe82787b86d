//! The transformer block's other layers: layer normalisation, GELU and the feed-forward MLP.

use candle_core::{D, Tensor};

use super::checks;
use crate::RunnerError;

/// Layer normalisation over the last axis, as `torch.nn.LayerNorm` computes it:
/// `(x - mean) / sqrt(var + eps) * gamma + beta` with the biased variance (divided by `D`,
/// not `D - 1`). `x` is `[..., D]`; `gamma` and `beta` are `[D]`.
pub fn layer_norm(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
) -> Result<Tensor, RunnerError> {
    const OP: &str = "layer-norm";
    let all = [("x", x), ("gamma", gamma), ("beta", beta)];
    checks::floats(OP, &all)?;
    let d = x.dims().last().copied().unwrap_or(0);
    if d == 0 || gamma.dims() != [d] || beta.dims() != [d] {
        return Err(RunnerError::shape(
            OP,
            "x must be [..., D] with D > 0, gamma and beta [D]",
            &all,
        ));
    }
    if !(eps >= 0.0 && eps.is_finite()) {
        return Err(RunnerError::bad_arg(
            OP,
            "eps",
            format!("must be a finite number ≥ 0, got {eps}"),
        ));
    }
    let run = || {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centered = x.broadcast_sub(&mean)?;
        let var = centered.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centered.broadcast_div(&var.affine(1.0, eps)?.sqrt()?)?;
        normed.broadcast_mul(gamma)?.broadcast_add(beta)
    };
    run().map_err(RunnerError::candle(OP))
}

/// GELU in its exact form, `x · Φ(x) = x/2 · (1 + erf(x/√2))`: PyTorch's default
/// (`approximate='none'`), not the tanh approximation GPT-2 used.
pub fn gelu(x: &Tensor) -> Result<Tensor, RunnerError> {
    const OP: &str = "gelu";
    checks::floats(OP, &[("x", x)])?;
    x.gelu_erf().map_err(RunnerError::candle(OP))
}

/// The position-wise MLP: `gelu(x @ w1 + b1) @ w2 + b2`. `x` is `[..., D]`, `w1` `[D, F]`,
/// `b1` `[F]`, `w2` `[F, D]`, `b2` `[D]`.
pub fn feed_forward(
    x: &Tensor,
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
) -> Result<Tensor, RunnerError> {
    const OP: &str = "feed-forward";
    let all = [("x", x), ("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2)];
    checks::floats(OP, &all)?;
    let d = x.dims().last().copied().unwrap_or(0);
    let f = w1.dims().get(1).copied().unwrap_or(0);
    if x.rank() == 0
        || w1.dims() != [d, f]
        || b1.dims() != [f]
        || w2.dims() != [f, d]
        || b2.dims() != [d]
    {
        return Err(RunnerError::shape(
            OP,
            "x must be [..., D], w1 [D, F], b1 [F], w2 [F, D], b2 [D]",
            &all,
        ));
    }
    let run = || {
        // Fold the leading axes into rows so one 2-D matmul serves any rank of x.
        let rows = x.elem_count() / d.max(1);
        let flat = x.contiguous()?.reshape((rows, d))?;
        let hidden = flat.matmul(w1)?.broadcast_add(b1)?.gelu_erf()?;
        let out = hidden.matmul(w2)?.broadcast_add(b2)?;
        out.reshape(x.dims())
    };
    run().map_err(RunnerError::candle(OP))
}
