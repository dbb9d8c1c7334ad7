"""Nonlinear χ² fits by Levenberg–Marquardt, the whole iteration compiled.

For a model ``f(x, θ)`` and data ``y ± σ`` the fit minimises

    χ²(θ) = Σ_i r_i(θ)²,   r_i(θ) = (f(x, θ)_i - y_i) / σ_i .

Each iteration solves the damped Gauss–Newton problem

    min_δ ‖J δ + r‖² + λ ‖D δ‖²,   J = ∂r/∂θ (by ``jax.jacfwd``),

with ``D`` the running maximum of J's column norms (Marquardt's scaling,
which makes the iteration invariant to the units of each parameter). The
augmented system ``[J; √λ D] δ ≈ [-r; 0]`` is solved by QR, not via ``JᵀJ``.
A step is accepted if it lowers χ² (λ ← λ/10), otherwise λ ← 10 λ and the
step is retried. At the optimum the covariance is ``(JᵀJ)⁻¹ = (JᵀWJ_f)⁻¹``
with ``J_f = ∂f/∂θ`` and ``W = diag(1/σ²)``, as MINUIT's HESSE or
``scipy.optimize.curve_fit(absolute_sigma=True)`` report it.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

from jaxphys._checks import as_array, as_int, as_tolerance, check_finite, check_same_length
from jaxphys.linear._lstsq import (_float_dtype, _prepare_sigma, _rcond_threshold, _solve_whitened,
                                   chi2_sf)

__all__ = ["CurveFit", "curve_fit"]


class CurveFit(NamedTuple):
    """Result of :func:`curve_fit`.

    Attributes:
        params: ``(p,)`` float, best-fit parameters θ̂.
        cov: ``(p, p)`` float, covariance ``(JᵀWJ)⁻¹`` at θ̂ (times χ²/dof when
            ``absolute_sigma=False``).
        chi2: ``()`` float, ``Σ ((f(x, θ̂) - y)/σ)²``.
        dof: ``()`` int32, ``n - p``.
        p_value: ``()`` float, χ² survival function at ``chi2`` with ``dof``.
        n_iter: ``()`` int32, Levenberg–Marquardt iterations taken (accepted
            and rejected steps; one linear solve each).
        converged: ``()`` bool, True if a convergence criterion was met
            before ``max_iter`` and the parameters are identifiable at θ̂.
            Never when χ² is not finite (e.g. a model that is NaN at ``p0``)
            or when the Jacobian at θ̂ is rank-deficient (``rcond`` below
            ``eps · max(n, p)``): then a combination of parameters is not fixed
            by the data (``p0·p1·x``), θ̂ is one point of a valley of minima and
            ``cov`` is not an error estimate.
        rcond: ``()`` float, reciprocal condition number ``min|R_ii|/max|R_ii|``
            of the column-equilibrated whitened Jacobian at θ̂ (QR); near 0 the
            parameters are (nearly) degenerate.

    Built by hand (:func:`curve_fit` returns one): an exponential ``A·exp(-x/τ)`` with
    ``A = 3.0 ± 0.2`` and ``τ = 1.5 ± 0.1`` fitted to 20 points.

    >>> import jax.numpy as jnp
    >>> from jaxphys.linear import CurveFit, chi2_sf
    >>> fit = CurveFit(params=jnp.array([3.0, 1.5]), cov=jnp.diag(jnp.array([0.04, 0.01])),
    ...                chi2=jnp.array(18.0), dof=jnp.array(18), p_value=chi2_sf(18.0, 18),
    ...                n_iter=jnp.array(7), converged=jnp.array(True), rcond=jnp.array(0.3))
    >>> jnp.sqrt(jnp.diag(fit.cov)).round(4).tolist(), float(fit.chi2 / fit.dof)   # σ, χ²/dof
    ([0.2, 0.1], 1.0)
    >>> round(float(fit.p_value), 4), bool(fit.converged)              # P(χ²₁₈ ≥ 18)
    (0.4557, True)
    """

    params: jax.Array
    cov: jax.Array
    chi2: jax.Array
    dof: jax.Array
    p_value: jax.Array
    n_iter: jax.Array
    converged: jax.Array
    rcond: jax.Array


class _LMState(NamedTuple):
    theta: jax.Array      # (p,) current parameters
    resid: jax.Array      # (n,) whitened residuals at theta
    chi2: jax.Array       # () sum of resid²
    jac: jax.Array        # (n, p) ∂resid/∂theta at theta
    scale: jax.Array      # (p,) Marquardt scaling D (running max of column norms)
    lam: jax.Array        # () damping parameter
    it: jax.Array         # () int32 iterations taken
    converged: jax.Array  # () bool


def _damped_step(jac, resid, scale, lam):
    """Solve ``min ‖J δ + r‖² + λ‖D δ‖²`` by QR of the augmented matrix."""
    p = jac.shape[1]
    aug = jnp.concatenate([jac, jnp.sqrt(lam) * jnp.diag(scale)], axis=0)
    rhs = jnp.concatenate([-resid, jnp.zeros((p,), resid.dtype)])
    q, r = jnp.linalg.qr(aug, mode="reduced")
    return solve_triangular(r, q.T @ rhs, lower=False)


@partial(jax.jit, static_argnames=("f", "absolute_sigma"))
def _levenberg_marquardt(f, x, y, sigma, p0, max_iter, tol, absolute_sigma):
    dtype = p0.dtype
    eps = jnp.finfo(dtype).eps
    tol = jnp.maximum(tol.astype(dtype), 4 * eps)

    def residual(theta):
        return (f(x, theta) - y) / sigma

    jacobian = jax.jacfwd(residual)

    def col_norms(jac):
        return jnp.sqrt(jnp.sum(jac * jac, axis=0))

    r0 = residual(p0)
    j0 = jacobian(p0)
    n0 = col_norms(j0)
    init = _LMState(theta=p0, resid=r0, chi2=jnp.sum(r0 * r0), jac=j0,
                    scale=jnp.where(n0 > 0, n0, 1.0), lam=jnp.asarray(1e-3, dtype),
                    it=jnp.asarray(0, jnp.int32), converged=jnp.asarray(False))

    def cond(s):
        return (~s.converged) & (s.it < max_iter)

    def body(s):
        delta = _damped_step(s.jac, s.resid, s.scale, s.lam)
        theta_new = s.theta + delta
        r_new = residual(theta_new)
        chi2_new = jnp.sum(r_new * r_new)
        accept = chi2_new < s.chi2          # False for NaN
        step_norm = jnp.linalg.norm(s.scale * delta)
        small_step = step_norm <= tol * (jnp.linalg.norm(s.scale * s.theta) + tol)
        zero_chi2 = s.chi2 == 0
        converged = (small_step | zero_chi2) & jnp.isfinite(s.chi2)

        def on_accept(_):
            j_new = jacobian(theta_new)
            return theta_new, r_new, chi2_new, j_new, jnp.maximum(s.scale, col_norms(j_new))

        def on_reject(_):
            return s.theta, s.resid, s.chi2, s.jac, s.scale

        theta, resid, chi2, jac, scale = jax.lax.cond(accept, on_accept, on_reject, None)
        lam = jnp.where(accept, jnp.maximum(s.lam / 10.0, 1e-12), jnp.minimum(s.lam * 10.0, 1e16))
        return _LMState(theta, resid, chi2, jac, scale, lam, s.it + 1, converged)

    final = jax.lax.while_loop(cond, body, init)
    n, p = final.jac.shape
    _, cov, rcond = _solve_whitened(final.jac, final.resid, "qr")
    if not absolute_sigma:
        cov = cov * (final.chi2 / (n - p) if n > p else jnp.nan)
    identifiable = rcond > _rcond_threshold((n, p), dtype)   # False for NaN too
    return final.theta, cov, final.chi2, final.it, final.converged & identifiable, rcond


def curve_fit(f: Callable[[jax.Array, jax.Array], jax.Array], x: Any, y: Any, p0: Any,
              sigma: Any = None, *, max_iter: int = 200, tol: float = 1e-10,
              absolute_sigma: bool = True) -> CurveFit:
    r"""Nonlinear weighted least-squares (χ²) fit of ``f(x, params)`` to ``y ± sigma``.

    Minimises ``χ²(θ) = Σ_i ((f(x, θ)_i - y_i)/σ_i)²`` by Levenberg–Marquardt
    with the Jacobian from ``jax.jacfwd`` and Marquardt's diagonal scaling; the
    whole iteration is one jitted ``lax.while_loop``. Each damped step
    ``min ‖Jδ + r‖² + λ‖Dδ‖²`` is solved by QR. The iteration stops when the
    scaled step is small, ``‖Dδ‖ ≤ tol·(‖Dθ‖ + tol)`` (near the minimum the
    Gauss–Newton step is the distance to it; a step that cannot lower χ² any
    more is damped until it is this small), or when χ² is zero. ``tol`` is
    raised to at least 4 machine epsilons of the working dtype.

    The covariance at the optimum is ``cov = (J_fᵀ W J_f)⁻¹`` with
    ``J_f = ∂f/∂θ`` and ``W = diag(1/σ²)`` — the linearised error propagation
    used by MINUIT/HESSE and ``scipy.optimize.curve_fit(absolute_sigma=True)``.
    With ``absolute_sigma=False`` it is scaled by ``χ²/dof`` (scipy's default).
    Without ``sigma`` all uncertainties are taken to be 1.

    Args:
        f: model ``f(x, params) -> (n,)``, vectorised over the points, written
            in ``jax.numpy``. Must be hashable (a function object); a new
            ``lambda`` per call recompiles.
        x: ``(n, ...)`` independent variable(s), passed to ``f`` unchanged; finite.
        y: ``(n,)`` measurements; finite.
        p0: ``(p,)`` starting parameters; finite.
        sigma: optional ``(n,)`` or scalar uncertainties of ``y``, > 0.
        max_iter: maximum number of LM iterations (int ≥ 1, traced: changing it
            does not recompile).
        tol: relative convergence tolerance (> 0).
        absolute_sigma: see above.

    Returns:
        :class:`CurveFit` with ``params (p,)``, ``cov (p, p)``, ``chi2 ()``,
        ``dof ()``, ``p_value ()``, ``n_iter ()``, ``converged ()``, ``rcond ()``.

    Raises:
        ValueError: wrong ranks or lengths, non-finite inputs, ``sigma <= 0``,
            ``n < p``, ``f`` returning the wrong shape, bad ``max_iter``/``tol``.

    >>> import jax.numpy as jnp
    >>> def expo(x, p):
    ...     return p[0] * jnp.exp(-x / p[1])
    >>> x = jnp.linspace(0.0, 5.0, 20)
    >>> fit = curve_fit(expo, x, 3.0 * jnp.exp(-x / 1.5), jnp.array([1.0, 1.0]))
    >>> [round(float(v), 3) for v in fit.params], bool(fit.converged)
    ([3.0, 1.5], True)
    """
    if not callable(f):
        raise ValueError(f"f: expected a callable f(x, params), got {type(f).__name__}")
    xx = as_array(x, "x")
    if xx.ndim == 0:
        raise ValueError("x: expected an array with a leading axis of length n, got a scalar")
    yy = as_array(y, "y", ndim=1)
    check_same_length("x", xx, "y", yy)
    theta0 = as_array(p0, "p0", ndim=1)
    n, p = yy.shape[0], theta0.shape[0]
    if p == 0:
        raise ValueError("p0: expected at least one parameter, got shape (0,)")
    if n < p:
        raise ValueError(f"p0: need at least as many points as parameters (n >= p), "
                         f"got n={n} points and p={p} parameters")
    check_finite(xx, "x")
    check_finite(yy, "y")
    check_finite(theta0, "p0")
    max_it = as_int(max_iter, "max_iter", minimum=1)
    tol_arr = as_tolerance(tol)

    dtype = _float_dtype(xx, yy, theta0)
    if jnp.issubdtype(xx.dtype, jnp.integer):
        xx = xx.astype(dtype)
    yy = yy.astype(dtype)
    theta0 = theta0.astype(dtype)
    sig = jnp.ones((n,), dtype) if sigma is None else _prepare_sigma(sigma, n, dtype)

    try:
        out = jax.eval_shape(f, xx, theta0)
    except Exception as err:  # surface model errors with the argument named
        raise ValueError(f"f: calling f(x, p0) failed: {err}") from err
    if getattr(out, "shape", None) != (n,):
        raise ValueError(f"f: expected f(x, params) to return shape ({n},) like y, got "
                         f"{getattr(out, 'shape', type(out).__name__)}")
    params, cov, chi2, n_iter, converged, rcond = _levenberg_marquardt(
        f, xx, yy, sig, theta0, jnp.asarray(max_it, jnp.int32), tol_arr, bool(absolute_sigma))
    dof = jnp.asarray(n - p, jnp.int32)
    return CurveFit(params=params, cov=cov, chi2=chi2, dof=dof, p_value=chi2_sf(chi2, dof),
                    n_iter=n_iter, converged=converged, rcond=rcond)
