"""The user's own networks in the agents: a periodic convolutional policy on the 2-D Ising
lattice game (PPO) and a permutation-invariant Deep Sets Q-network on an environment whose
observation is a set (DQN); the two environments against brute force and closed forms."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxphys.rl as rl
from jaxphys.nn import DeepSets
from jaxphys.rl.envs import (CenterOfMass, IsingLattice, center_of_mass, ising_lattice_energy,
                             ising_lattice_flip_energies)

from conformance.agents import train_seeds


def _np_energy(spins, J):
    """Periodic 2-D Ising energy by an explicit double loop over the bonds."""
    L = spins.shape[0]
    return -J * sum(spins[i, j] * (spins[(i + 1) % L, j] + spins[i, (j + 1) % L])
                    for i in range(L) for j in range(L))


# ------------------------------------------------------------------ the lattice game
@pytest.mark.parametrize("L, J", [(3, 1.0), (4, 1.0), (4, -0.5)])
def test_ground_energy_matches_brute_force(L, J):
    n = L * L
    codes = np.arange(2 ** n)
    spins = np.where((codes[:, None] >> np.arange(n)) & 1, -1.0, 1.0).reshape(-1, L, L)
    energies = -J * np.sum(spins * (np.roll(spins, -1, 1) + np.roll(spins, -1, 2)), axis=(1, 2))
    env = IsingLattice(L)
    params = env.make_params(J=J)
    assert float(env.ground_energy(params)) == pytest.approx(energies.min())
    for s in spins[np.random.default_rng(L).choice(len(spins), 5)]:
        assert float(ising_lattice_energy(jnp.asarray(s), J)) == pytest.approx(_np_energy(s, J))


def test_flip_energies_equal_energy_differences():
    rng = np.random.default_rng(0)
    s = rng.choice([-1.0, 1.0], (5, 5))
    delta = np.asarray(ising_lattice_flip_energies(jnp.asarray(s), 0.7))
    for i, j in itertools.product(range(5), range(5)):
        flipped = s.copy()
        flipped[i, j] *= -1
        assert delta[i, j] == pytest.approx(_np_energy(flipped, 0.7) - _np_energy(s, 0.7), abs=1e-5)


def test_zero_temperature_step_reward_termination_and_truncation():
    env = IsingLattice(3, max_steps=2)
    params = env.make_params(J=1.0, temperature=0.0, step_cost=0.1, scale=4.0)
    _, state = env.reset(jax.random.key(0), params)
    spins = (-jnp.ones((3, 3))).at[1, 1].set(1.0)              # one flip from the ground state
    state = state._replace(spins=spins)
    obs, new, reward, terminated, truncated, info = env.step(jax.random.key(1), state, 4, params)
    assert bool(terminated) and not bool(truncated)
    np.testing.assert_array_equal(info["final_obs"], -np.ones((3, 3)))
    assert float(reward) == pytest.approx(8.0 / 4.0 - 0.1)    # ΔE = −8J released
    obs, new, reward, terminated, truncated, _ = env.step(jax.random.key(2), state, 0, params)
    assert float(reward) == pytest.approx(-(_np_energy(np.asarray(new.spins), 1.0)
                                            - _np_energy(np.asarray(spins), 1.0)) / 4 - 0.1)
    assert not bool(terminated) and not bool(truncated)
    *_, terminated, truncated, _ = env.step(jax.random.key(3), new, 0, params)
    assert bool(truncated) and not bool(terminated)


def test_heat_bath_flips_with_the_glauber_probability():
    """From the aligned 4 × 4 state the agent flips spin 0 (ΔE = +8J); the heat bath then
    picks a uniform site and flips it with probability 1 / (1 + exp(ΔE/T)): the flipped
    spin back (ΔE = −8), one of its 4 neighbours (ΔE = +4) or one of the 11 others (+8)."""
    env = IsingLattice(4)
    params = env.make_params(J=1.0, temperature=2.0)
    state = rl.envs.IsingLatticeState(jnp.ones((4, 4)), jnp.asarray(0, jnp.int32))
    n = 40_000
    spins = jax.jit(jax.vmap(lambda k: env.step_env(k, state, 0, params)[1].spins))(
        jax.random.split(jax.random.key(0), n))
    after_agent = np.ones((4, 4))
    after_agent[0, 0] = -1.0
    changed = (np.asarray(spins) != after_agent[None]).reshape(n, 16)
    glauber = lambda dE: 1.0 / (1.0 + np.exp(dE / 2.0))     # noqa: E731
    expected = {0: glauber(-8.0) / 16, 1: glauber(4.0) / 16, 4: glauber(4.0) / 16,
                5: glauber(8.0) / 16}
    for site, p in expected.items():
        freq = changed[:, site].mean()
        assert abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n), (site, freq, p)
    assert changed.sum(axis=1).max() == 1                    # at most one thermal flip


def test_lattice_params_vmap_over_coupling_and_temperature():
    env = IsingLattice(4)
    batch = jax.vmap(lambda J, T: env.make_params(J=J, temperature=T))(
        jnp.array([1.0, 2.0]), jnp.array([0.0, 0.0]))
    _, state = env.reset(jax.random.key(0), env.default_params())
    rewards = jax.vmap(lambda p: env.step(jax.random.key(1), state, 5, p)[2])(batch)
    delta = float(ising_lattice_flip_energies(state.spins, 1.0)[1, 1])
    np.testing.assert_allclose(rewards, [-delta / 4 - 0.1, -2 * delta / 4 - 0.1], rtol=1e-6)
    with pytest.raises(ValueError, match="J"):
        IsingLattice(3).make_params(J=-1.0)                  # frustrated on odd L
    with pytest.raises(ValueError, match="temperature"):
        env.make_params(temperature=-1.0)


def test_periodic_conv_policy_is_translation_equivariant():
    net = rl.PeriodicConvActorCritic(features=(8, 8))
    s = jnp.asarray(np.random.default_rng(1).choice([-1.0, 1.0], (5, 5)), jnp.float32)
    params = net.init(jax.random.key(0), s)
    logits, value = net.apply(params, s)
    shifted_logits, shifted_value = net.apply(params, jnp.roll(s, (1, 3), (0, 1)))
    np.testing.assert_allclose(shifted_logits.reshape(5, 5),
                               jnp.roll(logits.reshape(5, 5), (1, 3), (0, 1)), atol=1e-5)
    assert float(shifted_value) == pytest.approx(float(value), abs=1e-5)


# ------------------------------------------------------------------ the set environment
def test_center_of_mass_observation_is_the_set_and_reward_telescopes():
    env = CenterOfMass(n_particles=5, max_steps=50)
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    rows = np.concatenate([np.asarray(state.positions) - np.asarray(state.probe)[None],
                           np.asarray(state.masses)[:, None]], axis=1)
    assert sorted(map(tuple, np.round(np.asarray(obs), 6))) == sorted(map(tuple, np.round(rows, 6)))
    target = np.sum(np.asarray(state.masses)[:, None] * np.asarray(state.positions), 0) \
        / np.sum(np.asarray(state.masses))
    np.testing.assert_allclose(center_of_mass(state.positions, state.masses), target, rtol=1e-6)
    total, d0 = 0.0, np.linalg.norm(np.asarray(state.probe) - target)
    for t, action in enumerate([1, 1, 3, 0, 2]):
        obs, state, reward, terminated, truncated, _ = env.step_env(
            jax.random.key(t + 1), state, action, params)
        total += float(reward)
    d1 = np.linalg.norm(np.asarray(state.probe) - target)
    assert total == pytest.approx((d0 - d1) / 0.1 - 5 * 0.1, abs=1e-4)


def test_deep_sets_q_network_is_permutation_invariant():
    env = CenterOfMass(n_particles=6)
    obs, _ = env.reset(jax.random.key(0))
    net = DeepSets(phi_widths=(16,), rho_widths=(16, 5))
    params = net.init(jax.random.key(1), obs)
    q = net.apply(params, obs)
    perm = np.random.default_rng(2).permutation(6)
    np.testing.assert_allclose(net.apply(params, obs[perm]), q, atol=1e-5)
    agent = rl.make_dqn(env, None, network=net)              # fits the action space: (5,)
    assert agent.network is not None


# ------------------------------------------------------------------ learning with them
def _success(env, agent, params, n_seeds, max_steps, key):
    """Fraction of 64 greedy episodes per seed that end before the step limit (reach the
    goal: the ground state, the centre of mass), and their mean return."""
    ev = jax.jit(jax.vmap(lambda k, p: rl.evaluate(k, env, None, agent.policy(p), n_episodes=64,
                                                   max_steps=max_steps)))(
        jax.random.split(key, n_seeds), params)
    return np.mean(np.asarray(ev.lengths) < max_steps, axis=1), np.asarray(ev.mean_return)


def _random_success(env, max_steps):
    space = env.action_space(env.default_params())
    ev = rl.evaluate(jax.random.key(7), env, None, lambda k, o: space.sample(k), n_episodes=256,
                     max_steps=max_steps)
    return float(np.mean(np.asarray(ev.lengths) < max_steps)), float(ev.mean_return)


@pytest.mark.no_key_reuse_check
def test_ppo_with_a_periodic_conv_policy_reaches_the_lattice_ground_state():
    """4 × 4 lattice at T = 0 from random spins, 16 flips allowed: after 16 384 steps the
    greedy conv policy reaches the ground state in ≥ 90 % of episodes (2 seeds), a uniformly
    random flipper in ≤ 5 %."""
    env = IsingLattice(4)
    agent = rl.make_ppo(env, None, rl.PPOConfig(total_timesteps=16_384, n_envs=16, n_steps=16),
                        network=rl.PeriodicConvActorCritic(features=(16, 16)))
    hp = agent.default_hparams._replace(learning_rate=1e-3, gamma=0.95)
    res = train_seeds(agent, hp, 2)
    success, _ = _success(env, agent, res.state.params, 2, 16, jax.random.key(1))
    random_success, _ = _random_success(env, 16)
    assert np.all(success >= 0.9), success
    assert random_success <= 0.05, random_success


@pytest.mark.no_key_reuse_check
def test_dqn_with_a_deep_sets_q_network_finds_the_center_of_mass():
    """8 particles, their order reshuffled at every step: after 15 000 steps the greedy
    Deep Sets DQN reaches the centre of mass within 40 steps in ≥ 3× the random walk's
    fraction of episodes, and returns ≥ 4 more."""
    env = CenterOfMass(n_particles=8)
    agent = rl.make_dqn(env, None, rl.DQNConfig(
        total_timesteps=15_000, n_envs=8, buffer_size=20_000, batch_size=64,
        learning_starts=1_000, target_update_interval=500),
        network=DeepSets(phi_widths=(64, 64), rho_widths=(64, 5)))
    hp = agent.default_hparams._replace(learning_rate=1e-3, gamma=0.9, eps_fraction=0.3)
    res = train_seeds(agent, hp, 2)
    success, returns = _success(env, agent, res.state.params, 2, 40, jax.random.key(1))
    random_success, random_return = _random_success(env, 40)
    assert np.all(success >= 3 * random_success), (success, random_success)
    assert np.all(returns >= random_return + 4.0), (returns, random_return)
