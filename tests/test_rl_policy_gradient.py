"""REINFORCE, A2C, PPO, TRPO (CartPole) and SAC (Pendulum).

Reference points are independent of the code under test: a uniformly random
policy's evaluated return, Python-loop GAE / returns-to-go, numpy linear solves,
distrax's tanh-transformed Gaussian, a Python list ring buffer.
"""

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl import _a2c, _ppo, _reinforce, _sac, _trpo
from jaxphys.rl._evaluate import evaluate
from jaxphys.rl._policy_gradient import gae
from jaxphys.rl.envs._cartpole import CartPole
from jaxphys.rl.envs._pendulum import Pendulum

CARTPOLE = CartPole()
PENDULUM = Pendulum()


def _eval_returns(train, env, params, n_seeds, n_episodes=16, max_steps=500):
    keys = jax.random.split(jax.random.key(123), n_seeds)
    ev = jax.jit(jax.vmap(lambda k, p: evaluate(k, env, None, train.policy(p),
                                                n_episodes=n_episodes,
                                                max_steps=max_steps).mean_return))
    return np.asarray(ev(keys, params))


@pytest.fixture(scope="module")
def random_cartpole_return():
    env = CARTPOLE
    res = jax.jit(lambda k: evaluate(k, env, None, lambda kk, o: env.action_space(None).sample(kk),
                                     n_episodes=200, max_steps=500))(jax.random.key(7))
    return float(res.mean_return)


# ------------------------------------------------------------------ pieces vs references
def test_gae_matches_python_loop():
    rng = np.random.default_rng(0)
    T, N = 7, 3
    r, v, nv = (rng.normal(size=(T, N)).astype(np.float32) for _ in range(3))
    term = rng.random((T, N)) < 0.2
    done = term | (rng.random((T, N)) < 0.2)
    gamma, lam = 0.9, 0.8
    adv, target = gae(jnp.asarray(r), jnp.asarray(v), jnp.asarray(nv), jnp.asarray(term),
                      jnp.asarray(done), gamma, lam)
    ref = np.zeros((T, N))
    for n in range(N):
        a = 0.0
        for t in reversed(range(T)):
            delta = r[t, n] + gamma * (0.0 if term[t, n] else nv[t, n]) - v[t, n]
            a = delta + gamma * lam * (0.0 if done[t, n] else a)
            ref[t, n] = a
    np.testing.assert_allclose(adv, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(target, ref + v, rtol=1e-5, atol=1e-5)


def test_returns_to_go_matches_python_loop():
    rng = np.random.default_rng(1)
    r = rng.normal(size=12).astype(np.float32)
    done = np.zeros(12, bool)
    done[[3, 8]] = True
    g, valid = _reinforce.returns_to_go(jnp.asarray(r), jnp.asarray(done), 0.9)
    ref = np.zeros(12)
    for start, end in ((0, 3), (4, 8)):
        for t in range(start, end + 1):
            ref[t] = sum(0.9 ** (k - t) * r[k] for k in range(t, end + 1))
    np.testing.assert_allclose(g, ref, rtol=1e-5, atol=1e-6)
    assert valid.tolist() == [True] * 9 + [False] * 3


def test_conjugate_gradient_matches_solve():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(6, 6))
    a = m @ m.T + 6 * np.eye(6)
    b = rng.normal(size=6)
    x = _trpo.conjugate_gradient(lambda v: jnp.asarray(a, jnp.float32) @ v,
                                 jnp.asarray(b, jnp.float32), 6)
    np.testing.assert_allclose(x, np.linalg.solve(a, b), rtol=1e-3, atol=1e-4)


def test_tanh_gaussian_log_prob_matches_distrax():
    key = jax.random.key(3)
    mean = jnp.array([[0.3, -1.0], [2.0, 0.1]])
    log_std = jnp.array([[-0.5, 0.2], [0.0, -1.0]])
    a, logp = _sac.tanh_gaussian_sample(key, mean, log_std)
    ref = distrax.Transformed(distrax.MultivariateNormalDiag(mean, jnp.exp(log_std)),
                              distrax.Block(distrax.Tanh(), 1))
    np.testing.assert_allclose(logp, ref.log_prob(a), rtol=1e-3, atol=1e-3)
    assert np.all(np.abs(a) < 1)


def test_replay_buffer_ring_matches_list():
    buf = _sac.buffer_init(5, (2,), (1,))
    add = jax.jit(_sac.buffer_add)
    ref = []
    for i in range(4):
        n = 2
        x = np.arange(n * 2, dtype=np.float32).reshape(n, 2) + 10 * i
        rew = np.arange(n, dtype=np.float32) + 10 * i
        buf = add(buf, x, x[:, :1], rew, x + 1, rew > 10 * i)
        ref.extend(np.asarray(rew).tolist())
    # the ring holds the last 5 rewards, at slots (k mod 5)
    expected = [None] * 5
    for k, r in enumerate(ref):
        expected[k % 5] = r
    assert np.asarray(buf.reward).tolist() == expected
    assert int(buf.size) == 5 and int(buf.position) == len(ref) % 5
    batch = jax.jit(_sac.buffer_sample, static_argnums=2)(jax.random.key(0), buf, 64)
    assert set(np.asarray(batch.reward).tolist()) <= set(ref[-5:])
    np.testing.assert_allclose(batch.next_obs, batch.obs + 1)
    with pytest.raises(ValueError, match="reward"):
        _sac.buffer_add(buf, jnp.zeros((6, 2)), jnp.zeros((6, 1)), jnp.zeros(6), jnp.zeros((6, 2)),
                        jnp.zeros(6, bool))


def test_bad_configs_raise():
    with pytest.raises(ValueError, match="n_minibatches"):
        _ppo.make_train(CARTPOLE, None, _ppo.PPOConfig(n_envs=3, n_steps=5, n_minibatches=4))
    with pytest.raises(ValueError, match="learning_rate"):
        _ppo.make_train(CARTPOLE, None, _ppo.PPOConfig(learning_rate=-1.0))
    with pytest.raises(ValueError, match="gamma"):
        _a2c.make_train(CARTPOLE, None, _a2c.A2CConfig(gamma=1.5))
    with pytest.raises(ValueError, match="max_kl"):
        _trpo.make_train(CARTPOLE, None, _trpo.TRPOConfig(max_kl=0.0))
    with pytest.raises(ValueError, match="total_timesteps"):
        _reinforce.make_train(CARTPOLE, None, _reinforce.ReinforceConfig(total_timesteps=10))
    with pytest.raises(ValueError, match="env"):
        _sac.make_train(CARTPOLE, None, _sac.SACConfig())
    with pytest.raises(TypeError, match="config"):
        _ppo.make_train(CARTPOLE, None, _a2c.A2CConfig())


# ------------------------------------------------------------------ keys
@pytest.mark.parametrize("module, config, env", [
    (_ppo, _ppo.PPOConfig(total_timesteps=64, n_envs=2, n_steps=16, n_epochs=1, n_minibatches=2,
                          hidden=(8,)), CARTPOLE),
    (_sac, _sac.SACConfig(total_timesteps=8, learning_starts=4, batch_size=4, buffer_size=8,
                          hidden=(8,)), PENDULUM),
], ids=["ppo", "sac"])
def test_no_key_reuse_in_train(module, config, env):
    # runs with jax_debug_key_reuse on: no key inside train is consumed twice. PPO covers the
    # shared rollout/update pattern of REINFORCE, A2C and TRPO (the checker triples tracing time)
    res = jax.jit(module.make_train(env, None, config))(jax.random.key(0))
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(res.params))


# ------------------------------------------------------------------ PPO
TINY_PPO = _ppo.PPOConfig(total_timesteps=1024, n_envs=4, n_steps=32, n_epochs=2,
                          n_minibatches=2, hidden=(16,))


@pytest.mark.no_key_reuse_check   # keys inside train are checked in test_no_key_reuse_in_train
def test_ppo_vmap_equals_per_seed_and_seeds_differ_no_recompile():
    train = _ppo.make_train(CARTPOLE, None, TINY_PPO)
    n_traces = []

    def counted(key):
        n_traces.append(1)
        return train(key)

    single = jax.jit(counted)
    # the same key values built three times (the key-reuse checker tracks arrays, not values)
    per_seed = [single(jax.random.split(jax.random.key(0), 2)[i]) for i in range(2)]
    batched = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 2))
    assert len(n_traces) == 1  # the second call did not retrace
    for i, res in enumerate(per_seed):
        for a, b in zip(jax.tree.leaves(res.params), jax.tree.leaves(batched.params)):
            np.testing.assert_allclose(a, b[i], rtol=1e-4, atol=1e-5)
    leaves = jax.tree.leaves(batched.params)
    assert not np.allclose(leaves[0][0], leaves[0][1])


@pytest.mark.no_key_reuse_check
def test_ppo_learning_rate_sweep_vmaps():
    cfg = TINY_PPO._replace(total_timesteps=512)

    def run(key, lr):
        return _ppo.make_train(CARTPOLE, None, cfg._replace(learning_rate=lr))(key).params

    keys = jax.random.split(jax.random.key(1), 3)
    lrs = jnp.array([0.0001, 0.001, 0.01])
    params = jax.jit(jax.vmap(run, in_axes=(None, 0)))(keys[0], lrs)
    init = _ppo.make_train(CARTPOLE, None, cfg).network.init(jax.random.split(keys[0], 3)[0])
    # the parameter change grows with the learning rate (same key, same data at step 1)
    moved = [float(sum(jnp.sum(jnp.abs(a[i] - b)) for a, b in
                       zip(jax.tree.leaves(params), jax.tree.leaves(init)))) for i in range(3)]
    assert moved[0] < moved[1] < moved[2]


@pytest.mark.no_key_reuse_check
def test_ppo_learns_cartpole_small(random_cartpole_return):
    cfg = _ppo.PPOConfig(total_timesteps=40_960, n_envs=8, n_steps=128)
    train = _ppo.make_train(CARTPOLE, None, cfg)
    res = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 2))
    ret = _eval_returns(train, CARTPOLE, res.params, 2)
    assert np.all(ret > 4 * random_cartpole_return), ret
    curve = np.asarray(res.metrics["episode_return"])
    assert np.all(curve[:, -1] > 2 * curve[:, 0])


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_ppo_solves_cartpole_4_seeds():
    train = _ppo.make_train(CARTPOLE, None, _ppo.PPOConfig(total_timesteps=500_000))
    res = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 4))
    assert int(res.metrics["env_steps"][0, -1]) <= 500_000
    ret = _eval_returns(train, CARTPOLE, res.params, 4, n_episodes=32)
    assert np.all(ret >= 475), ret


# ------------------------------------------------------------------ REINFORCE, A2C, TRPO
@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("module, config", [
    (_reinforce, _reinforce.ReinforceConfig(total_timesteps=100_000)),
    (_a2c, _a2c.A2CConfig(total_timesteps=60_000)),
    (_trpo, _trpo.TRPOConfig(total_timesteps=40_960)),
], ids=["reinforce", "a2c", "trpo"])
def test_improves_4x_over_random(module, config, random_cartpole_return):
    train = module.make_train(CARTPOLE, None, config)
    res = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 2))
    ret = _eval_returns(train, CARTPOLE, res.params, 2)
    assert np.all(ret >= 4 * random_cartpole_return), (ret, random_cartpole_return)
    keys_params = jax.tree.leaves(res.params)
    assert not np.allclose(keys_params[0][0], keys_params[0][1])  # seeds differ
    if module is _trpo:   # every accepted step respects the trust region and improves L
        m = res.metrics
        assert np.all(np.asarray(m["kl"]) <= config.max_kl + 1e-6)
        assert np.all(np.asarray(m["improvement"]) >= 0)
        assert np.mean(np.asarray(m["step_fraction"]) > 0) > 0.5


# ------------------------------------------------------------------ SAC
@pytest.mark.slow   # 40 s; the same vmap-equals-per-seed check runs on PPO in the default suite
@pytest.mark.no_key_reuse_check   # keys inside train are checked in test_no_key_reuse_in_train
def test_sac_vmap_equals_per_seed():
    cfg = _sac.SACConfig(total_timesteps=96, learning_starts=32, batch_size=16, hidden=(16,),
                         buffer_size=64)
    train = _sac.make_train(PENDULUM, None, cfg)
    # the same key values built twice (the key-reuse checker tracks arrays, not values)
    single = jax.jit(train)(jax.random.split(jax.random.key(4), 2)[1])
    batched = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(4), 2))
    for a, b in zip(jax.tree.leaves(single.params), jax.tree.leaves(batched.params)):
        np.testing.assert_allclose(a, b[1], rtol=1e-4, atol=1e-5)
    a0, a1 = (jax.tree.leaves(batched.params.actor)[0][i] for i in range(2))
    assert not np.allclose(a0, a1)
    assert np.all(np.isfinite(np.asarray(batched.metrics["critic_loss"])))


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_sac_solves_pendulum():
    train = _sac.make_train(PENDULUM, None, _sac.SACConfig())
    res = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 2))
    ret = _eval_returns(train, PENDULUM, res.params, 2, n_episodes=16, max_steps=200)
    assert np.all(ret >= -200), ret


# ------------------------------------------------------------------ tour chapter
@pytest.mark.slow   # tests/test_tour.py runs every registered chapter in quick mode already
@pytest.mark.no_key_reuse_check
def test_tour_chapter_13_quick(tmp_path):
    from jaxphys.tour._ch13_ppo import CHAPTER

    res = CHAPTER.run(jax.random.key(13), tmp_path, quick=True)
    assert res.metrics["eval_return_mean"] > 4 * res.metrics["random_policy_return"]
    assert all(p.exists() for p in res.figures)
