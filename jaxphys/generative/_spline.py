r"""A lean rational-quadratic spline bijector (Durkan et al. 2019) with identity tails.

The mathematics is that of ``distrax.RationalQuadraticSpline(params, range_min,
range_max, boundary_slopes='identity')`` (same parameter layout, same
reparameterisation, same ``min_bin_size`` and ``min_knot_slope``), written with whole
arrays instead of a ``jnp.vectorize`` over scalars: the bin is found by ``K-1``
comparisons, its two knots' (position, value, slope) come from two gathers of the
stacked tables, and the rest is a few fused elementwise loops. It is the inner bijector
of :class:`jaxphys.generative.NeuralSplineFlow`.

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


def _bin_edges(unnormalised, lo: float, hi: float, min_size: float):
    """Knot positions (..., K+1) from unnormalised bin sizes (..., K), ``lo`` and ``hi``
    exact at the ends."""
    k = unnormalised.shape[-1]
    sizes = jax.nn.softmax(unnormalised, axis=-1) * ((hi - lo) - k * min_size) + min_size
    inner = lo + jnp.cumsum(sizes[..., :-1], axis=-1)
    pad = unnormalised.shape[:-1] + (1,)
    dtype = unnormalised.dtype
    return jnp.concatenate([jnp.full(pad, lo, dtype), inner, jnp.full(pad, hi, dtype)], axis=-1)


def _bin_params(v, knots, tables):
    """For each element of ``v`` (...), the index ``k`` of its bin (``knots_k <= v <
    knots_{k+1}``; bin 0 below the range, bin K-1 above) and the entries ``k`` and
    ``k+1`` of every (..., K+1) table: two gathers from the stacked tables."""
    idx = jnp.sum(v[..., None] >= knots[..., 1:-1], axis=-1, dtype=jnp.int32)
    stacked = jnp.stack(tables, axis=-1)                       # (..., K+1, T)
    idx = idx[..., None, None]
    left = jnp.take_along_axis(stacked, idx, axis=-2)[..., 0, :]
    right = jnp.take_along_axis(stacked, idx + 1, axis=-2)[..., 0, :]
    return ([left[..., i] for i in range(len(tables))],
            [right[..., i] for i in range(len(tables))])


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
        dtype = params.dtype
        self._x_pos = _bin_edges(params[..., :k], lo, hi, min_bin_size)
        self._y_pos = _bin_edges(params[..., k:2 * k], lo, hi, min_bin_size)
        offset = np.log(np.expm1(1.0 - min_knot_slope))
        inner = jax.nn.softplus(params[..., 2 * k + 1:3 * k] + offset) + min_knot_slope
        ones = jnp.ones(params.shape[:-1] + (1,), dtype)
        self._slopes = jnp.concatenate([ones, inner.astype(dtype), ones], axis=-1)

    @property
    def num_bins(self) -> int:
        return self._k

    @property
    def x_pos(self) -> jax.Array:
        """Knot positions on the input axis (..., K+1)."""
        return self._x_pos

    @property
    def y_pos(self) -> jax.Array:
        """Knot positions on the output axis (..., K+1)."""
        return self._y_pos

    @property
    def knot_slopes(self) -> jax.Array:
        """Slopes at the knots (..., K+1); the first and last are 1."""
        return self._slopes

    def _prepare(self, v, knots):
        """Broadcast ``v`` (...) against the spline's tables; return ``v``, the in-range
        mask and the bin's (left, right) entries of (x_pos, y_pos, knot_slopes)."""
        v = jnp.asarray(v)
        batch = jnp.broadcast_shapes(v.shape, knots.shape[:-1])
        v = jnp.broadcast_to(v, batch)
        tables = [jnp.broadcast_to(t, batch + t.shape[-1:])
                  for t in (self._x_pos, self._y_pos, self._slopes)]
        knots = jnp.broadcast_to(knots, batch + knots.shape[-1:])
        left, right = _bin_params(v, knots, tables)
        in_range = (v > self._lo) & (v < self._hi)
        return v, in_range, left, right

    def forward_and_log_det(self, x):
        """``y = f(x)`` and ``log f'(x)`` elementwise, shapes (...)."""
        x, in_range, (xk, yk, dk), (xk1, yk1, dk1) = self._prepare(x, self._x_pos)
        width, height = xk1 - xk, yk1 - yk
        slope = height / width
        xi = jnp.clip((x - xk) / width, 0.0, 1.0)
        xi1mxi = xi * (1.0 - xi)
        den = slope + (dk1 + dk - 2.0 * slope) * xi1mxi
        y = yk + height * (slope * xi * xi + dk * xi1mxi) / den
        num = slope * slope * (dk1 * xi * xi + 2.0 * slope * xi1mxi + dk * (1.0 - xi) ** 2)
        log_det = jnp.log(num) - 2.0 * jnp.log(den)
        return jnp.where(in_range, y, x), jnp.where(in_range, log_det, 0.0)

    def inverse_and_log_det(self, y):
        """``x = f^{-1}(y)`` and ``log |d f^{-1}/dy|`` elementwise, shapes (...)."""
        y, in_range, (xk, yk, dk), (xk1, yk1, dk1) = self._prepare(y, self._y_pos)
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
        log_det = 2.0 * jnp.log(den) - jnp.log(num)
        return jnp.where(in_range, x, y), jnp.where(in_range, log_det, 0.0)
