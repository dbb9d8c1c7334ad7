"""Signal propagation measured on finite random networks, to set against the mean-field maps.

Two inputs go through the same random layers ``h ↦ W φ(h) + b``,
``W ~ N(0, σ_w²/n_in)``, ``b ~ N(0, σ_b²)`` (Poole et al. 2016, "Exponential
expressivity in deep neural networks through transient chaos"): their squared lengths
and correlation per layer (:func:`propagate_pair`), and the one-layer correlation map
averaged over many random layers (:func:`empirical_correlation_map`), which converges to
:func:`correlation_map` as the width grows.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys import _checks

from ._mean_field import _activation, _param

__all__ = ["PairPropagation", "propagate_pair", "empirical_correlation_map"]


class PairPropagation(NamedTuple):
    """Two inputs propagated through one random network, per layer ``l = 1 … depth``.

    Fields:
      q_a, q_b: ``(depth,)`` squared lengths ``|h|²/N`` of the pre-activations.
      c: ``(depth,)`` correlation ``h_a·h_b / (|h_a| |h_b|)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.dynamics import PairPropagation, propagate_pair
        >>> x = jnp.ones(100)                        # x and -x, tanh is odd, no biases:
        >>> out = propagate_pair(jax.random.key(0), x, -x, 1.5, 0.0, depth=3, width=200)
        >>> isinstance(out, PairPropagation), [round(float(c), 4) for c in out.c]  # h_b = -h_a
        (True, [-1.0, -1.0, -1.0])
        >>> bool(jnp.allclose(out.q_a, out.q_b))
        True
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
