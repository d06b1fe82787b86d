import numpy as np


def causal_self_attention(x, w_q, w_k, w_v, w_o, n_heads):
    """GPT-style multi-head causal self-attention.

    x: [B, L, D]; w_q, w_k, w_v, w_o: [D, D], applied as x @ w (no biases).
    n_heads: H, divides D; heads are split from the last axis,
    [B, L, D] -> [B, L, H, D/H] -> [B, H, L, D/H].
    Position t attends to positions 0..t only; scores are scaled by 1/sqrt(D/H).

    Returns [B, L, D]: the merged heads multiplied by w_o.
    """
    raise NotImplementedError("causal_self_attention: write your solution here")
