r"""A lean rational-quadratic spline bijector (Durkan et al. 2019) with identity tails.

The mathematics is that of ``distrax.RationalQuadraticSpline(params, range_min,
range_max, boundary_slopes='identity')`` (same parameter layout, same
reparameterisation, same ``min_bin_size`` and ``min_knot_slope``), written for speed
in two layouts chosen from the batch size at trace time (see ``_UNROLL_MIN_SIZE``):
whole (..., K+1) tables with the bin found by ``K-1`` comparisons and its knots by two
gathers (few kernels: small batches, training), or the ``K`` bins unrolled into lists
of batch-shaped arrays so that the softmax, the cumulative sums, the bin search and
the selection (a chain of ``where``) are elementwise over the batch and vectorise
(large batches: density evaluation). Only the two slopes of a point's bin go through
the softplus. It is the inner bijector of :class:`jaxphys.generative.NeuralSplineFlow`.

**Parameters.** ``params`` (..., 3K+1), unconstrained, for ``K`` bins on
``[lo, hi]`` (``lo = range_min``, ``hi = range_max``, ``L = hi - lo``):

* widths ``w_k = softmax(params[..., :K])_k (L - K m) + m`` and heights ``h_k`` from
  ``params[..., K:2K]`` the same way (``m = min_bin_size``), so every bin is at least
  ``m`` wide and high and they tile ``[lo, hi]`` on both axes;
* knots ``x_0 = lo, x_k = lo + Σ_{j<k} w_j, x_K = hi`` (and ``y_k`` likewise);
* interior knot slopes ``δ_k = softplus(params[..., 2K + k] + c) + s`` for
  ``k = 1..K-1`` with ``c = log(e^{1-s} - 1)``, ``s = min_knot_slope`` (so a zero
  parameter gives slope 1); the boundary slopes ``δ_0 = δ_K = 1`` (the entries
  ``params[..., 2K]`` and ``params[..., 3K]`` are ignored, as in distrax).

All-zero parameters give the identity map.

**Forward** (``x`` in bin ``k``, ``ξ = (x - x_k)/(x_{k+1} - x_k) ∈ [0, 1]``,
``s_k = (y_{k+1} - y_k)/(x_{k+1} - x_k)``):

.. math::
    y = y_k + \frac{(y_{k+1} - y_k)\,[s_k ξ^2 + δ_k ξ(1-ξ)]}{s_k + (δ_{k+1} + δ_k - 2 s_k)\,ξ(1-ξ)},
    \qquad
    \frac{dy}{dx} = \frac{s_k^2\,[δ_{k+1} ξ^2 + 2 s_k ξ(1-ξ) + δ_k (1-ξ)^2]}
                         {[s_k + (δ_{k+1} + δ_k - 2 s_k)\,ξ(1-ξ)]^2}.

**Inverse** (``y`` in bin ``k``, ``ω = (y - y_k)/(y_{k+1} - y_k)``): ``ξ`` is the root in
``[0, 1]`` of ``a ξ² + b ξ + c = 0`` with ``c = -s_k ω``, ``b = δ_k - (δ_{k+1} + δ_k -
2 s_k) ω``, ``a = s_k - b``, taken in the cancellation-free form ``2c / (-b - √(b² - 4ac))``
when ``b ≥ 0`` and ``(-b + √(b² - 4ac)) / 2a`` otherwise; ``log|dx/dy| = -log|dy/dx|`` at
that ``ξ``.

**Tails.** Outside ``(lo, hi)`` the map is the identity (``log|det J| = 0``); with the
boundary slopes fixed to 1 it is continuously differentiable on the whole real line.

Example:
    >>> import jax.numpy as jnp
    >>> spline = RationalQuadraticSpline(jnp.zeros((2, 3 * 4 + 1)), -5.0, 5.0)
    >>> y, log_det = spline.forward_and_log_det(jnp.array([0.5, 7.0]))   # zeros: identity
    >>> [round(v, 6) for v in y.tolist()], log_det.tolist()
    ([0.5, 7.0], [0.0, 0.0])
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp
import numpy as np


# Two layouts of the same arithmetic. Stacked: the tables are (..., K+1) arrays, the bin
# is found by comparisons along the last axis and its knots by two gathers; few kernels,
# which small batches (training minibatches) want. Unrolled: every table is a list of
# K+1 arrays of the batch shape and everything is elementwise over the batch (a chain of
# ``where`` selects the bin's knots); XLA vectorises it, which large batches (density
# evaluation) want: a softmax or a gather along a trailing axis of size K does not
# vectorise. The layout is chosen from the number of elements at trace time.
_UNROLL_MIN_SIZE = 2048


def _knots_stacked(unnormalised, lo: float, hi: float, min_size: float):
    """Knot positions (..., K+1) from unnormalised bin sizes (..., K), ``lo`` and ``hi``
    exact at the ends."""
    k = unnormalised.shape[-1]
    sizes = jax.nn.softmax(unnormalised, axis=-1) * ((hi - lo) - k * min_size) + min_size
    inner = lo + jnp.cumsum(sizes[..., :-1], axis=-1)
    pad = unnormalised.shape[:-1] + (1,)
    dtype = unnormalised.dtype
    return jnp.concatenate([jnp.full(pad, lo, dtype), inner, jnp.full(pad, hi, dtype)], axis=-1)


def _select_stacked(v, knots, tables):
    """For each element of ``v`` (...), the entries ``k`` and ``k+1`` of every (..., K+1)
    table, ``k`` the bin with ``knots_k <= v < knots_{k+1}`` (bin 0 below the range, bin
    K-1 above): ``K-1`` comparisons and two gathers from the stacked tables."""
    idx = jnp.sum(v[..., None] >= knots[..., 1:-1], axis=-1, dtype=jnp.int32)
    stacked = jnp.stack(tables, axis=-1)                       # (..., K+1, T)
    idx = idx[..., None, None]
    left = jnp.take_along_axis(stacked, idx, axis=-2)[..., 0, :]
    right = jnp.take_along_axis(stacked, idx + 1, axis=-2)[..., 0, :]
    return ([left[..., i] for i in range(len(tables))],
            [right[..., i] for i in range(len(tables))])


def _knots_unrolled(columns: list, lo: float, hi: float, min_size: float) -> list:
    """Knot positions ``[x_0 = lo, x_1, ..., x_K = hi]`` (K+1 arrays of the batch shape)
    from the ``K`` columns of unnormalised bin sizes: ``softmax · (hi - lo - K m) + m``
    summed from ``lo``, the last knot exactly ``hi``."""
    k = len(columns)
    top = columns[0]
    for c in columns[1:]:
        top = jnp.maximum(top, c)
    exps = [jnp.exp(c - top) for c in columns]
    total = exps[0]
    for e in exps[1:]:
        total = total + e
    scale = ((hi - lo) - k * min_size) / total
    knots = [jnp.full_like(top, lo)]
    for e in exps[:-1]:
        knots.append(knots[-1] + (e * scale + min_size))
    knots.append(jnp.full_like(top, hi))
    return knots


def _select_unrolled(v, knots: list, tables: list) -> tuple[list, list]:
    """As :func:`_select_stacked` for tables given as lists of K+1 arrays: a chain of
    ``where`` over the inner knots (the knots increase, so the last one passed wins)."""
    left = [t[0] for t in tables]
    right = [t[1] for t in tables]
    for j in range(1, len(knots) - 1):
        past = v >= knots[j]
        left = [jnp.where(past, t[j], a) for t, a in zip(tables, left)]
        right = [jnp.where(past, t[j + 1], b) for t, b in zip(tables, right)]
    return left, right


class RationalQuadraticSpline(distrax.Bijector):
    """Monotone rational-quadratic spline on ``[range_min, range_max]``, identity outside
    (elementwise: event_ndims 0). See the module docstring for the maths.

    Args:
        params: unconstrained parameters (..., 3K+1), ``K >= 1`` bins; broadcast against
            the input's shape (...).
        range_min, range_max: the interval the spline reshapes (``range_min < range_max``).
        min_bin_size: smallest bin width and height (> 0, ``K · min_bin_size <
            range_max - range_min``).
        min_knot_slope: smallest interior knot slope (in (0, 1)).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.generative import RationalQuadraticSpline
        >>> params = jnp.array([0.0, 0.0, jnp.log(3.0), 0.0, 0.0, 0.0, 0.0])   # K = 2 bins
        >>> spline = RationalQuadraticSpline(params, 0.0, 1.0)   # widths ½, ½; heights ¾, ¼
        >>> [round(v, 3) for v in spline.x_pos.tolist()], [round(v, 3) for v in
        ...                                                 spline.y_pos.tolist()]
        ([0.0, 0.5, 1.0], [0.0, 0.75, 1.0])
        >>> y = spline.forward(jnp.array([0.5, 2.0]))     # the knot 0.5 -> 0.75; 2.0: a tail
        >>> [round(v, 3) for v in y.tolist()], [round(v, 4) for v in spline.inverse(y).tolist()]
        ([0.75, 2.0], [0.5, 2.0])
    """

    def __init__(self, params, range_min: float, range_max: float, *,
                 min_bin_size: float = 1e-4, min_knot_slope: float = 1e-4):
        super().__init__(event_ndims_in=0)
        params = jnp.asarray(params)
        if params.ndim < 1 or params.shape[-1] < 4 or params.shape[-1] % 3 != 1:
            raise ValueError(f"params: expected shape (..., 3K+1) with K >= 1 bins, got "
                             f"{tuple(params.shape)}")
        lo, hi = float(range_min), float(range_max)
        if not lo < hi:
            raise ValueError(f"range_min, range_max: expected range_min < range_max, got "
                             f"{range_min} and {range_max}")
        k = (params.shape[-1] - 1) // 3
        if not (0.0 < min_bin_size and k * min_bin_size < hi - lo):
            raise ValueError(f"min_bin_size: expected 0 < min_bin_size < (range_max - "
                             f"range_min) / {k}, got {min_bin_size}")
        if not 0.0 < min_knot_slope < 1.0:
            raise ValueError(f"min_knot_slope: expected a value in (0, 1), got "
                             f"{min_knot_slope}")
        self._lo, self._hi, self._k = lo, hi, k
        self._min_knot_slope = float(min_knot_slope)
        self._min_bin_size = float(min_bin_size)
        self._params = params

    def _raw_slopes_stacked(self):
        """The unconstrained knot-slope parameters (..., K+1), the boundary ones 0 (slope
        1): only the two knots of a point's bin go through the softplus."""
        k, p = self._k, self._params
        zeros = jnp.zeros(p.shape[:-1] + (1,), p.dtype)
        return jnp.concatenate([zeros, p[..., 2 * k + 1:3 * k], zeros], axis=-1)

    def _tables_stacked(self):
        k, p, m = self._k, self._params, self._min_bin_size
        return (_knots_stacked(p[..., :k], self._lo, self._hi, m),
                _knots_stacked(p[..., k:2 * k], self._lo, self._hi, m),
                self._raw_slopes_stacked())

    def _tables_unrolled(self, batch):
        k, m = self._k, self._min_bin_size
        p = jnp.broadcast_to(self._params, batch + self._params.shape[-1:])
        # split (not indexing): its gradient is one concatenation, not 3K+1 pads
        columns = [c[..., 0] for c in jnp.split(p, 3 * k + 1, axis=-1)]
        zero = jnp.zeros_like(columns[0])
        return (_knots_unrolled(columns[:k], self._lo, self._hi, m),
                _knots_unrolled(columns[k:2 * k], self._lo, self._hi, m),
                [zero] + columns[2 * k + 1:3 * k] + [zero])

    def _slope(self, raw):
        """Knot slope ``softplus(raw + c) + s`` (1 for ``raw = 0``)."""
        s = self._min_knot_slope
        return jax.nn.softplus(raw + np.log(np.expm1(1.0 - s))) + s

    @property
    def num_bins(self) -> int:
        return self._k

    @property
    def x_pos(self) -> jax.Array:
        """Knot positions on the input axis (..., K+1)."""
        return self._tables_stacked()[0]

    @property
    def y_pos(self) -> jax.Array:
        """Knot positions on the output axis (..., K+1)."""
        return self._tables_stacked()[1]

    @property
    def knot_slopes(self) -> jax.Array:
        """Slopes at the knots (..., K+1); the first and last are 1."""
        return self._slope(self._raw_slopes_stacked())

    def _prepare(self, v, axis: int):
        """Broadcast ``v`` (...) against the spline's parameters; return ``v``, the
        in-range mask and the bin's (left, right) entries of (x knots, y knots, knot
        slopes), the bin found on the knots of ``axis`` (0: x, 1: y)."""
        v = jnp.asarray(v)
        batch = jnp.broadcast_shapes(v.shape, self._params.shape[:-1])
        v = jnp.broadcast_to(v, batch)
        if int(np.prod(batch, dtype=np.int64)) >= _UNROLL_MIN_SIZE:
            tables = self._tables_unrolled(batch)
            (xk, yk, rk), (xk1, yk1, rk1) = _select_unrolled(v, tables[axis], list(tables))
        else:
            tables = [jnp.broadcast_to(t, batch + t.shape[-1:]) for t in self._tables_stacked()]
            (xk, yk, rk), (xk1, yk1, rk1) = _select_stacked(v, tables[axis], tables)
        in_range = (v > self._lo) & (v < self._hi)
        return v, in_range, (xk, yk, self._slope(rk)), (xk1, yk1, self._slope(rk1))

    def forward_and_log_det(self, x):
        """``y = f(x)`` and ``log f'(x)`` elementwise, shapes (...)."""
        x, in_range, (xk, yk, dk), (xk1, yk1, dk1) = self._prepare(x, 0)
        width, height = xk1 - xk, yk1 - yk
        slope = height / width
        xi = jnp.clip((x - xk) / width, 0.0, 1.0)
        xi1mxi = xi * (1.0 - xi)
        den = slope + (dk1 + dk - 2.0 * slope) * xi1mxi
        y = yk + height * (slope * xi * xi + dk * xi1mxi) / den
        num = slope * slope * (dk1 * xi * xi + 2.0 * slope * xi1mxi + dk * (1.0 - xi) ** 2)
        log_det = jnp.log(num / (den * den))
        return jnp.where(in_range, y, x), jnp.where(in_range, log_det, 0.0)

    def inverse_and_log_det(self, y):
        """``x = f^{-1}(y)`` and ``log |d f^{-1}/dy|`` elementwise, shapes (...)."""
        y, in_range, (xk, yk, dk), (xk1, yk1, dk1) = self._prepare(y, 1)
        width, height = xk1 - xk, yk1 - yk
        slope = height / width
        omega = jnp.clip((y - yk) / height, 0.0, 1.0)
        slopes_term = dk1 + dk - 2.0 * slope
        c = -slope * omega
        b = dk - slopes_term * omega
        a = slope - b
        disc = b * b - 4.0 * a * c
        root = jnp.sqrt(jnp.maximum(disc, jnp.finfo(disc.dtype).tiny))
        root = jnp.where(disc > 0.0, root, 0.0)
        # the stable form for each sign of b; the other branch's denominator is made
        # safe so that neither values nor gradients pick up 0/0
        pos = b >= 0.0
        numer = jnp.where(pos, 2.0 * c, -b + root)
        denom = jnp.where(pos, -b - root, 2.0 * a)
        denom = jnp.where(denom == 0.0, 1.0, denom)
        xi = jnp.clip(numer / denom, 0.0, 1.0)
        x = width * xi + xk
        xi1mxi = xi * (1.0 - xi)
        den = slope + slopes_term * xi1mxi
        num = slope * slope * (dk1 * xi * xi + 2.0 * slope * xi1mxi + dk * (1.0 - xi) ** 2)
        log_det = jnp.log((den * den) / num)
        return jnp.where(in_range, x, y), jnp.where(in_range, log_det, 0.0)
