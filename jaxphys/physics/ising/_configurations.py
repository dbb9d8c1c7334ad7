"""Equilibrium Ising configurations labelled by temperature and phase (for classifiers)."""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys import _checks
from ._monte_carlo import ALGORITHMS, _step
from ._onsager import T_CRITICAL

__all__ = ["IsingConfigurations", "ising_configurations"]


class IsingConfigurations(NamedTuple):
    """Labelled equilibrium configurations.

    Fields:
      spins: ``(n, L, L)`` int8 spins ±1.
      temperature: ``(n,)`` float, the temperature each configuration was sampled at.
      label: ``(n,)`` int32 phase, 1 ordered (``T < T_c``), 0 disordered (``T > T_c``).
      critical_temperature: ``()`` the ``T_c`` used for the labels (Onsager's ``2J/ln(1+√2)``).

    :func:`ising_configurations` samples them; two by hand, all spins up, at T = 1.5 and 3:

    >>> t = jnp.array([1.5, 3.0])
    >>> data = IsingConfigurations(jnp.ones((2, 4, 4), jnp.int8), t,
    ...                            (t < T_CRITICAL).astype(jnp.int32), jnp.asarray(T_CRITICAL))
    >>> data.spins.shape, data.label.tolist(), round(float(data.critical_temperature), 4)
    ((2, 4, 4), [1, 0], 2.2692)
    """

    spins: jax.Array
    temperature: jax.Array
    label: jax.Array
    critical_temperature: jax.Array


@partial(jax.jit, static_argnames=("L", "n_records", "n_thermal", "sample_every", "algorithm",
                                   "clusters"))
def _generate(key, temperature, coupling, *, L, n_records, n_thermal, sample_every, algorithm,
              clusters):
    n_skip = -(-n_thermal // sample_every)      # thermalise in whole blocks (≥ n_thermal steps)
    def chain(k, t):
        beta = 1.0 / t
        init_key, k = jax.random.split(k)
        s = jnp.where(jax.random.bernoulli(init_key, 0.5, (L, L)), 1, -1).astype(jnp.int8)

        def record(carry, _):
            kk, ss = carry

            def body(_, c):
                k2, s2 = c
                k2, sub = jax.random.split(k2)
                return k2, _step(sub, s2, beta, coupling, algorithm, 1, clusters)

            kk, ss = jax.lax.fori_loop(0, sample_every, body, (kk, ss))
            kk, flip_key = jax.random.split(kk)
            # a global flip leaves H unchanged: it symmetrises the sign of m exactly
            sign = jnp.where(jax.random.bernoulli(flip_key), 1, -1).astype(jnp.int8)
            return (kk, ss), ss * sign

        # one scan (one traced copy of the update): thermalisation blocks are discarded
        _, configs = jax.lax.scan(record, (k, s), None, length=n_skip + n_records)
        return configs[n_skip:]

    keys = jax.random.split(key, temperature.shape[0])
    return jax.vmap(chain)(keys, temperature)


def ising_configurations(key: jax.Array, L: int, temperatures: Any, n_per_temperature: int, *,
                         n_chains: int = 4, n_thermal: int = 200, sample_every: int = 4,
                         algorithm: str = "hybrid", clusters_per_step: int = 1,
                         coupling: Any = 1.0) -> IsingConfigurations:
    """Sample ``n_per_temperature`` configurations at each temperature, labelled by phase.

    ``n_chains`` independent chains per temperature (random starts) are thermalised
    for ``n_thermal`` steps, then each records a configuration every ``sample_every``
    steps (a step: one Metropolis sweep and ``clusters_per_step`` Wolff flips for
    ``"hybrid"``), each multiplied by a random global sign (a symmetry of ``H``), so
    ordered configurations come with both signs of ``m``. All chains at all
    temperatures run in one jitted ``vmap``.

    Args:
      key: PRNG key.
      L: lattice size (Python int; even unless ``algorithm="wolff"``).
      temperatures: ``(n_T,)`` temperatures ``T > 0``.
      n_per_temperature: configurations per temperature (a multiple of ``n_chains``).
      n_chains, n_thermal, sample_every, clusters_per_step: Python ints.
      algorithm: ``"hybrid"`` (default), ``"metropolis"`` or ``"wolff"``.
      coupling: ``()`` ``J > 0``; the labels use ``T_c = 2J / ln(1 + √2)``.

    Returns:
      :class:`IsingConfigurations` with ``n = n_T · n_per_temperature`` rows, grouped by
      temperature in the order given.

    Raises:
      ValueError: naming ``L``, ``temperatures``, ``n_per_temperature`` or ``algorithm``.

    >>> data = ising_configurations(jax.random.key(0), 8, jnp.array([1.5, 3.5]), 4,
    ...                             n_chains=2, n_thermal=20)
    >>> data.spins.shape, data.label.tolist()
    ((8, 8, 8), [1, 1, 1, 1, 0, 0, 0, 0])
    """
    _checks.check_key(key)
    _checks.check_in(algorithm, "algorithm", ALGORITHMS)
    L = _checks.as_int(L, "L", minimum=2)
    if algorithm != "wolff" and L % 2:
        raise ValueError(f"L: the checkerboard Metropolis update needs an even lattice size, "
                         f"got L = {L}")
    t = _checks.as_array(temperatures, "temperatures", ndim=1, dtype=jnp.result_type(float))
    _checks.check_finite(t, "temperatures")
    _checks.check_positive(t, "temperatures")
    n_per = _checks.as_int(n_per_temperature, "n_per_temperature", minimum=1)
    n_chains = _checks.as_int(n_chains, "n_chains", minimum=1)
    if n_per % n_chains:
        raise ValueError(f"n_per_temperature: expected a multiple of n_chains = {n_chains}, "
                         f"got {n_per}")
    j = _checks.as_array(coupling, "coupling", ndim=0, dtype=t.dtype)
    _checks.check_positive(j, "coupling")
    n_t = t.shape[0]
    t_chains = jnp.repeat(t, n_chains)
    configs = _generate(key, t_chains, j, L=L, n_records=n_per // n_chains,
                        n_thermal=_checks.as_int(n_thermal, "n_thermal", minimum=0),
                        sample_every=_checks.as_int(sample_every, "sample_every", minimum=1),
                        algorithm=algorithm,
                        clusters=_checks.as_int(clusters_per_step, "clusters_per_step",
                                                minimum=1))
    spins = configs.reshape(n_t * n_per, L, L)
    temps = jnp.repeat(t, n_per)
    tc = T_CRITICAL * j
    return IsingConfigurations(spins, temps, (temps < tc).astype(jnp.int32), tc)
