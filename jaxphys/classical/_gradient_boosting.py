r"""Gradient-boosted regression trees, fitted in JAX.

**Gradient boosting** (Friedman 2001, *Greedy function approximation: a gradient
boosting machine*) of a raw score :math:`F(x)\in\mathbb R^{K_t}` (losses in
:mod:`jaxphys.classical._gb_losses`): start from the best constant :math:`F_0`,
then each round computes the residuals :math:`r_i = -\partial L/\partial F(x_i)`
and hessians :math:`h_i`, fits one regression tree per score component to the
rows of a random subsample of ``round(subsample · n)`` rows and updates
:math:`F \leftarrow F + \eta\,\gamma_{\ell(x)}`. Two ways to grow the trees:

* ``criterion="squared_error"`` (scikit-learn's ``GradientBoosting*``): the split
  of largest squared-error decrease on the residuals, subject to
  ``min_samples_leaf``; then each leaf takes the Newton step
  :math:`\gamma_\ell = \kappa\sum_{i\in\ell} r_i / \sum_{i\in\ell} h_i`,
  :math:`\kappa=(K-1)/K` for ``K > 2`` classes and 1 otherwise;
* ``criterion="xgboost"`` (Chen & Guestrin 2016, *XGBoost: A Scalable Tree Boosting
  System*, eqs. 5-7): the split of largest regularised second-order gain

  .. math:: \mathcal G = \tfrac12\Big[\frac{G_L^2}{H_L+\lambda} + \frac{G_R^2}{H_R+\lambda}
            - \frac{(G_L+G_R)^2}{H_L+H_R+\lambda}\Big] - \gamma,

  :math:`G = \sum_i g_i`, :math:`H = \sum_i h_i` over a child's rows, both children
  with :math:`H \ge` ``min_child_weight``; a node splits only if
  :math:`\mathcal G > 0`, and a leaf takes :math:`-G/(H+\lambda)`.

Both draw ``round(colsample_bytree · d)`` features at random for each tree. Early
stopping watches the loss on a validation set (given, or a random
``validation_fraction`` of the training rows) and stops after ``n_iter_no_change``
rounds without an improvement of at least ``tol``; the model keeps the rounds up
to the best validation loss. All rounds run in one jitted ``lax.scan``; the
``K_t`` trees of a round are grown under ``vmap``; a round after the stop is
skipped with ``lax.cond``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_in, check_key, check_same_length, \
    check_shape, is_concrete
from jaxphys.classical._common import as_features
from jaxphys.classical._ensemble import hyperparameter, zeros_like_struct
from jaxphys.classical._gb_losses import encode_targets, initial_score, raw_to_loss, \
    residual_hessian
from jaxphys.classical._boosted_trees import fits, grow_round
from jaxphys.classical._grow import TreeParams, grow_tree
from jaxphys.classical._tree import _bin, _leaf_index

__all__ = ["GBParams", "gb_fit", "GB_LOSSES", "GB_CRITERIA"]

GB_LOSSES = ("squared_error", "log_loss")
GB_CRITERIA = ("squared_error", "xgboost")


class GBParams(NamedTuple):
    """A gradient-boosted ensemble of ``T = n_estimators`` rounds of ``K_t`` regression
    trees each (``K_t = 1`` for regression and two classes, ``K`` for ``K > 2`` classes).

    Fields:
        trees: :class:`TreeParams` with leading axes ``(T, K_t)``; each leaf ``value``
            is its step :math:`\\gamma_\\ell` (before the learning rate).
        tree_weight: ``(T,)`` the learning rate for the rounds kept, 0 after an early
            stop (or after the best validation round).
        init: ``(K_out,)`` the constant :math:`F_0`; ``K_out`` encodes the task: ``1``
            regression, ``2`` two classes (``[0, log-odds]``), ``K`` for ``K > 2``.
        n_estimators_used: ``()`` int32, rounds kept.
        train_loss: ``(T,)`` training loss (mean squared error /2, or mean log loss)
            after each round, on all training rows; NaN after a stop.
        val_loss: ``(T,)`` validation loss after each round (NaN without a validation
            set, or after a stop).
        feature_importances: ``(d,)`` mean over the kept trees of their normalised
            importances, normalised.

    >>> from jaxphys.classical import gb_fit
    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> p = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=5,
    ...            max_depth=1)                       # five stumps
    >>> p.init.tolist()                # two balanced classes: [0, log-odds of class 1 = 0]
    [0.0, 0.0]
    >>> p.trees.threshold.shape[:2], int(p.n_estimators_used), round(float(p.tree_weight[0]), 4)
    ((5, 1), 5, 0.1)
    """

    trees: TreeParams
    tree_weight: jax.Array
    init: jax.Array
    n_estimators_used: jax.Array
    train_loss: jax.Array
    val_loss: jax.Array
    feature_importances: jax.Array


class _Regularisation(NamedTuple):
    """The traced tree settings of one fit (any of them may be vmapped)."""

    min_leaf: jax.Array          # min_samples_leaf, or min_child_weight for "xgboost"
    reg_lambda: jax.Array
    gamma: jax.Array
    n_columns: jax.Array         # features per tree


def _subset_masks(keys, n, n_keep, dtype):
    """``(len(keys), n)`` masks of ``n_keep`` of ``n`` items each, drawn without
    replacement (all of them, without drawing, when ``n_keep >= n``)."""
    def draw(_):
        def one(key):
            order = jnp.argsort(jax.random.bits(key, (n,)))
            return jnp.zeros(n, dtype).at[order].set((jnp.arange(n) < n_keep).astype(dtype))

        return jax.vmap(one)(keys)

    return jax.lax.cond(n_keep >= n, lambda _: jnp.ones((keys.shape[0], n), dtype), draw, None)


@partial(jax.jit, static_argnames=("n_estimators", "max_depth", "task", "patience",
                                   "criterion"))
def _gb_fit(key, x, xb, yk, thresholds, x_val, yk_val, f0, learning_rate, n_sub, reg, tol,
            n_estimators, max_depth, task, patience, criterion):
    n, d = xb.shape
    kt = yk.shape[1]
    dtype = x.dtype
    xgb = criterion == "xgboost"
    kappa = (kt - 1.0) / kt if (task == "multiclass" and not xgb) else 1.0
    has_val = x_val.shape[0] > 0

    def round_trees(key_round, f):
        key_rows, key_cols = jax.random.split(key_round)
        mask = _subset_masks(key_rows[None], n, n_sub, dtype)[0]
        r, h = residual_hessian(f, yk, task, doubled_multiclass=xgb)         # (n, K_t) each
        feature_masks = _subset_masks(jax.random.split(key_cols, kt), d, reg.n_columns, bool)
        a = h if xgb else jnp.ones_like(r)
        moments = jnp.stack([a.T, r.T], axis=2)                                 # (K_t, n, 2)
        if fits(kt, thresholds.shape[1] + 1, max_depth, d):
            trees, leaf = grow_round(xb, thresholds, moments * mask[None, :, None], mask,
                                     feature_masks, max_depth=max_depth,
                                     min_leaf=reg.min_leaf, reg_lambda=reg.reg_lambda,
                                     gamma=reg.gamma)
        else:
            trees = jax.vmap(lambda mo, fm: grow_tree(
                xb, thresholds, mo, mask, criterion="moments", max_depth=max_depth,
                min_leaf=reg.min_leaf, reg_lambda=reg.reg_lambda, gamma=reg.gamma,
                feature_mask=fm))(moments, feature_masks)
            leaf = jax.vmap(lambda t: _leaf_index(t, x))(trees)                    # (K_t, n)
        if not xgb:         # Newton leaves: kappa sum r / sum h over each leaf's rows
            m = trees.value.shape[1]
            slot = (leaf + m * jnp.arange(kt, dtype=jnp.int32)[:, None]).reshape(-1)
            sums = jnp.zeros((kt * m, 2), dtype).at[slot].add(
                (mask[:, None, None] * jnp.stack([r, h], axis=2)).transpose(1, 0, 2)
                .reshape(-1, 2))
            num, den = sums[:, 0].reshape(kt, m), sums[:, 1].reshape(kt, m)
            ok = jnp.abs(den) > 1e-30
            value = jnp.where(ok, kappa * num / jnp.where(ok, den, 1.0), 0.0)
            trees = trees._replace(value=value[..., None])
        return trees, jnp.take_along_axis(trees.value[..., 0], leaf, axis=1)      # (K_t, n)

    empty = zeros_like_struct(lambda k_, f_: round_trees(k_, f_)[0], key,
                              jnp.zeros((n, kt), dtype))

    def val_update(trees):
        leaves = jax.vmap(lambda t: _leaf_index(t, x_val))(trees)                  # (K_t, m)
        return jnp.take_along_axis(trees.value[:, :, 0], leaves, axis=1).T          # (m, K_t)

    def fitted(operand):
        key_round, f, fv = operand
        trees, upd = round_trees(key_round, f)
        f = f + learning_rate * upd.T
        if has_val:
            fv = fv + learning_rate * val_update(trees)
        return trees, f, fv

    def skipped(operand):
        _, f, fv = operand
        return empty, f, fv

    def body(carry, _):
        key_loop, f, fv, best, since, stopped, i, best_i = carry
        key_loop, key_round = jax.random.split(key_loop)
        trees, f, fv = jax.lax.cond(stopped, skipped, fitted, (key_round, f, fv))
        train_loss = raw_to_loss(f, yk, task)
        if has_val:
            val_loss = raw_to_loss(fv, yk_val, task)
            improved = val_loss < best - tol
            best_i = jnp.where(improved & ~stopped, i, best_i)
            best = jnp.where(improved & ~stopped, val_loss, best)
            since = jnp.where(improved, 0, since + 1)
            new_stop = stopped | ((patience > 0) & (since >= patience))
        else:
            val_loss = jnp.asarray(jnp.nan, dtype)
            new_stop = stopped
        nan = jnp.asarray(jnp.nan, dtype)
        out = (trees, jnp.where(stopped, nan, train_loss), jnp.where(stopped, nan, val_loss))
        return (key_loop, f, fv, best, since, new_stop, i + 1, best_i), out

    f_init = jnp.broadcast_to(f0, (n, kt)).astype(dtype)
    fv_init = jnp.broadcast_to(f0, (x_val.shape[0], kt)).astype(dtype)
    init = (key, f_init, fv_init, jnp.asarray(jnp.inf, dtype), jnp.asarray(0),
            jnp.asarray(False), jnp.asarray(0), jnp.asarray(n_estimators - 1))
    carry, (trees, train_loss, val_loss) = jax.lax.scan(body, init, None, length=n_estimators)
    best_i = carry[7] if (has_val and patience > 0) else n_estimators - 1
    kept = jnp.arange(n_estimators) <= best_i
    weight = jnp.where(kept, learning_rate, 0.0).astype(dtype)
    imp = jnp.sum(kept[:, None, None] * trees.feature_importances, axis=(0, 1))
    total = jnp.sum(imp)
    imp = imp / jnp.where(total > 0, total, 1.0)
    init_out = f0 if task != "binary" else jnp.stack([jnp.zeros((), dtype), f0[0]])
    return GBParams(trees=trees, tree_weight=weight, init=init_out.astype(dtype),
                    n_estimators_used=jnp.sum(kept).astype(jnp.int32), train_loss=train_loss,
                    val_loss=val_loss, feature_importances=imp)


def _validation_split(key, x0, yk, task, loss, n_classes, X_val, y_val, patience,
                      validation_fraction):
    """``(x_train, yk_train, x_val, yk_val)``: the given validation set, a random held-out
    fraction (early stopping without one), or an empty one."""
    if X_val is not None or y_val is not None:
        if X_val is None or y_val is None:
            raise ValueError("X_val, y_val: give both or neither")
        xv = as_features(X_val, "X_val")
        check_shape(xv, "X_val", (None, x0.shape[1]))
        yv = as_array(y_val, "y_val", ndim=1)
        check_same_length("X_val", xv, "y_val", yv)
        _, ykv = encode_targets(yv, x0, loss, n_classes, "y_val", k_fixed=(
            None if task == "regression" else max(2, yk.shape[1])))
        return x0, yk, xv, ykv
    if patience > 0:
        frac = float(validation_fraction)
        if not 0.0 < frac < 1.0:
            raise ValueError(f"validation_fraction: expected a value in (0, 1), got {frac}")
        n = x0.shape[0]
        n_val = max(1, int(round(frac * n)))
        if n_val >= n:
            raise ValueError(f"validation_fraction: leaves no training rows (n = {n})")
        perm = np.asarray(jax.random.permutation(key, n))
        val_idx, tr_idx = perm[:n_val], np.sort(perm[n_val:])
        return x0[tr_idx], yk[tr_idx], x0[val_idx], yk[val_idx]
    return x0, yk, jnp.zeros((0, x0.shape[1]), x0.dtype), jnp.zeros((0, yk.shape[1]), x0.dtype)


def gb_fit(key: jax.Array, X: Any, y: Any, *, loss: str = "log_loss", n_estimators: int = 100,
           learning_rate: Any = 0.1, max_depth: int = 3, subsample: Any = 1.0,
           min_samples_leaf: Any = 1, n_bins: int = 64, n_classes: int | None = None,
           X_val: Any = None, y_val: Any = None, n_iter_no_change: int | None = None,
           validation_fraction: float = 0.1, tol: Any = 1e-4, criterion: str = "squared_error",
           reg_lambda: Any = 1.0, gamma: Any = 0.0, min_child_weight: Any = 1.0,
           colsample_bytree: Any = 1.0) -> GBParams:
    r"""Fit gradient-boosted regression trees (squared error or log loss).

    See the module docstring for the maths. One jitted ``lax.scan`` over the rounds;
    for ``K > 2`` classes the ``K`` trees of a round are grown under ``vmap``. Splits
    are searched among ``n_bins - 1`` quantile thresholds per feature (fixed once,
    from all training rows). ``learning_rate``, ``subsample``, ``min_samples_leaf``,
    ``tol``, ``reg_lambda``, ``gamma``, ``min_child_weight`` and ``colsample_bytree``
    may be traced (e.g. vmapped by :func:`jaxphys.classical.grid_search`); the other
    arguments fix shapes.

    Args:
        key: PRNG key (row and column subsamples; the validation split).
        X: ``(n, d)`` finite features.
        y: ``(n,)`` float targets (``"squared_error"``) or integer labels ``0..K-1``.
        loss: ``"squared_error"`` or ``"log_loss"`` (binary or multinomial).
        n_estimators: rounds ``T >= 1`` (static).
        learning_rate: :math:`\eta > 0`.
        max_depth: depth of every tree, ``>= 1`` (static).
        subsample: fraction of rows, in (0, 1], drawn without replacement each round
            (stochastic gradient boosting).
        min_samples_leaf: minimum in-sample rows per leaf, ``>= 1``
            (``criterion="squared_error"``).
        n_bins: thresholds per feature + 1 (static), ``>= 2``.
        n_classes: ``K`` for ``"log_loss"``; default ``max(y) + 1``.
        X_val, y_val: optional validation set: its loss is recorded each round
            (``val_loss``) and drives early stopping.
        n_iter_no_change: if set (``>= 1``), stop after this many rounds without a
            validation-loss improvement ``> tol``, and keep the rounds up to the best
            one. Without ``X_val`` a random ``validation_fraction`` of the rows is held
            out for it (and not fitted).
        validation_fraction: in (0, 1), see ``n_iter_no_change``.
        tol: minimum improvement of the validation loss, ``>= 0``.
        criterion: ``"squared_error"`` (first-order splits, Newton leaves, as
            scikit-learn) or ``"xgboost"`` (regularised second-order gain and leaves).
        reg_lambda: λ ``>= 0`` of ``"xgboost"`` (its default 1).
        gamma: γ ``>= 0`` of ``"xgboost"``, the least gain of a split.
        min_child_weight: least hessian sum of a child, ``>= 0`` (``"xgboost"``).
        colsample_bytree: fraction of the features, in (0, 1], each tree may split on.

    Returns:
        :class:`GBParams`.

    >>> from jaxphys.classical import gb_predict
    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> p = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=5,
    ...            max_depth=1)                       # five stumps
    >>> gb_predict(p, jnp.array([[0.1], [0.9]])).tolist()
    [0, 1]
    >>> q = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=5,
    ...            max_depth=1, criterion="xgboost", reg_lambda=1.0)
    >>> gb_predict(q, jnp.array([[0.1], [0.9]])).tolist()
    [0, 1]
    """
    check_key(key)
    check_in(loss, "loss", GB_LOSSES)
    check_in(criterion, "criterion", GB_CRITERIA)
    depth = as_int(max_depth, "max_depth", minimum=1)
    n_est = as_int(n_estimators, "n_estimators", minimum=1)
    yy = as_array(y, "y", ndim=1)
    x0 = as_features(X, "X")
    check_same_length("X", x0, "y", yy)
    task, yk = encode_targets(yy, x0, loss, n_classes)
    patience = 0 if n_iter_no_change is None else as_int(n_iter_no_change, "n_iter_no_change",
                                                          minimum=1)
    key_split, key_fit = jax.random.split(key)
    x_tr, yk_tr, xv, ykv = _validation_split(key_split, x0, yk, task, loss, n_classes, X_val,
                                             y_val, patience, validation_fraction)
    bins = as_int(n_bins, "n_bins", minimum=2)
    xb, thresholds = _bin(x_tr, bins)                  # bins from the fitted rows
    dtype = x_tr.dtype
    lr = hyperparameter(learning_rate, "learning_rate", dtype, low=0.0)
    sub = hyperparameter(subsample, "subsample", dtype, low=0.0, high=1.0)
    mleaf = hyperparameter(min_samples_leaf, "min_samples_leaf", dtype, low=1.0,
                           strict_low=False)
    tol_a = hyperparameter(tol, "tol", dtype, low=0.0, strict_low=False)
    lam = hyperparameter(reg_lambda, "reg_lambda", dtype, low=0.0, strict_low=False)
    gam = hyperparameter(gamma, "gamma", dtype, low=0.0, strict_low=False)
    mcw = hyperparameter(min_child_weight, "min_child_weight", dtype, low=0.0,
                         strict_low=False)
    col = hyperparameter(colsample_bytree, "colsample_bytree", dtype, low=0.0, high=1.0)
    if criterion == "xgboost" and is_concrete(mleaf) and float(mleaf) != 1.0:
        raise ValueError("min_samples_leaf: not used by criterion='xgboost' (it bounds the "
                         f"hessian with min_child_weight), got {float(mleaf)}")
    d = x_tr.shape[1]
    reg = _Regularisation(min_leaf=mcw if criterion == "xgboost" else mleaf,
                          reg_lambda=lam if criterion == "xgboost" else jnp.zeros((), dtype),
                          gamma=gam if criterion == "xgboost" else jnp.zeros((), dtype),
                          n_columns=jnp.maximum(jnp.floor(col * d), 1.0))
    n_sub = jnp.maximum(jnp.round(sub * x_tr.shape[0]), 1.0)
    f0 = initial_score(yk_tr, task)
    return _gb_fit(key_fit, x_tr, xb, yk_tr, thresholds, xv.astype(dtype), ykv.astype(dtype),
                   f0.astype(dtype), lr, n_sub, reg, tol_a, n_est, depth, task, patience,
                   criterion)
