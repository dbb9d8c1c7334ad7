"""Breit–Wigner resonance over a linear background, a model for :func:`curve_fit`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

__all__ = ["breit_wigner"]


def breit_wigner(x: Any, params: Any, *, relativistic: bool = False) -> jax.Array:
    r"""Breit–Wigner peak of height ``A`` at mass ``M`` with full width ``Γ``, plus a line.

    ``params = (A, M, Γ, b0, b1)``. Non-relativistic (Cauchy/Lorentz) form::

        f(E) = A · (Γ/2)² / ((E - M)² + (Γ/2)²)  +  b0 + b1·E

    Relativistic form (``relativistic=True``)::

        f(E) = A · M²Γ² / ((E² - M²)² + M²Γ²)  +  b0 + b1·E

    Both peak at ``E = M`` with height ``A`` above the background; ``Γ`` is
    the full width at half maximum of the non-relativistic peak (and,
    to ``O(Γ/M)``, of the relativistic one). Units: ``E``, ``M`` and ``Γ`` in
    the same energy unit; ``A``, ``b0`` in the units of the measured rate,
    ``b1`` in rate per energy. Only ``Γ²`` enters, so a fit may return a
    negative ``Γ``; quote ``|Γ|``.

    Args:
        x: energies ``E``, any shape.
        params: ``(5,)`` array ``(A, M, Γ, b0, b1)``.
        relativistic: choose the relativistic form (a Python bool).

    Returns:
        Array of the shape of ``x``.

    Raises:
        ValueError: ``params`` not of shape ``(5,)``.

    >>> import jax.numpy as jnp
    >>> p = jnp.array([10.0, 91.2, 2.5, 1.0, 0.0])
    >>> round(float(breit_wigner(jnp.array(91.2), p)), 3)
    11.0
    >>> round(float(breit_wigner(jnp.array(91.2 + 1.25), p)), 3)   # half maximum
    6.0
    """
    theta = jnp.asarray(params)
    if theta.shape != (5,):
        raise ValueError(f"params: expected shape (5,) = (A, M, Gamma, b0, b1), got "
                         f"{tuple(theta.shape)}")
    e = jnp.asarray(x)
    e = e.astype(jnp.result_type(float, e, theta))
    amp, mass, width, b0, b1 = (theta[i] for i in range(5))
    if relativistic:
        mg2 = (mass * width) ** 2
        peak = amp * mg2 / ((e * e - mass * mass) ** 2 + mg2)
    else:
        hw2 = (0.5 * width) ** 2
        peak = amp * hw2 / ((e - mass) ** 2 + hw2)
    return peak + b0 + b1 * e
