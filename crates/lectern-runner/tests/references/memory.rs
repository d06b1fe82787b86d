//! `kv_cache_bytes` against published per-token figures.

use lectern_runner::reference::kv_cache_bytes;

const KIB: u64 = 1024;

#[test]
fn opt_13b_holds_800_kib_per_token_in_fp16() {
    // OPT-13B: 40 layers, 40 heads × 128 = 5120 hidden, no grouped KV (vLLM paper, §3:
    // "2 × 5120 hidden × 40 layers × 2 bytes = 800 KB" per token).
    let per_token = kv_cache_bytes(40, 40, 128, 1, 1, 2);
    assert_eq!(per_token, 819_200);
    assert_eq!(per_token, 800 * KIB);
    assert_eq!(per_token, 2 * 40 * 5120 * 2);
}

#[test]
fn a_llama_3_8b_like_config_holds_128_kib_per_token() {
    // 32 layers, 8 KV heads (grouped-query attention) × 128, fp16.
    let per_token = kv_cache_bytes(32, 8, 128, 1, 1, 2);
    assert_eq!(per_token, 128 * KIB);
    // The same model without GQA (32 KV heads) would need 4× as much.
    assert_eq!(kv_cache_bytes(32, 32, 128, 1, 1, 2), 4 * per_token);
    // 8k tokens of context for a batch of 4: 4 GiB.
    assert_eq!(
        kv_cache_bytes(32, 8, 128, 8192, 4, 2),
        4 * 1024 * 1024 * KIB
    );
}

#[test]
fn every_factor_counts_once() {
    let base = kv_cache_bytes(2, 3, 5, 7, 11, 13);
    assert_eq!(base, 2 * 2 * 3 * 5 * 7 * 11 * 13);
    let args = [2u64, 3, 5, 7, 11, 13];
    for i in 0..args.len() {
        let mut doubled = args;
        doubled[i] *= 2;
        let [a, b, c, d, e, f] = doubled;
        assert_eq!(kv_cache_bytes(a, b, c, d, e, f), 2 * base, "factor {i}");
    }
    assert_eq!(
        kv_cache_bytes(u64::MAX, 2, 1, 1, 1, 1),
        u64::MAX,
        "saturates"
    );
}
