"""P–P plot data against scipy: binomial bands, Kolmogorov p-values and critical values;
calibrated and miscalibrated credible levels."""

import numpy as np
import pytest
from scipy import stats

from jaxphys.physics.gw import credible_levels, kolmogorov_pvalue, pp_plot_data


def test_credible_levels_of_gaussian_posteriors_are_uniform():
    """Exact posteriors (truth drawn from the same Gaussian as the samples) give uniform
    levels; too narrow posteriors pile the levels up at 0 and 1."""
    rng = np.random.default_rng(0)
    n_inj, n_samples = 400, 500
    centres = rng.normal(size=(n_inj, 2))
    truths = centres + rng.normal(size=(n_inj, 2))
    good = centres[:, None, :] + rng.normal(size=(n_inj, n_samples, 2))
    narrow = centres[:, None, :] + 0.5 * rng.normal(size=(n_inj, n_samples, 2))
    pp_good = pp_plot_data(credible_levels(good, truths))
    pp_narrow = pp_plot_data(credible_levels(narrow, truths))
    assert pp_good.inside.all() and np.all(pp_good.ks_pvalue > 0.01)
    assert not pp_narrow.inside.any() and np.all(pp_narrow.ks_pvalue < 1e-3)
    assert pp_good.ecdf.shape == (2, 101) and pp_good.n_injections == 400
    with pytest.raises(ValueError, match="samples, truths"):
        credible_levels(good, truths[:, :1])


def test_bands_and_pvalues_match_scipy():
    n = 200
    pp = pp_plot_data(np.random.default_rng(1).uniform(size=(n, 3)))
    # the pointwise band: central 95 % of Binomial(n, x)/n
    for i in (10, 50, 90):
        x = pp.levels[i]
        lo, hi = stats.binom.ppf([0.025, 0.975], n, x) / n
        assert abs(pp.lower[i] - lo) <= 1 / n and abs(pp.upper[i] - hi) <= 1 / n
    # the simultaneous band: scipy's exact KS critical value at n = 200
    assert abs(pp.ks_band / stats.kstwo.ppf(0.95, n) - 1) < 0.01
    # the KS distance and the asymptotic p-value of scipy's one-sample test
    levels = np.random.default_rng(2).uniform(size=(n, 1)) ** 1.3
    pp = pp_plot_data(levels)
    ref = stats.kstest(levels[:, 0], "uniform", method="asymp")
    assert abs(pp.ks_distance[0] - ref.statistic) < 1e-12
    assert abs(pp.ks_pvalue[0] - ref.pvalue) < 0.02
    assert abs(kolmogorov_pvalue(1.358 / np.sqrt(1e6), 1_000_000) - 0.05) < 0.002


def test_bad_levels():
    with pytest.raises(ValueError, match="levels"):
        pp_plot_data(np.full((10, 2), 1.5))
    with pytest.raises(ValueError, match="levels"):
        pp_plot_data(np.zeros(10))
    with pytest.raises(ValueError, match="confidence"):
        pp_plot_data(np.zeros((10, 2)), confidence=1.5)
