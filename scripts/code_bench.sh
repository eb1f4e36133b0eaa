#!/usr/bin/env bash
# Benchmark of the code domain's checker against LiveCodeBench's own
# (lcb_runner/evaluation/testing_util.py via evaluate_generations), on the
# same problems and responses at the same parallelism: same verdicts on
# every sample, and tests/s for both. Not part of the tests or CI.
#
#   scripts/code_bench.sh [CONCURRENCY] [REPEAT]
#
# Fetches LiveCodeBench (git clone, or LCB_DIR=/path/to/LiveCodeBench) and
# installs numpy + tqdm into a virtual environment under target/code-bench/.
# Needs root for the sandbox (see docs/code-domain.md). CARGO_PROFILE=dev
# builds the benchmark without optimizations (quicker to build).
set -euo pipefail
cd "$(dirname "$0")/.."
P="${1:-$(nproc)}"
REPEAT="${2:-3}"
OUT=target/code-bench
DATA=examples/data/livecodebench-sample.jsonl
RESPONSES=examples/data/responses/code-sample.jsonl
mkdir -p "$OUT"

LCB="${LCB_DIR:-$OUT/LiveCodeBench}"
if [ ! -f "$LCB/lcb_runner/evaluation/testing_util.py" ]; then
  git clone --depth 1 https://github.com/LiveCodeBench/LiveCodeBench "$LCB"
fi
if [ ! -x "$OUT/venv/bin/python" ]; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install -q numpy tqdm
fi

PROFILE="${CARGO_PROFILE:-release}"
cargo build -q --profile "$PROFILE" -p metaalign-domain-code --example bench_code
DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")

echo "== metaalign (concurrency $P, repeat $REPEAT)"
"target/$DIR/examples/bench_code" --data "$DATA" --responses "$RESPONSES" \
  --concurrency "$P" --repeat "$REPEAT" --out "$OUT/ours.json"
echo "== LiveCodeBench testing_util (num_process_evaluate $P, repeat $REPEAT)"
PYTHONPATH="$LCB" "$OUT/venv/bin/python" scripts/lcb_bench.py --data "$DATA" \
  --responses "$RESPONSES" --concurrency "$P" --repeat "$REPEAT" --out "$OUT/lcb.json" 2>/dev/null

python3 - "$OUT/ours.json" "$OUT/lcb.json" <<'PY'
import json, sys
ours, lcb = (json.load(open(p)) for p in sys.argv[1:3])
key = lambda v: (v["repeat"], v["line"])
a = {key(v): v for v in ours["verdicts"]}
b = {key(v): v for v in lcb["verdicts"]}
assert a.keys() == b.keys(), "the two runs scored different samples"
diff = [(k, a[k], b[k]) for k in sorted(a) if a[k]["passed"] != b[k]["passed"]]
for k, x, y in diff:
    print("DIFFERENT VERDICT", k, x["id"], "metaalign:", x["passed"], x.get("detail"), "lcb:", y["passed"])
so, sl = ours["summary"], lcb["summary"]
print("samples %d, same verdict on %d" % (len(a), len(a) - len(diff)))
print("metaalign: %.1f tests/s (%.2f s)   LiveCodeBench: %.1f tests/s (%.2f s)   speed-up %.2fx"
      % (so["tests_per_s"], so["seconds"], sl["tests_per_s"], sl["seconds"], so["tests_per_s"] / sl["tests_per_s"]))
print("overheads (ms):", json.dumps(so["overhead_ms"]))
sys.exit(1 if diff else 0)
PY
