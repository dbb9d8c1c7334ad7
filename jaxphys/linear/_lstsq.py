"""Linear-in-parameters least squares and weighted χ² fits.

The model is ``y ≈ A θ`` with a design matrix ``A`` of shape ``(n, p)``. With
per-point uncertainties ``σ`` the fit minimises

    χ²(θ) = Σ_i ((y_i - (A θ)_i) / σ_i)²  =  ‖W^{1/2} (y - A θ)‖²,   W = diag(1/σ²).

It is solved from the *whitened* design ``Ã = W^{1/2} A`` by a QR or SVD
factorisation, never through the normal equations ``AᵀWA θ = AᵀW y``: forming
``AᵀWA`` squares the condition number, which ruins high-degree polynomial fits
even in float64. The covariance ``(AᵀWA)⁻¹ = R⁻¹R⁻ᵀ`` (QR) or ``V S⁻² Vᵀ`` (SVD)
is built from the same factors.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import gammaincc

from jaxphys._checks import (as_array, check_finite, check_in, check_positive,
                             check_same_length, is_concrete)

__all__ = ["LinearFit", "lstsq_fit", "chi2_sf"]

_METHODS = ("qr", "svd")


class LinearFit(NamedTuple):
    """Result of :func:`lstsq_fit` / :func:`polyfit`.

    Attributes:
        params: ``(p,)`` float, best-fit parameters θ̂.
        cov: ``(p, p)`` float, covariance of θ̂, ``(AᵀWA)⁻¹`` (times χ²/dof when
            ``absolute_sigma=False``).
        chi2: ``()`` float, χ² at the optimum, ``Σ ((y - Aθ̂)/σ)²``.
        dof: ``()`` int32, degrees of freedom ``n - p``.
        p_value: ``()`` float, χ² survival function ``P(χ²_dof ≥ chi2)``
            (NaN when ``dof == 0``).
        residuals: ``(n,)`` float, raw residuals ``y - A θ̂`` (same units as
            ``y``; divide by σ for pulls).

    A straight line through four points that miss ``1 + 2x`` by ±0.5 (σ = 0.5), so
    χ² = 4 with 2 degrees of freedom:

    >>> import jax.numpy as jnp
    >>> from jaxphys.linear import lstsq_fit
    >>> x = jnp.array([0., 1., 2., 3.])
    >>> A = jnp.stack([jnp.ones_like(x), x], axis=1)
    >>> fit = lstsq_fit(A, jnp.array([1.5, 2.5, 4.5, 7.5]), sigma=jnp.full(4, 0.5))
    >>> fit.params.round(4).tolist(), fit.residuals.round(4).tolist()
    ([1.0, 2.0], [0.5, -0.5, -0.5, 0.5])
    >>> round(float(fit.chi2), 4), int(fit.dof), round(float(fit.p_value), 4)   # p = e^-2
    (4.0, 2, 0.1353)
    >>> jnp.sqrt(jnp.diag(fit.cov)).round(4).tolist()                  # errors of (a, b)
    [0.4183, 0.2236]
    """

    params: jax.Array
    cov: jax.Array
    chi2: jax.Array
    dof: jax.Array
    p_value: jax.Array
    residuals: jax.Array


@jax.jit
def _chi2_sf_core(chi2, dof):
    safe_dof = jnp.where(dof > 0, dof, 1.0)
    sf = gammaincc(0.5 * safe_dof, 0.5 * jnp.maximum(chi2, 0.0))
    return jnp.where(dof > 0, sf, jnp.nan)


def chi2_sf(chi2: Any, dof: Any) -> jax.Array:
    """Survival function of the χ² distribution, ``P(X ≥ chi2)`` for ``X ~ χ²_dof``.

    ``sf(x; k) = Q(k/2, x/2)`` with ``Q`` the regularised upper incomplete gamma
    function (``jax.scipy.special.gammaincc``). Returns NaN for ``dof <= 0``
    (as ``scipy.stats.chi2.sf`` does for ``dof == 0``).

    Args:
        chi2: ``()`` or any shape, the observed χ² (≥ 0).
        dof: broadcastable with ``chi2`` (same shape or a scalar), degrees of freedom.

    Returns:
        Array with the broadcast shape of ``chi2`` and ``dof``.

    >>> round(float(chi2_sf(3.84, 1)), 3)
    0.05
    """
    chi2 = jnp.asarray(chi2)
    dtype = jnp.result_type(float, chi2)
    return _chi2_sf_core(chi2.astype(dtype), jnp.asarray(dof).astype(dtype))


def _float_dtype(*arrays: Any) -> Any:
    """The floating dtype for computing with ``arrays`` (ints promote to the default float)."""
    return jnp.result_type(float, *arrays)


def _prepare_sigma(sigma: Any, n: int, dtype: Any, name: str = "sigma") -> jax.Array:
    """Check ``sigma`` (scalar or ``(n,)``, finite, > 0) and broadcast it to ``(n,)``."""
    sig = as_array(sigma, name, ndim=(0, 1))
    if sig.ndim == 1 and sig.shape[0] != n:
        raise ValueError(f"{name}: expected shape ({n},) to match y, got {tuple(sig.shape)}")
    check_finite(sig, name)
    check_positive(sig, name)
    return jnp.broadcast_to(sig.astype(dtype), (n,))


def _column_scale(a: jax.Array) -> jax.Array:
    """Euclidean column norms of ``a`` (1 for all-zero columns), for equilibration."""
    norms = jnp.sqrt(jnp.sum(a * a, axis=0))
    return jnp.where(norms > 0, norms, jnp.ones_like(norms))


def _rcond_threshold(shape, dtype) -> float:
    """Relative singular-value cut-off ``eps · max(n, p)`` (numpy.linalg.lstsq's default)."""
    return float(jnp.finfo(dtype).eps) * max(shape)


def _solve_whitened(a_w: jax.Array, y_w: jax.Array, method: str):
    """Solution, ``(ÃᵀÃ)⁻¹`` and a reciprocal condition estimate of ``Ã θ ≈ ỹ``.

    Columns are equilibrated first (``Ã = B D`` with ``D`` the column norms),
    which leaves the solution unchanged but improves the factorisation of
    badly scaled designs (monomials of high degree). ``rcond`` is
    ``min|R_ii| / max|R_ii|`` (QR) or ``s_min / s_max`` (SVD) of ``B``; with SVD,
    singular values below ``eps·max(n, p)·s_max`` are dropped (pseudo-inverse).
    """
    scale = _column_scale(a_w)
    b = a_w / scale[None, :]
    p = b.shape[1]
    if method == "qr":
        q, r = jnp.linalg.qr(b, mode="reduced")
        theta_s = solve_triangular(r, q.T @ y_w, lower=False)
        r_inv = solve_triangular(r, jnp.eye(p, dtype=b.dtype), lower=False)
        cov_s = r_inv @ r_inv.T
        diag = jnp.abs(jnp.diag(r))
        rcond = jnp.min(diag) / jnp.max(diag)
    else:
        u, s, vt = jnp.linalg.svd(b, full_matrices=False)
        keep = s > _rcond_threshold(b.shape, b.dtype) * s[0]
        s_inv = jnp.where(keep, 1.0 / jnp.where(keep, s, 1.0), 0.0)
        theta_s = vt.T @ (s_inv * (u.T @ y_w))
        cov_s = (vt.T * (s_inv**2)[None, :]) @ vt
        rcond = s[-1] / s[0]
    theta = theta_s / scale
    cov = cov_s / (scale[:, None] * scale[None, :])
    return theta, 0.5 * (cov + cov.T), rcond


@partial(jax.jit, static_argnames=("method", "absolute_sigma"))
def _lstsq_core(design, y, sigma, method, absolute_sigma):
    n, p = design.shape
    a_w = design / sigma[:, None]
    y_w = y / sigma
    theta, cov, rcond = _solve_whitened(a_w, y_w, method)
    residuals = y - design @ theta
    chi2 = jnp.sum((residuals / sigma) ** 2)
    if not absolute_sigma:
        cov = cov * (chi2 / (n - p) if n > p else jnp.nan)
    return theta, cov, chi2, residuals, rcond


def _check_design_y(design: Any, y: Any, name_design: str = "design"):
    """Shared argument checks: ``design`` (n, p), ``y`` (n,), finite, n ≥ p."""
    a = as_array(design, name_design, ndim=2)
    yy = as_array(y, "y", ndim=1)
    check_same_length(name_design, a, "y", yy)
    n, p = a.shape
    if p == 0:
        raise ValueError(f"{name_design}: expected at least one column, got shape {tuple(a.shape)}")
    if n < p:
        raise ValueError(f"{name_design}: need at least as many points as parameters "
                         f"(n >= p), got n={n} rows and p={p} columns")
    check_finite(a, name_design)
    check_finite(yy, "y")
    return a, yy


def lstsq_fit(design: Any, y: Any, sigma: Any = None, *, method: str = "qr",
              absolute_sigma: bool = True) -> LinearFit:
    r"""Weighted linear least-squares (χ²) fit ``y ≈ design @ θ``.

    Minimises ``χ²(θ) = Σ_i ((y_i - (Aθ)_i)/σ_i)²`` by a QR (default) or SVD
    factorisation of the whitened design ``Ã = diag(1/σ) A``; the normal
    equations are never formed, so the rounding error grows like ``κ(Ã)·eps``
    rather than ``κ(Ã)²·eps`` and high-degree polynomial fits stay accurate in
    float64. Columns are equilibrated (scaled to unit norm) before the
    factorisation; this changes nothing mathematically. The covariance of the estimate is
    ``(AᵀWA)⁻¹ = (ÃᵀÃ)⁻¹`` with ``W = diag(1/σ²)``, built from the R factor
    (``R⁻¹R⁻ᵀ``) or the SVD (``V S⁻² Vᵀ``). The p-value is the χ² survival
    function with ``dof = n - p`` degrees of freedom.

    Without ``sigma`` the fit is ordinary (unweighted) least squares and the
    covariance assumes **unit** uncertainties, ``cov = (AᵀA)⁻¹``; ``chi2`` is then
    the residual sum of squares and ``p_value`` is only meaningful if the
    data really have σ = 1. Pass ``absolute_sigma=False`` to scale the
    covariance by ``χ²/dof`` instead (the residual-variance estimate, as
    ``scipy.optimize.curve_fit``'s default and ``numpy.polyfit(cov=True)``).

    Args:
        design: ``(n, p)`` design matrix ``A`` (columns are the basis
            functions evaluated at the points). Finite, ``n >= p``.
        y: ``(n,)`` measurements, finite.
        sigma: optional per-point standard deviations, ``(n,)`` or a scalar,
            finite and > 0, in the units of ``y``.
        method: ``"qr"`` (Householder QR, default; a rank-deficient design
            raises) or ``"svd"`` (singular values below ``eps·max(n, p)`` times
            the largest are dropped: the minimum-norm solution and the
            pseudo-inverse covariance of a rank-deficient design).
        absolute_sigma: if True (default) ``cov = (AᵀWA)⁻¹``; if False it is
            multiplied by ``χ²/dof``.

    Returns:
        :class:`LinearFit` with ``params (p,)``, ``cov (p, p)``, ``chi2 ()``,
        ``dof ()``, ``p_value ()``, ``residuals (n,)`` (``y - Aθ̂``).

    Raises:
        ValueError: wrong ranks, mismatched lengths, non-finite values,
            ``sigma <= 0``, ``n < p``, unknown ``method``, or (with
            ``method="qr"``) a numerically rank-deficient design.

    Can be called under ``jit``/``vmap`` (value checks are then skipped).

    >>> import jax.numpy as jnp
    >>> x = jnp.array([0., 1., 2., 3.])
    >>> A = jnp.stack([jnp.ones_like(x), x], axis=1)
    >>> fit = lstsq_fit(A, 1.0 + 2.0 * x, sigma=jnp.full(4, 0.5))
    >>> [round(float(v), 4) for v in fit.params], int(fit.dof)
    ([1.0, 2.0], 2)
    """
    check_in(method, "method", _METHODS)
    a, yy = _check_design_y(design, y)
    n = a.shape[0]
    dtype = _float_dtype(a, yy)
    a = a.astype(dtype)
    yy = yy.astype(dtype)
    sig = jnp.ones((n,), dtype) if sigma is None else _prepare_sigma(sigma, n, dtype)
    params, cov, chi2, residuals, rcond = _lstsq_core(a, yy, sig, method, bool(absolute_sigma))
    if (method == "qr" and is_concrete(rcond)
            and not float(rcond) > _rcond_threshold(a.shape, a.dtype)):
        raise ValueError(f"design: the (column-equilibrated) design matrix is numerically "
                         f"rank-deficient (reciprocal condition {float(rcond):.1e}); remove "
                         f"dependent columns or use method='svd' for the minimum-norm solution")
    dof = jnp.asarray(a.shape[0] - a.shape[1], jnp.int32)
    return LinearFit(params, cov, chi2, dof, chi2_sf(chi2, dof), residuals)
