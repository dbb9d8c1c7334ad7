r"""Split search on binned features: per-node histograms and the best threshold.

The trees of :mod:`jaxphys.classical._tree` grow level by level. At a level with
``S`` node slots, every candidate feature ``j`` of a node and every bin ``b`` of
its ``B`` bins get a histogram cell holding the summed statistics of the node's
samples in that bin: class weights :math:`\sum_i w_i[y_i=c]` (classification) or
the two moments :math:`(a, b) = (\sum_i a_i, \sum_i b_i)` of the regression and
boosting criteria. A left child ``x <= t_b`` then holds the cumulative sum over
bins ``0..b`` and the right child the rest, and each node takes the cell of
largest gain (lowest feature, then lowest bin, on ties).

How it runs (XLA on CPU, measured): the histogram is one flat ``scatter-add`` of
one scalar per (sample, feature) (or one ``(a, b)`` pair), a few nanoseconds per
update and never the bottleneck; a one-hot matmul would multiply the arithmetic by
the number of bins. The cumulative sums run as a ``lax.scan`` over the bins, which
writes each slab once (``jnp.cumsum`` over a middle axis of a large array, and a
variadic ``argmax``, are many times slower there), the gains are one fused
elementwise pass, and the best cell is found as a max followed by a min over the
matching flat indices.

Gains, for a parent ``P`` split into ``L`` and ``R`` (weighted impurity decrease,
as Breiman, Friedman, Olshen & Stone 1984, *Classification and Regression Trees*):

* Gini: :math:`\sum_c L_c^2/N_L + \sum_c R_c^2/N_R - \sum_c P_c^2/N_P`;
* entropy (bits): :math:`[N\log N - \sum_c L_c\log L_c]` terms, parent minus children;
* misclassification: :math:`\max_c L_c + \max_c R_c - \max_c P_c`;
* moments (squared error; second-order boosting, Chen & Guestrin 2016, *XGBoost: A
  Scalable Tree Boosting System*, eq. 7):
  :math:`\tfrac{1}{2}[b_L^2/(a_L+\lambda) + b_R^2/(a_R+\lambda) - b_P^2/(a_P+\lambda)]
  - \gamma`, with :math:`(a, b) = (w, wy)` for squared error (λ = γ = 0: half the
  decrease of the summed squared error) and :math:`(h, -g)` for boosting.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["class_histogram", "moment_histogram", "cumulate_bins", "class_gain",
           "moment_gain", "best_cells", "best_split", "CLASS_CRITERIA", "HISTOGRAM_BUDGET"]

CLASS_CRITERIA = ("gini", "entropy", "misclassification")
_LN2 = 0.6931471805599453
# Histogram cells evaluated at once. Larger levels loop over chunks of features (or of
# trees, in forests) with ``lax.map``: on CPU the histograms, their cumulative sums
# and the gains then stay in the caches (measured: a few times faster than buffers of
# megabytes, and tens of times faster than buffers of tens of megabytes).
HISTOGRAM_BUDGET = 1 << 16


def class_histogram(xb_c, local, weight, label, n_slots, n_bins, n_classes):
    """Class-weight histogram ``(B, C, S, k)`` of the samples at their node slots.

    Args:
        xb_c: ``(n, k)`` int bin of each sample in each candidate feature of its node.
        local: ``(n,)`` int slot of each sample's node, ``0..S-1``; samples outside
            (any other value) are dropped.
        weight: ``(n,)`` sample weights (0 drops a sample).
        label: ``(n,)`` int class.
        n_slots, n_bins, n_classes: ``S``, ``B``, ``C`` (static).
    """
    n, k = xb_c.shape
    inside = (local >= 0) & (local < n_slots) & (weight != 0)
    size = n_bins * n_classes * n_slots * k
    cell = ((xb_c * n_classes + label[:, None]) * n_slots + local[:, None]) * k \
        + jnp.arange(k, dtype=xb_c.dtype)[None, :]
    cell = jnp.where(inside[:, None], cell, size)                   # out of range: dropped
    hist = jnp.zeros(size, weight.dtype).at[cell.reshape(-1)].add(
        jnp.broadcast_to(weight[:, None], (n, k)).reshape(-1), mode="drop")
    return hist.reshape(n_bins, n_classes, n_slots, k)


def moment_histogram(xb_c, local, moments, n_slots, n_bins):
    """Moment histogram ``(B, S, k, 2)`` of per-sample ``(a_i, b_i)`` (``moments``
    ``(n, 2)``), one two-wide update per (sample, feature); ``local`` as in
    :func:`class_histogram`."""
    n, k = xb_c.shape
    inside = (local >= 0) & (local < n_slots)
    size = n_bins * n_slots * k
    cell = (xb_c * n_slots + local[:, None]) * k + jnp.arange(k, dtype=xb_c.dtype)[None, :]
    cell = jnp.where(inside[:, None], cell, size)
    hist = jnp.zeros((size, 2), moments.dtype).at[cell.reshape(-1)].add(
        jnp.broadcast_to(moments[:, None, :], (n, k, 2)).reshape(-1, 2), mode="drop")
    return hist.reshape(n_bins, n_slots, k, 2)


def cumulate_bins(hist):
    """Left statistics for every threshold and the totals: ``hist`` ``(B, ...)`` gives
    ``(left (B-1, ...), total (...))`` with ``left[b] = hist[0] + ... + hist[b]``."""
    def step(run, slab):
        run = run + slab
        return run, run

    last, left = jax.lax.scan(step, jnp.zeros_like(hist[0]), hist[:-1])
    return left, last + hist[-1]


def _xlogx(v):
    return jnp.where(v > 0, v * jnp.log(jnp.where(v > 0, v, 1.0)), 0.0)


def class_gain(left, total, criterion, min_leaf):
    """Gains ``(B-1, S, k)`` from ``left (B-1, C, S, k)`` and ``total (C, S, k)``; -inf
    where a child would weigh less than ``min_leaf``."""
    n_classes = total.shape[0]
    lc = [left[:, c] for c in range(n_classes)]
    pc = [total[c] for c in range(n_classes)]
    rc = [p[None] - v for p, v in zip(pc, lc)]
    n_l, n_p = sum(lc), sum(pc)
    n_r = n_p[None] - n_l
    if criterion == "gini":
        def term(parts, count):
            return sum(v * v for v in parts) / jnp.where(count > 0, count, 1.0)

        gain = term(lc, n_l) + term(rc, n_r) - term(pc, n_p)[None]
    elif criterion == "entropy":
        def term(parts, count):        # N I(N) in nats: N log N - sum_c v log v
            return _xlogx(count) - sum(_xlogx(v) for v in parts)

        gain = (term(pc, n_p)[None] - term(lc, n_l) - term(rc, n_r)) / _LN2
    else:
        def term(parts):
            out = parts[0]
            for v in parts[1:]:
                out = jnp.maximum(out, v)
            return out

        gain = term(lc) + term(rc) - term(pc)[None]
    valid = (n_l >= min_leaf) & (n_r >= min_leaf)
    return jnp.where(valid, gain, -jnp.inf)


def moment_gain(left, total, reg_lambda, min_leaf):
    """Gains ``(B-1, S, k)`` from ``left (B-1, S, k, 2)`` and ``total (S, k, 2)`` (the
    ``(a, b)`` moments): :math:`\\tfrac12[b_L^2/(a_L+\\lambda) + b_R^2/(a_R+\\lambda) -
    b_P^2/(a_P+\\lambda)]`; -inf where a child's ``a`` is below ``min_leaf``."""
    a_l, b_l = left[..., 0], left[..., 1]
    a_p, b_p = total[..., 0], total[..., 1]
    a_r, b_r = a_p[None] - a_l, b_p[None] - b_l

    def term(a, b):
        den = a + reg_lambda
        return b * b / jnp.where(den > 0, den, 1.0)

    gain = 0.5 * (term(a_l, b_l) + term(a_r, b_r) - term(a_p, b_p)[None])
    valid = (a_l >= min_leaf) & (a_r >= min_leaf)
    return jnp.where(valid, gain, -jnp.inf)


def _chunk_best(xb_c, allowed, local, weight, targets, *, criterion, n_slots, n_bins,
                n_classes, min_leaf, reg_lambda):
    if criterion == "moments":
        left, total = cumulate_bins(moment_histogram(xb_c, local, targets * weight[:, None],
                                                     n_slots, n_bins))
        gain = moment_gain(left, total, reg_lambda, min_leaf)
    else:
        left, total = cumulate_bins(class_histogram(xb_c, local, weight, targets, n_slots,
                                                    n_bins, n_classes))
        gain = class_gain(left, total, criterion, min_leaf)
    if allowed is not None:
        gain = jnp.where(allowed[None], gain, -jnp.inf)
    return best_cells(gain)


def best_split(xb_c, allowed, local, weight, targets, *, criterion, n_slots, n_bins,
               n_classes=0, min_leaf=1.0, reg_lambda=0.0, budget=None):
    """Best (gain, candidate-feature slot, bin) of every node slot at one level.

    Args:
        xb_c: ``(n, k)`` bins of each sample's candidate features.
        allowed: ``None`` or ``(S, k)`` bool, the candidates a node may split on.
        local: ``(n,)`` node slot of each sample (outside ``0..S-1``: not at this level).
        weight: ``(n,)`` sample weights. targets: ``(n,)`` labels or ``(n, 2)`` moments
            (not yet weighted).
        criterion: a class criterion or ``"moments"`` (static); ``n_slots``, ``n_bins``,
            ``n_classes`` static; ``min_leaf``, ``reg_lambda`` as in the gains.
        budget: most histogram cells at once; more candidates run as a ``lax.map`` over
            chunks of features, merged with ties to the earlier chunk.

    Returns:
        ``(gain (S,), j (S,) int32, b (S,) int32)``.
    """
    n, k = xb_c.shape
    budget = HISTOGRAM_BUDGET if budget is None else budget
    per_feature = n_bins * n_slots * (n_classes if criterion != "moments" else 2)
    width = max(1, min(k, budget // max(per_feature, 1)))
    kw = dict(criterion=criterion, n_slots=n_slots, n_bins=n_bins, n_classes=n_classes,
              min_leaf=min_leaf, reg_lambda=reg_lambda)
    if width >= k:
        return _chunk_best(xb_c, allowed, local, weight, targets, **kw)
    n_chunks = -(-k // width)
    pad = n_chunks * width - k
    allow = jnp.ones((n_slots, k), bool) if allowed is None else allowed
    allow = jnp.pad(allow, ((0, 0), (0, pad))).reshape(n_slots, n_chunks, width)
    chunks = jnp.pad(xb_c, ((0, 0), (0, pad))).reshape(n, n_chunks, width)

    def one(operand):
        part, ok = operand
        return _chunk_best(part, ok, local, weight, targets, **kw)

    gains, js, bs = jax.lax.map(one, (jnp.moveaxis(chunks, 1, 0), jnp.moveaxis(allow, 1, 0)))
    best = jnp.max(gains, axis=0)
    first = jnp.argmax(gains == best[None], axis=0)                 # earliest chunk on ties
    pick = (lambda a: jnp.take_along_axis(a, first[None], axis=0)[0])
    return best, (pick(js) + first * width).astype(jnp.int32), pick(bs).astype(jnp.int32)


def best_cells(gain):
    """Best cell per slot of ``gain (B-1, S, k)``: ``(gain (S,), feature slot j (S,),
    bin b (S,))``, ties to the lowest ``j`` and then the lowest ``b``."""
    n_cut, _, k = gain.shape
    best = jnp.max(gain, axis=(0, 2))                                       # (S,)
    order = (jnp.arange(k, dtype=jnp.int32)[None, None, :] * n_cut
             + jnp.arange(n_cut, dtype=jnp.int32)[:, None, None])           # j-major
    flat = jnp.min(jnp.where(gain == best[None, :, None], order, n_cut * k), axis=(0, 2))
    flat = jnp.minimum(flat, n_cut * k - 1)
    return best, (flat // n_cut).astype(jnp.int32), (flat % n_cut).astype(jnp.int32)
