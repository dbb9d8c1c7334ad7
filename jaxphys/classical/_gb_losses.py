r"""Losses of gradient boosting: targets, starting score, residuals and hessians (private).

A boosted model carries a raw score :math:`F(x)\in\mathbb R^{K_t}`, with ``K_t = 1``
for regression and two classes and ``K_t = K`` for ``K > 2`` classes.

* ``"regression"``: :math:`L=\tfrac12(y-F)^2`, residual :math:`r = y-F`, hessian
  :math:`h=1`, :math:`F_0=\bar y`;
* ``"binary"``: :math:`p=\sigma(F)`, :math:`L = \log(1+e^F) - yF`, :math:`r = y-p`,
  :math:`h=p(1-p)`, :math:`F_0` the prior log-odds;
* ``"multiclass"``: :math:`p=\mathrm{softmax}(F)`, :math:`L=\log\sum_k e^{F_k} - F_y`,
  :math:`r_k = [y=k]-p_k`, :math:`h_k=p_k(1-p_k)` (XGBoost's ``multi:softprob``
  doubles it, :math:`h_k = 2p_k(1-p_k)`, and its leaves use it as it is, where
  Friedman's rescale the Newton step by :math:`(K-1)/K`), :math:`F_0=\log` prior,
  centred.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, as_int, check_finite

__all__ = ["raw_to_loss", "residual_hessian", "encode_targets", "initial_score"]


def raw_to_loss(f, yk, task):
    """Mean loss of raw scores ``f (n, K_t)`` against targets ``yk (n, K_t)``."""
    if task == "regression":
        return 0.5 * jnp.mean((yk - f) ** 2)
    if task == "binary":
        return jnp.mean(jnp.logaddexp(0.0, f[:, 0]) - yk[:, 0] * f[:, 0])
    return jnp.mean(jax.nn.logsumexp(f, axis=1) - jnp.sum(yk * f, axis=1))


def residual_hessian(f, yk, task, doubled_multiclass=False):
    """Residuals :math:`r = -\\partial L/\\partial F` and hessians ``(n, K_t)`` each."""
    if task == "regression":
        return yk - f, jnp.ones_like(f)
    p = jax.nn.sigmoid(f) if task == "binary" else jax.nn.softmax(f, axis=1)
    h = p * (1.0 - p)
    if doubled_multiclass and task == "multiclass":
        h = 2.0 * h
    return yk - p, h


def encode_targets(y: Any, x: jax.Array, loss: str, n_classes: int | None, name: str = "y",
                   k_fixed: int | None = None):
    """``(task, yk (n, K_t))`` from labels (``"log_loss"``) or targets
    (``"squared_error"``)."""
    yy = as_array(y, name, ndim=1)
    if loss == "squared_error":
        yf = yy.astype(x.dtype)
        check_finite(yf, name)
        return "regression", yf[:, None]
    if not jnp.issubdtype(yy.dtype, jnp.integer):
        if not bool(jnp.all(yy == jnp.round(yy))):
            raise ValueError(f"{name}: classification labels must be integers 0..K-1")
        yy = yy.astype(jnp.int32)
    lo, hi = int(jnp.min(yy)), int(jnp.max(yy))
    if lo < 0:
        raise ValueError(f"{name}: class labels must be >= 0, got {lo}")
    k = k_fixed if k_fixed is not None else (
        hi + 1 if n_classes is None else as_int(n_classes, "n_classes", minimum=2))
    if k < 2:
        raise ValueError(f"{name}: log_loss needs at least 2 classes, got {k}")
    if hi >= k:
        raise ValueError(f"{name}: labels must be < n_classes = {k}, got {hi}")
    if k == 2:
        return "binary", yy.astype(x.dtype)[:, None]
    return "multiclass", jax.nn.one_hot(yy, k, dtype=x.dtype)


def initial_score(yk, task):
    """The best constant score :math:`F_0` ``(K_t,)`` of the training targets."""
    prior = jnp.mean(yk, axis=0)
    if task == "regression":
        return prior
    if task == "binary":
        p = jnp.clip(prior, 1e-12, 1 - 1e-12)
        return jnp.log(p / (1 - p))
    f0 = jnp.log(jnp.clip(prior, 1e-12, None))
    return f0 - jnp.mean(f0)
