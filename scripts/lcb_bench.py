#!/usr/bin/env python3
"""LiveCodeBench's own checker on the code-domain benchmark workload.

Runs the same problems and responses as
`plugins/domain-code/examples/bench_code.rs` through LiveCodeBench's
`lcb_runner.evaluation.compute_code_generation_metrics.evaluate_generations`
(which calls `testing_util.run_test` in a fresh process per sample, as the
official evaluation does) with `num_process_evaluate` = the parallelism, and
writes per-sample verdicts and tests/s. Used by scripts/code_bench.sh; needs
a LiveCodeBench checkout on PYTHONPATH and numpy + tqdm.

    python3 scripts/lcb_bench.py --data examples/data/livecodebench-sample.jsonl \
        --responses examples/data/responses/code-sample.jsonl \
        --concurrency 2 --repeat 3 --out target/code-bench/lcb.json
"""

import argparse
import base64
import json
import pickle
import time
import zlib

from lcb_runner.evaluation.compute_code_generation_metrics import evaluate_generations


def decode_tests(text):
    # LiveCodeBench's CodeGenerationProblem.__post_init__.
    try:
        return json.loads(text)
    except Exception:
        return json.loads(pickle.loads(zlib.decompress(base64.b64decode(text.encode("utf-8")))))


def evaluation_sample(row):
    # LiveCodeBench's CodeGenerationProblem.get_evaluation_sample.
    tests = json.loads(row["public_test_cases"]) + decode_tests(row["private_test_cases"])
    meta = json.loads(row.get("metadata") or "{}")
    return {
        "input_output": json.dumps({
            "inputs": [t["input"] for t in tests],
            "outputs": [t["output"] for t in tests],
            "fn_name": meta.get("func_name", None),
        })
    }


def extract_code(model_output):
    # LiveCodeBench's lcb_runner.utils.extraction_utils.extract_code (generic style).
    lines = model_output.split("\n")
    index = [i for i, line in enumerate(lines) if "```" in line]
    if len(index) < 2:
        return ""
    return "\n".join(lines[index[-2] + 1:index[-1]])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--responses", required=True)
    p.add_argument("--concurrency", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--timeout", type=int, default=6)
    p.add_argument("--out")
    a = p.parse_args()

    rows = {}
    with open(a.data, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            rows[row["question_id"]] = row
    work = []
    with open(a.responses, encoding="utf-8") as f:
        for n, line in enumerate(f):
            r = json.loads(line)
            if r["id"] in rows and extract_code(r["response"]):
                work.append((n + 1, r["id"], extract_code(r["response"])))

    # One entry per (repeat, response): LiveCodeBench evaluates the
    # generations of one entry in turn inside one worker process.
    samples, generations, keys = [], [], []
    for rep in range(a.repeat):
        for line, qid, code in work:
            samples.append(evaluation_sample(rows[qid]))
            generations.append([code])
            keys.append((rep, line, qid))
    start = time.time()
    results, _metadata = evaluate_generations(
        samples, generations, debug=False, num_process_evaluate=a.concurrency, timeout=a.timeout
    )
    seconds = time.time() - start
    verdicts = []
    tests = 0
    for i, (rep, line, qid) in enumerate(keys):
        res = results[i][0]
        tests += len(res)
        verdicts.append({
            "repeat": rep, "line": line, "id": qid,
            # LiveCodeBench's rule (pass_k_utils): every result > 0.
            "passed": len(res) > 0 and all(r > 0 for r in res),
            "tests_run": len(res),
        })
    summary = {
        "checker": "livecodebench testing_util",
        "concurrency": a.concurrency,
        "samples": len(verdicts),
        "tests": tests,
        "seconds": seconds,
        "tests_per_s": tests / seconds,
        "samples_per_s": len(verdicts) / seconds,
    }
    print(json.dumps(summary, indent=2))
    if a.out:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "verdicts": verdicts}, f, indent=2)


if __name__ == "__main__":
    main()
