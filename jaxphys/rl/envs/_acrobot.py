r"""Acrobot: gymnasium ``Acrobot-v1`` as a pure JAX environment.

Two links (masses :math:`m_1, m_2`, lengths :math:`l_1`, centres of mass at
:math:`l_{c1}, l_{c2}`, moments of inertia :math:`I_1 = I_2`) hang from a fixed pivot;
only the joint between them is driven, by a torque :math:`\tau \in \{-1, 0, +1\}` N·m
(actions 0, 1, 2). With the book's equations of motion (Sutton & Barto 2018,
*Reinforcement learning: an introduction*, §16.3; Sutton 1996),

.. math::

    d_1 &= m_1 l_{c1}^2 + m_2 (l_1^2 + l_{c2}^2 + 2 l_1 l_{c2}\cos\theta_2) + I_1 + I_2, \quad
    d_2 = m_2 (l_{c2}^2 + l_1 l_{c2}\cos\theta_2) + I_2,\\
    \phi_2 &= m_2 l_{c2} g \cos(\theta_1 + \theta_2 - \pi/2),\\
    \phi_1 &= -m_2 l_1 l_{c2} \dot\theta_2^2 \sin\theta_2
             - 2 m_2 l_1 l_{c2} \dot\theta_2 \dot\theta_1 \sin\theta_2
             + (m_1 l_{c1} + m_2 l_1) g \cos(\theta_1 - \pi/2) + \phi_2,\\
    \ddot\theta_2 &= \frac{\tau + \frac{d_2}{d_1}\phi_1 - m_2 l_1 l_{c2}\dot\theta_1^2\sin\theta_2
                    - \phi_2}{m_2 l_{c2}^2 + I_2 - d_2^2/d_1}, \qquad
    \ddot\theta_1 = -\frac{d_2 \ddot\theta_2 + \phi_1}{d_1},

integrated by one fourth-order Runge–Kutta step of :math:`\Delta t = 0.2` s, after which
the angles are wrapped to :math:`[-\pi, \pi]` and the velocities clipped to
:math:`\pm 4\pi` and :math:`\pm 9\pi` rad/s, exactly as gymnasium does. The episode
terminates when the tip rises above the bar, :math:`-\cos\theta_1 - \cos(\theta_1 +
\theta_2) > 1`; the reward is −1 per step and 0 on the terminating one; truncation after
``max_steps`` (500). The initial state is uniform in ``[-0.1, 0.1]^4``.

Observation: ``(6,)`` float32 ``[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]``. Action:
``Discrete(3)``.

Example:
    >>> import jax
    >>> env = Acrobot()
    >>> obs, state = env.reset(jax.random.key(0))
    >>> obs.shape
    (6,)
    >>> obs, state, reward, terminated, truncated, info = env.step(jax.random.key(1), state, 2)
    >>> float(reward), bool(terminated)
    (-1.0, False)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int
from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["Acrobot", "AcrobotParams", "AcrobotState"]


class AcrobotParams(NamedTuple):
    """Constants of Acrobot-v1 (scalar arrays; vmappable).

    Fields: dt (s, 0.2), link_length_1 (m, 1), link_mass_1, link_mass_2 (kg, 1),
    link_com_1, link_com_2 (m, 0.5: centres of mass), link_moi (kg·m², 1), max_vel_1
    (rad/s, 4π), max_vel_2 (rad/s, 9π), gravity (m/s², 9.8), max_torque (N·m, 1: the
    torques are −max, 0, +max).

    Example:
        >>> import math
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import Acrobot
        >>> p = Acrobot().default_params()
        >>> round(float(p.dt), 4), round(float(p.gravity), 4), round(float(p.link_com_1), 4)
        (0.2, 9.8, 0.5)
        >>> round(float(p.max_vel_1) / math.pi, 4), round(float(p.max_vel_2) / math.pi, 4)
        (4.0, 9.0)
        >>> heavy = p._replace(link_mass_2=jnp.asarray(2.0))   # a heavier outer link
        >>> float(heavy.link_mass_2), float(heavy.link_mass_1)
        (2.0, 1.0)
    """

    dt: jax.Array
    link_length_1: jax.Array
    link_mass_1: jax.Array
    link_mass_2: jax.Array
    link_com_1: jax.Array
    link_com_2: jax.Array
    link_moi: jax.Array
    max_vel_1: jax.Array
    max_vel_2: jax.Array
    gravity: jax.Array
    max_torque: jax.Array


class AcrobotState(NamedTuple):
    """Fields: theta_1, theta_2 (rad), theta_dot_1, theta_dot_2 (rad/s), float scalars;
    time (int32 scalar, steps taken).

    Example (hanging straight down at rest is an equilibrium: with no torque, action 1,
    nothing moves):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import Acrobot, AcrobotState
        >>> zero = jnp.float32(0.0)
        >>> rest = AcrobotState(zero, zero, zero, zero, time=jnp.int32(0))
        >>> obs, state, reward, terminated, truncated, info = Acrobot().step(
        ...     jax.random.key(0), rest, 1)
        >>> bool(jnp.allclose(obs, jnp.array([1.0, 0.0, 1.0, 0.0, 0.0, 0.0]), atol=1e-5))
        True
        >>> int(state.time), float(reward), bool(terminated)
        (1, -1.0, False)
    """

    theta_1: jax.Array
    theta_2: jax.Array
    theta_dot_1: jax.Array
    theta_dot_2: jax.Array
    time: jax.Array


def _wrap(x: jax.Array, low: float, high: float) -> jax.Array:
    """gymnasium's ``wrap``: shift by the period until ``low <= x <= high``."""
    period = high - low
    up = jnp.ceil((low - x) / period)
    down = jnp.ceil((x - high) / period)
    return jnp.where(x > high, x - down * period, jnp.where(x < low, x + up * period, x))


class Acrobot(Environment):
    """gymnasium ``Acrobot-v1`` (see the module docstring).

    Args:
        max_steps: truncation limit (static), 500 as in v1.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import Acrobot
        >>> env = Acrobot(max_steps=100)
        >>> params = env.default_params()
        >>> env.max_steps, env.action_space(params).n, env.observation_space(params).shape
        (100, 3, (6,))
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> tip = -jnp.cos(state.theta_1) - jnp.cos(state.theta_1 + state.theta_2)
        >>> round(float(tip), 1)      # tip height in link lengths: hanging, the goal is > 1
        -2.0
    """

    def __init__(self, max_steps: int = 500):
        self.max_steps = as_int(max_steps, "max_steps", minimum=1)

    def default_params(self) -> AcrobotParams:
        f = jnp.asarray
        return AcrobotParams(dt=f(0.2), link_length_1=f(1.0), link_mass_1=f(1.0),
                             link_mass_2=f(1.0), link_com_1=f(0.5), link_com_2=f(0.5),
                             link_moi=f(1.0), max_vel_1=f(4 * math.pi), max_vel_2=f(9 * math.pi),
                             gravity=f(9.8), max_torque=f(1.0))

    def observation_space(self, params: AcrobotParams) -> Box:
        one = jnp.ones_like(params.max_vel_1)
        high = jnp.stack([one, one, one, one, params.max_vel_1, params.max_vel_2]
                         ).astype(jnp.float32)
        return Box(-high, high, (6,), jnp.float32)

    def action_space(self, params: AcrobotParams) -> Discrete:
        return Discrete(3)

    @staticmethod
    def _obs(s: AcrobotState) -> jax.Array:
        return jnp.stack([jnp.cos(s.theta_1), jnp.sin(s.theta_1), jnp.cos(s.theta_2),
                          jnp.sin(s.theta_2), s.theta_dot_1, s.theta_dot_2]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: AcrobotParams) -> tuple[jax.Array, AcrobotState]:
        dtype = jnp.result_type(params.dt)
        init = jax.random.uniform(key, (4,), dtype, -0.1, 0.1)
        state = AcrobotState(init[0], init[1], init[2], init[3], jnp.asarray(0, jnp.int32))
        return self._obs(state), state

    @staticmethod
    def _derivatives(y: jax.Array, torque: jax.Array, p: AcrobotParams) -> jax.Array:
        theta_1, theta_2, dtheta_1, dtheta_2 = y[0], y[1], y[2], y[3]
        m1, m2, l1 = p.link_mass_1, p.link_mass_2, p.link_length_1
        lc1, lc2, inertia, g = p.link_com_1, p.link_com_2, p.link_moi, p.gravity
        d1 = (m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * jnp.cos(theta_2))
              + inertia + inertia)
        d2 = m2 * (lc2 ** 2 + l1 * lc2 * jnp.cos(theta_2)) + inertia
        phi2 = m2 * lc2 * g * jnp.cos(theta_1 + theta_2 - math.pi / 2.0)
        phi1 = (-m2 * l1 * lc2 * dtheta_2 ** 2 * jnp.sin(theta_2)
                - 2 * m2 * l1 * lc2 * dtheta_2 * dtheta_1 * jnp.sin(theta_2)
                + (m1 * lc1 + m2 * l1) * g * jnp.cos(theta_1 - math.pi / 2) + phi2)
        ddtheta_2 = ((torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta_1 ** 2 * jnp.sin(theta_2)
                      - phi2) / (m2 * lc2 ** 2 + inertia - d2 ** 2 / d1))
        ddtheta_1 = -(d2 * ddtheta_2 + phi1) / d1
        return jnp.stack([dtheta_1, dtheta_2, ddtheta_1, ddtheta_2])

    def step_env(self, key: jax.Array, state: AcrobotState, action: jax.Array,
                 params: AcrobotParams):
        p = params
        dtype = jnp.result_type(p.dt)
        torque = ((jnp.asarray(action) - 1).astype(dtype)) * p.max_torque
        y = jnp.stack([state.theta_1, state.theta_2, state.theta_dot_1,
                       state.theta_dot_2]).astype(dtype)
        half = p.dt / 2.0
        k1 = self._derivatives(y, torque, p)
        k2 = self._derivatives(y + half * k1, torque, p)
        k3 = self._derivatives(y + half * k2, torque, p)
        k4 = self._derivatives(y + p.dt * k3, torque, p)
        y = y + p.dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        new = AcrobotState(_wrap(y[0], -math.pi, math.pi), _wrap(y[1], -math.pi, math.pi),
                           jnp.clip(y[2], -p.max_vel_1, p.max_vel_1),
                           jnp.clip(y[3], -p.max_vel_2, p.max_vel_2), state.time + 1)
        terminated = -jnp.cos(new.theta_1) - jnp.cos(new.theta_2 + new.theta_1) > 1.0
        reward = jnp.where(terminated, 0.0, -1.0).astype(jnp.float32)
        truncated = new.time >= self.max_steps
        return self._obs(new), new, reward, terminated, truncated, {}
