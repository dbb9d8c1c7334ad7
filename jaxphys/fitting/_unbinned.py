"""Unbinned likelihood of a normalised density, plain or extended."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._cost import Cost, _float_data, _register

__all__ = ["UnbinnedNLL"]


@_register
class UnbinnedNLL(Cost):
    r"""Unbinned likelihood of events :math:`x_1..x_N`, as ``-2 log L``.

    Per event the cost is :math:`-2\log p(x_i;\theta)`, with ``density`` p
    normalised to 1 over the observation range:

    .. math:: C = -2\sum_{i=1}^{N} \log p(x_i;\theta) .

    Extended (``expected`` given, the expected number of events
    :math:`\nu(\theta)`), the Poisson probability of N is included
    (R. J. Barlow, "Extended maximum likelihood", Nucl. Instrum. Meth. A297
    (1990) 496):

    .. math:: C = 2\Big[\nu - \sum_{i=1}^{N} \log\big(\nu\, p(x_i;\theta)\big)\Big],

    which is iminuit's ``ExtendedUnbinnedNLL`` with the scaled density
    :math:`\nu p`. ``errordef = 1``. A density ``<= 0`` (or not finite) at an
    event makes the cost +inf; :func:`~jaxphys.fitting.minimize` names the event if
    this happens at the starting values.

    Args:
        data: events, ``(N,)`` or ``(N, D)``, finite, N >= 1.
        density: ``density(data, params) -> (N,)``, normalised over the range.
        expected: optional ``expected(params) -> scalar`` ν > 0 (extended fit).

    Example:
        >>> from jaxphys.fitting import UnbinnedNLL
        >>> cost = UnbinnedNLL(jnp.array([0.5, 1.0, 2.0]),
        ...                    lambda x, p: jnp.exp(-x / p[0]) / p[0])
        >>> round(float(cost(jnp.array([1.0]))), 4)  # 2 Σ x / τ at τ = 1
        7.0
    """

    _children = ("data",)
    _static = ("density", "expected")

    def __init__(self, data: Any, density: Callable, *, expected: Callable | None = None):
        if not callable(density):
            raise TypeError(f"density: expected a callable density(x, params), got "
                            f"{type(density).__name__}")
        if expected is not None and not callable(expected):
            raise TypeError(f"expected: expected a callable expected(params) or None, got "
                            f"{type(expected).__name__}")
        self.data = _float_data(data, "data", ndim=(1, 2))
        if self.data.shape[0] == 0:
            raise ValueError("data: expected at least one event, got none")
        self.density, self.expected = density, expected

    @property
    def n_data(self) -> int:
        return int(self.data.shape[0])

    def _log_density(self, params: Any) -> tuple[jax.Array, jax.Array]:
        p = jnp.asarray(self.density(jnp.asarray(self.data), params))
        if p.shape != (self.n_data,):
            raise ValueError(f"density: expected the model to return shape ({self.n_data},) "
                             f"(one value per event), got {tuple(p.shape)}")
        ok = jnp.isfinite(p) & (p > 0)
        return jnp.log(jnp.where(ok, p, 1.0)), jnp.all(ok)

    def __call__(self, params):
        log_p, ok = self._log_density(params)
        if self.expected is None:
            return jnp.where(ok, -2.0 * jnp.sum(log_p), jnp.inf)
        nu = jnp.asarray(self.expected(params))
        ok = ok & (nu > 0) & jnp.isfinite(nu)
        log_nu = jnp.log(jnp.where(ok, nu, 1.0))
        return jnp.where(ok, 2.0 * (nu - self.n_data * log_nu - jnp.sum(log_p)), jnp.inf)

    def diagnose(self, params):
        p = np.asarray(self.density(jnp.asarray(self.data), params))
        bad = ~np.isfinite(p) | (p <= 0)
        if p.shape == (self.n_data,) and np.any(bad):
            i = int(np.argmax(bad))
            return (f"density: the density is {p[i]} at data[{i}] = {self.data[i]} at the "
                    "starting values; it must be positive (and finite) wherever data lie")
        if self.expected is not None:
            nu = float(np.asarray(self.expected(params)))
            if not (np.isfinite(nu) and nu > 0):
                return f"expected: the expected number of events is {nu} at the starting " \
                       "values; it must be positive"
        return super().diagnose(params)
