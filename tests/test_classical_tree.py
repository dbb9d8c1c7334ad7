"""CART decision trees against scikit-learn's DecisionTreeClassifier / Regressor."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.classical._tree import tree_fit, tree_predict, tree_predict_proba

sk_tree = pytest.importorskip("sklearn.tree")
sk_datasets = pytest.importorskip("sklearn.datasets")
sk_model_selection = pytest.importorskip("sklearn.model_selection")


def _split(x, y, seed=0):
    return sk_model_selection.train_test_split(x, y, test_size=0.3, random_state=seed,
                                               stratify=y)


@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("loader,depth", [("load_breast_cancer", 3), ("load_digits", 8)])
def test_accuracy_within_0p02_of_sklearn(loader, depth):
    x, y = getattr(sk_datasets, loader)(return_X_y=True)
    xtr, xte, ytr, yte = _split(x.astype(np.float32), y)
    ours = tree_fit(None, xtr, ytr, max_depth=depth, criterion="gini")
    acc = float(np.mean(np.asarray(tree_predict(ours, xte)) == yte))
    ref = sk_tree.DecisionTreeClassifier(max_depth=depth, random_state=0).fit(xtr, ytr)
    assert acc >= ref.score(xte, yte) - 0.02
    assert abs(acc - ref.score(xte, yte)) <= 0.02


def _discrete(n=300, seed=0):
    """Few distinct values per feature: every split scikit-learn can make is a candidate."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 8, size=(n, 4)).astype(np.float64)
    y = ((x[:, 0] > 3) ^ (x[:, 1] > 5)).astype(int) + (x[:, 2] > 6)
    flip = rng.random(n) < 0.1
    y = np.where(flip, rng.integers(0, 3, n), y)
    return x, y


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_same_tree_as_sklearn_on_discrete_features(x64, criterion):
    x, y = _discrete()
    ours = tree_fit(None, x, y, max_depth=3, criterion=criterion)
    ref = sk_tree.DecisionTreeClassifier(max_depth=3, criterion=criterion,
                                         random_state=0).fit(x, y)
    np.testing.assert_array_equal(np.asarray(tree_predict(ours, x)), ref.predict(x))
    np.testing.assert_allclose(tree_predict_proba(ours, x), ref.predict_proba(x), atol=1e-12)
    np.testing.assert_allclose(ours.feature_importances, ref.feature_importances_, atol=1e-10)


def test_min_samples_leaf_and_misclassification(x64):
    x, y = _discrete(seed=1)
    t = tree_fit(None, x, y, max_depth=4, min_samples_leaf=20, criterion="misclassification")
    leaves = np.asarray(t.is_leaf) & (np.asarray(t.n_samples) > 0)
    assert np.all(np.asarray(t.n_samples)[leaves] >= 20)
    assert np.asarray(t.n_samples)[leaves].sum() == len(y)          # leaves partition the data
    acc = float(np.mean(np.asarray(tree_predict(t, x)) == y))
    ref = sk_tree.DecisionTreeClassifier(max_depth=4, min_samples_leaf=20,
                                         random_state=0).fit(x, y)
    assert acc >= ref.score(x, y) - 0.05


def test_regression_tree_matches_sklearn(x64):
    x, y = _discrete(seed=2)
    target = np.sin(x[:, 0]) + 0.5 * x[:, 1] + np.random.default_rng(3).normal(size=len(y))
    ours = tree_fit(None, x, target, max_depth=3, criterion="mse")
    ref = sk_tree.DecisionTreeRegressor(max_depth=3, random_state=0).fit(x, target)
    np.testing.assert_allclose(tree_predict(ours, x), ref.predict(x), atol=1e-10)


def test_bad_input():
    x, y = _discrete(n=30)
    with pytest.raises(ValueError, match="max_depth"):
        tree_fit(None, x, y, max_depth=0)
    with pytest.raises(ValueError, match="X and y"):
        tree_fit(None, x, y[:-1])
    with pytest.raises(ValueError, match="criterion"):
        tree_fit(None, x, y, criterion="variance")
    with pytest.raises(ValueError, match="min_samples_leaf"):
        tree_fit(None, x, y, min_samples_leaf=0)
    with pytest.raises(ValueError, match="y"):
        tree_fit(None, x, np.full(30, 0.5))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        tree_fit(None, bad, y)
    from jaxphys.classical._tree import TreeParams
    t = TreeParams(jnp.zeros(3, jnp.int32), jnp.zeros(3), jnp.ones(3, bool), jnp.ones((3, 1)),
                   jnp.ones(3), jnp.ones(4) / 4, jnp.asarray(False))
    with pytest.raises(ValueError, match="X"):
        tree_predict(t, x[:, :2])
