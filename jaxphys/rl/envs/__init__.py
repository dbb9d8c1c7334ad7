"""Pure, single-instance environments; batch them with ``jax.vmap`` at the call site.

Every environment follows :class:`Environment`: ``reset(key, params) -> (obs, state)``
and ``step(key, state, action, params) -> (obs, state, reward, terminated, truncated,
info)`` with auto-reset (the last observation of a finished episode is
``info["final_obs"]``). ``params`` is a NamedTuple of arrays (``env.default_params()``)
holding primitive physical constants, so one may vmap over instances and parameters.

* :class:`CartPole` (gymnasium CartPole-v1 dynamics, 500-step truncation),
  :class:`Pendulum` (Pendulum-v1, continuous torque), :class:`Acrobot` (Acrobot-v1),
  :class:`MountainCar` (MountainCar-v0) and :class:`MountainCarContinuous`
  (MountainCarContinuous-v0), each step by step equal to gymnasium.
* :class:`IsingLattice` (2-D periodic Ising spin flips with a heat bath; the ground state
  is known) and :class:`CenterOfMass` (an observation that is a set).
* :class:`IsingChain` (spin flips towards the ground state; uniform or ±J couplings),
  with exact ground energies by dynamic programming and enumeration.
* :class:`GridWorld` (walls, goal, pits, slip) and :class:`TabularMDP` (explicit
  ``P[s, a, s']`` and ``R[s, a, s']``), :func:`three_state_mdp` (Géron, *Hands-on ML*, ch. 18).
* Wrappers: :class:`EpisodeStatistics`, :class:`NormalizeObservation`,
  :class:`ScaleReward`, and
  :class:`GymnasiumAdapter` (host-side, not jittable) for gymnasium environments.
* Spaces: :class:`Discrete`, :class:`Box`.
"""

from jaxphys.rl.envs._acrobot import Acrobot, AcrobotParams, AcrobotState
from jaxphys.rl.envs._base import Box, Discrete, Environment
from jaxphys.rl.envs._cartpole import CartPole, CartPoleParams, CartPoleState
from jaxphys.rl.envs._center_of_mass import (CenterOfMass, CenterOfMassParams, CenterOfMassState,
                                             center_of_mass)
from jaxphys.rl.envs._gridworld import ACTION_NAMES, GridWorld, GridWorldParams, GridWorldState
from jaxphys.rl.envs._ising_chain import (IsingChain, IsingChainParams, IsingChainState,
                                          enumerate_ising_chain, ising_chain_energy,
                                          ising_chain_ground_energy, ising_chain_local_fields,
                                          random_pm_j_couplings)
from jaxphys.rl.envs._ising_lattice import (IsingLattice, IsingLatticeParams, IsingLatticeState,
                                            ising_lattice_energy, ising_lattice_flip_energies)
from jaxphys.rl.envs._mountain_car import (MountainCar, MountainCarContinuous, MountainCarParams,
                                           MountainCarState)
from jaxphys.rl.envs._pendulum import Pendulum, PendulumParams, PendulumState
from jaxphys.rl.envs._tabular_mdp import (TabularMDP, TabularMDPParams, TabularMDPState,
                                          make_mdp_params, three_state_mdp)
from jaxphys.rl.envs._gymnasium import GymnasiumAdapter
from jaxphys.rl.envs._wrappers import (EpisodeStatistics, EpisodeStatsState, NormalizeObservation,
                                       NormalizeObsState, ScaleReward)

__all__ = [
    "Environment", "Discrete", "Box",
    "CartPole", "CartPoleParams", "CartPoleState",
    "Pendulum", "PendulumParams", "PendulumState",
    "Acrobot", "AcrobotParams", "AcrobotState",
    "MountainCar", "MountainCarContinuous", "MountainCarParams", "MountainCarState",
    "IsingLattice", "IsingLatticeParams", "IsingLatticeState", "ising_lattice_energy",
    "ising_lattice_flip_energies",
    "CenterOfMass", "CenterOfMassParams", "CenterOfMassState", "center_of_mass",
    "IsingChain", "IsingChainParams", "IsingChainState", "ising_chain_energy",
    "ising_chain_local_fields", "ising_chain_ground_energy", "enumerate_ising_chain",
    "random_pm_j_couplings",
    "GridWorld", "GridWorldParams", "GridWorldState", "ACTION_NAMES",
    "TabularMDP", "TabularMDPParams", "TabularMDPState", "make_mdp_params", "three_state_mdp",
    "EpisodeStatistics", "EpisodeStatsState", "NormalizeObservation", "NormalizeObsState",
    "ScaleReward", "GymnasiumAdapter",
]
