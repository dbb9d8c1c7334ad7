"""Metrics against hand-computed values and scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.metrics as skm

from jaxphys import metrics

# A hand-made binary example:
#   y_true  1 1 1 0 0 0 0 1
#   y_pred  1 0 1 0 1 1 0 1
#   TP = 3 (0, 2, 7), FN = 1 (1), FP = 2 (4, 5), TN = 2 (3, 6)
Y_TRUE = jnp.array([1, 1, 1, 0, 0, 0, 0, 1])
Y_PRED = jnp.array([1, 0, 1, 0, 1, 1, 0, 1])


def test_hand_made_binary_example():
    assert [int(v) for v in metrics.binary_counts(Y_TRUE, Y_PRED)] == [3, 2, 1, 2]
    assert float(metrics.accuracy(Y_TRUE, Y_PRED)) == pytest.approx(5 / 8)
    assert float(metrics.precision(Y_TRUE, Y_PRED)) == pytest.approx(3 / 5)
    assert float(metrics.recall(Y_TRUE, Y_PRED)) == pytest.approx(3 / 4)
    assert float(metrics.sensitivity(Y_TRUE, Y_PRED)) == pytest.approx(3 / 4)
    assert float(metrics.selectivity(Y_TRUE, Y_PRED)) == pytest.approx(2 / 4)
    assert float(metrics.specificity(Y_TRUE, Y_PRED)) == pytest.approx(2 / 4)
    # F1 = 2PR/(P+R) = 2 * 0.6 * 0.75 / 1.35 = 2/3
    assert float(metrics.f1_score(Y_TRUE, Y_PRED)) == pytest.approx(2 / 3)
    assert metrics.confusion_matrix(Y_TRUE, Y_PRED, 2).tolist() == [[2, 2], [1, 3]]


def test_hand_made_confusion_matrix_three_classes():
    y_true = jnp.array([0, 0, 1, 1, 1, 2, 2, 2, 2])
    y_pred = jnp.array([0, 1, 1, 1, 2, 2, 2, 0, 2])
    assert metrics.confusion_matrix(y_true, y_pred, 3).tolist() == [[1, 1, 0],
                                                                    [0, 2, 1],
                                                                    [1, 0, 3]]
    # an unused class gives an empty row and column
    assert metrics.confusion_matrix(y_true, y_pred, 4)[3].tolist() == [0, 0, 0, 0]


def test_hand_made_roc_with_ties():
    y = jnp.array([0, 1, 0, 1])
    s = jnp.array([0.5, 0.5, 0.2, 0.9])
    roc = metrics.roc_curve(y, s)
    # thresholds inf, 0.9, 0.5, 0.2 -> selected {}, {3}, {0,1,3}, all
    assert roc.thresholds.tolist() == [np.inf, pytest.approx(0.9), 0.5, pytest.approx(0.2)]
    assert roc.tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert roc.fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    # Pairs (pos, neg): (0.5, 0.5) tie = 1/2, (0.5, 0.2) = 1, (0.9, both) = 2 -> 3.5 / 4
    assert float(metrics.roc_auc(y, s)) == pytest.approx(0.875)
    assert float(metrics.auc(roc.fpr, roc.tpr)) == pytest.approx(0.875)


def test_hand_made_log_loss():
    y = jnp.array([1, 0, 1])
    p = jnp.array([0.9, 0.2, 0.5])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.5)) / 3
    assert float(metrics.log_loss(y, p)) == pytest.approx(expected, rel=1e-6)


def test_auc_trapezoid_hand_value():
    assert float(metrics.auc(jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 1.0, 1.0]))) == 1.5
    # decreasing abscissa gives the same (positive) area
    assert float(metrics.auc(jnp.array([2.0, 1.0, 0.0]), jnp.array([1.0, 1.0, 0.0]))) == 1.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=300)
    y_pred = np.where(rng.uniform(size=300) < 0.7, y_true, 1 - y_true)
    assert float(metrics.accuracy(y_true, y_pred)) == pytest.approx(
        skm.accuracy_score(y_true, y_pred), rel=1e-6)
    assert float(metrics.precision(y_true, y_pred)) == pytest.approx(
        skm.precision_score(y_true, y_pred), rel=1e-6)
    assert float(metrics.recall(y_true, y_pred)) == pytest.approx(
        skm.recall_score(y_true, y_pred), rel=1e-6)
    assert float(metrics.selectivity(y_true, y_pred)) == pytest.approx(
        skm.recall_score(y_true, y_pred, pos_label=0), rel=1e-6)
    assert float(metrics.f1_score(y_true, y_pred)) == pytest.approx(
        skm.f1_score(y_true, y_pred), rel=1e-6)
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 2),
                                  skm.confusion_matrix(y_true, y_pred, labels=[0, 1]))


def test_multiclass_equal_sklearn():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 5, size=400)
    y_pred = np.where(rng.uniform(size=400) < 0.5, y_true, rng.integers(0, 5, size=400))
    np.testing.assert_array_equal(metrics.confusion_matrix(y_true, y_pred, 5),
                                  skm.confusion_matrix(y_true, y_pred, labels=range(5)))
    assert float(metrics.accuracy(y_true, y_pred)) == pytest.approx(
        skm.accuracy_score(y_true, y_pred), rel=1e-6)


@pytest.mark.parametrize("seed, decimals", [(0, None), (1, 1)])
def test_roc_equal_sklearn(x64, seed, decimals):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=500)
    scores = rng.normal(size=500) + 1.2 * y
    if decimals is not None:  # many ties
        scores = np.round(scores, decimals)
    fpr, tpr, thr = skm.roc_curve(y, scores, drop_intermediate=False)
    roc = metrics.roc_curve(y, scores)
    np.testing.assert_allclose(roc.fpr, fpr, rtol=1e-12)
    np.testing.assert_allclose(roc.tpr, tpr, rtol=1e-12)
    np.testing.assert_array_equal(roc.thresholds, thr)
    ref = skm.roc_auc_score(y, scores)
    assert float(metrics.roc_auc(y, scores)) == pytest.approx(ref, rel=1e-12)
    assert float(metrics.auc(roc.fpr, roc.tpr)) == pytest.approx(ref, rel=1e-12)
    assert float(metrics.auc(roc.fpr, roc.tpr)) == pytest.approx(skm.auc(fpr, tpr), rel=1e-12)


def test_roc_auc_jits_and_matches_float32():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, size=200)
    scores = (rng.normal(size=200) + y).astype(np.float32)
    value = jax.jit(metrics.roc_auc)(y, scores)
    assert float(value) == pytest.approx(skm.roc_auc_score(y, scores), rel=1e-6)
    cm = jax.jit(metrics.confusion_matrix, static_argnums=2)(y, (scores > 0.5).astype(int), 2)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, scores > 0.5))


def test_jitted_metrics_do_not_recompile():
    # fresh wrappers: jax.jit shares its cache between wrappers of the same function
    auc = jax.jit(lambda y, s: metrics.roc_auc(y, s))
    prec = jax.jit(lambda y, p, zero_division: metrics.precision(y, p,
                                                                 zero_division=zero_division))
    y = jnp.array([0, 1, 1, 0, 1])
    for shift in (0.0, 0.3):
        auc(y, jnp.array([0.1, 0.9, 0.4, 0.5, 0.8]) + shift)
        prec(y, jnp.array([0, 1, 0, 0, 1]), zero_division=shift)
    assert auc._cache_size() == 1 and prec._cache_size() == 1


def test_log_loss_equal_sklearn(x64):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, size=200)
    p = rng.uniform(size=200)
    assert float(metrics.log_loss(y, p)) == pytest.approx(skm.log_loss(y, p), rel=1e-12)
    y3 = rng.integers(0, 3, size=200)
    p3 = rng.dirichlet(np.ones(3), size=200)
    assert float(metrics.log_loss(y3, p3)) == pytest.approx(
        skm.log_loss(y3, p3, labels=[0, 1, 2]), rel=1e-12)


def test_log_loss_clips_certain_mistakes():
    # p = 0 for a true positive: clipped to eps, finite
    value = float(metrics.log_loss(jnp.array([1, 0]), jnp.array([0.0, 0.0])))
    assert np.isfinite(value)
    assert value == pytest.approx(-np.log(np.finfo(np.float32).eps) / 2, rel=1e-5)


# ------------------------------------------------------------ degenerate cases

def test_zero_division_policy():
    y_true = jnp.array([0, 0, 1])
    nothing_predicted = jnp.array([0, 0, 0])
    assert float(metrics.precision(y_true, nothing_predicted)) == 0.0
    assert float(metrics.precision(y_true, nothing_predicted, zero_division=1.0)) == 1.0
    no_positives = jnp.array([0, 0, 0])
    assert float(metrics.recall(no_positives, jnp.array([1, 0, 0]))) == 0.0
    assert float(metrics.f1_score(no_positives, no_positives)) == 0.0
    assert float(metrics.f1_score(no_positives, no_positives, zero_division=1.0)) == 1.0
    assert float(metrics.selectivity(jnp.array([1, 1]), jnp.array([1, 0]))) == 0.0
    # same values as scikit-learn with zero_division=0
    assert skm.precision_score(np.asarray(y_true), np.asarray(nothing_predicted),
                               zero_division=0) == 0.0


def test_single_class_roc_is_nan():
    y = jnp.array([1, 1, 1])
    s = jnp.array([0.1, 0.5, 0.9])
    assert np.isnan(float(metrics.roc_auc(y, s)))
    roc = metrics.roc_curve(y, s)
    assert np.all(np.isnan(np.asarray(roc.fpr)))
    np.testing.assert_allclose(roc.tpr, [0.0, 1 / 3, 2 / 3, 1.0], rtol=1e-6)
    assert np.isnan(float(metrics.roc_auc(jnp.zeros(3, int), s)))


# ------------------------------------------------------------------ bad input

def test_bad_input_errors():
    with pytest.raises(ValueError, match="y_pred"):
        metrics.accuracy(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="y_true"):
        metrics.accuracy(jnp.zeros((3, 1)), jnp.zeros(3))
    with pytest.raises(ValueError, match="y_true"):
        metrics.accuracy(jnp.zeros(0), jnp.zeros(0))
    with pytest.raises(ValueError, match="y_true"):
        metrics.precision(jnp.array([0, 2, 1]), jnp.array([0, 1, 1]))
    with pytest.raises(ValueError, match="y_pred"):
        metrics.recall(jnp.array([0, 1, 1]), jnp.array([0, 1, -1]))
    with pytest.raises(ValueError, match="y_pred"):
        metrics.confusion_matrix(jnp.array([0, 1]), jnp.array([0, 3]), 3)
    with pytest.raises(ValueError, match="n_classes"):
        metrics.confusion_matrix(jnp.array([0, 1]), jnp.array([0, 1]), 0)
    with pytest.raises(ValueError, match="n_classes"):
        metrics.confusion_matrix(jnp.array([0, 1]), jnp.array([0, 1]), 2.5)
    with pytest.raises(ValueError, match="scores"):
        metrics.roc_curve(jnp.array([0, 1]), jnp.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match="scores"):
        metrics.roc_auc(jnp.array([0, 1]), jnp.array([0.1, jnp.nan]))
    with pytest.raises(ValueError, match="y_true"):
        metrics.roc_auc(jnp.array([0, 2]), jnp.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="fpr"):
        metrics.auc(jnp.array([0.0, 1.0, 0.5]), jnp.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="fpr"):
        metrics.auc(jnp.array([0.0]), jnp.array([0.0]))
    with pytest.raises(ValueError, match="tpr"):
        metrics.auc(jnp.array([0.0, 1.0]), jnp.array([0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="prob"):
        metrics.log_loss(jnp.array([0, 1]), jnp.array([0.5, 1.5]))
    with pytest.raises(ValueError, match="prob"):
        metrics.log_loss(jnp.array([0, 1]), jnp.array([0.5, 0.5, 0.5]))
    with pytest.raises(ValueError, match="y_true"):
        metrics.log_loss(jnp.array([0, 3]), jnp.full((2, 3), 1 / 3))
    with pytest.raises(TypeError, match="roc_curve"):
        jax.jit(metrics.roc_curve)(jnp.array([0, 1]), jnp.array([0.1, 0.2]))
