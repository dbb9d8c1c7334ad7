"""The inference chapters of the tour in --quick mode, checked against independent values.

* ``likelihood-fits``: the three fits of the Gaussian equal scipy fits of the same
  likelihoods and χ² written here in numpy (values and Hessian errors); the binned and
  unbinned likelihood fits agree within their errors, the χ² normalisation is low by
  about the number of populated bins; the MINOS intervals, the discovery and Asimov
  significances equal a profile likelihood computed here with scipy (minimize +
  brentq); the coverage of the toy intervals is nominal within Monte-Carlo error.
* ``gravitational-waves``: importance sampling brings the NPE posterior to the
  reference sampler's (C2ST ≤ 0.60, means within half a posterior width), the truth lies
  inside the reference posterior, and the log Bayes factor lies within the bounds set by
  the SNR.

The chapters' data are regenerated from their documented keys:
``fold_in(key(0), chapter.number)``, split as each chapter's docstring says."""

import jax
import numpy as np
import pytest

pytest.importorskip("matplotlib")
stats = pytest.importorskip("scipy.stats")
optimize = pytest.importorskip("scipy.optimize")

from jaxphys.tour import _ch21_likelihood_fits as ch21  # noqa: E402


@pytest.fixture(scope="module")
def fits_chapter(quick_chapter):
    return quick_chapter("likelihood-fits")


@pytest.fixture(scope="module")
def gw_chapter(quick_chapter):
    return quick_chapter("gravitational-waves")


@pytest.mark.no_key_reuse_check
def test_likelihood_fits_chapter_runs(fits_chapter, chapter_checks):
    chapter_checks("likelihood-fits", *fits_chapter)


@pytest.mark.no_key_reuse_check
def test_gravitational_waves_chapter_runs(gw_chapter, chapter_checks):
    chapter_checks("gravitational-waves", *gw_chapter)


def _metrics(result):
    return result[0].runs[0].result.metrics


def _datasets():
    data_key, _ = jax.random.split(jax.random.fold_in(jax.random.key(0), 21))
    return ch21.datasets(data_key)


# ---- part one: the three fits, in numpy + scipy ------------------------------------------------

EDGES = np.asarray(ch21.GAUSS_EDGES)


def _binned(theta, counts):
    n, mu, sigma = theta
    expected = n * np.diff(stats.norm.cdf(EDGES, mu, sigma))
    if sigma <= 0 or n <= 0 or np.any(expected <= 0):
        return np.inf
    return 2.0 * np.sum(expected - counts * np.log(expected))          # -2 log L + const


def _unbinned(theta, events):
    n, mu, sigma = theta
    if sigma <= 0 or n <= 0:
        return np.inf
    inside = stats.norm.cdf(EDGES[-1], mu, sigma) - stats.norm.cdf(EDGES[0], mu, sigma)
    return 2.0 * (n * inside - np.sum(np.log(n * stats.norm.pdf(events, mu, sigma))))


def _chi2(theta, counts):
    n, mu, sigma = theta
    expected = n * np.diff(stats.norm.cdf(EDGES, mu, sigma))
    return np.sum((counts - expected) ** 2 / np.maximum(counts, 1.0))


def _hessian_errors(f, x, rel=1e-4):
    """HESSE errors of a -2 log L-like cost: sqrt(diag(2 H⁻¹)), H by central differences."""
    x = np.asarray(x, float)
    h = rel * np.maximum(np.abs(x), 1.0)
    k = x.size
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            def shifted(a, b):
                y = x.copy()
                y[i] += a * h[i]
                y[j] += b * h[j]
                return f(y)
            hess[i, j] = (shifted(1, 1) - shifted(1, -1) - shifted(-1, 1)
                          + shifted(-1, -1)) / (4 * h[i] * h[j])
    return np.sqrt(np.diag(2.0 * np.linalg.inv(hess)))


def test_three_fits_equal_scipy_fits_of_the_same_costs(fits_chapter):
    m = _metrics(fits_chapter)
    data = _datasets()
    assert m["n_events"] == data.events.size
    start = [data.counts.sum(), data.events.mean(), data.events.std()]
    for short, f, arg in (("binned", _binned, data.counts), ("unbinned", _unbinned, data.events),
                          ("chi2", _chi2, data.counts)):
        cost = lambda t, f=f, arg=arg: f(t, arg)  # noqa: E731
        ref = optimize.minimize(cost, start, method="Nelder-Mead",
                                options=dict(xatol=1e-9, fatol=1e-11, maxiter=20000,
                                             maxfev=40000))
        errors = _hessian_errors(cost, ref.x)
        for i, p in enumerate(("n", "mu", "sigma")):
            assert abs(m[f"{short}_{p}"] - ref.x[i]) < 1e-3 * errors[i], (short, p)
            assert m[f"{short}_{p}_error"] == pytest.approx(errors[i], rel=2e-3), (short, p)
    # binned and unbinned likelihoods agree within their errors; the extended
    # normalisation of both is the number of events over the fraction inside the range
    for p in ("n", "mu", "sigma"):
        assert abs(m[f"binned_{p}"] - m[f"unbinned_{p}"]) < 0.5 * m[f"binned_{p}_error"]
    mu, sigma = m["unbinned_mu"], m["unbinned_sigma"]
    inside = stats.norm.cdf(4.0, mu, sigma) - stats.norm.cdf(-4.0, mu, sigma)
    assert m["unbinned_n"] == pytest.approx(data.events.size / inside, rel=1e-6)
    # Neyman's χ² undershoots the normalisation by about one event per populated bin
    populated = int(np.sum(data.counts > 0))
    shortfall = m["binned_n"] - m["chi2_n"]
    assert 0.5 * populated < shortfall < 1.5 * populated, (shortfall, populated)


def test_chi2_bias_at_low_counts(fits_chapter):
    """Over the toys, the binned likelihood's pulls of n have mean 0 within 4 Monte-Carlo
    errors at every count, while the χ² pulls are strongly negative at the lowest count."""
    m = _metrics(fits_chapter)
    for tag in ("lowest", "highest"):
        assert abs(m[f"binned_pull_n_{tag}"]) < 4 * m[f"binned_pull_n_{tag}_error"]
    assert m["chi2_pull_n_lowest"] < -1.0
    assert m["chi2_pull_n_lowest"] < m["chi2_pull_n_highest"] < 0


# ---- part two: the resonance, profiled with scipy ----------------------------------------------

MASS = np.asarray(ch21.MASS_EDGES)


def _resonance_cost(theta, counts, b_measured=1.0):
    mu, b, tau = theta
    if b <= 0 or not 5.0 < tau < 200.0:
        return np.inf
    signal = mu * ch21.SIGNAL_EVENTS * stats.norm.cdf(MASS, ch21.PEAK_MASS, ch21.PEAK_WIDTH)
    background = (b * ch21.BACKGROUND_EVENTS * -np.expm1(-(MASS - MASS[0]) / tau)
                  / -np.expm1(-(MASS[-1] - MASS[0]) / tau))
    expected = np.diff(signal + background)
    if np.any(expected <= 0):
        return np.inf
    safe = np.where(counts > 0, counts, 1.0)
    deviance = 2.0 * np.sum(expected - counts + np.where(counts > 0,
                                                         counts * np.log(safe / expected), 0.0))
    return deviance + ((b - b_measured) / ch21.B_ERROR) ** 2


def _profile(counts):
    def at(mu, start=(1.0, 30.0)):
        r = optimize.minimize(lambda v: _resonance_cost((mu, *v), counts), start,
                              method="Nelder-Mead",
                              options=dict(xatol=1e-10, fatol=1e-12, maxiter=20000))
        return r.fun
    best = optimize.minimize(lambda v: _resonance_cost(v, counts), (1.0, 1.0, 30.0),
                             method="Nelder-Mead",
                             options=dict(xatol=1e-10, fatol=1e-12, maxiter=40000))
    return best, lambda mu: at(mu) - best.fun


def test_resonance_intervals_equal_a_scipy_profile(fits_chapter):
    m = _metrics(fits_chapter)
    counts = _datasets().mass_counts
    best, delta = _profile(counts)
    assert best.x[0] == pytest.approx(m["mu_hat"], abs=1e-5)
    assert m["b_hat"] == pytest.approx(best.x[1], abs=1e-5)
    sigma = m["mu_error"]
    for threshold, tag in ((1.0, "minos68"), (stats.chi2.ppf(0.95, 1), "minos95")):
        lower = optimize.brentq(lambda u: delta(u) - threshold, best.x[0] - 5 * sigma,
                                best.x[0], xtol=1e-8)
        upper = optimize.brentq(lambda u: delta(u) - threshold, best.x[0],
                                best.x[0] + 5 * sigma, xtol=1e-8)
        assert m[f"{tag}_lower"] == pytest.approx(lower, abs=1e-4)
        assert m[f"{tag}_upper"] == pytest.approx(upper, abs=1e-4)
    # discovery: Z0 = sqrt(q0) with q0 the profile at μ = 0 (μ̂ > 0 here)
    assert m["mu_hat"] > 0
    assert m["z_observed"] == pytest.approx(np.sqrt(delta(0.0)), abs=1e-4)
    # the Asimov data set: the expected counts at μ = 1, b = 1
    asimov = np.diff(ch21.SIGNAL_EVENTS * stats.norm.cdf(MASS, ch21.PEAK_MASS, ch21.PEAK_WIDTH)
                     + ch21.BACKGROUND_EVENTS * -np.expm1(-(MASS - MASS[0]) / ch21.SLOPE)
                     / -np.expm1(-(MASS[-1] - MASS[0]) / ch21.SLOPE))
    _, asimov_delta = _profile(asimov)
    assert m["z_asimov"] == pytest.approx(np.sqrt(asimov_delta(0.0)), abs=1e-4)
    # the asymptotic CLs of Cowan et al. (2011) equals 0.05 at the chapter's limit
    mu_up = m["upper_limit_cls95"]
    root_q = np.sqrt(delta(mu_up))
    cls = stats.norm.sf(root_q) / stats.norm.cdf(mu_up / sigma - root_q)
    assert cls == pytest.approx(0.05, abs=1e-4)


def test_resonance_coverage_is_nominal(fits_chapter):
    m = _metrics(fits_chapter)
    n = m["n_coverage_toys"]
    for cl, tag in ((0.6827, "68"), (0.95, "95")):
        for method in ("minos", "hesse"):
            tolerance = 4 * np.sqrt(cl * (1 - cl) / n)
            assert abs(m[f"coverage_{method}{tag}"] - cl) < tolerance, (method, cl)


# ---- gravitational waves -----------------------------------------------------------------------

C2ST_AFTER_IS_FLOOR = 0.60   # measured 0.524 in the quick setting (229 draws per side)


def test_gw_importance_sampling_reaches_the_reference(gw_chapter):
    m = _metrics(gw_chapter)
    assert m["c2st_importance_sampled"] <= C2ST_AFTER_IS_FLOOR
    assert m["c2st_importance_sampled"] < m["c2st_npe"]
    for name in ("chirp_mass", "mass_ratio", "luminosity_distance", "coalescence_time"):
        width = m[f"reference_std_{name}"]
        assert abs(m[f"importance_mean_{name}"] - m[f"reference_mean_{name}"]) < 0.5 * width
        assert abs(m[f"reference_mean_{name}"] - m[f"truth_{name}"]) < 4 * width, name
    assert 0 < m["sample_efficiency"] <= 1
    n = m["effective_sample_size"] / m["sample_efficiency"]
    assert n == pytest.approx(20000, rel=1e-3)
    # the quick NPE beats the prior on simulated injections, and is calibrated (P–P)
    assert m["log_q_gain_over_prior_nats"] > 2.0
    for name in ("chirp_mass", "mass_ratio", "luminosity_distance", "coalescence_time"):
        assert m[f"pp_ks_distance_{name}"] < 1.5 * m["pp_ks_band"]


def test_gw_log_bayes_factor_is_bounded_by_the_snr(gw_chapter):
    """ln B ≈ ρ_mf²/2 minus an Occam factor of a few nats per parameter, with ρ_mf the
    matched-filter SNR, ρ ± O(1) for an optimal SNR ρ = 22."""
    m = _metrics(gw_chapter)
    rho = m["snr"]
    assert 0.5 * (rho - 3) ** 2 - 30 < m["log_bayes_factor"] < 0.5 * (rho + 3) ** 2
    assert 0 < m["log_bayes_factor_error"] < 1
