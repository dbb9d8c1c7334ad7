"""Signal propagation through deep random networks at initialisation (mean-field theory).

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

Gaussian integrals use Gauss–Hermite quadrature (``n_quad`` nodes per dimension,
probabilists' Hermite polynomials, ``numpy.polynomial.hermite_e.hermegauss``).
``activation`` is a name known to ``jaxphys.nn.get_activation`` or any scalar
callable; its derivatives come from ``jax.grad``. ``σ_w²`` and ``σ_b²`` are traced
arrays (``vmap`` over them for phase diagrams).
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys import _checks

__all__ = ["MeanField", "PairPropagation", "length_map", "fixed_point_length",
           "correlation_map", "fixed_point_correlation", "chi1", "mean_field",
           "critical_sigma_w2", "propagate_pair", "empirical_correlation_map",
           "trainability", "TrainabilityResult"]


def _activation(activation: str | Callable) -> Callable:
    from jaxphys.nn import get_activation

    return get_activation(activation)


def _nodes(n_quad: int, dtype) -> tuple[jax.Array, jax.Array]:
    z, w = np.polynomial.hermite_e.hermegauss(int(n_quad))
    return jnp.asarray(z, dtype), jnp.asarray(w / np.sqrt(2.0 * np.pi), dtype)


def _param(x: Any, name: str, *, strict: bool) -> jax.Array:
    arr = _checks.as_array(x, name, dtype=jnp.result_type(float))
    _checks.check_finite(arr, name)
    _checks.check_positive(arr, name, strict=strict)
    return arr


def _gauss1(f, q, n_quad):
    z, w = _nodes(n_quad, jnp.result_type(q, float))
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
               *, n_quad: int = 64) -> jax.Array:
    """One layer of the length map ``q ↦ σ_w² ∫Dz φ(√q z)² + σ_b²`` (scalars; vmap for grids).

    >>> round(float(length_map(1.0, 1.0, 0.0, "linear")), 6)   # φ(x)=x: q ↦ σ_w² q
    1.0
    """
    phi = _activation(activation)
    return _length(_param(q, "q", strict=False), _param(sigma_w2, "sigma_w2", strict=True),
                   _param(sigma_b2, "sigma_b2", strict=False), phi, n_quad)


def _q_star(sw, sb, phi, n_quad, n_iter):
    return jax.lax.fori_loop(0, n_iter, lambda _, q: _length(q, sw, sb, phi, n_quad),
                             jnp.ones_like(sw))


def fixed_point_length(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh", *,
                       n_quad: int = 64, n_iter: int = 300) -> jax.Array:
    """The fixed point ``q*`` of the length map, by ``n_iter`` iterations from ``q = 1``.

    At ``σ_b² = 0`` and ``σ_w² = 1`` (tanh) the approach to ``q* = 0`` is algebraic
    (``q_l ≈ 1/(2l)``), so the iterate is only ``O(1/n_iter)``. For bounded φ (tanh)
    the map contracts and ``q*`` exists for every ``σ_w²``; for ReLU-like φ it
    diverges when ``σ_w² ∫Dz φ(z)² ≥ 1``.

    >>> round(float(fixed_point_length(0.5, 0.0)), 4)     # tanh, σ_b² = 0, σ_w² < 1: q* = 0
    0.0
    """
    phi = _activation(activation)
    return _q_star(_param(sigma_w2, "sigma_w2", strict=True),
                   _param(sigma_b2, "sigma_b2", strict=False), phi, n_quad, n_iter)


def _corr(c, q, sw, sb, phi, n_quad):
    q_out = _length(q, sw, sb, phi, n_quad)
    return (sw * _gauss2(phi, phi, q, c, n_quad) + sb) / q_out


def correlation_map(c: Any, sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh",
                    *, q: Any = None, n_quad: int = 64) -> jax.Array:
    """One layer of the correlation map ``c ↦ [σ_w² ∫Dz₁Dz₂ φ(u₁)φ(u₂) + σ_b²] / q_out``.

    Args:
      c: ``()`` input correlation in ``[-1, 1]``.
      sigma_w2, sigma_b2: ``()`` weight and bias variances (``σ_w² > 0``).
      activation: name or callable.
      q: ``()`` squared length of both inputs; ``q*`` (the fixed point) by default.
      n_quad: Gauss–Hermite nodes per dimension.

    Returns:
      ``()`` output correlation; ``q_out`` is the length map of ``q`` (``q*`` at the fixed point).

    >>> round(float(correlation_map(1.0, 1.5, 0.05)), 6)
    1.0
    """
    phi = _activation(activation)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    q = _q_star(sw, sb, phi, n_quad, 300) if q is None else _param(q, "q", strict=True)
    return _corr(jnp.asarray(c, sw.dtype), q, sw, sb, phi, n_quad)


def _chi1(q, sw, phi, n_quad):
    d1, _ = _derivs(phi)
    return sw * _gauss1(lambda u: d1(u) ** 2, q, n_quad)


def chi1(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh", *,
         n_quad: int = 64) -> jax.Array:
    """``χ₁ = σ_w² ∫Dz φ'(√q* z)²``: < 1 ordered, > 1 chaotic.

    >>> round(float(chi1(0.5, 0.05)), 3)   # ordered phase
    0.432
    """
    phi = _activation(activation)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    return _chi1(_q_star(sw, sb, phi, n_quad, 300), sw, phi, n_quad)


def _c_star(q, sw, sb, phi, n_quad, n_iter):
    return jax.lax.fori_loop(0, n_iter, lambda _, c: _corr(c, q, sw, sb, phi, n_quad),
                             jnp.zeros_like(q))


def fixed_point_correlation(sigma_w2: Any, sigma_b2: Any, activation: str | Callable = "tanh",
                            *, n_quad: int = 64, n_iter: int = 1000) -> jax.Array:
    """The stable fixed point ``c*`` of the correlation map (1 in the ordered phase).

    Found by iterating from ``c = 0``; near the critical line convergence is slow
    (``|c - c*| ~ e^{-l/ξ_c}``), so ``c*`` there is accurate only to ``e^{-n_iter/ξ_c}``.

    >>> round(float(fixed_point_correlation(0.5, 0.05)), 4)
    1.0
    """
    phi = _activation(activation)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    q = _q_star(sw, sb, phi, n_quad, 300)
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
    """

    q_star: jax.Array
    c_star: jax.Array
    chi1: jax.Array
    chi_c: jax.Array
    xi_q: jax.Array
    xi_c: jax.Array


def _mean_field(sw, sb, phi, n_quad, n_iter):
    d1, d2 = _derivs(phi)
    q = _q_star(sw, sb, phi, n_quad, 300)
    c = _c_star(q, sw, sb, phi, n_quad, n_iter)
    x1 = _chi1(q, sw, phi, n_quad)
    c = jnp.where(x1 <= 1.0, 1.0, c)       # ordered phase: c* = 1 exactly
    chi_q = x1 + sw * _gauss1(lambda u: d2(u) * phi(u), q, n_quad)
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
      n_quad: quadrature nodes per dimension; n_iter: iterations for ``c*``.

    Returns:
      :class:`MeanField` with fields of the broadcast shape.

    Raises:
      ValueError: ``sigma_w2`` not > 0, ``sigma_b2`` negative, or either not finite.

    >>> mf = mean_field(jnp.array([0.5, 3.0]), 0.05)
    >>> (mf.chi1 < 1).tolist(), (mf.c_star < 1).tolist()
    ([True, False], [False, True])
    """
    phi = _activation(activation)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    sw, sb = jnp.broadcast_arrays(sw, sb)
    flat = _mean_field_jit(sw.ravel(), sb.ravel(), phi=phi, n_quad=int(n_quad),
                           n_iter=int(n_iter))
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
                      bracket: tuple[float, float] = (0.05, 10.0), n_quad: int = 64,
                      n_bisect: int = 60) -> jax.Array:
    """The order-to-chaos critical line: ``σ_w²`` with ``χ₁(σ_w², σ_b²) = 1``.

    Bisection in ``log σ_w²`` over ``bracket`` (``χ₁`` increases with ``σ_w²`` for
    tanh-like φ); NaN where ``χ₁ - 1`` does not change sign over the bracket.

    Args:
      sigma_b2: ``(...)`` bias variances ``≥ 0``.
      activation: name or scalar callable.

    Returns:
      ``(...)`` critical ``σ_w²``.

    >>> round(float(critical_sigma_w2(0.05)), 3)        # tanh (Schoenholz et al.: 1.76)
    1.761
    """
    phi = _activation(activation)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    lo, hi = (float(b) for b in bracket)
    if not 0 < lo < hi:
        raise ValueError(f"bracket: expected 0 < low < high, got {bracket}")

    out = _critical_jit(sb.ravel(), jnp.asarray(lo, sb.dtype), jnp.asarray(hi, sb.dtype),
                        phi=phi, n_quad=int(n_quad), n_bisect=int(n_bisect))
    return out.reshape(sb.shape)


class PairPropagation(NamedTuple):
    """Two inputs propagated through one random network, per layer ``l = 1 … depth``.

    Fields:
      q_a, q_b: ``(depth,)`` squared lengths ``|h|²/N`` of the pre-activations.
      c: ``(depth,)`` correlation ``h_a·h_b / (|h_a| |h_b|)``.
    """

    q_a: jax.Array
    q_b: jax.Array
    c: jax.Array


def _layer(key, a, b, sw, sb, phi, width):
    wk, bk = jax.random.split(key)
    n_in = a.shape[0]
    w = jax.random.normal(wk, (width, n_in), a.dtype) * jnp.sqrt(sw / n_in)
    bias = jax.random.normal(bk, (width,), a.dtype) * jnp.sqrt(sb)
    a_new, b_new = w @ phi(a) + bias, w @ phi(b) + bias
    qa, qb = jnp.mean(a_new ** 2), jnp.mean(b_new ** 2)
    return a_new, b_new, (qa, qb, jnp.mean(a_new * b_new) / jnp.sqrt(qa * qb))


def _propagate(key, ha, hb, sw, sb, phi, depth, width):
    key, first = jax.random.split(key)
    a, b, stats0 = _layer(first, ha, hb, sw, sb, phi, width)

    def layer(carry, _):
        k, a_, b_ = carry
        k, sub = jax.random.split(k)
        a_, b_, stats = _layer(sub, a_, b_, sw, sb, phi, width)
        return (k, a_, b_), stats

    _, rest = jax.lax.scan(layer, (key, a, b), None, length=depth - 1)
    qa, qb, c = (jnp.concatenate([jnp.reshape(s0, (1,)), r]) for s0, r in zip(stats0, rest))
    return PairPropagation(qa, qb, c)


_propagate_jit = jax.jit(_propagate, static_argnames=("phi", "depth", "width"))


def propagate_pair(key: jax.Array, h_a: Any, h_b: Any, sigma_w2: Any, sigma_b2: Any, *,
                   depth: int, width: int, activation: str | Callable = "tanh"
                   ) -> PairPropagation:
    """Propagate two pre-activation vectors through ``depth`` fresh random layers.

    Layer ``l``: ``h ↦ W φ(h) + b`` with ``W ~ N(0, σ_w²/n_in)`` of shape
    ``(width, n_in)`` and ``b ~ N(0, σ_b²)``, the same ``W, b`` for both inputs.

    Args:
      key: PRNG key (one split per layer).
      h_a, h_b: ``(n_in,)`` input pre-activations.
      sigma_w2, sigma_b2: ``()`` variances (traced).
      depth, width: layers and their width (static).
      activation: name or callable.

    Returns:
      :class:`PairPropagation` with ``(depth,)`` fields.

    >>> x = jnp.ones(100)
    >>> out = propagate_pair(jax.random.key(0), x, x, 1.5, 0.05, depth=3, width=200)
    >>> [round(float(c), 4) for c in out.c]
    [1.0, 1.0, 1.0]
    """
    _checks.check_key(key)
    h_a = _checks.as_array(h_a, "h_a", ndim=1, dtype=jnp.result_type(float))
    h_b = _checks.as_array(h_b, "h_b", ndim=1, dtype=h_a.dtype)
    _checks.check_same_shape(h_a, "h_a", h_b, "h_b")
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    depth = _checks.as_int(depth, "depth", minimum=1)
    width = _checks.as_int(width, "width", minimum=1)
    phi = _activation(activation)
    return _propagate_jit(key, h_a, h_b, sw, sb, phi=phi, depth=depth, width=width)


@partial(jax.jit, static_argnames=("phi", "width"))
def _empirical_jit(keys, c_in, q, sw, sb, *, phi, width):
    def one(k, c):
        zk, wk, bk = jax.random.split(k, 3)
        z = jax.random.normal(zk, (2, width), c_in.dtype)
        ha = jnp.sqrt(q) * z[0]
        hb = jnp.sqrt(q) * (c * z[0] + jnp.sqrt(jnp.clip(1.0 - c * c, 0.0, None)) * z[1])
        # One layer W φ(h) + b, W ~ N(0, σ_w²/n) (width × width), drawn in O(width): the
        # rows of (W φ(h_a), W φ(h_b)) are independent bivariate normals of covariance
        # (σ_w²/n) G, G the Gram matrix of φ(h_a), φ(h_b); with φ(h_b) = α e₁ + β e₂ and
        # φ(h_a) = |φ(h_a)| e₁ (Gram-Schmidt), W e₁ and W e₂ are independent N(0, σ_w²/n).
        fa, fb = phi(ha), phi(hb)
        na = jnp.sqrt(jnp.dot(fa, fa))
        alpha = jnp.where(na > 0, jnp.dot(fa, fb) / jnp.where(na > 0, na, 1.0), 0.0)
        beta = jnp.sqrt(jnp.clip(jnp.dot(fb, fb) - alpha ** 2, 0.0, None))
        g = jax.random.normal(wk, (2, width), c_in.dtype) * jnp.sqrt(sw / width)
        bias = jax.random.normal(bk, (width,), c_in.dtype) * jnp.sqrt(sb)
        a_new = na * g[0] + bias
        b_new = alpha * g[0] + beta * g[1] + bias
        qa, qb = jnp.mean(a_new ** 2), jnp.mean(b_new ** 2)
        return jnp.mean(a_new * b_new) / jnp.sqrt(qa * qb)

    return jax.vmap(jax.vmap(one, in_axes=(0, None)))(keys, c_in)


def empirical_correlation_map(key: jax.Array, c_in: Any, q: Any, sigma_w2: Any, sigma_b2: Any,
                              *, width: int = 1000, n_networks: int = 8,
                              activation: str | Callable = "tanh") -> jax.Array:
    """Measured one-layer correlation map of random width-``width`` layers.

    For each ``c_in``, ``n_networks`` pairs of Gaussian pre-activation vectors of
    length ``width`` with squared length ``q`` and correlation ``c_in`` are drawn
    (``h_a = √q z₁``, ``h_b = √q (c z₁ + √(1-c²) z₂)``), sent through a fresh random
    layer each (``W`` of shape ``(width, width)``, sampled exactly in distribution by its
    action on the two inputs, ``O(width)`` random numbers), and the output correlations
    are averaged.

    Args:
      key: PRNG key.
      c_in: ``(n,)`` input correlations in ``[-1, 1]``.
      q: ``()`` squared length (usually ``q*``).
      sigma_w2, sigma_b2: ``()`` variances.

    Returns:
      ``(n,)`` mean output correlations (compare with :func:`correlation_map`).

    >>> c = empirical_correlation_map(jax.random.key(0), jnp.array([1.0]), 0.5, 1.5, 0.05,
    ...                               width=100, n_networks=2)
    >>> round(float(c[0]), 4)
    1.0
    """
    _checks.check_key(key)
    c_in = _checks.as_array(c_in, "c_in", ndim=1, dtype=jnp.result_type(float))
    q = _param(q, "q", strict=True)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sb = _param(sigma_b2, "sigma_b2", strict=False)
    width = _checks.as_int(width, "width", minimum=2)
    n_networks = _checks.as_int(n_networks, "n_networks", minimum=1)
    phi = _activation(activation)

    keys = jax.random.split(key, (c_in.shape[0], n_networks))
    vals = _empirical_jit(keys, c_in, q, sw, sb, phi=phi, width=width)
    return jnp.mean(vals, axis=1)


class TrainabilityResult(NamedTuple):
    """Training accuracy of deep random-initialised tanh networks over a (σ_w², depth) grid.

    Fields:
      sigma_w2: ``(S,)`` weight variances.
      depth: ``(D,)`` depths (hidden layers).
      accuracy: ``(S, D)`` final training accuracy (mean over the last 10 % of steps).
      loss: ``(S, D)`` final training loss.
      xi_c: ``(S,)`` mean-field correlation depth scale at each ``σ_w²``.
    """

    sigma_w2: jax.Array
    depth: jax.Array
    accuracy: jax.Array
    loss: jax.Array
    xi_c: jax.Array


def trainability(key: jax.Array, x: Any, y: Any, sigma_w2: Any, sigma_b2: Any, depths: Any, *,
                 width: int = 64, n_steps: int = 300, batch_size: int = 128,
                 learning_rate: float = 1e-3, activation: str | Callable = "tanh"
                 ) -> TrainabilityResult:
    """Train deep ``activation`` networks from mean-field initialisation; accuracy vs depth.

    For each depth (one compilation each) the ``σ_w²`` values are trained at once
    under ``vmap``: ``depth`` hidden layers of ``width`` units initialised with
    ``W ~ N(0, σ_w²/n_in)``, ``b ~ N(0, σ_b²)``, a linear softmax read-out, trained
    by minibatch Adam (``learning_rate``) on the softmax cross-entropy.
    Schoenholz et al. found the trainable region to be ``depth ≲ 6 ξ_c``.

    Args:
      key: PRNG key.
      x: ``(n, d)`` inputs (standardised); y: ``(n,)`` integer labels.
      sigma_w2: ``(S,)`` weight variances (traced); sigma_b2: ``()`` bias variance.
      depths: sequence of Python ints (hidden layers).

    Returns:
      :class:`TrainabilityResult`.
    """
    import optax

    _checks.check_key(key)
    x = _checks.as_array(x, "x", ndim=2, dtype=jnp.float32)
    y = _checks.as_array(y, "y", ndim=1).astype(jnp.int32)
    _checks.check_same_length("x", x, "y", y)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sw = jnp.atleast_1d(sw).astype(jnp.float32)
    sb = _param(sigma_b2, "sigma_b2", strict=False).astype(jnp.float32)
    depth_list = [_checks.as_int(d, "depths", minimum=1) for d in np.atleast_1d(depths)]
    phi = _activation(activation)
    n_classes = int(np.max(np.asarray(y))) + 1
    opt = optax.adam(learning_rate)
    n = x.shape[0]

    def run(k, s2, depth):
        ik, hk, ok, bk = jax.random.split(k, 4)
        w_in = jax.random.normal(ik, (x.shape[1], width)) * jnp.sqrt(s2 / x.shape[1])
        w_h = jax.random.normal(hk, (depth - 1, width, width)) * jnp.sqrt(s2 / width)
        b_all = jax.random.normal(bk, (depth, width)) * jnp.sqrt(sb)
        w_out = jax.random.normal(ok, (width, n_classes)) * jnp.sqrt(1.0 / width)
        params = {"w_in": w_in, "w_h": w_h, "b": b_all, "w_out": w_out,
                  "b_out": jnp.zeros(n_classes)}

        def forward(p, xb):
            h = xb @ p["w_in"] + p["b"][0][None, :]

            def layer(h_, wb):
                w, b = wb
                return phi(h_) @ w + b[None, :], None

            h, _ = jax.lax.scan(layer, h, (p["w_h"], p["b"][1:]))
            return phi(h) @ p["w_out"] + p["b_out"][None, :]

        def loss_fn(p, xb, yb):
            logits = forward(p, xb)
            lp = jax.nn.log_softmax(logits)
            loss = -jnp.mean(jnp.take_along_axis(lp, yb[:, None], axis=1))
            return loss, jnp.mean(jnp.argmax(logits, -1) == yb)

        def step(carry, _):
            kk, p, o = carry
            kk, sub = jax.random.split(kk)
            idx = jax.random.randint(sub, (batch_size,), 0, n)
            (loss, acc), g = jax.value_and_grad(loss_fn, has_aux=True)(p, x[idx], y[idx])
            upd, o = opt.update(g, o, p)
            return (kk, optax.apply_updates(p, upd), o), (loss, acc)

        _, (losses, accs) = jax.lax.scan(step, (k, params, opt.init(params)), None,
                                         length=n_steps)
        tail = max(1, n_steps // 10)
        return jnp.mean(accs[-tail:]), jnp.mean(losses[-tail:])

    keys = jax.random.split(key, len(depth_list))
    accs, losses = [], []
    for dk, depth in zip(keys, depth_list):
        run_d = jax.jit(jax.vmap(lambda k, s2: run(k, s2, depth)))
        a, lo = run_d(jax.random.split(dk, sw.shape[0]), sw)
        accs.append(a)
        losses.append(lo)
    xi_c = mean_field(sw, sb, activation).xi_c
    return TrainabilityResult(sw, jnp.asarray(depth_list), jnp.stack(accs, 1),
                              jnp.stack(losses, 1), xi_c)
