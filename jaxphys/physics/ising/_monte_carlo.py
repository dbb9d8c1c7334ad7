"""Monte Carlo of the 2-D Ising model on an L×L square lattice with periodic boundaries.

``H = -J Σ_<ij> s_i s_j``, ``s_i = ±1`` (stored as ``int8``), ``k_B = 1``; each
site's neighbours are ``(i±1, j)`` and ``(i, j±1)`` modulo ``L``. Temperatures and
the coupling are traced arrays: a sweep over temperatures is one ``vmap``, never a
recompilation.

Updates (each a pure function of one lattice; ``vmap`` them over chains):

* :func:`metropolis_sweep` — checkerboard Metropolis: the lattice splits into two
  sublattices (``(i + j)`` even / odd) whose sites have all their neighbours on the
  other one, so each half is updated in parallel. A site flips with probability
  ``min(1, exp(-β ΔE))``, ``ΔE = 2 J s_i Σ_nn s_j``. Each half-sweep satisfies
  detailed balance with respect to ``exp(-βH)``; the sweep (even then odd) keeps
  it stationary. Needs even ``L`` (else the two colours touch across the boundary).
* :func:`wolff_update` — one Wolff cluster flip. Bonds between aligned neighbours
  are occupied with probability ``p = 1 - exp(-2βJ)`` (Fortuin–Kasteleyn); the
  cluster of occupied bonds holding a uniformly drawn seed site is found by
  repeated neighbour propagation in a ``lax.while_loop`` and flipped as a whole.
  This is exactly the Wolff cluster (each bond is tested once, independently).
* ``"hybrid"`` in :func:`simulate`: one Metropolis sweep then ``clusters`` Wolff flips.

For many chains, :func:`simulate` runs the Metropolis and Wolff updates multi-spin
coded (32 chains per ``uint32`` word, :func:`metropolis_multispin`,
:func:`wolff_multispin`): the same Markov chain per lattice, many times faster;
``multispin=False`` selects the per-lattice updates above.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys import _checks
from ._multispin import metropolis_multispin
from ._multispin_run import simulate_multispin
from ._wolff_multispin import wolff_multispin

__all__ = ["IsingRun", "energy_per_spin", "magnetization_per_spin", "metropolis_multispin",
           "metropolis_sweep", "random_spins", "simulate", "wolff_multispin", "wolff_update",
           "ALGORITHMS"]

ALGORITHMS = ("metropolis", "wolff", "hybrid")


class IsingRun(NamedTuple):
    """Time series of a Monte Carlo run of ``C`` chains (one per temperature entry).

    Fields:
      energy: ``(C, n_samples)`` float, energy per spin ``H / L²`` after each step.
      magnetization: ``(C, n_samples)`` float, signed magnetization per spin ``Σ s / L²``.
      spins: ``(C, L, L)`` int8, the final configurations (feed back as ``initial``).
      temperature: ``(C,)`` float, the temperatures the chains ran at.
      algorithm: the update used (a string).

    :func:`simulate` returns one; by hand, one chain that stayed fully magnetised:

    >>> up = jnp.ones((1, 4, 4), jnp.int8)
    >>> run = IsingRun(jnp.full((1, 3), -2.0), jnp.ones((1, 3)), up, jnp.array([1.0]), "wolff")
    >>> run.energy.shape, float(energy_per_spin(run.spins[0]))   # -2J per spin, all aligned
    ((1, 3), -2.0)
    """

    energy: jax.Array
    magnetization: jax.Array
    spins: jax.Array
    temperature: jax.Array
    algorithm: str


def random_spins(key: jax.Array, L: int) -> jax.Array:
    """``(L, L)`` int8 spins, each ±1 with probability 1/2 (an infinite-temperature state).

    >>> s = random_spins(jax.random.key(0), 4)
    >>> s.shape, s.dtype, sorted(set(s.ravel().tolist())) == [-1, 1]
    ((4, 4), dtype('int8'), True)
    """
    _checks.check_key(key)
    L = _checks.as_int(L, "L", minimum=2)
    return jnp.where(jax.random.bernoulli(key, 0.5, (L, L)), 1, -1).astype(jnp.int8)


def _neighbor_sum(s: jax.Array) -> jax.Array:
    return (jnp.roll(s, 1, 0) + jnp.roll(s, -1, 0) + jnp.roll(s, 1, 1)
            + jnp.roll(s, -1, 1))


def energy_per_spin(spins: Any, coupling: Any = 1.0) -> jax.Array:
    """Energy per spin ``-J Σ_i s_i (s_{i+x̂} + s_{i+ŷ}) / L²`` of one ``(L, L)`` lattice.

    >>> float(energy_per_spin(jnp.ones((4, 4), jnp.int8)))
    -2.0
    """
    s = jnp.asarray(spins).astype(jnp.int32)
    bonds = s * (jnp.roll(s, -1, 0) + jnp.roll(s, -1, 1))
    return -jnp.asarray(coupling, jnp.result_type(float)) * jnp.mean(bonds.astype(
        jnp.result_type(float)))


def magnetization_per_spin(spins: Any) -> jax.Array:
    """Signed magnetization per spin ``Σ_i s_i / L²`` of one ``(L, L)`` lattice.

    >>> float(magnetization_per_spin(-jnp.ones((4, 4), jnp.int8)))
    -1.0
    """
    s = jnp.asarray(spins)
    return jnp.mean(s.astype(jnp.result_type(float)))


def _check_lattice(spins: jax.Array, *, even: bool) -> None:
    if spins.ndim != 2 or spins.shape[0] != spins.shape[1]:
        raise ValueError(f"spins: expected a square (L, L) lattice, got shape {spins.shape}")
    if even and spins.shape[0] % 2:
        raise ValueError(f"L: the checkerboard update needs an even lattice size L, got "
                         f"L = {spins.shape[0]} (odd L makes the two sublattices touch "
                         "across the periodic boundary)")


def _check_temperature(temperature: Any) -> jax.Array:
    t = jnp.asarray(temperature, jnp.result_type(float))
    _checks.check_finite(t, "temperature")
    _checks.check_positive(t, "temperature")
    return t


def _half_sweep(spins, u, beta, coupling, color):
    """Metropolis update of the sites with ``(i + j) % 2 == color`` given uniforms ``u``."""
    L = spins.shape[0]
    parity = (jnp.arange(L)[:, None] + jnp.arange(L)[None, :]) % 2
    s = spins.astype(jnp.int32)
    delta_e = (2.0 * coupling) * (s * _neighbor_sum(s)).astype(u.dtype)
    flip = (parity == color) & (u < jnp.exp(-beta * delta_e))
    return jnp.where(flip, -spins, spins)


def _sweep(key, spins, beta, coupling):
    u = jax.random.uniform(key, spins.shape)
    # one uniform per site and sweep: the two halves use disjoint sites. The loop over
    # the two colours keeps XLA from fusing the first half into the neighbour sums of
    # the second (which recomputes it per neighbour, several times slower on CPU).
    return jax.lax.fori_loop(0, 2, lambda color, s: _half_sweep(s, u, beta, coupling, color),
                             spins)


def metropolis_sweep(key: jax.Array, spins: Any, temperature: Any,
                     coupling: Any = 1.0) -> jax.Array:
    """One checkerboard Metropolis sweep (every site offered one flip) of one lattice.

    Args:
      key: PRNG key.
      spins: ``(L, L)`` int8 spins ±1, ``L`` even.
      temperature: ``()`` temperature ``T > 0`` (units ``J/k_B``; traced).
      coupling: ``()`` coupling ``J`` (traced).

    Returns:
      ``(L, L)`` int8, the new spins.

    Raises:
      ValueError: for odd ``L`` or a non-square lattice (``L``/``spins``), ``T ≤ 0``
        (``temperature``).

    >>> s = metropolis_sweep(jax.random.key(1), jnp.ones((4, 4), jnp.int8), 0.1)
    >>> int(s.sum())          # frozen at low temperature
    16
    """
    spins = jnp.asarray(spins)
    _check_lattice(spins, even=True)
    t = _check_temperature(temperature)
    return _sweep(key, spins, 1.0 / t, jnp.asarray(coupling, t.dtype))


def _wolff(key, spins, beta, coupling):
    L = spins.shape[0]
    seed_key, bond_key = jax.random.split(key)
    p_add = -jnp.expm1(-2.0 * beta * coupling)
    u = jax.random.uniform(bond_key, (2, L, L))
    right = (u[0] < p_add) & (spins == jnp.roll(spins, -1, 1))   # bond (i,j)-(i,j+1)
    down = (u[1] < p_add) & (spins == jnp.roll(spins, -1, 0))    # bond (i,j)-(i+1,j)
    left, up = jnp.roll(right, 1, 1), jnp.roll(down, 1, 0)       # bond (i,j)-(i,j-1), (i-1,j)
    seed = jax.random.randint(seed_key, (), 0, L * L)
    cluster = (jnp.arange(L * L) == seed).reshape(L, L)

    def grow(c):
        return (c | (jnp.roll(c, -1, 1) & right) | (jnp.roll(c, 1, 1) & left)
                | (jnp.roll(c, -1, 0) & down) | (jnp.roll(c, 1, 0) & up))

    def body(carry):
        c, _ = carry
        new = grow(c)
        return new, jnp.any(new != c)

    cluster, _ = jax.lax.while_loop(lambda carry: carry[1], body, (cluster, jnp.array(True)))
    return jnp.where(cluster, -spins, spins)


def wolff_update(key: jax.Array, spins: Any, temperature: Any, coupling: Any = 1.0) -> jax.Array:
    """One Wolff cluster flip of one ``(L, L)`` lattice (any ``L ≥ 2``; ``J > 0``).

    Args:
      key: PRNG key.
      spins: ``(L, L)`` int8 spins ±1.
      temperature: ``()`` temperature ``T > 0`` (traced).
      coupling: ``()`` ferromagnetic coupling ``J > 0`` (traced).

    Returns:
      ``(L, L)`` int8 spins with one cluster flipped.

    >>> s = wolff_update(jax.random.key(0), jnp.ones((4, 4), jnp.int8), 0.01)
    >>> int(s.sum())          # at low T the cluster is the whole aligned lattice
    -16
    """
    spins = jnp.asarray(spins)
    _check_lattice(spins, even=False)
    t = _check_temperature(temperature)
    return _wolff(key, spins, 1.0 / t, jnp.asarray(coupling, t.dtype))


def _step(key, spins, beta, coupling, algorithm, sweeps, clusters):
    """``sweeps`` Metropolis sweeps and/or ``clusters`` Wolff flips."""
    def sweep_body(_, carry):
        k, s = carry
        k, sub = jax.random.split(k)
        return k, _sweep(sub, s, beta, coupling)

    def wolff_body(_, carry):
        k, s = carry
        k, sub = jax.random.split(k)
        return k, _wolff(sub, s, beta, coupling)

    carry = (key, spins)
    if algorithm in ("metropolis", "hybrid"):
        carry = jax.lax.fori_loop(0, sweeps, sweep_body, carry)
    if algorithm in ("wolff", "hybrid"):
        carry = jax.lax.fori_loop(0, clusters, wolff_body, carry)
    return carry[1]


@partial(jax.jit, static_argnames=("n_samples", "algorithm", "sweeps", "clusters"))
def _simulate_chains(keys, spins, temperature, coupling, n_thermal, *, n_samples, algorithm,
                     sweeps, clusters):
    def chain(key, s, t):
        beta = 1.0 / t
        dtype = jnp.result_type(float)

        # one loop over thermalisation and sampling steps: a single traced copy of the
        # update (half the compile time of two loops); samples are written from step
        # n_thermal on.
        def body(i, carry):
            k, s_, e_buf, m_buf = carry
            k, sub = jax.random.split(k)
            s_ = _step(sub, s_, beta, coupling, algorithm, sweeps, clusters)
            idx = jnp.maximum(i - n_thermal, 0)
            keep = i >= n_thermal
            e_buf = e_buf.at[idx].set(jnp.where(keep, energy_per_spin(s_, coupling), e_buf[idx]))
            m_buf = m_buf.at[idx].set(jnp.where(keep, magnetization_per_spin(s_), m_buf[idx]))
            return k, s_, e_buf, m_buf

        init = (key, s, jnp.zeros(n_samples, dtype), jnp.zeros(n_samples, dtype))
        _, s, e, m = jax.lax.fori_loop(0, n_thermal + n_samples, body, init)
        return e, m, s

    return jax.vmap(chain)(keys, spins, temperature)


def simulate(key: jax.Array, L: int, temperature: Any, *, n_samples: int, n_thermal: int = 0,
             algorithm: str = "metropolis", sweeps_per_sample: int = 1,
             clusters_per_sample: int = 1, coupling: Any = 1.0, initial: Any = "random",
             multispin: bool | None = None) -> IsingRun:
    """Run one Markov chain per entry of ``temperature``, all chains in one jitted ``vmap``.

    Each of ``n_thermal`` (discarded) and ``n_samples`` (recorded) steps is, by
    ``algorithm``: ``"metropolis"`` — ``sweeps_per_sample`` checkerboard sweeps;
    ``"wolff"`` — ``clusters_per_sample`` cluster flips; ``"hybrid"`` — both.
    Energy and magnetization per spin are recorded after every step.

    ``"metropolis"`` and ``"wolff"`` run multi-spin coded by default
    (:func:`metropolis_multispin`, :func:`wolff_multispin`: 32 chains per machine word,
    24-bit acceptance and bond thresholds, Threefry random bits drawn inside the
    update); ``multispin=False`` runs the per-lattice int8 updates
    (:func:`metropolis_sweep`, :func:`wolff_update` under ``vmap``), as ``"hybrid"``
    always does. Both are the same Markov chain per lattice; their random numbers
    differ, so their runs differ sample by sample.

    Args:
      key: PRNG key (split into one key per chain).
      L: lattice size (Python int ≥ 2; even for Metropolis and hybrid).
      temperature: ``(C,)`` or ``()`` temperatures ``T > 0`` (traced: new values do not
        recompile; repeat a temperature to run several chains at it).
      n_samples, n_thermal: recorded (static) and discarded (traced) steps.
      algorithm: ``"metropolis"``, ``"wolff"`` or ``"hybrid"``.
      sweeps_per_sample, clusters_per_sample: updates per step (static).
      coupling: ``()`` ferromagnetic coupling ``J > 0`` (traced).
      initial: ``"random"`` (hot start), ``"ordered"`` (all +1, cold start), or
        ``(C, L, L)`` int8 spins (e.g. ``run.spins`` of a previous run, to continue it).
      multispin: ``None`` (default: multi-spin coding for ``"metropolis"`` and
        ``"wolff"``, the int8 updates for ``"hybrid"``), ``True`` or ``False``.

    Returns:
      :class:`IsingRun` with ``(C, n_samples)`` series.

    Raises:
      ValueError: naming ``L`` (odd with a checkerboard update), ``temperature``
        (``T ≤ 0``, not finite, rank > 1), ``algorithm``, ``coupling``, ``initial`` or
        ``multispin`` (``True`` with ``"hybrid"``).

    >>> run = simulate(jax.random.key(0), 8, jnp.array([1.0, 5.0]), n_samples=20,
    ...                n_thermal=50, initial="ordered")
    >>> run.energy.shape, bool(run.energy[0].mean() < run.energy[1].mean())
    ((2, 20), True)
    """
    _checks.check_key(key)
    _checks.check_in(algorithm, "algorithm", ALGORITHMS)
    L = _checks.as_int(L, "L", minimum=2)
    if algorithm != "wolff" and L % 2:
        raise ValueError(f"L: the checkerboard Metropolis update needs an even lattice size, "
                         f"got L = {L}")
    t = _checks.as_array(temperature, "temperature", ndim=(0, 1),
                         dtype=jnp.result_type(float))
    _checks.check_finite(t, "temperature")
    _checks.check_positive(t, "temperature")
    t = jnp.atleast_1d(t)
    j = _checks.as_array(coupling, "coupling", ndim=0, dtype=t.dtype)
    _checks.check_positive(j, "coupling")
    n_samples = _checks.as_int(n_samples, "n_samples", minimum=1)
    n_thermal = _checks.as_int(n_thermal, "n_thermal", minimum=0)
    sweeps = _checks.as_int(sweeps_per_sample, "sweeps_per_sample", minimum=1)
    clusters = _checks.as_int(clusters_per_sample, "clusters_per_sample", minimum=1)
    if multispin is None:
        multispin = algorithm != "hybrid"
    if multispin not in (True, False):
        raise TypeError(f"multispin: expected None, True or False, got {multispin!r}")
    if multispin and algorithm == "hybrid":
        raise ValueError("multispin: multi-spin coding implements the Metropolis and the "
                         "Wolff updates, not 'hybrid'; got multispin=True with "
                         "algorithm='hybrid'")
    n_chains = t.shape[0]
    init_key, run_key = jax.random.split(key)
    if isinstance(initial, str):
        _checks.check_in(initial, "initial", ("random", "ordered"))
        if initial == "random":
            spins = jnp.where(jax.random.bernoulli(init_key, 0.5, (n_chains, L, L)), 1,
                              -1).astype(jnp.int8)
        else:
            spins = jnp.ones((n_chains, L, L), jnp.int8)
    else:
        spins = jnp.asarray(initial).astype(jnp.int8)
        _checks.check_shape(spins, "initial", (n_chains, L, L))
    if multispin:
        e, m, s = simulate_multispin(run_key, spins, t, j, jnp.asarray(n_thermal, jnp.int32),
                                     n_samples=n_samples, algorithm=algorithm,
                                     updates=sweeps if algorithm == "metropolis" else clusters)
        return IsingRun(energy=e, magnetization=m, spins=s, temperature=t, algorithm=algorithm)
    keys = jax.random.split(run_key, n_chains)
    e, m, s = _simulate_chains(keys, spins, t, j, jnp.asarray(n_thermal, jnp.int32),
                               n_samples=n_samples,
                               algorithm=algorithm, sweeps=sweeps, clusters=clusters)
    return IsingRun(energy=e, magnetization=m, spins=s, temperature=t, algorithm=algorithm)
