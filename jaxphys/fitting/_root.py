"""The profile likelihood and a safeguarded Newton root-finder on it (shared machinery).

The profile of a cost C in parameters :math:`\\theta_P` (one for MINOS and
scans, two for contours) is :math:`C_p(\\theta_P) = \\min_{\\theta_{rest}}
C(\\theta_P, \\theta_{rest})`, each point a Newton fit warm-started from the
previous one. Its derivative comes free from the envelope theorem:
:math:`dC_p/d\\theta_P = \\partial C/\\partial\\theta_P` at the profiled point.

Crossings are found along a ray :math:`\\theta_P(u) = \\hat\\theta_P + u\\, d`,
u >= 0, as the root of an increasing function :math:`\\psi(u, q(u))` of the
ray coordinate and :math:`q = (C_p - C_{min})/u_{def}` (for MINOS
:math:`\\psi = \\sqrt q - z`), by Newton's method kept inside a bracket
``[lo, hi]`` (bisection when a Newton step leaves it, doubling of u while no
upper bracket is known). A limit of a profiled parameter caps u.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from ._cost import Cost
from ._newton import newton_minimize
from ._parameters import Layout, model_params, to_external, to_internal

_ROOT_TOLERANCE = 1e-9
_MAX_ROOT_ITERATIONS = 60


class ProfilePoint(NamedTuple):
    minimum: jax.Array      # () profiled cost
    values: jax.Array       # (k,) external parameters at the profiled minimum
    gradient: jax.Array     # (k,) dC/dθ there (external)
    converged: jax.Array    # () bool
    n_evaluations: jax.Array


def frozen_mask(layout: Layout, indices: jax.Array) -> jax.Array:
    """``(d,)`` bool over the free parameters: True for those in ``indices`` (traced ok)."""
    free = jnp.asarray(layout.free, jnp.int32)
    return jnp.any(free[:, None] == jnp.atleast_1d(indices)[None, :], axis=1)


def profile_point(cost: Cost, layout: Layout, point: jax.Array, frozen: jax.Array,
                  tolerance, max_iterations) -> ProfilePoint:
    """Minimise over the free parameters not ``frozen``, the others held at ``point`` (k,)."""
    def internal_cost(x):
        return cost(model_params(layout, to_external(layout, x, point)))

    state = newton_minimize(internal_cost, to_internal(layout, point),
                            tolerance * cost.errordef, max_iterations, frozen)
    values = to_external(layout, state.x, point)
    gradient = jax.grad(lambda v: cost(model_params(layout, v)))(values)
    converged = state.finite & (state.edm < tolerance * cost.errordef)
    return ProfilePoint(state.value, values, gradient, converged, state.n_evaluations)


class Crossing(NamedTuple):
    distance: jax.Array     # () u at the root (or at the limit)
    values: jax.Array       # (k,) profiled parameters there
    q: jax.Array            # () (C_p - C_min) / errordef there
    converged: jax.Array    # () bool: |ψ| < tolerance and every profile fit converged
    at_limit: jax.Array     # () bool: the ray reached a limit with ψ still < 0
    n_evaluations: jax.Array


class _RootState(NamedTuple):
    u: jax.Array
    lo: jax.Array
    hi: jax.Array
    current: jax.Array
    psi: jax.Array
    q: jax.Array
    inner_ok: jax.Array
    at_limit: jax.Array
    done: jax.Array
    iteration: jax.Array
    n_evaluations: jax.Array


def find_crossing(cost: Cost, layout: Layout, indices: jax.Array, best: jax.Array,
                  minimum: jax.Array, direction: jax.Array, u0: jax.Array, u_max: jax.Array,
                  psi: Callable[[jax.Array, jax.Array], jax.Array], tolerance,
                  max_iterations) -> Crossing:
    """Root of ψ(u, q(u)) along θ_P = best[indices] + u · direction (u in (0, u_max]).

    ``indices`` ``(p,)`` int (traced ok) are the profiled parameters' positions.
    """
    idx = jnp.asarray(indices, jnp.int32)
    frozen = frozen_mask(layout, idx)
    origin = best[idx]
    errordef = cost.errordef
    dtype = best.dtype
    dpsi = jax.grad(psi, argnums=(0, 1))

    def evaluate(u, current):
        point = current.at[idx].set(origin + u * direction)
        prof = profile_point(cost, layout, point, frozen, tolerance, max_iterations)
        q = jnp.maximum(prof.minimum - minimum, 0.0) / errordef
        dq = prof.gradient[idx] @ direction / errordef
        value = psi(u, q)
        d_u, d_q = dpsi(u, q)
        return prof, q, value, d_u + d_q * dq

    def body(s: _RootState) -> _RootState:
        prof, q, value, slope = evaluate(s.u, s.current)
        finite = jnp.isfinite(value)
        below = finite & (value < 0)
        lo = jnp.where(below, s.u, s.lo)
        hi = jnp.where(below, s.hi, s.u)
        capped = s.u >= u_max
        at_limit = below & capped
        done = (finite & (jnp.abs(value) < _ROOT_TOLERANCE)) | at_limit
        newton = s.u - value / slope
        inside = jnp.isfinite(newton) & (newton > lo) & (newton < hi) & finite
        fallback = jnp.where(jnp.isfinite(hi), 0.5 * (lo + hi), 2.0 * jnp.maximum(lo, s.u))
        u_next = jnp.minimum(jnp.where(inside, newton, fallback), u_max)
        current = jnp.where(prof.converged, prof.values, s.current)
        return _RootState(u=jnp.where(done, s.u, u_next), lo=lo, hi=hi, current=current,
                          psi=value, q=q, inner_ok=s.inner_ok & prof.converged,
                          at_limit=at_limit, done=done, iteration=s.iteration + 1,
                          n_evaluations=s.n_evaluations + prof.n_evaluations)

    def cond(s: _RootState):
        return ~s.done & (s.iteration < _MAX_ROOT_ITERATIONS)

    zero = jnp.zeros((), dtype)
    start = _RootState(u=jnp.minimum(u0, u_max), lo=zero, hi=jnp.asarray(jnp.inf, dtype),
                       current=best, psi=jnp.asarray(jnp.nan, dtype), q=zero,
                       inner_ok=jnp.ones((), bool), at_limit=jnp.zeros((), bool),
                       done=jnp.zeros((), bool), iteration=jnp.zeros((), jnp.int32),
                       n_evaluations=jnp.zeros((), jnp.int32))
    s = jax.lax.while_loop(cond, body, start)
    values = s.current.at[idx].set(origin + s.u * direction)
    converged = s.done & ~s.at_limit & s.inner_ok
    return Crossing(distance=s.u, values=values, q=s.q, converged=converged,
                    at_limit=s.at_limit, n_evaluations=s.n_evaluations)


def limit_distance(layout: Layout, index: jax.Array, origin: jax.Array,
                   sign: jax.Array) -> jax.Array:
    """How far parameter ``index`` (traced ok) may move from ``origin`` in direction ``sign``."""
    kinds = jnp.asarray(layout.kinds, jnp.int32)[index]
    lows = jnp.asarray(layout.lows, origin.dtype)[index]
    highs = jnp.asarray(layout.highs, origin.dtype)[index]
    up = jnp.where((kinds & 2) > 0, highs - origin, jnp.inf)
    down = jnp.where((kinds & 1) > 0, origin - lows, jnp.inf)
    return jnp.where(sign > 0, up, down)
