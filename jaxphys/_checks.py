"""Argument checks shared by every public function.

Each check raises a ``ValueError`` (or ``TypeError``) that names the argument,
what was expected and what was received. Checks on values (finiteness,
positivity) run only on concrete arrays: under ``jit`` they are skipped, so
public functions call them *before* entering jitted code.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x: Any) -> bool:
    """True if ``x`` holds concrete values (not a tracer inside ``jit``/``vmap``)."""
    return not isinstance(x, jax.core.Tracer)


def as_array(x: Any, name: str, *, ndim: int | Sequence[int] | None = None,
             dtype: Any = None) -> jax.Array:
    """Convert ``x`` to a JAX array and check its rank.

    ``ndim`` may be an int or a sequence of allowed ranks.
    """
    try:
        arr = jnp.asarray(x, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected an array-like, got {type(x).__name__} ({err})") from None
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name}: expected an array of rank {want}, got rank {arr.ndim} "
                             f"with shape {tuple(arr.shape)}")
    return arr


def check_shape(x: Any, name: str, shape: Sequence[int | None]) -> None:
    """Check ``x.shape`` against ``shape``; ``None`` entries match any size."""
    got = tuple(jnp.shape(x))
    ok = len(got) == len(shape) and all(s is None or s == g for s, g in zip(shape, got))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name}: expected shape {want}, got {got}")


def check_same_length(name_a: str, a: Any, name_b: str, b: Any) -> None:
    """Check that two arrays have the same leading dimension."""
    na, nb = jnp.shape(a)[0], jnp.shape(b)[0]
    if na != nb:
        raise ValueError(f"{name_a} and {name_b} must have the same length along axis 0, "
                         f"got {na} and {nb}")


def check_finite(x: Any, name: str) -> None:
    """Raise if a concrete array holds NaN or ±inf (skipped for tracers)."""
    leaves = jax.tree.leaves(x)
    for leaf in leaves:
        if not is_concrete(leaf):
            continue
        arr = np.asarray(leaf)
        if np.issubdtype(arr.dtype, np.inexact) and not np.all(np.isfinite(arr)):
            bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"{name}: expected finite values, found {bad} NaN or infinite "
                             f"entr{'y' if bad == 1 else 'ies'}")


def check_positive(x: Any, name: str, *, strict: bool = True) -> None:
    """Raise unless every entry of a concrete array is > 0 (or >= 0 if not strict)."""
    if not is_concrete(x):
        return
    arr = np.asarray(x)
    ok = np.all(arr > 0) if strict else np.all(arr >= 0)
    if not ok:
        rel = "> 0" if strict else ">= 0"
        raise ValueError(f"{name}: every value must be {rel}, got minimum {np.min(arr)!r}")


def check_in(value: Any, name: str, allowed: Sequence[Any]) -> None:
    """Raise unless ``value`` is one of ``allowed``, listing the allowed values."""
    if value not in allowed:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of "
                         + ", ".join(repr(a) for a in allowed))


def check_key(key: Any, name: str = "key") -> None:
    """Check that ``key`` is a JAX PRNG key (typed ``jax.random.key`` or raw uint32[2])."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return
    if hasattr(key, "dtype") and key.dtype == jnp.uint32 and jnp.shape(key)[-1:] == (2,):
        return
    raise TypeError(f"{name}: expected a JAX PRNG key from jax.random.key(seed), "
                    f"got {type(key).__name__}")


def as_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """``value`` as a Python int (no floats, no bools), optionally bounded below."""
    import operator

    if isinstance(value, bool):
        raise ValueError(f"{name}: expected an integer, got a bool")
    try:
        out = operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected an integer, got {type(value).__name__} "
                         f"{value!r}") from None
    if minimum is not None and out < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {out}")
    return out


def as_float(value: Any, name: str, *, low: float | None = None, high: float | None = None,
             low_open: bool = False, high_open: bool = False) -> float:
    """A Python number (no bools, no arrays) as a finite float in an interval
    (:func:`check_range`'s interval rules).

    Example:
        >>> as_float(0.25, "replay_fraction", low=0.0, high=1.0)
        0.25
        >>> as_float(True, "replay_fraction", low=0.0, high=1.0)
        Traceback (most recent call last):
        ...
        ValueError: replay_fraction: expected a number, got bool True
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    check_range(value, name, low=low, high=high, low_open=low_open, high_open=high_open)
    return float(value)


def as_tolerance(tol: Any, name: str = "tol") -> jax.Array:
    """A finite, strictly positive scalar tolerance as an array."""
    arr = as_array(tol, name, ndim=0)
    check_finite(arr, name)
    check_positive(arr, name)
    return arr


def check_same_shape(a: Any, name_a: str, b: Any, name_b: str, *, why: str = "") -> None:
    """``b`` must have exactly ``a``'s shape (no broadcasting); ``why`` explains the rule."""
    if tuple(jnp.shape(a)) != tuple(jnp.shape(b)):
        extra = f"; {why}" if why else ""
        raise ValueError(f"{name_b}: expected shape {tuple(jnp.shape(a))} (the shape of "
                         f"{name_a}{extra}), got {tuple(jnp.shape(b))}")


def check_range(x: Any, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = False, high_open: bool = False) -> None:
    """Raise unless every entry of a concrete ``x`` is finite and in the interval.

    The interval is ``[low, high]``, with ``(`` / ``)`` for ``low_open`` / ``high_open``;
    a missing bound is infinite. Tracers (inside ``jit``/``vmap``) are not checked.

    Example:
        >>> check_range(0.5, "gamma", low=0.0, high=1.0)
        >>> check_range([0.9, 1.5], "gamma", low=0.0, high=1.0)
        Traceback (most recent call last):
        ...
        ValueError: gamma: expected values in [0.0, 1.0], got 1.5
    """
    if not is_concrete(x):
        return
    arr = np.asarray(x, dtype=float)
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = (f"{lo}{'-inf' if low is None else low}, "
                f"{'inf' if high is None else high}{hi}")
    bad = ~np.isfinite(arr)
    if low is not None:
        bad |= (arr <= low) if low_open else (arr < low)
    if high is not None:
        bad |= (arr >= high) if high_open else (arr > high)
    if np.any(bad):
        raise ValueError(f"{name}: expected values in {interval}, got "
                         f"{float(arr[bad].ravel()[0])!r}")
