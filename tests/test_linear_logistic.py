"""jaxphys.linear logistic regression against scikit-learn's LogisticRegression.

Our objective is mean cross-entropy + (l2/2)‖w‖² with an unpenalised intercept;
scikit-learn's is C·Σ cross-entropy + ½‖w‖², the same optimum for C = 1/(n·l2).
"""

import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.linear_model

from jaxphys.linear import (LogisticFit, logistic_predict, logistic_predict_proba,
                            logistic_regression)
from jaxphys.linear._logistic import _fit_lbfgs


def blobs(seed, n_per_class, centres, scale=1.0):
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, centre in enumerate(centres):
        xs.append(np.asarray(centre) + scale * rng.normal(size=(n_per_class, len(centre))))
        ys.append(np.full(n_per_class, label))
    x = np.concatenate(xs)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x, np.concatenate(ys)


def sklearn_fit(x, y, l2):
    c = np.inf if l2 == 0 else 1.0 / (x.shape[0] * l2)
    return sklearn.linear_model.LogisticRegression(C=c, tol=1e-12, max_iter=10000).fit(x, y)


@pytest.mark.parametrize("l2", [0.0, 0.02])
def test_binary_matches_sklearn(x64, l2):
    x, y = blobs(0, 150, [(0.0, 0.0, 0.0), (1.5, 1.0, 0.0)], scale=1.2)
    fit = logistic_regression(x, y, l2=l2, tol=1e-10)
    assert isinstance(fit, LogisticFit)
    assert bool(fit.converged)
    assert fit.weights.shape == (3,) and fit.bias.shape == ()
    sk = sklearn_fit(x, y, l2)
    np.testing.assert_allclose(logistic_predict_proba(fit, x), sk.predict_proba(x)[:, 1],
                               atol=1e-6)
    np.testing.assert_allclose(fit.weights, sk.coef_[0], atol=1e-5)
    np.testing.assert_allclose(fit.bias, sk.intercept_[0], atol=1e-5)
    np.testing.assert_array_equal(logistic_predict(fit, x), sk.predict(x))
    # the reported loss is the objective at the returned parameters
    z = x @ np.asarray(fit.weights) + float(fit.bias)
    loss = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * np.sum(np.asarray(fit.weights) ** 2)
    np.testing.assert_allclose(fit.loss, loss, rtol=1e-10)


def test_softmax_matches_sklearn(x64):
    x, y = blobs(1, 80, [(0.0, 0.0), (2.0, 0.5), (0.5, 2.0)], scale=1.0)
    l2 = 0.05
    fit = logistic_regression(x, y, n_classes=3, l2=l2, tol=1e-10)
    assert bool(fit.converged)
    assert fit.weights.shape == (2, 3) and fit.bias.shape == (3,)
    sk = sklearn_fit(x, y, l2)
    proba = logistic_predict_proba(fit, x)
    np.testing.assert_allclose(proba, sk.predict_proba(x), atol=1e-6)
    np.testing.assert_allclose(jnp.sum(proba, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(logistic_predict(fit, x), sk.predict(x))
    # a single example (d,) gives (C,)
    np.testing.assert_allclose(logistic_predict_proba(fit, x[0]), proba[0], rtol=1e-12)


def test_no_recompile_for_new_l2(x64):
    x, y = blobs(2, 150, [(0.0, 0.0, 0.0), (2.0, 2.0, 1.0)])   # same shapes as above
    fit = logistic_regression(x, y, l2=0.1)
    assert fit.weights.dtype == jnp.float64
    size = _fit_lbfgs._cache_size()
    fit2 = logistic_regression(x, y, l2=1.0, max_iter=100)
    assert _fit_lbfgs._cache_size() == size
    # stronger L2 shrinks the weights
    assert float(jnp.linalg.norm(fit2.weights)) < float(jnp.linalg.norm(fit.weights))


def test_bad_inputs():
    x, y = blobs(3, 20, [(0.0, 0.0), (2.0, 2.0)])
    with pytest.raises(ValueError, match="X"):
        logistic_regression(x[:-1], y)
    with pytest.raises(ValueError, match="X"):
        logistic_regression(x[:, 0], y)
    with pytest.raises(ValueError, match="y"):
        logistic_regression(x, y[:, None])
    with pytest.raises(ValueError, match="y"):
        logistic_regression(x, y + 1)                  # label 2 with n_classes=2
    with pytest.raises(ValueError, match="y"):
        logistic_regression(x, y - 0.5)               # not integer labels
    with pytest.raises(ValueError, match="X"):
        logistic_regression(np.where(x > 1.5, np.nan, x), y)
    with pytest.raises(ValueError, match="l2"):
        logistic_regression(x, y, l2=-0.1)
    with pytest.raises(ValueError, match="n_classes"):
        logistic_regression(x, y, n_classes=1)
    with pytest.raises(ValueError, match="max_iter"):
        logistic_regression(x, y, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        logistic_regression(x, y, tol=0.0)
    fit = LogisticFit(weights=jnp.zeros(2), bias=jnp.zeros(()), n_iter=jnp.zeros((), jnp.int32),
                      converged=jnp.asarray(True), loss=jnp.zeros(()))
    with pytest.raises(ValueError, match="X"):
        logistic_predict_proba(fit, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="X"):
        logistic_predict(fit, np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="fit"):
        logistic_predict(("w", "b"), x)


def test_user_optimizer_and_iteration_cap(x64):
    """Another optax optimiser reaches scikit-learn's optimum too; ``max_iter`` caps the
    steps exactly (the solver runs its steps in chunks, the cap falls inside one)."""
    import optax

    x, y = blobs(4, 100, [(0.0, 0.0), (1.5, 1.0)], scale=1.2)
    l2 = 0.02
    fit = logistic_regression(x, y, l2=l2, tol=1e-7, max_iter=5000,
                              optimizer=optax.sgd(1.0, momentum=0.9))
    assert bool(fit.converged) and 1 < int(fit.n_iter) < 5000
    sk = sklearn_fit(x, y, l2)
    np.testing.assert_allclose(fit.weights, sk.coef_[0], atol=1e-5)
    np.testing.assert_allclose(fit.bias, sk.intercept_[0], atol=1e-5)
    capped = logistic_regression(x, y, l2=l2, max_iter=3)
    assert int(capped.n_iter) == 3 and not bool(capped.converged)
    converged = logistic_regression(x, y, l2=l2, tol=1e-10)
    assert 3 < int(converged.n_iter) < 500 and bool(converged.converged)
    with pytest.raises(TypeError, match="optimizer"):
        logistic_regression(x, y, optimizer="lbfgs")
