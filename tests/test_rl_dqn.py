"""DQN: the shared replay ring buffer, ε schedule, double-DQN target, bootstrapping at
truncation, bad config, the full CartPole floor (slow). The contract checks and the
default-tier floor are in tests/test_conformance_agents.py."""

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxphys.rl as rl
from jaxphys.core import Model
from jaxphys.rl._dqn import DQNConfig, dqn_target, dqn_td_targets, epsilon_schedule, make_dqn
from jaxphys.rl._replay import replay_add, replay_add_batch, replay_init, replay_sample
from jaxphys.rl.envs import CartPole, IsingChain, Pendulum

from conformance.agents import Timer, greedy_returns


def test_replay_ring_buffer_matches_deque():
    buf = replay_init({"x": jnp.zeros(2), "a": jnp.asarray(0, jnp.int32)}, capacity=5)
    ref = collections.deque(maxlen=5)
    counter = 0
    for n in (1, 3, 2, 7, 1):
        xs = np.arange(counter, counter + n, dtype=np.float32)
        counter += n
        buf = replay_add_batch(buf, {"x": np.stack([xs, -xs], 1), "a": xs.astype(np.int32)})
        ref.extend(xs.tolist())
        assert int(buf.size) == len(ref)
        stored = sorted(np.asarray(buf.data["x"][: int(buf.size), 0]).tolist())
        assert stored == sorted(ref)
    buf = replay_add(buf, {"x": jnp.array([99.0, -99.0]), "a": jnp.asarray(99)})
    ref.append(99.0)
    assert sorted(np.asarray(buf.data["x"][:, 0]).tolist()) == sorted(ref)
    sample = replay_sample(jax.random.key(0), buf, 256)
    assert set(np.asarray(sample["x"][:, 0]).tolist()) <= set(ref)
    np.testing.assert_array_equal(sample["x"][:, 1], -sample["x"][:, 0])   # rows stay together
    np.testing.assert_array_equal(sample["a"], sample["x"][:, 0].astype(np.int32))


def test_replay_samples_only_filled_part():
    buf = replay_init(jnp.zeros(()), capacity=100)
    buf = replay_add_batch(buf, jnp.arange(1.0, 4.0))
    sample = replay_sample(jax.random.key(1), buf, 500)
    assert set(np.asarray(sample).tolist()) == {1.0, 2.0, 3.0}


def test_epsilon_schedule_is_linear_then_flat():
    eps = [float(epsilon_schedule(jnp.float32(t), 1000, 1.0, 0.1, 0.5)) for t in (0, 250, 500, 900)]
    np.testing.assert_allclose(eps, [1.0, 0.55, 0.1, 0.1], atol=1e-6)


def test_double_dqn_target_against_numpy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        qo, qt = rng.normal(size=4), rng.normal(size=4)
        r, d, g = float(rng.normal()), float(rng.integers(2)), 0.9
        ref_double = r + g * (1 - d) * qt[np.argmax(qo)]
        ref_plain = r + g * (1 - d) * qt.max()
        got_double = float(dqn_target(r, d, jnp.asarray(qo), jnp.asarray(qt), g))
        got_plain = float(dqn_target(r, d, jnp.asarray(qo), jnp.asarray(qt), g, double=False))
        assert got_double == pytest.approx(ref_double, abs=1e-5)
        assert got_plain == pytest.approx(ref_plain, abs=1e-5)


def test_dqn_stores_final_observation_and_bootstraps_at_truncation():
    """On an environment whose episodes end after three steps, terminated or truncated, the
    buffer keeps the observation the last action led to (not the reset one) and the
    termination flag only; the TD target then bootstraps from Q̄(s') at a truncation and
    not at a termination."""
    env = Timer()
    q_model = Model(lambda k, o: {"w": jnp.asarray([1.0, 2.0])}, lambda p, o: p["w"] * o[0])
    agent = make_dqn(env, None, DQNConfig(total_timesteps=16, n_envs=1, buffer_size=16,
                                          batch_size=2, learning_starts=15), network=q_model)
    state, _ = agent.train_from(jax.random.key(1), agent.init(jax.random.key(0)), 12)
    stored = jax.tree.map(lambda x: x[:12], state.buffer.data)
    obs, next_obs = np.asarray(stored.obs), np.asarray(stored.next_obs)
    ends = next_obs[:, 0] == 3.0
    np.testing.assert_array_equal(next_obs[:, 0], obs[:, 0] + 1)
    np.testing.assert_array_equal(np.asarray(stored.terminated), ends & (obs[:, 1] == 1.0))
    assert set(obs[ends, 1].tolist()) == {0.0, 1.0}
    targets = dqn_td_targets(q_model, state.q.params, state.target_params, stored, 0.9)
    # Q(s') = [t', 2t'] for both networks (frozen: learning never started): max 2t'
    expected = 1 + 0.9 * 2 * next_obs[:, 0] * ~(ends & (obs[:, 1] == 1.0))
    np.testing.assert_allclose(targets, expected, rtol=1e-6)


def test_bad_config():
    env = IsingChain(4)
    with pytest.raises(ValueError, match="config.loss"):
        make_dqn(env, None, DQNConfig(loss="l3"))
    with pytest.raises(ValueError, match="config.n_envs"):
        make_dqn(env, None, DQNConfig(n_envs=0))
    with pytest.raises(ValueError, match="config.learning_starts"):
        make_dqn(env, None, DQNConfig(total_timesteps=1000, learning_starts=1000))
    with pytest.raises(ValueError, match="env"):
        make_dqn(Pendulum(), None, DQNConfig())
    with pytest.raises(TypeError, match="config"):
        make_dqn(env, None, rl.PPOConfig())


@pytest.mark.slow
@pytest.mark.xla_default_level     # the floor holds at the level users compile with
@pytest.mark.no_key_reuse_check
def test_dqn_solves_cartpole_on_3_of_4_seeds():
    """Done-when: ≥ 475 mean evaluation return within 5e5 steps on ≥ 3 of 4 seeds.

    CleanRL's CartPole settings (the DQNConfig defaults: 10 envs, one gradient step of
    128 per 10 env steps, buffer 1e4, target copy every 500 steps, ε 1 → 0.05 over half
    the run) with the learning rate decayed linearly to 0 from a peak of 1e-3 (mean 5e-4)
    instead of CleanRL's constant 2.5e-4 (decayed, a mean of 1.25e-4): at 2.5e-4 a
    quarter of the seeds end unsolved, and which ones hung on the compiler's rounding (the
    test passed at level 0 and failed at the default level, docs/development.md).
    The seeds train one by one with one compiled single-seed program (jaxlib 0.10.2's CPU
    runtime has waited forever on long vmapped agent runs, docs/development.md).

    Measured outside pytest (default level, one Eigen thread, `taskset -c 1`, one
    compiled `jax.jit(agent.train)` per setting, seeds one by one, greedy returns as
    here; "keys k, k+1" = `split(key(k), 4)` then `split(key(k + 1), 4)`, the test's
    four first for k = 0):
      peak lr 2.5e-4 (before): keys 0, 1: 500, 500, 262.6, 245.1 | 479.2, 497.5, 500,
        475.4; keys 2, 3: 500, 403.5, 500, 500 | 500, 235.0, 500, 500 (12 of 16)
      peak lr 1e-3 (here): keys 0, 1: 500 x 8; keys 2, 3: 500, 483.2, 500, 500 | 500,
        291.2, 475.6, 500; keys 4, 5: 448.8, 500 x 7 (22 of 24)
      also tried: lr 5e-4, keys 2, 3: 7 of 8 (452.8); ε over 20 % of the run, keys 0, 1:
        7 of 8 (341.7); lr 1e-3 with ε over 20 %: keys 0, 1 8 of 8, keys 2, 3 3 of 8
        (late collapses); buffer 5e4: 0 of 8 (best 464.6); Huber loss: 0 of 8 (~9).
    This test at the default level (pytest, `taskset -c 1`): 500, 500, 500, 500 in 81 s.
    """
    env = CartPole()
    agent = make_dqn(env, None, DQNConfig(total_timesteps=500_000, lr_decay=True))
    hparams = agent.default_hparams._replace(learning_rate=1e-3)
    train = jax.jit(agent.train)                # one compile, four executions
    params = [train(key, hparams).state.params
              for key in jax.random.split(jax.random.key(0), 4)]
    returns = greedy_returns(agent, env, jax.tree.map(lambda *p: jnp.stack(p), *params),
                             4, 500)
    print(f"DQN CartPole returns {returns}")
    assert np.sum(returns >= 475.0) >= 3, returns
