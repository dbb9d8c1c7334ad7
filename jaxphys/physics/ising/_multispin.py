"""Multi-spin coded checkerboard Metropolis for many Ising chains at once.

Same model and update as :func:`jaxphys.physics.ising.metropolis_sweep` (``H = -J Σ_<ij>
s_i s_j`` on an L×L periodic lattice, even ``L``, ``J > 0``; even sublattice then
odd, each site flipping with probability ``min(1, exp(-β ΔE))``), but ``C`` chains
are stored bit-sliced: bit ``c`` of a ``uint32`` word holds the spin of chain
``32 w + c`` at one site (1 = down), so one bitwise operation updates 32 chains
(multi-spin coding: Jacobs & Rebbi 1981, "Multi-spin coding: a very efficient
technique for Monte Carlo simulations of spin systems", J. Comput. Phys. 41, 203).
Each chain keeps its own temperature and its own random numbers: the chains are
independent, exactly as ``C`` separate runs.

Layout: each sublattice is stored compressed, ``(W, L, L/2)`` words with
``W = ⌈C/32⌉``; ``even[w, i, j'] = s[i, 2j' + i mod 2]`` and
``odd[w, i, j'] = s[i, 2j' + 1 - i mod 2]``. A site's four neighbours are words of
the other sublattice: rows ``i ± 1`` at ``j'``, and row ``i`` at ``j'`` and at
``j' ∓ 1`` (the sign set by the row's parity).

Update of one sublattice, all lanes at once. With ``a_n = s ⊕ s_n`` (1 where
neighbour ``n`` is anti-aligned) and ``k = Σ_n a_n``, ``ΔE = 2J(4 - 2k)``: a spin
flips surely when ``k ≥ 2`` (``ΔE ≤ 0``), with probability ``p₄ = e^{-4βJ}`` when
``k = 1`` and ``p₈ = e^{-8βJ}`` when ``k = 0``. The random decision is a bit-sliced
comparison ``U < P`` of a uniform ``U`` on ``{0, …, 2²⁴ - 1}`` (24 random bit
planes, most significant first) with each lane's threshold ``P = round(p 2²⁴)``
(clamped to ``2²⁴ - 1``), so an acceptance probability is ``p`` rounded to a
multiple of ``2⁻²⁴`` (the float32 sampler's uniforms resolve ``2⁻²³``).

Random bits come from Threefry-2x32 with 20 rounds (Salmon, Moraes, Dror & Shaw
2011, "Parallel random numbers: as easy as 1, 2, 3"), the counter-based generator
behind ``jax.random``, written out so that it fuses into the update: half-sweep
``h`` keys it with two random words of ``fold_in(key, h)``, and word ``n`` of the
sublattice takes planes ``2j, 2j + 1`` from counter ``(n, j)``, ``j = 0..11``. No
generator state is stored, and every (half-sweep, word, plane) has its own counter.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys import _checks

__all__ = ["metropolis_multispin", "pack_spins", "unpack_spins"]

LANES = 32
_THRESHOLD_BITS = 24


def _n_words(n_chains: int) -> int:
    return -(-n_chains // LANES)


def _row_odd(L: int) -> jax.Array:
    return (jnp.arange(L) % 2 == 1)[None, :, None]


def pack_spins(spins: jax.Array) -> jax.Array:
    """``(C, L, L)`` int8 spins ±1 → ``(2, W, L, L/2)`` uint32 words (even, odd sublattice).

    Chains beyond ``C`` in the last word are padding (spin up).
    """
    C, L, _ = spins.shape
    W = _n_words(C)
    down = (spins < 0).astype(jnp.uint32)
    down = jnp.pad(down, ((0, W * LANES - C), (0, 0), (0, 0)))
    pairs = down.reshape(W * LANES, L, L // 2, 2)        # columns 2j' and 2j' + 1
    odd_row = _row_odd(L)
    even = jnp.where(odd_row, pairs[..., 1], pairs[..., 0])
    odd = jnp.where(odd_row, pairs[..., 0], pairs[..., 1])
    lane = jnp.arange(LANES, dtype=jnp.uint32)[None, :, None, None]

    def to_words(bits):
        return jnp.sum(bits.reshape(W, LANES, L, L // 2) << lane, axis=1, dtype=jnp.uint32)

    return jnp.stack([to_words(even), to_words(odd)])


def _lane_bits(words: jax.Array) -> jax.Array:
    """``(W, ...)`` words → ``(W·32, ...)`` bits (lane ``c`` of word ``w`` → row
    ``32w + c``)."""
    lane = jnp.arange(LANES, dtype=jnp.uint32).reshape((1, LANES) + (1,) * (words.ndim - 1))
    bits = (words[:, None] >> lane) & jnp.uint32(1)
    return bits.reshape((-1,) + words.shape[1:])


def unpack_spins(packed: jax.Array, n_chains: int) -> jax.Array:
    """``(2, W, L, L/2)`` words → ``(n_chains, L, L)`` int8 spins ±1 (inverse of
    :func:`pack_spins`)."""
    L = packed.shape[2]
    even, odd = (1 - 2 * _lane_bits(packed[p])[:n_chains].astype(jnp.int8) for p in (0, 1))
    odd_row = _row_odd(L)
    col0 = jnp.where(odd_row, odd, even)
    col1 = jnp.where(odd_row, even, odd)
    return jnp.stack([col0, col1], axis=-1).reshape(n_chains, L, L)


def _threshold_planes(probability: jax.Array, n_words: int) -> jax.Array:
    """Bit planes ``(n, 24, W)`` of the lanes' thresholds ``round(p 2²⁴)`` for ``(n, C)``
    probabilities, most significant plane first (bit ``c`` of word ``w`` = that bit of
    chain ``32w + c``'s threshold; padding lanes get 0)."""
    n, C = probability.shape
    scale = float(2 ** _THRESHOLD_BITS)
    thresholds = jnp.minimum(jnp.round(probability * scale), scale - 1).astype(jnp.uint32)
    thresholds = jnp.pad(thresholds, ((0, 0), (0, n_words * LANES - C)))
    thresholds = thresholds.reshape(n, 1, n_words, LANES)
    shift = jnp.arange(_THRESHOLD_BITS - 1, -1, -1, dtype=jnp.uint32).reshape(1, -1, 1, 1)
    bits = (thresholds >> shift) & jnp.uint32(1)                       # (n, 24, W, 32)
    lane = jnp.arange(LANES, dtype=jnp.uint32).reshape(1, 1, 1, LANES)
    return jnp.sum(bits << lane, axis=-1, dtype=jnp.uint32)


def _metropolis_planes(temperature: jax.Array, coupling: jax.Array, n_words: int):
    """Threshold planes ``(2, 24, W)`` of ``p₄ = e^{-4βJ}`` and ``p₈ = e^{-8βJ}``."""
    p = jnp.exp(-jnp.stack([4.0, 8.0])[:, None] * coupling / temperature[None, :])   # (2, C)
    return _threshold_planes(p, n_words)


def _bitsliced_less(random_planes, threshold_planes):
    """Lanes where ``U < P``: ``U``'s and ``P``'s bits given as planes, most significant
    first (``P``'s planes may differ per lane)."""
    less = equal = None
    for r, q in zip(random_planes, threshold_planes):
        if less is None:
            less, equal = q & ~r, ~(r ^ q)
        else:
            less = less | (equal & q & ~r)
            equal = equal & ~(r ^ q)
    return less


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x: jax.Array, k: int) -> jax.Array:
    return (x << k) | (x >> (32 - k))


def threefry2x32(key_words: tuple, counter: tuple) -> tuple:
    """Threefry-2x32 with 20 rounds (Salmon et al. 2011), elementwise on uint32 arrays.

    The counter-based generator behind ``jax.random``, written out unrolled so that
    it fuses into the update that consumes its bits. ``key_words``: two uint32
    scalars; ``counter``: two uint32 arrays. Returns two uint32 arrays of random bits.
    """
    k0, k1 = key_words
    schedule = (k0, k1, k0 ^ k1 ^ jnp.uint32(0x1BD11BDA))
    x0, x1 = counter[0] + k0, counter[1] + k1
    for block in range(5):
        for r in _ROTATIONS[block % 2]:
            x0 = x0 + x1
            x1 = _rotl(x1, r) ^ x0
        x0 = x0 + schedule[(block + 1) % 3]
        x1 = x1 + schedule[(block + 2) % 3] + jnp.uint32(block + 1)
    return x0, x1


def _key_words(key: jax.Array) -> tuple:
    words = jax.random.bits(key, (2,), jnp.uint32)
    return words[0], words[1]


def _random_planes(key_words: tuple, site: jax.Array, stream: int = 0):
    """24 random bit planes, as 12 pairs from Threefry-2x32 at counters
    ``(site, 12·stream + j)``, ``j = 0..11``: every (word, stream, plane) its own counter."""
    for j in range(_THRESHOLD_BITS // 2):
        yield from threefry2x32(key_words,
                                (site, jnp.full_like(site, _THRESHOLD_BITS // 2 * stream + j)))


def _neighbors(other: jax.Array, color: Any) -> tuple:
    """The four neighbour words ``(W, L, L/2)`` of sublattice ``color`` (0 or 1, may be
    traced) read from the other sublattice's words."""
    odd_row = _row_odd(other.shape[1])
    left, right = jnp.roll(other, 1, axis=2), jnp.roll(other, -1, axis=2)
    side = jnp.where(odd_row == (color == 0), right, left)
    return jnp.roll(other, 1, axis=1), jnp.roll(other, -1, axis=1), other, side


def _half_sweep_packed(target, other, key, planes, color):
    """Metropolis update of every site of sublattice ``color`` in every lane."""
    a1, a2, a3, a4 = (target ^ n for n in _neighbors(other, color))
    x12, both12 = a1 ^ a2, a1 & a2
    x34, both34 = a3 ^ a4, a3 & a4
    sure = both12 | both34 | (x12 & x34)              # k ≥ 2: ΔE ≤ 0
    none = ~(a1 | a2 | a3 | a4)                        # k = 0: ΔE = 8J
    one = ~(sure | none)                               # k = 1: ΔE = 4J
    site = jax.lax.iota(jnp.uint32, target.size).reshape(target.shape)
    # each lane's threshold: P₄'s bits where k = 1, P₈'s where k = 0, none where k ≥ 2
    thresholds = ((one & planes[0, m][:, None, None]) | (none & planes[1, m][:, None, None])
                  for m in range(_THRESHOLD_BITS))
    less = _bitsliced_less(_random_planes(_key_words(key), site), thresholds)
    return target ^ (sure | less)


def _sweeps(packed, key, planes, first, n_sweeps):
    """Sweeps ``first, …, first + n_sweeps - 1`` of ``(2, W, L, L/2)`` words.

    One loop iteration per half-sweep ``h`` (color ``h mod 2``, random bits from
    ``fold_in(key, h)``): the loop boundary keeps XLA from fusing one half's update into
    the other half's four neighbour reads, which would recompute it per read.
    """
    def half(h, carry):
        target, other = carry
        updated = _half_sweep_packed(target, other, jax.random.fold_in(key, h), planes, h % 2)
        return other, updated

    even, odd = jax.lax.fori_loop(2 * first, 2 * (first + n_sweeps), half,
                                  (packed[0], packed[1]))
    return jnp.stack([even, odd])


def _lane_totals(words: jax.Array, n_chains: int) -> jax.Array:
    """Per chain, the number of set bits over every axis but the word axis: ``(n_chains,)``.

    Byte-field counting: ``(word >> s) & 0x01010101`` puts lanes ``s, s+8, s+16, s+24``
    in the four bytes of a word, so summing up to 255 such words counts four lanes at
    once without a carry between bytes (eight shifts per word instead of 32).
    """
    W = words.shape[0]
    flat = words.reshape(W, -1)
    n_blocks = -(-flat.shape[1] // 255)
    flat = jnp.pad(flat, ((0, 0), (0, n_blocks * 255 - flat.shape[1]))).reshape(W, n_blocks, 255)
    shift = jnp.arange(8, dtype=jnp.uint32).reshape(1, 8, 1, 1)
    fields = jnp.sum((flat[:, None] >> shift) & jnp.uint32(0x01010101), axis=-1,
                     dtype=jnp.uint32)                                  # (W, 8, blocks)
    byte = jnp.arange(0, 32, 8, dtype=jnp.uint32).reshape(1, 1, 1, 4)
    counts = jnp.sum(((fields[..., None] >> byte) & jnp.uint32(0xFF)).astype(jnp.int32),
                     axis=2)                                            # (W, 8 shifts, 4 bytes)
    return jnp.transpose(counts, (0, 2, 1)).reshape(W * LANES)[:n_chains]  # lane = 8·byte + shift


def _packed_observables(packed, coupling, n_chains):
    """Energy and magnetization per spin of every chain, ``(C,)`` each."""
    L = packed.shape[2]
    sites = L * L
    anti = jnp.stack([packed[0] ^ n for n in _neighbors(packed[1], 0)], axis=1)
    n_anti = _lane_totals(anti, n_chains)             # anti-aligned bonds (of 2L²)
    n_down = _lane_totals(jnp.stack(packed, axis=1), n_chains)
    dtype = jnp.result_type(float)
    energy = -coupling * (2.0 * sites - 2.0 * n_anti.astype(dtype)) / sites
    magnetization = (sites - 2.0 * n_down.astype(dtype)) / sites
    return energy, magnetization


@jax.jit
def _multispin_run(key, spins, temperature, coupling, n_sweeps):
    packed = pack_spins(spins)
    planes = _metropolis_planes(temperature, coupling, packed.shape[1])
    packed = _sweeps(packed, key, planes, 0, n_sweeps)
    return unpack_spins(packed, spins.shape[0])


def check_chains(spins: Any, temperature: Any, coupling: Any, *, even: bool = True):
    """Host-side checks shared by the multi-spin entry points; returns the arrays."""
    spins = _checks.as_array(spins, "spins", ndim=3)
    C, L, L2 = spins.shape
    if L != L2 or L < 2 or (even and L % 2):
        need = "with even L (checkerboard)" if even else "with L ≥ 2"
        raise ValueError(f"spins: expected (C, L, L) lattices {need}, got shape {spins.shape}")
    t = _checks.as_array(temperature, "temperature", ndim=(0, 1), dtype=jnp.result_type(float))
    _checks.check_finite(t, "temperature")
    _checks.check_positive(t, "temperature")
    if t.ndim == 0:
        t = jnp.full((C,), t)
    _checks.check_shape(t, "temperature", (C,))
    j = _checks.as_array(coupling, "coupling", ndim=0, dtype=t.dtype)
    _checks.check_finite(j, "coupling")
    _checks.check_positive(j, "coupling")
    return spins.astype(jnp.int8), t, j


def metropolis_multispin(key: jax.Array, spins: Any, temperature: Any, *, n_sweeps: int = 1,
                         coupling: Any = 1.0) -> jax.Array:
    """``n_sweeps`` checkerboard Metropolis sweeps of ``C`` independent chains, multi-spin coded.

    The same Markov chain per lattice as :func:`metropolis_sweep` (other random numbers;
    acceptance probabilities resolved to ``2⁻²⁴``), 32 chains per machine word: use it
    for many chains (``C`` a multiple of 32 wastes nothing; one chain costs as 32).
    Spins are packed on entry and unpacked on return, and the generators are seeded
    from ``key`` once per call; long runs pay that once with a large ``n_sweeps``.

    Args:
      key: PRNG key.
      spins: ``(C, L, L)`` int8 spins ±1, ``L`` even.
      temperature: ``(C,)`` temperatures ``T > 0`` (one per chain; a scalar is used for
        every chain), units of ``J/k_B``; traced.
      n_sweeps: number of sweeps (traced: a new value does not recompile).
      coupling: ``()`` ferromagnetic coupling ``J > 0`` (traced).

    Returns:
      ``(C, L, L)`` int8, the spins after ``n_sweeps`` sweeps.

    Raises:
      ValueError: naming ``spins`` (not ``(C, L, L)`` with even ``L``), ``temperature``
        (``T ≤ 0``, not finite, wrong shape), ``coupling`` (``J ≤ 0``) or ``n_sweeps``.

    >>> s = metropolis_multispin(jax.random.key(0), jnp.ones((40, 8, 8), jnp.int8),
    ...                          jnp.full((40,), 0.3), n_sweeps=3)
    >>> s.shape, int(s.sum())       # frozen at low temperature
    ((40, 8, 8), 2560)
    """
    _checks.check_key(key)
    spins, t, j = check_chains(spins, temperature, coupling)
    n_sweeps = _checks.as_int(n_sweeps, "n_sweeps", minimum=0)
    return _multispin_run(key, spins, t, j, jnp.asarray(n_sweeps, jnp.int32))
