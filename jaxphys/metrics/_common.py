"""Input checks shared by the metrics (private)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_finite, check_same_shape, is_concrete  # noqa: F401


def labels_1d(x: Any, name: str) -> jax.Array:
    """A rank-1 array of labels (finite) with at least one entry."""
    arr = as_array(x, name, ndim=1)
    if arr.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one example, got shape (0,)")
    check_finite(arr, name)
    return arr


def check_binary(x: jax.Array, name: str) -> None:
    """Raise unless every entry of a concrete array is 0 or 1 (skipped for tracers)."""
    if not is_concrete(x):
        return
    arr = np.asarray(x)
    bad = ~((arr == 0) | (arr == 1))
    if np.any(bad):
        raise ValueError(f"{name}: expected binary labels 0/1 (positive class 1), got "
                         f"value {arr[bad][0]!r}")


def check_class_range(x: jax.Array, name: str, n_classes: int) -> None:
    """Raise unless every entry of a concrete array is an integer in [0, n_classes)."""
    if not is_concrete(x):
        return
    arr = np.asarray(x)
    bad = (arr < 0) | (arr >= n_classes) | (arr != np.round(arr))
    if np.any(bad):
        raise ValueError(f"{name}: expected integer class labels in [0, {n_classes}), got "
                         f"value {arr[bad][0]!r}")


def float_dtype() -> Any:
    """The default floating dtype (float32, or float64 under x64)."""
    return jnp.result_type(float)


def sample_weights(sample_weight: Any, n: int, dtype: Any = None) -> jax.Array | None:
    """Checked per-example weights ``(n,)``: finite, >= 0, not all zero; None stays None."""
    if sample_weight is None:
        return None
    w = as_array(sample_weight, "sample_weight", ndim=1)
    if w.shape != (n,):
        raise ValueError(f"sample_weight: expected shape ({n},), one weight per example, got "
                         f"{tuple(w.shape)}")
    if not jnp.issubdtype(w.dtype, jnp.inexact):
        w = w.astype(float_dtype() if dtype is None else dtype)
    if is_concrete(w):
        arr = np.asarray(w)
        if not np.all(np.isfinite(arr)):
            raise ValueError("sample_weight: expected finite weights, found NaN or inf")
        if np.any(arr < 0):
            raise ValueError(f"sample_weight: expected non-negative weights, got minimum "
                             f"{arr.min()!r}")
        if not np.sum(arr) > 0:
            raise ValueError("sample_weight: all weights are zero")
    return w
