"""Runs a PyTorch `attention` solution on the cases `gpu_check grade` wrote.

    python3 torch_grade.py SOLUTION.py WORKDIR

WORKDIR/cases.json lists the cases; each case folder holds its inputs as .npy (f32 or f64,
masks u8). f32/f64 cases are passed as numpy arrays, exactly as Lectern's shim passes them;
f16/bf16 cases as torch tensors on the GPU in that dtype (numpy has no bfloat16). The
output goes back as CASEDIR/out.npy in float32 (float64 for f64 cases), and one line
`CASE i ok|exception SECONDS [message]` per case goes to stdout.
"""
import importlib.util
import json
import os
import sys
import time
import traceback

import numpy as np


def main():
    solution, work = sys.argv[1], sys.argv[2]
    import torch

    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(f"# torch {torch.__version__} on {torch.cuda.get_device_name(0) if dev.type == 'cuda' else 'cpu'}",
          file=sys.stderr)
    spec = importlib.util.spec_from_file_location("student", solution)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    function = module.scaled_dot_product_attention
    dtypes = {"f16": torch.float16, "bf16": torch.bfloat16}
    with open(os.path.join(work, "cases.json")) as f:
        cases = json.load(f)
    for i, case in enumerate(cases):
        folder = os.path.join(work, case["dir"])
        arrays = {n: np.load(os.path.join(folder, n + ".npy")) for n in case["inputs"]}
        try:
            if case["dtype"] in dtypes:
                dt = dtypes[case["dtype"]]
                kwargs = {n: torch.from_numpy(a).to(dev, dt if a.dtype.kind == "f" else None)
                          for n, a in arrays.items()}
            else:
                kwargs = dict(arrays)
            kwargs.update(case["args"])
            function(**kwargs)  # warm-up: CUDA context, kernels' first launch
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            out = function(**kwargs)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            secs = time.perf_counter() - t
            if isinstance(out, torch.Tensor):
                if case["dtype"] in dtypes and out.dtype != dtypes[case["dtype"]]:
                    raise TypeError(f"returned {out.dtype}, expected {dtypes[case['dtype']]}")
                out = out.float().cpu().numpy()
            out = np.asarray(out)
            np.save(os.path.join(folder, "out.npy"), out.astype(np.float64 if case["dtype"] == "f64" else np.float32))
            print(f"CASE {i} ok {secs:.4f}", flush=True)
        except Exception as e:  # the verdict is the grader's: report and go on
            traceback.print_exc(limit=4)
            print(f"CASE {i} exception 0 {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", flush=True)


if __name__ == "__main__":
    main()
