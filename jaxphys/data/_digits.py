"""The 8×8 handwritten digits, shipped inside the package (no network access).

Origin: the test set of the UCI ML "Optical Recognition of Handwritten Digits"
data set (E. Alpaydin and C. Kaynak, 1998;
https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits),
licensed under Creative Commons Attribution 4.0 (CC BY 4.0). The file
``digits.npz`` was written once from scikit-learn's bundled copy
(``sklearn.datasets.load_digits()``), same order, as ``images`` uint8
(1797, 8, 8) and ``labels`` uint8 (1797,), compressed (≈ 45 kB).

Each image is a 32×32 bitmap of a digit written by one of 43 people, divided
into non-overlapping 4×4 blocks whose "on" pixels are counted: integer values
0..16. There are 1797 images, 10 classes, 174–183 per class.
"""

from __future__ import annotations

from importlib import resources

import jax.numpy as jnp
import numpy as np

from ._synthetic import Dataset

N_DIGITS = 1797


def _load_npz() -> tuple[np.ndarray, np.ndarray]:
    ref = resources.files("jaxphys.data").joinpath("digits.npz")
    with ref.open("rb") as fh, np.load(fh) as npz:
        return np.asarray(npz["images"]), np.asarray(npz["labels"])


def load_digits(scaled: bool = True) -> Dataset:
    """The 8×8 handwritten digits (1797 images, classes 0–9).

    Args:
        scaled: ``True`` (default): pixels divided by 16, float32 in [0, 1];
            ``False``: the raw counts 0..16 as float32.

    Returns:
        :class:`Dataset` with ``x`` float32 of shape (1797, 8, 8) (row-major images,
        row 0 at the top), ``y`` int32 of shape (1797,) (the digit) and
        ``truth = {}`` (real data: no generating truth). Add a channel axis,
        ``x[..., None]``, for the channels-last convolutional layers, or reshape to
        (1797, 64) for an MLP.

    Example:
        >>> ds = load_digits()
        >>> ds.x.shape, ds.y.shape, float(ds.x.max())
        ((1797, 8, 8), (1797,), 1.0)
        >>> int(ds.y[0]), int(ds.y[1])
        (0, 1)
    """
    images, labels = _load_npz()
    x = images.astype(np.float32)
    if scaled:
        x = x / np.float32(16.0)
    return Dataset(x=jnp.asarray(x), y=jnp.asarray(labels.astype(np.int32)), truth={})
