"""Generic curves (e.g. errors vs polynomial degree) and regularisation paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jaxphys.plot._mpl import check_length, new_figure, save_figure, to_numpy


def plot_curves(x: Any, curves: Mapping[str, Any], *, points: Mapping[str, Any] | None = None,
                reference: Mapping[str, Any] | None = None,
                xlabel: str = "x", ylabel: str = "y", log_x: bool = False, log_y: bool = False,
                marker: str | None = None, vline: float | None = None,
                vline_label: str | None = None, hline: float | None = None,
                hline_label: str | None = None, ylim: tuple[float, float] | None = None,
                title: str | None = None, path: str | Path | None = None):
    """Several labelled curves over one shared ``x``, with optional data points.

    Args:
      x: shared abscissa, shape (n,).
      curves: ``{label: y}`` with each ``y`` of shape (n,).
      points: optional ``{label: (x_points, y_points)}`` drawn as markers (data).
      reference: optional ``{label: y}`` over the same ``x`` drawn as dashed black lines
        (e.g. the true function).
      log_x, log_y: logarithmic axes.
      marker: marker for the curves (e.g. ``"o"`` for a few points such as degrees).
      vline, hline: optional reference lines (e.g. the chosen degree, the noise floor).
      ylim: optional vertical limits.
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> fig = plot_curves([0, 1, 2], {"train": [3., 2., 1.], "test": [3., 2.5, 2.7]},
    ...                   xlabel="degree", ylabel="MSE", marker="o", vline=1)
    >>> len(fig.axes[0].lines)
    3
    """
    xs = to_numpy(x, "x", ndim=1)
    if not curves:
        raise ValueError("curves: expected at least one curve, got none")
    fig = new_figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    for label, points_xy in (points or {}).items():
        px = to_numpy(points_xy[0], f"points[{label!r}][0]", ndim=1)
        py = to_numpy(points_xy[1], f"points[{label!r}][1]", ndim=1)
        check_length(f"points[{label!r}][0]", px, f"points[{label!r}][1]", py)
        ax.plot(px, py, "o", ms=5, color="k", mfc="none", label=label, zorder=3)
    for label, ys in (reference or {}).items():
        y = to_numpy(ys, f"reference[{label!r}]", ndim=1)
        check_length("x", xs, f"reference[{label!r}]", y)
        ax.plot(xs, y, "--", color="k", lw=1.5, label=label, zorder=2.5)
    for i, (label, ys) in enumerate(curves.items()):
        y = to_numpy(ys, f"curves[{label!r}]", ndim=1)
        check_length("x", xs, f"curves[{label!r}]", y)
        ax.plot(xs, y, marker=marker, ms=4, lw=1.6, color=f"C{i}", label=label)
    if vline is not None:
        ax.axvline(vline, color="0.3", ls="--", lw=1, label=vline_label)
    if hline is not None:
        ax.axhline(hline, color="0.3", ls=":", lw=1, label=hline_label)
    if log_x:
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_regularisation_path(lams: Any, coefs: Any, *, labels: Sequence[str] | None = None,
                             chosen: float | None = None, xlabel: str = "λ",
                             ylabel: str = "coefficient", log_x: bool = True,
                             symlog_y: float | None = None,
                             title: str | None = None, path: str | Path | None = None):
    r"""Each fitted coefficient as a function of the regularisation strength λ.

    Args:
      lams: the λ values, shape (L,), positive if ``log_x``.
      coefs: fitted parameters for each λ, shape (L, p) (the layout of
        ``jaxphys.linear.regularisation_path``).
      labels: p coefficient names (e.g. ``["c0", "c1", ...]``); shown in the legend
        when p ≤ 20.
      chosen: optional λ to mark (e.g. the one chosen on the validation set).
      symlog_y: if given, a symmetric-log vertical axis, linear within ±``symlog_y``
        (for paths whose unregularised coefficients are huge).
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> import numpy as np
    >>> lams = np.geomspace(1e-3, 1, 4)
    >>> fig = plot_regularisation_path(lams, np.ones((4, 2)) / lams[:, None], chosen=0.1)
    >>> fig.axes[0].get_xscale()
    'log'
    """
    lam = to_numpy(lams, "lams", ndim=1)
    c = to_numpy(coefs, "coefs", ndim=2)
    check_length("lams", lam, "coefs", c)
    if log_x and not np.all(lam > 0):
        raise ValueError(f"lams: every value must be > 0 for a log axis, got minimum {lam.min()!r}")
    p = c.shape[1]
    if labels is not None and len(labels) != p:
        raise ValueError(f"labels: expected {p} labels, got {len(labels)}")
    fig = new_figure(figsize=(6.4, 4.4))
    ax = fig.subplots()
    colours = _colours(p)
    for k in range(p):
        label = (labels[k] if labels is not None else f"c{k}") if p <= 20 else None
        ax.plot(lam, c[:, k], lw=1.4, color=colours[k], label=label)
    ax.axhline(0, color="k", lw=0.8)
    if chosen is not None:
        ax.axvline(chosen, color="0.3", ls="--", lw=1, label=f"chosen λ = {chosen:.3g}")
    if log_x:
        ax.set_xscale("log")
    if symlog_y is not None:
        ax.set_yscale("symlog", linthresh=float(symlog_y))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, ncol=1 if p <= 6 else 2 if p <= 12 else 3)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def _colours(n: int) -> list:
    """n distinguishable colours: tab10/tab20 for up to 20 lines, else viridis."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    cmap = colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.0, 0.95, n)]
