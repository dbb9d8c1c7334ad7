r"""CartPole: gymnasium ``CartPole-v1`` as a pure JAX environment.

A pole (half-length :math:`l`, mass :math:`m_p`) is hinged on a cart (mass
:math:`m_c`) that a force :math:`F = \pm F_{\max}` pushes left (action 0) or
right (action 1). With :math:`M = m_c + m_p` and
:math:`t = (F + m_p l \dot\theta^2 \sin\theta) / M`,

.. math::

    \ddot\theta = \frac{g \sin\theta - \cos\theta\, t}
                       {l\,(4/3 - m_p \cos^2\theta / M)}, \qquad
    \ddot x = t - m_p l \ddot\theta \cos\theta / M,

integrated with explicit Euler over :math:`\tau = 0.02` s (all four components
updated from the old state), exactly as gymnasium does. The reward is +1 for
every step, including the terminating one. An episode terminates when
:math:`|x| > 2.4` m or :math:`|\theta| > 12°` and is truncated after
``max_steps`` (500) steps. The initial state is uniform in ``[-0.05, 0.05]^4``.

Observation: ``(4,)`` float32 ``[x, x_dot, theta, theta_dot]`` (m, m/s, rad,
rad/s). Action: ``Discrete(2)``. Parameters (``CartPoleParams``) are the
primitive constants; the total mass and ``m_p l`` are derived in ``step``.

Example:
    >>> import jax
    >>> env = CartPole()
    >>> params = env.default_params()
    >>> obs, state = env.reset(jax.random.key(0), params)
    >>> obs.shape, obs.dtype
    ((4,), dtype('float32'))
    >>> obs, state, reward, terminated, truncated, info = env.step(
    ...     jax.random.key(1), state, 1, params)
    >>> float(reward), bool(terminated), int(state.time)
    (1.0, False, 1)
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int
from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["CartPole", "CartPoleParams", "CartPoleState"]


class CartPoleParams(NamedTuple):
    """Primitive physical constants of CartPole-v1 (scalar arrays; vmappable).

    Fields:
        gravity: m/s², 9.8.
        masscart: kg, 1.0.
        masspole: kg, 0.1.
        length: m, half the pole's length, 0.5.
        force_mag: N, magnitude of the push, 10.0.
        tau: s, time step, 0.02.
        theta_threshold: rad, termination angle, 12° = 2π·12/360.
        x_threshold: m, termination position, 2.4.

    Example:
        >>> import math
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import CartPole
        >>> p = CartPole().default_params()
        >>> round(float(p.masscart + p.masspole), 4), round(float(p.length), 4)   # M, half-length
        (1.1, 0.5)
        >>> round(math.degrees(float(p.theta_threshold)), 4), round(float(p.x_threshold), 4)
        (12.0, 2.4)
        >>> moon = p._replace(gravity=jnp.asarray(1.62))      # same env, other constants
        >>> round(float(moon.gravity), 4)
        1.62
    """

    gravity: jax.Array
    masscart: jax.Array
    masspole: jax.Array
    length: jax.Array
    force_mag: jax.Array
    tau: jax.Array
    theta_threshold: jax.Array
    x_threshold: jax.Array


class CartPoleState(NamedTuple):
    """Fields: x, x_dot, theta, theta_dot (scalars, float); time (int32 scalar, steps taken).

    Example (push the upright pole at rest to the right with 10 N: one Euler step gives
    the cart ``ẋ' = τ·4F/(4M − 3m_p)`` and the pole ``θ̇' = −τ·3F/(l(4M − 3m_p))``):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import CartPole, CartPoleState
        >>> zero = jnp.float32(0.0)
        >>> upright = CartPoleState(x=zero, x_dot=zero, theta=zero, theta_dot=zero,
        ...                         time=jnp.int32(0))
        >>> obs, state, reward, terminated, truncated, info = CartPole().step(
        ...     jax.random.key(0), upright, 1)
        >>> round(float(state.x_dot), 4), round(0.02 * 4 * 10.0 / (4 * 1.1 - 3 * 0.1), 4)
        (0.1951, 0.1951)
        >>> round(float(state.theta_dot), 4), round(-0.02 * 3 * 10.0 / (0.5 * 4.1), 4)
        (-0.2927, -0.2927)
    """

    x: jax.Array
    x_dot: jax.Array
    theta: jax.Array
    theta_dot: jax.Array
    time: jax.Array


class CartPole(Environment):
    """gymnasium ``CartPole-v1`` (see the module docstring).

    Args:
        max_steps: truncation limit (static), 500 as in v1.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import CartPole
        >>> env = CartPole(max_steps=200)
        >>> params = env.default_params()
        >>> env.max_steps, env.action_space(params).n, env.observation_space(params).shape
        (200, 2, (4,))
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> bool(jnp.all(jnp.abs(obs) <= 0.05)), int(state.time)   # near upright rest
        (True, 0)
    """

    def __init__(self, max_steps: int = 500):
        self.max_steps = as_int(max_steps, "max_steps", minimum=1)

    def default_params(self) -> CartPoleParams:
        f = jnp.asarray
        return CartPoleParams(gravity=f(9.8), masscart=f(1.0), masspole=f(0.1), length=f(0.5),
                              force_mag=f(10.0), tau=f(0.02),
                              theta_threshold=f(12 * 2 * math.pi / 360), x_threshold=f(2.4))

    def observation_space(self, params: CartPoleParams) -> Box:
        high = jnp.stack([params.x_threshold * 2, jnp.inf, params.theta_threshold * 2,
                          jnp.inf]).astype(jnp.float32)
        return Box(-high, high, (4,), jnp.float32)

    def action_space(self, params: CartPoleParams) -> Discrete:
        return Discrete(2)

    @staticmethod
    def _obs(state: CartPoleState) -> jax.Array:
        return jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot]).astype(jnp.float32)

    def reset_env(self, key: jax.Array, params: CartPoleParams
                  ) -> tuple[jax.Array, CartPoleState]:
        dtype = jnp.result_type(params.tau)
        init = jax.random.uniform(key, (4,), dtype, -0.05, 0.05)
        state = CartPoleState(init[0], init[1], init[2], init[3], jnp.asarray(0, jnp.int32))
        return self._obs(state), state

    def step_env(self, key: jax.Array, state: CartPoleState, action: jax.Array,
                 params: CartPoleParams):
        p = params
        force = jnp.where(action == 1, p.force_mag, -p.force_mag)
        total_mass = p.masspole + p.masscart
        polemass_length = p.masspole * p.length
        cos, sin = jnp.cos(state.theta), jnp.sin(state.theta)
        temp = (force + polemass_length * state.theta_dot ** 2 * sin) / total_mass
        thetaacc = (p.gravity * sin - cos * temp) / (
            p.length * (4.0 / 3.0 - p.masspole * cos ** 2 / total_mass))
        xacc = temp - polemass_length * thetaacc * cos / total_mass
        new = CartPoleState(
            x=state.x + p.tau * state.x_dot,
            x_dot=state.x_dot + p.tau * xacc,
            theta=state.theta + p.tau * state.theta_dot,
            theta_dot=state.theta_dot + p.tau * thetaacc,
            time=state.time + 1,
        )
        terminated = ((new.x < -p.x_threshold) | (new.x > p.x_threshold)
                      | (new.theta < -p.theta_threshold) | (new.theta > p.theta_threshold))
        truncated = new.time >= self.max_steps
        reward = jnp.asarray(1.0, jnp.float32)
        return self._obs(new), new, reward, terminated, truncated, {}
