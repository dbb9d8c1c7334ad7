r"""Convolution layers and convolutional classifiers, channels-last.

Images are **NHWC**: ``(N, H, W, C)`` (batch, height, width, channels); every
layer here also accepts a single image ``(H, W, C)`` and then returns an
unbatched result. A grey-scale 8×8 digit is ``(8, 8, 1)``.

* :class:`Conv2D`: the discrete cross-correlation (what deep learning calls a
  convolution; the kernel is not flipped)

  .. math:: y_{n,i,j,o} = b_o + \sum_{u,v,c} x_{n,\,s_h i + u - p_t,\,s_w j + v - p_l,\,c}\,
            K_{u,v,c,o}

  with stride :math:`(s_h, s_w)` and zero padding :math:`(p_t, p_b, p_l, p_r)`;
  output size :math:`\lfloor (H + p_t + p_b - k_h)/s_h \rfloor + 1`.
* :class:`CNN`: conv → (norm) → activation → pool blocks and a dense head.
* :class:`LeNet5`: LeCun et al. (1998), for 28×28 (or 32×32) single-channel images.

Pooling and flattening live in ``_pool.py``; the U-Net and the Inception block in
``_unet.py``; how the convolution is computed (``lowering``: banded matrix products on
CPU, XLA's convolution elsewhere) in ``_conv_lowering.py``.

Wrong input rank, a channel count other than the one the parameters were built
for, or an image too small for the architecture raise a ``ValueError`` naming ``x``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ._activations import get_activation
from ._conv_lowering import check_lowering, conv2d, conv_transpose2d, explicit_pads, transpose_pads
from ._initializers import get_initializer
from ._mlp import NORMS, Normalization
from ._pool import Padding, avg_pool, batched, flatten, max_pool, pair, padding_spec


def _kernel(layer: nn.Module, xb: jax.Array, x: jax.Array):
    """The layer's ``kernel`` (k_h, k_w, C_in, features), checked against the channels
    of ``xb``; with the kernel size, the strides and the compute dtype."""
    c_in = xb.shape[-1]
    if layer.has_variable("params", "kernel"):
        built = layer.get_variable("params", "kernel").shape[2]
        if built != c_in:
            raise ValueError(f"x: this layer was built for {built} input channel(s) "
                             f"(channels last, shape (N, H, W, {built})), got {c_in} "
                             f"channels in shape {tuple(jnp.shape(x))}")
    kh, kw = pair(layer.kernel_size, "kernel_size")
    strides = pair(layer.strides, "strides")
    kernel = layer.param("kernel", get_initializer(layer.kernel_init),
                         (kh, kw, c_in, int(layer.features)), jnp.float32)
    return kernel, (kh, kw), strides, jnp.result_type(xb.dtype, kernel.dtype)


def _with_bias(layer: nn.Module, y: jax.Array, dtype, added: bool) -> jax.Array:
    """``y`` plus the layer's ``bias`` (when ``use_bias``), unbatched if ``added``."""
    if layer.use_bias:
        bias = layer.param("bias", get_initializer(layer.bias_init), (int(layer.features),),
                           jnp.float32)
        y = y + bias.astype(dtype)[None, None, None, :]
    return y[0] if added else y


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
        lowering: how the convolution is computed: ``'auto'`` (default: banded matrix
            products on CPU, which run as fast inside ``lax.scan``/``fit`` as outside, and
            XLA's convolution on GPU/TPU), ``'matmul'`` or ``'xla'`` everywhere. All three
            give the same values to float rounding (see ``jaxphys/nn/_conv_lowering.py``).

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
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = batched(x, "Conv2D")
        kernel, (kh, kw), strides, dtype = _kernel(self, xb, x)
        pads = explicit_pads(padding_spec(self.padding), (kh, kw), xb.shape[1:3], strides)
        y = conv2d(xb.astype(dtype), kernel.astype(dtype), strides, pads,
                   check_lowering(self.lowering))
        return _with_bias(self, y, dtype, added)


class ConvTranspose2D(nn.Module):
    r"""2-D transposed convolution on channels-last images: the map of
    ``flax.linen.ConvTranspose(features, kernel_size, strides, padding)`` (with
    ``transpose_kernel=False``), with the same parameters (``kernel`` (k_h, k_w, C_in,
    features), ``bias`` (features,)), computed by :func:`~jaxphys.nn._conv_lowering.
    conv_transpose2d` so that on CPU it runs as matrix products inside ``lax.scan``.

    Attributes:
        features: output channels.
        kernel_size: ``k`` or ``(k_h, k_w)``.
        strides: ``s`` or ``(s_h, s_w)``: the upsampling factor.
        padding: ``'SAME'`` (output ``s·H``), ``'VALID'`` (output
            ``s(H - 1) + max(k, s)``), an int ``p`` or ``((top, bottom), (left, right))``
            (zeros around the dilated input, as ``jax.lax.conv_transpose`` takes them).
        use_bias, kernel_init, bias_init, lowering: as in :class:`Conv2D`.

    Example:
        >>> up = ConvTranspose2D(features=4, kernel_size=4, strides=2)
        >>> variables = up.init(jax.random.key(0), jnp.ones((2, 4, 4, 8)))
        >>> up.apply(variables, jnp.ones((2, 4, 4, 8))).shape
        (2, 8, 8, 4)
    """

    features: int
    kernel_size: int | Sequence[int] = 3
    strides: int | Sequence[int] = 1
    padding: Padding = "SAME"
    use_bias: bool = True
    kernel_init: str | Callable = "lecun_normal"
    bias_init: str | Callable = "zeros"
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = batched(x, "ConvTranspose2D")
        kernel, (kh, kw), strides, dtype = _kernel(self, xb, x)
        pads = transpose_pads(padding_spec(self.padding), (kh, kw), strides)
        y = conv_transpose2d(xb.astype(dtype), kernel.astype(dtype), strides, pads,
                             check_lowering(self.lowering))
        return _with_bias(self, y, dtype, added)


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
        lowering: how the convolutions are computed (see :class:`Conv2D`).

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
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        xb, added = batched(x, "CNN")
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
                       lowering=self.lowering, name=f"conv_{i}")(h)
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
        lowering: how the convolutions are computed (see :class:`Conv2D`).

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
    lowering: str = "auto"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        xb, added = batched(x, "LeNet5")
        if xb.shape[1] < 10 or xb.shape[2] < 10:
            raise ValueError(f"x: LeNet5 needs images of at least 10×10 pixels, got shape "
                             f"{tuple(jnp.shape(x))}")
        act = get_activation(self.activation)
        pool = _check_pool(self.pool)
        kinit = get_initializer(self.kernel_init)
        low = self.lowering
        h = pool(act(Conv2D(6, 5, padding="SAME", kernel_init=kinit, lowering=low,
                            name="conv_0")(xb)), 2)
        h = pool(act(Conv2D(16, 5, padding="VALID", kernel_init=kinit, lowering=low,
                            name="conv_1")(h)), 2)
        h = flatten(h)
        h = act(nn.Dense(120, kernel_init=kinit, name="dense_0")(h))
        h = act(nn.Dense(84, kernel_init=kinit, name="dense_1")(h))
        y = nn.Dense(int(self.n_classes), kernel_init=kinit, name="dense_2")(h)
        return y[0] if added else y


__all__ = ["Conv2D", "CNN", "LeNet5", "max_pool", "avg_pool", "flatten"]
