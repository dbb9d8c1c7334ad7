"""Argument checks shared by the data helpers (private)."""

from __future__ import annotations

import operator
from typing import Any


def as_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """``value`` as a Python int (no floats, no bools), optionally bounded below."""
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
