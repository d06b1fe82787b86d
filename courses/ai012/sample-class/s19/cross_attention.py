import math

import numpy as np


def cross_attention(x, enc, w_q, w_k, w_v, w_o, enc_mask=None, *, n_heads):
    """T5-style multi-head cross-attention.

    x: decoder states [B, Lq, D]; enc: encoder outputs [B, Lk, D].
    w_q, w_k, w_v, w_o: [D, D], applied as t @ w (no biases). Queries come from x,
    keys and values from enc. n_heads: H, divides D; heads are split from the last axis.
    enc_mask: None or [B, Lk], nonzero for real encoder tokens; padding gets no weight.

    Returns [B, Lq, D].
    """
    b, lq, d = x.shape
    dh = d // n_heads

    def split(t):
        return t.reshape(t.shape[0], t.shape[1], n_heads, dh).transpose(0, 2, 1, 3)

    q, k, v = split(x @ w_q), split(enc @ w_k), split(enc @ w_v)
    scores = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(dh)  # [B, H, Lq, Lk]
    if enc_mask is not None:
        keep = (np.asarray(enc_mask) != 0)[:, None, None, :]  # [B, 1, 1, Lk]
        scores = np.where(keep, scores, -np.inf)
    row_max = scores.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(scores - row_max)
    total = e.sum(axis=-1, keepdims=True)
    weights = e / np.where(total > 0, total, 1.0)
    heads = weights @ v  # [B, H, Lq, dh]
    merged = heads.transpose(0, 2, 1, 3).reshape(b, lq, d)
    return (merged @ w_o).astype(x.dtype, copy=False)
