"""Fit parameters: names, starting values, limits (Minuit's transforms), fixed flags.

A bounded parameter is minimised in an unbounded *internal* coordinate, with
the transformations of MINUIT (F. James, *MINUIT Function Minimization and
Error Analysis, Reference Manual, Version 94.1*, CERN Program Library Long
Writeup D506, 1994, and F. James and M. Winkler, *MINUIT User's Guide*, CERN,
2004: their treatment of parameter limits):

* two limits ``a < P < b``: ``P = a + (b - a)(sin P_int + 1)/2``,
  ``P_int = arcsin(2 (P - a)/(b - a) - 1)``;
* a lower limit ``P > a``: ``P = a - 1 + sqrt(P_int² + 1)``,
  ``P_int = sqrt((P - a + 1)² - 1)``;
* an upper limit ``P < b``: ``P = b + 1 - sqrt(P_int² + 1)``,
  ``P_int = sqrt((b - P + 1)² - 1)``.

Errors are computed in internal coordinates and carried to the external
(user) parameters with the Jacobian ``dP/dP_int``, as MINUIT's HESSE does.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import is_concrete

__all__ = ["Parameters"]

_NONE, _LOWER, _UPPER, _BOTH = 0, 1, 2, 3


class Layout(NamedTuple):
    """The static (hashable) part of :class:`Parameters`, used to trace fits."""

    names: tuple[str, ...]
    free: tuple[int, ...]          # indices of the free parameters
    kinds: tuple[int, ...]         # per parameter: 0 none, 1 lower, 2 upper, 3 both
    lows: tuple[float, ...]
    highs: tuple[float, ...]
    as_dict: bool                  # the model receives a dict (True) or an array

    def without(self, indices: tuple[int, ...]) -> "Layout":
        """The same layout with ``indices`` fixed as well (for profiles)."""
        return self._replace(free=tuple(i for i in self.free if i not in indices))


@jax.tree_util.register_pytree_node_class
class Parameters:
    r"""Names, starting values, limits and fixed flags of a fit's parameters.

    The cost receives the parameters as a dict ``{name: scalar}`` when
    ``start`` is a mapping, or as a ``(k,)`` array otherwise; results list
    them in the order of ``names``.

    Args:
        start: starting values, a mapping ``{name: float}`` or a ``(k,)`` array.
        limits: optional ``{name: (low, high)}`` (or a sequence of k pairs);
            ``None`` for an open side. Starting values must lie strictly inside.
        fixed: names (or indices) of parameters held at their starting value.
        names: names for an array ``start`` (default ``x0, x1, ...``).

    Example:
        >>> from jaxphys.fitting import Parameters
        >>> p = Parameters({"mu": 0.0, "sigma": 1.0}, limits={"sigma": (0.0, None)})
        >>> p.names, p.layout.kinds
        (('mu', 'sigma'), (0, 1))
    """

    def __init__(self, start: Any, *, limits: Any = None, fixed: Any = (),
                 names: Sequence[str] | None = None):
        as_dict = isinstance(start, Mapping)
        if as_dict:
            if names is not None:
                raise ValueError("names: give names either as the keys of a dict start or "
                                 "through names=, not both")
            names = tuple(start.keys())
            if not all(isinstance(n, str) for n in names):
                raise TypeError(f"start: dict keys must be str parameter names, got {names}")
            leaves = [start[n] for n in names]
            values = (None if not leaves else _as_values(leaves) if all(map(is_concrete, leaves))
                      else jnp.stack([jnp.asarray(v) for v in leaves]))
        else:
            values = _as_values(start) if is_concrete(start) else jnp.asarray(start)
            if values.ndim != 1:
                raise ValueError(f"start: expected a dict or a rank-1 array of starting "
                                 f"values, got shape {tuple(values.shape)}")
            names = (tuple(names) if names is not None
                     else tuple(f"x{i}" for i in range(values.shape[0])))
        if values is None or values.shape[0] == 0:
            raise ValueError("start: expected at least one parameter, got none")
        if len(names) != values.shape[0] or len(set(names)) != len(names):
            raise ValueError(f"names: expected {values.shape[0]} distinct names, got {names}")
        if values.shape != (len(names),) or values.ndim != 1:
            raise ValueError(f"start: every starting value must be a scalar, got shape "
                             f"{tuple(values.shape)}")
        if not jnp.issubdtype(values.dtype, jnp.floating):
            values = values.astype(jnp.result_type(float))
        kinds, lows, highs = _parse_limits(limits, names)
        fixed_idx = _parse_fixed(fixed, names)
        self.values = values
        self.layout = Layout(names=names, free=tuple(i for i in range(len(names))
                                                      if i not in fixed_idx),
                             kinds=kinds, lows=lows, highs=highs, as_dict=as_dict)
        _check_inside(values, self.layout)

    @property
    def names(self) -> tuple[str, ...]:
        return self.layout.names

    def index(self, name: str | int) -> int:
        """Position of a parameter given by name (or index)."""
        if isinstance(name, (int, np.integer)) and not isinstance(name, bool):
            if 0 <= int(name) < len(self.names):
                return int(name)
        elif name in self.names:
            return self.names.index(name)
        raise ValueError(f"parameter: unknown parameter {name!r}; expected one of "
                         f"{self.names}")

    def tree_flatten(self):
        return (self.values,), self.layout

    @classmethod
    def tree_unflatten(cls, layout, children):
        obj = object.__new__(cls)
        obj.values, obj.layout = children[0], layout
        return obj


def _as_values(x: Any) -> np.ndarray:
    """Concrete starting values as float64 numpy (kept in float64 whatever the x64 flag)."""
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"start: expected numbers as starting values ({err})") from None


def _parse_limits(limits: Any, names: tuple[str, ...]):
    k = len(names)
    pairs: list[Any] = [None] * k
    if limits is None:
        pass
    elif isinstance(limits, Mapping):
        for name, pair in limits.items():
            if name not in names:
                raise ValueError(f"limits: unknown parameter {name!r}; expected one of {names}")
            pairs[names.index(name)] = pair
    else:
        pairs = list(limits)
        if len(pairs) != k:
            raise ValueError(f"limits: expected {k} (low, high) pairs, got {len(pairs)}")
    kinds, lows, highs = [], [], []
    for name, pair in zip(names, pairs):
        low, high = (None, None) if pair is None else tuple(pair)
        low = None if low is None or low == -math.inf else float(low)
        high = None if high is None or high == math.inf else float(high)
        for v in (low, high):
            if v is not None and not math.isfinite(v):
                raise ValueError(f"limits: limit of {name!r} must be finite or None, got {v}")
        if low is not None and high is not None and not low < high:
            raise ValueError(f"limits: expected low < high for {name!r}, got ({low}, {high})")
        kinds.append((low is not None) * _LOWER + (high is not None) * _UPPER)
        lows.append(0.0 if low is None else low)
        highs.append(0.0 if high is None else high)
    return tuple(kinds), tuple(lows), tuple(highs)


def _parse_fixed(fixed: Any, names: tuple[str, ...]) -> set[int]:
    if isinstance(fixed, (str, int)):
        fixed = (fixed,)
    out = set()
    for f in fixed:
        if isinstance(f, str) and f in names:
            out.add(names.index(f))
        elif isinstance(f, (int, np.integer)) and not isinstance(f, bool) and 0 <= f < len(names):
            out.add(int(f))
        else:
            raise ValueError(f"fixed: unknown parameter {f!r}; expected names from {names}")
    return out


def _check_inside(values: jax.Array, layout: Layout) -> None:
    if not is_concrete(values):
        return
    v = np.asarray(values)
    for i, name in enumerate(layout.names):
        if not np.isfinite(v[i]):
            raise ValueError(f"start: the starting value of {name!r} is not finite ({v[i]})")
        kind, lo, hi = layout.kinds[i], layout.lows[i], layout.highs[i]
        if i not in layout.free:
            continue
        if (kind & _LOWER and not v[i] > lo) or (kind & _UPPER and not v[i] < hi):
            shown = (lo if kind & _LOWER else None, hi if kind & _UPPER else None)
            raise ValueError(f"start: the starting value of {name!r} = {v[i]} must lie "
                             f"strictly inside its limits {shown}")


# ---- transforms (traced) ----------------------------------------------------------------

def to_internal(layout: Layout, external: jax.Array) -> jax.Array:
    """Internal coordinates ``(d,)`` of the free parameters from the external ``(k,)``."""
    out = []
    for i in layout.free:
        p, kind, a, b = external[i], layout.kinds[i], layout.lows[i], layout.highs[i]
        if kind == _BOTH:
            out.append(jnp.arcsin(jnp.clip(2.0 * (p - a) / (b - a) - 1.0, -1.0, 1.0)))
        elif kind == _LOWER:
            out.append(jnp.sqrt(jnp.maximum((p - a + 1.0) ** 2 - 1.0, 0.0)))
        elif kind == _UPPER:
            out.append(jnp.sqrt(jnp.maximum((b - p + 1.0) ** 2 - 1.0, 0.0)))
        else:
            out.append(p)
    return jnp.stack(out) if out else jnp.zeros((0,), external.dtype)


def _one_external(x, kind, a, b):
    if kind == _BOTH:
        return a + 0.5 * (b - a) * (jnp.sin(x) + 1.0)
    if kind == _LOWER:
        return a - 1.0 + jnp.sqrt(x * x + 1.0)
    if kind == _UPPER:
        return b + 1.0 - jnp.sqrt(x * x + 1.0)
    return x


def to_external(layout: Layout, internal: jax.Array, anchor: jax.Array) -> jax.Array:
    """The full external ``(k,)`` vector: ``anchor`` with the free entries replaced."""
    out = anchor
    for j, i in enumerate(layout.free):
        out = out.at[i].set(_one_external(internal[j], layout.kinds[i], layout.lows[i],
                                          layout.highs[i]))
    return out


def jacobian(layout: Layout, internal: jax.Array) -> jax.Array:
    """``dP/dP_int`` of each free parameter, shape ``(d,)``."""
    out = []
    for j, i in enumerate(layout.free):
        x, kind, a, b = internal[j], layout.kinds[i], layout.lows[i], layout.highs[i]
        if kind == _BOTH:
            out.append(0.5 * (b - a) * jnp.cos(x))
        elif kind == _LOWER:
            out.append(x / jnp.sqrt(x * x + 1.0))
        elif kind == _UPPER:
            out.append(-x / jnp.sqrt(x * x + 1.0))
        else:
            out.append(jnp.ones_like(x))
    return jnp.stack(out) if out else jnp.zeros((0,), internal.dtype)


def minuit_errors(layout: Layout, internal: jax.Array, sigma_internal: jax.Array) -> jax.Array:
    """External errors of the free parameters from internal ones, MINUIT's rule, ``(d,)``.

    Unbounded: σ. Bounded: ½(|P(x + σ) - P(x)| + |P(x - σ) - P(x)|), with
    ``|P(x + σ) - P(x)|`` replaced by ``b - a`` when σ > 1 for two limits
    (Minuit2's ``MnUserTransformation::Int2extError``). The covariance uses the
    Jacobian instead, so for bounded parameters the two differ at second order.
    """
    out = []
    for j, i in enumerate(layout.free):
        x, s, kind = internal[j], sigma_internal[j], layout.kinds[i]
        a, b = layout.lows[i], layout.highs[i]
        if kind == _NONE:
            out.append(s)
            continue
        centre = _one_external(x, kind, a, b)
        up = jnp.abs(_one_external(x + s, kind, a, b) - centre)
        down = jnp.abs(_one_external(x - s, kind, a, b) - centre)
        if kind == _BOTH:
            up = jnp.where(s > 1.0, b - a, up)
        out.append(0.5 * (up + down))
    return jnp.stack(out) if out else jnp.zeros((0,), internal.dtype)


def normalised_slope(layout: Layout, internal: jax.Array) -> jax.Array:
    """``|dP/dP_int|`` divided by its largest possible value, ``(d,)``; near 0 at a limit."""
    out = []
    for j, i in enumerate(layout.free):
        x, kind = internal[j], layout.kinds[i]
        if kind == _BOTH:
            out.append(jnp.abs(jnp.cos(x)))
        elif kind in (_LOWER, _UPPER):
            out.append(jnp.abs(x) / jnp.sqrt(x * x + 1.0))
        else:
            out.append(jnp.ones_like(x))
    return jnp.stack(out) if out else jnp.zeros((0,), internal.dtype)


def model_params(layout: Layout, external: jax.Array) -> Any:
    """What the cost receives: a dict ``{name: scalar}`` or the ``(k,)`` array."""
    if layout.as_dict:
        return {n: external[i] for i, n in enumerate(layout.names)}
    return external
