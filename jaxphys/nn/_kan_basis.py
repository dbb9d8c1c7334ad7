"""Uniform-grid B-spline bases for KAN edges, in closed form.

On ``G`` uniform intervals of width ``h = (hi - lo)/G`` over ``[lo, hi]``, extended
by ``k`` intervals on each side (knots ``t_m = lo + (m - k) h``, ``m = 0..G+2k``),
the ``G + k`` B-splines of order ``k`` (degree ``k``) are translates of one cardinal
B-spline: in knot units ``u = (x - lo)/h + k``, ``B_b(x) = M_k(u - b)`` with

    M_k(t) = (1/k!) Σ_{m=0}^{k+1} (-1)^m C(k+1, m) (t - m)_+^k,    supported on [0, k+1]

(Schoenberg 1946, "Contributions to the problem of approximation of equidistant
data by analytic functions"; de Boor 1978, "A Practical Guide to Splines").
On the interval ``[i, i+1)`` of ``u`` (``f = u - i``) only the ``k + 1`` splines
``b = i - k, …, i`` are non-zero, and ``B_{i-r}(x) = M_k(r + f) = q_r(f)`` where
each piece ``q_r`` is a polynomial of degree ``k`` in ``f`` with rational
coefficients, expanded once here (exact fractions) and evaluated by Horner's rule.
So one point costs ``k + 1`` polynomials of degree ``k`` and ``k + 1`` selects,
and the values are exact to rounding (no cancellation between truncated powers).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache, partial
from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int

__all__ = ["bspline_basis", "cardinal_pieces"]


@lru_cache(maxsize=None)
def cardinal_pieces(order: int) -> tuple[tuple[Fraction, ...], ...]:
    """Coefficients of the pieces ``q_r(f) = M_order(r + f)``, ``r = 0..order``, ``f ∈ [0, 1]``.

    Returns ``order + 1`` tuples of ``order + 1`` exact fractions, constant term first:
    ``q_r(f) = Σ_p c[r][p] f^p``. For ``order = 3``: ``q_0 = f³/6``,
    ``q_3 = (1 - f)³/6``.

    Example:
        >>> [str(c) for c in cardinal_pieces(1)[0]], [str(c) for c in cardinal_pieces(1)[1]]
        (['0', '1'], ['1', '-1'])
    """
    k = order
    pieces = []
    for r in range(k + 1):
        coefficients = [Fraction(0)] * (k + 1)
        for m in range(r + 1):                 # the truncated powers alive on [r, r + 1)
            weight = Fraction((-1) ** m * math.comb(k + 1, m), math.factorial(k))
            shift = r - m                       # (shift + f)^k = Σ_p C(k, p) shift^(k-p) f^p
            for p in range(k + 1):
                coefficients[p] += weight * math.comb(k, p) * Fraction(shift) ** (k - p)
        pieces.append(tuple(coefficients))
    return tuple(pieces)


def _horner(coefficients: tuple[Fraction, ...], f: jax.Array) -> jax.Array:
    value = jnp.full_like(f, float(coefficients[-1]))
    for c in coefficients[-2::-1]:
        value = value * f + float(c)
    return value


def bspline_basis(x: jax.Array, lo: Any, hi: Any, grid_size: int, order: int) -> jax.Array:
    """B-spline basis of order ``order`` on ``grid_size`` uniform intervals over ``[lo, hi]``.

    Knots are extended by ``order`` intervals on each side; the ``grid_size + order``
    basis functions are translates of the cardinal B-spline, each point's ``order + 1``
    non-zero values evaluated from the cardinal spline's polynomial pieces (see the
    module docstring). ``x`` is clipped to ``[lo, hi]`` first (constant continuation;
    at ``x = hi`` the last interval is used, closed on the right).

    Args:
      x: points, any shape ``S``.
      lo, hi: range, scalars or broadcastable to ``S``.
      grid_size: number of intervals ``G`` (≥ 1).
      order: spline order ``k`` (degree; 0 = piecewise constant, 3 = cubic).

    Returns:
      ``S + (G + k,)`` basis values; they sum to one for ``x`` in ``[lo, hi]``.

    Example:
        >>> import jax.numpy as jnp
        >>> b = bspline_basis(jnp.array([-1.0, 0.3, 1.0]), -1.0, 1.0, 4, 3)
        >>> b.shape, [round(float(s), 6) for s in b.sum(-1)]
        ((3, 7), [1.0, 1.0, 1.0])
    """
    grid_size = as_int(grid_size, "grid_size", minimum=1)
    order = as_int(order, "order", minimum=0)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    lo = jnp.broadcast_to(jnp.asarray(lo, x.dtype), x.shape)   # explicit, no rank promotion
    hi = jnp.broadcast_to(jnp.asarray(hi, x.dtype), x.shape)
    u = (jnp.clip(x, lo, hi) - lo) * (grid_size / (hi - lo))   # knot units from lo: [0, G]
    return _basis_at(u, grid_size, order)


def _pieces_at(u: jax.Array, grid_size: int, order: int, derivative: bool) -> jax.Array:
    """Basis values (or their ``u``-derivatives) at knot coordinates ``u ∈ [0, G]``."""
    n_basis = grid_size + order
    interval = jnp.clip(jnp.floor(u), 0, grid_size - 1)         # [0, G-1]; u = G -> G-1
    f = u - interval                                            # in [0, 1]
    # the splines alive on the interval are b = interval .. interval + k (extended
    # numbering); offset = interval + k - b in 0..k selects the piece q_offset(f)
    offset = (interval.astype(jnp.int32)[..., None] + order
              - jnp.arange(n_basis, dtype=jnp.int32).reshape((1,) * u.ndim + (n_basis,)))
    basis = jnp.zeros(u.shape + (n_basis,), u.dtype)
    for r, coefficients in enumerate(cardinal_pieces(order)):
        if derivative:
            coefficients = tuple(p * c for p, c in enumerate(coefficients))[1:] or (0,)
        basis = jnp.where(offset == r, _horner(coefficients, f)[..., None], basis)
    return basis


@partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _basis_at(u: jax.Array, grid_size: int, order: int) -> jax.Array:
    return _pieces_at(u, grid_size, order, derivative=False)


@_basis_at.defjvp
def _basis_at_jvp(grid_size, order, primals, tangents):
    # d B_b / du from the differentiated pieces: the backward pass is then one product
    # with this array instead of the transpose of every select of the forward pass
    (u,), (u_dot,) = primals, tangents
    basis = _pieces_at(u, grid_size, order, derivative=False)
    slope = _pieces_at(u, grid_size, order, derivative=True)
    return basis, slope * u_dot[..., None]
