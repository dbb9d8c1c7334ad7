"""Composable train and eval steps.

A loss is ``loss_fn(params, batch, key) -> (loss, aux)`` with a scalar loss and
a dict of scalar diagnostics. With ``has_model_state=True`` it is called as
``loss_fn(params, batch, key, model_state)`` and must return the updated
non-trainable variables under ``aux['model_state']`` (flax batch statistics).
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import optax

from ._optimizers import resolve_optimizer
from ._train_state import TrainState

LossFn = Callable[..., tuple[jax.Array, dict]]


def _all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack(leaves))


def _global_norm(tree: Any) -> jax.Array:
    sq = [jnp.sum(jnp.square(jnp.abs(x))) for x in jax.tree.leaves(tree)]
    return jnp.sqrt(sum(sq)) if sq else jnp.zeros(())


def _select(pred: jax.Array, new: Any, old: Any) -> Any:
    return jax.tree.map(lambda n, o: jnp.where(pred, n, o), new, old)


def _call_loss(loss_fn: LossFn, params, batch, key, model_state, has_model_state: bool):
    if has_model_state:
        loss, aux = loss_fn(params, batch, key, model_state)
    else:
        loss, aux = loss_fn(params, batch, key)
    if not isinstance(aux, dict):
        raise TypeError("loss_fn: must return (scalar_loss, aux_dict); aux was "
                        f"{type(aux).__name__}")
    if jnp.ndim(loss) != 0:
        raise ValueError(f"loss_fn: the loss must be a scalar, got shape {jnp.shape(loss)}")
    aux = dict(aux)
    new_model_state = aux.pop("model_state", model_state) if has_model_state else model_state
    return loss, (aux, new_model_state)


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation, *,
                    clip_norm: float | None = None, guard_nonfinite: bool = True,
                    has_model_state: bool = False, jit: bool = True,
                    donate: bool = True) -> Callable[[TrainState, Any, jax.Array],
                                                      tuple[TrainState, dict]]:
    """Build ``step(state, batch, key) -> (state, metrics)``.

    One step computes ``(loss, aux), g = value_and_grad(loss_fn)(params, batch, key)``,
    optionally rescales ``g`` to global norm at most ``clip_norm``
    (``g ← g · min(1, c / ‖g‖₂)``), and applies the optax update. With
    ``guard_nonfinite`` a step whose loss or gradients contain NaN or ±inf
    leaves params, optimiser state and model state unchanged; it still
    increments ``state.step`` and is counted in ``state.n_skipped``.

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> (scalar, aux_dict)`` (see module doc
            for ``has_model_state``).
        optimizer: an ``optax.GradientTransformation``, a name from
            ``jaxphys.core.OPTIMIZERS`` (``'adam'``) or ``(name, kwargs)`` such as
            ``('adam', {'learning_rate': 3e-4})``.
        clip_norm: optional global-norm bound (> 0) applied before the optimiser.
        guard_nonfinite: skip non-finite steps (default True).
        has_model_state: thread ``state.model_state`` through ``loss_fn``.
        jit: return a jitted step (default); ``False`` returns the pure function,
            for use inside ``lax.scan`` or a sharded ``jax.jit``.
        donate: donate the input state's buffers to the output (jit only).

    Returns:
        ``step``; its metrics dict holds ``loss`` (float scalar), ``grad_norm``
        (global L2 norm before clipping), ``skipped`` (int32 0/1) and the aux entries.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> def loss_fn(params, batch, key):
        ...     return jnp.mean((params["w"] * batch["x"] - batch["y"]) ** 2), {}
        >>> step = make_train_step(loss_fn, optax.sgd(0.1))
        >>> state = TrainState.create({"w": jnp.zeros(())}, optax.sgd(0.1))
        >>> batch = {"x": jnp.arange(4.0), "y": 3.0 * jnp.arange(4.0)}
        >>> for i in range(50):
        ...     state, metrics = step(state, batch, jax.random.key(i))
        >>> round(float(state.params["w"]), 4)
        3.0
    """
    optimizer = resolve_optimizer(optimizer)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"clip_norm: must be > 0 or None, got {clip_norm!r}")

    def step(state: TrainState, batch: Any, key: jax.Array) -> tuple[TrainState, dict]:
        def objective(params):
            return _call_loss(loss_fn, params, batch, key, state.model_state, has_model_state)

        (loss, (aux, new_model_state)), grads = jax.value_and_grad(
            objective, has_aux=True)(state.params)
        grad_norm = _global_norm(grads)
        if clip_norm is not None:
            scale = jnp.minimum(1.0, clip_norm / jnp.maximum(grad_norm, 1e-30))
            grads = jax.tree.map(lambda g: g * scale.astype(g.dtype), grads)
        updates, new_opt_state = optimizer.update(grads, state.opt_state, state.params)
        new_params = optax.apply_updates(state.params, updates)
        if guard_nonfinite:
            ok = jnp.isfinite(loss) & _all_finite(grads)
            new_params = _select(ok, new_params, state.params)
            new_opt_state = _select(ok, new_opt_state, state.opt_state)
            new_model_state = _select(ok, new_model_state, state.model_state)
        else:
            ok = jnp.asarray(True)
        skipped = (~ok).astype(jnp.int32)
        new_state = TrainState(step=state.step + 1, params=new_params, opt_state=new_opt_state,
                               model_state=new_model_state, n_skipped=state.n_skipped + skipped)
        metrics = {"loss": loss, "grad_norm": grad_norm, "skipped": skipped, **aux}
        return new_state, metrics

    if not jit:
        return step
    return jax.jit(step, donate_argnums=(0,) if donate else ())


def make_eval_step(loss_fn: LossFn, *, has_model_state: bool = False,
                   jit: bool = True) -> Callable[..., dict]:
    """Build ``eval_step(state, batch, key) -> metrics`` (no gradient, no update).

    ``metrics`` is ``{'loss': loss, **aux}``. The first argument is a
    :class:`TrainState`; with ``has_model_state`` its ``model_state`` is passed to
    ``loss_fn`` and any ``aux['model_state']`` it returns is dropped.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> ev = make_eval_step(lambda p, b, k: (jnp.sum((p - b) ** 2), {}))
        >>> state = TrainState.create(jnp.ones(2), optax.sgd(0.1))
        >>> float(ev(state, jnp.zeros(2), jax.random.key(0))["loss"])
        2.0
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")

    def eval_step(state: TrainState, batch: Any, key: jax.Array) -> dict:
        loss, (aux, _) = _call_loss(loss_fn, state.params, batch, key, state.model_state,
                                    has_model_state)
        return {"loss": loss, **aux}

    return jax.jit(eval_step) if jit else eval_step
