"""Diffusion denoisers: flax modules called as ``apply(variables, x, t, y)``.

``x`` is batched ``(n, ...)``, ``t`` int ``(n,)`` and ``y`` int ``(n,)`` or ``None`` (the
null label of classifier-free guidance is ``n_classes``). :class:`TimeMLP` is for
low-dimensional data, :class:`DiffusionUNet` (a ``jaxphys.nn.UNet`` with the time and
class embeddings fed as extra channels) for small images; both embed the time step
with :func:`timestep_embedding`.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from .._checks import as_int
from ..nn import UNet

__all__ = ["timestep_embedding", "TimeMLP", "DiffusionUNet"]


def timestep_embedding(t: jax.Array, dim: int, max_period: float = 10_000.0) -> jax.Array:
    """Sinusoidal embedding of (integer or real) times ``t`` ``(n,) -> (n, dim)``:
    ``[cos(t ω_k), sin(t ω_k)]`` with ``ω_k = max_period^(-k/(dim/2))``.

    Example:
        >>> timestep_embedding(jnp.array([0, 5]), 4).shape
        (2, 4)
    """
    dim = as_int(dim, "dim", minimum=2)
    if dim % 2:
        raise ValueError(f"dim: expected an even number (cos and sin pairs), got {dim}")
    half = dim // 2
    freqs = jnp.exp(-jnp.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
    args = jnp.asarray(t, jnp.float32)[:, None] * freqs[None, :]
    return jnp.concatenate([jnp.cos(args), jnp.sin(args)], axis=-1)


class _Conditioning(nn.Module):
    """Embedding of (t, y): sinusoidal(t) → Dense → SiLU → Dense, plus a learned
    class embedding (index ``n_classes`` is the null label)."""

    emb_dim: int
    n_classes: int | None

    @nn.compact
    def __call__(self, t, y):
        e = timestep_embedding(t, self.emb_dim)
        e = nn.Dense(self.emb_dim)(nn.silu(nn.Dense(self.emb_dim)(e)))
        if self.n_classes is not None:
            if y is None:
                y = jnp.full(jnp.shape(t), self.n_classes, jnp.int32)
            e = e + nn.Embed(self.n_classes + 1, self.emb_dim)(y)
        return e


class TimeMLP(nn.Module):
    """Time- (and optionally class-) conditioned MLP denoiser for vectors.

    ``h_0 = x``; ``h_{l+1} = SiLU(W_l h_l + b_l + U_l e(t, y))`` for each hidden
    width; output ``W_out h_L`` with the dimension of ``x``.

    Attributes:
        widths: hidden widths.
        emb_dim: size of the time / class embedding e(t, y).
        n_classes: number of classes for conditional generation (``None``:
            unconditional). Label ``n_classes`` is the null label of classifier-free guidance.

    Call ``(x (n, d), t (n,), y (n,) or None) -> (n, d)``.

    Example:
        >>> net = TimeMLP(widths=(16, 16))
        >>> v = net.init(jax.random.key(0), jnp.zeros((5, 2)), jnp.zeros(5, jnp.int32))
        >>> net.apply(v, jnp.ones((5, 2)), jnp.arange(5)).shape
        (5, 2)
    """

    widths: Sequence[int] = (128, 128, 128)
    emb_dim: int = 64
    n_classes: int | None = None

    @nn.compact
    def __call__(self, x, t, y=None):
        if jnp.ndim(x) != 2:
            raise ValueError(f"x: TimeMLP expects a batch of vectors (n, d), got shape "
                             f"{tuple(jnp.shape(x))}")
        e = _Conditioning(self.emb_dim, self.n_classes)(t, y)
        h = x
        for i, w in enumerate(self.widths):
            h = nn.silu(nn.Dense(w, name=f"dense{i}")(h) + nn.Dense(w, name=f"emb{i}")(e))
        return nn.Dense(x.shape[-1], name="out")(h)


class DiffusionUNet(nn.Module):
    """Small image denoiser: ``jaxphys.nn.UNet`` applied to ``[x, e(t, y)]``, the time
    (and class) embedding projected to ``emb_channels`` and broadcast over the pixels.

    Attributes:
        features, depth: of the U-Net (H, W divisible by ``2**depth``).
        emb_dim: embedding size; emb_channels: channels it is projected to.
        n_classes: classes for conditional generation (``None``: unconditional).

    Call ``(x (n, H, W, C), t (n,), y (n,) or None) -> (n, H, W, C)``.

    Example:
        >>> net = DiffusionUNet(features=4, depth=1, n_classes=10)
        >>> v = jax.jit(net.init)(jax.random.key(0), jnp.zeros((1, 8, 8, 1)),
        ...                       jnp.zeros(1, jnp.int32))
        >>> jax.jit(net.apply)(v, jnp.ones((2, 8, 8, 1)), jnp.arange(2), jnp.arange(2)).shape
        (2, 8, 8, 1)
    """

    features: int = 32
    depth: int = 1
    emb_dim: int = 64
    emb_channels: int = 8
    n_classes: int | None = None
    activation: str = "silu"

    @nn.compact
    def __call__(self, x, t, y=None):
        if jnp.ndim(x) != 4:
            raise ValueError(f"x: DiffusionUNet expects images (n, H, W, C), got shape "
                             f"{tuple(jnp.shape(x))}")
        e = _Conditioning(self.emb_dim, self.n_classes)(t, y)
        e = nn.Dense(self.emb_channels)(nn.silu(e))
        n, h, w, c = x.shape
        planes = jnp.broadcast_to(e[:, None, None, :], (n, h, w, self.emb_channels))
        return UNet(out_channels=c, features=self.features, depth=self.depth,
                    activation=self.activation, kernel_init="lecun_normal")(
            jnp.concatenate([x, planes], axis=-1))
