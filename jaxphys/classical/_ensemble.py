"""Pieces shared by the tree ensembles (AdaBoost, gradient boosting; private)."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, check_shape, is_concrete
from jaxphys.classical._common import as_features

__all__ = ["zeros_like_struct", "hyperparameter", "features_for", "stacked_leaf_values"]


def zeros_like_struct(fn, *args):
    """Zeros with the shapes and dtypes of ``fn(*args)`` (for a skipped ``lax.cond``
    branch)."""
    shapes = jax.eval_shape(fn, *args)
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def hyperparameter(value: Any, name: str, dtype, *, low: float | None = None,
                   high: float | None = None, strict_low: bool = True) -> jax.Array:
    """A scalar hyperparameter as an array; range checked when concrete (it may be traced
    under ``vmap``, e.g. by :func:`jaxphys.classical.grid_search`)."""
    arr = as_array(value, name, ndim=0)
    if is_concrete(arr):
        v = float(arr)
        if not math.isfinite(v):
            raise ValueError(f"{name}: expected a finite number, got {v}")
        if low is not None and (v <= low if strict_low else v < low):
            rel = ">" if strict_low else ">="
            raise ValueError(f"{name}: expected a value {rel} {low}, got {v}")
        if high is not None and v > high:
            raise ValueError(f"{name}: expected a value <= {high}, got {v}")
    return arr.astype(dtype)


def features_for(importances: jax.Array, threshold_dtype, X: Any) -> jax.Array:
    """``X`` checked as ``(m, d)`` features for an ensemble fitted on ``d`` features."""
    x = as_features(X, "X")
    check_shape(x, "X", (None, importances.shape[-1]))
    return x.astype(threshold_dtype)


def stacked_leaf_values(trees, x, leaf_index):
    """``(T, m, V)`` leaf values of ``m`` rows in ``T`` stacked trees."""
    leaves = jax.vmap(lambda t: leaf_index(t, x))(trees)                          # (T, m)
    return jnp.take_along_axis(trees.value, leaves[:, :, None], axis=1)
