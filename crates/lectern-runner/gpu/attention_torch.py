"""A PyTorch solution of the ai012 `attention` exercise (courses/ai012/exercises/attention).

The same contract as the numpy solution: softmax(q kᵀ / √d) v over the last two axes,
`mask` nonzero where a query may attend, `causal` top-left aligned, a query row with every
key masked gives zeros, stable for scores near 1e4, the result in q's dtype.

It takes numpy arrays (what Lectern's shim passes today) or torch tensors (what a bf16/f16
case would need: numpy has no bfloat16). Numpy in, numpy out, computed on the GPU when
there is one; torch in, torch out, on the tensors' own device and dtype.
"""
import math

import numpy as np
import torch


def _device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _attention(q, k, v, mask, causal):
    d = q.shape[-1]
    scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(d))
    lq, lk = scores.shape[-2], scores.shape[-1]
    keep = None
    if mask is not None:
        keep = torch.broadcast_to(mask != 0, scores.shape)
    if causal:
        tril = torch.ones(lq, lk, dtype=torch.bool, device=scores.device).tril()
        keep = tril if keep is None else keep & tril
    if keep is None:
        return torch.matmul(torch.softmax(scores, dim=-1), v)
    masked = scores.masked_fill(~keep, float("-inf"))
    # Each row's largest attended score; a fully masked row has max -inf, replaced by 0
    # so that its exps are all 0 (not NaN) and its output row is zeros.
    row_max = masked.amax(dim=-1, keepdim=True)
    row_max = torch.where(torch.isfinite(row_max), row_max, torch.zeros_like(row_max))
    e = torch.exp(masked - row_max)
    total = e.sum(dim=-1, keepdim=True)
    weights = e / torch.where(total > 0, total, torch.ones_like(total))
    return torch.matmul(weights, v)


def scaled_dot_product_attention(q, k, v, mask=None, causal=False):
    if isinstance(q, torch.Tensor):
        m = None if mask is None else torch.as_tensor(mask, device=q.device)
        return _attention(q, k, v, m, bool(causal)).to(q.dtype)
    dev = _device()
    dtype = np.asarray(q).dtype
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(dev)
    m = None if mask is None else t(np.asarray(mask))
    out = _attention(t(q), t(k), t(v), m, bool(causal))
    return out.cpu().numpy().astype(dtype, copy=False)
