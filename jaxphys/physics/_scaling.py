r"""Neural scaling laws: sweeps over model or data size and power-law fits with bootstrap CIs.

The fitted law is

    L(N) = L∞ + a · N^(−α),

with ``N`` the model size (parameters, grid intervals) or the data size. The fit
minimises the squared *log* residuals ``Σ_i (log L_i − log L(N_i))²`` (losses
usually span decades, so errors are relative). For fixed ``α`` the model is linear
in ``(L∞, a)``; with weights ``1/L_i`` (the linearisation of the log residual) the
pair has a closed form, with ``L∞ ≥ 0`` enforced. ``α`` is found on a log-spaced
grid and refined by golden-section search on the exact log objective; everything
is jittable, so bootstrap refits run under ``vmap``.

Confidence intervals: residual bootstrap (default; the centred log residuals of
the fit are resampled with replacement and put back on the fitted curve,
``L*_i = L(N_i) · exp(r*_i)``, residuals inflated by ``√(n/(n−p))`` for the ``p``
fitted parameters) or pairs bootstrap (``(N_i, L_i)`` rows
resampled), percentile intervals at ``level``.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, check_positive

__all__ = ["PowerLawFit", "fit_power_law", "power_law", "SweepResult", "sweep",
           "teacher_student_sweep", "KANGridScaling", "kan_grid_scaling"]

_GOLDEN = 0.5 * (np.sqrt(5.0) - 1.0)


def power_law(n: Any, l_inf: Any, a: Any, alpha: Any) -> jax.Array:
    """``L∞ + a · n^(−α)``.

    Example:
      >>> round(float(power_law(4.0, 0.1, 2.0, 0.5)), 6)
      1.1
    """
    return l_inf + a * jnp.asarray(n) ** (-alpha)


def _linear_pair(x, y, w2, with_floor):
    """Weighted LS of ``y ≈ c + a x`` (weights² ``w2``), ``c ≥ 0``; ``c = 0`` if not
    ``with_floor``. Returns ``(c, a)``."""
    sw, sx, sy = jnp.sum(w2), jnp.sum(w2 * x), jnp.sum(w2 * y)
    sxx, sxy = jnp.sum(w2 * x * x), jnp.sum(w2 * x * y)
    det = sw * sxx - sx ** 2
    c = (sxx * sy - sx * sxy) / det
    a = (sw * sxy - sx * sy) / det
    a0 = sxy / sxx                                           # c = 0
    use_zero = (c < 0) | ~jnp.isfinite(c)
    if not with_floor:
        use_zero = jnp.ones_like(use_zero)
    return jnp.where(use_zero, 0.0, c), jnp.where(use_zero, a0, a)


def _fit_one(log_n, y, wts, alpha_grid, with_floor):
    """Fit one data set; ``wts`` (n,) multiplicities (bootstrap) or ones."""
    log_y = jnp.log(y)

    def params_at(alpha):
        x = jnp.exp(-alpha * log_n)
        return _linear_pair(x, y, wts / y ** 2, with_floor)

    def objective(alpha):
        c, a = params_at(alpha)
        pred = c + a * jnp.exp(-alpha * log_n)
        r = log_y - jnp.log(jnp.maximum(pred, jnp.finfo(y.dtype).tiny))
        return jnp.where(jnp.all(pred > 0), jnp.sum(wts * r ** 2), jnp.inf)

    obj = jax.vmap(objective)(alpha_grid)
    k = jnp.argmin(obj)
    lo = alpha_grid[jnp.maximum(k - 1, 0)]
    hi = alpha_grid[jnp.minimum(k + 1, alpha_grid.shape[0] - 1)]

    def golden(_, ab):
        a_, b_ = ab
        c1 = b_ - _GOLDEN * (b_ - a_)
        c2 = a_ + _GOLDEN * (b_ - a_)
        left = objective(c1) < objective(c2)
        return jnp.where(left, a_, c1), jnp.where(left, c2, b_)

    lo, hi = jax.lax.fori_loop(0, 60, golden, (lo, hi))
    alpha = 0.5 * (lo + hi)
    c, a = params_at(alpha)
    return jnp.stack([c, a, alpha]), objective(alpha)


class PowerLawFit(NamedTuple):
    """A fit of ``L = L∞ + a N^(−α)``.

    Fields:
      l_inf, a, alpha: best-fit values (floats).
      l_inf_ci, a_ci, alpha_ci: ``(lo, hi)`` percentile bootstrap intervals at ``level``.
      bootstrap: ``(n_bootstrap, 3)`` refits, columns ``(L∞, a, α)``.
      rss_log: sum of squared log residuals of the best fit.
      level: the interval's confidence level.
    """

    l_inf: float
    a: float
    alpha: float
    l_inf_ci: tuple
    a_ci: tuple
    alpha_ci: tuple
    bootstrap: np.ndarray
    rss_log: float
    level: float

    def predict(self, n: Any) -> jax.Array:
        return power_law(n, self.l_inf, self.a, self.alpha)


def fit_power_law(sizes: Any, losses: Any, *, key: jax.Array | None = None,
                  n_bootstrap: int = 1000, level: float = 0.9, method: str = "residual",
                  with_floor: bool = True, alpha_range: tuple = (1e-3, 20.0)) -> PowerLawFit:
    r"""Fit ``L = L∞ + a·N^(−α)`` to ``(sizes, losses)`` with bootstrap intervals.

    Args:
      sizes: ``(n,)`` positive sizes ``N`` (at least 3 distinct; 4 with ``with_floor``).
      losses: ``(n,)`` positive losses.
      key: PRNG key for the bootstrap (``None``: ``jax.random.key(0)``).
      n_bootstrap: number of bootstrap refits (vmapped).
      level: confidence level of the percentile intervals.
      method: ``"residual"`` or ``"pairs"`` bootstrap.
      with_floor: fit ``L∞ ≥ 0``; ``False`` fixes ``L∞ = 0`` (a pure power law).
      alpha_range: search interval for ``α``.

    Example:
      >>> import jax.numpy as jnp
      >>> n = jnp.array([10.0, 30.0, 100.0, 300.0, 1000.0])
      >>> fit = fit_power_law(n, 0.05 + 3.0 * n ** -0.7, n_bootstrap=50)
      >>> round(fit.alpha, 3), round(fit.l_inf, 4)
      (0.7, 0.05)
    """
    sizes = as_array(sizes, "sizes", ndim=1)
    losses = as_array(losses, "losses", ndim=1)
    if sizes.shape != losses.shape:
        raise ValueError(f"losses: expected shape {tuple(sizes.shape)} (one per size), got "
                         f"{tuple(losses.shape)}")
    check_finite(sizes, "sizes")
    check_finite(losses, "losses")
    check_positive(sizes, "sizes")
    check_positive(losses, "losses")
    need = 4 if with_floor else 3
    if np.unique(np.asarray(sizes)).size < need:
        raise ValueError(f"sizes: expected at least {need} distinct sizes, got "
                         f"{np.unique(np.asarray(sizes)).size}")
    check_in(method, "method", ("residual", "pairs"))
    n_bootstrap = as_int(n_bootstrap, "n_bootstrap", minimum=1)
    if not 0.0 < float(level) < 1.0:
        raise ValueError(f"level: expected a value in (0, 1), got {level}")
    key = jax.random.key(0) if key is None else key
    check_key(key)
    dtype = jnp.result_type(float)
    log_n = jnp.log(sizes.astype(dtype))
    y = losses.astype(dtype)
    grid = jnp.exp(jnp.linspace(np.log(alpha_range[0]), np.log(alpha_range[1]), 400)).astype(dtype)
    best, rss = _fit_jit(log_n, y, jnp.ones_like(y), grid, with_floor)
    boot = np.asarray(_bootstrap(key, log_n, y, best, grid, n_bootstrap, method, with_floor))
    boot = boot[np.all(np.isfinite(boot), axis=1)]
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    cis = [tuple(float(v) for v in np.percentile(boot[:, j], q)) for j in range(3)]
    c, a, alpha = (float(v) for v in best)
    return PowerLawFit(c, a, alpha, cis[0], cis[1], cis[2], boot, float(rss), float(level))


@jax.jit(static_argnums=4)
def _fit_jit(log_n, y, wts, grid, with_floor):
    return _fit_one(log_n, y, wts, grid, with_floor)


@jax.jit(static_argnums=(5, 6, 7))
def _bootstrap(key, log_n, y, best, grid, n_bootstrap, method, with_floor):
    n = y.shape[0]
    fitted = best[0] + best[1] * jnp.exp(-best[2] * log_n)
    resid = jnp.log(y) - jnp.log(fitted)
    n_par = 3 if with_floor else 2                # inflate for the fitted parameters
    resid = (resid - jnp.mean(resid)) * jnp.sqrt(n / max(n - n_par, 1))

    def one(k):
        idx = jax.random.randint(k, (n,), 0, n)
        if method == "residual":
            y_star = fitted * jnp.exp(resid[idx])
            return _fit_one(log_n, y_star, jnp.ones_like(y), grid, with_floor)[0]
        counts = jnp.zeros((n,), y.dtype).at[idx].add(1.0)    # pairs: multiplicities
        return _fit_one(log_n, y, counts, grid, with_floor)[0]

    return jax.vmap(one)(jax.random.split(key, n_bootstrap))


# --------------------------------------------------------------------------- sweeps

class SweepResult(NamedTuple):
    """Result of :func:`sweep`.

    Fields:
      sizes: ``(S,)`` the sizes swept.
      curves: ``(S, n_seeds, n_eval)`` test loss at each evaluation of each run.
      min_test_loss: ``(S, n_seeds)`` minimum over the curve of each run.
      mean_min_test_loss: ``(S,)`` its mean over seeds.
    """

    sizes: np.ndarray
    curves: np.ndarray
    min_test_loss: np.ndarray
    mean_min_test_loss: np.ndarray


def sweep(key: jax.Array, train_fn: Callable, sizes: Sequence[int], *, n_seeds: int = 1,
          vmap_sizes: bool = False) -> SweepResult:
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
      >>> sweep(jax.random.key(0), fn, [1, 2, 4], n_seeds=2).mean_min_test_loss.tolist()
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
    return SweepResult(sizes_arr, curves, mins, mins.mean(axis=1))


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
                          n_eval: int = 20) -> SweepResult:
    r"""Data-size scaling of a teacher–student regression.

    A fixed random teacher, a one-hidden-layer tanh network of width
    ``teacher_width`` on ``x ~ N(0, I_{d_in})``, labels ``y = teacher(x)`` (no noise).
    A tanh student of width ``student_width`` is trained by full-batch Adam on the
    first ``n`` of ``max(n_train)`` samples (a mask, so all data sizes and seeds run in
    one ``vmap``); test MSE on ``n_test`` fresh samples every ``n_steps / n_eval`` steps.
    The teacher is the same for every run (drawn from ``key``); students and data
    differ per seed.
    """
    check_key(key)
    n_steps = as_int(n_steps, "n_steps", minimum=n_eval)
    n_max = max(int(n) for n in n_train)
    dtype = jnp.result_type(float)
    teacher_key, sweep_key = jax.random.split(key)
    teacher = _mlp_init(teacher_key, (d_in, teacher_width, 1), dtype)
    lr = jnp.asarray(learning_rate, dtype)
    import optax

    def train_fn(k, n):
        data_key, test_key, init_key = jax.random.split(k, 3)
        x = jax.random.normal(data_key, (n_max, d_in), dtype)
        y = _mlp(teacher, x)[:, 0]
        xt = jax.random.normal(test_key, (n_test, d_in), dtype)
        yt = _mlp(teacher, xt)[:, 0]
        mask = (jnp.arange(n_max) < n).astype(dtype)
        params = _mlp_init(init_key, (d_in, student_width, 1), dtype)
        opt = optax.adam(lr)

        def loss(p):
            return jnp.sum(mask * (_mlp(p, x)[:, 0] - y) ** 2) / jnp.sum(mask)

        def inner(carry, _):
            p, s = carry
            g = jax.grad(loss)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), None

        def outer(carry, _):
            carry, _ = jax.lax.scan(inner, carry, None, length=n_steps // n_eval)
            return carry, jnp.mean((_mlp(carry[0], xt)[:, 0] - yt) ** 2)

        _, curve = jax.lax.scan(outer, (params, opt.init(params)), None, length=n_eval)
        return curve

    return sweep(sweep_key, train_fn, n_train, n_seeds=n_seeds, vmap_sizes=True)


# --------------------------------------------------------------------------- KAN grids

class KANGridScaling(NamedTuple):
    """Result of :func:`kan_grid_scaling`.

    Fields:
      grid_sizes: ``(S,)`` grid intervals ``G``.
      test_rmse: ``(S,)`` test RMSE after training at each ``G``.
      fit: :class:`PowerLawFit` of RMSE against ``G`` (theory: ``α = k + 1 = 4`` for
        cubic splines on a smooth target).
    """

    grid_sizes: np.ndarray
    test_rmse: np.ndarray
    fit: PowerLawFit


def kan_grid_scaling(key: jax.Array, grid_sizes: Sequence[int] = (4, 8, 16, 32), *,
                     target: Callable | None = None, n_train: int = 1000, n_test: int = 1000,
                     n_lbfgs: int = 300, n_bootstrap: int = 500) -> KANGridScaling:
    r"""Test RMSE of a ``(1, 1)`` cubic-spline KAN against its grid size ``G``, trained
    by grid extension (Liu et al. 2024): train on the coarsest grid with L-BFGS, then
    :func:`~jaxphys.nn.refine_grid` to the next ``G`` (least-squares transfer of the
    splines) and retrain, and so on. Spline approximation theory gives
    ``RMSE ∝ h^{k+1} = G^{-4}`` for a smooth target; the RMSE is fitted with
    :func:`fit_power_law` (``L∞ = 0``). Run under ``jax.enable_x64(True)``: at
    ``G = 32`` the RMSE is ~1e-7, near float32 rounding.

    ``target`` maps ``(n,)`` to ``(n,)`` on ``[-1, 1]`` (default ``exp(sin πx)``);
    train points are uniform random, test points a uniform grid.
    """
    from jaxphys.nn._kan import KAN, refine_grid, train_lbfgs

    check_key(key)
    grids = [as_int(g, "grid_sizes", minimum=1) for g in grid_sizes]
    if sorted(grids) != grids or len(set(grids)) != len(grids):
        raise ValueError(f"grid_sizes: expected increasing sizes, got {tuple(grid_sizes)}")
    target = (lambda x: jnp.exp(jnp.sin(jnp.pi * x))) if target is None else target
    dtype = jnp.result_type(float)
    data_key, init_key, boot_key = jax.random.split(key, 3)
    x = jax.random.uniform(data_key, (n_train, 1), dtype, -1.0, 1.0)
    y = target(x[:, 0])
    xt = jnp.linspace(-1.0, 1.0, n_test, dtype=dtype)[:, None]
    yt = target(xt[:, 0])
    kan = KAN.create((1, 1), grid_size=grids[0])
    params = kan.init(init_key, x[:1])
    rmse = []
    for g in grids:
        if g != kan.grid_size:
            kan, params = refine_grid(kan, params, g)

        def loss(p, batch, kan=kan):
            return jnp.mean((kan.apply(p, batch[0])[:, 0] - batch[1]) ** 2)

        params = train_lbfgs(loss, params, (x, y), n_lbfgs).params
        rmse.append(float(jnp.sqrt(jnp.mean((kan.apply(params, xt)[:, 0] - yt) ** 2))))
    rmse = np.asarray(rmse)
    fit = fit_power_law(np.asarray(grids, float), rmse, key=boot_key, n_bootstrap=n_bootstrap,
                        with_floor=False)
    return KANGridScaling(np.asarray(grids), rmse, fit)
