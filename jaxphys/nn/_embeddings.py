r"""Token embeddings and positional encodings for sequence models.

Positions are encoded by a learned table or by the sinusoidal table of Vaswani et al.
(2017, "Attention is all you need"), :math:`PE_{p,2i} = \sin(p/10000^{2i/d})`,
:math:`PE_{p,2i+1} = \cos(p/10000^{2i/d})`; both take an ``offset`` so that decoding
with a key-value cache sees the right positions.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, is_concrete

__all__ = ["sinusoidal_positions", "SinusoidalPositionalEncoding", "LearnedPositionalEncoding",
           "TokenEmbedding"]


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
