#!/usr/bin/env python3
"""PyTorch + PEFT + transformers side of the LoRA RL step benchmark
(metaalign-rl/examples/bench_memory.rs is ours): one GRPO-style step of a
LoRA adapter on a randomly initialised model of Qwen2.5-0.5B-Instruct's
shape, on the CPU with the same thread count, reporting wall time and peak
RSS (ru_maxrss) the way ours does. Two processes, so creating the model
does not count:

  python scripts/lora_step_bench.py init /tmp/pt05
  python scripts/lora_step_bench.py step /tmp/pt05 --prompts 2 --samples 2 \
      --new-tokens 32 --micro 4 --lora-r 16 --prompt-tokens 120 --threads 2

The step: `generate` (sampling, KV cache) of prompts x samples rows, old
log-probs (no grad), reference log-probs with the adapter disabled (the
base), then per micro-batch the log-probs with grad, a clipped policy-
gradient loss with a KL term, backward, and one AdamW step on the adapter.
f32 weights, as metaalign holds them.
"""
import argparse
import resource
import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def config():
    return Qwen2Config(
        vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
        num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
        rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)


def init(out):
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config()).to(torch.float32)
    model.save_pretrained(out, safe_serialization=True)
    print(f"wrote {sum(p.numel() for p in model.parameters())} parameters to {out}")


def logprobs(model, ids, attn, start):
    logits = model(input_ids=ids, attention_mask=attn).logits[:, start - 1:-1, :].float()
    return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, start:].unsqueeze(-1)).squeeze(-1)


def step(model_dir, a):
    from peft import LoraConfig, get_peft_model
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=a.lora_r, lora_alpha=2 * a.lora_r,
                                             target_modules="all-linear", lora_dropout=0.0,
                                             task_type="CAUSAL_LM"))
    t0 = time.time()
    rows = a.prompts * a.samples
    prompts = torch.randint(0, 272, (a.prompts, a.prompt_tokens)).repeat_interleave(a.samples, 0)
    with torch.no_grad():
        out = model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts),
                             max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                             do_sample=True, temperature=1.0, top_k=0, pad_token_id=0)
    t_gen = time.time() - t0
    attn = torch.ones_like(out)
    start = a.prompt_tokens
    with torch.no_grad():
        old = torch.cat([logprobs(model, out[i:i + a.micro], attn[i:i + a.micro], start)
                         for i in range(0, rows, a.micro)])
        with model.disable_adapter():
            ref = torch.cat([logprobs(model, out[i:i + a.micro], attn[i:i + a.micro], start)
                             for i in range(0, rows, a.micro)])
    adv = torch.randn(rows).unsqueeze(-1)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
    for i in range(0, rows, a.micro):
        lp = logprobs(model, out[i:i + a.micro], attn[i:i + a.micro], start)
        ratio = torch.exp(lp - old[i:i + a.micro])
        pg = -torch.min(ratio * adv[i:i + a.micro],
                        ratio.clamp(0.8, 1.2) * adv[i:i + a.micro]).mean()
        d = ref[i:i + a.micro] - lp
        kl = (torch.exp(d) - d - 1).mean()
        ((pg + 0.001 * kl) * (min(a.micro, rows - i) / rows)).backward()
    opt.step()
    opt.zero_grad()
    wall = time.time() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"torch {torch.__version__}: {a.prompts} prompts x {a.samples} samples, {a.new_tokens} new tokens, "
          f"micro-batch {a.micro}, lora r {a.lora_r}, prompts of {a.prompt_tokens} tokens, {a.threads} threads")
    print(f"  wall {wall:.1f} s (generate {t_gen:.1f} s; load excluded)")
    print(f"  peak RSS {peak / 2**30:.2f} GiB")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["init", "step"])
    p.add_argument("dir")
    p.add_argument("--prompts", type=int, default=2)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--micro", type=int, default=4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--prompt-tokens", type=int, default=120)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    init(a.dir) if a.mode == "init" else step(a.dir, a)


if __name__ == "__main__":
    sys.exit(main())
