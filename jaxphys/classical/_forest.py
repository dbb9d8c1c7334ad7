r"""Random forests: bagged CART trees with random feature subsets, fitted under ``vmap``.

Each tree is fitted (:mod:`jaxphys.classical._tree`) to a bootstrap resample,
encoded as sample weights :math:`w_i\sim\mathrm{Multinomial}(n, 1/n)`, and at each
node considers only ``max_features`` features drawn at random. The forest
predicts by averaging the trees' leaf class probabilities (or leaf means); the
out-of-bag (OOB) prediction of sample ``i`` averages only the trees whose
bootstrap left it out.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_key, check_shape
from jaxphys.classical._common import as_features
from jaxphys.classical._tree import TreeParams, _leaf_index, _prepare, _tree_core

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


@partial(jax.jit, static_argnames=("n_split", "n_trees", "max_depth", "criterion",
                                   "bootstrap", "unroll_levels"))
def _forest_fit(key, x, xb, targets, thresholds, min_leaf, n_split, n_trees, max_depth,
                criterion, bootstrap, unroll_levels):
    n, d = x.shape
    key_boot, key_feat = jax.random.split(key)
    if bootstrap:
        draws = jax.random.randint(key_boot, (n_trees, n), 0, n)
        weights = jax.vmap(lambda r: jnp.zeros(n, x.dtype).at[r].add(1.0))(draws)
    else:
        weights = jnp.ones((n_trees, n), x.dtype)
    slots = 2 ** (max_depth - 1)
    scores = jax.random.uniform(key_feat, (n_trees, max_depth, slots, d), x.dtype)

    def weigh(w):      # weighted statistics: w·onehot(y), or (w, w y, w y²) for regression
        return targets * w[:, None]

    def one_tree(w, u):
        return _tree_core(x, xb, weigh(w), thresholds, min_leaf, max_depth, criterion, u,
                          n_split, unroll=unroll_levels)

    trees = jax.vmap(one_tree)(weights, scores)
    # out-of-bag predictions
    leaves = jax.vmap(lambda t: _leaf_index(t, x))(trees)                    # (T, n)
    vals = jnp.take_along_axis(trees.value, leaves[:, :, None], axis=1)      # (T, n, C)
    oob = (weights == 0).astype(x.dtype)                                     # (T, n)
    n_oob = jnp.sum(oob, axis=0)
    oob_pred = jnp.sum(vals * oob[:, :, None], axis=0) / jnp.where(n_oob > 0, n_oob, 1.0)[:, None]
    oob_pred = jnp.where((n_oob > 0)[:, None], oob_pred, jnp.nan)
    has = n_oob > 0
    if criterion == "mse":
        y = targets[:, 1]
        resid = jnp.where(has, (y - oob_pred[:, 0]) ** 2, 0.0)
        ybar = jnp.sum(jnp.where(has, y, 0.0)) / jnp.maximum(jnp.sum(has), 1)
        tot = jnp.sum(jnp.where(has, (y - ybar) ** 2, 0.0))
        score = 1.0 - jnp.sum(resid) / jnp.where(tot > 0, tot, 1.0)
    else:
        correct = jnp.argmax(jnp.nan_to_num(oob_pred), axis=1) == jnp.argmax(targets, axis=1)
        score = jnp.sum(jnp.where(has, correct, False)) / jnp.maximum(jnp.sum(has), 1)
    if not bootstrap:
        score = jnp.asarray(jnp.nan, x.dtype)
    return ForestParams(trees=trees, feature_importances=jnp.mean(trees.feature_importances,
                                                                  axis=0),
                        oob_score=jnp.asarray(score, x.dtype), oob_prediction=oob_pred)


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
        unroll_levels: fit the levels in a Python loop at their exact widths (about 3×
            faster to run for deep trees, about 2.5× slower to compile) instead of one
            ``lax.fori_loop`` body padded to the widest level.

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
    x, xb, targets, thresholds = _prepare(X, y, criterion, n_bins, n_classes)
    k = _max_features(max_features, x.shape[1])
    return _forest_fit(key, x, xb, targets, thresholds, jnp.asarray(min_leaf, x.dtype),
                       k, n_trees, depth, criterion, bootstrap,
                       bool(unroll_levels))


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
    mean of the trees' predictions for regression. Example: see :func:`forest_fit`."""
    out = forest_predict_proba(params, X)
    if bool(params.trees.regression[0]):
        return out[:, 0]
    return jnp.argmax(out, axis=1).astype(jnp.int32)
