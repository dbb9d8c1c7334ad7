"""``fit``: the one Python driver around a composed train step."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from ._checkpoint import (checkpoint_path, latest_checkpoint, prune_checkpoints,
                          read_checkpoint_metadata, restore_checkpoint, save_checkpoint)
from ._optimizers import resolve_optimizer
from ._train_state import TrainState
from ._train_step import make_eval_step, make_train_step


class EarlyStopping(NamedTuple):
    """Stop when a validation metric stops improving.

    Fields:
        metric: name of a validation metric (a key of the eval metrics, e.g. ``'loss'``).
        patience: number of consecutive evaluations without improvement before stopping.
        mode: ``'min'`` or ``'max'``.
        min_delta: an improvement must beat the best value by more than this.
        restore_best: return the parameters (and model state) of the best evaluation.
    """

    metric: str = "loss"
    patience: int = 5
    mode: str = "min"
    min_delta: float = 0.0
    restore_best: bool = True


class FitResult(NamedTuple):
    """What :func:`fit` returns.

    Fields:
        state: the final :class:`TrainState` (best params restored under early stopping).
        history: ``{'step': [...], 'loss': [...], 'grad_norm': [...], 'skipped': [...],
            <aux>: [...], 'val_step': [...], 'val_loss': [...], 'val_<aux>': [...]}``;
            train entries are means over each logged chunk of steps (``skipped`` is a
            count), validation entries one per evaluation. Steps count from the start of
            this fit.
        best_step: the step of the best validation value (None without validation).
        stopped_early: True if early stopping ended the run.
    """

    state: TrainState
    history: dict
    best_step: int | None
    stopped_early: bool


def _leading_size(data: Any, name: str) -> int:
    leaves = jax.tree.leaves(data)
    if not leaves:
        raise ValueError(f"{name}: expected a pytree of arrays, got no arrays")
    sizes = {int(np.shape(x)[0]) if np.ndim(x) > 0 else -1 for x in leaves}
    if -1 in sizes:
        raise ValueError(f"{name}: every array needs a leading example axis; found a scalar")
    if len(sizes) != 1:
        raise ValueError(f"{name}: all arrays must share the leading axis size, got sizes "
                         f"{sorted(sizes)}")
    return sizes.pop()


def _fingerprint(**kw) -> str:
    return json.dumps(kw, sort_keys=True, default=str)


def fit(key: jax.Array, state: TrainState, loss_fn: Callable, optimizer: optax.GradientTransformation,
        train_data: Any, *, n_steps: int | None = None, n_epochs: int | None = None,
        batch_size: int | None = None, val_data: Any = None, eval_every: int | None = None,
        eval_loss_fn: Callable | None = None, early_stopping: EarlyStopping | None = None,
        checkpoint_dir: str | Path | None = None, checkpoint_every: int | None = None,
        keep_checkpoints: int = 3, resume: bool = True, progress: bool = True,
        clip_norm: float | None = None, guard_nonfinite: bool = True,
        has_model_state: bool = False, chunk_size: int = 100, unroll: int | bool = 1,
        mesh: Any = None,
        callback: Callable[[int, TrainState, dict], Any] | None = None,
        desc: str = "fit") -> FitResult:
    """Train ``state`` on ``train_data`` with minibatches, validation, early stopping
    and checkpoints.

    Each epoch is a fresh permutation of the ``N`` examples drawn from
    ``fold_in(shuffle_key, epoch)``; step ``s`` gets the key ``fold_in(step_key, s)``,
    so every random choice depends on the step number alone and a resumed run is
    bit-identical to an uninterrupted one (on one device). Steps run in jitted
    chunks of at most ``chunk_size`` with ``lax.scan``; the Python loop only logs,
    validates and checkpoints between chunks. When ``N`` is not a multiple of
    ``batch_size`` the ``N mod batch_size`` examples left over by an epoch's
    permutation are not used in that epoch (each epoch leaves out different ones).

    Args:
        key: PRNG key for shuffling, step keys and validation keys.
        state: the :class:`TrainState` to start from.
        loss_fn: ``loss_fn(params, batch, key) -> (loss, aux)``; ``batch`` is
            ``train_data`` indexed along its leading axis.
        optimizer: the optax transformation ``state.opt_state`` belongs to, or the
            same name / ``(name, kwargs)`` that the state was created with.
        train_data: a pytree of arrays with a common leading axis ``N``.
        n_steps / n_epochs: how long to train (exactly one of them).
        batch_size: minibatch size (default: the full batch, ``N``).
        val_data: optional pytree like ``train_data`` for validation.
        eval_every: validate every this many steps (default: once per epoch) and at the end.
        eval_loss_fn: loss used for validation (default ``loss_fn``).
        early_stopping: an :class:`EarlyStopping`, requires ``val_data``.
        checkpoint_dir / checkpoint_every: save every this many steps and at the end;
            with ``resume`` a run restarts from the latest checkpoint in the folder.
        keep_checkpoints: how many recent checkpoints to keep.
        progress: show a tqdm bar with the running loss.
        clip_norm, guard_nonfinite, has_model_state: passed to :func:`make_train_step`.
        chunk_size: steps per jitted ``lax.scan`` chunk (compiled once; a chunk cut
            short by validation or a checkpoint skips its remaining iterations).
        unroll: passed to ``lax.scan``; unrolling a few steps can help XLA on CPU
            for convolutional models (a rolled scan of convolutions runs slower there).
        mesh: optional ``jax.sharding.Mesh`` with a ``'data'`` axis: each batch is
            sharded over it and parameters stay replicated (data parallelism).
        callback: ``callback(step, state, history)`` after every chunk; a truthy
            return value stops training.

    Returns:
        A :class:`FitResult`.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> x = jnp.linspace(-1, 1, 64); data = {"x": x, "y": 2.0 * x + 0.5}
        >>> def loss_fn(p, batch, key):
        ...     return jnp.mean((p["w"] * batch["x"] + p["b"] - batch["y"]) ** 2), {}
        >>> opt = optax.adam(0.05)
        >>> state = TrainState.create({"w": jnp.zeros(()), "b": jnp.zeros(())}, opt)
        >>> res = fit(jax.random.key(0), state, loss_fn, opt, data, n_epochs=100,
        ...           batch_size=16, progress=False)
        >>> round(float(res.state.params["w"]), 2), round(float(res.state.params["b"]), 2)
        (2.0, 0.5)
    """
    optimizer = resolve_optimizer(optimizer)
    n = _leading_size(train_data, "train_data")
    if (n_steps is None) == (n_epochs is None):
        raise ValueError("n_steps/n_epochs: give exactly one of them")
    bs = n if batch_size is None else int(batch_size)
    if not 1 <= bs <= n:
        raise ValueError(f"batch_size: must be between 1 and the number of examples {n}, got {bs}")
    steps_per_epoch = n // bs
    total = int(n_steps) if n_steps is not None else int(n_epochs) * steps_per_epoch
    if total < 1:
        raise ValueError(f"n_steps/n_epochs: must give at least one step, got {total}")
    if val_data is not None:
        _leading_size(val_data, "val_data")
        eval_every = int(eval_every) if eval_every else steps_per_epoch
    if early_stopping is not None:
        if val_data is None:
            raise ValueError("early_stopping: needs val_data")
        if early_stopping.mode not in ("min", "max"):
            raise ValueError(f"early_stopping.mode: expected 'min' or 'max', got {early_stopping.mode!r}")
    if checkpoint_dir is not None:
        checkpoint_every = int(checkpoint_every) if checkpoint_every else max(total // 10, 1)
    if chunk_size < 1:
        raise ValueError(f"chunk_size: must be >= 1, got {chunk_size}")

    shuffle_key, step_key, val_key = jax.random.split(key, 3)
    train_data = jax.tree.map(jnp.asarray, train_data)
    # fit donates the state it trains; copy once so the caller's arrays stay valid
    state = jax.tree.map(jnp.copy, state)
    step_fn = make_train_step(loss_fn, optimizer, clip_norm=clip_norm,
                              guard_nonfinite=guard_nonfinite, has_model_state=has_model_state,
                              jit=False)
    eval_fn = make_eval_step(eval_loss_fn or loss_fn, has_model_state=has_model_state)

    batch_sharding = None
    if mesh is not None:
        from jax.sharding import NamedSharding, PartitionSpec

        batch_sharding = NamedSharding(mesh, PartitionSpec("data"))
        if bs % mesh.shape["data"]:
            raise ValueError(f"batch_size: {bs} is not divisible by the mesh's 'data' axis "
                             f"({mesh.shape['data']} devices)")

    # Every chunk is a scan of the same length `chunk` (one compilation); a chunk that
    # must end early (validation, checkpoint, the last steps) masks its tail with
    # lax.cond, which skips the step's work rather than computing and discarding it.
    chunk = min(int(chunk_size), total)

    def run_chunk(st, data, idx, step_ids, active, skey):
        def real_step(carry, i, s):
            batch = jax.tree.map(lambda a: a[i], data)
            if batch_sharding is not None:
                batch = jax.lax.with_sharding_constraint(batch, batch_sharding)
            return step_fn(carry, batch, jax.random.fold_in(skey, s))

        metric_shapes = jax.eval_shape(real_step, st, idx[0], step_ids[0])[1]

        def body(carry, xs):
            i, s, on = xs
            return jax.lax.cond(
                on, real_step,
                lambda c, i_, s_: (c, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype),
                                                   metric_shapes)),
                carry, i, s)
        return jax.lax.scan(body, st, (idx, step_ids, active), unroll=unroll)

    run_chunk_jit = jax.jit(run_chunk, donate_argnums=(0,))
    perm_fn = jax.jit(lambda k, e: jax.random.permutation(jax.random.fold_in(k, e), n))
    perms: dict[int, np.ndarray] = {}

    def batch_indices(r0: int, length: int) -> np.ndarray:
        rows = []
        for r in range(r0, r0 + length):
            epoch, j = divmod(r, steps_per_epoch)
            if bs == n:
                rows.append(np.arange(n))
                continue
            if epoch not in perms:
                perms.clear()
                perms[epoch] = np.asarray(perm_fn(shuffle_key, epoch))
            rows.append(perms[epoch][j * bs:(j + 1) * bs])
        return np.stack(rows).astype(np.int32)

    def evaluate(st, r):
        sums: dict[str, float] = {}
        vkey = jax.random.fold_in(val_key, r)
        m = eval_fn(st, val_data, vkey)
        for k_, v in m.items():
            if np.ndim(v) == 0:
                sums[k_] = float(v)
        return sums

    # --- run state: relative step, history, early-stopping bookkeeping
    start_step = int(state.step)
    r = 0
    history: dict[str, list] = {"step": [], "val_step": []}
    sign = -1.0 if (early_stopping and early_stopping.mode == "max") else 1.0
    best_value, best_step, bad_evals, stopped = math.inf, None, 0, False
    best = jax.tree.map(jnp.copy, (state.params, state.model_state))
    fingerprint = _fingerprint(n=n, bs=bs, total=total, eval_every=eval_every,
                               checkpoint_every=checkpoint_every, chunk_size=chunk_size,
                               start_step=start_step)

    if checkpoint_dir is not None and resume:
        latest = latest_checkpoint(checkpoint_dir)
        if latest is not None:
            meta = read_checkpoint_metadata(latest)
            if meta.get("fingerprint") != fingerprint:
                raise ValueError(f"checkpoint_dir: {checkpoint_dir} holds a run with other "
                                 f"settings ({meta.get('fingerprint')}); this run has "
                                 f"{fingerprint}. Use another folder or resume=False.")
            restored = restore_checkpoint(latest, {"state": state, "best": best})
            state, best = restored["state"], restored["best"]
            r = int(meta["r"])
            history = meta["history"]
            best_value = meta["best_value"] if meta["best_value"] is not None else math.inf
            best_step, bad_evals, stopped = meta["best_step"], meta["bad_evals"], meta["stopped"]

    def save(st, r_):
        meta = {"fingerprint": fingerprint, "r": r_, "history": history,
                "best_value": None if math.isinf(best_value) else best_value,
                "best_step": best_step, "bad_evals": bad_evals, "stopped": stopped}
        save_checkpoint(checkpoint_path(checkpoint_dir, st.step), {"state": st, "best": best},
                        metadata=meta)
        prune_checkpoints(checkpoint_dir, keep_checkpoints)

    bar = tqdm(total=total, initial=r, desc=desc, disable=not progress, leave=False,
               dynamic_ncols=True)
    try:
        while r < total and not stopped:
            nxt = min(total, r + chunk)
            if val_data is not None:
                nxt = min(nxt, (r // eval_every + 1) * eval_every)
            if checkpoint_dir is not None:
                nxt = min(nxt, (r // checkpoint_every + 1) * checkpoint_every)
            length = nxt - r
            idx = np.zeros((chunk, bs), np.int32)
            idx[:length] = batch_indices(r, length)
            sids = np.arange(r, r + chunk, dtype=np.int32)
            active = np.arange(chunk) < length
            state, metrics = run_chunk_jit(state, train_data, jnp.asarray(idx), jnp.asarray(sids),
                                           jnp.asarray(active), step_key)
            metrics = {k_: np.asarray(v)[:length] for k_, v in metrics.items()}
            r = nxt
            history["step"].append(r)
            skipped = np.asarray(metrics["skipped"])
            for k_, v in metrics.items():
                v = np.asarray(v)
                if v.ndim != 1:
                    continue
                if k_ == "skipped":
                    val = int(v.sum())
                else:
                    ok = (skipped == 0) & np.isfinite(v)
                    val = float(v[ok].mean()) if ok.any() else float("nan")
                history.setdefault(k_, []).append(val)
            postfix = {"loss": f"{history['loss'][-1]:.4g}"}

            if val_data is not None and (r % eval_every == 0 or r == total):
                vm = evaluate(state, r)
                history["val_step"].append(r)
                for k_, v in vm.items():
                    history.setdefault(f"val_{k_}", []).append(v)
                postfix["val_loss"] = f"{vm['loss']:.4g}"
                if early_stopping is not None:
                    if early_stopping.metric not in vm:
                        raise ValueError(f"early_stopping.metric: {early_stopping.metric!r} is not "
                                         f"a validation metric; have {sorted(vm)}")
                    value = sign * vm[early_stopping.metric]
                    if value < best_value - early_stopping.min_delta:
                        best_value, best_step, bad_evals = value, r, 0
                        best = jax.tree.map(jnp.copy, (state.params, state.model_state))
                    else:
                        bad_evals += 1
                        stopped = bad_evals >= early_stopping.patience
                elif best_step is None or vm["loss"] < best_value:
                    best_value, best_step = vm["loss"], r
            bar.set_postfix(postfix)
            bar.update(length)
            if checkpoint_dir is not None and (r % checkpoint_every == 0 or r == total or stopped):
                save(state, r)
            if callback is not None and callback(r, state, history):
                break
    finally:
        bar.close()

    if early_stopping is not None and early_stopping.restore_best and best_step is not None:
        state = state._replace(params=best[0], model_state=best[1])
    return FitResult(state=state, history=history, best_step=best_step, stopped_early=bool(stopped))
