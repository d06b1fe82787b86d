import numpy as np


def kv_cache_bytes(n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_value=2):
    """Bytes held by a KV cache.

    n_layers: transformer layers; n_kv_heads: key/value heads per layer (fewer than the
    query heads under GQA, 1 under MQA); head_dim: width of one head; seq_len: tokens
    cached; batch: sequences; bytes_per_value: 2 for fp16/bf16, 4 for fp32, 1 for int8.

    Returns an int.
    """
    # One key and one value (the 2) per layer, KV head, head dimension, token, sequence.
    return 2 * int(n_layers) * int(n_kv_heads) * int(head_dim) * int(seq_len) * int(batch) * int(bytes_per_value)
