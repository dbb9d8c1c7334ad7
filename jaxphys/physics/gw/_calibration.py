r"""Calibration of amortised posteriors: the P–P plot over many injections.

For each injection ``i`` with true parameters ``θ*_i`` and posterior samples, the
credible level of the truth in parameter ``j`` is the fraction of samples below it,
``c_ij = mean_s 1[θ_sj < θ*_ij]``. For a calibrated posterior, ``c_·j`` is uniform on
[0, 1], so its empirical CDF ``F_j(x)`` follows the diagonal (the P–P plot; as in
DINGO's and bilby's ``make_pp_plot``). Two bands are reported for ``n`` injections:

* pointwise: the central ``confidence`` interval of ``Binomial(n, x)/n`` at each x
  (what bilby draws);
* simultaneous: ``|F_j(x) - x| ≤ ε`` for all x with probability ``confidence``, the
  Kolmogorov–Smirnov band, ``ε = K_α/(√n + 0.12 + 0.11/√n)`` with ``K_{0.05} = 1.358``
  (Stephens 1970's finite-n form of the Kolmogorov limit); a parameter is "inside the
  band" when its KS distance is below ``ε``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..._checks import as_int, check_finite


class PPResult(NamedTuple):
    """Fields:
        levels: (m,) grid of nominal credible levels in [0, 1].
        ecdf: (d, m) fraction of injections whose credible level is ≤ each grid value.
        lower, upper: (m,) pointwise binomial band at ``confidence``.
        ks_distance: (d,) ``max_x |F_j(x) - x|``.
        ks_band: half-width ``ε`` of the simultaneous band.
        ks_pvalue: (d,) asymptotic Kolmogorov p-values.
        inside: (d,) bool, ``ks_distance < ks_band``.
        n_injections: number of injections.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import PPResult, pp_plot_data
        >>> pp = pp_plot_data(np.array([[0.1], [0.4], [0.6], [0.9]]), n_grid=5)
        >>> isinstance(pp, PPResult), pp.n_injections, pp.levels.tolist()
        (True, 4, [0.0, 0.25, 0.5, 0.75, 1.0])
        >>> pp.ecdf.tolist()                     # 0, 1, 2, 3, 4 of the 4 levels lie below
        [[0.0, 0.25, 0.5, 0.75, 1.0]]
        >>> round(float(pp.ks_distance[0]), 4)   # max |F(x) - x| = 0.25 - 0.1 = 0.15
        0.15
    """

    levels: np.ndarray
    ecdf: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    ks_distance: np.ndarray
    ks_band: float
    ks_pvalue: np.ndarray
    inside: np.ndarray
    n_injections: int


def credible_levels(samples, truths) -> np.ndarray:
    """``c_ij``: fraction of posterior samples ``samples`` (n_inj, n_samples, d) below the
    true value ``truths`` (n_inj, d), per injection and parameter: (n_inj, d).

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import credible_levels
        >>> credible_levels(np.arange(10.0).reshape(1, 10, 1), np.array([[2.5]]))
        array([[0.3]])
    """
    samples = np.asarray(samples, np.float64)
    truths = np.asarray(truths, np.float64)
    if samples.ndim != 3 or truths.shape != (samples.shape[0], samples.shape[2]):
        raise ValueError(f"samples, truths: expected shapes (n_inj, n_samples, d) and "
                         f"(n_inj, d), got {samples.shape} and {truths.shape}")
    check_finite(samples, "samples")
    check_finite(truths, "truths")
    return np.mean(samples < truths[:, None, :], axis=1)


def _binomial_interval(n: int, p: float, confidence: float) -> tuple[float, float]:
    """Central interval of Binomial(n, p)/n from its exact CDF."""
    if p <= 0.0 or p >= 1.0:
        return p, p
    k = np.arange(n + 1)
    log_pmf = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                        for i in k]) + k * math.log(p) + (n - k) * math.log1p(-p)
    cdf = np.cumsum(np.exp(log_pmf))
    alpha = 0.5 * (1.0 - confidence)
    lo = int(np.searchsorted(cdf, alpha))
    hi = int(np.searchsorted(cdf, 1.0 - alpha))
    return lo / n, min(hi, n) / n


def kolmogorov_pvalue(distance: float, n: int) -> float:
    r"""Asymptotic p-value of the one-sample KS distance ``D`` for ``n`` points:
    ``Q(λ) = 2 Σ_{k≥1} (-1)^{k-1} e^{-2k²λ²}``, ``λ = (√n + 0.12 + 0.11/√n) D``.

    Example:
        >>> from jaxphys.physics.gw import kolmogorov_pvalue
        >>> n = 100                               # √n + 0.12 + 0.11/√n = 10.131
        >>> round(kolmogorov_pvalue(1.358 / 10.131, n), 3)   # λ = K_0.05 = 1.358
        0.05
        >>> kolmogorov_pvalue(0.0, n)             # the ECDF on the diagonal
        1.0
    """
    n = as_int(n, "n", minimum=1)
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * float(distance)
    if lam < 0.2:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam) for k in range(1, 101))
    return float(min(max(2.0 * total, 0.0), 1.0))


def pp_plot_data(levels, *, confidence: float = 0.95, n_grid: int = 101) -> PPResult:
    """P–P plot data and the band test for credible levels (n_inj, d) from
    :func:`credible_levels`.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import pp_plot_data
        >>> rng = np.random.default_rng(1)
        >>> pp = pp_plot_data(rng.uniform(size=(300, 2)))          # calibrated
        >>> pp.ks_distance.round(3), round(pp.ks_band, 3), pp.inside
        (array([0.042, 0.026]), 0.078, array([ True,  True]))
    """
    c = np.asarray(levels, np.float64)
    if c.ndim != 2 or c.shape[0] < 2:
        raise ValueError(f"levels: expected shape (n_injections >= 2, d), got {c.shape}")
    if np.any((c < 0) | (c > 1)) or not np.all(np.isfinite(c)):
        raise ValueError("levels: expected finite values in [0, 1]")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: expected a number in (0, 1), got {confidence}")
    n_grid = as_int(n_grid, "n_grid", minimum=2)
    n = c.shape[0]
    grid = np.linspace(0.0, 1.0, n_grid)
    ecdf = np.mean(c.T[:, :, None] <= grid[None, None, :], axis=1)
    bands = np.array([_binomial_interval(n, x, confidence) for x in grid])
    # the KS distance of the sample itself (the sup over x is reached at the data)
    sorted_c = np.sort(c, axis=0)
    above = np.arange(1, n + 1)[:, None] / n - sorted_c
    below = sorted_c - np.arange(0, n)[:, None] / n
    distance = np.maximum(above.max(axis=0), below.max(axis=0))
    # Stephens' finite-n critical value for the requested confidence (asymptotic K_α)
    k_alpha = math.sqrt(-0.5 * math.log(0.5 * (1.0 - confidence)))
    band = k_alpha / (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n))
    pvalues = np.array([kolmogorov_pvalue(d, n) for d in distance])
    return PPResult(grid, ecdf, bands[:, 0], bands[:, 1], distance, float(band), pvalues,
                    distance < band, n)
