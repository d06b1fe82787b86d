import numpy as np


def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    """softmax(q @ k^T / sqrt(d)) @ v over the last two axes.

    q: [..., Lq, d]; k: [..., Lk, d]; v: [..., Lk, dv] (same leading axes).
    mask: None, or 0/1 flags broadcastable to [..., Lq, Lk]; nonzero = may attend.
    causal: if True, query i attends only to keys j <= i (combined with mask).

    Returns [..., Lq, dv]. A query row with every key masked returns zeros.
    """
    raise NotImplementedError("scaled_dot_product_attention: write your solution here")
