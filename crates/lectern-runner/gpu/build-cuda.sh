#!/usr/bin/env bash
# Builds `lectern` (and the `gpu_check` example) with the runner's `cuda` feature on a
# machine with no GPU and no CUDA toolkit, using NVIDIA's compiler and libraries from PyPI.
#
#   bash crates/lectern-runner/gpu/build-cuda.sh          # from the repository root
#
# Result: $CARGO_TARGET_DIR/release/lectern and .../release/examples/gpu_check, both linked
# dynamically against CUDA 13 (libcuda.so.1 from the driver; libcudart.so.13,
# libcublas.so.13, libcublasLt.so.13, libcurand.so.10, libnvrtc.so.13 from the toolkit or
# from PyTorch's `nvidia-*` wheels on the GPU machine; see gpu/README.md).
#
# Why CUDA 13.0 and not 12.x: candle compiles its kernels to PTX at build time and the
# driver JIT-compiles that PTX when the program starts; a driver only accepts PTX from a
# toolkit no newer than itself. The GPU machines this project borrows run driver 580
# (CUDA 13.0) and PyTorch cu130, whose wheels carry the *.so.13 libraries, so nvcc 13.0
# gives PTX ISA 9.0 that the driver takes, and the binary finds its libraries there.
# Override the pins below (LECTERN_CUDA_PINS) for another driver.
#
# Environment (all optional):
#   LECTERN_CUDA_VENV   where the NVIDIA wheels go          (default /work/cuda-venv)
#   CARGO_TARGET_DIR    where cargo builds                  (default /work/cuda-target)
#   CUDA_COMPUTE_CAP    GPU architecture, no GPU needed     (default 90: H100/H200, sm_90a)
#   LECTERN_CUDA_PINS   pip requirements for the toolkit    (default: CUDA 13.0 below)
#   LECTERN_NICE        prefix for the heavy commands       (default "nice -n 19")
set -euo pipefail

root=$(git rev-parse --show-toplevel 2>/dev/null || pwd)
cd "$root"
venv=${LECTERN_CUDA_VENV:-/work/cuda-venv}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/cuda-target}
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
nice_cmd=${LECTERN_NICE-nice -n 19}
pins=${LECTERN_CUDA_PINS:-"nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
nvidia-cuda-runtime==13.0.88 nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-cccl==13.0.85 \
nvidia-cublas==13.0.2.14 nvidia-curand==10.4.0.35"}

start=$(date +%s)
say() { printf '[build-cuda %4ss] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# 1. The toolkit from PyPI: nvcc, cicc/ptxas, headers (CCCL for thrust), and the shared
#    libraries to link against. CUDA 13's wheels all unpack into one tree, nvidia/cu13/,
#    laid out like a toolkit (bin/ include/ lib/ nvvm/).
if [ ! -x "$venv/bin/python" ]; then
    say "making $venv"
    python3 -m venv "$venv"
fi
say "pip install $pins"
# shellcheck disable=SC2086 # the pins are a list of words
$nice_cmd "$venv/bin/python" -m pip install -q --disable-pip-version-check $pins
cuda=$("$venv/bin/python" - <<'PY'
import os, nvidia
for p in nvidia.__path__:
    for sub in ("cu13", "cu12", "cuda_nvcc"):
        if os.path.exists(os.path.join(p, sub, "bin", "nvcc")):
            print(os.path.join(p, sub)); raise SystemExit
raise SystemExit("no nvcc in the nvidia-* wheels")
PY
)
say "CUDA root: $cuda ($("$cuda/bin/nvcc" --version | grep -o 'release [0-9.]*'))"

# 2. What the wheels lack for *linking* (never shipped at run time):
#    - unversioned names (libcublas.so -> libcublas.so.13): `-lcublas` looks for them;
#    - libcuda.so, the driver's library: only a driver install has it, so we link against
#      a stub with the same soname (libcuda.so.1) that defines every cu* function cudarc
#      declares; at run time the real driver's libcuda.so.1 is loaded instead.
mkdir -p "$cuda/lib/stubs"
for lib in cudart cublas cublasLt curand nvrtc; do
    real=$(cd "$cuda/lib" && ls "lib$lib.so."* 2>/dev/null | grep -E "^lib$lib\.so\.[0-9]+$" | head -1)
    [ -n "$real" ] || { echo "lib$lib.so.N missing from $cuda/lib" >&2; exit 1; }
    ln -sfn "$real" "$cuda/lib/lib$lib.so"
done
cargo fetch --locked -q
cudarc_version=$(awk '/^name = "cudarc"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)
cudarc_src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"cudarc-$cudarc_version" | head -1)
#    Each stub function returns CUDA_ERROR_NO_DEVICE (100), so that on a machine with no
#    driver at all the binaries can still be *run* for CPU work by putting lib/stubs
#    (which also gets a libcuda.so.1 name) on LD_LIBRARY_PATH: `--device cuda` then
#    fails with "no CUDA-capable device", `--device cpu` works. Never do that on a GPU
#    machine: it would hide the real driver.
say "libcuda.so stub from $cudarc_src/src/driver/sys/mod.rs"
grep -oE 'pub unsafe fn cu[A-Za-z0-9_]+' "$cudarc_src/src/driver/sys/mod.rs" \
    | awk '{print "int " $4 "(void) { return 100; }"}' | sort -u >"$cuda/lib/stubs/libcuda_stub.c"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cuda/lib/stubs/libcuda.so" \
    "$cuda/lib/stubs/libcuda_stub.c"
ln -sfn libcuda.so "$cuda/lib/stubs/libcuda.so.1"

# 3. What candle-kernels (through cudaforge) and cudarc look for: nvcc on PATH (cudarc runs
#    `nvcc --version` to pick its CUDA 13.0 bindings), CUDA_HOME for headers and link
#    paths, CUDA_COMPUTE_CAP because there is no nvidia-smi to ask.
export PATH="$cuda/bin:$PATH" NVCC="$cuda/bin/nvcc"
export CUDA_HOME="$cuda" CUDA_PATH="$cuda" CUDA_ROOT="$cuda"
export LIBRARY_PATH="$cuda/lib:$cuda/lib/stubs${LIBRARY_PATH:+:$LIBRARY_PATH}"
say "cargo build --release (target dir $CARGO_TARGET_DIR, CUDA_COMPUTE_CAP=$CUDA_COMPUTE_CAP)"
$nice_cmd cargo build --release --locked -p lectern -p lectern-runner \
    --features cuda --bin lectern --example gpu_check
say "built:"
ls -l "$CARGO_TARGET_DIR/release/lectern" "$CARGO_TARGET_DIR/release/examples/gpu_check"
echo "dynamic dependencies of lectern:"
ldd "$CARGO_TARGET_DIR/release/lectern" | grep -E 'cuda|cublas|curand|nvrtc|stdc\+\+|not found' || true
