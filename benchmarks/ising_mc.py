"""Ising checkerboard Metropolis: jaxphys against a vectorised NumPy implementation.

Both run the same algorithm on ``C = 64`` (16 in quick mode) independent chains of an
L×L periodic lattice (L = 64 and 256; 16 in quick mode), each chain at its own
temperature (spread over 1.5–3.5): a sweep updates the even sublattice
(``(i + j)`` even) then the odd one, each site flipping with probability
``min(1, exp(-β ΔE))``, ``ΔE = 2 s_i Σ_nn s_j``, one uniform random number per site
and sweep. Spin updates per second = ``C · L² · sweeps / seconds`` (every site is
offered one flip per sweep).

* jaxphys: ``jaxphys.physics.metropolis_sweep`` under ``vmap`` over the chains
  (temperatures a traced array), ``K`` sweeps in one jitted ``lax.fori_loop``
  (int8 spins, float32 uniforms from the threefry PRNG).
* NumPy peer: ``(C, L, L)`` int8 arrays, neighbour sums with ``np.roll``, float32
  uniforms from ``np.random.default_rng`` (PCG64), the acceptance ``exp(-β ΔE)``
  looked up from a per-chain table of the five possible ``ΔE`` values (the usual
  vectorised trick), masked in-place flips.

jaxphys's first call (trace + compile + run) is reported apart; steady-state
times are medians of interleaved repeats, blocked on the outputs. Ratio: jaxphys
updates/s over NumPy updates/s (> 1: jaxphys faster).
"""

from __future__ import annotations

import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, register
from ._timing import time_first_call, time_interleaved

NAME = "ising_mc"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"sizes": (16,), "chains": 16, "sweeps": 4, "repeats": 2, "warmup": 1}
    return {"sizes": (64, 256), "chains": 64, "sweeps": 50, "repeats": 5, "warmup": 1}


def numpy_sweeps(spins: np.ndarray, beta: np.ndarray, n_sweeps: int,
                 rng: np.random.Generator) -> np.ndarray:
    """``n_sweeps`` checkerboard Metropolis sweeps of ``(C, L, L)`` int8 spins, in place."""
    C, L, _ = spins.shape
    parity = ((np.arange(L)[:, None] + np.arange(L)[None, :]) % 2).astype(bool)
    masks = (~parity, parity)
    # ΔE = 2 s Σnn ∈ {-8, -4, 0, 4, 8}: index (s·Σnn + 4) / 2 ∈ {0, 1, 2, 3, 4}
    table = np.minimum(1.0, np.exp(-beta[:, None] * 2.0 * np.array([-4, -2, 0, 2, 4])[None]))
    table = table.astype(np.float32)
    chain_idx = np.arange(C)[:, None, None]
    for _ in range(n_sweeps):
        u = rng.random((C, L, L), dtype=np.float32)
        for mask in masks:
            nb = (np.roll(spins, 1, 1) + np.roll(spins, -1, 1) + np.roll(spins, 1, 2)
                  + np.roll(spins, -1, 2))
            idx = (spins * nb + 4) // 2
            flip = mask & (u < table[chain_idx, idx])
            spins[flip] *= -1
    return spins


def _jax_runner(L: int, cfg: dict):
    import jax
    import jax.numpy as jnp

    from jaxphys.physics._ising_mc import metropolis_sweep, random_spins

    C, K = cfg["chains"], cfg["sweeps"]
    temps = jnp.linspace(1.5, 3.5, C)
    init_key, run_key = jax.random.split(jax.random.key(0))
    spins = jax.vmap(lambda k: random_spins(k, L))(jax.random.split(init_key, C))

    @jax.jit
    def run(key, s, t):
        def body(_, carry):
            k, x = carry
            k, sub = jax.random.split(k)
            return k, jax.vmap(metropolis_sweep)(jax.random.split(sub, C), x, t)

        return jax.lax.fori_loop(0, K, body, (key, s))

    compile_s, (key, spins) = time_first_call(run, run_key, spins, temps)
    state = {"key": key, "spins": spins}

    def step():
        state["key"], state["spins"] = run(state["key"], state["spins"], temps)
        return state["spins"]

    return compile_s, step, lambda: float(jnp.mean(state["spins"].astype(jnp.float32)))


def _numpy_runner(L: int, cfg: dict):
    C, K = cfg["chains"], cfg["sweeps"]
    rng = np.random.default_rng(0)
    spins = np.where(rng.random((C, L, L)) < 0.5, 1, -1).astype(np.int8)
    beta = 1.0 / np.linspace(1.5, 3.5, C)

    def step():
        return numpy_sweeps(spins, beta, K, rng)

    return step


@register(NAME)
def ising_mc(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    figures, table = {}, [["L", "chains", "jaxphys first call (s)", "jaxphys updates/s",
                           "NumPy updates/s", "× NumPy"]]
    for L in cfg["sizes"]:
        compile_s, jx_step, _ = _jax_runner(L, cfg)
        np_step = _numpy_runner(L, cfg)
        timings = time_interleaved({"jaxphys": jx_step, "numpy": np_step},
                                   warmup=cfg["warmup"], repeats=cfg["repeats"])
        updates = cfg["chains"] * L * L * cfg["sweeps"]
        jx = updates / timings["jaxphys"].median_s
        npy = updates / timings["numpy"].median_s
        figures[f"L{L}_jaxphys_compile_s"] = Figure(compile_s, "s",
                                                    "first call (trace + compile + run)")
        figures[f"L{L}_jaxphys_updates_per_s"] = Figure(jx, "updates/s",
                                                        f"{cfg['chains']} chains, median")
        figures[f"L{L}_numpy_updates_per_s"] = Figure(npy, "updates/s", "vectorised NumPy")
        figures[f"L{L}_ratio_jaxphys_over_numpy"] = Figure(jx / npy, "1",
                                                           "updates/s ratio (>1: faster)")
        table.append([str(L), str(cfg["chains"]), fmt(compile_s, 3), f"{jx:.3g}", f"{npy:.3g}",
                      fmt(jx / npy, 3)])
        ctx.log(f"[bench]   L={L}: jaxphys {jx:.3g} updates/s, NumPy {npy:.3g} "
                f"({jx / npy:.2f}×)")
    return BenchResult(
        description=f"Checkerboard Metropolis spin updates per second, {cfg['chains']} chains "
                    "at different temperatures, jaxphys (jit + vmap) vs vectorised NumPy, "
                    "same run.",
        config={**cfg, "sizes": list(cfg["sizes"])}, figures=figures, table=table,
        notes=(f"{cfg['sweeps']} sweeps per timed call; one update = one site offered one "
               "flip.", "NumPy uses a lookup table for exp(-βΔE); jaxphys evaluates exp."))
