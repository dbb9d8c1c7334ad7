r"""Gaussian mixtures fitted by expectation–maximisation, model choice by BIC/AIC.

.. math:: p(x) = \sum_{j=1}^k \pi_j\,\mathcal N(x;\,\mu_j,\,\Sigma_j)

with full covariances. EM starts from a k-means partition and alternates the
responsibilities (E) and the weighted means and covariances (M).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, as_tolerance, check_finite, check_in, check_key, \
    check_positive, check_shape, as_array
from jaxphys.classical._common import as_features
from jaxphys.classical._kmeans import _kmeans_fit

__all__ = ["GMMParams", "GMMSelection", "gmm_fit", "gmm_score_samples", "gmm_predict",
           "gmm_predict_proba", "gmm_bic", "gmm_aic", "gmm_select", "gmm_n_parameters"]


class GMMParams(NamedTuple):
    """A fitted Gaussian mixture of ``k`` components in ``d`` dimensions.

    Fields:
        weights: ``(k,)`` mixing weights π_j, summing to 1.
        means: ``(k, d)`` component means μ_j.
        covariances: ``(k, d, d)`` full covariance matrices Σ_j (``reg_covar`` added).
        log_likelihood: ``()`` mean log-likelihood per training sample (nats) at the end.
        n_iter: ``()`` int32, EM iterations run.
        converged: ``()`` bool, whether the change of ``log_likelihood`` fell below ``tol``.

    Built by hand: two unit Gaussians at ∓1 with equal weights.

    >>> from jaxphys.classical import GMMParams, gmm_predict
    >>> g = GMMParams(weights=jnp.array([0.5, 0.5]), means=jnp.array([[-1.], [1.]]),
    ...               covariances=jnp.ones((2, 1, 1)), log_likelihood=0., n_iter=0,
    ...               converged=True)
    >>> gmm_predict(g, jnp.array([[-2.], [3.]])).tolist()
    [0, 1]
    """

    weights: jax.Array
    means: jax.Array
    covariances: jax.Array
    log_likelihood: jax.Array
    n_iter: jax.Array
    converged: jax.Array


def _component_logpdf(x, means, covs):
    """``(n, k)`` log N(x_i; μ_j, Σ_j) by Cholesky factors."""
    d = x.shape[1]
    chol = jnp.linalg.cholesky(covs)                                       # (k, d, d)
    diff = x[None, :, :] - means[:, None, :]                               # (k, n, d)
    sol = jax.scipy.linalg.solve_triangular(chol, jnp.swapaxes(diff, 1, 2), lower=True)
    maha = jnp.sum(sol * sol, axis=1)                                      # (k, n)
    logdet = 2.0 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=1, axis2=2)), axis=1)   # (k,)
    out = -0.5 * (d * jnp.log(2.0 * jnp.pi) + logdet[:, None] + maha)
    return out.T


def _joint(x, weights, means, covs):
    return _component_logpdf(x, means, covs) + jnp.log(weights)[None, :]


def _m_step(x, resp, reg_covar):
    n, d = x.shape
    nk = jnp.sum(resp, axis=0) + 10.0 * jnp.finfo(x.dtype).eps               # (k,)
    means = (resp.T @ x) / nk[:, None]
    diff = x[None, :, :] - means[:, None, :]                                 # (k, n, d)
    covs = jnp.einsum("nk,kni,knj->kij", resp, diff, diff) / nk[:, None, None]
    covs = covs + reg_covar * jnp.eye(d, dtype=x.dtype)[None, :, :]
    return nk / n, means, covs


@partial(jax.jit, static_argnames=("n_components", "n_init"))
def _gmm_fit(key, x, n_components, n_init, max_iter, tol, reg_covar):
    km = _kmeans_fit(key, x, n_components, n_init, jnp.asarray(100, jnp.int32),
                     jnp.asarray(1e-4, x.dtype))
    labels = jnp.argmin(jnp.sum((x[:, None, :] - km.centers[None, :, :]) ** 2, axis=2), axis=1)
    resp = jax.nn.one_hot(labels, n_components, dtype=x.dtype)
    w, mu, cov = _m_step(x, resp, reg_covar)

    def cond(state):
        *_, ll, ll_prev, it = state
        return (it < max_iter) & (jnp.abs(ll - ll_prev) >= tol)

    def body(state):
        w, mu, cov, ll, _, it = state
        joint = _joint(x, w, mu, cov)
        lse = jax.nn.logsumexp(joint, axis=1)
        resp = jnp.exp(joint - lse[:, None])
        w, mu, cov = _m_step(x, resp, reg_covar)
        return w, mu, cov, jnp.mean(lse), ll, it + 1

    inf = jnp.asarray(jnp.inf, x.dtype)
    init = (w, mu, cov, -inf, inf, jnp.asarray(0, jnp.int32))
    w, mu, cov, ll_last, ll_prev, it = jax.lax.while_loop(cond, body, init)
    final_ll = jnp.mean(jax.nn.logsumexp(_joint(x, w, mu, cov), axis=1))
    return GMMParams(weights=w, means=mu, covariances=cov, log_likelihood=final_ll,
                     n_iter=it, converged=jnp.abs(ll_last - ll_prev) < tol)


def gmm_fit(key: jax.Array, X: Any, n_components: int, *, max_iter: int = 100,
            tol: float = 1e-3, reg_covar: float = 1e-6, n_init: int = 3) -> GMMParams:
    r"""Fit a full-covariance Gaussian mixture by EM from a k-means start.

    E step (log-sum-exp for stability):
    :math:`\log r_{ij} = \log\pi_j + \log\mathcal N(x_i;\mu_j,\Sigma_j) - \log p(x_i)`.
    M step: :math:`N_j = \sum_i r_{ij}`, :math:`\pi_j = N_j/n`,
    :math:`\mu_j = \sum_i r_{ij}x_i/N_j`,
    :math:`\Sigma_j = \sum_i r_{ij}(x_i-\mu_j)(x_i-\mu_j)^\top/N_j + \epsilon I`
    (``reg_covar`` ε keeps Σ_j positive definite). Iterates (``lax.while_loop``) until
    the mean log-likelihood per sample changes by less than ``tol``. The start is the
    partition of :func:`~jaxphys.classical.kmeans_fit` (best of ``n_init`` restarts).

    Args:
        key: PRNG key (k-means seeding).
        X: ``(n, d)`` finite data, ``n >= n_components``.
        n_components: ``k >= 1`` (static).
        max_iter: EM iterations at most.
        tol: tolerance on the change of the mean log-likelihood (nats per sample).
        reg_covar: ε ≥ 0 added to every covariance diagonal.
        n_init: k-means restarts for the start (static).

    Returns:
        :class:`GMMParams`.

    >>> x = jnp.concatenate([jax.random.normal(jax.random.key(1), (200, 1)) - 5.0,
    ...                      jax.random.normal(jax.random.key(2), (200, 1)) + 5.0])
    >>> g = gmm_fit(jax.random.key(0), x, 2)
    >>> sorted(round(float(m)) for m in g.means[:, 0])
    [-5, 5]
    """
    check_key(key)
    x = as_features(X, "X")
    k = as_int(n_components, "n_components", minimum=1)
    if k > x.shape[0]:
        raise ValueError(f"n_components: expected at most the number of samples "
                         f"{x.shape[0]}, got {k}")
    n_init = as_int(n_init, "n_init", minimum=1)
    max_iter = jnp.asarray(as_int(max_iter, "max_iter", minimum=1), jnp.int32)
    tol = as_tolerance(tol, "tol").astype(x.dtype)
    reg = as_array(reg_covar, "reg_covar", ndim=0).astype(x.dtype)
    check_finite(reg, "reg_covar")
    check_positive(reg, "reg_covar", strict=False)
    return _gmm_fit(key, x, k, n_init, max_iter, tol, reg)


def _check_x(params: GMMParams, X: Any) -> jax.Array:
    x = as_features(X, "X")
    check_shape(x, "X", (None, params.means.shape[1]))
    return x.astype(params.means.dtype)


@jax.jit
def _score(params, x):
    return jax.nn.logsumexp(_joint(x, params.weights, params.means, params.covariances), axis=1)


@jax.jit
def _proba(params, x):
    joint = _joint(x, params.weights, params.means, params.covariances)
    return jax.nn.softmax(joint, axis=1)


def gmm_score_samples(params: GMMParams, X: Any) -> jax.Array:
    r"""Per-sample log-likelihood :math:`\log\sum_j\pi_j\mathcal N(x;\mu_j,\Sigma_j)` (nats).

    Args:
        params: from :func:`gmm_fit`. X: ``(m, d)``.

    Returns:
        ``(m,)`` log-densities.

    >>> g = GMMParams(jnp.ones(1), jnp.zeros((1, 1)), jnp.ones((1, 1, 1)), 0., 0, True)
    >>> gmm_score_samples(g, jnp.zeros((1, 1))).round(4).tolist()
    [-0.9189]
    """
    return _score(params, _check_x(params, X))


def gmm_predict_proba(params: GMMParams, X: Any) -> jax.Array:
    r"""Responsibilities :math:`r_{ij} = \pi_j\mathcal N(x_i;\mu_j,\Sigma_j)/p(x_i)`, ``(m, k)``.

    >>> g = GMMParams(jnp.array([0.5, 0.5]), jnp.array([[-1.], [1.]]),
    ...               jnp.ones((2, 1, 1)), 0., 0, True)
    >>> gmm_predict_proba(g, jnp.zeros((1, 1))).tolist()
    [[0.5, 0.5]]
    """
    return _proba(params, _check_x(params, X))


def gmm_predict(params: GMMParams, X: Any) -> jax.Array:
    r"""Most responsible component :math:`\arg\max_j r_{ij}`, ``(m,)`` int32.

    >>> g = GMMParams(jnp.array([0.5, 0.5]), jnp.array([[-1.], [1.]]),
    ...               jnp.ones((2, 1, 1)), 0., 0, True)
    >>> gmm_predict(g, jnp.array([[-2.], [3.]])).tolist()
    [0, 1]
    """
    return jnp.argmax(gmm_predict_proba(params, X), axis=1).astype(jnp.int32)


def gmm_n_parameters(n_components: int, n_features: int) -> int:
    r"""Free parameters of a full-covariance mixture: :math:`(k-1) + kd + k\,d(d+1)/2`.

    >>> gmm_n_parameters(3, 2)
    17
    """
    k = as_int(n_components, "n_components", minimum=1)
    d = as_int(n_features, "n_features", minimum=1)
    return (k - 1) + k * d + k * d * (d + 1) // 2


def gmm_bic(params: GMMParams, X: Any) -> jax.Array:
    r"""Bayesian information criterion :math:`-2\sum_i\log p(x_i) + p\ln n` (lower is better).

    >>> g = GMMParams(jnp.ones(1), jnp.zeros((1, 1)), jnp.ones((1, 1, 1)), 0., 0, True)
    >>> round(float(gmm_bic(g, jnp.zeros((1, 1)))), 4)   # 2·0.9189 + 2 ln 1
    1.8379
    """
    x = _check_x(params, X)
    k, d = params.means.shape
    return -2.0 * jnp.sum(_score(params, x)) + gmm_n_parameters(k, d) * np.log(x.shape[0])


def gmm_aic(params: GMMParams, X: Any) -> jax.Array:
    r"""Akaike information criterion :math:`-2\sum_i\log p(x_i) + 2p` (lower is better).

    >>> g = GMMParams(jnp.ones(1), jnp.zeros((1, 1)), jnp.ones((1, 1, 1)), 0., 0, True)
    >>> round(float(gmm_aic(g, jnp.zeros((1, 1)))), 4)   # 2·0.9189 + 2·2
    5.8379
    """
    x = _check_x(params, X)
    k, d = params.means.shape
    return -2.0 * jnp.sum(_score(params, x)) + 2.0 * gmm_n_parameters(k, d)


class GMMSelection(NamedTuple):
    """The outcome of :func:`gmm_select`.

    Fields:
        best: :class:`GMMParams` of the mixture with the lowest criterion.
        n_components: ``()`` int, its number of components.
        candidates: ``(m,)`` int32, the numbers of components tried.
        bic: ``(m,)`` BIC of each candidate.
        aic: ``(m,)`` AIC of each candidate.

    Built by hand (a fit is :func:`gmm_select`): the chosen ``n_components`` is the
    candidate of lowest BIC.

    >>> from jaxphys.classical import GMMParams, GMMSelection
    >>> one = GMMParams(jnp.ones(1), jnp.zeros((1, 1)), jnp.ones((1, 1, 1)), 0., 0, True)
    >>> sel = GMMSelection(best=one, n_components=1, candidates=jnp.array([1, 2, 3]),
    ...                    bic=jnp.array([10.0, 12.5, 15.1]), aic=jnp.array([8.0, 8.5, 9.0]))
    >>> int(sel.candidates[jnp.argmin(sel.bic)]) == sel.n_components, sel.best.means.shape
    (True, (1, 1))
    """

    best: GMMParams
    n_components: int
    candidates: jax.Array
    bic: jax.Array
    aic: jax.Array


def gmm_select(key: jax.Array, X: Any, n_components: Sequence[int] = (1, 2, 3, 4, 5), *,
               criterion: str = "bic", **fit_kwargs: Any) -> GMMSelection:
    r"""Fit a mixture for each candidate ``k`` and keep the lowest BIC (or AIC).

    .. math:: \mathrm{BIC}_k = -2\ln\hat L_k + p_k\ln n,\qquad
              \mathrm{AIC}_k = -2\ln\hat L_k + 2p_k,

    :math:`p_k` from :func:`gmm_n_parameters`. Each candidate gets its own key
    (split from ``key``) and its own compiled fit.

    Args:
        key: PRNG key.
        X: ``(n, d)`` finite data.
        n_components: candidate numbers of components (ints ≥ 1).
        criterion: ``"bic"`` or ``"aic"``.
        **fit_kwargs: passed to :func:`gmm_fit`.

    Returns:
        :class:`GMMSelection`.

    >>> x = jnp.concatenate([jax.random.normal(jax.random.key(1), (200, 1)) - 5.0,
    ...                      jax.random.normal(jax.random.key(2), (200, 1)) + 5.0])
    >>> sel = gmm_select(jax.random.key(0), x, (1, 2))
    >>> sel.n_components, sel.bic.shape
    (2, (2,))
    """
    check_key(key)
    check_in(criterion, "criterion", ("bic", "aic"))
    cands = [as_int(c, "n_components", minimum=1) for c in n_components]
    if not cands:
        raise ValueError("n_components: expected at least one candidate, got none")
    x = as_features(X, "X")
    fits, bics, aics = [], [], []
    for c, sub in zip(cands, jax.random.split(key, len(cands))):
        g = gmm_fit(sub, x, c, **fit_kwargs)
        fits.append(g)
        bics.append(float(gmm_bic(g, x)))
        aics.append(float(gmm_aic(g, x)))
    scores = bics if criterion == "bic" else aics
    best = int(np.argmin(scores))
    return GMMSelection(best=fits[best], n_components=cands[best],
                        candidates=jnp.asarray(cands, jnp.int32),
                        bic=jnp.asarray(bics), aic=jnp.asarray(aics))
