#!/usr/bin/env bash
# Benchmark metaalign-merge against mergekit on the same inputs and machine:
# three ~0.94 GB f32 Llama-shaped checkpoints (made by the bench_merge
# example), merged with the paper's linear weights 1.0 / 0.2 / 0.1.
#
# Usage: scripts/mergekit_bench.sh [linear|ties]
# Env: SKIP_BUILD=1 (reuse target/release/examples/bench_merge), METAALIGN_BENCH_DIR (default /tmp/metaalign-bench),
#      MERGEKIT (default /work/pyenv/bin/mergekit-yaml).
# Prints wall time and peak RSS (/usr/bin/time -v) for both tools.
set -euo pipefail
METHOD="${1:-linear}"
DIR="${METAALIGN_BENCH_DIR:-/tmp/metaalign-bench}"
MERGEKIT="${MERGEKIT:-/work/pyenv/bin/mergekit-yaml}"
cd "$(dirname "$0")/.."

# SKIP_BUILD=1 reuses an existing release build of the example.
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -p metaalign-merge --example bench_merge
BENCH=target/release/examples/bench_merge
METAALIGN_BENCH_DIR="$DIR" "$BENCH" prepare "$METHOD"

if [ "$METHOD" = ties ]; then
  EXTRA="base_model: $DIR/base"
  PARAMS_A="{weight: 1.0, density: 0.5}"; PARAMS_B="{weight: 0.2, density: 0.5}"; PARAMS_C="{weight: 0.1, density: 0.5}"
else
  EXTRA=""
  PARAMS_A="{weight: 1.0}"; PARAMS_B="{weight: 0.2}"; PARAMS_C="{weight: 0.1}"
fi
cat > "$DIR/mergekit-$METHOD.yml" <<YML
models:
  - model: $DIR/a
    parameters: $PARAMS_A
  - model: $DIR/b
    parameters: $PARAMS_B
  - model: $DIR/c
    parameters: $PARAMS_C
merge_method: $METHOD
$EXTRA
dtype: float32
YML

report() { grep -E "Elapsed \(wall clock\)|Maximum resident set size" "$1" | sed 's/^\s*/    /'; }

# Warm the page cache once so that both tools read from memory.
cat "$DIR"/a/*.safetensors "$DIR"/b/*.safetensors "$DIR"/c/*.safetensors > /dev/null

echo "== metaalign ($METHOD)"
METAALIGN_BENCH_DIR="$DIR" /usr/bin/time -v "$BENCH" merge "$METHOD" 2> "$DIR/time-metaalign.txt"
report "$DIR/time-metaalign.txt"

echo "== mergekit ($METHOD)"
rm -rf "$DIR/out-mergekit-$METHOD"
HF_HUB_OFFLINE=1 /usr/bin/time -v "$MERGEKIT" "$DIR/mergekit-$METHOD.yml" "$DIR/out-mergekit-$METHOD" --quiet \
  > "$DIR/mergekit.log" 2> "$DIR/time-mergekit.txt" || { tail -20 "$DIR/time-mergekit.txt"; exit 1; }
report "$DIR/time-mergekit.txt"
