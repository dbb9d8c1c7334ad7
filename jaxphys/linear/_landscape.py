"""Loss landscapes of two-parameter models and plain gradient descent, for plots."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, as_int, check_finite, check_positive
from jaxphys.linear._lstsq import _float_dtype

__all__ = ["loss_surface", "Trajectory", "gradient_descent"]


class Trajectory(NamedTuple):
    """Path of :func:`gradient_descent`.

    Attributes:
        thetas: ``(n_steps + 1, p)`` float, ``θ_0, θ_1, ..., θ_n``.
        losses: ``(n_steps + 1,)`` float, ``L(θ_t)`` at each row of ``thetas``.
    """

    thetas: jax.Array
    losses: jax.Array


def _check_scalar_loss(loss: Callable, theta: jax.Array) -> None:
    if not callable(loss):
        raise ValueError(f"loss: expected a callable loss(theta) -> scalar, got "
                         f"{type(loss).__name__}")
    try:
        out = jax.eval_shape(loss, theta)
    except Exception as err:
        raise ValueError(f"loss: calling loss(theta) with theta of shape {tuple(theta.shape)} "
                         f"failed: {err}") from err
    if getattr(out, "shape", None) != ():
        raise ValueError(f"loss: expected a scalar output, got shape "
                         f"{getattr(out, 'shape', type(out).__name__)}")


def loss_surface(loss: Callable[[jax.Array], jax.Array], theta1_grid: Any,
                 theta2_grid: Any) -> jax.Array:
    """Evaluate a two-parameter loss on a grid, ``out[i, j] = loss([g1[i], g2[j]])``.

    The loss is written for one parameter vector ``θ = (θ₁, θ₂)`` and mapped
    over the grid with a nested ``jax.vmap`` (compiled once). The output uses
    "ij" indexing: rows follow ``theta1_grid``; for ``matplotlib.contour(g1, g2,
    Z)`` pass ``Z.T``.

    Args:
        loss: ``loss(theta (2,)) -> ()``, a jax-traceable function.
        theta1_grid: ``(n1,)`` values of ``θ₁``.
        theta2_grid: ``(n2,)`` values of ``θ₂``.

    Returns:
        ``(n1, n2)`` array of loss values.

    >>> import jax.numpy as jnp
    >>> Z = loss_surface(lambda t: t[0] ** 2 + 10 * t[1], jnp.array([0., 1., 2.]),
    ...                  jnp.array([0., 1.]))
    >>> Z.tolist()
    [[0.0, 10.0], [1.0, 11.0], [4.0, 14.0]]
    """
    g1 = as_array(theta1_grid, "theta1_grid", ndim=1)
    g2 = as_array(theta2_grid, "theta2_grid", ndim=1)
    dtype = _float_dtype(g1, g2)
    g1 = g1.astype(dtype)
    g2 = g2.astype(dtype)
    _check_scalar_loss(loss, jnp.zeros((2,), dtype))

    def point(a, b):
        return loss(jnp.stack([a, b]))

    grid = jax.vmap(jax.vmap(point, in_axes=(None, 0)), in_axes=(0, None))
    return jax.jit(grid)(g1, g2)


@partial(jax.jit, static_argnames=("loss", "n_steps"))
def _descend(loss, theta0, learning_rate, n_steps):
    value_and_grad = jax.value_and_grad(loss)

    def step(theta, _):
        value, grad = value_and_grad(theta)
        return theta - learning_rate * grad, (theta, value)

    theta_n, (thetas, losses) = jax.lax.scan(step, theta0, None, length=n_steps)
    thetas = jnp.concatenate([thetas, theta_n[None, :]], axis=0)
    losses = jnp.concatenate([losses, loss(theta_n)[None]], axis=0)
    return Trajectory(thetas, losses)


def gradient_descent(loss: Callable[[jax.Array], jax.Array], theta0: Any, learning_rate: Any,
                     n_steps: int) -> Trajectory:
    r"""Plain gradient descent ``θ_{t+1} = θ_t - η ∇L(θ_t)`` with the whole path returned.

    Runs ``n_steps`` steps in one ``lax.scan``. The learning rate ``η`` is a
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
        :class:`Trajectory` with ``thetas (n_steps + 1, p)`` (row 0 is ``theta0``)
        and ``losses (n_steps + 1,)``.

    >>> import jax.numpy as jnp
    >>> traj = gradient_descent(lambda t: jnp.sum(t ** 2), jnp.array([1.0, -2.0]), 0.25, 2)
    >>> traj.thetas.tolist(), traj.losses.tolist()
    ([[1.0, -2.0], [0.5, -1.0], [0.25, -0.5]], [5.0, 1.25, 0.3125])
    """
    theta = as_array(theta0, "theta0", ndim=1)
    check_finite(theta, "theta0")
    lr = as_array(learning_rate, "learning_rate", ndim=0)
    check_finite(lr, "learning_rate")
    check_positive(lr, "learning_rate")
    steps = as_int(n_steps, "n_steps", minimum=0)
    dtype = _float_dtype(theta, lr)
    theta = theta.astype(dtype)
    _check_scalar_loss(loss, theta)
    return _descend(loss, theta, lr.astype(dtype), steps)
