"""Calibration diagnostics (SBC with a χ² uniformity test, expected coverage, TARP) on
posteriors whose calibration is known: the exact Gaussian-linear posterior (calibrated),
and the same posterior made over-confident, under-confident or biased. The coverage of a
scaled Gaussian posterior is a closed form (the χ² distribution), checked with scipy."""

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxphys.generative import (expected_coverage, rank_uniformity, sbc_ranks, sbc_uniformity,
                                tarp_coverage, chi2_survival)
from jaxphys.physics.simulators import gaussian_linear, simulate_batch

DIM = 2
N_SIMS = 1000          # coverage standard error at α = 0.5: 0.016, so ±0.05 is 3σ


def _problem():
    task = gaussian_linear(dim=DIM)
    theta, x = simulate_batch(jax.random.key(0), task, N_SIMS)
    return task, theta, x


def _scaled(task, scale=1.0, shift=0.0):
    """The exact posterior with its standard deviation times ``scale`` and its mean moved
    by ``shift`` standard deviations."""
    def posterior(x):
        exact = task.posterior(x)
        sd = exact.stddev()
        return distrax.MultivariateNormalDiag(exact.mean() + shift * sd, scale * sd)
    return posterior


def test_chi2_survival_and_rank_uniformity_match_scipy():
    for stat, dof in ((3.0, 4), (25.0, 9), (0.5, 1)):
        np.testing.assert_allclose(chi2_survival(stat, dof), stats.chi2.sf(stat, dof),
                                   rtol=1e-5)
    ranks = np.random.default_rng(0).integers(0, 100, size=(700, 3))
    ranks[:, 2] = np.minimum(ranks[:, 2], 60)          # piles up at 60: not uniform
    res = rank_uniformity(ranks, 100, n_bins=20)
    assert res.counts.shape == (20, 3) and res.counts.sum(0).tolist() == [700] * 3
    for j in range(3):
        want = stats.chisquare(res.counts[:, j], res.expected)
        np.testing.assert_allclose(res.statistic[j], want.statistic, rtol=1e-10)
        np.testing.assert_allclose(res.p_value[j], want.pvalue, rtol=1e-4, atol=1e-12)
    assert res.p_value[2] < 1e-10 < res.p_value[0]
    # unequal bins: 7 values in 3 bins of 2, 3 and 2 values (expected 2/7, 3/7, 2/7 of n)
    res = rank_uniformity(np.arange(700) % 7, 7, n_bins=3)
    np.testing.assert_allclose(res.expected, [200.0, 300.0, 200.0])
    assert res.statistic[0] == 0.0


def test_rank_uniformity_bad_input():
    with pytest.raises(ValueError, match="ranks"):
        rank_uniformity(np.array([0.5, 1.5]), 3)
    with pytest.raises(ValueError, match="ranks"):
        rank_uniformity(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="n_bins"):
        rank_uniformity(np.array([0, 1]), 3, n_bins=4)


@pytest.mark.no_key_reuse_check
def test_sbc_uniform_for_exact_posterior_rejected_for_wrong_ones():
    task, theta, x = _problem()
    p = {}
    for name, post in (("exact", task.posterior), ("narrow", _scaled(task, 0.7)),
                       ("wide", _scaled(task, 1.4)), ("biased", _scaled(task, shift=0.3))):
        res = sbc_ranks(jax.random.key(1), post, theta, x, n_posterior=99)
        assert res.ranks.shape == (N_SIMS, DIM) and res.ranks.max() <= 99
        p[name] = sbc_uniformity(res).p_value
    assert np.all(p["exact"] > 1e-3), p["exact"]
    for name in ("narrow", "wide", "biased"):
        assert np.all(p[name] < 1e-6), (name, p[name])


@pytest.mark.no_key_reuse_check
def test_expected_coverage_matches_chi2_closed_form():
    """HPD coverage of N(μ, s²Σ) when the truth is N(μ, Σ): P(χ²_d ≤ s² χ²_d⁻¹(α)).
    s = 1 is calibrated; every level within ±0.05 (and within 3.5 binomial errors)."""
    task, theta, x = _problem()
    levels = np.array([0.5, 0.68, 0.95])
    for scale in (1.0, 0.7, 1.4):
        cov = expected_coverage(jax.random.key(2), _scaled(task, scale), theta, x,
                                levels=levels, n_posterior=1000)
        want = stats.chi2.cdf(scale ** 2 * stats.chi2.ppf(levels, DIM), DIM)
        np.testing.assert_allclose(cov.coverage, want, atol=0.05, err_msg=f"scale {scale}")
        assert np.all(np.abs(cov.coverage - want) < 3.5 * cov.standard_error + 1e-3)
    assert cov.credibility.shape == (N_SIMS,)


@pytest.mark.no_key_reuse_check
def test_tarp_calibrated_and_miscalibrated():
    task, theta, x = _problem()
    exact = tarp_coverage(jax.random.key(3), task.posterior, theta, x, n_posterior=200)
    assert exact.fractions.shape == (N_SIMS,)
    assert exact.max_deviation < 0.05, exact.max_deviation
    assert exact.uniformity.p_value[0] > 1e-3
    np.testing.assert_allclose(exact.coverage[[0, -1]], [0.0, 1.0])
    narrow = tarp_coverage(jax.random.key(3), _scaled(task, 0.6), theta, x, n_posterior=200)
    assert narrow.max_deviation > 0.1 and narrow.uniformity.p_value[0] < 1e-6
    # a shifted posterior: references independent of x barely see it (the distances to a
    # random point are nearly symmetric under the shift); references that depend on x
    # (Lemos et al.'s sufficiency condition), here x + 1, expose it
    offset = x + 1.0
    for post in (task.posterior, _scaled(task, 0.6), _scaled(task, shift=0.5)):
        res = tarp_coverage(jax.random.key(3), post, theta, x, n_posterior=200,
                            references=offset)
        if post is task.posterior:
            assert res.max_deviation < 0.06 and res.uniformity.p_value[0] > 1e-3
        else:
            assert res.max_deviation > 0.1 and res.uniformity.p_value[0] < 1e-6
    # reference points given in θ units: the same verdicts
    refs = jax.random.uniform(jax.random.key(4), theta.shape, minval=-1.0, maxval=1.0)
    given = tarp_coverage(jax.random.key(3), task.posterior, theta, x, n_posterior=200,
                          references=refs)
    assert given.max_deviation < 0.06


def test_diagnostics_bad_input():
    task, theta, x = _problem()
    with pytest.raises(ValueError, match="theta"):
        sbc_ranks(jax.random.key(0), task.posterior, theta[:10], x)
    bad = np.asarray(theta).copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="theta"):
        expected_coverage(jax.random.key(0), task.posterior, bad, x)
    with pytest.raises(ValueError, match="levels"):
        expected_coverage(jax.random.key(0), task.posterior, theta, x, levels=(0.5, 1.0))
    with pytest.raises(TypeError, match="posterior"):
        tarp_coverage(jax.random.key(0), "posterior", theta, x)
    with pytest.raises(ValueError, match="references"):
        tarp_coverage(jax.random.key(0), task.posterior, theta, x, references=jnp.zeros((3, 2)))
