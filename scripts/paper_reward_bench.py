#!/usr/bin/env python3
"""Time the paper's own reward functions (responses scored per second).

The paper ("Beyond 'Aha!'", zhiyuanhubj/Meta-Ability-Alignment) trains with veRL; its
`Training/verl/trainer/main_ppo.py` sends every `data_source == "logic_assignment"` row to
`verl.utils.reward_score.mix.compute_score`, which dispatches on the ground truth text:
"true"/"false" -> `formula.py` (Deduction), an integer -> `squence.py` (Induction),
"reachable"/"unreachable" -> `backward_reasoning.py` (Abduction).

This script contains none of that code. It imports the paper's modules by path from a local
checkout (`--paper-repo`), registering empty stand-ins for the `verl`, `verl.utils` and
`verl.utils.reward_score` packages so that the real `verl/__init__.py` (torch, ray, ...) is not
needed, and times them on responses built from the paper's own test parquet files:

  solution_str = prompt[0]["content"]  (already templated, ends "<|im_start|>assistant\\n<think>")
               + reasoning + "</think>\\n<answer>\\n" + answer + "\\n</answer><|im_end|>"

which is what the paper's RewardManager passes (it decodes the valid prompt ids followed by the
response ids; its RLHFDataset tokenizes `chat[0]["content"]` as is). `ground_truth` is
`reward_model["ground_truth"]` of the row, as veRL passes it. Per row there is one correct
response (answer = `solution_text`) and one wrong one (one True/False, reachable/unreachable
flipped, or the integer + 1). The script asserts the paper's scores: 3 for correct
(format +1, answer +2) and -0.5 for wrong (format +1, answer -1.5). Exception, a quirk of the
paper's reward: when an Abduction ground truth lists the same goal twice (15 of 1,000 test rows),
the paper's parser keeps one entry per name but counts every "is (un)reachable", so even the
ground truth is rejected as a "number of variables mismatch" and both responses score -1
(format +1, answer -2). Those rows are kept (they cost the same to score) and counted.

The functions print a lot; stdout goes to /dev/null while timing (as the induction figure was
measured). Single thread, a loop over all responses of a level for --secs seconds.

Usage:
  git -C MIRROR worktree add /tmp/paper-repo HEAD     # or: git archive HEAD | tar -x -C DIR
  /work/pyenv/bin/python scripts/paper_reward_bench.py --paper-repo /tmp/paper-repo \\
      --data ../shared/paper-data [--secs 2] [--tasks Deduction,Abduction,Induction]
"""

import argparse
import contextlib
import copy
import importlib
import os
import re
import sys
import time
import types

import pandas as pd

LEVELS = {"Deduction": [1, 2, 3, 4], "Abduction": [1, 2, 3, 4, 5], "Induction": [1, 2, 3, 4, 5]}
MODULE_OF = {"Deduction": "formula", "Abduction": "backward_reasoning", "Induction": "squence"}
CORRECT, WRONG = 3, -0.5


def load_paper_modules(repo):
    """Import mix/formula/backward_reasoning/squence from the checkout, by path."""
    rs_dir = os.path.join(repo, "Training", "verl", "utils", "reward_score")
    if not os.path.isfile(os.path.join(rs_dir, "mix.py")):
        sys.exit(f"error: {rs_dir}/mix.py not found; --paper-repo must be a checkout of "
                 "zhiyuanhubj/Meta-Ability-Alignment")
    for name, path in [("verl", os.path.join(repo, "Training", "verl")),
                       ("verl.utils", os.path.join(repo, "Training", "verl", "utils")),
                       ("verl.utils.reward_score", rs_dir)]:
        pkg = types.ModuleType(name)
        pkg.__path__ = [path]  # submodules are found in this directory; no __init__ is run
        sys.modules[name] = pkg
    mods = {n: importlib.import_module(f"verl.utils.reward_score.{n}")
            for n in ["mix", "formula", "backward_reasoning", "squence"]}
    for n, m in mods.items():
        if not os.path.abspath(m.__file__).startswith(os.path.abspath(rs_dir)):
            sys.exit(f"error: {n} was imported from {m.__file__}, not from {rs_dir}")
    return mods


def flip(task, answer):
    if task == "Deduction":
        m = re.search(r"\bis (True|False)\b", answer)
        return answer[:m.start(1)] + ("False" if m.group(1) == "True" else "True") + answer[m.end(1):]
    if task == "Abduction":
        m = re.search(r"\bis (reachable|unreachable)\b", answer)
        new = "unreachable" if m.group(1) == "reachable" else "reachable"
        return answer[:m.start(1)] + new + answer[m.end(1):]
    return str(int(answer) + 1)


def has_duplicate_names(answer):
    names = re.findall(r"\)\s*(\S+) is ", answer)
    return len(names) != len(set(names))


def build_cases(task, df):
    """[(solution_str, ground_truth, expected_score)] for every row: one correct, one wrong;
    and the number of rows whose ground truth repeats a name."""
    cases, dup_rows = [], 0
    for _, row in df.iterrows():
        prompt = row["prompt"][0]["content"]
        if not prompt.endswith("<|im_start|>assistant\n<think>"):
            sys.exit(f"error: {task} prompt does not end with the assistant/<think> header")
        gt = row["reward_model"]["ground_truth"]
        answer = str(row["solution_text"]).strip()
        reasoning = "Let me work through it step by step.\n" + row["puzzle_text"] + "\nSo the answer is:"
        dup = has_duplicate_names(answer)
        dup_rows += dup
        for ans, expected in [(answer, CORRECT), (flip(task, answer), WRONG)]:
            s = f"{prompt}{reasoning}</think>\n<answer>\n{ans}\n</answer><|im_end|>"
            cases.append((s, gt, -1 if dup else expected))
    return cases, dup_rows


def time_fn(fn, cases, secs, devnull):
    # Induction: mix.compute_score converts the ground truth's string answer to int in place, as
    # it does in veRL on the first call per row; give each case its own copy so every call sees
    # the same input.
    cases = [(s, copy.deepcopy(gt), e) for s, gt, e in cases]
    with contextlib.redirect_stdout(devnull):
        for s, gt, expected in cases:  # check (and warm up) every input once
            got = fn(s, gt)
            if got != expected:
                sys.stderr.write(f"score {got} != expected {expected} for:\n{s[-400:]}\n")
                raise AssertionError("paper reward gave an unexpected score")
        n = 0
        t0 = time.perf_counter()
        while True:
            for s, gt, _ in cases:
                fn(s, gt)
            n += len(cases)
            el = time.perf_counter() - t0
            if el >= secs:
                return n / el


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paper-repo", required=True, help="checkout of zhiyuanhubj/Meta-Ability-Alignment")
    ap.add_argument("--data", default="../shared/paper-data", help="folder with {Task}/{level}/test.parquet")
    ap.add_argument("--secs", type=float, default=2.0, help="seconds timed per task/level/entry point")
    ap.add_argument("--tasks", default="Deduction,Abduction,Induction")
    a = ap.parse_args()
    mods = load_paper_modules(a.paper_repo)
    devnull = open(os.devnull, "w")
    print(f"paper reward functions, single thread, prints to /dev/null, {a.secs:g} s per cell, "
          "every test row once correct and once wrong")
    print()
    print("| task | level | responses | mean chars | responses/s via mix.compute_score (veRL's entry) "
          "| responses/s via task module directly | rows whose own ground truth scores -1 |")
    print("|---|---|---|---|---|---|---|")
    for task in a.tasks.split(","):
        task = task.strip()
        if task not in LEVELS:
            sys.exit(f"error: unknown task {task!r}; expected one of {', '.join(LEVELS)}")
        for level in LEVELS[task]:
            path = os.path.join(a.data, task, str(level), "test.parquet")
            if not os.path.isfile(path):
                sys.exit(f"error: {path} not found")
            cases, dup_rows = build_cases(task, pd.read_parquet(path))
            via_mix = time_fn(mods["mix"].compute_score, cases, a.secs, devnull)
            direct_fn = mods[MODULE_OF[task]].compute_score
            if task == "Induction":  # squence.py expects the int that mix.py would have made
                cases = [(s, {**gt, "solution_text_format": int(gt["solution_text_format"])}, e)
                         for s, gt, e in cases]
            direct = time_fn(direct_fn, cases, a.secs, devnull)
            chars = sum(len(s) for s, _, _ in cases) / len(cases)
            print(f"| {task.lower()} | {level} | {len(cases)} | {chars:,.0f} | {via_mix:,.0f} | {direct:,.0f} | {dup_rows} |",
                  flush=True)


if __name__ == "__main__":
    main()
