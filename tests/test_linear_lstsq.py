"""jaxphys.linear: lstsq_fit, polyfit/polyval, χ² p-values — against numpy/scipy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from jaxphys.linear import (LinearFit, chi2_sf, design_matrix_poly, lstsq_fit, polyfit,
                            polyval)

# the numerics group: exact references compared at the level users compile with
pytestmark = pytest.mark.xla_default_level


def _line_data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 10.0, n))
    sigma = rng.uniform(0.3, 1.5, n)
    y = 1.5 - 0.7 * x + 0.05 * x**2 + sigma * rng.normal(size=n)
    design = np.stack([np.ones(n), x, x**2], axis=1)
    return x, y, sigma, design


def _rel_max(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


@pytest.mark.parametrize("method", ["qr", "svd"])
def test_weighted_fit_matches_numpy(x64, method):
    x, y, sigma, design = _line_data()
    fit = lstsq_fit(design, y, sigma, method=method)
    assert isinstance(fit, LinearFit)
    assert fit.params.dtype == jnp.float64
    w = 1.0 / sigma
    ref = np.linalg.lstsq(design * w[:, None], y * w, rcond=None)[0]
    np.testing.assert_allclose(fit.params, ref, rtol=1e-10)
    cov_ref = np.linalg.inv(design.T @ np.diag(w**2) @ design)
    np.testing.assert_allclose(fit.cov, cov_ref, rtol=1e-10)
    resid_ref = y - design @ ref
    np.testing.assert_allclose(fit.residuals, resid_ref, rtol=1e-9, atol=1e-12)
    chi2_ref = np.sum((resid_ref / sigma) ** 2)
    np.testing.assert_allclose(fit.chi2, chi2_ref, rtol=1e-10)
    assert int(fit.dof) == len(y) - 3
    np.testing.assert_allclose(fit.p_value, scipy.stats.chi2.sf(chi2_ref, len(y) - 3),
                               rtol=1e-10)


def test_unweighted_fit_and_scaled_cov(x64):
    x, y, _, design = _line_data(seed=1)
    fit = lstsq_fit(design, y)
    ref, rss, _, _ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(fit.params, ref, rtol=1e-10)
    np.testing.assert_allclose(fit.chi2, rss[0], rtol=1e-10)
    unit_cov = np.linalg.inv(design.T @ design)           # sigma = 1 convention
    np.testing.assert_allclose(fit.cov, unit_cov, rtol=1e-10)
    scaled = lstsq_fit(design, y, absolute_sigma=False)
    dof = len(y) - 3
    np.testing.assert_allclose(scaled.cov, unit_cov * rss[0] / dof, rtol=1e-10)


def test_polyfit_matches_numpy_polyfit(x64):
    x, y, sigma, _ = _line_data(seed=2)
    fit = polyfit(x, y, 2, sigma)
    # numpy: decreasing powers and weights w = 1/sigma.
    ref, cov_unscaled = np.polyfit(x, y, 2, w=1 / sigma, cov="unscaled")
    np.testing.assert_allclose(fit.params, ref[::-1], rtol=1e-10)
    np.testing.assert_allclose(fit.cov, cov_unscaled[::-1, ::-1], rtol=1e-10)
    _, cov_scaled = np.polyfit(x, y, 2, w=1 / sigma, cov=True)
    scaled = polyfit(x, y, 2, sigma, absolute_sigma=False)
    np.testing.assert_allclose(scaled.cov, cov_scaled[::-1, ::-1], rtol=1e-10)


def test_polyval_and_design_matrix(x64):
    rng = np.random.default_rng(3)
    coeffs = rng.normal(size=5)
    x = rng.uniform(-2, 2, size=(3, 4))
    np.testing.assert_allclose(polyval(coeffs, x), np.polyval(coeffs[::-1], x), rtol=1e-12)
    xs = rng.uniform(-2, 2, size=7)
    np.testing.assert_allclose(design_matrix_poly(xs, 4), np.vander(xs, 5, increasing=True),
                               rtol=1e-13)
    assert design_matrix_poly(xs, 0).shape == (7, 1)


def test_degree_15_fit_is_stable_where_normal_equations_fail(x64):
    # 100 points on [-0.5, 1], monomials up to x^15: cond(A_w) ~ 1.6e7.
    rng = np.random.default_rng(0)
    n, deg = 100, 15
    x = np.linspace(-0.5, 1.0, n)
    sigma = rng.uniform(0.05, 0.15, n)
    a = np.vander(x, deg + 1, increasing=True)
    y = a @ rng.normal(size=deg + 1) + sigma * rng.normal(size=n)
    a_w, y_w = a / sigma[:, None], y / sigma
    assert 1e6 < np.linalg.cond(a_w) < 1e8
    ref = np.linalg.lstsq(a_w, y_w, rcond=None)[0]
    u, s, vt = np.linalg.svd(a_w, full_matrices=False)
    cov_ref = (vt.T / s**2) @ vt

    for method in ("qr", "svd"):
        fit = polyfit(x, y, deg, sigma, method=method)
        assert _rel_max(fit.params, ref) < 1e-9
        assert _rel_max(fit.cov, cov_ref) < 1e-8
    # The normal equations, even solved in float64 by numpy, lose ~4 more digits.
    normal = np.linalg.solve(a_w.T @ a_w, a_w.T @ y_w)
    assert _rel_max(normal, ref) > 1e-5


def test_chi2_sf_matches_scipy(x64):
    chi2 = np.array([0.1, 1.0, 3.84, 10.0, 55.0, 120.0])
    for dof in (1, 2, 7, 50, 100):
        np.testing.assert_allclose(chi2_sf(chi2, dof), scipy.stats.chi2.sf(chi2, dof),
                                   rtol=1e-10)
    assert np.isnan(chi2_sf(1.0, 0))


def test_p_value_calibrated_by_simulation(x64):
    # Correctly specified model with known sigma: chi2 ~ chi2_dof, p ~ U(0,1).
    x, _, sigma, design = _line_data(seed=4)
    rng = np.random.default_rng(4)
    truth = np.array([1.0, -0.5, 0.03])
    ys = design @ truth + sigma * rng.normal(size=(400, len(x)))
    fits = jax.vmap(lambda yy: lstsq_fit(design, yy, sigma))(jnp.asarray(ys))
    assert abs(float(jnp.mean(fits.chi2)) - (len(x) - 3)) < 1.0
    assert scipy.stats.kstest(np.asarray(fits.p_value), "uniform").pvalue > 1e-3
    # and the parameter scatter matches the reported covariance
    emp_cov = np.cov(np.asarray(fits.params).T)
    np.testing.assert_allclose(np.sqrt(np.diag(emp_cov)), np.sqrt(np.diag(fits.cov[0])),
                               rtol=0.15)


def test_float32_default_mode_works():
    x = jnp.linspace(-1.0, 1.0, 7)
    fit = polyfit(x, 2.0 + 3.0 * x - x**2, 2)
    assert fit.params.dtype == jnp.float32
    np.testing.assert_allclose(fit.params, [2.0, 3.0, -1.0], rtol=1e-5)


def test_jit_and_no_recompile(x64):
    x, y, sigma, design = _line_data()
    f = jax.jit(lstsq_fit)
    a = f(design, y, sigma)
    b = f(design, y + 1.0, sigma)
    assert not np.allclose(a.params, b.params)
    count = f._cache_size()
    f(design, y * 2.0, sigma)
    assert f._cache_size() == count


# --- bad input ---------------------------------------------------------------

def test_bad_inputs():
    x, y, sigma, design = _line_data()
    with pytest.raises(ValueError, match="design"):
        lstsq_fit(design[:-1], y)                       # mismatched lengths
    with pytest.raises(ValueError, match="y"):
        lstsq_fit(design, y[:, None])                   # wrong rank of y
    with pytest.raises(ValueError, match="design"):
        lstsq_fit(design[:, 0], y)                      # wrong rank of design
    with pytest.raises(ValueError, match="sigma"):
        lstsq_fit(design, y, np.where(np.arange(len(y)) == 3, 0.0, sigma))   # sigma = 0
    with pytest.raises(ValueError, match="sigma"):
        lstsq_fit(design, y, -sigma)                    # sigma < 0
    with pytest.raises(ValueError, match="sigma"):
        lstsq_fit(design, y, sigma[:-1])                # sigma length
    with pytest.raises(ValueError, match="sigma"):
        lstsq_fit(design, y, np.where(np.arange(len(y)) == 0, np.inf, sigma))
    with pytest.raises(ValueError, match="y"):
        lstsq_fit(design, np.where(np.arange(len(y)) == 2, np.nan, y))
    with pytest.raises(ValueError, match="design"):
        lstsq_fit(np.where(design == design[1, 1], np.inf, design), y)
    with pytest.raises(ValueError, match="design"):
        lstsq_fit(design[:2], y[:2])                    # n < p
    with pytest.raises(ValueError, match="method"):
        lstsq_fit(design, y, method="normal")
    with pytest.raises(ValueError, match="design"):      # exactly rank-deficient
        lstsq_fit(np.stack([x, x, 2 * x], axis=1), y)


def test_polyfit_bad_inputs():
    x, y, sigma, _ = _line_data()
    with pytest.raises(ValueError, match="x and y"):
        polyfit(x[:-1], y, 2)
    with pytest.raises(ValueError, match="deg"):
        polyfit(x, y, -1)
    with pytest.raises(ValueError, match="deg"):
        polyfit(x, y, 2.5)
    with pytest.raises(ValueError, match="deg"):
        polyfit(x[:3], y[:3], 3)
    with pytest.raises(ValueError, match="x"):
        polyfit(np.where(np.arange(len(x)) == 0, np.nan, x), y, 1)
    with pytest.raises(ValueError, match="sigma"):
        polyfit(x, y, 1, sigma=0.0)
    with pytest.raises(ValueError, match="x"):
        polyfit(x[:, None], y, 1)
    with pytest.raises(ValueError, match="coeffs"):
        polyval(np.ones((2, 2)), x)
