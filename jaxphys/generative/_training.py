"""What the generative trainers share: the default optimisers, clipping as an optax stage,
and the ``fit`` settings a caller may override."""

from __future__ import annotations

import math
from typing import Any

import optax

from .._checks import as_int
from ..core import resolve_optimizer


def check_learning_rate(learning_rate: Any, name: str = "learning_rate") -> float:
    """``learning_rate`` as a positive finite Python float (a clear error otherwise)."""
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)):
        try:
            value = float(learning_rate)
        except (TypeError, ValueError):
            raise TypeError(f"{name}: expected a positive number, got "
                            f"{type(learning_rate).__name__}") from None
    else:
        value = float(learning_rate)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name}: expected a positive finite number, got {learning_rate!r}")
    return value


def cosine_adam(learning_rate: Any, n_steps: int, alpha: float) -> optax.GradientTransformation:
    """Adam with a learning rate decayed on a cosine from ``learning_rate`` to
    ``alpha · learning_rate`` over ``n_steps`` (Loshchilov & Hutter 2017, SGDR)."""
    lr = check_learning_rate(learning_rate)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    return optax.adam(optax.cosine_decay_schedule(lr, n_steps, alpha=alpha))


def with_clipping(optimizer: Any, clip_norm: Any) -> optax.GradientTransformation:
    """``optax.chain(optax.clip_by_global_norm(clip_norm), optimizer)``; ``clip_norm=None``
    returns the optimiser unchanged. The gradient is rescaled to global norm ``clip_norm``
    when it is larger (Pascanu et al. 2013)."""
    optimizer = resolve_optimizer(optimizer)
    if clip_norm is None:
        return optimizer
    if isinstance(clip_norm, bool) or not isinstance(clip_norm, (int, float)) or not (
            math.isfinite(float(clip_norm)) and float(clip_norm) > 0):
        raise ValueError(f"clip_norm: expected None or a positive finite number, got "
                         f"{clip_norm!r}")
    return optax.chain(optax.clip_by_global_norm(float(clip_norm)), optimizer)


def fit_settings(fit_kwargs: dict, **defaults: Any) -> dict:
    """The trainer's ``fit`` defaults updated by what the caller passed through."""
    return {**defaults, **fit_kwargs}
