"""DQN: replay ring buffer, ε schedule, double-DQN target, vmapped seeds, CartPole."""

import collections
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl._dqn import (DQNConfig, DQNHyperparams, dqn_target, epsilon_schedule,
                             dqn_greedy_policy, make_train)
from jaxphys.rl._evaluate import evaluate
from jaxphys.rl._replay import replay_add, replay_add_batch, replay_init, replay_sample
from jaxphys.rl.envs._ising_chain import IsingChain


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


def _small(total=512, **kw):
    base = dict(total_timesteps=total, n_envs=4, buffer_size=256, batch_size=16,
                learning_starts=64, target_update_interval=64, hidden=(16,))
    base.update(kw)
    return DQNConfig(**base)


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


@pytest.mark.no_key_reuse_check
def test_vmapped_train_equals_per_seed_seeds_differ_and_lr_is_traced():
    env = IsingChain(4)
    cfg = _small()
    train = jax.jit(make_train(env, env.default_params(), cfg))
    hp = DQNHyperparams.from_config(cfg)
    k0, k1 = jax.random.split(jax.random.key(0))
    runs = [train(k0, hp), train(k1, hp), train(k0, hp._replace(learning_rate=jnp.float32(0.0)))]
    assert train._cache_size() == 1                  # a new learning rate does not recompile
    # one vmapped call over (seed, learning rate) pairs equals the three separate runs
    lr_axes = DQNHyperparams(0, None, None, None, None, None)
    keys = jnp.stack([jax.random.key_data(k) for k in (k0, k1, k0)])
    lrs = jnp.array([cfg.learning_rate, cfg.learning_rate, 0.0], jnp.float32)
    batched = jax.jit(jax.vmap(lambda kd, h: train(jax.random.wrap_key_data(kd), h),
                               in_axes=(0, lr_axes)))(keys, hp._replace(learning_rate=lrs))
    for i, single in enumerate(runs):
        for a, b in zip(jax.tree.leaves(single.params), jax.tree.leaves(batched.params)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b[i]), rtol=2e-4, atol=2e-5)
        np.testing.assert_array_equal(single.metrics["episodes_done"],
                                      batched.metrics["episodes_done"][i])
    w = [np.asarray(jax.tree.leaves(r.params)[0]) for r in runs]
    assert not np.allclose(w[0], w[1])                # seeds differ
    assert not np.allclose(w[0], w[2])                # the learning rate matters
    assert batched.metrics["loss"].shape == (3, cfg.total_timesteps // cfg.n_envs)
    assert float(batched.metrics["loss"][:, -1].min()) > 0.0      # updates ran


def test_bad_config():
    env = IsingChain(4)
    with pytest.raises(ValueError, match="loss"):
        make_train(env, None, _small(loss="l3"))
    with pytest.raises(ValueError, match="n_envs"):
        make_train(env, None, _small(n_envs=0))


def _cartpole_config(total):
    return DQNConfig(total_timesteps=total, n_envs=10, buffer_size=10_000, batch_size=128,
                     learning_starts=10_000, train_interval=1, target_update_interval=500,
                     hidden=(120, 84), learning_rate=2.5e-4, gamma=0.99, eps_end=0.05,
                     eps_fraction=0.5, lr_decay=True)


def _cartpole_returns(total, n_seeds):
    from jaxphys.rl.envs._cartpole import CartPole

    env = CartPole()
    params = env.default_params()
    train = make_train(env, params, _cartpole_config(total))

    def run(key):
        train_key, eval_key = jax.random.split(key)
        out = train(train_key)
        policy = dqn_greedy_policy(train.network, out.params)
        return evaluate(eval_key, env, params, policy, n_episodes=16, max_steps=500).mean_return

    keys = jax.random.split(jax.random.key(0), n_seeds)
    return np.asarray(jax.jit(jax.vmap(run))(keys))


@pytest.mark.no_key_reuse_check
def test_dqn_cartpole_improves_quickly():
    """Always-run: 6e4 steps, 1 seed, ≥ 4× the random policy's ~22 return."""
    returns = _cartpole_returns(60_000, 1)
    assert returns[0] >= 90.0, returns


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_dqn_solves_cartpole_on_3_of_4_seeds():
    """Done-when: ≥ 475 mean evaluation return within 5e5 steps on ≥ 3 of 4 seeds."""
    t0 = time.perf_counter()
    returns = _cartpole_returns(500_000, 4)
    print(f"DQN CartPole returns {returns}, {time.perf_counter() - t0:.0f} s")
    assert np.sum(returns >= 475.0) >= 3, returns
