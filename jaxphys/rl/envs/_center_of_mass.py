r"""Find the centre of mass of a particle cloud: an environment whose observation is a set.

``K`` particles with masses :math:`m_k` sit at fixed positions :math:`p_k` in the unit
square (drawn at reset); a probe at :math:`x` moves by ``move`` in one of four directions
(or stays) each step and must reach the centre of mass
:math:`c = \sum_k m_k p_k / \sum_k m_k`. The probe sees the cloud from where it is: the
observation is the **set** of rows :math:`(p_k - x, m_k)`, ``(K, 3)``, listed in a fresh
random order at every step, so only a permutation-invariant function of the rows (a
Deep Sets network, Zaheer et al. 2017, *Deep sets*) can read it reliably.

The reward is the distance covered towards the centre of mass minus a cost per step,
:math:`r = (D - D')/\text{move} - \text{step\_cost}` with :math:`D = |x - c|`; the episode
terminates when :math:`D' \le \text{move}/2` and is truncated after ``max_steps``.

Actions: ``Discrete(5)``: stay, +x, −x, +y, −y. Parameters (:class:`CenterOfMassParams`):
``move``, ``step_cost``, ``mass_spread`` (masses uniform in ``[1, 1 + mass_spread]``).

Example:
    >>> import jax
    >>> env = CenterOfMass(n_particles=6)
    >>> obs, state = env.reset(jax.random.key(0))
    >>> obs.shape
    (6, 3)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int
from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["CenterOfMass", "CenterOfMassParams", "CenterOfMassState", "center_of_mass"]

_MOVES = ((0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))


class CenterOfMassParams(NamedTuple):
    """Fields: move (step length, > 0), step_cost (reward per step, ≥ 0), mass_spread
    (masses uniform in [1, 1 + mass_spread], ≥ 0). Scalar arrays; vmappable.

    Example:
        >>> from jaxphys.rl.envs import CenterOfMass, CenterOfMassParams
        >>> p = CenterOfMass().default_params()
        >>> CenterOfMassParams._fields
        ('move', 'step_cost', 'mass_spread')
        >>> round(float(p.move), 4), round(float(p.step_cost), 4), round(float(p.mass_spread), 4)
        (0.1, 0.1, 3.0)
    """

    move: jax.Array
    step_cost: jax.Array
    mass_spread: jax.Array


class CenterOfMassState(NamedTuple):
    """Fields: positions ((K, 2) float32), masses ((K,) float32), probe ((2,) float32),
    time (int32 scalar).

    Example (masses 1 and 3 at x = 0.25 and 0.75: c = (0.625, 0.5), 0.5 from the probe):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import CenterOfMassState, center_of_mass
        >>> state = CenterOfMassState(positions=jnp.array([[0.25, 0.5], [0.75, 0.5]]),
        ...                           masses=jnp.array([1.0, 3.0]),
        ...                           probe=jnp.array([0.125, 0.5]), time=jnp.int32(0))
        >>> c = center_of_mass(state.positions, state.masses)
        >>> c.tolist(), float(jnp.linalg.norm(c - state.probe))
        ([0.625, 0.5], 0.5)
    """

    positions: jax.Array
    masses: jax.Array
    probe: jax.Array
    time: jax.Array


def center_of_mass(positions: jax.Array, masses: jax.Array) -> jax.Array:
    """``Σ m_k p_k / Σ m_k``, shape ``(2,)``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import center_of_mass
        >>> positions = jnp.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        >>> masses = jnp.array([2.0, 1.0, 1.0])
        >>> center_of_mass(positions, masses).tolist()     # (2·0 + 1·1 + 1·0) / 4 each
        [0.25, 0.25]
    """
    return jnp.sum(masses[:, None] * positions, axis=0) / jnp.sum(masses)


class CenterOfMass(Environment):
    """The centre-of-mass search (see the module docstring).

    Args:
        n_particles: K ≥ 1 (static).
        max_steps: truncation limit (static), default 40.

    Example (the rows ``(p_k − x, m_k)`` hold the target in any order:
    ``Σ m_k (p_k − x) / Σ m_k = c − x``):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import CenterOfMass, center_of_mass
        >>> env = CenterOfMass(n_particles=6, max_steps=20)
        >>> params = env.default_params()
        >>> env.action_space(params).n, env.observation_space(params).shape
        (5, (6, 3))
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> seen = center_of_mass(obs[:, :2], obs[:, 2])
        >>> true = center_of_mass(state.positions, state.masses) - state.probe
        >>> bool(jnp.allclose(seen, true, atol=1e-6))
        True
    """

    def __init__(self, n_particles: int = 8, max_steps: int = 40):
        self.n_particles = as_int(n_particles, "n_particles", minimum=1)
        self.max_steps = as_int(max_steps, "max_steps", minimum=1)

    def default_params(self) -> CenterOfMassParams:
        f = jnp.float32
        return CenterOfMassParams(move=f(0.1), step_cost=f(0.1), mass_spread=f(3.0))

    def observation_space(self, params: CenterOfMassParams) -> Box:
        return Box(-jnp.inf, jnp.inf, (self.n_particles, 3), jnp.float32)

    def action_space(self, params: CenterOfMassParams) -> Discrete:
        return Discrete(len(_MOVES))

    def _observe(self, state: CenterOfMassState, key: jax.Array) -> jax.Array:
        rows = jnp.concatenate([state.positions - state.probe[None, :], state.masses[:, None]],
                               axis=1)
        return rows[jax.random.permutation(key, self.n_particles)]

    def reset_env(self, key: jax.Array, params: CenterOfMassParams
                  ) -> tuple[jax.Array, CenterOfMassState]:
        key_positions, key_masses, key_probe, key_order = jax.random.split(key, 4)
        positions = jax.random.uniform(key_positions, (self.n_particles, 2), jnp.float32)
        masses = 1.0 + params.mass_spread * jax.random.uniform(key_masses, (self.n_particles,),
                                                               jnp.float32)
        probe = jax.random.uniform(key_probe, (2,), jnp.float32)
        state = CenterOfMassState(positions, masses, probe, jnp.asarray(0, jnp.int32))
        return self._observe(state, key_order), state

    def step_env(self, key: jax.Array, state: CenterOfMassState, action: jax.Array,
                 params: CenterOfMassParams):
        target = center_of_mass(state.positions, state.masses)
        move = jnp.asarray(_MOVES, jnp.float32)[action] * params.move
        probe = state.probe + move
        before = jnp.linalg.norm(state.probe - target)
        after = jnp.linalg.norm(probe - target)
        reward = (before - after) / params.move - params.step_cost
        terminated = after <= 0.5 * params.move
        new = state._replace(probe=probe, time=state.time + 1)
        truncated = new.time >= self.max_steps
        return self._observe(new, key), new, reward.astype(jnp.float32), terminated, truncated, {}
