#!/usr/bin/env python3
"""Math-Verify 0.9.0's throughput on the corpus of
plugins/domain-math/examples/bench_math_verify.rs (run both with
scripts/math_verify_bench.sh).

Usage (from the repository root, with a venv that has math-verify==0.9.0):
    /work/mv-venv/bin/python scripts/math_verify_bench.py [MIN_RESPONSES]

Corpus: the responses of plugins/domain-math/tests/fixtures/
math_verify_realistic.jsonl repeated in file order until there are at least
MIN_RESPONSES (default 2000), as the Rust example does. Each response is
timed on one thread (the main thread, so math-verify's signal.alarm
timeouts are active) as

    verify(parse(gold_text), parse(response))

with every default, as users run it: extraction [LatexExtractionConfig(),
ExprExtractionConfig()], parsing_timeout=5, timeout_seconds=5,
float_rounding=6, numeric_precision=15, strict=True. math-verify's own
lru_caches (at most 20 entries each) stay on; with 300+ distinct responses
between repeats they do not carry results from one repeat to the next.
The first 400 responses are run once untimed as a warm-up, as in Rust.

The last line is `RESULT responses_per_sec=<x>` for the script.
"""
import json
import logging
import sys
import time
from pathlib import Path

from math_verify import parse, verify

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "plugins/domain-math/tests/fixtures/math_verify_realistic.jsonl"


def main():
    logging.disable(logging.CRITICAL)  # math_verify logs every failed extraction
    min_n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    base = [json.loads(l) for l in FIXTURE.read_text().splitlines() if l.strip()]
    base = [(c["gold_text"], c["response"]) for c in base]
    corpus = []
    while len(corpus) < min_n:
        corpus.extend(base)

    for g, r in corpus[:400]:
        verify(parse(g), parse(r))

    times = []
    equal = 0
    start = time.perf_counter()
    for g, r in corpus:
        t = time.perf_counter()
        equal += bool(verify(parse(g), parse(r)))
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - start
    times.sort()

    def pct(q):
        return times[min(len(times) - 1, round((len(times) - 1) * q))]

    rps = len(corpus) / total
    print("math-verify 0.9.0 (one thread, default timeouts)")
    print(f"  corpus: {len(corpus)} responses ({equal} verified equal), total {total:.3f} s")
    print(f"  throughput: {rps:.0f} responses/s")
    print(f"  per response: p50 {pct(0.5) * 1e6:.1f} µs  p99 {pct(0.99) * 1e6:.1f} µs  "
          f"max {times[-1] * 1e6:.1f} µs")
    print(f"RESULT responses_per_sec={rps:.1f}")


if __name__ == "__main__":
    main()
