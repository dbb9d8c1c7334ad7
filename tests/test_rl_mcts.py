"""MCTS (UCT): exact ground state of a random ±J chain (N = 16) against brute force."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl._mcts import MCTSConfig, mcts_episode, mcts_search
from jaxphys.rl.envs._ising_chain import IsingChain, random_pm_j_couplings


def brute_force_min(J, h, n):
    """All 2^n states in numpy (independent of the library's DP and enumeration)."""
    codes = np.arange(2 ** n)
    s = np.where((codes[:, None] >> np.arange(n)) & 1, -1.0, 1.0)
    bonds = s * np.roll(s, -1, axis=1) if len(J) == n else s[:, :-1] * s[:, 1:]
    return float(np.min(-bonds @ np.asarray(J, float) - h * s.sum(1)))


@pytest.mark.no_key_reuse_check
def test_mcts_finds_exact_ground_state_of_random_pm_j_chain_n16():
    n, h = 16, 0.25
    env = IsingChain(n, periodic=True, max_steps=40)
    config = MCTSConfig(n_simulations=128, rollout_depth=8, c_uct=1.0)

    def one(key, J):
        params = env.default_params()._replace(J=J, h=jnp.float32(h))
        ep = mcts_episode(key, env, params, config, max_steps=40,
                          rollout_policy=env.greedy_policy(params, epsilon=0.1))
        return ep.terminated, ep.length, env.energy(ep.final_state.spins, params)

    Js = jax.vmap(lambda k: random_pm_j_couplings(k, n))(jax.random.split(jax.random.key(3), 2))
    term, length, energy = jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(1), 2), Js)
    for i in range(2):
        exact = brute_force_min(np.asarray(Js[i]), h, n)
        assert bool(term[i])
        assert float(energy[i]) == pytest.approx(exact, abs=1e-4)
        assert int(length[i]) < 40


def test_mcts_search_picks_the_winning_flip_and_counts_visits():
    env = IsingChain(6)
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    spins = jnp.array([1.0, 1.0, 1.0, -1.0, 1.0, 1.0])         # one flip (spin 3) from ground
    state = state._replace(spins=spins)
    n_sims = 48
    res = jax.jit(lambda k, s, o: mcts_search(k, env, params, s, o,
                                              MCTSConfig(n_simulations=n_sims, rollout_depth=4))
                  )(jax.random.key(1), state, spins)
    assert int(res.action) == 3
    assert int(res.visits.sum()) == n_sims                      # every simulation passes a child
    assert int(res.tree.n_nodes) <= n_sims + 1
    assert int(res.tree.visits[0]) == n_sims
    assert float(res.q[3]) == pytest.approx(float(jnp.max(res.q)))


def test_mcts_with_value_function_and_bad_config():
    env = IsingChain(5)
    params = env.default_params()
    config = MCTSConfig(n_simulations=32, rollout_depth=0)
    ep = jax.jit(lambda k: mcts_episode(k, env, params, config, max_steps=10,
                                        value_fn=lambda o: jnp.float32(0.0)))(jax.random.key(2))
    assert bool(ep.terminated)
    assert float(env.energy(ep.final_state.spins, params)) == pytest.approx(-4.0)
    with pytest.raises(ValueError, match="rollout_depth"):
        mcts_episode(jax.random.key(0), env, params, config, max_steps=10)


def test_mcts_on_an_environment_that_draws_from_its_key():
    """GridWorld's step draws from its key (the slip) even at slip 0: under the key-reuse
    checker every simulated step must get its own key. S.G: moving right twice wins."""
    from jaxphys.rl.envs import GridWorld

    env = GridWorld(["S.G"], slip=0.0)
    params = env.default_params()
    obs, state = env.reset_env(jax.random.key(2), params)
    res = mcts_search(jax.random.key(0), env, params, state, obs,
                      MCTSConfig(n_simulations=24, rollout_depth=4, gamma=0.9))
    assert int(jnp.sum(res.visits)) == 24
    _, s1, _, _, _, _ = env.step_env(jax.random.key(5), state, res.action, params)
    _, _, reward, term, _, _ = env.step_env(jax.random.key(6), s1, res.action, params)
    assert bool(term) and float(reward) > 0      # the chosen action, twice, reaches G
