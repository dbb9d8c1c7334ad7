r"""How a 2-D convolution is computed: XLA's convolution, or banded matrix products on CPU.

A convolution layer computes the cross-correlation (channels last, kernel ``K`` of shape
``(k_h, k_w, C_in, C_out)``, strides ``(s_h, s_w)``, ``x`` already zero-padded)

.. math:: y_{n,i,j,o} = \sum_{u<k_h}\sum_{v<k_w}\sum_c x_{n,\,s_h i+u,\,s_w j+v,\,c}\,K_{u,v,c,o}.

**Why not always XLA's convolution.** On XLA:CPU a convolution is fast only in the
"canonical" layout (input NHWC, kernel HWIO), where it becomes an Eigen or XNNPACK call.
Reverse-mode autodiff writes the kernel gradient as a convolution with the batch as the
contracted axis (``dim_labels=f01b_i01o->01bf``) and the input gradient with a reversed,
transposed kernel (``01oi``). XLA's ``ConvCanonicalization`` pass rewrites such convolutions
into the canonical form with transposes, but it visits the *entry computation only*
(``xla/service/cpu/conv_canonicalization.cc`` loops over
``module->entry_computation()``). Inside a ``while`` loop, which is what ``lax.scan`` and
therefore :func:`jaxphys.core.run_steps` and :func:`jaxphys.core.fit` compile to, the
gradient convolutions keep their layout and fall to XLA's generic loop emitter: measured on
a 2-core CPU, a LeNet-5 step ran 4× slower inside ``lax.scan`` than alone, a small U-Net
step 25× slower. The matrix-product lowering below contains no convolution at all, so it
runs at the same speed inside and outside loops.

**Banded (Toeplitz) matrix product** (``lowering='matmul'``). Row ``u`` of the kernel acts
along the width as a banded matrix: for a tile of ``W_t`` output columns starting at input
column ``s_w t W_t`` it reads ``W_i = (W_t - 1) s_w + k_w`` input columns, and

.. math:: y_{n,i,\,t W_t + w,\,o} = \sum_u \sum_{p<W_i}\sum_c
          x_{n,\,s_h i+u,\,s_w t W_t + p,\,c}\; T^{(u)}_{(p,c),(w,o)},\qquad
          T^{(u)}_{(p,c),(w,o)} = \sum_{v} E_{v,p,w} K_{u,v,c,o},

with the 0/1 band ``E_{v,p,w} = [p = s_w w + v]``. Stacking the ``k_h`` row slabs side by
side turns the whole convolution into **one** matrix product
``(N·H_o·n_tiles, k_h W_i C_in) @ (k_h W_i C_in, W_t C_out)``; its gradients are matrix
products and slices too, whatever autodiff mode or loop they run in. ``T`` holds the kernel's
entries exactly (each is one product with 1.0), so results agree with XLA's convolution to
float rounding of the sums. The band costs ``(W_t + k_w - 1)/k_w`` times the multiply-adds
of a direct convolution; tiles of ``W_t = 4`` columns keep that below 2 for kernels of width
≥ 3 while giving the product enough columns to run near the CPU's matmul speed. A 1×1
kernel is one plain product.

``lowering='auto'`` (the default of every layer) is the banded product on CPU and XLA's
convolution on other platforms (GPU/TPU convolutions are already fast there), chosen when
the computation is lowered (``jax.lax.platform_dependent``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

LOWERINGS = ("auto", "matmul", "xla")
DIMENSION_NUMBERS = ("NHWC", "HWIO", "NHWC")
TILE_WIDTH = 4

Pads = tuple[tuple[int, int], tuple[int, int]]


def check_lowering(lowering: str) -> str:
    """``lowering`` if it is one of :data:`LOWERINGS`, else a ValueError naming it."""
    if lowering not in LOWERINGS:
        raise ValueError(f"lowering: expected one of {', '.join(map(repr, LOWERINGS))}, got "
                         f"{lowering!r}")
    return lowering


def explicit_pads(padding: str | list, kernel_hw: tuple[int, int], image_hw: tuple[int, int],
                  strides: tuple[int, int]) -> Pads:
    """``((top, bottom), (left, right))`` zero padding for ``'SAME'``, ``'VALID'`` or explicit
    pairs. ``'SAME'`` pads ``max((⌈H/s⌉ - 1)s + k - H, 0)`` in total, the smaller half first
    (XLA's convention), so the output has ``⌈H/s⌉`` rows."""
    if isinstance(padding, str):
        if padding == "VALID":
            return ((0, 0), (0, 0))
        out = []
        for size, k, s in zip(image_hw, kernel_hw, strides):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            out.append((total // 2, total - total // 2))
        return (out[0], out[1])
    (top, bottom), (left, right) = padding
    return ((int(top), int(bottom)), (int(left), int(right)))


def _band(kernel_width: int, in_width: int, tile: int, stride: int, dtype) -> jax.Array:
    """``E[v, p, w] = 1`` where input column ``p`` meets kernel column ``v`` for output ``w``."""
    band = np.zeros((kernel_width, in_width, tile), dtype=np.float32)
    for v in range(kernel_width):
        band[v, stride * np.arange(tile) + v, np.arange(tile)] = 1.0
    return jnp.asarray(band, dtype)


def _conv_pointwise(xp: jax.Array, kernel: jax.Array, strides: tuple[int, int]) -> jax.Array:
    """A 1×1 kernel on the padded image: subsample by the strides, one matrix product."""
    sub = xp[:, ::strides[0], ::strides[1], :]
    return jnp.einsum("nhwc,co->nhwo", sub, kernel[0, 0])


def conv2d_banded(x: jax.Array, kernel: jax.Array, strides: tuple[int, int], pads: Pads,
                  tile: int = TILE_WIDTH) -> jax.Array:
    """The convolution as one banded matrix product (module doc); ``x`` (N, H, W, C_in),
    ``kernel`` (k_h, k_w, C_in, C_out), explicit ``pads`` -> (N, H_o, W_o, C_out)."""
    kh, kw, c_in, c_out = kernel.shape
    sh, sw = strides
    n = x.shape[0]
    hp, wp = x.shape[1] + sum(pads[0]), x.shape[2] + sum(pads[1])
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    if ho < 1 or wo < 1:
        raise ValueError(f"x: a {kh}×{kw} kernel does not fit the padded image "
                         f"({hp}×{wp}) of shape {tuple(x.shape)}")
    if kh == 1 and kw == 1:
        xp = jnp.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
        return _conv_pointwise(xp, kernel, strides)[:, :ho, :wo, :]
    tile = min(int(tile), wo)
    n_tiles = -(-wo // tile)
    in_width = (tile - 1) * sw + kw
    needed = (n_tiles - 1) * tile * sw + in_width     # input columns the last tile reaches
    extra = max(needed - wp, 0)                       # zero columns past the right edge
    xp = jnp.pad(x, ((0, 0), pads[0], (pads[1][0], pads[1][1] + extra), (0, 0)))
    slabs = []
    for u in range(kh):
        rows = jax.lax.slice(xp, (0, u, 0, 0), (n, u + (ho - 1) * sh + 1, xp.shape[2], c_in),
                             (1, sh, 1, 1))                           # (N, H_o, W', C_in)
        starts = [t * tile * sw for t in range(n_tiles)]
        tiles = jnp.stack([rows[:, :, s:s + in_width, :] for s in starts], axis=2)
        slabs.append(tiles.reshape(n * ho * n_tiles, in_width * c_in))
    lhs = jnp.concatenate(slabs, axis=1)                    # (N H_o n_t, k_h W_i C_in)
    band = _band(kw, in_width, tile, sw, kernel.dtype)
    rhs = jnp.einsum("vpw,uvco->upcwo", band, kernel).reshape(kh * in_width * c_in,
                                                              tile * c_out)
    y = jnp.dot(lhs, rhs).reshape(n, ho, n_tiles * tile, c_out)
    return y[:, :, :wo, :]


def conv2d_xla(x: jax.Array, kernel: jax.Array, strides: tuple[int, int],
               pads: Pads) -> jax.Array:
    """XLA's convolution (``lax.conv_general_dilated``, NHWC/HWIO/NHWC)."""
    return jax.lax.conv_general_dilated(x, kernel, window_strides=strides, padding=list(pads),
                                        dimension_numbers=DIMENSION_NUMBERS)


def conv2d(x: jax.Array, kernel: jax.Array, strides: tuple[int, int], pads: Pads,
           lowering: str = "auto") -> jax.Array:
    r"""Cross-correlation of ``x`` (N, H, W, C_in) with ``kernel`` (k_h, k_w, C_in, C_out)
    after zero-padding by ``pads``; ``lowering`` as in the module doc.

    Example:
        >>> x = jnp.arange(16.0).reshape(1, 4, 4, 1); k = jnp.ones((2, 2, 1, 1))
        >>> conv2d(x, k, (2, 2), ((0, 0), (0, 0)), "matmul")[0, :, :, 0].tolist()
        [[10.0, 18.0], [42.0, 50.0]]
    """
    check_lowering(lowering)
    if lowering == "xla":
        return conv2d_xla(x, kernel, strides, pads)
    if lowering == "matmul":
        return conv2d_banded(x, kernel, strides, pads)
    return jax.lax.platform_dependent(
        x, kernel, cpu=lambda a, k: conv2d_banded(a, k, strides, pads),
        default=lambda a, k: conv2d_xla(a, k, strides, pads))


def _upsample_matmul(x: jax.Array, kernel: jax.Array) -> jax.Array:
    n, h, w, c_in = x.shape
    c_out = kernel.shape[-1]
    # y[n, 2i+a, 2j+b, o] = Σ_c x[n, i, j, c] K[1-a, 1-b, c, o]
    rhs = jnp.transpose(kernel[::-1, ::-1], (2, 0, 1, 3)).reshape(c_in, 4 * c_out)
    z = jnp.dot(x.reshape(n * h * w, c_in), rhs).reshape(n, h, w, 2, 2, c_out)
    return jnp.transpose(z, (0, 1, 3, 2, 4, 5)).reshape(n, 2 * h, 2 * w, c_out)


def _upsample_xla(x: jax.Array, kernel: jax.Array) -> jax.Array:
    return jax.lax.conv_transpose(x, kernel, (2, 2), "VALID",
                                  dimension_numbers=DIMENSION_NUMBERS)


def conv_transpose_2x2(x: jax.Array, kernel: jax.Array, lowering: str = "auto") -> jax.Array:
    r"""The stride-2, 2×2, 'VALID' transposed convolution of ``flax.linen.ConvTranspose``
    (``transpose_kernel=False``): ``(N, H, W, C_in) -> (N, 2H, 2W, C_out)`` with

    .. math:: y_{n,2i+a,2j+b,o} = \sum_c x_{n,i,j,c}\,K_{1-a,1-b,c,o},\quad a, b \in \{0, 1\}.

    Each input pixel fills its own 2×2 output block, so on CPU (``'matmul'``) it is one
    matrix product ``(N H W, C_in) @ (C_in, 4 C_out)`` followed by a depth-to-space reshape.

    Example:
        >>> x = jnp.ones((1, 1, 1, 1)); k = jnp.arange(4.0).reshape(2, 2, 1, 1)
        >>> conv_transpose_2x2(x, k, "matmul")[0, :, :, 0].tolist()
        [[3.0, 2.0], [1.0, 0.0]]
    """
    check_lowering(lowering)
    if lowering == "xla":
        return _upsample_xla(x, kernel)
    if lowering == "matmul":
        return _upsample_matmul(x, kernel)
    return jax.lax.platform_dependent(x, kernel, cpu=_upsample_matmul, default=_upsample_xla)


def transpose_pads(padding: str | list, kernel_hw: tuple[int, int],
                   strides: tuple[int, int]) -> Pads:
    """The padding of the dilated input that gives ``jax.lax.conv_transpose`` (and so
    ``flax.linen.ConvTranspose``) its output: for ``'SAME'`` (output ``s·H``) a total of
    ``k + s - 2`` split ``(k - 1, s - 1)`` when ``s > k - 1``, else the larger half first;
    for ``'VALID'`` (output ``s(H - 1) + max(k, s)``) ``k - 1`` before and
    ``s - 1 + max(k - s, 0)`` after; explicit ``((top, bottom), (left, right))`` as given."""
    if not isinstance(padding, str):
        (top, bottom), (left, right) = padding
        return ((int(top), int(bottom)), (int(left), int(right)))
    out = []
    for k, s in zip(kernel_hw, strides):
        if padding == "SAME":
            total = k + s - 2
            before = k - 1 if s > k - 1 else -(-total // 2)
        else:
            total = k + s - 2 + max(k - s, 0)
            before = k - 1
        out.append((before, total - before))
    return (out[0], out[1])


def conv_transpose2d(x: jax.Array, kernel: jax.Array, strides: tuple[int, int], pads: Pads,
                     lowering: str = "auto") -> jax.Array:
    r"""Transposed convolution of ``flax.linen.ConvTranspose`` (``transpose_kernel=False``,
    i.e. ``jax.lax.conv_transpose``): ``x`` (N, H, W, C_in) with ``s - 1`` zeros inserted
    between neighbouring pixels, zero-padded by ``pads`` (:func:`transpose_pads`), then
    cross-correlated with ``kernel`` (k_h, k_w, C_in, C_out) at stride 1:

    .. math:: y_{n,i,j,o} = \sum_{u,v,c} \tilde x_{n,\,i+u,\,j+v,\,c}\,K_{u,v,c,o},\qquad
              \tilde x_{n,\,p_t + s_h a,\,p_l + s_w b,\,c} = x_{n,a,b,c}.

    With ``lowering='matmul'`` (CPU under ``'auto'``) the correlation is the banded matrix
    product of :func:`conv2d`, so the layer and both its gradients are matrix products
    that run at full speed inside ``lax.scan``; XLA:CPU's own transposed convolution (an
    input-dilated convolution) falls to its generic loop emitter there. Measured on the
    2-core CPU (other core busy), value and both gradients of a 4×4, stride-2 layer
    (64×4×4×32 → 64×8×8×16) inside ``lax.scan``: 4.1 ms a step against 29 ms for
    ``flax.linen.ConvTranspose`` (6.3 against 109 ms compiled without LLVM's optimisation
    passes, as the test suite compiles).

    Example:
        >>> x = jnp.ones((1, 1, 1, 1)); k = jnp.arange(4.0).reshape(2, 2, 1, 1)
        >>> pads = transpose_pads("VALID", (2, 2), (2, 2))
        >>> conv_transpose2d(x, k, (2, 2), pads, "matmul")[0, :, :, 0].tolist()
        [[3.0, 2.0], [1.0, 0.0]]
    """
    check_lowering(lowering)
    if lowering == "xla":
        return jax.lax.conv_general_dilated(x, kernel, (1, 1), list(pads),
                                            lhs_dilation=strides,
                                            dimension_numbers=DIMENSION_NUMBERS)

    def banded(a, k):
        zero = jnp.zeros((), a.dtype)
        dilated = jax.lax.pad(a, zero, ((0, 0, 0), (pads[0][0], pads[0][1], strides[0] - 1),
                                        (pads[1][0], pads[1][1], strides[1] - 1), (0, 0, 0)))
        return conv2d_banded(dilated, k, (1, 1), ((0, 0), (0, 0)))
    if lowering == "matmul":
        return banded(x, kernel)
    return jax.lax.platform_dependent(
        x, kernel, cpu=banded,
        default=lambda a, k: conv_transpose2d(a, k, strides, pads, "xla"))
