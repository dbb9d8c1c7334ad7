r"""CART decision trees, fixed-shape and array-encoded, fitted in JAX.

Every feature is binned once at ``n_bins - 1`` quantile thresholds (midpoints
between neighbouring sorted values); the tree then grows level by level
(:mod:`jaxphys.classical._grow`): each level builds the class-weight (or moment)
histograms of its nodes over (candidate feature, bin) and each node takes the
split of largest impurity decrease

.. math:: \Delta = N_t\,I(t) - N_L\,I(L) - N_R\,I(R),

subject to ``min_samples_leaf`` (:mod:`jaxphys.classical._split`). A node with no
valid split of positive :math:`\Delta` (or at depth ``D``) is a leaf. Sample weights
(bootstrap counts in forests, AdaBoost's weights) multiply every statistic.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, check_positive, \
    check_same_length, check_shape
from jaxphys.classical._common import as_features
from jaxphys.classical._grow import TreeParams, grow_tree

__all__ = ["TreeParams", "tree_fit", "tree_predict", "tree_predict_proba", "CRITERIA"]

CRITERIA = ("gini", "entropy", "misclassification", "mse")


def _tree_targets(labels, criterion):
    """``grow_tree``'s targets: the labels, or the moments ``(1, y)`` for ``"mse"``."""
    if criterion == "mse":
        return jnp.stack([jnp.ones_like(labels), labels], axis=1), "moments"
    return labels, criterion


@partial(jax.jit, static_argnames=("max_depth", "criterion", "n_classes"))
def _tree_fit(xb, thresholds, labels, weight, min_leaf, max_depth, criterion, n_classes):
    targets, kind = _tree_targets(labels, criterion)
    return grow_tree(xb, thresholds, targets, weight, criterion=kind, max_depth=max_depth,
                     min_leaf=min_leaf, n_classes=n_classes)


def quantile_thresholds(x: Any, n_bins: int) -> np.ndarray:
    """``(d, n_bins - 1)`` candidate thresholds per feature (NumPy, on the host): the
    midpoints between the sorted values at positions ``floor(b (n - 1) / n_bins)`` and
    the next, ``b = 1..n_bins-1`` (sorted, may repeat)."""
    xs = np.sort(np.asarray(x), axis=0)
    n = xs.shape[0]
    lo = (np.arange(1, n_bins) * (n - 1)) // n_bins
    nxt = np.minimum(lo + 1, n - 1)
    return np.ascontiguousarray((0.5 * (xs[lo] + xs[nxt])).T)


@partial(jax.jit, static_argnames=("n_bins",))
def _quantile_bins(x, thresholds, n_bins):
    """Bins ``(n, d)`` (the number of thresholds below each value) and which bins hold
    rows ``(d, n_bins)``."""
    xb = jax.vmap(lambda t, col: jnp.searchsorted(t, col, side="left"),
                  in_axes=(0, 1), out_axes=1)(thresholds, x).astype(jnp.int32)
    d = x.shape[1]
    occupied = jnp.zeros(d * n_bins, bool).at[
        (xb + n_bins * jnp.arange(d, dtype=jnp.int32)[None, :]).reshape(-1)].set(True)
    return xb, occupied.reshape(d, n_bins)


@jax.jit
def _renumber(xb, rank):
    return jnp.take_along_axis(rank.T, xb, axis=0)


def _bin(x: jax.Array, n_bins: int):
    """Bins ``(n, d)`` int32 and thresholds ``(d, B'-1)`` of the training rows ``x``.

    Every feature is cut at its ``n_bins - 1`` quantile thresholds (a row's bin is
    the number of thresholds below it); then only the bins that hold rows are kept,
    renumbered in order, with the threshold of each kept bin but the last (a split
    between two kept bins is the same partition of the rows for every threshold
    between them, and the search takes the lowest). ``B'`` is the most kept bins of a
    feature (at least 2): the split search costs in proportion to it, and features
    of few distinct values (pixels, counts, categories) need far fewer than
    ``n_bins``. The bin count is read on the host (it becomes a static shape)."""
    th = quantile_thresholds(x, n_bins)                   # NumPy sorts far faster than XLA
    xb, occupied = _quantile_bins(x, jnp.asarray(th), n_bins)
    occ = np.asarray(occupied)
    kept = occ.sum(axis=1)
    width = max(int(kept.max()), 2)
    rank = np.cumsum(occ, axis=1) - 1                                      # (d, n_bins)
    new_th = np.repeat(th[:, -1:], width - 1, axis=1)     # padding: never a valid split
    f_idx, b_idx = np.nonzero(occ & (rank < (kept - 1)[:, None]))
    new_th[f_idx, rank[f_idx, b_idx]] = th[f_idx, b_idx]
    return _renumber(xb, jnp.asarray(rank, jnp.int32)), jnp.asarray(new_th, x.dtype)


def tree_fit(key: Any, X: Any, y: Any, *, max_depth: int = 5, min_samples_leaf: int = 1,
             criterion: str = "gini", n_bins: int = 64,
             n_classes: int | None = None, sample_weight: Any = None) -> TreeParams:
    r"""Fit a CART decision tree (classification or regression) in JAX.

    Impurities of a node with class fractions :math:`p_c` (or targets :math:`y`):
    Gini :math:`1-\sum_c p_c^2`; entropy :math:`-\sum_c p_c\log_2 p_c`;
    misclassification :math:`1-\max_c p_c`; MSE :math:`\overline{y^2}-\bar y^2`.
    Each node takes the (feature, threshold) of largest impurity decrease
    :math:`N_tI(t)-N_LI(L)-N_RI(R)` among the ``n_bins - 1`` quantile thresholds of
    every feature (midpoints between neighbouring sorted values), both children
    holding at least ``min_samples_leaf`` samples. Feature importances are the
    summed decreases per feature, normalised (as scikit-learn's). The levels run
    at their exact widths in one jitted call; the histograms of the deepest level
    hold :math:`2^{D-1} d\,B\,C` numbers, which bounds the depth by memory.

    Args:
        key: unused (deterministic; kept for the uniform API); may be ``None``.
        X: ``(n, d)`` finite features.
        y: ``(n,)`` integer class labels in ``0..C-1`` (classification) or float
            targets (``criterion="mse"``).
        max_depth: ``D >= 1`` (static; the tree has ``2^(D+1) - 1`` node slots).
        min_samples_leaf: ≥ 1.
        criterion: ``"gini"``, ``"entropy"``, ``"misclassification"`` or ``"mse"``.
        n_bins: thresholds per feature + 1 (static), ≥ 2.
        n_classes: ``C``; default ``max(y) + 1``.
        sample_weight: optional ``(n,)`` finite weights ``>= 0`` (default: all 1). Every
            node statistic (class counts, or :math:`\sum w, \sum wy`) is weighted, so
            the impurities, the leaf values and ``n_samples`` are weighted, and
            ``min_samples_leaf`` bounds the *weight* of each child. Integer weights act
            like repeated rows (a bootstrap resample).

    Returns:
        :class:`TreeParams`.

    >>> x = jnp.array([[0.], [1.], [2.], [3.]])
    >>> t = tree_fit(None, x, jnp.array([0, 0, 1, 1]), max_depth=1)
    >>> float(t.threshold[0]), tree_predict(t, x).tolist()
    (1.5, [0, 0, 1, 1])
    """
    if key is not None:
        check_key(key)
    depth = as_int(max_depth, "max_depth", minimum=1)
    min_leaf = as_int(min_samples_leaf, "min_samples_leaf", minimum=1)
    x, xb, labels, thresholds, c = _prepare(X, y, criterion, n_bins, n_classes)
    weight = jnp.ones(x.shape[0], x.dtype) if sample_weight is None else \
        _check_weights(sample_weight, x)
    return _tree_fit(xb, thresholds, labels, weight, jnp.asarray(min_leaf, x.dtype), depth,
                     criterion, c)


def _check_weights(sample_weight: Any, x: jax.Array) -> jax.Array:
    """``sample_weight`` as a finite, non-negative ``(n,)`` array of ``x``'s dtype."""
    w = as_array(sample_weight, "sample_weight", ndim=1).astype(x.dtype)
    check_same_length("X", x, "sample_weight", w)
    check_finite(w, "sample_weight")
    check_positive(w, "sample_weight", strict=False)
    return w


def _prepare(X: Any, y: Any, criterion: str, n_bins: int, n_classes: int | None):
    """Checked features, their bins, the labels (int32, or ``x``'s float dtype for
    ``"mse"``), the thresholds and the number of classes (0 for ``"mse"``).

    The label checks run in NumPy and the binning in one jitted function."""
    x = as_features(X, "X")
    check_in(criterion, "criterion", CRITERIA)
    bins = as_int(n_bins, "n_bins", minimum=2)
    yy = as_array(y, "y", ndim=1)
    check_same_length("X", x, "y", yy)
    yn = np.asarray(yy)
    if criterion == "mse":
        check_finite(yn.astype(np.dtype(x.dtype)), "y")
        c = 0
        labels = jnp.asarray(yn, x.dtype)
    else:
        if not np.issubdtype(yn.dtype, np.integer):
            if not np.all(yn == np.round(yn)):
                raise ValueError("y: classification labels must be integers 0..C-1")
            yn = yn.astype(np.int32)
        if yn.min() < 0:
            raise ValueError(f"y: class labels must be >= 0, got {int(yn.min())}")
        c = int(yn.max()) + 1 if n_classes is None else as_int(n_classes, "n_classes",
                                                               minimum=1)
        if int(yn.max()) >= c:
            raise ValueError(f"y: labels must be < n_classes = {c}, got {int(yn.max())}")
        labels = jnp.asarray(yn, jnp.int32)
    xb, thresholds = _bin(x, bins)
    return x, xb, labels, thresholds, c


@jax.jit
def _leaf_index(params, x):
    depth = int(np.log2(params.feature.shape[0] + 1)) - 1

    def descend(row):
        def step(_, node):
            go_right = row[params.feature[node]] > params.threshold[node]
            child = 2 * node + 1 + go_right.astype(jnp.int32)
            return jnp.where(params.is_leaf[node], node, child)

        return jax.lax.fori_loop(0, depth, step, jnp.asarray(0, jnp.int32))

    return jax.vmap(descend)(x)


def _check_x(params, X):
    x = as_features(X, "X")
    check_shape(x, "X", (None, params.feature_importances.shape[0]))
    return x.astype(params.threshold.dtype)


def tree_predict_proba(params: TreeParams, X: Any) -> jax.Array:
    r"""Class probabilities ``(m, C)`` of the leaf each row falls in (its training
    class fractions); for a regression tree, ``(m, 1)`` leaf means.

    >>> t = tree_fit(None, jnp.array([[0.], [1.], [2.]]), jnp.array([0, 1, 1]), max_depth=1)
    >>> tree_predict_proba(t, jnp.array([[0.2], [5.0]])).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    x = _check_x(params, X)
    return params.value[_leaf_index(params, x)]


def tree_predict(params: TreeParams, X: Any) -> jax.Array:
    r"""Predictions ``(m,)``: the majority class (int32) of the leaf, or its mean target
    for a regression tree.

    >>> t = tree_fit(None, jnp.array([[0.], [1.], [2.], [3.]]), jnp.array([1., 1., 3., 3.]),
    ...              max_depth=2, criterion="mse")
    >>> tree_predict(t, jnp.array([[0.5], [2.5]])).tolist()
    [1.0, 3.0]
    """
    out = tree_predict_proba(params, X)
    if bool(params.regression):
        return out[:, 0]
    return jnp.argmax(out, axis=1).astype(jnp.int32)
