r"""A decoder-only causal language model and autoregressive generation with a key-value cache.

Shapes: tokens ``(batch, time)`` int; activations ``(batch, time, d_model)``.
:class:`CausalLM` embeds tokens, adds a positional encoding (learned or sinusoidal),
runs causal pre-norm :class:`~jaxphys.nn.TransformerBlock`\ s and a final LayerNorm,
and projects to logits.

**Key-value cache.** :meth:`CausalLM.decode` runs ``t`` new tokens at positions
``index … index+t-1``, writes their keys and values into a :class:`KVCache` and
attends over everything cached so far; :func:`generate` prefills the prompt in one
call and then makes one single-token call per new token, instead of re-running the
whole sequence every step (``use_cache=False``, kept as the reference).
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_key, check_range, is_concrete

from ._attention import LayerKV, TransformerBlock, causal_mask
from ._embeddings import (LearnedPositionalEncoding, SinusoidalPositionalEncoding,
                          TokenEmbedding, _check_length, _check_tokens)

__all__ = ["KVCache", "DecodeOutput", "CausalLM", "sample_logits", "generate"]


# --------------------------------------------------------------------------- language model


class KVCache(NamedTuple):
    """The key-value cache of a :class:`CausalLM` (all layers stacked).

    Fields:
        keys: ``(layers, batch, heads, cache_len, head_dim)``.
        values: same shape.
        index: int32 scalar, the number of positions already written (the position
            of the next token).

    Example:
        >>> from jaxphys.nn import CausalLM, KVCache
        >>> lm = CausalLM(vocab_size=12, max_len=16, d_model=16, num_heads=2, num_layers=1)
        >>> cache = lm.init_cache(1, 16)                 # empty: nothing written yet
        >>> isinstance(cache, KVCache), int(cache.index)
        (True, 0)
        >>> cache.keys.shape                  # (layers, batch, heads, cache_len, head_dim)
        (1, 1, 2, 16, 8)
    """

    keys: jax.Array
    values: jax.Array
    index: jax.Array


class DecodeOutput(NamedTuple):
    """What :meth:`CausalLM.decode` returns.

    Fields:
        logits: ``(batch, t, vocab_size)`` for the ``t`` tokens just fed.
        cache: the :class:`KVCache` with them written and ``index`` advanced by ``t``.

    Example:
        >>> from jaxphys.nn import CausalLM, DecodeOutput
        >>> lm = CausalLM(vocab_size=12, max_len=16, d_model=16, num_heads=2, num_layers=1)
        >>> tokens = jnp.array([[1, 2, 3]])
        >>> params = lm.init(jax.random.key(0), tokens)
        >>> out = lm.apply(params, tokens, lm.init_cache(1, 16), method=lm.decode)
        >>> isinstance(out, DecodeOutput), int(out.cache.index)       # 3 positions written
        (True, 3)
        >>> bool(jnp.allclose(out.logits, lm.apply(params, tokens), atol=1e-5))  # = no cache
        True
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
    check_key(key)
    check_range(temperature, "temperature", low=0.0)
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
