r"""The ``K`` moment trees of one boosting round, grown together (private).

A round of gradient boosting grows one regression tree per score component on
the same rows, with the moments :math:`(a_i, b_i)` of each (:mod:`._grow`'s
``"moments"`` trees). Two savings over growing them apart, both exact:

* the root: every tree starts from all rows, so one histogram with a
  ``2K``-wide update per (row, feature) serves the ``K`` roots;
* sibling subtraction (Ke et al. 2017, *LightGBM: A Highly Efficient Gradient
  Boosting Decision Tree*, sec. 2): below the root, only the rows of the smaller
  child of every split node are gathered (at most half the rows in all) and
  histogrammed; the larger child's histogram is its parent's minus the smaller's.

Histograms carried from level to level hold ``K B 2^(l) d 2`` numbers, so this
suits the shallow trees of boosting; :func:`fits` says when.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxphys.classical._grow import TreeParams, _scaled_parent
from jaxphys.classical._split import best_cells, cumulate_bins, moment_gain

__all__ = ["grow_round", "fits"]

_CARRY_LIMIT = 1 << 23


def fits(n_trees, n_bins, max_depth, n_features):
    """True if the carried histograms of :func:`grow_round` stay within 2^23 numbers."""
    return n_trees * n_bins * 2 ** max(max_depth - 1, 0) * n_features * 2 <= _CARRY_LIMIT


def _evaluate(hist, splittable, allowed, stats, min_leaf, reg_lambda, gamma, eps):
    """Best split of every (tree, slot) row of ``hist`` ``(B, R, d, 2)``."""
    left, total = cumulate_bins(hist)
    gain = moment_gain(left, total, reg_lambda, min_leaf)                 # (B-1, R, d)
    gain = jnp.where(allowed[None], gain, -jnp.inf)
    best_gain, best_f, best_b = best_cells(gain)
    _, scale = _scaled_parent(stats, "moments", reg_lambda)
    best_gain = best_gain - gamma
    split = (best_gain > jnp.maximum(eps * scale, 0.0)) & splittable
    return best_gain, best_f, best_b, split


def grow_round(xb, thresholds, moments, weight, feature_masks, *, max_depth, min_leaf,
               reg_lambda, gamma):
    """Grow ``K`` moment trees on the same rows.

    The ``K`` trees and the node slots of a level form one axis of ``K 2^l`` rows of
    histograms, filled by one scatter (no ``vmap``: XLA runs a batched scatter
    several times slower than the same updates flattened into one).

    Args:
        xb: ``(n, d)`` int32 bins. thresholds: ``(d, B-1)``.
        moments: ``(K, n, 2)`` per-row ``(a_i, b_i)`` of each tree, already weighted.
        weight: ``(n,)`` row weights (0 leaves a row out; they count ``n_samples``).
        feature_masks: ``None`` or ``(K, d)`` bool, the features each tree may use.
        max_depth: ``D`` (static). min_leaf, reg_lambda, gamma: as in
            :func:`jaxphys.classical._grow.grow_tree` with ``criterion="moments"``.

    Returns:
        ``(trees, leaf)``: :class:`TreeParams` with a leading axis ``K``, and ``(K, n)``
        the leaf (heap index) of every row in every tree.
    """
    n, d = xb.shape
    n_trees = moments.shape[0]
    n_bins = thresholds.shape[1] + 1
    m = 2 ** (max_depth + 1) - 1
    dtype = thresholds.dtype
    eps = 8.0 * jnp.finfo(dtype).eps
    cols = jnp.arange(d, dtype=jnp.int32)[None, :]
    tree_of = jnp.arange(n_trees, dtype=jnp.int32)
    if feature_masks is None:
        feature_masks = jnp.ones((n_trees, d), bool)
    a, b = moments[..., 0], moments[..., 1]
    energy = jnp.where(a > 0, b * b / jnp.where(a > 0, a, 1.0), 0.0)
    rows = jnp.stack([a, b, energy, jnp.broadcast_to(weight, a.shape)], axis=2)    # (K, n, 4)
    present_row = weight != 0

    # the root: one histogram, 2K numbers per (row, feature)
    cell = (xb * d + cols).reshape(-1)
    upd = jnp.broadcast_to(jnp.moveaxis(moments, 0, 1).reshape(n, 1, 2 * n_trees),
                           (n, d, 2 * n_trees)).reshape(-1, 2 * n_trees)
    hist = jnp.zeros((n_bins * d, 2 * n_trees), dtype).at[cell].add(upd)
    hist = jnp.moveaxis(hist.reshape(n_bins, d, n_trees, 2), 2, 1)              # (B, K, d, 2)

    node = jnp.zeros((n_trees, n), jnp.int32)
    active = jnp.ones((n_trees, n), bool)
    feature = jnp.zeros((n_trees, m), jnp.int32)
    threshold = jnp.zeros((n_trees, m), dtype)
    is_leaf = jnp.ones((n_trees, m), bool)
    node_stats = jnp.zeros((n_trees, m, 4), dtype)
    importances = jnp.zeros(n_trees * d, dtype)
    for level in range(max_depth):
        slots = 2 ** level
        first = slots - 1
        local = jnp.where(active, node - first, slots)                           # (K, n)
        slot_row = jnp.where(local < slots, tree_of[:, None] * slots + local, n_trees * slots)
        stats = jnp.zeros((n_trees * slots + 1, 4), dtype).at[slot_row.reshape(-1)].add(
            rows.reshape(-1, 4))[:-1]                                            # (K S, 4)
        weight_sum, scale = _scaled_parent(stats, "moments", reg_lambda)
        splittable = (weight_sum >= 2.0 * min_leaf) & (scale > 0)
        allowed = jnp.repeat(feature_masks, slots, axis=0)                       # (K S, d)
        gain, feat, cut, split = _evaluate(hist, splittable, allowed, stats, min_leaf,
                                           reg_lambda, gamma, eps)
        safe = jnp.minimum(slot_row, n_trees * slots - 1)                        # (K, n)
        moving = active & split[safe]
        right = jnp.take_along_axis(xb, feat[safe].T, axis=1).T > cut[safe]     # (K, n)
        node = jnp.where(moving, 2 * node + 1 + right.astype(jnp.int32), node)
        active = moving
        heap = first + jnp.arange(slots)
        node_stats = node_stats.at[:, heap].set(stats.reshape(n_trees, slots, 4))
        feature = feature.at[:, heap].set(jnp.where(split, feat, 0).reshape(n_trees, slots))
        threshold = threshold.at[:, heap].set(
            jnp.where(split, thresholds[feat, cut], 0.0).reshape(n_trees, slots))
        is_leaf = is_leaf.at[:, heap].set(~split.reshape(n_trees, slots))
        importances = importances.at[(tree_of[:, None] * d + feat.reshape(n_trees, slots))
                                     .reshape(-1)].add(jnp.where(split, gain, 0.0))
        if level + 1 == max_depth:
            break
        # the children's histograms: the smaller child of every split node from its rows,
        # all trees' rows compacted into one buffer of K ceil(n/2)
        child = 2 * safe + right.astype(jnp.int32)                # (tree, slot) at level+1
        counts = jnp.zeros(2 * n_trees * slots + 1, dtype).at[
            jnp.where(moving, child, 2 * n_trees * slots).reshape(-1)].add(
            jnp.broadcast_to(present_row.astype(dtype), moving.shape).reshape(-1))
        counts = counts[:-1].reshape(n_trees * slots, 2)
        small_right = counts[:, 1] < counts[:, 0]                               # (K S,)
        picked = (moving & present_row[None, :] & (right == small_right[safe])).reshape(-1)
        size = n_trees * ((n + 1) // 2)
        pos = jnp.cumsum(picked.astype(jnp.int32)) - 1
        idx = jnp.full(size, n_trees * n, jnp.int32).at[jnp.where(picked, pos, size)].set(
            jnp.arange(n_trees * n, dtype=jnp.int32), mode="drop")
        present = idx < n_trees * n
        flat = jnp.minimum(idx, n_trees * n - 1)
        row, parent = flat % n, safe.reshape(-1)[flat]               # parent: (tree, slot)
        cell = (xb[row] * (n_trees * slots) + parent[:, None]) * d + cols
        cell = jnp.where(present[:, None], cell, n_bins * n_trees * slots * d).reshape(-1)
        upd = jnp.broadcast_to(moments.reshape(-1, 2)[flat][:, None, :],
                               (size, d, 2)).reshape(-1, 2)
        small = jnp.zeros((n_bins * n_trees * slots * d, 2), dtype).at[cell].add(
            upd, mode="drop").reshape(n_bins, n_trees * slots, d, 2)
        large = hist - small
        sr = small_right[None, :, None, None]
        left_h, right_h = jnp.where(sr, large, small), jnp.where(sr, small, large)
        hist = jnp.stack([left_h, right_h], axis=2).reshape(n_bins, 2 * n_trees * slots, d, 2)
    first, slots = 2 ** max_depth - 1, 2 ** max_depth
    if max_depth >= 1:
        local = jnp.where(active, node - first, slots)
        slot_row = jnp.where(local < slots, tree_of[:, None] * slots + local, n_trees * slots)
        last = jnp.zeros((n_trees * slots + 1, 4), dtype).at[slot_row.reshape(-1)].add(
            rows.reshape(-1, 4))[:-1]
        node_stats = node_stats.at[:, first:].set(last.reshape(n_trees, slots, 4))
    den = node_stats[..., 0] + reg_lambda
    value = (node_stats[..., 1] / jnp.where(den != 0, den, 1.0))[..., None]
    importances = importances.reshape(n_trees, d)
    total = jnp.sum(importances, axis=1, keepdims=True)
    trees = TreeParams(feature=feature, threshold=threshold, is_leaf=is_leaf, value=value,
                       n_samples=node_stats[..., 3],
                       feature_importances=importances / jnp.where(total > 0, total, 1.0),
                       regression=jnp.ones(n_trees, bool))
    return trees, node
