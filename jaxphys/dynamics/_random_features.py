"""Random-features regression and double descent.

A random-features model is linear regression on fixed random nonlinear features
of the input,

.. math:: f(x) = \\sum_{j=1}^{P} w_j\\, φ(x \\cdot v_j + b_j),

with ``v_j, b_j`` drawn once and only ``w`` fitted. With ``P`` features and ``N``
training points, the minimum-norm least-squares fit ``w = Φ⁺ y`` (``Φ⁺`` the
Moore–Penrose pseudo-inverse) interpolates the training data once ``P ≥ N``.
Its test error is U-shaped for ``P < N``, **peaks at the interpolation threshold
P ≈ N** (where ``Φ`` is square and nearly singular, so the noise is amplified by
its smallest singular values), and falls again for ``P > N``, where more
features let the minimum-norm solution spread the fit smoothly: double descent.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import (as_array, as_int, check_finite, check_in, check_key,
                             check_positive, check_same_length)

__all__ = ["FeatureMap", "init_feature_map", "apply_features", "min_norm_lstsq",
           "DoubleDescent", "double_descent", "FEATURE_KINDS"]

FEATURE_KINDS = ("relu", "fourier")


class FeatureMap(NamedTuple):
    """Random projection of a random-features model.

    Fields:
        weights: ``(d, P)`` float, ``v_j`` as columns, ``v_j ~ N(0, scale² / d)``.
        bias: ``(P,)`` float; ``N(0, 1)`` for ReLU features, ``U(0, 2π)`` for Fourier.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.dynamics import FeatureMap, apply_features, init_feature_map
        >>> fm = init_feature_map(jax.random.key(0), 3, 10)      # 10 ReLU features of R³
        >>> x = jnp.ones((4, 3))
        >>> by_hand = jnp.maximum(x @ fm.weights + fm.bias[None, :], 0.0) / jnp.sqrt(10.0)
        >>> isinstance(fm, FeatureMap), bool(jnp.allclose(apply_features(fm, x), by_hand))
        (True, True)
    """

    weights: jax.Array
    bias: jax.Array


def init_feature_map(key: jax.Array, d_in: int, n_features: int, *, kind: str = "relu",
                     scale: Any = 1.0) -> FeatureMap:
    """Draw the random projection of ``n_features`` features of a ``d_in``-dim input.

    >>> fm = init_feature_map(jax.random.key(0), 3, 10)
    >>> fm.weights.shape, fm.bias.shape
    ((3, 10), (10,))
    """
    check_key(key)
    d = as_int(d_in, "d_in", minimum=1)
    p = as_int(n_features, "n_features", minimum=1)
    check_in(kind, "kind", FEATURE_KINDS)
    scale = as_array(scale, "scale", ndim=0)
    check_positive(scale, "scale")
    w_key, b_key = jax.random.split(key)
    weights = scale * jax.random.normal(w_key, (d, p)) / np.sqrt(d)
    if kind == "relu":
        bias = jax.random.normal(b_key, (p,))
    else:
        bias = jax.random.uniform(b_key, (p,), maxval=2 * np.pi)
    return FeatureMap(weights, bias)


def apply_features(feature_map: FeatureMap, x: Any, *, kind: str = "relu") -> jax.Array:
    r"""Features ``Φ_{ij} = φ(x_i · v_j + b_j)/√P`` of a batch ``x (n, d)`` → ``(n, P)``.

    ``φ`` is ``max(0, ·)`` (``'relu'``) or ``√2 cos(·)`` (``'fourier'``, random
    Fourier features of a Gaussian kernel of length ``√d/scale``).

    >>> fm = init_feature_map(jax.random.key(0), 1, 5)
    >>> apply_features(fm, jnp.zeros((4, 1))).shape
    (4, 5)
    """
    check_in(kind, "kind", FEATURE_KINDS)
    x = as_array(x, "x", ndim=2)
    if x.shape[1] != feature_map.weights.shape[0]:
        raise ValueError(f"x: expected shape (n, {feature_map.weights.shape[0]}) to match the "
                         f"feature map, got {tuple(x.shape)}")
    check_finite(x, "x")
    return _features(feature_map, x, kind)


def _features(fm: FeatureMap, x: jax.Array, kind: str) -> jax.Array:
    pre = x @ fm.weights + fm.bias[None, :]
    phi = jax.nn.relu(pre) if kind == "relu" else np.sqrt(2.0) * jnp.cos(pre)
    return phi / np.sqrt(fm.weights.shape[1])


def _min_norm(phi: jax.Array, y: jax.Array, ridge: jax.Array, rcond: float) -> jax.Array:
    u, s, vt = jnp.linalg.svd(phi, full_matrices=False)
    keep = s > rcond * s[0]
    inv = jnp.where(keep, s / jnp.where(keep, s * s + ridge, 1.0), 0.0)
    return vt.T @ (inv * (u.T @ y))


def min_norm_lstsq(features: Any, y: Any, *, ridge: Any = 0.0, rcond: float | None = None
                   ) -> jax.Array:
    r"""Minimum-norm least squares ``w = Φ⁺ y`` (or ridge ``(ΦᵀΦ + λ)⁻¹Φᵀy`` for λ > 0).

    Through the SVD ``Φ = U S Vᵀ``: ``w = V diag(s/(s² + λ)) Uᵀ y``, singular values
    below ``rcond · s_max`` dropped (default ``rcond = 10 · max(n, P) · ε``,
    as ``numpy.linalg.pinv``). For ``P ≥ n`` and λ = 0 it interpolates: ``Φw = y``.

    Args:
        features: ``(n, P)`` design matrix Φ.
        y: ``(n,)`` targets.
        ridge: λ ≥ 0.
        rcond: relative cut-off of small singular values.

    Returns:
        ``(P,)`` weights.

    >>> phi = jnp.array([[1.0, 1.0]])                  # one equation, two unknowns
    >>> min_norm_lstsq(phi, jnp.array([2.0])).tolist()
    [1.0, 1.0]
    """
    phi = as_array(features, "features", ndim=2)
    y = as_array(y, "y", ndim=1)
    check_same_length("features", phi, "y", y)
    check_finite(phi, "features")
    check_finite(y, "y")
    lam = as_array(ridge, "ridge", ndim=0)
    check_positive(lam, "ridge", strict=False)
    dtype = jnp.result_type(phi, y, float)
    if rcond is None:
        rcond = 10.0 * max(phi.shape) * float(jnp.finfo(dtype).eps)
    return _min_norm(phi.astype(dtype), y.astype(dtype), lam.astype(dtype), float(rcond))


class DoubleDescent(NamedTuple):
    """Errors of minimum-norm random-features fits against the number of features.

    Fields:
        n_features: ``(K,)`` int, the numbers of features P.
        n_train: int, the number of training points N (the threshold is P = N).
        train_mse: ``(K, n_seeds)`` float, mean squared error on the training set.
        test_mse: ``(K, n_seeds)`` float, mean squared error on the test set.
        weight_norm: ``(K, n_seeds)`` float, ``‖w‖₂`` of each fit.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.dynamics import DoubleDescent, double_descent
        >>> x = jnp.linspace(-1, 1, 8)
        >>> dd = double_descent(jax.random.key(0), x, jnp.sin(3 * x), x, jnp.sin(3 * x),
        ...                     [2, 8, 32], n_seeds=2)
        >>> isinstance(dd, DoubleDescent), dd.n_train, dd.n_features.tolist()
        (True, 8, [2, 8, 32])
        >>> bool(dd.train_mse[0].min() > 0.1)          # P = 2 < N features cannot fit sin 3x
        True
    """

    n_features: np.ndarray
    n_train: int
    train_mse: jax.Array
    test_mse: jax.Array
    weight_norm: jax.Array


@partial(jax.jit, static_argnames=("kind", "p_max", "rcond"))
def _sweep(keys, x_train, y_train, x_test, y_test, n_features, scale, ridge, *, kind, p_max,
           rcond):
    d = x_train.shape[1]
    n = x_train.shape[0]
    # eigenvalues of the Gram matrix are squared singular values: cut at rcond² of the
    # largest, but no lower than what the dtype resolves (n ε)
    eig_cut = max(rcond ** 2, n * float(jnp.finfo(x_train.dtype).eps))

    def one_seed(key):
        w_key, b_key = jax.random.split(key)
        weights = scale * jax.random.normal(w_key, (d, p_max), x_train.dtype) / np.sqrt(d)
        if kind == "relu":
            bias = jax.random.normal(b_key, (p_max,), x_train.dtype)
        else:
            bias = jax.random.uniform(b_key, (p_max,), x_train.dtype, maxval=2 * np.pi)
        fm = FeatureMap(weights, bias)
        phi_train = _features(fm, x_train, kind) * np.sqrt(p_max)        # unnormalised φ
        phi_test = _features(fm, x_test, kind) * np.sqrt(p_max)

        def one_p(p):
            # The model with P features uses the first P columns (nested models). In the
            # dual (kernel) form the minimum-norm fit is w = Φᵀ α, α = (ΦΦᵀ + λ)⁺ y, with the
            # n × n Gram matrix ΦΦᵀ = Σ_{j<P} φ_j φ_jᵀ / P: one small eigh per P.
            mask = (jnp.arange(p_max) < p).astype(phi_train.dtype) / p
            gram = (phi_train * mask[None, :]) @ phi_train.T
            cross = (phi_test * mask[None, :]) @ phi_train.T
            lam, vec = jnp.linalg.eigh(gram)
            keep = lam > eig_cut * lam[-1]
            inv = jnp.where(keep, 1.0 / jnp.where(keep, lam + ridge, 1.0), 0.0)
            alpha = vec @ (inv * (vec.T @ y_train))
            train = jnp.mean((gram @ alpha - y_train) ** 2)
            test = jnp.mean((cross @ alpha - y_test) ** 2)
            return train, test, jnp.sqrt(jnp.maximum(alpha @ gram @ alpha, 0.0))

        return jax.vmap(one_p)(n_features)

    train, test, norm = jax.vmap(one_seed)(keys)            # (n_seeds, K)
    return train.T, test.T, norm.T


def double_descent(key: jax.Array, x_train: Any, y_train: Any, x_test: Any, y_test: Any,
                   n_features: Sequence[int], *, n_seeds: int = 5, kind: str = "relu",
                   scale: Any = 1.0, ridge: Any = 0.0, rcond: float | None = None
                   ) -> DoubleDescent:
    r"""Train and test error of minimum-norm random-features regression against P.

    For every seed a fresh random feature map with ``max(n_features)`` features is
    drawn; the model with ``P`` features uses its first ``P`` (nested models), fitted
    by minimum-norm least squares in the dual form ``w = Φᵀ (ΦΦᵀ)⁺ y`` (one ``N × N``
    eigendecomposition per fit; the same solution as :func:`min_norm_lstsq`, with
    features normalised by ``1/√P``, so ``weight_norm`` is ``‖w‖`` of those features).
    Everything (seeds × feature counts) runs vmapped in one jitted call.

    Args:
        key: PRNG key for the feature maps.
        x_train: ``(N, d)`` (or ``(N,)`` for d = 1) training inputs; ``y_train (N,)``.
        x_test: ``(M, d)`` (or ``(M,)``) test inputs; ``y_test (M,)``.
        n_features: the numbers of features P to try (ints ≥ 1).
        n_seeds: number of independent feature maps.
        kind: ``'relu'`` or ``'fourier'`` (see :func:`apply_features`).
        scale: input scale of the projections, ``v ~ N(0, scale²/d)``.
        ridge: λ ≥ 0 (λ > 0 smooths the peak away: optimal ridge has no double descent).
        rcond: relative singular-value cut-off (see :func:`min_norm_lstsq`); the Gram
            eigenvalues are cut at ``max(rcond², N ε) · λ_max``.

    Returns:
        :class:`DoubleDescent`; the test error peaks near ``P = N``.

    >>> x = jnp.linspace(-1, 1, 8)
    >>> dd = double_descent(jax.random.key(0), x, jnp.sin(3 * x), x, jnp.sin(3 * x),
    ...                     [2, 8, 32], n_seeds=2)
    >>> dd.test_mse.shape, bool(dd.train_mse[2].max() < 1e-6)    # P > N interpolates
    ((3, 2), True)
    """
    check_key(key)
    xs = []
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        x = as_array(x, name, ndim=(1, 2))
        xs.append(x[:, None] if x.ndim == 1 else x)
    xtr, xte = xs
    ytr = as_array(y_train, "y_train", ndim=1)
    yte = as_array(y_test, "y_test", ndim=1)
    check_same_length("x_train", xtr, "y_train", ytr)
    check_same_length("x_test", xte, "y_test", yte)
    if xtr.shape[1] != xte.shape[1]:
        raise ValueError(f"x_test: expected {xtr.shape[1]} input dimensions like x_train, got "
                         f"{xte.shape[1]}")
    for name, v in (("x_train", xtr), ("y_train", ytr), ("x_test", xte), ("y_test", yte)):
        check_finite(v, name)
    ps = np.asarray([as_int(p, "n_features", minimum=1) for p in n_features], np.int32)
    if ps.size == 0:
        raise ValueError("n_features: expected at least one number of features, got none")
    seeds = as_int(n_seeds, "n_seeds", minimum=1)
    check_in(kind, "kind", FEATURE_KINDS)
    scale = as_array(scale, "scale", ndim=0)
    check_positive(scale, "scale")
    lam = as_array(ridge, "ridge", ndim=0)
    check_positive(lam, "ridge", strict=False)
    dtype = jnp.result_type(xtr, ytr, xte, yte, float)
    p_max = int(ps.max())
    if rcond is None:
        rcond = 10.0 * max(xtr.shape[0], p_max) * float(jnp.finfo(dtype).eps)
    keys = jax.random.split(key, seeds)
    train, test, norm = _sweep(keys, xtr.astype(dtype), ytr.astype(dtype), xte.astype(dtype),
                               yte.astype(dtype), jnp.asarray(ps), scale.astype(dtype),
                               lam.astype(dtype), kind=kind, p_max=p_max, rcond=float(rcond))
    return DoubleDescent(n_features=ps, n_train=int(xtr.shape[0]), train_mse=train,
                         test_mse=test, weight_norm=norm)
