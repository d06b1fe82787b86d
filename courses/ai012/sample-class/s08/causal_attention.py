import math

import numpy as np


def causal_self_attention(x, w_q, w_k, w_v, w_o, n_heads):
    """GPT-style multi-head causal self-attention.

    x: [B, L, D]; w_q, w_k, w_v, w_o: [D, D], applied as x @ w (no biases).
    n_heads: H, divides D; heads are split from the last axis,
    [B, L, D] -> [B, L, H, D/H] -> [B, H, L, D/H].
    Position t attends to positions 0..t only; scores are scaled by 1/sqrt(D/H).

    Returns [B, L, D]: the merged heads multiplied by w_o.
    """
    b, l, d = x.shape
    dh = d // n_heads

    def split(t):
        return t.reshape(b, l, n_heads, dh).transpose(0, 2, 1, 3)

    q, k, v = split(x @ w_q), split(x @ w_k), split(x @ w_v)
    scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(dh)
    causal = np.tril(np.ones((l, l), dtype=bool))
    scores = np.where(causal, scores, -np.inf)
    # Every row keeps at least its diagonal, so its max is finite.
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    heads = weights @ v  # [B, H, L, dh]
    merged = heads.transpose(0, 2, 1, 3).reshape(b, l, d)
    return (merged @ w_o).astype(x.dtype, copy=False)
