r"""Random forests: bagged CART trees with random feature subsets, grown under ``vmap``.

Each tree is grown (:mod:`jaxphys.classical._grow`) on a bootstrap resample,
encoded as sample weights :math:`w_i\sim\mathrm{Multinomial}(n, 1/n)`, and at each
node considers only ``max_features`` features drawn at random. All trees grow
together, level by level: a level's histograms are built for a batch of trees at
once under ``vmap``, the batches in a ``lax.map`` (as many trees per batch as keep
the histograms small). The forest predicts by averaging the trees' leaf class
probabilities (or leaf means); the out-of-bag (OOB) prediction of sample ``i``
averages only the trees whose bootstrap left it out.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_key, check_shape
from jaxphys.classical._common import as_features
from jaxphys.classical._grow import finish_tree, grow_level, init_state, \
    level_schedule, node_stat_count, run_levels
from jaxphys.classical import _split
from jaxphys.classical._tree import TreeParams, _leaf_index, _prepare, \
    _tree_targets

__all__ = ["ForestParams", "forest_fit", "forest_predict", "forest_predict_proba"]


class ForestParams(NamedTuple):
    """A random forest of ``T`` array-encoded trees (see :class:`TreeParams`).

    Fields:
        trees: :class:`TreeParams` with a leading tree axis ``T`` on every field.
        feature_importances: ``(d,)`` mean of the trees' normalised importances.
        oob_score: ``()`` out-of-bag accuracy (classification) or R² (regression);
            NaN without bootstrap.
        oob_prediction: ``(n, C)`` out-of-bag class probabilities (or ``(n, 1)`` means)
            of the training samples; NaN rows for samples that were in every bootstrap.

    >>> from jaxphys.classical import forest_fit
    >>> x = jnp.array([[0.], [1.], [2.], [3.]] * 5)
    >>> f = forest_fit(jax.random.key(0), x, jnp.array([0, 0, 1, 1] * 5), n_trees=8,
    ...                max_depth=2)
    >>> f.trees.threshold.shape, f.oob_prediction.shape   # 8 trees of 2³ - 1 nodes; 20 x 2
    ((8, 7), (20, 2))
    >>> f.feature_importances.tolist(), float(f.oob_score)   # one feature; separable classes
    ([1.0], 1.0)
    """

    trees: TreeParams
    feature_importances: jax.Array
    oob_score: jax.Array
    oob_prediction: jax.Array


def _max_features(value, d):
    if value is None:
        return d
    if value == "sqrt":
        return max(1, int(math.sqrt(d)))
    if value == "log2":
        return max(1, int(math.log2(d)))
    if isinstance(value, float) and 0.0 < value <= 1.0:
        return max(1, int(value * d))
    k = as_int(value, "max_features", minimum=1)
    if k > d:
        raise ValueError(f"max_features: expected at most the number of features {d}, got {k}")
    return k


def _tree_batch(n_trees, n_slots, n_features, n_bins, n_stats):
    """Trees whose level is split together under ``vmap`` (the batches follow in a
    ``lax.map``): the largest divisor of ``n_trees`` (no remainder batch to compile)
    that keeps a chunk's histograms within ``HISTOGRAM_BUDGET`` cells."""
    per_tree = max(1, n_slots * n_features * n_bins * n_stats)
    most = max(1, min(n_trees, _split.HISTOGRAM_BUDGET // per_tree))
    return max(b for b in range(1, most + 1) if n_trees % b == 0)


@partial(jax.jit, static_argnames=("n_split", "n_trees", "max_depth", "criterion",
                                   "n_classes", "bootstrap", "unroll_levels"))
def _forest_fit(key, xb, thresholds, labels, min_leaf, n_split, n_trees, max_depth,
                criterion, n_classes, bootstrap, unroll_levels):
    n, d = xb.shape
    dtype = thresholds.dtype
    key_boot, key_feat = jax.random.split(key)
    if bootstrap:
        draws = jax.random.randint(key_boot, (n_trees, n), 0, n)
        weights = jax.vmap(lambda r: jnp.zeros(n, dtype).at[r].add(1.0))(draws)
    else:
        weights = jnp.ones((n_trees, n), dtype)
    level_keys = jax.random.split(key_feat, (n_trees, max_depth))
    targets, kind = _tree_targets(labels, criterion)
    subset = n_split < d
    n_stats = node_stat_count(kind, n_classes)
    states = jax.vmap(lambda _: init_state(n, d, max_depth, n_stats, dtype))(
        jnp.arange(n_trees))

    n_bins = thresholds.shape[1] + 1
    n_hist = n_classes if kind != "moments" else 2
    schedule = level_schedule(max_depth, n, n_bins, n_hist)

    def step(level, states, chunk, single):
        def one(operand):
            state, w, key_level = operand
            return grow_level(level, state, xb, thresholds, targets, w, criterion=kind,
                              chunk=chunk, n_classes=n_classes, min_leaf=min_leaf,
                              feature_key=key_level if subset else None, n_split=n_split,
                              single_chunk=single)

        batch = _tree_batch(n_trees, chunk, n_split, n_bins, n_hist)
        return jax.lax.map(one, (states, weights, level_keys[:, level]), batch_size=batch)

    states = run_levels(states, step, schedule, unroll_levels)
    trees = jax.vmap(lambda st, w: finish_tree(st, targets, w, criterion=kind,
                                               max_depth=max_depth, n_classes=n_classes))(
        states, weights)
    leaves = states.node                           # (T, n): each training row's leaf
    # out-of-bag predictions
    vals = jnp.take_along_axis(trees.value, leaves[:, :, None], axis=1)      # (T, n, C)
    oob = (weights == 0).astype(dtype)                                       # (T, n)
    n_oob = jnp.sum(oob, axis=0)
    oob_pred = jnp.sum(vals * oob[:, :, None], axis=0) / jnp.where(n_oob > 0, n_oob, 1.0)[:, None]
    oob_pred = jnp.where((n_oob > 0)[:, None], oob_pred, jnp.nan)
    has = n_oob > 0
    if criterion == "mse":
        y = labels
        resid = jnp.where(has, (y - oob_pred[:, 0]) ** 2, 0.0)
        ybar = jnp.sum(jnp.where(has, y, 0.0)) / jnp.maximum(jnp.sum(has), 1)
        tot = jnp.sum(jnp.where(has, (y - ybar) ** 2, 0.0))
        score = 1.0 - jnp.sum(resid) / jnp.where(tot > 0, tot, 1.0)
    else:
        correct = jnp.argmax(jnp.nan_to_num(oob_pred), axis=1) == labels
        score = jnp.sum(jnp.where(has, correct, False)) / jnp.maximum(jnp.sum(has), 1)
    if not bootstrap:
        score = jnp.asarray(jnp.nan, dtype)
    return ForestParams(trees=trees, feature_importances=jnp.mean(trees.feature_importances,
                                                                  axis=0),
                        oob_score=jnp.asarray(score, dtype), oob_prediction=oob_pred)


def forest_fit(key: jax.Array, X: Any, y: Any, *, n_trees: int = 100, max_depth: int = 8,
               max_features: Any = "sqrt", min_samples_leaf: int = 1, criterion: str = "gini",
               bootstrap: bool = True, n_bins: int = 64, n_classes: int | None = None,
               unroll_levels: bool = False) -> ForestParams:
    r"""Fit a random forest: ``n_trees`` CART trees on bootstrap resamples, vmapped.

    Tree ``t`` is fitted with sample weights :math:`w^{(t)}` (bootstrap counts) and, at
    each node, a random subset of ``max_features`` features; prediction averages
    the trees:

    .. math:: \hat p(c\mid x) = \frac1T\sum_{t=1}^T \hat p_t(c\mid x).

    The OOB score evaluates each training sample on the trees that did not see it
    (accuracy, or R² for ``criterion="mse"``).

    Args:
        key: PRNG key (bootstraps and feature subsets).
        X: ``(n, d)`` finite features. y: ``(n,)`` labels or targets (as :func:`tree_fit`).
        n_trees: ``T >= 1`` (static). max_depth: ``>= 1`` (static).
        max_features: ``"sqrt"`` (default), ``"log2"``, an int, a fraction in (0, 1], or
            ``None`` (all features).
        min_samples_leaf: minimum bootstrap weight per leaf, ≥ 1.
        criterion: as :func:`tree_fit`.
        bootstrap: resample (True) or fit every tree on all samples.
        n_bins, n_classes: as :func:`tree_fit`.
        unroll_levels: compile every level apart, the shallow ones at their exact
            widths (a little faster to run, several times slower to compile), instead
            of one or two ``lax.fori_loop`` bodies over the levels (the default; see
            :func:`jaxphys.classical._grow.level_schedule`).

    Returns:
        :class:`ForestParams`.

    >>> x = jnp.array([[0.], [1.], [2.], [3.]] * 5)
    >>> f = forest_fit(jax.random.key(0), x, jnp.array([0, 0, 1, 1] * 5), n_trees=8,
    ...                max_depth=2)
    >>> forest_predict(f, jnp.array([[0.2], [2.8]])).tolist()
    [0, 1]
    """
    check_key(key)
    n_trees = as_int(n_trees, "n_trees", minimum=1)
    depth = as_int(max_depth, "max_depth", minimum=1)
    min_leaf = as_int(min_samples_leaf, "min_samples_leaf", minimum=1)
    if not isinstance(bootstrap, bool):
        raise ValueError(f"bootstrap: expected a bool, got {type(bootstrap).__name__}")
    x, xb, labels, thresholds, c = _prepare(X, y, criterion, n_bins, n_classes)
    k = _max_features(max_features, x.shape[1])
    return _forest_fit(key, xb, thresholds, labels, jnp.asarray(min_leaf, x.dtype), k,
                       n_trees, depth, criterion, c, bootstrap, bool(unroll_levels))


@jax.jit
def _forest_values(trees, x):
    leaves = jax.vmap(lambda t: _leaf_index(t, x))(trees)                    # (T, m)
    vals = jnp.take_along_axis(trees.value, leaves[:, :, None], axis=1)
    return jnp.mean(vals, axis=0)


def forest_predict_proba(params: ForestParams, X: Any) -> jax.Array:
    r"""Mean over the trees of the leaf class probabilities, ``(m, C)`` (``(m, 1)`` leaf
    means for regression).

    >>> x = jnp.array([[0.], [1.], [2.], [3.]] * 5)
    >>> f = forest_fit(jax.random.key(0), x, jnp.array([0, 0, 1, 1] * 5), n_trees=8,
    ...                max_depth=2)
    >>> forest_predict_proba(f, jnp.array([[0.2]])).round(2).tolist()
    [[1.0, 0.0]]
    """
    x = as_features(X, "X")
    check_shape(x, "X", (None, params.feature_importances.shape[0]))
    return _forest_values(params.trees, x.astype(params.trees.threshold.dtype))


def forest_predict(params: ForestParams, X: Any) -> jax.Array:
    r"""Forest prediction ``(m,)``: the class of largest mean probability (int32), or the
    mean of the trees' predictions for regression.

    >>> from jaxphys.classical import forest_fit, forest_predict
    >>> x = jnp.array([[0.], [1.], [2.], [3.]] * 5)
    >>> f = forest_fit(jax.random.key(0), x, jnp.array([0, 0, 1, 1] * 5), n_trees=8,
    ...                max_depth=2)
    >>> forest_predict(f, jnp.array([[-5.0], [7.5]])).tolist()   # beyond the training range
    [0, 1]
    """
    out = forest_predict_proba(params, X)
    if bool(params.trees.regression[0]):
        return out[:, 0]
    return jnp.argmax(out, axis=1).astype(jnp.int32)
