"""Two-parameter loss landscapes to watch optimisers on, and loss surfaces on a grid.

Landscapes are pure functions ``loss(theta (2,)) -> ()``:

* :func:`ill_conditioned_quadratic` — ``½(θ₁² + κ θ₂²)``, condition number κ;
* :func:`rosenbrock` — the curved valley ``(a − θ₁)² + b (θ₂ − θ₁²)²``;
* :func:`chi2_line` — χ²(slope, intercept) of a straight-line fit to data;
* :func:`gaussian_wells` — three Gaussian wells in a weak bowl: three minima,
  one of them global.

:class:`Landscape` bundles a loss with its minima and a plotting window
(:func:`quadratic_landscape`, :func:`rosenbrock_landscape`,
:func:`chi2_landscape`, :func:`wells_landscape`); :func:`loss_surface` evaluates
any two-parameter loss on a grid, for contour plots.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_finite, check_key, check_shape

__all__ = [
    "Landscape", "ill_conditioned_quadratic", "rosenbrock", "chi2_line", "gaussian_wells",
    "WELL_CENTERS", "WELL_DEPTHS", "WELL_WIDTHS", "WELL_MINIMA", "quadratic_landscape",
    "rosenbrock_landscape", "chi2_landscape", "wells_landscape", "loss_surface",
]


# ----------------------------------------------------------------------------- landscapes

def ill_conditioned_quadratic(theta: jax.Array, condition: Any = 25.0) -> jax.Array:
    r"""``L(θ) = ½ (θ₁² + κ θ₂²)``: a bowl whose Hessian ``diag(1, κ)`` has condition κ.

    Minimum ``L = 0`` at ``θ = (0, 0)``. Gradient descent is stable for
    ``η < 2/κ`` and then needs ``~κ ln(1/ε)`` steps along the flat ``θ₁`` direction.

    >>> float(ill_conditioned_quadratic(jnp.array([1.0, 1.0]), 10.0))
    5.5
    """
    check_shape(theta, "theta", (2,))
    return 0.5 * (theta[0] ** 2 + condition * theta[1] ** 2)


def rosenbrock(theta: jax.Array, a: Any = 1.0, b: Any = 100.0) -> jax.Array:
    r"""The Rosenbrock valley ``L(θ) = (a − θ₁)² + b (θ₂ − θ₁²)²``.

    One minimum, ``L = 0`` at ``θ = (a, a²)``, at the end of a long, curved,
    flat-bottomed valley along ``θ₂ = θ₁²``.

    >>> float(rosenbrock(jnp.array([1.0, 1.0]))), float(rosenbrock(jnp.array([0.0, 1.0])))
    (0.0, 101.0)
    """
    check_shape(theta, "theta", (2,))
    return (a - theta[0]) ** 2 + b * (theta[1] - theta[0] ** 2) ** 2


def chi2_line(theta: jax.Array, x: jax.Array, y: jax.Array, sigma: Any) -> jax.Array:
    r"""``χ²(a, b) = Σ_i ((y_i − a x_i − b)/σ_i)²`` for ``θ = (slope a, intercept b)``.

    ``x, y`` of shape ``(n,)``; ``sigma`` a scalar or ``(n,)``. The minimum is the
    weighted least-squares fit; the valley's tilt is the slope–intercept correlation.

    >>> x = jnp.array([0.0, 1.0, 2.0])
    >>> float(chi2_line(jnp.array([2.0, 1.0]), x, 2 * x + 1, 0.5))
    0.0
    """
    check_shape(theta, "theta", (2,))
    x = as_array(x, "x", ndim=1)
    y = as_array(y, "y", ndim=1)
    check_shape(y, "y", x.shape)
    check_finite(x, "x")
    check_finite(y, "y")
    return jnp.sum(((y - theta[0] * x - theta[1]) / sigma) ** 2)


#: Centres, depths and widths of the three wells of :func:`gaussian_wells`.
WELL_CENTERS = np.array([[-1.5, 0.8], [1.2, 1.0], [0.3, -1.4]])
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
    ``d = 1.0, 1.6, 1.2`` and widths ``w = 0.7, 0.6, 0.8`` (:data:`WELL_CENTERS`,
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
    check_shape(theta, "theta", (2,))
    centers = jnp.asarray(WELL_CENTERS, theta.dtype)
    sq = jnp.sum((theta[None, :] - centers) ** 2, axis=1)
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

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.dynamics import Landscape, quadratic_landscape
        >>> ls = quadratic_landscape(10.0)                   # ½(θ₁² + 10 θ₂²)
        >>> isinstance(ls, Landscape), ls.minima.tolist(), ls.learning_rates["gd"]   # η = 1/κ
        (True, [[0.0, 0.0]], 0.1)
        >>> float(ls.loss(jnp.array([1.0, 1.0]))), ls.starts.shape   # ½(1 + 10); 4 × 4 starts
        (5.5, (16, 2))
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

    Example:
        >>> import jax
        >>> from jaxphys.dynamics import chi2_landscape
        >>> ls = chi2_landscape(jax.random.key(0), n=10, sigma=0.01)   # y = 2x + 1 + noise
        >>> ls.labels, [round(float(v), 1) for v in ls.minima[0]]       # the fit finds (2, 1)
        (('slope a', 'intercept b'), [2.0, 1.0])
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


def check_scalar_loss(loss: Callable, shape: tuple[int, ...], dtype: Any) -> None:
    """``loss`` must be a callable mapping a ``shape`` array of ``dtype`` to a floating scalar.

    Checked with ``jax.eval_shape`` (nothing is computed); the error names ``loss``."""
    if not callable(loss):
        raise ValueError(f"loss: expected a function loss(theta {shape}) -> scalar, got "
                         f"{type(loss).__name__}")
    try:
        out = jax.eval_shape(loss, jax.ShapeDtypeStruct(shape, dtype))
    except Exception as err:
        raise ValueError(f"loss: expected a function loss(theta {shape}) -> scalar; calling it "
                         f"with theta of shape {shape} failed: {type(err).__name__}: {err}"
                         ) from err
    if not hasattr(out, "shape") or out.shape != ():
        got = getattr(out, "shape", type(out).__name__)
        raise ValueError(f"loss: expected a function loss(theta {shape}) -> scalar, got output "
                         f"shape {got}")
    if not jnp.issubdtype(out.dtype, jnp.floating):
        raise ValueError(f"loss: expected a floating-point scalar output, got dtype {out.dtype}")


# ----------------------------------------------------------------------------- surfaces

def loss_surface(loss: Callable[[jax.Array], jax.Array], theta1_grid: Any,
                 theta2_grid: Any) -> jax.Array:
    """Evaluate a two-parameter loss on a grid, ``out[i, j] = loss([g1[i], g2[j]])``.

    The loss is written for one parameter vector ``θ = (θ₁, θ₂)`` and mapped
    over the grid with a nested ``jax.vmap`` (compiled once). The output uses
    "ij" indexing: rows follow ``theta1_grid``; for ``matplotlib.contour(g1, g2,
    Z)`` pass ``Z.T``.

    Args:
        loss: ``loss(theta (2,)) -> ()``, a jax-traceable function.
        theta1_grid: ``(n1,)`` values of ``θ₁``.
        theta2_grid: ``(n2,)`` values of ``θ₂``.

    Returns:
        ``(n1, n2)`` array of loss values.

    >>> import jax.numpy as jnp
    >>> Z = loss_surface(lambda t: t[0] ** 2 + 10 * t[1], jnp.array([0., 1., 2.]),
    ...                  jnp.array([0., 1.]))
    >>> Z.tolist()
    [[0.0, 10.0], [1.0, 11.0], [4.0, 14.0]]
    """
    g1 = as_array(theta1_grid, "theta1_grid", ndim=1)
    g2 = as_array(theta2_grid, "theta2_grid", ndim=1)
    dtype = jnp.result_type(float, g1, g2)
    g1 = g1.astype(dtype)
    g2 = g2.astype(dtype)
    check_scalar_loss(loss, (2,), dtype)

    def point(a, b):
        return loss(jnp.stack([a, b]))

    grid = jax.vmap(jax.vmap(point, in_axes=(None, 0)), in_axes=(0, None))
    return jax.jit(grid)(g1, g2)
