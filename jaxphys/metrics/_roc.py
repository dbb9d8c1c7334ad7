"""Score-based metrics: ROC curve, area under a curve, ROC AUC, log-loss.

**Degenerate cases.** The true-positive rate is undefined without positives and
the false-positive rate without negatives: :func:`roc_curve` then returns NaN
for the undefined rate and :func:`roc_auc` returns NaN (scikit-learn warns,
respectively raises).

**Weights.** Every function takes optional per-example weights
``sample_weight`` ``(n,)`` (finite, non-negative, not all zero), with which
counts become sums of weights, as scikit-learn's ``sample_weight``; the curves
leave out examples of zero weight (their scores give no threshold).

Probabilities given to :func:`log_loss` are clipped to
``[eps, 1 - eps]`` (``eps`` the machine epsilon of their dtype), so a
confidently wrong prediction costs a large but finite loss.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_finite, is_concrete

from ._common import (check_binary, check_class_range, check_same_shape, float_dtype,
                      labels_1d, sample_weights)


class RocCurve(NamedTuple):
    """A receiver operating characteristic curve, one point per distinct score.

    Fields (float arrays of one shape ``(m + 1,)``, m the number of distinct scores):
        fpr: false-positive rate FP/(FP+TN) of the rule "score >= threshold",
            increasing from 0 to 1.
        tpr: true-positive rate TP/(TP+FN) of the same rule, increasing from 0 to 1.
        thresholds: the thresholds, decreasing; ``thresholds[0] = +inf`` (nothing
            selected), then each distinct score from the highest to the lowest.

    Example:
        A perfect ranking: the curve goes straight up to TPR = 1, then right.

        >>> from jaxphys.metrics import auc, roc_curve
        >>> roc = roc_curve(jnp.array([0, 0, 1, 1]), jnp.array([1.0, 2.0, 3.0, 4.0]))
        >>> roc.thresholds.tolist(), roc.fpr.tolist(), roc.tpr.tolist()
        ([inf, 4.0, 3.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.5, 1.0], [0.0, 0.5, 1.0, 1.0, 1.0])
        >>> float(auc(roc.fpr, roc.tpr))
        1.0
    """

    fpr: jax.Array
    tpr: jax.Array
    thresholds: jax.Array


def _scores_1d(y_true: Any, scores: Any) -> tuple[jax.Array, jax.Array]:
    y_true = labels_1d(y_true, "y_true")
    scores = as_array(scores, "scores", ndim=1)
    check_same_shape(y_true, "y_true", scores, "scores")
    check_binary(y_true, "y_true")
    if not jnp.issubdtype(scores.dtype, jnp.inexact):
        scores = scores.astype(float_dtype())
    check_finite(scores, "scores")
    return y_true, scores


def roc_curve(y_true: Any, scores: Any, *, sample_weight: Any = None) -> RocCurve:
    r"""ROC curve of a binary classifier: TPR against FPR as the threshold sweeps.

    An example is selected when :math:`s_i \ge t`. For each threshold t
    (``+inf`` and then every distinct score, decreasing)

    .. math::
        \mathrm{TPR}(t) = \frac{\#\{i: y_i = 1, s_i \ge t\}}{\#\{y_i = 1\}}, \qquad
        \mathrm{FPR}(t) = \frac{\#\{i: y_i = 0, s_i \ge t\}}{\#\{y_i = 0\}}

    (with weights, each # is a sum of the examples' weights).

    Every distinct score gives a point (scikit-learn's
    ``roc_curve(..., drop_intermediate=False)``). Runs on the host (the number
    of points depends on the data), so it cannot be jitted; use
    :func:`roc_auc` inside ``jit``. Without positives (negatives) the TPR (FPR)
    is NaN.

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        scores: real-valued scores, larger meaning "more positive" (a
            probability, logit or likelihood ratio), shape ``(n,)``, finite.
        sample_weight: optional weights ``(n,)``.

    Returns:
        :class:`RocCurve` (fpr, tpr, thresholds).

    Example:
        >>> roc = roc_curve(jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8]))
        >>> roc.fpr.tolist(), roc.tpr.tolist()
        ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y_true, scores = _scores_1d(y_true, scores)
    weights = sample_weights(sample_weight, y_true.shape[0])
    if not (is_concrete(y_true) and is_concrete(scores)):
        raise TypeError("roc_curve runs on the host and cannot be traced (jit/vmap); "
                        "use jaxphys.metrics.roc_auc inside jitted code")
    tp, fp, thresholds = weighted_counts_at_thresholds(y_true, scores, weights)
    tp = np.r_[0.0, tp]
    fp = np.r_[0.0, fp]
    n_pos, n_neg = tp[-1], fp[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = tp / n_pos if n_pos > 0 else np.full_like(tp, np.nan)
        fpr = fp / n_neg if n_neg > 0 else np.full_like(fp, np.nan)
    thresholds = np.r_[np.inf, thresholds]
    dt = scores.dtype
    return RocCurve(fpr=jnp.asarray(fpr, dt), tpr=jnp.asarray(tpr, dt),
                    thresholds=jnp.asarray(thresholds, dt))


def auc(fpr: Any, tpr: Any) -> jax.Array:
    r"""Area under a curve by the trapezoid rule (usually a ROC curve).

    .. math:: A = \sum_{k=1}^{m} (x_k - x_{k-1})\,\frac{y_k + y_{k-1}}{2}

    with :math:`x` = ``fpr`` and :math:`y` = ``tpr``. The abscissa must be
    monotonic (checked when concrete); if it decreases, the area is still
    returned positive.

    Args:
        fpr: abscissa, shape ``(m,)`` with m >= 2, monotonic.
        tpr: ordinate, shape ``(m,)``.

    Returns:
        Scalar float.

    Example:
        >>> float(auc(jnp.array([0.0, 0.0, 0.5, 0.5, 1.0]), jnp.array([0.0, 0.5, 0.5, 1.0, 1.0])))
        0.75
    """
    fpr = as_array(fpr, "fpr", ndim=1)
    tpr = as_array(tpr, "tpr", ndim=1)
    check_same_shape(fpr, "fpr", tpr, "tpr")
    if fpr.shape[0] < 2:
        raise ValueError(f"fpr: expected at least 2 points to integrate, got {fpr.shape[0]}")
    if not jnp.issubdtype(fpr.dtype, jnp.inexact):
        fpr = fpr.astype(float_dtype())
    if not jnp.issubdtype(tpr.dtype, jnp.inexact):
        tpr = tpr.astype(float_dtype())
    if is_concrete(fpr):
        d = np.diff(np.asarray(fpr))
        if np.any(d < 0) and np.any(d > 0):
            raise ValueError("fpr: expected a monotonic (increasing or decreasing) abscissa")
    return _trapezoid(fpr, tpr)


def weighted_counts_at_thresholds(y_true: Any, scores: Any, weights: Any):
    """Host side: for each distinct score t (decreasing), the (weighted) numbers of positives
    and negatives with score >= t; examples of zero weight are left out."""
    y = np.asarray(y_true) == 1
    s = np.asarray(scores)
    w = np.ones(s.shape, np.float64) if weights is None else np.asarray(weights, np.float64)
    keep = w > 0
    y, s, w = y[keep], s[keep], w[keep]
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted, w_sorted = s[order], y[order], w[order]
    # The last position of every run of equal scores: all examples of that
    # score are selected together.
    last_of_run = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
    tp = np.cumsum(w_sorted * y_sorted)[last_of_run]
    fp = np.cumsum(w_sorted * ~y_sorted)[last_of_run]
    return tp, fp, s_sorted[last_of_run]


@jax.jit
def _trapezoid(fpr, tpr):
    dx = fpr[1:] - fpr[:-1]
    area = jnp.sum(dx * 0.5 * (tpr[1:] + tpr[:-1]))
    return jnp.abs(area)


def roc_auc(y_true: Any, scores: Any, *, sample_weight: Any = None) -> jax.Array:
    r"""Area under the ROC curve, computed exactly in O(n log n) and jittable.

    The area under the (trapezoid) ROC curve equals the Mann–Whitney
    probability that a random positive outscores a random negative, ties
    counting one half:

    .. math::
        \mathrm{AUC} = \frac{1}{n_+ n_-}\sum_{i: y_i=1}\left[
        \#\{j: y_j=0, s_j < s_i\} + \tfrac12\#\{j: y_j=0, s_j = s_i\}\right] .

    0.5 is a random classifier, 1 a perfect one. With weights every count is
    a sum of weights (:math:`n_\pm` the total weights of each class), which
    equals the trapezoid area under the weighted ROC curve. Returns NaN when
    ``y_true`` holds only one class (the AUC is undefined).

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        scores: real-valued scores, shape ``(n,)``, finite.
        sample_weight: optional weights ``(n,)``.

    Returns:
        Scalar float in [0, 1] (or NaN).

    Example:
        >>> float(roc_auc(jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8])))
        0.75
    """
    y_true, scores = _scores_1d(y_true, scores)
    weights = sample_weights(sample_weight, y_true.shape[0], scores.dtype)
    return _roc_auc(y_true, scores, weights)


@jax.jit
def _roc_auc(y_true, scores, weights):
    dt = scores.dtype
    w = jnp.ones(scores.shape, dt) if weights is None else weights.astype(dt)
    pos = (y_true == 1)
    neg = jnp.where(pos, 0.0, w)
    order = jnp.argsort(scores)
    s_sorted = scores[order]
    # neg_before[k] = number of negatives among the k lowest scores
    neg_before = jnp.concatenate([jnp.zeros((1,), dt), jnp.cumsum(neg[order])])
    lo = jnp.searchsorted(s_sorted, scores, side="left")
    hi = jnp.searchsorted(s_sorted, scores, side="right")
    below = neg_before[lo]
    ties = neg_before[hi] - below
    n_pos = jnp.sum(jnp.where(pos, w, 0.0))
    n_neg = jnp.sum(neg)
    wins = jnp.sum(jnp.where(pos, w * (below + 0.5 * ties), 0.0))
    den = n_pos * n_neg
    return jnp.where(den > 0, wins / jnp.where(den > 0, den, 1.0), jnp.nan)


def log_loss(y_true: Any, prob: Any, *, sample_weight: Any = None) -> jax.Array:
    r"""Mean log-loss (cross-entropy) of predicted probabilities (weighted mean with weights).

    Binary (``prob`` of shape ``(n,)``, the probability of class 1):

    .. math:: L = -\frac1n\sum_i \left[y_i\log p_i + (1-y_i)\log(1-p_i)\right]

    Multi-class (``prob`` of shape ``(n, C)``, rows the class probabilities,
    ``y_true`` integer labels in ``[0, C)``): :math:`L = -\frac1n\sum_i \log p_{i, y_i}`.

    Probabilities are clipped to ``[eps, 1 - eps]`` with ``eps`` the machine
    epsilon of their dtype (as scikit-learn does), so p = 0 for a true
    positive gives a large finite loss, not inf. With ``sample_weight`` the mean
    is :math:`\sum_i w_i \ell_i / \sum_i w_i`. Given logits, prefer the
    stable :func:`jaxphys.losses.binary_cross_entropy` (per example), reduced
    with weights by :func:`jaxphys.losses.reduce`.

    Args:
        y_true: labels, shape ``(n,)``: 0/1 in the binary case, integers in
            ``[0, C)`` in the multi-class case.
        prob: probabilities in [0, 1] (checked when concrete), shape ``(n,)`` or ``(n, C)``.
        sample_weight: optional weights ``(n,)``.

    Returns:
        Scalar float, nats per example.

    Example:
        >>> round(float(log_loss(jnp.array([1, 0]), jnp.array([0.5, 0.5]))), 4)  # log 2
        0.6931
    """
    y_true = labels_1d(y_true, "y_true")
    prob = as_array(prob, "prob", ndim=(1, 2))
    if not jnp.issubdtype(prob.dtype, jnp.inexact):
        prob = prob.astype(float_dtype())
    if prob.shape[0] != y_true.shape[0]:
        raise ValueError(f"prob: expected {y_true.shape[0]} rows (the length of y_true), got "
                         f"shape {tuple(prob.shape)}")
    check_finite(prob, "prob")
    if is_concrete(prob):
        arr = np.asarray(prob)
        if np.any(arr < 0) or np.any(arr > 1):
            raise ValueError(f"prob: every value must lie in [0, 1], got range "
                             f"[{arr.min()!r}, {arr.max()!r}]")
    if prob.ndim == 1:
        check_binary(y_true, "y_true")
    else:
        check_class_range(y_true, "y_true", prob.shape[1])
    return _log_loss(y_true, prob, sample_weights(sample_weight, y_true.shape[0], prob.dtype))


def _mean(values, weights):
    if weights is None:
        return jnp.mean(values)
    return jnp.sum(weights * values) / jnp.sum(weights)


@jax.jit
def _log_loss(y_true, prob, weights):
    eps = jnp.finfo(prob.dtype).eps
    p = jnp.clip(prob, eps, 1.0 - eps)
    if prob.ndim == 1:
        y = y_true.astype(prob.dtype)
        return -_mean(y * jnp.log(p) + (1.0 - y) * jnp.log1p(-p), weights)
    n_classes = prob.shape[1]
    idx = jnp.clip(y_true.astype(jnp.int32), 0, n_classes - 1)
    p_true = jnp.take_along_axis(p, idx[:, None], axis=1)[:, 0]
    return -_mean(jnp.log(p_true), weights)
