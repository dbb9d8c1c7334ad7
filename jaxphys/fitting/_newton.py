"""Damped Newton minimisation with exact JAX Hessians, inside one ``lax.while_loop``.

Each iteration solves :math:`(H + \\lambda D)\\,\\delta = -g` by Cholesky, with g
and H the exact gradient and Hessian (``jax.grad``, ``jax.jacfwd``) and
``D = diag(|H_ii|)`` (Marquardt's scaling). The trial point is accepted if the
cost falls by at least a quarter of the decrease the quadratic model predicts,
:math:`-(g^\\top\\delta + \\tfrac12\\delta^\\top H\\delta)` (a trust-region test:
steps into regions the model does not describe are retried shorter, which keeps
the fit in the basin it starts in); then ``λ ← λ/10`` if the decrease reached
three quarters of the prediction (to 0, a pure Newton step, below 1e-6), and
otherwise ``λ ← 10 λ`` (from 1e-3 after a pure Newton step). The loop
stops one iteration after the estimated distance to the minimum

.. math:: \\mathrm{EDM} = \\tfrac12\\, g^\\top H^{-1} g

falls below ``tolerance`` (H positive definite; the extra Newton step squares a
small EDM, so values end far below the tolerance), after ``max_iterations``, when
the cost stops being finite, or when λ exceeds 1e15 (no step lowers the cost).
Everything is traced once, so a fit jits and vmaps (thousands of toys in one call).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import cho_solve

_DAMPING_START = 1e-3
_DAMPING_FLOOR = 1e-6
_DAMPING_MAX = 1e15
_RATIO_ACCEPT = 0.25   # accept a step whose decrease is >= this share of the predicted one
_RATIO_GOOD = 0.75     # and shorten the damping only when it is >= this share


class NewtonState(NamedTuple):
    """State of the minimiser (internal coordinates, d free parameters).

    Fields:
        x: ``(d,)`` current point.
        value: ``()`` cost at x.
        gradient: ``(d,)`` gradient at x.
        hessian: ``(d, d)`` Hessian at x.
        damping: ``()`` λ for the next step.
        edm: ``()`` estimated distance to the minimum at x (inf if H is not
            positive definite).
        iteration: ``()`` int32, iterations taken (accepted or rejected).
        n_evaluations: ``()`` int32, evaluations of (cost, gradient, Hessian).
        stalled: ``()`` bool, λ grew past 1e15: no step lowers the cost.
        finite: ``()`` bool, the cost, gradient and Hessian at x are finite.
        settled: ``()`` int32, iterations taken from a point whose EDM was
            already below the tolerance (the loop stops at 1).
    """

    x: jax.Array
    value: jax.Array
    gradient: jax.Array
    hessian: jax.Array
    damping: jax.Array
    edm: jax.Array
    iteration: jax.Array
    n_evaluations: jax.Array
    stalled: jax.Array
    finite: jax.Array
    settled: jax.Array


def value_gradient_hessian(fun: Callable, x: jax.Array):
    """Cost, gradient and (symmetrised) Hessian in one forward-over-reverse pass."""

    def grad_with_aux(y):
        value, grad = jax.value_and_grad(fun)(y)
        return grad, (value, grad)

    hessian, (value, grad) = jax.jacfwd(grad_with_aux, has_aux=True)(x)
    return value, grad, 0.5 * (hessian + hessian.T)


def edm_of(gradient: jax.Array, hessian: jax.Array) -> jax.Array:
    """½ gᵀ H⁻¹ g, or inf when H is not positive definite."""
    chol = jnp.linalg.cholesky(hessian)
    ok = jnp.all(jnp.isfinite(chol))
    chol = jnp.where(ok, chol, jnp.eye(hessian.shape[0], dtype=hessian.dtype))
    edm = 0.5 * gradient @ cho_solve((chol, True), gradient)
    return jnp.where(ok & jnp.isfinite(edm) & (edm >= 0), edm, jnp.inf)


def _all_finite(*arrays):
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(a)) for a in arrays]))


def newton_start(x0: jax.Array) -> NewtonState:
    """The state before the first pass (cost +inf, so the zero first step is accepted)."""
    dtype = x0.dtype
    d = x0.shape[0]
    return NewtonState(x=x0, value=jnp.asarray(jnp.inf, dtype), gradient=jnp.zeros((d,), dtype),
                       hessian=jnp.eye(d, dtype=dtype), damping=jnp.zeros((), dtype),
                       edm=jnp.asarray(jnp.inf, dtype), iteration=-jnp.ones((), jnp.int32),
                       n_evaluations=jnp.zeros((), jnp.int32), stalled=jnp.zeros((), bool),
                       finite=jnp.ones((), bool), settled=jnp.zeros((), jnp.int32))


def newton_running(s: NewtonState, tolerance: jax.Array, max_iterations: jax.Array) -> jax.Array:
    """True while the minimiser has not stopped (see the module docstring)."""
    converged = (s.edm < tolerance) & (s.settled >= 1)
    return ~converged & (s.iteration < max_iterations) & ~s.stalled & s.finite


def newton_step(evaluate: Callable, s: NewtonState, tolerance: jax.Array) -> NewtonState:
    """One damped Newton iteration; ``evaluate(x) -> (cost, gradient, Hessian)``."""
    dtype = s.x.dtype
    d = s.x.shape[0]
    first = s.iteration < 0
    diag = jnp.abs(jnp.diag(s.hessian))
    scale = jnp.maximum(diag, 1e-12 * jnp.max(diag) + jnp.finfo(dtype).tiny)
    system = s.hessian + s.damping * jnp.diag(scale)
    chol = jnp.linalg.cholesky(system)
    solvable = jnp.all(jnp.isfinite(chol))
    chol = jnp.where(solvable, chol, jnp.eye(d, dtype=dtype))
    delta = jnp.where(solvable & ~first, -cho_solve((chol, True), s.gradient), 0.0)
    x_try = s.x + delta
    value, grad, hess = evaluate(x_try)
    finite = _all_finite(value, grad, hess)
    # trust-region test: the actual decrease must be a fair share of the quadratic
    # model's prediction; a step into a region the model does not describe is retried
    # shorter (this keeps the fit in the basin it starts in).
    predicted = -(s.gradient @ delta + 0.5 * delta @ (s.hessian @ delta))
    actual = s.value - value
    slack = 1e-14 * (1.0 + jnp.abs(s.value))
    accept = first | (solvable & finite & (actual >= _RATIO_ACCEPT * predicted - slack))
    good = actual >= _RATIO_GOOD * predicted - slack
    reduced = jnp.where(good, s.damping * 0.1, s.damping)
    damping = jnp.where(accept, jnp.where(reduced < _DAMPING_FLOOR, 0.0, reduced),
                        jnp.where(s.damping == 0, _DAMPING_START, s.damping * 10.0))
    pick = lambda new, old: jnp.where(accept, new, old)  # noqa: E731
    return NewtonState(
        x=pick(x_try, s.x), value=pick(value, s.value), gradient=pick(grad, s.gradient),
        hessian=pick(hess, s.hessian), damping=damping,
        edm=jnp.where(accept, edm_of(grad, hess), s.edm), iteration=s.iteration + 1,
        n_evaluations=s.n_evaluations + 1, stalled=damping > _DAMPING_MAX,
        finite=jnp.where(first, finite, s.finite),
        settled=jnp.where(s.edm < tolerance, s.settled + 1, 0))


def evaluator(fun: Callable, frozen: jax.Array | None = None) -> Callable:
    """``x -> (cost, gradient, Hessian)``, with ``frozen`` coordinates pinned (see
    :func:`newton_minimize`)."""
    if frozen is None:
        return lambda y: value_gradient_hessian(fun, y)

    def evaluate(y):
        d = y.shape[0]
        value, grad, hess = value_gradient_hessian(fun, y)
        grad = jnp.where(frozen, 0.0, grad)
        pinned = frozen[:, None] | frozen[None, :]
        return value, grad, jnp.where(pinned, jnp.eye(d, dtype=y.dtype), hess)

    return evaluate


def newton_minimize(fun: Callable, x0: jax.Array, tolerance: jax.Array,
                    max_iterations: jax.Array, frozen: jax.Array | None = None) -> NewtonState:
    """Minimise ``fun`` from ``x0`` (see the module docstring); traceable and vmappable.

    The cost, gradient and Hessian are traced once, in the loop body: the first
    pass evaluates them at ``x0`` (a zero step from a start of cost +inf).
    ``frozen`` (``(d,)`` bool, may be traced) holds coordinates at their start:
    their gradient is zeroed and their Hessian rows and columns replaced by the
    identity's, so one compiled loop profiles any parameter.
    """
    dtype = x0.dtype
    if x0.shape[0] == 0:
        value = fun(x0)
        empty = jnp.zeros((0,), dtype)
        return NewtonState(x=x0, value=value, gradient=empty, hessian=jnp.zeros((0, 0), dtype),
                           damping=jnp.zeros((), dtype), edm=jnp.zeros((), dtype),
                           iteration=jnp.zeros((), jnp.int32),
                           n_evaluations=jnp.ones((), jnp.int32), stalled=jnp.zeros((), bool),
                           finite=jnp.isfinite(value), settled=jnp.ones((), jnp.int32))
    evaluate = evaluator(fun, frozen)
    return jax.lax.while_loop(lambda s: newton_running(s, tolerance, max_iterations),
                              lambda s: newton_step(evaluate, s, tolerance), newton_start(x0))
