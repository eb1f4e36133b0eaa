#!/usr/bin/env python3
"""PyTorch + PEFT + transformers side of the LoRA RL step benchmark
(metaalign-rl/examples/bench_memory.rs is ours): one GRPO-style step of a
LoRA adapter on a randomly initialised model of Qwen2.5-0.5B-Instruct's
shape, on the CPU with the same thread count, reporting wall time and peak
RSS (ru_maxrss) the way ours does. Two processes, so creating the model
does not count:

  python scripts/lora_step_bench.py init /tmp/pt05 [--shape 0.5b|1.5b] [--dtype bf16]
  python scripts/lora_step_bench.py step /tmp/pt05 --prompts 2 --samples 2 \
      --new-tokens 32 --micro 4 --lora-r 16 --prompt-tokens 120 --threads 2 \
      [--dtype f32|bf16] [--device cpu|cuda:0]
  python scripts/lora_step_bench.py rollout /tmp/pt05 --rows 32 --new-tokens 128 \
      --prompt-tokens 120 [--dtype ...] [--device ...]

The step: `generate` (sampling, KV cache) of prompts x samples rows, old
log-probs (no grad), reference log-probs with the adapter disabled (the
base), then per micro-batch the log-probs with grad, a clipped policy-
gradient loss with a KL term, backward, and one AdamW step on the adapter.
`--dtype` is the base's dtype (PEFT keeps the adapter in f32); the rollout
mode times one `generate` batch (EOS off) in tokens per second.
"""
import argparse
import resource
import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


SHAPES = {
    "0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                 num_attention_heads=14, num_key_value_heads=2),
    "1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                 num_attention_heads=12, num_key_value_heads=2),
}
DTYPES = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}


def config(shape="0.5b"):
    return Qwen2Config(
        vocab_size=151936, max_position_embeddings=32768, rope_theta=1000000.0,
        rms_norm_eps=1e-6, tie_word_embeddings=True, **SHAPES[shape])


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_memory(device):
    if device.startswith("cuda"):
        return f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
    return f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30:.2f} GiB"


def init(out, a):
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config(a.shape)).to(DTYPES[a.dtype])
    model.save_pretrained(out, safe_serialization=True)
    print(f"wrote {sum(p.numel() for p in model.parameters())} parameters to {out}")


def logprobs(model, ids, attn, start):
    logits = model(input_ids=ids, attention_mask=attn).logits[:, start - 1:-1, :].float()
    return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, start:].unsqueeze(-1)).squeeze(-1)


def rollout(model_dir, a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=DTYPES[a.dtype]).to(a.device)
    prompts = torch.randint(0, 272, (a.rows, a.prompt_tokens), device=a.device)
    sync(a.device)
    t0 = time.time()
    with torch.no_grad():
        out = model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts),
                             max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                             do_sample=True, temperature=1.0, top_k=0, pad_token_id=0)
    sync(a.device)
    wall = time.time() - t0
    tokens = (out.shape[1] - a.prompt_tokens) * a.rows
    print(f"torch {torch.__version__} generate: {a.rows} rows x {a.new_tokens} new tokens after "
          f"{a.prompt_tokens} prompt tokens, {a.dtype}, {a.device}, {a.threads} threads")
    print(f"  {tokens} tokens in {wall:.2f} s: {tokens / wall:.1f} tokens/s; {peak_memory(a.device)}")


def step(model_dir, a):
    from peft import LoraConfig, get_peft_model
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Qwen2ForCausalLM.from_pretrained(model_dir, torch_dtype=DTYPES[a.dtype]).to(a.device)
    model = get_peft_model(model, LoraConfig(r=a.lora_r, lora_alpha=2 * a.lora_r,
                                             target_modules="all-linear", lora_dropout=0.0,
                                             task_type="CAUSAL_LM"))
    sync(a.device)
    t0 = time.time()
    rows = a.prompts * a.samples
    prompts = torch.randint(0, 272, (a.prompts, a.prompt_tokens),
                            device=a.device).repeat_interleave(a.samples, 0)
    with torch.no_grad():
        out = model.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts),
                             max_new_tokens=a.new_tokens, min_new_tokens=a.new_tokens,
                             do_sample=True, temperature=1.0, top_k=0, pad_token_id=0)
    sync(a.device)
    t_gen = time.time() - t0
    attn = torch.ones_like(out)
    start = a.prompt_tokens
    with torch.no_grad():
        old = torch.cat([logprobs(model, out[i:i + a.micro], attn[i:i + a.micro], start)
                         for i in range(0, rows, a.micro)])
        with model.disable_adapter():
            ref = torch.cat([logprobs(model, out[i:i + a.micro], attn[i:i + a.micro], start)
                             for i in range(0, rows, a.micro)])
    adv = torch.randn(rows, device=a.device).unsqueeze(-1)
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
    sync(a.device)
    wall = time.time() - t0
    print(f"torch {torch.__version__}: {a.prompts} prompts x {a.samples} samples, {a.new_tokens} new tokens, "
          f"micro-batch {a.micro}, lora r {a.lora_r}, prompts of {a.prompt_tokens} tokens, "
          f"base {a.dtype}, {a.device}, {a.threads} threads")
    print(f"  wall {wall:.1f} s (generate {t_gen:.1f} s; load excluded)")
    print(f"  {peak_memory(a.device)}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["init", "step", "rollout"])
    p.add_argument("dir")
    p.add_argument("--prompts", type=int, default=2)
    p.add_argument("--samples", type=int, default=2)
    p.add_argument("--new-tokens", type=int, default=32)
    p.add_argument("--micro", type=int, default=4)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--prompt-tokens", type=int, default=120)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rows", type=int, default=32)
    p.add_argument("--shape", choices=sorted(SHAPES), default="0.5b")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="f32")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    {"init": lambda: init(a.dir, a), "step": lambda: step(a.dir, a),
     "rollout": lambda: rollout(a.dir, a)}[a.mode]()


if __name__ == "__main__":
    sys.exit(main())
