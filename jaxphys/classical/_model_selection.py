r"""Model selection: k-fold cross-validation of any ``fit`` / score pair."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_key, check_same_length
from jaxphys.classical._common import as_features
from jaxphys.data._splits import kfold_indices

__all__ = ["CVResult", "cross_validate"]


class CVResult(NamedTuple):
    """Scores of a k-fold cross-validation.

    Fields:
        scores: ``(k,)`` the score on each held-out fold.
        mean: ``()`` their mean.
        std: ``()`` their standard deviation (ddof = 1), a rough spread.
    """

    scores: jax.Array
    mean: jax.Array
    std: jax.Array


def cross_validate(key: jax.Array, fit: Callable, score: Callable, X: Any, y: Any = None, *,
                   n_folds: int = 5) -> CVResult:
    r"""Shuffled k-fold cross-validation of a ``fit(key, X, y) -> params`` and a
    ``score(params, X, y) -> scalar`` pair.

    The samples are shuffled into ``k`` folds (:func:`jaxphys.data.kfold_indices`);
    for each fold :math:`f`, ``params_f = fit(key_f, X[-f], y[-f])`` on the others and
    :math:`s_f` = ``score(params_f, X[f], y[f])``. With ``y=None`` the callables
    get ``y=None`` (unsupervised: e.g. a held-out log-likelihood). Each fold gets its
    own key split from ``key`` (the first half of ``key`` shuffles).

    Args:
        key: PRNG key.
        fit: ``fit(key, X_train, y_train) -> params`` (bind hyperparameters with a lambda).
        score: ``score(params, X_val, y_val) -> scalar`` (higher or lower is better, as
            the caller reads it).
        X: ``(n, d)`` finite features. y: optional ``(n, ...)`` targets.
        n_folds: ``2 <= k <= n``.

    Returns:
        :class:`CVResult`.

    >>> from jaxphys.classical._density import kde_fit, kde_score_samples
    >>> x = jax.random.normal(jax.random.key(1), (50, 1))
    >>> cv = cross_validate(jax.random.key(0), lambda k, X, y: kde_fit(None, X, bandwidth=0.5),
    ...                     lambda p, X, y: jnp.mean(kde_score_samples(p, X)), x, n_folds=5)
    >>> cv.scores.shape, bool(cv.mean < 0)
    ((5,), True)
    """
    check_key(key)
    x = as_features(X, "X", min_samples=2)
    if y is not None:
        yy = as_array(y, "y")
        if yy.ndim == 0:
            raise ValueError("y: expected an array with a leading sample axis, got a scalar")
        check_same_length("X", x, "y", yy)
    else:
        yy = None
    k = as_int(n_folds, "n_folds", minimum=2)
    if k > x.shape[0]:
        raise ValueError(f"n_folds: expected at most the number of samples {x.shape[0]}, "
                         f"got {k}")
    key_folds, key_fits = jax.random.split(key)
    folds = kfold_indices(key_folds, x.shape[0], k)
    scores = []
    for fold, fit_key in zip(folds, jax.random.split(key_fits, k)):
        y_tr = None if yy is None else yy[fold.train]
        y_va = None if yy is None else yy[fold.val]
        params = fit(fit_key, x[fold.train], y_tr)
        scores.append(float(score(params, x[fold.val], y_va)))
    arr = jnp.asarray(scores)
    return CVResult(scores=arr, mean=jnp.mean(arr), std=jnp.asarray(np.std(scores, ddof=1)))
