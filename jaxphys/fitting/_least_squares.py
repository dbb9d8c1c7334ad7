"""χ² costs: independent Gaussian errors, and correlated errors with a full covariance."""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

from jaxphys._checks import check_positive, is_concrete

from ._cost import Cost, _float_data, _register

__all__ = ["LeastSquares", "CorrelatedLeastSquares"]


def _check_xy(x, y, model):
    if not callable(model):
        raise TypeError(f"model: expected a callable model(x, params), got "
                        f"{type(model).__name__}")
    y = _float_data(y, "y", ndim=1)
    if y.shape[0] == 0:
        raise ValueError("y: expected at least one data point, got none")
    x = _float_data(x, "x", ndim=(1, 2))
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x: expected {y.shape[0]} points along axis 0 (the length of y), "
                         f"got shape {tuple(x.shape)}")
    return x, y


def _prediction(model, x, params, n):
    m = jnp.asarray(model(jnp.asarray(x), params))
    if m.shape != (n,):
        raise ValueError(f"model: expected the model to return shape ({n},) (one value per "
                         f"point), got {tuple(m.shape)}")
    return m


@_register
class LeastSquares(Cost):
    r"""χ² of data with independent Gaussian errors.

    Per point :math:`z_i = (y_i - m(x_i;\theta))/\sigma_i`, and

    .. math:: C = \sum_i z_i^2 = -2\log L + \text{const},

    so ``errordef = 1``.

    Args:
        x: ``(n,)`` or ``(n, D)`` abscissae.
        y: ``(n,)`` measurements.
        sigma: their standard deviations, > 0, a scalar or ``(n,)``.
        model: ``model(x, params) -> (n,)``.

    Example:
        >>> from jaxphys.fitting import LeastSquares
        >>> cost = LeastSquares(jnp.array([0.0, 1.0]), jnp.array([1.0, 3.0]), 0.5,
        ...                     lambda x, p: p[0] + p[1] * x)
        >>> float(cost(jnp.array([1.0, 1.0])))  # ((3 - 2) / 0.5)²
        4.0
    """

    _children = ("x", "y", "sigma")
    _static = ("model",)

    def __init__(self, x: Any, y: Any, sigma: Any, model: Callable):
        self.x, self.y = _check_xy(x, y, model)
        n = self.y.shape[0]
        sigma = _float_data(sigma, "sigma", ndim=(0, 1))
        if sigma.ndim == 0:
            sigma = (np.full((n,), sigma) if is_concrete(sigma)
                     else jnp.full((n,), sigma, sigma.dtype))
        if sigma.shape != (n,):
            raise ValueError(f"sigma: expected a scalar or shape ({n},), got "
                             f"{tuple(sigma.shape)}")
        check_positive(sigma, "sigma")
        self.sigma, self.model = sigma, model

    @property
    def n_data(self) -> int:
        return int(self.y.shape[0])

    def __call__(self, params):
        m = _prediction(self.model, self.x, params, self.n_data)
        z = (jnp.asarray(self.y) - m) / jnp.asarray(self.sigma)
        return jnp.sum(z * z)


@_register
class CorrelatedLeastSquares(Cost):
    r"""χ² of data with correlated Gaussian errors (a full covariance matrix V).

    With residuals :math:`r = y - m(x;\theta)` and the Cholesky factor
    :math:`V = LL^\top`, the decorrelated residuals are :math:`z = L^{-1} r`
    and

    .. math:: C = r^\top V^{-1} r = \sum_i z_i^2

    (``errordef = 1``), computed by a triangular solve (never forming :math:`V^{-1}`). With a
    diagonal V it equals :class:`LeastSquares`.

    Args:
        x: ``(n,)`` or ``(n, D)`` abscissae.
        y: ``(n,)`` measurements.
        covariance: ``(n, n)`` symmetric positive-definite covariance of y.
        model: ``model(x, params) -> (n,)``.

    Example:
        >>> from jaxphys.fitting import CorrelatedLeastSquares
        >>> cov = jnp.array([[1.0, 0.5], [0.5, 1.0]])
        >>> cost = CorrelatedLeastSquares(jnp.array([0.0, 1.0]), jnp.array([1.0, 1.0]), cov,
        ...                               lambda x, p: p[0] + 0.0 * x)
        >>> round(float(cost(jnp.array([0.0]))), 6)  # [1, 1] V⁻¹ [1, 1]ᵀ = 2 / 1.5
        1.333333
    """

    _children = ("x", "y", "cholesky")
    _static = ("model",)

    def __init__(self, x: Any, y: Any, covariance: Any, model: Callable):
        self.x, self.y = _check_xy(x, y, model)
        n = self.y.shape[0]
        cov = _float_data(covariance, "covariance", ndim=2)
        if cov.shape != (n, n):
            raise ValueError(f"covariance: expected shape ({n}, {n}), got {tuple(cov.shape)}")
        if is_concrete(cov):
            scale = np.max(np.abs(cov))
            if not np.allclose(cov, cov.T, rtol=0.0, atol=1e-12 * scale):
                raise ValueError("covariance: expected a symmetric matrix, got one with "
                                 f"max |V - Vᵀ| = {np.max(np.abs(cov - cov.T))}")
            try:
                self.cholesky = np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                raise ValueError("covariance: expected a positive-definite matrix; its "
                                 f"smallest eigenvalue is {np.linalg.eigvalsh(cov)[0]}") from None
        else:
            self.cholesky = jnp.linalg.cholesky(cov)
        self.model = model

    @property
    def n_data(self) -> int:
        return int(self.y.shape[0])

    def __call__(self, params):
        m = _prediction(self.model, self.x, params, self.n_data)
        r = jnp.asarray(self.y) - m
        z = solve_triangular(jnp.asarray(self.cholesky), r, lower=True)
        return jnp.sum(z * z)

