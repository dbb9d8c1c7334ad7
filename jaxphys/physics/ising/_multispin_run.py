"""The multi-spin coded paths of :func:`jaxphys.physics.ising.simulate` (Metropolis and Wolff).

Chains are packed once, run ``n_thermal + n_samples`` steps in one jitted
``lax.fori_loop`` and unpacked once; after every recorded step the energy and
magnetization per spin of every chain are counted from the packed words
(thermalisation steps measure nothing).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from ._multispin import (_metropolis_planes, _packed_observables, _sweeps,
                                              pack_spins, unpack_spins)
from ._wolff_multispin import (_flips, _lattice_observables,
                                                    _wolff_planes, pack_lattice,
                                                    unpack_lattice)

__all__ = ["simulate_multispin"]

# algorithm -> (pack, threshold planes, steps, observables, unpack)
_PACKED = {
    "metropolis": (pack_spins, _metropolis_planes, _sweeps, _packed_observables, unpack_spins),
    "wolff": (pack_lattice, _wolff_planes, _flips, _lattice_observables, unpack_lattice),
}


@partial(jax.jit, static_argnames=("n_samples", "updates", "algorithm"))
def simulate_multispin(key, spins, temperature, coupling, n_thermal, *, n_samples, updates,
                       algorithm):
    """``n_thermal + n_samples`` steps of ``updates`` sweeps (``"metropolis"``) or
    cluster flips (``"wolff"``) of ``(C, L, L)`` int8 chains, multi-spin coded.

    Returns ``(energy, magnetization)`` ``(C, n_samples)`` per spin after every recorded
    step, and the final ``(C, L, L)`` int8 spins.
    """
    pack, planes_of, steps, observables, unpack = _PACKED[algorithm]
    n_chains = spins.shape[0]
    packed = pack(spins)
    planes = planes_of(temperature, coupling, _n_words_of(packed, algorithm))

    def body(i, carry):
        packed, e_buf, m_buf = carry
        packed = steps(packed, key, planes, i * updates, updates)
        idx = jnp.maximum(i - n_thermal, 0)

        def record(buffers):
            e, m = observables(packed, coupling, n_chains)
            return buffers[0].at[idx].set(e), buffers[1].at[idx].set(m)

        e_buf, m_buf = jax.lax.cond(i >= n_thermal, record, lambda b: b, (e_buf, m_buf))
        return packed, e_buf, m_buf

    buffers = jnp.zeros((n_samples, n_chains), jnp.result_type(float))
    packed, e, m = jax.lax.fori_loop(0, n_thermal + n_samples, body, (packed, buffers, buffers))
    return e.T, m.T, unpack(packed, n_chains)


def _n_words_of(packed, algorithm):
    return packed.shape[1] if algorithm == "metropolis" else packed.shape[0]
