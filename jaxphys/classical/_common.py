"""Argument checks shared by the classical methods (private)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, check_finite

__all__ = ["as_features", "float_dtype"]


def float_dtype(x: jax.Array):
    """The floating dtype to compute in: ``x``'s own if floating, else the default float."""
    if jnp.issubdtype(x.dtype, jnp.floating):
        return x.dtype
    return jnp.result_type(float)


def as_features(x: Any, name: str = "X", *, min_samples: int = 1) -> jax.Array:
    """``x`` as a finite floating ``(n, d)`` feature matrix with ``n >= min_samples``.

    Raises a ``ValueError`` naming ``name`` for a wrong rank, too few rows or
    NaN/infinite entries (checked on concrete arrays only).
    """
    arr = as_array(x, name, ndim=2)
    arr = arr.astype(float_dtype(arr))
    if arr.shape[0] < min_samples:
        raise ValueError(f"{name}: expected at least {min_samples} samples (rows), "
                         f"got shape {tuple(arr.shape)}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name}: expected at least one feature (column), "
                         f"got shape {tuple(arr.shape)}")
    check_finite(arr, name)
    return arr
