"""Event weights and HEP figures of merit in jaxphys.metrics, against scikit-learn's
``sample_weight`` and the closed forms of Cowan et al. (2011)."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import sklearn.metrics as skm
from sklearn.calibration import calibration_curve as sk_calibration_curve

from jaxphys.losses import binary_cross_entropy, reduce
from jaxphys.metrics import (accuracy, asimov_significance, background_rejection,
                             binary_counts, calibration_curve, confusion_matrix, f1_score,
                             log_loss, precision, precision_recall_curve, recall, roc_auc,
                             roc_curve, selectivity, significance)

RNG = np.random.default_rng(0)
N = 300
Y = RNG.integers(0, 2, N)
SCORES = np.round(Y * 0.8 + RNG.normal(0, 0.6, N), 1)  # rounded: many ties
PROB = 1 / (1 + np.exp(-SCORES))
PRED = (SCORES > 0.4).astype(int)
W = RNG.exponential(1.0, N) * (RNG.random(N) > 0.1)  # a tenth of the weights are zero


def test_label_metrics_with_weights_match_sklearn(x64):
    np.testing.assert_allclose(float(accuracy(Y, PRED, sample_weight=W)),
                               skm.accuracy_score(Y, PRED, sample_weight=W), rtol=1e-12)
    np.testing.assert_allclose(float(precision(Y, PRED, sample_weight=W)),
                               skm.precision_score(Y, PRED, sample_weight=W), rtol=1e-12)
    np.testing.assert_allclose(float(recall(Y, PRED, sample_weight=W)),
                               skm.recall_score(Y, PRED, sample_weight=W), rtol=1e-12)
    np.testing.assert_allclose(float(f1_score(Y, PRED, sample_weight=W)),
                               skm.f1_score(Y, PRED, sample_weight=W), rtol=1e-12)
    np.testing.assert_allclose(float(selectivity(Y, PRED, sample_weight=W)),
                               skm.recall_score(1 - Y, 1 - PRED, sample_weight=W), rtol=1e-12)
    y3 = RNG.integers(0, 3, N)
    p3 = RNG.integers(0, 3, N)
    np.testing.assert_allclose(np.asarray(confusion_matrix(y3, p3, 3, sample_weight=W)),
                               skm.confusion_matrix(y3, p3, sample_weight=W), rtol=1e-12)
    tn, fp, fn, tp = skm.confusion_matrix(Y, PRED, sample_weight=W).ravel()
    c = binary_counts(Y, PRED, sample_weight=W)
    np.testing.assert_allclose([float(c.tp), float(c.fp), float(c.fn), float(c.tn)],
                               [tp, fp, fn, tn], rtol=1e-12)
    # unweighted calls keep integer counts
    assert confusion_matrix(Y, PRED, 2).dtype == np.int32


def test_score_metrics_with_weights_match_sklearn(x64):
    roc = roc_curve(Y, SCORES, sample_weight=W)
    fpr, tpr, thr = skm.roc_curve(Y, SCORES, sample_weight=W, drop_intermediate=False)
    np.testing.assert_allclose(np.asarray(roc.fpr), fpr, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(roc.tpr), tpr, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(roc.thresholds)[1:], thr[1:], rtol=1e-12)
    np.testing.assert_allclose(float(roc_auc(Y, SCORES, sample_weight=W)),
                               skm.roc_auc_score(Y, SCORES, sample_weight=W), rtol=1e-12)
    np.testing.assert_allclose(float(log_loss(Y, PROB, sample_weight=W)),
                               skm.log_loss(Y, PROB, sample_weight=W), rtol=1e-12)
    prob3 = RNG.dirichlet(np.ones(3), N)
    y3 = RNG.integers(0, 3, N)
    np.testing.assert_allclose(float(log_loss(y3, prob3, sample_weight=W)),
                               skm.log_loss(y3, prob3, sample_weight=W), rtol=1e-12)
    # the classification loss, weighted by the reduction
    per_example = jax.vmap(binary_cross_entropy)(SCORES, Y.astype(float))
    np.testing.assert_allclose(float(reduce(per_example, weights=W)),
                               skm.log_loss(Y, PROB, sample_weight=W), rtol=1e-10)


def test_precision_recall_curve_matches_sklearn(x64):
    for weights in (None, W):
        ours = precision_recall_curve(Y, SCORES, sample_weight=weights)
        p, r, t = skm.precision_recall_curve(Y, SCORES, sample_weight=weights)
        np.testing.assert_allclose(np.asarray(ours.precision), p, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(ours.recall), r, rtol=1e-12)
        np.testing.assert_allclose(np.asarray(ours.thresholds), t, rtol=1e-12)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_calibration_curve_matches_sklearn(strategy, x64):
    ours = calibration_curve(Y, PROB, n_bins=7, strategy=strategy)
    true, pred = sk_calibration_curve(Y, PROB, n_bins=7, strategy=strategy)
    np.testing.assert_allclose(np.asarray(ours.prob_true), true, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(ours.prob_pred), pred, rtol=1e-12)
    # weights: integer weights are repeated examples
    counts = RNG.integers(0, 3, N)
    weighted = calibration_curve(Y, PROB, n_bins=7, sample_weight=counts.astype(float))
    true, pred = sk_calibration_curve(np.repeat(Y, counts), np.repeat(PROB, counts), n_bins=7)
    np.testing.assert_allclose(np.asarray(weighted.prob_true), true, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(weighted.prob_pred), pred, rtol=1e-12)


def test_background_rejection_from_the_sklearn_roc(x64):
    fpr, tpr, thr = skm.roc_curve(Y, SCORES, sample_weight=W, drop_intermediate=False)
    for target in (0.3, 0.5, 0.9):
        r = background_rejection(Y, SCORES, target, sample_weight=W)
        k = np.argmax(tpr >= target)
        np.testing.assert_allclose(float(r.threshold), thr[k])
        np.testing.assert_allclose(float(r.background_efficiency), fpr[k], rtol=1e-12)
        np.testing.assert_allclose(float(r.rejection), 1 / fpr[k], rtol=1e-12)
        assert float(r.signal_efficiency) >= target
    with pytest.raises(ValueError, match="signal_efficiency"):
        background_rejection(Y, SCORES, 1.5)
    with pytest.raises(ValueError, match="y_true"):
        background_rejection(np.ones(5, int), np.arange(5.0), 0.5)


def test_significances_closed_forms(x64):
    s = np.array([1.0, 10.0, 50.0])
    b = np.array([100.0, 100.0, 10.0])
    np.testing.assert_allclose(np.asarray(significance(s, b)), s / np.sqrt(b), rtol=1e-14)
    z = np.asarray(asimov_significance(s, b))
    reference = [math.sqrt(2 * ((si + bi) * math.log(1 + si / bi) - si)) for si, bi in zip(s, b)]
    np.testing.assert_allclose(z, reference, rtol=1e-12)
    assert abs(z[0] - 0.1) < 1e-3  # s << b: s/√b
    # background uncertainty lowers Z and tends to the exact-b formula as σ_b → 0
    assert np.all(np.asarray(asimov_significance(s, b, 0.3 * b)) < z)
    np.testing.assert_allclose(np.asarray(asimov_significance(s, b, 1e-4 * b)), z, rtol=1e-5)


def test_weight_and_figure_of_merit_bad_input():
    with pytest.raises(ValueError, match="sample_weight"):
        accuracy(Y, PRED, sample_weight=-W)
    with pytest.raises(ValueError, match="sample_weight"):
        roc_auc(Y, SCORES, sample_weight=W[:-1])
    with pytest.raises(ValueError, match="sample_weight"):
        log_loss(Y, PROB, sample_weight=np.zeros(N))
    with pytest.raises(ValueError, match="b"):
        significance(1.0, 0.0)
    with pytest.raises(ValueError, match="b_uncertainty"):
        asimov_significance(np.ones(2), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="strategy"):
        calibration_curve(Y, PROB, strategy="kmeans")
    with pytest.raises(ValueError, match="prob"):
        calibration_curve(Y, PROB + 1.0)
