"""Shared helpers for the per-example losses (private)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import check_same_shape as _check_same_shape
from jaxphys._checks import as_array, is_concrete


def as_float(x: Any, name: str) -> jax.Array:
    """``x`` as a floating-point JAX array (integers and bools are promoted)."""
    arr = as_array(x, name)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return arr


def check_scalar_or_same_shape(a: jax.Array, name_a: str, b: jax.Array, name_b: str) -> None:
    """``b`` is either a scalar (shared by every component) or has ``a``'s shape."""
    if b.ndim != 0 and tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{name_b}: expected a scalar or shape {tuple(a.shape)} (the shape of "
                         f"{name_a}), got {tuple(b.shape)}")


def check_in_unit_interval(x: jax.Array, name: str) -> None:
    """Raise unless every entry of a concrete array lies in [0, 1] (skipped for tracers)."""
    if not is_concrete(x):
        return
    import numpy as np

    arr = np.asarray(x)
    if not np.all((arr >= 0) & (arr <= 1)):
        raise ValueError(f"{name}: every value must lie in [0, 1], got range "
                         f"[{np.min(arr)!r}, {np.max(arr)!r}]")


def check_same_shape(a, name_a, b, name_b):
    """Per-example losses never broadcast: ``b`` must have exactly ``a``'s shape."""
    _check_same_shape(a, name_a, b, name_b, why="per-example losses do not broadcast")
