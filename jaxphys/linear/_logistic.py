"""Logistic regression (binary and softmax/multinomial) fitted by optax L-BFGS.

Objective, with ``n`` examples ``(x_i, y_i)``:

* binary (``n_classes=2``), ``z_i = x_i·w + b``::

      L(w, b) = (1/n) Σ_i [log(1 + e^{z_i}) - y_i z_i]  +  (l2/2) ‖w‖²

* softmax (``n_classes=C > 2``), ``z_i = x_i W + b ∈ R^C``::

      L(W, b) = (1/n) Σ_i [logsumexp(z_i) - z_{i, y_i}]  +  (l2/2) ‖W‖²_F

The intercept ``b`` is not penalised. This is scikit-learn's
``LogisticRegression(C=1/(n·l2))`` objective divided by ``n·C`` (``l2 = 0`` is
``C = inf``). The minimisation is ``optax.lbfgs`` with its zoom line search
(Liu & Nocedal 1989, "On the limited memory BFGS method for large scale
optimization"), run through the library's one step and loop
(``jaxphys.core.make_train_step`` on a ``TrainState`` carrying the optimiser,
``run_steps``) to a gradient-norm tolerance, all inside one jitted function.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.tree_utils as otu

from jaxphys._checks import (as_array, as_int, as_tolerance, check_finite, check_positive,
                             check_same_length, is_concrete)
from jaxphys.core import TrainState, make_train_step, run_steps
from jaxphys.linear._lstsq import _float_dtype

__all__ = ["LogisticFit", "logistic_regression", "logistic_predict_proba", "logistic_predict"]


class LogisticFit(NamedTuple):
    """Result of :func:`logistic_regression`.

    Attributes:
        weights: ``(d,)`` for binary, ``(d, C)`` for softmax regression (float).
        bias: ``()`` for binary, ``(C,)`` for softmax regression (float).
        n_iter: ``()`` int32, optimiser iterations (train steps) taken.
        converged: ``()`` bool, True if the gradient norm fell below ``tol``.
        loss: ``()`` float, the final objective (mean cross-entropy + L2 term).

    Built by hand (:func:`logistic_regression` returns one): ``p(1 | x) = σ(2x - 1)``,
    whose decision boundary is ``x = 0.5``.

    >>> import jax.numpy as jnp
    >>> from jaxphys.linear import LogisticFit, logistic_predict_proba
    >>> fit = LogisticFit(weights=jnp.array([2.0]), bias=jnp.array(-1.0), n_iter=jnp.array(0),
    ...                   converged=jnp.array(True), loss=jnp.array(0.0))
    >>> logistic_predict_proba(fit, jnp.array([[0.5], [100.0]])).tolist()
    [0.5, 1.0]
    """

    weights: jax.Array
    bias: jax.Array
    n_iter: jax.Array
    converged: jax.Array
    loss: jax.Array


def _logits(weights, bias, x):
    z = x @ weights
    return z + jnp.broadcast_to(bias, z.shape)


def _objective(params, x, y, l2, n_classes):
    weights, bias = params
    z = _logits(weights, bias, x)
    if n_classes == 2:
        ce = jax.nn.softplus(z) - y * z
    else:
        z_true = jnp.take_along_axis(z, y[:, None], axis=1)[:, 0]
        ce = jax.nn.logsumexp(z, axis=1) - z_true
    return jnp.mean(ce) + 0.5 * l2 * jnp.sum(weights * weights)


#: The default optimiser: one object, so that the jitted solver compiles once per shape.
_LBFGS = optax.lbfgs()
#: Steps per ``run_steps`` call between two convergence checks of the outer loop.
_CHUNK = 16


def _loss(l2, n_classes):
    """The loss contract ``loss_fn(params, batch, key) -> (objective, {})`` on
    ``batch = {'x': (n, d), 'y': (n,)}``, ``params = (weights, bias)``."""
    def loss_fn(params, batch, key):
        del key                                           # deterministic objective
        return _objective(params, batch["x"], batch["y"], l2, n_classes), {}
    return loss_fn


def _zero_params(d, n_classes, dtype):
    if n_classes == 2:
        return (jnp.zeros((d,), dtype), jnp.zeros((), dtype))
    return (jnp.zeros((d, n_classes), dtype), jnp.zeros((n_classes,), dtype))


@partial(jax.jit, static_argnames=("n_classes", "optimizer"))
def _fit_lbfgs(x, y, l2, n_classes, max_iter, tol, optimizer=_LBFGS):
    """Train steps from zero until ``‖∇L‖ < tol`` (at least one step) or ``max_iter`` steps.

    The step is ``make_train_step(loss)`` on a ``TrainState`` carrying ``optimizer``;
    once the stopping rule holds it leaves the state as it is, so ``state.step`` is the
    number of iterations. ``run_steps`` runs it in chunks of ``_CHUNK`` steps inside a
    ``lax.while_loop`` that stops after the chunk in which the rule first holds
    (``max_iter`` stays a traced argument)."""
    loss_fn = _loss(l2, n_classes)
    data = {"x": x, "y": y}
    train_step = make_train_step(loss_fn, jit=False)

    def grad_norm(params):
        return otu.tree_norm(jax.grad(lambda p: loss_fn(p, data, None)[0])(params))

    def finished(state):
        return (state.step >= max_iter) | ((state.step > 0) & (grad_norm(state.params) < tol))

    def step(state, batch, key):
        skip_metrics = jax.tree.map(lambda m: jnp.zeros(m.shape, m.dtype),
                                    jax.eval_shape(train_step, state, batch, key)[1])
        return jax.lax.cond(finished(state), lambda: (state, skip_metrics),
                            lambda: train_step(state, batch, key))

    def chunk(state):
        # full batch and a key-free loss: the loop's key has no effect
        return run_steps(step, state, data, jax.random.key(0), n_steps=_CHUNK)[0]

    state = TrainState.create(_zero_params(x.shape[1], n_classes, x.dtype), optimizer)
    state = jax.lax.while_loop(lambda s: ~finished(s), chunk, state)
    params = state.params
    return LogisticFit(weights=params[0], bias=params[1], n_iter=state.step.astype(jnp.int32),
                       converged=grad_norm(params) < tol, loss=loss_fn(params, data, None)[0])


def logistic_regression(X: Any, y: Any, *, n_classes: int = 2, l2: Any = 0.0,
                        max_iter: int = 500, tol: float = 1e-6,
                        optimizer: optax.GradientTransformation | None = None) -> LogisticFit:
    r"""Fit binary or softmax (multinomial) logistic regression by L-BFGS.

    Minimises the mean cross-entropy plus ``(l2/2)‖w‖²`` (intercept not
    penalised), see the module docstring for the formulas, from zero weights
    with ``optax.lbfgs`` (zoom line search): full-batch steps of
    ``jaxphys.core.make_train_step`` run by ``jaxphys.core.run_steps``, in one
    jitted call, until the gradient norm is below ``tol`` or ``max_iter`` steps.
    This is a convex solve to a tolerance, not a training run: it returns the
    solution (:class:`LogisticFit`), not a ``FitResult``.

    Relation to scikit-learn: ``LogisticRegression(C=1/(n·l2))`` (``C=inf``
    for ``l2=0``) minimises the same objective times ``n·C``; the optimum is
    the same. Without L2 on linearly separable data the optimum is at
    infinity and ``converged`` stays False.

    Args:
        X: ``(n, d)`` features, finite. Standardise them for fast convergence.
        y: ``(n,)`` integer class labels in ``[0, n_classes)`` (bool allowed
            for binary).
        n_classes: number of classes (Python int ≥ 2); 2 fits one weight
            vector with a sigmoid, ``C > 2`` a softmax with ``(d, C)`` weights.
        l2: ``()`` L2 strength ``≥ 0`` on the weights (traced: no recompile).
        max_iter: maximum number of L-BFGS iterations (traced).
        tol: gradient-norm tolerance (> 0).
        optimizer: an optax transformation to use instead of the default
            ``optax.lbfgs()`` (a first-order one may need many more iterations).
            The compiled solver is cached per optimiser object: reuse the object.

    Returns:
        :class:`LogisticFit` ``(weights, bias, n_iter, converged, loss)``;
        weights ``(d,)``/bias ``()`` for binary, ``(d, C)``/``(C,)`` for softmax.

    >>> import jax.numpy as jnp
    >>> X = jnp.array([[-2.0], [-1.0], [0.5], [1.0], [-0.5], [2.0]])
    >>> y = jnp.array([0, 0, 0, 1, 1, 1])
    >>> fit = logistic_regression(X, y, l2=0.1)
    >>> bool(fit.converged), fit.weights.shape
    (True, (1,))
    >>> logistic_predict(fit, X).tolist()
    [0, 0, 1, 1, 0, 1]
    """
    x = as_array(X, "X", ndim=2)
    labels = as_array(y, "y", ndim=1)
    check_same_length("X", x, "y", labels)
    if x.shape[0] == 0:
        raise ValueError("X: expected at least one example, got shape (0, d)")
    n_cls = as_int(n_classes, "n_classes", minimum=2)
    check_finite(x, "X")
    if is_concrete(labels):
        lab = np.asarray(labels)
        if lab.dtype != bool and not (np.issubdtype(lab.dtype, np.integer)
                                      or np.all(np.isfinite(lab) & (lab == np.round(lab)))):
            raise ValueError("y: expected integer class labels, got non-integer values")
        if lab.size and (lab.min() < 0 or lab.max() >= n_cls):
            raise ValueError(f"y: expected labels in [0, {n_cls}), got values in "
                             f"[{lab.min()}, {lab.max()}]")
    l2_arr = as_array(l2, "l2", ndim=0)
    check_finite(l2_arr, "l2")
    check_positive(l2_arr, "l2", strict=False)
    max_it = as_int(max_iter, "max_iter", minimum=1)
    tol_arr = as_tolerance(tol)
    if optimizer is None:
        optimizer = _LBFGS
    elif not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(f"optimizer: expected an optax.GradientTransformation (e.g. "
                        f"optax.lbfgs()), got {type(optimizer).__name__}")

    dtype = _float_dtype(x)
    x = x.astype(dtype)
    y_arr = labels.astype(dtype) if n_cls == 2 else labels.astype(jnp.int32)
    return _fit_lbfgs(x, y_arr, l2_arr.astype(dtype), n_cls,
                      jnp.asarray(max_it, jnp.int32), tol_arr.astype(dtype),
                      optimizer=optimizer)


def _check_fit_x(fit: LogisticFit, X: Any) -> jax.Array:
    if not isinstance(fit, LogisticFit):
        raise ValueError(f"fit: expected a LogisticFit, got {type(fit).__name__}")
    x = as_array(X, "X", ndim=(1, 2))
    d = fit.weights.shape[0]
    if x.shape[-1] != d:
        raise ValueError(f"X: expected {d} features in the last axis, got shape {tuple(x.shape)}")
    check_finite(x, "X")
    return x.astype(_float_dtype(x, fit.weights))


def logistic_predict_proba(fit: LogisticFit, X: Any) -> jax.Array:
    """Class probabilities of a fitted :class:`LogisticFit`.

    Binary: ``P(y = 1 | x) = σ(x·w + b)`` with shape ``()`` for ``X (d,)`` or
    ``(n,)`` for ``X (n, d)`` (scikit-learn's ``predict_proba(X)[:, 1]``).
    Softmax: ``softmax(x W + b)``, shape ``(C,)`` or ``(n, C)``.

    >>> import jax.numpy as jnp
    >>> fit = LogisticFit(weights=jnp.array([1.0]), bias=jnp.array(0.0), n_iter=jnp.array(0),
    ...                   converged=jnp.array(True), loss=jnp.array(0.0))
    >>> logistic_predict_proba(fit, jnp.array([[0.0], [100.0]])).tolist()
    [0.5, 1.0]
    """
    x = _check_fit_x(fit, X)
    z = _logits(fit.weights, fit.bias, x)
    if fit.weights.ndim == 1:
        return jax.nn.sigmoid(z)
    return jax.nn.softmax(z, axis=-1)


def logistic_predict(fit: LogisticFit, X: Any) -> jax.Array:
    """Predicted class labels (int32): ``P(y=1) > 0.5`` for binary, the arg-max class otherwise.

    Shape ``()`` for ``X (d,)``, ``(n,)`` for ``X (n, d)``.

    >>> import jax.numpy as jnp
    >>> fit = LogisticFit(weights=jnp.array([1.0]), bias=jnp.array(0.0), n_iter=jnp.array(0),
    ...                   converged=jnp.array(True), loss=jnp.array(0.0))
    >>> logistic_predict(fit, jnp.array([[-1.0], [2.0]])).tolist()
    [0, 1]
    """
    x = _check_fit_x(fit, X)
    z = _logits(fit.weights, fit.bias, x)
    if fit.weights.ndim == 1:
        return (z > 0).astype(jnp.int32)
    return jnp.argmax(z, axis=-1).astype(jnp.int32)
