"""jaxphys.linear.curve_fit on a simulated Breit–Wigner resonance over a background.

References are independent: the truth used to simulate, a numpy finite-difference
Jacobian for the covariance formula, and scipy.optimize.curve_fit.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.optimize
import scipy.stats

from jaxphys.linear import CurveFit, breit_wigner, curve_fit
from jaxphys.linear._curve_fit import _levenberg_marquardt

# the numerics group: exact references compared at the level users compile with
pytestmark = pytest.mark.xla_default_level

TRUTH = np.array([50.0, 91.19, 2.50, 20.0, -0.1])   # A, M, Γ, b0, b1
P0 = np.array([40.0, 90.5, 3.5, 15.0, 0.0])
X = np.linspace(84.0, 98.0, 57)


def bw_numpy(x, amp, mass, width, b0, b1):
    """Independent numpy Breit–Wigner (non-relativistic) plus a line."""
    return amp * (width / 2) ** 2 / ((x - mass) ** 2 + (width / 2) ** 2) + b0 + b1 * x


def simulate(seed):
    mu = bw_numpy(X, *TRUTH)
    sigma = np.sqrt(mu)
    rng = np.random.default_rng(seed)
    return mu + sigma * rng.normal(size=X.size), sigma


def numeric_jacobian(x, theta, h=1e-30):
    """Complex-step derivative of the numpy model: ∂f/∂θ_j = Im f(θ + i h e_j) / h.

    Free of subtractive cancellation, so accurate to rounding (unlike forward or
    central differences, whose truncation error would limit the comparison).
    """
    jac = np.empty((x.size, theta.size))
    for j in range(theta.size):
        shifted = theta.astype(complex)
        shifted[j] += 1j * h
        jac[:, j] = bw_numpy(x, *shifted).imag / h
    return jac


def assert_cov_close(cov, ref, tol):
    """|Δcov_ij| ≤ tol·sqrt(ref_ii ref_jj): relative to the parameters' errors."""
    cov, ref = np.asarray(cov), np.asarray(ref)
    scale = np.sqrt(np.outer(np.diag(ref), np.diag(ref)))
    assert np.max(np.abs(cov - ref) / scale) < tol


def test_breit_wigner_formula(x64):
    p = jnp.asarray(TRUTH)
    np.testing.assert_allclose(breit_wigner(X, p), bw_numpy(X, *TRUTH), rtol=1e-13)
    amp, mass, width, b0, b1 = TRUTH
    rel = amp * mass**2 * width**2 / ((X**2 - mass**2) ** 2 + mass**2 * width**2) + b0 + b1 * X
    np.testing.assert_allclose(breit_wigner(X, p, relativistic=True), rel, rtol=1e-13)
    # Peak height A above the background at E = M in both forms.
    for relativistic in (False, True):
        peak = breit_wigner(jnp.asarray(mass), p, relativistic=relativistic)
        np.testing.assert_allclose(peak, amp + b0 + b1 * mass, rtol=1e-13)


def test_recovers_breit_wigner_within_errors(x64):
    y, sigma = simulate(0)
    fit = curve_fit(breit_wigner, X, y, P0, sigma)
    assert isinstance(fit, CurveFit)
    assert bool(fit.converged) and int(fit.n_iter) < 50
    err = np.sqrt(np.diag(fit.cov))
    assert np.all(np.abs(np.asarray(fit.params) - TRUTH) < 3 * err)
    assert int(fit.dof) == X.size - 5
    chi2_ref = np.sum(((y - bw_numpy(X, *np.asarray(fit.params))) / sigma) ** 2)
    np.testing.assert_allclose(fit.chi2, chi2_ref, rtol=1e-10)
    np.testing.assert_allclose(fit.p_value, scipy.stats.chi2.sf(chi2_ref, X.size - 5),
                               rtol=1e-8)


def test_covariance_is_inverse_jtwj_from_numpy_jacobian(x64):
    y, sigma = simulate(1)
    fit = curve_fit(breit_wigner, X, y, P0, sigma)
    jac = numeric_jacobian(X, np.asarray(fit.params))
    w = 1.0 / sigma**2
    cov_ref = np.linalg.inv(jac.T @ (w[:, None] * jac))
    assert_cov_close(fit.cov, cov_ref, 1e-8)
    np.testing.assert_allclose(np.diag(fit.cov), np.diag(cov_ref), rtol=1e-8)
    # absolute_sigma=False scales by chi2/dof (scipy's default convention)
    scaled = curve_fit(breit_wigner, X, y, P0, sigma, absolute_sigma=False)
    assert_cov_close(scaled.cov, cov_ref * float(fit.chi2) / (X.size - 5), 1e-8)


def test_matches_scipy_curve_fit(x64):
    y, sigma = simulate(2)
    fit = curve_fit(breit_wigner, X, y, P0, sigma)
    ref, ref_cov = scipy.optimize.curve_fit(bw_numpy, X, y, p0=P0, sigma=sigma,
                                            absolute_sigma=True, ftol=1e-15, xtol=1e-15,
                                            gtol=1e-15, maxfev=20000)
    err = np.sqrt(np.diag(ref_cov))
    assert np.all(np.abs(np.asarray(fit.params) - ref) < 1e-5 * err)
    # scipy's covariance uses a forward-difference Jacobian: agreement to ~1e-7.
    assert_cov_close(fit.cov, ref_cov, 1e-5)


def test_pull_distribution_over_seeds(x64):
    # A Python loop reuses the one compiled fit (vmap would compile a batched one).
    sigma = simulate(0)[1]
    fits = [curve_fit(breit_wigner, X, simulate(seed)[0], P0, sigma) for seed in range(10, 50)]
    assert all(bool(fit.converged) for fit in fits)
    pulls = np.array([(np.asarray(fit.params) - TRUTH) / np.sqrt(np.diag(fit.cov))
                      for fit in fits])
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.6)           # 40 fits: 3σ ≈ 0.47
    assert np.all((pulls.std(axis=0) > 0.65) & (pulls.std(axis=0) < 1.4))
    # and χ²/dof is consistent with 1 on average
    assert abs(np.mean([float(fit.chi2) for fit in fits]) / (X.size - 5) - 1.0) < 0.15


def test_relativistic_breit_wigner_fit(x64):
    model = functools.partial(breit_wigner, relativistic=True)
    amp, mass, width, b0, b1 = TRUTH
    mu = amp * mass**2 * width**2 / ((X**2 - mass**2) ** 2 + mass**2 * width**2) + b0 + b1 * X
    sigma = np.sqrt(mu)
    y = mu + sigma * np.random.default_rng(3).normal(size=X.size)
    fit = curve_fit(model, X, y, P0, sigma)
    assert bool(fit.converged)
    assert np.all(np.abs(np.asarray(fit.params) - TRUTH) < 3 * np.sqrt(np.diag(fit.cov)))


def expo(x, p):
    return p[0] * jnp.exp(-x / p[1])


def test_unweighted_exact_data_and_no_recompile(x64):
    x = np.linspace(0.0, 5.0, 30)
    fit = curve_fit(expo, x, 3.0 * np.exp(-x / 1.5), np.array([1.0, 1.0]))
    np.testing.assert_allclose(fit.params, [3.0, 1.5], rtol=1e-10)
    size = _levenberg_marquardt._cache_size()
    fit2 = curve_fit(expo, x, 2.0 * np.exp(-x / 0.5), np.array([1.0, 1.0]), max_iter=300)
    np.testing.assert_allclose(fit2.params, [2.0, 0.5], rtol=1e-10)
    assert _levenberg_marquardt._cache_size() == size
    # a model that is NaN at p0 (0/0 at x = 0) never reports convergence
    bad = curve_fit(expo, x, 3.0 * np.exp(-x / 1.5), np.array([1.0, 0.0]), max_iter=20)
    assert not bool(bad.converged)


def _product(x, p):
    return p[0] * p[1] * x


def test_non_identifiable_model_never_converges(x64):
    """p0·p1·x fixes only the product: a valley of minima, never a converged fit."""
    x = np.linspace(0.0, 1.0, 20)
    fit = curve_fit(_product, x, 2.0 * x, np.array([1.0, 1.0]))
    np.testing.assert_allclose(float(fit.params[0] * fit.params[1]), 2.0, rtol=1e-8)
    assert not bool(fit.converged)
    assert float(fit.rcond) < 1e-7
    # the identifiable fit's rcond: QR's |R_ii| ratio of the equilibrated whitened
    # Jacobian, compared with numpy's factorisation of the same matrix
    y, sigma = simulate(6)
    good = curve_fit(breit_wigner, X, y, P0, sigma)
    jac = np.asarray(jax.jacfwd(lambda p: breit_wigner(X, p))(good.params))
    jac = jac / np.asarray(sigma)[:, None]
    b = jac / np.linalg.norm(jac, axis=0)
    diag = np.abs(np.diag(np.linalg.qr(b, mode="r")))
    assert bool(good.converged)
    np.testing.assert_allclose(float(good.rcond), diag.min() / diag.max(), rtol=1e-6)


def test_max_iter_reports_not_converged(x64):
    y, sigma = simulate(4)
    fit = curve_fit(breit_wigner, X, y, P0, sigma, max_iter=2)
    assert int(fit.n_iter) == 2 and not bool(fit.converged)


def test_bad_inputs():
    y, sigma = simulate(5)
    with pytest.raises(ValueError, match="x and y"):
        curve_fit(breit_wigner, X[:-1], y, P0, sigma)
    with pytest.raises(ValueError, match="sigma"):
        curve_fit(breit_wigner, X, y, P0, np.where(np.arange(X.size) == 4, 0.0, sigma))
    with pytest.raises(ValueError, match="sigma"):
        curve_fit(breit_wigner, X, y, P0, -sigma)
    with pytest.raises(ValueError, match="sigma"):
        curve_fit(breit_wigner, X, y, P0, sigma[:3])
    with pytest.raises(ValueError, match="y"):
        curve_fit(breit_wigner, X, y[:, None], P0, sigma)
    with pytest.raises(ValueError, match="p0"):
        curve_fit(breit_wigner, X, y, P0[None, :], sigma)
    with pytest.raises(ValueError, match="y"):
        curve_fit(breit_wigner, X, np.where(np.arange(X.size) == 0, np.nan, y), P0, sigma)
    with pytest.raises(ValueError, match="x"):
        curve_fit(breit_wigner, np.where(np.arange(X.size) == 0, np.inf, X), y, P0, sigma)
    with pytest.raises(ValueError, match="p0"):
        curve_fit(breit_wigner, X, y, np.where(np.arange(5) == 0, np.nan, P0), sigma)
    with pytest.raises(ValueError, match="p0"):
        curve_fit(breit_wigner, X[:4], y[:4], P0, sigma[:4])          # n < p
    with pytest.raises(ValueError, match="f"):
        curve_fit(lambda x, p: jnp.sum(p) * x[:3], X, y, P0, sigma)  # wrong output shape
    with pytest.raises(ValueError, match="f"):
        curve_fit("bw", X, y, P0, sigma)
    with pytest.raises(ValueError, match="max_iter"):
        curve_fit(breit_wigner, X, y, P0, sigma, max_iter=0)
    with pytest.raises(ValueError, match="tol"):
        curve_fit(breit_wigner, X, y, P0, sigma, tol=-1.0)
    with pytest.raises(ValueError, match="params"):
        breit_wigner(X, P0[:4])
