"""Classifier two-sample test (C2ST).

Given samples ``x ~ P`` and ``y ~ Q`` (both ``(n, d)``), train a classifier to tell
them apart; its held-out accuracy is ≈ 0.5 when ``P = Q`` (the classifier cannot do
better than chance) and tends to 1 as the two distributions separate
(Lopez-Paz & Oquab 2017; the metric of the simulation-based-inference benchmark,
Lueckmann et al. 2021).
"""

from __future__ import annotations

import functools
from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import as_array, as_int, check_finite, check_key
from ..core import TrainState, make_train_step, resolve_optimizer, run_steps, set_hyperparams
from ..nn import MLP
from ._training import check_learning_rate


# AdamW with its learning rate and weight decay as arrays in the optimiser state: one
# transformation object (a static field of every fold's TrainState), so that c2st compiles
# once per classifier and shapes whatever the rates, which are set per call
_ADAMW = optax.inject_hyperparams(optax.adamw)(learning_rate=3e-3, weight_decay=1e-4)


def _logits(classifier, params, x):
    out = classifier.apply(params, x)
    return out.reshape(out.shape[0])


@functools.lru_cache(maxsize=None)
def _classifier_step(classifier):
    """The train step of a fold's classifier (cached: the same step object, no recompile)."""
    def loss_fn(params, batch, key):
        del key
        z = _logits(classifier, params, batch["x"])
        bce = optax.sigmoid_binary_cross_entropy(z, batch["label"])
        return jnp.sum(batch["weight"] * bce) / jnp.sum(batch["weight"]), {}

    return make_train_step(loss_fn, jit=False)


@functools.partial(jax.jit, static_argnames=("classifier", "tx", "n_steps", "batch_size"))
def _fold_accuracies(key, data, labels, weights, train_idx, test_mask, hyperparams, *,
                     classifier, tx, n_steps, batch_size):
    """Train one classifier per fold (``vmap`` over :func:`run_steps`); return the held-out
    balanced accuracies ``(n_folds,)``."""
    step = _classifier_step(classifier)

    def one_fold(fold_key, rows):
        init_key, run_key = jax.random.split(fold_key)
        state = TrainState.create(classifier.init(init_key, data[:1]), tx)
        if hyperparams is not None:
            state = set_hyperparams(state, **hyperparams)
        fold_data = {"x": data[rows], "label": labels[rows], "weight": weights[rows]}
        state, _ = run_steps(step, state, fold_data, run_key, n_steps=n_steps,
                             batch_size=batch_size)
        return _logits(classifier, state.params, data)

    logits = jax.vmap(one_fold)(jax.random.split(key, train_idx.shape[0]), train_idx)
    correct = ((logits > 0).astype(data.dtype) == labels[None]).astype(data.dtype)

    def class_accuracy(cls):
        mask = test_mask * (labels[None] == cls)
        return jnp.sum(correct * mask, axis=1) / jnp.maximum(jnp.sum(mask, axis=1), 1.0)

    return 0.5 * (class_accuracy(0.0) + class_accuracy(1.0))


def _fold_rows(fold: np.ndarray, labels: np.ndarray, n_folds: int) -> np.ndarray:
    """Training rows of every fold ``(n_folds, n_train)``: for each class, the rows outside
    the fold, cut to the smallest such count over folds (at most one row per class is left
    out), so that every fold trains on arrays of one shape."""
    rows = []
    for cls in (0.0, 1.0):
        per_fold = [np.nonzero((fold != k) & (labels == cls))[0] for k in range(n_folds)]
        m = min(len(r) for r in per_fold)
        rows.append(np.stack([r[:m] for r in per_fold]))
    return np.concatenate(rows, axis=1)


def c2st(key: jax.Array, x, y, *, n_folds: int = 5, hidden: Sequence[int] = (64, 64),
         n_steps: int = 1000, batch_size: int = 256, learning_rate: float = 3e-3,
         weight_decay: float = 1e-4, classifier: nn.Module | None = None,
         optimizer=None) -> float:
    r"""Classifier two-sample test accuracy between the samples ``x`` and ``y``.

    Both sets are standardised with the mean and standard deviation of ``x``
    (the reference set), labelled 0 (``x``) and 1 (``y``), and split into
    ``n_folds`` stratified folds. For each fold a classifier (default a ReLU MLP with
    ``hidden`` widths and one logit output) is trained on the other folds by minimising
    the class-weighted binary cross-entropy (each class weighs half, whatever the
    sample sizes) with AdamW on minibatches through :func:`jaxphys.core.run_steps`, and
    scored on the held-out fold by its balanced accuracy (the mean of the two classes'
    accuracies). The ``n_folds`` classifiers train together: one ``vmap`` over
    ``run_steps``, compiled once per classifier and shapes.

    .. math:: \mathrm{C2ST} = \frac{1}{K}\sum_{k=1}^{K} \frac12 \sum_{c=0}^{1}
              \frac{1}{|F_k^c|}\sum_{i \in F_k^c} \mathbb{1}[\hat y_i = c]

    With equal sample sizes this is the plain held-out accuracy. It is ≈ 0.5 when ``x``
    and ``y`` come from the same distribution, for any ratio of sample sizes (within
    about ``±1/sqrt(n_x + n_y)``; a plain accuracy would instead reward predicting the
    larger class), and → 1 when they are separable (Lopez-Paz & Oquab 2017).

    Args:
        key: PRNG key (fold assignment, initialisation, minibatches).
        x: samples ``(n_x, d)`` (or ``(n_x,)`` for 1-D), the reference set.
        y: samples ``(n_y, d)`` (or ``(n_y,)``).
        n_folds: number of cross-validation folds (≥ 2).
        hidden: hidden-layer widths of the default classifier.
        n_steps: optimiser steps per fold.
        batch_size: minibatch size (at most the number of training rows of a fold).
        learning_rate, weight_decay: the default AdamW's settings.
        classifier: optional flax module ``apply(variables, x (n, d)) -> logits (n,)``
            or ``(n, 1)``, with parameters only (no batch statistics).
        optimizer: optional optax transformation replacing the default AdamW.

    Returns:
        the mean held-out balanced accuracy, a Python float in [0, 1].

    Example:
        >>> import jax
        >>> kx, ky, kt = jax.random.split(jax.random.key(0), 3)
        >>> x = jax.random.normal(kx, (200, 2))
        >>> y = jax.random.normal(ky, (200, 2)) + 3.0      # Bayes accuracy Φ(3/√2) = 0.98
        >>> c2st(kt, x, y, n_folds=2, hidden=(16,), n_steps=100, learning_rate=1e-2) > 0.95
        True
    """
    check_key(key, "key")
    x = as_array(x, "x", ndim=(1, 2))
    y = as_array(y, "y", ndim=(1, 2))
    if x.ndim == 1:
        x = x[:, None]
    if y.ndim == 1:
        y = y[:, None]
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y: expected the same number of columns, got {x.shape[1]} "
                         f"and {y.shape[1]}")
    check_finite(x, "x")
    check_finite(y, "y")
    n_folds = as_int(n_folds, "n_folds")
    if n_folds < 2:
        raise ValueError(f"n_folds: expected at least 2, got {n_folds}")
    if min(x.shape[0], y.shape[0]) < n_folds:
        raise ValueError(f"x and y: expected at least n_folds={n_folds} samples each, got "
                         f"{x.shape[0]} and {y.shape[0]}")
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    if classifier is None:
        classifier = MLP(widths=tuple(int(h) for h in hidden) + (1,), activation="relu")
    if optimizer is None:
        tx = _ADAMW
        hyperparams = {"learning_rate": check_learning_rate(learning_rate),
                       "weight_decay": float(weight_decay)}
        if not hyperparams["weight_decay"] >= 0:
            raise ValueError(f"weight_decay: expected a number >= 0, got {weight_decay!r}")
    else:
        tx, hyperparams = resolve_optimizer(optimizer), None
    dtype = jnp.result_type(x.dtype, y.dtype, jnp.float32)
    x = x.astype(dtype)
    y = y.astype(dtype)
    mean = jnp.mean(x, axis=0, keepdims=True)
    scale = jnp.std(x, axis=0, keepdims=True)
    scale = jnp.where(scale > 0, scale, 1.0)
    data = (jnp.concatenate([x, y]) - mean) / scale
    n_x, n_y = x.shape[0], y.shape[0]
    labels = np.concatenate([np.zeros(n_x), np.ones(n_y)])
    # each class weighs half of the loss: the classifier estimates the balanced posterior
    weights = np.where(labels == 0, 0.5 / n_x, 0.5 / n_y) * (n_x + n_y)
    fold_key, train_key = jax.random.split(key)
    fx_key, fy_key = jax.random.split(fold_key)
    # stratified folds: each class is dealt round-robin after a shuffle
    fold_x = jax.random.permutation(fx_key, jnp.arange(n_x) % n_folds)
    fold_y = jax.random.permutation(fy_key, jnp.arange(n_y) % n_folds)
    fold = np.asarray(jnp.concatenate([fold_x, fold_y]))
    train_idx = _fold_rows(fold, labels, n_folds)
    test_mask = (fold[None, :] == np.arange(n_folds)[:, None]).astype(np.float64)
    acc = _fold_accuracies(train_key, data, jnp.asarray(labels, dtype),
                           jnp.asarray(weights, dtype), jnp.asarray(train_idx),
                           jnp.asarray(test_mask, dtype), hyperparams, classifier=classifier,
                           tx=tx, n_steps=n_steps,
                           batch_size=min(batch_size, train_idx.shape[1]))
    return float(np.mean(np.asarray(acc)))
