r"""A 2-D Ising lattice as a spin-flip game, with thermal noise.

``L × L`` spins :math:`s_{ij} = \pm 1` on a periodic square lattice with coupling
:math:`J` (Ising 1925; Onsager 1944):

.. math::

    E(s) = -J \sum_{i,j} s_{ij}\,(s_{i+1,j} + s_{i,j+1}) \quad (\text{indices mod } L),

``2L²`` bonds. An action :math:`a \in \{0, …, L^2 - 1\}` flips spin
``(a // L, a % L)``; flipping a spin changes the energy by
:math:`\Delta E = 2 J s_{ij} h_{ij}`, :math:`h_{ij}` the sum of its four neighbours.
Then, at temperature :math:`T > 0` (energy units, :math:`k_B = 1`), the heat bath makes
one thermal move: a uniformly random spin flips with the Glauber probability
:math:`1 / (1 + e^{\Delta E / T})` (Glauber 1963, *Time-dependent statistics of the Ising
model*); at :math:`T = 0` nothing else moves. The reward is the energy released,

.. math::

    r = -(E' - E)/\text{scale} - \text{step\_cost},

so an episode's return telescopes to :math:`(E_0 - E_T)/\text{scale} - \text{step\_cost}\,T`
and the best policy reaches the ground state in the fewest flips. The ground state is
known: the two aligned states for :math:`J > 0` (any :math:`L \ge 3`), the two
checkerboards for :math:`J < 0` (even :math:`L`), both with :math:`E_{\min} = -2|J|L^2`.
The episode *terminates* there and is *truncated* after ``max_steps`` flips (default
``L²``). Every episode starts from independent uniformly random spins.

Observation: ``(L, L)`` float32 spins. Action: ``Discrete(L²)``. Parameters
(:class:`IsingLatticeParams`): ``J``, ``temperature``, ``step_cost``, ``scale``, all
arrays, so one vmaps over couplings and temperatures.

Example:
    >>> import jax, jax.numpy as jnp
    >>> env = IsingLattice(4)
    >>> params = env.default_params()
    >>> obs, state = env.reset(jax.random.key(0), params)
    >>> obs.shape, float(ising_lattice_energy(jnp.ones((4, 4)), params.J))
    ((4, 4), -32.0)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_range, is_concrete
from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["IsingLattice", "IsingLatticeParams", "IsingLatticeState", "ising_lattice_energy",
           "ising_lattice_flip_energies"]


class IsingLatticeParams(NamedTuple):
    """Parameters of the lattice game (scalar arrays; vmappable).

    Fields:
        J: coupling (energy units; > 0 ferromagnet, < 0 antiferromagnet, even L).
        temperature: heat-bath temperature T ≥ 0 (energy units; 0: no thermal moves).
        step_cost: reward cost per flip (reward units, ≥ 0).
        scale: energy per reward unit (> 0).

    Example (an antiferromagnet near Onsager's critical temperature 2/ln(1 + √2)):
        >>> from jaxphys.rl.envs import IsingLattice
        >>> env = IsingLattice(4)
        >>> params = env.make_params(J=-1.0, temperature=2.269)
        >>> float(params.J), round(float(params.temperature), 4), round(float(params.scale), 4)
        (-1.0, 2.269, 4.0)
        >>> float(env.ground_energy(params))      # the checkerboards: −2|J|L²
        -32.0
    """

    J: jax.Array
    temperature: jax.Array
    step_cost: jax.Array
    scale: jax.Array


class IsingLatticeState(NamedTuple):
    """Fields: spins ((L, L) float32, ±1); time (int32 scalar, flips taken this episode).

    Example (one spin against its four neighbours costs ``2J·4 = 8`` above the ground state;
    flipping it back would pay ``8/scale − step_cost = 1.9``):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import IsingLattice, IsingLatticeState, ising_lattice_energy
        >>> env = IsingLattice(4)
        >>> params = env.default_params()                 # J = 1, T = 0, scale 4, cost 0.1
        >>> state = IsingLatticeState(jnp.ones((4, 4)).at[1, 1].set(-1.0), jnp.int32(0))
        >>> float(ising_lattice_energy(state.spins, params.J)), float(env.ground_energy(params))
        (-24.0, -32.0)
        >>> state.spins.shape, int(state.time)
        ((4, 4), 0)
    """

    spins: jax.Array
    time: jax.Array


def _neighbour_sum(spins: jax.Array) -> jax.Array:
    return (jnp.roll(spins, 1, 0) + jnp.roll(spins, -1, 0) + jnp.roll(spins, 1, 1)
            + jnp.roll(spins, -1, 1))


def ising_lattice_energy(spins: jax.Array, J: jax.Array) -> jax.Array:
    """``E = −J Σ s_ij (s_i+1,j + s_i,j+1)`` of one periodic ``(L, L)`` configuration.

    Example (the aligned state has all ``2L²`` bonds satisfied, the checkerboard all broken):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import ising_lattice_energy
        >>> up = jnp.ones((4, 4))
        >>> checkerboard = jnp.array([[1.0, -1.0] * 2, [-1.0, 1.0] * 2] * 2)
        >>> float(ising_lattice_energy(up, 1.0)), float(ising_lattice_energy(checkerboard, 1.0))
        (-32.0, 32.0)
    """
    return -J * jnp.sum(spins * (jnp.roll(spins, -1, 0) + jnp.roll(spins, -1, 1)))


def ising_lattice_flip_energies(spins: jax.Array, J: jax.Array) -> jax.Array:
    """``(L, L)``: the energy change ``ΔE_ij = 2 J s_ij h_ij`` of flipping each spin.

    Example (one spin down in a 4 × 4 ferromagnet: flipping it back gains 8, flipping one
    of its four neighbours costs ``2·(3 − 1) = 4``, flipping any other spin ``2·4 = 8``):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import ising_lattice_flip_energies
        >>> spins = jnp.ones((4, 4)).at[1, 1].set(-1.0)
        >>> ising_lattice_flip_energies(spins, 1.0).tolist()
        [[8.0, 4.0, 8.0, 8.0], [4.0, -8.0, 4.0, 8.0], [8.0, 4.0, 8.0, 8.0], [8.0, 8.0, 8.0, 8.0]]
    """
    return 2.0 * J * spins * _neighbour_sum(spins)


class IsingLattice(Environment):
    """The 2-D Ising spin-flip game (see the module docstring).

    Args:
        size: L ≥ 3 (static).
        max_steps: flips before truncation (static), default ``L²``.

    Example:
        >>> import jax
        >>> from jaxphys.rl.envs import IsingLattice
        >>> env = IsingLattice(4)
        >>> params = env.default_params()
        >>> env.max_steps, env.action_space(params).n, env.observation_space(params).shape
        (16, 16, (4, 4))
        >>> float(env.ground_energy(params))     # −2|J|L²
        -32.0
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> sorted(set(obs.ravel().tolist())), int(state.time)   # random ±1 spins
        ([-1.0, 1.0], 0)
    """

    def __init__(self, size: int, max_steps: int | None = None):
        self.size = as_int(size, "size", minimum=3)
        self.max_steps = (self.size ** 2 if max_steps is None
                          else as_int(max_steps, "max_steps", minimum=1))

    def default_params(self) -> IsingLatticeParams:
        f = jnp.float32
        return IsingLatticeParams(J=f(1.0), temperature=f(0.0), step_cost=f(0.1), scale=f(4.0))

    def make_params(self, *, J: float = 1.0, temperature: float = 0.0, step_cost: float = 0.1,
                    scale: float = 4.0) -> IsingLatticeParams:
        """Checked params: ``J ≠ 0`` (``J < 0`` needs an even L), ``temperature ≥ 0``,
        ``step_cost ≥ 0``, ``scale > 0``."""
        check_range(J, "J")
        if is_concrete(J) and float(J) == 0.0:
            raise ValueError("J: expected a non-zero coupling, got 0")
        if is_concrete(J) and float(J) < 0 and self.size % 2:
            raise ValueError(f"J: an antiferromagnet (J < 0) is frustrated on an odd lattice "
                             f"(L = {self.size}); its ground energy is not −2|J|L²")
        check_range(temperature, "temperature", low=0.0)
        check_range(step_cost, "step_cost", low=0.0)
        check_range(scale, "scale", low=0.0, low_open=True)
        f = jnp.float32
        return IsingLatticeParams(f(J), f(temperature), f(step_cost), f(scale))

    def ground_energy(self, params: IsingLatticeParams) -> jax.Array:
        """``E_min = −2|J|L²``."""
        return -2.0 * jnp.abs(params.J) * self.size ** 2

    def observation_space(self, params: IsingLatticeParams) -> Box:
        return Box(-1.0, 1.0, (self.size, self.size), jnp.float32)

    def action_space(self, params: IsingLatticeParams) -> Discrete:
        return Discrete(self.size ** 2)

    def reset_env(self, key: jax.Array, params: IsingLatticeParams
                  ) -> tuple[jax.Array, IsingLatticeState]:
        bits = jax.random.bits(key, (self.size, self.size), jnp.uint32) >> 31
        spins = jnp.where(bits == 1, 1.0, -1.0).astype(jnp.float32)
        return spins, IsingLatticeState(spins, jnp.asarray(0, jnp.int32))

    def step_env(self, key: jax.Array, state: IsingLatticeState, action: jax.Array,
                 params: IsingLatticeParams):
        L = self.size
        spins = state.spins
        energy = ising_lattice_energy(spins, params.J)
        row, col = jnp.asarray(action) // L, jnp.asarray(action) % L
        spins = spins.at[row, col].multiply(-1.0)
        key_site, key_accept = jax.random.split(key)
        site = jax.random.randint(key_site, (), 0, L * L)
        delta = ising_lattice_flip_energies(spins, params.J)[site // L, site % L]
        temperature = jnp.maximum(params.temperature, 1e-30)
        accept_probability = jnp.where(params.temperature > 0,
                                       jax.nn.sigmoid(-delta / temperature), 0.0)
        accept = jax.random.uniform(key_accept) < accept_probability
        spins = jnp.where(accept, spins.at[site // L, site % L].multiply(-1.0), spins)
        new_energy = ising_lattice_energy(spins, params.J)
        reward = -(new_energy - energy) / params.scale - params.step_cost
        terminated = new_energy <= self.ground_energy(params) + 1e-3 * jnp.abs(params.J)
        new = IsingLatticeState(spins, state.time + 1)
        truncated = new.time >= self.max_steps
        return spins, new, reward.astype(jnp.float32), terminated, truncated, {}

