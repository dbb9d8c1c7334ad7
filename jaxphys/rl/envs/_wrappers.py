"""Environment wrappers: episode statistics, observation normalisation, reward scaling.

``EpisodeStatistics`` and ``NormalizeObservation`` are pure environments
wrapping another one (their state wraps the inner state), jittable and
vmappable like any ``Environment``; their statistics survive the auto-reset.
(``GymnasiumAdapter``, for a gymnasium environment driven from the host, is in
``_gymnasium.py``.)

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import GridWorld
    >>> env = EpisodeStatistics(GridWorld(["SG"], step_reward=0.0))
    >>> obs, state = env.reset(jax.random.key(0))
    >>> obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, 1)
    >>> bool(info["returned_episode"]), float(info["episode_return"]), int(info["episode_length"])
    (True, 1.0, 1)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["EpisodeStatsState", "EpisodeStatistics", "NormalizeObsState", "NormalizeObservation",
           "ScaleReward"]


class _Wrapper(Environment):
    def __init__(self, env: Environment) -> None:
        if not isinstance(env, Environment):
            raise ValueError(f"env: expected a jaxphys Environment, got {type(env).__name__}")
        self.env = env

    def default_params(self) -> Any:
        return self.env.default_params()

    def observation_space(self, params: Any) -> Discrete | Box:
        return self.env.observation_space(params)

    def action_space(self, params: Any) -> Discrete | Box:
        return self.env.action_space(params)

    def __getattr__(self, name: str) -> Any:          # action_mask, to_mdp, sizes ...
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def name(self) -> str:
        return f"{type(self).__name__}({self.env.name})"


# --------------------------------------------------------------------------- statistics
class EpisodeStatsState(NamedTuple):
    """Fields:
        env_state: the inner environment's state.
        episode_return: float32 scalar, return so far in the running episode.
        episode_length: int32 scalar, steps so far in the running episode.
        returned_episode_return: float32 scalar, return of the last finished episode.
        returned_episode_length: int32 scalar, length of the last finished episode.

    Example:
        >>> import jax
        >>> from jaxphys.rl.envs import EpisodeStatistics, GridWorld
        >>> obs, state = EpisodeStatistics(GridWorld(["SG"])).reset(jax.random.key(0))
        >>> type(state.env_state).__name__          # the inner environment's state
        'GridWorldState'
        >>> float(state.episode_return), int(state.episode_length)
        (0.0, 0)
    """

    env_state: Any
    episode_return: jax.Array
    episode_length: jax.Array
    returned_episode_return: jax.Array
    returned_episode_length: jax.Array


class EpisodeStatistics(_Wrapper):
    """Track undiscounted episode returns and lengths across auto-resets.

    ``step`` adds to ``info``: ``returned_episode`` (bool, an episode ended at this
    step), ``episode_return`` and ``episode_length`` (of the last finished
    episode; at an ending step, the one that just ended). Average
    ``info["episode_return"]`` where ``info["returned_episode"]`` for a learning
    curve.

    Example (a bump into the wall costs −0.1, entering the goal pays +1):
        >>> import jax
        >>> from jaxphys.rl.envs import EpisodeStatistics, GridWorld
        >>> env = EpisodeStatistics(GridWorld(["SG"], step_reward=-0.1))
        >>> obs, state = env.reset(jax.random.key(0))
        >>> obs, state, reward, terminated, truncated, info = env.step(
        ...     jax.random.key(1), state, 3)                     # 3: left, into the wall
        >>> bool(info["returned_episode"]), round(float(state.episode_return), 4)
        (False, -0.1)
        >>> obs, state, reward, terminated, truncated, info = env.step(
        ...     jax.random.key(2), state, 1)
        >>> bool(info["returned_episode"]), round(float(info["episode_return"]), 4)
        (True, 0.9)
        >>> int(info["episode_length"]), float(state.episode_return)   # a new episode
        (2, 0.0)
    """

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, EpisodeStatsState]:
        obs, state = self.env.reset_env(key, params)
        z, zi = jnp.asarray(0.0, jnp.float32), jnp.asarray(0, jnp.int32)
        return obs, EpisodeStatsState(state, z, zi, z, zi)

    def step_env(self, key, state, action, params):
        obs, inner, reward, terminated, truncated, info = self.env.step_env(
            key, state.env_state, action, params)
        return (obs, self._update(state, inner, reward, terminated, truncated, info),
                reward, terminated, truncated, info)

    @staticmethod
    def _update(state, inner, reward, terminated, truncated, info):
        done = jnp.logical_or(terminated, truncated)
        ret = state.episode_return + jnp.asarray(reward, jnp.float32)
        length = state.episode_length + 1
        new = EpisodeStatsState(
            inner, jnp.where(done, 0.0, ret), jnp.where(done, 0, length),
            jnp.where(done, ret, state.returned_episode_return),
            jnp.where(done, length, state.returned_episode_length))
        info["returned_episode"] = done
        info["episode_return"] = new.returned_episode_return
        info["episode_length"] = new.returned_episode_length
        return new

    def step(self, key, state, action, params=None):
        params = self.default_params() if params is None else params
        obs, inner, reward, terminated, truncated, info = self.env.step(
            key, state.env_state, action, params)       # the inner env auto-resets
        new = self._update(state, inner, reward, terminated, truncated, info)
        return obs, new, reward, terminated, truncated, info


# --------------------------------------------------------------------------- normalisation
class NormalizeObsState(NamedTuple):
    """Fields:
        env_state: the inner environment's state.
        mean: observation-shaped float32, running mean of the raw observations.
        var: observation-shaped float32, running (population) variance.
        count: float32 scalar, observations seen (starts at ``1e-4``).

    Example (frozen moments applied to a Pendulum observation ``[cos θ, sin θ, θ̇]``):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import NormalizeObsState, NormalizeObservation, Pendulum
        >>> moments = NormalizeObsState(env_state=None, mean=jnp.array([0.0, 0.0, 1.0]),
        ...                             var=jnp.array([1.0, 1.0, 4.0]), count=jnp.float32(10.0))
        >>> env = NormalizeObservation(Pendulum(), clip=5.0)
        >>> env.normalize(jnp.array([0.5, -1.0, 5.0]), moments).tolist()   # (x − mean) / √var
        [0.5, -1.0, 2.0]
        >>> env.normalize(jnp.array([0.5, -1.0, 21.0]), moments).tolist()  # 10, clipped to 5
        [0.5, -1.0, 5.0]
    """

    env_state: Any
    mean: jax.Array
    var: jax.Array
    count: jax.Array


class NormalizeObservation(_Wrapper):
    """Return ``clip((obs − mean) / sqrt(var + eps), ±clip)`` with running moments.

    The mean and variance are updated with every observation the wrapper returns
    (reset and step, merged with the parallel-variance formula of Chan et al.)
    and carried in the state, across auto-resets. Each (vmapped) environment
    instance keeps its own moments. ``normalize(obs, state)`` applies frozen
    moments, e.g. at evaluation.

    Args:
        env: a ``Box``-observation environment.
        eps: variance floor.
        clip: bound on the normalised values.

    Example (the running mean is the mean of the raw angular velocities seen, the first
    one included):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import NormalizeObservation, Pendulum
        >>> env = NormalizeObservation(Pendulum(), clip=5.0)
        >>> space = env.observation_space(env.default_params())
        >>> space.low, space.high, space.shape
        (-5.0, 5.0, (3,))
        >>> obs, state = env.reset(jax.random.key(0))
        >>> raw = [float(state.env_state.theta_dot)]
        >>> for i in range(3):
        ...     obs, state, *_ = env.step(jax.random.key(i + 1), state, jnp.array([0.0]))
        ...     raw.append(float(state.env_state.theta_dot))
        >>> abs(float(state.mean[2]) - sum(raw) / 4) < 1e-3, round(float(state.count), 4)
        (True, 4.0001)
    """

    def __init__(self, env: Environment, *, eps: float = 1e-8, clip: float = 10.0) -> None:
        super().__init__(env)
        space = env.observation_space(env.default_params())
        if not isinstance(space, Box):
            raise ValueError(f"env: observation normalisation needs a Box observation space, "
                             f"got {type(space).__name__}")
        if not (eps > 0 and clip > 0):
            raise ValueError(f"eps, clip: expected positive values, got {eps}, {clip}")
        self.eps, self.clip = float(eps), float(clip)

    def observation_space(self, params: Any) -> Box:
        shape = self.env.observation_space(params).shape
        return Box(-self.clip, self.clip, tuple(shape), jnp.float32)

    def normalize(self, obs: jax.Array, state: NormalizeObsState) -> jax.Array:
        z = (jnp.asarray(obs, jnp.float32) - state.mean) / jnp.sqrt(state.var + self.eps)
        return jnp.clip(z, -self.clip, self.clip)

    @staticmethod
    def _update(state: NormalizeObsState, inner: Any, obs: jax.Array) -> NormalizeObsState:
        x = jnp.asarray(obs, jnp.float32)
        count = state.count + 1.0
        delta = x - state.mean
        mean = state.mean + delta / count
        m2 = state.var * state.count + delta * delta * state.count / count
        return NormalizeObsState(inner, mean, m2 / count, count)

    def _fresh(self, inner: Any, obs: jax.Array) -> NormalizeObsState:
        shape = jnp.shape(obs)
        s = NormalizeObsState(inner, jnp.zeros(shape, jnp.float32), jnp.ones(shape, jnp.float32),
                              jnp.asarray(1e-4, jnp.float32))
        return self._update(s, inner, obs)

    def reset_env(self, key, params):
        obs, inner = self.env.reset_env(key, params)
        state = self._fresh(inner, obs)
        return self.normalize(obs, state), state

    def step_env(self, key, state, action, params):
        obs, inner, reward, terminated, truncated, info = self.env.step_env(
            key, state.env_state, action, params)
        new = self._update(state, inner, obs)
        return self.normalize(obs, new), new, reward, terminated, truncated, info

    def reset(self, key, params=None):
        params = self.default_params() if params is None else params
        return self.reset_env(key, params)

    def step(self, key, state, action, params=None):
        params = self.default_params() if params is None else params
        obs, inner, reward, terminated, truncated, info = self.env.step(
            key, state.env_state, action, params)        # the inner env auto-resets
        new = self._update(state, inner, obs)
        info["final_obs"] = self.normalize(info["final_obs"], new)
        return self.normalize(obs, new), new, reward, terminated, truncated, info


# --------------------------------------------------------------------------- reward scale
class ScaleReward(_Wrapper):
    """Multiply every reward by a constant ``scale`` (observations, states, termination
    unchanged).

    Value targets scale with the rewards; bringing them to order one (Pendulum's
    rewards of up to −16 per step by 0.1, say) speeds up critic learning markedly
    (Engstrom et al. 2020, *Implementation matters in deep policy gradients*). Train on
    the scaled environment, evaluate on the original one.

    Example:
        >>> import jax
        >>> from jaxphys.rl.envs import Pendulum
        >>> env = ScaleReward(Pendulum(), 0.1)
        >>> obs, state = env.reset(jax.random.key(0))
        >>> r_scaled = env.step(jax.random.key(1), state, jax.numpy.array([0.5]))[2]
        >>> r = Pendulum().step(jax.random.key(1), state, jax.numpy.array([0.5]))[2]
        >>> bool(abs(r_scaled - 0.1 * r) < 1e-6)
        True
    """

    def __init__(self, env: Environment, scale: float) -> None:
        super().__init__(env)
        scale = float(scale)
        if not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"scale: expected a finite value > 0, got {scale}")
        self.scale = scale

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        return self.env.reset_env(key, params)

    def step_env(self, key, state, action, params):
        obs, inner, reward, terminated, truncated, info = self.env.step_env(key, state, action,
                                                                            params)
        return obs, inner, reward * self.scale, terminated, truncated, info

    @property
    def name(self) -> str:
        return f"ScaleReward({self.env.name}, {self.scale:g})"
