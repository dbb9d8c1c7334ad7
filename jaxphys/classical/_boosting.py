r"""Boosted trees: AdaBoost (SAMME) and gradient boosting, fitted in JAX.

Both ensembles are built from the array-encoded CART trees of
:mod:`jaxphys.classical._tree` (one set of quantile bins for the whole fit) and
run their boosting rounds in one jitted ``lax.scan``; a round after an early stop
is skipped with ``lax.cond`` (it costs nothing and its tree weight is 0).

**AdaBoost, SAMME** (Zhu, Zou, Rosset & Hastie 2009), ``K`` classes. With sample
weights :math:`w_i` (initially :math:`1/n`), round ``t`` fits a shallow tree
:math:`h_t` to the weighted data, measures its weighted error
:math:`\epsilon_t = \sum_i w_i [h_t(x_i)\ne y_i] / \sum_i w_i`, and sets

.. math:: \alpha_t = \eta\left(\log\frac{1-\epsilon_t}{\epsilon_t} + \log(K-1)\right),
   \qquad w_i \leftarrow w_i\, e^{\alpha_t [h_t(x_i)\ne y_i]} .

A perfect tree (:math:`\epsilon_t = 0`) gets weight 1 and ends the fit; a tree no
better than chance (:math:`\epsilon_t \ge 1 - 1/K`) is dropped and ends it.
The decision function is :math:`f_c(x) = \sum_t \alpha_t\,(1 \text{ if } h_t(x)=c
\text{ else } -1/(K-1)) / \sum_t\alpha_t` and the probabilities
:math:`\mathrm{softmax}(f/(K-1))` (as scikit-learn's ``AdaBoostClassifier``).

**Gradient boosting** (Friedman 2001) of a raw score :math:`F(x)\in\mathbb R^K`:
start from the best constant :math:`F_0`, then each round computes the residuals
:math:`r_i = -\partial L/\partial F(x_i)` and hessians :math:`h_i`, fits a regression
tree (MSE criterion) to the residuals of a random subsample of
``round(subsample · n)`` rows, replaces each leaf value by the Newton step
:math:`\gamma_\ell = \kappa\sum_{i\in\ell} r_i / \sum_{i\in\ell} h_i` and updates
:math:`F \leftarrow F + \eta\,\gamma_{\ell(x)}`. Losses:

* ``"squared_error"`` (regression): :math:`L=\tfrac12(y-F)^2`, :math:`r = y-F`, :math:`h=1`,
  :math:`F_0=\bar y`;
* ``"log_loss"``, two classes: :math:`p=\sigma(F)`, :math:`r = y-p`, :math:`h=p(1-p)`,
  :math:`F_0` the prior log-odds; ``K > 2`` classes: one tree per class and round,
  :math:`p=\mathrm{softmax}(F)`, :math:`r_k = [y=k]-p_k`, :math:`h_k=p_k(1-p_k)`,
  :math:`\kappa=(K-1)/K`, :math:`F_0=\log` prior.

Early stopping watches the loss on a validation set (given, or a random
``validation_fraction`` of the training rows) and stops after ``n_iter_no_change``
rounds without an improvement of at least ``tol``; the model keeps the rounds up
to the best validation loss.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, \
    check_same_length, check_shape, is_concrete
from jaxphys.classical._common import as_features
from jaxphys.classical._tree import CRITERIA, TreeParams, _leaf_index, _prepare, _tree_core

__all__ = ["AdaBoostParams", "adaboost_fit", "adaboost_predict", "adaboost_predict_proba",
           "adaboost_decision_function", "GBParams", "gb_fit", "gb_predict",
           "gb_predict_proba", "gb_decision_function", "GB_LOSSES"]

GB_LOSSES = ("squared_error", "log_loss")


def _zeros_like_struct(fn, *args):
    """Zeros with the shapes and dtypes of ``fn(*args)`` (for the skipped ``lax.cond``
    branch)."""
    shapes = jax.eval_shape(fn, *args)
    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)


def _hyper(value: Any, name: str, dtype, *, low: float | None = None,
           high: float | None = None, strict_low: bool = True) -> jax.Array:
    """A scalar hyperparameter as an array; range checked when concrete (it may be traced
    under ``vmap``, e.g. by :func:`jaxphys.classical.grid_search`)."""
    arr = as_array(value, name, ndim=0)
    if is_concrete(arr):
        v = float(arr)
        if not math.isfinite(v):
            raise ValueError(f"{name}: expected a finite number, got {v}")
        if low is not None and (v <= low if strict_low else v < low):
            rel = ">" if strict_low else ">="
            raise ValueError(f"{name}: expected a value {rel} {low}, got {v}")
        if high is not None and v > high:
            raise ValueError(f"{name}: expected a value <= {high}, got {v}")
    return arr.astype(dtype)


# --------------------------------------------------------------------------- AdaBoost


class AdaBoostParams(NamedTuple):
    """An AdaBoost (SAMME) ensemble of ``T = n_estimators`` trees of ``K`` classes.

    Fields:
        trees: :class:`TreeParams` with a leading round axis ``T`` on every field.
        estimator_weight: ``(T,)`` :math:`\\alpha_t` (0 for rounds after the fit stopped).
        estimator_error: ``(T,)`` weighted training error :math:`\\epsilon_t` of each tree
            (NaN for rounds not fitted).
        n_estimators_used: ``()`` int32, trees that count.
        feature_importances: ``(d,)`` the trees' normalised importances averaged with
            weights :math:`\\alpha_t`.
    """

    trees: TreeParams
    estimator_weight: jax.Array
    estimator_error: jax.Array
    n_estimators_used: jax.Array
    feature_importances: jax.Array


@partial(jax.jit, static_argnames=("n_estimators", "max_depth", "criterion"))
def _adaboost_fit(x, xb, onehot, thresholds, learning_rate, n_estimators, max_depth,
                  criterion):
    n = x.shape[0]
    k = onehot.shape[1]
    dtype = x.dtype
    y = jnp.argmax(onehot, axis=1)
    # any split leaving positive weight on both sides is allowed (min_samples_leaf = 1)
    min_leaf = jnp.asarray(1e-6, dtype)

    def fit_tree(w):
        # weights rescaled to mean 1: the split search's tolerance is relative to O(n)
        tree = _tree_core(x, xb, onehot * (w * (n / jnp.sum(w)))[:, None], thresholds,
                          min_leaf, max_depth, criterion)
        pred = jnp.argmax(tree.value[_leaf_index(tree, x)], axis=1)
        return tree, pred

    empty_tree = _zeros_like_struct(lambda w: fit_tree(w)[0], jnp.ones(n, dtype))

    def fitted(w):
        tree, pred = fit_tree(w)
        wrong = (pred != y).astype(dtype)
        err = jnp.sum(w * wrong) / jnp.sum(w)
        perfect = err <= 0
        chance = err >= 1.0 - 1.0 / k
        safe = jnp.clip(err, 1e-30, 1.0 - 1e-7)
        alpha = learning_rate * (jnp.log((1.0 - safe) / safe) + jnp.log(k - 1.0))
        alpha = jnp.where(perfect, 1.0, jnp.where(chance, 0.0, alpha)).astype(dtype)
        new_w = w * jnp.exp(alpha * wrong * (w > 0))
        new_w = new_w / jnp.sum(new_w)
        tree = jax.tree.map(lambda a, b: jnp.where(chance, b, a), tree, empty_tree)
        return tree, alpha, err.astype(dtype), new_w, perfect | chance

    def skipped(w):
        return empty_tree, jnp.zeros((), dtype), jnp.asarray(jnp.nan, dtype), w, \
            jnp.asarray(True)

    def body(carry, _):
        w, stopped = carry
        tree, alpha, err, w, stop = jax.lax.cond(stopped, skipped, fitted, w)
        return (w, stopped | stop), (tree, alpha, err)

    init = (jnp.full(n, 1.0 / n, dtype), jnp.asarray(False))
    _, (trees, alphas, errors) = jax.lax.scan(body, init, None, length=n_estimators)
    total = jnp.sum(alphas)
    importances = jnp.sum(alphas[:, None] * trees.feature_importances, axis=0)
    importances = importances / jnp.where(total > 0, total, 1.0)
    return AdaBoostParams(trees=trees, estimator_weight=alphas, estimator_error=errors,
                          n_estimators_used=jnp.sum(alphas > 0).astype(jnp.int32),
                          feature_importances=importances)


def adaboost_fit(key: Any, X: Any, y: Any, *, n_estimators: int = 50, max_depth: int = 1,
                 learning_rate: Any = 1.0, criterion: str = "gini", n_bins: int = 64,
                 n_classes: int | None = None) -> AdaBoostParams:
    r"""Fit a multi-class AdaBoost (SAMME) ensemble of depth-limited CART trees.

    See the module docstring for the algorithm; it is scikit-learn's
    ``AdaBoostClassifier`` (SAMME) with ``DecisionTreeClassifier(max_depth)`` as the
    base learner, except that splits are searched among ``n_bins - 1`` quantile
    thresholds per feature. All rounds run in one jitted ``lax.scan``.

    Args:
        key: unused (the fit is deterministic; kept for the uniform API); may be ``None``.
        X: ``(n, d)`` finite features.
        y: ``(n,)`` integer class labels ``0..K-1``, ``K >= 2``.
        n_estimators: ``T >= 1`` boosting rounds (static).
        max_depth: depth of each tree, ``>= 1`` (static; 1 = stumps).
        learning_rate: :math:`\eta > 0`, shrinks every :math:`\alpha_t` (may be traced).
        criterion: the trees' impurity: ``"gini"``, ``"entropy"`` or
            ``"misclassification"``.
        n_bins: thresholds per feature + 1 (static), ``>= 2``.
        n_classes: ``K``; default ``max(y) + 1``.

    Returns:
        :class:`AdaBoostParams`.

    >>> x = jnp.array([[0.], [1.], [2.], [3.], [4.], [5.]])
    >>> p = adaboost_fit(None, x, jnp.array([0, 0, 1, 1, 0, 0]), n_estimators=10)
    >>> adaboost_predict(p, x).tolist()
    [0, 0, 1, 1, 0, 0]
    """
    depth = as_int(max_depth, "max_depth", minimum=1)
    n_est = as_int(n_estimators, "n_estimators", minimum=1)
    check_in(criterion, "criterion", tuple(c for c in CRITERIA if c != "mse"))
    x, xb, onehot, thresholds = _prepare(X, y, criterion, n_bins, n_classes)
    if onehot.shape[1] < 2:
        raise ValueError(f"y: AdaBoost needs at least 2 classes, got {onehot.shape[1]}")
    lr = _hyper(learning_rate, "learning_rate", x.dtype, low=0.0)
    return _adaboost_fit(x, xb, onehot, thresholds, lr, n_est, depth, criterion)


@jax.jit
def _adaboost_decision(params, x):
    k = params.trees.value.shape[-1]
    leaves = jax.vmap(lambda t: _leaf_index(t, x))(params.trees)                  # (T, m)
    vals = jnp.take_along_axis(params.trees.value, leaves[:, :, None], axis=1)    # (T, m, K)
    votes = jax.nn.one_hot(jnp.argmax(vals, axis=2), k, dtype=x.dtype)
    votes = votes * (1.0 + 1.0 / (k - 1)) - 1.0 / (k - 1)       # 1 or -1/(K-1)
    total = jnp.sum(params.estimator_weight)
    return jnp.einsum("t,tmk->mk", params.estimator_weight, votes) / jnp.where(
        total > 0, total, 1.0)


def _features_for(params_importances, threshold_dtype, X):
    x = as_features(X, "X")
    check_shape(x, "X", (None, params_importances.shape[-1]))
    return x.astype(threshold_dtype)


def adaboost_decision_function(params: AdaBoostParams, X: Any) -> jax.Array:
    r"""SAMME decision function ``(m, K)``: :math:`f_c(x)=\sum_t\alpha_t v_{tc}(x)/\sum_t
    \alpha_t` with :math:`v_{tc} = 1` if tree ``t`` votes ``c``, else :math:`-1/(K-1)`."""
    x = _features_for(params.feature_importances, params.trees.threshold.dtype, X)
    return _adaboost_decision(params, x)


def adaboost_predict_proba(params: AdaBoostParams, X: Any) -> jax.Array:
    r"""Class probabilities ``(m, K)``: :math:`\mathrm{softmax}(f(x)/(K-1))` (Zhu et al.
    eq. 15, as scikit-learn).

    >>> x = jnp.array([[0.], [1.], [2.], [3.], [4.], [5.]])
    >>> p = adaboost_fit(None, x, jnp.array([0, 0, 1, 1, 0, 0]), n_estimators=10)
    >>> adaboost_predict_proba(p, x).argmax(1).tolist()
    [0, 0, 1, 1, 0, 0]
    """
    f = adaboost_decision_function(params, X)
    return jax.nn.softmax(f / (f.shape[1] - 1), axis=1)


def adaboost_predict(params: AdaBoostParams, X: Any) -> jax.Array:
    """Predicted classes ``(m,)`` int32: the largest decision function. Example: see
    :func:`adaboost_fit`."""
    return jnp.argmax(adaboost_decision_function(params, X), axis=1).astype(jnp.int32)


# --------------------------------------------------------------------- gradient boosting


class GBParams(NamedTuple):
    """A gradient-boosted ensemble of ``T = n_estimators`` rounds of ``K_t`` regression
    trees each (``K_t = 1`` for regression and two classes, ``K`` for ``K > 2`` classes).

    Fields:
        trees: :class:`TreeParams` with leading axes ``(T, K_t)``; each leaf ``value``
            is the Newton step :math:`\\gamma_\\ell` (before the learning rate).
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
    """

    trees: TreeParams
    tree_weight: jax.Array
    init: jax.Array
    n_estimators_used: jax.Array
    train_loss: jax.Array
    val_loss: jax.Array
    feature_importances: jax.Array


def _raw_to_loss(f, yk, task):
    """Mean loss of raw scores ``f (n, K_t)`` against targets ``yk (n, K_t)``."""
    if task == "regression":
        return 0.5 * jnp.mean((yk - f) ** 2)
    if task == "binary":
        return jnp.mean(jnp.logaddexp(0.0, f[:, 0]) - yk[:, 0] * f[:, 0])
    return jnp.mean(jax.nn.logsumexp(f, axis=1) - jnp.sum(yk * f, axis=1))


def _residual_hessian(f, yk, task):
    if task == "regression":
        return yk - f, jnp.ones_like(f)
    p = jax.nn.sigmoid(f) if task == "binary" else jax.nn.softmax(f, axis=1)
    return yk - p, p * (1.0 - p)


@partial(jax.jit, static_argnames=("n_estimators", "max_depth", "task", "patience"))
def _gb_fit(key, x, xb, yk, thresholds, x_val, yk_val, f0, learning_rate, n_sub, min_leaf,
            tol, n_estimators, max_depth, task, patience):
    n = x.shape[0]
    kt = yk.shape[1]
    dtype = x.dtype
    kappa = (kt - 1.0) / kt if task == "multiclass" else 1.0
    has_val = x_val.shape[0] > 0

    def one_tree(r, h, mask):
        tgt = mask[:, None] * jnp.stack([jnp.ones_like(r), r, r * r], axis=1)
        tree = _tree_core(x, xb, tgt, thresholds, min_leaf, max_depth, "mse")
        leaf = _leaf_index(tree, x)
        m = tree.value.shape[0]
        num = jnp.zeros(m, dtype).at[leaf].add(mask * r)
        den = jnp.zeros(m, dtype).at[leaf].add(mask * h)
        value = jnp.where(jnp.abs(den) > 1e-30, kappa * num / jnp.where(
            jnp.abs(den) > 1e-30, den, 1.0), 0.0)
        tree = tree._replace(value=value[:, None])
        return tree, value[leaf]

    def round_trees(key_round, f):
        scores = jax.random.uniform(key_round, (n,))
        rank = jnp.argsort(jnp.argsort(scores))
        mask = (rank < n_sub).astype(dtype)
        r, h = _residual_hessian(f, yk, task)
        return jax.vmap(one_tree, in_axes=(1, 1, None))(r, h, mask)      # (K_t, ...), (K_t, n)

    empty = _zeros_like_struct(lambda k_, f_: round_trees(k_, f_)[0], key,
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
        train_loss = _raw_to_loss(f, yk, task)
        if has_val:
            val_loss = _raw_to_loss(fv, yk_val, task)
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


def _targets(y: Any, x: jax.Array, loss: str, n_classes: int | None, name: str = "y",
             k_fixed: int | None = None):
    """``(task, yk (n, K_t))`` from labels / targets."""
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


def gb_fit(key: jax.Array, X: Any, y: Any, *, loss: str = "log_loss", n_estimators: int = 100,
           learning_rate: Any = 0.1, max_depth: int = 3, subsample: Any = 1.0,
           min_samples_leaf: Any = 1, n_bins: int = 64, n_classes: int | None = None,
           X_val: Any = None, y_val: Any = None, n_iter_no_change: int | None = None,
           validation_fraction: float = 0.1, tol: Any = 1e-4) -> GBParams:
    r"""Fit gradient-boosted regression trees (squared error or log loss).

    See the module docstring for the maths. One jitted ``lax.scan`` over the rounds;
    for ``K > 2`` classes the ``K`` trees of a round are fitted under ``vmap``. Splits
    are searched among ``n_bins - 1`` quantile thresholds per feature (fixed once,
    from all training rows), each tree with the MSE criterion on the residuals; the
    leaves then take Newton steps. ``learning_rate``, ``subsample``,
    ``min_samples_leaf`` and ``tol`` may be traced (e.g. vmapped by
    :func:`jaxphys.classical.grid_search`); the other arguments fix shapes.

    Args:
        key: PRNG key (row subsamples; the validation split).
        X: ``(n, d)`` finite features.
        y: ``(n,)`` float targets (``"squared_error"``) or integer labels ``0..K-1``.
        loss: ``"squared_error"`` or ``"log_loss"`` (binary or multinomial).
        n_estimators: rounds ``T >= 1`` (static).
        learning_rate: :math:`\eta > 0`.
        max_depth: depth of every tree, ``>= 1`` (static).
        subsample: fraction of rows, in (0, 1], drawn without replacement each round
            (stochastic gradient boosting).
        min_samples_leaf: minimum in-sample rows per leaf, ``>= 1``.
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

    Returns:
        :class:`GBParams`.

    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> p = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=20)
    >>> gb_predict(p, jnp.array([[0.1], [0.9]])).tolist()
    [0, 1]
    """
    check_key(key)
    check_in(loss, "loss", GB_LOSSES)
    depth = as_int(max_depth, "max_depth", minimum=1)
    n_est = as_int(n_estimators, "n_estimators", minimum=1)
    criterion = "mse"
    # features, bins and thresholds (the labels are encoded below)
    yy = as_array(y, "y", ndim=1)
    x0 = as_features(X, "X")
    check_same_length("X", x0, "y", yy)
    task, yk = _targets(yy, x0, loss, n_classes)
    patience = 0 if n_iter_no_change is None else as_int(n_iter_no_change, "n_iter_no_change",
                                                          minimum=1)
    key_split, key_fit = jax.random.split(key)
    if X_val is not None or y_val is not None:
        if X_val is None or y_val is None:
            raise ValueError("X_val, y_val: give both or neither")
        xv = as_features(X_val, "X_val")
        check_shape(xv, "X_val", (None, x0.shape[1]))
        yv = as_array(y_val, "y_val", ndim=1)
        check_same_length("X_val", xv, "y_val", yv)
        _, ykv = _targets(yv, x0, loss, n_classes, "y_val", k_fixed=(
            None if task == "regression" else max(2, yk.shape[1])))
        x_tr, yk_tr = x0, yk
    elif patience > 0:
        frac = float(validation_fraction)
        if not 0.0 < frac < 1.0:
            raise ValueError(f"validation_fraction: expected a value in (0, 1), got {frac}")
        n = x0.shape[0]
        n_val = max(1, int(round(frac * n)))
        if n_val >= n:
            raise ValueError(f"validation_fraction: leaves no training rows (n = {n})")
        perm = np.asarray(jax.random.permutation(key_split, n))
        val_idx, tr_idx = perm[:n_val], np.sort(perm[n_val:])
        x_tr, yk_tr, xv, ykv = x0[tr_idx], yk[tr_idx], x0[val_idx], yk[val_idx]
    else:
        x_tr, yk_tr = x0, yk
        xv, ykv = jnp.zeros((0, x0.shape[1]), x0.dtype), jnp.zeros((0, yk.shape[1]), x0.dtype)
    # bins from the fitted rows (labels are not used by _prepare for "mse" beyond checks)
    x_tr, xb, _, thresholds = _prepare(x_tr, jnp.zeros(x_tr.shape[0], x_tr.dtype), criterion,
                                       n_bins, None)
    dtype = x_tr.dtype
    lr = _hyper(learning_rate, "learning_rate", dtype, low=0.0)
    sub = _hyper(subsample, "subsample", dtype, low=0.0, high=1.0)
    mleaf = _hyper(min_samples_leaf, "min_samples_leaf", dtype, low=1.0, strict_low=False)
    tol_a = _hyper(tol, "tol", dtype, low=0.0, strict_low=False)
    n_sub = jnp.maximum(jnp.round(sub * x_tr.shape[0]), 1.0)
    prior = jnp.mean(yk_tr, axis=0)
    if task == "regression":
        f0 = prior
    elif task == "binary":
        p = jnp.clip(prior, 1e-12, 1 - 1e-12)
        f0 = jnp.log(p / (1 - p))
    else:
        f0 = jnp.log(jnp.clip(prior, 1e-12, None))
        f0 = f0 - jnp.mean(f0)
    return _gb_fit(key_fit, x_tr, xb, yk_tr, thresholds, xv.astype(dtype), ykv.astype(dtype),
                   f0.astype(dtype), lr, n_sub, mleaf, tol_a, n_est, depth, task, patience)


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
    of class 1), ``(m, K)`` logits for ``K > 2`` classes."""
    x = _features_for(params.feature_importances, params.trees.threshold.dtype, X)
    return _gb_raw(params, x)


def gb_predict_proba(params: GBParams, X: Any) -> jax.Array:
    r"""Class probabilities ``(m, K)`` (:math:`[1-\sigma(F), \sigma(F)]` for two classes,
    :math:`\mathrm{softmax}(F)` otherwise); for regression, the ``(m, 1)`` predictions.

    >>> x = jnp.linspace(0, 1, 40)[:, None]
    >>> p = gb_fit(jax.random.key(0), x, (x[:, 0] > 0.5).astype(int), n_estimators=20)
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
    ``vmap``. Example: see :func:`gb_fit`."""
    f = gb_decision_function(params, X)
    k_out = params.init.shape[0]
    if k_out == 1:
        return f[:, 0]
    if k_out == 2:
        return (f[:, 0] > 0).astype(jnp.int32)
    return jnp.argmax(f, axis=1).astype(jnp.int32)
