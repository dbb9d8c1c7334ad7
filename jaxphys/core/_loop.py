"""The one training loop: any step, n steps, under ``lax.scan``.

Minibatches are a pure function of the key and the global step number ``s``
(``state.step`` when the step runs): with ``B`` examples per batch out of ``N``,
``s`` falls in epoch ``e = s // (N // B)`` at position ``j = s mod (N // B)``,
and uses rows ``perm_e[j B : (j + 1) B]`` of the permutation
``perm_e = permutation(fold_in(shuffle_key, e), N)``; the step's own key is
``fold_in(step_key, s)``, where ``shuffle_key, step_key = split(key)``. A run
cut in two therefore equals the uninterrupted run, and :func:`fit` (which drives
this loop in chunks) sees the same batches as :func:`run_steps`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import check_key

from ._train_step import Step, check_step_counter


def leading_size(data: Any, name: str) -> int:
    """The common leading-axis size of every array in ``data`` (checked)."""
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


def as_count(value: Any, name: str, *, minimum: int = 1, maximum: int | None = None,
             what: str = "") -> int:
    """``value`` as a Python int in ``[minimum, maximum]``; floats, bools and arrays refused."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ValueError(f"{name}: must be {bound}{what}, got {value}")
    return value


def batch_plan(data: Any, batch_size: Any, name: str = "data") -> tuple[int, int | None]:
    """``(N, B)`` for ``data`` and ``batch_size`` (``B`` None: full batch), checked."""
    n = leading_size(data, name)
    if batch_size is None:
        return n, None
    bs = as_count(batch_size, "batch_size", maximum=n,
                  what=f" (the number of examples in {name})")
    return n, (None if bs == n else bs)


class _Loop:
    """The scan body shared by :func:`run_steps` and :func:`fit` (a hashable closure)."""

    def __init__(self, step: Step, n: int, batch_size: int | None,
                 batch_constraint: Callable | None = None):
        self.step, self.n, self.batch_size = step, n, batch_size
        self.batch_constraint = batch_constraint
        self.steps_per_epoch = 1 if batch_size is None else n // batch_size

    def permutation(self, shuffle_key, epoch):
        return jax.random.permutation(jax.random.fold_in(shuffle_key, epoch), self.n)

    def initial_perm(self, state, shuffle_key):
        if self.batch_size is None:
            return ()
        epoch = jnp.asarray(state.step, jnp.int32) // self.steps_per_epoch
        return (epoch, self.permutation(shuffle_key, epoch))

    def one_step(self, state, perm, data, shuffle_key, step_key):
        s = jnp.asarray(state.step, jnp.int32)
        if self.batch_size is None:
            batch = data
        else:
            held_epoch, held = perm
            epoch, j = s // self.steps_per_epoch, s % self.steps_per_epoch
            held = jax.lax.cond(epoch == held_epoch, lambda: held,
                                lambda: self.permutation(shuffle_key, epoch))
            perm = (epoch, held)
            rows = jax.lax.dynamic_slice_in_dim(held, j * self.batch_size, self.batch_size)
            batch = jax.tree.map(lambda a: jnp.take(a, rows, axis=0), data)
        if self.batch_constraint is not None:
            batch = self.batch_constraint(batch)
        new_state, metrics = self.step(state, batch, jax.random.fold_in(step_key, s))
        return new_state, perm, metrics

    def scan(self, state, data, keys, n_steps, active=None, unroll=1):
        """Run ``n_steps`` steps with ``keys = (shuffle_key, step_key)``; with ``active``
        (bool ``(n_steps,)``) the inactive steps are no-ops."""
        shuffle_key, step_key = keys
        perm = self.initial_perm(state, shuffle_key)

        def body(carry, on):
            st, pm = carry
            if active is None:
                st, pm, metrics = self.one_step(st, pm, data, shuffle_key, step_key)
                return (st, pm), metrics
            shapes = jax.eval_shape(self.one_step, st, pm, data, shuffle_key, step_key)[2]

            def skip(c, p):
                return c, p, jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype), shapes)
            st, pm, metrics = jax.lax.cond(
                on, lambda c, p: self.one_step(c, p, data, shuffle_key, step_key), skip, st, pm)
            return (st, pm), metrics

        xs = None if active is None else active
        (state, _), metrics = jax.lax.scan(body, (state, perm), xs,
                                           length=n_steps if active is None else None,
                                           unroll=unroll)
        return state, metrics


@functools.partial(jax.jit, static_argnames=("step", "n_steps", "batch_size", "unroll"))
def _run_steps_jit(step, state, data, key, n_steps, batch_size, unroll):
    n = leading_size(data, "data")
    keys = tuple(jax.random.split(key))
    return _Loop(step, n, batch_size).scan(state, data, keys, n_steps, unroll=unroll)


def run_steps(step: Step, state: Any, data: Any, key: jax.Array, *, n_steps: int,
              batch_size: int | None = None, unroll: int = 1) -> tuple[Any, dict]:
    """Run ``step`` ``n_steps`` times under ``lax.scan``: the library's one pure loop.

    Step ``s = state.step`` trains on the minibatch and with the key the module doc
    defines (the full ``data`` when ``batch_size`` is None or equals ``N``). Pure and
    compiled once per ``(step, n_steps, batch_size)`` and shapes: wrap it in
    ``jax.jit`` or ``jax.vmap`` freely (over keys, over states holding different
    hyperparameters, e.g. ``optax.inject_hyperparams`` learning rates, see
    :func:`set_hyperparams`).

    Args:
        step: ``step(state, batch, key) -> (state, metrics)``, e.g. from
            :func:`make_train_step` with ``jit=False`` (a jitted one works too).
        state: a pytree with an integer scalar ``step`` field (a :class:`TrainState`).
        data: pytree of arrays with a common leading axis ``N``.
        key: PRNG key for minibatches and step keys.
        n_steps: number of steps (int ≥ 1).
        batch_size: examples per step (int in ``[1, N]``), or None for the full batch.
        unroll: ``lax.scan`` unroll factor.

    Returns:
        ``(state, metrics)`` with every metric stacked along a leading axis of
        length ``n_steps``.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> from jaxphys.core import TrainState, make_train_step, run_steps
        >>> x = jnp.linspace(-1.0, 1.0, 32); data = {"x": x, "y": 2.0 * x}
        >>> loss = lambda p, b, k: (jnp.mean((p * b["x"] - b["y"]) ** 2), {})
        >>> state = TrainState.create(jnp.zeros(()), optax.sgd(0.5))
        >>> state, metrics = run_steps(make_train_step(loss, jit=False), state, data,
        ...                            jax.random.key(0), n_steps=200, batch_size=8)
        >>> metrics["loss"].shape, round(float(state.params), 4)
        ((200,), 2.0)
    """
    if not callable(step):
        raise TypeError(f"step: expected a callable step(state, batch, key), got "
                        f"{type(step).__name__}")
    check_step_counter(state, "run_steps")
    check_key(key)
    n_steps = as_count(n_steps, "n_steps")
    unroll = as_count(unroll, "unroll")
    _, batch_size = batch_plan(data, batch_size)
    return _run_steps_jit(step, state, data, key, n_steps, batch_size, unroll)


def set_hyperparams(state: Any, **values: Any) -> Any:
    """``state`` with the injected optimiser hyperparameters replaced.

    For an optimiser built with ``optax.inject_hyperparams`` the hyperparameters
    (``learning_rate``, ``b1`` …) are arrays in the optimiser state; setting them
    here, inside a ``vmap``, trains many settings in one compiled call.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> from jaxphys.core import TrainState, set_hyperparams
        >>> tx = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)
        >>> state = TrainState.create(jnp.zeros(3), tx)
        >>> states = jax.vmap(lambda lr: set_hyperparams(state, learning_rate=lr))(
        ...     jnp.array([0.1, 0.2]))
        >>> states.opt_state.hyperparams["learning_rate"].tolist()
        [0.1, 0.2]
    """
    found = []

    def visit(node):
        if hasattr(node, "hyperparams") and isinstance(getattr(node, "hyperparams"), dict):
            missing = sorted(set(values) - set(node.hyperparams))
            if missing:
                raise ValueError(f"values: {missing} are not injected hyperparameters of the "
                                 f"optimiser; it has {sorted(node.hyperparams)}")
            found.append(True)
            new = {k: jnp.asarray(values[k], jnp.result_type(v)) if k in values else v
                   for k, v in node.hyperparams.items()}
            for k in values:
                if jnp.shape(new[k]) != jnp.shape(node.hyperparams[k]):
                    raise ValueError(f"{k}: expected shape {jnp.shape(node.hyperparams[k])}, "
                                     f"got {jnp.shape(new[k])}")
            return node._replace(hyperparams=new)
        return node

    opt_state = jax.tree.map(visit, state.opt_state,
                             is_leaf=lambda x: hasattr(x, "hyperparams"))
    if not found:
        raise ValueError("state: its optimiser has no injected hyperparameters; build it with "
                         "optax.inject_hyperparams(optax.adam)(learning_rate=...)")
    return state.replace(opt_state=opt_state)


__all__ = ["run_steps", "set_hyperparams"]
