//! How much memory a KV cache takes: the arithmetic behind "why does long context cost
//! so much", and behind multi-query / grouped-query attention.

/// Bytes held by a KV cache: one key and one value (the 2) per layer, KV head, head
/// dimension, position and sequence in the batch.
///
/// For one token of OPT-13B in fp16: `2 × 40 layers × 40 heads × 128 × 2 bytes` = 819,200
/// bytes (800 KiB). Saturates at `u64::MAX` (16 EiB) rather than overflowing, far beyond
/// any real cache.
pub fn kv_cache_bytes(
    n_layers: u64,
    n_kv_heads: u64,
    head_dim: u64,
    seq_len: u64,
    batch: u64,
    bytes_per_value: u64,
) -> u64 {
    [
        n_layers,
        n_kv_heads,
        head_dim,
        seq_len,
        batch,
        bytes_per_value,
    ]
    .into_iter()
    .fold(2u64, u64::saturating_mul)
}
