"""Evaluate a policy: mean return over independent episodes, all in one jit.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl.envs import Box, Discrete, Environment
    >>> from typing import NamedTuple
    >>> class S(NamedTuple):
    ...     t: jax.Array
    >>> class Count(Environment):   # reward 1 per step, 5 steps per episode
    ...     def default_params(self): return ()
    ...     def reset_env(self, key, params): return jnp.zeros(1), S(jnp.asarray(0))
    ...     def step_env(self, key, state, action, params):
    ...         t = state.t + 1
    ...         return jnp.zeros(1), S(t), jnp.asarray(1.0), t >= 5, jnp.asarray(False), {}
    ...     def observation_space(self, params): return Box(-1.0, 1.0, (1,))
    ...     def action_space(self, params): return Discrete(2)
    >>> res = evaluate(jax.random.key(0), Count(), (), lambda k, o: jnp.asarray(0), n_episodes=3)
    >>> res.returns.tolist(), float(res.mean_return)
    ([5.0, 5.0, 5.0], 5.0)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_key

__all__ = ["EvalResult", "evaluate"]


class EvalResult(NamedTuple):
    """Returns of independent evaluation episodes.

    Fields:
        mean_return: float32 scalar, mean undiscounted return.
        returns: (n_episodes,) float32, undiscounted return of each episode.
        lengths: (n_episodes,) int32, steps in each episode (≤ max_steps).
        completed: (n_episodes,) bool, whether the episode ended (terminated or
            truncated by the environment) within ``max_steps``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import EvalResult
        >>> returns = jnp.array([1.0, 3.0])
        >>> res = EvalResult(jnp.mean(returns), returns, jnp.array([4, 10]),
        ...                  jnp.array([True, False]))
        >>> float(res.mean_return), res.completed.tolist()   # episode 2 hit max_steps = 10
        (2.0, [True, False])
    """

    mean_return: jax.Array
    returns: jax.Array
    lengths: jax.Array
    completed: jax.Array


def evaluate(key: jax.Array, env: Any, env_params: Any, policy: Callable[[jax.Array, jax.Array], Any],
             *, n_episodes: int = 16, max_steps: int = 1000) -> EvalResult:
    """Run ``n_episodes`` episodes of ``policy`` on ``env`` (vmapped, one ``lax.scan`` each).

    ``policy(key, obs) -> action`` acts on one observation (deterministic
    policies ignore the key). Each episode stops at the first
    ``terminated | truncated`` or after ``max_steps`` steps; steps after the end
    are masked out (the auto-reset is not counted). Jittable with ``env`` and
    ``policy`` static; call it inside your own ``jit`` with traced parameters.

    Example:
        >>> import jax
        >>> from jaxphys.rl import evaluate
        >>> from jaxphys.rl.envs import CartPole
        >>> push_right = lambda key, obs: 1       # reward 1 per step while the pole is up
        >>> res = evaluate(jax.random.key(0), CartPole(), None, push_right, n_episodes=2,
        ...                max_steps=5)           # 0.1 s: too short for the pole to fall
        >>> res.returns.tolist(), res.lengths.tolist(), res.completed.tolist()
        ([5.0, 5.0], [5, 5], [False, False])
    """
    check_key(key)
    n_episodes = as_int(n_episodes, "n_episodes", minimum=1)
    max_steps = as_int(max_steps, "max_steps", minimum=1)
    params = env.default_params() if env_params is None else env_params

    def one_episode(episode_key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        reset_key, run_key = jax.random.split(episode_key)
        obs, state = env.reset_env(reset_key, params)

        def body(carry, _):
            obs, state, ret, length, done, step_key = carry
            step_key, act_key, env_key = jax.random.split(step_key, 3)
            action = env.action_space(params).clip(policy(act_key, obs))
            obs2, state2, reward, terminated, truncated, _ = env.step_env(env_key, state, action, params)
            alive = jnp.logical_not(done)
            ret = ret + jnp.where(alive, jnp.asarray(reward, jnp.float32), 0.0)
            length = length + alive.astype(jnp.int32)
            done = jnp.logical_or(done, jnp.logical_or(terminated, truncated))
            return (obs2, state2, ret, length, done, step_key), None

        init = (obs, state, jnp.asarray(0.0, jnp.float32), jnp.asarray(0, jnp.int32),
                jnp.asarray(False), run_key)
        (_, _, ret, length, done, _), _ = jax.lax.scan(body, init, None, length=max_steps)
        return ret, length, done

    returns, lengths, completed = jax.vmap(one_episode)(jax.random.split(key, n_episodes))
    return EvalResult(jnp.mean(returns), returns, lengths, completed)
