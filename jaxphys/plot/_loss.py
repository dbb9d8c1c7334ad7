"""Loss surfaces (with optimum, truth and a descent trajectory) and loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jaxphys.plot._mpl import check_length, new_figure, save_figure, to_numpy

# Δχ² above the minimum enclosing 68.3 %, 95.4 % and 99.7 % for two parameters.
_DELTA_CHI2_2D = (2.30, 6.18, 11.83)


def plot_loss_surface(theta1: Any, theta2: Any, surface: Any, *, optimum: Any = None,
                      truth: Any = None, trajectory: Any = None, chi2_contours: bool = False,
                      log: bool = True, labels: Sequence[str] = ("θ₁", "θ₂"),
                      loss_label: str = "loss", title: str | None = None,
                      path: str | Path | None = None):
    r"""Filled contours of a two-parameter loss :math:`L(\theta_1, \theta_2)`.

    Args:
      theta1, theta2: the grids, shapes (n1,) and (n2,); ``theta1`` runs along the
        horizontal axis.
      surface: the loss on the grid, shape (n1, n2), ``surface[i, j] = L(theta1[i],
        theta2[j])`` (the layout of ``jaxphys.linear.loss_surface``).
      optimum, truth: optional points (2,), marked with a star and a cross.
      trajectory: optional path of an optimiser, shape (steps, 2), drawn with its start.
      chi2_contours: if the loss is a χ², also draw the Δχ² = 2.30, 6.18, 11.83
        contours (1σ, 2σ, 3σ joint regions for two parameters) around the minimum.
      log: colour by :math:`\log_{10}(L - L_{min} + 1)`-spaced levels (good for
        valleys); linear levels if False.
      labels: names of the two parameters (with units).
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> import numpy as np
    >>> t = np.linspace(-1, 1, 11)
    >>> fig = plot_loss_surface(t, t, t[:, None] ** 2 + t[None, :] ** 2, optimum=[0, 0])
    >>> fig.axes[0].get_xlabel()
    'θ₁'
    """
    t1 = to_numpy(theta1, "theta1", ndim=1)
    t2 = to_numpy(theta2, "theta2", ndim=1)
    z = to_numpy(surface, "surface", ndim=2)
    if z.shape != (t1.size, t2.size):
        raise ValueError(f"surface: expected shape ({t1.size}, {t2.size}) = "
                         f"(len(theta1), len(theta2)), got {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("surface: expected finite values, found NaN or infinite entries")

    fig = new_figure(figsize=(6.4, 5.2))
    ax = fig.subplots()
    zmin = float(z.min())
    span = float(z.max()) - zmin
    if log and span > 0:
        levels = zmin - 1.0 + np.geomspace(1.0, span + 1.0, 25)
        levels[-1] = z.max()
    else:
        levels = np.linspace(zmin, zmin + span if span > 0 else zmin + 1.0, 25)
    cs = ax.contourf(t1, t2, z.T, levels=levels, cmap="viridis")
    cbar = fig.colorbar(cs, ax=ax)
    cbar.set_label(loss_label)
    if log and span > 0:
        ticks = zmin - 1.0 + np.geomspace(1.0, span + 1.0, 6)
        cbar.set_ticks(ticks)
        cbar.set_ticklabels([f"{v:.3g}" for v in ticks])
    if chi2_contours:
        lines = ax.contour(t1, t2, z.T, levels=[zmin + d for d in _DELTA_CHI2_2D],
                           colors="white", linewidths=1.2,
                           linestyles=("-", "--", ":"))
        ax.clabel(lines, fmt={lv: s for lv, s in zip(lines.levels, ("1σ", "2σ", "3σ"))},
                  fontsize=8)
    if trajectory is not None:
        tr = to_numpy(trajectory, "trajectory", ndim=2)
        if tr.shape[1] != 2:
            raise ValueError(f"trajectory: expected shape (steps, 2), got {tr.shape}")
        every = max(1, tr.shape[0] // 100)    # at most ~100 markers
        ax.plot(tr[:, 0], tr[:, 1], "-", color="orange", lw=1.2, marker=".", ms=4,
                markevery=every,
                label=f"gradient descent ({tr.shape[0] - 1} steps"
                      + (f", a dot every {every})" if every > 1 else ")"))
        ax.plot(tr[0, 0], tr[0, 1], "o", color="orange", mec="k", ms=7, label="start")
    if optimum is not None:
        opt = to_numpy(optimum, "optimum", ndim=1)
        ax.plot(opt[0], opt[1], "*", color="red", mec="k", ms=15, label="best fit")
    if truth is not None:
        tru = to_numpy(truth, "truth", ndim=1)
        ax.plot(tru[0], tru[1], "X", color="white", mec="k", ms=10, label="truth")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_xlim(t1.min(), t1.max())
    ax.set_ylim(t2.min(), t2.max())
    if title:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.85)
    return save_figure(fig, path)


def plot_loss_curves(history: Mapping[str, Sequence[float]], *, metric: str = "loss",
                     log_y: bool = False, xlabel: str = "optimiser step",
                     ylabel: str | None = None, best_step: int | None = None,
                     title: str | None = None, path: str | Path | None = None):
    """Train and validation curves from a fit history.

    Args:
      history: ``{'step': [...], metric: [...], 'val_step': [...], 'val_' + metric: [...]}``
        as in ``jaxphys.core.FitResult.history``; the validation entries are optional.
      metric: which curve to draw (``'loss'`` by default).
      log_y: logarithmic vertical axis.
      best_step: optional step to mark (e.g. the early-stopping restore point).
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> fig = plot_loss_curves({'step': [1, 2, 3], 'loss': [3., 2., 1.],
    ...                         'val_step': [2], 'val_loss': [2.5]})
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['train', 'validation']
    """
    if "step" not in history or metric not in history:
        raise ValueError(f"history: expected keys 'step' and {metric!r}, got "
                         f"{sorted(history)}")
    step = to_numpy(history["step"], "history['step']", ndim=1)
    train = to_numpy(history[metric], f"history[{metric!r}]", ndim=1)
    check_length("history['step']", step, f"history[{metric!r}]", train)
    fig = new_figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    ax.plot(step, train, "-", color="C0", lw=1.5, label="train")
    val_key = f"val_{metric}"
    if val_key in history and len(history[val_key]) > 0:
        vstep = to_numpy(history.get("val_step", []), "history['val_step']", ndim=1)
        val = to_numpy(history[val_key], f"history[{val_key!r}]", ndim=1)
        check_length("history['val_step']", vstep, f"history[{val_key!r}]", val)
        ax.plot(vstep, val, "o-", color="C1", ms=3, lw=1.5, label="validation")
    if best_step is not None:
        ax.axvline(best_step, color="0.3", ls="--", lw=1, label=f"best step {best_step}")
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or metric)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
