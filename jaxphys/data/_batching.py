"""Host-side minibatch iteration over a pytree of arrays."""

from __future__ import annotations

from typing import Any, Iterator

import jax
import numpy as np

from jaxphys._checks import check_key

from jaxphys._checks import as_int


def leading_size(data: Any, name: str = "data") -> int:
    """The common leading-axis length N of every leaf of a pytree (checked).

    Example:
        >>> leading_size({"x": np.zeros((5, 2)), "y": np.zeros(5)})
        5
    """
    leaves_with_path = jax.tree_util.tree_leaves_with_path(data)
    if not leaves_with_path:
        raise ValueError(f"{name}: expected a pytree with at least one array, got {data!r}")
    sizes = {}
    for path, leaf in leaves_with_path:
        shape = np.shape(leaf)
        where = jax.tree_util.keystr(path) or "<root>"
        if len(shape) == 0:
            raise ValueError(f"{name}: every leaf needs a leading example axis, leaf {where} "
                             f"is a scalar")
        sizes[where] = shape[0]
    if len(set(sizes.values())) != 1:
        detail = ", ".join(f"{w}: {s}" for w, s in sizes.items())
        raise ValueError(f"{name}: every leaf must share the leading axis size N, got {detail}")
    return next(iter(sizes.values()))


def minibatches(key: jax.Array | None, data: Any, batch_size: int, *,
                drop_last: bool = False) -> Iterator[Any]:
    r"""Iterate over one epoch of shuffled minibatches of a pytree of arrays.

    ``data`` is any pytree (dict, tuple, NamedTuple …) whose leaves share the
    leading axis N. The example indices are shuffled with ``key`` and cut into
    :math:`\lceil N/B\rceil` batches of ``batch_size`` B (the last one smaller
    unless ``drop_last``, which yields :math:`\lfloor N/B\rfloor` full
    batches). Each batch has the structure of ``data`` with leading axis B;
    leaves keep their array type (NumPy leaves give NumPy batches). This is a
    host-side Python iterator: call it again with a fresh key each epoch.

    Args:
        key: a JAX PRNG key, or None for the original order (evaluation).
        data: pytree of arrays with a common leading axis N >= 1.
        batch_size: B >= 1. With ``drop_last`` B may not exceed N.
        drop_last: drop the final incomplete batch (fixed shapes, no recompiles).

    Yields:
        Pytrees like ``data`` with leading axis B (or the remainder).

    Example:
        >>> data = {"x": np.arange(10.0).reshape(5, 2), "y": np.arange(5)}
        >>> [b["y"].shape for b in minibatches(jax.random.key(0), data, 2)]
        [(2,), (2,), (1,)]
        >>> [b["y"].tolist() for b in minibatches(None, data, 2, drop_last=True)]
        [[0, 1], [2, 3]]
    """
    if key is not None:
        check_key(key)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    n = leading_size(data, "data")
    if n == 0:
        raise ValueError("data: expected at least one example, got N = 0")
    if drop_last and batch_size > n:
        raise ValueError(f"batch_size: {batch_size} exceeds the N = {n} examples, so "
                         "drop_last=True would yield no batch")
    order = np.arange(n) if key is None else np.asarray(jax.random.permutation(key, n))
    return _iterate(data, order, batch_size, drop_last)


def _iterate(data: Any, order: np.ndarray, batch_size: int, drop_last: bool) -> Iterator[Any]:
    n = order.shape[0]
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield jax.tree.map(lambda leaf, idx=idx: leaf[idx], data)
