"""The reference sampler on Gaussian targets against closed-form moments; R̂ and ESS
against chains whose answer is known (AR(1) processes, shifted chains)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.physics.gw import effective_sample_size, ensemble_sample, split_rhat


def _ar1(key, rho, n_chains, n_draws):
    """AR(1) chains x_t = ρ x_{t-1} + sqrt(1-ρ²) ε_t started in stationarity."""
    start_key, noise_key = jax.random.split(key)
    eps = np.asarray(jax.random.normal(noise_key, (n_chains, n_draws)), np.float64)
    x = np.empty((n_chains, n_draws))
    x[:, 0] = np.asarray(jax.random.normal(start_key, (n_chains,)))
    scale = np.sqrt(1 - rho ** 2)
    for t in range(1, n_draws):
        x[:, t] = rho * x[:, t - 1] + scale * eps[:, t]
    return x


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_ess_of_ar1_matches_closed_form(rho):
    """An AR(1) chain of N draws has ESS = N (1-ρ)/(1+ρ) (its integrated autocorrelation
    time is (1+ρ)/(1-ρ))."""
    x = _ar1(jax.random.key(int(rho * 10)), rho, 8, 4000)
    want = 8 * 4000 * (1 - rho) / (1 + rho)
    got = float(effective_sample_size(x)[0])
    assert abs(got / want - 1) < 0.15, (got, want)


def test_split_rhat_detects_unmixed_chains():
    x = np.asarray(jax.random.normal(jax.random.key(0), (4, 2000, 2)), np.float64)
    assert np.all(split_rhat(x) < 1.01)
    assert np.all(split_rhat(x, rank_normalize=False) < 1.01)
    shifted = x + np.arange(4)[:, None, None] * 0.5        # chains disagree on the mean
    assert np.all(split_rhat(shifted) > 1.1)
    drift = x + np.linspace(0.0, 2.0, 2000)[None, :, None]   # within-chain trend: split catches it
    assert np.all(split_rhat(drift) > 1.1)
    scale = x * np.array([1.0, 1.0, 1.0, 4.0])[:, None, None]  # same mean, different spread:
    assert np.all(split_rhat(scale) > 1.05)                    # the folded R̂ catches it
    with pytest.raises(ValueError, match="chains"):
        split_rhat(np.zeros((4, 2, 1)))
    with pytest.raises(ValueError, match="chains"):
        effective_sample_size(np.full((4, 100), np.nan))


@pytest.mark.no_key_reuse_check
def test_ensemble_on_correlated_gaussian(x64):
    """A 4-D Gaussian with correlation 0.99 and scales from 1e-3 to 30 (like chirp mass
    against coalescence time): the affine-invariant sampler's mean and covariance agree
    with the closed form within a few Monte Carlo standard errors (from the ESS), with
    split-R̂ < 1.01."""
    scales = np.array([30.0, 1.0, 0.2, 1e-3])
    corr = np.array([[1.0, 0.99, 0.3, -0.5], [0.99, 1.0, 0.3, -0.5],
                     [0.3, 0.3, 1.0, 0.0], [-0.5, -0.5, 0.0, 1.0]])
    cov = corr * np.outer(scales, scales)
    mean = np.array([20.0, -1.0, 3.0, 0.01])
    precision = jnp.asarray(np.linalg.inv(cov))
    mu = jnp.asarray(mean)

    def log_p(x):
        diff = x - mu
        return -0.5 * diff @ precision @ diff

    start = mu[None] + 1e-2 * jnp.asarray(scales)[None] * jax.random.normal(jax.random.key(1),
                                                                             (32, 4))
    res = ensemble_sample(jax.random.key(2), log_p, start, 12000, n_burn=2000)
    chains = np.asarray(jnp.swapaxes(res.samples, 0, 1))        # (walkers, draws, d)
    rhat = split_rhat(chains)
    ess = effective_sample_size(chains)
    assert np.all(rhat < 1.01), rhat
    assert np.all(ess > 3000), ess
    flat = chains.reshape(-1, 4)
    err = np.sqrt(np.diag(cov) / ess)
    assert np.all(np.abs(flat.mean(0) - mean) < 4 * err), (flat.mean(0) - mean) / err
    sample_cov = np.cov(flat.T)
    np.testing.assert_allclose(np.sqrt(np.diag(sample_cov)), scales, rtol=0.1)
    sample_corr = sample_cov / np.outer(np.sqrt(np.diag(sample_cov)), np.sqrt(np.diag(sample_cov)))
    np.testing.assert_allclose(sample_corr, corr, atol=0.06)
    rate = np.asarray(res.acceptance_rate)
    assert 0.2 < rate.mean() < 0.8
    # the same function object: no recompilation on a second call
    from jaxphys.physics.gw._sampler import _run
    before = _run._cache_size()
    ensemble_sample(jax.random.key(3), log_p, start, 12000, n_burn=2000)
    assert _run._cache_size() == before


def test_ensemble_bad_input():
    log_p = lambda x: -0.5 * jnp.sum(x ** 2)  # noqa: E731
    with pytest.raises(ValueError, match="positions.*even"):
        ensemble_sample(jax.random.key(0), log_p, jnp.zeros((5, 2)), 10)
    bounded = lambda x: jnp.where(x[0] > 0, -0.5 * jnp.sum(x ** 2), -jnp.inf)  # noqa: E731
    with pytest.raises(ValueError, match="positions.*finite"):
        ensemble_sample(jax.random.key(0), bounded, -jnp.ones((8, 2)), 10)
    with pytest.raises(ValueError, match="n_burn"):
        ensemble_sample(jax.random.key(0), log_p, jnp.ones((8, 2)), 10, n_burn=10)
    with pytest.raises(ValueError, match="stretch"):
        ensemble_sample(jax.random.key(0), log_p, jnp.ones((8, 2)), 10, stretch=1.0)
