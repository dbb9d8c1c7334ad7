r"""CART decision trees, fixed-shape and array-encoded, fitted in JAX.

A tree of depth at most ``D`` is a complete binary tree of
:math:`M = 2^{D+1}-1` nodes in heap order (children of node ``i`` are ``2i+1``
and ``2i+2``). Every feature is binned at ``n_bins - 1`` quantile thresholds; the
fit goes level by level: one scatter-add builds, for every node of the level, the
histogram of class counts (or of :math:`w, wy, wy^2` for regression) per feature
and bin, cumulative sums give the children's statistics for every candidate
threshold, and each node takes the split of largest impurity decrease

.. math:: \Delta = N_t\,I(t) - N_L\,I(L) - N_R\,I(R),

subject to ``min_samples_leaf``. A node with no valid split of positive
:math:`\Delta` (or at depth ``D``) is a leaf. Sample weights (bootstrap counts in
forests, AdaBoost's weights) multiply every statistic. With a random feature subset
per node (forests), the histograms are built for the node's candidate features only.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_positive, \
    check_same_length, check_shape
from jaxphys.classical._common import as_features

__all__ = ["TreeParams", "tree_fit", "tree_predict", "tree_predict_proba", "CRITERIA"]

CRITERIA = ("gini", "entropy", "misclassification", "mse")


class TreeParams(NamedTuple):
    """An array-encoded decision tree of ``M = 2^(max_depth+1) - 1`` heap-ordered nodes.

    Fields:
        feature: ``(M,)`` int32, the feature an internal node splits on (0 at leaves).
        threshold: ``(M,)`` float, go left when ``x[feature] <= threshold``.
        is_leaf: ``(M,)`` bool, True where the node does not split (unused nodes too).
        value: ``(M, C)`` class probabilities of the node's training samples
            (classification), or ``(M, 1)`` their mean target (regression).
        n_samples: ``(M,)`` training samples that reached the node.
        feature_importances: ``(d,)`` total impurity decrease per feature, normalised
            to sum 1 (all zero for a single-leaf tree).
        regression: ``()`` bool, True for a regression (``"mse"``) tree.
    """

    feature: jax.Array
    threshold: jax.Array
    is_leaf: jax.Array
    value: jax.Array
    n_samples: jax.Array
    feature_importances: jax.Array
    regression: jax.Array


def _impurity(stats, criterion):
    """Impurity of nodes from their statistics ``(..., S)``; returns ``(impurity, N)``."""
    if criterion == "mse":
        w, wy, wy2 = stats[..., 0], stats[..., 1], stats[..., 2]
        safe = jnp.where(w > 0, w, 1.0)
        mean = wy / safe
        return jnp.maximum(wy2 / safe - mean * mean, 0.0), w
    n = jnp.sum(stats, axis=-1)
    p = stats / jnp.where(n > 0, n, 1.0)[..., None]
    if criterion == "gini":
        imp = 1.0 - jnp.sum(p * p, axis=-1)
    elif criterion == "entropy":
        imp = -jnp.sum(jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0), axis=-1)
    else:
        imp = 1.0 - jnp.max(p, axis=-1)
    return imp, n


def _level_stats(node, active, targets, first, n_slots, dtype):
    """Per-slot statistics ``(n_slots, S)`` of the samples at slots ``first + j``."""
    local = node - first
    at_level = active & (local >= 0) & (local < n_slots)
    li = jnp.clip(local, 0, n_slots - 1)
    stats = jnp.zeros((n_slots, targets.shape[1]), dtype).at[li].add(
        targets * at_level[:, None].astype(dtype))
    return stats, li, at_level


def _tree_core(x, xb, targets, thresholds, min_leaf, max_depth, criterion,
               feature_scores=None, n_split_features=None, unroll=False):
    """The level-by-level fit (not jitted itself: :func:`_tree_fit` and the forests jit it).

    ``targets`` (n, S) are the per-sample statistics already multiplied by the sample
    weights; ``feature_scores`` (max_depth, slots, d) random scores: at each node only the
    ``n_split_features`` (a static Python int) features of lowest score are candidates
    (all when None), and the histograms are built for those features only.
    ``unroll``: a Python loop over levels with the exact width of each (faster to run,
    slower to compile) instead of one ``fori_loop`` body padded to the widest level."""
    n, d = x.shape
    n_stats = targets.shape[1]
    n_cut = thresholds.shape[1]                       # candidate thresholds per feature
    n_bins = n_cut + 1
    m = 2 ** (max_depth + 1) - 1
    max_slots = 2 ** (max_depth - 1)                  # widest level that may split
    row_weight = jnp.sum(targets, axis=1)             # classification: w_i · onehot(y_i)
    row_class = jnp.argmax(targets, axis=1)
    dtype = x.dtype
    subset = feature_scores is not None and n_split_features is not None \
        and int(n_split_features) < d
    n_feat = int(n_split_features) if subset else d

    def level_body(level, carry, slots=max_slots):
        j = jnp.arange(slots)
        feature, threshold, is_leaf, node_stats, importances, node, active = carry
        first = (1 << level) - 1
        width = 1 << level
        lvl_stats, li, at_level = _level_stats(node, active, targets, first, slots, dtype)
        in_level = j < width
        write = jnp.where(in_level, first + j, m)     # index m: dropped
        node_stats = node_stats.at[write].set(lvl_stats, mode="drop")
        if subset:
            # only the n_split_features candidate features of lowest score, per node (in
            # increasing feature order, so ties break as over all features)
            scores = feature_scores[level][:slots]                                 # (slots, d)
            chosen = jnp.sort(jnp.argsort(scores, axis=1)[:, :n_feat], axis=1)     # (slots, k)
            xb_c = jnp.take_along_axis(xb, chosen[li], axis=1)                     # (n, k)
        else:
            chosen = None
            xb_c = xb
        cols = jnp.arange(n_feat)
        hist = jnp.zeros((slots, n_feat, n_bins, n_stats), dtype)
        if criterion == "mse":
            w = at_level.astype(dtype)[:, None, None] * targets[:, None, :]        # (n, 1, S)
            hist = hist.at[li[:, None], cols[None, :], xb_c].add(
                jnp.broadcast_to(w, (n, n_feat, n_stats)))
        else:   # one scalar update per (sample, feature): weight into its class
            w = jnp.where(at_level, row_weight, 0.0)
            hist = hist.at[li[:, None], cols[None, :], xb_c, row_class[:, None]].add(
                jnp.broadcast_to(w[:, None], (n, n_feat)))
        left = jnp.cumsum(hist, axis=2)[:, :, :n_cut, :]                          # x <= t_b
        parent = lvl_stats[:, None, None, :]
        right = parent - left
        imp_p, n_p = _impurity(lvl_stats, criterion)
        imp_l, n_l = _impurity(left, criterion)
        imp_r, n_r = _impurity(right, criterion)
        gain = (n_p * imp_p)[:, None, None] - n_l * imp_l - n_r * imp_r
        valid = (n_l >= min_leaf) & (n_r >= min_leaf)
        gain = jnp.where(valid, gain, -jnp.inf).reshape(slots, n_feat * n_cut)
        best = jnp.argmax(gain, axis=1)
        best_gain = jnp.take_along_axis(gain, best[:, None], axis=1)[:, 0]
        scale = jnp.maximum(n_p * jnp.maximum(imp_p, 0.0), 1.0)
        split = (best_gain > 1e-7 * scale) & in_level
        best_c = (best // n_cut).astype(jnp.int32)
        best_f = best_c if chosen is None else jnp.take_along_axis(
            chosen, best_c[:, None], axis=1)[:, 0].astype(jnp.int32)
        best_b = (best % n_cut).astype(jnp.int32)
        feature = feature.at[write].set(jnp.where(split, best_f, 0), mode="drop")
        threshold = threshold.at[write].set(jnp.where(split, thresholds[best_f, best_b], 0.0),
                                            mode="drop")
        is_leaf = is_leaf.at[write].set(~split, mode="drop")
        importances = importances.at[best_f].add(jnp.where(split, best_gain, 0.0))
        s_split = at_level & split[li]
        go_right = xb[jnp.arange(n), best_f[li]] > best_b[li]
        node = jnp.where(s_split, 2 * node + 1 + go_right.astype(jnp.int32), node)
        return feature, threshold, is_leaf, node_stats, importances, node, s_split

    init = (jnp.zeros(m, jnp.int32), jnp.zeros(m, dtype), jnp.ones(m, bool),
            jnp.zeros((m, n_stats), dtype), jnp.zeros(d, dtype), jnp.zeros(n, jnp.int32),
            jnp.ones(n, bool))
    if unroll:
        carry = init
        for level in range(max_depth):
            carry = level_body(level, carry, 2 ** level)
    else:
        carry = jax.lax.fori_loop(0, max_depth, level_body, init)
    feature, threshold, is_leaf, node_stats, importances, node, active = carry
    # the deepest level: statistics only
    first = 2 ** max_depth - 1
    last_slots = 2 ** max_depth
    lvl_stats, _, _ = _level_stats(node, active, targets, first, last_slots, dtype)
    node_stats = node_stats.at[first:].set(lvl_stats)
    if criterion == "mse":
        counts = node_stats[:, 0]
        value = (node_stats[:, 1] / jnp.where(counts > 0, counts, 1.0))[:, None]
    else:
        counts = jnp.sum(node_stats, axis=1)
        value = node_stats / jnp.where(counts > 0, counts, 1.0)[:, None]
    total = jnp.sum(importances)
    importances = importances / jnp.where(total > 0, total, 1.0)
    return TreeParams(feature=feature, threshold=threshold, is_leaf=is_leaf, value=value,
                      n_samples=counts, feature_importances=importances,
                      regression=jnp.asarray(criterion == "mse"))


_tree_fit = jax.jit(_tree_core, static_argnames=("max_depth", "criterion"))


def quantile_thresholds(x: jax.Array, n_bins: int) -> jax.Array:
    """``(d, n_bins - 1)`` candidate thresholds per feature: midpoints between adjacent
    distinct sorted values at the quantile levels ``b / n_bins`` (sorted, may repeat)."""
    xs = jnp.sort(x, axis=0)
    n = x.shape[0]
    pos = jnp.arange(1, n_bins) * (n - 1) / n_bins
    lo = jnp.floor(pos).astype(jnp.int32)
    # midpoint between the value at the quantile and the next larger one
    a = xs[lo]                                                           # (B-1, d)
    nxt = jnp.minimum(lo + 1, n - 1)
    b = xs[nxt]
    return (0.5 * (a + b)).T


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
    summed decreases per feature, normalised (as scikit-learn's).

    Args:
        key: unused (deterministic; kept for the uniform API and future random feature
            subsets); may be ``None``.
        X: ``(n, d)`` finite features.
        y: ``(n,)`` integer class labels in ``0..C-1`` (classification) or float
            targets (``criterion="mse"``).
        max_depth: ``D >= 1`` (static; the tree has ``2^(D+1) - 1`` node slots).
        min_samples_leaf: ≥ 1.
        criterion: ``"gini"``, ``"entropy"``, ``"misclassification"`` or ``"mse"``.
        n_bins: thresholds per feature + 1 (static), ≥ 2.
        n_classes: ``C``; default ``max(y) + 1``.
        sample_weight: optional ``(n,)`` finite weights ``>= 0`` (default: all 1). Every
            node statistic (class counts, or :math:`\sum w, \sum wy, \sum wy^2`) is
            weighted, so the impurities, the leaf values and ``n_samples`` are
            weighted, and ``min_samples_leaf`` bounds the *weight* of each child.
            Integer weights act like repeated rows (a bootstrap resample).

    Returns:
        :class:`TreeParams`.

    >>> x = jnp.array([[0.], [1.], [2.], [3.]])
    >>> t = tree_fit(None, x, jnp.array([0, 0, 1, 1]), max_depth=1)
    >>> float(t.threshold[0]), tree_predict(t, x).tolist()
    (1.5, [0, 0, 1, 1])
    """
    depth = as_int(max_depth, "max_depth", minimum=1)
    min_leaf = as_int(min_samples_leaf, "min_samples_leaf", minimum=1)
    x, xb, targets, thresholds = _prepare(X, y, criterion, n_bins, n_classes)
    if sample_weight is not None:
        targets = targets * _check_weights(sample_weight, x)[:, None]
    return _tree_fit(x, xb, targets, thresholds, jnp.asarray(min_leaf, x.dtype), depth,
                     criterion)


def _check_weights(sample_weight: Any, x: jax.Array) -> jax.Array:
    """``sample_weight`` as a finite, non-negative ``(n,)`` array of ``x``'s dtype."""
    w = as_array(sample_weight, "sample_weight", ndim=1).astype(x.dtype)
    check_same_length("X", x, "sample_weight", w)
    check_finite(w, "sample_weight")
    check_positive(w, "sample_weight", strict=False)
    return w


def _prepare(X: Any, y: Any, criterion: str, n_bins: int, n_classes: int | None):
    """Checked features, their bin indices, per-sample target statistics, thresholds.

    The label checks run in NumPy and the binning in one jitted function, so a first
    call compiles one small program instead of dispatching many eager operations."""
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
    return _bin_and_encode(x, labels, bins, c)


@partial(jax.jit, static_argnames=("n_bins", "n_classes"))
def _bin_and_encode(x, labels, n_bins, n_classes):
    if n_classes == 0:      # regression: (1, y, y^2)
        yf = labels.astype(x.dtype)
        targets = jnp.stack([jnp.ones_like(yf), yf, yf * yf], axis=1)
    else:
        targets = jax.nn.one_hot(labels, n_classes, dtype=x.dtype)
    thresholds = quantile_thresholds(x, n_bins)                             # (d, B-1)
    xb = jnp.sum(x[:, :, None] > thresholds[None, :, :], axis=2).astype(jnp.int32)   # (n, d)
    return x, xb, targets, thresholds


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
