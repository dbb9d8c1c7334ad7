r"""Image-to-image and multi-branch convolutional blocks, channels-last.

* :class:`InceptionBlock`: parallel 1×1, 3×3, 5×5 and pooled branches concatenated
  along the channels (Szegedy et al. 2015, "Going deeper with convolutions").
* :class:`UNet`: an encoder–decoder with skip connections (Ronneberger, Fischer & Brox
  2015, "U-Net: convolutional networks for biomedical image segmentation") for
  image-to-image tasks; output spatial shape = input spatial shape. It is the denoiser of
  :class:`jaxphys.generative.DiffusionUNet`.

Both take ``lowering`` like :class:`~jaxphys.nn.Conv2D` (banded matrix products on CPU, so
that a train step runs as fast inside ``lax.scan``/``fit`` as alone; XLA's convolution on
other platforms). The U-Net's 2×2 stride-2 up-sampling is :class:`UpConv2x2`, the
transposed convolution of ``flax.linen.ConvTranspose`` with the same parameters.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from ._activations import get_activation
from ._conv import Conv2D
from ._conv_lowering import check_lowering, conv_transpose_2x2
from ._initializers import get_initializer
from ._mlp import NORMS, Normalization
from ._pool import batched, max_pool


class UpConv2x2(nn.Module):
    r"""2×2 transposed convolution with stride 2 ('VALID'): doubles H and W.

    .. math:: y_{n,2i+a,2j+b,o} = b_o + \sum_c x_{n,i,j,c}\,K_{1-a,1-b,c,o},
              \quad a, b \in \{0, 1\}

    the map of ``flax.linen.ConvTranspose(features, (2, 2), strides=(2, 2),
    padding='VALID')``, with the same parameters (``kernel`` (2, 2, C_in, features),
    ``bias`` (features,)) created in the same order, so both initialise alike.

    Attributes:
        features: output channels.
        kernel_init: initialiser name or function.
        lowering: ``'auto'`` (one matrix product and a depth-to-space reshape on CPU, XLA's
            transposed convolution elsewhere), ``'matmul'`` or ``'xla'``.

    Input ``(N, H, W, C_in)`` or ``(H, W, C_in)``, output ``(N, 2H, 2W, features)``. Used by
    :class:`UNet` (its ``up{level}_transpose`` layers); not part of the public API.
    """

    features: int
    kernel_init: str | Callable = "lecun_normal"
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = batched(x, "UpConv2x2")
        kernel = self.param("kernel", get_initializer(self.kernel_init),
                            (2, 2, xb.shape[-1], int(self.features)), jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (int(self.features),),
                          jnp.float32)
        dtype = jnp.result_type(xb.dtype, kernel.dtype)
        y = conv_transpose_2x2(xb.astype(dtype), kernel.astype(dtype),
                               check_lowering(self.lowering))
        y = y + bias.astype(dtype)[None, None, None, :]
        return y[0] if added else y


class InceptionBlock(nn.Module):
    """An Inception module (GoogLeNet, Szegedy et al. 2015): four parallel branches,
    concatenated along the channel axis:

    1. 1×1 conv (``features_1x1``);
    2. 1×1 conv (``features_3x3_reduce``) → 3×3 conv (``features_3x3``);
    3. 1×1 conv (``features_5x5_reduce``) → 5×5 conv (``features_5x5``);
    4. 3×3 max pool (stride 1, 'SAME') → 1×1 conv (``features_pool``).

    Every conv is 'SAME' with stride 1 and followed by the activation, so the
    output is ``(N, H, W, f1 + f3 + f5 + fpool)``. ``lowering`` as in :class:`Conv2D`.

    Example:
        >>> blk = InceptionBlock(8, 4, 8, 2, 4, 4)
        >>> v = jax.jit(blk.init)(jax.random.key(0), jnp.ones((1, 8, 8, 3)))
        >>> jax.jit(blk.apply)(v, jnp.ones((2, 8, 8, 3))).shape
        (2, 8, 8, 24)
    """

    features_1x1: int = 16
    features_3x3_reduce: int = 16
    features_3x3: int = 32
    features_5x5_reduce: int = 4
    features_5x5: int = 8
    features_pool: int = 8
    activation: str | Callable = "relu"
    kernel_init: str | Callable = "he_normal"
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = batched(x, "InceptionBlock")
        act = get_activation(self.activation)

        def conv(f, k, name):
            return lambda h: act(Conv2D(int(f), k, padding="SAME", kernel_init=self.kernel_init,
                                        lowering=self.lowering, name=name)(h))

        b1 = conv(self.features_1x1, 1, "b1_1x1")(xb)
        b2 = conv(self.features_3x3, 3, "b2_3x3")(conv(self.features_3x3_reduce, 1,
                                                        "b2_reduce")(xb))
        b3 = conv(self.features_5x5, 5, "b3_5x5")(conv(self.features_5x5_reduce, 1,
                                                        "b3_reduce")(xb))
        b4 = conv(self.features_pool, 1, "b4_pool_proj")(max_pool(xb, 3, 1, "SAME"))
        y = jnp.concatenate([b1, b2, b3, b4], axis=-1)
        return y[0] if added else y


class UNet(nn.Module):
    """U-Net: an encoder–decoder with skip connections for image-to-image maps.

    Level ``l = 0 … depth-1`` of the encoder has two 3×3 'SAME' convolutions with
    ``features·2^l`` channels (each → norm → activation) and is followed by a 2×2
    max pool; the bottleneck has ``features·2^depth`` channels. Each decoder level
    upsamples by a 2×2 transposed convolution of stride 2, concatenates the
    encoder output of the same resolution (the skip connection) and applies two
    3×3 convolutions; a final 1×1 convolution maps to ``out_channels``.

    Attributes:
        out_channels: channels of the output image.
        features: channels of the first level (doubled at each level down).
        depth: number of down-sampling stages (>= 1); H and W must be divisible
            by ``2**depth``.
        activation, kernel_init: by name or callable.
        norm: ``None``, ``'batch'`` or ``'layer'`` after each 3×3 convolution.
        lowering: how the convolutions are computed (see :class:`Conv2D`).

    Call ``(x, train=False)``: ``(N, H, W, C_in) -> (N, H, W, out_channels)``
    (same spatial shape), also unbatched ``(H, W, C_in)``.

    Example:
        >>> net = UNet(out_channels=2, features=4, depth=2)
        >>> v = jax.jit(net.init)(jax.random.key(0), jnp.ones((1, 16, 16, 1)))
        >>> jax.jit(net.apply)(v, jnp.ones((3, 16, 16, 1))).shape
        (3, 16, 16, 2)
    """

    out_channels: int = 1
    features: int = 16
    depth: int = 2
    activation: str | Callable = "relu"
    kernel_init: str | Callable = "he_normal"
    norm: str | None = None
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        xb, added = batched(x, "UNet")
        if int(self.depth) < 1:
            raise ValueError(f"depth: expected >= 1, got {self.depth}")
        factor = 2 ** int(self.depth)
        if xb.shape[1] % factor or xb.shape[2] % factor:
            raise ValueError(f"x: UNet of depth {self.depth} needs H and W divisible by "
                             f"{factor}, got shape {tuple(jnp.shape(x))}")
        if self.norm not in NORMS:
            raise ValueError(f"norm: unknown value {self.norm!r}; expected one of "
                             + ", ".join(repr(k) for k in NORMS))
        act = get_activation(self.activation)

        def double_conv(h, f, name):
            for k in range(2):
                h = Conv2D(f, 3, padding="SAME", kernel_init=self.kernel_init,
                           lowering=self.lowering, name=f"{name}_conv{k}")(h)
                h = act(Normalization(self.norm, name=f"{name}_norm{k}")(h, train))
            return h

        skips = []
        h = xb
        for level in range(int(self.depth)):
            h = double_conv(h, int(self.features) * 2 ** level, f"down{level}")
            skips.append(h)
            h = max_pool(h, 2)
        h = double_conv(h, int(self.features) * 2 ** int(self.depth), "bottleneck")
        for level in reversed(range(int(self.depth))):
            f = int(self.features) * 2 ** level
            h = UpConv2x2(f, kernel_init=self.kernel_init, lowering=self.lowering,
                          name=f"up{level}_transpose")(h)
            h = jnp.concatenate([skips[level], h], axis=-1)
            h = double_conv(h, f, f"up{level}")
        y = Conv2D(int(self.out_channels), 1, padding="VALID", kernel_init=self.kernel_init,
                   lowering=self.lowering, name="out")(h)
        return y[0] if added else y


__all__ = ["InceptionBlock", "UNet"]
