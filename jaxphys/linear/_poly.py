"""Polynomial fits on top of :func:`lstsq_fit`.

Coefficients are ordered by **increasing** power, ``c = (c_0, c_1, ..., c_deg)``
for ``p(x) = Σ_k c_k x^k`` — the opposite of ``numpy.polyfit``/``numpy.polyval``,
which use decreasing powers (``numpy.polyfit(x, y, d)[::-1]`` gives ours), and
the same as ``numpy.polynomial.polynomial.polyfit``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, as_int, check_finite
from jaxphys.linear._lstsq import LinearFit, _float_dtype, lstsq_fit

__all__ = ["design_matrix_poly", "polyfit", "polyval"]


def _check_deg(deg: Any) -> int:
    return as_int(deg, "deg", minimum=0)


def design_matrix_poly(x: Any, deg: int) -> jax.Array:
    """Vandermonde design matrix with increasing powers, ``A[i, k] = x_i^k``.

    Args:
        x: ``(n,)`` finite abscissae.
        deg: polynomial degree (Python int ≥ 0); the matrix has ``deg + 1`` columns.

    Returns:
        ``(n, deg + 1)`` array ``[1, x, x², ..., x^deg]`` (floating dtype).

    Note ``numpy.vander(x, deg + 1)`` is the same matrix with its columns
    reversed (decreasing powers).

    >>> design_matrix_poly(jnp.array([1., 2., 3.]), 2).tolist()
    [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0], [1.0, 3.0, 9.0]]
    """
    d = _check_deg(deg)
    xx = as_array(x, "x", ndim=1)
    check_finite(xx, "x")
    xx = xx.astype(_float_dtype(xx))
    # Repeated multiplication (cumprod) rather than x ** k: exact for small
    # integer powers and no log/exp for negative x.
    cols = jnp.broadcast_to(xx[:, None], (xx.shape[0], d))
    powers = jnp.cumprod(cols, axis=1)
    return jnp.concatenate([jnp.ones((xx.shape[0], 1), xx.dtype), powers], axis=1)


def polyfit(x: Any, y: Any, deg: int, sigma: Any = None, *, method: str = "qr",
            absolute_sigma: bool = True) -> LinearFit:
    """Weighted least-squares polynomial fit ``y ≈ Σ_k c_k x^k``.

    A :func:`lstsq_fit` of the Vandermonde matrix :func:`design_matrix_poly`;
    solved by QR/SVD of the whitened, column-equilibrated design (never the
    normal equations), so degree ~15 fits on a moderately conditioned range
    stay accurate in float64.

    Coefficient order: **increasing** powers, ``params = (c_0, ..., c_deg)``.
    ``numpy.polyfit`` returns decreasing powers; ``params[::-1]`` converts.
    Note also that ``numpy.polyfit`` takes weights ``w = 1/σ``, not ``σ``.

    Args:
        x: ``(n,)`` abscissae, finite.
        y: ``(n,)`` measurements, finite.
        deg: polynomial degree (int ≥ 0), needs ``n >= deg + 1``.
        sigma: optional ``(n,)`` or scalar uncertainties of ``y`` (> 0).
        method, absolute_sigma: as in :func:`lstsq_fit`.

    Returns:
        :class:`LinearFit`; ``params (deg+1,)``, ``cov (deg+1, deg+1)``,
        ``chi2``, ``dof = n - deg - 1``, ``p_value``, ``residuals (n,)``.

    >>> x = jnp.linspace(-1.0, 1.0, 7)
    >>> fit = polyfit(x, 0.5 - x + 3.0 * x**2, 2)
    >>> [round(float(c), 3) for c in fit.params]
    [0.5, -1.0, 3.0]
    """
    d = _check_deg(deg)
    xx = as_array(x, "x", ndim=1)
    yy = as_array(y, "y", ndim=1)
    if xx.shape[0] != yy.shape[0]:
        raise ValueError(f"x and y must have the same length, got {xx.shape[0]} and "
                         f"{yy.shape[0]}")
    check_finite(xx, "x")
    if xx.shape[0] < d + 1:
        raise ValueError(f"deg: a degree-{d} polynomial needs at least {d + 1} points, "
                         f"got {xx.shape[0]}")
    return lstsq_fit(design_matrix_poly(xx, d), yy, sigma, method=method,
                     absolute_sigma=absolute_sigma)


def polyval(coeffs: Any, x: Any) -> jax.Array:
    """Evaluate ``p(x) = Σ_k c_k x^k`` (increasing-power coefficients) by Horner's rule.

    Args:
        coeffs: ``(deg + 1,)`` coefficients ``c_0, ..., c_deg`` (as returned by
            :func:`polyfit`). ``numpy.polyval`` expects them reversed.
        x: any shape.

    Returns:
        Array of the shape of ``x``.

    >>> polyval(jnp.array([1.0, 0.0, 2.0]), jnp.array([0.0, 1.0, 2.0])).tolist()
    [1.0, 3.0, 9.0]
    """
    c = as_array(coeffs, "coeffs", ndim=1)
    xx = jnp.asarray(x)
    dtype = _float_dtype(c, xx)
    c = c.astype(dtype)
    xx = xx.astype(dtype)
    if c.shape[0] == 0:
        return jnp.zeros_like(xx)

    def horner(acc, ck):
        return acc * xx + ck, None

    init = jnp.broadcast_to(c[-1], xx.shape)
    out, _ = jax.lax.scan(horner, init, c[:-1][::-1])
    return out
