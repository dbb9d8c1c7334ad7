"""The P–P plot of posterior calibration, with its binomial confidence bands."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from jaxphys.plot._mpl import new_figure, save_figure, to_numpy


def binomial_band(n: int, p: Any, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Central ``confidence`` interval of :math:`K/n`, :math:`K \sim \mathrm{Binomial}(n, p)`.

    The ends are the quantiles :math:`k_{lo} = \min\{k : F(k) \ge \alpha/2\}` and
    :math:`k_{hi} = \min\{k : F(k) \ge 1 - \alpha/2\}` of the exact binomial CDF F
    (:math:`\alpha = 1 - \text{confidence}`), divided by n; ``p`` = 0 or 1 gives
    the point ``(p, p)``.

    Args:
      n: number of trials (>= 1).
      p: success probabilities, shape (m,), in [0, 1].
      confidence: in (0, 1).

    Returns:
      ``(lower, upper)``, each shape (m,).
    """
    p = np.atleast_1d(np.asarray(p, dtype=float))
    k = np.arange(n + 1)
    log_choose = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1)
                           for i in k])
    alpha = 0.5 * (1.0 - confidence)
    lower, upper = p.copy(), p.copy()
    inner = (p > 0) & (p < 1)
    for j in np.flatnonzero(inner):
        log_pmf = log_choose + k * math.log(p[j]) + (n - k) * math.log1p(-p[j])
        cdf = np.cumsum(np.exp(log_pmf))
        lower[j] = np.searchsorted(cdf, alpha) / n
        upper[j] = min(int(np.searchsorted(cdf, 1.0 - alpha)), n) / n
    return lower, upper


def plot_pp(credible_levels: Any, *, names: Sequence[str] | None = None,
            confidence: float | Sequence[float] = (0.68, 0.95, 0.997), n_grid: int = 101,
            title: str | None = None, path: str | Path | None = None, ax: Any = None):
    r"""P–P plot: the empirical CDF of the credible levels of the truths, per parameter.

    For posteriors of n injections with true parameters :math:`\theta^*_i`, the
    credible level of parameter j is :math:`c_{ij}` = the posterior mass below
    :math:`\theta^*_{ij}`. For calibrated posteriors :math:`c_{\cdot j}` is
    uniform on [0, 1], so its empirical CDF :math:`F_j(x) = \frac1n\#\{i: c_{ij} \le x\}`
    lies on the diagonal within the binomial scatter: at each x,
    :math:`nF_j(x) \sim \mathrm{Binomial}(n, x)`, whose central intervals
    (:func:`binomial_band`) are shaded, one band per ``confidence`` (the
    pointwise bands drawn by bilby's ``make_pp_plot``; Talts et al. 2018,
    "Validating Bayesian inference algorithms with simulation-based
    calibration", make the same check with rank histograms).

    Args:
      credible_levels: shape (n_injections >= 2, d), values in [0, 1] (e.g.
        ``jaxphys.physics.gw.credible_levels``).
      names: d labels for the legend (default ``θ0, θ1, ...``).
      confidence: one confidence level or several, each in (0, 1).
      n_grid: number of grid points in [0, 1] (>= 2).
      title: optional title.
      path: if given, the figure is saved there.
      ax: optional matplotlib ``Axes`` to draw into.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> import numpy as np
    >>> from jaxphys.plot import plot_pp
    >>> levels = np.random.default_rng(0).uniform(size=(100, 2))
    >>> fig = plot_pp(levels, names=["a", "b"])
    >>> len(fig.axes[0].lines)
    3
    """
    c = to_numpy(credible_levels, "credible_levels", ndim=2)
    n, d = c.shape
    if n < 2:
        raise ValueError(f"credible_levels: expected at least 2 injections (rows), got {n}")
    if not np.all(np.isfinite(c)) or np.any((c < 0) | (c > 1)):
        raise ValueError("credible_levels: expected finite values in [0, 1]")
    names = [f"θ{j}" for j in range(d)] if names is None else [str(s) for s in names]
    if len(names) != d:
        raise ValueError(f"names: expected {d} names (one per column of credible_levels), got "
                         f"{len(names)}")
    levels = [float(confidence)] if np.ndim(confidence) == 0 else [float(v) for v in confidence]
    if not levels or any(not 0.0 < v < 1.0 for v in levels):
        raise ValueError(f"confidence: expected levels in (0, 1), got {confidence!r}")
    if int(n_grid) != n_grid or n_grid < 2:
        raise ValueError(f"n_grid: expected an integer >= 2, got {n_grid!r}")

    grid = np.linspace(0.0, 1.0, int(n_grid))
    if ax is None:
        fig = new_figure(figsize=(5.2, 5.0))
        ax = fig.subplots()
    else:
        fig = ax.figure
    ordered = sorted(levels, reverse=True)
    for k, level in enumerate(ordered):   # widest first, darker inwards
        lower, upper = binomial_band(n, grid, level)
        shade = 0.9 - 0.25 * k / max(1, len(ordered) - 1) if len(ordered) > 1 else 0.8
        ax.fill_between(grid, lower, upper, color=str(round(shade, 3)), lw=0,
                        label=f"{100 * level:g} % binomial band")
    ax.plot([0, 1], [0, 1], color="k", lw=1, ls="--")
    for j, name in enumerate(names):
        ecdf = np.mean(c[:, j][:, None] <= grid[None, :], axis=0)
        ax.plot(grid, ecdf, color=f"C{j}", lw=1.6, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("credible level")
    ax.set_ylabel(f"fraction of the {n} truths below it")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
