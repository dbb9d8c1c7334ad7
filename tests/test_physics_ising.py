"""Ising Monte Carlo against exact results: Onsager, exact enumeration, transition matrices."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import ellipk

from jaxphys.physics.ising import (critical_temperature, elliptic_k, energy_per_spin,
                                   integrated_autocorrelation_time, ising_configurations,
                                   ising_observables, jackknife, magnetization_per_spin,
                                   mean_with_error, metropolis_multispin, metropolis_sweep,
                                   onsager_energy, onsager_magnetization, simulate,
                                   wolff_multispin, wolff_update)
from jaxphys.physics.ising._monte_carlo import _half_sweep, _simulate_chains
from jaxphys.physics.ising._multispin import (_half_sweep_packed, _metropolis_planes,
                                              _packed_observables, pack_spins, threefry2x32,
                                              unpack_spins)
from jaxphys.physics.ising._multispin_run import simulate_multispin
from jaxphys.physics.ising._wolff_multispin import (_lattice_observables, pack_lattice,
                                                    unpack_lattice)


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
    m = np.asarray(onsager_magnetization(t))
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


def test_energy_and_magnetization_per_spin():
    rng = np.random.default_rng(0)
    s = rng.choice([-1, 1], size=(6, 6)).astype(np.int8)
    assert float(energy_per_spin(s)) == pytest.approx(_np_energy(s.astype(float)) / 36)
    assert float(magnetization_per_spin(s)) == pytest.approx(s.mean())
    assert float(energy_per_spin(s, 2.0)) == pytest.approx(2 * _np_energy(s.astype(float)) / 36)


def test_exact_enumeration_4x4_metropolis_and_wolff():
    """⟨e⟩ and ⟨|m|⟩ on a 4×4 lattice at T = 2.5 against the sum over all 2¹⁶ states."""
    e_ex, m_ex = _exact_thermo(4, 2.5)
    temps = jnp.full((8,), 2.5)
    for alg, kw in (("metropolis", {}), ("metropolis", {"multispin": False}),
                    ("wolff", {"clusters_per_sample": 3}),
                    ("wolff", {"clusters_per_sample": 3, "multispin": False})):
        run = simulate(jax.random.key(1), 4, temps, n_samples=2000, n_thermal=100,
                       algorithm=alg, **kw)
        obs = ising_observables(run.energy, run.magnetization, run.temperature, 16)
        for est, exact in ((obs.energy, e_ex), (obs.abs_magnetization, m_ex)):
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


def _multispin_transition_matrix(update, L, n, key):
    """Empirical transition matrix of a multi-spin update of ``(C, L, L)`` stacks: every
    state repeated ``n`` times, one chain each, one call."""
    states = _all_states(L).astype(np.int8)
    idx_of = {s.tobytes(): i for i, s in enumerate(states)}
    out = np.asarray(update(key, jnp.asarray(np.repeat(states, n, axis=0))))
    P = np.zeros((len(states), len(states)))
    for i, s in enumerate(out):
        P[i // n, idx_of[s.tobytes()]] += 1
    return P / n


def _metropolis_half_sweep_matrix(states, T):
    """Exact matrix of the even half sweep on 2×2: sites (0,0), (1,1) flip independently
    with the Metropolis rule min(1, e^{-βΔE})."""
    exact = np.zeros((len(states), len(states)))
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
    return exact


def test_detailed_balance_2x2_exact_enumeration():
    """Transition matrices on 2×2 (16 states), by exact enumeration of the code's updates.

    Checks against the Boltzmann distribution computed here: each checkerboard half
    sweep and a Wolff flip obey detailed balance π_i P_ij = π_j P_ji; a full sweep keeps
    π stationary (π P = π); the half sweep's matrix equals the one built from the
    Metropolis rule min(1, e^{-βΔE}) site by site. The same for the multi-spin coded
    half sweep, sweep and Wolff flip (one chain per state and repeat, 32 per word).
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

    def multispin_half(k, s):
        packed = pack_spins(s)
        planes = _metropolis_planes(jnp.full((s.shape[0],), T), jnp.asarray(1.0),
                                   packed.shape[1])
        even = _half_sweep_packed(packed[0], packed[1], k, planes, 0)
        return unpack_spins(jnp.stack([even, packed[1]]), s.shape[0])

    multispin_cases = {
        "multispin half sweep": multispin_half,
        "multispin sweep": lambda k, s: metropolis_multispin(k, s, T, n_sweeps=1),
        "multispin wolff": lambda k, s: wolff_multispin(k, s, T),
    }
    exact_half = _metropolis_half_sweep_matrix(states, T)
    keys = jax.random.split(jax.random.key(0), len(cases) + len(multispin_cases))
    matrices = {name: _transition_matrix(fn, 2, T, n, key)[1]
                for key, (name, fn) in zip(keys, cases.items())}
    matrices.update({name: _multispin_transition_matrix(jax.jit(fn), 2, n, key)
                     for key, (name, fn) in zip(keys[len(cases):], multispin_cases.items())})
    for name, P in matrices.items():
        np.testing.assert_allclose(P.sum(1), 1.0)
        sigma = np.sqrt(P * (1 - P) / n) + 1.0 / n
        stationary = pi @ P
        assert np.max(np.abs(stationary - pi)) < 0.01, name
        if "half" in name or "wolff" in name:
            flux = pi[:, None] * P
            flux_err = pi[:, None] * sigma
            assert np.all(np.abs(flux - flux.T) <= 5 * (flux_err + flux_err.T)), name
        if "half" in name:
            assert np.all(np.abs(P - exact_half)
                          <= 5 * np.sqrt(exact_half * (1 - exact_half) / n) + 1e-9), name
    assert np.allclose(pi[:, None] * exact_half, (pi[:, None] * exact_half).T)


@pytest.mark.parametrize("multispin", [True, False])
def test_onsager_L32(multispin):
    """Done-when: L = 32, e at T = 1.5, 2.0, 3.0 and |m| at 1.5, 2.0 vs Onsager: 3σ and 1 %
    (both Metropolis samplers: multi-spin coded and per-lattice int8)."""
    temps = np.array([1.5, 2.0, 3.0])
    n_chains = 4
    run = simulate(jax.random.key(32), 32, jnp.asarray(np.repeat(temps, n_chains)),
                   n_samples=1500, n_thermal=300, initial="ordered", multispin=multispin)
    obs = ising_observables(run.energy, run.magnetization, run.temperature, 32 * 32)

    def pooled(est):
        v = np.asarray(est.value).reshape(3, n_chains)
        e = np.asarray(est.error).reshape(3, n_chains)
        return v.mean(1), np.sqrt((e ** 2).sum(1)) / n_chains

    e, e_err = pooled(obs.energy)
    m, m_err = pooled(obs.abs_magnetization)
    e_ex = np.asarray(onsager_energy(temps))
    m_ex = np.asarray(onsager_magnetization(temps[:2]))
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
        obs = ising_observables(run.energy, run.magnetization, run.temperature, 256)
        res[alg] = [(float(np.mean(o.value)), float(np.sqrt(np.sum(np.asarray(o.error) ** 2)))
                     / 6) for o in (obs.energy, obs.abs_magnetization)]
    for (a, ea), (b, eb) in zip(res["metropolis"], res["wolff"]):
        assert abs(a - b) < 4 * np.hypot(ea, eb), (a, b, ea, eb)
    # Wolff decorrelates |m| much faster near T_c
    tau_w = ising_observables(runs["wolff"].energy, runs["wolff"].magnetization,
                              temps, 256).tau_abs_magnetization
    tau_m = ising_observables(runs["metropolis"].energy, runs["metropolis"].magnetization,
                              temps, 256).tau_abs_magnetization
    assert float(jnp.mean(tau_w)) < float(jnp.mean(tau_m))


@pytest.mark.parametrize("multispin", [True, False])
def test_simulate_does_not_recompile_and_seeds_differ(multispin):
    kw = dict(n_samples=5, multispin=multispin)
    jitted = simulate_multispin if multispin else _simulate_chains
    a = simulate(jax.random.key(0), 8, jnp.array([1.0, 2.0]), n_thermal=2, **kw)
    size = jitted._cache_size()
    b = simulate(jax.random.key(1), 8, jnp.array([2.5, 3.5]), n_thermal=3, **kw)
    assert jitted._cache_size() == size
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


def test_threefry_equals_jax_threefry():
    """The unrolled Threefry-2x32 of the multi-spin update against jax's own."""
    from jax.extend.random import threefry_2x32
    rng = np.random.default_rng(0)
    key = rng.integers(0, 2 ** 32, 2, dtype=np.uint32)
    counter = rng.integers(0, 2 ** 32, (2, 1000), dtype=np.uint32)
    ours = threefry2x32((jnp.uint32(key[0]), jnp.uint32(key[1])),
                        (jnp.asarray(counter[0]), jnp.asarray(counter[1])))
    ref = threefry_2x32(jnp.asarray(key), jnp.asarray(counter.ravel()))
    np.testing.assert_array_equal(np.concatenate([np.asarray(o) for o in ours]),
                                  np.asarray(ref))


def test_multispin_packing_and_observables():
    """Packing round trip (40 chains: a padded second word) and the bit-counted
    energies and magnetizations against the int8 formulas, chain by chain."""
    s = jnp.where(jax.random.bernoulli(jax.random.key(0), 0.5, (40, 6, 6)), 1, -1)
    s = s.astype(jnp.int8)
    packed = pack_spins(s)
    assert packed.shape == (2, 2, 6, 3) and packed.dtype == jnp.uint32
    np.testing.assert_array_equal(np.asarray(unpack_spins(packed, 40)), np.asarray(s))
    e, m = _packed_observables(packed, 1.5, 40)
    np.testing.assert_allclose(e, [_np_energy(x) * 1.5 / 36 for x in np.asarray(s, float)],
                               rtol=1e-6)
    np.testing.assert_allclose(m, np.asarray(s, float).mean((1, 2)), atol=1e-7)
    # the whole-lattice packing of the Wolff update (any L: 5)
    s5 = jnp.where(jax.random.bernoulli(jax.random.key(1), 0.5, (40, 5, 5)), 1, -1)
    words = pack_lattice(s5.astype(jnp.int8))
    assert words.shape == (2, 5, 5)
    np.testing.assert_array_equal(np.asarray(unpack_lattice(words, 40)), np.asarray(s5))
    e, m = _lattice_observables(words, 1.0, 40)
    np.testing.assert_allclose(e, [_np_energy(x) / 25 for x in np.asarray(s5, float)],
                               rtol=1e-6)
    np.testing.assert_allclose(m, np.asarray(s5, float).mean((1, 2)), atol=1e-7)


def test_multispin_chains_are_independent():
    """Lanes of one word and of two words get their own random numbers: equal starts at
    one temperature decorrelate (energy series of different chains uncorrelated), and
    two keys give different runs."""
    T = jnp.full((64,), 2.5)
    start = jnp.ones((64, 8, 8), jnp.int8)
    e, _, _ = simulate_multispin(jax.random.key(0), start, T, jnp.asarray(1.0),
                                 jnp.asarray(50), n_samples=2000, updates=1,
                                 algorithm="metropolis")
    e = np.asarray(e)
    r = np.corrcoef(e)[np.triu_indices(64, 1)]
    assert np.max(np.abs(r)) < 0.15, np.max(np.abs(r))   # 2000 samples, τ ~ 1: σ ≈ 0.03
    a = metropolis_multispin(jax.random.key(1), start, T, n_sweeps=3)
    b = metropolis_multispin(jax.random.key(2), start, T, n_sweeps=3)
    assert not np.array_equal(np.asarray(a), np.asarray(b))


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
    with pytest.raises(ValueError, match="multispin"):
        simulate(jax.random.key(0), 8, jnp.array([2.0]), n_samples=2, algorithm="hybrid",
                 multispin=True)
    with pytest.raises(ValueError, match="n_flips"):
        wolff_multispin(jax.random.key(0), jnp.ones((2, 5, 5), jnp.int8), 2.0, n_flips=-1)
    with pytest.raises(ValueError, match="spins"):
        wolff_multispin(jax.random.key(0), jnp.ones((2, 5, 4), jnp.int8), 2.0)
    with pytest.raises(ValueError, match="spins"):
        metropolis_multispin(jax.random.key(0), jnp.ones((3, 5, 5), jnp.int8), 2.0)
    with pytest.raises(ValueError, match="temperature"):
        metropolis_multispin(jax.random.key(0), jnp.ones((3, 4, 4), jnp.int8), jnp.ones(2))
    with pytest.raises(ValueError, match="temperature"):
        metropolis_multispin(jax.random.key(0), jnp.ones((2, 4, 4), jnp.int8),
                             jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="coupling"):
        metropolis_multispin(jax.random.key(0), jnp.ones((2, 4, 4), jnp.int8), 2.0,
                             coupling=-1.0)
    with pytest.raises(ValueError, match="n_sweeps"):
        metropolis_multispin(jax.random.key(0), jnp.ones((2, 4, 4), jnp.int8), 2.0,
                             n_sweeps=-1)
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
    with pytest.raises(ValueError, match="magnetization"):
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
