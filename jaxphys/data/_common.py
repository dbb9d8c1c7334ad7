"""Argument checks shared by the data helpers (private)."""

from __future__ import annotations

from typing import Any

from jaxphys._checks import as_int  # noqa: F401  (re-exported for the data helpers)


