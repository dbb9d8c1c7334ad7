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
    (masses uniform in [1, 1 + mass_spread], ≥ 0). Scalar arrays; vmappable."""

    move: jax.Array
    step_cost: jax.Array
    mass_spread: jax.Array


class CenterOfMassState(NamedTuple):
    """Fields: positions ((K, 2) float32), masses ((K,) float32), probe ((2,) float32),
    time (int32 scalar)."""

    positions: jax.Array
    masses: jax.Array
    probe: jax.Array
    time: jax.Array


def center_of_mass(positions: jax.Array, masses: jax.Array) -> jax.Array:
    """``Σ m_k p_k / Σ m_k``, shape ``(2,)``."""
    return jnp.sum(masses[:, None] * positions, axis=0) / jnp.sum(masses)


class CenterOfMass(Environment):
    """The centre-of-mass search (see the module docstring).

    Args:
        n_particles: K ≥ 1 (static).
        max_steps: truncation limit (static), default 40.
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
