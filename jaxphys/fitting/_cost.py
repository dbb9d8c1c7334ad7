"""The cost-function base: a pytree, callable on the parameters, composable by ``+``.

Every cost in :mod:`jaxphys.fitting` is χ²-like: it is ``-2 log L`` up to a
constant (or a χ²), so that a change of 1 marks one standard deviation and
``errordef = 1`` (MINUIT's ``UP``). A cost written as ``-log L`` has
``errordef = 0.5``; :class:`CustomCost` carries the value given. A sum of costs
divides each term by its ``errordef`` (as iminuit's ``CostSum`` does), so a sum
always has ``errordef = 1``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_finite, check_positive, is_concrete

__all__ = ["Cost", "CostSum", "CustomCost", "GaussianConstraint"]


class Cost:
    """Base class of the cost functions: ``cost(params) -> scalar``, ``cost_a + cost_b``.

    Subclasses list their array fields in ``_children`` (pytree leaves: the
    data, traced under ``jit``/``vmap``) and their static fields in ``_static``
    (the model functions and options), and are registered as pytrees with
    :func:`_register`.

    Attributes:
        errordef: the change of the cost that marks one standard deviation
            (1 for χ²-like costs, 0.5 for ``-log L``).
        n_data: number of data points (bins, events, constraints), for the
            goodness of fit.

    Example:
        >>> from jaxphys.fitting import Cost, CustomCost, GaussianConstraint
        >>> nll = CustomCost(lambda p: 0.5 * (p["mu"] - 2.0) ** 2, errordef=0.5)   # -log L
        >>> total = nll + GaussianConstraint("mu", 0.0, 1.0)      # a CostSum, errordef 1
        >>> isinstance(total, Cost), total.errordef, total.n_data
        (True, 1.0, 1)
        >>> float(total({"mu": 1.0}))                             # 0.5 / 0.5 + (1 - 0)² / 1²
        2.0
    """

    _children: tuple[str, ...] = ()
    _static: tuple[str, ...] = ()
    errordef: float = 1.0

    def __call__(self, params: Any) -> jax.Array:
        raise NotImplementedError

    @property
    def n_data(self) -> int:
        raise NotImplementedError

    def check_names(self, names: tuple[str, ...], as_dict: bool) -> None:
        """Raise if the cost refers to parameters that a fit does not have (static check)."""

    def diagnose(self, params: Any) -> str | None:
        """A message saying why the cost is not finite at ``params`` (host side), or None."""
        value = np.asarray(self(params))
        if not np.isfinite(value):
            return f"{type(self).__name__} is {value} at the starting values"
        return None

    def __add__(self, other: Any) -> "CostSum":
        if not isinstance(other, Cost):
            return NotImplemented
        left = self.costs if isinstance(self, CostSum) else (self,)
        right = other.costs if isinstance(other, CostSum) else (other,)
        return CostSum(left + right)

    def tree_flatten(self):
        return (tuple(getattr(self, n) for n in self._children),
                tuple(getattr(self, n) for n in self._static))

    @classmethod
    def tree_unflatten(cls, static, children):
        obj = object.__new__(cls)
        for name, value in zip(cls._children, children):
            setattr(obj, name, value)
        for name, value in zip(cls._static, static):
            setattr(obj, name, value)
        return obj


def _register(cls):
    return jax.tree_util.register_pytree_node_class(cls)


@_register
class CostSum(Cost):
    r"""Sum of costs, each divided by its ``errordef``: :math:`\sum_k C_k / u_k`.

    Made by ``cost_a + cost_b``; ``errordef = 1``, ``n_data`` the sum.

    Example:
        >>> from jaxphys.fitting import GaussianConstraint
        >>> c = GaussianConstraint("a", 0.0, 1.0) + GaussianConstraint("b", 1.0, 2.0)
        >>> float(c({"a": 1.0, "b": 1.0})), c.n_data
        (1.0, 2)
    """

    _children = ("costs",)

    def __init__(self, costs: Sequence[Cost]):
        costs = tuple(costs)
        if not costs or not all(isinstance(c, Cost) for c in costs):
            raise TypeError("costs: expected a non-empty sequence of Cost objects")
        self.costs = costs

    def __call__(self, params):
        return sum(c(params) / c.errordef for c in self.costs)

    @property
    def n_data(self) -> int:
        return sum(c.n_data for c in self.costs)

    def check_names(self, names, as_dict):
        for c in self.costs:
            c.check_names(names, as_dict)

    def diagnose(self, params):
        for c in self.costs:
            msg = c.diagnose(params)
            if msg is not None:
                return msg
        return None


@_register
class CustomCost(Cost):
    """A user's cost function ``fn(params) -> scalar`` with its ``errordef``.

    Args:
        fn: pure function of the parameters (a dict or an array, as
            :class:`~jaxphys.fitting.Parameters` passes them), jittable.
        errordef: 1 if ``fn`` is χ²-like (``-2 log L``, a χ²), 0.5 if it is ``-log L``.
        n_data: number of data points it describes (0 if not meaningful).

    Example:
        >>> from jaxphys.fitting import CustomCost
        >>> c = CustomCost(lambda p: (p["x"] - 1.0) ** 2, errordef=0.5)
        >>> float(c({"x": 2.0})), c.errordef
        (1.0, 0.5)
    """

    _static = ("fn", "errordef", "_n_data")

    def __init__(self, fn: Callable[[Any], jax.Array], *, errordef: float = 1.0,
                 n_data: int = 0):
        if not callable(fn):
            raise TypeError(f"fn: expected a callable cost fn(params), got {type(fn).__name__}")
        errordef = float(errordef)
        if not errordef > 0:
            raise ValueError(f"errordef: expected > 0 (1 for -2 log L or χ², 0.5 for "
                             f"-log L), got {errordef}")
        self.fn, self.errordef, self._n_data = fn, errordef, int(n_data)

    def __call__(self, params):
        return jnp.asarray(self.fn(params))

    @property
    def n_data(self) -> int:
        return self._n_data


@_register
class GaussianConstraint(Cost):
    r"""Gaussian penalty for nuisance parameters measured elsewhere.

    For parameters :math:`\theta_j` with external measurements :math:`m_j \pm s_j`,
    per constraint

    .. math:: C = \sum_j \left(\frac{\theta_j - m_j}{s_j}\right)^2 ,

    which is :math:`-2\log` of a normal likelihood up to a constant
    (``errordef = 1``); add it to a likelihood cost.

    Args:
        parameters: a name (or index) or a sequence of them.
        values: the measured values :math:`m_j`, scalar or ``(J,)``.
        errors: their standard deviations :math:`s_j > 0`, scalar or ``(J,)``.

    Example:
        >>> from jaxphys.fitting import GaussianConstraint
        >>> c = GaussianConstraint("b", 1.0, 0.1)
        >>> round(float(c({"b": 1.2, "mu": 3.0})), 6)
        4.0
    """

    _children = ("values", "errors")
    _static = ("parameters",)

    def __init__(self, parameters: Any, values: Any, errors: Any):
        single = isinstance(parameters, (str, int))
        self.parameters = (parameters,) if single else tuple(parameters)
        n = len(self.parameters)
        if n == 0:
            raise ValueError("parameters: expected at least one parameter to constrain")
        self.values = _float_data(_at_least_1d(values), "values", ndim=1)
        self.errors = _float_data(_at_least_1d(errors), "errors", ndim=1)
        for name, arr in (("values", self.values), ("errors", self.errors)):
            if arr.shape != (n,):
                raise ValueError(f"{name}: expected {n} value(s), one per constrained "
                                 f"parameter, got shape {tuple(arr.shape)}")
        check_positive(self.errors, "errors")

    def __call__(self, params):
        theta = jnp.stack([params[p] for p in self.parameters])
        return jnp.sum(((theta - self.values) / self.errors) ** 2)

    @property
    def n_data(self) -> int:
        return len(self.parameters)

    def check_names(self, names, as_dict):
        for p in self.parameters:
            known = p in names if as_dict else isinstance(p, int) and 0 <= p < len(names)
            if not known:
                raise ValueError(f"parameters: GaussianConstraint constrains {p!r}, which is not "
                                 f"a fit parameter; the parameters are {names}"
                                 + ("" if as_dict else " (give positions for an array start)"))


def _at_least_1d(x: Any) -> Any:
    return np.atleast_1d(np.asarray(x)) if is_concrete(x) else jnp.atleast_1d(x)


def _float_data(x: Any, name: str, *, ndim: int | tuple[int, ...] | None = None) -> Any:
    """Data as float64 numpy (concrete: keeps float64 whatever the x64 flag) or as given."""
    if is_concrete(x):
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: expected an array of numbers ({err})") from None
        if ndim is not None:
            as_array(arr, name, ndim=ndim)
        check_finite(arr, name)
        return arr
    arr = jnp.asarray(x)
    if ndim is not None:
        as_array(arr, name, ndim=ndim)
    return arr if jnp.issubdtype(arr.dtype, jnp.inexact) else arr.astype(jnp.result_type(float))
