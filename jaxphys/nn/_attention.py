r"""Attention: masks, scaled dot-product attention, multi-head attention, pre-norm blocks.

Shapes: activations ``(batch, time, d_model)``; per-head tensors
``(batch, heads, time, head_dim)``.

Scaled dot-product attention of queries :math:`Q` (``Tq × d``) on keys
:math:`K` and values :math:`V` (``Tk × d``, ``Tk × d_v``) (Vaswani et al. 2017,
"Attention is all you need"):

.. math::
    \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{QK^\top}{\sqrt d}
    + M\right) V, \qquad M_{ij} = 0 \text{ if query } i \text{ may see key } j,
    \text{ else } -\infty,

the softmax taken over the key axis. Masks are boolean, ``True`` where
attention is allowed: :func:`causal_mask` (position i sees j ≤ i) and
:func:`padding_mask` (keys that are real tokens), combined with ``&``. A
query whose keys are all masked gets uniform weights (masked logits are the
dtype's most negative finite value, not −∞, so there is no NaN).

A pre-norm block is ``x ← x + MHA(LN(x))``, ``x ← x + MLP(LN(x))`` with a GELU
MLP of width ``mlp_ratio · d_model``. Called with a :class:`LayerKV` cache, a layer
writes the keys and values of its new positions and attends over everything cached
(:class:`CachedOutput`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from ._initializers import get_initializer

__all__ = ["causal_mask", "padding_mask", "attention_weights", "scaled_dot_product_attention",
           "LayerKV", "CachedOutput", "MultiHeadAttention", "TransformerBlock"]


# --------------------------------------------------------------------------- masks


def causal_mask(length: int, key_length: int | None = None, offset: int = 0) -> jax.Array:
    """Boolean mask ``(1, 1, length, key_length)``: query i (at position ``offset + i``)
    may attend to key j iff ``j <= offset + i``.

    Example:
        >>> causal_mask(3)[0, 0].astype(int).tolist()
        [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    """
    key_length = length if key_length is None else key_length
    q_pos = offset + jnp.arange(length)
    k_pos = jnp.arange(key_length)
    return (k_pos[None, :] <= q_pos[:, None])[None, None]


def padding_mask(valid: Any) -> jax.Array:
    """Boolean mask ``(batch, 1, 1, time)`` from ``valid`` ``(batch, time)``: keys that
    are real tokens (``True``) may be attended to, padding (``False``) may not.

    Example:
        >>> padding_mask(jnp.array([[True, True, False]])).shape
        (1, 1, 1, 3)
    """
    valid = jnp.asarray(valid)
    if valid.ndim != 2:
        raise ValueError(f"valid: expected shape (batch, time), got {tuple(valid.shape)}")
    return valid.astype(bool)[:, None, None, :]


# --------------------------------------------------------------------------- attention


def _check_mask(mask: jax.Array, logits_shape: tuple[int, ...]) -> jax.Array:
    mask = jnp.asarray(mask)
    if mask.dtype != jnp.bool_:
        raise ValueError(f"mask: expected a boolean array (True = may attend), got dtype "
                         f"{mask.dtype}")
    ok = mask.ndim == len(logits_shape) and all(
        m in (1, s) for m, s in zip(mask.shape, logits_shape))
    if not ok:
        raise ValueError(f"mask: expected a shape broadcastable to the attention logits "
                         f"{logits_shape} with the same rank, got {tuple(mask.shape)}")
    return mask


def attention_weights(q: jax.Array, k: jax.Array, mask: Any = None) -> jax.Array:
    r"""Attention probabilities :math:`\mathrm{softmax}(QK^\top/\sqrt d + M)`.

    Args:
        q: queries ``(..., Tq, d)``.
        k: keys ``(..., Tk, d)`` (same leading axes as ``q``).
        mask: optional boolean array of the same rank as the result, broadcastable to
            ``(..., Tq, Tk)``; ``True`` where attention is allowed.

    Returns:
        weights ``(..., Tq, Tk)``, each row summing to 1 over the keys.

    Example:
        >>> from jaxphys.nn import attention_weights, causal_mask
        >>> q = k = jnp.zeros((1, 3, 2))      # equal logits: uniform over the visible keys
        >>> w = attention_weights(q, k, causal_mask(3)[0])
        >>> [[round(float(v), 4) for v in row] for row in w[0]]
        [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.3333, 0.3333, 0.3333]]
    """
    q, k = jnp.asarray(q), jnp.asarray(k)
    if q.ndim < 2 or k.ndim != q.ndim or q.shape[-1] != k.shape[-1] \
            or q.shape[:-2] != k.shape[:-2]:
        raise ValueError(f"k: expected shape (..., Tk, {q.shape[-1] if q.ndim else '?'}) "
                         f"matching q {tuple(q.shape)} (..., Tq, d), got {tuple(k.shape)}")
    logits = jnp.einsum("...qd,...kd->...qk", q, k) / math.sqrt(q.shape[-1])
    if mask is not None:
        mask = _check_mask(mask, logits.shape)
        logits = jnp.where(mask, logits, jnp.finfo(logits.dtype).min)
    return jax.nn.softmax(logits, axis=-1)


def scaled_dot_product_attention(q: Any, k: Any, v: Any, mask: Any = None) -> jax.Array:
    r"""``softmax(QKᵀ/√d + M) V`` (see the module docstring).

    Args:
        q: queries ``(..., Tq, d)``.
        k: keys ``(..., Tk, d)``.
        v: values ``(..., Tk, dv)``.
        mask: optional boolean mask broadcastable to ``(..., Tq, Tk)`` (same rank).

    Returns:
        ``(..., Tq, dv)``.

    Example:
        >>> q = k = v = jnp.eye(3)[None]                    # (1, 3, 3)
        >>> out = scaled_dot_product_attention(q, k, v, causal_mask(3)[0])
        >>> out.shape, [round(float(x), 3) for x in out[0, 0]]
        ((1, 3, 3), [1.0, 0.0, 0.0])
    """
    v = jnp.asarray(v)
    w = attention_weights(q, k, mask)
    if v.ndim != w.ndim or v.shape[-2] != w.shape[-1]:
        raise ValueError(f"v: expected shape (..., {w.shape[-1]}, dv) matching k, got "
                         f"{tuple(v.shape)}")
    return jnp.einsum("...qk,...kd->...qd", w, v)


class LayerKV(NamedTuple):
    """One layer's cached keys and values.

    Fields:
        keys: ``(batch, heads, cache_len, head_dim)``.
        values: ``(batch, heads, cache_len, head_dim)``.

    Example:
        >>> from jaxphys.nn import LayerKV
        >>> empty = LayerKV(keys=jnp.zeros((1, 2, 6, 4)), values=jnp.zeros((1, 2, 6, 4)))
        >>> empty.keys.shape         # (batch, heads, cache_len, head_dim): room for 6 positions
        (1, 2, 6, 4)
    """

    keys: jax.Array
    values: jax.Array


class CachedOutput(NamedTuple):
    """Output of a layer called with a cache.

    Fields:
        out: ``(batch, t, features)``.
        cache: the updated :class:`LayerKV` with the ``t`` new positions written.

    Example:
        >>> from jaxphys.nn import CachedOutput, LayerKV, MultiHeadAttention
        >>> mha = MultiHeadAttention(num_heads=2)              # d_model 8: head_dim 4
        >>> cache = LayerKV(jnp.zeros((1, 2, 6, 4)), jnp.zeros((1, 2, 6, 4)))
        >>> x = jnp.ones((1, 2, 8))                            # two new positions, 0 and 1
        >>> params = mha.init(jax.random.key(0), x, cache=cache, index=0)
        >>> res = mha.apply(params, x, cache=cache, index=0)
        >>> isinstance(res, CachedOutput), res.out.shape
        (True, (1, 2, 8))
        >>> [bool(jnp.any(res.cache.keys[0, :, t] != 0)) for t in range(6)]   # written
        [True, True, False, False, False, False]
    """

    out: jax.Array
    cache: LayerKV


def _init(name: Any, what: str):
    try:
        return get_initializer(name)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{what}: {str(err).split(':', 1)[-1].strip()}") from None


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention ``concat_h(Attention(x W_q^h, x W_k^h, x W_v^h)) W_o``.

    Attributes:
        num_heads: number of heads H.
        head_dim: per-head width (default ``d_model // num_heads``; ``d_model`` must
            then be divisible by ``num_heads``).
        out_features: output width (default ``d_model``).
        kernel_init: initialiser name or callable for the projections.

    ``__call__(x, mask=None)`` with ``x (batch, t, d_model)`` and an optional boolean
    mask ``(batch or 1, heads or 1, t, t)`` returns ``(batch, t, out_features)``; the
    attention weights ``(batch, heads, t, t)`` are sown into the ``'intermediates'``
    collection as ``'attention_weights'``. With ``cache`` (a :class:`LayerKV`) and
    ``index`` (int32 scalar, the position of ``x[:, 0]``) it writes the new keys and
    values at ``index … index+t-1``, attends causally over the cache and returns a
    :class:`CachedOutput`.

    Example:
        >>> mha = MultiHeadAttention(num_heads=2)
        >>> x = jnp.ones((1, 4, 8))
        >>> params = mha.init(jax.random.key(0), x, causal_mask(4))
        >>> mha.apply(params, x, causal_mask(4)).shape
        (1, 4, 8)
    """

    num_heads: int
    head_dim: int | None = None
    out_features: int | None = None
    kernel_init: Any = "glorot_uniform"

    @nn.compact
    def __call__(self, x: jax.Array, mask: Any = None, cache: LayerKV | None = None,
                 index: Any = None):
        x = jnp.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"x: expected shape (batch, time, features), got "
                             f"{tuple(x.shape)}")
        b, t, d = x.shape
        heads = int(self.num_heads)
        if heads < 1:
            raise ValueError(f"num_heads: expected a positive integer, got {heads}")
        if self.head_dim is None and d % heads:
            raise ValueError(f"num_heads: the model width {d} is not divisible by "
                             f"num_heads={heads}; set head_dim")
        hd = int(self.head_dim or d // heads)
        init = _init(self.kernel_init, "kernel_init")
        qkv = nn.DenseGeneral((3, heads, hd), kernel_init=init, name="qkv")(x)
        qkv = jnp.transpose(qkv, (2, 0, 3, 1, 4))          # (3, b, heads, t, hd)
        q, k, v = qkv[0], qkv[1], qkv[2]
        new_cache = None
        if cache is not None:
            if index is None:
                raise ValueError("index: required with cache (the position of x[:, 0])")
            index = jnp.asarray(index, jnp.int32)
            keys = jax.lax.dynamic_update_slice(cache.keys, k.astype(cache.keys.dtype),
                                                (0, 0, index, 0))
            values = jax.lax.dynamic_update_slice(cache.values, v.astype(cache.values.dtype),
                                                  (0, 0, index, 0))
            new_cache = LayerKV(keys, values)
            k, v = keys, values
            cmask = causal_mask(t, keys.shape[2], index)
            mask = cmask if mask is None else jnp.logical_and(cmask, mask)
        w = attention_weights(q, k, mask)
        self.sow("intermediates", "attention_weights", w)
        o = jnp.einsum("bhqk,bhkd->bqhd", w, v)
        out = nn.DenseGeneral(int(self.out_features or d), axis=(-2, -1), kernel_init=init,
                              name="out")(o)
        if cache is not None:
            return CachedOutput(out, new_cache)
        return out


class TransformerBlock(nn.Module):
    """Pre-norm transformer block: ``x + MHA(LN(x))`` then ``x + MLP(LN(x))``.

    Attributes:
        num_heads: attention heads.
        mlp_ratio: MLP hidden width as a multiple of ``d_model`` (GELU MLP).

    ``__call__(x, mask=None)`` returns the same shape as ``x`` ``(batch, t, d_model)``;
    with ``cache``/``index`` see :class:`MultiHeadAttention` (returns a
    :class:`CachedOutput`).

    Example:
        >>> blk = TransformerBlock(num_heads=2)
        >>> x = jnp.ones((1, 5, 8))
        >>> blk.init_with_output(jax.random.key(0), x, causal_mask(5))[0].shape
        (1, 5, 8)
    """

    num_heads: int
    mlp_ratio: int = 4

    @nn.compact
    def __call__(self, x: jax.Array, mask: Any = None, cache: LayerKV | None = None,
                 index: Any = None):
        d = x.shape[-1]
        att = MultiHeadAttention(self.num_heads, name="attention")(
            nn.LayerNorm(name="norm_attention")(x), mask, cache, index)
        new_cache = None
        if cache is not None:
            att, new_cache = att
        x = x + att
        h = nn.LayerNorm(name="norm_mlp")(x)
        h = nn.Dense(int(self.mlp_ratio) * d, name="mlp_in")(h)
        h = nn.Dense(d, name="mlp_out")(nn.gelu(h))
        x = x + h
        if cache is not None:
            return CachedOutput(x, new_cache)
        return x
