"""Anomaly detection by reconstruction error.

An autoencoder trained on normal data reconstructs normal examples well and unusual
ones badly: the per-example score ``s_i = ‖x_i - x̂_i‖²/D`` (:func:`reconstruction_error`)
is compared with a threshold at a chosen quantile of the scores of normal data
(:func:`anomaly_threshold`), which fixes the false-positive rate; :func:`detect_anomalies`
flags the examples above it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_array, check_finite

__all__ = ["reconstruction_error", "anomaly_threshold", "AnomalyResult", "detect_anomalies"]


def reconstruction_error(apply_fn: Callable, params: Any, x) -> jax.Array:
    """Per-example anomaly score ``s_i = ‖x_i - x̂_i‖²/D`` ``(N,)`` with
    ``x̂ = apply_fn(params, x)``, for finite ``x`` ``(N, ...)``.

    Example:
        >>> reconstruction_error(lambda p, x: 0 * x, None, jnp.ones((2, 4))).tolist()
        [1.0, 1.0]
    """
    x = as_array(x, "x")
    if x.ndim < 1:
        raise ValueError("x: expected a batch (N, ...) of examples, got a scalar")
    check_finite(x, "x")
    x_hat = apply_fn(params, x)
    return jnp.mean((x_hat - x).reshape(x.shape[0], -1) ** 2, axis=1)


class AnomalyResult(NamedTuple):
    """Flags from :func:`detect_anomalies`.

    Fields:
      scores: float ``(N,)`` reconstruction errors.
      threshold: float scalar.
      is_anomaly: bool ``(N,)``, ``scores > threshold``.

    Example:
        >>> from jaxphys.generative import AnomalyResult, detect_anomalies
        >>> halve = lambda params, x: 0.5 * x             # a "reconstruction" x̂ = x/2
        >>> r = detect_anomalies(halve, None, jnp.array([[0.2, 0.2], [2.0, 2.0]]), 0.5)
        >>> isinstance(r, AnomalyResult), [round(float(s), 4) for s in r.scores]   # x²/4
        (True, [0.01, 1.0])
        >>> float(r.threshold), r.is_anomaly.tolist()
        (0.5, [False, True])
    """

    scores: jax.Array
    threshold: jax.Array
    is_anomaly: jax.Array


def anomaly_threshold(scores, quantile: float = 0.99) -> jax.Array:
    """The ``quantile`` of the scores of normal data: a fraction ``1 - quantile`` of
    normal examples is flagged (the false-positive rate).

    Example:
        >>> float(anomaly_threshold(jnp.arange(101.0), 0.9))
        90.0
    """
    scores = as_array(scores, "scores", ndim=1)
    check_finite(scores, "scores")
    if not 0.0 < float(quantile) < 1.0:
        raise ValueError(f"quantile: expected a value in (0, 1), got {quantile!r}")
    return jnp.quantile(scores, quantile)


def detect_anomalies(apply_fn: Callable, params: Any, x, threshold) -> AnomalyResult:
    """Score ``x`` by reconstruction error and flag scores above ``threshold``.

    Example:
        >>> r = detect_anomalies(lambda p, x: 0 * x, None, jnp.array([[0.1], [3.0]]), 1.0)
        >>> r.is_anomaly.tolist()
        [False, True]
    """
    s = reconstruction_error(apply_fn, params, x)
    thr = jnp.asarray(threshold, s.dtype)
    return AnomalyResult(s, thr, s > thr)

