#!/usr/bin/env python3
"""Creates small random Llama-architecture checkpoints and mergekit's merges
of them, as parity fixtures for metaalign-merge's tests.

Usage (from the repository root, with the venv that has mergekit + torch):
    /work/pyenv/bin/python scripts/mergekit_fixtures.py [OUT_DIR]

OUT_DIR defaults to metaalign-merge/tests/fixtures/mergekit. It gets
inputs/{base,model_a,model_b,model_c}/ (f32 safetensors + config.json), one
<case>.yml per merge (model paths relative to OUT_DIR) and expected/<case>/
with mergekit's output. Model paths are written as ./inputs/NAME so that
mergekit's model card code does not look them up on the Hugging Face Hub. Everything is seeded; rerunning gives the same files.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

HIDDEN, INTER, LAYERS, HEADS, KV_HEADS, VOCAB = 16, 32, 3, 2, 2, 64
HEAD_DIM = HIDDEN // HEADS


def shapes():
    s = {"model.embed_tokens.weight": (VOCAB, HIDDEN)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        s[p + "self_attn.q_proj.weight"] = (HIDDEN, HIDDEN)
        s[p + "self_attn.k_proj.weight"] = (KV_HEADS * HEAD_DIM, HIDDEN)
        s[p + "self_attn.v_proj.weight"] = (KV_HEADS * HEAD_DIM, HIDDEN)
        s[p + "self_attn.o_proj.weight"] = (HIDDEN, HIDDEN)
        s[p + "mlp.gate_proj.weight"] = (INTER, HIDDEN)
        s[p + "mlp.up_proj.weight"] = (INTER, HIDDEN)
        s[p + "mlp.down_proj.weight"] = (HIDDEN, INTER)
        s[p + "input_layernorm.weight"] = (HIDDEN,)
        s[p + "post_attention_layernorm.weight"] = (HIDDEN,)
    s["model.norm.weight"] = (HIDDEN,)
    s["lm_head.weight"] = (VOCAB, HIDDEN)
    return s


CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": HIDDEN,
    "intermediate_size": INTER,
    "num_hidden_layers": LAYERS,
    "num_attention_heads": HEADS,
    "num_key_value_heads": KV_HEADS,
    "vocab_size": VOCAB,
    "max_position_embeddings": 128,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": False,
    "torch_dtype": "float32",
}


def write_model(path: Path, tensors):
    path.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path / "model.safetensors"), metadata={"format": "pt"})
    (path / "config.json").write_text(json.dumps(CONFIG, indent=2))


def make_models(out: Path):
    g = torch.Generator().manual_seed(1234)
    base = {n: torch.randn(s, generator=g) * 0.02 for n, s in shapes().items()}
    write_model(out / "inputs" / "base", base)
    for k, name in enumerate(["model_a", "model_b", "model_c"]):
        # fine-tunes: base plus a task vector of a different scale per model
        scale = [0.01, 0.02, 0.005][k]
        tensors = {n: (t + torch.randn(t.shape, generator=g) * scale).contiguous() for n, t in base.items()}
        write_model(out / "inputs" / name, tensors)


CASES = {
    # the paper's merge: deduction 1.0, induction 0.2, abduction 0.1, normalized
    "linear_norm": """
models:
  - model: ./inputs/model_a
    parameters: {weight: 1.0}
  - model: ./inputs/model_b
    parameters: {weight: 0.2}
  - model: ./inputs/model_c
    parameters: {weight: 0.1}
merge_method: linear
dtype: float32
""",
    "linear_raw": """
models:
  - model: ./inputs/model_a
    parameters: {weight: 1.0}
  - model: ./inputs/model_b
    parameters: {weight: 0.2}
  - model: ./inputs/model_c
    parameters: {weight: 0.1}
merge_method: linear
parameters: {normalize: false}
dtype: float32
""",
    # per-tensor weights: filters and a gradient over layers
    "linear_filters": """
models:
  - model: ./inputs/model_a
    parameters:
      weight:
        - filter: self_attn
          value: [1.0, 0.5, 0.0]
        - filter: mlp
          value: 0.3
        - value: 1.0
  - model: ./inputs/model_b
    parameters: {weight: 0.5}
merge_method: linear
dtype: float32
""",
    "task_arithmetic": """
models:
  - model: ./inputs/model_a
    parameters: {weight: 1.0}
  - model: ./inputs/model_b
    parameters: {weight: 0.5}
  - model: ./inputs/model_c
    parameters: {weight: 0.3}
merge_method: task_arithmetic
base_model: ./inputs/base
parameters: {lambda: 0.8}
dtype: float32
""",
    "ties": """
models:
  - model: ./inputs/base
  - model: ./inputs/model_a
    parameters: {weight: 1.0, density: 0.5}
  - model: ./inputs/model_b
    parameters: {weight: 0.5, density: [0.3, 0.7]}
  - model: ./inputs/model_c
    parameters: {weight: 0.3, density: 0.9}
merge_method: ties
base_model: ./inputs/base
dtype: float32
""",
    "slerp": """
slices:
  - sources:
      - model: ./inputs/base
        layer_range: [0, 3]
      - model: ./inputs/model_a
        layer_range: [0, 3]
merge_method: slerp
base_model: ./inputs/base
parameters:
  t:
    - filter: self_attn
      value: [0.0, 0.5, 1.0]
    - filter: mlp
      value: [1.0, 0.5, 0.0]
    - value: 0.4
dtype: float32
""",
    "breadcrumbs": """
models:
  - model: ./inputs/model_a
    parameters: {weight: 1.0, density: 0.6, gamma: 0.1}
  - model: ./inputs/model_b
    parameters: {weight: 0.5, density: 0.8, gamma: 0.05}
merge_method: breadcrumbs
base_model: ./inputs/base
dtype: float32
""",
    "breadcrumbs_ties": """
models:
  - model: ./inputs/model_a
    parameters: {weight: 1.0, density: 0.6, gamma: 0.1}
  - model: ./inputs/model_b
    parameters: {weight: 0.5, density: 0.8, gamma: 0.1}
  - model: ./inputs/model_c
    parameters: {weight: 0.7, density: 0.7, gamma: 0.1}
merge_method: breadcrumbs_ties
base_model: ./inputs/base
dtype: float32
""",
    "model_stock": """
models:
  - model: ./inputs/model_a
  - model: ./inputs/model_b
  - model: ./inputs/model_c
merge_method: model_stock
base_model: ./inputs/base
dtype: float32
""",
    "model_stock_filter_wise": """
models:
  - model: ./inputs/model_a
  - model: ./inputs/model_b
  - model: ./inputs/model_c
merge_method: model_stock
base_model: ./inputs/base
parameters: {filter_wise: true}
dtype: float32
""",
}


def main():
    root = Path(__file__).resolve().parent.parent
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "metaalign-merge/tests/fixtures/mergekit"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    make_models(out)
    mergekit = Path(sys.executable).parent / "mergekit-yaml"
    for case, yml in CASES.items():
        (out / f"{case}.yml").write_text(yml.lstrip())
        dest = out / "expected" / case
        subprocess.run(
            [str(mergekit), f"{case}.yml", str(dest.relative_to(out)), "--quiet"],
            cwd=out,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
            check=True,
        )
        # keep only what the tests read
        for f in dest.iterdir():
            if f.name not in ("model.safetensors", "config.json"):
                f.unlink() if f.is_file() else shutil.rmtree(f)
        print(f"{case}: ok")


if __name__ == "__main__":
    main()
