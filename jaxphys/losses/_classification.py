"""Per-example classification losses, numerically stable for any logit.

Binary cross-entropy is written with ``log_sigmoid`` and the softmax
cross-entropies with log-sum-exp, so logits of ±1000 give finite, correct
losses and gradients (a naive ``log(sigmoid(z))`` gives ``-inf``/NaN).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, is_concrete

from ._common import as_float, check_in_unit_interval, check_same_shape


def binary_cross_entropy(logit: Any, label: Any) -> jax.Array:
    r"""Binary cross-entropy of one example, computed from the logit.

    With :math:`p = \sigma(z) = 1/(1+e^{-z})` the predicted probability of
    class 1,

    .. math::
        \mathrm{BCE}(z, y) = -\left[y\log\sigma(z) + (1-y)\log\sigma(-z)\right]
                           = \operatorname{softplus}(z) - y z ,

    evaluated with ``jax.nn.log_sigmoid`` so that it stays finite for
    :math:`|z|\to\infty`. Soft labels :math:`y\in[0,1]` are allowed. For a
    vector of independent binary labels (multi-label) the per-component
    losses are **summed** (the NLL of independent Bernoulli variables).

    Args:
        logit: logit z, any shape ``S`` (usually a scalar).
        label: target y in [0, 1], shape ``S`` exactly (checked when concrete).

    Returns:
        Scalar, nats.

    Example:
        >>> round(float(binary_cross_entropy(0.0, 1.0)), 4)  # log 2
        0.6931
        >>> float(binary_cross_entropy(1000.0, 0.0))  # finite for huge logits
        1000.0
    """
    logit = as_float(logit, "logit")
    label = as_float(label, "label")
    check_same_shape(logit, "logit", label, "label")
    check_in_unit_interval(label, "label")
    return _bce(logit, label)


def softmax_cross_entropy(logits: Any, label: Any) -> jax.Array:
    r"""Softmax cross-entropy of one example with an integer class label.

    .. math::
        \mathrm{CE}(z, c) = -\log\operatorname{softmax}(z)_c
                          = \log\sum_{k=1}^{C} e^{z_k} - z_c ,

    with the log-sum-exp evaluated stably (the maximum logit subtracted).

    Args:
        logits: unnormalised log-probabilities z, shape ``(C,)``.
        label: integer class index c, shape ``()``, with 0 <= c < C (checked
            when concrete; under ``jit`` an out-of-range index is clamped, so
            check it before).

    Returns:
        Scalar, nats.

    Example:
        >>> round(float(softmax_cross_entropy(jnp.array([0.0, 0.0, 0.0, 0.0]), 2)), 4)  # log 4
        1.3863
    """
    logits = as_float(logits, "logits")
    if logits.ndim != 1:
        raise ValueError(f"logits: expected shape (C,) for one example (vmap over a batch), "
                         f"got shape {tuple(logits.shape)}")
    label = as_array(label, "label")
    if label.ndim != 0:
        raise ValueError(f"label: expected an integer scalar class index, got shape "
                         f"{tuple(label.shape)}")
    if not jnp.issubdtype(label.dtype, jnp.integer):
        raise ValueError(f"label: expected an integer class index, got dtype {label.dtype}")
    n_classes = logits.shape[0]
    if is_concrete(label):
        c = int(np.asarray(label))
        if not 0 <= c < n_classes:
            raise ValueError(f"label: expected a class index in [0, {n_classes}), got {c}")
    return _softmax_ce(logits, label)


def softmax_cross_entropy_onehot(logits: Any, onehot: Any) -> jax.Array:
    r"""Softmax cross-entropy of one example with a one-hot (or soft) target.

    .. math::
        \mathrm{CE}(z, t) = -\sum_{k=1}^{C} t_k \log\operatorname{softmax}(z)_k
        = \sum_k t_k \Big(\log\sum_{l} e^{z_l} - z_k\Big)

    with ``log_softmax`` computed by log-sum-exp. Components with
    :math:`t_k = 0` contribute exactly zero even where :math:`z_k = -\infty`.

    Args:
        logits: shape ``(C,)``.
        onehot: target distribution t, shape ``(C,)`` exactly, entries in
            [0, 1] (checked when concrete); a one-hot vector gives the same value
            as :func:`softmax_cross_entropy` with the integer label.

    Returns:
        Scalar, nats.

    Example:
        >>> round(float(softmax_cross_entropy_onehot(jnp.zeros(4), jnp.array([0., 0., 1., 0.]))), 4)
        1.3863
    """
    logits = as_float(logits, "logits")
    if logits.ndim != 1:
        raise ValueError(f"logits: expected shape (C,) for one example (vmap over a batch), "
                         f"got shape {tuple(logits.shape)}")
    onehot = as_float(onehot, "onehot")
    check_same_shape(logits, "logits", onehot, "onehot")
    check_in_unit_interval(onehot, "onehot")
    return _softmax_ce_onehot(logits, onehot)


# Jitted numerical cores (one compilation per shape/dtype when called eagerly).

@jax.jit
def _bce(logit, label):
    return -jnp.sum(label * jax.nn.log_sigmoid(logit)
                    + (1.0 - label) * jax.nn.log_sigmoid(-logit))


@jax.jit
def _softmax_ce(logits, label):
    return jax.nn.logsumexp(logits) - jnp.take(logits, label, mode="clip")


@jax.jit
def _softmax_ce_onehot(logits, onehot):
    log_p = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.where(onehot > 0, onehot * log_p, 0.0))
