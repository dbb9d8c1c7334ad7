"""Optimiser trajectories on two-parameter loss landscapes, and the step-size lesson.

Landscapes are pure functions ``loss(theta (2,)) -> ()``:

* :func:`ill_conditioned_quadratic` — ``½(θ₁² + κ θ₂²)``, condition number κ;
* :func:`rosenbrock` — the curved valley ``(a − θ₁)² + b (θ₂ − θ₁²)²``;
* :func:`chi2_line` — χ²(slope, intercept) of a straight-line fit to data;
* :func:`gaussian_wells` — three Gaussian wells in a weak bowl: three minima,
  one of them global.

:class:`Landscape` bundles a loss with its minima and a plotting window
(:func:`quadratic_landscape`, :func:`rosenbrock_landscape`,
:func:`chi2_landscape`, :func:`wells_landscape`).
:func:`optimizer_trajectories` runs several optimisers from several starting
points in one jitted call; :func:`steps_to_tolerance` counts the steps each
needed. :func:`gd_quadratic` is gradient descent on ``(θ − θ*)²``, whose iterates
``θ_t = θ* + (1 − 2η)^t (θ₀ − θ*)`` converge, oscillate or diverge with ``|1 − 2η|``.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys._checks import as_array, as_int, check_finite, check_key, check_shape, is_concrete
from jaxphys.core._optimizers import _check_rate, get_optimizer

__all__ = [
    "Landscape", "Trajectories", "ScalarPath", "ill_conditioned_quadratic", "rosenbrock",
    "chi2_line", "gaussian_wells", "WELL_CENTRES", "WELL_DEPTHS", "WELL_WIDTHS", "WELL_MINIMA",
    "quadratic_landscape", "rosenbrock_landscape", "chi2_landscape", "wells_landscape",
    "optimizer_trajectories", "steps_to_tolerance", "gd_quadratic", "step_size_regime",
]


# ----------------------------------------------------------------------------- landscapes

def ill_conditioned_quadratic(theta: jax.Array, condition: Any = 25.0) -> jax.Array:
    r"""``L(θ) = ½ (θ₁² + κ θ₂²)``: a bowl whose Hessian ``diag(1, κ)`` has condition κ.

    Minimum ``L = 0`` at ``θ = (0, 0)``. Gradient descent is stable for
    ``η < 2/κ`` and then needs ``~κ ln(1/ε)`` steps along the flat ``θ₁`` direction.

    >>> float(ill_conditioned_quadratic(jnp.array([1.0, 1.0]), 10.0))
    5.5
    """
    return 0.5 * (theta[0] ** 2 + condition * theta[1] ** 2)


def rosenbrock(theta: jax.Array, a: Any = 1.0, b: Any = 100.0) -> jax.Array:
    r"""The Rosenbrock valley ``L(θ) = (a − θ₁)² + b (θ₂ − θ₁²)²``.

    One minimum, ``L = 0`` at ``θ = (a, a²)``, at the end of a long, curved,
    flat-bottomed valley along ``θ₂ = θ₁²``.

    >>> float(rosenbrock(jnp.array([1.0, 1.0]))), float(rosenbrock(jnp.array([0.0, 1.0])))
    (0.0, 101.0)
    """
    return (a - theta[0]) ** 2 + b * (theta[1] - theta[0] ** 2) ** 2


def chi2_line(theta: jax.Array, x: jax.Array, y: jax.Array, sigma: Any) -> jax.Array:
    r"""``χ²(a, b) = Σ_i ((y_i − a x_i − b)/σ_i)²`` for ``θ = (slope a, intercept b)``.

    ``x, y`` of shape ``(n,)``; ``sigma`` a scalar or ``(n,)``. The minimum is the
    weighted least-squares fit; the valley's tilt is the slope–intercept correlation.

    >>> x = jnp.array([0.0, 1.0, 2.0])
    >>> float(chi2_line(jnp.array([2.0, 1.0]), x, 2 * x + 1, 0.5))
    0.0
    """
    return jnp.sum(((y - theta[0] * x - theta[1]) / sigma) ** 2)


#: Centres, depths and widths of the three wells of :func:`gaussian_wells`.
WELL_CENTRES = np.array([[-1.5, 0.8], [1.2, 1.0], [0.3, -1.4]])
WELL_DEPTHS = np.array([1.0, 1.6, 1.2])
WELL_WIDTHS = np.array([0.7, 0.6, 0.8])
#: Its three local minima (to 1e-4; rows ordered as the wells); row 1 is the global one.
WELL_MINIMA = np.array([[-1.42515, 0.75749], [1.17026, 0.97118], [0.28439, -1.32709]])
_WELL_VALUES = np.array([-0.86542, -1.48944, -1.10335])


def gaussian_wells(theta: jax.Array) -> jax.Array:
    r"""A non-convex surface: three Gaussian wells in a weak quadratic bowl.

    .. math:: L(θ) = -\sum_{k=1}^{3} d_k \exp\!\left(-\frac{|θ - c_k|^2}{2 w_k^2}\right)
              + 0.05\,|θ|^2

    with centres ``c = (−1.5, 0.8), (1.2, 1.0), (0.3, −1.4)``, depths
    ``d = 1.0, 1.6, 1.2`` and widths ``w = 0.7, 0.6, 0.8`` (:data:`WELL_CENTRES`,
    :data:`WELL_DEPTHS`, :data:`WELL_WIDTHS`). Its local minima (:data:`WELL_MINIMA`)
    sit near the centres:

    * ``(−1.4252, 0.7575)`` with ``L = −0.8654`` (shallowest),
    * ``(1.1703, 0.9712)`` with ``L = −1.4894`` (the global minimum),
    * ``(0.2844, −1.3271)`` with ``L = −1.1034``.

    Which one an optimiser finds depends on where it starts, on its step size
    and on its momentum.

    >>> round(float(gaussian_wells(jnp.array([1.17026, 0.97118]))), 4)
    -1.4894
    """
    centres = jnp.asarray(WELL_CENTRES, theta.dtype)
    sq = jnp.sum((theta[None, :] - centres) ** 2, axis=1)
    wells = jnp.asarray(WELL_DEPTHS, theta.dtype) * jnp.exp(
        -sq / (2.0 * jnp.asarray(WELL_WIDTHS, theta.dtype) ** 2))
    return -jnp.sum(wells) + 0.05 * jnp.sum(theta ** 2)


class Landscape(NamedTuple):
    """A two-parameter loss with its minima and a window to draw it in.

    Fields:
        name: short name (``'quadratic'``, ``'rosenbrock'``, ``'chi2'``, ``'wells'``).
        loss: ``loss(theta (2,)) -> ()``, jax-traceable.
        minima: ``(M, 2)`` float64 numpy array, the local minima (row ``global_index``
            is the global one).
        global_index: int, row of ``minima`` with the lowest loss.
        bounds: ``((θ₁ lo, θ₁ hi), (θ₂ lo, θ₂ hi))`` plotting window.
        starts: ``(S, 2)`` float64 numpy array of suggested starting points.
        learning_rates: ``{optimiser name: η}``, step sizes that suit this landscape.
        labels: names of ``θ₁`` and ``θ₂``.
    """

    name: str
    loss: Callable[[jax.Array], jax.Array]
    minima: np.ndarray
    global_index: int
    bounds: tuple
    starts: np.ndarray
    learning_rates: dict
    labels: tuple


def _grid_starts(bounds, n_side: int, inset: float) -> np.ndarray:
    (a0, a1), (b0, b1) = bounds
    u = np.linspace(a0 + inset * (a1 - a0), a1 - inset * (a1 - a0), n_side)
    v = np.linspace(b0 + inset * (b1 - b0), b1 - inset * (b1 - b0), n_side)
    return np.stack(np.meshgrid(u, v, indexing="ij"), -1).reshape(-1, 2)


def quadratic_landscape(condition: float = 100.0) -> Landscape:
    """:func:`ill_conditioned_quadratic` with κ = ``condition`` (default 100).

    Suggested steps: ``1/κ`` (= 1/L, the classic safe step) for gradient descent,
    ``2/κ`` with γ = 0.9 for momentum, ``1/κ`` for Nesterov, 0.1 for the Adam family.

    >>> quadratic_landscape().minima.tolist()
    [[0.0, 0.0]]
    """
    kappa = float(condition)
    if not kappa >= 1:
        raise ValueError(f"condition: expected a number >= 1, got {condition!r}")
    eta = 1.0 / kappa
    bounds = ((-3.0, 3.0), (-1.5, 1.5))
    return Landscape(
        name="quadratic", loss=partial(ill_conditioned_quadratic, condition=kappa),
        minima=np.zeros((1, 2)), global_index=0, bounds=bounds,
        starts=_grid_starts(bounds, 4, 0.1),
        learning_rates={"gd": eta, "sgd": eta, "minibatch_sgd": eta, "momentum": 2 * eta,
                        "nesterov": eta, "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.1,
                        "nadam": 0.1, "adamw": 0.1},
        labels=("θ₁", "θ₂"))


def rosenbrock_landscape() -> Landscape:
    """:func:`rosenbrock` with a = 1, b = 100 (minimum at (1, 1)).

    >>> rosenbrock_landscape().minima.tolist()
    [[1.0, 1.0]]
    """
    bounds = ((-2.0, 2.0), (-1.0, 3.0))
    return Landscape(
        name="rosenbrock", loss=rosenbrock, minima=np.ones((1, 2)), global_index=0,
        bounds=bounds, starts=_grid_starts(((-1.8, 1.8), (-0.8, 2.8)), 4, 0.0),
        learning_rates={"gd": 2e-3, "sgd": 2e-3, "minibatch_sgd": 2e-3, "momentum": 5e-4,
                        "nesterov": 5e-4, "adagrad": 0.5, "rmsprop": 0.01, "adam": 0.1,
                        "nadam": 0.05, "adamw": 0.1},
        labels=("θ₁", "θ₂"))


def chi2_landscape(key: jax.Array, n: int = 30, slope: float = 2.0, intercept: float = 1.0,
                   sigma: float = 1.0) -> Landscape:
    """:func:`chi2_line` on data from ``jaxphys.data.straight_line(key, n, ...)``.

    The minimum is the weighted least-squares fit (``numpy.linalg.lstsq``); the
    window spans ±6 standard errors around it.
    """
    from jaxphys.data import straight_line

    check_key(key)
    ds = straight_line(key, n=n, slope=slope, intercept=intercept, sigma=sigma)
    x = np.asarray(ds.x, np.float64)
    y = np.asarray(ds.y, np.float64)
    design = np.stack([x, np.ones_like(x)], 1) / sigma
    best = np.linalg.lstsq(design, y / sigma, rcond=None)[0]
    hess = 2.0 * design.T @ design
    err = np.sqrt(np.diag(np.linalg.inv(hess / 2.0)))
    bounds = tuple((float(b - 6 * e), float(b + 6 * e)) for b, e in zip(best, err))
    eta = 1.0 / float(np.linalg.eigvalsh(hess).max())
    loss = partial(chi2_line, x=jnp.asarray(x), y=jnp.asarray(y), sigma=float(sigma))

    def chi2(theta):
        return loss(theta).astype(theta.dtype)

    return Landscape(
        name="chi2", loss=chi2, minima=best[None, :], global_index=0, bounds=bounds,
        starts=_grid_starts(bounds, 4, 0.1),
        learning_rates={"gd": eta, "sgd": eta, "minibatch_sgd": eta, "momentum": eta / 4,
                        "nesterov": eta / 4, "adagrad": 0.5 * float(err.max()),
                        "rmsprop": 0.05 * float(err.max()), "adam": 0.2 * float(err.max()),
                        "nadam": 0.2 * float(err.max()), "adamw": 0.2 * float(err.max())},
        labels=("slope a", "intercept b"))


def wells_landscape() -> Landscape:
    """:func:`gaussian_wells` with its three minima; the global one is row 1.

    >>> wells_landscape().global_index
    1
    """
    bounds = ((-3.0, 3.0), (-3.0, 3.0))
    return Landscape(
        name="wells", loss=gaussian_wells, minima=WELL_MINIMA.copy(), global_index=1,
        bounds=bounds, starts=_grid_starts(bounds, 4, 0.1),
        learning_rates={"gd": 0.3, "sgd": 0.3, "minibatch_sgd": 0.3, "momentum": 0.1,
                        "nesterov": 0.1, "adagrad": 0.3, "rmsprop": 0.02, "adam": 0.05,
                        "nadam": 0.05, "adamw": 0.05},
        labels=("θ₁", "θ₂"))


# ----------------------------------------------------------------------------- trajectories

class Trajectories(NamedTuple):
    """Paths of several optimisers from several starting points.

    Fields:
        thetas: ``(O, S, n_steps + 1, 2)`` float; ``thetas[o, s, 0]`` is start ``s``.
        losses: ``(O, S, n_steps + 1)`` float, the loss at each point of ``thetas``.
    """

    thetas: jax.Array
    losses: jax.Array


def _check_landscape(loss: Callable, dtype) -> None:
    if not callable(loss):
        raise ValueError(f"loss: expected a function loss(theta (2,)) -> scalar, got "
                         f"{type(loss).__name__}")
    try:
        out = jax.eval_shape(loss, jax.ShapeDtypeStruct((2,), dtype))
    except Exception as err:
        raise ValueError(f"loss: expected a function loss(theta (2,)) -> scalar; calling it "
                         f"with theta of shape (2,) failed: {type(err).__name__}: {err}") from err
    if not hasattr(out, "shape") or out.shape != ():
        got = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"loss: expected a function loss(theta (2,)) -> scalar, got output "
                         f"shape {got}")
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"loss: expected a floating-point scalar output, got dtype {out.dtype}")


def _build(spec: Any, learning_rate: jax.Array) -> optax.GradientTransformation:
    """The optimiser for one entry of ``optimizers`` with a (traced) learning rate."""
    if isinstance(spec, str):
        return get_optimizer(spec, learning_rate)
    if isinstance(spec, optax.GradientTransformation):
        return optax.chain(spec, optax.scale(learning_rate))
    return spec(learning_rate)


@partial(jax.jit, static_argnames=("loss", "specs", "n_steps"))
def _run_trajectories(loss, specs, n_steps, starts, learning_rates):
    value_and_grad = jax.value_and_grad(loss)
    thetas, losses = [], []
    for o, spec in enumerate(specs):
        def one_path(theta0, o=o, spec=spec):
            opt = _build(spec, learning_rates[o])

            def step(carry, _):
                theta, opt_state = carry
                value, grad = value_and_grad(theta)
                updates, opt_state = opt.update(grad, opt_state, theta)
                return (optax.apply_updates(theta, updates), opt_state), (theta, value)

            (theta_n, _), (path, values) = jax.lax.scan(step, (theta0, opt.init(theta0)),
                                                        None, length=n_steps)
            path = jnp.concatenate([path, theta_n[None, :]], axis=0)
            values = jnp.concatenate([values, loss(theta_n)[None]], axis=0)
            return path, values

        path, values = jax.vmap(one_path)(starts)
        thetas.append(path)
        losses.append(values)
    return Trajectories(jnp.stack(thetas), jnp.stack(losses))


def optimizer_trajectories(loss: Callable[[jax.Array], jax.Array],
                           optimizers: Sequence[Any], starts: Any, n_steps: int,
                           learning_rates: Any) -> Trajectories:
    r"""Run every optimiser from every start on ``loss`` in one jitted call.

    Each optimiser ``o`` with learning rate ``η_o`` runs ``n_steps`` steps of
    ``θ ← θ + update_o(∇L(θ))`` from each starting point (``lax.scan`` over steps,
    ``vmap`` over starts, a Python loop over the optimisers inside one ``jit``, so
    optimisers with different state structures compile together, once). The
    learning rates are traced: new values or new starts of the same shape reuse
    the compiled function. The cache key is ``(loss, optimizers, n_steps)``:
    pass the same function object to reuse it.

    Args:
        loss: ``loss(theta (2,)) -> ()`` (any parameter size works; checked on ``(p,)``
            with ``p = starts.shape[1]``).
        optimizers: a sequence of ``O`` entries, each an optimiser name of
            :func:`jaxphys.core.get_optimizer` (built with ``learning_rates[o]``),
            a callable ``learning_rate -> optax.GradientTransformation``, or an
            ``optax.GradientTransformation`` (its updates are multiplied by
            ``learning_rates[o]``: pass 1.0 to use it as it is).
        starts: ``(S, 2)`` starting points, finite.
        n_steps: number of steps, an int ≥ 0.
        learning_rates: ``(O,)`` step sizes ≥ 0, or a scalar used for all.

    Returns:
        :class:`Trajectories` with ``thetas (O, S, n_steps + 1, 2)`` and
        ``losses (O, S, n_steps + 1)``; diverging runs give inf/NaN, not an error.

    >>> import jax.numpy as jnp
    >>> tr = optimizer_trajectories(lambda t: jnp.sum(t ** 2), ["gd", "momentum"],
    ...                             jnp.array([[1.0, 2.0]]), 3, jnp.array([0.25, 0.25]))
    >>> tr.thetas.shape, tr.thetas[0, 0, :, 0].tolist()
    ((2, 1, 4, 2), [1.0, 0.5, 0.25, 0.125])
    """
    if isinstance(optimizers, (str, optax.GradientTransformation)) or not isinstance(
            optimizers, Sequence):
        raise ValueError("optimizers: expected a sequence (list or tuple) of optimiser names, "
                         f"callables or optax transformations, got {type(optimizers).__name__}")
    specs = tuple(optimizers)
    if not specs:
        raise ValueError("optimizers: expected at least one optimiser, got none")
    for i, spec in enumerate(specs):
        if isinstance(spec, str):
            get_optimizer(spec, 0.1)          # unknown names raise here, listing the known
        elif not (isinstance(spec, optax.GradientTransformation) or callable(spec)):
            raise ValueError(f"optimizers[{i}]: expected a name, a callable or an optax "
                             f"transformation, got {type(spec).__name__}")
    x0 = as_array(starts, "starts", ndim=2)
    if not jnp.issubdtype(x0.dtype, jnp.floating):
        x0 = x0.astype(jnp.result_type(float))
    check_shape(x0, "starts", (None, 2))
    check_finite(x0, "starts")
    steps = as_int(n_steps, "n_steps", minimum=0)
    lrs = as_array(learning_rates, "learning_rates", ndim=(0, 1))
    if lrs.ndim == 0:
        lrs = jnp.broadcast_to(lrs, (len(specs),))
    check_shape(lrs, "learning_rates", (len(specs),))
    if is_concrete(lrs):
        for i, v in enumerate(np.asarray(lrs)):
            _check_rate(v, f"learning_rates[{i}]")
    _check_landscape(loss, x0.dtype)
    return _run_trajectories(loss, specs, steps, x0, lrs.astype(x0.dtype))


def steps_to_tolerance(trajectories: Trajectories, theta_star: Any, tol: Any) -> jax.Array:
    r"""The first step from which each path stays within ``tol`` of a minimum.

    With ``d_t = min_m ‖θ_t − θ*_m‖₂``, the result is the smallest ``t`` such that
    ``d_u ≤ tol`` for every ``u ≥ t`` up to the end of the path, or ``-1`` if the
    path does not end within ``tol`` (not converged, or diverged).

    Args:
        trajectories: :class:`Trajectories` (``thetas (O, S, n + 1, p)``).
        theta_star: ``(p,)`` the minimum, or ``(M, p)`` several minima (the nearest counts).
        tol: distance tolerance > 0 (units of θ).

    Returns:
        ``(O, S)`` int32 step counts (``-1``: not reached).

    >>> import jax.numpy as jnp
    >>> tr = Trajectories(jnp.array([[[[1.0, 0.], [0.5, 0.], [0.05, 0.], [0.01, 0.]]]]),
    ...                   jnp.zeros((1, 1, 4)))
    >>> steps_to_tolerance(tr, jnp.zeros(2), 0.1).tolist()
    [[2]]
    """
    from jaxphys._checks import as_tolerance

    thetas = as_array(trajectories.thetas, "trajectories.thetas", ndim=4)
    p = thetas.shape[-1]
    star = as_array(theta_star, "theta_star", ndim=(1, 2))
    star = star[None, :] if star.ndim == 1 else star
    check_shape(star, "theta_star", (None, p))
    tol = as_tolerance(tol, "tol")
    diff = thetas[..., None, :] - star.astype(thetas.dtype)[None, None, None]   # (O,S,n+1,M,p)
    dist = jnp.min(jnp.linalg.norm(diff, axis=-1), axis=-1)                    # (O, S, n + 1)
    within = jnp.where(jnp.isfinite(dist), dist <= tol, False)
    stays = jnp.flip(jnp.cumprod(jnp.flip(within, -1).astype(jnp.int32), axis=-1), -1)
    first = jnp.argmax(stays, axis=-1).astype(jnp.int32)
    return jnp.where(stays[..., -1] == 1, first, -1)


# ----------------------------------------------------------------------------- step sizes

class ScalarPath(NamedTuple):
    """Gradient descent on a one-parameter loss.

    Fields:
        thetas: ``(n + 1,)`` float, ``θ_0 … θ_n``.
        losses: ``(n + 1,)`` float, ``L(θ_t)``.
    """

    thetas: jax.Array
    losses: jax.Array


@partial(jax.jit, static_argnames=("n",))
def _gd_quadratic(theta0, theta_star, eta, n):
    def loss(theta):
        return (theta - theta_star) ** 2

    def step(theta, _):
        return theta - eta * jax.grad(loss)(theta), theta

    theta_n, path = jax.lax.scan(step, theta0, None, length=n)
    thetas = jnp.concatenate([path, theta_n[None]])
    return ScalarPath(thetas, jax.vmap(loss)(thetas))


def gd_quadratic(theta0: Any, theta_star: Any, eta: Any, n: int) -> ScalarPath:
    r"""Gradient descent ``θ ← θ − η L'(θ)`` on ``L(θ) = (θ − θ*)²`` (the step-size lesson).

    The gradient ``2(θ − θ*)`` makes each step multiply the error by ``1 − 2η``:

    .. math:: θ_t = θ^* + (1 - 2η)^t (θ_0 - θ^*)

    so descent creeps monotonically for ``0 < η < ½``, lands in one step at
    ``η = ½``, oscillates with shrinking amplitude for ``½ < η < 1``, bounces
    between ``θ₀`` and ``2θ* − θ₀`` for ``η = 1`` and diverges for ``η > 1``. The
    iteration runs through ``jax.grad`` (it is not the closed form); ``eta`` is
    traced, so ``jax.vmap`` over learning rates compiles once.

    Args:
        theta0, theta_star: scalars, the start and the minimum.
        eta: scalar learning rate η > 0.
        n: number of steps (int ≥ 0).

    Returns:
        :class:`ScalarPath` with ``thetas (n + 1,)`` and ``losses (n + 1,)``.

    >>> gd_quadratic(-1.5, 3.0, 0.25, 3).thetas.tolist()
    [-1.5, 0.75, 1.875, 2.4375]
    """
    t0 = as_array(theta0, "theta0", ndim=0)
    ts = as_array(theta_star, "theta_star", ndim=0)
    lr = as_array(eta, "eta", ndim=0)
    for v, name in ((t0, "theta0"), (ts, "theta_star"), (lr, "eta")):
        check_finite(v, name)
    _check_rate(lr, "eta")
    steps = as_int(n, "n", minimum=0)
    dtype = jnp.result_type(t0, ts, lr, float)
    return _gd_quadratic(t0.astype(dtype), ts.astype(dtype), lr.astype(dtype), steps)


def step_size_regime(eta: float) -> str:
    """The behaviour of gradient descent on ``(θ − θ*)²`` with step ``η``, from ``|1 − 2η|``.

    >>> [step_size_regime(e) for e in (0.1, 0.5, 0.9, 1.0, 1.1)]
    ['monotone', 'one step', 'oscillating', 'marginal', 'diverging']
    """
    eta = float(eta)
    if eta <= 0:
        raise ValueError(f"eta: expected a step size > 0, got {eta!r}")
    if eta < 0.5:
        return "monotone"
    if eta == 0.5:
        return "one step"
    if eta < 1.0:
        return "oscillating"
    if eta == 1.0:
        return "marginal"
    return "diverging"
