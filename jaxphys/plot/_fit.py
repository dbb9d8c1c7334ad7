"""Data with error bars, a fitted curve and a pull (or residual) panel."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from jaxphys.plot._mpl import check_length, new_figure, save_figure, to_numpy


def _evaluate(f: Callable | Any, x: np.ndarray, name: str) -> np.ndarray:
    out = to_numpy(f(x) if callable(f) else f, name, ndim=1)
    check_length("x", x, name, out)
    return out


def plot_fit(x: Any, y: Any, sigma: Any = None, *, model: Callable | Any,
             model_err: Callable | None = None, truth: Callable | None = None,
             x_curve: Any = None, info: str | None = None, xlabel: str = "x",
             ylabel: str = "y", data_label: str = "data", model_label: str = "fit",
             title: str | None = None, path: str | Path | None = None):
    r"""Plot data :math:`y_i \pm \sigma_i`, a fitted curve and the pulls below.

    The lower panel shows the pulls :math:`(y_i - f(x_i))/\sigma_i` with the
    ±1 and ±2 bands when ``sigma`` is given, else the raw residuals
    :math:`y_i - f(x_i)`.

    Args:
      x, y: data, shape (n,).
      sigma: 1σ uncertainty of ``y``, shape (n,) or a scalar; ``None`` for no error bars.
      model: the fitted curve, a vectorised callable ``f(x) -> y`` (evaluated on
        the data and on a dense grid), or its values at ``x``, shape (n,).
      model_err: optional callable ``x -> 1σ`` of the fitted curve, drawn as a band.
      truth: optional callable ``x -> y`` of the generating curve, drawn dashed.
      x_curve: grid on which the curves are drawn; 200 points over the data by default.
      info: optional text (e.g. best-fit values) shown in the top panel.
      xlabel, ylabel: axis labels; put the units in them, e.g. ``"time t [s]"``.
      path: if given, the figure is saved there (PNG for a ``.png`` suffix).

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> import numpy as np
    >>> x = np.linspace(0, 1, 5)
    >>> fig = plot_fit(x, 2 * x, 0.1, model=lambda t: 2 * t)
    >>> len(fig.axes)
    2
    """
    x = to_numpy(x, "x", ndim=1)
    y = to_numpy(y, "y", ndim=1)
    check_length("x", x, "y", y)
    if sigma is not None:
        sigma = to_numpy(sigma, "sigma", ndim=(0, 1))
        if sigma.ndim == 0:
            sigma = np.full_like(x, sigma)
        check_length("x", x, "sigma", sigma)
        if not np.all(sigma > 0):
            raise ValueError(f"sigma: every value must be > 0, got minimum {np.min(sigma)!r}")
    at_data = _evaluate(model, x, "model")

    fig = new_figure(figsize=(6.4, 5.6))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.errorbar(x, y, yerr=sigma, fmt="o", ms=4, color="k", ecolor="0.4", capsize=2,
                 label=data_label, zorder=3)
    if callable(model):
        grid = (np.linspace(x.min(), x.max(), 200) if x_curve is None
                else to_numpy(x_curve, "x_curve", ndim=1))
        curve = _evaluate(model, grid, "model")
    else:
        grid, curve = x, at_data
    top.plot(grid, curve, color="C0", lw=2, label=model_label, zorder=2)
    if model_err is not None:
        band = _evaluate(model_err, grid, "model_err")
        top.fill_between(grid, curve - band, curve + band, color="C0", alpha=0.25, lw=0,
                         label=f"{model_label} ±1σ")
    if truth is not None:
        top.plot(grid, _evaluate(truth, grid, "truth"), "--", color="C3", lw=1.5,
                 label="truth", zorder=2)
    top.set_ylabel(ylabel)
    top.legend(loc="lower right")
    if info:
        top.text(0.03, 0.97, info, transform=top.transAxes, va="top", ha="left",
                 fontsize=9, family="monospace",
                 bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))
    if title:
        top.set_title(title)
    top.grid(alpha=0.3)

    resid = y - at_data
    if sigma is not None:
        pull = resid / sigma
        bottom.axhspan(-2, 2, color="0.9", lw=0)
        bottom.axhspan(-1, 1, color="0.8", lw=0)
        bottom.plot(x, pull, "o", ms=4, color="k")
        bottom.set_ylabel("pull\n(data − fit)/σ")
        lim = max(3.0, float(np.max(np.abs(pull))) * 1.1)
        bottom.set_ylim(-lim, lim)
    else:
        bottom.plot(x, resid, "o", ms=4, color="k")
        bottom.set_ylabel("residual\ndata − fit")
    bottom.axhline(0, color="C0", lw=1.5)
    bottom.set_xlabel(xlabel)
    bottom.grid(alpha=0.3)
    return save_figure(fig, path)
