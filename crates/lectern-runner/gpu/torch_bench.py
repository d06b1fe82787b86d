"""Times PyTorch's scaled_dot_product_attention on the inputs `gpu_check bench --save DIR`
wrote (q, k, v as float32 .npy holding bf16 values; candle's output in out.npy), in the
same dtype, and prints `ROW|...` lines for check.sh's table.

    python3 torch_bench.py DIR [--dtype bf16] [--iters 20]
"""
import argparse
import os

import numpy as np

PEAK_TFLOPS = 989.0  # H200 / H100 SXM, dense bf16, vendor datasheet


def row(*cells):
    print("ROW|" + "|".join(str(c) for c in cells), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--dtype", default="bf16")
    p.add_argument("--iters", type=int, default=20)
    a = p.parse_args()
    import torch
    import torch.nn.functional as F

    if not torch.cuda.is_available():
        row("attention timing", "torch", a.dtype, "SKIPPED", "torch sees no GPU")
        return
    dt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[a.dtype]
    load = lambda n: torch.from_numpy(np.load(os.path.join(a.dir, n + ".npy"))).cuda().to(dt)
    q, k, v = load("q"), load("k"), load("v")
    candle_out = torch.from_numpy(np.load(os.path.join(a.dir, "out.npy"))).cuda().float()
    candle_ms = float(open(os.path.join(a.dir, "candle_ms.txt")).read())
    *batch, L, d = q.shape
    flops = 4.0 * float(np.prod(batch)) * L * k.shape[-2] * d
    shape = list(q.shape)

    def timed(fn):
        for _ in range(3):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(a.iters):
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn()
            e.record()
            torch.cuda.synchronize()
            times.append(s.elapsed_time(e))
        times.sort()
        return times[len(times) // 2]

    def naive():
        w = torch.softmax((q @ k.transpose(-1, -2)) * (d ** -0.5), dim=-1)
        return w @ v

    out = F.scaled_dot_product_attention(q, k, v)
    diff = (out.float() - candle_out).abs().max().item()
    rows = [("torch sdpa " + str(shape), lambda: F.scaled_dot_product_attention(q, k, v)),
            ("torch eager matmul-softmax-matmul " + str(shape), naive)]
    for name, fn in rows:
        ms = timed(fn)
        tf = flops / (ms * 1e-3) / 1e12
        row("attention timing", name, a.dtype, f"{ms:.3f} ms",
            f"{tf:.1f} TFLOP/s ({100 * tf / PEAK_TFLOPS:.1f}% of {PEAK_TFLOPS:.0f} peak); candle/this = {candle_ms / ms:.1f}x")
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION]):
            F.scaled_dot_product_attention(q, k, v)
        backend = "flash backend available"
    except Exception as e:  # older torch or no flash kernel for this shape
        backend = f"flash backend not usable: {type(e).__name__}"
    row("attention timing", "torch sdpa vs candle output", a.dtype, f"max abs Δ {diff:.1e}",
        f"same inputs; {backend}; torch {torch.__version__}")


if __name__ == "__main__":
    main()
