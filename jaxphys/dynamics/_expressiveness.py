"""Universal approximation and expressiveness: error against width, depth and parameters.

One hidden layer of width ``W`` with a non-polynomial activation approximates
any continuous function on a compact set as ``W → ∞`` (the universal
approximation theorem); the fitted error of a 1-D target falls with ``W``.
At a fixed number of parameters, depth trades width for composition: deeper
networks can represent functions with many more linear pieces (ReLU) or
oscillations per parameter, though they are harder to train.

:func:`width_sweep` and :func:`depth_sweep` train ``MLP``\\ s by full-batch
Adam through the library's one step and loop (``jaxphys.core.make_train_step`` and
``run_steps``, vmapped over seeds, and over widths where the shapes allow) and
report the train and test mean squared errors with the parameter count.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys._checks import (as_array, as_int, check_finite, check_key, check_positive,
                             check_same_length)
from jaxphys.core import TrainState, make_train_step, run_steps
from jaxphys.nn import MLP, get_activation

__all__ = ["ArchitectureSweep", "mlp_param_count", "width_for_budget", "width_sweep",
           "depth_sweep", "fit_mlp_seeds"]


class ArchitectureSweep(NamedTuple):
    """Errors of MLP fits over a sweep of architectures.

    Fields:
        widths: ``(K,)`` int, hidden width of each configuration.
        depths: ``(K,)`` int, number of hidden layers.
        n_params: ``(K,)`` int, trainable parameters (weights and biases).
        train_mse: ``(K, n_seeds)`` float, final mean squared error on the training set.
        test_mse: ``(K, n_seeds)`` float, mean squared error on the test set.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> from jaxphys.dynamics import ArchitectureSweep, depth_sweep
        >>> x = jnp.linspace(-1, 1, 16)
        >>> res = depth_sweep(jax.random.key(0), x, jnp.sin(3 * x), x, jnp.sin(3 * x), [2],
        ...                   60, n_seeds=1, n_steps=10)     # two hidden layers, ~60 params
        >>> isinstance(res, ArchitectureSweep), res.depths.tolist(), res.train_mse.shape
        (True, [2], (1, 1))
        >>> bool(np.allclose(res.test_mse, res.train_mse))   # tested on the training points
        True
    """

    widths: np.ndarray
    depths: np.ndarray
    n_params: np.ndarray
    train_mse: np.ndarray
    test_mse: np.ndarray


def mlp_param_count(d_in: int, widths: Sequence[int]) -> int:
    """Weights and biases of ``MLP(widths)`` on ``d_in`` inputs: ``Σ (n_{l-1} + 1) n_l``.

    >>> mlp_param_count(1, (10, 1))              # 10 + 10 weights/biases in, 10 + 1 out
    31
    """
    sizes = [as_int(d_in, "d_in", minimum=1)] + [as_int(w, "widths", minimum=1) for w in widths]
    return int(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))


def width_for_budget(depth: int, n_params: int, d_in: int = 1, d_out: int = 1) -> int:
    """The hidden width ``W`` (same for every layer) whose MLP with ``depth`` hidden layers
    has the parameter count closest to ``n_params``.

    >>> w = width_for_budget(3, 1000)
    >>> w, mlp_param_count(1, (w, w, w, 1))
    (21, 988)
    """
    depth = as_int(depth, "depth", minimum=1)
    budget = as_int(n_params, "n_params", minimum=1)
    d_in = as_int(d_in, "d_in", minimum=1)
    d_out = as_int(d_out, "d_out", minimum=1)
    best, best_gap = 1, None
    for w in range(1, budget + 1):
        count = mlp_param_count(d_in, (w,) * depth + (d_out,))
        gap = abs(count - budget)
        if best_gap is None or gap < best_gap:
            best, best_gap = w, gap
        if count > budget:
            break
    return best


def _mse(apply):
    """The loss contract for ``apply(params, x) -> (N,)`` on ``batch = {'x', 'y'}``."""
    def loss_fn(params, batch, key):
        del key                                          # deterministic model
        return jnp.mean((apply(params, batch["x"]) - batch["y"]) ** 2), {}
    return loss_fn


def _train_full_batch(loss_fn, params, data, learning_rate, n_steps):
    """``n_steps`` of full-batch Adam (``learning_rate`` traced) by ``run_steps``; returns
    the trained params.

    The loss ignores its key and every step sees all of ``data``, so the loop's key
    has no effect on the result: a fixed one is used (the caller's keys go to the
    initialisations only)."""
    state = TrainState.create(params, optax.adam(learning_rate))
    state, _ = run_steps(make_train_step(loss_fn, jit=False), state, data, jax.random.key(0),
                         n_steps=n_steps)
    return state.params


@partial(jax.jit, static_argnames=("widths", "activation", "n_steps"))
def _fit_seeds(keys, x_train, y_train, x_test, y_test, learning_rate, *, widths, activation,
               n_steps):
    model = MLP(widths=widths, activation=activation)
    loss_fn = _mse(lambda p, x: model.apply({"params": p}, x)[:, 0])
    train, test = {"x": x_train, "y": y_train}, {"x": x_test, "y": y_test}

    def one_seed(key):
        params = model.init(key, x_train[:1])["params"]
        params = _train_full_batch(loss_fn, params, train, learning_rate, n_steps)
        return loss_fn(params, train, None)[0], loss_fn(params, test, None)[0]

    return jax.vmap(one_seed)(keys)


def _masked_net(key, width, w_max, d_in, dtype, activation):
    """``(params, apply)`` of one hidden layer of (traced) ``width`` inside a width-``w_max``
    one: hidden units ``≥ width`` are masked out; ``apply(params, x (N, d_in)) -> (N,)``."""
    act = get_activation(activation)
    init = jax.nn.initializers.lecun_normal()
    mask = (jnp.arange(w_max) < width).astype(dtype)
    k1, k2 = jax.random.split(key)
    w1 = init(k1, (d_in, w_max), dtype) * mask[None, :]
    # LeCun normal for fan-in W: the fan-in-w_max draw rescaled by sqrt(w_max / W)
    w2 = init(k2, (w_max, 1), dtype) * jnp.sqrt(w_max / width) * mask[:, None]
    params = {"w1": w1, "b1": jnp.zeros((w_max,), dtype), "w2": w2,
              "b2": jnp.zeros((1,), dtype)}

    def apply(p, x):
        hidden = act(x @ p["w1"] + p["b1"][None, :]) * mask[None, :]
        return (hidden @ p["w2"] + p["b2"][None, :])[:, 0]

    return params, apply


@partial(jax.jit, static_argnames=("w_max", "activation", "n_steps"))
def _fit_widths(keys, widths, x_train, y_train, x_test, y_test, learning_rate, *, w_max,
                activation, n_steps):
    """One hidden layer of every width at once: each width-``W`` network is a width-``w_max``
    one whose hidden units ``≥ W`` are masked out. Masked units get zero gradients, hence
    zero Adam updates, so each fit equals training the width-``W`` network alone;
    the output weights are drawn with ``MLP``'s LeCun-normal scale ``1/√W``.
    ``keys (K, S)``, ``widths (K,)`` → ``(train, test)`` each ``(K, S)``."""
    train, test = {"x": x_train, "y": y_train}, {"x": x_test, "y": y_test}

    def one(key, width):
        params, apply = _masked_net(key, width, w_max, x_train.shape[1], x_train.dtype,
                                    activation)
        loss_fn = _mse(apply)
        params = _train_full_batch(loss_fn, params, train, learning_rate, n_steps)
        return loss_fn(params, train, None)[0], loss_fn(params, test, None)[0]

    per_width = jax.vmap(one, in_axes=(0, None))                # over seeds
    return jax.vmap(per_width, in_axes=(0, 0))(keys, widths)    # over widths


def _prepare(key, x_train, y_train, x_test, y_test, n_seeds, n_steps, learning_rate, activation):
    check_key(key)
    xs = []
    for name, x in (("x_train", x_train), ("x_test", x_test)):
        x = as_array(x, name, ndim=(1, 2))
        xs.append(x[:, None] if x.ndim == 1 else x)
    ytr = as_array(y_train, "y_train", ndim=1)
    yte = as_array(y_test, "y_test", ndim=1)
    check_same_length("x_train", xs[0], "y_train", ytr)
    check_same_length("x_test", xs[1], "y_test", yte)
    if xs[0].shape[1] != xs[1].shape[1]:
        raise ValueError(f"x_test: expected {xs[0].shape[1]} input dimensions like x_train, "
                         f"got {xs[1].shape[1]}")
    for name, v in (("x_train", xs[0]), ("y_train", ytr), ("x_test", xs[1]), ("y_test", yte)):
        check_finite(v, name)
    seeds = as_int(n_seeds, "n_seeds", minimum=1)
    steps = as_int(n_steps, "n_steps", minimum=1)
    lr = as_array(learning_rate, "learning_rate", ndim=0)
    check_finite(lr, "learning_rate")
    check_positive(lr, "learning_rate")
    get_activation(activation)
    dtype = jnp.result_type(xs[0], ytr, float)
    return ([a.astype(dtype) for a in (xs[0], ytr, xs[1], yte)], seeds, steps, lr.astype(dtype))


def fit_mlp_seeds(key: jax.Array, x_train: Any, y_train: Any, x_test: Any, y_test: Any,
                  widths: Sequence[int], *, n_seeds: int = 3, n_steps: int = 2000,
                  learning_rate: Any = 0.01, activation: str = "tanh"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``MLP(widths)`` (last width 1) by full-batch Adam from ``n_seeds`` initialisations.

    Returns ``(train_mse, test_mse)``, each ``(n_seeds,)``; one jitted call.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> from jaxphys.dynamics import fit_mlp_seeds
        >>> x = jnp.linspace(-1, 1, 16)[:, None]
        >>> train, test = fit_mlp_seeds(jax.random.key(0), x, jnp.sin(3 * x[:, 0]), x,
        ...                             jnp.sin(3 * x[:, 0]), (6, 6, 1), n_seeds=1, n_steps=10)
        >>> train.shape, bool(np.allclose(test, train))      # tested on the training points
        ((1,), True)
    """
    data, seeds, steps, lr = _prepare(key, x_train, y_train, x_test, y_test, n_seeds, n_steps,
                                      learning_rate, activation)
    widths = tuple(as_int(w, "widths", minimum=1) for w in widths)
    if not widths or widths[-1] != 1:
        raise ValueError(f"widths: expected hidden widths followed by the output width 1, got "
                         f"{widths}")
    train, test = _fit_seeds(jax.random.split(key, seeds), *data, lr, widths=widths,
                             activation=activation, n_steps=steps)
    return np.asarray(train), np.asarray(test)


def _sweep(key, configs, data_args, n_seeds, n_steps, learning_rate, activation):
    data, seeds, steps, lr = _prepare(key, *data_args, n_seeds, n_steps, learning_rate,
                                      activation)
    d_in = data[0].shape[1]
    trains, tests = [], []
    for i, (width, depth) in enumerate(configs):
        keys = jax.random.split(jax.random.fold_in(key, i), seeds)
        train, test = _fit_seeds(keys, *data, lr, widths=(width,) * depth + (1,),
                                 activation=activation, n_steps=steps)
        trains.append(np.asarray(train))
        tests.append(np.asarray(test))
    widths = np.array([w for w, _ in configs])
    depths = np.array([d for _, d in configs])
    n_params = np.array([mlp_param_count(d_in, (w,) * d + (1,)) for w, d in configs])
    return ArchitectureSweep(widths, depths, n_params, np.stack(trains), np.stack(tests))


def width_sweep(key: jax.Array, x_train: Any, y_train: Any, x_test: Any, y_test: Any,
                widths: Sequence[int], *, n_seeds: int = 3, n_steps: int = 2000,
                learning_rate: Any = 0.01, activation: str = "tanh") -> ArchitectureSweep:
    r"""Fit one hidden layer of each width in ``widths``; error against width.

    Every width and seed trains in one jitted call (vmapped over widths and
    initialisations; a width-``W`` network is the widest one with the hidden units
    beyond ``W`` masked out, which leaves its training exactly that of the
    width-``W`` network): ``n_steps`` of full-batch Adam on the mean squared error.
    Initialisation as ``jaxphys.nn.MLP`` (LeCun-normal weights, zero biases).

    Args:
        key: PRNG key, split into one key per width and seed.
        x_train, y_train: ``(N,)`` or ``(N, d)`` inputs and ``(N,)`` targets.
        x_test, y_test: held-out points of the same target.
        widths: hidden widths ``W`` (ints ≥ 1).
        n_seeds, n_steps, learning_rate, activation: training set-up.

    Returns:
        :class:`ArchitectureSweep` (``depths`` all 1, ``n_params = (d + 2) W + 1``).

    >>> x = jnp.linspace(-1, 1, 16)
    >>> res = width_sweep(jax.random.key(0), x, jnp.sin(3 * x), x, jnp.sin(3 * x), [8],
    ...                   n_seeds=2, n_steps=300, learning_rate=0.05)
    >>> res.n_params.tolist(), res.test_mse.shape, bool(res.test_mse.max() < 0.05)
    ([25], (1, 2), True)
    """
    ws = [as_int(w, "widths", minimum=1) for w in widths]
    if not ws:
        raise ValueError("widths: expected at least one width, got none")
    data, seeds, steps, lr = _prepare(key, x_train, y_train, x_test, y_test, n_seeds, n_steps,
                                      learning_rate, activation)
    keys = jax.random.split(key, (len(ws), seeds))
    train, test = _fit_widths(keys, jnp.asarray(ws), *data, lr, w_max=max(ws),
                              activation=activation, n_steps=steps)
    d_in = data[0].shape[1]
    return ArchitectureSweep(np.asarray(ws), np.ones(len(ws), int),
                       np.array([mlp_param_count(d_in, (w, 1)) for w in ws]),
                       np.asarray(train), np.asarray(test))


def depth_sweep(key: jax.Array, x_train: Any, y_train: Any, x_test: Any, y_test: Any,
                depths: Sequence[int], n_params: int, *, n_seeds: int = 3, n_steps: int = 2000,
                learning_rate: Any = 0.01, activation: str = "tanh") -> ArchitectureSweep:
    r"""Fit MLPs of each depth at (about) a fixed parameter count; error against depth.

    Depth ``L`` gets ``L`` hidden layers of the width :func:`width_for_budget` gives
    for ``n_params``; the actual counts are in the result's ``n_params``.

    >>> x = jnp.linspace(-1, 1, 16)
    >>> res = depth_sweep(jax.random.key(0), x, jnp.sin(3 * x), x, jnp.sin(3 * x), [2],
    ...                   60, n_seeds=1, n_steps=10)
    >>> res.widths.tolist(), res.n_params.tolist()
    ([6], [61])
    """
    ds = [as_int(d, "depths", minimum=1) for d in depths]
    if not ds:
        raise ValueError("depths: expected at least one depth, got none")
    budget = as_int(n_params, "n_params", minimum=4)
    xtr = as_array(x_train, "x_train", ndim=(1, 2))
    d_in = 1 if xtr.ndim == 1 else xtr.shape[1]
    configs = [(width_for_budget(d, budget, d_in), d) for d in ds]
    return _sweep(key, configs, (x_train, y_train, x_test, y_test), n_seeds, n_steps,
                  learning_rate, activation)
