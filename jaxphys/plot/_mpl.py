"""Lazy matplotlib access shared by every plot function.

matplotlib is an optional dependency (the ``plot`` extra). It is imported only
when a figure is drawn, and figures are attached to an Agg canvas explicitly,
so plotting never touches pyplot's global state or the user's backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

_INSTALL_HINT = ('jaxphys.plot needs matplotlib, which is an optional extra; '
                 'install it with: pip install "jaxphys[plot]"')


def require_matplotlib() -> Any:
    """Import and return the ``matplotlib`` module, or raise a helpful ImportError.

    Call it first in a plotting function of your own, so that a missing matplotlib
    fails with the install hint (``pip install "jaxphys[plot]"``).

    >>> from jaxphys.plot import require_matplotlib
    >>> mpl = require_matplotlib()
    >>> mpl.__name__, hasattr(mpl, "__version__")
    ('matplotlib', True)
    """
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401
        from matplotlib.backends import backend_agg  # noqa: F401
    except ImportError as err:
        raise ImportError(f"{_INSTALL_HINT} ({err})") from err
    return matplotlib


def new_figure(*, figsize: tuple[float, float] = (6.4, 4.8), **kwargs: Any):
    """A ``matplotlib.figure.Figure`` on an Agg canvas (no pyplot, no global backend).

    Keyword arguments go to ``Figure`` (``layout="constrained"`` is set). Draw on it
    with ``fig.add_subplot`` / ``fig.subplots`` and save it with :func:`save_figure`.

    >>> fig = new_figure(figsize=(3.0, 2.0))
    >>> ax = fig.add_subplot()
    >>> _ = ax.plot([0.0, 1.0], [1.0, 0.0])
    >>> [float(v) for v in fig.get_size_inches()]
    [3.0, 2.0]
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Any, path: str | Path | None, *, dpi: int = 120) -> Any:
    """Save ``fig`` to ``path`` (parent folders created) if a path is given; return ``fig``.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "figs" / "line.png"
    >>> fig = new_figure(figsize=(2.0, 2.0))
    >>> save_figure(fig, out) is fig, out.read_bytes()[:4] == b"\\x89PNG"
    (True, True)
    """
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    return fig


def to_numpy(x: Any, name: str, *, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """Convert an array-like to a float numpy array, checking its rank."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected an array-like of numbers, got "
                        f"{type(x).__name__} ({err})") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name}: expected an array of rank {want}, got rank {arr.ndim} "
                             f"with shape {arr.shape}")
    return arr


def check_length(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> None:
    """Raise unless ``a`` and ``b`` have the same length along axis 0."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} must have the same length along axis 0, "
                         f"got {a.shape[0]} and {b.shape[0]}")
