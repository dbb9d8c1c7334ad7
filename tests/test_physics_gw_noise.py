"""Detector noise: the PSD fit, the variance of coloured noise per bin (against scipy's
periodogram convention), whitening, and SNRs against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, signal, stats

from jaxphys.physics.gw import (aligo_asd, aligo_psd, colored_noise, complex_inner_product,
                                inner_product, interpolate_psd, isco_frequency, make_noise_model,
                                matched_filter_snr, newtonian_amplitude, noise_model, optimal_snr,
                                taylorf2, to_time_domain, whiten, whitened_time_series)


def test_aligo_fit_values():
    """S_n = 1e-49 [x^-4.14 - 5x^-2 + 111 (1 - x² + x⁴/2)/(1 + x²/2)], x = f/215 Hz
    (Sathyaprakash & Schutz 2009, Table 1), evaluated by hand at x = 1/2, 1, 2."""
    f = np.array([107.5, 215.0, 430.0])
    want = 1e-49 * np.array([2 ** 4.14 - 20 + 111 * (1 - 0.25 + 0.03125) / 1.125,
                             1 - 5 + 111 * 0.5 / 1.5,
                             2 ** -4.14 - 1.25 + 111 * (1 - 4 + 8) / 3])
    np.testing.assert_allclose(aligo_psd(f), want, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(aligo_asd(jnp.asarray(f))), np.sqrt(want), rtol=1e-5)
    # the bucket: the ASD is smallest near 150-250 Hz and rises steeply at 20 Hz
    grid = np.linspace(20.0, 2000.0, 2000)
    best = grid[np.argmin(aligo_psd(grid))]
    assert 100.0 < best < 300.0
    assert aligo_psd([20.0])[0] > 50 * aligo_psd([best])[0]


@pytest.mark.no_key_reuse_check
def test_noise_variance_per_bin():
    """Re ñ_k and Im ñ_k ~ N(0, T S_n(f_k)/4), independent; whitened: standard normal."""
    noise = noise_model(20.0, 128.0, 2.0)
    n_draws = 4000
    draws = jax.vmap(colored_noise, in_axes=(0, None))(jax.random.split(jax.random.key(0), n_draws),
                                                        noise)
    draws = np.asarray(draws, np.complex128)
    want = noise.duration * noise.psd / 4.0
    for part in (draws.real, draws.imag):
        ratio = part.var(axis=0) / want
        # each ratio is χ²_n/n: sd sqrt(2/n) = 2.2 %
        assert np.all(np.abs(ratio - 1) < 5 * np.sqrt(2 / n_draws)), np.abs(ratio - 1).max()
        assert abs(ratio.mean() - 1) < 4 * np.sqrt(2 / n_draws / ratio.size)
        assert np.all(np.abs(part.mean(axis=0)) < 5 * np.sqrt(want / n_draws))
    corr = np.mean(draws.real * draws.imag, axis=0) / want
    assert np.all(np.abs(corr) < 5 / np.sqrt(n_draws))
    neighbour = np.mean(draws.real[:, 1:] * draws.real[:, :-1], axis=0) / np.sqrt(want[1:] * want[:-1])
    assert np.all(np.abs(neighbour) < 5 / np.sqrt(n_draws))
    w = np.asarray(whiten(jnp.asarray(draws[:200]), noise))
    assert stats.kstest(np.concatenate([w.real.ravel(), w.imag.ravel()]), "norm").pvalue > 1e-3
    # two seeds differ
    a = colored_noise(jax.random.key(1), noise)
    b = colored_noise(jax.random.key(2), noise)
    assert not np.allclose(np.asarray(whiten(a, noise)), np.asarray(whiten(b, noise)), atol=0.1)


@pytest.mark.no_key_reuse_check
def test_time_domain_noise_has_the_psd_by_scipy_periodogram():
    """scipy's one-sided periodogram of the time series (density scaling, its own
    convention) averages to S_n(f) on the model's bins."""
    noise = noise_model(20.0, 128.0, 2.0)
    keys = jax.random.split(jax.random.key(3), 500)
    series = jax.vmap(colored_noise, in_axes=(0, None))(keys, noise)
    times, x = to_time_domain(series, noise, sample_rate=512.0)
    assert x.shape == (500, 1024) and float(times[1]) == 1 / 512
    freqs, pxx = signal.periodogram(np.asarray(x, np.float64), fs=512.0, window="boxcar",
                                    scaling="density", axis=-1)
    idx = np.rint(np.asarray(noise.frequencies) * 2.0).astype(int)
    np.testing.assert_allclose(freqs[idx], np.asarray(noise.frequencies))
    ratio = pxx[:, idx].mean(0) / noise.psd
    assert np.all(np.abs(ratio - 1) < 5 * np.sqrt(1 / 500)), np.abs(ratio - 1).max()
    assert abs(ratio.mean() - 1) < 0.01
    # whitened time series: unit variance per sample
    _, w = whitened_time_series(series, noise, sample_rate=512.0)
    assert abs(float(jnp.var(w)) - 1.0) < 0.02


def test_snr_matches_closed_form_integrals(x64):
    """ρ² = 4∫|h̃|²/S df = 4𝒜²∫ f^{-7/3}/S(f) df for the Newtonian amplitude |h̃| = 𝒜 f^{-7/6}:
    in closed form for white noise, by quadrature (scipy) for the aLIGO fit."""
    mc, q, dist = 20.0, 0.7, 700.0
    f_isco = float(isco_frequency(mc, q))
    # white noise S_0: ρ² = 4𝒜²/S_0 · (3/4)(f₁^{-4/3} - f₂^{-4/3}), integrating over the
    # cells [f_k - Δf/2, f_k + Δf/2] of the bins k/T in [20 Hz, f_ISCO]
    duration, s0 = 64.0, 1e-46
    white = noise_model(20.0, 256.0, duration, psd=lambda f: np.full(f.shape, s0))
    h = taylorf2(white.frequencies, mc, q, dist, 0.3, 1.0, pn_order=3.5).plus
    amp = float(newtonian_amplitude(1.0, mc, dist))
    f1 = 20.0 - 0.5 / duration
    f2 = np.floor(f_isco * duration) / duration + 0.5 / duration
    closed = 4 * amp ** 2 / s0 * 0.75 * (f1 ** (-4 / 3) - f2 ** (-4 / 3))
    assert abs(float(optimal_snr(h, white)) ** 2 / closed - 1) < 1e-5
    # aLIGO fit, by quadrature
    ligo = noise_model(20.0, 256.0, duration)
    h = taylorf2(ligo.frequencies, mc, q, dist).plus
    integral, _ = integrate.quad(lambda f: f ** (-7 / 3) / aligo_psd([f])[0], f1, f2, limit=200)
    assert abs(float(optimal_snr(h, ligo)) / np.sqrt(4 * amp ** 2 * integral) - 1) < 1e-4


@pytest.mark.no_key_reuse_check
def test_matched_filter_snr_distribution():
    """With the exact template, (d|h)/sqrt((h|h)) ~ N(ρ_opt, 1); with noise alone the
    phase-maximised SNR |⟨n, h⟩|/sqrt((h|h)) is Rayleigh(1), mean sqrt(π/2)."""
    noise = noise_model(20.0, 128.0, 4.0)
    h = taylorf2(noise.frequencies, 22.0, 0.6, 900.0, 0.1, 2.0).plus
    rho = float(optimal_snr(h, noise))
    assert 10 < rho < 50
    keys = jax.random.split(jax.random.key(4), 3000)
    n = jax.vmap(colored_noise, in_axes=(0, None))(keys, noise)
    mf = np.asarray(jax.vmap(lambda ni: matched_filter_snr(ni + h, h, noise))(n), np.float64)
    assert abs(mf.mean() - rho) < 4 / np.sqrt(mf.size)
    assert abs(mf.std() - 1) < 0.05
    pure = np.asarray(jax.vmap(lambda ni: matched_filter_snr(ni, h, noise, maximize_phase=True))(n),
                      np.float64)
    assert stats.kstest(pure, "rayleigh").pvalue > 1e-3
    assert abs(pure.mean() - np.sqrt(np.pi / 2)) < 4 * 0.52 / np.sqrt(pure.size)
    # inner products: (a|b) is the real part of ⟨a, b⟩, symmetric, (h|h) = ρ²
    a, b = n[0] + h, n[1]
    assert abs(float(inner_product(a, b, noise)) - float(complex_inner_product(a, b, noise).real)) < 1e-3
    assert abs(float(inner_product(a, b, noise)) - float(inner_product(b, a, noise))) < 1e-3
    assert abs(float(inner_product(h, h, noise)) - rho ** 2) < 1e-3 * rho ** 2


def test_interpolated_psd_and_bad_input():
    table_f = np.linspace(10.0, 1000.0, 200)
    table_s = 1e-47 * (table_f / 100.0) ** -3.0            # a power law: exact in log-log
    f = np.linspace(20.0, 500.0, 50)
    np.testing.assert_allclose(interpolate_psd(f, table_f, table_s), 1e-47 * (f / 100.0) ** -3.0,
                               rtol=1e-10)
    with pytest.raises(ValueError, match="frequencies.*range"):
        interpolate_psd(np.array([5.0, 50.0]), table_f, table_s)
    with pytest.raises(ValueError, match="frequencies.*range"):
        interpolate_psd(np.array([50.0, 2000.0]), table_f, table_s)
    with pytest.raises(ValueError, match="psd_values"):
        interpolate_psd(f, table_f, -table_s)
    with pytest.raises(ValueError, match="frequencies.*20"):
        aligo_psd([10.0, 30.0])
    with pytest.raises(ValueError, match="frequencies.*increasing"):
        aligo_psd([30.0, 25.0])
    freqs = jnp.arange(40, 60) / 2.0
    with pytest.raises(ValueError, match="psd"):
        make_noise_model(freqs, 2.0, psd=np.full(20, -1e-47))
    with pytest.raises(ValueError, match="psd"):
        make_noise_model(freqs, 2.0, psd=np.zeros(20))
    with pytest.raises(ValueError, match="psd.*one value per frequency"):
        make_noise_model(freqs, 2.0, psd=np.full(19, 1e-47))
    with pytest.raises(ValueError, match="frequencies.*spacing"):
        make_noise_model(freqs, 4.0, psd=np.full(20, 1e-47))
    with pytest.raises(ValueError, match="frequencies.*increasing"):
        make_noise_model(freqs[::-1], 2.0, psd=np.full(20, 1e-47))
    with pytest.raises(ValueError, match="psd"):
        noise_model(psd=lambda f: -np.ones(f.shape))
    noise = noise_model(20.0, 128.0, 2.0)
    with pytest.raises(ValueError, match="strain.*217"):
        whiten(jnp.zeros(216, jnp.complex64), noise)
    with pytest.raises(ValueError, match="a.*217"):
        inner_product(jnp.zeros(10, jnp.complex64), jnp.zeros(217, jnp.complex64), noise)
    with pytest.raises(ValueError, match="b.*shape"):
        inner_product(jnp.zeros((2, 217), jnp.complex64), jnp.zeros(217, jnp.complex64), noise)
