"""Onsager's exact results for the 2-D square-lattice Ising model (infinite lattice).

Hamiltonian ``H = -J Σ_<ij> s_i s_j`` with ``s_i = ±1``, units ``k_B = 1``, ``J = 1``
unless given (temperatures in units of ``J/k_B``).

* critical temperature ``T_c = 2 / ln(1 + √2) ≈ 2.269185``;
* energy per spin, with ``β = 1/T``, ``κ = 2 sinh(2βJ) / cosh²(2βJ)``::

      u(T) = -J coth(2βJ) [1 + (2/π) (2 tanh²(2βJ) - 1) K(κ)]

  where ``K(k) = ∫₀^{π/2} dθ / √(1 - k² sin²θ)`` is the complete elliptic integral
  of the first kind (modulus ``k``), computed here by the arithmetic–geometric mean
  ``K(k) = π / (2 AGM(1, √(1 - k²)))``;
* spontaneous magnetization per spin (Onsager–Yang)
  ``m(T) = (1 - sinh⁻⁴(2βJ))^{1/8}`` for ``T < T_c``, 0 above.

All functions are elementwise, jittable and differentiable in ``T`` away from ``T_c``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from jaxphys import _checks

__all__ = ["critical_temperature", "elliptic_k", "onsager_energy", "onsager_magnetization"]

#: ``2 / ln(1 + √2)`` for ``J = 1``.
T_CRITICAL = 2.0 / math.log(1.0 + math.sqrt(2.0))


def critical_temperature(coupling: Any = 1.0) -> jax.Array:
    """Onsager's critical temperature ``T_c = 2J / ln(1 + √2)`` (units of ``J/k_B``).

    >>> round(float(critical_temperature()), 6)
    2.269185
    """
    coupling = _checks.as_array(coupling, "coupling")
    return 2.0 * coupling / jnp.log1p(jnp.sqrt(2.0))


def elliptic_k(k: Any, n_iter: int = 12) -> jax.Array:
    """Complete elliptic integral of the first kind ``K(k)`` of modulus ``k`` (``0 ≤ k < 1``).

    ``K(k) = π / (2 AGM(1, √(1-k²)))``; the AGM converges quadratically, ``n_iter``
    steps reach float64 precision for ``k`` up to ``1 - 1e-12``. Note scipy's
    ``ellipk(m)`` takes the parameter ``m = k²``.

    >>> round(float(elliptic_k(0.0)), 6)   # π/2
    1.570796
    """
    n_iter = _checks.as_int(n_iter, "n_iter", minimum=1)
    k = jnp.asarray(k, dtype=jnp.result_type(float))
    a = jnp.ones_like(k)
    b = jnp.sqrt(jnp.clip(1.0 - k * k, 0.0, None))

    def body(_, ab):
        a_, b_ = ab
        return (0.5 * (a_ + b_), jnp.sqrt(a_ * b_))

    a, b = jax.lax.fori_loop(0, n_iter, body, (a, b))
    return jnp.pi / (a + b)


def _temperature(temperature: Any) -> jax.Array:
    t = _checks.as_array(temperature, "temperature", dtype=jnp.result_type(float))
    _checks.check_finite(t, "temperature")
    _checks.check_positive(t, "temperature")
    return t


def onsager_energy(temperature: Any, coupling: Any = 1.0) -> jax.Array:
    """Exact internal energy per spin ``u(T)`` of the infinite square lattice.

    Args:
      temperature: ``(...)`` temperatures ``T > 0`` (units ``J/k_B``).
      coupling: ferromagnetic coupling ``J > 0``.

    Returns:
      ``(...)`` energy per spin (units of ``J``); ``-2J`` at ``T → 0``,
      ``-√2 J`` at ``T_c``.

    >>> round(float(onsager_energy(2.0)), 4)
    -1.7455
    """
    t = _temperature(temperature)
    j = jnp.asarray(coupling, dtype=t.dtype)
    two_bj = 2.0 * j / t
    kappa = 2.0 * jnp.sinh(two_bj) / jnp.cosh(two_bj) ** 2
    kappa = jnp.clip(kappa, 0.0, 1.0 - 1e-15)   # κ = 1 exactly at T_c (log singularity of K)
    bracket = 1.0 + (2.0 / jnp.pi) * (2.0 * jnp.tanh(two_bj) ** 2 - 1.0) * elliptic_k(kappa)
    return -j / jnp.tanh(two_bj) * bracket


def onsager_magnetization(temperature: Any, coupling: Any = 1.0) -> jax.Array:
    """Spontaneous magnetization per spin ``(1 - sinh⁻⁴(2J/T))^{1/8}`` below ``T_c``, 0 above.

    >>> round(float(onsager_magnetization(2.0)), 4)
    0.9113
    >>> float(onsager_magnetization(3.0))
    0.0
    """
    t = _temperature(temperature)
    j = jnp.asarray(coupling, dtype=t.dtype)
    x = 1.0 - jnp.sinh(2.0 * j / t) ** -4
    return jnp.where(x > 0, jnp.clip(x, 0.0, None) ** 0.125, 0.0)
