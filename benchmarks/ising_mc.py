"""Ising Monte Carlo: jaxphys against vectorised NumPy (Metropolis) and SciPy (Wolff).

Metropolis. Every variant runs the same algorithm on ``C = 64`` (16 in quick mode)
independent chains of an L×L periodic lattice (L = 64 and 256; 16 in quick mode),
each chain at its own temperature (spread over 1.5–3.5): a sweep updates the even
sublattice (``(i + j)`` even) then the odd one, each site flipping with probability
``min(1, exp(-β ΔE))``, ``ΔE = 2 s_i Σ_nn s_j``, with its own random number per site,
chain and sweep. Spin updates per second = ``C · L² · sweeps / seconds`` (every site
is offered one flip per sweep). Each timed call takes ``(C, L, L)`` int8 spins and
returns them after ``K`` sweeps.

* jaxphys multi-spin: ``jaxphys.physics.metropolis_multispin`` (32 chains per uint32
  word, bit-sliced updates, 24-bit acceptance thresholds, Threefry random bits drawn
  inside the update; packing and unpacking the int8 spins are inside the timed call).
* jaxphys int8: ``jaxphys.physics.metropolis_sweep`` under ``vmap`` over the chains,
  ``K`` sweeps in one jitted ``lax.fori_loop`` (float32 uniforms from ``jax.random``).
* NumPy peer: ``(C, L, L)`` int8 arrays, neighbour sums with ``np.roll``, float32
  uniforms from ``np.random.default_rng`` (PCG64), the acceptance ``exp(-β ΔE)``
  looked up from a per-chain table of the five possible ``ΔE`` values (the usual
  vectorised trick), masked in-place flips.

Wolff. One cluster flip per chain and step (same chains and temperatures), ``K_w``
steps per timed call; cluster flips per second = ``C · K_w / seconds``.

* jaxphys multi-spin: ``jaxphys.physics.wolff_multispin`` (32 chains per uint32
  word: bit-sliced bond draws, the 32 clusters grown together by bitwise neighbour
  propagation in a ``lax.while_loop``; packing inside the timed call).
* jaxphys int8: ``jaxphys.physics.wolff_update`` under ``vmap`` (the same growth on
  one boolean lattice per chain).
* SciPy peer: per chain, the Fortuin–Kasteleyn bonds drawn with NumPy, every cluster
  labelled by ``scipy.sparse.csgraph.connected_components``, the seed's cluster flipped
  (the same Markov chain: bonds occupied independently with ``1 - e^{-2β}``).

jaxphys's first call (trace + compile + run) is reported apart; steady-state
times are medians of interleaved repeats, blocked on the outputs. Ratios: jaxphys
rate over the peer's (> 1: jaxphys faster).
"""

from __future__ import annotations

import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, register
from ._timing import time_first_call, time_interleaved

NAME = "ising_mc"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"sizes": (16,), "chains": 16, "sweeps": 4, "repeats": 2, "warmup": 1,
                "wolff_flips": 1, "wolff_repeats": 2}
    return {"sizes": (64, 256), "chains": 64, "sweeps": 50, "repeats": 5, "warmup": 1,
            "wolff_flips": 2, "wolff_repeats": 3}


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


def scipy_wolff(spins: np.ndarray, beta: np.ndarray, n_flips: int,
                rng: np.random.Generator) -> np.ndarray:
    """``n_flips`` Wolff cluster flips of each of the ``(C, L, L)`` int8 lattices, in place."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    C, L, _ = spins.shape
    index = np.arange(L * L).reshape(L, L)
    right_of, below = np.roll(index, -1, 1), np.roll(index, -1, 0)
    p_add = -np.expm1(-2.0 * beta)
    for _ in range(n_flips):
        for c in range(C):
            s = spins[c]
            right = (rng.random((L, L)) < p_add[c]) & (s == np.roll(s, -1, 1))
            down = (rng.random((L, L)) < p_add[c]) & (s == np.roll(s, -1, 0))
            rows = np.concatenate([index[right], index[down]])
            cols = np.concatenate([right_of[right], below[down]])
            graph = coo_matrix((np.ones(rows.size, np.int8), (rows, cols)),
                               shape=(L * L, L * L)).tocsr()
            _, labels = connected_components(graph, directed=False)
            seed = rng.integers(L * L)
            s[(labels == labels[seed]).reshape(L, L)] *= -1
    return spins


def _initial(L: int, cfg: dict):
    import jax

    from jaxphys.physics.ising import random_spins

    keys = jax.random.split(jax.random.key(0), cfg["chains"])
    return jax.vmap(lambda k: random_spins(k, L))(keys)


def _jax_runner(update, L: int, cfg: dict, n_steps: int):
    """``n_steps`` updates of all chains per call; ``update(key, spins (C, L, L), temps)``."""
    import jax
    import jax.numpy as jnp

    temps = jnp.linspace(1.5, 3.5, cfg["chains"])
    run = jax.jit(lambda key, s, t: update(key, s, t, n_steps))
    state = {"key": jax.random.key(1), "spins": _initial(L, cfg)}

    def step():
        state["key"], sub = jax.random.split(state["key"])
        state["spins"] = run(sub, state["spins"], temps)
        return state["spins"]

    compile_s, _ = time_first_call(step)
    return compile_s, step


def _vmapped(single):
    """``n`` steps of a per-lattice update, vmapped over chains, in one ``fori_loop``."""
    def update(key, spins, temps, n):
        import jax

        def body(i, x):
            keys = jax.random.split(jax.random.fold_in(key, i), x.shape[0])
            return jax.vmap(single)(keys, x, temps)
        return jax.lax.fori_loop(0, n, body, spins)
    return update


def _multispin(key, spins, temps, n):
    from jaxphys.physics.ising import metropolis_multispin
    return metropolis_multispin(key, spins, temps, n_sweeps=n)


def _numpy_runner(peer, L: int, cfg: dict, n_steps: int):
    C = cfg["chains"]
    rng = np.random.default_rng(0)
    spins = np.asarray(_initial(L, cfg)).copy()
    beta = 1.0 / np.linspace(1.5, 3.5, C)
    return lambda: peer(spins, beta, n_steps, rng)


def _metropolis(L: int, cfg: dict, figures: dict, table: list, ctx: Context) -> None:
    from jaxphys.physics.ising import metropolis_sweep

    K = cfg["sweeps"]
    ms_compile, ms_step = _jax_runner(_multispin, L, cfg, K)
    int8_compile, int8_step = _jax_runner(_vmapped(metropolis_sweep), L, cfg, K)
    timings = time_interleaved({"multispin": ms_step, "int8": int8_step,
                                "numpy": _numpy_runner(numpy_sweeps, L, cfg, K)},
                               warmup=cfg["warmup"], repeats=cfg["repeats"])
    updates = cfg["chains"] * L * L * K
    rate = {k: updates / t.median_s for k, t in timings.items()}
    for name, compile_s, label in (("multispin", ms_compile, "metropolis_multispin"),
                                   ("int8", int8_compile, "vmapped metropolis_sweep")):
        figures[f"L{L}_jaxphys_{name}_compile_s"] = Figure(
            compile_s, "s", f"{label}: first call (trace + compile + run)")
        figures[f"L{L}_jaxphys_{name}_updates_per_s"] = Figure(
            rate[name], "updates/s", f"{label}, {cfg['chains']} chains, median")
    figures[f"L{L}_numpy_updates_per_s"] = Figure(rate["numpy"], "updates/s", "vectorised NumPy")
    figures[f"L{L}_ratio_jaxphys_over_numpy"] = Figure(
        rate["multispin"] / rate["numpy"], "1", "multi-spin updates/s over NumPy's (>1: faster)")
    figures[f"L{L}_ratio_int8_over_numpy"] = Figure(
        rate["int8"] / rate["numpy"], "1", "int8 sampler updates/s over NumPy's")
    for name, label in (("multispin", "jaxphys multi-spin"), ("int8", "jaxphys int8 (vmap)")):
        compile_s = ms_compile if name == "multispin" else int8_compile
        table.append(["Metropolis", str(L), label, fmt(compile_s, 3), f"{rate[name]:.3g}",
                      f"{rate['numpy']:.3g}", fmt(rate[name] / rate["numpy"], 3)])
    ctx.log(f"[bench]   L={L} Metropolis: multi-spin {rate['multispin']:.3g}/s, int8 "
            f"{rate['int8']:.3g}/s, NumPy {rate['numpy']:.3g}/s "
            f"({rate['multispin'] / rate['numpy']:.1f}×, {rate['int8'] / rate['numpy']:.1f}×)")


def _wolff_multispin(key, spins, temps, n):
    from jaxphys.physics.ising import wolff_multispin
    return wolff_multispin(key, spins, temps, n_flips=n)


def _wolff(L: int, cfg: dict, figures: dict, table: list, ctx: Context) -> None:
    from jaxphys.physics.ising import wolff_update

    K = cfg["wolff_flips"]
    ms_compile, ms_step = _jax_runner(_wolff_multispin, L, cfg, K)
    int8_compile, int8_step = _jax_runner(_vmapped(wolff_update), L, cfg, K)
    timings = time_interleaved({"multispin": ms_step, "int8": int8_step,
                                "scipy": _numpy_runner(scipy_wolff, L, cfg, K)},
                               warmup=1, repeats=cfg["wolff_repeats"])
    flips = cfg["chains"] * K
    rate = {k: flips / t.median_s for k, t in timings.items()}
    for name, compile_s, label in (("multispin", ms_compile, "wolff_multispin"),
                                   ("int8", int8_compile, "vmapped wolff_update")):
        figures[f"L{L}_wolff_{name}_compile_s"] = Figure(
            compile_s, "s", f"{label}: first call (trace + compile + run)")
        figures[f"L{L}_wolff_{name}_flips_per_s"] = Figure(rate[name], "clusters/s",
                                                           f"{label}, median")
    figures[f"L{L}_wolff_scipy_flips_per_s"] = Figure(rate["scipy"], "clusters/s",
                                                      "NumPy bonds + SciPy connected_components")
    figures[f"L{L}_wolff_ratio_jaxphys_over_scipy"] = Figure(
        rate["multispin"] / rate["scipy"], "1", "multi-spin cluster flips/s over SciPy's")
    figures[f"L{L}_wolff_ratio_int8_over_scipy"] = Figure(
        rate["int8"] / rate["scipy"], "1", "int8 cluster flips/s over SciPy's")
    for name, label in (("multispin", "jaxphys multi-spin"), ("int8", "jaxphys int8 (vmap)")):
        compile_s = ms_compile if name == "multispin" else int8_compile
        table.append(["Wolff", str(L), label, fmt(compile_s, 3), f"{rate[name]:.3g}",
                      f"{rate['scipy']:.3g}", fmt(rate[name] / rate["scipy"], 3)])
    ctx.log(f"[bench]   L={L} Wolff: multi-spin {rate['multispin']:.3g} clusters/s, int8 "
            f"{rate['int8']:.3g}/s, SciPy {rate['scipy']:.3g}/s "
            f"({rate['multispin'] / rate['scipy']:.1f}×, {rate['int8'] / rate['scipy']:.1f}×)")


@register(NAME)
def ising_mc(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    figures: dict = {}
    table = [["update", "L", "jaxphys variant", "first call (s)", "jaxphys rate",
              "peer rate", "× peer"]]
    for L in cfg["sizes"]:
        _metropolis(L, cfg, figures, table, ctx)
    for L in cfg["sizes"]:
        _wolff(L, cfg, figures, table, ctx)
    return BenchResult(
        description=f"Ising Monte Carlo on {cfg['chains']} chains at different temperatures: "
                    "checkerboard Metropolis spin updates per second (jaxphys multi-spin and "
                    "int8 vs vectorised NumPy) and Wolff cluster flips per second (jaxphys "
                    "multi-spin and int8 vs SciPy connected components), same run.",
        config={**cfg, "sizes": list(cfg["sizes"])}, figures=figures, table=table,
        notes=(f"Metropolis: {cfg['sweeps']} sweeps per timed call, one update = one site "
               "offered one flip; rates in updates/s. Wolff: "
               f"{cfg['wolff_flips']} cluster flips per chain per timed call; rates in "
               "clusters/s.",
               "NumPy uses a lookup table for exp(-βΔE); the jaxphys int8 sampler evaluates "
               "exp; the multi-spin sampler compares 24-bit integer thresholds bit-sliced.",
               "The multi-spin timed calls include packing the int8 spins into words and "
               "unpacking them."))
