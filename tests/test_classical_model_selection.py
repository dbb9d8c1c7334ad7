"""Learning curves and grid search against scikit-learn, given the same folds."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.classical._model_selection import cross_validate, grid_search, learning_curve

sk_linear = pytest.importorskip("sklearn.linear_model")
sk_model_selection = pytest.importorskip("sklearn.model_selection")


def _data(n=60, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = x @ np.arange(1.0, d + 1) + rng.normal(size=n)
    return x, y


def _ridge_fit(key, x, y, lam=1.0):
    del key
    return jnp.linalg.solve(x.T @ x + lam * jnp.eye(x.shape[1]), x.T @ y)


def _neg_mse(w, x, y):
    return -jnp.mean((x @ w - y) ** 2)


def _sk_folds(key, n, k):
    """The folds our routines use with ``key`` (the first half of the key shuffles)."""
    from jaxphys.data._splits import kfold_indices

    key_folds, _ = jax.random.split(key)
    return [(np.asarray(f.train), np.asarray(f.val)) for f in kfold_indices(key_folds, n, k)]


def test_learning_curve_equals_sklearn_on_the_same_folds(x64):
    x, y = _data()
    key = jax.random.key(0)
    sizes = (0.2, 0.5, 1.0)
    lc = learning_curve(key, lambda k, X, Y: _ridge_fit(k, X, Y, 2.0), _neg_mse, x, y,
                        train_sizes=sizes, n_folds=4)
    ref_sizes, ref_train, ref_val = sk_model_selection.learning_curve(
        sk_linear.Ridge(alpha=2.0, fit_intercept=False), x, y, train_sizes=sizes,
        cv=_sk_folds(jax.random.key(0), len(y), 4), scoring="neg_mean_squared_error")
    np.testing.assert_array_equal(lc.train_sizes, ref_sizes)
    np.testing.assert_allclose(lc.train_scores, ref_train, rtol=1e-8)
    np.testing.assert_allclose(lc.val_scores, ref_val, rtol=1e-8)
    np.testing.assert_allclose(lc.val_mean, ref_val.mean(1), rtol=1e-8)
    # the textbook shape: the validation error falls with more data
    assert lc.val_mean[-1] > lc.val_mean[0]


def test_grid_search_equals_sklearn_and_vmap_equals_loop(x64):
    x, y = _data(seed=1)
    lams = np.array([0.01, 1.0, 10.0, 100.0, 1000.0])
    gs = grid_search(jax.random.key(0), _ridge_fit, _neg_mse, x, y, grid={"lam": lams},
                     n_folds=5)
    ref = sk_model_selection.GridSearchCV(
        sk_linear.Ridge(fit_intercept=False), {"alpha": lams},
        cv=_sk_folds(jax.random.key(0), len(y), 5), scoring="neg_mean_squared_error").fit(x, y)
    np.testing.assert_allclose(gs.mean, ref.cv_results_["mean_test_score"], rtol=1e-8)
    assert gs.best_params["lam"] == ref.best_params_["alpha"]
    np.testing.assert_allclose(gs.grid["lam"], lams)
    # the looped path gives the same scores, and so does cross_validate at each point
    looped = grid_search(jax.random.key(0), _ridge_fit, _neg_mse, x, y, grid={"lam": lams},
                         static=("lam",), n_folds=5)
    np.testing.assert_allclose(looped.scores, gs.scores, rtol=1e-10)
    cv = cross_validate(jax.random.key(0), lambda k, X, Y: _ridge_fit(k, X, Y, 10.0),
                        _neg_mse, x, y, n_folds=5)
    np.testing.assert_allclose(cv.scores, gs.scores[2], rtol=1e-10)


@pytest.mark.no_key_reuse_check
def test_grid_search_over_boosting_vmaps_the_learning_rate():
    from jaxphys.classical._boosting import gb_fit, gb_predict

    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2)).astype(np.float32)
    y = (x[:, 0] ** 2 + x[:, 1] > 0.5).astype(int)

    def fit(key, X, Y, subsample, learning_rate):
        return gb_fit(key, X, Y, n_estimators=10, max_depth=2, learning_rate=learning_rate,
                      subsample=subsample)

    def score(p, X, Y):
        return jnp.mean(gb_predict(p, X) == Y)

    # subsample in the Python loop (one vmapped compilation serves both values), the
    # learning rate vmapped
    grid = {"subsample": [0.7, 1.0], "learning_rate": [0.02, 0.5]}
    gs = grid_search(jax.random.key(0), fit, score, x, y, grid=grid, static=("subsample",),
                     n_folds=3)
    assert gs.scores.shape == (4, 3)
    np.testing.assert_allclose(gs.grid["subsample"], [0.7, 0.7, 1.0, 1.0])
    np.testing.assert_allclose(gs.grid["learning_rate"], [0.02, 0.5, 0.02, 0.5])
    # a vmapped point == fitting it on its own with the same folds and fold keys
    params = {n: v[1].item() for n, v in gs.grid.items()}
    cv = cross_validate(jax.random.key(0), lambda k, X, Y: fit(k, X, Y, **params), score,
                        x, y, n_folds=3)
    np.testing.assert_allclose(cv.scores, gs.scores[1], atol=1e-6)
    # ten rounds at rate 0.02 barely leave the prior; rate 0.5 learns the boundary
    assert gs.best_params["learning_rate"] == 0.5
    assert float(gs.mean[1]) > float(gs.mean[0]) + 0.1


def test_bad_input():
    x, y = _data(n=20)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="grid"):
        grid_search(key, _ridge_fit, _neg_mse, x, y, grid={})
    with pytest.raises(ValueError, match="grid"):
        grid_search(jax.random.key(1), _ridge_fit, _neg_mse, x, y, grid={"lam": [[1.0]]})
    with pytest.raises(ValueError, match="static"):
        grid_search(jax.random.key(2), _ridge_fit, _neg_mse, x, y, grid={"lam": [1.0]},
                    static=("alpha",))
    with pytest.raises(ValueError, match="train_sizes"):
        learning_curve(jax.random.key(3), _ridge_fit, _neg_mse, x, y, train_sizes=(0.0, 0.5))
    with pytest.raises(ValueError, match="train_sizes"):
        learning_curve(jax.random.key(4), _ridge_fit, _neg_mse, x, y, train_sizes=(1, 100))
    with pytest.raises(ValueError, match="n_folds"):
        learning_curve(jax.random.key(5), _ridge_fit, _neg_mse, x, y, n_folds=50)
    with pytest.raises(ValueError, match="X and y"):
        grid_search(jax.random.key(6), _ridge_fit, _neg_mse, x, y[:-1], grid={"lam": [1.0]})
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        learning_curve(jax.random.key(7), _ridge_fit, _neg_mse, bad, y)
