"""Signal propagation through deep random networks at initialisation: the mean-field maps.

A fully connected network of width ``N``, ``h^{l+1} = W^{l+1} φ(h^l) + b^{l+1}``,
``W_ij ~ N(0, σ_w²/N)``, ``b_i ~ N(0, σ_b²)`` (Poole et al. 2016, Schoenholz et al.
2017). For ``N → ∞`` the pre-activations are Gaussian and two inputs are tracked by
their squared length ``q = ⟨h²⟩`` and correlation ``c = ⟨h_a h_b⟩ / q``
(``Dz`` the standard normal measure):

* length map ``q_{l+1} = σ_w² ∫Dz φ(√q_l z)² + σ_b²``, fixed point ``q*``;
* correlation map ``c_{l+1} = [σ_w² ∫Dz₁Dz₂ φ(u₁) φ(u₂) + σ_b²] / q*`` with
  ``u₁ = √q* z₁``, ``u₂ = √q* (c z₁ + √(1-c²) z₂)``; fixed point ``c*``;
* ``χ₁ = σ_w² ∫Dz φ'(√q* z)²``, the slope of the correlation map at ``c = 1``:
  ``χ₁ < 1`` ordered (``c* = 1``, inputs converge), ``χ₁ > 1`` chaotic (``c* < 1``);
  ``χ₁ = 1`` is the critical line ``σ_w²(σ_b²)``, the edge of chaos;
* depth scales ``ξ_q⁻¹ = -ln[χ₁ + σ_w² ∫Dz φ''(√q* z) φ(√q* z)]`` and
  ``ξ_c⁻¹ = -ln[σ_w² ∫Dz₁Dz₂ φ'(u₁) φ'(u₂)]`` at ``c = c*``; ``ξ_c`` diverges on the
  critical line, and networks deeper than about ``6 ξ_c`` do not train.

One-dimensional Gaussian integrals (the length map, ``q*``, ``χ₁``, the critical
line) use the midpoint rule on ``z ∈ [-14, 14]`` (``n_quad`` points, 2000 by default):
for activations analytic near the real axis its error falls like
``exp(-π² / (√q h))`` with ``h = 28 / n_quad`` (below 1e-12 for ``q`` up to about 600),
and ``O(h²)`` for kinks such as ReLU's. Gauss–Hermite quadrature drifts there as ``q``
grows: ``φ'(√q z)²`` narrows to a width ``~1/√q`` that its fixed nodes do not resolve
(64 nodes put the critical ``σ_w²`` at ``σ_b² = 5`` off by 0.78). The fixed point ``q*``
is iterated and then polished by Newton steps, so that it converges near the critical
point too, where plain iteration slows down. Two-dimensional integrals (the
correlation map) use Gauss–Hermite quadrature (``n_quad`` nodes per dimension,
probabilists' Hermite polynomials, ``numpy.polynomial.hermite_e.hermegauss``).
``activation`` is a name known to ``jaxphys.nn.get_activation`` or any scalar
callable; its derivatives come from ``jax.grad``. ``σ_w²`` and ``σ_b²`` are traced
arrays (``vmap`` over them for phase diagrams).

The same maps measured on finite random networks are in ``_signal_propagation``
(:func:`propagate_pair`, :func:`empirical_correlation_map`); the trainable depth they
predict is tested by training in ``_trainability`` (:func:`trainability`).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys import _checks

__all__ = ["MeanField", "length_map", "fixed_point_length", "correlation_map",
           "fixed_point_correlation", "chi1", "mean_field", "critical_sigma_w2"]


def _activation(activation: str | Callable) -> Callable:
    from jaxphys.nn import get_activation

    return get_activation(activation)


def _nodes(n_quad: int, dtype) -> tuple[jax.Array, jax.Array]:
    z, w = np.polynomial.hermite_e.hermegauss(int(n_quad))
    return jnp.asarray(z, dtype), jnp.asarray(w / np.sqrt(2.0 * np.pi), dtype)


N_LINE = 2000        # points of the 1-D midpoint rule used inside the 2-D functions
_Z_MAX = 14.0        # the standard normal density there is ~1e-43


def _line_nodes(n: int, dtype) -> tuple[jax.Array, jax.Array]:
    h = 2.0 * _Z_MAX / n
    z = -_Z_MAX + h * (np.arange(n) + 0.5)
    return jnp.asarray(z, dtype), jnp.asarray(h * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi),
                                              dtype)


def _param(x: Any, name: str, *, strict: bool) -> jax.Array:
    arr = _checks.as_array(x, name, dtype=jnp.result_type(float))
    _checks.check_finite(arr, name)
    _checks.check_positive(arr, name, strict=strict)
    return arr


def _gauss1(f, q, n_points):
    """``∫Dz f(√q z)`` by the midpoint rule (see the module docstring)."""
    z, w = _line_nodes(n_points, jnp.result_type(q, float))
    return jnp.sum(w * f(jnp.sqrt(q) * z))


def _gauss2(f, g, q, c, n_quad):
    z, w = _nodes(n_quad, jnp.result_type(q, float))
    z1, z2 = z[:, None], z[None, :]
    u1 = jnp.sqrt(q) * z1
    u2 = jnp.sqrt(q) * (c * z1 + jnp.sqrt(jnp.clip(1.0 - c * c, 0.0, None)) * z2)
    return jnp.sum(w[:, None] * w[None, :] * f(u1) * g(u2))


def _derivs(phi):
    d1 = jax.vmap(jax.grad(phi))
    d2 = jax.vmap(jax.grad(jax.grad(phi)))

    def vec(fn):
        return lambda x: fn(x.ravel()).reshape(x.shape)

    return vec(d1), vec(d2)


def _length(q, sw, sb, phi, n_quad):
    return sw * _gauss1(lambda u: phi(u) ** 2, q, n_quad) + sb


def length_map(q: Any, sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh",
               *, n_quad: int = N_LINE) -> jax.Array:
    """One layer of the length map ``q ↦ σ_w² ∫Dz φ(√q z)² + σ_b²`` (scalars; vmap for grids).

    >>> round(float(length_map(1.0, 1.0, 0.0, "linear")), 6)   # φ(x)=x: q ↦ σ_w² q
    1.0
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    return _length(_param(q, "q", strict=False), _param(sigma_w2, "sigma_w2", strict=True),
                   _param(sigma_b2, "sigma_b2", strict=False), phi, n_quad)


def _q_star(sw, sb, phi, n_points, n_iter, n_newton=20):
    q = jax.lax.fori_loop(0, n_iter, lambda _, q: _length(q, sw, sb, phi, n_points),
                          jnp.ones_like(sw))

    def excess(v):
        return _length(v, sw, sb, phi, n_points) - v

    def newton(_, v):
        g, dg = jax.value_and_grad(excess)(v)
        step = v - g / dg
        ok = jnp.isfinite(step) & (step >= 0) & (jnp.abs(excess(step)) <= jnp.abs(g))
        return jnp.where(ok, step, v)

    return jax.lax.fori_loop(0, n_newton, newton, q)


def fixed_point_length(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh", *,
                       n_quad: int = N_LINE, n_iter: int = 300) -> jax.Array:
    """The fixed point ``q*`` of the length map, by ``n_iter`` iterations from ``q = 1``
    and then Newton steps on ``q ↦ length(q) - q`` (each kept only when it lowers the
    residual). ``n_quad``: points of the midpoint rule.

    At ``σ_b² = 0`` and ``σ_w² = 1`` (tanh) the approach to ``q* = 0`` is algebraic
    (``q_l ≈ 1/(2l)``) and the fixed point degenerate. For bounded φ (tanh)
    the map contracts and ``q*`` exists for every ``σ_w²``; for ReLU-like φ it
    diverges when ``σ_w² ∫Dz φ(z)² ≥ 1``.

    >>> round(float(fixed_point_length(0.5, 0.0)), 4)     # tanh, σ_b² = 0, σ_w² < 1: q* = 0
    0.0
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    n_iter = _checks.as_int(n_iter, "n_iter", minimum=1)
    return _q_star(_param(sigma_w2, "sigma_w2", strict=True),
                   _param(sigma_b2, "sigma_b2", strict=False), phi, n_quad, n_iter)


def _corr(c, q, sw, sb, phi, n_quad):
    q_out = _length(q, sw, sb, phi, N_LINE)
    return (sw * _gauss2(phi, phi, q, c, n_quad) + sb) / q_out


def correlation_map(c: Any, sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh",
                    *, q: Any = None, n_quad: int = 128) -> jax.Array:
    """One layer of the correlation map ``c ↦ [σ_w² ∫Dz₁Dz₂ φ(u₁)φ(u₂) + σ_b²] / q_out``.

    Args:
      c: ``()`` input correlation in ``[-1, 1]``.
      sigma_w2, sigma_b2: ``()`` weight and bias variances (``σ_w² > 0``).
      activation: name or callable.
      q: ``()`` squared length of both inputs; ``q*`` (the fixed point) by default.
      n_quad: Gauss–Hermite nodes per dimension of the 2-D integral (``q*`` and
        ``q_out`` use the 1-D midpoint rule, see the module docstring).

    Returns:
      ``()`` output correlation; ``q_out`` is the length map of ``q`` (``q*`` at the fixed point).

    >>> round(float(correlation_map(1.0, 1.5, 0.05)), 6)
    1.0
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    q = _q_star(sw, sb, phi, N_LINE, 300) if q is None else _param(q, "q", strict=True)
    return _corr(jnp.asarray(c, sw.dtype), q, sw, sb, phi, n_quad)


def _chi1(q, sw, phi, n_quad):
    d1, _ = _derivs(phi)
    return sw * _gauss1(lambda u: d1(u) ** 2, q, n_quad)


def chi1(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh", *,
         n_quad: int = N_LINE) -> jax.Array:
    """``χ₁ = σ_w² ∫Dz φ'(√q* z)²``: < 1 ordered, > 1 chaotic (``n_quad``: points of the
    midpoint rule).

    >>> round(float(chi1(0.5, 0.05)), 3)   # ordered phase
    0.432
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    return _chi1(_q_star(sw, sb, phi, n_quad, 300), sw, phi, n_quad)


def _c_star(q, sw, sb, phi, n_quad, n_iter):
    return jax.lax.fori_loop(0, n_iter, lambda _, c: _corr(c, q, sw, sb, phi, n_quad),
                             jnp.zeros_like(q))


def fixed_point_correlation(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh",
                            *, n_quad: int = 128, n_iter: int = 1000) -> jax.Array:
    """The stable fixed point ``c*`` of the correlation map (1 in the ordered phase).

    Found by iterating from ``c = 0``; near the critical line convergence is slow
    (``|c - c*| ~ e^{-l/ξ_c}``), so ``c*`` there is accurate only to ``e^{-n_iter/ξ_c}``.

    >>> round(float(fixed_point_correlation(0.5, 0.05)), 4)
    1.0
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    n_iter = _checks.as_int(n_iter, "n_iter", minimum=1)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    q = _q_star(sw, sb, phi, N_LINE, 300)
    return _c_star(q, sw, sb, phi, n_quad, n_iter)


class MeanField(NamedTuple):
    """Mean-field quantities at ``(σ_w², σ_b²)`` (all fields share the input shape).

    Fields:
      q_star: fixed-point squared length ``q*``.
      c_star: stable fixed point of the correlation map.
      chi1: ``χ₁``, the correlation map's slope at ``c = 1``.
      chi_c: the correlation map's slope at ``c*`` (``= χ₁`` when ``c* = 1``).
      xi_q: depth scale of the length's approach to ``q*`` (layers).
      xi_c: depth scale of the correlation's approach to ``c*`` (layers; ∞ on the critical line).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.dynamics import MeanField, mean_field
        >>> mf = mean_field(jnp.array([0.5, 3.0]), 0.05)     # tanh: ordered, then chaotic
        >>> isinstance(mf, MeanField), float(mf.c_star[0])   # ordered: inputs align, c* = 1
        (True, 1.0)
        >>> bool(jnp.isclose(mf.chi_c[0], mf.chi1[0])), bool(mf.chi_c[1] < 1 < mf.chi1[1])
        (True, True)
    """

    q_star: jax.Array
    c_star: jax.Array
    chi1: jax.Array
    chi_c: jax.Array
    xi_q: jax.Array
    xi_c: jax.Array


def _mean_field(sw, sb, phi, n_quad, n_iter):
    d1, d2 = _derivs(phi)
    q = _q_star(sw, sb, phi, N_LINE, 300)
    c = _c_star(q, sw, sb, phi, n_quad, n_iter)
    x1 = _chi1(q, sw, phi, N_LINE)
    c = jnp.where(x1 <= 1.0, 1.0, c)       # ordered phase: c* = 1 exactly
    chi_q = x1 + sw * _gauss1(lambda u: d2(u) * phi(u), q, N_LINE)
    chi_c = sw * _gauss2(d1, d1, q, c, n_quad)
    return MeanField(q, c, x1, chi_c, -1.0 / jnp.log(chi_q), -1.0 / jnp.log(chi_c))


@partial(jax.jit, static_argnames=("phi", "n_quad", "n_iter"))
def _mean_field_jit(sw, sb, *, phi, n_quad, n_iter):
    return jax.vmap(lambda a, b: _mean_field(a, b, phi, n_quad, n_iter))(sw, sb)


def mean_field(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh", *,
               n_quad: int = 48, n_iter: int = 1000) -> MeanField:
    """``q*``, ``c*``, ``χ₁``, ``ξ_q`` and ``ξ_c`` for arrays of ``(σ_w², σ_b²)`` (broadcast).

    Args:
      sigma_w2: ``(...)`` weight variances ``> 0``.
      sigma_b2: ``(...)`` bias variances ``≥ 0`` (broadcast against ``sigma_w2``).
      activation: name or scalar callable.
      n_quad: Gauss–Hermite nodes per dimension of the 2-D integrals (``c*``, ``ξ_c``;
        the 1-D ones use the midpoint rule, see the module docstring); n_iter:
        iterations for ``c*``.

    Returns:
      :class:`MeanField` with fields of the broadcast shape.

    Raises:
      ValueError: ``sigma_w2`` not > 0, ``sigma_b2`` negative, or either not finite.

    >>> mf = mean_field(jnp.array([0.5, 3.0]), 0.05)
    >>> (mf.chi1 < 1).tolist(), (mf.c_star < 1).tolist()
    ([True, False], [False, True])
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    n_iter = _checks.as_int(n_iter, "n_iter", minimum=1)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    sw, sb = jnp.broadcast_arrays(sw, sb)
    flat = _mean_field_jit(sw.ravel(), sb.ravel(), phi=phi, n_quad=n_quad,
                           n_iter=n_iter)
    return MeanField(*(f.reshape(sw.shape) for f in flat))


@partial(jax.jit, static_argnames=("phi", "n_quad", "n_bisect"))
def _critical_jit(sb_flat, lo, hi, *, phi, n_quad, n_bisect):
    def g(log_sw, b):
        sw = jnp.exp(log_sw)
        return _chi1(_q_star(sw, b, phi, n_quad, 300), sw, phi, n_quad) - 1.0

    def solve(b):
        a0, a1 = jnp.log(lo), jnp.log(hi)
        g0, g1 = g(a0, b), g(a1, b)

        def body(_, ab):
            a, z, ga = ab
            mid = 0.5 * (a + z)
            gm = g(mid, b)
            left = jnp.sign(gm) == jnp.sign(ga)
            return (jnp.where(left, mid, a), jnp.where(left, z, mid), jnp.where(left, gm, ga))

        a, z, _ = jax.lax.fori_loop(0, n_bisect, body, (a0, a1, g0))
        root = jnp.exp(0.5 * (a + z))
        return jnp.where(jnp.sign(g0) != jnp.sign(g1), root, jnp.nan)

    return jax.vmap(solve)(sb_flat)


def critical_sigma_w2(sigma_b2: Any, activation: str | Callable = "tanh", *,
                      bracket: tuple[float, float] = (0.05, 10.0), n_quad: int = N_LINE,
                      n_bisect: int = 60) -> jax.Array:
    """The order-to-chaos critical line: ``σ_w²`` with ``χ₁(σ_w², σ_b²) = 1``.

    Bisection in ``log σ_w²`` over ``bracket`` (``χ₁`` increases with ``σ_w²`` for
    tanh-like φ); NaN where ``χ₁ - 1`` does not change sign over the bracket.

    Args:
      sigma_b2: ``(...)`` bias variances ``≥ 0``.
      activation: name or scalar callable.
      bracket: ``(low, high)`` search interval for ``σ_w²``; n_quad: points of the
        midpoint rule; n_bisect: bisection steps.

    Returns:
      ``(...)`` critical ``σ_w²``.

    >>> round(float(critical_sigma_w2(0.05)), 3)        # tanh (Schoenholz et al.: 1.76)
    1.761
    """
    phi = _activation(activation)
    n_quad = _checks.as_int(n_quad, "n_quad", minimum=1)
    n_bisect = _checks.as_int(n_bisect, "n_bisect", minimum=1)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    lo, hi = (float(b) for b in bracket)
    if not 0 < lo < hi:
        raise ValueError(f"bracket: expected 0 < low < high, got {bracket}")

    out = _critical_jit(sb.ravel(), jnp.asarray(lo, sb.dtype), jnp.asarray(hi, sb.dtype),
                        phi=phi, n_quad=n_quad, n_bisect=n_bisect)
    return out.reshape(sb.shape)
