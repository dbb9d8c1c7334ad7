"""Figures of merit of a counting experiment: s/√b and the Asimov discovery significance."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_finite, is_concrete

__all__ = ["significance", "asimov_significance"]


def _counts(x: Any, name: str, *, strict: bool) -> jax.Array:
    arr = as_array(x, name)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    check_finite(arr, name)
    if is_concrete(arr):
        a = np.asarray(arr)
        if np.any(a <= 0 if strict else a < 0):
            rel = "> 0" if strict else ">= 0"
            raise ValueError(f"{name}: expected every value {rel}, got minimum {a.min()!r}")
    return arr


def _same_shape(a: jax.Array, name_a: str, b: jax.Array, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_b}: expected shape {tuple(a.shape)} (that of {name_a}; no "
                         f"broadcasting), got {tuple(b.shape)}")


def significance(s: Any, b: Any) -> jax.Array:
    r"""The simple figure of merit :math:`s/\sqrt b`.

    The large-b limit of the Asimov significance; it overstates the
    significance when s is not small against b (use
    :func:`asimov_significance`).

    Args:
        s: expected signal counts (>= 0), any shape.
        b: expected background counts (> 0), the shape of ``s``.

    Returns:
        Array of the shape of ``s``.

    Example:
        >>> from jaxphys.metrics import significance
        >>> float(significance(10.0, 100.0))
        1.0
    """
    s = _counts(s, "s", strict=False)
    b = _counts(b, "b", strict=True)
    _same_shape(s, "s", b, "b")
    return s / jnp.sqrt(b)


def asimov_significance(s: Any, b: Any, b_uncertainty: Any = None) -> jax.Array:
    r"""Median discovery significance of a counting experiment (the Asimov Z).

    Without background uncertainty (G. Cowan, K. Cranmer, E. Gross and O.
    Vitells, "Asymptotic formulae for likelihood-based tests of new physics",
    Eur. Phys. J. C 71 (2011) 1554, eq. (97)):

    .. math:: Z_A = \sqrt{2\left[(s+b)\ln(1 + s/b) - s\right]} ,

    which tends to :math:`s/\sqrt b` for :math:`s \ll b`. With an absolute
    background uncertainty :math:`\sigma_b` (a Poisson-constrained background;
    G. Cowan, "Discovery sensitivity for a counting experiment with
    background uncertainty", 2012):

    .. math::
        Z_A = \sqrt{2\left[(s+b)\ln\frac{(s+b)(b+\sigma_b^2)}{b^2+(s+b)\sigma_b^2}
              - \frac{b^2}{\sigma_b^2}
                \ln\left(1+\frac{\sigma_b^2 s}{b(b+\sigma_b^2)}\right)\right]} .

    Args:
        s: expected signal counts (>= 0), any shape.
        b: expected background counts (> 0), the shape of ``s``.
        b_uncertainty: optional :math:`\sigma_b > 0`, the shape of ``s``.

    Returns:
        Array of the shape of ``s``.

    Example:
        >>> from jaxphys.metrics import asimov_significance
        >>> round(float(asimov_significance(10.0, 100.0)), 4)
        0.984
        >>> round(float(asimov_significance(10.0, 100.0, 10.0)), 4)
        0.6902
    """
    s = _counts(s, "s", strict=False)
    b = _counts(b, "b", strict=True)
    _same_shape(s, "s", b, "b")
    if b_uncertainty is None:
        return _asimov(s, b)
    sigma = _counts(b_uncertainty, "b_uncertainty", strict=True)
    _same_shape(s, "s", sigma, "b_uncertainty")
    return _asimov_uncertain(s, b, sigma)


@jax.jit
def _asimov(s, b):
    return jnp.sqrt(2.0 * jnp.maximum((s + b) * jnp.log1p(s / b) - s, 0.0))


@jax.jit
def _asimov_uncertain(s, b, sigma):
    var = sigma * sigma
    n = s + b
    first = n * jnp.log(n * (b + var) / (b * b + n * var))
    second = (b * b / var) * jnp.log1p(var * s / (b * (b + var)))
    return jnp.sqrt(2.0 * jnp.maximum(first - second, 0.0))
