"""jaxphys.linear ridge / lasso / regularization_path against closed forms, a plain
numpy coordinate descent and scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.linear_model

from jaxphys.linear import lasso, regularization_path, ridge
from jaxphys.linear._regularized import _lasso_core

TRUE_COEF = np.array([3.0, 0.0, -2.0, 0.0, 0.0, 1.5, 0.0, 0.0])


def sparse_problem(seed=0, n=60):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, TRUE_COEF.size))
    y = a @ TRUE_COEF + 0.1 * rng.normal(size=n)
    return a, y


def reference_lasso(a, y, lam, sweeps=5000, tol=1e-14):
    """Textbook cyclic coordinate descent for ½‖y - Aθ‖² + λ‖θ‖₁, in plain numpy."""
    theta = np.zeros(a.shape[1])
    for _ in range(sweeps):
        old = theta.copy()
        for j in range(a.shape[1]):
            r_j = y - a @ theta + a[:, j] * theta[j]
            z = a[:, j] @ r_j
            theta[j] = np.sign(z) * max(abs(z) - lam, 0.0) / (a[:, j] @ a[:, j])
        if np.max(np.abs(theta - old)) < tol:
            break
    return theta


def test_ridge_closed_form_and_sklearn(x64):
    a, y = sparse_problem()
    for lam in (0.0, 0.5, 20.0):
        coef = ridge(a, y, lam)
        closed = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ y)
        np.testing.assert_allclose(coef, closed, rtol=1e-10, atol=1e-12)
    sk = sklearn.linear_model.Ridge(alpha=3.0, fit_intercept=False, solver="svd").fit(a, y)
    np.testing.assert_allclose(ridge(a, y, 3.0), sk.coef_, rtol=1e-10)


def test_ridge_underdetermined_and_grad_in_lambda(x64):
    rng = np.random.default_rng(1)
    a, y = rng.normal(size=(5, 9)), rng.normal(size=5)
    lam = 0.7
    closed = np.linalg.solve(a.T @ a + lam * np.eye(9), a.T @ y)
    np.testing.assert_allclose(ridge(a, y, lam), closed, rtol=1e-10)
    # λ is a traced argument: d θ/dλ = -(AᵀA + λI)⁻¹ θ
    dtheta = jax.jacfwd(lambda l: ridge(a, y, l))(jnp.asarray(lam))
    np.testing.assert_allclose(dtheta, -np.linalg.solve(a.T @ a + lam * np.eye(9), closed),
                               rtol=1e-8)


def test_lasso_zeros_irrelevant_and_matches_reference(x64):
    a, y = sparse_problem()
    lam = 5.0
    coef = np.asarray(lasso(a, y, lam, tol=1e-12))
    irrelevant = TRUE_COEF == 0
    assert np.all(coef[irrelevant] == 0.0)
    assert np.all(np.abs(coef[~irrelevant]) > 1.0)
    np.testing.assert_allclose(coef, reference_lasso(a, y, lam), atol=1e-6)
    # scikit-learn minimises (1/2n)‖y - Aθ‖² + α‖θ‖₁: α = λ/n.
    sk = sklearn.linear_model.Lasso(alpha=lam / a.shape[0], fit_intercept=False, tol=1e-14,
                                    max_iter=100000).fit(a, y)
    np.testing.assert_allclose(coef, sk.coef_, atol=1e-6)
    # KKT conditions of the lasso: |A_jᵀ r| ≤ λ, with equality sign(θ_j)λ on the support
    grad = a.T @ (y - a @ coef)
    assert np.all(np.abs(grad[irrelevant]) <= lam + 1e-8)
    np.testing.assert_allclose(grad[~irrelevant], lam * np.sign(coef[~irrelevant]), atol=1e-8)


def test_lasso_limits(x64):
    a, y = sparse_problem(seed=2)
    # λ ≥ max|Aᵀy| gives all zeros; λ = 0 gives ordinary least squares.
    lam_max = np.max(np.abs(a.T @ y))
    assert np.all(np.asarray(lasso(a, y, 1.01 * lam_max)) == 0.0)
    ols = np.linalg.lstsq(a, y, rcond=None)[0]
    np.testing.assert_allclose(lasso(a, y, 0.0, tol=1e-13, max_iter=20000), ols, atol=1e-7)


def test_regularization_path_vmaps_and_matches_single_fits(x64):
    a, y = sparse_problem(seed=3)
    lams = jnp.array([0.0, 1.0, 10.0, 50.0])
    path = regularization_path(ridge, a, y, lams)
    assert path.shape == (4, TRUE_COEF.size)
    for k, lam in enumerate(np.asarray(lams)):
        closed = np.linalg.solve(a.T @ a + lam * np.eye(a.shape[1]), a.T @ y)
        np.testing.assert_allclose(path[k], closed, rtol=1e-10, atol=1e-12)
    lams_lasso = jnp.array([1.0, 10.0, 40.0])
    lasso_path = regularization_path(lasso, a, y, lams_lasso, tol=1e-12)
    for k, lam in enumerate(np.asarray(lams_lasso)):
        np.testing.assert_allclose(lasso_path[k], reference_lasso(a, y, lam), atol=1e-6)
    # the number of non-zero coefficients shrinks along the path
    nonzero = np.count_nonzero(np.asarray(lasso_path), axis=1)
    assert np.all(np.diff(nonzero) <= 0)


def test_lasso_no_recompile_for_new_lambda(x64):
    a, y = sparse_problem(seed=4)
    lasso(a, y, 1.0)
    size = _lasso_core._cache_size()
    lasso(a, y, 2.5, max_iter=50)
    assert _lasso_core._cache_size() == size


def test_bad_inputs():
    a, y = sparse_problem()
    for fn in (ridge, lasso):
        with pytest.raises(ValueError, match="design"):
            fn(a[:-1], y, 1.0)
        with pytest.raises(ValueError, match="design"):
            fn(a[:, 0], y, 1.0)
        with pytest.raises(ValueError, match="y"):
            fn(a, y[:, None], 1.0)
        with pytest.raises(ValueError, match="lam"):
            fn(a, y, -1.0)
        with pytest.raises(ValueError, match="lam"):
            fn(a, y, np.array([1.0, 2.0]))
        with pytest.raises(ValueError, match="lam"):
            fn(a, y, np.nan)
        with pytest.raises(ValueError, match="y"):
            fn(a, np.where(np.arange(y.size) == 0, np.inf, y), 1.0)
        with pytest.raises(ValueError, match="design"):
            fn(np.where(a > 2.5, np.nan, a), y, 1.0)
    with pytest.raises(ValueError, match="max_iter"):
        lasso(a, y, 1.0, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        lasso(a, y, 1.0, tol=0.0)
    with pytest.raises(ValueError, match="lams"):
        regularization_path(ridge, a, y, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="lams"):
        regularization_path(ridge, a, y, 1.0)
    with pytest.raises(ValueError, match="fit_fn"):
        regularization_path("ridge", a, y, np.array([1.0]))
