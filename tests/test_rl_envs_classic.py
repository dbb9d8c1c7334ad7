"""CartPole, Pendulum, Acrobot and the mountain cars against gymnasium, step by step."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl.envs import Acrobot, MountainCar, MountainCarContinuous
from jaxphys.rl.envs._cartpole import CartPole
from jaxphys.rl.envs._pendulum import Pendulum


def _cartpole_state(st):
    return np.array([st.x, st.x_dot, st.theta, st.theta_dot], np.float64)


def _pendulum_state(st):
    return np.array([st.theta, st.theta_dot], np.float64)


def _rollout(env, key, actions):
    """Our env over a fixed action sequence in one jitted scan: per-step outputs."""
    params = env.default_params()

    @jax.jit
    def run(key, actions):
        key_reset, key_run = jax.random.split(key)
        obs, state = env.reset(key_reset, params)

        def body(carry, action):
            state, k = carry
            k, k_step = jax.random.split(k)
            obs, new, reward, term, trunc, info = env.step(k_step, state, action, params)
            return (new, k), (info["final_obs"], obs, new, reward, term, trunc)

        return state, jax.lax.scan(body, (state, key_run), actions)[1]

    return jax.tree.map(np.asarray, run(key, actions))


def _compare(env, genv_id, to_gym_state, actions, resync, seed):
    """Run our env and gymnasium's side by side; gymnasium's state is set to ours at each reset
    (and after every step when ``resync``: a pure one-step comparison in float32)."""
    state0, (final_obs, obs, states, rewards, terms, truncs) = _rollout(
        env, jax.random.key(seed), jnp.asarray(actions))
    genv = gym.make(genv_id)
    genv.reset(seed=seed)
    genv.unwrapped.state = to_gym_state(state0)
    n_done = n_term = n_trunc = 0
    for t, action in enumerate(actions):
        g_obs, g_reward, g_term, g_trunc, _ = genv.step(np.asarray(action))
        np.testing.assert_allclose(final_obs[t], g_obs, atol=1e-5, rtol=0)
        np.testing.assert_allclose(rewards[t], g_reward, atol=1e-5, rtol=1e-6)
        assert bool(terms[t]) == g_term and bool(truncs[t]) == g_trunc
        state_t = jax.tree.map(lambda x: x[t], states)
        if g_term or g_trunc:
            n_done += 1
            n_term += g_term
            n_trunc += g_trunc
            genv.reset()
            assert int(state_t.time) == 0  # auto-reset
        if g_term or g_trunc or resync:
            genv.unwrapped.state = to_gym_state(state_t)
    return n_done, n_term, n_trunc


def _cartpole_actions(seed, n):
    return np.random.default_rng(seed).integers(0, 2, n).astype(np.int32)


def _pendulum_actions(seed, n):
    return np.random.default_rng(seed).uniform(-2, 2, (n, 1)).astype(np.float32)


def test_cartpole_matches_gymnasium_x64(x64):
    # float64 end to end: whole episodes without resynchronising
    n_done, n_term, _ = _compare(CartPole(), "CartPole-v1", _cartpole_state,
                                 _cartpole_actions(0, 400), False, 0)
    assert n_term >= 10


def test_cartpole_matches_gymnasium_float32():
    _, n_term, _ = _compare(CartPole(), "CartPole-v1", _cartpole_state,
                            _cartpole_actions(1, 200), True, 1)
    assert n_term >= 5


def test_cartpole_truncates_at_500(x64):
    # a balancing controller survives to the 500-step limit in both implementations
    env = CartPole()
    params = env.default_params()

    @jax.jit
    def run(key):
        key_reset, key_run = jax.random.split(key)
        _, state = env.reset(key_reset, params)

        def body(carry, _):
            state, k = carry
            k, k_step = jax.random.split(k)
            action = (state.theta + 0.5 * state.theta_dot + 0.01 * state.x + 0.1 * state.x_dot
                      > 0).astype(jnp.int32)
            _, new, _, term, trunc, _ = env.step(k_step, state, action, params)
            return (new, k), (action, term, trunc, new)

        return state, jax.lax.scan(body, (state, key_run), None, length=500)[1]

    state0, (actions, terms, truncs, states) = jax.tree.map(np.asarray, run(jax.random.key(3)))
    genv = gym.make("CartPole-v1")
    genv.reset(seed=3)
    genv.unwrapped.state = _cartpole_state(state0)
    for t in range(500):
        _, _, g_term, g_trunc, _ = genv.step(int(actions[t]))
        assert bool(terms[t]) == g_term and bool(truncs[t]) == g_trunc
        # closed loop: the upright pole is unstable, so resynchronise (open-loop replay of
        # the actions would amplify last-bit rounding differences over 500 steps)
        genv.unwrapped.state = _cartpole_state(jax.tree.map(lambda x: x[t], states))
    assert not np.any(terms) and np.flatnonzero(truncs).tolist() == [499]


def test_pendulum_matches_gymnasium_x64(x64):
    n_done, _, n_trunc = _compare(Pendulum(), "Pendulum-v1", _pendulum_state,
                                  _pendulum_actions(0, 450), False, 0)
    assert n_trunc == 2 and n_done == 2


def test_pendulum_matches_gymnasium_float32():
    n_done, _, n_trunc = _compare(Pendulum(), "Pendulum-v1", _pendulum_state,
                                  _pendulum_actions(1, 250), True, 1)
    assert n_trunc == 1


def test_bad_actions_raise():
    cp, pe = CartPole(), Pendulum()
    key_a, key_b, key_c = jax.random.split(jax.random.key(0), 3)
    _, cs = cp.reset(key_a, cp.default_params())
    for bad in (2, -1, 0.5, jnp.array([0, 1])):
        with pytest.raises(ValueError, match="action"):
            cp.step(key_b, cs, bad, cp.default_params())
    _, ps = pe.reset(key_c, pe.default_params())
    for bad in (jnp.array([2.5]), jnp.array([np.nan]), jnp.array(1.0), jnp.array([0.1, 0.2])):
        with pytest.raises(ValueError, match="action"):
            pe.step(key_b, ps, bad, pe.default_params())
    with pytest.raises(ValueError, match="max_steps"):
        CartPole(max_steps=0)


def test_traced_actions_are_clipped():
    pe = Pendulum()
    params = pe.default_params()
    key_a, key_b = jax.random.split(jax.random.key(0))
    _, state = pe.reset(key_a, params)
    step = jax.jit(pe.step)
    key_b1, key_b2 = jax.random.split(key_b)
    r_big = step(key_b1, state, jnp.array([10.0]), params)[2]
    r_max = step(key_b2, state, jnp.array([2.0]), params)[2]
    np.testing.assert_allclose(r_big, r_max)


@pytest.mark.parametrize("env", [CartPole(), Pendulum()], ids=["cartpole", "pendulum"])
def test_jit_no_recompile_and_vmap(env):
    params = env.default_params()
    n_compiles = []

    @jax.jit
    def rollout(key):
        n_compiles.append(1)
        key_reset, key_run = jax.random.split(key)
        keys_reset = jax.random.split(key_reset, 8)
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys_reset, params)

        def body(carry, _):
            state, k = carry
            k, k_act, k_step = jax.random.split(k, 3)
            actions = jax.vmap(env.action_space(params).sample)(jax.random.split(k_act, 8))
            obs, state, reward, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
                jax.random.split(k_step, 8), state, actions, params)
            return (state, k), reward

        _, rewards = jax.lax.scan(body, (state, key_run), None, length=50)
        return rewards

    key_a, key_b = jax.random.split(jax.random.key(0))
    r1 = rollout(key_a)
    r2 = rollout(key_b)
    assert len(n_compiles) == 1
    assert r1.shape == (50, 8)
    assert not np.allclose(r1, r2) or isinstance(env, CartPole)


def test_params_are_vmappable():
    # a heavier pole under vmap over params gives different dynamics from the default
    env = CartPole()
    params = env.default_params()
    batch = jax.tree.map(lambda x: jnp.stack([x, x]), params)
    batch = batch._replace(masspole=jnp.array([0.1, 1.0]))
    key_reset, key_step, key_single = jax.random.split(jax.random.key(0), 3)
    _, state = env.reset(key_reset, params)
    out = jax.jit(jax.vmap(lambda p: env.step(key_step, state, jnp.asarray(1), p)[0]))(batch)
    assert out.shape == (2, 4)
    assert not np.allclose(out[0], out[1])
    single = jax.jit(env.step)(key_single, state, jnp.asarray(1), params)[0]
    np.testing.assert_allclose(out[0], single, rtol=1e-6)


# ------------------------------------------------------------------ Acrobot, MountainCar
def _acrobot_state(st):
    return np.array([st.theta_1, st.theta_2, st.theta_dot_1, st.theta_dot_2], np.float64)


def _car_state(st):
    return np.array([st.position, st.velocity], np.float64)


def _closed_loop(env, genv_id, to_gym_state, controller, n_steps, resync, seed):
    """Our env and gymnasium's driven by the same state-feedback ``controller(state) ->
    action`` (an energy-pumping rule that reaches the goal); gymnasium's state is set to
    ours at each reset, and after every step when ``resync`` (float32)."""
    params = env.default_params()

    @jax.jit
    def run(key):
        key_reset, key_run = jax.random.split(key)
        _, state = env.reset(key_reset, params)

        def body(carry, _):
            state, k = carry
            k, k_step = jax.random.split(k)
            action = controller(state)
            obs, new, reward, term, trunc, info = env.step(k_step, state, action, params)
            return (new, k), (action, info["final_obs"], new, reward, term, trunc)

        return state, jax.lax.scan(body, (state, key_run), None, length=n_steps)[1]

    state0, (actions, final_obs, states, rewards, terms, truncs) = jax.tree.map(
        np.asarray, run(jax.random.key(seed)))
    genv = gym.make(genv_id)
    genv.reset(seed=seed)
    genv.unwrapped.state = to_gym_state(state0)
    n_term = n_trunc = 0
    for t in range(n_steps):
        g_obs, g_reward, g_term, g_trunc, _ = genv.step(actions[t])
        np.testing.assert_allclose(final_obs[t], g_obs, atol=1e-5, rtol=0)
        np.testing.assert_allclose(rewards[t], g_reward, atol=1e-5, rtol=1e-6)
        assert bool(terms[t]) == g_term and bool(truncs[t]) == g_trunc, t
        state_t = jax.tree.map(lambda x: x[t], states)
        if g_term or g_trunc:
            n_term += g_term
            n_trunc += g_trunc
            genv.reset()
            assert int(state_t.time) == 0
        if g_term or g_trunc or resync:
            genv.unwrapped.state = to_gym_state(state_t)
    return n_term, n_trunc


def _acrobot_pump(state):        # torque along the elbow's velocity
    return jnp.where(state.theta_dot_2 > 0, 2, 0).astype(jnp.int32)


def _car_pump(state):            # push along the velocity
    return jnp.where(state.velocity >= 0, 2, 0).astype(jnp.int32)


def _car_pump_continuous(state):
    return jnp.where(state.velocity >= 0, 1.0, -1.0)[None].astype(jnp.float32)


@pytest.mark.parametrize("env, genv_id, to_state, controller, n_steps", [
    (Acrobot(), "Acrobot-v1", _acrobot_state, _acrobot_pump, 600),
    (MountainCar(), "MountainCar-v0", _car_state, _car_pump, 600),
    (MountainCarContinuous(), "MountainCarContinuous-v0", _car_state, _car_pump_continuous,
     600),
], ids=["acrobot", "mountain_car", "mountain_car_continuous"])
def test_classic_envs_match_gymnasium_x64(x64, env, genv_id, to_state, controller, n_steps):
    # float64 end to end: whole episodes without resynchronising, terminations included
    n_term, _ = _closed_loop(env, genv_id, to_state, controller, n_steps, False, 0)
    assert n_term >= 3


@pytest.mark.parametrize("env, genv_id, to_state", [
    (Acrobot(), "Acrobot-v1", _acrobot_state),
    (MountainCar(), "MountainCar-v0", _car_state),
    (MountainCarContinuous(), "MountainCarContinuous-v0", _car_state),
], ids=["acrobot", "mountain_car", "mountain_car_continuous"])
def test_classic_envs_match_gymnasium_float32_random_actions(env, genv_id, to_state):
    space = env.action_space(env.default_params())
    rng = np.random.default_rng(4)
    n = env.max_steps + 50
    if isinstance(space, type(MountainCar().action_space(None))):
        actions = rng.integers(0, space.n, n).astype(np.int32)
    else:
        actions = rng.uniform(-1, 1, (n, 1)).astype(np.float32)
    n_done, _, n_trunc = _compare(env, genv_id, to_state, actions, True, 4)
    assert n_done == n_trunc >= 1      # random actions end episodes by truncation only


def test_acrobot_and_mountain_car_truncate_at_gymnasium_limits():
    assert (Acrobot().max_steps, MountainCar().max_steps, MountainCarContinuous().max_steps) == (
        gym.make("Acrobot-v1").spec.max_episode_steps,
        gym.make("MountainCar-v0").spec.max_episode_steps,
        gym.make("MountainCarContinuous-v0").spec.max_episode_steps)
