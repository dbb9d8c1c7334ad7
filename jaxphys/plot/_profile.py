"""A profile-likelihood curve with its confidence intervals marked."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from jaxphys.plot._mpl import check_length, new_figure, save_figure, to_numpy


def _check_interval(label: str, interval: Any) -> tuple[float, float, float]:
    try:
        lower, upper, threshold = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"intervals[{label!r}]: expected a (lower, upper, threshold) triple of "
                         f"numbers, got {interval!r}") from None
    if not (np.isfinite(lower) and np.isfinite(upper) and lower <= upper):
        raise ValueError(f"intervals[{label!r}]: expected finite ends with lower <= upper, got "
                         f"({lower}, {upper})")
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"intervals[{label!r}]: expected a threshold > 0 (e.g. 1 for 68.3 %, "
                         f"3.84 for 95 % in one parameter), got {threshold}")
    return lower, upper, threshold


def plot_profile(values: Any, delta_cost: Any, *,
                 intervals: Mapping[str, Any] | None = None, best: float | None = None,
                 error: float | None = None, xlabel: str = "parameter",
                 ylabel: str = r"$\Delta(-2\ln L)$", title: str | None = None,
                 path: str | Path | None = None, ax: Any = None):
    r"""Draw a profile :math:`\Delta C(\theta) = C_p(\theta) - C_{min}` with its intervals.

    For a cost that is :math:`-2\ln L` (every :mod:`jaxphys.fitting` cost), an
    interval at confidence level CL in one parameter is where the profile stays
    below the threshold :math:`\Delta = F^{-1}_{\chi^2_1}(\mathrm{CL})` (Wilks
    1938): 1 for 68.27 %, 3.84 for 95 % (``jaxphys.fitting.delta_for``). Each
    interval is drawn as a horizontal line at its threshold between two vertical
    lines at its ends, the first interval shaded. With ``best`` and ``error``
    (the HESSE error σ), the parabola :math:`((\theta - \hat\theta)/\sigma)^2`
    that HESSE assumes is drawn dotted: where the profile departs from it, the
    MINOS interval is asymmetric.

    Args:
      values: the scanned parameter values, shape (n,), increasing.
      delta_cost: the profile :math:`\Delta C` at ``values``, shape (n,)
        (``ProfileScan.delta_cost``).
      intervals: optional ``{label: (lower, upper, threshold)}``, e.g. MINOS
        intervals at 68.3 % (threshold 1) and 95 % (threshold 3.84).
      best: optional best-fit value, marked by a vertical line.
      error: optional HESSE error of ``best`` (> 0): draws the parabola.
      xlabel, ylabel, title: axis labels and title.
      path: if given, the figure is saved there.
      ax: optional matplotlib ``Axes`` to draw into (then the figure is that of ``ax``).

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> import numpy as np
    >>> from jaxphys.plot import plot_profile
    >>> x = np.linspace(-3.0, 3.0, 61)
    >>> fig = plot_profile(x, x ** 2, intervals={"68 %": (-1.0, 1.0, 1.0)}, best=0.0)
    >>> len(fig.axes)
    1
    """
    x = to_numpy(values, "values", ndim=1)
    y = to_numpy(delta_cost, "delta_cost", ndim=1)
    check_length("values", x, "delta_cost", y)
    if x.shape[0] < 2:
        raise ValueError(f"values: expected at least 2 points, got {x.shape[0]}")
    if not np.all(np.isfinite(x)) or not np.all(np.diff(x) > 0):
        raise ValueError("values: expected finite, strictly increasing parameter values")
    checked = {str(k): _check_interval(str(k), v) for k, v in (intervals or {}).items()}
    if error is not None:
        if best is None:
            raise ValueError("best: the HESSE parabola needs the best-fit value as well as "
                             "error")
        error = float(error)
        if not (np.isfinite(error) and error > 0):
            raise ValueError(f"error: expected a HESSE error > 0, got {error}")

    if ax is None:
        fig = new_figure(figsize=(6.4, 4.4))
        ax = fig.subplots()
    else:
        fig = ax.figure
    finite = np.isfinite(y)
    ax.plot(x[finite], y[finite], color="k", lw=2, label="profile", zorder=3)
    if error is not None:
        ax.plot(x, ((x - float(best)) / error) ** 2, ":", color="C7", lw=1.5,
                label=f"HESSE parabola (σ = {error:.3g})", zorder=2)
    for i, (label, (lower, upper, threshold)) in enumerate(checked.items()):
        colour = f"C{i}"
        ax.hlines(threshold, lower, upper, colors=colour, lw=1.5, zorder=2.5)
        ax.vlines([lower, upper], 0.0, threshold, colors=colour, linestyles="--", lw=1.2,
                  label=f"{label}: [{lower:.3g}, {upper:.3g}]", zorder=2.5)
        if i == 0:
            ax.axvspan(lower, upper, color=colour, alpha=0.12, lw=0)
    if best is not None:
        ax.axvline(float(best), color="0.3", lw=1, label=f"best fit {float(best):.3g}")
    top = max([t for _, _, t in checked.values()] + [4.0])
    ax.set_ylim(0.0, 1.6 * top)
    ax.set_xlim(x[0], x[-1])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
