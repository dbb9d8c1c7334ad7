r"""Training a PINN in stages on the library's one loop: Adam, adaptive refinement, L-BFGS.

Each stage is a fresh :class:`~jaxphys.core.TrainState` (its own optimiser: Adam with a
decaying learning rate, Adam for the refinement rounds, ``optax.lbfgs``) trained by
:func:`jaxphys.core.fit` on :func:`~jaxphys.physics.pinn.pinn_loss`; residual-based adaptive
refinement (Lu et al. 2021, "DeepXDE: a deep learning library for solving differential
equations") adds collocation points between stages, where ``|r|`` is largest. The
stages' histories make one :class:`~jaxphys.core.FitResult`.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import as_int, check_finite, check_in, check_key, check_positive
from jaxphys.core import (FitResult, TrainState, fit, flat_optimizer, make_eval_step,
                          make_train_step, resolve_optimizer)

from ._collocation import adaptive_resample, sample_latin_hypercube, sample_uniform
from ._derivatives import make_pde_residual
from ._pinn import PINNProblem, pinn_loss

__all__ = ["train_pinn"]


# fit options train_pinn sets itself, stage by stage
_STAGE_OWNED = ("key", "state", "train_data", "loss_fn", "step", "n_steps", "n_epochs",
                "batch_size")


def _fit_options(fit_kwargs: dict) -> dict:
    allowed = sorted(set(inspect.signature(fit).parameters) - set(_STAGE_OWNED))
    bad = sorted(set(fit_kwargs) - set(allowed))
    if bad:
        raise TypeError(f"train_pinn: unexpected options {bad}; the stage lengths are n_adam, "
                        f"rar_adam and n_lbfgs, and the options passed on to "
                        f"jaxphys.core.fit are {allowed}")
    return {"progress": False, **fit_kwargs}


def _merge_stages(stages: list) -> FitResult:
    """One :class:`FitResult` from ``[(name, n_collocation, first_step, FitResult), …]``."""
    train_keys: list = []
    val_keys: list = []
    for *_, res in stages:
        for k in res.history:
            if k not in ("step", "val_step"):
                target = val_keys if k.startswith("val_") else train_keys
                if k not in target:
                    target.append(k)
    history: dict = {"step": [], "stage": [], "n_collocation": [], "val_step": []}
    for name, n_points, start, res in stages:
        h = res.history
        n_train, n_val = len(h["step"]), len(h["val_step"])
        history["step"] += [start + s for s in h["step"]]
        history["stage"] += [name] * n_train
        history["n_collocation"] += [n_points] * n_train
        history["val_step"] += [start + s for s in h["val_step"]]
        for keys, n in ((train_keys, n_train), (val_keys, n_val)):
            for k in keys:
                history.setdefault(k, []).extend(h.get(k, [float("nan")] * n))
    _, _, start, last = stages[-1]
    best = None if last.best_step is None else start + last.best_step
    return FitResult(state=last.state, history=history, best_step=best,
                     stopped_early=any(res.stopped_early for *_, res in stages))


def train_pinn(key: jax.Array, problem: PINNProblem, field: Callable, params: Any, *,
               n_collocation: int = 2000, sampler: str = "latin_hypercube", n_adam: int = 2000,
               learning_rate: float = 1e-3, lr_decay: float = 0.1, optimizer: Any = None,
               n_lbfgs: int = 500, memory_size: int = 20, lbfgs_optimizer: Any = None,
               rar_rounds: int = 0, rar_points: int = 200, rar_candidates: int = 10000,
               rar_adam: int = 500, rar_optimizer: Any = None, **fit_kwargs: Any) -> FitResult:
    """Train a PINN in stages: a first optimiser (Adam with a decaying learning rate by
    default), optional residual-based adaptive refinement rounds, then L-BFGS.

    Every stage is the library's one loop: a fresh
    ``TrainState.create(params, optimiser)`` (continuing the step count) trained on
    ``problem.dataset(collocation)`` by :func:`jaxphys.core.fit` with
    ``loss_fn=pinn_loss(problem, field)``, so a stage's non-finite steps are skipped
    and ``fit``'s options (``progress``, ``chunk_size``, ``checkpoint_dir`` …) apply to
    each stage. Between stages, host code samples the refinement points.

    Args:
      key: PRNG key (collocation sampling and RAR).
      problem: the :class:`PINNProblem`.
      field: per-point ``field(params["field"], z) -> scalar`` (``PINNNet.field``, or
        ``PINNField.field`` around any flax module or ``jaxphys.core.Model``).
      params: initial ``{"field": θ, "coeffs": {…}}`` (``"coeffs"`` optional, trainable).
      n_collocation: initial collocation points, drawn by ``sampler``
        (``"latin_hypercube"`` or ``"uniform"``) in the problem's box.
      n_adam: steps of the first stage (0: none).
      learning_rate, lr_decay: the default first-stage optimiser, Adam with the learning
        rate decaying exponentially from ``learning_rate`` to ``learning_rate·lr_decay``
        over ``n_adam`` steps, and the default refinement optimiser, Adam at
        ``learning_rate·lr_decay``.
      optimizer: the first stage's optax transformation instead of that default.
      n_lbfgs: steps of the final L-BFGS stage (0: none).
      memory_size: the default L-BFGS's memory,
        ``flat_optimizer(optax.lbfgs(memory_size=…))`` (zoom line search).
      lbfgs_optimizer: the last stage's optax transformation instead of that default.
      rar_rounds, rar_points, rar_candidates, rar_adam, rar_optimizer: each round scores
        ``rar_candidates`` uniform points by ``|r|``, adds the ``rar_points`` worst
        (:func:`adaptive_resample`, greedy) and runs ``rar_adam`` steps of
        ``rar_optimizer`` (default above), from a fresh optimiser state.
      **fit_kwargs: passed to every stage's :func:`jaxphys.core.fit` (``progress``
        defaults to False; ``checkpoint_dir`` gets one sub-folder per stage,
        ``stage_<name>``, so that a rerun resumes where it stopped; ``val_data`` is a
        ``problem.dataset(points)``; a ``callback`` sees each stage's own step count and
        history, and ``state.step`` counted over all stages).

    Returns:
      A :class:`jaxphys.core.FitResult`: ``state`` the last stage's ``TrainState``
      (``state.params`` the trained ``{"field", "coeffs"}``, ``state.step`` the steps of
      all stages); ``history`` the stages' ``fit`` histories one after the other, with
      ``'step'`` counted over all stages, ``'stage'`` the stage of each entry
      (``'first'``, ``'rar_1'`` … ``'rar_<rar_rounds>'``, ``'lbfgs'``) and
      ``'n_collocation'`` the collocation points it trained on, beside ``'loss'``,
      ``'grad_norm'``, ``'skipped'``, ``'residual'`` and ``'cond_<name>'``;
      ``best_step`` the last stage's (with validation), ``stopped_early`` whether any
      stage stopped early.

    Example (not run: training takes minutes; :func:`jaxphys.physics.pinn.solve_heat` sets
    up this problem itself):
      >>> import jax, jax.numpy as jnp
      >>> from jaxphys.physics.pinn import PINNNet, PINNProblem, heat_residual, train_pinn
      >>> problem = PINNProblem(heat_residual, ("x", "t"), (0.0, 0.0), (1.0, 1.0),
      ...                       coeffs={"kappa": 0.1})
      >>> def hard(z, n):                                 # u(x, 0) = sin πx for any n
      ...     return jnp.sin(jnp.pi * z[0]) + z[1] * z[0] * (1 - z[0]) * n
      >>> net = PINNNet((20, 20), problem.lo, problem.hi, transform=hard)
      >>> params = {"field": net.init(jax.random.key(0))}   # doctest: +SKIP
      >>> res = train_pinn(jax.random.key(1), problem, net.field, params, n_adam=500,
      ...                  n_lbfgs=100, rar_rounds=1, rar_adam=100)   # doctest: +SKIP
      >>> sorted(set(res.history["stage"])), int(res.state.step)      # doctest: +SKIP
      (['first', 'lbfgs', 'rar_1'], 700)
    """
    check_key(key)
    check_in(sampler, "sampler", ("latin_hypercube", "uniform"))
    n_collocation = as_int(n_collocation, "n_collocation", minimum=1)
    n_adam = as_int(n_adam, "n_adam", minimum=0)
    n_lbfgs = as_int(n_lbfgs, "n_lbfgs", minimum=0)
    rar_rounds = as_int(rar_rounds, "rar_rounds", minimum=0)
    rar_adam = as_int(rar_adam, "rar_adam", minimum=1) if rar_rounds else 0
    memory_size = as_int(memory_size, "memory_size", minimum=1)
    if n_adam + rar_rounds * rar_adam + n_lbfgs == 0:
        raise ValueError("n_adam: no training step asked for (n_adam, n_lbfgs and rar_rounds "
                         "are all 0)")
    for name, v in (("learning_rate", learning_rate), ("lr_decay", lr_decay)):
        check_finite(jnp.asarray(v), name)
        check_positive(jnp.asarray(v), name)
    if not isinstance(params, dict) or "field" not in params:
        raise ValueError("params: expected a dict {'field': θ, 'coeffs': {...}}, got "
                         f"{type(params).__name__}")
    first_tx = (optax.adam(optax.exponential_decay(float(learning_rate), max(n_adam, 1),
                                                   float(lr_decay)))
                if optimizer is None else resolve_optimizer(optimizer, "optimizer"))
    rar_tx = (optax.adam(float(learning_rate) * float(lr_decay)) if rar_optimizer is None
              else resolve_optimizer(rar_optimizer, "rar_optimizer"))
    lbfgs_tx = (flat_optimizer(optax.lbfgs(memory_size=memory_size)) if lbfgs_optimizer is None
                else resolve_optimizer(lbfgs_optimizer, "lbfgs_optimizer"))
    options = _fit_options(fit_kwargs)

    params = {"field": params["field"], "coeffs": dict(params.get("coeffs", {}))}
    sample_key, adam_key, rar_key = jax.random.split(key, 3)
    adam_key, lbfgs_key = jax.random.split(adam_key)
    sample = sample_latin_hypercube if sampler == "latin_hypercube" else sample_uniform
    colloc = sample(sample_key, n_collocation, problem.lo, problem.hi)
    loss_fn = pinn_loss(problem, field)
    stages: list = []

    # the L-BFGS stage reuses the value and gradient its line search stored (the PINN loss
    # is a deterministic function of the parameters on a fixed collocation set)
    lbfgs_step = make_train_step(loss_fn, deterministic_loss=True, jit=False)
    lbfgs_eval = make_eval_step(loss_fn)

    def run_stage(stage_key, tx, n_steps, name):
        previous = stages[-1][3].state if stages else None
        state = TrainState.create(params if previous is None else previous.params, tx)
        if previous is not None:
            state = state.replace(step=previous.step, n_skipped=previous.n_skipped)
        stage_options = {"desc": f"PINN {name}", **options}
        if stage_options.get("checkpoint_dir") is not None:
            folder = Path(stage_options["checkpoint_dir"]) / f"stage_{name}"
            stage_options["checkpoint_dir"] = folder
        if name == "lbfgs":
            how = {"step": lbfgs_step, "eval_fn": lbfgs_eval}
        else:
            how = {"loss_fn": loss_fn}
        res = fit(stage_key, state, problem.dataset(colloc), n_steps=n_steps, **how,
                  **stage_options)
        stages.append((name, int(colloc.shape[0]), int(state.step), res))
        return res.state.params

    if n_adam:
        params = run_stage(adam_key, first_tx, n_adam, "first")
    residual = make_pde_residual(problem.residual_fn, field, coords=problem.coords)
    score = jax.jit(lambda p, z, c: jnp.sqrt(jnp.sum(
        jax.vmap(residual, (None, 0, None))(p, z, c) ** 2, axis=-1)))
    for i, round_key in enumerate(jax.random.split(rar_key, rar_rounds) if rar_rounds else []):
        cand_key, pick_key, step_key = jax.random.split(round_key, 3)
        cand = sample_uniform(cand_key, rar_candidates, problem.lo, problem.hi)
        coeffs = {**problem.batch(colloc)["coeffs"], **params["coeffs"]}
        new = adaptive_resample(pick_key, cand, score(params["field"], cand, coeffs), rar_points)
        colloc = jnp.concatenate([colloc, new])
        params = run_stage(step_key, rar_tx, rar_adam, f"rar_{i + 1}")
    if n_lbfgs:
        run_stage(lbfgs_key, lbfgs_tx, n_lbfgs, "lbfgs")
    return _merge_stages(stages)
