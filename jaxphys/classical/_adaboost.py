r"""AdaBoost (SAMME) ensembles of CART trees, fitted in JAX.

**SAMME** (Zhu, Zou, Rosset & Hastie 2009, *Multi-class AdaBoost*), ``K`` classes.
With sample weights :math:`w_i` (initially :math:`1/n`), round ``t`` fits a shallow
tree :math:`h_t` (:mod:`jaxphys.classical._grow`, one set of quantile bins for the
whole fit) to the weighted data, measures its weighted error
:math:`\epsilon_t = \sum_i w_i [h_t(x_i)\ne y_i] / \sum_i w_i`, and sets

.. math:: \alpha_t = \eta\left(\log\frac{1-\epsilon_t}{\epsilon_t} + \log(K-1)\right),
   \qquad w_i \leftarrow w_i\, e^{\alpha_t [h_t(x_i)\ne y_i]} .

A perfect tree (:math:`\epsilon_t = 0`) gets weight 1 and ends the fit; a tree no
better than chance (:math:`\epsilon_t \ge 1 - 1/K`) is dropped and ends it.
The decision function is :math:`f_c(x) = \sum_t \alpha_t\,(1 \text{ if } h_t(x)=c
\text{ else } -1/(K-1)) / \sum_t\alpha_t` and the probabilities
:math:`\mathrm{softmax}(f/(K-1))` (as scikit-learn's ``AdaBoostClassifier``). The
rounds run in one jitted ``lax.scan``; a round after a stop is skipped with
``lax.cond`` (it costs nothing and its tree weight is 0).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_in, check_key
from jaxphys.classical._ensemble import features_for, hyperparameter, stacked_leaf_values, \
    zeros_like_struct
from jaxphys.classical._grow import TreeParams, grow_tree
from jaxphys.classical._tree import CRITERIA, _leaf_index, _prepare

__all__ = ["AdaBoostParams", "adaboost_fit", "adaboost_predict", "adaboost_predict_proba",
           "adaboost_decision_function"]


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

    >>> from jaxphys.classical import adaboost_fit
    >>> x = jnp.array([[0.], [1.], [2.], [3.], [4.], [5.]])
    >>> p = adaboost_fit(None, x, jnp.array([0, 0, 1, 1, 0, 0]), n_estimators=10)
    >>> p.estimator_weight.shape, p.trees.threshold.shape[0]     # one entry per round
    ((10,), 10)
    >>> p.feature_importances.tolist()                           # one feature does it all
    [1.0]
    """

    trees: TreeParams
    estimator_weight: jax.Array
    estimator_error: jax.Array
    n_estimators_used: jax.Array
    feature_importances: jax.Array


@partial(jax.jit, static_argnames=("n_estimators", "max_depth", "criterion", "n_classes"))
def _adaboost_fit(x, xb, y, thresholds, learning_rate, n_estimators, max_depth, criterion,
                  n_classes):
    n = x.shape[0]
    k = n_classes
    dtype = x.dtype
    # any split leaving positive weight on both sides is allowed (min_samples_leaf = 1)
    min_leaf = jnp.asarray(1e-6, dtype)

    def fit_tree(w):
        # weights rescaled to mean 1: the split search's tolerance is relative to O(n)
        tree = grow_tree(xb, thresholds, y, w * (n / jnp.sum(w)), criterion=criterion,
                         max_depth=max_depth, min_leaf=min_leaf, n_classes=n_classes)
        pred = jnp.argmax(tree.value[_leaf_index(tree, x)], axis=1)
        return tree, pred

    empty_tree = zeros_like_struct(lambda w: fit_tree(w)[0], jnp.ones(n, dtype))

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
    if key is not None:
        check_key(key)
    depth = as_int(max_depth, "max_depth", minimum=1)
    n_est = as_int(n_estimators, "n_estimators", minimum=1)
    check_in(criterion, "criterion", tuple(c for c in CRITERIA if c != "mse"))
    x, xb, labels, thresholds, c = _prepare(X, y, criterion, n_bins, n_classes)
    if c < 2:
        raise ValueError(f"y: AdaBoost needs at least 2 classes, got {c}")
    lr = hyperparameter(learning_rate, "learning_rate", x.dtype, low=0.0)
    return _adaboost_fit(x, xb, labels, thresholds, lr, n_est, depth, criterion, c)


@jax.jit
def _adaboost_decision(params, x):
    k = params.trees.value.shape[-1]
    vals = stacked_leaf_values(params.trees, x, _leaf_index)                     # (T, m, K)
    votes = jax.nn.one_hot(jnp.argmax(vals, axis=2), k, dtype=x.dtype)
    votes = votes * (1.0 + 1.0 / (k - 1)) - 1.0 / (k - 1)       # 1 or -1/(K-1)
    total = jnp.sum(params.estimator_weight)
    return jnp.einsum("t,tmk->mk", params.estimator_weight, votes) / jnp.where(
        total > 0, total, 1.0)


def adaboost_decision_function(params: AdaBoostParams, X: Any) -> jax.Array:
    r"""SAMME decision function ``(m, K)``: :math:`f_c(x)=\sum_t\alpha_t v_{tc}(x)/\sum_t
    \alpha_t` with :math:`v_{tc} = 1` if tree ``t`` votes ``c``, else :math:`-1/(K-1)`.

    Each row lies in :math:`[-1/(K-1), 1]` and sums to 0; its arg-max is the prediction.

    >>> from jaxphys.classical import adaboost_decision_function, adaboost_fit
    >>> x = jnp.array([[0.], [1.], [2.], [3.], [4.], [5.]])
    >>> p = adaboost_fit(None, x, jnp.array([0, 0, 1, 1, 0, 0]), n_estimators=10)
    >>> f = adaboost_decision_function(p, x)
    >>> f.shape, bool(jnp.allclose(f.sum(1), 0.0, atol=1e-6)), f.argmax(1).tolist()
    ((6, 2), True, [0, 0, 1, 1, 0, 0])
    """
    x = features_for(params.feature_importances, params.trees.threshold.dtype, X)
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
    """Predicted classes ``(m,)`` int32: the largest decision function.

    >>> from jaxphys.classical import adaboost_fit, adaboost_predict
    >>> x = jnp.array([[0.], [1.], [2.], [3.], [4.], [5.]])
    >>> p = adaboost_fit(None, x, jnp.array([0, 0, 1, 1, 0, 0]), n_estimators=10)
    >>> adaboost_predict(p, x - 0.6).tolist()      # class 1 between the cuts at 1.5 and 3.5
    [0, 0, 0, 1, 1, 0]
    """
    return jnp.argmax(adaboost_decision_function(params, X), axis=1).astype(jnp.int32)
