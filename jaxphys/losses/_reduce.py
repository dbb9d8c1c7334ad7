"""Combine per-example losses into one number."""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import check_finite, check_in, check_positive, is_concrete

from ._common import as_float, check_same_shape

_REDUCTIONS = ("mean", "sum", "none")


def reduce(values: Any, reduction: str = "mean", weights: Any = None) -> jax.Array:
    r"""Reduce per-example losses, optionally weighted.

    With per-example values :math:`\ell_i` and weights :math:`w_i \ge 0`
    (all 1 when ``weights`` is None):

    * ``'mean'``: :math:`\sum_i w_i\ell_i / \sum_i w_i` (the plain mean without weights);
    * ``'sum'``:  :math:`\sum_i w_i\ell_i`;
    * ``'none'``: the array :math:`w_i\ell_i`, same shape as ``values``.

    Args:
        values: per-example losses, any shape (usually ``(n,)`` from ``vmap``);
            the reduction runs over all entries.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        weights: optional non-negative weights, same shape as ``values`` exactly.
            With ``'mean'`` and all weights zero the result is NaN (0/0).

    Returns:
        Scalar for ``'mean'``/``'sum'``, ``values``' shape for ``'none'``.

    Example:
        >>> pred, target = jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0])
        >>> per_example = jax.vmap(lambda p, t: (p - t) ** 2)(pred, target)
        >>> float(reduce(per_example)), float(reduce(per_example, "sum"))
        (2.5, 5.0)
        >>> float(reduce(per_example, weights=jnp.array([3., 1.])))
        1.75
    """
    check_in(reduction, "reduction", _REDUCTIONS)
    values = as_float(values, "values")
    if weights is None:
        if reduction == "mean":
            return jnp.mean(values)
        if reduction == "sum":
            return jnp.sum(values)
        return values
    weights = as_float(weights, "weights")
    check_same_shape(values, "values", weights, "weights")
    if is_concrete(weights):
        check_finite(weights, "weights")
        check_positive(weights, "weights", strict=False)
    return _weighted(values, weights, reduction)


@partial(jax.jit, static_argnums=2)
def _weighted(values, weights, reduction):
    weighted = weights * values
    if reduction == "mean":
        return jnp.sum(weighted) / jnp.sum(weights)
    if reduction == "sum":
        return jnp.sum(weighted)
    return weighted
