"""TD(0) policy evaluation as an agent (Sutton 1988).

The same machinery as tabular Q-learning (:mod:`jaxphys.rl._tabular_learning`): the
table is the network, one update is one environment step collected with the shared
rollout, learning-rate schedules as Q-learning's with the state count N(s).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_in
from jaxphys.rl._agent import ANY, NONNEGATIVE, UNIT, Agent, build_agent, check_config_type
from jaxphys.rl._rollout import ActOutput, episode_metrics, init_runner, rollout
from jaxphys.rl._tabular_learning import (LR_SCHEDULES, STEP_SIZE, TabularState, check_discrete,
                                          check_no_network, step_size)

__all__ = ["TD0Config", "TD0Hyperparams", "make_td0"]


@dataclasses.dataclass(frozen=True, eq=False)
class TD0Config:
    """Static settings of TD(0): ``policy`` (S, A) probabilities of the policy to evaluate;
    ``n_steps`` (environment steps); ``lr_schedule`` (as Q-learning, with N(s)).

    Example:
        >>> from jaxphys.rl import TD0Config, uniform_policy
        >>> from jaxphys.rl.envs import three_state_mdp
        >>> cfg = TD0Config(policy=uniform_policy(three_state_mdp().to_mdp()), n_steps=500)
        >>> cfg.policy.shape, cfg.n_steps, cfg.lr_schedule
        ((3, 3), 500, 'constant')
    """

    policy: Any
    n_steps: int = 10_000
    lr_schedule: str = "constant"


class TD0Hyperparams(NamedTuple):
    """The floats of TD(0): learning_rate ((0, 1]), gamma ([0, 1]; 1 for undiscounted
    episodic tasks), lr_decay (≥ 0), lr_power ω ([0, 1]), initial_value (the table's
    initial value).

    Example:
        >>> from jaxphys.rl import TD0Hyperparams
        >>> TD0Hyperparams()
        TD0Hyperparams(learning_rate=0.05, gamma=0.9, lr_decay=0.0, lr_power=1.0,
                       initial_value=0.0)
    """

    learning_rate: Any = 0.05
    gamma: Any = 0.9
    lr_decay: Any = 0.0
    lr_power: Any = 1.0
    initial_value: Any = 0.0


TD0_SPECS = {"learning_rate": STEP_SIZE, "gamma": UNIT, "lr_decay": NONNEGATIVE,
             "lr_power": UNIT, "initial_value": ANY}


def make_td0(env: Any, env_params: Any, config: TD0Config, *, network: Any = None) -> Agent:
    """Build the TD(0) :class:`~jaxphys.rl.Agent`: the estimate of V^π of ``config.policy``.

    Update after each step (s, r, s') of the policy (Sutton 1988, *Learning to predict by
    the methods of temporal differences*):
    ``V(s) ← V(s) + α_t [r + γ (1 − terminated) V(s') − V(s)]`` (bootstrapping from the
    last observation at a truncation); α_t as in Q-learning with N(s).

    >>> from jaxphys.rl import TD0Config, make_td0, uniform_policy
    >>> from jaxphys.rl.envs import three_state_mdp
    >>> env = three_state_mdp()
    >>> cfg = TD0Config(policy=uniform_policy(env.to_mdp()), n_steps=1000)
    >>> agent = make_td0(env, None, cfg)        # estimates V of the uniform policy; not trained
    >>> agent.name, agent.n_updates, round(float(agent.default_hparams.gamma), 4)
    ('td0', 1000, 0.9)
    """
    config = check_config_type(config, TD0Config)
    check_no_network(network, "TD(0)")
    params = env.default_params() if env_params is None else env_params
    n_states, n_actions = check_discrete(env, params)
    as_int(config.n_steps, "config.n_steps", minimum=1)
    check_in(config.lr_schedule, "config.lr_schedule", LR_SCHEDULES)
    pi = np.asarray(config.policy, np.float32)
    if pi.shape != (n_states, n_actions):
        raise ValueError(f"config.policy: expected shape ({n_states}, {n_actions}), got "
                         f"{pi.shape}")
    if np.any(pi < 0) or np.any(np.abs(pi.sum(-1) - 1.0) > 1e-4):
        raise ValueError("config.policy: each row must be a probability vector")
    log_pi = jnp.log(jnp.asarray(pi))

    def act(key, obs):
        return ActOutput(jax.random.categorical(key, log_pi[obs[0]]).astype(jnp.int32)[None])

    def init(key, hp):
        return TabularState(jnp.zeros((), jnp.int32),
                            jnp.full((n_states,), hp.initial_value, jnp.float32),
                            jnp.zeros(n_states, jnp.int32), init_runner(key, env, params, 1), hp)

    def step(state, batch, key):
        hp = state.hparams
        runner, traj = rollout(key, env, params, act, state.runner, 1)
        obs, next_obs = traj.obs[0, 0], traj.final_obs[0, 0]
        visits = state.visits.at[obs].add(1)
        alpha = step_size(config.lr_schedule, hp, state.step, visits[obs])
        v = state.table
        target = traj.reward[0, 0] + hp.gamma * jnp.where(traj.terminated[0, 0], 0.0, v[next_obs])
        v = v.at[obs].add(alpha * (target - v[obs]))
        metrics = {"td_error": target - state.table[obs], **episode_metrics(traj),
                   "env_steps": state.step + 1}
        return TabularState(state.step + 1, v, visits, runner, hp), metrics

    def policy(values, deterministic):
        def act_one(key, obs):
            if deterministic:
                return jnp.argmax(log_pi[obs]).astype(jnp.int32)
            return jax.random.categorical(key, log_pi[obs]).astype(jnp.int32)
        return act_one

    return build_agent("td0", config, TD0Hyperparams, TD0Hyperparams(), TD0_SPECS,
                       TabularState, init, step, config.n_steps, policy, None)
