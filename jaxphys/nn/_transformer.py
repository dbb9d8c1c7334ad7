r"""Transformers: attention, positional encodings, pre-norm blocks, a causal language
model, and autoregressive generation with a key-value cache.

Shapes: tokens ``(batch, time)`` int; activations ``(batch, time, d_model)``;
per-head tensors ``(batch, heads, time, head_dim)``.

Scaled dot-product attention of queries :math:`Q` (``Tq × d``) on keys
:math:`K` and values :math:`V` (``Tk × d``, ``Tk × d_v``):

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
MLP of width ``mlp_ratio · d_model``. :class:`CausalLM` embeds tokens, adds a
positional encoding (learned or sinusoidal,
:math:`PE_{p,2i} = \sin(p/10000^{2i/d})`, :math:`PE_{p,2i+1} = \cos(p/10000^{2i/d})`),
runs causal blocks and a final LayerNorm, and projects to logits.

**Key-value cache.** :meth:`CausalLM.decode` runs ``t`` new tokens at positions
``index … index+t-1``, writes their keys and values into a :class:`KVCache` and
attends over everything cached so far; :func:`generate` prefills the prompt in one
call and then makes one single-token call per new token, instead of re-running the
whole sequence every step (``use_cache=False``, kept as the reference).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_key, is_concrete

from ._initializers import get_initializer


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
    """

    keys: jax.Array
    values: jax.Array


class CachedOutput(NamedTuple):
    """Output of a layer called with a cache.

    Fields:
        out: ``(batch, t, features)``.
        cache: the updated :class:`LayerKV` with the ``t`` new positions written.
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


# --------------------------------------------------------------------------- embeddings


def sinusoidal_positions(max_len: int, features: int, dtype: Any = jnp.float32) -> jax.Array:
    r"""The sinusoidal table ``(max_len, features)``:
    :math:`PE_{p,2i} = \sin(p\,\omega_i)`, :math:`PE_{p,2i+1} = \cos(p\,\omega_i)`,
    :math:`\omega_i = 10000^{-2i/d}`.

    Example:
        >>> pe = sinusoidal_positions(4, 6)
        >>> pe.shape, float(pe[0, 1]), round(float(pe[1, 0]), 4)
        ((4, 6), 1.0, 0.8415)
    """
    max_len = as_int(max_len, "max_len", minimum=1)
    features = as_int(features, "features", minimum=1)
    pos = np.arange(max_len)[:, None]
    omega = 10000.0 ** (-np.arange(0, features, 2) / features)
    table = np.zeros((max_len, features))
    table[:, 0::2] = np.sin(pos * omega)
    table[:, 1::2] = np.cos(pos * omega)[:, : features // 2]
    return jnp.asarray(table, dtype)


def _check_length(t: int, max_len: int) -> None:
    if t > max_len:
        raise ValueError(f"x: sequence length {t} exceeds the positional table's max_len="
                         f"{max_len}")


def _positions(table: jax.Array, t: int, offset: Any) -> jax.Array:
    if isinstance(offset, int) and offset == 0:
        return table[:t]
    return jax.lax.dynamic_slice_in_dim(table, jnp.asarray(offset, jnp.int32), t, axis=0)


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table (:func:`sinusoidal_positions`) to ``x``.

    Attributes:
        max_len: the table's length; longer sequences raise ``ValueError``.

    ``__call__(x, offset=0)``: ``x (batch, t, d)``, positions ``offset … offset+t-1``
    (``offset`` may be traced; it is not range-checked under ``jit``).

    Example:
        >>> enc = SinusoidalPositionalEncoding(max_len=16)
        >>> enc.apply({}, jnp.zeros((1, 4, 8))).shape
        (1, 4, 8)
    """

    max_len: int

    @nn.compact
    def __call__(self, x: jax.Array, offset: Any = 0) -> jax.Array:
        if x.ndim != 3:
            raise ValueError(f"x: expected shape (batch, time, features), got {tuple(x.shape)}")
        _check_length(x.shape[1], self.max_len)
        table = sinusoidal_positions(self.max_len, x.shape[-1], x.dtype)
        return x + _positions(table, x.shape[1], offset)[None]


class LearnedPositionalEncoding(nn.Module):
    """Adds a learned table ``(max_len, d)`` (normal init, σ = 0.02) to ``x``.

    Attributes:
        max_len: the table's length; longer sequences raise ``ValueError``.

    Example:
        >>> enc = LearnedPositionalEncoding(max_len=16)
        >>> params = enc.init(jax.random.key(0), jnp.zeros((1, 4, 8)))
        >>> params["params"]["table"].shape
        (16, 8)
    """

    max_len: int

    @nn.compact
    def __call__(self, x: jax.Array, offset: Any = 0) -> jax.Array:
        if x.ndim != 3:
            raise ValueError(f"x: expected shape (batch, time, features), got {tuple(x.shape)}")
        _check_length(x.shape[1], self.max_len)
        table = self.param("table", nn.initializers.normal(0.02), (self.max_len, x.shape[-1]))
        return x + _positions(table, x.shape[1], offset)[None].astype(x.dtype)


class TokenEmbedding(nn.Module):
    """Token ids ``(batch, t)`` → vectors ``(batch, t, features)`` (normal init, σ = 1).

    Integer ids only (``ValueError`` naming ``tokens`` otherwise); concrete ids outside
    ``[0, vocab_size)`` raise too.

    Example:
        >>> emb = TokenEmbedding(vocab_size=12, features=8)
        >>> emb.init_with_output(jax.random.key(0), jnp.array([[1, 2, 3]]))[0].shape
        (1, 3, 8)
    """

    vocab_size: int
    features: int

    @nn.compact
    def __call__(self, tokens: Any) -> jax.Array:
        tokens = _check_tokens(tokens, self.vocab_size)
        return nn.Embed(self.vocab_size, self.features, name="embed")(tokens)


def _check_tokens(tokens: Any, vocab_size: int) -> jax.Array:
    tokens = jnp.asarray(tokens)
    if not jnp.issubdtype(tokens.dtype, jnp.integer):
        raise ValueError(f"tokens: expected integer token ids, got dtype {tokens.dtype}")
    if tokens.ndim != 2:
        raise ValueError(f"tokens: expected shape (batch, time), got {tuple(tokens.shape)}")
    if is_concrete(tokens) and tokens.size:
        lo, hi = int(jnp.min(tokens)), int(jnp.max(tokens))
        if lo < 0 or hi >= vocab_size:
            raise ValueError(f"tokens: ids must lie in [0, {vocab_size}), got range "
                             f"[{lo}, {hi}]")
    return tokens


# --------------------------------------------------------------------------- language model


class KVCache(NamedTuple):
    """The key-value cache of a :class:`CausalLM` (all layers stacked).

    Fields:
        keys: ``(layers, batch, heads, cache_len, head_dim)``.
        values: same shape.
        index: int32 scalar, the number of positions already written (the position
            of the next token).
    """

    keys: jax.Array
    values: jax.Array
    index: jax.Array


class DecodeOutput(NamedTuple):
    """What :meth:`CausalLM.decode` returns.

    Fields:
        logits: ``(batch, t, vocab_size)`` for the ``t`` tokens just fed.
        cache: the :class:`KVCache` with them written and ``index`` advanced by ``t``.
    """

    logits: jax.Array
    cache: KVCache


class CausalLM(nn.Module):
    """Decoder-only (GPT-style) causal language model.

    Attributes:
        vocab_size: number of token ids.
        max_len: longest sequence (the positional table); longer inputs raise.
        d_model: width of the residual stream.
        num_heads: attention heads (``d_model`` divisible by it).
        num_layers: transformer blocks.
        mlp_ratio: MLP width / ``d_model``.
        positional: ``'learned'`` or ``'sinusoidal'``.

    ``__call__(tokens)`` with int ``tokens (batch, t)``, ``t <= max_len``, returns
    next-token logits ``(batch, t, vocab_size)``: ``logits[:, i]`` depends on
    ``tokens[:, :i+1]`` only. ``decode(tokens, cache)`` continues from a
    :class:`KVCache` (see :meth:`init_cache`) and returns a :class:`DecodeOutput`.

    Example:
        >>> lm = CausalLM(vocab_size=12, max_len=16, d_model=16, num_heads=2, num_layers=1)
        >>> tokens = jnp.array([[1, 2, 3]])
        >>> params = lm.init(jax.random.key(0), tokens)
        >>> lm.apply(params, tokens).shape
        (1, 3, 12)
        >>> out = lm.apply(params, tokens, lm.init_cache(1, 16), method=lm.decode)
        >>> out.logits.shape, int(out.cache.index)
        ((1, 3, 12), 3)
    """

    vocab_size: int
    max_len: int
    d_model: int = 64
    num_heads: int = 4
    num_layers: int = 2
    mlp_ratio: int = 4
    positional: str = "learned"

    def setup(self):
        if self.positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional: expected 'learned' or 'sinusoidal', got "
                             f"{self.positional!r}")
        if self.d_model % self.num_heads:
            raise ValueError(f"num_heads: d_model={self.d_model} is not divisible by "
                             f"num_heads={self.num_heads}")
        self.embed = TokenEmbedding(self.vocab_size, self.d_model)
        pos_cls = LearnedPositionalEncoding if self.positional == "learned" \
            else SinusoidalPositionalEncoding
        self.position = pos_cls(self.max_len)
        self.blocks = [TransformerBlock(self.num_heads, self.mlp_ratio, name=f"block_{i}")
                       for i in range(self.num_layers)]
        self.norm = nn.LayerNorm()
        self.head = nn.Dense(self.vocab_size)

    def __call__(self, tokens: Any) -> jax.Array:
        tokens = _check_tokens(tokens, self.vocab_size)
        _check_length(tokens.shape[1], self.max_len)
        x = self.position(self.embed(tokens))
        mask = causal_mask(tokens.shape[1])
        for blk in self.blocks:
            x = blk(x, mask)
        return self.head(self.norm(x))

    def decode(self, tokens: Any, cache: KVCache) -> DecodeOutput:
        """Run ``tokens (batch, t)`` at positions ``cache.index … cache.index+t-1``."""
        tokens = _check_tokens(tokens, self.vocab_size)
        if tokens.shape[1] > cache.keys.shape[3]:
            raise ValueError(f"tokens: {tokens.shape[1]} tokens do not fit a cache of length "
                             f"{cache.keys.shape[3]}")
        x = self.position(self.embed(tokens), cache.index)
        keys, values = [], []
        for i, blk in enumerate(self.blocks):
            x, layer = blk(x, None, LayerKV(cache.keys[i], cache.values[i]), cache.index)
            keys.append(layer.keys)
            values.append(layer.values)
        logits = self.head(self.norm(x))
        new_cache = KVCache(jnp.stack(keys), jnp.stack(values),
                            cache.index + jnp.asarray(tokens.shape[1], jnp.int32))
        return DecodeOutput(logits, new_cache)

    def init_cache(self, batch_size: int, length: int | None = None,
                   dtype: Any = jnp.float32) -> KVCache:
        """An empty :class:`KVCache` for ``batch_size`` sequences of up to ``length``
        (default ``max_len``) positions."""
        length = self.max_len if length is None else as_int(length, "length", minimum=1)
        if length > self.max_len:
            raise ValueError(f"length: {length} exceeds max_len={self.max_len}")
        shape = (self.num_layers, as_int(batch_size, "batch_size", minimum=1), self.num_heads,
                 length, self.d_model // self.num_heads)
        return KVCache(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype),
                       jnp.zeros((), jnp.int32))


# --------------------------------------------------------------------------- sampling


def sample_logits(key: jax.Array, logits: jax.Array, temperature: Any = 1.0,
                  top_k: Any = None) -> jax.Array:
    r"""Draw one token id from ``logits (vocab,)`` (one example; ``vmap`` for a batch).

    Keeps the ``top_k`` largest logits (ties with the k-th are kept too), divides by
    the temperature and samples from the softmax; ``temperature == 0`` returns the
    argmax (greedy). ``temperature`` and ``top_k`` may be traced.

    Example:
        >>> int(sample_logits(jax.random.key(0), jnp.array([0.0, 3.0, 1.0]), 0.0))
        1
    """
    logits = jnp.asarray(logits)
    vocab = logits.shape[-1]
    k = jnp.asarray(vocab if top_k is None else top_k, jnp.int32)
    kth = jnp.sort(logits)[vocab - jnp.clip(k, 1, vocab)]
    masked = jnp.where(logits >= kth, logits, -jnp.inf)
    temperature = jnp.asarray(temperature, logits.dtype)
    safe_t = jnp.where(temperature > 0, temperature, jnp.ones_like(temperature))
    sampled = jax.random.categorical(key, masked / safe_t)
    return jnp.where(temperature > 0, sampled, jnp.argmax(logits)).astype(jnp.int32)


def _sample_batch(key, logits, temperature, top_k):
    keys = jax.random.split(key, logits.shape[0])
    return jax.vmap(sample_logits, in_axes=(0, 0, None, None))(keys, logits, temperature, top_k)


@partial(jax.jit, static_argnames=("model", "max_new_tokens", "use_cache"))
def _generate(key, model, params, prompt, max_new_tokens, temperature, top_k, use_cache):
    b, p = prompt.shape
    total = p + max_new_tokens
    step_keys = jax.random.split(key, max_new_tokens)
    tokens = jnp.zeros((b, total), jnp.int32).at[:, :p].set(prompt)
    if use_cache:
        out = model.apply(params, prompt, model.init_cache(b, total), method=model.decode)
        first = _sample_batch(step_keys[0], out.logits[:, -1], temperature, top_k)

        def body(carry, xs):
            toks, cache, last = carry
            i, step_key = xs
            toks = jax.lax.dynamic_update_slice(toks, last[:, None], (0, p + i - 1))
            step = model.apply(params, last[:, None], cache, method=model.decode)
            nxt = _sample_batch(step_key, step.logits[:, 0], temperature, top_k)
            return (toks, step.cache, nxt), None

        (tokens, _, last), _ = jax.lax.scan(body, (tokens, out.cache, first),
                                            (jnp.arange(1, max_new_tokens), step_keys[1:]))
        return tokens.at[:, total - 1].set(last)

    def body_full(toks, xs):
        i, step_key = xs
        logits = model.apply(params, toks)                           # the whole buffer
        nxt = _sample_batch(step_key,
                            jax.lax.dynamic_index_in_dim(logits, p + i - 1, 1, False),
                            temperature, top_k)
        return jax.lax.dynamic_update_slice(toks, nxt[:, None], (0, p + i)), None

    tokens, _ = jax.lax.scan(body_full, tokens, (jnp.arange(max_new_tokens), step_keys))
    return tokens


def generate(key: jax.Array, model: CausalLM, params: Any, prompt: Any, max_new_tokens: int,
             *, temperature: Any = 1.0, top_k: Any = None, use_cache: bool = True) -> jax.Array:
    """Autoregressive sampling from a :class:`CausalLM`, in one jitted ``lax.scan``.

    Step ``i`` draws token ``prompt_len + i`` from ``sample_logits`` with the key
    ``split(key, max_new_tokens)[i]`` (split again over the batch), so the cached and
    uncached paths draw the same tokens given the same key.

    Args:
        key: a PRNG key.
        model: the (unbound) :class:`CausalLM`.
        params: its variables (``model.init(...)``).
        prompt: int ``(batch, prompt_len)``, ``prompt_len >= 1``; every row the same length.
        max_new_tokens: tokens to generate, ``prompt_len + max_new_tokens <= model.max_len``.
        temperature: ``>= 0``; 0 is greedy (argmax). May be a traced array.
        top_k: keep the ``top_k`` most likely tokens (``1 … vocab_size``), ``None`` for all.
        use_cache: prefill a :class:`KVCache` and feed one token per step (default);
            ``False`` re-runs the model on the whole fixed-length buffer every step.

    Returns:
        int32 ``(batch, prompt_len + max_new_tokens)``: the prompt followed by the new tokens.

    Example:
        >>> lm = CausalLM(vocab_size=5, max_len=8, d_model=8, num_heads=2, num_layers=1)
        >>> params = lm.init(jax.random.key(0), jnp.zeros((1, 8), jnp.int32))
        >>> out = generate(jax.random.key(1), lm, params, jnp.array([[1, 2]]), 4,
        ...                temperature=0.0)
        >>> out.shape
        (1, 6)
    """
    check_key(key)
    if not isinstance(model, CausalLM):
        raise TypeError(f"model: expected a CausalLM, got {type(model).__name__}")
    prompt = _check_tokens(prompt, model.vocab_size).astype(jnp.int32)
    if prompt.shape[1] < 1:
        raise ValueError("prompt: expected at least one token per row, got none")
    max_new_tokens = as_int(max_new_tokens, "max_new_tokens", minimum=1)
    total = prompt.shape[1] + max_new_tokens
    if total > model.max_len:
        raise ValueError(f"max_new_tokens: prompt length {prompt.shape[1]} + {max_new_tokens} "
                         f"new tokens exceeds the model's max_len={model.max_len}")
    temperature = jnp.asarray(temperature, jnp.float32)
    if temperature.ndim != 0:
        raise ValueError(f"temperature: expected a scalar, got shape {tuple(temperature.shape)}")
    if is_concrete(temperature) and not (np.isfinite(float(temperature))
                                         and float(temperature) >= 0):
        raise ValueError(f"temperature: expected a finite value >= 0, got {float(temperature)}")
    k = model.vocab_size if top_k is None else top_k
    k = jnp.asarray(k)
    if not jnp.issubdtype(k.dtype, jnp.integer) or k.ndim != 0:
        raise ValueError(f"top_k: expected an integer scalar or None, got {top_k!r}")
    if is_concrete(k) and not 1 <= int(k) <= model.vocab_size:
        raise ValueError(f"top_k: expected 1 <= top_k <= vocab_size={model.vocab_size}, "
                         f"got {int(k)}")
    return _generate(key, model, params, prompt, max_new_tokens, temperature,
                     k.astype(jnp.int32), bool(use_cache))
