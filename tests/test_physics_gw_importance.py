"""Importance sampling on a Gaussian likelihood × Gaussian prior, whose evidence and
posterior are known in closed form (scipy), including the evidence's standard error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxphys.physics.gw import importance_resample, importance_weights

PRIOR_MEAN = np.array([0.5, -1.0])
PRIOR_COV = np.array([[2.0, 0.3], [0.3, 1.0]])
NOISE_COV = np.array([[0.3, -0.1], [-0.1, 0.2]])
X = np.array([1.2, -0.4])


def _closed_form():
    evidence = stats.multivariate_normal(PRIOR_MEAN, PRIOR_COV + NOISE_COV).logpdf(X)
    post_cov = np.linalg.inv(np.linalg.inv(PRIOR_COV) + np.linalg.inv(NOISE_COV))
    post_mean = post_cov @ (np.linalg.solve(PRIOR_COV, PRIOR_MEAN) + np.linalg.solve(NOISE_COV, X))
    return evidence, post_mean, post_cov


def _log_target(theta):
    prior = stats.multivariate_normal(PRIOR_MEAN, PRIOR_COV).logpdf(theta)
    # likelihood of x given each θ: N(x; θ, Σ), evaluated per row
    diff = X[None] - theta
    inv = np.linalg.inv(NOISE_COV)
    log_like = (-0.5 * np.einsum("ni,ij,nj->n", diff, inv, diff)
                - 0.5 * np.linalg.slogdet(2 * np.pi * NOISE_COV)[1])
    return prior + log_like


def _run(key, n, proposal_mean, proposal_cov):
    z = np.asarray(jax.random.normal(key, (n, 2)), np.float64)
    theta = proposal_mean + z @ np.linalg.cholesky(proposal_cov).T
    log_q = stats.multivariate_normal(proposal_mean, proposal_cov).logpdf(theta)
    return theta, importance_weights(jnp.asarray(_log_target(theta)), jnp.asarray(log_q))


def test_evidence_and_its_standard_error(x64):
    evidence, post_mean, post_cov = _closed_form()
    # a proposal that is wider than and offset from the posterior (as an imperfect NPE)
    proposal_mean = post_mean + np.array([0.2, -0.1])
    proposal_cov = 2.5 * post_cov
    estimates, errors, efficiencies = [], [], []
    for seed in range(40):
        theta, res = _run(jax.random.key(seed), 2000, proposal_mean, proposal_cov)
        estimates.append(float(res.log_evidence))
        errors.append(float(res.log_evidence_error))
        efficiencies.append(float(res.sample_efficiency))
        assert abs(float(jnp.sum(res.weights)) - 1.0) < 1e-12
        assert abs(float(res.effective_sample_size) - 2000 * float(res.sample_efficiency)) < 1e-6
    estimates = np.array(estimates)
    assert 0.1 < np.mean(efficiencies) < 0.9
    # unbiased up to the O(1/n) bias of log Ẑ, and the stated error is the observed spread
    assert abs(estimates.mean() - evidence) < 4 * estimates.std() / np.sqrt(40) + 1e-3
    assert 0.7 < np.mean(errors) / estimates.std() < 1.4, (np.mean(errors), estimates.std())
    # the weighted posterior mean and covariance
    theta, res = _run(jax.random.key(100), 50000, proposal_mean, proposal_cov)
    w = np.asarray(res.weights)
    mean = w @ theta
    cov = (theta - mean).T @ ((theta - mean) * w[:, None])
    n_eff = float(res.effective_sample_size)
    assert np.all(np.abs(mean - post_mean) < 4 * np.sqrt(np.diag(post_cov) / n_eff))
    np.testing.assert_allclose(cov, post_cov, atol=0.05 * np.max(np.abs(post_cov)))


def test_exact_proposal_has_unit_efficiency(x64):
    evidence, post_mean, post_cov = _closed_form()
    _, res = _run(jax.random.key(0), 500, post_mean, post_cov)
    assert abs(float(res.sample_efficiency) - 1.0) < 1e-9
    assert abs(float(res.log_evidence) - evidence) < 1e-9
    assert float(res.log_evidence_error) < 1e-4


def test_zero_target_gets_zero_weight_and_resampling(x64):
    log_target = jnp.array([0.0, -jnp.inf, np.log(3.0), 0.0])
    res = importance_weights(log_target, jnp.zeros(4))
    np.testing.assert_allclose(np.asarray(res.weights), [0.2, 0.0, 0.6, 0.2], atol=1e-12)
    samples = jnp.arange(4.0)[:, None]
    draws = np.asarray(importance_resample(jax.random.key(1), samples, res.weights, 1000))[:, 0]
    counts = np.bincount(draws.astype(int), minlength=4)
    # systematic resampling: each count is floor or ceil of n w_i
    assert np.all(np.abs(counts - 1000 * np.array([0.2, 0.0, 0.6, 0.2])) <= 1)
    assert draws.shape == (1000,)


def test_bad_input():
    with pytest.raises(ValueError, match="log_proposal"):
        importance_weights(jnp.zeros(5), jnp.zeros(4))
    with pytest.raises(ValueError, match="log_target"):
        importance_weights(jnp.zeros((5, 2)), jnp.zeros((5, 2)))
    with pytest.raises(ValueError, match="weights"):
        importance_resample(jax.random.key(0), jnp.zeros((5, 2)), jnp.ones(4), 3)
