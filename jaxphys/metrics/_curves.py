"""Threshold curves of a binary classifier: precision–recall, background rejection at a
fixed signal efficiency, and the calibration (reliability) curve.

All run on the host (their lengths depend on the data) and take optional
per-example weights ``sample_weight`` ``(n,)``, with which counts become sums
of weights; examples of zero weight are left out of the thresholds.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, is_concrete

from ._common import check_binary, check_same_shape, labels_1d, sample_weights
from ._roc import _scores_1d, weighted_counts_at_thresholds

__all__ = ["PrecisionRecallCurve", "precision_recall_curve", "BackgroundRejection",
           "background_rejection", "CalibrationCurve", "calibration_curve"]


def _host(name: str, *arrays: Any) -> None:
    if not all(is_concrete(a) for a in arrays):
        raise TypeError(f"{name} runs on the host and cannot be traced (jit/vmap)")


class PrecisionRecallCurve(NamedTuple):
    """Precision and recall of the rule "score >= threshold", one point per distinct score.

    Fields (float):
        precision: ``(m + 1,)`` TP/(TP+FP) at each threshold (0 when nothing is
            selected), then a final 1.
        recall: ``(m + 1,)`` TP/(TP+FN), decreasing, then a final 0.
        thresholds: ``(m,)`` the distinct scores, increasing.

    Example:
        A perfect ranking: precision reaches 1 while the recall is still 1.

        >>> from jaxphys.metrics import precision_recall_curve
        >>> c = precision_recall_curve(jnp.array([0, 0, 1, 1]), jnp.array([1.0, 2.0, 3.0, 4.0]))
        >>> c.thresholds.tolist(), c.recall.tolist()
        ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 0.5, 0.0])
        >>> [round(v, 4) for v in c.precision.tolist()]        # 2/4, 2/3, 2/2, 1/1, end
        [0.5, 0.6667, 1.0, 1.0, 1.0]
    """

    precision: jax.Array
    recall: jax.Array
    thresholds: jax.Array


def precision_recall_curve(y_true: Any, scores: Any, *,
                           sample_weight: Any = None) -> PrecisionRecallCurve:
    r"""Precision (purity) against recall (efficiency) as the threshold sweeps.

    For each distinct score t, in increasing order,

    .. math::
        P(t) = \frac{TP(t)}{TP(t) + FP(t)}, \qquad R(t) = \frac{TP(t)}{TP(t) + FN(t)},

    TP(t) the (weighted) number of positives with :math:`s \ge t`, and so on;
    the arrays end with the point P = 1, R = 0 (scikit-learn's layout, its
    ``drop_intermediate=False``). Without positives the recall is NaN.

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        scores: real-valued scores, shape ``(n,)``, finite.
        sample_weight: optional weights ``(n,)``.

    Returns:
        :class:`PrecisionRecallCurve`.

    Example:
        >>> from jaxphys.metrics import precision_recall_curve
        >>> c = precision_recall_curve(jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8]))
        >>> [round(v, 4) for v in c.precision.tolist()], c.recall.tolist()
        ([0.5, 0.6667, 0.5, 1.0, 1.0], [1.0, 1.0, 0.5, 0.5, 0.0])
    """
    y_true, scores = _scores_1d(y_true, scores)
    weights = sample_weights(sample_weight, y_true.shape[0])
    _host("precision_recall_curve", y_true, scores)
    tp, fp, thresholds = weighted_counts_at_thresholds(y_true, scores, weights)
    selected = tp + fp
    precision = np.where(selected > 0, tp / np.where(selected > 0, selected, 1.0), 0.0)
    recall = tp / tp[-1] if tp[-1] > 0 else np.full_like(tp, np.nan)
    dt = scores.dtype
    return PrecisionRecallCurve(precision=jnp.asarray(np.r_[precision[::-1], 1.0], dt),
                                recall=jnp.asarray(np.r_[recall[::-1], 0.0], dt),
                                thresholds=jnp.asarray(thresholds[::-1], dt))


class BackgroundRejection(NamedTuple):
    """The working point of :func:`background_rejection` (``()`` floats).

    Fields:
        threshold: the score cut, "score >= threshold" selects.
        signal_efficiency: the signal efficiency reached (>= the target).
        background_efficiency: the fraction of background kept, ε_b.
        rejection: 1/ε_b (inf when no background passes).

    Example:
        Keeping both signal events (scores 3.5 and 5) needs the cut at 3.5, which also
        keeps one background event (score 4) of four:

        >>> from jaxphys.metrics import background_rejection
        >>> r = background_rejection(jnp.array([0, 0, 0, 0, 1, 1]),
        ...                          jnp.array([1.0, 2.0, 3.0, 4.0, 3.5, 5.0]), 1.0)
        >>> float(r.threshold), float(r.signal_efficiency), float(r.background_efficiency)
        (3.5, 1.0, 0.25)
        >>> float(r.rejection)
        4.0
    """

    threshold: jax.Array
    signal_efficiency: jax.Array
    background_efficiency: jax.Array
    rejection: jax.Array


def background_rejection(y_true: Any, scores: Any, signal_efficiency: float, *,
                         sample_weight: Any = None) -> BackgroundRejection:
    r"""Background rejection :math:`1/\varepsilon_b` at a fixed signal efficiency.

    Signal is class 1. The cut is the highest threshold t (a distinct score)
    whose signal efficiency :math:`\varepsilon_s(t) = TPR(t)` reaches the
    target, without interpolation between ROC points (a cut one can apply);
    :math:`\varepsilon_b = FPR(t)`.

    Args:
        y_true: binary labels 0/1 (1 = signal), shape ``(n,)``, both classes present.
        scores: real-valued scores, shape ``(n,)``, finite.
        signal_efficiency: target :math:`\varepsilon_s` in (0, 1].
        sample_weight: optional weights ``(n,)``.

    Returns:
        :class:`BackgroundRejection`.

    Example:
        >>> from jaxphys.metrics import background_rejection
        >>> r = background_rejection(jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.4, 0.35, 0.8]), 0.5)
        >>> float(r.threshold), float(r.rejection)
        (0.8, inf)
    """
    y_true, scores = _scores_1d(y_true, scores)
    weights = sample_weights(sample_weight, y_true.shape[0])
    _host("background_rejection", y_true, scores)
    target = float(signal_efficiency)
    if not 0.0 < target <= 1.0:
        raise ValueError(f"signal_efficiency: expected a value in (0, 1], got {target}")
    tp, fp, thresholds = weighted_counts_at_thresholds(y_true, scores, weights)
    if not (tp[-1] > 0 and fp[-1] > 0):
        raise ValueError("y_true: expected both signal (1) and background (0) examples of "
                         "positive weight")
    eff_s, eff_b = tp / tp[-1], fp / fp[-1]
    k = int(np.argmax(eff_s >= target * (1.0 - 1e-12)))
    with np.errstate(divide="ignore"):
        rejection = 1.0 / eff_b[k]
    dt = scores.dtype
    return BackgroundRejection(*(jnp.asarray(v, dt) for v in
                                 (thresholds[k], eff_s[k], eff_b[k], rejection)))


class CalibrationCurve(NamedTuple):
    """A reliability diagram, one point per non-empty bin of predicted probability.

    Fields (float, shape ``(b,)``, b the number of non-empty bins):
        prob_true: (weighted) fraction of positives in the bin.
        prob_pred: (weighted) mean predicted probability in the bin.
        weight: number (sum of weights) of examples in the bin.

    Example:
        A calibrated classifier: 1 of the 4 examples given 0.25 and 3 of the 4 given
        0.75 are positive, so the points lie on the diagonal.

        >>> from jaxphys.metrics import calibration_curve
        >>> c = calibration_curve(jnp.array([1, 0, 0, 0, 1, 1, 1, 0]),
        ...                       jnp.array([0.25] * 4 + [0.75] * 4), n_bins=2)
        >>> c.prob_true.tolist(), c.prob_pred.tolist(), c.weight.tolist()
        ([0.25, 0.75], [0.25, 0.75], [4.0, 4.0])
    """

    prob_true: jax.Array
    prob_pred: jax.Array
    weight: jax.Array


_STRATEGIES = ("uniform", "quantile")


def calibration_curve(y_true: Any, prob: Any, *, n_bins: int = 5, strategy: str = "uniform",
                      sample_weight: Any = None) -> CalibrationCurve:
    r"""Calibration (reliability) curve: observed frequency against predicted probability.

    The probabilities are binned (``'uniform'``: ``n_bins`` equal bins of
    [0, 1]; ``'quantile'``: edges at the quantiles of ``prob``) with interior
    edges :math:`e_1 < \dots < e_{B-1}` and example i in bin
    :math:`\#\{k: e_k < p_i\}` (scikit-learn's ``calibration_curve``
    binning); in each non-empty bin

    .. math::
        \text{prob\_true} = \frac{\sum_{i\in b} w_i y_i}{\sum_{i\in b} w_i}, \qquad
        \text{prob\_pred} = \frac{\sum_{i\in b} w_i p_i}{\sum_{i\in b} w_i} .

    A calibrated classifier lies on the diagonal.

    Args:
        y_true: binary labels 0/1, shape ``(n,)``.
        prob: predicted probabilities of class 1 in [0, 1], shape ``(n,)``.
        n_bins: number of bins (>= 1).
        strategy: ``'uniform'`` or ``'quantile'``.
        sample_weight: optional weights ``(n,)``.

    Returns:
        :class:`CalibrationCurve`.

    Example:
        >>> from jaxphys.metrics import calibration_curve
        >>> c = calibration_curve(jnp.array([0, 0, 1, 1]), jnp.array([0.1, 0.3, 0.7, 0.9]),
        ...                       n_bins=2)
        >>> c.prob_true.tolist(), [round(v, 4) for v in c.prob_pred.tolist()]
        ([0.0, 1.0], [0.2, 0.8])
    """
    y_true = labels_1d(y_true, "y_true")
    prob = as_array(prob, "prob", ndim=1)
    check_same_shape(y_true, "y_true", prob, "prob")
    check_binary(y_true, "y_true")
    check_finite(prob, "prob")
    n_bins = as_int(n_bins, "n_bins", minimum=1)
    check_in(strategy, "strategy", _STRATEGIES)
    weights = sample_weights(sample_weight, y_true.shape[0])
    _host("calibration_curve", y_true, prob)
    p = np.asarray(prob, np.float64)
    if np.any(p < 0) or np.any(p > 1):
        raise ValueError(f"prob: every value must lie in [0, 1], got range [{p.min()!r}, "
                         f"{p.max()!r}]")
    y = np.asarray(y_true, np.float64)
    w = np.ones_like(p) if weights is None else np.asarray(weights, np.float64)
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0.0, 100.0, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], p)
    total = np.bincount(bins, weights=w, minlength=n_bins)
    positives = np.bincount(bins, weights=w * y, minlength=n_bins)
    summed = np.bincount(bins, weights=w * p, minlength=n_bins)
    filled = total > 0
    dt = jnp.result_type(float)
    return CalibrationCurve(prob_true=jnp.asarray(positives[filled] / total[filled], dt),
                            prob_pred=jnp.asarray(summed[filled] / total[filled], dt),
                            weight=jnp.asarray(total[filled], dt))
