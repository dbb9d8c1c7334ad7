"""A corner plot overlaying several (weighted) sample sets of the same parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jaxphys.plot._mpl import new_figure, save_figure, to_numpy


def credible_thresholds(density: Any, levels: Sequence[float]) -> np.ndarray:
    r"""Density thresholds of the highest-density regions holding ``levels`` of the mass.

    For a histogram (any shape) with non-negative values :math:`h_k`, the
    region :math:`\{k : h_k \ge t_L\}` is the smallest set of bins holding a
    fraction L of :math:`\sum_k h_k`: sort the values in decreasing order and
    take the value at which their cumulative sum first reaches :math:`L\sum h`.

    Args:
      density: histogram values, any shape, non-negative, not all zero.
      levels: fractions in (0, 1).

    Returns:
      ``(len(levels),)`` thresholds, decreasing as the level increases.
    """
    h = np.sort(np.asarray(density, dtype=float).ravel())[::-1]
    total = h.sum()
    if not (np.all(np.isfinite(h)) and np.all(h >= 0) and total > 0):
        raise ValueError("density: expected finite non-negative values, not all zero")
    cumulative = np.cumsum(h) / total
    out = []
    for level in levels:
        level = float(level)
        if not 0.0 < level < 1.0:
            raise ValueError(f"levels: expected fractions in (0, 1), got {level}")
        out.append(h[min(int(np.searchsorted(cumulative, level)), h.size - 1)])
    return np.asarray(out)


def _smooth(h: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return h
    half = max(1, int(np.ceil(3 * sigma)))
    t = np.arange(-half, half + 1)
    kernel = np.exp(-0.5 * (t / sigma) ** 2)
    kernel /= kernel.sum()
    h = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 0, h)
    return np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, h)


def plot_corner(samples: Mapping[str, Any] | Any, *, names: Sequence[str] | None = None,
                weights: Mapping[str, Any] | None = None, truth: Any = None,
                bins: int = 40, levels: Sequence[float] = (0.393, 0.865),
                smooth: float = 1.0, ranges: Sequence[tuple[float, float]] | None = None,
                title: str | None = None, path: str | Path | None = None):
    r"""Corner plot: 1-D marginals on the diagonal, 2-D credible contours below, overlaid.

    Each sample set (``{label: (n, d) samples}``) is drawn in its own colour:
    on the diagonal the normalised (weighted) histogram of each parameter; below
    it, for each pair, the contours of the highest-density regions of the 2-D
    histogram (smoothed by a Gaussian of ``smooth`` bins) that hold ``levels``
    of the mass (:func:`credible_thresholds`). The default levels 39.3 % and
    86.5 % are :math:`1 - e^{-k^2/2}`, the mass inside the 1σ and 2σ ellipses of
    a 2-D Gaussian, so contours of a Gaussian posterior sit at its 1σ, 2σ.

    Args:
      samples: ``{label: array (n, d)}``, or one ``(n, d)`` array; the sets may
        differ in n but share d.
      names: d parameter labels (default ``θ0, θ1, ...``); put the units in them.
      weights: optional ``{label: (n,) non-negative weights}`` for some of the
        sets (e.g. importance weights).
      truth: optional (d,) true values, marked by lines.
      bins: histogram bins per axis (>= 5).
      levels: credible levels of the contours, each in (0, 1).
      smooth: Gaussian smoothing of the 2-D histograms, in bins (0: none).
      ranges: optional d ``(low, high)`` axis ranges; by default the 0.5–99.5 %
        quantiles over all sets, widened by 5 %.
      title: optional figure title.
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure`` (d × d axes; those of the upper triangle have no
      frame, and the top-right one holds the legend).

    >>> import numpy as np
    >>> from jaxphys.plot import plot_corner
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_corner({"a": rng.normal(size=(2000, 2)), "b": rng.normal(size=(1000, 2))},
    ...                   names=["x", "y"])
    >>> len(fig.axes)
    4
    """
    sets = dict(samples) if isinstance(samples, Mapping) else {"samples": samples}
    if not sets:
        raise ValueError("samples: expected at least one sample set, got none")
    arrays = {}
    for label, x in sets.items():
        arr = to_numpy(x, f"samples[{label!r}]", ndim=2)
        if arr.shape[0] < 2 or not np.all(np.isfinite(arr)):
            raise ValueError(f"samples[{label!r}]: expected at least 2 finite samples, got "
                             f"shape {arr.shape}")
        arrays[str(label)] = arr
    d = next(iter(arrays.values())).shape[1]
    for label, arr in arrays.items():
        if arr.shape[1] != d:
            raise ValueError(f"samples[{label!r}]: expected {d} parameters (columns) like the "
                             f"first set, got {arr.shape[1]}")
    weight_of = {}
    for label, w in (weights or {}).items():
        if str(label) not in arrays:
            raise ValueError(f"weights: {label!r} is not a sample set; expected one of "
                             f"{list(arrays)}")
        w = to_numpy(w, f"weights[{label!r}]", ndim=1)
        if w.shape[0] != arrays[str(label)].shape[0]:
            raise ValueError(f"weights[{label!r}]: expected {arrays[str(label)].shape[0]} "
                             f"weights (one per sample), got {w.shape[0]}")
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise ValueError(f"weights[{label!r}]: expected finite non-negative weights, not "
                             "all zero")
        weight_of[str(label)] = w
    names = [f"θ{j}" for j in range(d)] if names is None else [str(s) for s in names]
    if len(names) != d:
        raise ValueError(f"names: expected {d} names, got {len(names)}")
    if int(bins) != bins or bins < 5:
        raise ValueError(f"bins: expected an integer >= 5, got {bins!r}")
    bins = int(bins)
    thresholds_for = sorted(float(v) for v in levels)
    credible_thresholds(np.ones(2), thresholds_for)  # validates the levels
    if truth is not None:
        truth = to_numpy(truth, "truth", ndim=1)
        if truth.shape[0] != d:
            raise ValueError(f"truth: expected {d} values, got {truth.shape[0]}")
    if ranges is None:
        pooled = np.concatenate(list(arrays.values()))
        low, high = np.quantile(pooled, 0.005, axis=0), np.quantile(pooled, 0.995, axis=0)
        pad = 0.05 * np.where(high > low, high - low, 1.0)
        ranges = list(zip(low - pad, high + pad))
    else:
        ranges = [tuple(float(v) for v in r) for r in ranges]
        if len(ranges) != d or any(len(r) != 2 or not r[0] < r[1] for r in ranges):
            raise ValueError(f"ranges: expected {d} (low, high) pairs with low < high, got "
                             f"{ranges!r}")

    fig = new_figure(figsize=(2.3 * d + 1.0, 2.3 * d + 0.6))
    axes = np.asarray(fig.subplots(d, d, squeeze=False))
    colours = {label: f"C{i}" for i, label in enumerate(arrays)}
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            for label, arr in arrays.items():
                w = weight_of.get(label)
                if i == j:
                    ax.hist(arr[:, i], bins=bins, range=ranges[i], weights=w, density=True,
                            histtype="step", color=colours[label], lw=1.5)
                    continue
                h, xe, ye = np.histogram2d(arr[:, j], arr[:, i], bins=bins,
                                           range=[ranges[j], ranges[i]], weights=w)
                h = _smooth(h, float(smooth))
                if h.sum() <= 0:
                    continue
                t = np.unique(credible_thresholds(h, thresholds_for))
                if t.size and t[-1] > 0 and t[0] < h.max():
                    ax.contour(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T,
                               levels=t, colors=colours[label], linewidths=1.3)
            if truth is not None:
                ax.axvline(truth[j], color="k", lw=0.9, ls="--")
                if i != j:
                    ax.axhline(truth[i], color="k", lw=0.9, ls="--")
            ax.set_xlim(ranges[j])
            if i != j:
                ax.set_ylim(ranges[i])
            else:
                ax.set_yticks([])
            if i == d - 1:
                ax.set_xlabel(names[j])
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(names[i])
            elif i != j:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=7)
    handles = [_proxy(colours[label]) for label in arrays]
    labels = list(arrays)
    if truth is not None:
        handles.append(_proxy("k", "--"))
        labels.append("truth")
    note = "contours: " + ", ".join(f"{100 * v:.1f} %" for v in thresholds_for)
    if d > 1:   # in the empty upper-right corner
        axes[0, d - 1].legend(handles, labels, loc="upper right", fontsize=9, title=note,
                              title_fontsize=8)
    else:
        fig.legend(handles, labels, loc="upper right", fontsize=9, title=note, title_fontsize=8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def _proxy(colour: str, style: str = "-"):
    from matplotlib.lines import Line2D

    return Line2D([], [], color=colour, ls=style, lw=1.5)
