"""Wrappers: episode statistics, observation normalisation, the gymnasium adapter."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl._evaluate import evaluate
from jaxphys.rl.envs._base import Box, Discrete, Environment
from jaxphys.rl.envs._gridworld import GridWorld
from jaxphys.rl.envs import EpisodeStatistics, GymnasiumAdapter, NormalizeObservation


class _WalkState(NamedTuple):
    x: jax.Array
    t: jax.Array


class RandomWalk(Environment):
    """A 2-D Gaussian random walk with drift, Box observations, 7-step episodes."""

    def default_params(self):
        return jnp.asarray([3.0, -2.0])

    def reset_env(self, key, params):
        x = params + jax.random.normal(key, (2,))
        return x, _WalkState(x, jnp.asarray(0))

    def step_env(self, key, state, action, params):
        x = state.x + 0.5 * jax.random.normal(key, (2,)) + 0.1 * action
        t = state.t + 1
        return x, _WalkState(x, t), jnp.sum(x), t >= 7, jnp.asarray(False), {}

    def observation_space(self, params):
        return Box(-jnp.inf, jnp.inf, (2,))

    def action_space(self, params):
        return Discrete(2)


def _rollout(env, key, n, action=1):
    """Host loop over env.step: per-step outputs as numpy."""
    reset_key, key = jax.random.split(key)
    obs, state = env.reset(reset_key)
    step = jax.jit(env.step)
    out = []
    for k in jax.random.split(key, n):
        obs, state, r, term, trunc, info = step(k, state, action)
        out.append((np.asarray(obs), float(r), bool(term) or bool(trunc), info, state))
    return out


def test_episode_statistics_survive_auto_reset():
    inner = GridWorld(["S..", ".#.", "..G"], slip=0.5, step_reward=-0.1, max_steps=6)
    env = EpisodeStatistics(inner)
    steps = _rollout(env, jax.random.key(0), 60)
    ret, length, finished = 0.0, 0, []
    for obs, r, done, info, state in steps:
        ret += r
        length += 1
        assert bool(info["returned_episode"]) == done
        if done:
            finished.append((ret, length))
            ret, length = 0.0, 0
            # the finished episode's statistics are kept after the auto-reset
            assert float(info["episode_return"]) == pytest.approx(finished[-1][0], abs=1e-5)
            assert int(info["episode_length"]) == finished[-1][1]
            assert float(state.episode_return) == 0.0 and int(state.episode_length) == 0
        else:
            assert float(state.episode_return) == pytest.approx(ret, abs=1e-5)
    assert len(finished) >= 5
    assert all(n <= 6 for _, n in finished)
    # the wrapper is transparent for the inner dynamics and for evaluate
    res = evaluate(jax.random.key(1), env, None, lambda k, o: jnp.asarray(2), n_episodes=4,
                   max_steps=10)
    ref = evaluate(jax.random.key(1), inner, None, lambda k, o: jnp.asarray(2), n_episodes=4,
                   max_steps=10)
    np.testing.assert_allclose(np.asarray(res.returns), np.asarray(ref.returns))
    assert env.to_mdp().transitions.shape == (9, 4, 9)          # attributes pass through


def test_episode_statistics_vmap():
    env = EpisodeStatistics(GridWorld(["SG"], step_reward=0.0))
    keys = jax.random.split(jax.random.key(0), 3)
    obs, state = jax.vmap(env.reset)(keys)
    out = jax.vmap(lambda k, s: env.step(k, s, jnp.asarray(1)))(
        jax.random.split(jax.random.key(1), 3), state)
    np.testing.assert_array_equal(np.asarray(out[5]["episode_return"]), [1.0, 1.0, 1.0])


def test_normalize_observation_running_moments():
    inner = RandomWalk()
    env = NormalizeObservation(inner)
    n = 40
    steps = _rollout(env, jax.random.key(0), n)
    raw = _rollout(inner, jax.random.key(0), n)                 # same keys: same raw obs
    reset_key, _ = jax.random.split(jax.random.key(0))
    first, _ = inner.reset(reset_key)
    seen = [np.asarray(first)] + [o for o, *_ in raw]
    state = steps[-1][4]
    mean, var = np.mean(seen, 0), np.var(seen, 0)
    np.testing.assert_allclose(np.asarray(state.mean), mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(state.var), var, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(steps[-1][0], (seen[-1] - mean) / np.sqrt(var + 1e-8),
                               rtol=1e-3, atol=1e-3)
    assert float(state.count) == pytest.approx(n + 1, abs=1e-3)  # kept across auto-resets
    assert env.observation_space(None).shape == (2,)


def test_wrapper_bad_input():
    with pytest.raises(ValueError, match="env"):
        NormalizeObservation(GridWorld(["SG"]))                  # Discrete observations
    with pytest.raises(ValueError, match="env"):
        EpisodeStatistics("CartPole-v1")


gymnasium = pytest.importorskip("gymnasium")


def test_gymnasium_adapter_matches_cartpole():
    adapter = GymnasiumAdapter("CartPole-v1")
    ref = gymnasium.make("CartPole-v1")
    assert adapter.action_space() == Discrete(2) and adapter.observation_space().shape == (4,)
    reset_key, key = jax.random.split(jax.random.key(0))
    obs, state = adapter.reset(reset_key)
    seed_key, _ = jax.random.split(jax.random.key(0))           # the same key, fresh copy
    ref_obs, _ = ref.reset(seed=int(jax.random.randint(seed_key, (), 0, 2**31 - 1)))
    np.testing.assert_array_equal(obs, ref_obs)
    rng = np.random.default_rng(0)
    episodes = 0
    for k in jax.random.split(key, 150):
        k_copy = jax.random.wrap_key_data(jax.random.key_data(k))    # to recompute the seed
        a = int(rng.integers(2))
        obs, state, r, term, trunc, info = adapter.step(k, state, a)
        ref_obs, ref_r, ref_term, ref_trunc, _ = ref.step(a)
        np.testing.assert_array_equal(info["final_obs"], ref_obs)
        assert (r, term, trunc) == (ref_r, ref_term, ref_trunc)
        if term or trunc:
            episodes += 1
            reset_seed = int(jax.random.randint(k_copy, (), 0, 2**31 - 1))
            ref_obs, _ = ref.reset(seed=reset_seed)
            np.testing.assert_array_equal(obs, ref_obs)
    assert episodes >= 3 and state == episodes
    with pytest.raises(ValueError, match="action"):
        adapter.step(jax.random.key(9), state, 2)
    res = adapter.evaluate(jax.random.key(3), jax.jit(lambda k, o: jnp.asarray(o[2] > 0,
                                                                             jnp.int32)),
                           n_episodes=2, max_steps=500)
    assert res.returns.shape == (2,) and np.all(res.completed) and res.mean_return > 9
    adapter.close()


def test_gymnasium_adapter_frozen_lake_spaces():
    adapter = GymnasiumAdapter("FrozenLake-v1", is_slippery=False)
    assert adapter.observation_space() == Discrete(16)
    assert adapter.action_space() == Discrete(4)
    obs, state = adapter.reset(jax.random.key(0))
    assert int(obs) == 0
    obs, state, r, term, trunc, info = adapter.step(jax.random.key(1), state, 2)  # right
    assert int(obs) == 1 and r == 0.0 and not term
    with pytest.raises(ValueError, match="env"):
        GymnasiumAdapter(object())
