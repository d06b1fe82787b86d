import numpy as np


def scaled_dot_product_attention(q, k, v, mask=None):
    """q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv]; mask broadcastable to [..., Lq, Lk], True = attend."""
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(d)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    scores = scores - scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights = weights / weights.sum(axis=-1, keepdims=True)
    return weights @ v
