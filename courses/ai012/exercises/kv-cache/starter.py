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
    raise NotImplementedError("decode_step: write your solution here")
