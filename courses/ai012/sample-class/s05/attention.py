import math

import numpy as np


def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    """softmax(q @ k^T / sqrt(d)) @ v over the last two axes.

    q: [..., Lq, d]; k: [..., Lk, d]; v: [..., Lk, dv] (same leading axes).
    mask: None, or 0/1 flags broadcastable to [..., Lq, Lk]; nonzero = may attend.
    causal: if True, query i attends only to keys j <= i (combined with mask).

    Returns [..., Lq, dv]. A query row with every key masked returns zeros.
    """
    d = q.shape[-1]
    scores = (q @ np.swapaxes(k, -1, -2)) / math.sqrt(d)
    keep = np.ones(scores.shape, dtype=bool)
    if mask is not None:
        keep &= np.broadcast_to(np.asarray(mask) != 0, scores.shape)
    if causal:
        lq, lk = scores.shape[-2:]
        keep &= np.tril(np.ones((lq, lk), dtype=bool))
    masked = np.where(keep, scores, -np.inf)
    # Subtract each row's largest attended score; a fully masked row has max -inf,
    # replaced by 0 so that its exps are all 0 instead of NaN.
    row_max = masked.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.exp(masked - row_max)
    total = e.sum(axis=-1, keepdims=True)
    weights = e / np.where(total > 0, total, 1.0)
    return (weights @ v).astype(q.dtype, copy=False)
