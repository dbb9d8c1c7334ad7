r"""Variational autoencoders (Kingma & Welling 2014).

A latent-variable model ``p(z) = N(0, I)``, ``p_θ(x | z)`` (Bernoulli or Gaussian
decoder) with an amortised diagonal-Gaussian posterior
``q_φ(z | x) = N(μ_φ(x), diag σ_φ(x)²)`` (a ``distrax.MultivariateNormalDiag``, as
DESIGN convention 4 asks: ``vae.apply(params, x)`` *is* the posterior). Training
maximises the evidence lower bound with a weight β on the KL term (β-VAE):

.. math:: \mathrm{ELBO}_β(x) = E_{q(z|x)}[\log p_θ(x | z)] - β\,\mathrm{KL}(q(z|x)\,\|\,p(z)),

with ``z = μ + σ ⊙ ε`` (reparameterisation, one sample per example) and the KL in
closed form, ``½ Σ_j (μ_j² + σ_j² - 1 - log σ_j²)``. The marginal log-likelihood is
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
from jax.scipy.stats import norm

from .._checks import as_array, as_int, check_finite, check_in, check_key
from ..core import TrainState, fit
from ..nn import get_activation

__all__ = ["GaussianEncoder", "BernoulliDecoder", "GaussianDecoder", "VAE", "ELBOTerms",
           "elbo", "vae_loss", "train_vae", "VAEFit", "importance_log_likelihood",
           "sample_prior", "kl_to_standard_normal", "interpolate", "latent_traversal",
           "latent_manifold", "LIKELIHOODS"]

LIKELIHOODS = ("bernoulli", "gaussian")


def _mlp(h, widths, activation, prefix):
    act = get_activation(activation)
    for i, w in enumerate(widths):
        h = act(nn.Dense(w, name=f"{prefix}{i}")(h))
    return h


class GaussianEncoder(nn.Module):
    """``x (n, D) -> q(z|x)``: a ``distrax.MultivariateNormalDiag`` with batch shape
    ``(n,)`` and event shape ``(latent_dim,)``; ``σ = softplus(s) + 1e-4``.

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

    @nn.compact
    def __call__(self, x):
        h = _mlp(x, self.hidden, self.activation, "hidden")
        loc = nn.Dense(self.latent_dim, name="loc")(h)
        scale = jax.nn.softplus(nn.Dense(self.latent_dim, name="scale")(h)) + 1e-4
        return distrax.MultivariateNormalDiag(loc, scale)


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
        h = _mlp(z, self.hidden, self.activation, "hidden")
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
        h = _mlp(z, self.hidden, self.activation, "hidden")
        mean = nn.Dense(self.data_dim, name="mean")(h)
        log_scale = self.param("log_scale", nn.initializers.constant(np.log(self.init_scale)),
                               (self.data_dim,))
        scale = jnp.broadcast_to(jnp.exp(log_scale), mean.shape)
        return distrax.MultivariateNormalDiag(mean, scale)


class VAE(nn.Module):
    """A VAE: ``apply(params, x)`` returns the posterior ``q(z|x)`` (distrax);
    ``apply(params, z, method='decode')`` returns ``p(x|z)``.

    Attributes:
        data_dim: D (flattened examples ``(n, D)``).
        latent_dim: L.
        hidden: hidden widths of the encoder (the decoder mirrors them).
        likelihood: ``'bernoulli'`` (binary data) or ``'gaussian'``.
        activation: hidden activation.

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

    def setup(self):
        check_in(self.likelihood, "likelihood", LIKELIHOODS)
        self.encoder = GaussianEncoder(self.latent_dim, tuple(self.hidden), self.activation)
        dec = BernoulliDecoder if self.likelihood == "bernoulli" else GaussianDecoder
        self.decoder = dec(self.data_dim, tuple(reversed(tuple(self.hidden))), self.activation)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

    def __call__(self, x):
        q = self.encoder(x)
        if self.is_initializing():          # create the decoder's parameters too
            self.decoder(q.mean())
        return q


def prior(latent_dim: int) -> distrax.MultivariateNormalDiag:
    """The standard-normal prior ``p(z) = N(0, I_L)``."""
    return distrax.MultivariateNormalDiag(jnp.zeros(latent_dim), jnp.ones(latent_dim))


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
      kl: closed-form ``KL(q(z|x) ‖ N(0, I))``.
    """

    elbo: jax.Array
    log_likelihood: jax.Array
    kl: jax.Array


def elbo(vae: VAE, params: Any, x: jax.Array, key: jax.Array, beta: Any = 1.0) -> ELBOTerms:
    """Single-sample ELBO of each example of ``x (n, D)``; ``beta`` may be traced.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> t = elbo(vae, v, jnp.ones((3, 4)), jax.random.key(1))
        >>> t.elbo.shape, bool(jnp.all(t.kl >= 0))
        ((3,), True)
    """
    q = vae.apply(params, x)
    z = q.sample(seed=key)
    ll = vae.apply(params, z, method="decode").log_prob(x)
    kl = kl_to_standard_normal(q.loc, q.scale_diag)
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


class VAEFit(NamedTuple):
    """Result of :func:`train_vae`.

    Fields:
      params: the trained variables.
      history: the ``jaxphys.core.fit`` history (``'loss'`` = -ELBO_β, ``'kl'``, ...).
    """

    params: Any
    history: dict


def train_vae(key: jax.Array, vae: VAE, x, *, n_steps: int = 3000, batch_size: int = 128,
              learning_rate: float = 1e-3, beta: Any = 1.0, val_x=None,
              progress: bool = False) -> VAEFit:
    """Train by maximising the β-ELBO with Adam via ``jaxphys.core.fit``.

    Raises:
        ValueError naming ``x`` if the data are not a finite ``(N, data_dim)`` batch.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> res = train_vae(jax.random.key(0), vae, jnp.ones((16, 4)), n_steps=3, batch_size=8)
        >>> len(res.history["loss"]) > 0
        True
    """
    check_key(key)
    x = as_array(x, "x", ndim=2).astype(jnp.float32)
    if x.shape[1] != vae.data_dim:
        raise ValueError(f"x: expected shape (N, {vae.data_dim}), got {tuple(x.shape)}")
    check_finite(x, "x")
    init_key, fit_key = jax.random.split(key)
    params = vae.init(init_key, x[:1])
    opt = optax.adam(learning_rate)
    state = TrainState.create(params, opt)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    val = None
    if val_x is not None:
        val = {"x": as_array(val_x, "val_x", ndim=2).astype(jnp.float32)}
        check_finite(val["x"], "val_x")
    res = fit(fit_key, state, vae_loss(vae, beta), opt, {"x": x}, n_steps=n_steps,
              batch_size=min(int(batch_size), x.shape[0]), val_data=val,
              eval_every=n_steps if val is not None else None, progress=progress,
              chunk_size=min(500, n_steps), desc="vae")
    return VAEFit(res.state.params, res.history)


def importance_log_likelihood(key: jax.Array, vae: VAE, params: Any, x, k: int = 100,
                              chunk: int = 50) -> jax.Array:
    """Importance-sampled ``log p(x)`` per example ``(n,)`` with ``k`` posterior samples
    (processed ``chunk`` at a time with ``lax.map`` to bound memory).

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> importance_log_likelihood(jax.random.key(1), vae, v, jnp.ones((3, 4)), k=10).shape
        (3,)
    """
    check_key(key)
    x = as_array(x, "x", ndim=2).astype(jnp.float32)
    k = as_int(k, "k", minimum=1)
    chunk = min(as_int(chunk, "chunk", minimum=1), k)
    n_chunks = -(-k // chunk)
    return _iw_ll(key, vae, params, x, k, chunk, n_chunks)


def _iw_ll(key, vae, params, x, k, chunk, n_chunks):
    @jax.jit
    def run(key, params, x):
        q = vae.apply(params, x)
        loc, scale = q.loc, q.scale_diag
        eps = jax.random.normal(key, (n_chunks, chunk) + loc.shape)

        def log_weights(e):                      # e (chunk, n, L) -> (chunk, n)
            z = loc[None] + scale[None] * e
            log_q = jnp.sum(norm.logpdf(e) - jnp.log(scale)[None], axis=-1)
            zf = z.reshape(-1, z.shape[-1])
            xf = jnp.broadcast_to(x[None], (chunk,) + x.shape).reshape(-1, x.shape[-1])
            ll = vae.apply(params, zf, method="decode").log_prob(xf).reshape(chunk, -1)
            return ll + jnp.sum(norm.logpdf(z), axis=-1) - log_q

        lw = jax.lax.map(log_weights, eps).reshape(n_chunks * chunk, -1)[:k]
        return logsumexp(lw, axis=0) - jnp.log(k)

    return run(key, params, x)


def _decode_mean(vae, params, z):
    return vae.apply(params, z, method="decode").mean()


def sample_prior(key: jax.Array, vae: VAE, params: Any, n: int, *,
                 mean: bool = True) -> jax.Array:
    """``n`` draws ``z ~ N(0, I)`` decoded: the decoder means (pixel probabilities for
    Bernoulli) if ``mean``, else samples ``x ~ p(x|z)``. Shape ``(n, D)``.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> sample_prior(jax.random.key(1), vae, v, 5).shape
        (5, 4)
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    z_key, x_key = jax.random.split(key)
    z = jax.random.normal(z_key, (n, vae.latent_dim))
    p = vae.apply(params, z, method="decode")
    if mean:
        return p.mean()
    if vae.likelihood == "bernoulli":
        return jax.random.bernoulli(x_key, p.mean()).astype(jnp.float32)
    return p.sample(seed=x_key).astype(jnp.float32)


def interpolate(vae: VAE, params: Any, x_a, x_b, n_points: int = 8) -> jax.Array:
    """Decoder means along the straight line between the posterior means of two
    examples ``x_a``, ``x_b`` (each ``(D,)``): ``z(s) = (1-s) μ(x_a) + s μ(x_b)``,
    ``s ∈ [0, 1]``; shape ``(n_points, D)``.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> interpolate(vae, v, jnp.zeros(4), jnp.ones(4), 5).shape
        (5, 4)
    """
    x_a = as_array(x_a, "x_a", ndim=1)
    x_b = as_array(x_b, "x_b", ndim=1)
    mu = vae.apply(params, jnp.stack([x_a, x_b])).mean()
    s = jnp.linspace(0.0, 1.0, as_int(n_points, "n_points", minimum=2))[:, None]
    return _decode_mean(vae, params, (1.0 - s) * mu[0][None] + s * mu[1][None])


def latent_traversal(vae: VAE, params: Any, z0, dim: int, values) -> jax.Array:
    """Decoder means as latent coordinate ``dim`` of ``z0 (L,)`` sweeps ``values (m,)``
    with the others held fixed; shape ``(m, D)``.

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> latent_traversal(vae, v, jnp.zeros(2), 1, jnp.linspace(-2, 2, 7)).shape
        (7, 4)
    """
    z0 = as_array(z0, "z0", ndim=1)
    dim = as_int(dim, "dim", minimum=0)
    if dim >= vae.latent_dim:
        raise ValueError(f"dim: expected < latent_dim = {vae.latent_dim}, got {dim}")
    values = as_array(values, "values", ndim=1)
    z = jnp.broadcast_to(z0[None], (values.shape[0], z0.shape[0])).at[:, dim].set(values)
    return _decode_mean(vae, params, z)


def latent_manifold(vae: VAE, params: Any, n_side: int = 15) -> jax.Array:
    """The manifold picture of a 2-D latent space: decoder means on an ``n_side × n_side``
    grid of prior quantiles ``z = Φ⁻¹(u)``, ``u`` evenly spaced in (0, 1); shape
    ``(n_side, n_side, D)`` with ``[i, j]`` at ``(z_1 = g_j, z_2 = g_{n-1-i})`` (top row = high z₂).

    Example:
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> latent_manifold(vae, v, 3).shape
        (3, 3, 4)
    """
    if vae.latent_dim != 2:
        raise ValueError(f"vae: the manifold picture needs latent_dim = 2, got {vae.latent_dim}")
    n = as_int(n_side, "n_side", minimum=2)
    g = norm.ppf(jnp.linspace(0.5 / n, 1 - 0.5 / n, n))
    z1, z2 = jnp.meshgrid(g, g[::-1])
    z = jnp.stack([z1.ravel(), z2.ravel()], axis=1)
    return _decode_mean(vae, params, z).reshape(n, n, -1)
