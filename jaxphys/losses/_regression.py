"""Per-example regression losses: mse, mae, huber, chi2, gaussian_nll.

Every function takes one example. ``pred`` and ``target`` (or ``mean`` and
``target``) must have identical shapes: nothing is broadcast, so a ``(n,)``
against ``(n, 1)`` mistake raises instead of silently producing an ``(n, n)``
residual. Batch with ``jax.vmap`` and combine with :func:`jaxphys.losses.reduce`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import check_finite, check_positive

from ._common import as_float, check_same_shape, check_scalar_or_same_shape

_LOG_2PI = 1.8378770664093453  # log(2π)


def mse(pred: Any, target: Any) -> jax.Array:
    r"""Mean squared error of one example.

    .. math:: \mathrm{MSE} = \frac{1}{m}\sum_{j=1}^{m} (\hat y_j - y_j)^2

    where the mean runs over the ``m`` components of the example (``m = 1``
    for a scalar).

    Args:
        pred: prediction, any shape ``S``.
        target: target, shape ``S`` exactly (no broadcasting).

    Returns:
        Scalar, in the squared units of ``target``.

    Example:
        >>> float(mse(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 2.0, 4.0])))
        0.333
    """
    pred = as_float(pred, "pred")
    target = as_float(target, "target")
    check_same_shape(pred, "pred", target, "target")
    return _mse(pred, target)


def mae(pred: Any, target: Any) -> jax.Array:
    r"""Mean absolute error of one example.

    .. math:: \mathrm{MAE} = \frac{1}{m}\sum_{j=1}^{m} |\hat y_j - y_j|

    Args:
        pred: prediction, any shape ``S``.
        target: target, shape ``S`` exactly.

    Returns:
        Scalar, in the units of ``target``.

    Example:
        >>> float(mae(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0])))
        1.5
    """
    pred = as_float(pred, "pred")
    target = as_float(target, "target")
    check_same_shape(pred, "pred", target, "target")
    return _mae(pred, target)


def huber(pred: Any, target: Any, delta: Any = 1.0) -> jax.Array:
    r"""Huber loss of one example, averaged over its components.

    With residual :math:`r = \hat y - y`,

    .. math::
        h_\delta(r) = \begin{cases} \tfrac12 r^2 & |r| \le \delta \\
                      \delta\,(|r| - \tfrac12\delta) & |r| > \delta \end{cases}

    quadratic near zero and linear (robust to outliers) beyond ``delta``; the
    loss is :math:`\frac1m\sum_j h_\delta(r_j)`.

    Args:
        pred: prediction, any shape ``S``.
        target: target, shape ``S`` exactly.
        delta: transition point, a positive scalar (may be a traced array), in the
            units of ``target``.

    Returns:
        Scalar.

    Example:
        >>> float(huber(jnp.array([0.5, 3.0]), jnp.array([0.0, 0.0]), delta=1.0))
        1.3125
    """
    pred = as_float(pred, "pred")
    target = as_float(target, "target")
    check_same_shape(pred, "pred", target, "target")
    delta = as_float(delta, "delta")
    if delta.ndim != 0:
        raise ValueError(f"delta: expected a scalar, got shape {tuple(delta.shape)}")
    check_positive(delta, "delta")
    return _huber(pred, target, delta)


def chi2(pred: Any, target: Any, sigma: Any) -> jax.Array:
    r"""The χ² of one example (one data set point or a vector of points).

    .. math:: \chi^2 = \sum_{j=1}^{m} \left(\frac{\hat y_j - y_j}{\sigma_j}\right)^2

    summed (not averaged) over components, so that for Gaussian errors
    :math:`\chi^2 = -2\log L + \text{const}`.

    Args:
        pred: model prediction, any shape ``S``.
        target: measurement, shape ``S`` exactly.
        sigma: standard deviation of each measurement: shape ``S``, or a scalar
            shared by all components; in the units of ``target``. Must be > 0
            (checked when the value is concrete; under ``jit`` it is the
            caller's job).

    Returns:
        Scalar, dimensionless.

    Example:
        >>> float(chi2(jnp.array([1.0, 2.0]), jnp.array([2.0, 2.0]), jnp.array([0.5, 1.0])))
        4.0
    """
    pred = as_float(pred, "pred")
    target = as_float(target, "target")
    check_same_shape(pred, "pred", target, "target")
    sigma = as_float(sigma, "sigma")
    check_scalar_or_same_shape(pred, "pred", sigma, "sigma")
    check_finite(sigma, "sigma")
    check_positive(sigma, "sigma")
    return _chi2(pred, target, sigma)


def gaussian_nll(mean: Any, log_var: Any, target: Any) -> jax.Array:
    r"""Negative log-likelihood of ``target`` under a diagonal Gaussian.

    .. math::
        -\log \mathcal N(y \mid \mu, \mathrm{diag}\,\sigma^2) =
        \frac12\sum_{j=1}^{m}\left[\log 2\pi + \log\sigma_j^2
        + \frac{(y_j-\mu_j)^2}{\sigma_j^2}\right]

    The variance is given as its logarithm so that a network can output it
    unconstrained; the full constant :math:`\log 2\pi` is included, so the
    result is the exact NLL in nats (per unit of ``target``'s volume).

    Args:
        mean: predicted mean μ, any shape ``S``.
        log_var: predicted log-variance log σ², shape ``S`` or a scalar
            (homoscedastic).
        target: observation y, shape ``S`` exactly.

    Returns:
        Scalar, nats.

    Example:
        >>> round(float(gaussian_nll(jnp.zeros(1), jnp.zeros(1), jnp.zeros(1))), 4)  # ½ log 2π
        0.9189
    """
    mean = as_float(mean, "mean")
    target = as_float(target, "target")
    check_same_shape(mean, "mean", target, "target")
    log_var = as_float(log_var, "log_var")
    check_scalar_or_same_shape(mean, "mean", log_var, "log_var")
    return _gaussian_nll(mean, log_var, target)


# Jitted numerical cores: one compilation per shape and dtype instead of one per
# operation when called eagerly; inlined when the caller is itself jitted.

@jax.jit
def _mse(pred, target):
    return jnp.mean(jnp.square(pred - target))


@jax.jit
def _mae(pred, target):
    return jnp.mean(jnp.abs(pred - target))


@jax.jit
def _huber(pred, target, delta):
    abs_r = jnp.abs(pred - target)
    quadratic = 0.5 * jnp.square(abs_r)
    linear = delta * (abs_r - 0.5 * delta)
    return jnp.mean(jnp.where(abs_r <= delta, quadratic, linear))


@jax.jit
def _chi2(pred, target, sigma):
    return jnp.sum(jnp.square((pred - target) / sigma))


@jax.jit
def _gaussian_nll(mean, log_var, target):
    full_log_var = jnp.broadcast_to(log_var, mean.shape)
    return 0.5 * jnp.sum(_LOG_2PI + full_log_var
                         + jnp.square(target - mean) * jnp.exp(-full_log_var))
