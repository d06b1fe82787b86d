import math

import numpy as np


def decode_step(x_t, cache_k, cache_v, w_q, w_k, w_v, w_o, n_heads):
    """One decoding step of multi-head causal self-attention with a KV cache.

    x_t: [B, 1, D], the new token. cache_k, cache_v: [B, H, T, D/H], the keys and
    values of the T earlier positions, split into heads (H = n_heads).
    w_q, w_k, w_v, w_o: [D, D], applied as x_t @ w (no biases).

    Returns (y_t [B, 1, D], cache_k [B, H, T+1, D/H], cache_v [B, H, T+1, D/H]):
    the new key and value appended on the positions axis, and the output of the new
    query attending to all T+1 positions.
    """
    b, one, d = x_t.shape
    dh = d // n_heads

    def split(t):
        return t.reshape(b, one, n_heads, dh).transpose(0, 2, 1, 3)  # [B, H, 1, dh]

    q, k, v = split(x_t @ w_q), split(x_t @ w_k), split(x_t @ w_v)
    cache_k = np.concatenate([cache_k, k.astype(cache_k.dtype, copy=False)], axis=2)
    cache_v = np.concatenate([cache_v, v.astype(cache_v.dtype, copy=False)], axis=2)
    scores = (q @ cache_k.transpose(0, 1, 3, 2)) / math.sqrt(dh)  # [B, H, 1, T+1]
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    heads = weights @ cache_v  # [B, H, 1, dh]
    y_t = heads.transpose(0, 2, 1, 3).reshape(b, one, d) @ w_o
    return y_t.astype(x_t.dtype, copy=False), cache_k, cache_v
