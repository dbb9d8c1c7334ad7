"""Full-batch L-BFGS through the core step: ``run_steps`` with ``optax.lbfgs`` in the state."""

from __future__ import annotations

from typing import Any, Callable

import jax
import optax

from jaxphys._checks import as_int

from ._fit import FitResult
from ._flatten import flat_optimizer
from ._loop import run_steps
from ._train_step import cached_step
from ._train_state import TrainState


def train_lbfgs(loss_fn: Callable, params: Any, batch: Any, n_steps: int, *,
                memory_size: int = 20, optimizer: optax.GradientTransformation | None = None,
                key: jax.Array | None = None) -> FitResult:
    """Minimise a loss over a full batch with L-BFGS: ``n_steps`` steps of :func:`run_steps`.

    The state is ``TrainState.create(params, flat_optimizer(optax.lbfgs(memory_size=...)))``
    (L-BFGS on the raveled parameters, see :func:`flat_optimizer`) and the step is
    ``make_train_step(loss_fn, deterministic_loss=True)`` (which hands optax's L-BFGS the
    value, gradient and ``value_fn`` its zoom line search needs, reuses the value and
    gradient the line search stored, and skips non-finite steps), so this is the
    library's one L-BFGS. The loss must be a deterministic function of the parameters
    on the full batch. For checkpoints or validation, hand the same state
    and ``loss_fn`` to :func:`fit` instead.

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> (scalar, aux_dict)``.
        params: the starting parameters.
        batch: the full data set, a pytree with a common leading axis (every step sees
            all of it).
        n_steps: L-BFGS iterations (int ≥ 1).
        memory_size: the number of curvature pairs L-BFGS keeps.
        optimizer: another optax transformation to use instead (e.g. an
            ``optax.lbfgs`` with other line-search settings).
        key: the key of :func:`run_steps` (the step keys the loss receives); L-BFGS itself
            draws no random numbers. Default ``jax.random.key(0)``.

    Returns:
        A :class:`FitResult`; ``result.state.params`` are the final parameters and
        ``result.history['loss']`` the loss before each step.

    Example:
        >>> import jax.numpy as jnp
        >>> loss = lambda p, b, k: (jnp.sum((p - b) ** 2), {})
        >>> res = train_lbfgs(loss, jnp.zeros(3), jnp.arange(3.0), 10)
        >>> [round(float(v), 4) for v in res.state.params]
        [0.0, 1.0, 2.0]
    """
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    if optimizer is None:
        optimizer = flat_optimizer(optax.lbfgs(memory_size=as_int(memory_size, "memory_size",
                                                           minimum=1)))
    elif not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"optimizer: expected an optax GradientTransformation, got "
                        f"{type(optimizer).__name__}")
    state = TrainState.create(params, optimizer)
    state, metrics = run_steps(cached_step("lbfgs", loss_fn), state, batch,
                               jax.random.key(0) if key is None else key, n_steps=n_steps)
    return FitResult.from_metrics(state, metrics)
