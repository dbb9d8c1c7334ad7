r"""Variational autoencoders (Kingma & Welling 2014).

A latent-variable model ``p(z) = N(0, I)``, ``p_θ(x | z)`` (Bernoulli or Gaussian
decoder) with an amortised posterior ``q_φ(z | x)``, a distrax distribution as DESIGN
convention 4 asks (``vae.apply(params, x)`` *is* the posterior): the diagonal Gaussian
``N(μ_φ(x), diag σ_φ(x)²)``, or that Gaussian through inverse autoregressive flow
layers (``flow_layers > 0``; :mod:`jaxphys.generative._vae_posteriors`). The encoder and
decoder are MLPs by default (:mod:`jaxphys.generative._vae_networks`), or any modules
with the same contract, e.g. :class:`ConvEncoder` and :class:`ConvDecoder`. Training
maximises the evidence lower bound with a weight β on the KL term (β-VAE):

.. math:: \mathrm{ELBO}_β(x) = E_{q(z|x)}[\log p_θ(x | z)] - β\,\mathrm{KL}(q(z|x)\,\|\,p(z)),

with a reparameterised sample ``z ~ q(z|x)`` (one per example; ``z = μ + σ ⊙ ε`` for the
Gaussian) and the KL in closed form for the Gaussian, ``½ Σ_j (μ_j² + σ_j² - 1 - log
σ_j²)``, else the single-sample estimate ``log q(z|x) - log p(z)``. The marginal log-likelihood is
estimated by importance sampling with the posterior as proposal,

.. math:: \log p(x) ≈ \log \frac1k \sum_{i=1}^{k} \frac{p_θ(x|z_i)\,p(z_i)}{q(z_i|x)},
          \quad z_i \sim q(z|x),

a lower bound that tightens as ``k`` grows (Burda et al. 2016).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import logsumexp

from .._checks import as_array, as_int, check_finite, check_in, check_key, check_positive
from ..core import FitResult, TrainState, fit
from ._training import check_learning_rate, fit_settings
from ._vae_networks import BernoulliDecoder, GaussianDecoder, GaussianEncoder
from ._vae_posteriors import posterior_location

__all__ = ["GaussianEncoder", "BernoulliDecoder", "GaussianDecoder", "VAE", "ELBOTerms",
           "elbo", "vae_loss", "train_vae", "importance_log_likelihood",
           "sample_prior", "kl_to_standard_normal", "interpolate", "latent_traversal",
           "latent_manifold", "LIKELIHOODS"]

LIKELIHOODS = ("bernoulli", "gaussian")


class VAE(nn.Module):
    """A VAE: ``apply(params, x)`` returns the posterior ``q(z|x)`` (distrax);
    ``apply(params, z, method='decode')`` returns ``p(x|z)``.

    Attributes:
        data_dim: D (flattened examples ``(n, D)``).
        latent_dim: L.
        hidden: hidden widths of the default MLP encoder (the default decoder mirrors them).
        likelihood: ``'bernoulli'`` (data in [0, 1], binary or grey levels) or ``'gaussian'``;
            it must describe the decoder.
        activation: hidden activation of the default networks.
        flow_layers: inverse autoregressive flow layers on top of the default encoder's
            Gaussian posterior (0: the diagonal Gaussian).
        flow_hidden: hidden widths of each flow layer's MADE network.
        encoder: optional module ``x (n, D) -> q(z|x)`` (a distrax distribution with batch
            shape (n,) and event shape (L,)) replacing the default MLP encoder, e.g. a
            :class:`ConvEncoder`.
        decoder: optional module ``z (n, L) -> p(x|z)`` (event shape (D,)) replacing the
            default MLP decoder, e.g. a :class:`ConvDecoder`.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> q = vae.apply(v, jnp.ones((3, 4)))
        >>> vae.apply(v, q.mean(), method="decode").mean().shape
        (3, 4)
    """

    data_dim: int
    latent_dim: int
    hidden: Sequence[int] = (128,)
    likelihood: str = "bernoulli"
    activation: str | Callable = "relu"
    flow_layers: int = 0
    flow_hidden: Sequence[int] = (64,)
    encoder: nn.Module | None = None
    decoder: nn.Module | None = None

    def __post_init__(self):
        check_in(self.likelihood, "likelihood", LIKELIHOODS)
        if self.encoder is None:
            object.__setattr__(self, "encoder", GaussianEncoder(
                self.latent_dim, tuple(self.hidden), self.activation,
                flow_layers=int(self.flow_layers), flow_hidden=tuple(self.flow_hidden)))
        elif int(self.flow_layers) != 0 and getattr(self.encoder, "flow_layers",
                                                     None) != int(self.flow_layers):
            raise ValueError("flow_layers: applies to the default encoder only; give the "
                             "encoder its own (ConvEncoder(..., flow_layers=...))")
        if self.decoder is None:
            dec = BernoulliDecoder if self.likelihood == "bernoulli" else GaussianDecoder
            object.__setattr__(self, "decoder", dec(
                self.data_dim, tuple(reversed(tuple(self.hidden))), self.activation))
        super().__post_init__()

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def __call__(self, x):
        q = self.encoder(x)
        if self.is_initializing():          # create the decoder's parameters too
            self.decoder(posterior_location(q))
        return q


def prior(latent_dim: int) -> distrax.MultivariateNormalDiag:
    """The standard-normal prior ``p(z) = N(0, I_L)``."""
    return distrax.MultivariateNormalDiag(jnp.zeros(latent_dim), jnp.ones(latent_dim))


def _log_standard_normal(z):
    return -0.5 * jnp.sum(z * z, axis=-1) - 0.5 * z.shape[-1] * np.log(2.0 * np.pi)


def kl_to_standard_normal(loc: jax.Array, scale: jax.Array) -> jax.Array:
    """Closed-form ``KL(N(μ, diag σ²) ‖ N(0, I)) = ½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²)``,
    summed over the last axis.

    Example:
        >>> float(kl_to_standard_normal(jnp.zeros(3), jnp.ones(3)))
        0.0
    """
    return 0.5 * jnp.sum(loc ** 2 + scale ** 2 - 1.0 - 2.0 * jnp.log(scale), axis=-1)


class ELBOTerms(NamedTuple):
    """Per-example terms of the ELBO, each float ``(n,)`` (nats).

    Fields:
      elbo: ``log_likelihood - β kl``.
      log_likelihood: ``log p(x | z)`` at one reparameterised ``z ~ q(z|x)``.
      kl: ``KL(q(z|x) ‖ N(0, I))``, in closed form for a diagonal-Gaussian posterior, else
          its single-sample estimate ``log q(z|x) - log p(z)`` at the same ``z``.

    Example:
        >>> from jaxphys.generative import ELBOTerms, VAE, elbo
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> t = elbo(vae, v, jnp.ones((3, 4)), jax.random.key(1))     # β = 1
        >>> isinstance(t, ELBOTerms), bool(jnp.allclose(t.elbo, t.log_likelihood - t.kl))
        (True, True)
    """

    elbo: jax.Array
    log_likelihood: jax.Array
    kl: jax.Array


def elbo(vae: VAE, params: Any, x: jax.Array, key: jax.Array, beta: Any = 1.0) -> ELBOTerms:
    """Single-sample ELBO of each example of ``x (n, D)``; ``beta`` may be traced. The KL
    is in closed form for a diagonal-Gaussian posterior, else the single-sample estimate
    ``log q(z|x) - log p(z)`` at the same reparameterised ``z``.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> t = elbo(vae, v, jnp.ones((3, 4)), jax.random.key(1))
        >>> t.elbo.shape, bool(jnp.all(t.kl >= 0))
        ((3,), True)
    """
    x = as_array(x, "x", ndim=2)
    if x.shape[1] != vae.data_dim:
        raise ValueError(f"x: expected shape (N, {vae.data_dim}), got {tuple(x.shape)}")
    check_finite(x, "x")
    check_key(key)
    q = vae.apply(params, x)
    if isinstance(q, distrax.MultivariateNormalDiag):
        z = q.sample(seed=key)
        kl = kl_to_standard_normal(q.loc, q.scale_diag)
    else:
        z, log_q = q.sample_and_log_prob(seed=key)
        kl = log_q - _log_standard_normal(z)
    ll = vae.apply(params, z, method="decode").log_prob(x)
    return ELBOTerms(ll - beta * kl, ll, kl)


def vae_loss(vae: VAE, beta: Any = 1.0):
    """``loss_fn(params, batch, key)``: ``-mean ELBO_β`` over ``batch['x']``;
    aux ``{'log_likelihood', 'kl', 'elbo'}`` (the β = 1 ELBO).

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> loss, aux = vae_loss(vae)(v, {"x": jnp.ones((3, 4))}, jax.random.key(1))
        >>> sorted(aux)
        ['elbo', 'kl', 'log_likelihood']
    """

    def loss_fn(params, batch, key):
        t = elbo(vae, params, batch["x"], key, beta)
        ll, kl = jnp.mean(t.log_likelihood), jnp.mean(t.kl)
        return -jnp.mean(t.elbo), {"log_likelihood": ll, "kl": kl, "elbo": ll - kl}

    return loss_fn


def _check_batch(vae: VAE, x, name: str) -> jax.Array:
    x = as_array(x, name, ndim=2).astype(jnp.float32)
    if x.shape[1] != vae.data_dim:
        raise ValueError(f"{name}: expected shape (N, {vae.data_dim}), got {tuple(x.shape)}")
    check_finite(x, name)
    if vae.likelihood == "bernoulli" and x.size:
        lo, hi = float(jnp.min(x)), float(jnp.max(x))
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"{name}: a Bernoulli decoder needs data in [0, 1] (pixel "
                             f"probabilities or binary pixels), got values in [{lo:.4g}, "
                             f"{hi:.4g}]; rescale the data or use likelihood='gaussian'")
    return x


def train_vae(key: jax.Array, vae: VAE, x, *, n_steps: int = 3000, batch_size: int = 128,
              learning_rate: float = 1e-3, beta: Any = 1.0, val_x=None, params=None,
              optimizer=None, progress: bool = False, **fit_kwargs) -> FitResult:
    """Train by maximising the β-ELBO (:func:`vae_loss`) with :func:`jaxphys.core.fit`.

    Args:
        key: PRNG key (initialisation, minibatches, reparameterised samples).
        vae: the model (a :class:`VAE`, or any module with the same ``apply`` /
            ``decode`` contract).
        x: training data ``(N, data_dim)``.
        n_steps, batch_size: training length and minibatch size (at most N).
        learning_rate: of the default optimiser ``optax.adam(learning_rate)`` (> 0).
        beta: the KL weight β ≥ 0.
        val_x: optional validation data (logged as ``val_loss``, by default at the end).
        params: optional initial variables (default ``vae.init(key, x[:1])``).
        optimizer: optional optax transformation replacing the default Adam.
        **fit_kwargs: passed to :func:`jaxphys.core.fit` (``checkpoint_dir``,
            ``eval_every``, ``early_stopping`` ...).

    Returns:
        a :class:`jaxphys.core.FitResult`; the trained variables are
        ``result.state.params``.

    Raises:
        ValueError naming ``x`` (or ``val_x``) if the data are not a finite
        ``(N, data_dim)`` batch, or fall outside [0, 1] for a Bernoulli decoder;
        ``learning_rate`` if it is not positive, ``beta`` if negative.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> res = train_vae(jax.random.key(0), vae, jnp.ones((16, 4)), n_steps=3, batch_size=8)
        >>> len(res.history["loss"]) > 0
        True
    """
    check_key(key)
    x = _check_batch(vae, x, "x")
    beta_value = as_array(beta, "beta", ndim=0)
    check_finite(beta_value, "beta")
    check_positive(beta_value, "beta", strict=False)
    opt = optax.adam(check_learning_rate(learning_rate)) if optimizer is None else optimizer
    val = None if val_x is None else {"x": _check_batch(vae, val_x, "val_x")}
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    init_key, fit_key = jax.random.split(key)
    if params is None:
        params = vae.init(init_key, x[:1])
    state = TrainState.create(params, opt)
    settings = fit_settings(fit_kwargs, n_steps=n_steps, val_data=val,
                            batch_size=min(batch_size, x.shape[0]),
                            eval_every=n_steps if val is not None else None, progress=progress,
                            chunk_size=min(500, n_steps), desc="vae")
    return fit(fit_key, state, {"x": x}, loss_fn=vae_loss(vae, beta), **settings)


def importance_log_likelihood(key: jax.Array, vae: VAE, params: Any, x, k: int = 100,
                              chunk: int = 50) -> jax.Array:
    """Importance-sampled ``log p(x)`` per example ``(n,)`` with ``k`` posterior samples
    as proposals (Burda et al. 2016), processed ``chunk`` at a time with ``lax.map`` to
    bound memory:

    ``log p(x) ≈ logsumexp_i [log p(x|z_i) + log p(z_i) - log q(z_i|x)] - log k``,
    ``z_i ~ q(z|x)`` drawn with ``sample_and_log_prob`` (any distrax posterior).

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> importance_log_likelihood(jax.random.key(1), vae, v, jnp.ones((3, 4)), k=10).shape
        (3,)
    """
    check_key(key)
    x = _check_batch(vae, x, "x")
    k = as_int(k, "k", minimum=1)
    chunk = min(as_int(chunk, "chunk", minimum=1), k)
    n_chunks = -(-k // chunk)
    return _iw_ll(key, vae, params, x, k, chunk, n_chunks)


def _iw_ll(key, vae, params, x, k, chunk, n_chunks):
    @jax.jit
    def run(key, params, x):
        q = vae.apply(params, x)

        def log_weights(chunk_key):               # -> (chunk, n)
            # distrax's Normal sampler adds loc (d,) to draws (n, d) by rank promotion
            with jax.numpy_rank_promotion("allow"):
                z, log_q = q.sample_and_log_prob(seed=chunk_key, sample_shape=chunk)
            zf = z.reshape(-1, z.shape[-1])
            xf = jnp.broadcast_to(x[None], (chunk,) + x.shape).reshape(-1, x.shape[-1])
            ll = vae.apply(params, zf, method="decode").log_prob(xf).reshape(chunk, -1)
            return ll + _log_standard_normal(z) - log_q

        lw = jax.lax.map(log_weights, jax.random.split(key, n_chunks))
        lw = lw.reshape(n_chunks * chunk, -1)[:k]
        return logsumexp(lw, axis=0) - jnp.log(k)

    return run(key, params, x)


from ._vae_latent import interpolate, latent_manifold, latent_traversal, sample_prior  # noqa: E402
