"""Simulators against independent physics, NPE against the analytic Gaussian-linear
posterior, calibration diagnostics."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from jaxphys.generative._c2st import c2st
from jaxphys.generative._flows import MAF, NeuralSplineFlow
from jaxphys.generative._npe import NPE, expected_coverage, init_npe, sbc_ranks, train_npe
from jaxphys.physics.simulators import (chirp_signal, damped_oscillator, gaussian_linear,
                                        gw_chirp, oscillator_signal, simulate_batch, T_SUN)


def test_oscillator_matches_ode_solution():
    task = damped_oscillator()
    theta = np.array([2.1, 0.3])
    sol = solve_ivp(lambda t, y: [y[1], -2 * theta[1] * y[1] - theta[0] ** 2 * y[0]],
                    (0, 10), [1.0, 0.0], t_eval=np.asarray(task.times), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(np.asarray(oscillator_signal(jnp.asarray(theta), task.times)),
                               sol.y[0], atol=1e-5)
    # noise has the stated standard deviation
    x = jax.vmap(task.simulate, in_axes=(0, None))(jax.random.split(jax.random.key(0), 400),
                                                     jnp.asarray(theta))
    resid = np.asarray(x) - sol.y[0][None]
    assert abs(resid.std() - 0.1) < 0.005


def test_chirp_cycle_count_matches_newtonian_formula():
    """Number of GW cycles between two frequencies (Cutler & Flanagan 1994):
    N = (π M)^{-5/3} (f1^{-5/3} - f2^{-5/3}) / (32 π) ... counted here from zero crossings."""
    task = gw_chirp(n_samples=4096, sample_rate=8192.0, t_c=0.6)
    theta = jnp.array([1.0, 10.0, 0.0])
    h = np.asarray(chirp_signal(theta, task.times, 0.6))
    t = np.asarray(task.times)
    crossings = np.sum(np.diff(np.sign(h)) != 0) / 2.0          # cycles
    m = 10.0 * T_SUN
    f = lambda tau: (5 / tau) ** 0.375 * m ** -0.625 / (8 * np.pi)  # noqa: E731
    f1, f2 = f(0.6 - t[0]), f(0.6 - t[-1])
    n_cycles = ((np.pi * m) ** (-5 / 3) * (f1 ** (-5 / 3) - f2 ** (-5 / 3))) / (32 * np.pi)
    assert abs(crossings - n_cycles) <= 1.0
    assert f2 < 4096 / 2
    theta_s, x = simulate_batch(jax.random.key(1), gw_chirp(), 3)
    assert x.shape == (3, 256) and theta_s.shape == (3, 3)


def test_gaussian_linear_posterior_matches_bayes_formula():
    task = gaussian_linear(dim=3)
    x = jnp.array([0.2, -0.4, 1.0])
    s0, s = 0.1, 0.1                    # prior and noise variances
    cov = np.linalg.inv(np.eye(3) / s0 + np.eye(3) / s)
    mean = cov @ (np.asarray(x) / s)
    post = task.posterior(x)
    np.testing.assert_allclose(np.asarray(post.mean()), mean, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(post.stddev()) ** 2, np.diag(cov), rtol=1e-5)


def test_bad_simulator_settings():
    with pytest.raises(ValueError, match="noise"):
        damped_oscillator(noise=0.0)
    with pytest.raises(ValueError, match="t_c"):
        gw_chirp(t_c=0.1)


def _gl_check(n_sims, n_steps, dim, key_seed=0, n_samples=2000, c2st_steps=1000,
              hidden=(64, 64), learning_rate=2e-3, patience=10):
    task = gaussian_linear(dim=dim)
    sim_key, train_key, obs_key, post_key, ref_key, c2_key = jax.random.split(
        jax.random.key(key_seed), 6)
    theta, x = simulate_batch(sim_key, task, n_sims)
    npe = train_npe(train_key, theta, x, n_steps=n_steps, batch_size=256,
                    learning_rate=learning_rate, patience=patience,
                    flow=NeuralSplineFlow(n_layers=3, hidden=hidden, n_bins=8)).state
    _, x_obs = simulate_batch(obs_key, task, 1)
    # compiled: an eager spline flow dispatches its many small operations one by one
    samples = np.asarray(jax.jit(lambda k, x: npe.sample(k, x, n_samples))(post_key, x_obs[0]))
    ref = task.posterior(x_obs[0])
    ref_samples = np.asarray(ref.sample(seed=ref_key, sample_shape=n_samples))
    return samples, np.asarray(ref.mean()), np.asarray(ref.stddev()) ** 2, \
        c2st(c2_key, samples, ref_samples, n_steps=c2st_steps), npe


@pytest.mark.no_key_reuse_check
def test_npe_gaussian_linear_small():
    samples, mean, var, acc, npe = _gl_check(2000, 400, 2, n_samples=1000, c2st_steps=300)
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(samples.var(0), var, rtol=0.35)
    assert acc < 0.7, acc
    batch_log_prob = jax.jit(lambda x, theta: npe.posterior(x).log_prob(theta))
    assert batch_log_prob(jnp.zeros((5, 2)), jnp.zeros((5, 2))).shape == (5,)
    with pytest.raises(ValueError, match="x"):
        npe.posterior(jnp.zeros(3))


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
@pytest.mark.xla_default_level      # the slow tier checks what users get
def test_npe_gaussian_linear_10k():
    """Done-when (issue 16): C2ST ≤ 0.55 against the exact posterior at 10k simulations
    (5-D), analytic mean and covariance.

    Tolerances from the C2ST target: for equal-covariance Gaussians a mean shift of δ
    posterior sd in one coordinate alone gives a Bayes-optimal C2ST accuracy Φ(δ/2), so
    C2ST ≤ 0.55 allows δ = 2Φ⁻¹(0.55) = 0.251 sd = 0.056 (posterior sd √0.05 = 0.224);
    a variance ratio r in one coordinate alone gives 0.527 at r = 1.25 and 0.549 at
    r = 1.5, so the 25 % variance tolerance is inside the target.

    Training: learning rate 5e-4 and a patience of 20 evaluations (one an epoch).
    Measured at XLA's default level, keys 0 / 1 / 2 (by hand, a script looping
    over _gl_check): C2ST 0.538 / 0.535 / 0.524, largest mean error 0.036 / 0.041 /
    0.018, largest variance error 15 % / 12 % / 18 %, early stopping at the best of steps
    700 / 525 / 945. With the previous 2e-3 and 10 (stopping at steps 175-350 while the
    validation loss rises): C2ST 0.542 / 0.527 / 0.540, mean errors 0.057 / 0.027 /
    0.022, variance error 24 % for key 0. Before a3abbd6 the test measured C2ST 0.537,
    mean error 0.029 with those settings; without early stopping, and with (64, 64)
    conditioners, C2ST was 0.648."""
    t0 = time.perf_counter()
    samples, mean, var, acc, _ = _gl_check(10000, 3000, 5, hidden=(32, 32),
                                           learning_rate=5e-4, patience=20)
    print(f"gaussian-linear 5-D: C2ST {acc:.3f} in {time.perf_counter() - t0:.0f} s")
    assert acc <= 0.55, acc
    np.testing.assert_allclose(samples.mean(0), mean, atol=0.056)
    cov = np.cov(samples.T)
    np.testing.assert_allclose(np.diag(cov), var, rtol=0.25)
    assert np.max(np.abs(cov - np.diag(np.diag(cov)))) < 0.01


def _oscillator(n_sims, n_steps, n_test, tol):
    task = damped_oscillator()
    sim_key, train_key, test_key, cov_key, sbc_key = jax.random.split(jax.random.key(0), 5)
    theta, x = simulate_batch(sim_key, task, n_sims)
    # a held-out 10 % with early stopping (the default) and one scale for the whole
    # time series: without them the flow memorises the training noise and comes out
    # over-confident (0.355 / 0.545 / 0.865 at 10k simulations)
    npe = train_npe(train_key, theta, x, n_steps=n_steps, batch_size=256, learning_rate=2e-3,
                    flow=MAF(n_layers=4, hidden=(64, 64)), standardize_x="structured").state
    theta_t, x_t = simulate_batch(test_key, task, n_test)
    cov = expected_coverage(cov_key, npe, theta_t, x_t, n_posterior=300)
    print("coverage", cov.coverage)
    np.testing.assert_allclose(cov.coverage, [0.5, 0.68, 0.95], atol=tol)
    sbc = sbc_ranks(sbc_key, npe, theta_t, x_t, n_posterior=99)
    assert sbc.ranks.shape == (n_test, 2)
    return sbc


@pytest.mark.no_key_reuse_check
def test_npe_oscillator_coverage_small():
    """Always-run variant (3k simulations, 500 steps, MAF): within ±0.15; the ±0.1
    done-when is the slow test (measured 0.46 / 0.64 / 0.895 with fit_flow's default
    clip_norm=10)."""
    _oscillator(3000, 500, 100, 0.15)


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_npe_oscillator_coverage_and_sbc():
    """Done-when: expected coverage within ±0.1 of 50, 68 and 95 % (10k simulations)."""
    sbc = _oscillator(10000, 1500, 200, 0.1)
    # calibrated: ranks roughly uniform on 0..99, mean ≈ 49.5 (sd of the mean ≈ 2)
    assert np.all(np.abs(sbc.ranks.mean(0) - 49.5) < 10)


def test_init_npe_standardises_and_is_a_train_state():
    rng = np.random.default_rng(0)
    theta = rng.normal([1.0, -2.0], [0.5, 3.0], size=(200, 2))
    x = np.concatenate([theta, theta[:, :1] ** 2], axis=1) + rng.normal(size=(200, 3))
    flow = NeuralSplineFlow(n_layers=1, hidden=[8], n_bins=4)        # a list: made hashable
    npe = init_npe(jax.random.key(0), theta, x, flow=flow)
    assert isinstance(npe, NPE) and int(npe.step) == 0 and npe.flow.hidden == (8,)
    data = npe.training_data(theta, x)
    for name, raw in (("x", theta), ("context", x)):
        np.testing.assert_allclose(np.asarray(data[name]),
                                   (raw - raw.mean(0)) / raw.std(0), rtol=1e-4, atol=1e-5)
    structured = init_npe(jax.random.key(0), theta, x, flow=flow, standardize_x="structured")
    np.testing.assert_allclose(np.asarray(structured.training_data(theta, x)["context"]),
                               (x - x.mean()) / x.std(), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="theta"):
        npe.training_data(theta[:, :1], x)
    with pytest.raises(ValueError, match="x"):
        npe.training_data(theta, x[:, :2])
    with pytest.raises(TypeError, match="flow"):
        init_npe(jax.random.key(0), theta, x, flow=object())


def test_npe_bad_input():
    with pytest.raises(ValueError, match="theta"):
        train_npe(jax.random.key(0), np.full((10, 2), np.nan), np.zeros((10, 3)), n_steps=1)
    with pytest.raises(ValueError, match="theta and x"):
        train_npe(jax.random.key(0), np.zeros((10, 2)), np.zeros((9, 3)), n_steps=1)
    with pytest.raises(ValueError, match="val_fraction"):
        train_npe(jax.random.key(0), np.zeros((10, 2)), np.zeros((10, 3)), n_steps=1,
                  val_fraction=1.0)
    with pytest.raises(ValueError, match="standardize_x"):
        train_npe(jax.random.key(0), np.zeros((10, 2)), np.zeros((10, 3)), n_steps=1,
                  standardize_x="pixel")


@pytest.mark.no_key_reuse_check
def test_tour_chapter_10_quick(quick_chapter, chapter_checks):
    tour_result, out = quick_chapter("flows-npe")      # the tour's own key: fold_in(key(0), number)
    chapter_checks("flows-npe", tour_result, out)
    res = tour_result.runs[0].result
    assert all(p.exists() for p in res.figures)
    assert res.metrics["moons_test_nll"] < 1.0
    assert 0.3 < res.metrics["coverage_68"] <= 1.0
