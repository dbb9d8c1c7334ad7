"""The Whittle likelihood against scipy's Gaussian densities, the phase marginalisation
against quadrature, the prior against its closed form, and the simulator's checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxphys.physics.gw import (GWPrior, apply_extrinsic, colored_noise, distance_for_snr,
                                features_to_strain, gw_problem, gw_signal, intrinsic_bank, log_likelihood_ratio, make_log_posterior,
                                noise_log_likelihood, optimal_snr,
                                phase_marginalized_log_likelihood_ratio, simulate_dataset,
                                simulate_features, taylorf2, whitened_features,
                                whittle_log_likelihood)

TRUTH = jnp.array([30.0, 0.6, 1200.0, 0.01])


def test_whittle_likelihood_is_the_gaussian_density(x64):
    problem = gw_problem(dtype=jnp.float64)
    noise = problem.noise
    h = gw_signal(TRUTH, problem)
    d = h + colored_noise(jax.random.key(0), noise)
    template = gw_signal(TRUTH.at[0].set(30.2), problem, 0.3)
    sigma = np.sqrt(noise.duration * noise.psd / 4.0)
    resid = np.asarray(d - template)
    want = (stats.norm.logpdf(resid.real, scale=sigma).sum()
            + stats.norm.logpdf(resid.imag, scale=sigma).sum())
    got = float(whittle_log_likelihood(d, template, noise))
    assert abs(got - want) < 1e-9 * abs(want)
    ratio = float(log_likelihood_ratio(d, template, noise))
    assert abs(ratio - (got - float(noise_log_likelihood(d, noise)))) < 1e-6


def test_phase_marginalisation_matches_quadrature(x64):
    problem = gw_problem(dtype=jnp.float64)
    noise = problem.noise
    d = gw_signal(TRUTH, problem, 1.3) + colored_noise(jax.random.key(1), noise)
    for mc in (30.0, 30.05, 30.5):
        h0 = gw_signal(TRUTH.at[0].set(mc), problem, 0.0)
        phases = np.linspace(0.0, 2 * np.pi, 721)[:-1]       # periodic: spectral accuracy
        values = np.array([float(log_likelihood_ratio(d, h0 * np.exp(1j * p), noise))
                           for p in phases])
        want = np.log(np.mean(np.exp(values - values.max()))) + values.max()
        got = float(phase_marginalized_log_likelihood_ratio(d, h0, noise))
        assert abs(got - want) < 1e-8 * max(1.0, abs(want)), (mc, got, want)


@pytest.mark.no_key_reuse_check
def test_likelihood_ratio_statistics():
    """For d = h + n: log Λ(h) = (n|h) + ρ²/2 ~ N(ρ²/2, ρ²)."""
    problem = gw_problem()
    noise = problem.noise
    h = gw_signal(TRUTH, problem)
    rho = float(optimal_snr(h, noise))
    keys = jax.random.split(jax.random.key(2), 2000)
    values = np.asarray(jax.vmap(lambda k: log_likelihood_ratio(h + colored_noise(k, noise), h,
                                                                 noise))(keys), np.float64)
    assert abs(values.mean() - rho ** 2 / 2) < 4 * rho / np.sqrt(values.size)
    assert abs(values.std() / rho - 1) < 0.06


def test_prior_density_and_sampling():
    prior = GWPrior(chirp_mass=(15.0, 30.0), mass_ratio=(0.25, 1.0),
                    luminosity_distance=(400.0, 3000.0), coalescence_time=(-0.05, 0.05))
    theta = np.asarray(prior.sample(seed=jax.random.key(3), sample_shape=20000), np.float64)
    assert theta.shape == (20000, 4)
    assert np.all(theta >= prior.low - 1e-4) and np.all(theta <= prior.high + 1e-4)
    cdf_d = lambda d: (d ** 3 - 400.0 ** 3) / (3000.0 ** 3 - 400.0 ** 3)  # noqa: E731
    assert stats.kstest(theta[:, 2], cdf_d).pvalue > 1e-3
    assert stats.kstest(theta[:, 0], stats.uniform(15.0, 15.0).cdf).pvalue > 1e-3
    point = jnp.array([20.0, 0.5, 1000.0, 0.0])
    want = -np.log(15.0) - np.log(0.75) - np.log(0.1) + np.log(3 * 1000.0 ** 2 / (3000.0 ** 3 - 400.0 ** 3))
    assert abs(float(prior.log_prob(point)) - want) < 1e-4
    assert float(prior.log_prob(point.at[2].set(3500.0))) == -np.inf
    with pytest.raises(ValueError, match="luminosity_distance.*support"):
        prior.check(point.at[2].set(3500.0))
    with pytest.raises(ValueError, match="chirp_mass.*support"):
        prior.check(point.at[0].set(10.0))
    with pytest.raises(ValueError, match="mass_ratio"):
        GWPrior(mass_ratio=(0.5, 1.5))
    with pytest.raises(ValueError, match="luminosity_distance"):
        GWPrior(luminosity_distance=(-1.0, 100.0))


def test_simulator_and_posterior(x64):
    problem = gw_problem(dtype=jnp.float64)
    theta, x = simulate_dataset(jax.random.key(4), problem, 300)
    assert theta.shape == (300, 4) and x.shape == (300, 2 * problem.n_bins)
    # the noise part of the features: unit variance; the signal part: the whitened signal
    # at a uniform phase, so E[x] = 0 over phases and E|x|² - 1 = |w_h|²
    one = jnp.array([28.0, 0.7, 900.0, 0.0])
    keys = jax.random.split(jax.random.key(5), 4000)
    sims = np.asarray(jax.vmap(lambda k: simulate_features(k, one, problem))(keys))
    w = np.asarray(whitened_features(gw_signal(one, problem), problem))
    n = problem.n_bins
    power = sims[:, :n] ** 2 + sims[:, n:] ** 2 - 2.0
    signal_power = w[:n] ** 2 + w[n:] ** 2
    assert abs(power.mean(0).sum() / signal_power.sum() - 1) < 0.05
    assert np.all(np.abs(sims.mean(0)) < 5 * np.sqrt((1 + signal_power.max()) / 4000))
    np.testing.assert_allclose(np.asarray(features_to_strain(jnp.asarray(w), problem)),
                               np.asarray(gw_signal(one, problem)), rtol=1e-10)
    # the posterior peaks near the truth for noise-free data, -inf outside the prior, vmaps
    log_post = make_log_posterior(gw_signal(one, problem, 0.7), problem)
    shifted = jnp.stack([one, one.at[0].add(0.3), one.at[1].add(0.2), one.at[2].set(5000.0)])
    values = np.asarray(jax.vmap(log_post)(shifted))
    assert values[0] > values[1] and values[0] > values[2] and values[3] == -np.inf
    # it is the prior times the phase-marginalised likelihood ratio
    d = gw_signal(one, problem, 0.7)
    for t in shifted[:3]:
        want = (float(problem.prior.log_prob(t))
                + float(phase_marginalized_log_likelihood_ratio(d, gw_signal(t, problem), problem.noise)))
        assert abs(float(log_post(t)) - want) < 1e-9 * max(1.0, abs(want))
    # the problem's signal is TaylorF2 at trigger_time + t_c with the ISCO taper
    want = taylorf2(problem.noise.frequencies, 28.0, 0.7, 900.0, problem.trigger_time + 0.0, 0.4,
                    isco_taper=problem.isco_taper).plus
    np.testing.assert_allclose(np.asarray(gw_signal(one, problem, 0.4)), np.asarray(want),
                               rtol=1e-9, atol=1e-12 * float(jnp.max(jnp.abs(want))))
    # distance rescaling to a target SNR
    scaled = distance_for_snr(one, 20.0, problem)
    assert abs(float(optimal_snr(gw_signal(scaled, problem), problem.noise)) - 20.0) < 1e-8


def test_extrinsic_parameters_applied_to_the_bank_are_exact(x64):
    """DINGO's on-the-fly extrinsic parameters: a bank waveform moved to (D, t_c, φ)
    equals the waveform computed there directly."""
    problem = gw_problem(dtype=jnp.float64)
    intrinsic, clean = intrinsic_bank(jax.random.key(8), problem, 5)
    n = problem.n_bins
    distance = jnp.array([500.0, 900.0, 1500.0, 2500.0, 2999.0])
    time = jnp.array([-0.05, -0.01, 0.0, 0.02, 0.049])
    phase = jnp.array([0.0, 1.0, 2.0, 4.0, 6.0])
    re, im = apply_extrinsic(clean[:, :n], clean[:, n:], distance, time, phase, problem)
    for i in range(5):
        theta = jnp.array([intrinsic[i, 0], intrinsic[i, 1], distance[i], time[i]])
        want = whitened_features(gw_signal(theta, problem, phase[i]), problem)
        got = jnp.concatenate([re[i], im[i]])
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-9,
                                   atol=1e-9 * float(jnp.max(jnp.abs(want))))


def test_bad_input_names_the_argument():
    problem = gw_problem()
    with pytest.raises(ValueError, match="chirp_mass.*support"):
        gw_signal(jnp.array([50.0, 0.5, 1000.0, 0.0]), problem)
    with pytest.raises(ValueError, match="luminosity_distance.*support"):
        simulate_features(jax.random.key(0), jnp.array([30.0, 0.5, 10.0, 0.0]), problem)
    with pytest.raises(ValueError, match="mass_ratio.*support"):
        gw_signal(jnp.array([30.0, 1.2, 1000.0, 0.0]), problem)
    with pytest.raises(ValueError, match="theta.*4"):
        gw_signal(jnp.array([30.0, 0.5, 1000.0]), problem)
    with pytest.raises(ValueError, match="data.*121"):
        make_log_posterior(jnp.zeros(100, jnp.complex64), problem)
    with pytest.raises(ValueError, match="features.*242"):
        features_to_strain(jnp.zeros(241), problem)
    h = taylorf2(problem.noise.frequencies, 30.0, 0.5, 1000.0).plus
    with pytest.raises(ValueError, match="template"):
        log_likelihood_ratio(h, h[:-1], problem.noise)
    with pytest.raises(ValueError, match="trigger_time"):
        gw_problem(trigger_time=5.0)
