"""Ising Monte Carlo against exact results: Onsager, exact enumeration, transition matrices."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ellipk

from jaxphys.physics._ising_data import ising_configurations
from jaxphys.physics._ising_mc import (_half_sweep, _simulate_chains, energy_per_spin,
                                       magnetisation_per_spin, metropolis_sweep, simulate,
                                       wolff_update)
from jaxphys.physics._observables import (ising_observables, integrated_autocorrelation_time,
                                          jackknife, mean_with_error)
from jaxphys.physics._onsager import (critical_temperature, elliptic_k, onsager_energy,
                                      onsager_magnetisation)


# ---------------------------------------------------------------- independent references
def _np_energy(s):
    """Energy (total) of a periodic lattice, each site's right and down bonds."""
    return -float(np.sum(s * (np.roll(s, -1, 0) + np.roll(s, -1, 1))))


def _all_states(L):
    return np.array([np.array(c).reshape(L, L) for c in itertools.product([1, -1], repeat=L * L)])


def _exact_thermo(L, T):
    states = _all_states(L)
    e = np.array([_np_energy(s) for s in states])
    m = np.abs(states.reshape(len(states), -1).sum(1)) / L ** 2
    w = np.exp(-(e - e.min()) / T)
    w /= w.sum()
    return float(w @ (e / L ** 2)), float(w @ m)


def test_onsager_against_scipy_and_limits(x64):
    t = np.array([0.5, 1.0, 1.5, 2.0, 2.2, 2.4, 3.0, 5.0])
    beta = 1.0 / t
    kappa = 2 * np.sinh(2 * beta) / np.cosh(2 * beta) ** 2
    u_ref = -1 / np.tanh(2 * beta) * (1 + 2 / np.pi * (2 * np.tanh(2 * beta) ** 2 - 1)
                                      * ellipk(kappa ** 2))
    np.testing.assert_allclose(onsager_energy(t), u_ref, rtol=1e-10)
    np.testing.assert_allclose(elliptic_k(np.array([0.1, 0.9, 0.999])),
                               ellipk(np.array([0.1, 0.9, 0.999]) ** 2), rtol=1e-12)
    tc = float(critical_temperature())
    assert tc == pytest.approx(2 / np.log(1 + np.sqrt(2)), rel=1e-12)
    assert float(onsager_energy(tc)) == pytest.approx(-np.sqrt(2), abs=1e-6)
    assert float(onsager_energy(0.05)) == pytest.approx(-2.0, abs=1e-12)
    m = np.asarray(onsager_magnetisation(t))
    np.testing.assert_allclose(m[t < tc], (1 - np.sinh(2 * beta[t < tc]) ** -4) ** 0.125)
    assert np.all(m[t > tc] == 0)
    # u = d(βf)/dβ: compare with a finite difference of the Onsager free energy integral
    from scipy.integrate import quad

    def beta_f(b):
        k = 2 * np.sinh(2 * b) / np.cosh(2 * b) ** 2
        integ = quad(lambda th: np.log(0.5 * (1 + np.sqrt(1 - k ** 2 * np.sin(th) ** 2))),
                     0, np.pi)[0]
        return -(np.log(2 * np.cosh(2 * b)) + integ / (2 * np.pi))

    b, h = 1 / 2.6, 1e-5
    assert float(onsager_energy(2.6)) == pytest.approx(
        (beta_f(b + h) - beta_f(b - h)) / (2 * h), abs=1e-6)


def test_energy_and_magnetisation_per_spin():
    rng = np.random.default_rng(0)
    s = rng.choice([-1, 1], size=(6, 6)).astype(np.int8)
    assert float(energy_per_spin(s)) == pytest.approx(_np_energy(s.astype(float)) / 36)
    assert float(magnetisation_per_spin(s)) == pytest.approx(s.mean())
    assert float(energy_per_spin(s, 2.0)) == pytest.approx(2 * _np_energy(s.astype(float)) / 36)


def test_exact_enumeration_4x4_metropolis_and_wolff():
    """⟨e⟩ and ⟨|m|⟩ on a 4×4 lattice at T = 2.5 against the sum over all 2¹⁶ states."""
    e_ex, m_ex = _exact_thermo(4, 2.5)
    temps = jnp.full((8,), 2.5)
    for alg, kw in (("metropolis", {}), ("wolff", {"clusters_per_sample": 3})):
        run = simulate(jax.random.key(1), 4, temps, n_samples=2000, n_thermal=100,
                       algorithm=alg, **kw)
        obs = ising_observables(run.energy, run.magnetisation, run.temperature, 16)
        for est, exact in ((obs.energy, e_ex), (obs.abs_magnetisation, m_ex)):
            mean = float(np.mean(est.value))
            err = float(np.sqrt(np.sum(np.asarray(est.error) ** 2))) / est.value.shape[0]
            assert abs(mean - exact) < 4 * err + 1e-4, (alg, mean, exact, err)


def _transition_matrix(update, L, T, n, key):
    """Empirical one-update transition matrix between all 2^(L²) states."""
    states = _all_states(L).astype(np.int8)
    idx_of = {s.tobytes(): i for i, s in enumerate(states)}
    keys = jax.random.split(key, (len(states), n))
    out = jax.jit(jax.vmap(jax.vmap(update, in_axes=(0, None)), in_axes=(0, 0)))(
        keys, jnp.asarray(states))
    out = np.asarray(out)
    P = np.zeros((len(states), len(states)))
    for i in range(len(states)):
        for s in out[i]:
            P[i, idx_of[s.tobytes()]] += 1
    return states, P / n


def test_detailed_balance_2x2_exact_enumeration():
    """Transition matrices on 2×2 (16 states), by exact enumeration of the code's updates.

    Checks against the Boltzmann distribution computed here: each checkerboard half
    sweep and a Wolff flip obey detailed balance π_i P_ij = π_j P_ji; a full sweep keeps
    π stationary (π P = π); the half sweep's matrix equals the one built from the
    Metropolis rule min(1, e^{-βΔE}) site by site.
    """
    T, n = 2.0, 6000
    states = _all_states(2).astype(float)
    energy = np.array([_np_energy(s) for s in states])
    pi = np.exp(-energy / T)
    pi /= pi.sum()
    beta = jnp.asarray(1 / T)

    def half(k, s):
        return _half_sweep(s, jax.random.uniform(k, s.shape), beta, 1.0, 0)

    cases = {
        "half sweep": half,
        "wolff": lambda k, s: wolff_update(k, s, T),
        "sweep": lambda k, s: metropolis_sweep(k, s, T),
    }
    keys = jax.random.split(jax.random.key(0), len(cases))
    for key, (name, fn) in zip(keys, cases.items()):
        _, P = _transition_matrix(fn, 2, T, n, key)
        np.testing.assert_allclose(P.sum(1), 1.0)
        sigma = np.sqrt(P * (1 - P) / n) + 1.0 / n
        stationary = pi @ P
        assert np.max(np.abs(stationary - pi)) < 0.01, name
        if name != "sweep":
            flux = pi[:, None] * P
            flux_err = pi[:, None] * sigma
            assert np.all(np.abs(flux - flux.T) <= 5 * (flux_err + flux_err.T)), name
        if name == "half sweep":
            # exact matrix: sites (0,0), (1,1) flip independently with the Metropolis rule
            exact = np.zeros_like(P)
            for i, s in enumerate(states):
                probs = []
                for (a, b) in ((0, 0), (1, 1)):
                    nb = 2 * s[(a + 1) % 2, b] + 2 * s[a, (b + 1) % 2]
                    probs.append(min(1.0, np.exp(-2 * s[a, b] * nb / T)))
                for fa, fb in itertools.product([0, 1], repeat=2):
                    t = s.copy()
                    if fa:
                        t[0, 0] *= -1
                    if fb:
                        t[1, 1] *= -1
                    j = int(np.flatnonzero((states == t).all(axis=(1, 2)))[0])
                    exact[i, j] += ((probs[0] if fa else 1 - probs[0])
                                    * (probs[1] if fb else 1 - probs[1]))
            assert np.all(np.abs(P - exact) <= 5 * np.sqrt(exact * (1 - exact) / n) + 1e-9)
            assert np.allclose(pi[:, None] * exact, (pi[:, None] * exact).T)


def test_onsager_L32():
    """Done-when: L = 32, e at T = 1.5, 2.0, 3.0 and |m| at 1.5, 2.0 vs Onsager: 3σ and 1 %."""
    temps = np.array([1.5, 2.0, 3.0])
    n_chains = 4
    run = simulate(jax.random.key(32), 32, jnp.asarray(np.repeat(temps, n_chains)),
                   n_samples=1500, n_thermal=300, initial="ordered")
    obs = ising_observables(run.energy, run.magnetisation, run.temperature, 32 * 32)

    def pooled(est):
        v = np.asarray(est.value).reshape(3, n_chains)
        e = np.asarray(est.error).reshape(3, n_chains)
        return v.mean(1), np.sqrt((e ** 2).sum(1)) / n_chains

    e, e_err = pooled(obs.energy)
    m, m_err = pooled(obs.abs_magnetisation)
    e_ex = np.asarray(onsager_energy(temps))
    m_ex = np.asarray(onsager_magnetisation(temps[:2]))
    assert np.all(np.abs(e - e_ex) < 3 * e_err), (e, e_ex, e_err)
    assert np.all(np.abs(e - e_ex) < 0.01 * np.abs(e_ex))
    assert np.all(np.abs(m[:2] - m_ex) < 3 * m_err[:2]), (m, m_ex, m_err)
    assert np.all(np.abs(m[:2] - m_ex) < 0.01 * m_ex)
    assert np.all(e_err > 0) and np.all(e_err < 2e-3)


def test_wolff_and_metropolis_agree_L16():
    temps = jnp.full((6,), 2.3)
    runs = {alg: simulate(jax.random.key(i), 16, temps, n_samples=1000, n_thermal=200,
                          algorithm=alg, clusters_per_sample=3)
            for i, alg in enumerate(("metropolis", "wolff"))}
    res = {}
    for alg, run in runs.items():
        obs = ising_observables(run.energy, run.magnetisation, run.temperature, 256)
        res[alg] = [(float(np.mean(o.value)), float(np.sqrt(np.sum(np.asarray(o.error) ** 2)))
                     / 6) for o in (obs.energy, obs.abs_magnetisation)]
    for (a, ea), (b, eb) in zip(res["metropolis"], res["wolff"]):
        assert abs(a - b) < 4 * np.hypot(ea, eb), (a, b, ea, eb)
    # Wolff decorrelates |m| much faster near T_c
    tau_w = ising_observables(runs["wolff"].energy, runs["wolff"].magnetisation,
                              temps, 256).tau_abs_magnetisation
    tau_m = ising_observables(runs["metropolis"].energy, runs["metropolis"].magnetisation,
                              temps, 256).tau_abs_magnetisation
    assert float(jnp.mean(tau_w)) < float(jnp.mean(tau_m))


def test_simulate_does_not_recompile_and_seeds_differ():
    kw = dict(n_samples=5, n_thermal=2)
    a = simulate(jax.random.key(0), 8, jnp.array([1.0, 2.0]), **kw)
    size = _simulate_chains._cache_size()
    b = simulate(jax.random.key(1), 8, jnp.array([2.5, 3.5]), **kw)
    assert _simulate_chains._cache_size() == size
    assert not np.array_equal(np.asarray(a.spins), np.asarray(b.spins))
    c = simulate(jax.random.key(0), 8, jnp.array([1.0, 2.0]), initial=a.spins, **kw)
    assert c.energy.shape == (2, 5)
    # vmapped chains: each chain equals its own single-chain run with the same key
    one = jax.vmap(lambda k, s: metropolis_sweep(k, s, 2.0))(
        jax.random.split(jax.random.key(3), 2), a.spins)
    assert one.shape == (2, 8, 8) and one.dtype == jnp.int8


def test_low_and_high_temperature_limits():
    # shapes shared with the tests above: no new compilation
    frozen = simulate(jax.random.key(0), 8, jnp.array([0.2, 0.3]), n_samples=5,
                      n_thermal=2, initial="ordered")
    assert np.all(np.asarray(frozen.energy) == -2.0)
    # high-temperature series: ⟨s_i s_j⟩ = tanh β + O(tanh³ β) ≈ 0.0997 + O(0.002)
    hot = simulate(jax.random.key(1), 16, jnp.full((6,), 10.0), n_samples=1000, n_thermal=20,
                   clusters_per_sample=3)
    assert float(jnp.mean(hot.energy)) == pytest.approx(-2 * np.tanh(0.1), abs=0.015)


def test_bad_inputs():
    with pytest.raises(ValueError, match="L"):
        metropolis_sweep(jax.random.key(0), jnp.ones((5, 5), jnp.int8), 2.0)
    with pytest.raises(ValueError, match="L"):
        simulate(jax.random.key(0), 7, jnp.array([2.0]), n_samples=2)
    with pytest.raises(ValueError, match="temperature"):
        simulate(jax.random.key(0), 8, jnp.array([2.0, 0.0]), n_samples=2)
    with pytest.raises(ValueError, match="temperature"):
        simulate(jax.random.key(0), 8, jnp.array([-1.0]), n_samples=2)
    with pytest.raises(ValueError, match="temperature"):
        metropolis_sweep(jax.random.key(0), jnp.ones((4, 4), jnp.int8), 0.0)
    with pytest.raises(ValueError, match="temperature"):
        wolff_update(jax.random.key(0), jnp.ones((5, 5), jnp.int8), -2.0)
    with pytest.raises(ValueError, match="temperature"):
        onsager_energy(0.0)
    with pytest.raises(ValueError, match="algorithm"):
        simulate(jax.random.key(0), 8, jnp.array([2.0]), n_samples=2, algorithm="heatbath")
    with pytest.raises(ValueError, match="initial"):
        simulate(jax.random.key(0), 8, jnp.array([2.0]), n_samples=2, initial=jnp.ones((3, 8, 8)))
    with pytest.raises(ValueError, match="temperatures"):
        ising_configurations(jax.random.key(0), 8, jnp.array([0.0]), 4)
    with pytest.raises(ValueError, match="L"):
        ising_configurations(jax.random.key(0), 9, jnp.array([2.0]), 4)
    # Wolff accepts odd L
    assert wolff_update(jax.random.key(0), jnp.ones((5, 5), jnp.int8), 2.0).shape == (5, 5)


def test_autocorrelation_time_of_ar1_and_errors(x64):
    rng = np.random.default_rng(0)
    a, n = 0.8, 200_000
    eps = rng.normal(size=n)
    x = np.empty(n)
    x[0] = eps[0]
    for i in range(1, n):
        x[i] = a * x[i - 1] + eps[i]
    tau = float(integrated_autocorrelation_time(x))
    assert tau == pytest.approx((1 + a) / (2 * (1 - a)), rel=0.1)
    # error of the mean from τ_int against the spread of means of independent series
    series = rng.normal(size=(400, 1000))
    for i in range(1, 1000):
        series[:, i] += a * series[:, i - 1]
    errs = np.array([float(mean_with_error(s).error) for s in series[:40]])
    assert np.mean(errs) == pytest.approx(np.std(series.mean(1)), rel=0.2)
    # blocked jackknife of a mean equals the naive standard error for iid data
    iid = rng.normal(size=4000)
    est = jackknife(lambda d: d.mean(), jnp.asarray(iid), n_blocks=40)
    assert float(est.value) == pytest.approx(iid.mean())
    assert float(est.error) == pytest.approx(iid.std() / np.sqrt(4000), rel=0.35)


def test_observables_limits():
    n = 4000
    e = jnp.full((2, n), -2.0)
    rng = np.random.default_rng(1)
    m = jnp.stack([jnp.ones(n), jnp.asarray(rng.normal(0, 0.1, n))])
    obs = ising_observables(e, m, jnp.array([1.0, 5.0]), 64)
    assert float(obs.binder.value[0]) == pytest.approx(2 / 3)
    assert float(obs.binder.value[1]) == pytest.approx(0.0, abs=0.15)   # Gaussian m: U₄ = 0
    assert float(obs.specific_heat.value[0]) == pytest.approx(0.0, abs=1e-4)   # float32
    mm = np.asarray(m[1])
    assert float(obs.susceptibility.value[1]) == pytest.approx(
        64 / 5 * (np.mean(mm ** 2) - np.mean(np.abs(mm)) ** 2), rel=1e-4)
    with pytest.raises(ValueError, match="magnetisation"):
        ising_observables(e, m[:, :10], jnp.array([1.0, 5.0]), 64)


def test_configurations_labels_and_symmetry():
    temps = jnp.array([1.5, 3.5])
    data = ising_configurations(jax.random.key(0), 12, temps, 40, n_chains=8, n_thermal=50)
    assert data.spins.shape == (80, 12, 12) and data.spins.dtype == jnp.int8
    np.testing.assert_array_equal(np.asarray(data.label), np.repeat([1, 0], 40))
    m = np.asarray(data.spins, float).mean((1, 2))
    assert np.mean(np.abs(m[:40])) > 0.95 and np.mean(np.abs(m[40:])) < 0.3
    assert 5 < np.sum(m[:40] > 0) < 35             # both signs of the ordered phase
    assert float(data.critical_temperature) == pytest.approx(2.269185, abs=1e-6)
