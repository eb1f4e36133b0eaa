#!/usr/bin/env bash
# Throughput of metaalign-domain-math's answer verifier beside Math-Verify
# 0.9.0's, on the same corpus (the realistic fixture responses repeated to
# at least MIN_RESPONSES), one thread each.
#
# Usage (from anywhere):
#   scripts/math_verify_bench.sh [MIN_RESPONSES]
# Environment:
#   MV_PYTHON         python with math-verify==0.9.0 (default /work/mv-venv/bin/python)
#   CARGO_TARGET_DIR  honoured by cargo as usual
#
# Builds the example in release, runs it, then the Python side, and prints
# the ratio of responses/s (ours / math-verify). Run on an otherwise idle
# machine: both sides are single-threaded and timing-sensitive.
set -euo pipefail

cd "$(dirname "$0")/.."
MIN="${1:-2000}"
PY="${MV_PYTHON:-/work/mv-venv/bin/python}"

cargo build --release -p metaalign-domain-math --example bench_math_verify
ours_out="$(cargo run --quiet --release -p metaalign-domain-math --example bench_math_verify -- "$MIN")"
echo "$ours_out"
echo
theirs_out="$("$PY" scripts/math_verify_bench.py "$MIN")"
echo "$theirs_out"
echo

ours="$(sed -n 's/^RESULT responses_per_sec=//p' <<<"$ours_out")"
theirs="$(sed -n 's/^RESULT responses_per_sec=//p' <<<"$theirs_out")"
awk -v o="$ours" -v t="$theirs" 'BEGIN {
    printf "ours %.0f responses/s, math-verify 0.9.0 %.1f responses/s: ratio %.1fx\n", o, t, o / t
}'
