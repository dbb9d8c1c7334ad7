"""Conditioner networks for normalising flows: a coupling MLP and MADE.

Both take the flow variable and an optional context embedding ``c`` (..., e) and
return per-coordinate bijector parameters: :class:`CouplingNet` maps the kept
coordinates of a coupling layer (..., k) to the parameters of the transformed ones
(..., n_out, P); :class:`MADE` maps ``x`` (..., d) to (..., d, P), output ``i``
depending on ``x_{<i}`` only. The final
layer is zero-initialised, so a freshly initialised flow is the identity map (for
the affine and spline bijectors used here, zero parameters mean identity).

The context enters the first hidden layer through its own dense layer (named
``context``), unmasked: ``h₁ = σ(W x + V c + b)``. Its kernel has shape (e, h₁),
which is how a flow recovers the expected context size from its parameters.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ..nn import get_activation


def broadcast_batch(x: jax.Array, ctx: jax.Array | None):
    """Broadcast ``x`` (..., d) and ``ctx`` (..., e) to a common batch shape."""
    if ctx is None:
        return x, None
    batch = jnp.broadcast_shapes(x.shape[:-1], ctx.shape[:-1])
    return (jnp.broadcast_to(x, batch + x.shape[-1:]),
            jnp.broadcast_to(ctx, batch + ctx.shape[-1:]))


class CouplingNet(nn.Module):
    """MLP conditioner of a coupling layer: the kept coordinates ``x`` (..., k) and an
    optional context ``c`` (..., e) give the parameters (..., n_out, n_params) of the
    ``n_out`` transformed coordinates.

    ``k`` may be 0 (a one-dimensional flow: the conditioner then sees only the context,
    or nothing, and its first hidden layer is a learned bias).

    Attributes:
        hidden: hidden widths (at least one).
        n_out: number of transformed coordinates.
        n_params: bijector parameters per coordinate (2 for affine, 3K+1 for a
            K-bin spline).
        activation: hidden activation (name or callable).
    """

    hidden: Sequence[int]
    n_out: int
    n_params: int
    activation: str | Callable = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, ctx: jax.Array | None = None) -> jax.Array:
        act = get_activation(self.activation)
        x, ctx = broadcast_batch(x, ctx)
        width = int(self.hidden[0])
        if x.shape[-1] > 0:
            h = nn.Dense(width, name="dense_0")(x)
        else:
            bias = self.param("bias_0", nn.initializers.zeros, (width,), x.dtype)
            h = jnp.broadcast_to(bias, x.shape[:-1] + (width,))
        if ctx is not None:
            h = h + nn.Dense(width, use_bias=False, name="context")(ctx)
        h = act(h)
        for i, w in enumerate(self.hidden[1:]):
            h = act(nn.Dense(int(w), name=f"dense_{i + 1}")(h))
        out = nn.Dense(self.n_out * self.n_params, kernel_init=nn.initializers.zeros,
                       bias_init=nn.initializers.zeros, name="out")(h)
        return out.reshape(x.shape[:-1] + (self.n_out, self.n_params))


class MaskedDense(nn.Module):
    """Dense layer whose kernel is multiplied by a fixed 0/1 mask (d_in, features)."""

    mask: np.ndarray
    zero_init: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        d_in, features = self.mask.shape
        kinit = nn.initializers.zeros if self.zero_init else nn.initializers.lecun_normal()
        kernel = self.param("kernel", kinit, (d_in, features), x.dtype)
        bias = self.param("bias", nn.initializers.zeros, (features,), x.dtype)
        y = x @ (kernel * jnp.asarray(self.mask, x.dtype))
        return y + jnp.broadcast_to(bias, y.shape)


def made_masks(d: int, hidden: Sequence[int], n_params: int) -> list[np.ndarray]:
    r"""MADE masks (Germain et al. 2015) for inputs ordered 1..d.

    Input ``i`` has degree ``i`` (1-based), hidden unit ``k`` of every layer degree
    ``k mod d`` (0..d-1; degree-0 units see no input, only the context, and feed
    every output), output ``(i, p)`` degree ``i``. A hidden unit connects to a
    previous unit when its degree is ≥ that unit's; an output connects when its
    degree is strictly greater. So output ``i`` depends on ``x_{<i}`` only.
    """
    deg_in = np.arange(1, d + 1)
    degs = [deg_in] + [np.arange(int(w)) % d for w in hidden]
    masks = [(degs[k + 1][None, :] >= degs[k][:, None]).astype(np.float32)
             for k in range(len(hidden))]
    deg_out = np.repeat(deg_in, n_params)
    masks.append((deg_out[None, :] > degs[-1][:, None]).astype(np.float32))
    return masks


class MADE(nn.Module):
    """Masked autoencoder for distribution estimation: (x (..., d), c) -> (..., d, n_params)
    where output ``[..., i, :]`` depends only on ``x[..., :i]`` (and the context)."""

    hidden: Sequence[int]
    n_params: int = 2
    activation: str | Callable = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, ctx: jax.Array | None = None) -> jax.Array:
        act = get_activation(self.activation)
        x, ctx = broadcast_batch(x, ctx)
        d = x.shape[-1]
        masks = made_masks(d, self.hidden, self.n_params)
        h = MaskedDense(masks[0], name="dense_0")(x)
        if ctx is not None:
            h = h + nn.Dense(int(self.hidden[0]), use_bias=False, name="context")(ctx)
        h = act(h)
        for i, m in enumerate(masks[1:-1]):
            h = act(MaskedDense(m, name=f"dense_{i + 1}")(h))
        out = MaskedDense(masks[-1], zero_init=True, name="out")(h)
        return out.reshape(x.shape[:-1] + (d, self.n_params))
