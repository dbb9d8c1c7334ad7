"""Random forest against scikit-learn's RandomForestClassifier on the same split."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.classical._forest import forest_fit, forest_predict, forest_predict_proba

sk_ensemble = pytest.importorskip("sklearn.ensemble")
sk_datasets = pytest.importorskip("sklearn.datasets")
sk_model_selection = pytest.importorskip("sklearn.model_selection")


@pytest.mark.no_key_reuse_check
def test_breast_cancer_within_0p02_of_sklearn():
    x, y = sk_datasets.load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = sk_model_selection.train_test_split(
        x.astype(np.float32), y, test_size=0.3, random_state=0, stratify=y)
    f = forest_fit(jax.random.key(0), xtr, ytr, n_trees=50, max_depth=6)
    acc = float(np.mean(np.asarray(forest_predict(f, xte)) == yte))
    ref = sk_ensemble.RandomForestClassifier(n_estimators=50, max_depth=6, random_state=0,
                                             oob_score=True).fit(xtr, ytr)
    assert abs(acc - ref.score(xte, yte)) <= 0.02
    assert abs(float(f.oob_score) - ref.oob_score_) <= 0.03
    # probabilities are averages of leaf class fractions; importances are normalised
    proba = np.asarray(forest_predict_proba(f, xte))
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    assert float(jnp.sum(f.feature_importances)) == pytest.approx(1.0, abs=1e-5)
    # the most important features agree with scikit-learn's top five
    top_ours = set(np.argsort(-np.asarray(f.feature_importances))[:5].tolist())
    top_ref = set(np.argsort(-ref.feature_importances_)[:10].tolist())
    assert len(top_ours & top_ref) >= 3


def test_bad_input():
    x = np.random.default_rng(0).normal(size=(20, 3))
    y = (x[:, 0] > 0).astype(int)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="max_depth"):
        forest_fit(key, x, y, max_depth=0)
    with pytest.raises(ValueError, match="n_trees"):
        forest_fit(key, x, y, n_trees=0)
    with pytest.raises(ValueError, match="max_features"):
        forest_fit(key, x, y, max_features=4)
    with pytest.raises(ValueError, match="X and y"):
        forest_fit(key, x, y[:5])
    with pytest.raises(TypeError, match="key"):
        forest_fit(None, x, y)


@pytest.mark.no_key_reuse_check
def test_regression_forest_near_sklearn(x64):
    x, y = sk_datasets.make_friedman1(n_samples=500, noise=1.0, random_state=0)
    xtr, xte, ytr, yte = sk_model_selection.train_test_split(x, y, test_size=0.3,
                                                             random_state=0)
    f = forest_fit(jax.random.key(0), xtr, ytr, n_trees=40, max_depth=6, criterion="mse",
                   max_features=None)
    pred = np.asarray(forest_predict(f, xte))
    r2 = 1.0 - np.mean((pred - yte) ** 2) / np.var(yte)
    ref = sk_ensemble.RandomForestRegressor(n_estimators=40, max_depth=6, random_state=0,
                                            oob_score=True).fit(xtr, ytr)
    assert abs(r2 - ref.score(xte, yte)) <= 0.03, (r2, ref.score(xte, yte))
    assert abs(float(f.oob_score) - ref.oob_score_) <= 0.05
    # a leaf's value is the mean target of the (bootstrap-weighted) rows in it
    t = jax.tree.map(lambda a: a[0], f.trees)
    assert np.asarray(t.n_samples)[0] == pytest.approx(len(ytr))   # bootstrap weights: n


def test_two_seeds_grow_different_forests():
    x = np.random.default_rng(1).normal(size=(120, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] ** 2 > 0.5).astype(int)
    a = forest_fit(jax.random.key(0), x, y, n_trees=6, max_depth=3)
    b = forest_fit(jax.random.key(1), x, y, n_trees=6, max_depth=3)
    assert not np.array_equal(np.asarray(a.trees.feature), np.asarray(b.trees.feature))
    # max_features: every split of a tree uses one of the node's features, in range
    assert int(np.asarray(a.trees.feature).max()) < 6


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("loader", ["load_breast_cancer", "load_digits"])
def test_benchmark_settings_accuracy_within_0p01_of_sklearn(loader):
    """100 trees of depth 8 on the benchmark's splits: mean test accuracy over three
    seeds within 0.01 of scikit-learn's over three seeds."""
    x, y = getattr(sk_datasets, loader)(return_X_y=True)
    xtr, xte, ytr, yte = sk_model_selection.train_test_split(
        x.astype(np.float32), y, test_size=0.3, random_state=0, stratify=y)
    ours = [float(np.mean(np.asarray(forest_predict(
        forest_fit(jax.random.key(s), xtr, ytr, n_trees=100, max_depth=8), xte)) == yte))
        for s in range(3)]
    ref = [sk_ensemble.RandomForestClassifier(n_estimators=100, max_depth=8,
                                              random_state=s).fit(xtr, ytr).score(xte, yte)
           for s in range(3)]
    assert abs(np.mean(ours) - np.mean(ref)) <= 0.01, (ours, ref)
