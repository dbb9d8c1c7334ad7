"""Optimiser paths on loss landscapes: every optimiser from every start, and the step-size lesson.

:class:`OptimizerPath` is the one record of a path: the iterates ``θ_0 … θ_n`` and
the loss at each. :func:`gradient_descent` walks one path of plain gradient descent
on any loss; :func:`optimizer_trajectories` runs several optimisers from several
starting points in one jitted call; :func:`steps_to_tolerance` counts the steps each
needed. :func:`gd_quadratic` is gradient descent on ``(θ − θ*)²``, whose iterates
``θ_t = θ* + (1 − 2η)^t (θ₀ − θ*)`` converge, oscillate or diverge with ``|1 − 2η|``.

Every path is the library's one step and loop on a full-batch loss
(:func:`~jaxphys.core.make_train_step` on a :class:`~jaxphys.core.TrainState`
carrying the optimiser, :func:`~jaxphys.core.run_steps`), without the non-finite
guard, so that a diverging run shows its inf/NaN.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys._checks import (as_array, as_int, as_tolerance, check_finite, check_positive,
                             check_range, check_shape, is_concrete)
from jaxphys.core import TrainState, get_optimizer, make_train_step, run_steps

from ._landscapes import check_scalar_loss

__all__ = ["OptimizerPath", "gradient_descent", "optimizer_trajectories", "steps_to_tolerance",
           "gd_quadratic"]


class OptimizerPath(NamedTuple):
    """The iterates of an optimiser and the loss at each: ``θ_0 … θ_n``, ``L(θ_0) … L(θ_n)``.

    Row 0 of the step axis is the start. Leading axes index the runs; the step axis
    comes after them and before the parameter axes:

    * :func:`gradient_descent`: ``thetas (n + 1, p)``, ``losses (n + 1,)``;
    * :func:`optimizer_trajectories`: ``thetas (O, S, n + 1, p)``, ``losses (O, S, n + 1)``
      for ``O`` optimisers and ``S`` starts;
    * :func:`gd_quadratic`: ``thetas (n + 1,)``, ``losses (n + 1,)`` (a scalar parameter).

    Fields:
        thetas: ``(..., n_steps + 1, *θ.shape)`` float, the parameters.
        losses: ``(..., n_steps + 1)`` float, the loss at each point of ``thetas``.

    >>> path = gd_quadratic(0.0, 1.0, 0.25, 2)      # θ* = 1, error halves each step
    >>> path.thetas.tolist(), path.losses.tolist()
    ([0.0, 0.5, 0.75], [1.0, 0.25, 0.0625])
    """

    thetas: jax.Array
    losses: jax.Array


# ----------------------------------------------------------------------------- paths

def _build(spec: Any, learning_rate: jax.Array) -> optax.GradientTransformation:
    """The optimiser for one entry of ``optimizers`` with a (traced) learning rate."""
    if isinstance(spec, str):
        return get_optimizer(spec, learning_rate)
    if isinstance(spec, optax.GradientTransformation):
        return optax.chain(spec, optax.scale(learning_rate))
    return spec(learning_rate)


#: The data of a full-batch loss that reads none: one placeholder example.
_NO_DATA = np.zeros((1,), np.float32)


def _path(loss: Callable, tx: optax.GradientTransformation, theta0: jax.Array,
          n_steps: int) -> tuple[jax.Array, jax.Array]:
    """``θ_0 … θ_n`` and ``L(θ_0) … L(θ_n)`` of ``n`` steps of ``tx`` on ``loss``.

    The step is ``make_train_step`` of ``loss`` without the non-finite guard (a
    diverging path keeps its inf/NaN), run by ``run_steps``; it also reports the
    parameters it started from. The loss reads neither batch nor key, so the loop's
    key has no effect: a fixed one is used."""
    if n_steps == 0:
        return theta0[None], loss(theta0)[None]
    train_step = make_train_step(lambda theta, batch, key: (loss(theta), {}),
                                 guard_nonfinite=False, jit=False)

    def step(state, batch, key):
        new_state, metrics = train_step(state, batch, key)
        return new_state, {**metrics, "theta": state.params}

    state, metrics = run_steps(step, TrainState.create(theta0, tx), _NO_DATA,
                               jax.random.key(0), n_steps=n_steps)
    path = jnp.concatenate([metrics["theta"], state.params[None]], axis=0)
    values = jnp.concatenate([metrics["loss"], loss(state.params)[None]], axis=0)
    return path, values


@partial(jax.jit, static_argnames=("loss", "n_steps"))
def _descend(loss, theta0, learning_rate, n_steps):
    return OptimizerPath(*_path(loss, optax.sgd(learning_rate), theta0, n_steps))


def gradient_descent(loss: Callable[[jax.Array], jax.Array], theta0: Any, learning_rate: Any,
                     n_steps: int) -> OptimizerPath:
    r"""Plain gradient descent ``θ_{t+1} = θ_t - η ∇L(θ_t)`` with the whole path returned.

    Runs ``n_steps`` steps of ``optax.sgd(η)`` through the library's step and loop
    (``jaxphys.core.make_train_step``, ``run_steps``: one ``lax.scan``), without the
    non-finite guard, so a diverging path shows its inf/NaN. The learning rate ``η`` is a
    traced argument: a new value does not recompile, and one can
    ``jax.vmap`` over an array of learning rates. The compiled function is
    cached per ``(loss, n_steps)``, so pass the same function object to reuse it.

    For ``L(θ) = ‖θ - θ*‖²`` the iterates are
    ``θ_t = θ* + (1 - 2η)^t (θ_0 - θ*)``: convergent for ``0 < η < 1``.

    Args:
        loss: ``loss(theta (p,)) -> ()``, differentiable with ``jax.grad``.
        theta0: ``(p,)`` starting point, finite.
        learning_rate: ``()`` step size ``η > 0``.
        n_steps: number of steps (Python int ≥ 0).

    Returns:
        :class:`OptimizerPath` with ``thetas (n_steps + 1, p)`` (row 0 is ``theta0``)
        and ``losses (n_steps + 1,)``.

    >>> import jax.numpy as jnp
    >>> path = gradient_descent(lambda t: jnp.sum(t ** 2), jnp.array([1.0, -2.0]), 0.25, 2)
    >>> path.thetas.tolist(), path.losses.tolist()
    ([[1.0, -2.0], [0.5, -1.0], [0.25, -0.5]], [5.0, 1.25, 0.3125])
    """
    theta = as_array(theta0, "theta0", ndim=1)
    check_finite(theta, "theta0")
    lr = as_array(learning_rate, "learning_rate", ndim=0)
    check_finite(lr, "learning_rate")
    check_positive(lr, "learning_rate")
    steps = as_int(n_steps, "n_steps", minimum=0)
    dtype = jnp.result_type(float, theta, lr)
    theta = theta.astype(dtype)
    check_scalar_loss(loss, theta.shape, dtype)
    return _descend(loss, theta, lr.astype(dtype), steps)


@partial(jax.jit, static_argnames=("loss", "specs", "n_steps"))
def _run_trajectories(loss, specs, n_steps, starts, learning_rates):
    thetas, losses = [], []
    for o, spec in enumerate(specs):
        def one_path(theta0, o=o, spec=spec):
            return _path(loss, _build(spec, learning_rates[o]), theta0, n_steps)

        path, values = jax.vmap(one_path)(starts)
        thetas.append(path)
        losses.append(values)
    return OptimizerPath(jnp.stack(thetas), jnp.stack(losses))


def optimizer_trajectories(loss: Callable[[jax.Array], jax.Array],
                           optimizers: Sequence[Any], starts: Any, n_steps: int,
                           learning_rates: Any) -> OptimizerPath:
    r"""Run every optimiser from every start on ``loss`` in one jitted call.

    Each optimiser ``o`` with learning rate ``η_o`` runs ``n_steps`` steps of
    ``θ ← θ + update_o(∇L(θ))`` from each starting point (``jaxphys.core.run_steps``
    over steps, ``vmap`` over starts, a Python loop over the optimisers inside one
    ``jit``, so optimisers with different state structures compile together, once). The
    learning rates are traced: new values or new starts of the same shape reuse
    the compiled function. The cache key is ``(loss, optimizers, n_steps)``:
    pass the same function object to reuse it.

    Args:
        loss: ``loss(theta (2,)) -> ()`` (any parameter size works; checked on ``(p,)``
            with ``p = starts.shape[1]``).
        optimizers: a sequence of ``O`` entries, each an optimiser name of
            :func:`jaxphys.core.get_optimizer` (built with ``learning_rates[o]``),
            a callable ``learning_rate -> optax.GradientTransformation``, or an
            ``optax.GradientTransformation`` (its updates are multiplied by
            ``learning_rates[o]``: pass 1.0 to use it as it is).
        starts: ``(S, 2)`` starting points, finite.
        n_steps: number of steps, an int ≥ 0.
        learning_rates: ``(O,)`` step sizes ≥ 0, or a scalar used for all.

    Returns:
        :class:`OptimizerPath` with ``thetas (O, S, n_steps + 1, 2)`` and
        ``losses (O, S, n_steps + 1)``; diverging runs give inf/NaN, not an error.

    >>> import jax.numpy as jnp
    >>> tr = optimizer_trajectories(lambda t: jnp.sum(t ** 2), ["gd", "momentum"],
    ...                             jnp.array([[1.0, 2.0]]), 3, jnp.array([0.25, 0.25]))
    >>> tr.thetas.shape, tr.thetas[0, 0, :, 0].tolist()
    ((2, 1, 4, 2), [1.0, 0.5, 0.25, 0.125])
    """
    if isinstance(optimizers, (str, optax.GradientTransformation)) or not isinstance(
            optimizers, Sequence):
        raise ValueError("optimizers: expected a sequence (list or tuple) of optimiser names, "
                         f"callables or optax transformations, got {type(optimizers).__name__}")
    specs = tuple(optimizers)
    if not specs:
        raise ValueError("optimizers: expected at least one optimiser, got none")
    for i, spec in enumerate(specs):
        if isinstance(spec, str):
            get_optimizer(spec, 0.1)          # unknown names raise here, listing the known
        elif not (isinstance(spec, optax.GradientTransformation) or callable(spec)):
            raise ValueError(f"optimizers[{i}]: expected a name, a callable or an optax "
                             f"transformation, got {type(spec).__name__}")
    x0 = as_array(starts, "starts", ndim=2)
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        x0 = x0.astype(jnp.result_type(float))
    check_shape(x0, "starts", (None, 2))
    check_finite(x0, "starts")
    steps = as_int(n_steps, "n_steps", minimum=0)
    lrs = as_array(learning_rates, "learning_rates", ndim=(0, 1))
    if lrs.ndim == 0:
        lrs = jnp.broadcast_to(lrs, (len(specs),))
    check_shape(lrs, "learning_rates", (len(specs),))
    if is_concrete(lrs):
        for i, v in enumerate(np.asarray(lrs)):
            check_range(v, f"learning_rates[{i}]", low=0.0)
    check_scalar_loss(loss, (x0.shape[1],), x0.dtype)
    return _run_trajectories(loss, specs, steps, x0, lrs.astype(x0.dtype))


def steps_to_tolerance(trajectories: OptimizerPath, theta_star: Any, tol: Any) -> jax.Array:
    r"""The first step from which each path stays within ``tol`` of a minimum.

    With ``d_t = min_m ‖θ_t − θ*_m‖₂``, the result is the smallest ``t`` such that
    ``d_u ≤ tol`` for every ``u ≥ t`` up to the end of the path, or ``-1`` if the
    path does not end within ``tol`` (not converged, or diverged).

    Args:
        trajectories: an :class:`OptimizerPath` with ``thetas (O, S, n + 1, p)``.
        theta_star: ``(p,)`` the minimum, or ``(M, p)`` several minima (the nearest counts).
        tol: distance tolerance > 0 (units of θ).

    Returns:
        ``(O, S)`` int32 step counts (``-1``: not reached).

    >>> import jax.numpy as jnp
    >>> tr = OptimizerPath(jnp.array([[[[1.0, 0.], [0.5, 0.], [0.05, 0.], [0.01, 0.]]]]),
    ...                    jnp.zeros((1, 1, 4)))
    >>> steps_to_tolerance(tr, jnp.zeros(2), 0.1).tolist()
    [[2]]
    """
    thetas = as_array(trajectories.thetas, "trajectories.thetas", ndim=4)
    p = thetas.shape[-1]
    star = as_array(theta_star, "theta_star", ndim=(1, 2))
    star = star[None, :] if star.ndim == 1 else star
    check_shape(star, "theta_star", (None, p))
    tol = as_tolerance(tol, "tol")
    diff = thetas[..., None, :] - star.astype(thetas.dtype)[None, None, None]   # (O,S,n+1,M,p)
    dist = jnp.min(jnp.linalg.norm(diff, axis=-1), axis=-1)                    # (O, S, n + 1)
    within = jnp.where(jnp.isfinite(dist), dist <= tol, False)
    stays = jnp.flip(jnp.cumprod(jnp.flip(within, -1).astype(jnp.int32), axis=-1), -1)
    first = jnp.argmax(stays, axis=-1).astype(jnp.int32)
    return jnp.where(stays[..., -1] == 1, first, -1)


# ----------------------------------------------------------------------------- step sizes

@partial(jax.jit, static_argnames=("n",))
def _gd_quadratic(theta0, theta_star, eta, n):
    def loss(theta):
        return (theta - theta_star) ** 2

    thetas, _ = _path(loss, optax.sgd(eta), theta0, n)
    return OptimizerPath(thetas, jax.vmap(loss)(thetas))


def gd_quadratic(theta0: Any, theta_star: Any, eta: Any, n: int) -> OptimizerPath:
    r"""Gradient descent ``θ ← θ − η L'(θ)`` on ``L(θ) = (θ − θ*)²`` (the step-size lesson).

    The gradient ``2(θ − θ*)`` makes each step multiply the error by ``1 − 2η``:

    .. math:: θ_t = θ^* + (1 - 2η)^t (θ_0 - θ^*)

    so descent creeps monotonically for ``0 < η < ½``, lands in one step at
    ``η = ½``, oscillates with shrinking amplitude for ``½ < η < 1``, bounces
    between ``θ₀`` and ``2θ* − θ₀`` for ``η = 1`` and diverges for ``η > 1``. The
    iteration runs through ``jax.grad`` (it is not the closed form): ``optax.sgd(η)``
    steps of ``jaxphys.core.make_train_step`` under ``run_steps``; ``eta`` is traced,
    so ``jax.vmap`` over learning rates compiles once.

    Args:
        theta0, theta_star: scalars, the start and the minimum.
        eta: scalar learning rate η > 0.
        n: number of steps (int ≥ 0).

    Returns:
        :class:`OptimizerPath` with ``thetas (n + 1,)`` and ``losses (n + 1,)``.

    >>> gd_quadratic(-1.5, 3.0, 0.25, 3).thetas.tolist()
    [-1.5, 0.75, 1.875, 2.4375]
    """
    t0 = as_array(theta0, "theta0", ndim=0)
    ts = as_array(theta_star, "theta_star", ndim=0)
    lr = as_array(eta, "eta", ndim=0)
    for v, name in ((t0, "theta0"), (ts, "theta_star"), (lr, "eta")):
        check_finite(v, name)
    check_positive(lr, "eta")
    steps = as_int(n, "n", minimum=0)
    dtype = jnp.result_type(t0, ts, lr, float)
    return _gd_quadratic(t0.astype(dtype), ts.astype(dtype), lr.astype(dtype), steps)
