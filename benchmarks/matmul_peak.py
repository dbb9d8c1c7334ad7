"""Matmul peak: the FLOP/s a large float32 ``jnp.dot`` reaches on this device.

This is the practical ceiling the train-step benchmarks are compared against
(achieved FLOP/s as a fraction of it), measured in the same run on the same
device. A square ``n × n`` product costs ``2 n³`` FLOPs (one multiply and one
add per term). The peak is the best of several repeats (fastest time), after
warm-up; the median is reported beside it. PyTorch's ``torch.mm`` on the same
matrices is timed too when torch is installed, for context, its repeats
interleaved with JAX's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._runner import BenchResult, Context, Figure, peer_threads, register
from ._timing import time_first_call, time_interleaved

NAME = "matmul_peak"


def _sizes(ctx: Context) -> dict:
    if ctx.quick:
        return {"n": 128, "warmup": 1, "repeats": 3, "pause_s": 0.0}
    n = 2048 if jax.default_backend() == "cpu" else 8192
    return {"n": n, "warmup": 2, "repeats": 10, "pause_s": 0.2}


@register(NAME)
def matmul_peak(ctx: Context) -> BenchResult:
    cfg = _sizes(ctx)
    n = cfg["n"]
    rng = np.random.default_rng(0)
    a_np = rng.standard_normal((n, n), dtype=np.float32)
    b_np = rng.standard_normal((n, n), dtype=np.float32)
    a, b = jnp.asarray(a_np), jnp.asarray(b_np)
    flops = 2.0 * n**3

    dot = jax.jit(jnp.dot)
    compile_s, _ = time_first_call(dot, a, b)
    runners = {"jax": lambda: dot(a, b)}
    notes = [f"FLOPs per product: 2·n³ = {flops:.4g}."]
    try:
        import torch
    except ImportError:
        torch = None
        notes.append("torch not installed: torch.mm not timed.")
    prev = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(peer_threads(ctx))
            ta, tb = torch.from_numpy(a_np), torch.from_numpy(b_np)
            runners["torch"] = lambda: torch.mm(ta, tb)
        # Interleaved repeats: both libraries see the same machine load.
        times = time_interleaved(runners, warmup=cfg["warmup"], repeats=cfg["repeats"],
                                 pause_s=cfg["pause_s"])
    finally:
        if torch is not None:
            torch.set_num_threads(prev)
    t = times["jax"]
    figures = {
        "peak_gflops": Figure(flops / t.min_s / 1e9, "GFLOP/s",
                              f"jitted jnp.dot float32 {n}x{n}, best of {t.repeats}"),
        "median_gflops": Figure(flops / t.median_s / 1e9, "GFLOP/s",
                                f"same, median of {t.repeats}"),
        "compile_s": Figure(compile_s, "s", "first call (trace + compile + run)"),
    }
    if "torch" in times:
        tt = times["torch"]
        figures["torch_peak_gflops"] = Figure(
            flops / tt.min_s / 1e9, "GFLOP/s",
            f"torch.mm float32 {n}x{n} on CPU, {peer_threads(ctx)} threads, best of "
            f"{tt.repeats}")
    ctx.log(f"[bench]   jnp.dot {n}x{n}: {figures['peak_gflops'].value:.1f} GFLOP/s peak")
    return BenchResult(
        description="Peak float32 matrix-multiply throughput of jitted `jnp.dot` on the JAX "
                    "default device (the ceiling for the achieved-FLOP/s fractions).",
        config={**cfg, "dtype": "float32", "device": str(jax.devices()[0])},
        figures=figures,
        notes=tuple(notes),
    )
