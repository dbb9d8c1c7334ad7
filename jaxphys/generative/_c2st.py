"""Classifier two-sample test (C2ST).

Given samples ``x ~ P`` and ``y ~ Q`` (both ``(n, d)``), train a classifier to tell
them apart; its held-out accuracy is ≈ 0.5 when ``P = Q`` (the classifier cannot do
better than chance) and tends to 1 as the two distributions separate
(Lopez-Paz & Oquab 2017; the metric of the simulation-based-inference benchmark,
Lueckmann et al. 2021).
"""

from __future__ import annotations

from functools import partial
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .._checks import as_array, check_finite, check_key, check_positive
from ..nn import MLP


@partial(jax.jit, static_argnames=("hidden", "n_folds", "n_steps", "batch_size"))
def _c2st_folds(key, data, labels, fold, *, hidden, n_folds, n_steps, batch_size,
                learning_rate, weight_decay):
    """Train ``n_folds`` classifiers at once (vmapped); return held-out accuracies (n_folds,)."""
    mlp = MLP(widths=tuple(hidden) + (1,), activation="relu")
    opt = optax.adamw(learning_rate, weight_decay=weight_decay)
    n = data.shape[0]

    def one_fold(fold_key, k):
        init_key, loop_key = jax.random.split(fold_key)
        params = mlp.init(init_key, data[:1])
        train_w = (fold != k).astype(data.dtype)
        # training examples first: minibatch indices are uniform over the first n_train
        order = jnp.argsort(fold == k, stable=True)
        n_train = jnp.sum(fold != k)

        def loss(p, idx):
            z = mlp.apply(p, data[idx])[:, 0]
            yb = labels[idx]
            return jnp.mean(optax.sigmoid_binary_cross_entropy(z, yb))

        def body(carry, _):
            p, s, k_loop = carry
            k_loop, k_batch = jax.random.split(k_loop)
            idx = order[jax.random.randint(k_batch, (batch_size,), 0, n_train)]
            g = jax.grad(loss)(p, idx)
            upd, s = opt.update(g, s, p)
            return (optax.apply_updates(p, upd), s, k_loop), None

        (params, _, _), _ = jax.lax.scan(body, (params, opt.init(params), loop_key), None,
                                         length=n_steps)
        z = mlp.apply(params, data)[:, 0]
        correct = ((z > 0).astype(data.dtype) == labels).astype(data.dtype)
        test_w = 1.0 - train_w
        return jnp.sum(correct * test_w) / jnp.maximum(jnp.sum(test_w), 1.0)

    fold_keys = jax.random.split(key, n_folds)
    del n
    return jax.vmap(one_fold)(fold_keys, jnp.arange(n_folds))


def c2st(key: jax.Array, x, y, *, n_folds: int = 5, hidden: Sequence[int] = (64, 64),
         n_steps: int = 1000, batch_size: int = 256, learning_rate: float = 3e-3,
         weight_decay: float = 1e-4) -> float:
    r"""Classifier two-sample test accuracy between the samples ``x`` and ``y``.

    Both sets are standardised with the mean and standard deviation of ``x``
    (the reference set), labelled 0 (``x``) and 1 (``y``), and split into
    ``n_folds`` stratified folds. For each fold a ReLU MLP (``hidden`` widths, one
    logit output) is trained on the other folds by minimising the binary
    cross-entropy with AdamW on minibatches, and scored on the held-out fold. The
    ``n_folds`` classifiers train together in one jitted, vmapped ``lax.scan``.

    .. math:: \mathrm{C2ST} = \frac{1}{K}\sum_{k=1}^{K}
              \frac{1}{|F_k|}\sum_{i \in F_k} \mathbb{1}[\hat y_i = y_i]

    ≈ 0.5 when ``x`` and ``y`` come from the same distribution (within about
    ``±1/sqrt(n_x + n_y)``), → 1 when they are separable.

    Args:
        key: PRNG key (fold assignment, initialisation, minibatches).
        x: samples ``(n_x, d)`` (or ``(n_x,)`` for 1-D), the reference set.
        y: samples ``(n_y, d)`` (or ``(n_y,)``).
        n_folds: number of cross-validation folds (≥ 2).
        hidden: hidden-layer widths of the classifier.
        n_steps: AdamW steps per fold.
        batch_size: minibatch size.
        learning_rate, weight_decay: AdamW settings.

    Returns:
        the mean held-out accuracy, a Python float in [0, 1].

    Example:
        >>> import jax
        >>> kx, ky, kt = jax.random.split(jax.random.key(0), 3)
        >>> x = jax.random.normal(kx, (500, 2))
        >>> y = jax.random.normal(ky, (500, 2)) + 3.0
        >>> c2st(kt, x, y, n_steps=200) > 0.95
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
    n_folds = int(n_folds)
    if n_folds < 2:
        raise ValueError(f"n_folds: expected at least 2, got {n_folds}")
    if min(x.shape[0], y.shape[0]) < n_folds:
        raise ValueError(f"x and y: expected at least n_folds={n_folds} samples each, got "
                         f"{x.shape[0]} and {y.shape[0]}")
    check_positive(n_steps, "n_steps")
    check_positive(batch_size, "batch_size")
    dtype = jnp.result_type(x.dtype, y.dtype, jnp.float32)
    x = x.astype(dtype)
    y = y.astype(dtype)
    mean = jnp.mean(x, axis=0, keepdims=True)
    scale = jnp.std(x, axis=0, keepdims=True)
    scale = jnp.where(scale > 0, scale, 1.0)
    data = (jnp.concatenate([x, y]) - mean) / scale
    labels = jnp.concatenate([jnp.zeros(x.shape[0], dtype), jnp.ones(y.shape[0], dtype)])
    fold_key, train_key = jax.random.split(key)
    fx_key, fy_key = jax.random.split(fold_key)
    # stratified folds: each class is dealt round-robin after a shuffle
    fold_x = jax.random.permutation(fx_key, jnp.arange(x.shape[0]) % n_folds)
    fold_y = jax.random.permutation(fy_key, jnp.arange(y.shape[0]) % n_folds)
    fold = jnp.concatenate([fold_x, fold_y])
    acc = _c2st_folds(train_key, data, labels, fold, hidden=tuple(int(h) for h in hidden),
                      n_folds=n_folds, n_steps=int(n_steps), batch_size=int(batch_size),
                      learning_rate=jnp.asarray(learning_rate, dtype),
                      weight_decay=jnp.asarray(weight_decay, dtype))
    return float(np.mean(np.asarray(acc)))
