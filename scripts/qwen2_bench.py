#!/usr/bin/env python3
"""PyTorch figures for the same configs as metaalign-rl/examples/bench_policy.rs.

  cargo run --release -p metaalign-rl --example bench_policy -- --save-dir /tmp/bench_models
  /work/pyenv/bin/python scripts/qwen2_bench.py --models /tmp/bench_models [--threads 2]

Sampling tokens/s at batch 1 and 16 (KV cache, temperature 1, 128 new
tokens, EOS disabled) and seconds per training step (batch 8 x 256 tokens:
forward, token log-prob loss, backward, grad clipping, AdamW), f32 on CPU.
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
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for preset in a.presets.split(","):
        model = AutoModelForCausalLM.from_pretrained(os.path.join(a.models, preset), torch_dtype=torch.float32)
        model.eval()
        n_params = sum(p.numel() for p in model.parameters())
        vocab = model.config.vocab_size
        prompt = torch.tensor([[(i * 13 + 5) % 250 for i in range(40)]])
        res = {}
        with torch.no_grad():
            model.generate(prompt, max_new_tokens=8, do_sample=True, top_p=1.0, top_k=0, temperature=1.0)
            for b in (1, 16):
                ids = prompt.repeat(b, 1)
                t = time.perf_counter()
                out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=a.new_tokens,
                                     min_new_tokens=a.new_tokens, do_sample=True, top_p=1.0, top_k=0,
                                     temperature=1.0, eos_token_id=None, pad_token_id=0)
                secs = time.perf_counter() - t
                res[b] = (out.shape[1] - ids.shape[1]) * b / secs
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        rows = torch.tensor([[(i * 31 + r * 7 + 3) % vocab for i in range(256)] for r in range(8)])
        times = []
        for i in range(a.steps + 1):
            t = time.perf_counter()
            logits = model(rows).logits[:, :-1, :]
            lp = torch.log_softmax(logits, -1).gather(-1, rows[:, 1:, None]).squeeze(-1)
            loss = -lp.mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            if i > 0:
                times.append(time.perf_counter() - t)
        step = sum(times) / len(times)
        print(f"torch  {preset:>5} ({n_params:>8} params): sample b1 {res[1]:>8.1f} tok/s | sample b16 {res[16]:>8.1f} tok/s | train step (8x256) {step:.3f} s")
        print(json.dumps({"impl": "torch", "preset": preset, "params": n_params, "sample_tok_s_b1": res[1],
                          "sample_tok_s_b16": res[16], "train_step_s": step, "threads": a.threads}))


if __name__ == "__main__":
    main()
