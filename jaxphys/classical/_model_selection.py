r"""Model selection: k-fold cross-validation, learning curves and grid search for any
``fit`` / ``score`` pair.

All three share one fold convention: ``key`` is split into a shuffling half (the
folds, :func:`jaxphys.data.kfold_indices`) and a fitting half (one key per fold), so
the same ``key`` gives the same folds and fit keys in :func:`cross_validate`,
:func:`learning_curve` and :func:`grid_search`.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_key, check_same_length
from jaxphys.classical._common import as_features
from jaxphys.data._splits import kfold_indices

__all__ = ["CVResult", "cross_validate", "LearningCurve", "learning_curve", "GridSearchResult",
           "grid_search"]


class CVResult(NamedTuple):
    """Scores of a k-fold cross-validation.

    Fields:
        scores: ``(k,)`` the score on each held-out fold.
        mean: ``()`` their mean.
        std: ``()`` their standard deviation (ddof = 1), a rough spread.

    With a "score" that counts the training rows, 40 samples in 4 folds score 30 each:

    >>> from jaxphys.classical import cross_validate
    >>> cv = cross_validate(jax.random.key(0), lambda k, X, y: X.shape[0],
    ...                     lambda n_train, X, y: n_train, jnp.zeros((40, 2)), n_folds=4)
    >>> cv.scores.tolist(), float(cv.mean), float(cv.std)
    ([30.0, 30.0, 30.0, 30.0], 30.0, 0.0)
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
        X: ``(n, d)`` finite features. y: optional ``(n, ...)`` finite targets.
        n_folds: ``2 <= k <= n``.

    Returns:
        :class:`CVResult`.

    >>> from jaxphys.classical import kde_fit, kde_score_samples
    >>> x = jax.random.normal(jax.random.key(1), (50, 1))
    >>> cv = cross_validate(jax.random.key(0), lambda k, X, y: kde_fit(None, X, bandwidth=0.5),
    ...                     lambda p, X, y: jnp.mean(kde_score_samples(p, X)), x, n_folds=5)
    >>> cv.scores.shape, bool(cv.mean < 0)
    ((5,), True)
    """
    x, yy, folds, fit_keys = _folds(key, X, y, n_folds)
    scores = []
    for fold, fit_key in zip(folds, fit_keys):
        y_tr = None if yy is None else yy[fold.train]
        y_va = None if yy is None else yy[fold.val]
        params = fit(fit_key, x[fold.train], y_tr)
        scores.append(float(score(params, x[fold.val], y_va)))
    arr = jnp.asarray(scores)
    return CVResult(scores=arr, mean=jnp.mean(arr), std=jnp.asarray(np.std(scores, ddof=1)))


def _folds(key, X, y, n_folds):
    """Checked data, the k folds and one fit key per fold (shared by every routine here)."""
    check_key(key)
    x = as_features(X, "X", min_samples=2)
    if y is not None:
        yy = as_array(y, "y")
        if yy.ndim == 0:
            raise ValueError("y: expected an array with a leading sample axis, got a scalar")
        check_same_length("X", x, "y", yy)
        check_finite(yy, "y")
    else:
        yy = None
    k = as_int(n_folds, "n_folds", minimum=2)
    if k > x.shape[0]:
        raise ValueError(f"n_folds: expected at most the number of samples {x.shape[0]}, "
                         f"got {k}")
    key_folds, key_fits = jax.random.split(key)
    folds = kfold_indices(key_folds, x.shape[0], k)
    return x, yy, folds, list(jax.random.split(key_fits, k))


class LearningCurve(NamedTuple):
    """Scores against the training-set size.

    Fields:
        train_sizes: ``(S,)`` int32 training-set sizes used.
        train_scores: ``(S, k)`` score on the rows each fit was trained on.
        val_scores: ``(S, k)`` score on each held-out fold.
        train_mean: ``(S,)`` mean of ``train_scores`` over the folds.
        val_mean: ``(S,)`` mean of ``val_scores`` over the folds.

    With a score that counts the rows it is evaluated on (40 samples, 4 folds: training
    folds of 30 rows, held-out folds of 10):

    >>> from jaxphys.classical import learning_curve
    >>> lc = learning_curve(jax.random.key(0), lambda k, X, y: None, lambda p, X, y: X.shape[0],
    ...                     jnp.zeros((40, 2)), train_sizes=(0.5, 1.0), n_folds=4)
    >>> lc.train_sizes.tolist(), lc.train_mean.tolist(), lc.val_mean.tolist()
    ([15, 30], [15.0, 30.0], [10.0, 10.0])
    """

    train_sizes: jax.Array
    train_scores: jax.Array
    val_scores: jax.Array
    train_mean: jax.Array
    val_mean: jax.Array


def _train_sizes(train_sizes: Any, n_max: int) -> np.ndarray:
    sizes = np.asarray(train_sizes)
    if sizes.ndim != 1 or sizes.size == 0:
        raise ValueError(f"train_sizes: expected a non-empty 1-D sequence, got shape "
                         f"{sizes.shape}")
    if np.issubdtype(sizes.dtype, np.floating):
        if not np.all((sizes > 0) & (sizes <= 1)):
            raise ValueError(f"train_sizes: fractions must lie in (0, 1], got {sizes.tolist()}")
        out = np.clip((sizes * n_max).astype(int), 1, n_max)
    else:
        if not np.all((sizes >= 1) & (sizes <= n_max)):
            raise ValueError(f"train_sizes: sizes must lie in [1, {n_max}] (the smallest "
                             f"training fold), got {sizes.tolist()}")
        out = sizes.astype(int)
    return np.unique(out)


def learning_curve(key: jax.Array, fit: Callable, score: Callable, X: Any, y: Any = None, *,
                   train_sizes: Sequence[float] | Sequence[int] = (0.1, 0.325, 0.55, 0.775, 1.0),
                   n_folds: int = 5) -> LearningCurve:
    r"""Training and validation scores against the training-set size.

    For each of the ``k`` shuffled folds (as :func:`cross_validate`) and each size
    ``s``, ``params = fit(key_f, X[train_f[:s]], y[train_f[:s]])`` is scored on those
    ``s`` rows and on the held-out fold. The training indices are already in random
    order, so ``train_f[:s]`` is a random subset, nested as ``s`` grows. Fractions are
    of the smallest training fold :math:`n_\mathrm{max}` and become
    ``max(1, int(f · n_max))``; repeated sizes are dropped (scikit-learn's
    ``learning_curve`` rule, so with the same folds the two agree).

    Training sizes change the array shapes, so this is a Python loop (one fit per
    size and fold; a jitted ``fit`` recompiles per size).

    Args:
        key: PRNG key. fit, score, X, y, n_folds: as :func:`cross_validate`.
        train_sizes: fractions in (0, 1] (floats) or absolute sizes (ints).

    Returns:
        :class:`LearningCurve`.

    >>> x = jax.random.normal(jax.random.key(1), (40, 2))
    >>> yy = x @ jnp.array([1.0, -2.0])
    >>> fit = lambda k, X, y: jnp.linalg.lstsq(X, y)[0]
    >>> score = lambda w, X, y: -jnp.mean((X @ w - y) ** 2)
    >>> lc = learning_curve(jax.random.key(0), fit, score, x, yy, train_sizes=(0.5, 1.0),
    ...                     n_folds=4)
    >>> lc.train_sizes.tolist(), lc.val_scores.shape
    ([15, 30], (2, 4))
    """
    x, yy, folds, fit_keys = _folds(key, X, y, n_folds)
    n_max = min(int(f.train.shape[0]) for f in folds)
    sizes = _train_sizes(train_sizes, n_max)
    tr_scores = np.zeros((sizes.size, len(folds)))
    va_scores = np.zeros((sizes.size, len(folds)))
    for j, (fold, fit_key) in enumerate(zip(folds, fit_keys)):
        for i, s in enumerate(sizes):
            idx = fold.train[:s]
            y_tr = None if yy is None else yy[idx]
            y_va = None if yy is None else yy[fold.val]
            params = fit(jax.random.clone(fit_key), x[idx], y_tr)
            tr_scores[i, j] = float(score(params, x[idx], y_tr))
            va_scores[i, j] = float(score(params, x[fold.val], y_va))
    return LearningCurve(train_sizes=jnp.asarray(sizes, jnp.int32),
                         train_scores=jnp.asarray(tr_scores), val_scores=jnp.asarray(va_scores),
                         train_mean=jnp.asarray(tr_scores.mean(1)),
                         val_mean=jnp.asarray(va_scores.mean(1)))


class GridSearchResult(NamedTuple):
    """Cross-validated scores over a hyperparameter grid of ``G`` points.

    Fields:
        grid: dict name -> ``(G,)`` array, the value of each hyperparameter at each point
            (the Cartesian product of the given values, the first name varying slowest).
        scores: ``(G, k)`` the score on each held-out fold.
        mean: ``(G,)`` mean over the folds. std: ``(G,)`` standard deviation (ddof = 1).
        best_index: ``()`` int, the point of best mean score.
        best_params: dict name -> Python scalar, the hyperparameters at ``best_index``.

    A "model" that is its hyperparameter, scored by ``-(lam - 2)²``:

    >>> from jaxphys.classical import grid_search
    >>> gs = grid_search(jax.random.key(0), lambda k, X, y, lam: lam,
    ...                  lambda lam, X, y: -(lam - 2.0) ** 2, jnp.zeros((40, 3)),
    ...                  grid={"lam": [1.0, 2.0, 4.0]}, n_folds=4)
    >>> gs.grid["lam"].tolist(), gs.mean.tolist(), int(gs.best_index), gs.best_params
    ([1.0, 2.0, 4.0], [-1.0, 0.0, -4.0], 1, {'lam': 2.0})
    """

    grid: dict
    scores: jax.Array
    mean: jax.Array
    std: jax.Array
    best_index: jax.Array
    best_params: dict


def grid_search(key: jax.Array, fit: Callable, score: Callable, X: Any, y: Any = None, *,
                grid: Mapping[str, Any], static: Sequence[str] = (), n_folds: int = 5,
                maximize: bool = True) -> GridSearchResult:
    r"""k-fold grid search with the hyperparameters passed as arrays, vmapped.

    ``fit(key, X, y, **hyperparameters) -> params`` and ``score(params, X, y) -> scalar``.
    The grid is the Cartesian product of ``grid``'s values. For every fold and every
    combination of the ``static`` names (a Python loop: these change shapes or are
    Python-level choices, e.g. ``max_depth``, ``n_estimators``; each value passed as a
    Python scalar), the remaining names are **vmapped**: ``fit`` and ``score`` run once
    under ``jax.vmap`` over all their combinations, as traced scalars. So ``fit`` and
    ``score`` must be traceable in those (no ``float(lr)``, no ``if lr > 0``): the
    jaxphys fits document which hyperparameters may be traced (e.g.
    :func:`jaxphys.classical.gb_fit`'s ``learning_rate``, ``subsample``). List any
    other hyperparameter in ``static`` (``static=tuple(grid)`` loops over everything).

    Every grid point sees the same folds and, within a fold, the same fit key (common
    random numbers), which are those of :func:`cross_validate` with the same ``key``.

    Args:
        key: PRNG key. fit, score, X, y, n_folds: as :func:`cross_validate` (``fit``
            takes the hyperparameters as keyword arguments).
        grid: name -> 1-D sequence of values.
        static: names looped over in Python instead of vmapped.
        maximize: best = largest mean score (True) or smallest.

    Returns:
        :class:`GridSearchResult`.

    >>> x = jax.random.normal(jax.random.key(1), (40, 3))
    >>> yy = x @ jnp.array([1.0, -2.0, 0.5]) + 0.1 * jax.random.normal(jax.random.key(2), (40,))
    >>> def fit(k, X, y, lam):
    ...     return jnp.linalg.solve(X.T @ X + lam * jnp.eye(3), X.T @ y)
    >>> score = lambda w, X, y: -jnp.mean((X @ w - y) ** 2)
    >>> gs = grid_search(jax.random.key(0), fit, score, x, yy,
    ...                  grid={"lam": jnp.array([0.01, 1.0, 100.0])}, n_folds=4)
    >>> gs.scores.shape, gs.best_params["lam"] < 100
    ((3, 4), True)
    """
    x, yy, folds, fit_keys = _folds(key, X, y, n_folds)
    if not isinstance(grid, Mapping) or len(grid) == 0:
        raise ValueError("grid: expected a non-empty dict name -> 1-D values")
    names = list(grid)
    values = {}
    for name in names:
        v = np.asarray(grid[name])
        if v.ndim != 1 or v.size == 0:
            raise ValueError(f"grid: values of {name!r} must be a non-empty 1-D sequence, got "
                             f"shape {v.shape}")
        values[name] = v
    for name in static:
        if name not in grid:
            raise ValueError(f"static: {name!r} is not a name in grid {names}")
    static_names = [n for n in names if n in static]
    traced_names = [n for n in names if n not in static]
    # full product in the order of `names` (first varying slowest)
    points = list(itertools.product(*(range(values[n].size) for n in names)))
    g = len(points)
    scores = np.zeros((g, len(folds)))
    static_combos = list(itertools.product(*(range(values[n].size) for n in static_names)))
    traced_combos = list(itertools.product(*(range(values[n].size) for n in traced_names)))
    index_of = {p: i for i, p in enumerate(points)}

    def point_index(s_combo, t_combo):
        full = dict(zip(static_names, s_combo)) | dict(zip(traced_names, t_combo))
        return index_of[tuple(full[n] for n in names)]

    for j, (fold, fit_key) in enumerate(zip(folds, fit_keys)):
        x_tr, x_va = x[fold.train], x[fold.val]
        y_tr = None if yy is None else yy[fold.train]
        y_va = None if yy is None else yy[fold.val]
        for s_combo in static_combos:
            kw_static = {n: values[n][i].item() for n, i in zip(static_names, s_combo)}
            k_fit = jax.random.clone(fit_key)
            if traced_names:
                hp = {n: jnp.asarray(np.array([values[n][t[c]] for t in traced_combos]))
                      for c, n in enumerate(traced_names)}

                def one(h, k_fit=k_fit, kw_static=kw_static):
                    params = fit(k_fit, x_tr, y_tr, **kw_static, **h)
                    return score(params, x_va, y_va)

                out = np.asarray(jax.vmap(one)(hp))
            else:
                out = np.asarray([float(score(fit(k_fit, x_tr, y_tr, **kw_static), x_va,
                                              y_va))])
            for t_combo, val in zip(traced_combos, out):
                scores[point_index(s_combo, t_combo), j] = val
    mean = scores.mean(1)
    std = scores.std(1, ddof=1)
    best = int(np.argmax(mean) if maximize else np.argmin(mean))
    grid_arrays = {n: jnp.asarray(np.array([values[n][p[c]] for p in points]))
                   for c, n in enumerate(names)}
    best_params = {n: values[n][points[best][c]].item() for c, n in enumerate(names)}
    return GridSearchResult(grid=grid_arrays, scores=jnp.asarray(scores), mean=jnp.asarray(mean),
                            std=jnp.asarray(std), best_index=jnp.asarray(best),
                            best_params=best_params)
