r"""Non-parametric density estimation: histograms and Gaussian kernel densities.

Histogram: :math:`\hat p(x) = c_b / (n\,w_b)` for :math:`x` in bin :math:`b` of
width :math:`w_b` holding :math:`c_b` of the :math:`n` samples.

Gaussian KDE: :math:`\hat p(x) = \frac1n\sum_i \mathcal N(x;\,x_i,\,h^2 I)`, its
bandwidth :math:`h` chosen by the shuffled k-fold cross-validated log-likelihood.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_key, check_positive, \
    check_shape
from jaxphys.classical._common import as_features, float_dtype
from jaxphys.classical._kmeans import pairwise_sq_dists

__all__ = ["HistogramParams", "histogram_fit", "histogram_density",
           "KDEParams", "kde_fit", "kde_score_samples"]


# ----------------------------------------------------------------------------- histogram

class HistogramParams(NamedTuple):
    """A normalised histogram of ``B`` bins.

    Fields:
        edges: ``(B + 1,)`` increasing bin edges.
        density: ``(B,)`` density in each bin, ``counts / (n · widths)``; integrates to 1.
        counts: ``(B,)`` samples in each bin (the last bin includes its right edge).

    >>> from jaxphys.classical import histogram_fit
    >>> h = histogram_fit(None, jnp.array([0.1, 0.2, 0.6, 0.7, 0.8]), 2, range=(0.0, 1.0))
    >>> h.edges.tolist(), h.counts.tolist()
    ([0.0, 0.5, 1.0], [2.0, 3.0])
    >>> round(float(jnp.sum(h.density * jnp.diff(h.edges))), 4)    # normalised to 1
    1.0
    """

    edges: jax.Array
    density: jax.Array
    counts: jax.Array


@jax.jit
def _histogram(x, edges):
    n_bins = edges.shape[0] - 1
    idx = jnp.searchsorted(edges, x, side="right") - 1
    idx = jnp.where(x == edges[-1], n_bins - 1, idx)          # right edge closes the last bin
    inside = (idx >= 0) & (idx < n_bins)
    counts = jnp.zeros(n_bins, x.dtype).at[jnp.clip(idx, 0, n_bins - 1)].add(
        inside.astype(x.dtype))
    widths = jnp.diff(edges)
    total = jnp.sum(counts)
    density = counts / (jnp.where(total > 0, total, 1.0) * widths)
    return HistogramParams(edges=edges, density=density, counts=counts)


def histogram_fit(key: Any, x: Any, bins: int | Any = 10,
                  range: tuple[float, float] | None = None) -> HistogramParams:  # noqa: A002
    r"""A normalised histogram density estimate of 1-D data.

    .. math:: \hat p(x) = \frac{c_b}{n\,w_b},\qquad x\in[e_b, e_{b+1}),\quad w_b = e_{b+1}-e_b,

    the last bin closed on the right (as ``numpy.histogram``); samples outside the
    edges are not counted, and ``n`` counts the samples inside, so
    :math:`\sum_b \hat p_b w_b = 1`.

    Args:
        key: unused (deterministic); may be ``None`` (uniform ``fit(key, X, ...)`` API).
        x: ``(n,)`` finite samples.
        bins: number of equal-width bins (int ≥ 1) over ``range``, or a ``(B + 1,)``
            strictly increasing array of edges (any widths).
        range: ``(lo, hi)`` for integer ``bins``; default the data's min and max.

    Returns:
        :class:`HistogramParams`.

    >>> h = histogram_fit(None, jnp.array([0.1, 0.2, 0.6, 0.7, 0.8]), 2, range=(0.0, 1.0))
    >>> h.density.tolist()
    [0.8..., 1.2...]
    """
    if key is not None:
        check_key(key)
    xs = as_array(x, "x", ndim=1)
    xs = xs.astype(float_dtype(xs))
    if xs.shape[0] < 1:
        raise ValueError("x: expected at least one sample, got shape (0,)")
    check_finite(xs, "x")
    if np.ndim(bins) == 0:
        n_bins = as_int(bins, "bins", minimum=1)
        if range is None:
            lo, hi = float(jnp.min(xs)), float(jnp.max(xs))
        else:
            if len(range) != 2:
                raise ValueError(f"range: expected (lo, hi), got {range!r}")
            lo, hi = float(range[0]), float(range[1])
            if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
                raise ValueError(f"range: expected finite lo <= hi, got {range!r}")
        if hi == lo:
            lo, hi = lo - 0.5, hi + 0.5
        edges = jnp.linspace(lo, hi, n_bins + 1, dtype=xs.dtype)
    else:
        edges = as_array(bins, "bins", ndim=1).astype(xs.dtype)
        check_finite(edges, "bins")
        if edges.shape[0] < 2 or not bool(jnp.all(jnp.diff(edges) > 0)):
            raise ValueError(f"bins: expected at least 2 strictly increasing edges, "
                             f"got {np.asarray(edges).tolist()}")
    return _histogram(xs, edges)


@jax.jit
def _hist_eval(params, x):
    edges = params.edges
    n_bins = edges.shape[0] - 1
    idx = jnp.searchsorted(edges, x, side="right") - 1
    idx = jnp.where(x == edges[-1], n_bins - 1, idx)
    inside = (idx >= 0) & (idx < n_bins)
    return jnp.where(inside, params.density[jnp.clip(idx, 0, n_bins - 1)], 0.0)


def histogram_density(params: HistogramParams, x: Any) -> jax.Array:
    r"""Evaluate a histogram density :math:`\hat p(x)` (0 outside the edges).

    Args:
        params: from :func:`histogram_fit`.
        x: ``(m,)`` points.

    Returns:
        ``(m,)`` densities.

    >>> h = histogram_fit(None, jnp.array([0.1, 0.2, 0.6, 0.7, 0.8]), 2, range=(0.0, 1.0))
    >>> histogram_density(h, jnp.array([0.3, 0.9, 1.5])).tolist()
    [0.8..., 1.2..., 0.0]
    """
    xs = as_array(x, "x", ndim=1).astype(params.edges.dtype)
    check_finite(xs, "x")
    return _hist_eval(params, xs)


# ----------------------------------------------------------------------------- KDE

class KDEParams(NamedTuple):
    """A Gaussian kernel density estimate on ``n`` samples of ``d`` features.

    Fields:
        data: ``(n, d)`` the samples (the kernel centres).
        bandwidth: ``()`` the kernel width ``h`` used (same units as the data).
        bandwidths: ``(m,)`` the bandwidth grid searched (``(1,)``: the one given).
        cv_scores: ``(m,)`` mean held-out log-likelihood per sample (nats) for each
            grid bandwidth; NaN when the bandwidth was given.

    >>> from jaxphys.classical import kde_fit
    >>> p = kde_fit(None, jnp.array([[0.0], [2.0]]), bandwidth=0.5)
    >>> p.data.shape, float(p.bandwidth), p.bandwidths.tolist(), bool(jnp.isnan(p.cv_scores[0]))
    ((2, 1), 0.5, [0.5], True)
    """

    data: jax.Array
    bandwidth: jax.Array
    bandwidths: jax.Array
    cv_scores: jax.Array


def _log_kernel_norm(h, d):
    return -0.5 * d * jnp.log(2.0 * jnp.pi * h * h)


@jax.jit
def _kde_logpdf(data, h, x):
    n, d = data.shape
    sq = pairwise_sq_dists(x, data)                                    # (m, n)
    return (jax.nn.logsumexp(-0.5 * sq / (h * h), axis=1) + _log_kernel_norm(h, d)
            - jnp.log(n))


@partial(jax.jit, static_argnames=("n_folds",))
def _kde_cv(key, data, bandwidths, n_folds):
    n, d = data.shape
    perm = jax.random.permutation(key, n)
    fold = jnp.zeros(n, jnp.int32).at[perm].set(jnp.arange(n, dtype=jnp.int32) % n_folds)
    train = fold[:, None] != fold[None, :]                             # (n, n): j trains i
    n_train = jnp.sum(train, axis=1).astype(data.dtype)
    sq = pairwise_sq_dists(data, data)

    def score(h):
        logk = jnp.where(train, -0.5 * sq / (h * h), -jnp.inf)
        ll = jax.nn.logsumexp(logk, axis=1) + _log_kernel_norm(h, d) - jnp.log(n_train)
        return jnp.mean(ll)

    return jax.lax.map(score, bandwidths)


def kde_fit(key: jax.Array | None, X: Any, bandwidth: float | None = None, *,
            bandwidths: Any = None, n_folds: int = 5) -> KDEParams:
    r"""Gaussian kernel density estimate, bandwidth by cross-validated log-likelihood.

    .. math::
        \hat p_h(x) = \frac1n\sum_{i=1}^n (2\pi h^2)^{-d/2}
                      \exp\!\Big(-\frac{\lVert x-x_i\rVert^2}{2h^2}\Big).

    Without ``bandwidth``, the samples are shuffled (``key``) into ``n_folds``
    folds and each grid bandwidth is scored by the mean held-out log-likelihood
    :math:`\frac1n\sum_i \log\hat p_h^{(-f(i))}(x_i)`, each sample evaluated under
    the estimate built from the other folds; the best one is kept. The default
    grid is :math:`h_S\cdot 2^{t}`, ``t`` in 25 steps over [-4, 2], around Silverman's
    :math:`h_S = \bar\sigma\,(4/((d+2)n))^{1/(d+4)}` (:math:`\bar\sigma` the mean
    feature standard deviation).

    Args:
        key: PRNG key for the fold shuffle (may be ``None`` when ``bandwidth`` is given).
        X: ``(n, d)`` finite samples, ``n >= n_folds`` when cross-validating.
        bandwidth: fixed ``h > 0``; skips the search.
        bandwidths: ``(m,)`` positive grid to search (default above).
        n_folds: ``k >= 2`` folds.

    Returns:
        :class:`KDEParams`.

    >>> p = kde_fit(None, jnp.zeros((1, 1)), bandwidth=1.0)
    >>> round(float(kde_score_samples(p, jnp.zeros((1, 1)))[0]), 4)   # -log sqrt(2π)
    -0.9189
    """
    x = as_features(X, "X")
    n, d = x.shape
    if bandwidth is not None:
        h = as_array(bandwidth, "bandwidth", ndim=0).astype(x.dtype)
        check_finite(h, "bandwidth")
        check_positive(h, "bandwidth")
        return KDEParams(data=x, bandwidth=h, bandwidths=h[None],
                         cv_scores=jnp.full((1,), jnp.nan, x.dtype))
    check_key(key)
    k = as_int(n_folds, "n_folds", minimum=2)
    if n < k:
        raise ValueError(f"X: cross-validation with n_folds={k} needs at least {k} samples, "
                         f"got {n}")
    if bandwidths is None:
        sigma = float(jnp.mean(jnp.std(x, axis=0, ddof=1))) if n > 1 else 1.0
        sigma = sigma if sigma > 0 else 1.0
        h_s = sigma * (4.0 / ((d + 2.0) * n)) ** (1.0 / (d + 4.0))
        grid = jnp.asarray(h_s * 2.0 ** np.linspace(-4.0, 2.0, 25), x.dtype)
    else:
        grid = as_array(bandwidths, "bandwidths", ndim=1).astype(x.dtype)
        if grid.shape[0] < 1:
            raise ValueError("bandwidths: expected at least one value, got shape (0,)")
        check_finite(grid, "bandwidths")
        check_positive(grid, "bandwidths")
    scores = _kde_cv(key, x, grid, k)
    best = jnp.argmax(jnp.where(jnp.isnan(scores), -jnp.inf, scores))
    return KDEParams(data=x, bandwidth=grid[best], bandwidths=grid, cv_scores=scores)


def kde_score_samples(params: KDEParams, X: Any) -> jax.Array:
    r"""Per-sample log-density :math:`\log\hat p_h(x)` (nats), by log-sum-exp.

    Args:
        params: from :func:`kde_fit`.
        X: ``(m, d)`` finite points.

    Returns:
        ``(m,)`` log-densities.

    >>> p = kde_fit(None, jnp.array([[0.0], [2.0]]), bandwidth=0.5)
    >>> kde_score_samples(p, jnp.array([[0.0], [2.0]])).round(3).tolist()
    [-0.919, -0.919]
    """
    x = as_features(X, "X")
    check_shape(x, "X", (None, params.data.shape[1]))
    return _kde_logpdf(params.data, params.bandwidth, x.astype(params.data.dtype))
