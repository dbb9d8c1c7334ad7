"""IsingChain: exact ground energies vs brute force, the reward design, the trap, an agent."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl.envs._ising_chain import (IsingChain, enumerate_ising_chain,
                                          ising_chain_energy, ising_chain_ground_energy,
                                          ising_chain_local_fields, random_pm_j_couplings)


def np_energy(s, J, h):
    """Independent numpy energy; periodic if len(J) == len(s)."""
    s = np.asarray(s, float)
    bonds = s * np.roll(s, -1) if len(J) == len(s) else s[:-1] * s[1:]
    return float(-np.sum(np.asarray(J) * bonds) - h * s.sum())


def np_brute(J, h, n):
    """Independent brute force with itertools."""
    best, states = np.inf, []
    for s in itertools.product((-1.0, 1.0), repeat=n):
        e = np_energy(s, J, h)
        if e < best - 1e-9:
            best, states = e, [s]
        elif abs(e - best) <= 1e-9:
            states.append(s)
    return best, np.array(states)


@pytest.mark.parametrize("periodic", [False, True])
def test_ground_energy_dp_matches_brute_force(periodic):
    rng = np.random.default_rng(0)
    for n in (2, 3, 5, 8, 11):
        for kind in ("pm", "gauss"):
            n_bonds = n if periodic else n - 1
            J = rng.choice([-1.0, 1.0], n_bonds) if kind == "pm" else rng.normal(size=n_bonds)
            h = float(rng.normal()) * 0.7
            ref, _ = np_brute(J, h, n)
            dp = float(ising_chain_ground_energy(jnp.asarray(J, jnp.float32), h, periodic=periodic))
            assert dp == pytest.approx(ref, abs=1e-4), (n, kind, J, h)
            e_enum, gs = enumerate_ising_chain(J, h, n_spins=n)
            assert e_enum == pytest.approx(ref, abs=1e-9)
            assert all(np_energy(s, J, h) == pytest.approx(ref) for s in gs)


def test_energy_and_local_fields_give_flip_energy():
    rng = np.random.default_rng(1)
    for J_len in (6, 7):     # periodic and open chain of 7 spins
        s = rng.choice([-1.0, 1.0], 7)
        J = rng.normal(size=J_len)
        h = 0.3
        e = float(ising_chain_energy(jnp.asarray(s), jnp.asarray(J), h))
        assert e == pytest.approx(np_energy(s, J, h), abs=1e-5)
        f = np.asarray(ising_chain_local_fields(jnp.asarray(s), jnp.asarray(J), h))
        for i in range(7):
            flipped = s.copy()
            flipped[i] *= -1
            assert np_energy(flipped, J, h) - np_energy(s, J, h) == pytest.approx(
                2 * s[i] * f[i], abs=1e-5)


def test_step_flips_terminates_and_return_telescopes():
    env = IsingChain(6, max_steps=50)
    params = env.make_params(J=1.0, h=0.0)
    step = jax.jit(env.step_env)
    obs, state = jax.jit(env.reset_env)(jax.random.key(3), params)
    s0 = np.asarray(state.spins)
    assert np.asarray(obs).tolist() == s0.tolist()
    # flip every minority spin: reaches a ground state (all aligned) in min flips
    minority = -1.0 if (s0 > 0).sum() >= 3 else 1.0
    actions = [i for i in range(6) if s0[i] == minority]
    total, spins = 0.0, s0
    for k, a in enumerate(actions):
        obs, state, r, term, trunc, _ = step(jax.random.key(0), state, jnp.asarray(a), params)
        assert np.asarray(state.spins)[a] == -spins[a]
        spins = np.asarray(state.spins)
        total += float(r)
        assert bool(term) == (k == len(actions) - 1)
        assert not bool(trunc)
    # γ = 1: return = (E0 − Emin)/scale − step_cost · T
    assert total == pytest.approx((np_energy(s0, np.ones(5), 0.0) + 5.0) / 2.0 - len(actions),
                                  abs=1e-5)


def test_truncation_at_step_limit_and_auto_reset():
    env = IsingChain(5, max_steps=3)
    params = env.default_params()
    step = jax.jit(env.step)
    obs, state = env.reset(jax.random.key(0), params)
    state = state._replace(spins=jnp.array([1.0, -1.0, 1.0, -1.0, 1.0]))   # 2 flips from ground
    key = jax.random.key(1)
    for t in range(3):
        key, k = jax.random.split(key)
        obs, state, r, term, trunc, info = step(k, state, jnp.asarray(0), params)  # spin 0
        assert not bool(term)
        assert bool(trunc) == (t == 2)
    assert int(state.time) == 0            # auto-reset after truncation
    assert info["final_obs"].shape == (5,)


def test_naive_reward_makes_never_finishing_optimal():
    """Reward +Σ s_i s_{i+1} per step, termination at the aligned state: circling wins.

    Open chain of N spins. Finishing from one flip away pays N − 1 once. Circling
    between the two states with one domain wall at bonds 0 and 1 (never aligned)
    pays N − 3 each step forever. With our reward the order is reversed.
    """
    n, gamma, horizon = 10, 0.99, 200
    env = IsingChain(n, max_steps=horizon)
    params = env.default_params()
    start = np.ones(n)
    start[0] = -1.0                                   # wall at bond 0
    state0 = env.reset_env(jax.random.key(0), params)[1]._replace(spins=jnp.asarray(start,
                                                                                    jnp.float32))

    step = jax.jit(env.step_env)

    def rollout(actions):
        state, naive, ours, ended = state0, [], [], False
        for a in actions:
            _, state, r, term, trunc, _ = step(jax.random.key(0), state, jnp.asarray(a), params)
            s = np.asarray(state.spins)
            naive.append(float(np.sum(s[:-1] * s[1:])))   # the naive reward, computed here
            ours.append(float(r))
            if bool(term) or bool(trunc):
                ended = bool(term)
                break
        disc = gamma ** np.arange(len(naive))
        return float(disc @ naive), float(disc @ ours), ended

    finish = rollout([0])                               # flip spin 0: aligned, terminates
    circle = rollout([1, 1] * horizon)                  # wall 0 → wall 1 → wall 0 → …
    assert finish[2] and not circle[2]
    assert finish[0] == pytest.approx(n - 1)
    # naive reward: never finishing is far better (≈ (N−3)/(1−γ) vs N−1)
    assert circle[0] > 10 * finish[0]
    assert circle[0] == pytest.approx((n - 3) * (1 - gamma ** horizon) / (1 - gamma), rel=1e-6)
    # our reward: finishing is better than circling
    assert finish[1] > circle[1]
    assert finish[1] == pytest.approx(-1.0 + (np_energy(start, np.ones(n - 1), 0) + n - 1) / 2)


def test_params_vmap_and_observe_fields():
    env = IsingChain(8, periodic=True, observe_fields=True)
    keys = jax.random.split(jax.random.key(0), 4)
    Js = jax.jit(jax.vmap(lambda k: random_pm_j_couplings(k, 8)))(keys)
    params = env.default_params()._replace(J=Js)
    params = params._replace(**{f: jnp.broadcast_to(getattr(params, f), (4,))
                                for f in ("h", "step_cost", "scale", "gamma")})
    reset_keys = jax.random.split(jax.random.key(1), 4)
    obs, state = jax.jit(jax.vmap(env.reset))(reset_keys, params)
    assert obs.shape == (4, 16)
    for i in range(4):
        ref, _ = np_brute(np.asarray(Js[i]), 0.0, 8)
        assert float(state.e_min[i]) == pytest.approx(ref)
        s, J = np.asarray(obs[i, :8]), np.asarray(Js[i])
        f_ref = J * np.roll(s, -1) + np.roll(J, 1) * np.roll(s, 1)     # periodic local fields
        np.testing.assert_allclose(np.asarray(obs[i, 8:]), f_ref)
    assert set(np.unique(np.abs(np.asarray(Js)))) == {1.0}
    assert not np.array_equal(np.asarray(Js[0]), np.asarray(Js[1]))   # seeds differ


def test_reset_avoids_ground_state_and_seeds_differ():
    env = IsingChain(3)                                   # 2 of 8 states are ground states
    params = env.default_params()
    obs, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(
        jax.random.split(jax.random.key(0), 200), params)
    energies = np.array([np_energy(s, np.ones(2), 0.0) for s in np.asarray(state.spins)])
    assert np.mean(energies <= -2.0 + 1e-6) < 0.02
    assert len({tuple(row) for row in np.asarray(obs).tolist()}) > 3


def test_bad_inputs():
    env = IsingChain(5, periodic=False)
    with pytest.raises(ValueError, match="J"):
        env.make_params(J=jnp.ones(5))
    with pytest.raises(ValueError, match="scale"):
        env.make_params(scale=0.0)
    with pytest.raises(ValueError, match="n_spins"):
        IsingChain(1)
    with pytest.raises(ValueError, match="J"):
        enumerate_ising_chain(np.ones(7), n_spins=5)
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    with pytest.raises(ValueError, match="action"):
        env.step(jax.random.key(1), state, 5, params)


@pytest.mark.no_key_reuse_check
def test_chapter14_dqn_agent_reaches_ground_state_in_minimal_flips(quick_chapter, chapter_checks):
    """Done-when (N = 10): ≥ 95 % of 200 random starts reach the ground state, on average
    within 0.5 flips of the minimum (the Hamming distance to the nearest ground state, by
    enumeration); the quick chapter also runs MCTS on an N = 12 glass vs enumeration."""
    from jaxphys.tour._ch14_ising_agent import CHAPTER

    tour_result, out = quick_chapter("ising-agent")      # the tour's own key: fold_in(key(0), number)
    chapter_checks("ising-agent", tour_result, out)
    result = tour_result.runs[0].result
    print(result.summary)
    assert CHAPTER.number == 14
    assert all(p.exists() for p in result.figures)
    assert "\n" not in result.summary
    m = result.metrics
    assert m["dqn_success_rate"] >= 0.95
    assert m["dqn_excess_flips"] <= 0.5
    assert m["dqn_mean_flips"] == pytest.approx(m["min_flips_mean"] + m["dqn_excess_flips"],
                                                abs=0.3)
    assert m["mcts_found_ground_state"] == 1.0
    chapter_key = jax.random.fold_in(jax.random.key(0), 14)
    glass_key = jax.random.split(jax.random.split(chapter_key, 4)[2], 1)[0]
    exact, _ = np_brute(np.asarray(random_pm_j_couplings(glass_key, 12)), 0.25, 12)
    assert m["exact_energy_0"] == pytest.approx(exact)
    assert m["mcts_energy_0"] == pytest.approx(exact, abs=1e-4)
