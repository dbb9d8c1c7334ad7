"""A 1-D Ising chain (ferromagnet or ±J spin glass) as a ground-state search game.

``N`` spins ``s_i = ±1`` with couplings ``J_i`` on the bonds ``(i, i+1)`` and a
uniform field ``h``:

    E(s) = −Σ_i J_i s_i s_{i+1} − h Σ_i s_i

(open chain: ``N − 1`` bonds; periodic chain: ``N`` bonds, the last one joins
``s_{N−1}`` and ``s_0``). An action ``a ∈ {0..N−1}`` flips spin ``a``; flipping
changes the energy by ``ΔE_a = 2 s_a f_a`` with the local field
``f_a = J_{a−1} s_{a−1} + J_a s_{a+1} + h``.

Reward (the choice, and why). With the potential ``Φ(s) = −(E(s) − E_min)/scale``
(``Φ = 0`` exactly on the ground states) each step pays

    r = −step_cost + γ_s Φ(s') − Φ(s),

a cost per flip plus potential-based shaping (Ng, Harada & Russell 1999). The
episode *terminates* at a ground state (``E ≤ E_min`` up to rounding) and is
*truncated* after ``max_steps`` flips. For ``γ_s = 1`` (the default) the shaping
telescopes: every finished episode of ``T`` flips returns
``(E_0 − E_min)/scale − step_cost·T``, so the best policy reaches a ground state in
the fewest flips, and not finishing (``T = max_steps`` and ``Φ ≤ 0`` at the end) is
worse than finishing at any ``T < max_steps``. Set ``gamma`` to the agent's
discount for exact policy invariance under discounting. The shaping gives a
dense signal (energy decreases are rewarded) without moving the optimum. The
tempting reward ``+Σ s_i s_{i+1}`` per step with termination at the aligned
state is a trap: it pays most to circle forever just short of the goal
(``tests/test_rl_ising_chain.py`` computes both returns).

``E_min`` is exact for any ``N``: dynamic programming along the chain (a
min-plus transfer matrix; for the periodic chain both values of ``s_0`` are
fixed in turn), ``ising_chain_ground_energy``. ``enumerate_ising_chain`` gives the
brute-force answer for small ``N``.

Observation: the spins as float32 ``(N,)``, or with ``observe_fields=True`` the
spins and the local fields ``f`` concatenated, ``(2N,)``.

Example:
    >>> import jax, jax.numpy as jnp
    >>> env = IsingChain(n_spins=4)
    >>> params = env.default_params()
    >>> float(ising_chain_ground_energy(params.J, params.h, periodic=False))
    -3.0
    >>> obs, state = env.reset(jax.random.key(0), params)
    >>> obs.shape
    (4,)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_key
from jaxphys.rl.envs._base import Box, Discrete, Environment

__all__ = ["IsingChain", "IsingChainParams", "IsingChainState", "ising_chain_energy",
           "ising_chain_local_fields", "ising_chain_ground_energy", "enumerate_ising_chain",
           "random_pm_j_couplings"]


class IsingChainParams(NamedTuple):
    """Parameters of an Ising chain (all arrays; vmappable).

    Fields:
        J: (n_bonds,) float32 couplings, ``n_bonds = N - 1`` (open) or ``N`` (periodic);
            ``J[i]`` couples spins ``i`` and ``i + 1 (mod N)``. Energy units.
        h: float32 scalar, uniform field (energy units).
        step_cost: float32 scalar, reward cost per flip (reward units).
        scale: float32 scalar > 0, energy per reward unit in the shaping potential.
        gamma: float32 scalar in (0, 1], discount used in the shaping ``γ Φ(s') − Φ(s)``.

    Example (a 4-spin open chain with one antiferromagnetic bond, in a field):
        >>> from jaxphys.rl.envs import IsingChain
        >>> env = IsingChain(n_spins=4)
        >>> params = env.make_params(J=[1.0, -1.0, 1.0], h=0.5)
        >>> params.J.tolist(), float(params.h)
        ([1.0, -1.0, 1.0], 0.5)
        >>> float(params.step_cost), float(params.scale), float(params.gamma)   # defaults
        (1.0, 2.0, 1.0)
    """

    J: jax.Array
    h: jax.Array
    step_cost: jax.Array
    scale: jax.Array
    gamma: jax.Array


class IsingChainState(NamedTuple):
    """State of one chain.

    Fields:
        spins: (N,) float32, values ±1.
        time: int32 scalar, flips taken in this episode.
        e_min: float32 scalar, exact ground-state energy of ``params`` (derived at reset).

    Example (one broken bond: ``E = −1`` against ``E_min = −3``, so the shaping potential
    is ``Φ = −(E − E_min)/scale = −1``; healing the bond ends the episode with reward
    ``−step_cost − Φ = 0``):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import IsingChain, IsingChainState
        >>> env = IsingChain(n_spins=4)
        >>> params = env.default_params()
        >>> state = IsingChainState(spins=jnp.array([1.0, 1.0, 1.0, -1.0]), time=jnp.int32(0),
        ...                         e_min=env.ground_energy(params))
        >>> float(env.energy(state.spins, params)), float(state.e_min)
        (-1.0, -3.0)
        >>> float(env.energy(jnp.ones(4), params))   # the last spin flipped: a ground state
        -3.0
    """

    spins: jax.Array
    time: jax.Array
    e_min: jax.Array


def _random_signs(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """±1 float32 with probability 1/2 each (cheaper to compile than ``jax.random.rademacher``)."""
    return jnp.where(jax.random.bits(key, shape, jnp.uint32) >> 31 == 1, 1.0, -1.0
                     ).astype(jnp.float32)


def _neighbour_sum(spins: jax.Array, J: jax.Array) -> jax.Array:
    """``J_{i-1} s_{i-1} + J_i s_{i+1}`` for each i (missing bonds of an open chain give 0)."""
    n = spins.shape[-1]
    if J.shape[-1] == n:                      # periodic
        right = J * jnp.roll(spins, -1)
        left = jnp.roll(J, 1) * jnp.roll(spins, 1)
    else:                                     # open, n - 1 bonds
        zero = jnp.zeros((1,), spins.dtype)
        right = jnp.concatenate([J * spins[1:], zero])
        left = jnp.concatenate([zero, J * spins[:-1]])
    return left + right


def ising_chain_energy(spins: jax.Array, J: jax.Array, h: jax.Array) -> jax.Array:
    """``E = −Σ J_i s_i s_{i+1} − h Σ s_i`` of one configuration.

    ``spins`` (N,) ±1; ``J`` (N−1,) for an open chain or (N,) for a periodic one; ``h`` scalar.

    >>> float(ising_chain_energy(jnp.array([1., 1., -1.]), jnp.array([1., -1.]), 0.5))
    -2.5
    """
    n = spins.shape[-1]
    if J.shape[-1] == n:
        bonds = spins * jnp.roll(spins, -1)
    else:
        bonds = spins[:-1] * spins[1:]
    return -jnp.sum(J * bonds) - h * jnp.sum(spins)


def ising_chain_local_fields(spins: jax.Array, J: jax.Array, h: jax.Array) -> jax.Array:
    """Local fields ``f_i = J_{i−1}s_{i−1} + J_i s_{i+1} + h``, (N,); ``ΔE_i = 2 s_i f_i``.

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl.envs import ising_chain_local_fields
    >>> s = jnp.array([1.0, 1.0, -1.0])                   # open chain, J = 1, h = 0
    >>> f = ising_chain_local_fields(s, jnp.array([1.0, 1.0]), 0.0)
    >>> f.tolist(), (2 * s * f).tolist()     # ΔE of each flip: the last one heals the bond
    ([1.0, 0.0, 1.0], [2.0, 0.0, -2.0])
    """
    return _neighbour_sum(spins, J) + h


def ising_chain_ground_energy(J: jax.Array, h: jax.Array, *, periodic: bool) -> jax.Array:
    """Exact ground-state energy by dynamic programming (min-plus transfer matrix).

    ``m_k(s)`` = the lowest energy of spins ``0..k`` with ``s_k = s``;
    ``m_{k+1}(s') = min_s [m_k(s) − J_k s s'] − h s'``. For a periodic chain
    ``s_0`` is fixed to each value in turn and the closing bond added at the end.
    O(N), exact for any N. ``J`` (n_bonds,), ``h`` scalar.

    >>> float(ising_chain_ground_energy(jnp.array([1., -1., 1.]), 0.0, periodic=True))
    -1.0
    """
    J = jnp.asarray(J)
    h = jnp.asarray(h, J.dtype)
    s = jnp.array([-1.0, 1.0], J.dtype)
    n_open = J.shape[0] - 1 if periodic else J.shape[0]     # bonds walked by the DP

    def walk(m0):     # m (2,) over s_k = (−1, +1); unrolled, N is static and small
        for k in range(n_open):
            a, b = m0[0], m0[1]                       # m_k(−1), m_k(+1)
            j = J[k]
            # s' = −1: min(m(−1) − J, m(+1) + J); s' = +1: min(m(−1) + J, m(+1) − J)
            m0 = jnp.stack([jnp.minimum(a - j, b + j) + h, jnp.minimum(a + j, b - j) - h])
        return m0

    if not periodic:
        return jnp.min(walk(-h * s))
    best = []
    for s0 in (-1.0, 1.0):
        m0 = jnp.where(s == s0, -h * s0, jnp.inf)
        m = walk(m0)
        best.append(jnp.min(m - J[-1] * s * s0))
    return jnp.minimum(best[0], best[1])


def _enumerate(J: np.ndarray, h: float, n_spins: int) -> tuple[float, np.ndarray]:
    J = np.asarray(J, np.float64)
    codes = np.arange(2 ** n_spins, dtype=np.int64)
    spins = 1.0 - 2.0 * ((codes[:, None] >> np.arange(n_spins)) & 1)
    if J.shape[0] == n_spins:
        bonds = spins * np.roll(spins, -1, axis=1)
    else:
        bonds = spins[:, :-1] * spins[:, 1:]
    energies = -bonds @ J - h * spins.sum(axis=1)
    e_min = float(energies.min())
    return e_min, spins[energies <= e_min + 1e-9]


def enumerate_ising_chain(J, h: float = 0.0, *, n_spins: int) -> tuple[float, np.ndarray]:
    """Brute force over all ``2^N`` configurations (numpy, host side; N ≤ ~22).

    ``J`` of length ``n_spins`` is a periodic chain, of length ``n_spins − 1`` an open one.
    Returns ``(E_min, ground_states)``: the minimum energy and every configuration
    (k, N) ±1 whose energy is within 1e-9 of it.

    >>> e, gs = enumerate_ising_chain([1.0, 1.0], 0.0, n_spins=3)
    >>> e, gs.shape
    (-2.0, (2, 3))
    """
    n_spins = as_int(n_spins, "n_spins", minimum=2)
    J = np.asarray(J, np.float64)
    if J.ndim != 1 or J.shape[0] not in (n_spins - 1, n_spins):
        raise ValueError(f"J: expected shape ({n_spins - 1},) or ({n_spins},), got {J.shape}")
    if n_spins > 24:
        raise ValueError(f"n_spins: enumeration of 2^{n_spins} states is too large (≤ 24)")
    return _enumerate(J, float(h), n_spins)


def random_pm_j_couplings(key: jax.Array, n_bonds: int, J0: float = 1.0) -> jax.Array:
    """Random ±J couplings of a spin glass: ``J_i = ±J0`` with probability 1/2 each, (n_bonds,).

    >>> J = random_pm_j_couplings(jax.random.key(0), 5)
    >>> sorted(set(abs(J).tolist()))
    [1.0]
    """
    check_key(key)
    n_bonds = as_int(n_bonds, "n_bonds", minimum=1)
    signs = _random_signs(key, (n_bonds,))
    return jnp.float32(J0) * signs


class IsingChain(Environment):
    """Ground-state search on an Ising chain (see the module docstring).

    Args:
        n_spins: N (static).
        periodic: periodic (N bonds) or open (N − 1 bonds) boundary (static).
        max_steps: truncation limit in flips (static); default ``2 N``.
        observe_fields: also observe the local fields (observation (2N,)).

    Spaces: action ``Discrete(N)``; observation ``Box(-inf, inf, (N,) or (2N,))``.
    Reset draws each spin ±1 uniformly, redrawn (up to three times) if it is already a
    ground state (a start at the ground state would end at once).

    Example (an open chain of 4 spins, observing the spins and their local fields):
        >>> import jax
        >>> from jaxphys.rl.envs import IsingChain
        >>> env = IsingChain(n_spins=4, observe_fields=True)
        >>> params = env.default_params()
        >>> env.n_bonds, env.max_steps, env.action_space(params).n
        (3, 8, 4)
        >>> float(env.ground_energy(params))       # all three bonds satisfied: −3 J
        -3.0
        >>> IsingChain(n_spins=4, periodic=True).n_bonds     # a ring closes the chain
        4
        >>> obs, state = env.reset(jax.random.key(0), params)
        >>> obs.shape, int(state.time)             # 4 spins, then their 4 local fields
        ((8,), 0)
    """

    def __init__(self, n_spins: int = 10, *, periodic: bool = False, max_steps: int | None = None,
                 observe_fields: bool = False):
        self.n_spins = as_int(n_spins, "n_spins", minimum=2)
        self.periodic = bool(periodic)
        self.max_steps = as_int(2 * self.n_spins if max_steps is None else max_steps,
                                "max_steps", minimum=1)
        self.observe_fields = bool(observe_fields)

    @property
    def n_bonds(self) -> int:
        return self.n_spins if self.periodic else self.n_spins - 1

    def default_params(self) -> IsingChainParams:
        """Ferromagnet ``J_i = 1``, ``h = 0``, step cost 1, scale 2 (one broken bond), γ = 1."""
        f = jnp.float32
        return IsingChainParams(J=jnp.ones((self.n_bonds,), jnp.float32), h=f(0.0),
                                step_cost=f(1.0), scale=f(2.0), gamma=f(1.0))

    def make_params(self, J=None, h=0.0, *, step_cost=1.0, scale=2.0, gamma=1.0
                    ) -> IsingChainParams:
        """Params with checked shapes: ``J`` (n_bonds,) (a scalar is broadcast), ``h`` scalar."""
        J = jnp.ones((self.n_bonds,)) if J is None else jnp.asarray(J, jnp.float32)
        if J.ndim == 0:
            J = jnp.full((self.n_bonds,), J, jnp.float32)
        if J.shape != (self.n_bonds,):
            raise ValueError(f"J: expected shape ({self.n_bonds},) for a "
                             f"{'periodic' if self.periodic else 'open'} chain of "
                             f"{self.n_spins} spins, got {J.shape}")
        if float(scale) <= 0:
            raise ValueError(f"scale: expected > 0, got {scale}")
        if not 0.0 < float(gamma) <= 1.0:
            raise ValueError(f"gamma: expected in (0, 1], got {gamma}")
        f = jnp.float32
        return IsingChainParams(J=J.astype(jnp.float32), h=f(h), step_cost=f(step_cost),
                                scale=f(scale), gamma=f(gamma))

    def observation_space(self, params: IsingChainParams) -> Box:
        dim = 2 * self.n_spins if self.observe_fields else self.n_spins
        return Box(-jnp.inf, jnp.inf, (dim,))

    def action_space(self, params: IsingChainParams) -> Discrete:
        return Discrete(self.n_spins)

    # -- physics -------------------------------------------------------------------------
    def energy(self, spins: jax.Array, params: IsingChainParams) -> jax.Array:
        return ising_chain_energy(spins, params.J, params.h)

    def ground_energy(self, params: IsingChainParams) -> jax.Array:
        return ising_chain_ground_energy(params.J, params.h, periodic=self.periodic)

    def _tol(self, params: IsingChainParams) -> jax.Array:
        return 1e-5 * (jnp.sum(jnp.abs(params.J)) + self.n_spins * jnp.abs(params.h)) + 1e-6

    def is_ground(self, spins: jax.Array, params: IsingChainParams, e_min: jax.Array) -> jax.Array:
        return self.energy(spins, params) <= e_min + self._tol(params)

    def obs(self, spins: jax.Array, params: IsingChainParams) -> jax.Array:
        if not self.observe_fields:
            return spins
        return jnp.concatenate([spins, ising_chain_local_fields(spins, params.J, params.h)])

    def greedy_policy(self, params: IsingChainParams, epsilon: float = 0.0):
        """Zero-temperature single-flip dynamics as a policy: ``policy(key, obs) -> action``.

        Flips the spin with the lowest ``ΔE_i = 2 s_i f_i`` (ties broken at random);
        with probability ``epsilon`` a uniformly random spin instead. Works from either
        observation layout (the spins are its first N entries). A rollout policy for
        MCTS and a baseline: it stalls in local minima (e.g. at ΔE = 0 domain walls).
        """
        n = self.n_spins

        def policy(key, obs):
            tie_key, explore_key, random_key = jax.random.split(key, 3)
            spins = obs[:n]
            d_e = 2.0 * spins * ising_chain_local_fields(spins, params.J, params.h)
            noise = 1e-3 * jax.random.uniform(tie_key, (n,))
            greedy = jnp.argmin(d_e + noise).astype(jnp.int32)
            rand = jax.random.randint(random_key, (), 0, n, dtype=jnp.int32)
            return jnp.where(jax.random.uniform(explore_key) < epsilon, rand, greedy)

        return policy

    # -- environment ---------------------------------------------------------------------
    def reset_env(self, key: jax.Array, params: IsingChainParams):
        e_min = self.ground_energy(params)

        # Four candidate starts; keep the first that is not a ground state (all four are
        # ground states with probability (k/2^N)^4, k the degeneracy: then the first is kept).
        candidates = _random_signs(key, (4, self.n_spins))
        ground = jax.vmap(lambda c: self.is_ground(c, params, e_min))(candidates)
        spins = candidates[jnp.argmin(ground)]
        state = IsingChainState(spins=spins, time=jnp.asarray(0, jnp.int32), e_min=e_min)
        return self.obs(spins, params), state

    def step_env(self, key: jax.Array, state: IsingChainState, action: jax.Array,
                 params: IsingChainParams):
        spins = state.spins.at[action].multiply(-1.0)
        e_old = self.energy(state.spins, params)
        e_new = self.energy(spins, params)
        phi_old = -(e_old - state.e_min) / params.scale
        phi_new = -(e_new - state.e_min) / params.scale
        terminated = e_new <= state.e_min + self._tol(params)
        phi_new = jnp.where(terminated, 0.0, phi_new)
        reward = -params.step_cost + params.gamma * phi_new - phi_old
        time = state.time + 1
        truncated = jnp.logical_and(time >= self.max_steps, jnp.logical_not(terminated))
        new_state = IsingChainState(spins=spins, time=time, e_min=state.e_min)
        info = {"energy": e_new}
        return self.obs(spins, params), new_state, reward, terminated, truncated, info
