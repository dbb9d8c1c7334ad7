"""jaxphys.fitting.minimize: closed forms, limits, fixed and named parameters, errordef, validity
flags (a non-identifiable model is never valid), bad input, no recompilation."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.fitting import (AT_LIMIT, HESSIAN_NOT_POSITIVE_DEFINITE, BinnedNLL, CustomCost,
                             LeastSquares, Parameters, UnbinnedNLL, minimize, status_reasons)
from jaxphys.fitting._fit import _fit_core_jit

# the numerics group: exact references compared at the level users compile with
pytestmark = pytest.mark.xla_default_level

X = np.linspace(0.0, 1.0, 20)
Y = 1.0 + 2.0 * X + np.random.default_rng(0).normal(0.0, 0.1, 20)
TIMES = np.random.default_rng(1).exponential(1.7, 200)


def line(x, p):
    return p["a"] + p["b"] * x


def exponential(t, p):
    return jnp.exp(-t / p["tau"]) / p["tau"]


def test_linear_fit_is_weighted_least_squares():
    result = minimize(LeastSquares(X, Y, 0.1, line), {"a": 0.0, "b": 0.0})
    design = np.stack([np.ones_like(X), X], axis=1)
    cov = np.linalg.inv(design.T @ design / 0.01)
    beta = cov @ design.T @ Y / 0.01
    assert bool(result.valid) and int(result.status) == 0
    np.testing.assert_allclose(np.asarray(result.values), beta, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(result.covariance), cov, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(result.errors), np.sqrt(np.diag(cov)), rtol=1e-9)
    corr = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    np.testing.assert_allclose(float(result.correlation[0, 1]), corr, rtol=1e-9)
    np.testing.assert_allclose(float(result.minimum),
                               np.sum(((Y - design @ beta) / 0.1) ** 2), rtol=1e-10)
    assert float(result.edm) < 1e-10 and int(result.n_evaluations) >= 2
    assert result.values.dtype == np.float64


def test_named_and_positional_parameters_agree():
    named = minimize(LeastSquares(X, Y, 0.1, line), {"a": 0.0, "b": 0.0})
    positional = minimize(LeastSquares(X, Y, 0.1, lambda x, p: p[0] + p[1] * x), np.zeros(2))
    np.testing.assert_allclose(np.asarray(named.values), np.asarray(positional.values),
                               rtol=1e-12)


def test_fixed_parameter_has_zero_error_and_the_conditional_fit():
    params = Parameters({"a": 1.5, "b": 0.0}, fixed="a")
    result = minimize(LeastSquares(X, Y, 0.1, line), params)
    b_hat = np.sum(X * (Y - 1.5)) / np.sum(X * X)
    assert float(result.values[0]) == 1.5 and float(result.errors[0]) == 0.0
    np.testing.assert_allclose(float(result.values[1]), b_hat, rtol=1e-10)
    np.testing.assert_allclose(float(result.errors[1]), 0.1 / np.sqrt(np.sum(X * X)), rtol=1e-9)
    np.testing.assert_array_equal(np.asarray(result.covariance[0]), 0.0)


def test_errordef_half_for_minus_log_likelihood():
    """The same likelihood as -log L (errordef 0.5) and as -2 log L gives the same errors."""
    def minus_log_l(p):
        return -jnp.sum(jnp.log(exponential(jnp.asarray(TIMES), p)))

    half = minimize(CustomCost(minus_log_l, errordef=0.5), {"tau": 1.0})
    full = minimize(UnbinnedNLL(TIMES, exponential), {"tau": 1.0})
    np.testing.assert_allclose(float(half.errors[0]), float(full.errors[0]), rtol=1e-9)
    # closed form: τ̂ = mean, σ = τ̂/√N
    np.testing.assert_allclose(float(full.errors[0]), TIMES.mean() / np.sqrt(TIMES.size),
                               rtol=1e-8)


def test_parameter_at_its_limit_is_flagged_but_valid():
    params = Parameters({"tau": 1.0}, limits={"tau": (0.1, 1.2)})  # the MLE is 1.7
    result = minimize(UnbinnedNLL(TIMES, exponential), params)
    assert bool(result.valid)
    assert int(result.status) & AT_LIMIT
    assert any("limit" in r for r in status_reasons(result.status))
    assert 1.19 < float(result.values[0]) <= 1.2


def test_non_identifiable_model_is_never_valid():
    """p0·p1·x: a line of minima. The issue's curve_fit reported converged=True here."""
    result = minimize(LeastSquares(X, Y, 0.1, lambda x, p: p[0] * p[1] * x), np.array([1.0, 1.0]))
    assert not bool(result.valid)
    assert int(result.status) & HESSIAN_NOT_POSITIVE_DEFINITE
    assert np.all(np.isnan(np.asarray(result.errors)))
    assert "not identifiable" in " ".join(status_reasons(result.status))


def test_bad_start_values_name_the_argument():
    # the density is zero where data lie (a uniform on [0, 1] with data up to ~10)
    def uniform(t, p):
        return jnp.where(t < p["width"], 1.0 / p["width"], 0.0)

    with pytest.raises(ValueError, match=r"density.*data\[\d+\]"):
        minimize(UnbinnedNLL(TIMES, uniform), {"width": 1.0})
    edges = np.linspace(0.0, 4.0, 5)
    counts = np.array([3.0, 2.0, 1.0, 1.0])

    def zero_tail(e, p):  # expected count 0 in the last bin, which has an entry
        return p["n"] * jnp.minimum(e, 3.0) / 3.0

    with pytest.raises(ValueError, match=r"cdf.*bin 3"):
        minimize(BinnedNLL(counts, edges, cdf=zero_tail, extended=True), {"n": 5.0})
    with pytest.raises(TypeError, match="cost"):
        minimize(lambda p: p[0] ** 2, np.zeros(1))
    with pytest.raises(ValueError, match="tolerance"):
        minimize(LeastSquares(X, Y, 0.1, line), {"a": 0.0, "b": 0.0}, tolerance=0.0)
    with pytest.raises(ValueError, match="model"):
        minimize(LeastSquares(X, Y, 0.1, lambda x, p: p["a"] + jnp.zeros(3)), {"a": 0.0})


def test_traced_fit_without_x64_raises():
    with jax.enable_x64(False):
        with pytest.raises(ValueError, match="float64"):
            jax.vmap(lambda y: minimize(LeastSquares(X, y, 0.1, line),
                                        {"a": 0.0, "b": 0.0}).values)(np.stack([Y, Y]))


def test_second_fit_does_not_recompile():
    cost = LeastSquares(X, Y, 0.1, line)
    minimize(cost, {"a": 0.0, "b": 0.0})
    size = _fit_core_jit._cache_size()
    again = minimize(LeastSquares(X, Y + 1.0, 0.1, line), {"a": 1.0, "b": 0.0})  # new data, start
    assert _fit_core_jit._cache_size() == size
    np.testing.assert_allclose(float(again.values[0]),
                               float(minimize(cost, {"a": 0.0, "b": 0.0}).values[0]) + 1.0,
                               rtol=1e-9)


def test_constraint_on_an_unknown_parameter_names_it():
    from jaxphys.fitting import GaussianConstraint

    cost = LeastSquares(X, Y, 0.1, line) + GaussianConstraint("c", 0.0, 1.0)
    with pytest.raises(ValueError, match="'c'"):
        minimize(cost, {"a": 0.0, "b": 0.0})
