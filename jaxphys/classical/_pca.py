r"""Principal component analysis by the SVD of the centred data.

For data :math:`X \in \mathbb R^{n\times d}` with column means :math:`\mu`,
the thin SVD :math:`X - \mathbf 1\mu^\top = U S V^\top` gives the principal
axes (rows of :math:`V^\top`), the explained variances
:math:`\lambda_k = S_k^2/(n-1)` and the projections :math:`Z = (X-\mu)V`.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_key, check_shape
from jaxphys.classical._common import as_features

__all__ = ["PCAParams", "pca_fit", "pca_transform", "pca_inverse_transform"]


class PCAParams(NamedTuple):
    """A fitted PCA (``k`` components of ``d`` features).

    Fields:
        mean: ``(d,)`` feature means subtracted before projecting.
        components: ``(k, d)`` orthonormal principal axes, by decreasing variance;
            each row's entry of largest magnitude is positive (the sign convention).
        singular_values: ``(k,)`` singular values ``S_k`` of the centred data.
        explained_variance: ``(k,)`` variances along the axes, ``S_k² / (n - 1)``.
        explained_variance_ratio: ``(k,)`` the same over the total variance (all ``d``
            directions), so it sums to ≤ 1.
        scale: ``(k,)`` divisor applied to the projections: ones, or
            ``sqrt(explained_variance)`` when whitening.

    Three points spread along x (variance 1) and barely along y (variance 1/300):

    >>> from jaxphys.classical import pca_fit
    >>> p = pca_fit(None, jnp.array([[1., 0.], [-1., 0.], [0., 0.1]]), 1)
    >>> p.components.round(4).tolist(), round(float(p.explained_variance[0]), 4)
    ([[1.0, 0.0]], 1.0)
    >>> round(float(p.explained_variance_ratio[0]), 4), p.scale.tolist()   # 1 / (1 + 1/300)
    (0.9967, [1.0])
    """

    mean: jax.Array
    components: jax.Array
    singular_values: jax.Array
    explained_variance: jax.Array
    explained_variance_ratio: jax.Array
    scale: jax.Array


def sign_convention(components: jax.Array) -> jax.Array:
    """Flip each row of ``(k, d)`` axes so that its largest-magnitude entry is positive.

    >>> sign_convention(jnp.array([[0.6, -0.8], [0.8, 0.6]])).tolist()
    [[-0.6..., 0.8...], [0.8..., 0.6...]]
    """
    idx = jnp.argmax(jnp.abs(components), axis=1)
    signs = jnp.sign(jnp.take_along_axis(components, idx[:, None], axis=1))
    signs = jnp.where(signs == 0, 1.0, signs).astype(components.dtype)
    return components * signs


@partial(jax.jit, static_argnames=("n_components",))
def _pca_fit(x: jax.Array, n_components: int, whiten: jax.Array) -> PCAParams:
    n = x.shape[0]
    mean = jnp.mean(x, axis=0)
    centred = x - mean[None, :]
    _, s, vt = jnp.linalg.svd(centred, full_matrices=False)
    var = s ** 2 / jnp.maximum(n - 1, 1)
    total = jnp.sum(var)
    comps = sign_convention(vt[:n_components])
    var_k = var[:n_components]
    ratio = var_k / jnp.where(total > 0, total, 1.0)
    scale = jnp.where(whiten, jnp.sqrt(jnp.where(var_k > 0, var_k, 1.0)), jnp.ones_like(var_k))
    return PCAParams(mean=mean, components=comps, singular_values=s[:n_components],
                     explained_variance=var_k, explained_variance_ratio=ratio, scale=scale)


def pca_fit(key: Any, X: Any, n_components: int | None = None, *,
            whiten: bool = False) -> PCAParams:
    r"""Fit a PCA: the thin SVD of the centred data.

    .. math::
        X - \mathbf 1\mu^\top = U S V^\top,\qquad
        \lambda_k = \frac{S_k^2}{n-1},\qquad
        r_k = \frac{\lambda_k}{\sum_{j=1}^{\min(n,d)}\lambda_j}.

    The axes are the first ``k`` rows of :math:`V^\top`; each is flipped so that its
    entry of largest magnitude is positive, which makes the result deterministic
    (the SVD fixes each axis only up to a sign). With ``whiten=True``,
    :func:`pca_transform` divides the projections by :math:`\sqrt{\lambda_k}` so
    that they have unit variance on the training data.

    Args:
        key: unused (PCA is deterministic); accepted, and may be ``None``, so that every
            classical method has the signature ``fit(key, X, ...)``.
        X: ``(n, d)`` finite data, ``n >= 2``.
        n_components: ``k``, ``1 <= k <= min(n, d)``; ``None`` keeps ``min(n, d)``.
        whiten: scale the projections to unit variance.

    Returns:
        :class:`PCAParams` (jitted fit; compiled once per shape and ``k``).

    >>> x = jnp.array([[0., 0.], [1., 1.], [2., 2.], [3., 3.01]])
    >>> p = pca_fit(None, x, 1)
    >>> round(float(p.explained_variance_ratio[0]), 4)
    1.0
    >>> pca_transform(p, x).shape
    (4, 1)
    """
    if key is not None:
        check_key(key)
    x = as_features(X, "X", min_samples=2)
    n, d = x.shape
    k_max = min(n, d)
    k = k_max if n_components is None else as_int(n_components, "n_components", minimum=1)
    if k > k_max:
        raise ValueError(f"n_components: expected at most min(n_samples, n_features) = "
                         f"min({n}, {d}) = {k_max}, got {k}")
    if not isinstance(whiten, bool):
        raise ValueError(f"whiten: expected a bool, got {type(whiten).__name__}")
    return _pca_fit(x, k, jnp.asarray(whiten))


def _check_params_x(params: PCAParams, x: Any, name: str, width: int) -> jax.Array:
    arr = as_features(x, name)
    check_shape(arr, name, (None, width))
    return arr.astype(params.components.dtype)


@jax.jit
def _transform(params: PCAParams, x: jax.Array) -> jax.Array:
    return ((x - params.mean[None, :]) @ params.components.T) / params.scale[None, :]


@jax.jit
def _inverse(params: PCAParams, z: jax.Array) -> jax.Array:
    return (z * params.scale[None, :]) @ params.components + params.mean[None, :]


def pca_transform(params: PCAParams, X: Any) -> jax.Array:
    r"""Project data on the principal axes: :math:`Z = (X - \mu) V_k / s`.

    ``s`` is :attr:`PCAParams.scale` (ones, or :math:`\sqrt{\lambda_k}` if whitened).

    Args:
        params: from :func:`pca_fit`.
        X: ``(m, d)`` finite data.

    Returns:
        ``(m, k)`` projections.

    >>> p = pca_fit(None, jnp.array([[1., 0.], [-1., 0.], [0., 0.1]]), 1)
    >>> pca_transform(p, jnp.array([[2., 0.]])).round(3).tolist()
    [[2.0]]
    """
    x = _check_params_x(params, X, "X", params.components.shape[1])
    return _transform(params, x)


def pca_inverse_transform(params: PCAParams, Z: Any) -> jax.Array:
    r"""Map projections back to feature space: :math:`\hat X = (Z s) V_k^\top + \mu`.

    Exact (up to rounding) when ``k = d``; otherwise the reconstruction from the
    first ``k`` components, the least-squares best rank-``k`` approximation.

    Args:
        params: from :func:`pca_fit`.
        Z: ``(m, k)`` projections.

    Returns:
        ``(m, d)`` reconstructed data.

    >>> p = pca_fit(None, jnp.array([[1., 0.], [-1., 0.], [0., 0.1]]), 2)
    >>> pca_inverse_transform(p, pca_transform(p, jnp.array([[2., 3.]]))).round(4).tolist()
    [[2.0, 3.0]]
    """
    z = _check_params_x(params, Z, "Z", params.components.shape[0])
    return _inverse(params, z)
