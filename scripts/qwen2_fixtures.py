#!/usr/bin/env python3
"""Parity fixtures for metaalign-rl's candle Qwen2 (run with /work/pyenv/bin/python).

Creates tiny random checkpoints with Hugging Face transformers and records
reference logits and 32-token greedy continuations, into
metaalign-rl/tests/fixtures/:

  qwen2_untied/   Qwen2, separate lm_head, f32, one model.safetensors
  qwen2_tied/     Qwen2, tie_word_embeddings=True
  qwen2_sharded/  Qwen2, bf16 on disk, several shards + model.safetensors.index.json
  qwen2_llama/    Llama architecture (no attention biases) through the same code

Each directory holds the checkpoint plus reference.safetensors (input_ids
[2, 12] as i64, logits [2, 12, vocab] f32) and reference.json (greedy
continuation token ids of each row).

It also loads a checkpoint that OUR code saved (`--ours DIR`, made with
`metaalign model init`) with transformers, fails on any missing or
unexpected key, and writes its logits and the Python tokenizer's encodings
into qwen2_ours/ (the checkpoint copied beside them) for the Rust test.

Usage:
  cargo run --bin metaalign -- model init --spec scripts/qwen2_fixture_spec.json --out /tmp/ours --seed 3
  /work/pyenv/bin/python scripts/qwen2_fixtures.py --ours /tmp/ours
"""
import argparse
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import (AutoModelForCausalLM, AutoTokenizer, LlamaConfig,
                          LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "metaalign-rl", "tests", "fixtures")
VOCAB = 400  # larger than the char tokenizer (272 ids), like Qwen's padded vocab
TOK_IDS = 272
GREEDY = 32


def greedy(model, ids, n):
    out = []
    cur = ids.clone()
    for _ in range(n):
        with torch.no_grad():
            logits = model(cur).logits[:, -1, :]
        nxt = logits.argmax(-1, keepdim=True)
        out.append(nxt)
        cur = torch.cat([cur, nxt], dim=1)
    return torch.cat(out, dim=1).tolist()


def perturb(model):
    """Random biases and norm weights too, so every parameter matters."""
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias"):
                p.normal_(0.0, 0.1)
            elif "norm" in n:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))


def make(name, model, tokenizer_dir, bf16=False, shard=None):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    model.eval()
    perturb(model)
    if bf16:
        # Round the weights to bf16 so the reference matches what is on disk.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(torch.bfloat16).to(torch.float32))
    g = torch.Generator().manual_seed(1234)
    ids = torch.randint(0, TOK_IDS, (2, 12), generator=g)
    with torch.no_grad():
        logits = model(ids).logits.float().contiguous()
    cont = greedy(model, ids, GREEDY)
    save_model = model.to(torch.bfloat16) if bf16 else model
    kw = {"max_shard_size": shard} if shard else {}
    save_model.save_pretrained(d, safe_serialization=True, **kw)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tokenizer_dir, f), os.path.join(d, f))
    save_file({"input_ids": ids.contiguous(), "logits": logits}, os.path.join(d, "reference.safetensors"))
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"greedy": cont, "greedy_tokens": GREEDY}, f)
    files = sorted(os.listdir(d))
    print(name, files)


def check_ours(ours):
    model, info = AutoModelForCausalLM.from_pretrained(ours, output_loading_info=True, torch_dtype=torch.float32)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    if bad:
        raise SystemExit(f"transformers reported problems loading our checkpoint: {bad}")
    model.eval()
    tok = AutoTokenizer.from_pretrained(ours)
    text = "¬(A ∧ B) → C\n<think>x ⊕ y</think><answer>(1) A is True</answer>"
    enc = tok(text, add_special_tokens=False)["input_ids"]
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    g = torch.Generator().manual_seed(99)
    ids = torch.randint(0, len(tok), (2, 10), generator=g)
    with torch.no_grad():
        logits = model(ids).logits.float().contiguous()
    d = os.path.join(OUT, "qwen2_ours")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(ours, d)
    save_file({"input_ids": ids.contiguous(), "logits": logits}, os.path.join(d, "reference.safetensors"))
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"text": text, "python_ids": enc, "python_decoded": tok.decode(enc, skip_special_tokens=False),
                   "chat_prompt": chat, "loading_info": {k: list(v) for k, v in info.items()}}, f, ensure_ascii=False)
    print("qwen2_ours: transformers loaded our checkpoint with no missing/unexpected keys")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ours", required=True, help="a checkpoint saved by `metaalign model init`")
    a = ap.parse_args()
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                  rms_norm_eps=1e-6, initializer_range=0.1)
    torch.manual_seed(1)
    make("qwen2_untied", Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=False, rope_theta=10000.0)), a.ours)
    torch.manual_seed(2)
    make("qwen2_tied", Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=True, rope_theta=1000000.0)), a.ours)
    torch.manual_seed(3)
    make("qwen2_sharded", Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=False)), a.ours,
         bf16=True, shard="20KB")
    torch.manual_seed(4)
    make("qwen2_llama", LlamaForCausalLM(LlamaConfig(**common, tie_word_embeddings=False, attention_bias=False)), a.ours)
    check_ours(a.ours)


if __name__ == "__main__":
    main()
