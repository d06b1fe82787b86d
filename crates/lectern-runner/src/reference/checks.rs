//! Input checks shared by the references, so that a wrong shape is reported as a typed
//! [`RunnerError`] naming the op and every input involved, before candle sees it.

use candle_core::Tensor;

use crate::RunnerError;

/// All `inputs` are floating point and of one dtype (candle's matmul will not mix them).
pub(crate) fn floats(op: &'static str, inputs: &[(&str, &Tensor)]) -> Result<(), RunnerError> {
    let Some((_, first)) = inputs.first() else {
        return Ok(());
    };
    for (name, t) in inputs {
        if !t.dtype().is_float() {
            return Err(RunnerError::DType {
                op,
                input: (*name).to_owned(),
                dtype: t.dtype(),
                expected: "a floating-point dtype (f32, f64, f16 or bf16)",
            });
        }
        if t.dtype() != first.dtype() {
            return Err(RunnerError::DType {
                op,
                input: (*name).to_owned(),
                dtype: t.dtype(),
                expected: "the same dtype as the op's other inputs",
            });
        }
    }
    Ok(())
}

/// `t` has exactly `rank` axes.
pub(crate) fn rank(
    op: &'static str,
    name: &str,
    t: &Tensor,
    rank: usize,
    what: &str,
) -> Result<(), RunnerError> {
    if t.rank() == rank {
        Ok(())
    } else {
        Err(RunnerError::shape(
            op,
            format!("`{name}` must be {what}"),
            &[(name, t)],
        ))
    }
}

/// `from` can be broadcast to `to` by numpy's rules (align on the right; each axis equal or 1).
pub(crate) fn broadcastable(from: &[usize], to: &[usize]) -> bool {
    from.len() <= to.len()
        && from
            .iter()
            .rev()
            .zip(to.iter().rev())
            .all(|(&f, &t)| f == t || f == 1)
}

/// `n_heads` is positive and divides the model width `model_dim`; returns the head width.
pub(crate) fn head_dim(
    op: &'static str,
    model_dim: usize,
    n_heads: usize,
) -> Result<usize, RunnerError> {
    if n_heads == 0 || !model_dim.is_multiple_of(n_heads) {
        return Err(RunnerError::HeadsDoNotDivide {
            op,
            model_dim,
            n_heads,
        });
    }
    Ok(model_dim / n_heads)
}

/// Every weight in `weights` is a `[d, d]` matrix.
pub(crate) fn square_weights(
    op: &'static str,
    d: usize,
    weights: &[(&str, &Tensor)],
) -> Result<(), RunnerError> {
    for (name, w) in weights {
        if w.dims() != [d, d] {
            return Err(RunnerError::shape(
                op,
                format!("`{name}` must be [D, D] with D = {d}, the model width"),
                &[(name, w)],
            ));
        }
    }
    Ok(())
}
