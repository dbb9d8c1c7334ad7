r"""k-means clustering: k-means++ seeding, Lloyd iterations, vmapped restarts.

Minimises the inertia :math:`\sum_i \min_j \lVert x_i - c_j\rVert^2` over the
centres :math:`c_1..c_k` (a local minimum; the best of several restarts is kept).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, as_tolerance, check_key, check_shape
from jaxphys.classical._common import as_features

__all__ = ["KMeansParams", "kmeans_fit", "kmeans_predict", "pairwise_sq_dists"]


class KMeansParams(NamedTuple):
    """A fitted k-means model (``k`` centres of ``d`` features).

    Fields:
        centers: ``(k, d)`` cluster centres.
        inertia: ``()`` sum of squared distances of the training points to their
            nearest centre (the best restart's).
        n_iter: ``()`` int32, Lloyd iterations the best restart ran.
        inertias: ``(n_init,)`` final inertia of every restart.

    Built by hand (a fit is :func:`kmeans_fit`): each point goes to its nearest centre.

    >>> from jaxphys.classical import KMeansParams, kmeans_predict
    >>> p = KMeansParams(centers=jnp.array([[0., 0.], [5., 5.]]), inertia=jnp.array(0.),
    ...                  n_iter=jnp.array(0), inertias=jnp.zeros(1))
    >>> kmeans_predict(p, jnp.array([[2., 2.], [3., 3.]])).tolist()   # 2.5 is the divide
    [0, 1]
    """

    centers: jax.Array
    inertia: jax.Array
    n_iter: jax.Array
    inertias: jax.Array


def pairwise_sq_dists(a: jax.Array, b: jax.Array) -> jax.Array:
    r"""Squared Euclidean distances ``(n, m)`` between rows of ``a (n, d)`` and ``b (m, d)``.

    :math:`\lVert a_i\rVert^2 + \lVert b_j\rVert^2 - 2 a_i\cdot b_j`, clipped at 0.

    >>> pairwise_sq_dists(jnp.array([[0., 0.]]), jnp.array([[3., 4.], [1., 0.]])).tolist()
    [[25.0, 1.0]]
    """
    a2 = jnp.sum(a * a, axis=1)
    b2 = jnp.sum(b * b, axis=1)
    return jnp.maximum(a2[:, None] + b2[None, :] - 2.0 * (a @ b.T), 0.0)


def _kmeanspp(key: jax.Array, x: jax.Array, k: int) -> jax.Array:
    """Greedy k-means++: each new centre is the best (lowest potential) of
    ``2 + ln k`` candidates drawn with probability ∝ D(x)²."""
    n = x.shape[0]
    n_trials = 2 + int(math.log(k)) if k > 1 else 1
    key_first, key_rest = jax.random.split(key)
    first = jax.random.randint(key_first, (), 0, n)
    centers = jnp.zeros((k, x.shape[1]), x.dtype).at[0].set(x[first])
    closest = jnp.sum((x - x[first][None, :]) ** 2, axis=1)

    # the uniforms for every inverse-CDF draw, drawn up front (no keys inside the loop)
    uniforms = jax.random.uniform(key_rest, (max(k - 1, 1), n_trials), x.dtype)

    def add_centre(carry, inputs):
        centers, closest = carry
        i, u = inputs
        cdf = jnp.cumsum(closest)
        total = cdf[-1]
        cdf = jnp.where(total > 0, cdf / jnp.where(total > 0, total, 1.0),
                        jnp.arange(1, n + 1, dtype=x.dtype) / n)
        cand = jnp.minimum(jnp.sum(cdf[None, :] <= u[:, None], axis=1), n - 1)   # (T,)
        d_cand = pairwise_sq_dists(x, x[cand])                         # (n, T)
        new_closest = jnp.minimum(closest[:, None], d_cand)
        best = jnp.argmin(jnp.sum(new_closest, axis=0))
        centers = centers.at[i].set(x[cand[best]])
        return (centers, new_closest[:, best]), None

    if k > 1:
        steps = (jnp.arange(1, k), uniforms)
        (centers, _), _ = jax.lax.scan(add_centre, (centers, closest), steps)
    return centers


def _assign(x: jax.Array, centers: jax.Array) -> tuple[jax.Array, jax.Array]:
    d = pairwise_sq_dists(x, centers)
    labels = jnp.argmin(d, axis=1)
    return labels, jnp.min(d, axis=1)


def _lloyd(x: jax.Array, centers: jax.Array, max_iter: jax.Array, tol: jax.Array):
    k = centers.shape[0]

    def cond(state):
        _, shift, it = state
        return (it < max_iter) & (shift > tol)

    def body(state):
        c, _, it = state
        labels, _ = _assign(x, c)
        onehot = jax.nn.one_hot(labels, k, dtype=x.dtype)             # (n, k)
        counts = jnp.sum(onehot, axis=0)
        sums = onehot.T @ x
        new = jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], c)
        shift = jnp.sum((new - c) ** 2)
        return new, shift, it + 1

    init = (centers, jnp.asarray(jnp.inf, x.dtype), jnp.asarray(0, jnp.int32))
    centers, _, n_iter = jax.lax.while_loop(cond, body, init)
    _, dmin = _assign(x, centers)
    return centers, jnp.sum(dmin), n_iter


@partial(jax.jit, static_argnames=("n_clusters", "n_init"))
def _kmeans_fit(key, x, n_clusters, n_init, max_iter, tol):
    # tolerance relative to the data's mean per-feature variance (as scikit-learn does)
    abs_tol = tol * jnp.mean(jnp.var(x, axis=0))

    def one_run(run_key):
        init = _kmeanspp(run_key, x, n_clusters)
        return _lloyd(x, init, max_iter, abs_tol)

    centers, inertias, n_iters = jax.vmap(one_run)(jax.random.split(key, n_init))
    best = jnp.argmin(inertias)
    return KMeansParams(centers=centers[best], inertia=inertias[best], n_iter=n_iters[best],
                        inertias=inertias)


def kmeans_fit(key: jax.Array, X: Any, n_clusters: int, *, n_init: int = 10,
               max_iter: int = 300, tol: float = 1e-4) -> KMeansParams:
    r"""k-means by Lloyd's algorithm from k-means++ seeds; the best of ``n_init`` restarts.

    Minimises the inertia :math:`J = \sum_i \min_j \lVert x_i - c_j\rVert^2`.
    Seeding (greedy k-means++): the first centre is a uniformly drawn point; each
    next one is the best, by the resulting :math:`J`, of :math:`2+\lfloor\ln k\rfloor`
    candidates drawn with probability :math:`\propto D(x)^2`, the squared distance to
    the nearest centre chosen so far. Lloyd iterations (``lax.while_loop``) alternate
    assigning each point to its nearest centre and moving each centre to the mean of
    its points (an empty cluster keeps its centre), until the squared centre shift
    :math:`\sum_j\lVert\Delta c_j\rVert^2` falls to ``tol`` times the mean feature
    variance, or ``max_iter``. The restarts run under ``vmap``.

    Args:
        key: PRNG key (seeds of the restarts).
        X: ``(n, d)`` finite data.
        n_clusters: ``k``, ``1 <= k <= n``.
        n_init: number of restarts (static; one compilation per value).
        max_iter: Lloyd iterations per restart at most (traced).
        tol: relative tolerance on the centre shift (traced).

    Returns:
        :class:`KMeansParams` of the restart with the lowest inertia.

    >>> x = jnp.array([[0., 0.], [0., 1.], [10., 0.], [10., 1.]])
    >>> p = kmeans_fit(jax.random.key(0), x, 2, n_init=2)
    >>> float(p.inertia)
    1.0
    >>> sorted(p.centers[:, 0].tolist())
    [0.0, 10.0]
    """
    check_key(key)
    x = as_features(X, "X")
    k = as_int(n_clusters, "n_clusters", minimum=1)
    if k > x.shape[0]:
        raise ValueError(f"n_clusters: expected at most the number of samples "
                         f"{x.shape[0]}, got {k}")
    n_init = as_int(n_init, "n_init", minimum=1)
    max_iter = jnp.asarray(as_int(max_iter, "max_iter", minimum=1), jnp.int32)
    tol = as_tolerance(tol, "tol").astype(x.dtype)
    return _kmeans_fit(key, x, k, n_init, max_iter, tol)


@jax.jit
def _predict(centers, x):
    return _assign(x, centers)[0].astype(jnp.int32)


def kmeans_predict(params: KMeansParams, X: Any) -> jax.Array:
    r"""Index of the nearest centre, :math:`\arg\min_j \lVert x - c_j\rVert^2`.

    Args:
        params: from :func:`kmeans_fit`.
        X: ``(m, d)`` finite data.

    Returns:
        ``(m,)`` int32 labels in ``0..k-1``.

    >>> p = KMeansParams(jnp.array([[0., 0.], [5., 5.]]), jnp.array(0.), jnp.array(0),
    ...                  jnp.zeros(1))
    >>> kmeans_predict(p, jnp.array([[1., 0.], [4., 6.]])).tolist()
    [0, 1]
    """
    x = as_features(X, "X")
    check_shape(x, "X", (None, params.centers.shape[1]))
    return _predict(params.centers, x.astype(params.centers.dtype))
