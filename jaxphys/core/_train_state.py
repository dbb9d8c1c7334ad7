"""The training state: a pytree that carries its optimiser."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct


class TrainState(struct.PyTreeNode):
    """Everything a train step reads and writes, the optimiser included.

    A ``TrainState`` is a pytree (a frozen dataclass): ``jit``, ``vmap``,
    ``lax.scan`` and the checkpoints see its array fields; the optimiser ``tx``
    is a static field, part of the tree's structure like flax's
    ``TrainState.tx``, so it travels with the state and no later call takes it
    again. Change fields with :meth:`replace`.

    Fields:
        step: int32 scalar, steps taken (skipped non-finite steps included).
        params: pytree of trainable parameters.
        opt_state: the optax state of ``tx`` for ``params``.
        model_state: pytree of non-trainable model variables (for example
            ``{'batch_stats': ...}`` of a flax module); ``{}`` when there are none.
        n_skipped: int32 scalar, steps whose result was not finite and that
            therefore left params, optimiser state and model state unchanged.
        tx: the ``optax.GradientTransformation`` (static).

    Example:
        >>> import jax.numpy as jnp, optax
        >>> state = TrainState.create({"w": jnp.zeros(3)}, optax.sgd(0.1))
        >>> int(state.step), int(state.n_skipped)
        (0, 0)
        >>> int(state.replace(step=state.step + 1).step)
        1
    """

    step: jax.Array
    params: Any
    opt_state: Any
    model_state: Any
    n_skipped: jax.Array
    tx: optax.GradientTransformation = struct.field(pytree_node=False)

    @classmethod
    def create(cls, params: Any, tx: Any, model_state: Any = None) -> "TrainState":
        """A fresh state: step 0 and ``tx.init(params)``.

        Args:
            params: the trainable parameters (any pytree of arrays).
            tx: an ``optax.GradientTransformation``, a name from
                ``jaxphys.core.OPTIMIZERS`` (``'adam'``) or ``(name, kwargs)``.
            model_state: non-trainable variables (``{}`` by default).
        """
        from ._optimizers import resolve_optimizer

        tx = resolve_optimizer(tx, name="tx")
        # some optimisers (optax.lbfgs) put one buffer in several fields of their state;
        # separate copies keep the state donatable to a jitted step
        opt_state = jax.tree.map(lambda x: jnp.array(x, copy=True) if isinstance(x, jax.Array)
                                 else x, tx.init(params))
        return cls(step=jnp.zeros((), jnp.int32), params=params, opt_state=opt_state,
                   model_state={} if model_state is None else model_state,
                   n_skipped=jnp.zeros((), jnp.int32), tx=tx)

    @classmethod
    def from_variables(cls, variables: Any, tx: Any) -> "TrainState":
        """A fresh state from a flax variables dict: ``'params'`` is trained, the
        other collections (``batch_stats`` …) become ``model_state``."""
        from ._model import split_variables

        params, model_state = split_variables(variables)
        return cls.create(params, tx, model_state)

    @property
    def variables(self) -> dict:
        """The flax variables dict ``{'params': params, **model_state}``."""
        return {"params": self.params, **dict(self.model_state)}
