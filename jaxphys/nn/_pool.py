r"""Pooling and flattening of channels-last images, and the argument checks of the conv layers.

Images are **NHWC** ``(N, H, W, C)``; every function also accepts one image ``(H, W, C)``.

* :func:`max_pool`: ``y = max`` over each ``k_h × k_w`` window. Its gradient sends the
  upstream gradient to one element per window, the first maximum in row-major window
  order (XLA's ``select_and_scatter`` with ``>=``).
* :func:`avg_pool`: the mean over the real (unpadded) pixels of each window.
* :func:`flatten`: ``(N, ...) -> (N, prod(...))``.

Non-overlapping windows (stride = window, no padding), the pooling of every CNN here, take
a lean path on CPU: the ``k_h k_w`` strided sub-images ``x[:, a::k_h, b::k_w]`` are compared
elementwise, the winner's position is kept as a small integer, and the gradient is placed
back with interior-padded copies. XLA:CPU otherwise expands the ``select_and_scatter`` of
the gradient into a serial scatter. Values and gradients are identical to
``lax.reduce_window``'s (the same comparisons, ties included); other platforms and
overlapping windows use ``lax.reduce_window``.
"""

from __future__ import annotations

import functools
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

Padding = str | int | Sequence[tuple[int, int]]


def pair(v: int | Sequence[int], name: str) -> tuple[int, int]:
    """``(v, v)`` for an int, the pair itself for a pair; positive sizes (checked)."""
    if isinstance(v, (int, np.integer)):
        out = (int(v), int(v))
    else:
        out = tuple(int(a) for a in v)
        if len(out) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}")
    if min(out) < 1:
        raise ValueError(f"{name}: expected positive sizes, got {v!r}")
    return out


def padding_spec(padding: Padding) -> str | list[tuple[int, int]]:
    """``'SAME'`` / ``'VALID'``, an int ``p`` (``p`` zeros on every side), or
    ``((top, bottom), (left, right))``, checked and normalised."""
    if isinstance(padding, str):
        p = padding.upper()
        if p not in ("SAME", "VALID"):
            raise ValueError(f"padding: expected 'SAME', 'VALID', an int or "
                             f"((top, bottom), (left, right)), got {padding!r}")
        return p
    if isinstance(padding, (int, np.integer)):
        if padding < 0:
            raise ValueError(f"padding: expected a non-negative int, got {padding}")
        return [(int(padding), int(padding))] * 2
    pads = [tuple(int(a) for a in pair_) for pair_ in padding]
    if len(pads) != 2 or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ValueError(f"padding: expected ((top, bottom), (left, right)) of "
                         f"non-negative ints, got {padding!r}")
    return pads


def batched(x: jax.Array, what: str) -> tuple[jax.Array, bool]:
    """``x`` as (N, H, W, C) plus whether a batch axis was added; checks the rank."""
    if jnp.ndim(x) == 4:
        return x, False
    if jnp.ndim(x) == 3:
        return x[None], True
    raise ValueError(f"x: {what} expects images of shape (N, H, W, C) or (H, W, C) "
                     f"(channels last), got rank {jnp.ndim(x)} with shape {tuple(jnp.shape(x))}")


def _window_reduce(x: jax.Array, window, strides, padding, init, op) -> jax.Array:
    return jax.lax.reduce_window(x, init, op, (1, *window, 1), (1, *strides, 1),
                                 padding if isinstance(padding, str)
                                 else [(0, 0), *padding, (0, 0)])


def _tiled_views(x: jax.Array, window: tuple[int, int]) -> list[jax.Array]:
    kh, kw = window
    ho, wo = x.shape[1] // kh, x.shape[2] // kw
    return [x[:, a:a + (ho - 1) * kh + 1:kh, b:b + (wo - 1) * kw + 1:kw, :]
            for a in range(kh) for b in range(kw)]


def _tiled_max_forward(x: jax.Array, window: tuple[int, int]):
    views = _tiled_views(x, window)
    value, chosen = views[0], views[0]
    index_dtype = jnp.int8 if len(views) <= 127 else jnp.int32
    index = jnp.zeros(value.shape, index_dtype)
    for position, view in enumerate(views[1:], start=1):
        value = jax.lax.max(value, view)           # NaN propagates, as in reduce_window
        take = ~(chosen >= view)                   # select_and_scatter's `ge`: first max wins
        chosen = jnp.where(take, view, chosen)
        index = jnp.where(take, jnp.asarray(position, index_dtype), index)
    return value, index


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _tiled_max(x: jax.Array, window: tuple[int, int]) -> jax.Array:
    return _tiled_max_forward(x, window)[0]


def _tiled_max_fwd(x, window):
    value, index = _tiled_max_forward(x, window)
    return value, (index, x.shape)


def _tiled_max_bwd(window, residual, g):
    index, shape = residual
    kh, kw = window
    _, h, w, _ = shape
    ho, wo = g.shape[1], g.shape[2]
    zero = jnp.zeros((), g.dtype)
    dx = jnp.zeros(shape, g.dtype)
    for position in range(kh * kw):
        a, b = divmod(position, kw)
        part = jnp.where(index == position, g, zero)
        dx = dx + jax.lax.pad(part, zero, ((0, 0, 0), (a, h - a - (ho - 1) * kh - 1, kh - 1),
                                           (b, w - b - (wo - 1) * kw - 1, kw - 1), (0, 0, 0)))
    return (dx,)


_tiled_max.defvjp(_tiled_max_fwd, _tiled_max_bwd)


def _max_pool_tiled(x: jax.Array, window: tuple[int, int]) -> jax.Array:
    return jax.lax.platform_dependent(
        x, cpu=lambda a: _tiled_max(a, window),
        default=lambda a: _window_reduce(a, window, window, "VALID", -jnp.inf, jax.lax.max))


def _no_padding(pad, window, strides, hw) -> bool:
    if pad == "VALID":
        return True
    if pad == "SAME":
        return all(size % s == 0 and k <= s for size, k, s in zip(hw, window, strides))
    return all(p == (0, 0) for p in pad)


def max_pool(x: jax.Array, window: int | Sequence[int] = 2,
             strides: int | Sequence[int] | None = None, padding: Padding = "VALID") -> jax.Array:
    """Max over each ``window`` (default stride = window: non-overlapping).

    Shapes ``(N, H, W, C) -> (N, H', W', C)`` or ``(H, W, C) -> (H', W', C)`` with
    ``H' = floor((H + pads - k)/s) + 1``; padded positions never win the max.

    Example:
        >>> x = jnp.arange(16.0).reshape(4, 4, 1)
        >>> max_pool(x, 2)[..., 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    xb, added = batched(x, "max_pool")
    window = pair(window, "window")
    strides = window if strides is None else pair(strides, "strides")
    pad = padding_spec(padding)
    if (strides == window and _no_padding(pad, window, strides, xb.shape[1:3])
            and xb.shape[1] >= window[0] and xb.shape[2] >= window[1]
            and jnp.issubdtype(xb.dtype, jnp.floating)):
        y = _max_pool_tiled(xb, window)
    else:
        y = _window_reduce(xb, window, strides, pad, -jnp.inf, jax.lax.max)
    return y[0] if added else y


def avg_pool(x: jax.Array, window: int | Sequence[int] = 2,
             strides: int | Sequence[int] | None = None, padding: Padding = "VALID") -> jax.Array:
    """Mean over each ``window`` (default stride = window).

    With padding, each output is the mean over the *real* (unpadded) pixels of
    its window (padded zeros are not counted).

    Example:
        >>> x = jnp.arange(16.0).reshape(4, 4, 1)
        >>> avg_pool(x, 2)[..., 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    xb, added = batched(x, "avg_pool")
    window = pair(window, "window")
    strides = window if strides is None else pair(strides, "strides")
    pad = padding_spec(padding)
    total = _window_reduce(xb, window, strides, pad, 0.0, jax.lax.add)
    count = _window_reduce(jnp.ones((1, *xb.shape[1:3], 1), xb.dtype), window, strides, pad,
                           0.0, jax.lax.add)
    y = total / count
    return y[0] if added else y


def flatten(x: jax.Array) -> jax.Array:
    """Flatten every axis but the leading (batch) one: ``(N, ...) -> (N, prod(...))``.

    Example:
        >>> flatten(jnp.zeros((2, 4, 4, 3))).shape
        (2, 48)
    """
    if jnp.ndim(x) < 1:
        raise ValueError("x: flatten expects an array with a leading batch axis, got a scalar")
    return jnp.reshape(x, (jnp.shape(x)[0], -1))
