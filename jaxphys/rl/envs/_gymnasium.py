"""``GymnasiumAdapter``: a gymnasium environment driven from the host with the jaxphys
``reset``/``step`` signatures. It is *not* jittable or vmappable (gymnasium is stateful
Python); it is for users who bring their own environment.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_key
from jaxphys.rl._evaluate import EvalResult
from jaxphys.rl.envs._base import Box, Discrete, _check_action

__all__ = ["GymnasiumAdapter"]


def _convert_space(space: Any) -> Discrete | Box:
    import gymnasium

    if isinstance(space, gymnasium.spaces.Discrete):
        return Discrete(int(space.n))
    if isinstance(space, gymnasium.spaces.Box):
        return Box(np.asarray(space.low), np.asarray(space.high), tuple(space.shape),
                   jnp.dtype(space.dtype))
    raise ValueError(f"env: unsupported gymnasium space {type(space).__name__}; "
                     "only Discrete and Box")


class GymnasiumAdapter:
    """Drive a gymnasium environment from the host with the jaxphys signatures.

    NOT jittable, NOT vmappable: each call runs gymnasium's Python ``step``;
    ``state`` is only an episode counter and the gymnasium object itself holds
    the real state, so calls must be sequential. Auto-reset and
    ``info["final_obs"]`` follow the jaxphys convention. The reset seed is drawn
    from ``key`` (so runs are reproducible from a typed key).

    Args:
        env: a gymnasium id (``"CartPole-v1"``) or a ``gymnasium.Env``.
        **make_kwargs: passed to ``gymnasium.make`` with an id.

    Example (needs gymnasium; the same key gives the same start):
        >>> import jax
        >>> import numpy as np
        >>> from jaxphys.rl.envs import GymnasiumAdapter
        >>> env = GymnasiumAdapter("CartPole-v1")
        >>> env.observation_space().shape, env.action_space().n
        ((4,), 2)
        >>> obs, state = env.reset(jax.random.key(0))
        >>> bool(np.array_equal(obs, env.reset(jax.random.key(0))[0]))
        True
        >>> obs, state, reward, terminated, truncated, info = env.step(
        ...     jax.random.key(1), state, 1)
        >>> obs.shape, float(reward), bool(terminated)
        ((4,), 1.0, False)
        >>> env.close()
    """

    def __init__(self, env: Any, **make_kwargs: Any) -> None:
        import gymnasium

        if isinstance(env, str):
            env = gymnasium.make(env, **make_kwargs)
        if not isinstance(env, gymnasium.Env):
            raise ValueError(f"env: expected a gymnasium id or gymnasium.Env, got "
                             f"{type(env).__name__}")
        self.gym_env = env
        self._obs_space = _convert_space(env.observation_space)
        self._act_space = _convert_space(env.action_space)

    def default_params(self) -> None:
        return None

    def observation_space(self, params: Any = None) -> Discrete | Box:
        return self._obs_space

    def action_space(self, params: Any = None) -> Discrete | Box:
        return self._act_space

    @staticmethod
    def _seed(key: jax.Array) -> int:
        check_key(key)
        return int(jax.random.randint(key, (), 0, 2**31 - 1))

    def reset(self, key: jax.Array, params: Any = None) -> tuple[np.ndarray, int]:
        """``(obs, state)``: gymnasium ``reset(seed=...)`` with a seed drawn from ``key``."""
        obs, _ = self.gym_env.reset(seed=self._seed(key))
        return np.asarray(obs), 0

    def step(self, key: jax.Array, state: int, action: Any, params: Any = None):
        """One gymnasium step; on episode end resets (seed from ``key``) and reports
        the last observation as ``info["final_obs"]``."""
        space = self._act_space
        if isinstance(action, jax.Array):
            action = np.asarray(action)
        _check_action(space, action)
        a = int(action) if isinstance(space, Discrete) else np.asarray(action, space.dtype)
        obs, reward, terminated, truncated, info = self.gym_env.step(a)
        info = dict(info)
        info["final_obs"] = np.asarray(obs)
        if terminated or truncated:
            obs, _ = self.gym_env.reset(seed=self._seed(key))
            state = state + 1
        return (np.asarray(obs), state, np.float32(reward), bool(terminated), bool(truncated),
                info)

    def evaluate(self, key: jax.Array, policy: Callable[[jax.Array, Any], Any], *,
                 n_episodes: int = 4, max_steps: int = 1000) -> EvalResult:
        """Host-side counterpart of ``jaxphys.rl.evaluate`` (a Python loop; the policy
        may be a jitted function). Returns numpy arrays in an ``EvalResult``."""
        n_episodes = as_int(n_episodes, "n_episodes", minimum=1)
        max_steps = as_int(max_steps, "max_steps", minimum=1)
        returns = np.zeros(n_episodes, np.float32)
        lengths = np.zeros(n_episodes, np.int32)
        completed = np.zeros(n_episodes, bool)
        for i, episode_key in enumerate(jax.random.split(key, n_episodes)):
            reset_key, run_key = jax.random.split(episode_key)
            obs, _ = self.gym_env.reset(seed=self._seed(reset_key))
            act_keys = jax.random.split(run_key, max_steps)
            for t in range(max_steps):
                action = np.asarray(policy(act_keys[t], obs))
                a = int(action) if isinstance(self._act_space, Discrete) else action
                obs, reward, terminated, truncated, _ = self.gym_env.step(a)
                returns[i] += float(reward)
                lengths[i] = t + 1
                if terminated or truncated:
                    completed[i] = True
                    break
        return EvalResult(np.float32(returns.mean()), returns, lengths, completed)

    def close(self) -> None:
        self.gym_env.close()

    @property
    def name(self) -> str:
        return f"GymnasiumAdapter({self.gym_env.spec.id if self.gym_env.spec else '?'})"
