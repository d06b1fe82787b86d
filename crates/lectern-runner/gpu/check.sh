#!/usr/bin/env bash
# The runner's GPU check, in one go, on a machine with an NVIDIA GPU:
#
#   bash crates/lectern-runner/gpu/check.sh          # from the repository root
#
#  1. every reference op on CUDA against the same op in float64 on the CPU, per dtype
#     (f32, f16, bf16): max |Δ| relative to the output's scale, and how many elements fall
#     outside the harness's default tolerance (the same on the CPU, for comparison);
#  2. a PyTorch `attention` solution (gpu/attention_torch.py) graded on the GPU: through
#     `lectern test --device cuda --no-sandbox` (the exercise's visible cases, as a student
#     would), and by `gpu_check grade` on every case of the exercise plus large bf16/f16
#     ones, against the candle reference on CUDA and against float64 truth;
#  3. a timing table: the candle reference attention at [8, 4096, 128] bf16 against
#     PyTorch's scaled_dot_product_attention (and eager matmul-softmax-matmul) on the same
#     inputs, with TFLOP/s against the H200's ~989 dense bf16 TFLOP/s.
#
# It prints one table at the end (and keeps the full log in $LECTERN_GPU_LOG, default
# /tmp/lectern-gpu-check.log). Budget: well under 10 minutes on an H200 with 16 cores;
# each step has its own timeout so one hang cannot eat the rest.
#
# The binaries (`lectern` and the `gpu_check` example, built with the `cuda` feature by
# gpu/build-cuda.sh) are taken, first found, from:
#   $LECTERN_GPU_BIN (a folder)  |  .gpu-bin/ in the repository root (carried along; a
#   .xz of each is unpacked)  |  ${CARGO_TARGET_DIR:-/work/cuda-target}/release
# and else built with build-cuda.sh when cargo and nvcc are there (needs crates.io).
# PyTorch: $LECTERN_TORCH_PYTHON, else the first python3 that imports torch; without one
# the torch parts are skipped and say so.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root" || exit 2
gpu=crates/lectern-runner/gpu
log=${LECTERN_GPU_LOG:-/tmp/lectern-gpu-check.log}
rows=$(mktemp)
work=$(mktemp -d /tmp/lectern-gpu.XXXXXX)
: >"$log"
started=$(date +%s)
say() { printf '[check %4ss] %s\n' "$(( $(date +%s) - started ))" "$*" | tee -a "$log" >&2; }
row() { local IFS='|'; echo "ROW|$*" >>"$rows"; }

# --- the binaries --------------------------------------------------------------------
find_bins() {
    local d
    for d in "${LECTERN_GPU_BIN:-}" "$root/.gpu-bin" "${CARGO_TARGET_DIR:-/work/cuda-target}/release"; do
        [ -n "$d" ] && [ -d "$d" ] || continue
        for b in lectern gpu_check; do
            if [ ! -x "$d/$b" ] && [ ! -x "$d/examples/$b" ] && [ -f "$d/$b.xz" ]; then
                mkdir -p "$work/bin" && xz -dc "$d/$b.xz" >"$work/bin/$b" && chmod +x "$work/bin/$b"
            fi
        done
        for cand in "$d" "$work/bin"; do
            local l="" g=""
            [ -x "$cand/lectern" ] && l="$cand/lectern"
            [ -x "$cand/gpu_check" ] && g="$cand/gpu_check"
            [ -x "$cand/examples/gpu_check" ] && g="$cand/examples/gpu_check"
            if [ -n "$l" ] && [ -n "$g" ]; then
                LECTERN="$l"; GPU_CHECK="$g"; return 0
            fi
        done
    done
    return 1
}
if ! find_bins; then
    if command -v cargo >/dev/null && command -v nvcc >/dev/null; then
        say "no prebuilt binaries: building with $gpu/build-cuda.sh"
        cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d .)
        CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-${cap:-90}} LECTERN_NICE="" timeout 540 bash "$gpu/build-cuda.sh" >>"$log" 2>&1
        find_bins || { say "the build failed: see $log"; tail -20 "$log" >&2; exit 1; }
    else
        say "no lectern/gpu_check built with --features cuda: set LECTERN_GPU_BIN to the folder"
        say "that holds them, or copy them to .gpu-bin/ (see $gpu/README.md)"
        exit 1
    fi
fi
say "lectern:   $LECTERN"
say "gpu_check: $GPU_CHECK"

# --- CUDA's libraries (the binaries link libcudart/libcublas/libcublasLt/libnvrtc 13 and
#     libcurand 10 dynamically; PyTorch's nvidia-* wheels or a toolkit provide them) -----
PY=${LECTERN_TORCH_PYTHON:-}
if [ -z "$PY" ]; then
    for p in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null && "$p" -c 'import torch' 2>/dev/null; then PY=$(command -v "$p"); break; fi
    done
fi
libdirs=""
add_libdir() { [ -d "$1" ] && case ":$libdirs:" in *":$1:"*) ;; *) libdirs="$libdirs:$1" ;; esac; }
for p in "$PY" python3; do
    [ -n "$p" ] || continue
    while read -r d; do add_libdir "$d"; done < <("$p" - 2>/dev/null <<'PYEOF'
import os
try:
    import nvidia
except Exception:
    raise SystemExit
for base in nvidia.__path__:
    for sub in sorted(os.listdir(base)):
        lib = os.path.join(base, sub, "lib")
        if os.path.isdir(lib):
            print(lib)
PYEOF
)
done
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu; do add_libdir "$d"; done
export LD_LIBRARY_PATH="${libdirs#:}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
missing=$(ldd "$LECTERN" "$GPU_CHECK" 2>&1 | grep 'not found' | awk '{print $1}' | sort -u | tr '\n' ' ')
if [ -n "$missing" ]; then
    say "the binaries cannot find: $missing (LD_LIBRARY_PATH=$LD_LIBRARY_PATH)"
    row "setup" "CUDA libraries" "-" "MISSING" "$missing"
fi
gpu_name=$(nvidia-smi --query-gpu=name,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1)
say "GPU: ${gpu_name:-nvidia-smi gave nothing}"
row "setup" "GPU" "-" "${gpu_name:-none}" "$(uname -m); $(nproc) cores"
if [ -n "$PY" ]; then
    tv=$("$PY" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "gpu" if torch.cuda.is_available() else "NO GPU")' 2>&1 | tail -1)
    row "setup" "PyTorch" "-" "$tv" "$PY"
else
    row "setup" "PyTorch" "-" "SKIPPED" "no python3 here imports torch: the torch parts are skipped (set LECTERN_TORCH_PYTHON)"
fi

# step NAME SECONDS CMD...: runs CMD with a timeout, its output to the log, ROW lines kept.
step() {
    local name=$1 secs=$2; shift 2
    say "$name"
    local out="$work/step.out" err="$work/step.err"
    timeout --kill-after=10 "$secs" "$@" >"$out" 2>"$err"
    local rc=$?
    grep '^ROW|' "$out" >>"$rows"
    grep -v '^ROW|' "$out" >>"$log"
    cat "$err" >>"$log"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        row "$name" "(step)" "-" "TIMEOUT" "stopped after ${secs} s"
    elif [ $rc -ne 0 ] && ! grep -q '^ROW|' "$out"; then
        row "$name" "(step)" "-" "ERROR" "exit $rc: $(grep -v '^ *$' "$err" | grep -v '^ *[0-9]*: \|^ *at ' | tail -1 | cut -c1-200)"
    fi
    return $rc
}

# --- 1. every op on CUDA and on the CPU against f64 truth -----------------------------
step "ops on cuda" 180 "$GPU_CHECK" ops --device cuda --dtypes f32,f16,bf16
step "ops on cpu" 120 "$GPU_CHECK" ops --device cpu --dtypes f32,f16,bf16

# --- 2. a PyTorch attention solution graded on the GPU --------------------------------
if [ -n "$PY" ]; then
    # lectern test makes its Python environment with pip on first use; there is no
    # network here, so point the cached environment for the course's requirements at the
    # Python that has torch and numpy.
    cache="$work/lectern-cache"
    name=$("$GPU_CHECK" venv-name --course courses/ai012 2>>"$log")
    if [ -n "$name" ] && "$PY" -m venv --without-pip "$cache/$name" >>"$log" 2>&1; then
        site=$("$cache/$name/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
        "$PY" -c 'import site; print("\n".join(site.getsitepackages()))' >"$site/lectern-gpu-torch.pth"
        echo "numpy>=1.26" >"$cache/$name/.lectern-ready"
    fi
    for dev in cuda auto; do
        say "lectern test attention (torch solution) --device $dev --no-sandbox"
        out=$(LECTERN_CACHE_DIR="$cache" timeout 180 "$LECTERN" test courses/ai012 attention "$gpu/attention_torch.py" \
            --device "$dev" --no-sandbox --time-limit 120 2>&1)
        rc=$?
        echo "$out" >>"$log"
        last=$(echo "$out" | grep -E 'visible cases pass|^error' | tail -1)
        fails=$(echo "$out" | grep -E '^(FAIL|.*FAIL)' | head -2 | cut -c1-160 | tr '\n' ' ')
        row "lectern test --device $dev --no-sandbox" "attention_torch.py (visible cases)" "f32" \
            "$([ $rc -eq 0 ] && echo PASS || echo "FAIL (exit $rc)")" "${last:-$(echo "$out" | tail -1 | cut -c1-200)} ${fails}"
    done
    step "torch graded" 300 "$GPU_CHECK" grade --device cuda --solution "$gpu/attention_torch.py" \
        --python "$PY" --driver "$gpu/torch_grade.py" --course courses/ai012 --big
else
    row "torch graded" "attention_torch.py" "-" "SKIPPED" "no PyTorch"
fi

# --- 3. timing: candle reference attention vs PyTorch sdpa ----------------------------
step "candle attention timing" 120 "$GPU_CHECK" bench --device cuda --shape 8,4096,128 --dtype bf16 --iters 20 --save "$work/bench"
if [ -n "$PY" ] && [ -f "$work/bench/q.npy" ]; then
    step "torch attention timing" 120 "$PY" "$gpu/torch_bench.py" "$work/bench" --dtype bf16 --iters 20
fi

# --- the table ------------------------------------------------------------------------
say "done; full log: $log"
echo
echo "| section | item | dtype | result | detail |"
echo "|---|---|---|---|---|"
sed 's/^ROW|//; s/|/ | /g; s/^/| /; s/$/ |/' "$rows"
echo
echo "Total: $(( $(date +%s) - started )) s"
rm -rf "$work" "$rows"
