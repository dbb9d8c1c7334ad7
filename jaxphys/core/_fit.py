"""``fit``: the one Python driver around a composed train step."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ._checkpoint import (checkpoint_path, latest_checkpoint, prune_checkpoints,
                          read_checkpoint_metadata, remove_stale_temporaries, restore_checkpoint,
                          save_checkpoint)
from jaxphys._checks import check_key

from ._loop import _Loop, as_count, batch_plan, leading_size
from ._train_state import TrainState
from ._train_step import cached_step, check_step_counter


class EarlyStopping(NamedTuple):
    """Stop when a validation metric stops improving.

    Fields:
        metric: name of a validation metric (a key of the eval metrics, e.g. ``'loss'``).
        patience: number of consecutive evaluations without improvement before stopping.
        mode: ``'min'`` or ``'max'``.
        min_delta: an improvement must beat the best value by more than this.
        restore_best: return the parameters (and model state) of the best evaluation.

    Pass it to :func:`fit` together with ``val_data``.

    Example:
        >>> from jaxphys.core import EarlyStopping
        >>> EarlyStopping()
        EarlyStopping(metric='loss', patience=5, mode='min', min_delta=0.0, restore_best=True)
        >>> EarlyStopping(metric="accuracy", mode="max", patience=3)._replace(patience=10)
        EarlyStopping(metric='accuracy', patience=10, mode='max', min_delta=0.0, restore_best=True)
    """

    metric: str = "loss"
    patience: int = 5
    mode: str = "min"
    min_delta: float = 0.0
    restore_best: bool = True


class FitResult(NamedTuple):
    """What every trainer in the library returns (:func:`fit` and all that use it).

    Fields:
        state: the final state, a :class:`TrainState` or the custom step's state (under
            early stopping with ``restore_best``, the best evaluation's params and model
            state, or the best custom state).
        history: ``{'step': [...], 'loss': [...], 'grad_norm': [...], 'skipped': [...],
            <aux>: [...], 'val_step': [...], 'val_loss': [...], 'val_<aux>': [...]}``;
            train entries are means over each logged chunk of steps (``skipped`` is a
            count), validation entries one per evaluation. Steps count from the start of
            this fit.
        best_step: the step of the best validation value (None without validation).
        stopped_early: True if early stopping ended the run.

    Example:
        >>> from jaxphys.core import FitResult
        >>> res = FitResult(state=None, history={"step": [100, 200, 300], "loss": [0.9, 0.4, 0.2],
        ...                                      "val_step": [100, 200, 300],
        ...                                      "val_loss": [1.0, 0.5, 0.6]},
        ...                 best_step=200, stopped_early=False)
        >>> res.history["val_loss"][res.history["val_step"].index(res.best_step)]
        0.5
    """

    state: Any
    history: dict
    best_step: int | None
    stopped_early: bool

    @classmethod
    def from_metrics(cls, state: Any, metrics: dict, *, first_step: int = 1) -> "FitResult":
        """A result from :func:`run_steps` output: one history entry per step.

        ``history['step']`` counts ``first_step, first_step + 1, …``; every scalar-per-step
        metric becomes a list of floats (``skipped`` of ints).

        Example:
            >>> import numpy as np
            >>> res = FitResult.from_metrics(None, {"loss": np.array([2.0, 1.0]),
            ...                                     "skipped": np.array([0, 1])})
            >>> res.history["step"], res.history["loss"], res.history["skipped"]
            ([1, 2], [2.0, 1.0], [0, 1])
        """
        history: dict[str, list] = {"val_step": []}
        length = None
        for name, values in metrics.items():
            values = np.asarray(values)
            if values.ndim != 1:
                continue
            length = len(values)
            history[name] = (values.astype(int).tolist() if name == "skipped"
                             else values.astype(float).tolist())
        history["step"] = list(range(first_step, first_step + (length or 0)))
        return cls(state=state, history=history, best_step=None, stopped_early=False)


def _fingerprint(**kw) -> str:
    return json.dumps(kw, sort_keys=True, default=str)


@functools.partial(jax.jit, static_argnames=("step", "batch_size", "unroll", "mesh"),
                   donate_argnums=(0,))
def _run_chunk(state, data, active, shuffle_key, step_key, *, step, batch_size, unroll, mesh):
    """One chunk of ``fit``: the loop of :func:`run_steps` with inactive steps masked.

    Compiled once per (step, shapes, batch size, unroll, mesh) and reused by later calls
    of ``fit`` with the same step (pretraining stages, resumed runs)."""
    constraint = None
    if mesh is not None:
        from jax.sharding import NamedSharding, PartitionSpec

        sharding = NamedSharding(mesh, PartitionSpec("data"))

        def constraint(batch):
            return jax.lax.with_sharding_constraint(batch, sharding)

    loop = _Loop(step, leading_size(data, "train_data"), batch_size, constraint)
    return loop.scan(state, data, (shuffle_key, step_key), active.shape[0], active=active,
                     unroll=unroll)


def _copy(tree: Any) -> Any:
    return jax.tree.map(lambda x: jnp.copy(x) if isinstance(x, jax.Array) else x, tree)


def fit(key: jax.Array, state: Any, train_data: Any, *, loss_fn: Callable | None = None,
        step: Callable | None = None, n_steps: int | None = None, n_epochs: int | None = None,
        batch_size: int | None = None, val_data: Any = None, eval_every: int | None = None,
        eval_fn: Callable | None = None, early_stopping: EarlyStopping | None = None,
        checkpoint_dir: str | Path | None = None, checkpoint_every: int | None = None,
        keep_checkpoints: int = 3, resume: bool = True, progress: bool = True,
        chunk_size: int = 100, unroll: int = 1, mesh: Any = None,
        callback: Callable[[int, Any, dict], Any] | None = None,
        desc: str = "fit") -> FitResult:
    """Train ``state`` on ``train_data``: the host driver around :func:`run_steps`.

    Give a loss (``loss_fn=``; the step is ``make_train_step(loss_fn, jit=False)``, with
    its non-finite guard) or any step (``step=``; a pytree state with an integer
    ``step`` field, e.g. a GAN's two players). Training runs the same pure loop as
    :func:`run_steps` in jitted chunks of ``chunk_size`` steps (one compilation; a
    chunk cut short by validation or a checkpoint skips its remaining iterations):
    ``fit(key, …)`` trains exactly as ``run_steps(step, state, train_data, k, …)`` with
    ``k, val_key = jax.random.split(key)``. Between chunks the Python loop logs,
    validates, stops early and checkpoints. Every batch and key depends on the step
    number alone, so a run resumed from a checkpoint equals the uninterrupted run bit
    for bit (on one device). With ``N`` not a multiple of ``batch_size``, the
    ``N mod batch_size`` examples an epoch's permutation leaves over are not used in
    that epoch (each epoch leaves out different ones).

    Args:
        key: PRNG key for minibatches, step keys and validation keys.
        state: the state to start from (a :class:`TrainState` with ``loss_fn``).
        train_data: a pytree of arrays with a common leading axis ``N``.
        loss_fn: ``loss_fn(params, batch, key) -> (loss, aux)`` (exclusive with ``step``).
        step: ``step(state, batch, key) -> (state, metrics)`` (exclusive with ``loss_fn``);
            wrap it in :func:`skip_nonfinite` to survive NaN batches.
        n_steps / n_epochs: how long to train (exactly one of them, ints ≥ 1).
        batch_size: minibatch size (int in ``[1, N]``; default the full batch).
        val_data: optional pytree like ``train_data`` for validation.
        eval_every: validate every this many steps (default: once per epoch) and at the end.
        eval_fn: ``eval_fn(state, batch, key) -> metrics dict`` with a scalar ``'loss'``;
            default :func:`make_eval_step` of ``loss_fn`` (required with ``step`` and
            ``val_data``).
        early_stopping: an :class:`EarlyStopping`, requires ``val_data``.
        checkpoint_dir / checkpoint_every: save every this many steps and at the end;
            with ``resume`` a run restarts from the latest checkpoint in the folder.
        keep_checkpoints: how many recent checkpoints to keep (int ≥ 1).
        progress: show a tqdm bar with the running loss.
        chunk_size: steps per jitted chunk (int ≥ 1).
        unroll: ``lax.scan`` unroll factor.
        mesh: optional ``jax.sharding.Mesh`` with a ``'data'`` axis: each batch is
            sharded over it and parameters stay replicated (data parallelism).
        callback: ``callback(step, state, history)`` after every chunk; a truthy
            return value stops training.
        desc: the progress bar's label.

    Returns:
        A :class:`FitResult`.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> x = jnp.linspace(-1, 1, 64); data = {"x": x, "y": 2.0 * x + 0.5}
        >>> def loss_fn(p, batch, key):
        ...     return jnp.mean((p["w"] * batch["x"] + p["b"] - batch["y"]) ** 2), {}
        >>> state = TrainState.create({"w": jnp.zeros(()), "b": jnp.zeros(())}, optax.adam(0.05))
        >>> res = fit(jax.random.key(0), state, data, loss_fn=loss_fn, n_epochs=100,
        ...           batch_size=16, progress=False)
        >>> round(float(res.state.params["w"]), 2), round(float(res.state.params["b"]), 2)
        (2.0, 0.5)
    """
    check_key(key)
    if (loss_fn is None) == (step is None):
        raise ValueError("loss_fn/step: give exactly one of them (a loss, from which fit "
                         "builds make_train_step(loss_fn), or a step)")
    if loss_fn is not None:
        if not callable(loss_fn):
            raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
        if not isinstance(state, TrainState):
            raise TypeError("state: fit with loss_fn needs a jaxphys.core.TrainState (it "
                            f"carries the optimiser), got {type(state).__name__}")
        step = cached_step("train", loss_fn)
    elif not callable(step):
        raise TypeError(f"step: expected a callable step(state, batch, key), got "
                        f"{type(step).__name__}")
    check_step_counter(state, "fit")
    n, bs_plan = batch_plan(train_data, batch_size, "train_data")
    bs = n if bs_plan is None else bs_plan
    if (n_steps is None) == (n_epochs is None):
        raise ValueError("n_steps/n_epochs: give exactly one of them")
    steps_per_epoch = n // bs
    if n_steps is not None:
        total = as_count(n_steps, "n_steps")
    else:
        total = as_count(n_epochs, "n_epochs") * steps_per_epoch
    chunk_size = as_count(chunk_size, "chunk_size")
    unroll = as_count(unroll, "unroll")
    keep_checkpoints = as_count(keep_checkpoints, "keep_checkpoints")
    if val_data is not None:
        leading_size(val_data, "val_data")
        eval_every = steps_per_epoch if eval_every is None else as_count(eval_every, "eval_every")
        if eval_fn is None:
            if loss_fn is None:
                raise ValueError("eval_fn: fit with step= and val_data needs eval_fn(state, "
                                 "batch, key) -> metrics")
            eval_fn = cached_step("eval", loss_fn)
        elif not callable(eval_fn):
            raise TypeError(f"eval_fn: expected a callable, got {type(eval_fn).__name__}")
    elif eval_every is not None:
        raise ValueError("eval_every: needs val_data")
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise TypeError(f"early_stopping: expected an EarlyStopping, got "
                            f"{type(early_stopping).__name__}")
        if val_data is None:
            raise ValueError("early_stopping: needs val_data")
        if early_stopping.mode not in ("min", "max"):
            raise ValueError(f"early_stopping.mode: expected 'min' or 'max', got "
                             f"{early_stopping.mode!r}")
        as_count(early_stopping.patience, "early_stopping.patience")
    if checkpoint_dir is not None:
        checkpoint_every = (max(total // 10, 1) if checkpoint_every is None
                            else as_count(checkpoint_every, "checkpoint_every"))
    elif checkpoint_every is not None:
        raise ValueError("checkpoint_every: needs checkpoint_dir")

    train_key, val_key = jax.random.split(key)
    shuffle_key, step_key = jax.random.split(train_key)
    train_data = jax.tree.map(jnp.asarray, train_data)
    # the chunks donate the state they train; copy once so the caller's arrays stay valid
    state = _copy(state)

    if mesh is not None:
        if "data" not in mesh.shape:
            raise ValueError(f"mesh: needs a 'data' axis, got axes {tuple(mesh.shape)}")
        if bs % mesh.shape["data"]:
            raise ValueError(f"batch_size: {bs} is not divisible by the mesh's 'data' axis "
                             f"({mesh.shape['data']} devices)")
    chunk = min(chunk_size, total)

    def run_chunk_jit(st, data, active, k_shuffle, k_step):
        return _run_chunk(st, data, active, k_shuffle, k_step, step=step, batch_size=bs_plan,
                          unroll=unroll, mesh=mesh)

    def evaluate(st, r_):
        metrics = eval_fn(st, val_data, jax.random.fold_in(val_key, r_))
        if not isinstance(metrics, dict) or "loss" not in metrics:
            raise TypeError("eval_fn: must return a dict of metrics with a scalar 'loss'")
        return {k_: float(v) for k_, v in metrics.items() if np.ndim(v) == 0}

    start_step = int(state.step)
    r = 0
    history: dict[str, list] = {"step": [], "val_step": []}
    sign = -1.0 if (early_stopping and early_stopping.mode == "max") else 1.0
    best_value, best_step, bad_evals, stopped = math.inf, None, 0, False
    track_best = early_stopping is not None
    best = _copy(state) if track_best else None
    fingerprint = _fingerprint(n=n, bs=bs, total=total, eval_every=eval_every,
                               checkpoint_every=checkpoint_every, chunk_size=chunk_size,
                               start_step=start_step)

    if checkpoint_dir is not None and resume:
        remove_stale_temporaries(checkpoint_dir)
        latest = latest_checkpoint(checkpoint_dir)
        if latest is not None:
            meta = read_checkpoint_metadata(latest)
            if meta.get("fingerprint") != fingerprint:
                raise ValueError(f"checkpoint_dir: {checkpoint_dir} holds a run with other "
                                 f"settings ({meta.get('fingerprint')}); this run has "
                                 f"{fingerprint}. Use another folder or resume=False.")
            target = {"state": state, "best": best} if track_best else {"state": state}
            restored = restore_checkpoint(latest, target)
            state, best = restored["state"], restored.get("best")
            r = int(meta["r"])
            history = meta["history"]
            best_value = meta["best_value"] if meta["best_value"] is not None else math.inf
            best_step, bad_evals, stopped = meta["best_step"], meta["bad_evals"], meta["stopped"]

    def save(st, r_):
        meta = {"fingerprint": fingerprint, "r": r_, "history": history,
                "best_value": None if math.isinf(best_value) else best_value,
                "best_step": best_step, "bad_evals": bad_evals, "stopped": stopped}
        save_checkpoint(checkpoint_path(checkpoint_dir, int(st.step)),
                        {"state": st, "best": best} if track_best else {"state": st},
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
            active = np.arange(chunk) < length
            state, metrics = run_chunk_jit(state, train_data, jnp.asarray(active),
                                           shuffle_key, step_key)
            metrics = {k_: np.asarray(v)[:length] for k_, v in metrics.items()}
            r = nxt
            history["step"].append(r)
            skipped = np.asarray(metrics.get("skipped", np.zeros(length, np.int32)))
            for k_, v in metrics.items():
                if v.ndim != 1:
                    continue
                if k_ == "skipped":
                    val = int(v.sum())
                else:
                    ok = (skipped == 0) & np.isfinite(v)
                    val = float(v[ok].mean()) if ok.any() else float("nan")
                history.setdefault(k_, []).append(val)
            postfix = {"loss": f"{history['loss'][-1]:.4g}"} if "loss" in history else {}

            if val_data is not None and (r % eval_every == 0 or r == total):
                vm = evaluate(state, r)
                history["val_step"].append(r)
                for k_, v in vm.items():
                    history.setdefault(f"val_{k_}", []).append(v)
                postfix["val_loss"] = f"{vm['loss']:.4g}"
                if early_stopping is not None:
                    if early_stopping.metric not in vm:
                        raise ValueError(f"early_stopping.metric: {early_stopping.metric!r} is "
                                         f"not a validation metric; have {sorted(vm)}")
                    value = sign * vm[early_stopping.metric]
                    if value < best_value - early_stopping.min_delta:
                        best_value, best_step, bad_evals = value, r, 0
                        best = _copy(state)
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
        if isinstance(state, TrainState):
            state = state.replace(params=best.params, model_state=best.model_state)
        else:
            state = best
    return FitResult(state=state, history=history, best_step=best_step,
                     stopped_early=bool(stopped))
