r"""Growing one array-encoded CART tree level by level (the core of trees, forests and
boosting; not public).

A tree of depth at most ``D`` is a complete binary tree of :math:`M = 2^{D+1}-1`
node slots in heap order (children of node ``i`` are ``2i+1`` and ``2i+2``). Level
``l`` (``2^l`` slots) builds the histograms of its nodes, takes each node's best
split (:mod:`jaxphys.classical._split`) and sends every sample to a child; a node
without a split of positive gain, or at depth ``D``, is a leaf. Two kinds of
statistics: class weights (``"gini"``, ``"entropy"``, ``"misclassification"``)
and the moments ``(a, b)`` of ``"moments"`` trees (squared error with
``(a, b) = (w, wy)``, second-order boosting with ``(h, -g)``), whose leaf value
is :math:`b/(a+\lambda)`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.classical._split import best_split

__all__ = ["TreeParams", "GrowState", "grow_tree", "init_state", "grow_level", "finish_tree",
           "candidate_features", "node_stat_count", "level_schedule", "run_levels"]


class TreeParams(NamedTuple):
    """An array-encoded decision tree of ``M = 2^(max_depth+1) - 1`` heap-ordered nodes.

    Fields:
        feature: ``(M,)`` int32, the feature an internal node splits on (0 at leaves).
        threshold: ``(M,)`` float, go left when ``x[feature] <= threshold``.
        is_leaf: ``(M,)`` bool, True where the node does not split (unused nodes too).
        value: ``(M, C)`` class probabilities of the node's training samples
            (classification), or ``(M, 1)`` their mean target (regression; for
            boosting trees the leaf's step).
        n_samples: ``(M,)`` (weighted) training samples that reached the node.
        feature_importances: ``(d,)`` total impurity decrease (split gain) per feature,
            normalised to sum 1 (all zero for a single-leaf tree).
        regression: ``()`` bool, True for a regression (``"mse"``) tree.

    A stump built by hand (``tree_fit`` grows the same from data): node 0 splits,
    its children ``2·0 + 1`` and ``2·0 + 2`` are leaves.

    >>> from jaxphys.classical import TreeParams, tree_predict
    >>> stump = TreeParams(feature=jnp.zeros(3, jnp.int32), threshold=jnp.array([1.5, 0., 0.]),
    ...                    is_leaf=jnp.array([False, True, True]),
    ...                    value=jnp.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]),
    ...                    n_samples=jnp.array([4.0, 2.0, 2.0]), feature_importances=jnp.ones(1),
    ...                    regression=jnp.array(False))
    >>> tree_predict(stump, jnp.array([[1.0], [1.5], [2.0]])).tolist()   # left if x <= 1.5
    [0, 0, 1]
    """

    feature: jax.Array
    threshold: jax.Array
    is_leaf: jax.Array
    value: jax.Array
    n_samples: jax.Array
    feature_importances: jax.Array
    regression: jax.Array


def _node_rows(kind, targets, weight, n_classes):
    """Per-sample rows whose sums are the node statistics: class weights ``(n, C)``, or
    ``(a, b, b^2/a, w)`` for moments (the third sums to the largest possible gain, the
    scale of the split tolerance; the fourth counts samples)."""
    if kind == "class":
        return jax.nn.one_hot(targets, n_classes, dtype=weight.dtype) * weight[:, None]
    a, b = targets[:, 0] * weight, targets[:, 1] * weight
    energy = jnp.where(a > 0, b * b / jnp.where(a > 0, a, 1.0), 0.0)
    return jnp.stack([a, b, energy, weight], axis=1)


def _node_sums(rows, local, n_slots):
    inside = (local >= 0) & (local < n_slots)
    return jnp.zeros((n_slots, rows.shape[1]), rows.dtype).at[
        jnp.where(inside, local, n_slots)].add(rows, mode="drop")


def _scaled_parent(node_stats, criterion, reg_lambda):
    """``(weight N, N·impurity or the largest gain)`` of each node, from its statistics."""
    if criterion == "moments":
        a, b, energy = node_stats[:, 0], node_stats[:, 1], node_stats[:, 2]
        den = a + reg_lambda
        return a, jnp.maximum(energy - b * b / jnp.where(den > 0, den, 1.0), 0.0)
    n = jnp.sum(node_stats, axis=1)
    safe = jnp.where(n > 0, n, 1.0)
    if criterion == "gini":
        imp = n - jnp.sum(node_stats * node_stats, axis=1) / safe
    elif criterion == "entropy":
        p = node_stats / safe[:, None]
        imp = -n * jnp.sum(jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0),
                           axis=1)
    else:
        imp = n - jnp.max(node_stats, axis=1)
    return n, imp


class GrowState(NamedTuple):
    """A tree being grown (the arrays of :class:`TreeParams` so far, and the samples).

    Fields:
        feature, threshold, is_leaf: ``(M,)`` as in :class:`TreeParams`.
        node_stats: ``(M, s)`` summed statistics of each node's samples.
        importances: ``(d,)`` unnormalised split gains per feature.
        node: ``(n,)`` int32 heap index of each sample's node.
        active: ``(n,)`` bool, the sample's node may still split.
    """

    feature: jax.Array
    threshold: jax.Array
    is_leaf: jax.Array
    node_stats: jax.Array
    importances: jax.Array
    node: jax.Array
    active: jax.Array


def init_state(n, d, max_depth, n_stats, dtype):
    """The root of an empty tree of depth ``max_depth`` with every sample in it."""
    m = 2 ** (max_depth + 1) - 1
    return GrowState(feature=jnp.zeros(m, jnp.int32), threshold=jnp.zeros(m, dtype),
                     is_leaf=jnp.ones(m, bool), node_stats=jnp.zeros((m, n_stats), dtype),
                     importances=jnp.zeros(d, dtype), node=jnp.zeros(n, jnp.int32),
                     active=jnp.ones(n, bool))


def node_stat_count(criterion, n_classes):
    """Columns of ``GrowState.node_stats``."""
    return 4 if criterion == "moments" else n_classes


def candidate_features(key, n_slots, n_features, n_split):
    """``(S, k)`` the ``n_split`` features each node of a level may split on: a uniformly
    random subset per node, in increasing order (random integer keys, sorted)."""
    keys = jax.random.bits(key, (n_slots, n_features))
    return jnp.sort(jnp.argsort(keys, axis=1)[:, :n_split], axis=1).astype(jnp.int32)


def level_schedule(max_depth, n_samples, n_bins, n_stats):
    """``[(first level, last level + 1, chunk), ...]``: the levels run as one or two
    ``fori_loop`` bodies. A body splits the splittable nodes of a level in chunks of
    ``chunk`` node slots (a ``while`` loop over the chunks), so a deep level costs in
    proportion to its nodes that can still split, not to ``2^level``; the chunk is
    about ``2 n / (B s)`` (a chunk's histograms about twice the rows that fill them; a
    power of two, measured best on CPU). Shallow levels (up to ``chunk / 2`` wide)
    share a body with one chunk of ``chunk / 2`` slots."""
    max_slots = 2 ** (max_depth - 1)
    target = 2.0 * n_samples / max(n_bins * n_stats, 1)
    chunk = 2 ** int(round(np.log2(min(max(target, 4.0), 64.0))))
    if chunk >= max_slots:
        return [(0, max_depth, max_slots)]
    shallow = int(np.log2(chunk))                   # levels 0..shallow-1 fit chunk / 2
    return [(0, shallow, chunk // 2), (shallow, max_depth, chunk)]


def grow_level(level, state, xb, thresholds, targets, weight, *, criterion, chunk,
               n_classes, min_leaf, reg_lambda=0.0, gamma=0.0, feature_key=None,
               n_split=None, feature_mask=None, single_chunk=False, budget=None):
    """Split the nodes of level ``level`` (a traced or static int).

    The nodes that can split (weight at least ``2 min_leaf``, positive impurity) are
    ranked; chunks of ``chunk`` of them get their histograms and best splits in a
    ``fori_loop`` whose length is the number of chunks needed (``single_chunk``,
    static: the level is known to fit one chunk). With ``feature_key`` and ``n_split``
    (static) each node may split on ``n_split`` features drawn at random for it
    (:func:`candidate_features`, one draw per chunk); ``feature_mask`` ``(d,)``: the
    features the tree may use."""
    n, d = xb.shape
    m = state.feature.shape[0]
    max_slots = (m + 1) // 4
    kind = "moments" if criterion == "moments" else "class"
    rows = _node_rows(kind, targets, weight, n_classes)
    j = jnp.arange(max_slots, dtype=jnp.int32)
    first = jnp.left_shift(1, level) - 1
    width = jnp.left_shift(1, level)
    local = jnp.where(state.active, state.node - first, max_slots)
    stats = _node_sums(rows, local, max_slots)
    write = jnp.where(j < width, first + j, m)                     # index m: dropped
    node_stats = state.node_stats.at[write].set(stats, mode="drop")
    weight_sum, scale = _scaled_parent(stats, criterion, reg_lambda)
    splittable = (j < width) & (weight_sum >= 2.0 * min_leaf) & (scale > 0)
    rank = jnp.cumsum(splittable.astype(jnp.int32)) - 1
    slot_of_rank = jnp.full(max_slots + chunk, max_slots, jnp.int32).at[
        jnp.where(splittable, rank, max_slots + chunk)].set(j, mode="drop")
    safe_local = jnp.minimum(local, max_slots - 1)
    sample_rank = jnp.where((local < max_slots) & splittable[safe_local], rank[safe_local], -1)
    subset = feature_key is not None and n_split is not None and n_split < d

    def one_chunk(c, best):
        start = c * chunk
        in_chunk = (sample_rank >= start) & (sample_rank < start + chunk)
        local_c = jnp.where(in_chunk, sample_rank - start, chunk)
        slots_c = jax.lax.dynamic_slice(slot_of_rank, (start,), (chunk,))
        if subset:
            chosen = candidate_features(jax.random.fold_in(feature_key, c), chunk, d, n_split)
            xb_c = jnp.take_along_axis(xb, chosen[jnp.minimum(local_c, chunk - 1)], axis=1)
            allowed = None if feature_mask is None else feature_mask[chosen]
        else:
            chosen, xb_c = None, xb
            allowed = None if feature_mask is None else jnp.broadcast_to(
                feature_mask[None, :], (chunk, d))
        gain_c, j_c, b_c = best_split(
            xb_c, allowed, local_c, weight, targets, criterion=criterion, n_slots=chunk,
            n_bins=thresholds.shape[1] + 1, n_classes=n_classes, min_leaf=min_leaf,
            reg_lambda=reg_lambda, budget=budget)
        f_c = j_c if chosen is None else jnp.take_along_axis(chosen, j_c[:, None], axis=1)[:, 0]
        return tuple(a.at[slots_c].set(v, mode="drop")
                     for a, v in zip(best, (gain_c, f_c, b_c)))

    best = (jnp.full(max_slots, -jnp.inf, thresholds.dtype), jnp.zeros(max_slots, jnp.int32),
            jnp.zeros(max_slots, jnp.int32))
    if single_chunk or chunk >= max_slots:
        best = one_chunk(0, best)
    else:
        n_chunks = (jnp.sum(splittable.astype(jnp.int32)) + chunk - 1) // chunk
        best = jax.lax.fori_loop(0, n_chunks, one_chunk, best)
    best_gain, best_f, best_b = best
    if kind == "moments":
        best_gain = best_gain - gamma
        split = best_gain > jnp.maximum(8.0 * jnp.finfo(thresholds.dtype).eps * scale, 0.0)
    else:
        split = best_gain > 1e-7 * jnp.maximum(scale, 1.0)
    split = split & splittable
    feature = state.feature.at[write].set(jnp.where(split, best_f, 0), mode="drop")
    threshold = state.threshold.at[write].set(
        jnp.where(split, thresholds[best_f, best_b], 0.0), mode="drop")
    is_leaf = state.is_leaf.at[write].set(~split, mode="drop")
    importances = state.importances.at[best_f].add(jnp.where(split, best_gain, 0.0))
    moving = state.active & split[safe_local] & (local < max_slots)
    go_right = xb[jnp.arange(n), best_f[safe_local]] > best_b[safe_local]
    node = jnp.where(moving, 2 * state.node + 1 + go_right.astype(jnp.int32), state.node)
    return GrowState(feature=feature, threshold=threshold, is_leaf=is_leaf,
                     node_stats=node_stats, importances=importances, node=node, active=moving)


def run_levels(state, level_step, schedule, unroll=False):
    """Apply ``level_step(level, state, chunk, single_chunk)`` to every level of
    ``schedule`` (:func:`level_schedule`), each group in one ``fori_loop`` (or, with
    ``unroll``, a Python loop: every level compiled apart, shallow ones at their own
    width)."""
    for lo, hi, chunk in schedule:
        if unroll:
            for level in range(lo, hi):
                size = min(chunk, 2 ** level)
                state = level_step(level, state, size, size >= 2 ** level)
        else:
            single = chunk >= 2 ** (hi - 1)
            state = jax.lax.fori_loop(
                lo, hi, lambda lv, st, ch=chunk, one=single: level_step(lv, st, ch, one), state)
    return state


def finish_tree(state, targets, weight, *, criterion, max_depth, n_classes, reg_lambda=0.0):
    """The deepest level's statistics, leaf values and normalised importances."""
    kind = "moments" if criterion == "moments" else "class"
    rows = _node_rows(kind, targets, weight, n_classes)
    first = 2 ** max_depth - 1
    node_stats = state.node_stats.at[first:].set(
        _node_sums(rows, jnp.where(state.active, state.node - first, 2 ** max_depth),
                   2 ** max_depth))
    if kind == "moments":
        counts = node_stats[:, 3]
        den = node_stats[:, 0] + reg_lambda
        value = (node_stats[:, 1] / jnp.where(den != 0, den, 1.0))[:, None]
    else:
        counts = jnp.sum(node_stats, axis=1)
        value = node_stats / jnp.where(counts > 0, counts, 1.0)[:, None]
    total = jnp.sum(state.importances)
    importances = state.importances / jnp.where(total > 0, total, 1.0)
    return TreeParams(feature=state.feature, threshold=state.threshold,
                      is_leaf=state.is_leaf, value=value, n_samples=counts,
                      feature_importances=importances,
                      regression=jnp.asarray(kind == "moments"))


def grow_tree(xb, thresholds, targets, weight, *, criterion, max_depth, min_leaf,
              n_classes=0, reg_lambda=0.0, gamma=0.0, feature_mask=None, unroll=False):
    """Grow one tree (traceable; jitted and vmapped by the callers).

    Args:
        xb: ``(n, d)`` int32 bin of every sample in every feature (``0..B-1``).
        thresholds: ``(d, B-1)`` bin edges: bin ``b`` holds ``x <= thresholds[:, b]``.
        targets: ``(n,)`` int class labels (class criteria) or ``(n, 2)`` moments
            ``(a_i, b_i)`` (``criterion="moments"``), not yet weighted.
        weight: ``(n,)`` sample weights (bootstrap counts, boosting weights, a row
            subsample mask); they multiply the class weights and the moments.
        criterion: ``"gini"``, ``"entropy"``, ``"misclassification"`` or ``"moments"``
            (static).
        max_depth: ``D`` (static). min_leaf: the least weight (class criteria) or ``a``
            (moments) of a child.
        n_classes: ``C`` (static, class criteria).
        reg_lambda, gamma: moments only: λ in the gain and the leaf value, and the
            least gain γ of a split.
        feature_mask: optional ``(d,)`` bool, the features this tree may split on.
        unroll: compile every level apart (see :func:`run_levels`).

    Returns:
        :class:`TreeParams`.
    """
    n, d = xb.shape
    n_stats = node_stat_count(criterion, n_classes)
    state = init_state(n, d, max_depth, n_stats, thresholds.dtype)
    schedule = level_schedule(max_depth, n, thresholds.shape[1] + 1,
                              n_classes if criterion != "moments" else 2)

    def step(level, st, chunk, single):
        return grow_level(level, st, xb, thresholds, targets, weight, criterion=criterion,
                          chunk=chunk, n_classes=n_classes, min_leaf=min_leaf,
                          reg_lambda=reg_lambda, gamma=gamma, feature_mask=feature_mask,
                          single_chunk=single)

    state = run_levels(state, step, schedule, unroll)
    return finish_tree(state, targets, weight, criterion=criterion, max_depth=max_depth,
                       n_classes=n_classes, reg_lambda=reg_lambda)
