"""Rows of the agent conformance table (``tests/test_conformance_agents.py``).

``CASES``: every agent of :mod:`jaxphys.rl` on its natural environment with a tiny
configuration (a few updates, learning in both halves of the run) for the contract
checks. ``FLOORS``: the learning floor of each deep agent at a reduced budget, against a
uniformly random policy's measured return (discrete agents on CartPole, continuous ones
on Pendulum); the tabular learners' floors (against Q* and V^π of the MDP by brute force,
and the curriculum against the plain learner) are in tests/test_rl_tabular.py and
tests/test_rl_curriculum.py; the full acceptance floors are ``@pytest.mark.slow`` tests in
the agents' own test files.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import jaxphys.rl as rl
from jaxphys.rl.envs import (Box, CartPole, Discrete, Environment, GridWorld, Pendulum,
                             ScaleReward, three_state_mdp)


class AgentCase(NamedTuple):
    """One row of the contract table.

    Fields:
        name: the row's id (``'ppo'``).
        make: ``make() -> Agent`` with a tiny config whose ``n_updates`` is even.
        lr_field: the hyperparameter swept by the learning-rate check.
        bad_network: ``bad_network() -> None`` building the agent with a network whose
            output does not fit the action space (must raise a ValueError naming
            ``network``), or None for table agents.
        bad_config: ``bad_config() -> None`` that must raise a ValueError naming
            ``expect`` (``learning_starts`` beyond the budget, …), or None.
        expect: the name the bad-config error must contain.
    """

    name: str
    make: Callable[[], rl.Agent]
    lr_field: str = "learning_rate"
    bad_network: Callable[[], Any] | None = None
    bad_config: Callable[[], Any] | None = None
    expect: str = ""


class Floor(NamedTuple):
    """One learning floor: ``run() -> (value, threshold, what)``, passing when
    ``value >= threshold``."""

    name: str
    run: Callable[[], tuple[float, float, str]]


CARTPOLE, PENDULUM = CartPole(), Pendulum()
SCALED_PENDULUM = ScaleReward(PENDULUM, 0.1)


class _TimerState(NamedTuple):
    t: jax.Array
    kind: jax.Array


class Timer(Environment):
    """Observation ``[t, kind]`` (t = 0, 1, 2, …), reward 1 per step; every episode ends
    after three steps, terminated when ``kind = 1`` and truncated (a time limit) when
    ``kind = 0``, ``kind`` drawn uniformly at each reset. For checks of bootstrapping at
    truncation against hand-computed targets."""

    def __init__(self, continuous=False):
        self.continuous = continuous

    def default_params(self):
        return ()

    def observation_space(self, params):
        return Box(0.0, 3.0, (2,))

    def action_space(self, params):
        return Box(-1.0, 1.0, (1,)) if self.continuous else Discrete(2)

    def reset_env(self, key, params):
        kind = jax.random.bernoulli(key).astype(jnp.float32)
        return jnp.stack([0.0, kind]), _TimerState(jnp.asarray(0, jnp.int32), kind)

    def step_env(self, key, state, action, params):
        t = state.t + 1
        end = t >= 3
        obs = jnp.stack([t.astype(jnp.float32), state.kind])
        return (obs, _TimerState(t, state.kind), jnp.asarray(1.0), end & (state.kind > 0),
                end & (state.kind == 0), {})


class _Logits(NamedTuple):      # a Model with the wrong number of logits / a Gaussian head
    init: Callable
    apply: Callable


def _wrong_logits(n):
    return rl.ActorCritic(
        actor=_Logits(lambda k, o: {"w": jnp.zeros((o.shape[-1], n))}, lambda p, o: o @ p["w"]),
        critic=_Logits(lambda k, o: {"w": jnp.zeros(o.shape[-1])}, lambda p, o: o @ p["w"]))


_GAUSSIAN_FOR_DISCRETE = rl.ActorCritic(
    actor=_Logits(lambda k, o: {"w": jnp.zeros((o.shape[-1], 2))},
                  lambda p, o: (o @ p["w"], o @ p["w"])),
    critic=_Logits(lambda k, o: {"w": jnp.zeros(o.shape[-1])}, lambda p, o: o @ p["w"]))

_THREE_LOGIT_Q = _Logits(lambda k, o: {"w": jnp.zeros((o.shape[-1], 3))}, lambda p, o: o @ p["w"])


def _uniform_policy_table(env):
    available = np.asarray(env.to_mdp().available, float)
    return available / available.sum(-1, keepdims=True)


SMALL_GRID = GridWorld(["S..", ".#.", "..G"], slip=0.1, max_steps=20)

CASES = [
    AgentCase("dqn", lambda: rl.make_dqn(CARTPOLE, None, rl.DQNConfig(
        total_timesteps=64, n_envs=4, buffer_size=64, batch_size=8, learning_starts=16,
        target_update_interval=16, hidden=(8,))),
        bad_network=lambda: rl.make_dqn(CARTPOLE, None, network=_THREE_LOGIT_Q),
        bad_config=lambda: rl.make_dqn(CARTPOLE, None, rl.DQNConfig(total_timesteps=64,
                                                                    learning_starts=64)),
        expect="learning_starts"),
    AgentCase("reinforce", lambda: rl.make_reinforce(CARTPOLE, None, rl.ReinforceConfig(
        total_timesteps=256, n_envs=4, n_steps=32, hidden=(8,))),
        bad_network=lambda: rl.make_reinforce(CARTPOLE, None, network=_wrong_logits(3)),
        bad_config=lambda: rl.make_reinforce(CARTPOLE, None, rl.ReinforceConfig(
            total_timesteps=10)), expect="total_timesteps"),
    AgentCase("a2c", lambda: rl.make_a2c(CARTPOLE, None, rl.A2CConfig(
        total_timesteps=160, n_envs=4, n_steps=5, hidden=(8,))),
        bad_network=lambda: rl.make_a2c(CARTPOLE, None, network=_GAUSSIAN_FOR_DISCRETE)),
    AgentCase("ppo", lambda: rl.make_ppo(CARTPOLE, None, rl.PPOConfig(
        total_timesteps=256, n_envs=4, n_steps=16, n_epochs=2, n_minibatches=2, hidden=(8,))),
        bad_network=lambda: rl.make_ppo(CARTPOLE, None, network=_wrong_logits(3)),
        bad_config=lambda: rl.make_ppo(CARTPOLE, None, rl.PPOConfig(n_envs=3, n_steps=5,
                                                                    n_minibatches=4)),
        expect="n_minibatches"),
    AgentCase("trpo", lambda: rl.make_trpo(CARTPOLE, None, rl.TRPOConfig(
        total_timesteps=256, n_envs=4, n_steps=32, cg_iters=3, backtrack_iters=3, vf_iters=2,
        hidden=(8,))),
        bad_network=lambda: rl.make_trpo(CARTPOLE, None, network=_GAUSSIAN_FOR_DISCRETE)),
    AgentCase("sac", lambda: rl.make_sac(PENDULUM, None, rl.SACConfig(
        total_timesteps=16, learning_starts=4, batch_size=8, buffer_size=32, hidden=(8,))),
        bad_network=lambda: rl.make_sac(PENDULUM, None, network=_wrong_logits(1)),
        bad_config=lambda: rl.make_sac(PENDULUM, None, rl.SACConfig(total_timesteps=100,
                                                                    learning_starts=200)),
        expect="learning_starts"),
    AgentCase("q_learning", lambda: rl.make_q_learning(SMALL_GRID, None, rl.QLearningConfig(
        n_steps=64, eval_every=32, eval_episodes=2, eval_max_steps=10)),
        bad_config=lambda: rl.make_q_learning(SMALL_GRID, None, rl.QLearningConfig(
            exploration="softmax")), expect="exploration"),
    AgentCase("td0", lambda: rl.make_td0(three_state_mdp(), None, rl.TD0Config(
        policy=_uniform_policy_table(three_state_mdp()), n_steps=64)),
        bad_config=lambda: rl.make_td0(three_state_mdp(), None, rl.TD0Config(
            policy=np.ones((3, 2)) / 2)), expect="policy"),
    AgentCase("curriculum", lambda: rl.make_curriculum(rl.sparse_maze(max_steps=20), None,
                                                        rl.CurriculumConfig(n_steps=64,
                                                                            distances=(3, 6))),
              bad_config=lambda: rl.make_curriculum(rl.sparse_maze(), None, rl.CurriculumConfig(
                  distances=(4, 2))), expect="distances"),
]


# ------------------------------------------------------------------------ learning floors
def random_return(env, n_episodes=256, max_steps=500):
    """Mean return of a uniformly random policy (the floors' reference)."""
    space = env.action_space(env.default_params())
    res = jax.jit(lambda k: rl.evaluate(k, env, None, lambda kk, o: space.sample(kk),
                                        n_episodes=n_episodes, max_steps=max_steps))(
        jax.random.key(7))
    return float(res.mean_return)


def greedy_returns(agent, env, params, n_seeds, max_steps):
    """Greedy evaluation return (16 episodes) of each trained seed."""
    keys = jax.random.split(jax.random.key(123), n_seeds)
    ev = jax.jit(jax.vmap(lambda k, p: rl.evaluate(k, env, None, agent.policy(p),
                                                   n_episodes=16,
                                                   max_steps=max_steps).mean_return))
    return np.asarray(ev(keys, params))


def train_seeds(agent, hparams, n_seeds):
    """Seeds ``split(key(0), n_seeds)`` trained one by one by one compiled single-seed
    program, results stacked. Long vmapped agent runs have waited forever inside jaxlib
    0.10.2's CPU runtime (the RL guide's known issue): in the default tier once, and in
    the slow tier's vmapped learning floors below (2 seeds, every XLA thread idle)."""
    train = jax.jit(agent.train)
    runs = [train(key, hparams) for key in jax.random.split(jax.random.key(0), n_seeds)]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *runs)


def _deep_floor(make, env, n_seeds, max_steps, margin, hparams=None):
    """Train ``n_seeds`` seeds (:func:`train_seeds`); the floor holds when the seeds' mean
    greedy return beats ``margin(random_return)`` (at these reduced budgets a single seed
    of A2C or TRPO may still be stuck)."""
    def run():
        agent = make()
        hp = agent.default_hparams if hparams is None else hparams(agent.default_hparams)
        res = train_seeds(agent, hp, n_seeds)
        returns = greedy_returns(agent, env, res.state.params, n_seeds, max_steps)
        reference = random_return(env, max_steps=max_steps)
        threshold, what = margin(reference)
        return float(returns.mean()), threshold, f"{what}; seeds {returns.round(1).tolist()}"
    return run


def _times(k):
    return lambda r: (k * r, f"{k} x the random policy's {r:.1f}")


def _plus(m):
    return lambda r: (r + m, f"the random policy's {r:.0f} + {m}")


FLOORS = [
    Floor("dqn-cartpole", _deep_floor(lambda: rl.make_dqn(CARTPOLE, None, rl.DQNConfig(
        total_timesteps=60_000, lr_decay=True)), CARTPOLE, 1, 500, _times(4))),
    Floor("reinforce-cartpole", _deep_floor(lambda: rl.make_reinforce(
        CARTPOLE, None, rl.ReinforceConfig(total_timesteps=100_000)), CARTPOLE, 2, 500,
        _times(4))),
    Floor("a2c-cartpole", _deep_floor(lambda: rl.make_a2c(
        CARTPOLE, None, rl.A2CConfig(total_timesteps=60_000)), CARTPOLE, 2, 500, _times(4))),
    Floor("ppo-cartpole", _deep_floor(lambda: rl.make_ppo(
        CARTPOLE, None, rl.PPOConfig(total_timesteps=40_960, n_envs=8)), CARTPOLE, 2, 500,
        _times(4))),
    Floor("trpo-cartpole", _deep_floor(lambda: rl.make_trpo(
        CARTPOLE, None, rl.TRPOConfig(total_timesteps=40_960)), CARTPOLE, 2, 500, _times(4))),
    # continuous actions on Pendulum: rewards scaled by 0.1 for training (ScaleReward),
    # evaluation on Pendulum itself; the margin is 400 (TRPO: 300) above the random policy's ≈ −1190
    Floor("ppo-pendulum", _deep_floor(lambda: rl.make_ppo(
        SCALED_PENDULUM, None, rl.PPOConfig(total_timesteps=48_000, n_envs=8, n_steps=200,
                                            n_epochs=10, n_minibatches=8, anneal_lr=False)),
        PENDULUM, 2, 200, _plus(400),
        lambda hp: hp._replace(learning_rate=1e-3, gamma=0.9, ent_coef=0.0))),
    Floor("trpo-pendulum", _deep_floor(lambda: rl.make_trpo(
        SCALED_PENDULUM, None, rl.TRPOConfig(total_timesteps=48_000, n_envs=8, n_steps=200)),
        PENDULUM, 2, 200, _plus(300), lambda hp: hp._replace(max_kl=0.05, gamma=0.9))),
    Floor("sac-pendulum", _deep_floor(lambda: rl.make_sac(
        PENDULUM, None, rl.SACConfig(total_timesteps=5_000, learning_starts=500,
                                     hidden=(64, 64))), PENDULUM, 2, 200, _plus(400))),
]
