"""Collocation points for PINNs: uniform, Latin hypercube, residual-based adaptive resampling.

Every sampler draws points in the box ``lo <= z <= hi`` (``lo``, ``hi`` of length
``d``, the number of coordinates, e.g. ``(x, t)``) and returns an ``(n, d)`` array.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key

__all__ = ["sample_uniform", "sample_latin_hypercube", "adaptive_resample"]


def _box(lo: Any, hi: Any) -> tuple[jax.Array, jax.Array]:
    lo = as_array(lo, "lo", ndim=1)
    hi = as_array(hi, "hi", ndim=1)
    if lo.shape != hi.shape:
        raise ValueError(f"hi: expected the shape of lo {tuple(lo.shape)}, got {tuple(hi.shape)}")
    check_finite(lo, "lo")
    check_finite(hi, "hi")
    if not bool(jnp.all(hi > lo)):
        raise ValueError(f"hi: every entry must exceed lo, got lo={lo.tolist()}, hi={hi.tolist()}")
    dtype = jnp.result_type(float)
    return lo.astype(dtype), hi.astype(dtype)


def sample_uniform(key: jax.Array, n: int, lo: Any, hi: Any) -> jax.Array:
    """``n`` independent uniform points in the box, ``(n, d)``.

    Example:
      >>> import jax
      >>> z = sample_uniform(jax.random.key(0), 5, [-1.0, 0.0], [1.0, 1.0])
      >>> z.shape, bool((z[:, 1] >= 0).all())
      ((5, 2), True)
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    lo, hi = _box(lo, hi)
    return _uniform(key, n, lo, hi)


@jax.jit(static_argnums=1)
def _uniform(key, n, lo, hi):
    return lo[None] + (hi - lo)[None] * jax.random.uniform(key, (n, lo.shape[0]), lo.dtype)


def sample_latin_hypercube(key: jax.Array, n: int, lo: Any, hi: Any) -> jax.Array:
    """Latin hypercube: along every coordinate each of the ``n`` equal strata holds
    exactly one point (an independent random permutation of strata per coordinate,
    uniform jitter inside each stratum). Returns ``(n, d)``.

    Example:
      >>> import jax, numpy as np
      >>> z = sample_latin_hypercube(jax.random.key(0), 4, [0.0], [1.0])
      >>> sorted(np.floor(np.asarray(z[:, 0]) * 4).astype(int).tolist())
      [0, 1, 2, 3]
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    lo, hi = _box(lo, hi)
    return _lhs(key, n, lo, hi)


@jax.jit(static_argnums=1)
def _lhs(key, n, lo, hi):
    d = lo.shape[0]
    perm_key, jitter_key = jax.random.split(key)
    perms = jax.vmap(lambda k: jax.random.permutation(k, n))(jax.random.split(perm_key, d))
    jitter = jax.random.uniform(jitter_key, (n, d), lo.dtype)
    frac = (perms.T.astype(lo.dtype) + jitter) / n
    return lo[None] + (hi - lo)[None] * frac


def adaptive_resample(key: jax.Array, candidates: Any, scores: Any, n: int, *,
                      method: str = "greedy", power: float = 1.0, floor: float = 1.0) -> jax.Array:
    r"""Residual-based adaptive resampling (RAR; Lu et al. 2021, Wu et al. 2023).

    ``candidates`` ``(m, d)`` are points with scores ``(m,)`` (usually the absolute
    PDE residual there). ``method="greedy"`` returns the ``n`` candidates with the
    largest scores (RAR-G); ``"density"`` draws ``n`` distinct candidates with
    probability ``p ∝ s^power / mean(s^power) + floor`` (RAR-D; ``floor`` keeps
    some uniform coverage). Returns ``(n, d)``; add them to (or replace) the
    collocation set.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> c = jnp.array([[0.0], [1.0], [2.0], [3.0]])
      >>> adaptive_resample(jax.random.key(0), c, jnp.array([0.1, 5.0, 0.2, 3.0]), 2).ravel().tolist()
      [1.0, 3.0]
    """
    check_key(key)
    candidates = as_array(candidates, "candidates", ndim=2)
    scores = as_array(scores, "scores", ndim=1)
    if scores.shape[0] != candidates.shape[0]:
        raise ValueError(f"scores: expected shape ({candidates.shape[0]},) (one per candidate), "
                         f"got {tuple(scores.shape)}")
    n = as_int(n, "n", minimum=1)
    if n > candidates.shape[0]:
        raise ValueError(f"n: expected at most {candidates.shape[0]} (the number of candidates), "
                         f"got {n}")
    check_in(method, "method", ("greedy", "density"))
    check_finite(scores, "scores")
    if method == "greedy":
        return candidates[jax.lax.top_k(scores, n)[1]]
    return _density(key, candidates, scores, n, jnp.asarray(power, scores.dtype),
                    jnp.asarray(floor, scores.dtype))


@jax.jit(static_argnums=3)
def _density(key, candidates, scores, n, power, floor):
    s = jnp.abs(scores) ** power
    p = s / jnp.maximum(jnp.mean(s), jnp.finfo(s.dtype).tiny) + floor
    idx = jax.random.choice(key, candidates.shape[0], (n,), replace=False, p=p / jnp.sum(p))
    return candidates[idx]
