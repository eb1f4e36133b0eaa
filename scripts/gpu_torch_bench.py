#!/usr/bin/env python3
"""PyTorch-on-GPU figures for the configs that bench_policy measures, for the
side-by-side table in docs/cuda.md (run by scripts/gpu_check.sh on the device).

  python3 scripts/gpu_torch_bench.py --models DIR [--presets tiny,small] [--device cuda:0]

DIR/<preset> are HF checkpoints (e.g. from `metaalign model init --spec <preset>`).
Same measurement as scripts/qwen2_bench.py (sampling tokens/s at batch 1 and 16,
128 new tokens, temperature 1, EOS disabled, KV cache; seconds per training step
at batch 8 x 256 tokens: forward, token log-prob loss, backward, clipping, AdamW),
f32, with device synchronisation around every timed region.
"""
import argparse
import json
import os
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", required=True)
    ap.add_argument("--presets", default="tiny,small")
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--device", default="cuda:0")
    a = ap.parse_args()
    dev = torch.device(a.device)
    sync = (lambda: torch.cuda.synchronize(dev)) if dev.type == "cuda" else (lambda: None)
    for preset in a.presets.split(","):
        model = AutoModelForCausalLM.from_pretrained(os.path.join(a.models, preset), dtype=torch.float32).to(dev)
        model.eval()
        n_params = sum(p.numel() for p in model.parameters())
        vocab = model.config.vocab_size
        prompt = torch.tensor([[(i * 13 + 5) % min(vocab, 300) for i in range(40)]], device=dev)
        res = {}
        with torch.no_grad():
            model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=8, do_sample=True,
                           top_p=1.0, top_k=0, temperature=1.0, pad_token_id=0)
            for b in (1, 16):
                ids = prompt.repeat(b, 1)
                sync()
                t = time.perf_counter()
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=a.new_tokens,
                                     min_new_tokens=a.new_tokens, do_sample=True, top_p=1.0, top_k=0,
                                     temperature=1.0, eos_token_id=None, pad_token_id=0)
                sync()
                secs = time.perf_counter() - t
                res[b] = (out.shape[1] - ids.shape[1]) * b / secs
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        rows = torch.tensor([[(i * 31 + r * 7 + 3) % vocab for i in range(256)] for r in range(8)], device=dev)
        times = []
        for i in range(a.steps + 1):
            sync()
            t = time.perf_counter()
            logits = model(rows).logits[:, :-1, :]
            lp = torch.log_softmax(logits, -1).gather(-1, rows[:, 1:, None]).squeeze(-1)
            loss = -lp.mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            sync()
            if i > 0:
                times.append(time.perf_counter() - t)
        step = sum(times) / len(times)
        print(f"torch  {preset:>5} ({n_params:>8} params) on {dev}: sample b1 {res[1]:>8.1f} tok/s | "
              f"sample b16 {res[16]:>8.1f} tok/s | train step (8x256) {step:.4f} s")
        print(json.dumps({"impl": "torch", "device": str(dev), "preset": preset, "params": n_params,
                          "sample_tok_s_b1": res[1], "sample_tok_s_b16": res[16], "train_step_s": step}))


if __name__ == "__main__":
    main()
