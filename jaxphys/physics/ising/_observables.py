"""Thermodynamic observables of Monte Carlo time series with autocorrelation-aware errors.

For a stationary series ``x_1 … x_n`` with normalised autocorrelation ``ρ(t)``, the
integrated autocorrelation time is ``τ_int = 1/2 + Σ_{t≥1} ρ(t)`` and the standard
error of the mean is ``√(2 τ_int σ² / n)`` (``σ²`` the variance). The sum is cut at
Sokal's self-consistent window: the smallest ``W`` with ``W ≥ c · τ_int(W)``
(``c = 5``). ``τ_int`` is in units of the sampling interval (``1/2`` for
independent samples).

Quantities that are non-linear in averages (susceptibility, specific heat, Binder
cumulant) get jackknife errors over ``n_blocks`` contiguous blocks; blocks much
longer than ``τ_int`` make them nearly independent, which is what makes these
errors autocorrelation-aware too.

With ``N = L²`` spins, ``e`` the energy and ``m`` the magnetization per spin, ``β = 1/T``:

* susceptibility ``χ = β N (⟨m²⟩ - ⟨|m|⟩²)`` (with ``|m|``: on a finite lattice ⟨m⟩ = 0);
* specific heat per spin ``c = β² N (⟨e²⟩ - ⟨e⟩²)``;
* Binder cumulant ``U₄ = 1 - ⟨m⁴⟩ / (3 ⟨m²⟩²)`` (2/3 ordered, 0 disordered).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys import _checks

__all__ = ["Estimate", "IsingObservables", "integrated_autocorrelation_time", "mean_with_error",
           "jackknife", "ising_observables"]


class Estimate(NamedTuple):
    """A measured value with its one-standard-error uncertainty (same shapes).

    >>> est = Estimate(value=jnp.array(-1.4530), error=jnp.array(0.0021))
    >>> value, error = est                              # unpacks like a tuple
    >>> f"{float(value):.3f} ± {float(error):.3f}"
    '-1.453 ± 0.002'
    """

    value: jax.Array
    error: jax.Array


def _autocorrelation(x: jax.Array) -> jax.Array:
    n = x.shape[0]
    d = x - jnp.mean(x)
    size = 2 * n
    f = jnp.fft.rfft(d, n=size)
    acov = jnp.fft.irfft(f * jnp.conj(f), n=size)[:n]
    return acov / jnp.where(acov[0] > 0, acov[0], 1.0)


def integrated_autocorrelation_time(x: Any, c: float = 5.0) -> jax.Array:
    """Integrated autocorrelation time ``τ_int`` of a 1-D series (Sokal's window, ``c``).

    Args:
      x: ``(n,)`` series, ``n ≥ 2``.
      c: window factor (the sum stops at the first ``W ≥ c τ_int(W)``).

    Returns:
      ``()`` ``τ_int`` in sampling steps (0.5 for uncorrelated samples; 0.5 for a constant).

    An AR(1) series ``x_t = a x_{t-1} + ε_t`` has ``τ_int = (1 + a) / (2 (1 - a))``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> round(float(integrated_autocorrelation_time(rng.normal(size=4000))), 1)
    0.5
    """
    x = _checks.as_array(x, "x", ndim=1, dtype=jnp.result_type(float))
    _checks.check_finite(x, "x")
    if x.shape[0] < 2:
        raise ValueError(f"x: expected at least 2 samples, got {x.shape[0]}")
    rho = _autocorrelation(x)
    tau = 0.5 + jnp.cumsum(rho[1:])           # tau[W-1] = τ_int with window W
    w = jnp.arange(1, x.shape[0])
    ok = w >= c * tau
    first = jnp.where(jnp.any(ok), jnp.argmax(ok), x.shape[0] - 2)
    return jnp.maximum(tau[first], 0.5)


def mean_with_error(x: Any, c: float = 5.0) -> Estimate:
    """Mean of a correlated series with error ``√(2 τ_int var / n)``.

    >>> est = mean_with_error(jnp.array([1.0, 2.0, 3.0, 4.0] * 50))
    >>> round(float(est.value), 3)
    2.5
    """
    x = _checks.as_array(x, "x", ndim=1, dtype=jnp.result_type(float))
    tau = integrated_autocorrelation_time(x, c)
    n = x.shape[0]
    return Estimate(jnp.mean(x), jnp.sqrt(2.0 * tau * jnp.var(x) / n))


def jackknife(fn: Any, data: Any, n_blocks: int = 20) -> Estimate:
    """Blocked jackknife estimate of ``fn(data)`` for a time series.

    ``data`` is a pytree of arrays with a common leading (time) axis ``n``; the
    series is cut into ``n_blocks`` contiguous blocks (a remainder at the end is
    dropped), ``fn`` is evaluated on the data with each block left out, and the
    error is ``√((B-1)/B Σ_b (f_b - f̄)²)``. The value is ``fn`` on all kept data.

    Args:
      fn: ``fn(d) -> array`` where ``d.mean(f)`` is the (block-weighted) average of
        ``f(data)`` over time (``d.mean()`` of the data itself); jax-traceable, it is
        ``vmap``-ed over the left-out blocks (masks, so every call has the same shapes).
      data: pytree of ``(n, ...)`` arrays.
      n_blocks: number of blocks ``B ≥ 2`` (Python int).

    >>> x = jnp.arange(100.0)
    >>> est = jackknife(lambda d: d.mean(), x, n_blocks=10)
    >>> round(float(est.value), 2)
    49.5
    """
    n_blocks = _checks.as_int(n_blocks, "n_blocks", minimum=2)
    leaves = jax.tree.leaves(data)
    if not leaves or any(jnp.ndim(a) == 0 for a in leaves):
        raise ValueError("data: expected a pytree of (n, ...) arrays with a time axis")
    _checks.check_finite(data, "data")
    n = leaves[0].shape[0]
    size = n // n_blocks
    if size < 1:
        raise ValueError(f"n_blocks: expected at most the series length {n}, got {n_blocks}")
    kept = jax.tree.map(lambda a: a[: size * n_blocks], data)
    block_id = jnp.arange(size * n_blocks) // size

    def leave_out(b):
        w = (block_id != b).astype(jnp.result_type(float))
        return fn(_Weighted(kept, w))

    full = fn(_Weighted(kept, jnp.ones(size * n_blocks, jnp.result_type(float))))
    f_b = jax.vmap(leave_out)(jnp.arange(n_blocks))
    mean_b = jnp.mean(f_b, axis=0)
    err = jnp.sqrt((n_blocks - 1) / n_blocks * jnp.sum((f_b - mean_b) ** 2, axis=0))
    return Estimate(full, err)


class _Weighted:
    """A series with per-sample weights; jackknife functions average with :meth:`mean`."""

    def __init__(self, data, weights):
        self.data, self.weights = data, weights

    def mean(self, f=lambda d: d):
        vals = f(self.data)
        w = self.weights.reshape((-1,) + (1,) * (vals.ndim - 1))
        return jnp.sum(vals * w, axis=0) / jnp.sum(self.weights)


class IsingObservables(NamedTuple):
    """Observables of ``C`` chains, each an :class:`Estimate` with ``(C,)`` fields.

    Fields:
      energy: energy per spin ⟨e⟩ (units J).
      magnetization: signed ⟨m⟩ per spin.
      abs_magnetization: ⟨|m|⟩ per spin.
      susceptibility: ``β N (⟨m²⟩ - ⟨|m|⟩²)``.
      specific_heat: per spin, ``β² N (⟨e²⟩ - ⟨e⟩²)``.
      binder: ``1 - ⟨m⁴⟩ / (3⟨m²⟩²)``.
      tau_energy, tau_abs_magnetization: ``(C,)`` integrated autocorrelation times (steps).

    :func:`ising_observables` computes them from an :class:`IsingRun`'s time series:

    >>> IsingObservables._fields
    ('energy', 'magnetization', 'abs_magnetization', 'susceptibility', 'specific_heat',
     'binder', 'tau_energy', 'tau_abs_magnetization')
    """

    energy: Estimate
    magnetization: Estimate
    abs_magnetization: Estimate
    susceptibility: Estimate
    specific_heat: Estimate
    binder: Estimate
    tau_energy: jax.Array
    tau_abs_magnetization: jax.Array


def _chain_observables(e, m, t, n_spins, n_blocks):
    beta = 1.0 / t
    e_est, m_est, am_est = mean_with_error(e), mean_with_error(m), mean_with_error(jnp.abs(m))
    data = {"e": e, "m": m}

    def chi(d):
        return beta * n_spins * (d.mean(lambda x: x["m"] ** 2)
                                 - d.mean(lambda x: jnp.abs(x["m"])) ** 2)

    def heat(d):
        return beta ** 2 * n_spins * (d.mean(lambda x: x["e"] ** 2) - d.mean(lambda x: x["e"]) ** 2)

    def binder(d):
        m2 = d.mean(lambda x: x["m"] ** 2)
        return 1.0 - d.mean(lambda x: x["m"] ** 4) / (3.0 * m2 ** 2)

    return (e_est, m_est, am_est, jackknife(chi, data, n_blocks), jackknife(heat, data, n_blocks),
            jackknife(binder, data, n_blocks), integrated_autocorrelation_time(e),
            integrated_autocorrelation_time(jnp.abs(m)))


def ising_observables(energy: Any, magnetization: Any, temperature: Any, n_spins: int, *,
                      n_blocks: int = 20) -> IsingObservables:
    """Means and errors of the Ising observables from per-spin time series.

    Args:
      energy: ``(C, n)`` energy per spin of ``C`` chains (e.g. ``IsingRun.energy``).
      magnetization: ``(C, n)`` signed magnetization per spin.
      temperature: ``(C,)`` temperatures ``T > 0``.
      n_spins: ``N = L²`` (Python int).
      n_blocks: jackknife blocks for χ, c and U₄.

    Returns:
      :class:`IsingObservables` with ``(C,)`` fields.

    >>> e = -jnp.ones((1, 100)); m = jnp.ones((1, 100))
    >>> obs = ising_observables(e, m, jnp.array([1.0]), 16)
    >>> float(obs.abs_magnetization.value[0]), round(float(obs.binder.value[0]), 4)
    (1.0, 0.6667)
    """
    e = _checks.as_array(energy, "energy", ndim=2, dtype=jnp.result_type(float))
    m = _checks.as_array(magnetization, "magnetization", ndim=2, dtype=jnp.result_type(float))
    _checks.check_same_shape(e, "energy", m, "magnetization")
    t = _checks.as_array(temperature, "temperature", ndim=1, dtype=e.dtype)
    _checks.check_shape(t, "temperature", (e.shape[0],))
    _checks.check_finite(t, "temperature")
    _checks.check_positive(t, "temperature")
    n_spins = _checks.as_int(n_spins, "n_spins", minimum=1)
    n_blocks = _checks.as_int(n_blocks, "n_blocks", minimum=2)
    if e.shape[1] < max(n_blocks, 2):
        raise ValueError(f"energy: expected at least n_blocks = {n_blocks} samples per chain, "
                         f"got {e.shape[1]}")
    return IsingObservables(*_observables_jit(e, m, t, n_spins=n_spins, n_blocks=n_blocks))


@partial(jax.jit, static_argnames=("n_spins", "n_blocks"))
def _observables_jit(e, m, t, *, n_spins, n_blocks):
    return jax.vmap(lambda a, b, c: _chain_observables(a, b, c, n_spins, n_blocks))(e, m, t)
