import numpy as np


def scaled_dot_product_attention(q, k, v, mask=None):
    """q [..., Lq, d], k [..., Lk, d], v [..., Lk, dv]; mask broadcastable to [..., Lq, Lk], True = attend."""
    raise NotImplementedError("write scaled dot-product attention here")
