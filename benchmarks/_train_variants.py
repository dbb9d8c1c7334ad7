"""Shared harness for the train-step benchmarks (MLP, CNN): the two jaxphys variants
(one jitted step per Python call; K steps in one ``lax.scan`` as ``fit`` runs them),
the PyTorch peer's step loop, and their interleaved timing."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._runner import Context, peer_threads
from ._timing import time_first_call, time_interleaved


def jaxphys_variants(loss_fn: Callable, optimizer: Any, params: Any, x_np: np.ndarray,
                     y_np: np.ndarray, cfg: dict, ctx: Context, key: jax.Array) -> dict:
    """Build, compile and return runners for both jaxphys variants.

    ``optimizer`` goes into the state (``TrainState.create(params, optimizer)``); the
    steps are ``make_train_step(loss_fn)`` and read it from there.

    ``x_np``/``y_np`` hold ``n_batches`` batches along axis 0; ``cfg`` needs
    ``steps_per_repeat``, ``warmup``, ``repeats``, ``chunk`` and ``batch``. Returns
    ``{'step': runner, 'scan': runner, 'first_metrics', 'jitted_step', 'fresh_state',
    'batches'}``, each runner a dict with ``compile_s``, ``run`` and ``steps_per_call``.
    """
    from jaxphys.core import TrainState, make_train_step

    step_keys_key, scan_keys_key = jax.random.split(key)
    x_all, y_all = jnp.asarray(x_np), jnp.asarray(y_np)
    batches = [{"x": x_all[i], "y": y_all[i]} for i in range(x_np.shape[0])]
    make_state = jax.jit(lambda p: TrainState.create(p, optimizer))

    def fresh_state():  # new buffers each time (the steps donate their input state)
        return make_state(params)

    # --- one jitted step per Python call -------------------------------------------------
    spr, warmup, repeats = cfg["steps_per_repeat"], cfg["warmup"], cfg["repeats"]
    step = make_train_step(loss_fn)            # the optimiser travels in the state
    step_keys = list(jax.random.split(step_keys_key, 1 + (warmup + repeats + 1) * spr))
    compile_s, (state, first_metrics) = time_first_call(step, fresh_state(), batches[0],
                                                        step_keys[0])
    counter = 1

    def run_steps():
        nonlocal state, counter
        metrics = None
        for _ in range(spr):
            state, metrics = step(state, batches[counter % len(batches)], step_keys[counter])
            counter += 1
        return state, metrics

    ctx.log(f"[bench]   jaxphys step: compile {compile_s:.2f} s")

    # --- K steps inside one lax.scan (how fit runs chunks) -------------------------------
    # As in ``jaxphys.core.fit``: the whole data set lives on the device, each scan step
    # gathers its batch by an index row and folds the step number into the chunk's key.
    chunk, b = cfg["chunk"], cfg["batch"]
    pure_step = make_train_step(loss_fn, jit=False)

    def run_chunk(state, data, idx, step_ids, key):
        def body(carry, xs):
            rows, step_id = xs
            batch = jax.tree.map(lambda a: a[rows], data)
            carry, metrics = pure_step(carry, batch, jax.random.fold_in(key, step_id))
            return carry, metrics["loss"]

        return jax.lax.scan(body, state, (idx, step_ids))

    run_chunk = jax.jit(run_chunk, donate_argnums=(0,))
    data = {"x": x_all.reshape((-1,) + x_np.shape[2:]), "y": y_all.reshape(-1)}
    # Chunk rows cycle through the same batches, in the same order, as the per-call step.
    idx = jnp.asarray((np.arange(chunk)[:, None] % x_np.shape[0]) * b + np.arange(b)[None, :],
                      dtype=jnp.int32)
    chunk_keys = list(jax.random.split(scan_keys_key, 1 + warmup + repeats))
    step_ids = [jnp.arange(i * chunk, (i + 1) * chunk, dtype=jnp.int32)
                for i in range(1 + warmup + repeats)]
    compile_scan_s, (scan_state, _) = time_first_call(run_chunk, fresh_state(), data, idx,
                                                      step_ids[0], chunk_keys[0])
    calls = 1

    def run_scan():
        nonlocal scan_state, calls
        scan_state, losses = run_chunk(scan_state, data, idx, step_ids[calls], chunk_keys[calls])
        calls += 1
        return scan_state, losses

    ctx.log(f"[bench]   jaxphys scan K={chunk}: compile {compile_scan_s:.2f} s")
    return {"step": {"compile_s": compile_s, "run": run_steps, "steps_per_call": spr},
            "scan": {"compile_s": compile_scan_s, "run": run_scan, "steps_per_call": chunk},
            "first_metrics": first_metrics, "jitted_step": step, "fresh_state": fresh_state,
            "batches": batches}


def torch_step_runner(one_step: Callable[[int], Any], steps_per_call: int) -> dict:
    """Time ``one_step(0)`` (the first eager step) and return a runner doing
    ``steps_per_call`` further steps per call; ``first`` is the first step's result."""
    import torch

    first_s, first = time_first_call(one_step, 0)
    counter = 1

    def run_steps():
        nonlocal counter
        out = None
        for _ in range(steps_per_call):
            out = one_step(counter)
            counter += 1
        return out

    return {"compile_s": first_s, "run": run_steps, "steps_per_call": steps_per_call,
            "first": first, "version": torch.__version__}


def time_against_torch(jx: dict, setup_torch: Callable[[], dict], cfg: dict,
                       ctx: Context) -> dict | None:
    """Time the jaxphys variants and (if torch imports) the torch peer interleaved, with
    torch on ``peer_threads(ctx)`` threads (every core; one in quick mode). Fills
    ``median``/``best`` steps/s and ``spread`` (slowest/fastest repeat) into each runner;
    returns the torch runner or None."""
    try:
        import torch
    except ImportError:
        torch = None
        ctx.log("[bench]   torch not installed: peer skipped")
    variants = {"step": jx["step"], "scan": jx["scan"]}
    tr = None
    prev_threads = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(peer_threads(ctx))
            tr = setup_torch()
            tr["threads"] = peer_threads(ctx)
            variants["torch"] = tr
        timings = time_interleaved({k: v["run"] for k, v in variants.items()},
                                   warmup=cfg["warmup"], repeats=cfg["repeats"],
                                   pause_s=cfg["pause_s"])
    finally:
        if torch is not None:
            torch.set_num_threads(prev_threads)
    for name, v in variants.items():
        t = timings[name]
        v.pop("run")
        v["median"] = v["steps_per_call"] / t.median_s
        v["best"] = v["steps_per_call"] / t.min_s
        v["spread"] = t.max_s / t.min_s
        ctx.log(f"[bench]   {name}: {v['median']:.1f} steps/s median, {v['best']:.1f} best, "
                f"slowest/fastest repeat {v['spread']:.2f}")
    return tr
