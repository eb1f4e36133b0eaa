#!/usr/bin/env bash
# One-shot GPU check of the `cuda` build (docs/cuda.md). Runs from the repo root on a
# machine with an NVIDIA GPU, driver and python3 with torch (whose nvidia/* wheels
# provide libcublas / libcurand / libnvrtc); needs no Rust toolchain there.
#
#   CARRY=.gpucarry BUDGET_S=120 bash scripts/gpu_check.sh
#
# $CARRY/bin.tar.xz holds the stripped release binaries `metaalign` and
# `bench_policy`, built here with `--features cuda` (see docs/cuda.md).
# Results go to $OUT (gpu_check.log plus the raw outputs).
# Steps run most important first and are skipped once BUDGET_S seconds are spent.
set -u
OUT=${OUT:-/tmp/gpu_check_out}
CARRY=${CARRY:-.gpucarry}
BUDGET_S=${BUDGET_S:-120}
W=${W:-/tmp/gpu_check_work}
mkdir -p "$OUT" "$W/bin"
exec > >(tee "$OUT/gpu_check.log") 2>&1

left() { echo $((BUDGET_S - SECONDS)); }
step() { # step NAME MAX_SECONDS CMD... : runs CMD under timeout min(MAX, left-5)
    local name=$1 max=$2
    shift 2
    local l
    l=$(($(left) - 5))
    if [ "$l" -lt 8 ]; then
        echo "== SKIP $name (budget spent)" >&2
        return 99
    fi
    [ "$max" -gt "$l" ] && max=$l
    echo "== $name (limit ${max}s, t=${SECONDS}s)" >&2
    local t0=$SECONDS
    timeout "$max" "$@"
    local rc=$?
    echo "== $name: rc=$rc in $((SECONDS - t0))s" >&2
    return $rc
}

nvidia-smi
nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv
tar -xJf "$CARRY/bin.tar.xz" -C "$W/bin" || { echo "cannot unpack $CARRY/bin.tar.xz"; exit 2; }
M=$W/bin/metaalign
B=$W/bin/bench_policy

# CUDA libraries the binaries link to: libcuda from the driver, the rest from torch's wheels.
LIBDIRS=$(python3 -c '
import glob, os, site
dirs = set()
for sp in site.getsitepackages():
    for f in glob.glob(os.path.join(sp, "nvidia", "**", "lib*.so*"), recursive=True):
        if os.path.basename(f).split(".so")[0] in ("libcublas", "libcublasLt", "libcurand", "libnvrtc", "libcudart"):
            dirs.add(os.path.dirname(f))
print(":".join(sorted(dirs)))')
# $CARRY/lib: shared libraries the image may lack (fontconfig/freetype for the charts).
[ -d "$CARRY/lib" ] && LIBDIRS=$(cd "$CARRY/lib" && pwd):$LIBDIRS
export LD_LIBRARY_PATH=$LIBDIRS:/usr/local/nvidia/lib64:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
ldd "$M" | grep -E 'cuda|cublas|curand|nvrtc|not found'

# 1. Fresh checkpoints; greedy continuation on cuda:0 must equal the CPU one.
PROMPT='Solve: (A and not B) implies C. Which is true?'
for preset in tiny small; do
    step "init $preset" 30 "$M" model init --spec "$preset" --out "$W/$preset" --seed 1 || continue
    for dev in cpu cuda:0; do
        step "sample $preset $dev" 40 "$M" model sample --model "$W/$preset" --prompt "$PROMPT" \
            --max-new-tokens 32 --temperature 0 --device "$dev" >"$W/sample.$preset.$dev.txt"
        echo "   $dev continuation: $(head -c 100 "$W/sample.$preset.$dev.txt" | cat -v | tr '\n' ' ')"
    done
    if cmp -s "$W/sample.$preset.cpu.txt" "$W/sample.$preset.cuda:0.txt" && [ -s "$W/sample.$preset.cpu.txt" ]; then
        echo "RESULT greedy $preset: cuda:0 == cpu (32 tokens)"
    else
        echo "RESULT greedy $preset: MISMATCH or missing output"
    fi
done

# 2. Candle benchmark on the GPU.
step "bench_policy cuda:0" 70 "$B" --device cuda:0 --presets tiny,small --new-tokens 128 --steps 3 |
    tee "$OUT/bench_cuda.txt"

# 3. Per-token log-probs: cuda:0 vs cpu.
printf '%s\n' '{"prompt": "Solve: A or B.", "continuation": " A is True, B is False."}' \
    '{"prompt": "(1) C is", "continuation": " True"}' >"$W/score_in.jsonl"
for dev in cpu cuda:0; do
    step "score small $dev" 30 "$M" model score --model "$W/small" --input "$W/score_in.jsonl" \
        --out "$W/score.$dev.jsonl" --device "$dev"
done
python3 -c '
import json, sys
a = [json.loads(l)["logprobs"] for l in open(sys.argv[1])]
b = [json.loads(l)["logprobs"] for l in open(sys.argv[2])]
d = max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))
print(f"RESULT score small: max |logprob(cuda:0) - logprob(cpu)| = {d:.3e} over {sum(map(len, a))} tokens")
' "$W/score.cpu.jsonl" "$W/score.cuda:0.jsonl" || echo "RESULT score: comparison failed"

# 4. Candle on this machine's CPUs, same binary (for the side-by-side table).
step "bench_policy cpu" 35 "$B" --device cpu --presets tiny,small --new-tokens 128 --steps 2 |
    tee "$OUT/bench_cpu_device.txt"
# 5. PyTorch on the same GPU and configs.
PYTHONUNBUFFERED=1 step "torch bench cuda:0" 45 python3 scripts/gpu_torch_bench.py --models "$W" \
    --presets tiny,small --device cuda:0 2>&1 | grep -v -i warn | tee "$OUT/bench_torch_cuda.txt"

# 6. Training end to end on the GPU: sft warm-up, REINFORCE++ and GRPO steps, evaluation.
cat >"$W/train_cuda.toml" <<TOML
[run]
name = "train-cuda"
out_dir = "$W"
seed = 7
device = "cuda:0"

[policy]
kind = "fresh"
preset = "tiny"

[tasks]
induction = { kind = "short_prompt", inner = { kind = "induction", max_abs_value = 100, rationale = false } }

[[stages]]
name = "warmup"
kind = "sft"
from = "policy"
tasks = ["induction"]
levels = [1]
trainer = { kind = "sft", batch_size = 32, steps_per_level = 40, learning_rate = 0.002, checkpoint_every = 20 }

[[stages]]
name = "rpp"
kind = "align"
from = "warmup.model"
task = "induction"
levels = [1]
trainer = { kind = "reinforce_pp", prompts_per_step = 8, samples_per_prompt = 4, max_new_tokens = 32, steps_per_level = 5, checkpoint_every = 5 }

[[stages]]
name = "grpo"
kind = "domain_rl"
from = "warmup.model"
tasks = ["induction"]
levels = [1]
trainer = { kind = "grpo", prompts_per_step = 8, samples_per_prompt = 4, max_new_tokens = 32, steps_per_level = 5, checkpoint_every = 5 }

[[stages]]
name = "eval"
kind = "evaluate"
models = { warmup = "warmup.model", rpp = "rpp.model", grpo = "grpo.model" }
tasks = ["induction"]
levels = [1]
count = 100
max_new_tokens = 32
TOML
step "train pipeline cuda:0" 90 "$M" run "$W/train_cuda.toml" >"$W/train_cuda.log" 2>&1
grep -v "INFO.*step [0-9]*[1-9] " "$W/train_cuda.log" | tail -25
if [ -s "$W/train-cuda/eval/report.json" ]; then
    echo "RESULT train pipeline cuda:0: ok (sft, reinforce_pp, grpo, evaluate)"
else
    echo "RESULT train pipeline cuda:0: FAILED"
fi
cp "$W/train-cuda/report.md" "$OUT/train_cuda_report.md" 2>/dev/null
grep -h '"step"' "$W"/train-cuda/metrics.jsonl 2>/dev/null | tail -3

nproc
echo "== done at t=${SECONDS}s"
