r"""Autoencoder models: undercomplete, convolutional, tied, stacked.

An autoencoder maps ``x → z = f(x) → x̂ = g(z)`` with a bottleneck ``dim z < dim x``
and is trained to minimise the reconstruction error ``‖x - x̂‖²/D``.

* :class:`Autoencoder`: MLP encoder / decoder (``hidden=()`` gives a *linear*
  autoencoder, whose optimum spans the top-k principal subspace, Baldi & Hornik 1989).
* :class:`ConvAutoencoder`: strided convolutions / transposed convolutions for small images.
* :class:`TiedAutoencoder`: the decoder reuses the encoder's weight matrices
  transposed, ``x̂ = W_1ᵀ σ(… W_Lᵀ z + c_L …) + c_1``, with its own biases.
* :class:`StackedAutoencoder`: a deep autoencoder whose layers can be pretrained
  greedily, one shallow autoencoder per layer (``pretrain_stacked``).

Sparse and denoising training and the stacked pretraining are in
``_autoencoder_training``; anomaly scores in ``_anomaly``.

Every model is a flax module whose ``apply(variables, x)`` returns ``x̂`` (batched,
``(n, ...)``) and has ``encode`` / ``decode`` methods
(``apply(variables, x, method='encode')``).
"""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ..nn import Conv2D, ConvTranspose2D, get_activation

__all__ = ["Autoencoder", "ConvAutoencoder", "TiedAutoencoder", "StackedAutoencoder"]


def _out(h: jax.Array, output: str | None) -> jax.Array:
    if output is None or output == "linear":
        return h
    return get_activation(output)(h)          # 'sigmoid', 'tanh', ... or a callable


def _act(a):
    return (lambda h: h) if a is None else get_activation(a)


class Autoencoder(nn.Module):
    """MLP autoencoder ``x (n, D) → z (n, latent_dim) → x̂ (n, D)``.

    Attributes:
        data_dim: D, the size of an example.
        latent_dim: size of the code.
        hidden: hidden widths of the encoder (the decoder mirrors them); ``()`` and a
            linear code give a linear autoencoder.
        activation: hidden activation (name or callable).
        latent_activation: ``None`` (linear code) or e.g. ``'sigmoid'`` (sparse AE).
        output: ``None`` (linear) or an activation, e.g. ``'sigmoid'`` (data in [0, 1]).

    Example:
        >>> ae = Autoencoder(data_dim=5, latent_dim=2, hidden=(8,))
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 5)))
        >>> ae.apply(v, jnp.ones((3, 5))).shape, ae.apply(v, jnp.ones((3, 5)), method="encode").shape
        ((3, 5), (3, 2))
    """

    data_dim: int
    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str | Callable = "relu"
    latent_activation: str | Callable | None = None
    output: str | None = None

    def setup(self):
        self.enc = [nn.Dense(w, name=f"enc{i}") for i, w in enumerate(self.hidden)]
        self.enc_out = nn.Dense(self.latent_dim, name="enc_out")
        self.dec = [nn.Dense(w, name=f"dec{i}") for i, w in enumerate(reversed(self.hidden))]
        self.dec_out = nn.Dense(self.data_dim, name="dec_out")

    def encode(self, x):
        act = _act(self.activation)
        h = x
        for layer in self.enc:
            h = act(layer(h))
        return _act(self.latent_activation)(self.enc_out(h))

    def decode(self, z):
        act = _act(self.activation)
        h = z
        for layer in self.dec:
            h = act(layer(h))
        return _out(self.dec_out(h), self.output)

    def __call__(self, x):
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for small images ``(n, H, W, C)``, H and W divisible by 4:
    ``Conv(f, 3×3, stride 2) → Conv(2f, stride 2) → Dense(latent)`` and the mirror
    ``Dense → ConvT(f, stride 2) → ConvT(C, stride 2)``.

    Example:
        >>> ae = ConvAutoencoder(image_shape=(8, 8, 1), latent_dim=4, features=4)
        >>> v = jax.jit(ae.init)(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
        >>> jax.jit(ae.apply)(v, jnp.ones((2, 8, 8, 1))).shape
        (2, 8, 8, 1)
    """

    image_shape: Sequence[int]
    latent_dim: int
    features: int = 16
    activation: str | Callable = "relu"
    output: str | None = None

    def setup(self):
        h, w, c = (int(s) for s in self.image_shape)
        if h % 4 or w % 4:
            raise ValueError(f"image_shape: H and W must be divisible by 4, got {(h, w, c)}")
        f = self.features
        self.c1 = Conv2D(f, (3, 3), strides=(2, 2), padding="SAME")
        self.c2 = Conv2D(2 * f, (3, 3), strides=(2, 2), padding="SAME")
        self.to_z = nn.Dense(self.latent_dim)
        self.from_z = nn.Dense((h // 4) * (w // 4) * 2 * f)
        self.t1 = ConvTranspose2D(f, (3, 3), strides=(2, 2), padding="SAME")
        self.t2 = ConvTranspose2D(c, (3, 3), strides=(2, 2), padding="SAME")

    def encode(self, x):
        if jnp.ndim(x) != 4:
            raise ValueError(f"x: expected images (n, H, W, C), got shape {tuple(jnp.shape(x))}")
        act = _act(self.activation)
        h = act(self.c2(act(self.c1(x))))
        return self.to_z(h.reshape(h.shape[0], -1))

    def decode(self, z):
        act = _act(self.activation)
        h_, w_, _ = (int(s) for s in self.image_shape)
        h = act(self.from_z(z)).reshape(z.shape[0], h_ // 4, w_ // 4, 2 * self.features)
        return _out(self.t2(act(self.t1(h))), self.output)

    def __call__(self, x):
        return self.decode(self.encode(x))


class TiedAutoencoder(nn.Module):
    """MLP autoencoder with tied weights: encoder ``h_l = σ(W_l h_{l-1} + b_l)``
    (last layer linear, or ``latent_activation``), decoder ``h'_{l-1} = σ(W_lᵀ h'_l + c_l)``
    with the *same* matrices ``W_l`` transposed and separate biases ``c_l``
    (half the weights of an untied autoencoder).

    Attributes:
        data_dim, widths (the encoder's output widths, the last is the code size),
        activation, latent_activation, output.

    Example:
        >>> ae = TiedAutoencoder(data_dim=5, widths=(4, 2))
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 5)))
        >>> sorted(v["params"])
        ['W0', 'W1', 'b0', 'b1', 'c0', 'c1']
        >>> ae.apply(v, jnp.ones((3, 5))).shape
        (3, 5)
    """

    data_dim: int
    widths: Sequence[int] = (64, 8)
    activation: str | Callable = "relu"
    latent_activation: str | Callable | None = None
    output: str | None = None

    def setup(self):
        dims = (int(self.data_dim),) + tuple(int(w) for w in self.widths)
        init = nn.initializers.lecun_normal()
        self.Ws = [self.param(f"W{i}", init, (dims[i], dims[i + 1]))
                   for i in range(len(self.widths))]
        self.bs = [self.param(f"b{i}", nn.initializers.zeros, (dims[i + 1],))
                   for i in range(len(self.widths))]
        self.cs = [self.param(f"c{i}", nn.initializers.zeros, (dims[i],))
                   for i in range(len(self.widths))]

    def encode(self, x):
        act = _act(self.activation)
        h = x
        n = len(self.Ws)
        for i in range(n):
            h = h @ self.Ws[i] + self.bs[i][None]
            h = act(h) if i < n - 1 else _act(self.latent_activation)(h)
        return h

    def decode(self, z):
        act = _act(self.activation)
        h = z
        for i in reversed(range(len(self.Ws))):
            h = h @ self.Ws[i].T + self.cs[i][None]
            if i > 0:
                h = act(h)
        return _out(h, self.output)

    def __call__(self, x):
        return self.decode(self.encode(x))


class StackedAutoencoder(nn.Module):
    """Deep MLP autoencoder built from shallow blocks: encoder layers ``enc{i}``
    ``(dims[i] → widths[i])`` and decoder layers ``dec{i}`` ``(widths[i] → dims[i])``,
    applied ``enc0 … enc{L-1}`` then ``dec{L-1} … dec0``. Layer ``i`` with its mirror
    ``dec{i}`` is exactly the shallow autoencoder trained at stage ``i`` of
    :func:`pretrain_stacked`. Every layer but the code and the output uses ``activation``.

    Example:
        >>> ae = StackedAutoencoder(data_dim=6, widths=(4, 2))
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 6)))
        >>> ae.apply(v, jnp.ones((3, 6))).shape
        (3, 6)
    """

    data_dim: int
    widths: Sequence[int] = (64, 16)
    activation: str | Callable = "relu"
    output: str | None = None

    def setup(self):
        dims = (int(self.data_dim),) + tuple(int(w) for w in self.widths)
        self.enc = [nn.Dense(dims[i + 1], name=f"enc{i}") for i in range(len(self.widths))]
        self.dec = [nn.Dense(dims[i], name=f"dec{i}") for i in range(len(self.widths))]

    def encode(self, x):
        act = _act(self.activation)
        h = x
        n = len(self.enc)
        for i in range(n):
            h = self.enc[i](h)
            if i < n - 1:
                h = act(h)
        return h

    def decode(self, z):
        act = _act(self.activation)
        h = z
        for i in reversed(range(len(self.dec))):
            h = self.dec[i](h)
            h = act(h) if i > 0 else _out(h, self.output)
        return h

    def __call__(self, x):
        return self.decode(self.encode(x))
