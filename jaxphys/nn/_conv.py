r"""Convolutional layers and networks, channels-last.

Images are **NHWC**: ``(N, H, W, C)`` (batch, height, width, channels); every
layer here also accepts a single image ``(H, W, C)`` and then returns an
unbatched result. A grey-scale 8×8 digit is ``(8, 8, 1)``.

* :class:`Conv2D`: the discrete cross-correlation (what deep learning calls a
  convolution; the kernel is not flipped)

  .. math:: y_{n,i,j,o} = b_o + \sum_{u,v,c} x_{n,\,s_h i + u - p_t,\,s_w j + v - p_l,\,c}\,
            K_{u,v,c,o}

  with stride :math:`(s_h, s_w)` and zero padding :math:`(p_t, p_b, p_l, p_r)`;
  output size :math:`\lfloor (H + p_t + p_b - k_h)/s_h \rfloor + 1`.
* :func:`max_pool`, :func:`avg_pool`: the max / mean over each window;
  :func:`flatten`: ``(N, H, W, C) -> (N, H·W·C)``.
* :class:`CNN`: conv → (norm) → activation → pool blocks and a dense head.
* :class:`LeNet5`: LeCun et al. (1998), for 28×28 (or 32×32) single-channel images.
* :class:`InceptionBlock`: parallel 1×1, 3×3, 5×5 and pooled branches concatenated
  along the channels (Szegedy et al. 2015).
* :class:`UNet`: an encoder–decoder with skip connections (Ronneberger et al. 2015)
  for image-to-image tasks; output spatial shape = input spatial shape.

Wrong input rank, a channel count other than the one the parameters were built
for, or an image too small for the architecture raise a ``ValueError`` naming ``x``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ._activations import get_activation
from ._initializers import get_initializer
from ._mlp import NORMS, Normalization

Padding = str | int | Sequence[tuple[int, int]]


def _pair(v: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(v, (int, np.integer)):
        out = (int(v), int(v))
    else:
        out = tuple(int(a) for a in v)
        if len(out) != 2:
            raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}")
    if min(out) < 1:
        raise ValueError(f"{name}: expected positive sizes, got {v!r}")
    return out


def _padding(padding: Padding) -> str | list[tuple[int, int]]:
    """``'SAME'`` / ``'VALID'``, an int ``p`` (``p`` zeros on every side), or
    ``((top, bottom), (left, right))``."""
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
    pads = [tuple(int(a) for a in pair) for pair in padding]
    if len(pads) != 2 or any(len(p) != 2 or min(p) < 0 for p in pads):
        raise ValueError(f"padding: expected ((top, bottom), (left, right)) of "
                         f"non-negative ints, got {padding!r}")
    return pads


def _batched(x: jax.Array, what: str) -> tuple[jax.Array, bool]:
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
    xb, added = _batched(x, "max_pool")
    window = _pair(window, "window")
    strides = window if strides is None else _pair(strides, "strides")
    y = _window_reduce(xb, window, strides, _padding(padding), -jnp.inf, jax.lax.max)
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
    xb, added = _batched(x, "avg_pool")
    window = _pair(window, "window")
    strides = window if strides is None else _pair(strides, "strides")
    pad = _padding(padding)
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


class Conv2D(nn.Module):
    r"""2-D convolution (cross-correlation) on channels-last images.

    Attributes:
        features: output channels.
        kernel_size: ``k`` or ``(k_h, k_w)``.
        strides: ``s`` or ``(s_h, s_w)``.
        padding: ``'SAME'`` (output ``ceil(H/s)``), ``'VALID'`` (no padding), an int
            ``p`` (p zeros on every side) or ``((top, bottom), (left, right))``.
        use_bias: add a bias per output channel.
        kernel_init: initialiser name or function (fans include the receptive field:
            fan_in = k_h·k_w·C_in).
        bias_init: bias initialiser.

    Parameters: ``kernel`` (k_h, k_w, C_in, features), ``bias`` (features,).
    Input ``(N, H, W, C_in)`` or ``(H, W, C_in)``. Applying parameters built for
    ``C_in`` channels to an image with another channel count raises ``ValueError``.

    Example:
        >>> conv = Conv2D(features=4, kernel_size=3, strides=2, padding=1)
        >>> variables = conv.init(jax.random.key(0), jnp.ones((2, 8, 8, 1)))
        >>> conv.apply(variables, jnp.ones((2, 8, 8, 1))).shape
        (2, 4, 4, 4)
    """

    features: int
    kernel_size: int | Sequence[int] = 3
    strides: int | Sequence[int] = 1
    padding: Padding = "SAME"
    use_bias: bool = True
    kernel_init: str | Callable = "lecun_normal"
    bias_init: str | Callable = "zeros"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = _batched(x, "Conv2D")
        c_in = xb.shape[-1]
        if self.has_variable("params", "kernel"):
            built = self.get_variable("params", "kernel").shape[2]
            if built != c_in:
                raise ValueError(f"x: this layer was built for {built} input channel(s) "
                                 f"(channels last, shape (N, H, W, {built})), got {c_in} "
                                 f"channels in shape {tuple(jnp.shape(x))}")
        kh, kw = _pair(self.kernel_size, "kernel_size")
        strides = _pair(self.strides, "strides")
        kernel = self.param("kernel", get_initializer(self.kernel_init),
                            (kh, kw, c_in, int(self.features)), jnp.float32)
        dtype = jnp.result_type(xb.dtype, kernel.dtype)
        y = jax.lax.conv_general_dilated(
            xb.astype(dtype), kernel.astype(dtype), window_strides=strides,
            padding=_padding(self.padding), dimension_numbers=("NHWC", "HWIO", "NHWC"))
        if self.use_bias:
            bias = self.param("bias", get_initializer(self.bias_init), (int(self.features),),
                              jnp.float32)
            y = y + bias.astype(dtype)[None, None, None, :]
        return y[0] if added else y


def _check_pool(pool: str) -> Callable:
    pools = {"max": max_pool, "avg": avg_pool}
    if pool not in pools:
        raise ValueError(f"pool: unknown value {pool!r}; expected 'max' or 'avg'")
    return pools[pool]


class CNN(nn.Module):
    """A small convolutional classifier: ``len(features)`` blocks of
    Conv2D(3×3 'SAME') → norm → activation → 2×2 pool, then flatten → MLP head.

    Attributes:
        features: channels of each conv block, e.g. ``(32, 64)``.
        n_classes: output width (logits).
        dense: hidden widths of the head.
        kernel_size: conv kernel size.
        activation, kernel_init: by name or callable.
        pool: ``'max'`` or ``'avg'``.
        norm: ``None``, ``'batch'`` or ``'layer'`` after each convolution.
        dropout: dropout rate before each dense layer of the head (train mode only).

    Call ``(x, train=False)`` with ``x`` of shape (N, H, W, C) or (H, W, C); H and W
    must be divisible by ``2**len(features)``.

    Example:
        >>> cnn = CNN(features=(8, 16), n_classes=10, dense=(32,))
        >>> v = jax.jit(cnn.init)(jax.random.key(0), jnp.ones((1, 8, 8, 1)))
        >>> jax.jit(cnn.apply)(v, jnp.ones((5, 8, 8, 1))).shape
        (5, 10)
    """

    features: Sequence[int] = (32, 64)
    n_classes: int = 10
    dense: Sequence[int] = (128,)
    kernel_size: int | Sequence[int] = 3
    activation: str | Callable = "relu"
    kernel_init: str | Callable = "he_normal"
    pool: str = "max"
    norm: str | None = None
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        xb, added = _batched(x, "CNN")
        factor = 2 ** len(self.features)
        if xb.shape[1] % factor or xb.shape[2] % factor:
            raise ValueError(f"x: CNN with {len(self.features)} pooling stages needs H and W "
                             f"divisible by {factor}, got shape {tuple(jnp.shape(x))}")
        if self.norm not in NORMS:
            raise ValueError(f"norm: unknown value {self.norm!r}; expected one of "
                             + ", ".join(repr(k) for k in NORMS))
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout: expected a rate in [0, 1), got {self.dropout!r}")
        act = get_activation(self.activation)
        pool = _check_pool(self.pool)
        h = xb
        for i, f in enumerate(self.features):
            h = Conv2D(int(f), self.kernel_size, padding="SAME", kernel_init=self.kernel_init,
                       name=f"conv_{i}")(h)
            h = Normalization(self.norm, name=f"norm_{i}")(h, train)
            h = pool(act(h), 2)
        h = flatten(h)
        for j, w in enumerate(self.dense):
            if self.dropout > 0:
                h = nn.Dropout(self.dropout, deterministic=not train)(h)
            h = act(nn.Dense(int(w), kernel_init=get_initializer(self.kernel_init),
                             name=f"dense_{j}")(h))
        if self.dropout > 0:
            h = nn.Dropout(self.dropout, deterministic=not train)(h)
        y = nn.Dense(int(self.n_classes), kernel_init=get_initializer(self.kernel_init),
                     name="head")(h)
        return y[0] if added else y


class LeNet5(nn.Module):
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998), modernised activation by default.

    conv 6@5×5 ('SAME') → act → pool 2 → conv 16@5×5 ('VALID') → act → pool 2 →
    flatten → dense 120 → act → dense 84 → act → dense ``n_classes``.
    For a 28×28×1 input: 28×28×6 → 14×14×6 → 10×10×16 → 5×5×16 = 400 → 120 → 84 → 10.
    (The original used a 32×32 input with a 'VALID' first layer, tanh-like
    activations and average pooling: ``LeNet5(activation='tanh', pool='avg')``.)

    Attributes:
        n_classes: number of logits.
        activation: name or callable (default ``'relu'``).
        pool: ``'max'`` (default) or ``'avg'``.
        kernel_init: initialiser for every weight (default ``'lecun_normal'``).

    Input (N, H, W, C) or (H, W, C) with H, W >= 10 (so the second convolution fits).

    Example:
        >>> net = LeNet5()
        >>> v = jax.jit(net.init)(jax.random.key(0), jnp.ones((1, 28, 28, 1)))
        >>> jax.jit(net.apply)(v, jnp.ones((3, 28, 28, 1))).shape
        (3, 10)
    """

    n_classes: int = 10
    activation: str | Callable = "relu"
    pool: str = "max"
    kernel_init: str | Callable = "lecun_normal"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = _batched(x, "LeNet5")
        if xb.shape[1] < 10 or xb.shape[2] < 10:
            raise ValueError(f"x: LeNet5 needs images of at least 10×10 pixels, got shape "
                             f"{tuple(jnp.shape(x))}")
        act = get_activation(self.activation)
        pool = _check_pool(self.pool)
        kinit = get_initializer(self.kernel_init)
        h = pool(act(Conv2D(6, 5, padding="SAME", kernel_init=kinit, name="conv_0")(xb)), 2)
        h = pool(act(Conv2D(16, 5, padding="VALID", kernel_init=kinit, name="conv_1")(h)), 2)
        h = flatten(h)
        h = act(nn.Dense(120, kernel_init=kinit, name="dense_0")(h))
        h = act(nn.Dense(84, kernel_init=kinit, name="dense_1")(h))
        y = nn.Dense(int(self.n_classes), kernel_init=kinit, name="dense_2")(h)
        return y[0] if added else y


class InceptionBlock(nn.Module):
    """An Inception module (GoogLeNet, Szegedy et al. 2015): four parallel branches,
    concatenated along the channel axis:

    1. 1×1 conv (``features_1x1``);
    2. 1×1 conv (``features_3x3_reduce``) → 3×3 conv (``features_3x3``);
    3. 1×1 conv (``features_5x5_reduce``) → 5×5 conv (``features_5x5``);
    4. 3×3 max pool (stride 1, 'SAME') → 1×1 conv (``features_pool``).

    Every conv is 'SAME' with stride 1 and followed by the activation, so the
    output is ``(N, H, W, f1 + f3 + f5 + fpool)``.

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

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = _batched(x, "InceptionBlock")
        act = get_activation(self.activation)

        def conv(f, k, name):
            return lambda h: act(Conv2D(int(f), k, padding="SAME", kernel_init=self.kernel_init,
                                        name=name)(h))

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

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        xb, added = _batched(x, "UNet")
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
                           name=f"{name}_conv{k}")(h)
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
            h = nn.ConvTranspose(f, (2, 2), strides=(2, 2), padding="VALID",
                                 kernel_init=get_initializer(self.kernel_init),
                                 name=f"up{level}_transpose")(h)
            h = jnp.concatenate([skips[level], h], axis=-1)
            h = double_conv(h, f, f"up{level}")
        y = Conv2D(int(self.out_channels), 1, padding="VALID", kernel_init=self.kernel_init,
                   name="out")(h)
        return y[0] if added else y
