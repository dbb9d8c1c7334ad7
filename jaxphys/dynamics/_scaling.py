r"""Neural scaling laws: sweeps over model or data size, fitted with power laws.

:func:`scaling_sweep` trains a family of models of growing size (or data) and records
the test loss; :func:`teacher_student_sweep` is the data-size sweep of a
teacher–student regression; :func:`kan_grid_scaling` the grid-size sweep of a KAN,
whose RMSE follows spline approximation theory, ``G^{-(k+1)}``. The curves are fitted
with :func:`fit_power_law` (``L = L∞ + a N^(−α)``).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys._checks import as_array, as_int, check_finite, check_key, check_positive
from jaxphys.core import (Model, TrainState, as_model, flat_optimizer, make_train_step,
                          resolve_optimizer, run_steps)
from jaxphys.nn import KAN, refine_grid

from ._power_law import PowerLawFit, fit_power_law

__all__ = ["ScalingSweep", "scaling_sweep", "teacher_student_sweep", "KANGridScaling",
           "kan_grid_scaling"]


# --------------------------------------------------------------------------- sweeps

class ScalingSweep(NamedTuple):
    """Result of :func:`scaling_sweep`.

    Fields:
      sizes: ``(S,)`` the sizes swept.
      curves: ``(S, n_seeds, n_eval)`` test loss at each evaluation of each run.
      min_test_loss: ``(S, n_seeds)`` minimum over the curve of each run.
      mean_min_test_loss: ``(S,)`` its mean over seeds.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxphys.dynamics import ScalingSweep, scaling_sweep
      >>> curve = lambda k, n: jnp.array([3.0, 1.0, 2.0]) / n    # loss at 3 evaluations
      >>> res = scaling_sweep(jax.random.key(0), curve, [1, 4])
      >>> isinstance(res, ScalingSweep), res.curves.shape, res.min_test_loss.tolist()
      (True, (2, 1, 3), [[1.0], [0.25]])
    """

    sizes: np.ndarray
    curves: np.ndarray
    min_test_loss: np.ndarray
    mean_min_test_loss: np.ndarray


def scaling_sweep(key: jax.Array, train_fn: Callable, sizes: Sequence[int], *, n_seeds: int = 1,
                  vmap_sizes: bool = False) -> ScalingSweep:
    """Train a family of models of growing size (or data) and record the minimum test loss.

    ``train_fn(key, size) -> test_losses`` trains one model and returns its test
    loss at ``n_eval`` evaluation points ``(n_eval,)`` (or a scalar). Seeds are always
    vmapped. With ``vmap_sizes=True`` ``size`` is passed as a traced int32 array and the
    sizes are vmapped too (shapes must not depend on it, e.g. a data-size sweep that
    masks a fixed-size data set); otherwise ``size`` is a Python int and each size is
    traced separately.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> fn = lambda k, n: jnp.stack([2.0 / n, 1.0 / n]) + 0.0 * jax.random.uniform(k)
      >>> scaling_sweep(jax.random.key(0), fn, [1, 2, 4], n_seeds=2).mean_min_test_loss.tolist()
      [1.0, 0.5, 0.25]
    """
    check_key(key)
    n_seeds = as_int(n_seeds, "n_seeds", minimum=1)
    sizes_arr = np.asarray([as_int(s, "sizes", minimum=1) for s in sizes])
    if sizes_arr.size < 1:
        raise ValueError("sizes: expected at least one size")
    keys = jax.random.split(key, (sizes_arr.size, n_seeds))
    if vmap_sizes:
        run = jax.jit(jax.vmap(jax.vmap(train_fn, (0, None)), (0, 0)))
        curves = np.asarray(run(keys, jnp.asarray(sizes_arr, jnp.int32)))
        curves = curves.reshape(sizes_arr.size, n_seeds, -1)
    else:
        out = []
        for s, k in zip(sizes_arr, keys):
            run = jax.jit(jax.vmap(lambda kk, s=int(s): train_fn(kk, s)))
            out.append(np.asarray(run(k)).reshape(n_seeds, -1))
        curves = np.stack(out)
    mins = np.nanmin(curves, axis=-1)
    return ScalingSweep(sizes_arr, curves, mins, mins.mean(axis=1))


def _mlp_init(key, dims, dtype):
    params = []
    for k, a, b in zip(jax.random.split(key, len(dims) - 1), dims[:-1], dims[1:]):
        params.append({"w": jax.random.normal(k, (a, b), dtype) / np.sqrt(a),
                       "b": jnp.zeros((b,), dtype)})
    return params


def _mlp(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"][None])
    return x @ params[-1]["w"] + params[-1]["b"][None]


def teacher_student_sweep(key: jax.Array, n_train: Sequence[int], *, d_in: int = 4,
                          teacher_width: int = 32, student_width: int = 64, n_steps: int = 2000,
                          learning_rate: float = 3e-3, n_test: int = 2048, n_seeds: int = 2,
                          n_eval: int = 20, optimizer: Any = None,
                          model: Any = None) -> ScalingSweep:
    r"""Data-size scaling of a teacher–student regression.

    A fixed random teacher, a one-hidden-layer tanh network of width
    ``teacher_width`` on ``x ~ N(0, I_{d_in})``, labels ``y = teacher(x)`` (no noise).
    A student, by default a tanh network of one hidden layer of width
    ``student_width``, is trained by full-batch Adam (``learning_rate``) on the first
    ``n`` of ``max(n_train)`` samples (a mask, so all data sizes and seeds run in one
    ``vmap``); test MSE on ``n_test`` fresh samples every ``n_steps / n_eval`` steps.
    Each run is :func:`jaxphys.core.run_steps` over ``make_train_step`` (``n_eval``
    chunks in a ``lax.scan``), vmapped over data sizes and seeds. The teacher is the
    same for every run (drawn from ``key``); students and data differ per seed.

    Args:
      optimizer: an optax transformation instead of ``optax.adam(learning_rate)``.
      model: the student instead of the default network: a flax module or
        ``jaxphys.core.Model`` mapping ``(n, d_in)`` to ``(n,)`` or ``(n, 1)`` (stateless).
      The others: as above.

    Example:
      >>> import jax
      >>> res = teacher_student_sweep(jax.random.key(0), [8, 64], d_in=2, teacher_width=4,
      ...                             student_width=8, n_steps=40, n_test=64, n_seeds=1,
      ...                             n_eval=2)
      >>> res.curves.shape
      (2, 1, 2)
    """
    check_key(key)
    n_eval = as_int(n_eval, "n_eval", minimum=1)
    n_steps = as_int(n_steps, "n_steps", minimum=n_eval)
    n_test = as_int(n_test, "n_test", minimum=1)
    n_seeds = as_int(n_seeds, "n_seeds", minimum=1)
    d_in = as_int(d_in, "d_in", minimum=1)
    teacher_width = as_int(teacher_width, "teacher_width", minimum=1)
    student_width = as_int(student_width, "student_width", minimum=1)
    lr = as_array(learning_rate, "learning_rate", ndim=0)
    check_finite(lr, "learning_rate")
    check_positive(lr, "learning_rate")
    n_max = max(int(n) for n in n_train)
    dtype = jnp.result_type(float)
    teacher_key, sweep_key = jax.random.split(key)
    teacher = _mlp_init(teacher_key, (d_in, teacher_width, 1), dtype)
    optimizer = (optax.adam(learning_rate) if optimizer is None
                 else resolve_optimizer(optimizer, "optimizer"))
    if model is None:
        student = Model(lambda k, x: _mlp_init(k, (d_in, student_width, 1), dtype), _mlp)
    else:
        student = as_model(model)

    def predict(params, x):
        out = student.apply(params, x)
        if out.shape not in ((x.shape[0],), (x.shape[0], 1)):
            raise ValueError(f"model: expected ({x.shape[0]},) or ({x.shape[0]}, 1) outputs "
                             f"for ({x.shape[0]}, {d_in}) inputs, got {out.shape}")
        return out.reshape(x.shape[0])

    def loss_fn(params, batch, key):
        del key
        err = (predict(params, batch["x"]) - batch["y"]) ** 2
        return jnp.sum(batch["mask"] * err) / jnp.sum(batch["mask"]), {}

    step = make_train_step(loss_fn, jit=False)

    def train_fn(k, n):
        data_key, test_key, init_key, loop_key = jax.random.split(k, 4)
        x = jax.random.normal(data_key, (n_max, d_in), dtype)
        xt = jax.random.normal(test_key, (n_test, d_in), dtype)
        data = {"x": x, "y": _mlp(teacher, x)[:, 0],
                "mask": (jnp.arange(n_max) < n).astype(dtype)}
        yt = _mlp(teacher, xt)[:, 0]
        state = TrainState.create(student.init(init_key, x[:1]), optimizer)

        def chunk(state, i):
            state, _ = run_steps(step, state, data, jax.random.fold_in(loop_key, i),
                                 n_steps=n_steps // n_eval)
            return state, jnp.mean((predict(state.params, xt) - yt) ** 2)

        _, curve = jax.lax.scan(chunk, state, jnp.arange(n_eval))
        return curve

    return scaling_sweep(sweep_key, train_fn, n_train, n_seeds=n_seeds, vmap_sizes=True)


# --------------------------------------------------------------------------- KAN grids

class KANGridScaling(NamedTuple):
    """Result of :func:`kan_grid_scaling`.

    Fields:
      grid_sizes: ``(S,)`` grid intervals ``G``.
      test_rmse: ``(S,)`` test RMSE after training at each ``G``.
      fit: :class:`PowerLawFit` of RMSE against ``G`` (theory: ``α = k + 1 = 4`` for
        cubic splines on a smooth target).

    Example (built by hand: :func:`kan_grid_scaling` trains a KAN per grid, which takes
    seconds; here the RMSE follows the theory, ``0.5 G^-4``, and so does the fit):
      >>> import numpy as np
      >>> from jaxphys.dynamics import KANGridScaling, PowerLawFit
      >>> g = np.array([4, 8, 16])
      >>> fit = PowerLawFit(l_inf=0.0, a=0.5, alpha=4.0, l_inf_ci=(0.0, 0.0), a_ci=(0.5, 0.5),
      ...                   alpha_ci=(4.0, 4.0), bootstrap=np.zeros((0, 3)), rss_log=0.0,
      ...                   level=0.9)
      >>> res = KANGridScaling(grid_sizes=g, test_rmse=0.5 * g ** -4.0, fit=fit)
      >>> float(res.test_rmse[0] / res.test_rmse[1]), res.fit.alpha   # halving h gains 2^4
      (16.0, 4.0)
    """

    grid_sizes: np.ndarray
    test_rmse: np.ndarray
    fit: PowerLawFit


def kan_grid_scaling(key: jax.Array, grid_sizes: Sequence[int] = (4, 8, 16, 32), *,
                     target: Callable | None = None, n_train: int = 1000, n_test: int = 1000,
                     n_lbfgs: int = 300, n_bootstrap: int = 500,
                     optimizer: Any = None) -> KANGridScaling:
    r"""Test RMSE of a ``(1, 1)`` cubic-spline KAN against its grid size ``G``, trained
    by grid extension (Liu et al. 2024): train on the coarsest grid with L-BFGS, then
    :func:`~jaxphys.nn.refine_grid` to the next ``G`` (least-squares transfer of the
    splines) and retrain, and so on. Each grid trains ``n_lbfgs`` full-batch steps of
    ``optimizer`` (default ``optax.lbfgs(memory_size=20)``, zoom line search; any optax
    transformation) through ``make_train_step`` and
    :func:`jaxphys.core.run_steps`.
    Spline approximation theory gives ``RMSE ∝ h^{k+1} = G^{-4}`` for a smooth target;
    the RMSE is fitted with :func:`fit_power_law` (``L∞ = 0``). Run under
    ``jax.enable_x64(True)``: at ``G = 32`` the RMSE is ~1e-7, near float32 rounding.

    ``target`` maps ``(n,)`` to ``(n,)`` on ``[-1, 1]`` (default ``exp(sin πx)``);
    train points are uniform random, test points a uniform grid.

    Example (a call trains one KAN per grid size with L-BFGS, seconds to minutes, so only
    the argument check runs here; a real run is ``kan_grid_scaling(key)`` under x64):
      >>> import jax
      >>> from jaxphys.dynamics import kan_grid_scaling
      >>> kan_grid_scaling(jax.random.key(0), grid_sizes=(8, 4))     # must grow
      Traceback (most recent call last):
      ...
      ValueError: grid_sizes: expected increasing sizes, got (8, 4)
    """
    check_key(key)
    n_lbfgs = as_int(n_lbfgs, "n_lbfgs", minimum=1)
    n_train = as_int(n_train, "n_train", minimum=1)
    n_test = as_int(n_test, "n_test", minimum=1)
    n_bootstrap = as_int(n_bootstrap, "n_bootstrap", minimum=1)
    optimizer = (flat_optimizer(optax.lbfgs(memory_size=20)) if optimizer is None
                 else resolve_optimizer(optimizer, "optimizer"))
    grids = [as_int(g, "grid_sizes", minimum=1) for g in grid_sizes]
    if sorted(grids) != grids or len(set(grids)) != len(grids):
        raise ValueError(f"grid_sizes: expected increasing sizes, got {tuple(grid_sizes)}")
    if len(grids) < 3:
        raise ValueError(f"grid_sizes: expected at least 3 sizes for the power-law fit, got "
                         f"{tuple(grid_sizes)}")
    target = (lambda x: jnp.exp(jnp.sin(jnp.pi * x))) if target is None else target
    dtype = jnp.result_type(float)
    data_key, init_key, boot_key, train_key = jax.random.split(key, 4)
    x = jax.random.uniform(data_key, (n_train, 1), dtype, -1.0, 1.0)
    y = target(x[:, 0])
    xt = jnp.linspace(-1.0, 1.0, n_test, dtype=dtype)[:, None]
    yt = target(xt[:, 0])
    kan = KAN.create((1, 1), grid_size=grids[0])
    params = kan.init(init_key, x[:1])
    rmse = []
    for g, grid_key in zip(grids, jax.random.split(train_key, len(grids))):
        if g != kan.grid_size:
            kan, params = refine_grid(kan, params, g)

        def loss(p, batch, k, kan=kan):
            return jnp.mean((kan.apply(p, batch["x"])[:, 0] - batch["y"]) ** 2), {}

        state, _ = run_steps(make_train_step(loss, deterministic_loss=True, jit=False),
                             TrainState.create(params, optimizer), {"x": x, "y": y}, grid_key,
                             n_steps=n_lbfgs)
        params = state.params
        rmse.append(float(jnp.sqrt(jnp.mean((kan.apply(params, xt)[:, 0] - yt) ** 2))))
    rmse = np.asarray(rmse)
    fit = fit_power_law(np.asarray(grids, float), rmse, key=boot_key, n_bootstrap=n_bootstrap,
                        with_floor=False)
    return KANGridScaling(np.asarray(grids), rmse, fit)
