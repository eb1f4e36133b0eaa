#!/usr/bin/env bash
# Real-size check on a GPU (issue #18): randomly initialised models of
# Qwen2.5-0.5B's and 1.5B's shapes saved in bf16, then on cuda:0
#   1. one rollout batch (32 rows x 128 new tokens, EOS off): tokens/s of
#      metaalign (candle) against transformers' `generate`, bf16 weights;
#   2. one LoRA RL step (8 prompts x 4 samples, 128 new tokens, rank 16,
#      all-linear): metaalign's GRPO trainer against PyTorch + PEFT.
# Both sides read the same checkpoint folder. Needs no Rust toolchain there:
#
#   CARRY=.gpucarry BUDGET_S=500 bash scripts/gpu_lora_check.sh
#
# $CARRY/bin.tar.xz holds `bench_memory` built here with
#   cargo build --release --features cuda -p metaalign-rl --example bench_memory
# (docs/cuda.md); $CARRY/wheels/ may hold peft and accelerate wheels for a
# python3 with torch and transformers but no peft. Results: $OUT/gpu_lora.log.
# Steps run most important first and are skipped once BUDGET_S is spent.
set -u
OUT=${OUT:-/tmp/gpu_lora_out}
CARRY=${CARRY:-.gpucarry}
BUDGET_S=${BUDGET_S:-500}
SHAPES=${SHAPES:-"0.5b 1.5b"}
W=${W:-/tmp/gpu_lora_work}
mkdir -p "$OUT" "$W/bin"
exec > >(tee "$OUT/gpu_lora.log") 2>&1

left() { echo $((BUDGET_S - SECONDS)); }
step() { # step NAME MAX_SECONDS CMD...: CMD under timeout min(MAX, left - 5)
    local name=$1 max=$2
    shift 2
    local l=$(($(left) - 5))
    if [ "$l" -lt 10 ]; then
        echo "== SKIP $name (budget spent)"
        return 99
    fi
    [ "$max" -gt "$l" ] && max=$l
    echo "== $name (limit ${max}s, t=${SECONDS}s)"
    local t0=$SECONDS
    timeout "$max" "$@"
    local rc=$?
    echo "== $name: rc=$rc in $((SECONDS - t0))s"
    return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
tar -xJf "$CARRY/bin.tar.xz" -C "$W/bin" || { echo "cannot unpack $CARRY/bin.tar.xz"; exit 2; }
B=$W/bin/bench_memory
python3 -c 'import peft' 2>/dev/null || {
    ls "$CARRY"/wheels/*.whl >/dev/null 2>&1 &&
        python3 -m pip install -q --no-deps --no-index "$CARRY"/wheels/*.whl
}
python3 -c 'import torch, transformers, peft; print("torch", torch.__version__, "transformers", transformers.__version__, "peft", peft.__version__)'

# The CUDA libraries `bench_memory` links to: libcuda from the driver, the rest
# from torch's nvidia wheels (as scripts/gpu_check.sh).
LIBDIRS=$(python3 -c '
import glob, os, site
dirs = set()
for sp in site.getsitepackages():
    for f in glob.glob(os.path.join(sp, "nvidia", "**", "lib*.so*"), recursive=True):
        if os.path.basename(f).split(".so")[0] in ("libcublas", "libcublasLt", "libcurand", "libnvrtc", "libcudart"):
            dirs.add(os.path.dirname(f))
print(":".join(sorted(dirs)))')
export LD_LIBRARY_PATH=$LIBDIRS:/usr/local/nvidia/lib64:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
ldd "$B" | grep -E 'not found' && echo "WARNING: unresolved libraries"

T=scripts/lora_step_bench.py
for shape in $SHAPES; do
    M=$W/qwen2.5-$shape
    step "init $shape (bf16)" 120 "$B" init "qwen2.5-$shape" "$M" bf16 || continue
    step "rollout $shape metaalign" 90 "$B" rollout "$M" --rows 32 --prompt-tokens 120 \
        --new-tokens 128 --device cuda:0
    PYTHONUNBUFFERED=1 step "rollout $shape transformers" 90 python3 "$T" rollout "$M" --rows 32 \
        --prompt-tokens 120 --new-tokens 128 --dtype bf16 --device cuda:0 2>&1 | grep -v -i warn
    step "lora step $shape metaalign" 150 "$B" step "$M" --prompts 8 --samples 4 \
        --new-tokens 128 --micro 8 --lora-r 16 --device cuda:0
    PYTHONUNBUFFERED=1 step "lora step $shape peft" 150 python3 "$T" step "$M" --prompts 8 \
        --samples 4 --new-tokens 128 --micro 8 --lora-r 16 --prompt-tokens 120 --dtype bf16 \
        --device cuda:0 2>&1 | grep -v -i warn
    rm -rf "$M"
done
echo "== done at t=${SECONDS}s"
