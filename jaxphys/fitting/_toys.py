"""Toy studies: many fits in one compiled call, pull distributions and interval coverage.

A toy study is the whole fit vmapped over toy data sets. :func:`minimize_toys` runs
it compiled, in float64, as a queue: ``batch_size`` fits run side by side
(vmapped Newton steps), and a slot whose fit has converged takes the next toy,
so no slot idles while the slowest fit of a batch finishes (a plain vmapped
``while_loop`` would step every member until the slowest converges)::

    counts = jax.random.poisson(key, expected, (n_toys, n_bins))
    fits = minimize_toys(lambda n: BinnedNLL(n, edges, cdf=cdf, extended=True), counts, parameters)

Intervals of the toys vmap the same way (``jax.vmap`` of
:func:`~jaxphys.fitting.minos` over the data and the fits, under
``jax.enable_x64(True)``); then :func:`pull_summary` and :func:`coverage`.
"""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite

from ._fit import MinimizeResult, as_parameters, finish, minimize, internal_cost_of, positive_float
from ._newton import NewtonState, evaluator, newton_running, newton_start, newton_step
from ._parameters import to_internal

__all__ = ["minimize_toys", "PullSummary", "pull_summary", "Coverage", "coverage"]


def minimize_toys(make_cost: Callable[[Any], Any], data: Any, parameters: Any, *,
             batch_size: int = 128, tolerance: float = 1e-10,
             max_iterations: int = 200) -> MinimizeResult:
    """Fit every toy data set in one compiled call: ``minimize(make_cost(data[i]), parameters)``.

    Args:
        make_cost: ``make_cost(one_toy) -> Cost``, traceable (build the cost
            from the toy's arrays). A module-level function (or one kept
            alive) compiles once: it is a static argument of the compiled call.
        data: a pytree of finite arrays whose leading axis runs over the toys (for
            example counts ``(n_toys, n_bins)``).
        parameters: as for :func:`~jaxphys.fitting.minimize` (the same start for every toy).
        batch_size: fits run side by side (>= 1); a finished fit's slot takes
            the next toy. The result is the same as ``minimize`` on each toy.
        tolerance, max_iterations: as for :func:`~jaxphys.fitting.minimize`.

    Returns:
        :class:`~jaxphys.fitting.MinimizeResult` with a leading axis ``(n_toys, ...)``.

    Example:
        >>> import jax
        >>> from jaxphys.fitting import LeastSquares, minimize_toys
        >>> def make_cost(y):
        ...     return LeastSquares(jnp.array([0.0, 1.0]), y, 1.0, lambda x, p: p[0] + p[1] * x)
        >>> fits = minimize_toys(make_cost, jnp.array([[1.0, 3.0], [0.0, 1.0]]), jnp.zeros(2))
        >>> fits.values.round(6).tolist()
        [[1.0, 2.0], [0.0, 1.0]]
    """
    if not callable(make_cost):
        raise TypeError(f"make_cost: expected a function of one toy returning a Cost, got "
                        f"{type(make_cost).__name__}")
    parameters = as_parameters(parameters)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    tolerance = float(positive_float(tolerance, "tolerance"))
    max_iterations = as_int(max_iterations, "max_iterations", minimum=1)
    leaves = jax.tree.leaves(data)
    if not leaves or any(np.ndim(leaf) == 0 for leaf in leaves):
        raise ValueError("data: expected arrays with a leading axis over the toys")
    n = {np.shape(leaf)[0] for leaf in leaves}
    if len(n) != 1:
        raise ValueError(f"data: every array must have the same number of toys along axis 0, "
                         f"got {sorted(n)}")
    check_finite(data, "data")
    with jax.enable_x64(True):
        data = jax.tree.map(lambda a: jnp.asarray(np.asarray(a) if not isinstance(
            a, jax.core.Tracer) else a), data)
        return _toys(make_cost, data, parameters, min(batch_size, n.pop()), tolerance,
                     max_iterations)


class _Queue(NamedTuple):
    states: NewtonState   # (slots, ...) the fits in progress
    toy: jax.Array        # (slots,) int32, the toy each slot fits
    active: jax.Array     # (slots,) bool
    next_toy: jax.Array   # () int32, the first toy not yet started
    done: NewtonState     # (n_toys, ...) final states, by toy


@partial(jax.jit, static_argnums=(0, 3, 4, 5))
def _toys(make_cost, data, parameters, batch_size, tolerance, max_iterations):
    layout = parameters.layout
    if not layout.free:
        return jax.vmap(lambda toy: minimize(make_cost(toy), parameters))(data)
    anchor = jnp.asarray(parameters.values, jnp.result_type(float))
    n_toys = jax.tree.leaves(data)[0].shape[0]
    errordef = make_cost(jax.tree.map(lambda a: a[0], data)).errordef
    edm_goal = jnp.asarray(tolerance * errordef, anchor.dtype)
    start = newton_start(to_internal(layout, anchor))

    def step(toy, state):
        cost = make_cost(jax.tree.map(lambda a: a[toy], data))
        evaluate = evaluator(internal_cost_of(cost, layout, anchor))
        return newton_step(evaluate, state, edm_goal)

    def select(mask, new, old):
        return jax.tree.map(lambda a, b: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)),
                                                   a, b), new, old)

    def body(q: _Queue) -> _Queue:
        states = jax.vmap(step)(q.toy, q.states)
        running = jax.vmap(lambda s: newton_running(s, edm_goal, max_iterations))(states)
        finished = q.active & ~running
        index = jnp.where(finished, q.toy, n_toys)  # out of range: dropped
        done = jax.tree.map(lambda b, v: b.at[index].set(v, mode="drop"), q.done, states)
        candidate = q.next_toy + jnp.cumsum(finished.astype(jnp.int32)).astype(jnp.int32) - 1
        refill = finished & (candidate < n_toys)
        fresh = jax.tree.map(lambda a: jnp.broadcast_to(a, (batch_size,) + a.shape), start)
        return _Queue(states=select(refill, fresh, states), toy=jnp.where(refill, candidate, q.toy),
                      active=(q.active & running) | refill,
                      next_toy=q.next_toy + jnp.sum(refill, dtype=jnp.int32), done=done)

    slots = jnp.arange(batch_size, dtype=jnp.int32)
    queue = _Queue(states=jax.tree.map(lambda a: jnp.broadcast_to(a, (batch_size,) + a.shape),
                                       start),
                   toy=jnp.minimum(slots, n_toys - 1), active=slots < n_toys,
                   next_toy=jnp.asarray(min(batch_size, n_toys), jnp.int32),
                   done=jax.tree.map(lambda a: jnp.zeros((n_toys,) + a.shape, a.dtype), start))
    queue = jax.lax.while_loop(lambda q: jnp.any(q.active), body, queue)
    return jax.vmap(lambda s: finish(layout, s, anchor, errordef, tolerance))(queue.done)


class PullSummary(NamedTuple):
    """Mean and width of pulls :math:`(\\hat\\theta - \\theta_{true})/\\sigma`, with MC errors.

    Fields (``()``, over the n toys that count):
        mean: sample mean of the pulls (0 for an unbiased estimator).
        width: sample standard deviation (1 when the errors are right).
        mean_error: :math:`w/\\sqrt n`.
        width_error: :math:`w/\\sqrt{2(n-1)}` (Gaussian pulls).
        n: number of toys used (int32).

    Example:
        Four toys with pulls 1, -1, 2, -2: no bias, width :math:`\\sqrt{10/3}`.

        >>> from jaxphys.fitting import pull_summary
        >>> s = pull_summary(jnp.array([0.5, -0.5, 1.0, -1.0]), jnp.full(4, 0.5), 0.0)
        >>> float(s.mean), round(float(s.width), 4), int(s.n)
        (0.0, 1.8257, 4)
        >>> round(float(s.mean_error), 4), round(float(s.width_error), 4)    # w/√4, w/√6
        (0.9129, 0.7454)
    """

    mean: jax.Array
    width: jax.Array
    mean_error: jax.Array
    width_error: jax.Array
    n: jax.Array


def _precision_of(*arrays: Any):
    """float64 for concrete float64 inputs whatever the x64 flag (toy fits are float64)."""
    concrete = all(not isinstance(a, jax.core.Tracer) for a in arrays if a is not None)
    wide = any(getattr(a, "dtype", None) == np.float64 for a in arrays)
    return jax.enable_x64(True) if concrete and wide else contextlib.nullcontext()


def pull_summary(values: Any, errors: Any, truth: Any, valid: Any = None) -> PullSummary:
    r"""Pull statistics of toy fits of one parameter.

    Args:
        values: ``(n,)`` fitted values.
        errors: ``(n,)`` their errors (HESSE, or a MINOS side).
        truth: the true value (scalar) or ``(n,)``.
        valid: optional ``(n,)`` bool mask of the toys to use (e.g. ``fits.valid``).

    Returns:
        :class:`PullSummary`.

    Example:
        >>> from jaxphys.fitting import pull_summary
        >>> s = pull_summary(jnp.array([0.9, 1.1, 1.0, 1.0]), jnp.full(4, 0.1), 1.0)
        >>> round(float(s.mean), 6), round(float(s.width), 4)
        (0.0, 0.8165)
    """
    with _precision_of(values, errors):
        return _pull_summary(values, errors, truth, valid)


def _pull_summary(values, errors, truth, valid):
    values = as_array(values, "values", ndim=1)
    errors = as_array(errors, "errors", ndim=1)
    if errors.shape != values.shape:
        raise ValueError(f"errors: expected shape {tuple(values.shape)} (that of values), got "
                         f"{tuple(errors.shape)}")
    mask = jnp.ones(values.shape, bool) if valid is None else as_array(valid, "valid", ndim=1)
    if mask.shape != values.shape:
        raise ValueError(f"valid: expected shape {tuple(values.shape)}, got {tuple(mask.shape)}")
    pulls = (values - jnp.broadcast_to(jnp.asarray(truth, values.dtype), values.shape)) / errors
    mask = mask & jnp.isfinite(pulls)
    n = jnp.sum(mask)
    nf = n.astype(values.dtype)
    mean = jnp.sum(jnp.where(mask, pulls, 0.0)) / nf
    var = jnp.sum(jnp.where(mask, (pulls - mean) ** 2, 0.0)) / (nf - 1.0)
    width = jnp.sqrt(var)
    return PullSummary(mean=mean, width=width, mean_error=width / jnp.sqrt(nf),
                       width_error=width / jnp.sqrt(2.0 * (nf - 1.0)), n=n.astype(jnp.int32))


class Coverage(NamedTuple):
    """Fraction of toy intervals that contain the truth, with its binomial error.

    Fields (``()``):
        fraction: covered / n.
        error: :math:`\\sqrt{f(1-f)/n}`.
        n: number of toys used (int32).

    Example:
        Five toy intervals, the last one from an invalid fit; three of the other four
        contain the truth 1.0.

        >>> from jaxphys.fitting import coverage
        >>> c = coverage(jnp.array([0.0, 0.5, 1.5, 0.2, 0.0]),
        ...              jnp.array([2.0, 2.0, 3.0, 1.9, 9.0]), 1.0,
        ...              valid=jnp.array([True, True, True, True, False]))
        >>> float(c.fraction), round(float(c.error), 4), int(c.n)     # √(0.75·0.25/4)
        (0.75, 0.2165, 4)
    """

    fraction: jax.Array
    error: jax.Array
    n: jax.Array


def coverage(lower: Any, upper: Any, truth: Any, valid: Any = None) -> Coverage:
    """Coverage of intervals ``[lower, upper]`` over toys.

    Args:
        lower, upper: ``(n,)`` interval ends.
        truth: the true value (scalar) or ``(n,)``.
        valid: optional ``(n,)`` bool mask of the toys to use.

    Returns:
        :class:`Coverage`.

    Example:
        >>> from jaxphys.fitting import coverage
        >>> c = coverage(jnp.array([0.0, 0.5, 1.5]), jnp.array([2.0, 2.0, 3.0]), 1.0)
        >>> round(float(c.fraction), 4)
        0.6667
    """
    with _precision_of(lower, upper):
        return _coverage(lower, upper, truth, valid)


def _coverage(lower, upper, truth, valid):
    lower = as_array(lower, "lower", ndim=1)
    upper = as_array(upper, "upper", ndim=1)
    if upper.shape != lower.shape:
        raise ValueError(f"upper: expected shape {tuple(lower.shape)}, got {tuple(upper.shape)}")
    mask = jnp.ones(lower.shape, bool) if valid is None else as_array(valid, "valid", ndim=1)
    if mask.shape != lower.shape:
        raise ValueError(f"valid: expected shape {tuple(lower.shape)}, got {tuple(mask.shape)}")
    t = jnp.broadcast_to(jnp.asarray(truth, lower.dtype), lower.shape)
    inside = (lower <= t) & (t <= upper)
    mask = mask & jnp.isfinite(lower) & jnp.isfinite(upper)
    n = jnp.sum(mask)
    f = jnp.sum(inside & mask) / n
    return Coverage(fraction=f, error=jnp.sqrt(f * (1.0 - f) / n), n=n.astype(jnp.int32))
