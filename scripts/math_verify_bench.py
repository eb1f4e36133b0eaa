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

Then the adversarial inputs of the Rust example, each checked against
`\\boxed{5}` and against itself as gold, three times; the worst time of
each is printed (a run that hits math-verify's 5-second timeouts shows as
about 5 s or more).

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


def adversarial():
    """The inputs of bench_math_verify.rs's `adversarial()`, in its order."""
    out = [("\\boxed{10^{10^{10}}}", "\\boxed{10^{10^{10}}}")]
    sentence = "We compute $2 \\cdot 7 = 14$ and then $14 + 6 = 20$, so \\frac{3}{4} of it is 15. "
    big = ""
    while len(big) < 100_000:
        big += sentence
    out.append(("100 kB response", big + "The final answer is $\\boxed{5}$."))
    out.append(("10,000 nested braces", "\\boxed{" + "{" * 10_000 + "1" + "}" * 10_000 + "}"))
    out.append(("1,000-term sum", "\\boxed{" + " + ".join(str(i) for i in range(1, 1001)) + "}"))
    out.append(("\\boxed{9^{9^{9^9}}}", "\\boxed{9^{9^{9^9}}}"))
    frac = "1"
    for _ in range(10_000):
        frac = "\\frac{" + frac + "}{2}"
    out.append(("10,000 nested \\frac", "\\boxed{" + frac + "}"))
    out.append(("1 MB line of $", "$" * 1_000_000))
    return out


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

    print("adversarial inputs (worst of 3 runs, each vs \\boxed{5} and vs itself as gold):")
    for name, text in adversarial():
        worst, verdicts = 0.0, [False, False]
        for _ in range(3):
            for i, gold in enumerate(("\\boxed{5}", text)):
                t = time.perf_counter()
                try:
                    verdicts[i] = bool(verify(parse(gold), parse(text)))
                except Exception:  # e.g. RecursionError escaping SymPy
                    verdicts[i] = False
                worst = max(worst, time.perf_counter() - t)
        print(f"  {name:<24} ({len(text.encode()):>9} bytes): worst {worst * 1e3:>10.3f} ms  "
              f"(=5: {str(verdicts[0]).lower()}, =itself: {str(verdicts[1]).lower()})")
    print(f"RESULT responses_per_sec={rps:.1f}")


if __name__ == "__main__":
    main()
