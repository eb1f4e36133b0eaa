#!/usr/bin/env python3
"""Sweeps RL settings from one warm start, each variant in its own process.

  python3 scripts/rl_sweep.py --bin target/release/metaalign --warm runs/rl-evidence/warmup2/model \
      --work /tmp/sweep --threads 1 --minutes 2.5 [--only rpp-base,grpo-base]

Each variant is a throw-away pipeline: the warm start as an `hf` policy, one
RL stage (the trainer settings below) on level-1 induction or arithmetic
(the tasks and `[run] holdout` of examples/pipelines/rl-evidence.toml),
then greedy accuracy on the *validation* part of the puzzle space (`split =
"validation"`: never trained on, and disjoint from the test part the
pipeline reports on). A `baseline` variant evaluates the warm start alone on
the same tasks (same seed and stage name, so the same tasks). `--steps N`
gives every variant a step budget instead of the `--minutes` time box
(reproducible, and fair when variants share cores).
Variants run in parallel, each pinned to `--threads` cores (sched_setaffinity)
(RAYON_NUM_THREADS likewise); with more variants than cores they share cores
round-robin, which is fair only under `--steps`. Prints a markdown table and writes
`summary.json` (rows: variant, task, steps, accuracy, delta vs baseline).
Used on a many-core machine to choose rl-evidence.toml's settings; the
results are in docs/training.md.
"""
import argparse
import json
import os
import subprocess
import sys
import time
import tomllib

# The tasks and the split of the puzzle space come from the pipeline the
# sweep tunes, so the two cannot drift apart.
PIPELINE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "..", "examples", "pipelines", "rl-evidence.toml")


def inline(value):
    """A TOML inline value (tables, arrays, strings, booleans, numbers)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(inline(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


with open(PIPELINE, "rb") as _f:
    _CONFIG = tomllib.load(_f)
HOLDOUT = inline(_CONFIG["run"]["holdout"])
TASKS = {name: inline(spec) for name, spec in _CONFIG["tasks"].items()}

# name: (task, trainer kind, reward kind, extra trainer settings)
VARIANTS = {
    "rpp-base": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 4, temperature = 1.0'),
    "rpp-t07": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 4, temperature = 0.7'),
    "rpp-lr1e-4-16x8": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 16, samples_per_prompt = 8, temperature = 1.0'),
    "rpp-lr5e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0005, prompts_per_step = 16, samples_per_prompt = 4, temperature = 1.0'),
    "rpp-2mb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, mini_batches = 2'),
    "rpp-gb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 4, temperature = 1.0, group_baseline = true'),
    "rpp-arith": ("arithmetic", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 4, temperature = 1.0'),
    "grpo-base": ("arithmetic", "grpo", "binary", 'learning_rate = 0.0002, prompts_per_step = 8, samples_per_prompt = 8, temperature = 1.0'),
    "grpo-t07": ("arithmetic", "grpo", "binary", 'learning_rate = 0.0002, prompts_per_step = 8, samples_per_prompt = 8, temperature = 0.7'),
    "grpo-lr1e-4-16x8": ("arithmetic", "grpo", "binary", 'learning_rate = 0.0001, prompts_per_step = 16, samples_per_prompt = 8, temperature = 1.0'),
    "grpo-lr5e-4": ("arithmetic", "grpo", "binary", 'learning_rate = 0.0005, prompts_per_step = 8, samples_per_prompt = 8, temperature = 1.0'),
    "grpo-2mb": ("arithmetic", "grpo", "binary", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 8, temperature = 1.0, mini_batches = 2'),
    "grpo-ind": ("induction", "grpo", "binary", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 4, temperature = 1.0'),
    # Second round, around the first round's best REINFORCE++ setting.
    "rpp-2mb-gb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, mini_batches = 2, group_baseline = true'),
    "rpp-2mb-lr1e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, mini_batches = 2'),
    "rpp-4mb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, mini_batches = 4'),
    "rpp-16x8-2mb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 8, temperature = 1.0, mini_batches = 2'),
    "rpp-2ep": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2'),
    # Third round, around the second round's best (two PPO epochs).
    "rpp-2ep-lr2e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2'),
    "rpp-2ep-2mb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "rpp-3ep": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 3'),
    "rpp-2ep-16x4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 16, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2'),
    "rpp-2ep-t07": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 4, temperature = 0.7, ppo_epochs = 2'),
    "rpp-2ep-64x4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "grpo-16x8-2mb": ("arithmetic", "grpo", "binary", 'learning_rate = 0.0002, prompts_per_step = 16, samples_per_prompt = 8, temperature = 1.0, mini_batches = 2'),
    # Fourth round (fourth session): the puzzle space split by [run] holdout,
    # scored on the validation part, from the new warm start.
    "v4-base": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "v4-lr2e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "v4-lr5e-5": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.00005, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "v4-lr3e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0003, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "v4-kl0": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2, kl_coef = 0.0'),
    "v4-t07": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 0.7, ppo_epochs = 2, mini_batches = 2'),
    "v4-t12": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.2, ppo_epochs = 2, mini_batches = 2'),
    "v4-32x8": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 8, temperature = 1.0, ppo_epochs = 2, mini_batches = 2'),
    "v4-1ep1mb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 1, mini_batches = 1'),
    "v4-4ep": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 4, mini_batches = 2'),
    "v4-gb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2, group_baseline = true'),
    "v4-lr2e-4-kl0": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2, kl_coef = 0.0'),
    "v4-128x4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 128, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 4'),
    "v4-klreward": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2, kl_placement = "reward"'),
    "v4-seqmean": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 2, loss_agg = "seq-mean-token-mean"'),
    # Fifth round: one on-policy update per rollout batch (round four's
    # best), with a step budget (`--steps 80`).
    "v5-1ep": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0'),
    "v5-1ep-lr2e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0002, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0'),
    "v5-1ep-lr3e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0003, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0'),
    "v5-1ep-32x8": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 32, samples_per_prompt = 8, temperature = 1.0'),
    "v5-1ep-t07": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 0.7'),
    "v5-1ep-gb": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 4, temperature = 1.0, group_baseline = true'),
    # Sixth round (fifth session): induction with the worked-step rationale,
    # around the pipeline's settings, 26-step budgets (`--steps 26`).
    "v6-base": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 128, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 4'),
    "v6-lr3e-4": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0003, prompts_per_step = 128, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 4'),
    "v6-lr3e-5": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.00003, prompts_per_step = 128, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 4'),
    "v6-t07": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 128, samples_per_prompt = 4, temperature = 0.7, ppo_epochs = 2, mini_batches = 4'),
    "v6-kl0": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 128, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 4, kl_coef = 0.0'),
    "v6-64x8": ("induction", "reinforce_pp", "paper", 'learning_rate = 0.0001, prompts_per_step = 64, samples_per_prompt = 8, temperature = 1.0, ppo_epochs = 2, mini_batches = 4'),
    "v6-grpo": ("induction", "grpo", "binary", 'learning_rate = 0.0001, prompts_per_step = 128, samples_per_prompt = 4, temperature = 1.0, ppo_epochs = 2, mini_batches = 4'),
}


def pipeline(name, warm, work, minutes, steps, count, seed, variant):
    budget = (f"steps_per_level = {steps}, max_minutes = 60.0" if steps
              else f"steps_per_level = 100000, max_minutes = {minutes}")
    lines = [
        "[run]",
        f'name = "{name}"',
        f'out_dir = "{work}"',
        f"seed = {seed}",
        'device = "cpu"',
        f"holdout = {HOLDOUT}",
        "",
        "[policy]",
        'kind = "hf"',
        f'path = "{warm}"',
        "",
        "[tasks]",
    ]
    for task, spec in TASKS.items():
        lines.append(f"{task} = {spec}")
    lines.append("")
    eval_tasks = ["induction", "arithmetic"]
    models = '{ warm = "policy" }'
    if variant is not None:
        task, kind, reward, extra = variant
        stage_kind = "align" if kind == "reinforce_pp" else "domain_rl"
        task_key = f'task = "{task}"' if stage_kind == "align" else f'tasks = ["{task}"]'
        lines += [
            "[[stages]]",
            'name = "rl"',
            f'kind = "{stage_kind}"',
            'from = "policy"',
            task_key,
            "levels = [1]",
            f'trainer = {{ kind = "{kind}", {extra}, max_new_tokens = 40, {budget}, '
            "checkpoint_every = 1000 }",
            f'reward = {{ kind = "{reward}" }}',
            "",
        ]
        eval_tasks = [task]
        models = '{ rl = "rl.model" }'
    for task in eval_tasks:
        # One stage per task, named by the task, so every variant scores the
        # same validation tasks as the baseline.
        lines += [
            "[[stages]]",
            f'name = "eval_{task}"',
            'kind = "evaluate"',
            f"models = {models}",
            f'tasks = ["{task}"]',
            "levels = [1]",
            f"count = {count}",
            'split = "validation"',
            "max_new_tokens = 40",
            "",
        ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--warm", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=2.5)
    ap.add_argument("--first-core", type=int, default=0)
    ap.add_argument("--steps", type=int, default=0, help="a step budget instead of --minutes")
    ap.add_argument("--count", type=int, default=200, help="validation tasks per task")
    ap.add_argument("--seed", type=int, default=7, help="the run seed (rollouts, task draws)")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    warm = os.path.abspath(a.warm)
    work = os.path.abspath(a.work)
    names = ["baseline"] + [n for n in VARIANTS if not a.only or n in a.only.split(",")]
    procs = {}
    for i, name in enumerate(names):
        path = os.path.join(work, f"{name}.toml")
        with open(path, "w") as f:
            f.write(pipeline(name, warm, work, a.minutes, a.steps, a.count, a.seed, VARIANTS.get(name)))
        # With fewer cores than variants, variants share cores round-robin
        # (fine under --steps budgets; time boxes would then be unfair).
        first = a.first_core + i * a.threads
        cores = {c % os.cpu_count() for c in range(first, first + a.threads)}
        env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads))
        log = open(os.path.join(work, f"{name}.log"), "w")
        procs[name] = subprocess.Popen(
            [a.bin, "run", path],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=lambda cores=cores: os.sched_setaffinity(0, cores),
        )
    t0 = time.time()
    for name, p in procs.items():
        rc = p.wait()
        print(f"{name}: rc={rc} after {time.time() - t0:.0f} s", file=sys.stderr)

    def accuracy(name, model, task):
        try:
            with open(os.path.join(work, name, "report.json")) as f:
                rows = json.load(f)["results"]
        except (OSError, ValueError, KeyError):
            return None
        for r in rows:
            if r["model"] == model and r["task"] == task and r.get("level") is None:
                return r["accuracy"]
        return None

    def steps(name):
        try:
            with open(os.path.join(work, name, "metrics.jsonl")) as f:
                return sum(1 for l in f if '"stage":"rl"' in l.replace(" ", "") and '"step"' in l)
        except OSError:
            return None

    base = {t: accuracy("baseline", "warm", t) for t in TASKS}
    rows = []
    for name in names[1:]:
        task, kind, reward, extra = VARIANTS[name]
        acc = accuracy(name, "rl", task)
        delta = None if acc is None or base[task] is None else acc - base[task]
        rows.append(dict(variant=name, task=task, trainer=kind, reward=reward, settings=extra,
                         steps=steps(name), accuracy=acc, warm=base[task], delta=delta))
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump(dict(baseline=base, rows=rows), f, indent=1)
    print(f"baseline (warm start): {base}")
    print("| variant | task | settings | steps | validation greedy | vs warm start |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        fmt = lambda x: "-" if x is None else f"{100 * x:.1f}%"
        d = "-" if r["delta"] is None else f"{100 * r['delta']:+.1f}"
        print(f"| {r['variant']} | {r['task']} | {r['settings']} | {r['steps']} | {fmt(r['accuracy'])} | {d} |")


if __name__ == "__main__":
    main()
