"""Model-free tabular learning as agents: Q-learning (TD(0) policy evaluation, built on
the same pieces, is in ``_td0.py``).

Both follow the agent contract of :mod:`jaxphys.rl`
(``make_<algo>(env, env_params, config) -> Agent``); the table is the network, so
``network`` must be None. One update is one environment step, collected with the shared
rollout. The environment needs discrete observations and actions (``TabularMDP``,
``GridWorld``); with an ``action_mask(obs, params)`` only available actions are taken
and bootstrapped from.

Q-learning (Watkins & Dayan 1992) for a transition (s, a, r, s')::

    N(s, a) ← N(s, a) + 1
    Q(s, a) ← Q(s, a) + α_t [r + γ (1 − terminated) max_a' f(Q(s', a'), N(s', a'))
                             − Q(s, a)]

with f(Q, N) = Q for ε-greedy exploration and the exploration function
f(Q, N) = Q + κ / (1 + N) (optimism for rarely tried actions, in the target and in
the greedy choice) for ``exploration="count_bonus"``. At a truncation the target
bootstraps from the last observation (``final_obs``). Learning rates: ``"constant"``
α_t = α₀; ``"step"`` α_t = α₀ / (1 + decay·t) with t the step count; ``"visits"``
α_t = α₀ / (1 + decay·(N(s, a) − 1))^ω, a per-pair schedule under which Q-learning
converges (Robbins–Monro, ω ∈ (1/2, 1]; Even-Dar & Mansour 2003, *Learning rates for
Q-learning*: ω ≈ 0.7 converges much faster than ω = 1 when γ is near 1). Greedy choices
break ties uniformly at random. With ``eval_every`` the greedy policy is evaluated every
so many steps (metrics ``eval_return`` and ``eval_success``, NaN between evaluations).

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import three_state_mdp
    >>> env = three_state_mdp()
    >>> agent = make_q_learning(env, None, QLearningConfig(n_steps=500))
    >>> result = agent.train(jax.random.key(0), agent.default_hparams._replace(epsilon=1.0))
    >>> result.state.q_values.shape, int(result.state.visits.sum())
    ((3, 3), 500)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_in
from jaxphys.rl._agent import (ANY, NONNEGATIVE, UNIT, Agent, HyperparamSpec, build_agent,
                               check_config_type)
from jaxphys.rl._evaluate import evaluate
from jaxphys.rl._rollout import ActOutput, RunnerState, episode_metrics, init_runner, rollout
from jaxphys.rl.envs._base import Discrete

__all__ = ["QLearningConfig", "QLearningHyperparams", "TabularState", "make_q_learning",
           "greedy_policy", "random_argmax", "evaluations"]

EXPLORATIONS = ("epsilon_greedy", "count_bonus")
LR_SCHEDULES = ("constant", "step", "visits")
STEP_SIZE = HyperparamSpec(0.0, 1.0, low_open=True)


@dataclasses.dataclass(frozen=True)
class QLearningConfig:
    """Static settings of tabular Q-learning.

    Fields: n_steps (environment steps = updates), exploration (``"epsilon_greedy"`` or
    ``"count_bonus"``), lr_schedule (``"constant"``, ``"step"``, ``"visits"``), eval_every
    (0: no evaluation; else evaluate the greedy policy every so many steps),
    eval_episodes, eval_max_steps.

    Example:
        >>> from jaxphys.rl import QLearningConfig
        >>> cfg = QLearningConfig(n_steps=2000, exploration="count_bonus", lr_schedule="visits")
        >>> cfg.n_steps, cfg.exploration, cfg.lr_schedule, cfg.eval_every   # 0: no evaluation
        (2000, 'count_bonus', 'visits', 0)
    """

    n_steps: int = 10_000
    exploration: str = "epsilon_greedy"
    lr_schedule: str = "constant"
    eval_every: int = 0
    eval_episodes: int = 16
    eval_max_steps: int = 200


class QLearningHyperparams(NamedTuple):
    """The floats of Q-learning one may sweep: learning_rate α₀ ((0, 1]), gamma ([0, 1], as
    for every agent; 1 for undiscounted episodic tasks), lr_decay (≥ 0), lr_power ω
    ([0, 1]), epsilon ([0, 1]), kappa (bonus scale, ≥ 0), initial_q (the table's initial
    value).

    Example:
        >>> from jaxphys.rl import QLearningHyperparams
        >>> hp = QLearningHyperparams()
        >>> hp.learning_rate, hp.gamma, hp.epsilon
        (0.1, 0.99, 0.1)
        >>> hp._replace(epsilon=1.0, initial_q=1.0)   # pure exploration, optimistic start
        QLearningHyperparams(learning_rate=0.1, gamma=0.99, lr_decay=0.0, lr_power=1.0,
                             epsilon=1.0, kappa=1.0, initial_q=1.0)
    """

    learning_rate: Any = 0.1
    gamma: Any = 0.99
    lr_decay: Any = 0.0
    lr_power: Any = 1.0
    epsilon: Any = 0.1
    kappa: Any = 1.0
    initial_q: Any = 0.0


Q_SPECS = {"learning_rate": STEP_SIZE, "gamma": UNIT, "lr_decay": NONNEGATIVE,
           "lr_power": UNIT, "epsilon": UNIT, "kappa": NONNEGATIVE, "initial_q": ANY}


class TabularState(NamedTuple):
    """The state of a tabular learner.

    Fields:
        step: int32 scalar, environment steps (updates) done.
        table: (S, A) float32 Q-values (Q-learning) or (S,) values (TD(0)).
        visits: (S, A) or (S,) int32 update counts.
        runner: one environment (``n_envs = 1``).
        hparams: the hyperparameters.

    Example (the fresh state of Q-learning on Géron's MDP, whose s1 lacks a1 and s2 has
    only a1: unavailable actions hold −∞):
        >>> import jax
        >>> from jaxphys.rl import TabularState, make_q_learning
        >>> from jaxphys.rl.envs import three_state_mdp
        >>> agent = make_q_learning(three_state_mdp())
        >>> state = agent.init(jax.random.key(0), agent.default_hparams)
        >>> isinstance(state, TabularState), int(state.step), int(state.visits.sum())
        (True, 0, 0)
        >>> state.q_values.tolist()
        [[0.0, 0.0, 0.0], [0.0, -inf, 0.0], [-inf, 0.0, -inf]]
    """

    step: jax.Array
    table: jax.Array
    visits: jax.Array
    runner: RunnerState
    hparams: Any

    @property
    def params(self) -> jax.Array:
        """The table (what ``agent.policy`` acts on)."""
        return self.table

    @property
    def q_values(self) -> jax.Array:
        """The table of a Q-learner (alias of ``table``)."""
        return self.table


def random_argmax(key: jax.Array, values: jax.Array, mask: jax.Array) -> jax.Array:
    """int32 index of a maximal ``values[i]`` with ``mask[i]``, ties broken uniformly.

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import random_argmax
    >>> values, mask = jnp.array([1.0, 3.0, 3.0]), jnp.array([True, True, True])
    >>> sorted({int(random_argmax(jax.random.key(i), values, mask)) for i in range(10)})
    [1, 2]
    >>> int(random_argmax(jax.random.key(0), values, jnp.array([True, True, False])))
    1
    """
    v = jnp.where(mask, values, -jnp.inf)
    best = jnp.logical_and(v >= jnp.max(v), mask)
    return jax.random.categorical(key, jnp.where(best, 0.0, -jnp.inf)).astype(jnp.int32)


def action_mask_fn(env: Any, params: Any) -> Callable[[jax.Array], jax.Array]:
    """``mask(obs) -> (A,) bool`` of available actions (all if the env has no mask)."""
    n_actions = env.action_space(params).n
    if hasattr(env, "action_mask"):
        return lambda obs: env.action_mask(obs, params)
    return lambda obs: jnp.ones(n_actions, bool)


def greedy_policy(env: Any, env_params: Any, q_values: jax.Array) -> Callable:
    """``policy(key, obs) -> action``: greedy in ``q_values`` over available actions,
    random among ties (for :func:`jaxphys.rl.evaluate`).

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import greedy_policy
    >>> from jaxphys.rl.envs import three_state_mdp
    >>> env = three_state_mdp()                    # a1 is not available in s1
    >>> q = jnp.array([[0.0, 0.0, 1.0], [0.0, 5.0, 1.0], [0.0, 0.0, 0.0]])
    >>> act = greedy_policy(env, env.default_params(), q)
    >>> [int(act(jax.random.key(0), s)) for s in jnp.arange(3)]   # s1: best available: a2
    [2, 2, 1]
    """
    mask = action_mask_fn(env, env_params)
    return lambda key, obs: random_argmax(key, q_values[obs], mask(obs))


def evaluations(metrics: dict, name: str = "eval_success") -> np.ndarray:
    """The entries of ``metrics[name]`` at the evaluation steps (the finite ones), leading
    (seed) axes kept: ``(..., n_evals)``.

    >>> import numpy as np
    >>> from jaxphys.rl import evaluations
    >>> metrics = {"eval_success": np.array([[np.nan, 0.5, np.nan, 1.0],     # 2 seeds,
    ...                                      [np.nan, 0.0, np.nan, 0.75]])}  # eval_every=2
    >>> evaluations(metrics).tolist()
    [[0.5, 1.0], [0.0, 0.75]]
    """
    values = np.asarray(metrics[name])
    columns = np.isfinite(values.reshape(-1, values.shape[-1])).all(axis=0)
    return values[..., columns]


def check_discrete(env: Any, params: Any) -> tuple[int, int]:
    """``(S, A)`` of an environment with Discrete observations and actions."""
    obs_space, act_space = env.observation_space(params), env.action_space(params)
    if not isinstance(obs_space, Discrete) or not isinstance(act_space, Discrete):
        raise ValueError(f"env: tabular methods need Discrete observation and action spaces, "
                         f"got {type(obs_space).__name__} and {type(act_space).__name__}")
    return obs_space.n, act_space.n


def check_no_network(network: Any, name: str) -> None:
    """Tabular learners have no network."""
    if network is not None:
        raise ValueError(f"network: {name} learns a table, it takes no network; got "
                         f"{type(network).__name__}")


def check_q_config(config: Any) -> None:
    """Check the fields shared by Q-learning and the curriculum."""
    n_steps = as_int(config.n_steps, "config.n_steps", minimum=1)
    check_in(config.exploration, "config.exploration", EXPLORATIONS)
    check_in(config.lr_schedule, "config.lr_schedule", LR_SCHEDULES)
    eval_every = as_int(config.eval_every, "config.eval_every", minimum=0)
    as_int(config.eval_episodes, "config.eval_episodes", minimum=1)
    as_int(config.eval_max_steps, "config.eval_max_steps", minimum=1)
    if eval_every > n_steps:
        raise ValueError(f"config.eval_every: must be at most n_steps = {n_steps}, got "
                         f"{eval_every}")


def step_size(schedule: str, hp: Any, t: jax.Array, count: jax.Array) -> jax.Array:
    """α_t of the schedule (module docstring); ``count`` the updated entry's visits."""
    if schedule == "constant":
        return hp.learning_rate
    if schedule == "step":
        return hp.learning_rate / (1.0 + hp.lr_decay * t.astype(jnp.float32))
    return hp.learning_rate / (1.0 + hp.lr_decay * (count - 1).astype(jnp.float32)) ** hp.lr_power


def q_learner(env: Any, config: Any, mask: Callable) -> tuple[Callable, Callable]:
    """``(act_fn, learn_fn)`` of Q-learning: ``act_fn(q, visits, hp) -> act(key, obs)`` for
    the rollout and ``learn_fn(q, visits, step, hp, traj) -> (q, visits)`` for its one
    transition."""
    bonus = config.exploration == "count_bonus"

    def score(q, visits, hp, obs):
        return q[obs] + (hp.kappa / (1.0 + visits[obs].astype(q.dtype)) if bonus else 0.0)

    def act_fn(q, visits, hp):
        def act(key, obs):                        # obs (1,): one environment
            key_greedy, key_explore, key_random = jax.random.split(key, 3)
            m = mask(obs[0])
            greedy = random_argmax(key_greedy, score(q, visits, hp, obs[0]), m)
            random = jax.random.categorical(key_random, jnp.where(m, 0.0, -jnp.inf))
            explore = jax.random.uniform(key_explore) < hp.epsilon
            return ActOutput(jnp.where(explore, random.astype(jnp.int32), greedy)[None])
        return act

    def learn_fn(q, visits, step, hp, traj):
        obs, action = traj.obs[0, 0], traj.action[0, 0]
        next_obs = traj.final_obs[0, 0]
        visits = visits.at[obs, action].add(1)
        alpha = step_size(config.lr_schedule, hp, step, visits[obs, action])
        v_next = jnp.max(jnp.where(mask(next_obs), score(q, visits, hp, next_obs), -jnp.inf))
        target = traj.reward[0, 0] + hp.gamma * jnp.where(traj.terminated[0, 0], 0.0, v_next)
        return q.at[obs, action].add(alpha * (target - q[obs, action])), visits

    return act_fn, learn_fn


def evaluation_metrics(env: Any, params: Any, config: Any, q: jax.Array, step: jax.Array,
                       key: jax.Array) -> dict:
    """``eval_return`` / ``eval_success`` of the greedy policy when ``step`` is an
    evaluation step (every ``config.eval_every``), NaN otherwise."""
    nan = jnp.full((), jnp.nan, jnp.float32)
    if not config.eval_every:
        return {"eval_return": nan, "eval_success": nan}

    def run(k):
        res = evaluate(k, env, params, greedy_policy(env, params, q),
                       n_episodes=config.eval_episodes, max_steps=config.eval_max_steps)
        return {"eval_return": res.mean_return,
                "eval_success": jnp.mean((res.returns > 0).astype(jnp.float32))}

    due = (step % config.eval_every) == 0
    return jax.lax.cond(due, run, lambda k: {"eval_return": nan, "eval_success": nan}, key)


def initial_table(mask: Callable, n_states: int, n_actions: int, initial_q: jax.Array
                  ) -> jax.Array:
    """(S, A) float32: ``initial_q`` on available actions, −∞ on the others (never taken)."""
    available = jax.vmap(mask)(jnp.arange(n_states))
    return jnp.where(available, initial_q, -jnp.inf).astype(jnp.float32)


def make_q_learning(env: Any, env_params: Any = None, config: QLearningConfig = QLearningConfig(),
                    *, network: Any = None) -> Agent:
    """Build the tabular Q-learning :class:`~jaxphys.rl.Agent` (module docstring).

    ``state.q_values`` is −∞ on the actions the environment marks unavailable.

    >>> from jaxphys.rl import QLearningConfig, make_q_learning
    >>> from jaxphys.rl.envs import GridWorld
    >>> env = GridWorld(["S.G"])
    >>> agent = make_q_learning(env, None, QLearningConfig(n_steps=300))   # not trained
    >>> agent.name, agent.n_updates, agent.network     # one update per environment step
    ('q_learning', 300, None)
    >>> agent.default_hparams._fields
    ('learning_rate', 'gamma', 'lr_decay', 'lr_power', 'epsilon', 'kappa', 'initial_q')
    """
    config = check_config_type(config, QLearningConfig)
    check_no_network(network, "Q-learning")
    check_q_config(config)
    params = env.default_params() if env_params is None else env_params
    n_states, n_actions = check_discrete(env, params)
    mask = action_mask_fn(env, params)
    act_fn, learn_fn = q_learner(env, config, mask)

    def init(key, hp):
        return TabularState(jnp.zeros((), jnp.int32),
                            initial_table(mask, n_states, n_actions, hp.initial_q),
                            jnp.zeros((n_states, n_actions), jnp.int32),
                            init_runner(key, env, params, 1), hp)

    def step(state, batch, key):
        key_rollout, key_eval = jax.random.split(key)
        hp = state.hparams
        runner, traj = rollout(key_rollout, env, params, act_fn(state.table, state.visits, hp),
                               state.runner, 1)
        q, visits = learn_fn(state.table, state.visits, state.step, hp, traj)
        metrics = {"reward": traj.reward[0, 0], "done": traj.done[0, 0], **episode_metrics(traj),
                   "env_steps": state.step + 1,
                   **evaluation_metrics(env, params, config, q, state.step + 1, key_eval)}
        return TabularState(state.step + 1, q, visits, runner, hp), metrics

    def policy(q, deterministic):
        greedy = greedy_policy(env, params, q)
        if deterministic:
            return greedy

        def act(key, obs):                       # ε-greedy with ε = 0.1
            key_greedy, key_explore, key_random = jax.random.split(key, 3)
            random = jax.random.categorical(key_random, jnp.where(mask(obs), 0.0, -jnp.inf))
            return jnp.where(jax.random.uniform(key_explore) < 0.1, random.astype(jnp.int32),
                             greedy(key_greedy, obs))
        return act

    return build_agent("q_learning", config, QLearningHyperparams, QLearningHyperparams(),
                       Q_SPECS, TabularState, init, step, config.n_steps, policy, None)
