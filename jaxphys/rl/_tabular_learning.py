"""Model-free tabular learning: TD(0) policy evaluation and Q-learning.

Both follow ``make_train(env, env_params, config) -> train(key)``: the whole
run is one jittable function (a ``lax.scan`` over environment steps), so
``jax.vmap(train)(keys)`` trains many seeds at once, and sweepable config
values (γ, learning rate, ε, κ, decay) may be traced arrays: build the train
function inside the vmapped function, e.g.
``jax.vmap(lambda lr, k: make_q_learning_train(env, p, cfg._replace(learning_rate=lr))(k))``.
The environment must have discrete observations and actions (``TabularMDP``,
``GridWorld``); if it has ``action_mask(obs, params)`` only available actions
are taken and bootstrapped from.

Q-learning update for a transition (s, a, r, s')::

    N(s, a) ← N(s, a) + 1
    Q(s, a) ← Q(s, a) + α_t [r + γ (1 − terminated) max_a' f(Q(s', a'), N(s', a')) − Q(s, a)]

with f(Q, N) = Q for ε-greedy exploration and the exploration function
f(Q, N) = Q + κ / (1 + N) (optimism for rarely tried actions, in the target
and in the greedy choice) for ``exploration="count_bonus"``. At a truncation
the target bootstraps from the last observation (``info["final_obs"]``).
Learning rates: ``"constant"`` α_t = α₀; ``"step"`` α_t = α₀ / (1 + decay·t)
with t the step count; ``"visits"`` α_t = α₀ / (1 + decay·(N(s, a) − 1))^ω, a
per-pair schedule under which Q-learning converges (Robbins–Monro, ω ∈ (1/2, 1];
ω ≈ 0.7 converges much faster than the harmonic ω = 1 when γ is near 1).
With ``"count_bonus"`` the behaviour is ε-greedy with respect to f(Q, N)
(``epsilon = 0`` for the pure exploration-function agent). Greedy choices break
ties uniformly at random.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._tabular_mdp import three_state_mdp
    >>> env = three_state_mdp()
    >>> cfg = QLearningConfig(n_steps=2000, gamma=0.9, epsilon=1.0, learning_rate=0.1)
    >>> res = jax.jit(make_q_learning_train(env, env.default_params(), cfg))(jax.random.key(0))
    >>> res.q_values.shape, int(res.visits.sum())
    ((3, 3), 2000)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, is_concrete
from jaxphys.rl._evaluate import evaluate
from jaxphys.rl.envs._base import Discrete

__all__ = ["QLearningConfig", "QLearningResult", "TD0Config", "TD0Result",
           "make_q_learning_train", "make_td0_train", "greedy_policy", "random_argmax",
           "success_rate"]

EXPLORATIONS = ("epsilon_greedy", "count_bonus")
LR_SCHEDULES = ("constant", "step", "visits")


class QLearningConfig(NamedTuple):
    """Tabular Q-learning settings.

    Static (Python values): ``n_steps`` environment steps; ``exploration``
    ("epsilon_greedy" or "count_bonus"); ``lr_schedule`` ("constant", "step",
    "visits"); ``eval_every`` (0: no evaluation; else evaluate the greedy policy
    every so many steps, must divide ``n_steps``), ``eval_episodes``,
    ``eval_max_steps``. Sweepable (scalars, may be traced): ``gamma``,
    ``learning_rate`` α₀, ``lr_decay``, ``lr_power`` ω, ``epsilon``, ``kappa`` (bonus scale),
    ``initial_q``.
    """

    n_steps: int = 10_000
    gamma: Any = 0.99
    learning_rate: Any = 0.1
    lr_schedule: str = "constant"
    lr_decay: Any = 0.0
    lr_power: Any = 1.0
    exploration: str = "epsilon_greedy"
    epsilon: Any = 0.1
    kappa: Any = 1.0
    initial_q: Any = 0.0
    eval_every: int = 0
    eval_episodes: int = 16
    eval_max_steps: int = 200


class QLearningResult(NamedTuple):
    """The outcome of a Q-learning run.

    Fields:
        q_values: (S, A) float32, learned Q table (−∞ on actions the env marks unavailable).
        visits: (S, A) int32, N(s, a) updates per pair.
        step_rewards: (n_steps,) float32, reward of every training step.
        step_dones: (n_steps,) bool, whether that step ended an episode.
        eval_steps: (n_evals,) int32, environment steps taken at each evaluation.
        eval_returns: (n_evals, eval_episodes) float32, undiscounted returns of the
            greedy policy (``n_evals = n_steps // eval_every``; 0 if no evaluation).
    """

    q_values: jax.Array
    visits: jax.Array
    step_rewards: jax.Array
    step_dones: jax.Array
    eval_steps: jax.Array
    eval_returns: jax.Array


class TD0Config(NamedTuple):
    """TD(0) settings: ``policy`` (S, A) probabilities to evaluate; ``n_steps`` and
    ``lr_schedule`` static; ``gamma``, ``learning_rate``, ``lr_decay`` sweepable."""

    policy: Any
    n_steps: int = 10_000
    gamma: Any = 0.9
    learning_rate: Any = 0.05
    lr_schedule: str = "constant"
    lr_decay: Any = 0.0


class TD0Result(NamedTuple):
    """Fields: values (S,) float32, V^π estimate; visits (S,) int32, updates per state."""

    values: jax.Array
    visits: jax.Array


# --------------------------------------------------------------------------- helpers
def random_argmax(key: jax.Array, values: jax.Array, mask: jax.Array) -> jax.Array:
    """int32 index of a maximal ``values[i]`` with ``mask[i]``, ties broken uniformly."""
    v = jnp.where(mask, values, -jnp.inf)
    best = jnp.logical_and(v >= jnp.max(v), mask)
    return jax.random.categorical(key, jnp.where(best, 0.0, -jnp.inf)).astype(jnp.int32)


def _mask_fn(env: Any, params: Any) -> Callable[[jax.Array], jax.Array]:
    n_actions = env.action_space(params).n
    if hasattr(env, "action_mask"):
        return lambda obs: env.action_mask(obs, params)
    return lambda obs: jnp.ones(n_actions, bool)


def greedy_policy(env: Any, env_params: Any, q_values: jax.Array) -> Callable:
    """``policy(key, obs) -> action``: greedy in ``q_values`` over available actions,
    random among ties (for ``jaxphys.rl.evaluate``)."""
    mask = _mask_fn(env, env_params)
    return lambda key, obs: random_argmax(key, q_values[obs], mask(obs))


def success_rate(result: QLearningResult) -> jax.Array:
    """(n_evals,) fraction of evaluation episodes with a positive return (a sparse
    reward reached)."""
    return jnp.mean((result.eval_returns > 0).astype(jnp.float32), axis=-1)


def _check_discrete(env: Any, params: Any) -> tuple[int, int]:
    obs_space, act_space = env.observation_space(params), env.action_space(params)
    if not isinstance(obs_space, Discrete) or not isinstance(act_space, Discrete):
        raise ValueError(f"env: tabular methods need Discrete observation and action spaces, "
                         f"got {type(obs_space).__name__} and {type(act_space).__name__}")
    return obs_space.n, act_space.n


def _scalar(value: Any, name: str, *, low: float | None = None, high: float | None = None,
            high_open: bool = False, strict_low: bool = False) -> jax.Array:
    x = as_array(value, name, ndim=0)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.float32)
    check_finite(x, name)
    if is_concrete(x):
        v = float(x)
        bad = ((low is not None and (v < low or (strict_low and v == low)))
               or (high is not None and (v > high or (high_open and v == high))))
        if bad:
            lo = "(" if strict_low else "["
            hi = ")" if high_open else "]"
            raise ValueError(f"{name}: expected a value in {lo}{low}, "
                             f"{'inf' if high is None else high}{hi}, got {v}")
    return x


def _learning_rate(schedule: str, lr: jax.Array, decay: jax.Array, t: jax.Array,
                   n_sa: jax.Array, power: Any = 1.0) -> jax.Array:
    if schedule == "constant":
        return lr
    if schedule == "step":
        return lr / (1.0 + decay * t.astype(lr.dtype))
    return lr / (1.0 + decay * (n_sa - 1).astype(lr.dtype)) ** power


class _QParts(NamedTuple):
    """Checked pieces shared by Q-learning and the curriculum."""

    n_states: int
    n_actions: int
    gamma: jax.Array
    lr: jax.Array
    decay: jax.Array
    power: jax.Array
    epsilon: jax.Array
    kappa: jax.Array
    q0: jax.Array
    n_evals: int


def _check_q_config(env: Any, env_params: Any, config: Any) -> _QParts:
    if not isinstance(config, QLearningConfig):
        raise TypeError(f"config: expected a QLearningConfig, got {type(config).__name__}")
    S, A = _check_discrete(env, env_params)
    n_steps = as_int(config.n_steps, "config.n_steps", minimum=1)
    check_in(config.exploration, "config.exploration", EXPLORATIONS)
    check_in(config.lr_schedule, "config.lr_schedule", LR_SCHEDULES)
    eval_every = as_int(config.eval_every, "config.eval_every", minimum=0)
    as_int(config.eval_episodes, "config.eval_episodes", minimum=1)
    as_int(config.eval_max_steps, "config.eval_max_steps", minimum=1)
    if eval_every and n_steps % eval_every:
        raise ValueError(f"config.eval_every: must divide config.n_steps = {n_steps}, got "
                         f"{eval_every}")
    return _QParts(
        S, A,
        _scalar(config.gamma, "config.gamma", low=0.0, high=1.0, high_open=True),
        _scalar(config.learning_rate, "config.learning_rate", low=0.0, high=1.0,
                strict_low=True),
        _scalar(config.lr_decay, "config.lr_decay", low=0.0),
        _scalar(config.lr_power, "config.lr_power", low=0.0, high=1.0),
        _scalar(config.epsilon, "config.epsilon", low=0.0, high=1.0),
        _scalar(config.kappa, "config.kappa", low=0.0),
        _scalar(config.initial_q, "config.initial_q"),
        n_steps // eval_every if eval_every else 0)


def _q_step(env, params, mask, config: QLearningConfig, parts: _QParts, key, q, n, obs,
            env_state, t):
    """One ε-greedy / count-bonus Q-learning step; returns the updated pieces."""
    act_key, explore_key, rand_key, step_key = jax.random.split(key, 4)
    m = mask(obs)
    score = q[obs]
    if config.exploration == "count_bonus":
        score = score + parts.kappa / (1.0 + n[obs].astype(q.dtype))
    greedy = random_argmax(act_key, score, m)
    rand = jax.random.categorical(rand_key, jnp.where(m, 0.0, -jnp.inf)).astype(jnp.int32)
    explore = jax.random.uniform(explore_key) < parts.epsilon
    action = jnp.where(explore, rand, greedy)
    obs2, state2, reward, terminated, truncated, info = env.step(step_key, env_state, action,
                                                                 params)
    s_next = info["final_obs"]
    n = n.at[obs, action].add(1)
    alpha = _learning_rate(config.lr_schedule, parts.lr, parts.decay, t, n[obs, action],
                           parts.power)
    q_next = q[s_next]
    if config.exploration == "count_bonus":
        q_next = q_next + parts.kappa / (1.0 + n[s_next].astype(q.dtype))
    v_next = jnp.max(jnp.where(mask(s_next), q_next, -jnp.inf))
    target = reward + parts.gamma * jnp.where(terminated, 0.0, v_next)
    q = q.at[obs, action].add(alpha * (target - q[obs, action]))
    done = jnp.logical_or(terminated, truncated)
    return q, n, obs2, state2, reward, done, terminated


def _final_q(env, params, q):
    if hasattr(env, "to_mdp"):
        return jnp.where(env.to_mdp(params).available, q, -jnp.inf)
    return q


# --------------------------------------------------------------------------- Q-learning
def make_q_learning_train(env: Any, env_params: Any, config: QLearningConfig
                          ) -> Callable[[jax.Array], QLearningResult]:
    """Build ``train(key) -> QLearningResult`` for tabular Q-learning (module docstring).

    Args:
        env: an environment with ``Discrete`` observation and action spaces.
        env_params: its params (``None``: ``env.default_params()``).
        config: a ``QLearningConfig``. Bad values raise a ``ValueError`` naming the field.
    """
    params = env.default_params() if env_params is None else env_params
    parts = _check_q_config(env, params, config)
    mask = _mask_fn(env, params)
    eval_every = config.eval_every or config.n_steps

    def train(key: jax.Array) -> QLearningResult:
        check_key(key)
        reset_key, run_key = jax.random.split(key)
        obs, env_state = env.reset(reset_key, params)
        q = jnp.full((parts.n_states, parts.n_actions), parts.q0, jnp.float32)
        n = jnp.zeros((parts.n_states, parts.n_actions), jnp.int32)

        def step(carry, _):
            q, n, obs, env_state, t, key = carry
            key, sub = jax.random.split(key)
            q, n, obs, env_state, reward, done, _ = _q_step(env, params, mask, config, parts,
                                                            sub, q, n, obs, env_state, t)
            return (q, n, obs, env_state, t + 1, key), (reward, done)

        def chunk(carry, _):
            carry, (rewards, dones) = jax.lax.scan(step, carry, None, length=eval_every)
            q, key = carry[0], carry[-1]
            if not config.eval_every:
                return carry, (rewards, dones, jnp.zeros((0,), jnp.float32))
            key, eval_key = jax.random.split(key)
            res = evaluate(eval_key, env, params, greedy_policy(env, params, q),
                           n_episodes=config.eval_episodes, max_steps=config.eval_max_steps)
            return carry[:-1] + (key,), (rewards, dones, res.returns)

        init = (q, n, obs, env_state, jnp.asarray(0, jnp.int32), run_key)
        n_chunks = config.n_steps // eval_every
        carry, (rewards, dones, returns) = jax.lax.scan(chunk, init, None, length=n_chunks)
        q, n = carry[0], carry[1]
        eval_steps = (jnp.arange(1, parts.n_evals + 1, dtype=jnp.int32) * eval_every)
        eval_returns = returns.reshape(parts.n_evals, config.eval_episodes if parts.n_evals
                                       else 0)
        return QLearningResult(_final_q(env, params, q), n, rewards.reshape(-1),
                               dones.reshape(-1), eval_steps, eval_returns)

    return train


# --------------------------------------------------------------------------- TD(0)
def make_td0_train(env: Any, env_params: Any, config: TD0Config
                   ) -> Callable[[jax.Array], TD0Result]:
    """Build ``train(key) -> TD0Result``: TD(0) estimate of V^π for ``config.policy``.

    Update after each step (s, r, s') of the policy:
    ``V(s) ← V(s) + α_t [r + γ (1 − terminated) V(s') − V(s)]`` (bootstrapping from
    the last observation at a truncation); α_t as in Q-learning with N(s).
    """
    if not isinstance(config, TD0Config):
        raise TypeError(f"config: expected a TD0Config, got {type(config).__name__}")
    params = env.default_params() if env_params is None else env_params
    S, A = _check_discrete(env, params)
    n_steps = as_int(config.n_steps, "config.n_steps", minimum=1)
    check_in(config.lr_schedule, "config.lr_schedule", LR_SCHEDULES)
    gamma = _scalar(config.gamma, "config.gamma", low=0.0, high=1.0, high_open=True)
    lr = _scalar(config.learning_rate, "config.learning_rate", low=0.0, high=1.0,
                 strict_low=True)
    decay = _scalar(config.lr_decay, "config.lr_decay", low=0.0)
    pi = as_array(config.policy, "config.policy", ndim=2, dtype=jnp.float32)
    if pi.shape != (S, A):
        raise ValueError(f"config.policy: expected shape ({S}, {A}), got {tuple(pi.shape)}")
    if is_concrete(pi):
        p = np.asarray(pi)
        if np.any(p < 0) or np.any(np.abs(p.sum(-1) - 1.0) > 1e-4):
            raise ValueError("config.policy: each row must be a probability vector")
    log_pi = jnp.log(pi)

    def train(key: jax.Array) -> TD0Result:
        check_key(key)
        reset_key, run_key = jax.random.split(key)
        obs, env_state = env.reset(reset_key, params)

        def step(carry, _):
            v, n, obs, env_state, t, key = carry
            key, act_key, step_key = jax.random.split(key, 3)
            action = jax.random.categorical(act_key, log_pi[obs]).astype(jnp.int32)
            obs2, state2, reward, terminated, _, info = env.step(step_key, env_state, action,
                                                                 params)
            s_next = info["final_obs"]
            n = n.at[obs].add(1)
            alpha = _learning_rate(config.lr_schedule, lr, decay, t, n[obs])
            target = reward + gamma * jnp.where(terminated, 0.0, v[s_next])
            v = v.at[obs].add(alpha * (target - v[obs]))
            return (v, n, obs2, state2, t + 1, key), None

        init = (jnp.zeros(S, jnp.float32), jnp.zeros(S, jnp.int32), obs, env_state,
                jnp.asarray(0, jnp.int32), run_key)
        (v, n, *_), _ = jax.lax.scan(step, init, None, length=n_steps)
        return TD0Result(v, n)

    return train
