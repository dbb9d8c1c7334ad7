"""Transformer generation: tokens/s with and without the key-value cache, same model, same run.

Model: ``jaxphys.nn.CausalLM`` (decoder-only, pre-norm, learned positions) with
random weights (the speed does not depend on them), float32. Task: greedy
generation (``temperature=0``) of ``new_tokens`` tokens after a random prompt of
``prompt_len`` tokens for a batch of ``batch`` sequences, with
``jaxphys.nn.generate`` — the whole loop is one jitted ``lax.scan``:

* ``cache``: the prompt is run once (prefill) into a :class:`KVCache`, then every
  new token is one single-token ``decode`` step attending over the cache: cost
  per token O(L·d·T_cache) for attention plus O(L·d²) for the projections;
* ``no_cache``: every step re-runs the model on the whole fixed-length token
  buffer (``prompt_len + new_tokens``) and reads the logits at the current
  position: cost per token O(L·T·d²), i.e. the full prefix each time.

Both are checked to produce the same tokens. Compile time (first call: trace +
compile + one run, blocked) is reported apart from the steady state:
tokens/s = ``batch · new_tokens`` / (median seconds per ``generate`` call, blocked),
the repeats of the two variants interleaved round-robin. The ratio is
cache tokens/s over no-cache tokens/s (> 1: the cache is faster); it grows with
the sequence length.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, register
from ._timing import time_first_call, time_interleaved

NAME = "transformer_generation"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"vocab": 32, "d_model": 32, "heads": 2, "layers": 1, "batch": 2,
                "prompt_len": 4, "new_tokens": 12, "warmup": 1, "repeats": 3, "pause_s": 0.0}
    return {"vocab": 128, "d_model": 128, "heads": 4, "layers": 2, "batch": 4,
            "prompt_len": 16, "new_tokens": 112, "warmup": 1, "repeats": 7, "pause_s": 0.3}


@register(NAME)
def transformer_generation(ctx: Context) -> BenchResult:
    from jaxphys.nn import CausalLM, generate

    cfg = _config(ctx)
    total = cfg["prompt_len"] + cfg["new_tokens"]
    model = CausalLM(vocab_size=cfg["vocab"], max_len=total, d_model=cfg["d_model"],
                     num_heads=cfg["heads"], num_layers=cfg["layers"])
    init_key, prompt_key, gen_key = jax.random.split(jax.random.key(0), 3)
    params = jax.jit(model.init)(init_key, jnp.zeros((1, total), jnp.int32))
    prompt = jax.random.randint(prompt_key, (cfg["batch"], cfg["prompt_len"]), 0, cfg["vocab"])
    n_calls = 1 + cfg["warmup"] + cfg["repeats"]
    keys = {"cache": list(jax.random.split(jax.random.fold_in(gen_key, 0), n_calls)),
            "no_cache": list(jax.random.split(jax.random.fold_in(gen_key, 1), n_calls))}
    counters = {"cache": 0, "no_cache": 0}

    def runner(name: str):
        use_cache = name == "cache"

        def call():
            key = keys[name][counters[name] % n_calls]
            counters[name] += 1
            return generate(key, model, params, prompt, cfg["new_tokens"], temperature=0.0,
                            use_cache=use_cache)
        return call

    runners = {name: runner(name) for name in ("cache", "no_cache")}
    compile_s, outputs = {}, {}
    for name, fn in runners.items():
        compile_s[name], outputs[name] = time_first_call(fn)
        ctx.log(f"[bench]   {name}: compile {compile_s[name]:.2f} s")
    same = bool(np.array_equal(np.asarray(outputs["cache"]), np.asarray(outputs["no_cache"])))
    timings = time_interleaved(runners, warmup=cfg["warmup"], repeats=cfg["repeats"],
                               pause_s=cfg["pause_s"])
    n_tokens = cfg["batch"] * cfg["new_tokens"]
    tps = {name: n_tokens / t.median_s for name, t in timings.items()}
    best = {name: n_tokens / t.min_s for name, t in timings.items()}
    ratio = tps["cache"] / tps["no_cache"]
    for name in runners:
        ctx.log(f"[bench]   {name}: {tps[name]:.0f} tokens/s median")
    figures = {
        "cache_compile_s": Figure(compile_s["cache"], "s", "with KV cache, first call"),
        "no_cache_compile_s": Figure(compile_s["no_cache"], "s", "without cache, first call"),
        "cache_tokens_per_s": Figure(tps["cache"], "tokens/s", "with KV cache, median"),
        "cache_tokens_per_s_best": Figure(best["cache"], "tokens/s", "same, best repeat"),
        "no_cache_tokens_per_s": Figure(tps["no_cache"], "tokens/s",
                                        "without cache (full recompute), median"),
        "no_cache_tokens_per_s_best": Figure(best["no_cache"], "tokens/s", "same, best repeat"),
        "speedup_cache_vs_no_cache": Figure(ratio, "1", "cache / no-cache tokens/s (median)"),
        "outputs_identical": Figure(float(same), "1", "1 if both produced the same tokens"),
    }
    table = [["variant", "compile s", "tokens/s (median)", "tokens/s (best)", "ratio"],
             ["KV cache", fmt(compile_s["cache"], 3), fmt(tps["cache"]), fmt(best["cache"]),
              fmt(ratio, 3)],
             ["no cache", fmt(compile_s["no_cache"], 3), fmt(tps["no_cache"]),
              fmt(best["no_cache"]), "1"]]
    notes = [f"Greedy generation of {cfg['new_tokens']} tokens after a {cfg['prompt_len']}-token "
             f"prompt, batch {cfg['batch']}; one jitted lax.scan per generate call.",
             "The no-cache variant re-runs the model on the whole fixed-length buffer "
             f"({total} positions) for every new token."]
    if not same:
        notes.append("WARNING: the two variants produced different tokens.")
    return BenchResult(
        description=f"CausalLM ({cfg['layers']} layers, d_model {cfg['d_model']}, "
                    f"{cfg['heads']} heads, vocab {cfg['vocab']}) generation tokens/s with "
                    "and without the key-value cache, same model, same run.",
        config=cfg, figures=figures, table=table, notes=tuple(notes))
