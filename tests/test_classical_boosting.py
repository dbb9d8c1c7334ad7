"""AdaBoost (SAMME) and gradient boosting against scikit-learn on the same splits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.classical import (adaboost_fit, adaboost_predict, adaboost_predict_proba,
                               gb_decision_function, gb_fit, gb_predict, gb_predict_proba)
from jaxphys.classical._gradient_boosting import _gb_fit

sk_ensemble = pytest.importorskip("sklearn.ensemble")
sk_tree = pytest.importorskip("sklearn.tree")
sk_datasets = pytest.importorskip("sklearn.datasets")
sk_model_selection = pytest.importorskip("sklearn.model_selection")


def _split(loader):
    x, y = getattr(sk_datasets, loader)(return_X_y=True)
    return sk_model_selection.train_test_split(x.astype(np.float32), y, test_size=0.3,
                                               random_state=0, stratify=y)


@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("loader,depth", [("load_breast_cancer", 1), ("load_digits", 3)])
def test_adaboost_within_0p02_of_sklearn(loader, depth):
    xtr, xte, ytr, yte = _split(loader)
    ours = adaboost_fit(None, xtr, ytr, n_estimators=50, max_depth=depth)
    acc = float(np.mean(np.asarray(adaboost_predict(ours, xte)) == yte))
    ref = sk_ensemble.AdaBoostClassifier(sk_tree.DecisionTreeClassifier(max_depth=depth),
                                         n_estimators=50, random_state=0).fit(xtr, ytr)
    ref_acc = ref.score(xte, yte)
    assert abs(acc - ref_acc) <= 0.02, (acc, ref_acc)
    assert acc > 0.9
    proba = np.asarray(adaboost_predict_proba(ours, xte))
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(1), np.asarray(adaboost_predict(ours, xte)))
    assert int(ours.n_estimators_used) == 50
    # the first round is a plain (unweighted) tree: its error is scikit-learn's first error
    assert float(ours.estimator_error[0]) == pytest.approx(ref.estimator_errors_[0], abs=0.02)
    assert float(jnp.sum(ours.feature_importances)) == pytest.approx(1.0, abs=1e-5)


def test_adaboost_stops_on_a_perfect_tree(x64):
    x = np.arange(10.0)[:, None]
    y = (x[:, 0] > 4.5).astype(int)
    p = adaboost_fit(None, x, y, n_estimators=5)
    # a perfect stump: weight 1, the remaining rounds are skipped (weight 0, NaN error)
    assert int(p.n_estimators_used) == 1
    np.testing.assert_allclose(p.estimator_weight, [1.0, 0, 0, 0, 0])
    assert np.isnan(np.asarray(p.estimator_error)[1:]).all()
    np.testing.assert_array_equal(adaboost_predict(p, x), y)


@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("loader", ["load_breast_cancer", "load_digits"])
def test_gradient_boosting_within_0p02_of_sklearn(loader):
    xtr, xte, ytr, yte = _split(loader)
    ours = gb_fit(jax.random.key(0), xtr, ytr, n_estimators=50, learning_rate=0.1,
                  max_depth=3)
    acc = float(np.mean(np.asarray(gb_predict(ours, xte)) == yte))
    ref = sk_ensemble.GradientBoostingClassifier(n_estimators=50, learning_rate=0.1,
                                                 max_depth=3, random_state=0).fit(xtr, ytr)
    ref_acc = ref.score(xte, yte)
    assert abs(acc - ref_acc) <= 0.02, (acc, ref_acc)
    proba = np.asarray(gb_predict_proba(ours, xte))
    n_classes = len(np.unique(ytr))
    assert proba.shape == (len(yte), n_classes)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    # test log loss close to scikit-learn's; the training loss falls every round
    ll = -np.mean(np.log(np.clip(proba[np.arange(len(yte)), yte], 1e-12, None)))
    ref_proba = ref.predict_proba(xte)
    ref_ll = -np.mean(np.log(np.clip(ref_proba[np.arange(len(yte)), yte], 1e-12, None)))
    assert abs(ll - ref_ll) <= 0.1 * ref_ll + 0.02
    assert np.all(np.diff(np.asarray(ours.train_loss)) < 0)
    # same training loss curve as scikit-learn (train_score_: mean deviance / 2 for binary)
    ref_train = ref.train_score_ / (2.0 if n_classes == 2 else 1.0)
    np.testing.assert_allclose(np.asarray(ours.train_loss)[[0, 9, 49]],
                               ref_train[[0, 9, 49]], rtol=0.15)


@pytest.mark.no_key_reuse_check
def test_regression_boosting_matches_sklearn(x64):
    x, y = sk_datasets.make_friedman1(n_samples=600, noise=1.0, random_state=0)
    xtr, xte, ytr, yte = sk_model_selection.train_test_split(x, y, test_size=0.3,
                                                             random_state=0)
    ours = gb_fit(jax.random.key(0), xtr, ytr, loss="squared_error", n_estimators=100,
                  learning_rate=0.1, max_depth=3)
    pred = np.asarray(gb_predict(ours, xte))
    r2 = 1 - np.mean((pred - yte) ** 2) / np.var(yte)
    ref = sk_ensemble.GradientBoostingRegressor(n_estimators=100, learning_rate=0.1,
                                                max_depth=3, random_state=0).fit(xtr, ytr)
    assert abs(r2 - ref.score(xte, yte)) <= 0.02, (r2, ref.score(xte, yte))
    assert pred.shape == (len(yte),)
    # the first round from the mean: F1 = ybar + lr * tree(x), as scikit-learn's
    np.testing.assert_allclose(ours.init, [np.mean(ytr)], rtol=1e-12)
    # the five informative features are the five most important (as scikit-learn's)
    top = set(np.argsort(-np.asarray(ours.feature_importances))[:5].tolist())
    assert top == set(np.argsort(-ref.feature_importances_)[:5].tolist()) == set(range(5))


@pytest.mark.no_key_reuse_check
def test_early_stopping_and_subsampling():
    xtr, xte, ytr, yte = _split("load_breast_cancer")
    fits = [gb_fit(jax.random.key(s), xtr, ytr, n_estimators=200, learning_rate=0.3,
                   subsample=0.5, n_iter_no_change=5, validation_fraction=0.2)
            for s in (0, 1)]
    for p in fits:
        used = int(p.n_estimators_used)
        val = np.asarray(p.val_loss)
        assert used < 200                                    # stopped early
        # kept rounds: up to the best validation loss (improvements count when > tol)
        assert np.argmin(val[:used]) == used - 1
        assert np.nanmin(val) >= val[used - 1] - 1e-4
        np.testing.assert_array_equal(np.asarray(p.tree_weight) > 0, np.arange(200) < used)
        assert np.isnan(val[used + 5:]).all()                # rounds after the stop skipped
        acc = float(np.mean(np.asarray(gb_predict(p, xte)) == yte))
        assert acc > 0.9
    # two seeds: different subsamples and validation splits, different models
    assert not np.allclose(fits[0].train_loss[:3], fits[1].train_loss[:3])
    # an explicit validation set (same shapes as above: no recompilation)
    n_val = int(round(0.2 * len(ytr)))
    p = gb_fit(jax.random.key(2), xtr[n_val:], ytr[n_val:], n_estimators=200,
               learning_rate=0.3, subsample=0.5, X_val=xtr[:n_val], y_val=ytr[:n_val],
               n_iter_no_change=5)
    used = int(p.n_estimators_used)
    assert np.isfinite(np.asarray(p.val_loss)[:used]).all() and used < 200


def test_no_recompile_on_second_call():
    x = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    gb_fit(jax.random.key(0), x, y, n_estimators=5, learning_rate=0.1)
    before = _gb_fit._cache_size()
    p = gb_fit(jax.random.key(1), x, y, n_estimators=5, learning_rate=0.3, subsample=0.8)
    assert _gb_fit._cache_size() == before
    assert gb_predict(p, x).shape == (30,)


def test_weighted_tree_matches_sklearn_sample_weight(x64):
    from jaxphys.classical._tree import tree_fit, tree_predict_proba

    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(200, 3)).astype(np.float64)
    y = ((x[:, 0] > 2) ^ (x[:, 1] > 3)).astype(int)
    y = np.where(rng.random(200) < 0.2, 1 - y, y)
    w = rng.integers(1, 4, size=200).astype(np.float64)
    ours = tree_fit(None, x, y, max_depth=3, sample_weight=w)
    ref = sk_tree.DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y, sample_weight=w)
    np.testing.assert_allclose(tree_predict_proba(ours, x), ref.predict_proba(x), atol=1e-12)
    np.testing.assert_allclose(ours.feature_importances, ref.feature_importances_, atol=1e-10)


def test_bad_input():
    x = np.random.default_rng(0).normal(size=(30, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    keys = iter(jax.random.split(jax.random.key(0), 32))
    for fit in (lambda **kw: adaboost_fit(None, x, y, **kw),
                lambda **kw: gb_fit(next(keys), x, y, **kw)):
        with pytest.raises(ValueError, match="max_depth"):
            fit(max_depth=0)
        with pytest.raises(ValueError, match="n_estimators"):
            fit(n_estimators=0)
        with pytest.raises(ValueError, match="learning_rate"):
            fit(learning_rate=0.0)
    with pytest.raises(ValueError, match="X and y"):
        adaboost_fit(None, x, y[:-1])
    with pytest.raises(ValueError, match="X and y"):
        gb_fit(next(keys), x, y[:-1])
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X"):
        adaboost_fit(None, bad, y)
    with pytest.raises(ValueError, match="X"):
        gb_fit(next(keys), bad, y)
    with pytest.raises(ValueError, match="y"):
        gb_fit(next(keys), x, np.where(y == 1, np.nan, 0.0), loss="squared_error")
    with pytest.raises(ValueError, match="y"):
        adaboost_fit(None, x, np.zeros(30, int))                    # a single class
    with pytest.raises(ValueError, match="subsample"):
        gb_fit(next(keys), x, y, subsample=1.5)
    with pytest.raises(ValueError, match="loss"):
        gb_fit(next(keys), x, y, loss="hinge")
    with pytest.raises(ValueError, match="X_val"):
        gb_fit(next(keys), x, y, X_val=x)
    with pytest.raises(ValueError, match="X_val"):
        gb_fit(next(keys), x, y, X_val=x[:, :2], y_val=y)
    with pytest.raises(ValueError, match="criterion"):
        adaboost_fit(None, x, y, criterion="mse")
    with pytest.raises(TypeError, match="key"):
        gb_fit(None, x, y)
    from jaxphys.classical._tree import tree_fit
    with pytest.raises(ValueError, match="sample_weight"):
        tree_fit(None, x, y, sample_weight=-np.ones(30))
    with pytest.raises(ValueError, match="sample_weight"):
        tree_fit(None, x, y, sample_weight=np.ones(29))
    p = gb_fit(next(keys), x, y, n_estimators=5)      # the shapes of test_no_recompile
    with pytest.raises(ValueError, match="X"):
        gb_predict(p, x[:, :2])


def test_xgboost_criterion_grows_xgboosts_trees(x64):
    """Regression, few distinct feature values (so XGBoost's histogram cuts are every
    value and both search the same splits), same base score, λ, γ, min_child_weight:
    the same predictions after each of five rounds."""
    xgb = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 6, size=(300, 4)).astype(np.float64)
    y = np.sin(x[:, 0]) + 0.3 * x[:, 1] * (x[:, 2] > 2) + 0.1 * rng.normal(size=300)
    for rounds in (1, 5):
        ours = gb_fit(jax.random.key(0), x, y, loss="squared_error", n_estimators=rounds,
                      learning_rate=0.3, max_depth=3, criterion="xgboost", reg_lambda=1.0,
                      gamma=0.0, min_child_weight=1.0)
        ref = xgb.XGBRegressor(n_estimators=rounds, learning_rate=0.3, max_depth=3,
                               reg_lambda=1.0, gamma=0.0, min_child_weight=1.0,
                               tree_method="hist", max_bin=256, base_score=float(np.mean(y)),
                               n_jobs=1).fit(x, y)
        np.testing.assert_allclose(np.asarray(gb_predict(ours, x)), ref.predict(x), atol=2e-5)


def test_xgboost_leaves_are_regularised_newton_steps(x64):
    """After one round the leaves hold -G/(H+λ) of the rows that reach them (NumPy)."""
    xtr, _, ytr, _ = _split("load_breast_cancer")
    lam = 3.0
    p = gb_fit(jax.random.key(0), xtr.astype(np.float64), ytr, n_estimators=1, max_depth=2,
               criterion="xgboost", reg_lambda=lam)
    t = jax.tree.map(lambda a: np.asarray(a)[0, 0], p.trees)
    p0 = 1.0 / (1.0 + np.exp(-float(p.init[1])))
    g, h = p0 - ytr, np.full(len(ytr), p0 * (1.0 - p0))
    node = np.zeros(len(ytr), int)
    for _ in range(2):                                      # route the rows by threshold
        split = ~t.is_leaf[node]
        right = xtr[np.arange(len(ytr)), t.feature[node]] > t.threshold[node]
        node = np.where(split, 2 * node + 1 + right, node)
    for leaf in np.unique(node):
        rows = node == leaf
        assert t.value[leaf, 0] == pytest.approx(-g[rows].sum() / (h[rows].sum() + lam),
                                                 rel=1e-9)


@pytest.mark.no_key_reuse_check
def test_xgboost_criterion_within_0p01_of_xgboost():
    xgb = pytest.importorskip("xgboost")
    xtr, xte, ytr, yte = _split("load_breast_cancer")
    ours = gb_fit(jax.random.key(0), xtr, ytr, n_estimators=50, max_depth=3,
                  learning_rate=0.1, criterion="xgboost")
    acc = float(np.mean(np.asarray(gb_predict(ours, xte)) == yte))
    ref = xgb.XGBClassifier(n_estimators=50, max_depth=3, learning_rate=0.1,
                            tree_method="hist", max_bin=64, n_jobs=1).fit(xtr, ytr)
    assert abs(acc - float(np.mean(ref.predict(xte) == yte))) <= 0.01


def test_gamma_and_column_subsampling():
    x = np.random.default_rng(2).normal(size=(80, 6)).astype(np.float32)
    y = (x[:, 0] - x[:, 3] > 0).astype(int)
    keys = iter(jax.random.split(jax.random.key(3), 8))
    # a least gain no split reaches: every tree is a single leaf, predictions constant
    p = gb_fit(next(keys), x, y, n_estimators=4, criterion="xgboost", gamma=1e6)
    assert np.asarray(p.trees.is_leaf)[..., 0].all()
    assert np.unique(np.asarray(gb_decision_function(p, x))).size == 1
    # colsample_bytree: each tree splits on at most 3 of the 6 features, not always
    # the same 3
    q = gb_fit(next(keys), x, y, n_estimators=12, colsample_bytree=0.5, max_depth=3)
    used = [set(np.asarray(q.trees.feature)[t, 0][~np.asarray(q.trees.is_leaf)[t, 0]]
                .tolist()) for t in range(12)]
    assert all(len(u) <= 3 for u in used)
    assert len(set().union(*used)) > 3
    with pytest.raises(ValueError, match="colsample_bytree"):
        gb_fit(next(keys), x, y, colsample_bytree=0.0)
    with pytest.raises(ValueError, match="min_samples_leaf"):
        gb_fit(next(keys), x, y, criterion="xgboost", min_samples_leaf=5)
    with pytest.raises(ValueError, match="criterion"):
        gb_fit(next(keys), x, y, criterion="friedman")
    with pytest.raises(ValueError, match="reg_lambda"):
        gb_fit(next(keys), x, y, criterion="xgboost", reg_lambda=-1.0)


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("loader", ["load_breast_cancer", "load_digits"])
def test_benchmark_settings_within_0p01_of_xgboost(loader):
    """The benchmark's runs: 100 rounds of depth 3, both criteria, test accuracy within
    0.01 of XGBoost (hist, 64 bins) and of scikit-learn."""
    xgb = pytest.importorskip("xgboost")
    xtr, xte, ytr, yte = _split(loader)
    ref = xgb.XGBClassifier(n_estimators=100, max_depth=3, learning_rate=0.1,
                            tree_method="hist", max_bin=64, n_jobs=1).fit(xtr, ytr)
    ref_acc = float(np.mean(ref.predict(xte) == yte))
    sk_acc = sk_ensemble.GradientBoostingClassifier(
        n_estimators=100, max_depth=3, learning_rate=0.1, random_state=0).fit(
        xtr, ytr).score(xte, yte)
    for criterion in ("squared_error", "xgboost"):
        p = gb_fit(jax.random.key(0), xtr, ytr, n_estimators=100, max_depth=3,
                   learning_rate=0.1, criterion=criterion)
        acc = float(np.mean(np.asarray(gb_predict(p, xte)) == yte))
        assert abs(acc - ref_acc) <= 0.01, (criterion, acc, ref_acc)
        assert abs(acc - sk_acc) <= 0.01, (criterion, acc, sk_acc)
