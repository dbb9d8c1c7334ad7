"""Index splits: train/validation/test (optionally stratified) and shuffled k-fold.

These helpers return **indices** (int32 arrays) into a data set of ``n``
examples, so the same split applies to every array of a pytree. They run on
the host (the sizes are data-dependent Python ints); the randomness comes from
an explicit JAX key.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import check_key

from jaxphys._checks import as_int


class Split(NamedTuple):
    """Disjoint index sets that together cover ``range(n)``.

    Fields (int32 arrays, each in random order):
        train: shape ``(n_train,)``.
        val: shape ``(n_val,)``.
        test: shape ``(n_test,)``.

    Example:
        >>> from jaxphys.data import train_val_test_split
        >>> split = train_val_test_split(jax.random.key(0), 10, (0.8, 0.1, 0.1))
        >>> split.train.shape, split.val.shape, split.test.shape, str(split.train.dtype)
        ((8,), (1,), (1,), 'int32')
        >>> set(split.train.tolist()).isdisjoint(split.val.tolist() + split.test.tolist())
        True
    """

    train: jax.Array
    val: jax.Array
    test: jax.Array


class Fold(NamedTuple):
    """One fold of k-fold cross-validation (a 2-tuple: ``train, val = fold``).

    Fields (int32 arrays):
        train: indices of the k-1 training folds, shape ``(n - n_val,)``.
        val: indices of the held-out fold, shape ``(n_val,)``.

    Example:
        >>> from jaxphys.data import kfold_indices
        >>> train, val = kfold_indices(jax.random.key(0), 10, 3)[0]     # a Fold unpacks
        >>> len(train), len(val), sorted(train.tolist() + val.tolist()) == list(range(10))
        (6, 4, True)
    """

    train: jax.Array
    val: jax.Array


def _stride_select(m: int, f: float) -> np.ndarray:
    """Boolean mask selecting round(m f) of m positions, spread evenly along the sequence.

    Position j is selected when ``floor((j+1) f + 1/2) - floor(j f + 1/2) = 1``, so any
    run of consecutive positions of length r has ``floor(r f)`` or ``ceil(r f)`` selected.
    """
    j = np.arange(m, dtype=np.float64)
    return (np.floor((j + 1) * f + 0.5) - np.floor(j * f + 0.5)) == 1


def _val_share(fractions: Sequence[float]) -> float:
    rest = fractions[1] + fractions[2]
    return fractions[1] / rest if rest > 0 else 0.0


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    r"""Integer part sizes (train, val, test) summing to ``n``, as used by the splits.

    Train gets :math:`\lfloor n f_0 + 1/2\rfloor` (rounded half up), validation
    the same rounding of its share :math:`f_1/(f_1+f_2)` of the rest, test what
    is left; each size is within one example of ``f * n``.

    Example:
        >>> split_sizes(10, (0.6, 0.2, 0.2)), split_sizes(7, (0.6, 0.2, 0.2))
        ([6, 2, 2], [4, 2, 1])
    """
    n = as_int(n, "n", minimum=1)
    fractions = _check_fractions(fractions)
    n_train = int(_stride_select(n, fractions[0]).sum())
    n_val = int(_stride_select(n - n_train, _val_share(fractions)).sum())
    return [n_train, n_val, n - n_train - n_val]


def _check_fractions(fractions: Any) -> tuple[float, float, float]:
    try:
        fr = np.asarray(fractions, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"fractions: expected three numbers, got {fractions!r}") from None
    if fr.shape != (3,):
        raise ValueError(f"fractions: expected three numbers (train, val, test), got shape "
                         f"{fr.shape}")
    if not np.all(np.isfinite(fr)) or np.any(fr < 0):
        raise ValueError(f"fractions: expected finite non-negative values, got {fr.tolist()}")
    if abs(fr.sum() - 1.0) > 1e-6:
        raise ValueError(f"fractions: must sum to 1, got {fr.tolist()} (sum {fr.sum()!r})")
    if fr[0] == 0:
        raise ValueError("fractions: the training fraction must be > 0")
    return float(fr[0]), float(fr[1]), float(fr[2])


def train_val_test_split(key: jax.Array, n: int, fractions: Sequence[float] = (0.6, 0.2, 0.2),
                         stratify: Any = None) -> Split:
    r"""Shuffle ``range(n)`` with ``key`` and cut it into train, validation and test indices.

    Part sizes are :math:`f_k n` rounded so that they sum to n (see
    :func:`split_sizes`); they are the same with or without stratification.

    With ``stratify`` (class labels of shape ``(n,)``) the shuffled indices are
    grouped by class and the parts are drawn at an even stride along that
    sequence, so every part keeps the class proportions of the whole set: a
    class of :math:`m_c` examples contributes :math:`f_k m_c` to part k to
    within two examples (one for train). Within each class the choice is
    random, and each part is returned in random order.

    Args:
        key: a JAX PRNG key.
        n: number of examples, >= 1.
        fractions: (train, val, test), non-negative, summing to 1; the train
            fraction must be > 0. Val or test may be 0 (an empty part).
        stratify: optional labels of shape ``(n,)`` (any hashable values).

    Returns:
        :class:`Split` of int32 index arrays, disjoint, covering ``range(n)``.

    Example:
        >>> split = train_val_test_split(jax.random.key(0), 10)
        >>> [len(part) for part in split]
        [6, 2, 2]
        >>> sorted(jnp.concatenate(split).tolist()) == list(range(10))
        True
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    fr = _check_fractions(fractions)
    if stratify is not None:
        labels = np.asarray(stratify)
        if labels.ndim != 1:
            raise ValueError(f"stratify: expected labels of rank 1, shape ({n},), got shape "
                             f"{labels.shape}")
        if labels.shape[0] != n:
            raise ValueError(f"stratify: expected shape ({n},) (one label per example), got "
                             f"{labels.shape}")
    perm = np.asarray(jax.random.permutation(key, n))
    if stratify is None:
        ordered = perm
    else:
        # Group the shuffled indices by class (a stable sort keeps the random
        # order within each class); the even stride below then gives every
        # class, a contiguous run, its share of each part.
        ordered = perm[np.argsort(labels[perm], kind="stable")]
    is_train = _stride_select(n, fr[0])
    rest = ordered[~is_train]
    is_val = _stride_select(rest.shape[0], _val_share(fr))
    parts = (ordered[is_train], rest[is_val], rest[~is_val])
    if stratify is not None:
        # Undo the grouping by class: order each part by position in the
        # permutation, which is random.
        position = np.empty(n, dtype=np.int64)
        position[perm] = np.arange(n)
        parts = tuple(p[np.argsort(position[p], kind="stable")] for p in parts)
    return Split(*(jnp.asarray(p, dtype=jnp.int32) for p in parts))


def kfold_indices(key: jax.Array, n: int, k: int) -> list[Fold]:
    r"""Shuffled k-fold cross-validation indices.

    ``range(n)`` is shuffled with ``key`` and cut into k folds whose sizes
    differ by at most one (the first ``n mod k`` folds get one more). Fold i is
    the validation set of the i-th pair and the other k-1 folds its training
    set, so the validation sets partition ``range(n)``.

    Args:
        key: a JAX PRNG key.
        n: number of examples, >= 2.
        k: number of folds, 2 <= k <= n.

    Returns:
        A list of k :class:`Fold` ``(train, val)`` pairs of int32 index arrays.

    Example:
        >>> folds = kfold_indices(jax.random.key(0), 10, 3)
        >>> [(len(f.train), len(f.val)) for f in folds]
        [(6, 4), (7, 3), (7, 3)]
    """
    check_key(key)
    n = as_int(n, "n", minimum=2)
    k = as_int(k, "k")
    if not 2 <= k <= n:
        raise ValueError(f"k: expected 2 <= k <= n = {n}, got {k}")
    perm = np.asarray(jax.random.permutation(key, n))
    folds = np.array_split(perm, k)
    out = []
    for i, val in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != i])
        out.append(Fold(train=jnp.asarray(train, jnp.int32), val=jnp.asarray(val, jnp.int32)))
    return out
