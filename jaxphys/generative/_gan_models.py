r"""GAN players: MLP and DCGAN-style generators and discriminators, and the minibatch
discrimination layer.

Every player is a flax module called as ``apply(variables, input, train=...)``;
discriminators return one logit per sample ``(n,)``.

Minibatch discrimination (Salimans et al. 2016, "Improved techniques for training GANs",
§3.2) lets the discriminator look at a whole batch, so that a generator that produces
the same sample again and again (mode collapse) is easy to reject. For features
``f(x_i) ∈ R^A`` of the samples in a batch, a learned tensor ``T ∈ R^{A×B×C}`` gives
``M_i = f(x_i) T ∈ R^{B×C}``; with ``c_b(x_i, x_j) = exp(-‖M_{i,b} - M_{j,b}‖₁)``, the
layer appends ``o(x_i)_b = Σ_{j≠i} c_b(x_i, x_j)`` (``b = 1 … B``) to ``f(x_i)``. A
collapsed batch has every ``c_b ≈ 1`` and so ``o_b ≈ n - 1``, unlike a batch of varied
real samples. The discriminator must then see real and generated samples in separate
batches, as :func:`jaxphys.generative.make_gan_step` feeds them.
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxphys.nn import Conv2D, ConvTranspose2D

__all__ = ["MinibatchDiscrimination", "MLPGenerator", "MLPDiscriminator", "DCGenerator",
           "DCDiscriminator"]


class MinibatchDiscrimination(nn.Module):
    """Minibatch features of Salimans et al. (2016): ``(n, A) -> (n, A + n_kernels)``
    (see the module docstring); ``n_kernels`` = B, ``kernel_dim`` = C.

    Example:
        >>> layer = MinibatchDiscrimination(n_kernels=3, kernel_dim=2)
        >>> v = layer.init(jax.random.key(0), jnp.zeros((4, 5)))
        >>> out = layer.apply(v, jnp.zeros((4, 5)))
        >>> out.shape, float(out[0, -1])      # identical samples: Σ_{j≠i} e^0 = n - 1
        ((4, 8), 3.0)
    """

    n_kernels: int = 16
    kernel_dim: int = 8

    @nn.compact
    def __call__(self, features: jax.Array) -> jax.Array:
        if features.ndim != 2:
            raise ValueError(f"features: MinibatchDiscrimination expects (n, A), got shape "
                             f"{tuple(features.shape)}")
        tensor = self.param("kernel", nn.initializers.normal(0.05),
                            (features.shape[1], self.n_kernels * self.kernel_dim))
        m = (features @ tensor).reshape(features.shape[0], self.n_kernels, self.kernel_dim)
        l1 = jnp.sum(jnp.abs(m[:, None, :, :] - m[None, :, :, :]), axis=-1)   # (n, n, B)
        similarity = jnp.sum(jnp.exp(-l1), axis=1) - 1.0                        # j ≠ i
        return jnp.concatenate([features, similarity], axis=-1)


def _head(h: jax.Array, minibatch_kernels: int, kernel_dim: int) -> jax.Array:
    """The final logit, after minibatch features when ``minibatch_kernels > 0``."""
    h = h.reshape(h.shape[0], -1)
    if minibatch_kernels:
        h = MinibatchDiscrimination(minibatch_kernels, kernel_dim)(h)
    return nn.Dense(1)(h)[:, 0]


class MLPGenerator(nn.Module):
    """``z (n, latent) -> x (n, out_dim)``: ReLU MLP with a linear output.

    Example:
        >>> g = MLPGenerator(out_dim=2, widths=(8,))
        >>> v = g.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> g.apply(v, jnp.zeros((3, 4))).shape
        (3, 2)
    """

    out_dim: int
    widths: Sequence[int] = (128, 128)

    @nn.compact
    def __call__(self, z, train: bool = False):
        h = z
        for w in self.widths:
            h = nn.relu(nn.Dense(w)(h))
        return nn.Dense(self.out_dim)(h)


class MLPDiscriminator(nn.Module):
    """``x (n, d) -> logit (n,)``: leaky-ReLU MLP, optionally with minibatch
    discrimination (``minibatch_kernels > 0``) before the output layer.

    Example:
        >>> d = MLPDiscriminator(widths=(8,))
        >>> v = d.init(jax.random.key(0), jnp.zeros((1, 2)))
        >>> d.apply(v, jnp.zeros((3, 2))).shape
        (3,)
    """

    widths: Sequence[int] = (128, 128)
    minibatch_kernels: int = 0
    minibatch_kernel_dim: int = 8

    @nn.compact
    def __call__(self, x, train: bool = False):
        h = x
        for w in self.widths:
            h = nn.leaky_relu(nn.Dense(w)(h), 0.2)
        return _head(h, self.minibatch_kernels, self.minibatch_kernel_dim)


class DCGenerator(nn.Module):
    """DCGAN generator (Radford et al. 2016) for 8×8×1 images in [-1, 1]:
    ``z -> Dense(4·4·2f) -> BN -> ReLU -> ConvT(f, 4×4, stride 2) -> BN -> ReLU ->
    Conv(1, 3×3) -> tanh`` (4×4 → 8×8; the last convolution at full resolution removes
    the checkerboard of a strided transposed convolution, Odena et al. 2016).

    Example:
        >>> g = DCGenerator(features=4)
        >>> v = jax.jit(g.init)(jax.random.key(0), jnp.zeros((2, 8)))
        >>> jax.jit(g.apply)(v, jnp.zeros((3, 8))).shape
        (3, 8, 8, 1)
    """

    features: int = 32

    @nn.compact
    def __call__(self, z, train: bool = False):
        f = self.features
        h = nn.Dense(4 * 4 * 2 * f)(z).reshape(z.shape[0], 4, 4, 2 * f)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
        h = ConvTranspose2D(f, (4, 4), strides=(2, 2), padding="SAME")(h)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
        return jnp.tanh(Conv2D(1, (3, 3), padding="SAME")(h))


class DCDiscriminator(nn.Module):
    """DCGAN discriminator for 8×8×1 images: ``Conv(f, 3×3) -> LReLU -> Conv(2f, 4×4,
    stride 2) -> BN -> LReLU -> Dense(1)`` (8×8 → 4×4 → logit), optionally with
    minibatch discrimination (``minibatch_kernels > 0``) on the flattened features.

    Example:
        >>> d = DCDiscriminator(features=4)
        >>> v = jax.jit(d.init)(jax.random.key(0), jnp.zeros((2, 8, 8, 1)))
        >>> jax.jit(d.apply)(v, jnp.zeros((3, 8, 8, 1))).shape
        (3,)
    """

    features: int = 32
    minibatch_kernels: int = 0
    minibatch_kernel_dim: int = 8

    @nn.compact
    def __call__(self, x, train: bool = False):
        f = self.features
        h = nn.leaky_relu(Conv2D(f, (3, 3), padding="SAME")(x), 0.2)
        h = Conv2D(2 * f, (4, 4), strides=(2, 2), padding="SAME")(h)
        h = nn.leaky_relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h), 0.2)
        return _head(h, self.minibatch_kernels, self.minibatch_kernel_dim)
