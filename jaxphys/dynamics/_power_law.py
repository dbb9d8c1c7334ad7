r"""Power-law fits with bootstrap confidence intervals, for neural scaling laws.

The fitted law is

    L(N) = L∞ + a · N^(−α),

with ``N`` the model size (parameters, grid intervals) or the data size. The fit
minimises the squared *log* residuals ``Σ_i (log L_i − log L(N_i))²`` (losses
usually span decades, so errors are relative). For fixed ``α`` the model is linear
in ``(L∞, a)``; with weights ``1/L_i`` (the linearisation of the log residual) the
pair has a closed form, with ``L∞ ≥ 0`` enforced. ``α`` is found on a log-spaced
grid and refined by golden-section search on the exact log objective; everything
is jittable, so bootstrap refits run under ``vmap``.

Confidence intervals: residual bootstrap (default; the centred log residuals of
the fit are resampled with replacement and put back on the fitted curve,
``L*_i = L(N_i) · exp(r*_i)``, residuals inflated by ``√(n/(n−p))`` for the ``p``
fitted parameters) or pairs bootstrap (``(N_i, L_i)`` rows
resampled), percentile intervals at ``level``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, check_positive

__all__ = ["PowerLawFit", "fit_power_law", "power_law"]

_GOLDEN = 0.5 * (np.sqrt(5.0) - 1.0)


def power_law(n: Any, l_inf: Any, a: Any, alpha: Any) -> jax.Array:
    """``L∞ + a · n^(−α)``.

    Example:
      >>> round(float(power_law(4.0, 0.1, 2.0, 0.5)), 6)
      1.1
    """
    return l_inf + a * jnp.asarray(n) ** (-alpha)


def _linear_pair(x, y, w2, with_floor):
    """Weighted LS of ``y ≈ c + a x`` (weights² ``w2``), ``c ≥ 0``; ``c = 0`` if not
    ``with_floor``. Returns ``(c, a)``."""
    sw, sx, sy = jnp.sum(w2), jnp.sum(w2 * x), jnp.sum(w2 * y)
    sxx, sxy = jnp.sum(w2 * x * x), jnp.sum(w2 * x * y)
    det = sw * sxx - sx ** 2
    c = (sxx * sy - sx * sxy) / det
    a = (sw * sxy - sx * sy) / det
    a0 = sxy / sxx                                           # c = 0
    use_zero = (c < 0) | ~jnp.isfinite(c)
    if not with_floor:
        use_zero = jnp.ones_like(use_zero)
    return jnp.where(use_zero, 0.0, c), jnp.where(use_zero, a0, a)


def _fit_one(log_n, y, wts, alpha_grid, with_floor):
    """Fit one data set; ``wts`` (n,) multiplicities (bootstrap) or ones."""
    log_y = jnp.log(y)

    def params_at(alpha):
        x = jnp.exp(-alpha * log_n)
        return _linear_pair(x, y, wts / y ** 2, with_floor)

    def objective(alpha):
        c, a = params_at(alpha)
        pred = c + a * jnp.exp(-alpha * log_n)
        r = log_y - jnp.log(jnp.maximum(pred, jnp.finfo(y.dtype).tiny))
        return jnp.where(jnp.all(pred > 0), jnp.sum(wts * r ** 2), jnp.inf)

    obj = jax.vmap(objective)(alpha_grid)
    k = jnp.argmin(obj)
    lo = alpha_grid[jnp.maximum(k - 1, 0)]
    hi = alpha_grid[jnp.minimum(k + 1, alpha_grid.shape[0] - 1)]

    def golden(_, ab):
        a_, b_ = ab
        c1 = b_ - _GOLDEN * (b_ - a_)
        c2 = a_ + _GOLDEN * (b_ - a_)
        left = objective(c1) < objective(c2)
        return jnp.where(left, a_, c1), jnp.where(left, c2, b_)

    lo, hi = jax.lax.fori_loop(0, 60, golden, (lo, hi))
    alpha = 0.5 * (lo + hi)
    c, a = params_at(alpha)
    return jnp.stack([c, a, alpha]), objective(alpha)


class PowerLawFit(NamedTuple):
    """A fit of ``L = L∞ + a N^(−α)``.

    Fields:
      l_inf, a, alpha: best-fit values (floats).
      l_inf_ci, a_ci, alpha_ci: ``(lo, hi)`` percentile bootstrap intervals at ``level``.
      bootstrap: ``(n_bootstrap, 3)`` refits, columns ``(L∞, a, α)``.
      rss_log: sum of squared log residuals of the best fit.
      level: the interval's confidence level.

    Example:
      >>> import jax.numpy as jnp
      >>> from jaxphys.dynamics import PowerLawFit, fit_power_law
      >>> n = jnp.array([10.0, 30.0, 100.0, 300.0, 1000.0])
      >>> fit = fit_power_law(n, 0.05 + 3.0 * n ** -0.7, n_bootstrap=50)
      >>> isinstance(fit, PowerLawFit), fit.bootstrap.shape, fit.level
      (True, (50, 3), 0.9)
      >>> round(float(fit.predict(10.0)), 3)          # the curve: 0.05 + 3·10^-0.7
      0.649
    """

    l_inf: float
    a: float
    alpha: float
    l_inf_ci: tuple
    a_ci: tuple
    alpha_ci: tuple
    bootstrap: np.ndarray
    rss_log: float
    level: float

    def predict(self, n: Any) -> jax.Array:
        return power_law(n, self.l_inf, self.a, self.alpha)


def fit_power_law(sizes: Any, losses: Any, *, key: jax.Array | None = None,
                  n_bootstrap: int = 1000, level: float = 0.9, method: str = "residual",
                  with_floor: bool = True, alpha_range: tuple = (1e-3, 20.0)) -> PowerLawFit:
    r"""Fit ``L = L∞ + a·N^(−α)`` to ``(sizes, losses)`` with bootstrap intervals.

    Args:
      sizes: ``(n,)`` positive sizes ``N`` (at least 3 distinct; 4 with ``with_floor``).
      losses: ``(n,)`` positive losses.
      key: PRNG key for the bootstrap (``None``: ``jax.random.key(0)``).
      n_bootstrap: number of bootstrap refits (vmapped).
      level: confidence level of the percentile intervals.
      method: ``"residual"`` or ``"pairs"`` bootstrap.
      with_floor: fit ``L∞ ≥ 0``; ``False`` fixes ``L∞ = 0`` (a pure power law).
      alpha_range: search interval for ``α``.

    Example:
      >>> import jax.numpy as jnp
      >>> n = jnp.array([10.0, 30.0, 100.0, 300.0, 1000.0])
      >>> fit = fit_power_law(n, 0.05 + 3.0 * n ** -0.7, n_bootstrap=50)
      >>> round(fit.alpha, 3), round(fit.l_inf, 4)
      (0.7, 0.05)
    """
    sizes = as_array(sizes, "sizes", ndim=1)
    losses = as_array(losses, "losses", ndim=1)
    if sizes.shape != losses.shape:
        raise ValueError(f"losses: expected shape {tuple(sizes.shape)} (one per size), got "
                         f"{tuple(losses.shape)}")
    check_finite(sizes, "sizes")
    check_finite(losses, "losses")
    check_positive(sizes, "sizes")
    check_positive(losses, "losses")
    need = 4 if with_floor else 3
    if np.unique(np.asarray(sizes)).size < need:
        raise ValueError(f"sizes: expected at least {need} distinct sizes, got "
                         f"{np.unique(np.asarray(sizes)).size}")
    check_in(method, "method", ("residual", "pairs"))
    n_bootstrap = as_int(n_bootstrap, "n_bootstrap", minimum=1)
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level: expected a value in (0, 1), got {level}")
    key = jax.random.key(0) if key is None else key
    check_key(key)
    dtype = jnp.result_type(float)
    log_n = jnp.log(sizes.astype(dtype))
    y = losses.astype(dtype)
    grid = jnp.exp(jnp.linspace(np.log(alpha_range[0]), np.log(alpha_range[1]), 400)).astype(dtype)
    best, rss = _fit_jit(log_n, y, jnp.ones_like(y), grid, with_floor)
    boot = np.asarray(_bootstrap(key, log_n, y, best, grid, n_bootstrap, method, with_floor))
    boot = boot[np.all(np.isfinite(boot), axis=1)]
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    cis = [tuple(float(v) for v in np.percentile(boot[:, j], q)) for j in range(3)]
    c, a, alpha = (float(v) for v in best)
    return PowerLawFit(c, a, alpha, cis[0], cis[1], cis[2], boot, float(rss), float(level))


@jax.jit(static_argnums=4)
def _fit_jit(log_n, y, wts, grid, with_floor):
    return _fit_one(log_n, y, wts, grid, with_floor)


@jax.jit(static_argnums=(5, 6, 7))
def _bootstrap(key, log_n, y, best, grid, n_bootstrap, method, with_floor):
    n = y.shape[0]
    fitted = best[0] + best[1] * jnp.exp(-best[2] * log_n)
    resid = jnp.log(y) - jnp.log(fitted)
    n_par = 3 if with_floor else 2                # inflate for the fitted parameters
    resid = (resid - jnp.mean(resid)) * jnp.sqrt(n / max(n - n_par, 1))

    def one(k):
        idx = jax.random.randint(k, (n,), 0, n)
        if method == "residual":
            y_star = fitted * jnp.exp(resid[idx])
            return _fit_one(log_n, y_star, jnp.ones_like(y), grid, with_floor)[0]
        counts = jnp.zeros((n,), y.dtype).at[idx].add(1.0)    # pairs: multiplicities
        return _fit_one(log_n, y, counts, grid, with_floor)[0]

    return jax.vmap(one)(jax.random.split(key, n_bootstrap))
