"""Profile-likelihood intervals (MINOS), 1-D scans and 2-D contours."""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int

from ._cost import Cost
from ._fit import MinimizeResult, as_parameters, check_cost, positive_float, run_checked
from ._parameters import Layout
from ._root import find_crossing, frozen_mask, limit_distance, profile_point

__all__ = ["MinosInterval", "minos", "ProfileScan", "profile_scan", "Contour", "contour",
           "delta_for"]


def delta_for(cl: Any, n_parameters: int) -> float:
    r"""Threshold :math:`q = \Delta C / u` of a confidence region in n = 1 or 2 parameters.

    ``cl`` as in iminuit: None is one standard deviation (1-D :math:`q = 1`;
    2-D the same probability, 68.27 %), a number in (0, 1) a probability, a
    number >= 1 a count of standard deviations (converted to the 1-D
    Gaussian probability). Wilks: q is χ²-distributed with n degrees of
    freedom, :math:`q = F^{-1}_{\chi^2_1}(p) = [\Phi^{-1}((1+p)/2)]^2` and
    :math:`q = F^{-1}_{\chi^2_2}(p) = -2\log(1-p)`.

    Example:
        >>> from jaxphys.fitting import delta_for
        >>> round(delta_for(0.95, 1), 4), round(delta_for(None, 2), 4)
        (3.8415, 2.2958)
    """
    if cl is None:
        cl = 1.0
    cl = float(cl)
    if not cl > 0 or not np.isfinite(cl):
        raise ValueError(f"cl: expected a probability in (0, 1) or a number of standard "
                         f"deviations >= 1, got {cl}")
    n_parameters = as_int(n_parameters, "n_parameters")
    if n_parameters not in (1, 2):
        raise ValueError(f"n_parameters: expected 1 or 2, got {n_parameters}")
    if cl >= 1:
        if n_parameters == 1:
            return cl * cl
        prob = math.erf(cl / math.sqrt(2.0))
    else:
        prob = cl
    if n_parameters == 1:
        return NormalDist().inv_cdf(0.5 * (1.0 + prob)) ** 2
    return -2.0 * math.log1p(-prob)


def _checked(cost, parameters, result, names, tolerance, max_iterations):
    cost = check_cost(cost)
    parameters = as_parameters(parameters)
    if not isinstance(result, MinimizeResult):
        raise TypeError(f"result: expected the MinimizeResult of minimize(cost, parameters), got "
                        f"{type(result).__name__}")
    idx = tuple(parameters.index(n) for n in names)
    for n, i in zip(names, idx):
        if i not in parameters.layout.free:
            raise ValueError(f"parameter: {n!r} is fixed; profile a free parameter")
    if len(set(idx)) != len(idx):
        raise ValueError(f"parameter: expected distinct parameters, got {names}")
    return (cost, parameters, np.asarray(idx, np.int32),
            positive_float(tolerance, "tolerance"),
            as_int(max_iterations, "max_iterations", minimum=1))


class MinosInterval(NamedTuple):
    """A MINOS interval of one parameter (the profile crossing ``C_min + Δ``).

    Fields (``()`` float64 or bool for one parameter, ``(p,)`` for p of them):
        lower, upper: the interval's ends.
        lower_error, upper_error: ``lower - value`` (<= 0) and ``upper - value``
            (>= 0), as iminuit's ``merrors``.
        lower_valid, upper_valid: the crossing converged, every profile fit
            converged and the fit itself was valid.
        lower_at_limit, upper_at_limit: the profile stayed below the threshold
            up to the parameter's limit; the end is the limit.
        n_evaluations: ``()`` int32, cost + gradient + Hessian evaluations.

    Example:
        Built by hand (:func:`minos` returns one): :math:`2.0^{+0.75}_{-0.5}`.

        >>> from jaxphys.fitting import MinosInterval
        >>> m = MinosInterval(lower=jnp.array(1.5), upper=jnp.array(2.75),
        ...                   lower_error=jnp.array(-0.5), upper_error=jnp.array(0.75),
        ...                   lower_valid=jnp.array(True), upper_valid=jnp.array(True),
        ...                   lower_at_limit=jnp.array(False), upper_at_limit=jnp.array(False),
        ...                   n_evaluations=jnp.array(40))
        >>> float(m.lower - m.lower_error), float(m.upper - m.upper_error)   # the best fit
        (2.0, 2.0)
    """

    lower: jax.Array
    upper: jax.Array
    lower_error: jax.Array
    upper_error: jax.Array
    lower_valid: jax.Array
    upper_valid: jax.Array
    lower_at_limit: jax.Array
    upper_at_limit: jax.Array
    n_evaluations: jax.Array


def minos(cost: Cost, parameters: Any, result: MinimizeResult, parameter: Any = None, *,
          cl: Any = None, tolerance: float = 1e-10, max_iterations: int = 200) -> MinosInterval:
    r"""Asymmetric profile-likelihood interval of one parameter, as MINUIT's MINOS.

    The ends solve :math:`C_p(\theta) = C_{min} + u\,\Delta` on each side, with
    :math:`C_p` the cost minimised over the other free parameters and
    :math:`\Delta` from :func:`delta_for` (1 for the default one standard
    deviation). Root-finding is Newton on :math:`\sqrt{(C_p - C_{min})/u} - \sqrt\Delta`
    (nearly linear in θ), started at the HESSE estimate, with the profile's
    derivative from the envelope theorem; see :mod:`jaxphys.fitting`. Several
    parameters run in one compiled, vmapped call. Jittable and vmappable (toy
    coverage).

    Args:
        cost, parameters: as given to :func:`~jaxphys.fitting.minimize`.
        result: the fit's :class:`~jaxphys.fitting.MinimizeResult`.
        parameter: name (or index) of a free parameter, a sequence of them
            (fields of shape ``(p,)``), or None for every free parameter in order.
        cl: confidence level as in :func:`delta_for` (None: one standard deviation).
        tolerance, max_iterations: for each profile fit.

    Returns:
        :class:`MinosInterval`.

    Example:
        >>> from jaxphys.fitting import LeastSquares, Parameters, minimize, minos
        >>> cost = LeastSquares(jnp.array([0.0, 1.0]), jnp.array([1.0, 3.0]), 1.0,
        ...                     lambda x, p: p["a"] + p["b"] * x)
        >>> p = Parameters({"a": 0.0, "b": 0.0})
        >>> interval = minos(cost, p, minimize(cost, p), "b")
        >>> round(float(interval.lower_error), 4), round(float(interval.upper_error), 4)
        (-1.4142, 1.4142)
    """
    single = isinstance(parameter, (str, int, np.integer))
    names = (parameters_free_names(parameters) if parameter is None
             else (parameter,) if single else tuple(parameter))
    cost, parameters, idx, tolerance, max_iterations = _checked(
        cost, parameters, result, names, tolerance, max_iterations)
    z = np.float64(np.sqrt(delta_for(cl, 1)))
    out = run_checked(cost, parameters, _minos_jit, result, idx, parameters.layout, z,
                      tolerance, max_iterations)
    return jax.tree.map(lambda a: a[0], out) if single else out


def parameters_free_names(parameters: Any) -> tuple[str, ...]:
    parameters = as_parameters(parameters)
    return tuple(parameters.names[i] for i in parameters.layout.free)


def _minos(cost, values, result, indices, layout: Layout, z, tolerance,
           max_iterations):
    best = result.values
    dtype = best.dtype

    def one(i, sign):
        sigma = result.errors[i]
        u0 = jnp.where(jnp.isfinite(sigma) & (sigma > 0), z * sigma,
                       1.0 + 0.1 * jnp.abs(best[i]))
        u_max = limit_distance(layout, i, best[i], sign)
        return find_crossing(cost, layout, i[None], best, result.minimum,
                             jnp.full((1,), sign, dtype), u0, u_max,
                             lambda u, q: jnp.sqrt(q) - z, tolerance, max_iterations)

    p = indices.shape[0]
    both = jax.vmap(one)(jnp.concatenate([indices, indices]),
                         jnp.concatenate([-jnp.ones((p,), dtype), jnp.ones((p,), dtype)]))
    low = jax.tree.map(lambda a: a[:p], both)
    high = jax.tree.map(lambda a: a[p:], both)
    return MinosInterval(
        lower=best[indices] - low.distance, upper=best[indices] + high.distance,
        lower_error=-low.distance, upper_error=high.distance,
        lower_valid=low.converged & result.valid, upper_valid=high.converged & result.valid,
        lower_at_limit=low.at_limit, upper_at_limit=high.at_limit,
        n_evaluations=low.n_evaluations + high.n_evaluations)


_minos_jit = jax.jit(_minos, static_argnums=(4, 7))


class ProfileScan(NamedTuple):
    """A 1-D profile of the cost.

    Fields:
        values: ``(n,)`` the scanned parameter values.
        delta_cost: ``(n,)`` :math:`C_p - C_{min}` (for ``-2 log L`` costs, the
            profile-likelihood-ratio statistic; divide by errordef otherwise).
        parameters: ``(n, k)`` all parameters at each profiled minimum.
        valid: ``(n,)`` bool, the profile fit converged.

    Example:
        Built by hand (:func:`profile_scan` returns one): the parabola of a Gaussian
        measurement :math:`2.0 \\pm 0.5`; the 1σ interval is where Δ ≤ 1.

        >>> from jaxphys.fitting import ProfileScan
        >>> v = jnp.array([1.0, 1.5, 2.0, 2.5, 3.0])
        >>> scan = ProfileScan(values=v, delta_cost=((v - 2.0) / 0.5) ** 2,
        ...                    parameters=v[:, None], valid=jnp.ones(5, bool))
        >>> scan.delta_cost.tolist(), (scan.delta_cost <= 1.0).tolist()
        ([4.0, 1.0, 0.0, 1.0, 4.0], [False, True, True, True, False])
    """

    values: jax.Array
    delta_cost: jax.Array
    parameters: jax.Array
    valid: jax.Array


def profile_scan(cost: Cost, parameters: Any, result: MinimizeResult, parameter: str | int,
                 values: Any, *, tolerance: float = 1e-10,
                 max_iterations: int = 200) -> ProfileScan:
    r"""Profile :math:`C_p(\theta) - C_{min}` of one parameter on a grid (``lax.scan``).

    Each grid point is a fit of the other free parameters, warm-started from
    the previous point (the first from the best fit); pass the grid in an
    order that moves smoothly (e.g. increasing).

    Args:
        cost, parameters, result: as for :func:`minos`.
        parameter: name (or index) of a free parameter.
        values: ``(n,)`` grid of values of that parameter (inside its limits).

    Returns:
        :class:`ProfileScan`.

    Example:
        >>> from jaxphys.fitting import LeastSquares, Parameters, minimize, profile_scan
        >>> cost = LeastSquares(jnp.array([0.0, 1.0]), jnp.array([1.0, 3.0]), 1.0,
        ...                     lambda x, p: p["a"] + p["b"] * x)
        >>> p = Parameters({"a": 0.0, "b": 0.0})
        >>> scan = profile_scan(cost, p, minimize(cost, p), "b", jnp.array([2.0, 3.0, 4.0]))
        >>> [round(float(v), 4) for v in scan.delta_cost]  # (b - 2)² / 2
        [0.0, 0.5, 2.0]
    """
    cost, parameters, idx, tolerance, max_iterations = _checked(
        cost, parameters, result, (parameter,), tolerance, max_iterations)
    grid = np.asarray(values, np.float64) if not isinstance(values, jax.core.Tracer) else values
    as_array(grid, "values", ndim=1)
    return run_checked(cost, parameters, _scan_jit, result, grid, idx, parameters.layout,
                       tolerance, max_iterations)


def _scan(cost, values, result, grid, indices, layout: Layout, tolerance, max_iterations):
    i = indices[0]
    frozen = frozen_mask(layout, indices)
    grid = jnp.asarray(grid, result.values.dtype)

    def step(current, t):
        prof = profile_point(cost, layout, current.at[i].set(t), frozen, tolerance,
                             max_iterations)
        nxt = jnp.where(prof.converged, prof.values, current)
        return nxt, (prof.minimum - result.minimum, prof.values, prof.converged)

    _, (delta, params, ok) = jax.lax.scan(step, result.values, grid)
    return ProfileScan(values=grid, delta_cost=delta, parameters=params, valid=ok)


_scan_jit = jax.jit(_scan, static_argnums=(5, 7))


class Contour(NamedTuple):
    """A 2-D profile-likelihood contour, as points on rays from the best fit.

    Fields:
        points: ``(size, 2)`` the contour points (x, y), by increasing angle.
        valid: ``(size,)`` bool, the crossing and its profile fits converged.
        at_limit: ``(size,)`` bool, the ray met a limit before the contour.

    Example:
        Built by hand (:func:`contour` returns one): for two uncorrelated parameters
        with unit errors the 68.27 % contour is the circle :math:`r = \\sqrt{2.2958}`.

        >>> from jaxphys.fitting import Contour, delta_for
        >>> r = delta_for(None, 2) ** 0.5
        >>> c = Contour(points=r * jnp.array([[1., 0.], [0., 1.], [-1., 0.], [0., -1.]]),
        ...             valid=jnp.ones(4, bool), at_limit=jnp.zeros(4, bool))
        >>> (c.points ** 2).sum(1).round(3).tolist(), bool(c.valid.all())   # Δ at each point
        ([2.296, 2.296, 2.296, 2.296], True)
    """

    points: jax.Array
    valid: jax.Array
    at_limit: jax.Array


def contour(cost: Cost, parameters: Any, result: MinimizeResult, x: str | int, y: str | int, *,
            cl: Any = None, size: int = 40, tolerance: float = 1e-10,
            max_iterations: int = 200) -> Contour:
    r"""Profile-likelihood contour of two parameters: :math:`C_p(x, y) = C_{min} + u\,\Delta_2`.

    :math:`\Delta_2` from :func:`delta_for` with 2 parameters (None: 68.27 %,
    2.30; iminuit's ``mncontour`` default is 68 %). Along ``size`` rays at
    equal angles in the plane scaled by the HESSE errors, the crossing is
    found as in :func:`minos`, every other free parameter profiled. The
    contour must be star-shaped about the best fit (true for convex regions).

    Args:
        cost, parameters, result: as for :func:`minos`.
        x, y: names (or indices) of two free parameters.
        cl: confidence level (see :func:`delta_for`).
        size: number of points (>= 4).

    Returns:
        :class:`Contour`.

    Example:
        >>> from jaxphys.fitting import LeastSquares, Parameters, contour, minimize
        >>> cost = LeastSquares(jnp.array([0.0, 1.0]), jnp.array([1.0, 3.0]), 1.0,
        ...                     lambda x, p: p["a"] + p["b"] * x)
        >>> p = Parameters({"a": 0.0, "b": 0.0})
        >>> c = contour(cost, p, minimize(cost, p), "a", "b", cl=0.9, size=8)
        >>> c.points.shape, bool(c.valid.all())
        ((8, 2), True)
    """
    cost, parameters, idx, tolerance, max_iterations = _checked(
        cost, parameters, result, (x, y), tolerance, max_iterations)
    size = as_int(size, "size", minimum=4)
    z = np.float64(np.sqrt(delta_for(cl, 2)))
    return run_checked(cost, parameters, _contour_jit, result, idx, parameters.layout, z, size,
                       tolerance, max_iterations)


def _contour(cost, values, result, ii, layout: Layout, z, size: int, tolerance,
             max_iterations):
    best = result.values
    dtype = best.dtype
    sub = result.covariance[ii[:, None], ii[None, :]] / result.errordef
    sigma = jnp.sqrt(jnp.diag(sub))
    ok = jnp.all(jnp.isfinite(sub)) & jnp.all(sigma > 0)
    sigma = jnp.where(ok, sigma, 1.0)
    inverse = jnp.where(ok, jnp.linalg.inv(jnp.where(ok, sub, jnp.eye(2, dtype=dtype))),
                        jnp.diag(1.0 / sigma ** 2))
    angles = jnp.arange(size, dtype=dtype) * (2.0 * jnp.pi / size)

    def ray(angle):
        direction = sigma * jnp.stack([jnp.cos(angle), jnp.sin(angle)])
        u0 = z / jnp.sqrt(direction @ inverse @ direction)
        u_max = jnp.asarray(jnp.inf, dtype)
        for j in range(2):
            room = limit_distance(layout, ii[j], best[ii[j]], direction[j])
            step = jnp.abs(direction[j])
            u_max = jnp.minimum(u_max, jnp.where(step > 0, room / jnp.where(step > 0, step, 1.0),
                                                 jnp.inf))
        crossing = find_crossing(cost, layout, ii, best, result.minimum, direction, u0,
                                 u_max, lambda u, q: jnp.sqrt(q) - z, tolerance,
                                 max_iterations)
        return crossing.values[ii], crossing.converged & result.valid, crossing.at_limit

    points, valid, at_limit = jax.vmap(ray)(angles)
    return Contour(points=points, valid=valid, at_limit=at_limit)


_contour_jit = jax.jit(_contour, static_argnums=(4, 6, 8))

