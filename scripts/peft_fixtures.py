#!/usr/bin/env python3
"""LoRA parity fixtures for metaalign's Rust LoRA adapters, made with real Hugging Face PEFT.

Builds a tiny random Qwen2 (transformers, f32, tied embeddings) and three PEFT
LoRA adapters on it with init_lora_weights=False (A and B both random, so the
adapter visibly changes the logits), then writes into OUT (default
metaalign-rl/tests/fixtures/peft):

  base/                 config.json + model.safetensors (Qwen2ForCausalLM.save_pretrained)
  <case>/               adapter_config.json + adapter_model.safetensors (PeftModel.save_pretrained;
                        base_model_name_or_path rewritten to "../base")
  <case>/expected.json  input_ids [B][T], logits_base and logits_adapter [B][T][vocab] (eval mode,
                        so LoRA dropout is off), max_abs_diff_base_vs_adapter, scaling, versions
  <case>/merged.safetensors
                        state dict of peft_model.merge_and_unload() with HF names
                        (model.layers.0.self_attn.q_proj.weight, ...); lm_head.weight left out
                        because the embeddings are tied
  README.md

and checks that ours/ (an adapter metaalign wrote on the same base, with
metaalign's logits) loads in PEFT with the same logits.

Cases:
  qv          r=4, alpha=8,  target q_proj,v_proj, dropout 0.0          (scaling alpha/r = 2)
  all_linear  r=8, alpha=16, target "all-linear", dropout 0.05          (scaling alpha/r = 2)
  rslora      r=4, alpha=8,  all seven projections, use_rslora=True     (scaling alpha/sqrt(r) = 4)

Usage (CPU is enough; a venv with torch, transformers, peft, safetensors):
  python3 -m venv /tmp/peftenv
  /tmp/peftenv/bin/pip install torch transformers peft safetensors
  /tmp/peftenv/bin/python scripts/peft_fixtures.py [OUT]
"""
import json
import math
import os
import sys

import peft
import safetensors
import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "metaalign-rl", "tests", "fixtures", "peft")

VOCAB = 300
INPUT_IDS = [
    [1, 17, 42, 299, 5, 128, 77],
    [250, 3, 0, 64, 199, 11, 150],
]

CASES = {
    "qv": dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0),
    "all_linear": dict(r=8, lora_alpha=16, target_modules="all-linear", lora_dropout=0.05),
    "rslora": dict(
        r=4,
        lora_alpha=8,
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        use_rslora=True,
    ),
}
CASE_SEEDS = {"qv": 101, "all_linear": 202, "rslora": 303}


def versions():
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "safetensors": safetensors.__version__,
    }


def load_base(base_dir):
    model = Qwen2ForCausalLM.from_pretrained(base_dir, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model


@torch.no_grad()
def logits_of(model, ids):
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False)
    return out.logits.float()


def main():
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
    os.makedirs(out, exist_ok=True)
    ver = versions()
    print("versions:", ver)

    # 1. tiny random base model
    torch.manual_seed(0)
    cfg = Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        rope_theta=10000.0,
        rms_norm_eps=1e-6,
    )
    base = Qwen2ForCausalLM(cfg).to(torch.float32)
    # default HF init uses std=0.02; make weights larger so LoRA effects and logits are not tiny
    with torch.no_grad():
        for name, p in base.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / math.sqrt(p.shape[-1]))
    base_dir = os.path.join(out, "base")
    base.save_pretrained(base_dir, safe_serialization=True)

    ids = torch.tensor(INPUT_IDS, dtype=torch.long)
    base_model = load_base(base_dir)
    logits_base = logits_of(base_model, ids)
    del base_model

    for case, kw in CASES.items():
        case_dir = os.path.join(out, case)
        model = load_base(base_dir)
        lcfg = LoraConfig(task_type="CAUSAL_LM", init_lora_weights=False, **kw)
        torch.manual_seed(CASE_SEEDS[case])
        pm = get_peft_model(model, lcfg)
        pm.eval()
        logits_adapter = logits_of(pm, ids)
        diff = (logits_adapter - logits_base).abs().max().item()
        print(f"[{case}] max |adapter - base| = {diff:.6g}")
        assert diff > 1e-3, f"{case}: adapter does not change the logits ({diff})"

        # scaling as PEFT set it, checked against the documented rule
        scalings = {m.scaling["default"] for m in pm.modules() if isinstance(m, LoraLayer)}
        assert len(scalings) == 1, scalings
        scaling = scalings.pop()
        r, alpha = kw["r"], kw["lora_alpha"]
        want = alpha / math.sqrt(r) if kw.get("use_rslora") else alpha / r
        assert abs(scaling - want) < 1e-12, (scaling, want)
        targeted = sorted({n.split(".")[-1] for n, m in pm.named_modules() if isinstance(m, LoraLayer)})
        print(f"[{case}] scaling = {scaling}, targeted modules = {targeted}")

        pm.save_pretrained(case_dir, safe_serialization=True)
        card = os.path.join(case_dir, "README.md")  # PEFT's auto-generated model card: not needed
        if os.path.exists(card):
            os.remove(card)
        acfg_path = os.path.join(case_dir, "adapter_config.json")
        with open(acfg_path) as f:
            acfg = json.load(f)
        acfg["base_model_name_or_path"] = "../base"
        if isinstance(acfg.get("target_modules"), list):
            # PEFT writes a set in hash order; sort it so reruns give identical files
            acfg["target_modules"] = sorted(acfg["target_modules"])
        with open(acfg_path, "w") as f:
            json.dump(acfg, f, indent=2, sort_keys=True)
            f.write("\n")

        # round trip: reload from disk with PeftModel.from_pretrained and check the same logits
        reloaded = PeftModel.from_pretrained(load_base(base_dir), case_dir)
        reloaded.eval()
        rt = (logits_of(reloaded, ids) - logits_adapter).abs().max().item()
        assert rt < 1e-5, f"{case}: reload mismatch {rt}"
        del reloaded

        # 4. merge
        merged = pm.merge_and_unload()
        merged.eval()
        logits_merged = logits_of(merged, ids)
        md = (logits_merged - logits_adapter).abs().max().item()
        print(f"[{case}] max |merged - adapter| = {md:.3g}")
        assert md < 1e-4, md
        sd = {k: v.detach().contiguous().clone() for k, v in merged.state_dict().items()}
        if cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        assert not any("lora" in k for k in sd), [k for k in sd if "lora" in k]
        save_file(sd, os.path.join(case_dir, "merged.safetensors"))

        expected = {
            "case": case,
            "lora": {k: v for k, v in kw.items()},
            "scaling": scaling,
            "targeted_modules": targeted,
            "input_ids": INPUT_IDS,
            "logits_base": logits_base.tolist(),
            "logits_adapter": logits_adapter.tolist(),
            "max_abs_diff_base_vs_adapter": diff,
            "max_abs_diff_merged_vs_adapter": md,
            "versions": ver,
        }
        with open(os.path.join(case_dir, "expected.json"), "w") as f:
            json.dump(expected, f, separators=(",", ":"))
            f.write("\n")

    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(
            "# PEFT LoRA parity fixtures\n\n"
            "`base/` is a tiny random Qwen2 (vocab 300, hidden 32, 2 layers, tied embeddings, f32); "
            "`qv/`, `all_linear/`, `rslora/` are Hugging Face PEFT LoRA adapters on it "
            "(`adapter_config.json`, `adapter_model.safetensors`), with `expected.json` "
            "(input ids, base and adapter logits) and `merged.safetensors` (merge_and_unload state dict, no lm_head).\n"
            "Made by `scripts/peft_fixtures.py` (CPU) with "
            f"torch {ver['torch']}, transformers {ver['transformers']}, peft {ver['peft']}, "
            f"safetensors {ver['safetensors']}.\n"
        )

    check_ours(out)

    total = 0
    for root, _, files in os.walk(out):
        for name in sorted(files):
            p = os.path.join(root, name)
            sz = os.path.getsize(p)
            total += sz
            print(f"{sz:9d}  {os.path.relpath(p, out)}")
    print(f"total {total} bytes ({total / 1e6:.3f} MB)")


def check_ours(out):
    """The other direction: `ours/`, an adapter metaalign wrote on the same
    base (`cargo test -p metaalign-rl --test lora -- --ignored
    write_our_adapter`), loads in PEFT and gives metaalign's logits."""
    ours = os.path.join(out, "ours")
    if not os.path.isdir(ours):
        print("ours/ is absent: write it with the ignored Rust test, then run this again")
        return
    with open(os.path.join(ours, "expected.json")) as f:
        expected = json.load(f)
    model = PeftModel.from_pretrained(load_base(os.path.join(out, "base")), ours)
    model.eval()
    got = logits_of(model, torch.tensor(expected["input_ids"], dtype=torch.long))
    want = torch.tensor(expected["logits_adapter"], dtype=torch.float32)
    diff = (got - want).abs().max().item()
    print(f"[ours] PEFT loads metaalign's adapter: max |PEFT - metaalign| logits = {diff:.3g}")
    assert diff < 1e-4, diff


if __name__ == "__main__":
    main()
