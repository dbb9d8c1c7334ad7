"""Multi-spin coded Wolff cluster flips for many Ising chains at once.

The same Markov chain per lattice as :func:`jaxphys.physics.ising.wolff_update` (Wolff
1989, "Collective Monte Carlo updating for spin systems", Phys. Rev. Lett. 62, 361):
bonds between aligned neighbours are occupied independently with probability
``p = 1 - e^{-2βJ}`` (Fortuin–Kasteleyn), and the cluster of occupied bonds that
holds a uniformly drawn seed site is flipped. Here ``C`` chains (any ``L ≥ 2``) are
stored bit-sliced over the whole lattice: bit ``c`` of word ``words[w, i, j]`` is the
spin of chain ``32w + c`` at site ``(i, j)`` (1 = down), so every bitwise operation
below acts on 32 chains, each with its own temperature, bonds and seed.

* Bonds: ``right[w, i, j]`` (bond ``(i, j)–(i, j+1)``) and ``down`` (``(i, j)–(i+1, j)``)
  set in a lane where the two spins agree and a 24-bit uniform ``U < round(p 2²⁴)``
  (the bit-sliced comparison of the Metropolis update, Threefry random bits:
  counters ``(site, 12·direction + j)``, key ``fold_in(key, flip)``).
* Cluster: one bit per lane, set at the lane's seed; grown by
  ``c ← c | (c shifted along each occupied bond)`` in a ``lax.while_loop`` until no
  lane changes (two growth steps per test of convergence); then ``spins ^= c``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys import _checks
from ._multispin import (LANES, _bitsliced_less, _key_words, _lane_totals,
                                              _n_words, _random_planes, _threshold_planes,
                                              check_chains)

__all__ = ["wolff_multispin", "pack_lattice", "unpack_lattice"]


def pack_lattice(spins: jax.Array) -> jax.Array:
    """``(C, L, L)`` int8 spins ±1 → ``(W, L, L)`` uint32 words (bit ``c`` = chain
    ``32w + c`` down); padding lanes are up."""
    C, L, _ = spins.shape
    W = _n_words(C)
    down = jnp.pad((spins < 0).astype(jnp.uint32), ((0, W * LANES - C), (0, 0), (0, 0)))
    lane = jnp.arange(LANES, dtype=jnp.uint32)[None, :, None, None]
    return jnp.sum(down.reshape(W, LANES, L, L) << lane, axis=1, dtype=jnp.uint32)


def unpack_lattice(words: jax.Array, n_chains: int) -> jax.Array:
    """``(W, L, L)`` words → ``(n_chains, L, L)`` int8 spins (inverse of
    :func:`pack_lattice`)."""
    lane = jnp.arange(LANES, dtype=jnp.uint32)[None, :, None, None]
    bits = ((words[:, None] >> lane) & jnp.uint32(1)).reshape((-1,) + words.shape[1:])
    return (1 - 2 * bits[:n_chains].astype(jnp.int8))


def _seed_words(key: jax.Array, shape: tuple) -> jax.Array:
    """``(W, L, L)`` words with, in every lane, one bit set at a uniform random site."""
    W, L, _ = shape
    seeds = jax.random.randint(key, (W, LANES), 0, L * L)
    site = jnp.arange(L * L).reshape(1, 1, L * L)
    lane = jnp.arange(LANES, dtype=jnp.uint32).reshape(1, LANES, 1)
    hit = (site == seeds[..., None]).astype(jnp.uint32) << lane
    return jnp.sum(hit, axis=1, dtype=jnp.uint32).reshape(W, L, L)


def _flip_cluster(words: jax.Array, key: jax.Array, planes: jax.Array) -> jax.Array:
    """One Wolff flip in every lane of ``(W, L, L)`` words; ``planes``: ``(1, 24, W)``."""
    seed_key, bond_key = jax.random.split(key)
    key_words = _key_words(bond_key)
    site = jax.lax.iota(jnp.uint32, words.size).reshape(words.shape)
    thresholds = [planes[0, m][:, None, None] for m in range(planes.shape[1])]
    bonds = []
    for direction, axis in enumerate((2, 1)):                      # right, down
        aligned = ~(words ^ jnp.roll(words, -1, axis=axis))
        bonds.append(aligned & _bitsliced_less(_random_planes(key_words, site, direction),
                                               thresholds))
    right, down = bonds
    left, up = jnp.roll(right, 1, axis=2), jnp.roll(down, 1, axis=1)

    def grow(c):
        return (c | (jnp.roll(c, -1, axis=2) & right) | (jnp.roll(c, 1, axis=2) & left)
                | (jnp.roll(c, -1, axis=1) & down) | (jnp.roll(c, 1, axis=1) & up))

    def body(carry):
        cluster, _ = carry
        grown = grow(grow(cluster))
        return grown, jnp.any(grown != cluster)

    cluster, _ = jax.lax.while_loop(lambda carry: carry[1], body,
                                    (_seed_words(seed_key, words.shape), jnp.array(True)))
    return words ^ cluster


def _wolff_planes(temperature: jax.Array, coupling: jax.Array, n_words: int) -> jax.Array:
    return _threshold_planes(-jnp.expm1(-2.0 * coupling / temperature)[None, :], n_words)


def _flips(words, key, planes, first, n_flips):
    """Flips ``first, …, first + n_flips - 1`` (the flip number folded into ``key``)."""
    return jax.lax.fori_loop(first, first + n_flips,
                             lambda i, w: _flip_cluster(w, jax.random.fold_in(key, i), planes),
                             words)


def _lattice_observables(words, coupling, n_chains):
    """Energy and magnetization per spin of every chain, ``(C,)`` each."""
    L = words.shape[1]
    sites = L * L
    anti = jnp.stack([words ^ jnp.roll(words, -1, axis=2), words ^ jnp.roll(words, -1, axis=1)],
                     axis=1)
    n_anti = _lane_totals(anti, n_chains)             # anti-aligned bonds (of 2L²)
    n_down = _lane_totals(words, n_chains)
    dtype = jnp.result_type(float)
    energy = -coupling * (2.0 * sites - 2.0 * n_anti.astype(dtype)) / sites
    magnetization = (sites - 2.0 * n_down.astype(dtype)) / sites
    return energy, magnetization


@jax.jit
def _wolff_run(key, spins, temperature, coupling, n_flips):
    words = pack_lattice(spins)
    planes = _wolff_planes(temperature, coupling, words.shape[0])
    return unpack_lattice(_flips(words, key, planes, 0, n_flips), spins.shape[0])


def wolff_multispin(key: jax.Array, spins: Any, temperature: Any, *, n_flips: int = 1,
                    coupling: Any = 1.0) -> jax.Array:
    """``n_flips`` Wolff cluster flips of each of ``C`` independent chains, multi-spin coded.

    The same Markov chain per lattice as :func:`wolff_update` (other random numbers;
    bond probabilities resolved to ``2⁻²⁴``), 32 chains per machine word (a chain costs
    as 32; the growth loop runs until the largest cluster of the word is complete).

    Args:
      key: PRNG key.
      spins: ``(C, L, L)`` int8 spins ±1, any ``L ≥ 2``.
      temperature: ``(C,)`` temperatures ``T > 0`` (a scalar is used for every chain);
        traced.
      n_flips: cluster flips per chain (traced: a new value does not recompile).
      coupling: ``()`` ferromagnetic coupling ``J > 0`` (traced).

    Returns:
      ``(C, L, L)`` int8, the spins after ``n_flips`` flips.

    Raises:
      ValueError: naming ``spins``, ``temperature``, ``coupling`` or ``n_flips``.

    >>> s = wolff_multispin(jax.random.key(0), jnp.ones((3, 5, 5), jnp.int8), 0.01)
    >>> s.sum(axis=(1, 2)).tolist()     # at low T each cluster is the whole lattice
    [-25, -25, -25]
    """
    _checks.check_key(key)
    spins, t, j = check_chains(spins, temperature, coupling, even=False)
    n_flips = _checks.as_int(n_flips, "n_flips", minimum=0)
    return _wolff_run(key, spins, t, j, jnp.asarray(n_flips, jnp.int32))
