"""Reader for IDX files: MNIST and Fashion-MNIST from a local folder.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a 4-byte
magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian uint32
dimension sizes, then the data in row-major order, big-endian. Type codes:
``0x08`` uint8, ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32,
``0x0E`` float64. Files may be gzip-compressed (``.gz``; detected from the
content, whatever the name).

MNIST and Fashion-MNIST ship as four files each: ``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte`` (optionally ``.gz``; the dot spelling
``train-images.idx3-ubyte`` is accepted too). Nothing is downloaded.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import jax.numpy as jnp
import numpy as np

from ._synthetic import Dataset

_DTYPES = {0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"path: no IDX file at {str(path)!r}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise ValueError(f"path: {str(path)!r} is a damaged or truncated gzip file "
                             f"({err})") from None
    return raw


def load_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a numpy array.

    Args:
        path: the file.

    Returns:
        an array of the file's shape and element type (native byte order), e.g.
        uint8 (60000, 28, 28) for MNIST training images, uint8 (60000,) for labels.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a bad magic number (not an IDX file, or an unknown type code),
            or a file shorter (truncated) or longer than its header announces.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "a-idx1-ubyte")
        >>> with open(p, "wb") as f:
        ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
        >>> load_idx(p).tolist()
        [7, 8, 9]
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"path: {str(path)!r} is too short for an IDX header "
                         f"({len(raw)} bytes; truncated?)")
    zero, code, ndim = raw[0:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _DTYPES or ndim == 0:
        raise ValueError(f"path: {str(path)!r} has a bad IDX magic number "
                         f"0x{raw[:4].hex()} (expected 0x0000TTNN with type TT in "
                         f"{', '.join(f'{c:02x}' for c in _DTYPES)} and NN >= 1 dimensions)")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"path: {str(path)!r} is truncated: header needs {header} bytes, "
                         f"file has {len(raw)}")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise ValueError(f"path: {str(path)!r} is truncated: shape {shape} of {dtype.name} "
                         f"needs {expected} data bytes, file has {got}")
    if got > expected:
        raise ValueError(f"path: {str(path)!r} has {got - expected} bytes after the data "
                         f"announced by its header (shape {shape}); not an IDX file?")
    data = np.frombuffer(raw, dtype, count=int(np.prod(shape)), offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def _find(directory: Path, prefix: str, kind: str) -> Path:
    stems = [f"{prefix}-{kind}-idx{3 if kind == 'images' else 1}-ubyte",
             f"{prefix}-{kind}.idx{3 if kind == 'images' else 1}-ubyte"]
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                return directory / name
    raise FileNotFoundError(f"directory: no {stems[0]}[.gz] in {str(directory)!r}")


def load_mnist(directory: str | Path, split: str = "train", scaled: bool = True) -> Dataset:
    """MNIST or Fashion-MNIST from the four standard IDX files in ``directory``.

    Args:
        directory: folder holding ``{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]``.
        split: ``'train'`` (60 000 images) or ``'test'`` (the ``t10k`` files, 10 000).
        scaled: float32 pixels in [0, 1] (default) or raw 0..255 as float32.

    Returns:
        :class:`Dataset` with ``x`` float32 (n, 28, 28), ``y`` int32 (n,), ``truth = {}``.

    Raises:
        ValueError: unknown split; image and label counts differ; bad files (see
            :func:`load_idx`).
        FileNotFoundError: a file is missing.

    Example:
        Two 2x2 "images" and their labels, written by hand in the IDX format.

        >>> import os, tempfile
        >>> from jaxphys.data import load_mnist
        >>> d = tempfile.mkdtemp()
        >>> with open(os.path.join(d, "t10k-images-idx3-ubyte"), "wb") as f:
        ...     _ = f.write(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2,  # header
        ...                        0, 255, 51, 102, 255, 255, 0, 0]))             # pixels
        >>> with open(os.path.join(d, "t10k-labels-idx1-ubyte"), "wb") as f:
        ...     _ = f.write(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 3]))
        >>> ds = load_mnist(d, split="test")
        >>> ds.x.shape, ds.y.tolist(), ds.x[0].tolist()                 # pixels / 255
        ((2, 2, 2), [7, 3], [[0.0, 1.0], [0.2, 0.4]])
    """
    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"directory: {str(directory)!r} is not a folder")
    prefix = "train" if split == "train" else "t10k"
    images = load_idx(_find(directory, prefix, "images"))
    labels = load_idx(_find(directory, prefix, "labels"))
    if images.ndim != 3:
        raise ValueError(f"directory: images file must hold (n, rows, cols), got shape "
                         f"{images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"directory: {images.shape[0]} images but labels of shape "
                         f"{labels.shape}")
    x = images.astype(np.float32)
    if scaled:
        x = x / np.float32(255.0)
    return Dataset(x=jnp.asarray(x), y=jnp.asarray(labels.astype(np.int32)), truth={})
