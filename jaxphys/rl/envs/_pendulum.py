r"""Pendulum: gymnasium ``Pendulum-v1`` as a pure JAX environment.

A rigid rod (mass :math:`m`, length :math:`l`) swings about a pivot under
gravity :math:`g`, driven by a torque :math:`u \in [-u_{\max}, u_{\max}]`;
:math:`\theta = 0` is upright. One step of length :math:`\Delta t`
(semi-implicit Euler, as gymnasium):

.. math::

    \dot\theta' = \mathrm{clip}\Big(\dot\theta + \big(\tfrac{3g}{2l}\sin\theta
                  + \tfrac{3}{m l^2} u\big)\Delta t,\ \pm\dot\theta_{\max}\Big), \qquad
    \theta' = \theta + \dot\theta' \Delta t,

with reward :math:`-(\bar\theta^2 + 0.1\,\dot\theta^2 + 0.001\,u^2)` evaluated
at the state *before* the step, :math:`\bar\theta` the angle wrapped to
:math:`[-\pi, \pi)`. Episodes never terminate; they are truncated after
``max_steps`` (200) steps. The initial state is uniform,
:math:`\theta \in [-\pi, \pi]`, :math:`\dot\theta \in [-1, 1]`.

Observation: ``(3,)`` float32 ``[cos θ, sin θ, θ̇]``. Action: ``Box(-2, 2, (1,))``
torque in N·m; concrete out-of-range actions raise, traced ones are clipped
(gymnasium clips too).

Example:
    >>> import jax, jax.numpy as jnp
    >>> env = Pendulum()
    >>> params = env.default_params()
    >>> obs, state = env.reset(jax.random.key(0), params)
    >>> obs.shape
    (3,)
    >>> obs, state, reward, terminated, truncated, info = env.step(
    ...     jax.random.key(1), state, jnp.array([0.5]), params)
    >>> bool(reward <= 0), bool(terminated)
    (True, False)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int
from jaxphys.rl.envs._base import Box, Environment

__all__ = ["Pendulum", "PendulumParams", "PendulumState"]


class PendulumParams(NamedTuple):
    """Primitive constants of Pendulum-v1 (scalar arrays; vmappable).

    Fields:
        max_speed: rad/s, 8.0.   max_torque: N·m, 2.0.   dt: s, 0.05.
        g: m/s², 10.0.   m: kg, 1.0.   l: m, 1.0.

    Example:
        >>> from jaxphys.rl.envs import Pendulum, PendulumParams
        >>> p = Pendulum().default_params()
        >>> PendulumParams._fields
        ('max_speed', 'max_torque', 'dt', 'g', 'm', 'l')
        >>> [round(float(x), 4) for x in p]
        [8.0, 2.0, 0.05, 10.0, 1.0, 1.0]
    """

    max_speed: jax.Array
    max_torque: jax.Array
    dt: jax.Array
    g: jax.Array
    m: jax.Array
    l: jax.Array


class PendulumState(NamedTuple):
    """Fields: theta (rad), theta_dot (rad/s) float scalars; time (int32 scalar, steps taken).

    Example (upright at rest, a torque of 1 N·m: ``θ̇' = 3u/(ml²)·Δt = 0.15``,
    ``θ' = θ̇'Δt = 0.0075``, and the reward is the cost of the torque, ``−0.001 u²``):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import Pendulum, PendulumState
        >>> upright = PendulumState(jnp.float32(0.0), jnp.float32(0.0), jnp.int32(0))
        >>> obs, state, reward, terminated, truncated, info = Pendulum().step(
        ...     jax.random.key(0), upright, jnp.array([1.0]))
        >>> [round(float(x), 4) for x in (state.theta_dot, state.theta, reward)]
        [0.15, 0.0075, -0.001]
    """

    theta: jax.Array
    theta_dot: jax.Array
    time: jax.Array


def angle_normalize(x: jax.Array) -> jax.Array:
    """Wrap an angle to ``[-π, π)``."""
    return ((x + math.pi) % (2 * math.pi)) - math.pi


class Pendulum(Environment):
    """gymnasium ``Pendulum-v1`` (see the module docstring).

    Args:
        max_steps: truncation limit (static), 200 as in v1.

    Example:
        >>> import jax
        >>> from jaxphys.rl.envs import Pendulum
        >>> env = Pendulum()
        >>> params = env.default_params()
        >>> env.max_steps, env.observation_space(params).shape
        (200, (3,))
        >>> torque = env.action_space(params)
        >>> float(torque.low), float(torque.high), torque.shape
        (-2.0, 2.0, (1,))
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> round(float(obs[0] ** 2 + obs[1] ** 2), 4)         # (cos θ, sin θ) on the circle
        1.0
    """

    def __init__(self, max_steps: int = 200):
        self.max_steps = as_int(max_steps, "max_steps", minimum=1)

    def default_params(self) -> PendulumParams:
        f = jnp.asarray
        return PendulumParams(max_speed=f(8.0), max_torque=f(2.0), dt=f(0.05), g=f(10.0),
                              m=f(1.0), l=f(1.0))

    def observation_space(self, params: PendulumParams) -> Box:
        high = jnp.stack([jnp.ones_like(params.max_speed), jnp.ones_like(params.max_speed),
                          params.max_speed]).astype(jnp.float32)
        return Box(-high, high, (3,), jnp.float32)

    def action_space(self, params: PendulumParams) -> Box:
        return Box(-params.max_torque, params.max_torque, (1,), jnp.float32)

    @staticmethod
    def _obs(state: PendulumState) -> jax.Array:
        return jnp.stack([jnp.cos(state.theta), jnp.sin(state.theta),
                          state.theta_dot]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: PendulumParams
                  ) -> tuple[jax.Array, PendulumState]:
        dtype = jnp.result_type(params.dt)
        high = jnp.asarray([math.pi, 1.0], dtype)
        init = jax.random.uniform(key, (2,), dtype, -high, high)
        state = PendulumState(init[0], init[1], jnp.asarray(0, jnp.int32))
        return self._obs(state), state

    def step_env(self, key: jax.Array, state: PendulumState, action: jax.Array,
                 params: PendulumParams):
        p = params
        u = jnp.clip(jnp.reshape(action, (-1,))[0], -p.max_torque, p.max_torque)
        u = u.astype(jnp.result_type(p.dt))
        th, thdot = state.theta, state.theta_dot
        costs = angle_normalize(th) ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2
        newthdot = thdot + (3 * p.g / (2 * p.l) * jnp.sin(th) + 3.0 / (p.m * p.l ** 2) * u) * p.dt
        newthdot = jnp.clip(newthdot, -p.max_speed, p.max_speed)
        newth = th + newthdot * p.dt
        new = PendulumState(newth, newthdot, state.time + 1)
        truncated = new.time >= self.max_steps
        return (self._obs(new), new, (-costs).astype(jnp.float32), jnp.asarray(False),
                truncated, {})
