"""Profile likelihood in jaxphys.fitting: MINOS, scans and contours against closed forms and
scipy; likelihood-ratio tests, discovery significance and upper limits against
Cowan, Cranmer, Gross and Vitells (2011) and the textbook Gaussian results."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize, stats

from jaxphys.fitting import (BinnedNLL, CorrelatedLeastSquares, LeastSquares, Parameters,
                             contour, delta_for, discovery_significance, minimize,
                             likelihood_ratio_test, minos, profile_scan, upper_limit)
from jaxphys.metrics import asimov_significance

# the numerics group: exact references compared at the level users compile with
pytestmark = pytest.mark.xla_default_level


def poisson_deviance(n, mu):
    return 2 * (mu - n + (n * np.log(n / mu) if n > 0 else 0.0))


def test_delta_for_matches_chi2_quantiles():
    assert delta_for(None, 1) == 1.0 and delta_for(2, 1) == 4.0
    np.testing.assert_allclose(delta_for(0.95, 1), stats.chi2.ppf(0.95, 1), rtol=1e-12)
    np.testing.assert_allclose(delta_for(0.9, 2), stats.chi2.ppf(0.9, 2), rtol=1e-12)
    np.testing.assert_allclose(delta_for(None, 2), stats.chi2.ppf(stats.chi2.cdf(1, 1), 2),
                               rtol=1e-12)
    with pytest.raises(ValueError, match="cl"):
        delta_for(-0.5, 1)


# One on/off counting problem serves several tests: n_on ~ Pois(μ s + b), n_off ~ Pois(τ b).
S, B, TAU = 10.0, 20.0, 2.0
EDGES = np.array([0.0, 1.0, 2.0])


def on_off_cost(n_on, n_off):
    def cdf(e, p):  # bin [0, 1): the signal region, bin [1, 2): the control region
        on = p["mu"] * S + p["b"]
        return jnp.where(e <= 0.0, 0.0, jnp.where(e <= 1.0, on, on + TAU * p["b"]))
    return BinnedNLL(np.array([n_on, n_off]), EDGES, cdf=cdf, extended=True)


ON_OFF_PARAMS = Parameters({"mu": 1.0, "b": 20.0}, limits={"b": (0.0, None)})


def test_minos_of_a_poisson_mean_against_brentq():
    cost = on_off_cost(37.0, 44.0)
    result = minimize(cost, ON_OFF_PARAMS)
    np.testing.assert_allclose(np.asarray(result.values), [(37 - 22) / S, 22.0], rtol=1e-8)
    interval = minos(cost, ON_OFF_PARAMS, result, "mu", cl=0.9)
    assert bool(interval.lower_valid) and bool(interval.upper_valid)

    def profile(mu):  # independent profile over b by scipy
        res = optimize.minimize_scalar(
            lambda b: poisson_deviance(37.0, mu * S + b) + poisson_deviance(44.0, TAU * b),
            bounds=(1e-6, 200.0), method="bounded", options={"xatol": 1e-12})
        return res.fun

    target = float(result.minimum) + stats.chi2.ppf(0.9, 1)
    lo = optimize.brentq(lambda m: profile(m) - target, -2.0, 1.5, xtol=1e-12)
    hi = optimize.brentq(lambda m: profile(m) - target, 1.5, 5.0, xtol=1e-12)
    np.testing.assert_allclose([float(interval.lower), float(interval.upper)], [lo, hi],
                               rtol=1e-6)


def test_profile_scan_against_scipy_profile():
    cost = on_off_cost(37.0, 44.0)
    result = minimize(cost, ON_OFF_PARAMS)
    grid = np.linspace(0.5, 2.5, 5)
    scan = profile_scan(cost, ON_OFF_PARAMS, result, "mu", grid)
    assert np.all(np.asarray(scan.valid))
    for mu, delta, b in zip(grid, np.asarray(scan.delta_cost), np.asarray(scan.parameters)[:, 1]):
        res = optimize.minimize_scalar(
            lambda b: poisson_deviance(37.0, mu * S + b) + poisson_deviance(44.0, TAU * b),
            bounds=(1e-6, 200.0), method="bounded", options={"xatol": 1e-12})
        np.testing.assert_allclose(delta, res.fun - float(result.minimum), rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(b, res.x, rtol=1e-6)


def test_discovery_significance_on_asimov_data_is_the_asimov_formula(x64):
    """On Asimov data (n_on = s + b, n_off = τ b) the profile-likelihood Z0 is the median
    significance; with the background measured in the control region it equals Cowan's
    formula with σ_b² = b/τ."""
    cost = on_off_cost(S + B, TAU * B)
    result = minimize(cost, ON_OFF_PARAMS)
    test = discovery_significance(cost, ON_OFF_PARAMS, result, "mu")
    assert bool(test.valid)
    reference = float(asimov_significance(S, B, np.sqrt(B / TAU)))
    np.testing.assert_allclose(float(test.significance), reference, rtol=1e-7)
    np.testing.assert_allclose(float(test.p_value), stats.norm.sf(reference), rtol=1e-6)
    # with the background known exactly (a single bin), the σ_b = 0 formula
    known = BinnedNLL(np.array([S + B]), EDGES[:2],
                      cdf=lambda e, p: e * (p["mu"] * S + B), extended=True)
    params = Parameters({"mu": 0.5})
    z_known = discovery_significance(known, params, minimize(known, params), "mu").significance
    np.testing.assert_allclose(float(z_known), float(asimov_significance(S, B)), rtol=1e-9)


def test_likelihood_ratio_test_uses_wilks():
    x = np.linspace(0.0, 1.0, 8)
    y = np.array([1.0, 1.3, 1.2, 1.6, 1.5, 1.9, 2.2, 2.0])
    cost = LeastSquares(x, y, 0.2, lambda t, p: p["a"] + p["b"] * t + p["c"] * t * t)
    alternative = minimize(cost, {"a": 0.0, "b": 0.0, "c": 0.0})
    null = minimize(cost, Parameters({"a": 0.0, "b": 0.0, "c": 0.0}, fixed=("b", "c")))
    test = likelihood_ratio_test(null, alternative, 2)
    q = float(null.minimum - alternative.minimum)
    np.testing.assert_allclose(float(test.statistic), q, rtol=1e-10)
    np.testing.assert_allclose(float(test.p_value), stats.chi2.sf(q, 2), rtol=1e-9)
    np.testing.assert_allclose(float(test.significance), stats.norm.isf(stats.chi2.sf(q, 2)),
                               rtol=1e-7)


GAUSS = LeastSquares(np.array([0.0]), np.array([1.3]), 1.0, lambda t, p: p["mu"] + t)
GAUSS_PARAMS = Parameters({"mu": 0.0})


def test_upper_limits_of_a_gaussian_measurement():
    result = minimize(GAUSS, GAUSS_PARAMS)
    profile = upper_limit(GAUSS, GAUSS_PARAMS, result, "mu", cl=0.95)
    assert bool(profile.valid)
    np.testing.assert_allclose(float(profile.limit), 1.3 + stats.norm.ppf(0.95), rtol=1e-8)
    cls = upper_limit(GAUSS, GAUSS_PARAMS, result, "mu", cl=0.95, method="cls")
    assert bool(cls.valid)
    # classic Gaussian CLs: [1 - Φ(μ - x)] / Φ(x) = α
    reference = 1.3 + stats.norm.ppf(1 - 0.05 * stats.norm.cdf(1.3))
    np.testing.assert_allclose(float(cls.limit), reference, rtol=1e-8)
    assert float(cls.limit) > float(profile.limit)  # CLs is conservative
    with pytest.raises(ValueError, match="method"):
        upper_limit(GAUSS, GAUSS_PARAMS, result, "mu", method="bayes")


def test_contour_points_lie_on_the_profile_ellipse_of_a_linear_model():
    """Three-parameter linear χ²: the profile of two is quadratic, with the marginal
    covariance, so each point solves dᵀ V₂⁻¹ d = Δ₂ exactly."""
    x = np.linspace(-1.0, 1.0, 7)
    cov = 0.04 * np.eye(7) + 0.01
    y = 0.5 - x + 0.3 * x ** 2 + np.array([0.1, -0.2, 0.05, 0.0, 0.15, -0.1, 0.02])
    cost = CorrelatedLeastSquares(x, y, cov,
                                  lambda t, p: p["a"] + p["b"] * t + p["c"] * t * t)
    params = Parameters({"a": 0.0, "b": 0.0, "c": 0.0})
    result = minimize(cost, params)
    c = contour(cost, params, result, "a", "c", cl=0.9, size=12)
    assert np.all(np.asarray(c.valid))
    sub = np.asarray(result.covariance)[np.ix_([0, 2], [0, 2])]
    d = np.asarray(c.points) - np.asarray(result.values)[[0, 2]]
    q = np.einsum("ni,ij,nj->n", d, np.linalg.inv(sub), d)
    np.testing.assert_allclose(q, stats.chi2.ppf(0.9, 2), rtol=1e-7)
    angles = np.unwrap(np.arctan2(d[:, 1] / np.sqrt(sub[1, 1]), d[:, 0] / np.sqrt(sub[0, 0])))
    assert np.all(np.diff(angles) > 0)  # in order around the best fit


def test_minos_near_a_limit_reports_the_limit():
    cost = on_off_cost(22.0, 10.0)  # μ̂ = 1.7, b̂ = 5: the lower interval of b hits b > 4.5
    params = Parameters({"mu": 1.0, "b": 10.0}, limits={"b": (4.5, None)})
    result = minimize(cost, params)
    interval = minos(cost, params, result, ("b", "mu"))
    assert interval.lower.shape == (2,)
    assert bool(interval.lower_at_limit[0]) and not bool(interval.lower_valid[0])
    np.testing.assert_allclose(float(interval.lower[0]), 4.5, rtol=1e-12)
    assert bool(interval.upper_valid[0]) and not bool(interval.upper_at_limit[0])
    with pytest.raises(ValueError, match="parameter"):
        minos(cost, params, result, "nope")
