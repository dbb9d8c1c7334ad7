"""Classification metrics from labels: accuracy, confusion matrix, precision,
recall (sensitivity), selectivity (specificity), F1.

All functions take batches: ``y_true`` and ``y_pred`` of shape ``(n,)``, and
optional per-example weights ``sample_weight`` of shape ``(n,)`` (finite,
non-negative, not all zero; event weights in physics), with which every count
below becomes a sum of weights, as in scikit-learn. They are written in
``jax.numpy`` and can be jitted (``n_classes`` static); the label-value checks
run only on concrete inputs.

Binary metrics use the positive class 1 and are built on the counts

* TP = #(y=1, ŷ=1), FP = #(y=0, ŷ=1), FN = #(y=1, ŷ=0), TN = #(y=0, ŷ=0).

**Degenerate cases.** When a ratio's denominator is zero (precision with no
predicted positives, recall with no true positives, selectivity with no true
negatives, F1 with no positives at all) the result is ``zero_division``,
0.0 by default, the value scikit-learn returns.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int

from ._common import (check_binary, check_class_range, check_same_shape, float_dtype,
                      labels_1d, sample_weights)


def accuracy(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> jax.Array:
    r"""Fraction of correctly classified examples (weighted: of the total weight).

    .. math:: \mathrm{acc} = \frac{\sum_i w_i [\hat y_i = y_i]}{\sum_i w_i}

    (all :math:`w_i = 1` without ``sample_weight``).

    Args:
        y_true: true labels, shape ``(n,)``, n >= 1 (any label values).
        y_pred: predicted labels, shape ``(n,)``.
        sample_weight: optional weights ``(n,)``.

    Returns:
        Scalar float in [0, 1].

    Example:
        >>> float(accuracy(jnp.array([0, 1, 2, 1]), jnp.array([0, 2, 2, 1])))
        0.75
    """
    y_true = labels_1d(y_true, "y_true")
    y_pred = labels_1d(y_pred, "y_pred")
    check_same_shape(y_true, "y_true", y_pred, "y_pred")
    return _accuracy(y_true, y_pred, sample_weights(sample_weight, y_true.shape[0]))


@jax.jit
def _accuracy(y_true, y_pred, weights):
    correct = (y_true == y_pred).astype(float_dtype())
    if weights is None:
        return jnp.mean(correct)
    return jnp.sum(weights * correct) / jnp.sum(weights)


def confusion_matrix(y_true: Any, y_pred: Any, n_classes: int, *,
                     sample_weight: Any = None) -> jax.Array:
    r"""Confusion matrix ``C[i, j]``: the number (or weight) of class-i examples predicted as j.

    .. math:: C_{ij} = \sum_{k=1}^{n} w_k\,[y_k = i]\,[\hat y_k = j]

    Rows are true classes, columns predicted ones (scikit-learn's
    convention); the diagonal holds the correct predictions. For binary labels
    ``C = [[TN, FP], [FN, TP]]``.

    Args:
        y_true: integer labels in ``[0, n_classes)``, shape ``(n,)``.
        y_pred: integer labels in ``[0, n_classes)``, shape ``(n,)``.
        n_classes: number of classes C >= 1, a Python int (static under ``jit``).
            Labels out of range raise when concrete; under ``jit`` such
            examples are not counted.
        sample_weight: optional weights ``(n,)`` (the matrix is then float).

    Returns:
        int32 array of shape ``(C, C)`` (float with ``sample_weight``).

    Example:
        >>> confusion_matrix(jnp.array([0, 1, 1, 2]), jnp.array([0, 1, 2, 2]), 3).tolist()
        [[1, 0, 0], [0, 1, 1], [0, 0, 1]]
    """
    n_classes = as_int(n_classes, "n_classes", minimum=1)
    y_true = labels_1d(y_true, "y_true")
    y_pred = labels_1d(y_pred, "y_pred")
    check_same_shape(y_true, "y_true", y_pred, "y_pred")
    check_class_range(y_true, "y_true", n_classes)
    check_class_range(y_pred, "y_pred", n_classes)
    return _confusion_matrix(y_true, y_pred, n_classes,
                             sample_weights(sample_weight, y_true.shape[0]))


@partial(jax.jit, static_argnums=2)
def _confusion_matrix(y_true, y_pred, n_classes, weights):
    t = y_true.astype(jnp.int32)
    p = y_pred.astype(jnp.int32)
    valid = (t >= 0) & (t < n_classes) & (p >= 0) & (p < n_classes)
    flat = jnp.where(valid, t * n_classes + p, 0)
    if weights is None:
        counts = jnp.bincount(flat, weights=valid.astype(jnp.int32),
                              length=n_classes * n_classes)
        return counts.astype(jnp.int32).reshape(n_classes, n_classes)
    counts = jnp.bincount(flat, weights=jnp.where(valid, weights, 0.0),
                          length=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


class BinaryCounts(NamedTuple):
    """The four counts of a binary confusion matrix (positive class 1).

    Fields (each an int32 scalar; float sums of weights with ``sample_weight``):
        tp: true positives, y=1 and ŷ=1.
        fp: false positives, y=0 and ŷ=1.
        fn: false negatives, y=1 and ŷ=0.
        tn: true negatives, y=0 and ŷ=0.

    Example:
        >>> from jaxphys.metrics import binary_counts
        >>> c = binary_counts(jnp.array([1, 1, 0, 0, 1]), jnp.array([1, 0, 0, 1, 1]))
        >>> int(c.tp), int(c.fp), int(c.fn), int(c.tn)
        (2, 1, 1, 1)
        >>> round(float(c.tp / (c.tp + c.fp)), 4), round(float(c.tp / (c.tp + c.fn)), 4)
        (0.6667, 0.6667)
    """

    tp: jax.Array
    fp: jax.Array
    fn: jax.Array
    tn: jax.Array


def binary_counts(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> BinaryCounts:
    """TP, FP, FN, TN of binary labels (0/1, shape ``(n,)``, positive class 1), or
    their sums of weights with ``sample_weight`` ``(n,)``.

    Example:
        >>> c = binary_counts(jnp.array([1, 1, 0, 0, 1]), jnp.array([1, 0, 0, 1, 1]))
        >>> [int(v) for v in c]
        [2, 1, 1, 1]
    """
    return _binary_counts(*_checked(y_true, y_pred, sample_weight))


def _checked(y_true: Any, y_pred: Any, sample_weight: Any = None):
    y_true = labels_1d(y_true, "y_true")
    y_pred = labels_1d(y_pred, "y_pred")
    check_same_shape(y_true, "y_true", y_pred, "y_pred")
    check_binary(y_true, "y_true")
    check_binary(y_pred, "y_pred")
    return y_true, y_pred, sample_weights(sample_weight, y_true.shape[0])


@jax.jit
def _binary_counts(y_true, y_pred, weights=None):
    t = y_true == 1
    p = y_pred == 1
    if weights is None:
        count = lambda m: jnp.sum(m.astype(jnp.int32))  # noqa: E731
    else:
        count = lambda m: jnp.sum(jnp.where(m, weights, 0.0))  # noqa: E731
    return BinaryCounts(tp=count(t & p), fp=count(~t & p), fn=count(t & ~p), tn=count(~t & ~p))


def _ratio(num: jax.Array, den: jax.Array, zero_division: Any) -> jax.Array:
    dt = float_dtype()
    num = num.astype(dt)
    den = den.astype(dt)
    safe = jnp.where(den > 0, den, 1.0)
    return jnp.where(den > 0, num / safe, jnp.asarray(zero_division, dt))


def precision(y_true: Any, y_pred: Any, *, zero_division: float = 0.0,
              sample_weight: Any = None) -> jax.Array:
    r"""Precision (purity) of the positive class: the fraction of predicted positives that are real.

    .. math:: P = \frac{TP}{TP + FP}

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        y_pred: binary predicted labels 0/1, shape ``(n,)``.
        sample_weight: optional weights ``(n,)`` (counts become sums of weights).
        zero_division: value returned when nothing is predicted positive (TP+FP = 0).

    Returns:
        Scalar float in [0, 1].

    Example:
        >>> round(float(precision(jnp.array([1, 1, 0, 0, 1]), jnp.array([1, 0, 0, 1, 1]))), 4)
        0.6667
    """
    return _precision(*_checked(y_true, y_pred, sample_weight), zero_division)


@jax.jit
def _precision(y_true, y_pred, weights, zero_division):
    c = _binary_counts(y_true, y_pred, weights)
    return _ratio(c.tp, c.tp + c.fp, zero_division)


def recall(y_true: Any, y_pred: Any, *, zero_division: float = 0.0,
           sample_weight: Any = None) -> jax.Array:
    r"""Recall, sensitivity, true-positive rate or efficiency: the fraction of real positives found.

    .. math:: R = \frac{TP}{TP + FN}

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        y_pred: binary predicted labels 0/1, shape ``(n,)``.
        sample_weight: optional weights ``(n,)`` (counts become sums of weights).
        zero_division: value returned when there are no real positives (TP+FN = 0).

    Returns:
        Scalar float in [0, 1].

    Example:
        >>> round(float(recall(jnp.array([1, 1, 0, 0, 1]), jnp.array([1, 0, 0, 1, 1]))), 4)
        0.6667
    """
    return _recall(*_checked(y_true, y_pred, sample_weight), zero_division)


@jax.jit
def _recall(y_true, y_pred, weights, zero_division):
    c = _binary_counts(y_true, y_pred, weights)
    return _ratio(c.tp, c.tp + c.fn, zero_division)


def selectivity(y_true: Any, y_pred: Any, *, zero_division: float = 0.0,
                sample_weight: Any = None) -> jax.Array:
    r"""Selectivity, specificity or true-negative rate: the fraction of real negatives rejected.

    .. math:: S = \frac{TN}{TN + FP} = 1 - \mathrm{FPR}

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        y_pred: binary predicted labels 0/1, shape ``(n,)``.
        sample_weight: optional weights ``(n,)`` (counts become sums of weights).
        zero_division: value returned when there are no real negatives (TN+FP = 0).

    Returns:
        Scalar float in [0, 1].

    Example:
        >>> float(selectivity(jnp.array([1, 1, 0, 0, 1]), jnp.array([1, 0, 0, 1, 1])))
        0.5
    """
    return _selectivity(*_checked(y_true, y_pred, sample_weight), zero_division)


@jax.jit
def _selectivity(y_true, y_pred, weights, zero_division):
    c = _binary_counts(y_true, y_pred, weights)
    return _ratio(c.tn, c.tn + c.fp, zero_division)


def f1_score(y_true: Any, y_pred: Any, *, zero_division: float = 0.0,
             sample_weight: Any = None) -> jax.Array:
    r"""F1 score, the harmonic mean of precision and recall.

    .. math:: F_1 = \frac{2PR}{P+R} = \frac{2\,TP}{2\,TP + FP + FN}

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        y_pred: binary predicted labels 0/1, shape ``(n,)``.
        sample_weight: optional weights ``(n,)`` (counts become sums of weights).
        zero_division: value returned when there are no positives at all,
            neither real nor predicted (2TP+FP+FN = 0).

    Returns:
        Scalar float in [0, 1].

    Example:
        >>> round(float(f1_score(jnp.array([1, 1, 0, 0, 1]), jnp.array([1, 0, 0, 1, 1]))), 4)
        0.6667
    """
    return _f1_score(*_checked(y_true, y_pred, sample_weight), zero_division)


@jax.jit
def _f1_score(y_true, y_pred, weights, zero_division):
    c = _binary_counts(y_true, y_pred, weights)
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, zero_division)


# Synonyms used in physics and medicine.
sensitivity = recall
specificity = selectivity
