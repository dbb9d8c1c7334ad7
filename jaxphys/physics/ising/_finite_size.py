"""Crossing temperatures and their finite-size extrapolation.

The temperature where a classifier's mean ``P(ordered)(T)`` crosses 1/2 is a
size-dependent ``T_c(L)``: :func:`crossing_temperature` reads it off by linear
interpolation, :func:`bootstrap_crossing` gives it an error by resampling the test
configurations (or whole Markov chains) at each temperature, and
:func:`finite_size_extrapolation` fits ``T_c(L) = T_c + a L^{-1/ν}`` (``ν = 1`` for
2-D Ising) with its χ² and p-value.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys import _checks

__all__ = ["BootstrapCrossing", "FiniteSizeFit", "crossing_temperature", "bootstrap_crossing",
           "finite_size_extrapolation"]


def crossing_temperature(temperature: Any, p_ordered: Any, level: float = 0.5) -> float:
    """Where a decreasing ``P(ordered)(T)`` crosses ``level``, by linear interpolation.

    Uses the first downward crossing in sorted temperature; NaN if there is none.

    >>> crossing_temperature([1.0, 2.0, 3.0], [1.0, 0.75, 0.25])
    2.5
    """
    _checks.as_array(temperature, "temperature", ndim=1)
    _checks.as_array(p_ordered, "p_ordered", ndim=1)
    t = np.asarray(temperature, float)
    p = np.asarray(p_ordered, float)
    _checks.check_same_length("temperature", t, "p_ordered", p)
    _checks.check_range(t, "temperature", low=0.0, low_open=True)
    order = np.argsort(t)
    t, p = t[order], p[order]
    above = p >= level
    idx = np.nonzero(above[:-1] & ~above[1:])[0]
    if idx.size == 0:
        return float("nan")
    i = int(idx[0])
    return float(t[i] + (p[i] - level) * (t[i + 1] - t[i]) / (p[i] - p[i + 1]))


class BootstrapCrossing(NamedTuple):
    """The 1/2-crossing of a mean ``P(ordered)(T)`` curve with its bootstrap error.

    Fields:
      crossing: the crossing temperature of the full data (:func:`crossing_temperature`).
      error: standard deviation of the bootstrap replicas' crossings.
      n_boot: replicas drawn; n_valid: replicas whose curve crossed the level (the
        error is NaN when fewer than 90 % did).

    >>> b = BootstrapCrossing(crossing=2.31, error=0.01, n_boot=200, n_valid=200)
    >>> f"{b.crossing:.2f} ± {b.error:.2f}"
    '2.31 ± 0.01'
    """

    crossing: float
    error: float
    n_boot: int
    n_valid: int


def bootstrap_crossing(key: jax.Array, p_ordered: Any, temperature: Any, *,
                       groups: Any = None, n_boot: int = 200,
                       level: float = 0.5) -> BootstrapCrossing:
    """Crossing of the mean ``P(ordered)`` at each temperature, with a bootstrap error.

    Each replica resamples, at every temperature independently and with replacement,
    the configurations there, or with ``groups`` whole groups of them (e.g. the Markov
    chain each configuration came from: records of one chain are correlated, so the
    chains are the independent units), recomputes the mean curve and its crossing
    (:func:`crossing_temperature`). The error covers the sampling of the test
    configurations only, not the randomness of the classifier's training.

    Args:
        key: PRNG key for the resampling.
        p_ordered: ``(n,)`` the classifier's P(ordered) per configuration.
        temperature: ``(n,)`` positive temperature of each configuration.
        groups: optional ``(n,)`` int group of each configuration (resampled as units
            within each temperature).
        n_boot: replicas (≥ 2); level: the crossing level in (0, 1).

    Returns:
        :class:`BootstrapCrossing`.

    >>> t = jnp.repeat(jnp.linspace(2.0, 2.6, 7), 50)
    >>> p = jax.nn.sigmoid((2.3 - t) / 0.05) + 0.1 * jax.random.normal(jax.random.key(1),
    ...                                                                  t.shape)
    >>> b = bootstrap_crossing(jax.random.key(0), p, t)
    >>> abs(b.crossing - 2.3) < 0.01, 0.0 < b.error < 0.01, b.n_valid
    (True, True, 200)
    """
    _checks.check_key(key)
    prob = np.asarray(_checks.as_array(p_ordered, "p_ordered", ndim=1), float)
    t = np.asarray(_checks.as_array(temperature, "temperature", ndim=1), float)
    _checks.check_same_length("p_ordered", prob, "temperature", t)
    _checks.check_finite(prob, "p_ordered")
    _checks.check_range(t, "temperature", low=0.0, low_open=True)
    n_boot = _checks.as_int(n_boot, "n_boot", minimum=2)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"level: expected a number in (0, 1), got {level!r}")
    if groups is None:
        g = np.arange(prob.shape[0])
    else:
        g = np.asarray(_checks.as_array(groups, "groups", ndim=1))
        _checks.check_same_length("p_ordered", prob, "groups", g)
        if not np.issubdtype(g.dtype, np.integer):
            raise ValueError(f"groups: expected integer group labels, got dtype {g.dtype}")
    temps = np.unique(t)
    replica_means = np.empty((n_boot, temps.shape[0]))
    for i, (v, k) in enumerate(zip(temps, jax.random.split(key, temps.shape[0]))):
        at = t == v
        labels, idx = np.unique(g[at], return_inverse=True)
        sums = np.bincount(idx, weights=prob[at], minlength=labels.shape[0])
        counts = np.bincount(idx, minlength=labels.shape[0]).astype(float)
        draw = np.asarray(jax.random.randint(k, (n_boot, labels.shape[0]), 0, labels.shape[0]))
        replica_means[:, i] = sums[draw].sum(1) / counts[draw].sum(1)
    full = crossing_temperature(temps, np.array([prob[t == v].mean() for v in temps]), level)
    crossings = np.array([crossing_temperature(temps, m, level) for m in replica_means])
    valid = np.isfinite(crossings)
    n_valid = int(valid.sum())
    error = float(np.std(crossings[valid], ddof=1)) if n_valid >= 0.9 * n_boot else float("nan")
    return BootstrapCrossing(float(full), error, n_boot, n_valid)


class FiniteSizeFit(NamedTuple):
    """``T_c(L) = T_c + a / L^{1/ν}`` fitted by weighted least squares.

    Fields:
      tc: ``T_c`` extrapolated to ``L → ∞``.
      tc_error: its standard error.
      slope: ``a``.
      nu: the exponent used.
      chi2, dof, p_value: the fit's χ², degrees of freedom ``n - 2`` and χ² p-value
        when the crossings' errors were given (NaN without errors).

    :func:`finite_size_extrapolation` returns one; the fitted line at L = 16:

    >>> fit = FiniteSizeFit(tc=2.269, tc_error=0.004, slope=0.8, nu=1.0)
    >>> round(fit.tc + fit.slope / 16 ** (1 / fit.nu), 3)   # T_c(L) = T_c + a L^{-1/ν}
    2.319
    """

    tc: float
    tc_error: float
    slope: float
    nu: float
    chi2: float = float("nan")
    dof: int = 0
    p_value: float = float("nan")


def finite_size_extrapolation(L: Any, tc_L: Any, tc_error: Any = None, *, nu: float = 1.0
                              ) -> FiniteSizeFit:
    """Extrapolate crossing temperatures linearly in ``L^{-1/ν}`` (``jaxphys.linear.polyfit``).

    >>> fit = finite_size_extrapolation([8, 16, 32], [2.369, 2.319, 2.294])
    >>> round(fit.tc, 3), round(fit.slope, 2)
    (2.269, 0.8)
    """
    from jaxphys.linear import polyfit

    sizes = np.asarray(L, float)
    y = np.asarray(tc_L, float)
    _checks.check_same_length("L", sizes, "tc_L", y)
    if sizes.size < 2:
        raise ValueError(f"L: expected at least 2 lattice sizes, got {sizes.size}")
    x = sizes ** (-1.0 / nu)
    sigma = None if tc_error is None else np.asarray(tc_error, float)
    res = polyfit(jnp.asarray(x), jnp.asarray(y), 1, sigma=None if sigma is None
                  else jnp.asarray(sigma))
    cov = np.asarray(res.cov)
    if sigma is None and sizes.size > 2:
        cov = cov * float(res.chi2) / max(float(res.dof), 1.0)
    err = float(np.sqrt(cov[0, 0])) if np.isfinite(cov[0, 0]) else float("nan")
    dof = int(sizes.size - 2)
    chi2 = float(res.chi2) if sigma is not None else float("nan")
    p_value = float(res.p_value) if sigma is not None and dof > 0 else float("nan")
    return FiniteSizeFit(float(res.params[0]), err, float(res.params[1]), float(nu), chi2,
                         dof, p_value)
