"""Convolutional encoder and decoder for image VAEs.

Both work on flattened images ``(n, H·W·C)`` (the :class:`VAE` contract: ``data_dim =
H·W·C``) and reshape to ``(n, H, W, C)`` inside, so every VAE helper (ELBO, importance
sampling, sampling, interpolation) works unchanged. ``H`` and ``W`` must be divisible by
``2^len(channels)`` (each convolution after the first halves them).

Give them to :class:`VAE`::

    VAE(data_dim=64, latent_dim=8, encoder=ConvEncoder(8, (8, 8, 1)),
        decoder=ConvDecoder((8, 8, 1)))
"""

from __future__ import annotations

from typing import Callable, Sequence

import distrax
import flax.linen as nn
import jax.numpy as jnp
import numpy as np

from ..nn import Conv2D, ConvTranspose2D, get_activation
from ._vae_posteriors import posterior_head


def _check_image_shape(image_shape, n_down: int, name: str) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{name}: expected (height, width, channels), got {image_shape}")
    f = 2 ** n_down
    if shape[0] % f or shape[1] % f:
        raise ValueError(f"{name}: height and width must be divisible by 2^{n_down} = {f} "
                         f"(one halving per convolution after the first), got {shape}")
    return shape


def _images(layer: nn.Module, h):
    """``layer`` on images ``(..., H, W, C)`` with any number of leading axes (importance
    samples, batch): they are flattened into one batch axis and restored."""
    lead = h.shape[:-3]
    y = layer(h.reshape((-1,) + h.shape[-3:]))
    return y.reshape(lead + y.shape[1:])


class ConvEncoder(nn.Module):
    """Convolutional encoder ``x (n, H·W·C) -> q(z|x)``.

    Layers: a 3×3 convolution with ``channels[0]`` filters, then one 3×3 stride-2
    convolution per further entry of ``channels`` (each halves height and width), a
    dense layer of ``hidden`` units, and :func:`posterior_head` (the diagonal Gaussian, or
    with ``flow_layers > 0`` the Gaussian through inverse autoregressive flow layers).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> enc = ConvEncoder(latent_dim=2, image_shape=(8, 8, 1), channels=(4, 8), hidden=16)
        >>> v = jax.jit(enc.init)(jax.random.key(0), jnp.zeros((1, 64)))
        >>> q = jax.jit(enc.apply)(v, jnp.ones((3, 64)))
        >>> q.batch_shape, q.event_shape
        ((3,), (2,))
    """

    latent_dim: int
    image_shape: Sequence[int] = (8, 8, 1)
    channels: Sequence[int] = (32, 64)
    hidden: int = 256
    activation: str | Callable = "relu"
    flow_layers: int = 0
    flow_hidden: Sequence[int] = (64,)

    @nn.compact
    def __call__(self, x):
        act = get_activation(self.activation)
        h_, w_, c_ = _check_image_shape(self.image_shape, len(self.channels) - 1, "image_shape")
        if x.shape[-1] != h_ * w_ * c_:
            raise ValueError(f"x: expected shape (n, {h_ * w_ * c_}) for images "
                             f"{(h_, w_, c_)}, got {tuple(x.shape)}")
        h = x.reshape(x.shape[:-1] + (h_, w_, c_))
        for i, ch in enumerate(self.channels):
            h = act(_images(Conv2D(int(ch), (3, 3), strides=1 if i == 0 else 2,
                                   padding="SAME", name=f"conv{i}"), h))
        h = h.reshape(h.shape[:-3] + (int(np.prod(h.shape[-3:])),))
        h = act(nn.Dense(int(self.hidden), name="dense")(h))
        return posterior_head(h, self.latent_dim, flow_layers=self.flow_layers,
                              flow_hidden=self.flow_hidden, activation=self.activation)


class ConvDecoder(nn.Module):
    """Convolutional decoder ``z (n, L) -> p(x|z)`` over flattened images (n, H·W·C).

    Layers (the encoder mirrored): a dense layer of ``hidden`` units, a dense layer to a
    ``(H/2^k, W/2^k, channels[0])`` map (``k = len(channels) - 1``), one 3×3 stride-2
    transposed convolution per further entry of ``channels`` (each doubles height and
    width), and a 3×3 convolution to ``C`` output channels: the logits of independent
    Bernoulli pixels (``likelihood='bernoulli'``) or the means of a Gaussian with one
    learned scale per pixel, initialised at ``init_scale`` (``'gaussian'``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> dec = ConvDecoder((8, 8, 1), channels=(8, 4), hidden=16)
        >>> v = jax.jit(dec.init)(jax.random.key(0), jnp.zeros((1, 2)))
        >>> jax.jit(dec.apply)(v, jnp.zeros((3, 2))).log_prob(jnp.ones((3, 64))).shape
        (3,)
    """

    image_shape: Sequence[int] = (8, 8, 1)
    channels: Sequence[int] = (64, 32)
    hidden: int = 256
    activation: str | Callable = "relu"
    likelihood: str = "bernoulli"
    init_scale: float = 0.3

    @nn.compact
    def __call__(self, z):
        act = get_activation(self.activation)
        n_up = len(self.channels) - 1
        h_, w_, c_ = _check_image_shape(self.image_shape, n_up, "image_shape")
        if self.likelihood not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood: expected 'bernoulli' or 'gaussian', got "
                             f"{self.likelihood!r}")
        hs, ws = h_ // 2 ** n_up, w_ // 2 ** n_up
        h = act(nn.Dense(int(self.hidden), name="dense")(z))
        h = act(nn.Dense(hs * ws * int(self.channels[0]), name="project")(h))
        h = h.reshape(h.shape[:-1] + (hs, ws, int(self.channels[0])))
        for i, ch in enumerate(self.channels[1:]):
            h = act(_images(ConvTranspose2D(int(ch), (3, 3), strides=(2, 2),
                                            padding="SAME", name=f"deconv{i}"), h))
        out = _images(Conv2D(c_, (3, 3), padding="SAME", name="out"), h)
        out = out.reshape(out.shape[:-3] + (h_ * w_ * c_,))
        if self.likelihood == "bernoulli":
            return distrax.Independent(distrax.Bernoulli(logits=out), 1)
        log_scale = self.param("log_scale", nn.initializers.constant(np.log(self.init_scale)),
                               (h_ * w_ * c_,))
        return distrax.MultivariateNormalDiag(out, jnp.broadcast_to(jnp.exp(log_scale),
                                                                    out.shape))
