"""An optimiser on one flat vector: ``flat_optimizer(tx)``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.flatten_util
import optax


class FlattenState(NamedTuple):
    """State of :func:`flat_optimizer`: the inner optimiser's state over the flat vector."""

    inner_state: Any


def flat_optimizer(tx: optax.GradientTransformation) -> optax.GradientTransformationExtraArgs:
    """Run ``tx`` on the parameters raveled into one vector, with every extra argument.

    Like ``optax.flatten``, but it also hands the inner optimiser the extra arguments
    of a line search: ``grad`` is raveled and ``value_fn`` is given flat parameters
    (``value_fn(unravel(v))``), so ``flat_optimizer(optax.lbfgs())`` works through
    :func:`make_train_step`. A quasi-Newton method's vector algebra then acts on one
    array instead of every leaf, which makes its compiled graph much smaller; the
    updates are the same as ``tx`` on the pytree up to floating-point reassociation.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> tx = flat_optimizer(optax.sgd(0.5))
        >>> params = {"a": jnp.ones(2), "b": jnp.ones(())}
        >>> updates, _ = tx.update({"a": jnp.ones(2), "b": jnp.ones(())}, tx.init(params), params)
        >>> updates["a"].tolist(), float(updates["b"])
        ([-0.5, -0.5], -0.5)
    """
    if not isinstance(tx, optax.GradientTransformation):
        raise TypeError(f"tx: expected an optax GradientTransformation, got {type(tx).__name__}")
    inner = optax.with_extra_args_support(tx)

    def init(params):
        flat, _ = jax.flatten_util.ravel_pytree(params)
        return FlattenState(inner.init(flat))

    def update(updates, state, params=None, **extra):
        flat_updates, unravel = jax.flatten_util.ravel_pytree(updates)
        flat_params = None if params is None else jax.flatten_util.ravel_pytree(params)[0]
        if extra.get("grad") is not None:
            extra["grad"] = jax.flatten_util.ravel_pytree(extra["grad"])[0]
        if extra.get("value_fn") is not None:
            value_fn = extra["value_fn"]
            extra["value_fn"] = lambda vector: value_fn(unravel(vector))
        new_flat, inner_state = inner.update(flat_updates, state.inner_state, flat_params, **extra)
        return unravel(new_flat), FlattenState(inner_state)

    return optax.GradientTransformationExtraArgs(init, update)
