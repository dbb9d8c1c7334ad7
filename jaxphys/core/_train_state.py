"""The training state: a typed NamedTuple pytree."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class TrainState(NamedTuple):
    """Everything a train step reads and writes.

    Fields:
        step: int32 scalar, optimiser steps taken (skipped non-finite steps included).
        params: pytree of trainable parameters.
        opt_state: the optax optimiser state for ``params``.
        model_state: pytree of non-trainable model variables (for example
            ``{'batch_stats': ...}`` of a flax module); ``{}`` when there are none.
        n_skipped: int32 scalar, steps whose loss or gradients were not finite
            and that therefore left params and optimiser state unchanged.

    Example:
        >>> import jax.numpy as jnp, optax
        >>> state = TrainState.create({"w": jnp.zeros(3)}, optax.sgd(0.1))
        >>> int(state.step), int(state.n_skipped)
        (0, 0)
    """

    step: jax.Array
    params: Any
    opt_state: Any
    model_state: Any
    n_skipped: jax.Array

    @classmethod
    def create(cls, params: Any, optimizer: optax.GradientTransformation,
               model_state: Any = None) -> "TrainState":
        """A fresh state: step 0 and ``optimizer.init(params)``."""
        from ._optimizers import resolve_optimizer

        optimizer = resolve_optimizer(optimizer)
        return cls(step=jnp.zeros((), jnp.int32), params=params,
                   opt_state=optimizer.init(params),
                   model_state={} if model_state is None else model_state,
                   n_skipped=jnp.zeros((), jnp.int32))

    @classmethod
    def from_variables(cls, variables: Any, optimizer: optax.GradientTransformation) -> "TrainState":
        """A fresh state from a flax variables dict: ``'params'`` is trained, the
        other collections (``batch_stats`` …) become ``model_state``."""
        from ._model import split_variables

        params, model_state = split_variables(variables)
        return cls.create(params, optimizer, model_state)

    @property
    def variables(self) -> dict:
        """The flax variables dict ``{'params': params, **model_state}``."""
        return {"params": self.params, **dict(self.model_state)}
