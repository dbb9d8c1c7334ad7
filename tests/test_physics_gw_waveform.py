"""TaylorF2 against the Newtonian closed form, against the post-Newtonian energy and flux
it is built from, and against the Fourier transform of a time-domain chirp."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.physics.simulators import chirp_signal
from jaxphys.physics.gw import (EULER_GAMMA, MEGAPARSEC_SECONDS, PN_ORDERS, SOLAR_MASS_SECONDS,
                                component_masses, isco_frequency, newtonian_amplitude,
                                symmetric_mass_ratio, taylorf2, taylorf2_phase, total_mass)


def test_newtonian_phase_closed_form(x64):
    """Ψ = 2πf t_c − φ_c − π/4 + (3/128)(π G𝓜 f/c³)^{-5/3} (e.g. Cutler & Flanagan 1994)."""
    f = jnp.linspace(20.0, 300.0, 50)
    mc, tc, phi = 12.3, 0.37, 1.1
    got = np.asarray(taylorf2_phase(f, mc, 0.4, tc, phi, pn_order=0.0))
    m = mc * 4.925490947e-6
    fn = np.asarray(f)
    want = 2 * np.pi * fn * tc - phi - np.pi / 4 + 3 / 128 * (np.pi * m * fn) ** (-5 / 3)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the Newtonian phase does not depend on the mass ratio
    np.testing.assert_allclose(np.asarray(taylorf2_phase(f, mc, 0.9, tc, phi, pn_order=0.0)),
                               want, rtol=1e-12)


def _dt_dv_series(eta, order):
    """Coefficients (c_0..c_7, and of v^6 ln v) of S(v) in dt/dv = 5M/(32 η v^9) S(v),
    S = (dE/dv normalised)/(flux normalised) re-expanded to v^order, from the 3PN energy
    (Blanchet 2014, Living Rev. Relativ. 17, 2, eq. 233) and 3.5PN flux (eq. 314)."""
    pi2 = np.pi ** 2
    e = np.zeros(8)        # E = -(ηM v²/2)(1 + e2 v² + e4 v⁴ + e6 v⁶)
    e[0] = 1.0
    e[2] = -3 / 4 - eta / 12
    e[4] = -27 / 8 + 19 / 8 * eta - eta ** 2 / 24
    e[6] = (-675 / 64 + (34445 / 576 - 205 / 96 * pi2) * eta - 155 / 96 * eta ** 2
            - 35 / 5184 * eta ** 3)
    de = np.array([(k + 2) / 2 * e[k] for k in range(8)])   # dE/dv = -ηM v Σ (k+2)/2 e_k v^k
    fl = np.zeros(8)       # F = (32/5) η² v^10 (1 + ... + (f6 + f6L ln v) v⁶ + f7 v⁷)
    fl[0] = 1.0
    fl[2] = -1247 / 336 - 35 / 12 * eta
    fl[3] = 4 * np.pi
    fl[4] = -44711 / 9072 + 9271 / 504 * eta + 65 / 18 * eta ** 2
    fl[5] = (-8191 / 672 - 583 / 24 * eta) * np.pi
    # -856/105 ln(16 v²) = -1712/105 (ln 4 + ln v)
    fl[6] = (6643739519 / 69854400 + 16 / 3 * pi2 - 1712 / 105 * EULER_GAMMA
             - 1712 / 105 * np.log(4.0) + (-134543 / 7776 + 41 / 48 * pi2) * eta
             - 94403 / 3024 * eta ** 2 - 775 / 324 * eta ** 3)
    f6_log = -1712 / 105
    fl[7] = (-16285 / 504 + 214745 / 1728 * eta + 193385 / 3024 * eta ** 2) * np.pi
    de[order + 1:] = 0.0
    fl[order + 1:] = 0.0
    # 1/F as a power series: g with Σ_j fl_j g_{k-j} = δ_k0
    g = np.zeros(8)
    for k in range(8):
        g[k] = (1.0 if k == 0 else 0.0) - sum(fl[j] * g[k - j] for j in range(1, k + 1))
    s = np.array([sum(de[j] * g[k - j] for j in range(k + 1)) for k in range(8)])
    s[order + 1:] = 0.0
    # the ln v term enters 1/F as -f6L v^6 ln v (products with it are beyond v^7)
    log_term = -f6_log if order >= 6 else 0.0
    return s, log_term


@pytest.mark.parametrize("pn_order", PN_ORDERS)
def test_pn_phase_is_the_stationary_phase_of_energy_balance(x64, pn_order):
    """d²Ψ/df² = 2π dt/df with dt/dv = -E'(v)/F(v) re-expanded to the same order: the
    TaylorF2 coefficients of Buonanno et al. (2009, eq. 3.18) must follow from the
    published energy and flux, at every truncation order."""
    order = int(round(2 * pn_order))
    for mc, q in [(1.2188, 1.0), (8.0, 0.5), (25.0, 0.25)]:
        eta = float(symmetric_mass_ratio(q))
        m = float(total_mass(mc, q)) * SOLAR_MASS_SECONDS
        s, log_coef = _dt_dv_series(eta, order)
        f = np.linspace(20.0, 0.8 * float(isco_frequency(mc, q)), 7)
        v = (np.pi * m * f) ** (1 / 3)
        series = sum(s[k] * v ** k for k in range(8)) + log_coef * v ** 6 * np.log(v)
        dt_dv = 5 * m / (32 * eta * v ** 9) * series
        want = 2 * np.pi * dt_dv * np.pi * m / (3 * v ** 2)
        psi = lambda ff: taylorf2_phase(ff, mc, q, 0.1, 0.2, pn_order=pn_order)  # noqa: E731
        got = np.array([float(jax.grad(jax.grad(psi))(jnp.float64(fi))) for fi in f])
        np.testing.assert_allclose(got, want, rtol=1e-9, err_msg=f"mc={mc}, q={q}")


def test_published_coefficients_at_equal_mass(x64):
    """Spot values of eq. (3.18) of Buonanno et al. (2009) at η = 1/4, read off as the
    coefficient of each power of v (ln terms at v_lso and v = 1/4 vanish or are known)."""
    eta = 0.25
    mc = float(total_mass(1.0, 1.0)) ** -1        # total mass 1 solar mass
    m = SOLAR_MASS_SECONDS
    v = jnp.float64(0.25)                           # ln(4v) = 0
    f = v ** 3 / (np.pi * m)
    series = (taylorf2_phase(f, mc, 1.0, pn_order=3.0) + jnp.pi / 4) * 128 * eta * v ** 5 / 3
    below = (taylorf2_phase(f, mc, 1.0, pn_order=2.5) + jnp.pi / 4) * 128 * eta * v ** 5 / 3
    alpha6 = float((series - below) / v ** 6)
    want = (11583231236531 / 4694215680 - 640 / 3 * np.pi ** 2 - 6848 / 21 * EULER_GAMMA
            + (-15737765635 / 3048192 + 2255 / 12 * np.pi ** 2) * eta + 76055 / 1728 * eta ** 2
            - 127825 / 1296 * eta ** 3)
    assert abs(alpha6 - want) < 1e-6 * abs(want)
    one = (taylorf2_phase(f, mc, 1.0, pn_order=1.0) + jnp.pi / 4) * 128 * eta * v ** 5 / 3
    assert abs(float((one - 1.0) / v ** 2) - (3715 / 756 + 55 / 9 * eta)) < 1e-9
    tail = (taylorf2_phase(f, mc, 1.0, pn_order=1.5) - taylorf2_phase(f, mc, 1.0, pn_order=1.0))
    assert abs(float(tail * 128 * eta * v ** 5 / 3 / v ** 3) + 16 * np.pi) < 1e-9


def test_spa_matches_fft_of_time_domain_chirp(x64):
    """The project's time-domain Newtonian chirp (jaxphys.physics.simulators.chirp_signal), Fourier
    transformed, against the Newtonian TaylorF2 with the same amplitude normalisation:
    the toy has a(f) = A (f/100 Hz)^{2/3}, the physical h₊ at ι = 0 has
    a(f) = 4 (c/D)(G𝓜/c³)^{5/3}(πf)^{2/3}."""
    rate, duration, t_c, mc, phi, amp = 2048.0, 8.0, 8.5, 5.0, 0.7, 1.0
    times = jnp.arange(int(rate * duration)) / rate
    h = np.asarray(chirp_signal(jnp.array([amp, mc, phi]), times, t_c))
    n = h.size
    taper = np.ones(n)                                # Tukey: 0.5 s cosine ramps
    ramp = int(0.5 * rate)
    taper[:ramp] = 0.5 * (1 - np.cos(np.pi * np.arange(ramp) / ramp))
    taper[-ramp:] = taper[:ramp][::-1]
    fft = np.fft.rfft(h * taper) / rate               # ∫ h e^{-2πift} dt
    freqs = np.fft.rfftfreq(n, 1 / rate)
    # stationary times inside the untapered part: f(τ) for τ in [1, 8] s before t_c
    m = mc * SOLAR_MASS_SECONDS
    f_at = lambda tau: (5 / tau) ** 0.375 * m ** -0.625 / (8 * np.pi)  # noqa: E731
    band = (freqs > f_at(t_c - 1.0) + 1.0) & (freqs < f_at(t_c - (duration - 1.0)) - 1.0)
    distance = 100.0
    scale = amp / (4 / (distance * MEGAPARSEC_SECONDS) * m ** (5 / 3) * (100 * np.pi) ** (2 / 3))
    spa = scale * np.asarray(taylorf2(jnp.asarray(freqs[band]), mc, 1.0, distance, t_c, phi,
                                      pn_order=0.0).plus)
    got = fft[band]
    assert band.sum() > 100
    np.testing.assert_allclose(np.abs(got), np.abs(spa), rtol=0.03)
    phase_error = np.angle(got * np.conj(spa))
    assert np.max(np.abs(phase_error)) < 0.05, np.max(np.abs(phase_error))
    # and the amplitude follows f^{-7/6} with the closed-form prefactor
    np.testing.assert_allclose(np.abs(spa) / scale,
                               np.asarray(newtonian_amplitude(freqs[band], mc, distance)), rtol=1e-12)


def test_amplitude_polarisations_and_isco_cutoff(x64):
    f = jnp.linspace(20.0, 400.0, 381)
    mc, q = 8.705505632961241, 1.0              # 10 + 10 solar masses
    m1, m2 = component_masses(mc, q)
    np.testing.assert_allclose([float(m1), float(m2)], [10.0, 10.0], rtol=1e-12)
    f_isco = float(isco_frequency(mc, q))
    assert abs(f_isco - 4397.0 / 20.0) < 0.2              # c³/(6^{3/2} π G M) ≈ 4397 Hz M_⊙/M
    h = taylorf2(f, mc, q, 500.0, 0.0, 0.0, inclination=np.pi / 3)
    above = np.asarray(f) > f_isco
    assert np.all(np.asarray(h.plus)[above] == 0) and np.all(np.abs(np.asarray(h.plus)[~above]) > 0)
    ci = 0.5
    ratio = np.asarray(h.cross)[~above] / np.asarray(h.plus)[~above]
    np.testing.assert_allclose(ratio, -1j * ci / (0.5 * (1 + ci ** 2)), rtol=1e-12)
    face_on = taylorf2(f, mc, q, 500.0)
    np.testing.assert_allclose(np.abs(np.asarray(face_on.plus))[~above],
                               np.asarray(newtonian_amplitude(f, mc, 500.0))[~above], rtol=1e-12)
    # φ_c rotates the whole waveform: h̃ ∝ e^{iφ_c}
    rotated = taylorf2(f, mc, q, 500.0, 0.0, 0.9)
    np.testing.assert_allclose(np.asarray(rotated.plus), np.asarray(face_on.plus) * np.exp(0.9j),
                               rtol=1e-10, atol=1e-40)


def test_isco_taper(x64):
    """The cosine roll-off: 1 at (1-ε) f_ISCO, 1/2 half-way, 0 at and above f_ISCO."""
    mc, q, eps = 20.0, 0.5, 0.1
    f_isco = float(isco_frequency(mc, q))
    f = jnp.array([0.8, 1 - eps, 1 - eps / 2, 1 - eps / 4, 1.0 + 1e-9, 1.1]) * f_isco
    hard = np.abs(np.asarray(taylorf2(f, mc, q, 500.0).plus))
    soft = np.abs(np.asarray(taylorf2(f, mc, q, 500.0, isco_taper=eps).plus))
    envelope = soft[:4] / hard[:4]
    np.testing.assert_allclose(envelope, [1.0, 1.0, 0.5, 0.5 * (1 + np.cos(np.pi * 0.75))],
                               atol=1e-9)
    assert np.all(soft[4:] == 0) and np.all(hard[4:] == 0)
    with pytest.raises(ValueError, match="isco_taper"):
        taylorf2(f, mc, q, 500.0, isco_taper=1.0)


def test_jit_vmap_and_no_recompile():
    f = jnp.linspace(20.0, 128.0, 64)
    fn = jax.jit(lambda mc, q, d, tc, ph: taylorf2(f, mc, q, d, tc, ph).plus)
    theta = jnp.array([[20.0, 0.5, 800.0, 0.01, 1.0], [25.0, 0.9, 1200.0, -0.02, 4.0]])
    batch = jax.vmap(lambda t: fn(*t))(theta)
    eager = taylorf2(f, 25.0, 0.9, 1200.0, -0.02, 4.0).plus
    np.testing.assert_allclose(np.asarray(batch[1]), np.asarray(eager), rtol=2e-4, atol=1e-30)
    fn(*theta[0])
    before = fn._cache_size()
    fn(*theta[1])
    assert fn._cache_size() == before


def test_bad_input_names_the_argument():
    f = jnp.linspace(20.0, 128.0, 16)
    with pytest.raises(ValueError, match="frequencies.*increasing"):
        taylorf2(f[::-1], 20.0, 0.5, 500.0)
    with pytest.raises(ValueError, match="frequencies"):
        taylorf2(jnp.array([-1.0, 20.0]), 20.0, 0.5, 500.0)
    with pytest.raises(ValueError, match="chirp_mass"):
        taylorf2(f, -20.0, 0.5, 500.0)
    with pytest.raises(ValueError, match="mass_ratio"):
        taylorf2(f, 20.0, 1.5, 500.0)
    with pytest.raises(ValueError, match="mass_ratio"):
        taylorf2(f, 20.0, 0.0, 500.0)
    with pytest.raises(ValueError, match="luminosity_distance"):
        taylorf2(f, 20.0, 0.5, 0.0)
    with pytest.raises(ValueError, match="pn_order"):
        taylorf2(f, 20.0, 0.5, 500.0, pn_order=0.5)
