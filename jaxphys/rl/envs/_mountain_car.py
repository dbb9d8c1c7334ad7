r"""Mountain car: gymnasium ``MountainCar-v0`` and ``MountainCarContinuous-v0`` in JAX.

An underpowered car in a valley, height :math:`0.45 \sin 3x + 0.55`, must rock back and
forth to reach the hilltop flag (Moore 1990, *Efficient memory-based learning for robot
control*). One step:

.. math::

    v' = \mathrm{clip}(v + F - g \cos 3x,\ \pm v_{\max}), \qquad
    x' = \mathrm{clip}(x + v',\ [x_{\min}, x_{\max}]),

with :math:`v' \leftarrow 0` if the car hits the left wall moving left
(:math:`x' = x_{\min}`, :math:`v' < 0`). The episode terminates when
:math:`x' \ge x_{\rm goal}` and :math:`v' \ge v_{\rm goal}`. The initial state is
:math:`x \sim U[-0.6, -0.4]`, :math:`v = 0`.

* :class:`MountainCar` (``-v0``): actions 0, 1, 2 push with :math:`F = (a - 1) \cdot
  0.001`; :math:`g = 0.0025`; the reward is −1 per step; :math:`x_{\rm goal} = 0.5`;
  truncation after 200 steps.
* :class:`MountainCarContinuous` (``-v0``): a force :math:`u \in [-1, 1]`,
  :math:`F = 0.0015\,u`; the reward is :math:`-0.1 u^2` per step plus 100 on reaching
  :math:`x_{\rm goal} = 0.45`; truncation after 999 steps.

Observation: ``(2,)`` float32 ``[x, v]`` (m, m/step).

Example:
    >>> import jax, jax.numpy as jnp
    >>> env = MountainCarContinuous()
    >>> obs, state = env.reset(jax.random.key(0))
    >>> obs, state, reward, terminated, truncated, info = env.step(
    ...     jax.random.key(1), state, jnp.array([1.0]))
    >>> round(float(reward), 3), bool(terminated)
    (-0.1, False)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int
from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["MountainCar", "MountainCarContinuous", "MountainCarParams", "MountainCarState"]


class MountainCarParams(NamedTuple):
    """Constants of the mountain car (scalar arrays; vmappable).

    Fields: min_position (−1.2), max_position (0.6), max_speed (0.07), goal_position
    (0.5 discrete, 0.45 continuous), goal_velocity (0), force (0.001 per unit of
    ``a − 1`` discrete; 0.0015 per unit of ``u`` continuous), gravity (0.0025).

    Example:
        >>> from jaxphys.rl.envs import MountainCar, MountainCarContinuous
        >>> p = MountainCar().default_params()
        >>> [round(float(x), 4) for x in (p.min_position, p.max_position, p.max_speed)]
        [-1.2, 0.6, 0.07]
        >>> round(float(p.goal_position), 4), round(float(p.force), 4), round(float(p.gravity), 4)
        (0.5, 0.001, 0.0025)
        >>> q = MountainCarContinuous().default_params()
        >>> round(float(q.goal_position), 4), round(float(q.force), 4)
        (0.45, 0.0015)
    """

    min_position: jax.Array
    max_position: jax.Array
    max_speed: jax.Array
    goal_position: jax.Array
    goal_velocity: jax.Array
    force: jax.Array
    gravity: jax.Array


class MountainCarState(NamedTuple):
    """Fields: position, velocity (float scalars); time (int32 scalar, steps taken).

    Example (at the valley floor, ``x = −π/6`` where ``cos 3x = 0``, gravity does not pull:
    a push right from rest gives exactly ``v' = F = 0.001``):
        >>> import math
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import MountainCar, MountainCarState
        >>> floor = MountainCarState(jnp.float32(-math.pi / 6), jnp.float32(0.0), jnp.int32(0))
        >>> obs, state, reward, terminated, truncated, info = MountainCar().step(
        ...     jax.random.key(0), floor, 2)                     # 2: push right
        >>> round(float(state.velocity), 6), float(reward), int(state.time)
        (0.001, -1.0, 1)
    """

    position: jax.Array
    velocity: jax.Array
    time: jax.Array


class _MountainCarBase(Environment):
    goal_position = 0.5
    force = 0.001

    def __init__(self, max_steps: int):
        self.max_steps = as_int(max_steps, "max_steps", minimum=1)

    def default_params(self) -> MountainCarParams:
        f = jnp.asarray
        return MountainCarParams(min_position=f(-1.2), max_position=f(0.6), max_speed=f(0.07),
                                 goal_position=f(self.goal_position), goal_velocity=f(0.0),
                                 force=f(self.force), gravity=f(0.0025))

    def observation_space(self, params: MountainCarParams) -> Box:
        low = jnp.stack([params.min_position, -params.max_speed]).astype(jnp.float32)
        high = jnp.stack([params.max_position, params.max_speed]).astype(jnp.float32)
        return Box(low, high, (2,), jnp.float32)

    @staticmethod
    def _obs(state: MountainCarState) -> jax.Array:
        return jnp.stack([state.position, state.velocity]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: MountainCarParams
                  ) -> tuple[jax.Array, MountainCarState]:
        dtype = jnp.result_type(params.force)
        position = jax.random.uniform(key, (), dtype, -0.6, -0.4)
        state = MountainCarState(position, jnp.zeros((), dtype), jnp.asarray(0, jnp.int32))
        return self._obs(state), state

    def _move(self, state: MountainCarState, push: jax.Array, p: MountainCarParams):
        velocity = state.velocity + (push - p.gravity * jnp.cos(3 * state.position))
        velocity = jnp.clip(velocity, -p.max_speed, p.max_speed)
        position = jnp.clip(state.position + velocity, p.min_position, p.max_position)
        velocity = jnp.where((position == p.min_position) & (velocity < 0), 0.0, velocity)
        new = MountainCarState(position, velocity, state.time + 1)
        terminated = (position >= p.goal_position) & (velocity >= p.goal_velocity)
        return new, terminated, new.time >= self.max_steps


class MountainCar(_MountainCarBase):
    """gymnasium ``MountainCar-v0``: ``Discrete(3)`` pushes (left, none, right), reward −1
    per step, truncation after ``max_steps`` (200).

    Example:
        >>> import jax
        >>> from jaxphys.rl.envs import MountainCar
        >>> env = MountainCar()
        >>> params = env.default_params()
        >>> env.max_steps, env.action_space(params).n, env.observation_space(params).shape
        (200, 3, (2,))
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> -0.6 <= float(obs[0]) <= -0.4, float(obs[1])        # in the valley, at rest
        (True, 0.0)
    """

    def __init__(self, max_steps: int = 200):
        super().__init__(max_steps)

    def action_space(self, params: MountainCarParams) -> Discrete:
        return Discrete(3)

    def step_env(self, key: jax.Array, state: MountainCarState, action: jax.Array,
                 params: MountainCarParams):
        dtype = jnp.result_type(params.force)
        push = (jnp.asarray(action) - 1).astype(dtype) * params.force
        new, terminated, truncated = self._move(state, push, params)
        return (self._obs(new), new, jnp.asarray(-1.0, jnp.float32), terminated, truncated, {})


class MountainCarContinuous(_MountainCarBase):
    """gymnasium ``MountainCarContinuous-v0``: a force ``Box(-1, 1, (1,))``, reward
    ``−0.1 u²`` per step and +100 at the goal (0.45), truncation after ``max_steps`` (999).

    Example (half throttle at the valley floor, ``cos 3x = 0``: ``v' = 0.0015·0.5`` and
    the reward is ``−0.1·0.5² = −0.025``):
        >>> import math
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import MountainCarContinuous, MountainCarState
        >>> env = MountainCarContinuous()
        >>> env.max_steps, env.action_space(env.default_params()).shape
        (999, (1,))
        >>> floor = MountainCarState(jnp.float32(-math.pi / 6), jnp.float32(0.0), jnp.int32(0))
        >>> obs, state, reward, terminated, truncated, info = env.step(
        ...     jax.random.key(0), floor, jnp.array([0.5]))
        >>> round(float(state.velocity), 6), round(float(reward), 4)
        (0.00075, -0.025)
    """

    goal_position = 0.45
    force = 0.0015

    def __init__(self, max_steps: int = 999):
        super().__init__(max_steps)

    def action_space(self, params: MountainCarParams) -> Box:
        return Box(-1.0, 1.0, (1,), jnp.float32)

    def step_env(self, key: jax.Array, state: MountainCarState, action: jax.Array,
                 params: MountainCarParams):
        dtype = jnp.result_type(params.force)
        u = jnp.clip(jnp.reshape(action, (-1,))[0], -1.0, 1.0).astype(dtype)
        new, terminated, truncated = self._move(state, u * params.force, params)
        reward = jnp.where(terminated, 100.0, 0.0) - 0.1 * u ** 2
        return self._obs(new), new, reward.astype(jnp.float32), terminated, truncated, {}
