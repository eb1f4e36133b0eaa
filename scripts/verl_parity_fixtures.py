#!/usr/bin/env python3
"""Writes metaalign-rl/tests/fixtures/verl_parity.jsonl: inputs in the
`rl_math` op schema (docs/rl-algorithms.md) with the outputs of veRL's own
functions from `verl/trainer/ppo/core_algos.py`, in float64 on CPU.

Not run in CI. Needs Python 3 with torch and numpy, and a veRL checkout or
bare git mirror:

    python3 -m venv /work/verl-venv
    /work/verl-venv/bin/pip install numpy torch   # CPU is enough
    /work/verl-venv/bin/python scripts/verl_parity_fixtures.py \
        --verl-git-dir /work/.mirror/volcengine+verl/repo

veRL's module imports (omegaconf, tensordict, transformers, its config
classes) are replaced by small stubs; the algorithm functions themselves run
unmodified from veRL's source, and the masked helpers (`masked_sum`,
`masked_mean`, `masked_var`, `masked_whiten`) are taken from veRL's
`verl/utils/torch_functional.py` by name.
"""

import argparse
import ast
import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def read_source(args, rel):
    if args.verl_src:
        return (Path(args.verl_src) / rel).read_text()
    return subprocess.check_output(
        ["git", "--git-dir", args.verl_git_dir, "show", f"{args.rev}:{rel}"], text=True
    )


def verl_commit(args):
    if args.verl_src:
        return "working tree " + args.verl_src
    return subprocess.check_output(
        ["git", "--git-dir", args.verl_git_dir, "rev-parse", args.rev], text=True
    ).strip()


def load_core_algos(args):
    """Imports veRL's core_algos.py with its heavy imports stubbed."""

    def module(name, **attrs):
        m = types.ModuleType(name)
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    class Cfg(dict):
        """Attribute + .get access, like omegaconf/dataclass configs."""

        def __getattr__(self, k):
            try:
                return self[k]
            except KeyError as e:
                raise AttributeError(k) from e

    class AlgoConfig(Cfg):
        pass

    class ActorConfig(Cfg):
        pass

    def deprecated(*_a, **_k):
        return lambda f: f

    # Only the masked helpers from torch_functional.py, by name.
    tf_src = read_source(args, "verl/utils/torch_functional.py")
    wanted = {"masked_sum", "masked_mean", "masked_var", "masked_whiten"}
    tree = ast.parse(tf_src)
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in wanted]
    tf_ns = {"torch": torch}
    exec(compile(tree, "verl/utils/torch_functional.py", "exec"), tf_ns)

    module("omegaconf", DictConfig=Cfg)
    module("verl")
    module("verl.utils", as_torch_index=None, group_mean_std=None)
    module("verl.utils.torch_functional", **{k: tf_ns[k] for k in wanted})
    module("verl.utils.import_utils", deprecated=deprecated)
    module("verl.trainer")
    module("verl.trainer.config", AlgoConfig=AlgoConfig)
    module("verl.workers")
    module("verl.workers.config", ActorConfig=ActorConfig)
    sys.modules["verl"].utils = sys.modules["verl.utils"]
    sys.modules["verl.utils"].torch_functional = sys.modules["verl.utils.torch_functional"]

    src = read_source(args, "verl/trainer/ppo/core_algos.py")
    ns = {"__name__": "verl_core_algos"}
    exec(compile(src, "verl/trainer/ppo/core_algos.py", "exec"), ns)
    return ns, AlgoConfig, ActorConfig


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def lst(x):
    return x.detach().to(torch.float64).tolist()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--verl-git-dir", default="/work/.mirror/volcengine+verl/repo")
    ap.add_argument("--rev", default="HEAD")
    ap.add_argument("--verl-src", help="a veRL working tree instead of a git dir")
    ap.add_argument("--out", default="metaalign-rl/tests/fixtures/verl_parity.jsonl")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()

    ca, AlgoConfig, ActorConfig = load_core_algos(args)
    commit = verl_commit(args)
    rng = np.random.default_rng(args.seed)
    cases = []

    def add(name, inp, expected):
        cases.append({"name": name, "verl": commit, "input": inp, "expected": expected})

    # ---------- batches ----------
    def batch(groups, size, width, kind):
        """Outcome rewards on the last valid token; padded masks."""
        bs = groups * size
        lengths = rng.integers(1, width + 1, size=bs)
        mask = [[1.0 if t < lengths[i] else 0.0 for t in range(width)] for i in range(bs)]
        if kind == "binary":
            scores = rng.integers(0, 2, size=bs).astype(float)
        elif kind == "equal":
            scores = np.repeat(rng.integers(0, 2, size=groups).astype(float), size)
        elif kind == "mixed":  # some groups equal, some not, continuous values
            scores = rng.normal(size=bs)
            for g in range(0, groups, 2):
                scores[g * size:(g + 1) * size] = round(float(rng.normal()), 3)
        else:
            raise ValueError(kind)
        rewards = [[0.0] * width for _ in range(bs)]
        for i in range(bs):
            rewards[i][lengths[i] - 1] = float(scores[i])
        index = [f"g{i // size}" for i in range(bs)]
        # shuffle so groups are interleaved, as after veRL's balancing
        perm = rng.permutation(bs)
        return ([rewards[p] for p in perm], [mask[p] for p in perm], [index[p] for p in perm])

    def dense_batch(bs, width):
        lengths = rng.integers(1, width + 1, size=bs)
        mask = [[1.0 if t < lengths[i] else 0.0 for t in range(width)] for i in range(bs)]
        rewards = [[float(rng.normal()) * m for m in row] for row in mask]
        return rewards, mask

    # ---------- advantages ----------
    group_estimators = ["grpo", "rloo", "reinforce_plus_plus_baseline", "opo", "gpg", "grpo_passk"]
    for kind in ["binary", "equal", "mixed"]:
        rewards, mask, index = batch(groups=3, size=4, width=6, kind=kind)
        for est in group_estimators:
            for norm in ([True, False] if est in ("grpo", "grpo_passk") else [True]):
                inp = {
                    "op": "advantage", "estimator": est, "token_level_rewards": rewards,
                    "response_mask": mask, "index": index, "epsilon": 1e-6,
                    "norm_adv_by_std_in_grpo": norm, "gamma": 1.0,
                }
                fn = ca["get_adv_estimator_fn"](est)
                cfg = AlgoConfig(norm_adv_by_std_in_grpo=norm, gamma=1.0)
                kw = dict(token_level_rewards=t(rewards), response_mask=t(mask),
                          index=np.array(index, dtype=object), epsilon=1e-6, config=cfg)
                if est == "grpo":
                    kw["norm_adv_by_std_in_grpo"] = norm
                adv, ret = fn(**kw)
                add(f"advantage/{est}/{kind}/norm={norm}", inp,
                    {"advantages": lst(adv), "returns": lst(ret)})
    # singleton groups (not for grpo_passk, which rejects them)
    rewards, mask, index = batch(groups=2, size=3, width=5, kind="binary")
    index = index[:-1] + ["solo"]
    for est in ["grpo", "rloo", "reinforce_plus_plus_baseline", "opo", "gpg"]:
        fn = ca["get_adv_estimator_fn"](est)
        adv, ret = fn(token_level_rewards=t(rewards), response_mask=t(mask),
                      index=np.array(index, dtype=object), epsilon=1e-6,
                      config=AlgoConfig(norm_adv_by_std_in_grpo=True, gamma=1.0))
        add(f"advantage/{est}/singleton", {
            "op": "advantage", "estimator": est, "token_level_rewards": rewards,
            "response_mask": mask, "index": index, "epsilon": 1e-6,
            "norm_adv_by_std_in_grpo": True, "gamma": 1.0}, {"advantages": lst(adv), "returns": lst(ret)})
    # reinforce_plus_plus: dense token rewards, two discounts
    for gamma in [1.0, 0.9]:
        rewards, mask = dense_batch(5, 7)
        fn = ca["get_adv_estimator_fn"]("reinforce_plus_plus")
        adv, ret = fn(token_level_rewards=t(rewards), response_mask=t(mask),
                      config=AlgoConfig(gamma=gamma))
        add(f"advantage/reinforce_plus_plus/gamma={gamma}", {
            "op": "advantage", "estimator": "reinforce_plus_plus", "token_level_rewards": rewards,
            "response_mask": mask, "gamma": gamma}, {"advantages": lst(adv), "returns": lst(ret)})
    # remax: outcome and dense rewards, greedy baselines
    for dense in [False, True]:
        if dense:
            rewards, mask = dense_batch(4, 6)
        else:
            rewards, mask, _ = batch(groups=2, size=2, width=6, kind="mixed")
        baselines = [float(x) for x in rng.normal(size=len(rewards))]
        fn = ca["get_adv_estimator_fn"]("remax")
        adv, ret = fn(token_level_rewards=t(rewards), reward_baselines=t(baselines),
                      response_mask=t(mask), config=AlgoConfig(gamma=1.0))
        add(f"advantage/remax/dense={dense}", {
            "op": "advantage", "estimator": "remax", "token_level_rewards": rewards,
            "response_mask": mask, "reward_baselines": baselines},
            {"advantages": lst(adv), "returns": lst(ret)})

    # ---------- policy losses ----------
    agg_modes = ["token-mean", "seq-mean-token-sum", "seq-mean-token-mean", "seq-mean-token-sum-norm"]

    def pl_batch(scale):
        bs, width = 4, 6
        lengths = rng.integers(1, width + 1, size=bs)
        mask = [[1.0 if t < lengths[i] else 0.0 for t in range(width)] for i in range(bs)]
        old = (-rng.exponential(1.0, size=(bs, width))).tolist()
        new = (np.array(old) + rng.normal(scale=scale, size=(bs, width))).tolist()
        adv = rng.normal(size=(bs, width)) * np.array(mask)
        return old, new, adv.tolist(), mask

    for scale_name, scale in [("near", 0.15), ("extreme", 12.0)]:
        old, new, adv, mask = pl_batch(scale)
        for mode in ["vanilla", "gspo", "cispo", "gpg"]:
            for agg in agg_modes:
                if mode == "gspo" and agg != "seq-mean-token-mean" and scale_name == "extreme":
                    continue  # gspo ignores loss_agg_mode; one extra mode below is enough
                for clips in [(0.2, 0.2, 0.28, 3.0), (0.2, None, None, 3.0)]:
                    if clips[1] is None and agg != "token-mean":
                        continue
                    cr, lo, hi, c = clips
                    cfg = ActorConfig(clip_ratio=cr, clip_ratio_low=lo, clip_ratio_high=hi,
                                      clip_ratio_c=c, global_batch_info={})
                    fn = ca["get_policy_loss_fn"](mode)
                    loss, metrics = fn(old_log_prob=t(old), log_prob=t(new), advantages=t(adv),
                                       response_mask=t(mask), loss_agg_mode=agg, config=cfg)
                    inp = {"op": "policy_loss", "loss_mode": mode, "old_log_prob": old,
                           "log_prob": new, "advantages": adv, "response_mask": mask,
                           "loss_agg_mode": agg, "clip_ratio": cr, "clip_ratio_c": c}
                    if lo is not None:
                        inp["clip_ratio_low"] = lo
                        inp["clip_ratio_high"] = hi
                    exp = {"pg_loss": float(loss)}
                    for k in ["pg_clipfrac", "ppo_kl", "pg_clipfrac_lower"]:
                        exp[k] = float(metrics.get("actor/" + k, 0.0))
                    add(f"policy_loss/{mode}/{agg}/{scale_name}/low={lo}", inp, exp)

    # ---------- KL ----------
    for scale_name, scale in [("near", 0.3), ("extreme", 25.0)]:
        lp = (-rng.exponential(1.0, size=(3, 5))).tolist()
        ref = (np.array(lp) + rng.normal(scale=scale, size=(3, 5))).tolist()
        for name in ["kl", "k1", "abs", "mse", "k2", "low_var_kl", "k3"]:
            kl = ca["kl_penalty"](t(lp), t(ref), name)
            add(f"kl/{name}/{scale_name}", {"op": "kl", "kl_penalty": name, "logprob": lp,
                                             "ref_logprob": ref}, {"kl": lst(kl)})

    # ---------- agg_loss ----------
    for with_empty in [False, True]:
        bs, width = 5, 7
        lengths = rng.integers(1, width + 1, size=bs)
        if with_empty:
            lengths[2] = 0  # a fully masked sequence
        mask = [[1.0 if t < lengths[i] else 0.0 for t in range(width)] for i in range(bs)]
        mat = rng.normal(size=(bs, width)).tolist()
        for agg in agg_modes:
            loss = ca["agg_loss"](loss_mat=t(mat), loss_mask=t(mask), loss_agg_mode=agg)
            add(f"agg_loss/{agg}/empty_row={with_empty}", {
                "op": "agg_loss", "loss_mat": mat, "loss_mask": mask, "loss_agg_mode": agg},
                {"loss": float(loss)})

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as f:
        for c in cases:
            f.write(json.dumps(c, separators=(",", ":")) + "\n")
    print(f"wrote {len(cases)} cases to {out} (veRL {commit})")


if __name__ == "__main__":
    main()
