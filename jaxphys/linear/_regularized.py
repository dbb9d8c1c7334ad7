"""Regularised linear regression: ridge (closed form), lasso (coordinate descent).

No intercept is fitted and the columns are not standardised: centre ``y``
and standardise the design yourself (``jaxphys.data.Standardizer``) when the
penalty should treat every coefficient alike.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp

from jaxphys._checks import (as_array, as_int, as_tolerance, check_finite, check_positive,
                             check_same_length)
from jaxphys.linear._lstsq import _float_dtype

__all__ = ["ridge", "lasso", "regularization_path"]


def _check_problem(design: Any, y: Any):
    a = as_array(design, "design", ndim=2)
    yy = as_array(y, "y", ndim=1)
    check_same_length("design", a, "y", yy)
    if a.shape[1] == 0:
        raise ValueError(f"design: expected at least one column, got shape {tuple(a.shape)}")
    check_finite(a, "design")
    check_finite(yy, "y")
    dtype = _float_dtype(a, yy)
    return a.astype(dtype), yy.astype(dtype)


def _check_lam(lam: Any, dtype: Any, name: str = "lam") -> jax.Array:
    lam_arr = as_array(lam, name, ndim=0)
    check_finite(lam_arr, name)
    check_positive(lam_arr, name, strict=False)
    return lam_arr.astype(dtype)


@jax.jit
def _ridge_core(design, y, lam):
    u, s, vt = jnp.linalg.svd(design, full_matrices=False)
    denom = s * s + lam
    filt = jnp.where(denom > 0, s / jnp.where(denom > 0, denom, 1.0), 0.0)
    return vt.T @ (filt * (u.T @ y))


def ridge(design: Any, y: Any, lam: Any) -> jax.Array:
    r"""Ridge regression (Tikhonov regularisation), closed form.

    Minimises ``‖y - Aθ‖² + λ‖θ‖²``, whose solution is
    ``θ = (AᵀA + λI)⁻¹ Aᵀy``. It is evaluated from the thin SVD ``A = U S Vᵀ``
    as ``θ = V diag(s/(s² + λ)) Uᵀ y`` (no normal equations). ``λ = 0`` gives
    the minimum-norm least-squares solution. Equivalent to
    ``sklearn.linear_model.Ridge(alpha=λ, fit_intercept=False)``.

    Args:
        design: ``(n, p)`` design matrix ``A``, finite (any ``n``, ``p``).
        y: ``(n,)`` targets, finite.
        lam: ``()`` penalty ``λ ≥ 0``; a traced array argument (``vmap``/``grad``
            over it freely; changing it does not recompile).

    Returns:
        ``(p,)`` coefficients θ.

    >>> import jax.numpy as jnp
    >>> A = jnp.eye(2)
    >>> ridge(A, jnp.array([2.0, 4.0]), 1.0).tolist()   # y / (1 + λ)
    [1.0, 2.0]
    """
    a, yy = _check_problem(design, y)
    return _ridge_core(a, yy, _check_lam(lam, a.dtype))


def _soft_threshold(z, t):
    return jnp.sign(z) * jnp.maximum(jnp.abs(z) - t, 0.0)


@jax.jit
def _lasso_core(design, y, lam, max_iter, tol):
    n, p = design.shape
    dtype = design.dtype
    col_sq = jnp.sum(design * design, axis=0)
    tol = jnp.maximum(tol.astype(dtype), 4 * jnp.finfo(dtype).eps)

    def coordinate(j, carry):
        theta, resid, max_change = carry
        a_j = design[:, j]
        old = theta[j]
        rho = a_j @ resid + col_sq[j] * old
        safe = jnp.where(col_sq[j] > 0, col_sq[j], 1.0)
        new = jnp.where(col_sq[j] > 0, _soft_threshold(rho, lam) / safe, 0.0)
        resid = resid + a_j * (old - new)
        return theta.at[j].set(new), resid, jnp.maximum(max_change, jnp.abs(new - old))

    def cond(state):
        _, _, it, max_change, theta_max = state
        return (it < max_iter) & (max_change > tol * theta_max)

    def body(state):
        theta, resid, it, _, _ = state
        theta, resid, max_change = jax.lax.fori_loop(
            0, p, coordinate, (theta, resid, jnp.zeros((), dtype)))
        return theta, resid, it + 1, max_change, jnp.max(jnp.abs(theta))

    init = (jnp.zeros((p,), dtype), y, jnp.asarray(0, jnp.int32),
            jnp.asarray(jnp.inf, dtype), jnp.ones((), dtype))
    theta, _, _, _, _ = jax.lax.while_loop(cond, body, init)
    return theta


def lasso(design: Any, y: Any, lam: Any, *, max_iter: int = 1000, tol: float = 1e-8) -> jax.Array:
    r"""Lasso regression by cyclic coordinate descent (jitted ``lax`` loops).

    Minimises ``½‖y - Aθ‖² + λ‖θ‖₁``. Each coordinate update is the exact
    one-dimensional minimiser

        θ_j ← S(A_jᵀ r_j, λ) / ‖A_j‖²,   r_j = y - Σ_{k≠j} A_k θ_k,
        S(z, t) = sign(z) · max(|z| - t, 0),

    so coefficients whose correlation with the residual stays below ``λ`` are
    exactly zero. Sweeps stop when the largest coefficient change of a sweep is
    ``≤ tol · max_j |θ_j|`` or after ``max_iter`` sweeps (``tol`` is raised
    to at least 4 machine epsilons).

    scikit-learn's ``Lasso(alpha)`` minimises ``(1/2n)‖y - Aθ‖² + α‖θ‖₁``; it is
    the same problem with ``α = λ / n`` (use ``fit_intercept=False``).

    Args:
        design: ``(n, p)`` design matrix ``A``, finite.
        y: ``(n,)`` targets, finite.
        lam: ``()`` penalty ``λ ≥ 0``, a traced array argument (no recompile).
        max_iter: maximum number of full sweeps (int ≥ 1, traced).
        tol: relative stopping tolerance (> 0).

    Returns:
        ``(p,)`` coefficients θ (exact zeros for inactive features).

    >>> import jax.numpy as jnp
    >>> A = jnp.eye(3)
    >>> lasso(A, jnp.array([3.0, -0.5, 1.5]), 1.0).tolist()   # soft threshold of y
    [2.0, 0.0, 0.5]
    """
    a, yy = _check_problem(design, y)
    lam_arr = _check_lam(lam, a.dtype)
    max_it = as_int(max_iter, "max_iter", minimum=1)
    tol_arr = as_tolerance(tol)
    return _lasso_core(a, yy, lam_arr, jnp.asarray(max_it, jnp.int32), tol_arr)


def regularization_path(fit_fn: Callable[..., jax.Array], design: Any, y: Any, lams: Any,
                        **fit_kwargs: Any) -> jax.Array:
    """Coefficients along a regularisation path, ``fit_fn`` vmapped over ``λ``.

    ``out[k] = fit_fn(design, y, lams[k], **fit_kwargs)``, evaluated with one
    ``jax.vmap`` (one compilation for the whole path).

    Args:
        fit_fn: ``fit_fn(design, y, lam, **kw) -> (p,)``, e.g. :func:`ridge`
            or :func:`lasso`.
        design: ``(n, p)`` design matrix, finite.
        y: ``(n,)`` targets, finite.
        lams: ``(k,)`` penalties, finite, ``≥ 0``.
        **fit_kwargs: passed to ``fit_fn`` (e.g. ``tol`` for lasso).

    Returns:
        ``(k, p)`` array, row ``k`` the coefficients at ``lams[k]``.

    >>> import jax.numpy as jnp
    >>> path = regularization_path(ridge, jnp.eye(2), jnp.array([2.0, 4.0]),
    ...                            jnp.array([0.0, 1.0, 3.0]))
    >>> path.tolist()
    [[2.0, 4.0], [1.0, 2.0], [0.5, 1.0]]
    """
    if not callable(fit_fn):
        raise ValueError(f"fit_fn: expected a callable fit_fn(design, y, lam), got "
                         f"{type(fit_fn).__name__}")
    a, yy = _check_problem(design, y)
    lam_arr = as_array(lams, "lams", ndim=1)
    check_finite(lam_arr, "lams")
    check_positive(lam_arr, "lams", strict=False)
    lam_arr = lam_arr.astype(a.dtype)
    return jax.vmap(lambda lam: fit_fn(a, yy, lam, **fit_kwargs))(lam_arr)
