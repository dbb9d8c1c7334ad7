"""MLP encoders and decoders of a VAE: ``encoder(x (n, D)) -> q(z|x)`` and
``decoder(z (n, L)) -> p(x|z)``, both distrax distributions with batch shape (n,)."""

from __future__ import annotations

from typing import Callable, Sequence

import distrax
import flax.linen as nn
import jax  # noqa: F401  (the doctests use the module's globals)
import jax.numpy as jnp
import numpy as np

from ..nn import get_activation
from ._vae_posteriors import posterior_head


def mlp_features(h, widths, activation, prefix):
    """Dense layers ``prefix0, prefix1, ...`` with the activation after each."""
    act = get_activation(activation)
    for i, w in enumerate(widths):
        h = act(nn.Dense(int(w), name=f"{prefix}{i}")(h))
    return h


class GaussianEncoder(nn.Module):
    """MLP encoder ``x (n, D) -> q(z|x)``: a ``distrax.MultivariateNormalDiag`` with batch
    shape ``(n,)`` and event shape ``(latent_dim,)``, ``σ = softplus(s) + 1e-4``; with
    ``flow_layers > 0``, that Gaussian through inverse autoregressive flow layers
    conditioned on the last hidden features (a :class:`FlowPosterior`; see
    :func:`posterior_head`).

    Example:
        >>> enc = GaussianEncoder(latent_dim=2, hidden=(8,))
        >>> v = enc.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> q = enc.apply(v, jnp.ones((3, 4)))
        >>> q.batch_shape, q.event_shape
        ((3,), (2,))
    """

    latent_dim: int
    hidden: Sequence[int] = (128,)
    activation: str | Callable = "relu"
    flow_layers: int = 0
    flow_hidden: Sequence[int] = (64,)

    @nn.compact
    def __call__(self, x):
        h = mlp_features(x, self.hidden, self.activation, "hidden")
        return posterior_head(h, self.latent_dim, flow_layers=self.flow_layers,
                              flow_hidden=self.flow_hidden, activation=self.activation)


class BernoulliDecoder(nn.Module):
    """``z (n, L) -> p(x|z)``: independent Bernoulli pixels (``distrax.Independent`` of
    ``distrax.Bernoulli(logits)``, event shape ``(data_dim,)``); ``.mean()`` gives the
    pixel probabilities.

    Example:
        >>> dec = BernoulliDecoder(data_dim=4, hidden=(8,))
        >>> v = dec.init(jax.random.key(0), jnp.zeros((1, 2)))
        >>> dec.apply(v, jnp.zeros((3, 2))).log_prob(jnp.ones((3, 4))).shape
        (3,)
    """

    data_dim: int
    hidden: Sequence[int] = (128,)
    activation: str | Callable = "relu"

    @nn.compact
    def __call__(self, z):
        h = mlp_features(z, self.hidden, self.activation, "hidden")
        logits = nn.Dense(self.data_dim, name="logits")(h)
        return distrax.Independent(distrax.Bernoulli(logits=logits), 1)


class GaussianDecoder(nn.Module):
    """``z (n, L) -> p(x|z) = N(μ(z), diag σ²)``, with one learned ``σ_d`` per data
    dimension (independent of z), initialised at ``init_scale``.

    Example:
        >>> dec = GaussianDecoder(data_dim=4, hidden=(8,))
        >>> v = dec.init(jax.random.key(0), jnp.zeros((1, 2)))
        >>> dec.apply(v, jnp.zeros((3, 2))).event_shape
        (4,)
    """

    data_dim: int
    hidden: Sequence[int] = (128,)
    activation: str | Callable = "relu"
    init_scale: float = 0.3

    @nn.compact
    def __call__(self, z):
        h = mlp_features(z, self.hidden, self.activation, "hidden")
        mean = nn.Dense(self.data_dim, name="mean")(h)
        log_scale = self.param("log_scale", nn.initializers.constant(np.log(self.init_scale)),
                               (self.data_dim,))
        scale = jnp.broadcast_to(jnp.exp(log_scale), mean.shape)
        return distrax.MultivariateNormalDiag(mean, scale)
