"""Exact reference solutions for the PINN problems: viscous Burgers (Cole–Hopf),
the heat equation and the damped harmonic oscillator.

Burgers, ``u_t + u u_x = ν u_xx`` on ``x ∈ [-1, 1]``, ``u(x, 0) = -sin πx``,
``u(±1, t) = 0``. The Cole–Hopf transformation ``u = -2ν ∂_x log φ`` turns it into
the heat equation for ``φ``; with the initial data on the whole line this gives

    u(x, t) = - ∫ sin π(x-η) f(x-η) G(η) dη / ∫ f(x-η) G(η) dη,
    f(y) = exp(-cos(πy) / (2πν)),   G(η) = exp(-η² / (4νt)).

(``-sin πx`` is odd and 2-periodic, so the whole-line solution satisfies
``u(±1, t) = 0``.) With ``η = √(4νt) z`` both integrals are Gauss–Hermite
integrals ``∫ g(z) e^{-z²} dz ≈ Σ_i w_i g(z_i)``. For ν = 0.01/π the factor ``f``
spans ``e^{±50}``, so the sums are taken in log space (log-sum-exp, the largest
term factored out), which keeps them finite and accurate through the shock at
``x = 0`` (where two peaks of the integrand, near ``x - η = ±1``, balance) and as
``t → 0`` (where the kernel narrows to a delta; ``t = 0`` returns ``-sin πx``
exactly). With 100 nodes the quadrature agrees with a dense trapezoid rule
to ~1e-15 on ``[-1, 1] × (0, 1]``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_positive, check_same_shape

__all__ = ["burgers_cole_hopf", "heat_exact", "damped_oscillator_exact", "BURGERS_NU"]

#: The viscosity of the classic PINN benchmark (Raissi et al. 2019), ν = 0.01/π.
BURGERS_NU = 0.01 / np.pi


def burgers_cole_hopf(x: Any, t: Any, nu: Any = BURGERS_NU, *, n_nodes: int = 100) -> jax.Array:
    r"""Exact viscous Burgers solution with ``u(x, 0) = -sin πx`` (Cole–Hopf, Gauss–Hermite).

    Args:
      x, t: positions and times of the same shape (any); ``t >= 0``.
      nu: viscosity ν > 0 (scalar).
      n_nodes: Gauss–Hermite nodes (100 is converged to rounding for ν = 0.01/π).

    Returns:
      ``u(x, t)``, the shape of ``x``, in the dtype of ``x`` (float64 under x64).

    Example:
      >>> import jax.numpy as jnp
      >>> u = burgers_cole_hopf(jnp.array([-0.5, 0.0, 0.5]), jnp.array([0.0, 0.5, 0.0]))
      >>> [round(float(v), 4) for v in u]
      [1.0, 0.0, -1.0]
    """
    x = as_array(x, "x")
    t = as_array(t, "t")
    check_same_shape(x, "x", t, "t")
    check_finite(x, "x")
    check_finite(t, "t")
    check_positive(t, "t", strict=False)
    nu = as_array(nu, "nu", ndim=0)
    check_positive(nu, "nu")
    n_nodes = as_int(n_nodes, "n_nodes", minimum=2)
    dtype = jnp.result_type(x.dtype, float)
    z, w = np.polynomial.hermite.hermgauss(n_nodes)
    return _cole_hopf(x.astype(dtype), t.astype(dtype), nu.astype(dtype),
                      jnp.asarray(z, dtype), jnp.asarray(np.log(w), dtype))


@jax.jit
def _cole_hopf(x, t, nu, z, log_w):
    shape = (1,) * x.ndim + z.shape                             # explicit ranks
    z, log_w = z.reshape(shape), log_w.reshape(shape)
    scale = jnp.sqrt(4.0 * nu * t)[..., None]                   # √(4νt), (..., 1)
    y = x[..., None] - scale * z                                # x - η at the nodes
    log_terms = log_w - jnp.cos(jnp.pi * y) / (2.0 * jnp.pi * nu)
    # the shift cancels in the ratio below: no gradient through it (exact, and finite)
    shift = jax.lax.stop_gradient(jnp.max(log_terms, axis=-1, keepdims=True))
    weights = jnp.exp(log_terms - shift)
    u = -jnp.sum(jnp.sin(jnp.pi * y) * weights, axis=-1) / jnp.sum(weights, axis=-1)
    return jnp.where(t > 0, u, -jnp.sin(jnp.pi * x))


def heat_exact(x: Any, t: Any, kappa: Any) -> jax.Array:
    r"""Heat equation ``u_t = κ u_xx`` on ``[0, 1]``, ``u(x, 0) = sin πx``, ``u(0, t) = u(1, t) = 0``:
    ``u = exp(-κ π² t) sin πx``. ``x``, ``t`` of one shape; returns that shape.

    Example:
      >>> round(float(heat_exact(0.5, 1.0, 0.0)), 6)
      1.0
    """
    x, t = jnp.asarray(x), jnp.asarray(t)
    check_same_shape(x, "x", t, "t")
    check_finite(x, "x")
    check_finite(t, "t")
    return jnp.exp(-kappa * jnp.pi ** 2 * t) * jnp.sin(jnp.pi * x)


def damped_oscillator_exact(t: Any, omega0: Any, zeta: Any, x0: Any = 1.0, v0: Any = 0.0) -> jax.Array:
    r"""Underdamped oscillator ``x'' + 2ζω₀ x' + ω₀² x = 0`` (0 ≤ ζ < 1), ``x(0) = x0``,
    ``x'(0) = v0``: ``x = e^{-ζω₀t} (x0 cos ω_d t + (v0 + ζω₀ x0)/ω_d sin ω_d t)`` with
    ``ω_d = ω₀ √(1 - ζ²)``. Returns the shape of ``t``.

    Example:
      >>> round(float(damped_oscillator_exact(0.0, 2.0, 0.1)), 6)
      1.0
    """
    t = jnp.asarray(t)
    if is_concrete_scalar(zeta) and not 0.0 <= float(zeta) < 1.0:
        raise ValueError(f"zeta: expected an underdamped ratio 0 <= zeta < 1, got {zeta}")
    wd = omega0 * jnp.sqrt(1.0 - zeta ** 2)
    return jnp.exp(-zeta * omega0 * t) * (x0 * jnp.cos(wd * t)
                                          + (v0 + zeta * omega0 * x0) / wd * jnp.sin(wd * t))


def is_concrete_scalar(v: Any) -> bool:
    return not isinstance(v, jax.core.Tracer) and np.ndim(v) == 0
