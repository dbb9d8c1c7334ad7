"""Classifier figures: confusion matrix and ROC curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jaxphys.plot._mpl import check_length, new_figure, save_figure, to_numpy


def plot_confusion_matrix(matrix: Any, class_names: Sequence[str] | None = None, *,
                          normalize: bool = False, title: str | None = None,
                          path: str | Path | None = None):
    """A confusion matrix with the counts written in each cell.

    Args:
      matrix: counts, shape (C, C), rows the true class and columns the predicted
        class (the layout of ``jaxphys.metrics.confusion_matrix``).
      class_names: C names; ``0 .. C-1`` by default.
      normalize: colour by the fraction of each true class (row) instead of the
        count; the cells then show the count and the row percentage.
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> fig = plot_confusion_matrix([[50, 3], [7, 40]], ["noise", "signal"])
    >>> fig.axes[0].get_ylabel()
    'true class'
    """
    cm = to_numpy(matrix, "matrix", ndim=2)
    if cm.shape[0] != cm.shape[1]:
        raise ValueError(f"matrix: expected a square (C, C) array, got shape {cm.shape}")
    n = cm.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"class_names: expected {n} names for a {n}x{n} matrix, "
                         f"got {len(names)}")
    rows = cm.sum(axis=1, keepdims=True)
    frac = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    shown = frac if normalize else cm

    fig = new_figure(figsize=(1.3 * n + 3.2, 1.2 * n + 2.4))
    ax = fig.subplots()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(cm.max(), 1))
    fig.colorbar(im, ax=ax, label="fraction of true class" if normalize else "count")
    threshold = (1 if normalize else max(cm.max(), 1)) / 2
    for i in range(n):
        for j in range(n):
            text = f"{cm[i, j]:.0f}\n({100 * frac[i, j]:.1f} %)"
            ax.text(j, i, text, ha="center", va="center", fontsize=10,
                    color="white" if shown[i, j] > threshold else "black")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or f"confusion matrix (N = {cm.sum():.0f})")
    return save_figure(fig, path)


def _as_curve(curve: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(curve, "fpr") and hasattr(curve, "tpr"):
        fpr, tpr = curve.fpr, curve.tpr
    else:
        try:
            fpr, tpr = curve[0], curve[1]
        except (TypeError, IndexError, KeyError):
            raise TypeError(f"{name}: expected a RocCurve or a pair (fpr, tpr), got "
                            f"{type(curve).__name__}") from None
    fpr = to_numpy(fpr, f"{name}.fpr", ndim=1)
    tpr = to_numpy(tpr, f"{name}.tpr", ndim=1)
    check_length(f"{name}.fpr", fpr, f"{name}.tpr", tpr)
    return fpr, tpr


def plot_roc(curves: Any, *, title: str | None = None, path: str | Path | None = None,
             xlabel: str = "false-positive rate (1 − specificity)",
             ylabel: str = "true-positive rate (sensitivity)"):
    r"""One or several ROC curves with their area under the curve in the legend.

    Args:
      curves: a ``RocCurve`` (anything with ``fpr`` and ``tpr``), a pair ``(fpr, tpr)``,
        or a mapping ``{label: curve}`` of several. The AUC is the trapezoidal
        :math:`\int \mathrm{TPR}\, d\,\mathrm{FPR}` of each curve as given.
      path: if given, the figure is saved there.

    Returns:
      the ``matplotlib.figure.Figure``.

    >>> fig = plot_roc({"ideal": ([0, 0, 1], [0, 1, 1])})
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'ideal (AUC = 1.000)'
    """
    if not isinstance(curves, Mapping):
        curves = {"classifier": curves}
    if not curves:
        raise ValueError("curves: expected at least one ROC curve, got none")
    fig = new_figure(figsize=(5.6, 5.2))
    ax = fig.subplots()
    for i, (label, curve) in enumerate(curves.items()):
        fpr, tpr = _as_curve(curve, f"curves[{label!r}]")
        order = np.lexsort((tpr, fpr))
        fpr, tpr = fpr[order], tpr[order]
        area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
        ax.plot(fpr, tpr, lw=2, color=f"C{i}", ls=("-", "--", "-.", ":")[i % 4],
                label=f"{label} (AUC = {area:.3f})")
    ax.plot([0, 1], [0, 1], ":", color="0.5", lw=1, label="chance (AUC = 0.5)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=9)
    ax.set_title(title or "ROC curve")
    return save_figure(fig, path)
