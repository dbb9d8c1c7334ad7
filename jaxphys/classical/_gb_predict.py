r"""Predictions of a fitted gradient-boosting model (:class:`GBParams` from ``gb_fit``): the
raw score :math:`F(x) = F_0 + \sum_t \eta\,\gamma_t(x)`, class probabilities and labels.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys.classical._ensemble import features_for
from jaxphys.classical._gradient_boosting import GBParams
from jaxphys.classical._tree import _leaf_index

__all__ = ["gb_decision_function", "gb_predict_proba", "gb_predict"]


@jax.jit
def _gb_raw(params, x):
    def per_round(trees):
        leaves = jax.vmap(lambda t: _leaf_index(t, x))(trees)                      # (K_t, m)
        return jnp.take_along_axis(trees.value[:, :, 0], leaves, axis=1).T          # (m, K_t)

    vals = jax.lax.map(per_round, params.trees)                                     # (T, m, K_t)
    f = jnp.einsum("t,tmk->mk", params.tree_weight, vals)
    k_out = params.init.shape[0]
    if k_out == 2:                      # binary: one score, the log-odds of class 1
        return params.init[1] + f
    return params.init[None, :] + f


def gb_decision_function(params: GBParams, X: Any) -> jax.Array:
    r"""Raw scores :math:`F(x)`: ``(m, 1)`` for regression and two classes (the log-odds
    of class 1), ``(m, K)`` logits for ``K > 2`` classes.

    >>> from jaxphys.classical import gb_decision_function, gb_fit, gb_predict_proba
    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> p = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=5,
    ...            max_depth=1)                       # five stumps
    >>> f = gb_decision_function(p, x)
    >>> f.shape, bool(f[0, 0] < 0 < f[-1, 0])          # log-odds of class 1 at x = 0 and 1
    ((40, 1), True)
    >>> bool(jnp.allclose(jax.nn.sigmoid(f[:, 0]), gb_predict_proba(p, x)[:, 1]))
    True
    """
    x = features_for(params.feature_importances, params.trees.threshold.dtype, X)
    return _gb_raw(params, x)


def gb_predict_proba(params: GBParams, X: Any) -> jax.Array:
    r"""Class probabilities ``(m, K)`` (:math:`[1-\sigma(F), \sigma(F)]` for two classes,
    :math:`\mathrm{softmax}(F)` otherwise); for regression, the ``(m, 1)`` predictions.

    >>> from jaxphys.classical import gb_fit
    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> p = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=5,
    ...            max_depth=1)                       # five stumps
    >>> gb_predict_proba(p, x).shape
    (40, 2)
    """
    f = gb_decision_function(params, X)
    k_out = params.init.shape[0]
    if k_out == 1:
        return f
    if k_out == 2:
        p1 = jax.nn.sigmoid(f[:, 0])
        return jnp.stack([1.0 - p1, p1], axis=1)
    return jax.nn.softmax(f, axis=1)


def gb_predict(params: GBParams, X: Any) -> jax.Array:
    """Predictions ``(m,)``: the class of largest probability (int32), or :math:`F(x)` for
    regression. Traceable (the task is read from ``init``'s shape), so it can run under
    ``vmap``.

    >>> from jaxphys.classical import gb_fit, gb_predict
    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> y = (x[:, 0] > 0.5).astype(int)
    >>> p = gb_fit(jax.random.key(0), x, y, n_estimators=5, max_depth=1)
    >>> bool((gb_predict(p, x) == y).all())          # every training point right
    True
    """
    f = gb_decision_function(params, X)
    k_out = params.init.shape[0]
    if k_out == 1:
        return f[:, 0]
    if k_out == 2:
        return (f[:, 0] > 0).astype(jnp.int32)
    return jnp.argmax(f, axis=1).astype(jnp.int32)
