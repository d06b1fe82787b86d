"""Compare the three Transformer families: attention masks and KV-cache memory.

Standard library only; deterministic; runs instantly.
"""

ENC_TOKENS = ["The", "cat", "sat", "on", "the", "mat"]  # encoder / single-stack input
DEC_TOKENS = ["<s>", "Le", "chat", "est"]               # decoder-side tokens (T5 target)

GIB = 1024 ** 3
KIB = 1024


def full_mask(rows, cols):
    """Every query position may attend to every key position."""
    return [[1] * cols for _ in range(rows)]


def causal_mask(n):
    """Position i may attend only to positions 0..i (lower triangle)."""
    return [[1 if j <= i else 0 for j in range(n)] for i in range(n)]


def print_mask(title, mask, row_labels, col_labels):
    """Print a mask as a grid: '1' = may attend, '·' = masked out."""
    width = max(len(s) for s in row_labels) + 3  # room for "i:" prefix
    print(f"{title}  ({len(mask)} x {len(mask[0])})")
    print(" " * (width + 3) + " ".join(str(j) for j in range(len(col_labels)))
          + "   keys: " + " ".join(f"{j}:{s}" for j, s in enumerate(col_labels)))
    for i, (label, row) in enumerate(zip(row_labels, mask)):
        cells = " ".join("1" if v else "·" for v in row)
        print(f"  {f'{i}:{label}':>{width}} {cells}")
    print()


def kv_cache_bytes(n_layers, n_kv_heads, head_dim, seq_len, batch=1, bytes_per_value=2):
    """2 (K and V) x layers x KV heads x head_dim x tokens x batch x bytes per value."""
    return 2 * n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_value


def show_masks():
    n, m = len(ENC_TOKENS), len(DEC_TOKENS)
    print("=== Attention masks (rows = queries, columns = keys) ===\n")
    print_mask("[1] Encoder-only (BERT): bidirectional self-attention",
               full_mask(n, n), ENC_TOKENS, ENC_TOKENS)
    print_mask("[2] Decoder-only (GPT): causal self-attention",
               causal_mask(n), ENC_TOKENS, ENC_TOKENS)
    print("[3] Encoder-decoder (T5): three attention blocks\n")
    print_mask("  3a encoder self-attention (full)",
               full_mask(n, n), ENC_TOKENS, ENC_TOKENS)
    print_mask("  3b decoder self-attention (causal)",
               causal_mask(m), DEC_TOKENS, DEC_TOKENS)
    print_mask("  3c decoder -> encoder cross-attention (full)",
               full_mask(m, n), DEC_TOKENS, ENC_TOKENS)


def show_kv_cache():
    # Llama-3-8B-like: 32 layers, grouped-query attention with 8 KV heads of dim 128, fp16.
    cfg = dict(n_layers=32, n_kv_heads=8, head_dim=128, bytes_per_value=2)
    per_token = kv_cache_bytes(seq_len=1, **cfg)
    print("=== KV cache, Llama-3-8B-like (32 layers, 8 KV heads x 128, fp16, batch 1) ===")
    print(f"per token: 2 x 32 x 8 x 128 x 2 B = {per_token:,} B = {per_token / KIB:.0f} KiB\n")
    print(f"{'context':>8} {'tokens':>9} {'bytes':>16} {'GiB':>8}")
    sizes = {}
    for name, tokens in [("8k", 8_192), ("100k", 100_000)]:
        size = kv_cache_bytes(seq_len=tokens, **cfg)
        sizes[name] = size
        print(f"{name:>8} {tokens:>9,} {size:>16,} {size / GIB:>8.2f}")
    ratio = sizes["100k"] / sizes["8k"]
    print(f"\nratio 100k / 8k = {ratio:.2f}x  (linear in sequence length)")

    # Sanity check against a widely quoted figure: OPT-13B, 40 layers,
    # 40 heads x 128 = 5120 hidden, no GQA, fp16 -> 800 KiB per token.
    opt = kv_cache_bytes(n_layers=40, n_kv_heads=40, head_dim=128, seq_len=1)
    print(f"check: OPT-13B per token = 2 x 40 x 5120 x 2 B = {opt:,} B = {opt / KIB:.0f} KiB")


def main():
    show_masks()
    show_kv_cache()


if __name__ == "__main__":
    main()
