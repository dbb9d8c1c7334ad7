"""Figures for fits, losses and classifiers (optional ``plot`` extra: matplotlib).

Every function draws on its own ``matplotlib.figure.Figure`` with the Agg
backend (pyplot's global state is untouched), returns the figure, and saves it
to ``path`` when one is given. matplotlib is imported only when a function is
called; without it the call raises an ``ImportError`` that says how to install
it: ``pip install "jaxphys[plot]"``.

:func:`new_figure` and :func:`save_figure` are the two helpers every function here
draws and saves with; use them for figures of your own.
"""

from jaxphys.plot._classification import plot_confusion_matrix, plot_roc
from jaxphys.plot._corner import plot_corner
from jaxphys.plot._curves import plot_curves, plot_regularisation_path
from jaxphys.plot._fit import plot_fit
from jaxphys.plot._loss import plot_loss_curves, plot_loss_surface
from jaxphys.plot._mpl import new_figure, require_matplotlib, save_figure
from jaxphys.plot._pp import plot_pp
from jaxphys.plot._profile import plot_profile

__all__ = [
    "plot_confusion_matrix",
    "plot_corner",
    "plot_curves",
    "plot_fit",
    "plot_loss_curves",
    "plot_loss_surface",
    "plot_pp",
    "plot_profile",
    "plot_regularisation_path",
    "plot_roc",
    "require_matplotlib",
    "new_figure",
    "save_figure",
]
