r"""Generative adversarial networks with alternating updates.

A generator ``G(z)``, ``z ~ N(0, I)``, and a discriminator ``D(x)`` (a logit) play
(Goodfellow et al. 2014). The discriminator minimises the binary cross-entropy

.. math:: L_D = -E_x \log σ(D(x)) - E_z \log(1 - σ(D(G(z))))
             = E_x\,\mathrm{softplus}(-D(x)) + E_z\,\mathrm{softplus}(D(G(z)));

the generator uses the *non-saturating* loss
``L_G = -E_z log σ(D(G(z))) = E_z softplus(-D(G(z)))``, whose gradient does not vanish
when D confidently rejects the fakes early in training.

One GAN step is two ordinary train steps from ``jaxphys.core.make_train_step``,
composed: first D (with G's parameters held fixed and passed in the batch), then
G (with the updated D held fixed). Models with batch norm (the DCGAN variant)
carry their batch statistics in the ``TrainState.model_state``.

* :class:`MLPGenerator`, :class:`MLPDiscriminator` for low-dimensional data;
* :class:`DCGenerator`, :class:`DCDiscriminator`: DCGAN-style (Radford et al. 2016)
  for 8×8 single-channel images in [-1, 1]: strided (transposed) convolutions,
  batch norm, leaky ReLU, a tanh output.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from .._checks import as_array, as_int, check_finite, check_key
from ..core import TrainState, make_train_step

__all__ = ["MLPGenerator", "MLPDiscriminator", "DCGenerator", "DCDiscriminator", "GANState",
           "make_gan_step", "init_gan", "train_gan", "gan_sample", "GANFit",
           "discriminator_loss", "generator_loss"]


class MLPGenerator(nn.Module):
    """``z (n, latent) -> x (n, out_dim)``: ReLU MLP with a linear output.

    Example:
        >>> g = MLPGenerator(out_dim=2, widths=(8,))
        >>> v = g.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> g.apply(v, jnp.zeros((3, 4))).shape
        (3, 2)
    """

    out_dim: int
    widths: Sequence[int] = (128, 128)

    @nn.compact
    def __call__(self, z, train: bool = False):
        h = z
        for w in self.widths:
            h = nn.relu(nn.Dense(w)(h))
        return nn.Dense(self.out_dim)(h)


class MLPDiscriminator(nn.Module):
    """``x (n, d) -> logit (n,)``: leaky-ReLU MLP.

    Example:
        >>> d = MLPDiscriminator(widths=(8,))
        >>> v = d.init(jax.random.key(0), jnp.zeros((1, 2)))
        >>> d.apply(v, jnp.zeros((3, 2))).shape
        (3,)
    """

    widths: Sequence[int] = (128, 128)

    @nn.compact
    def __call__(self, x, train: bool = False):
        h = x
        for w in self.widths:
            h = nn.leaky_relu(nn.Dense(w)(h), 0.2)
        return nn.Dense(1)(h)[:, 0]


class DCGenerator(nn.Module):
    """DCGAN generator for 8×8×1 images: ``z -> Dense(2·2·4f) -> BN -> ReLU ->
    ConvT(2f, stride 2) -> BN -> ReLU -> ConvT(1, stride 2) -> tanh`` (2×2 → 4×4 → 8×8).

    Example:
        >>> g = DCGenerator(features=4)
        >>> v = g.init(jax.random.key(0), jnp.zeros((2, 8)))
        >>> g.apply(v, jnp.zeros((3, 8))).shape
        (3, 8, 8, 1)
    """

    features: int = 32

    @nn.compact
    def __call__(self, z, train: bool = False):
        f = self.features
        h = nn.Dense(2 * 2 * 4 * f)(z).reshape(z.shape[0], 2, 2, 4 * f)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
        h = nn.ConvTranspose(2 * f, (4, 4), strides=(2, 2), padding="SAME")(h)
        h = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h))
        h = nn.ConvTranspose(1, (4, 4), strides=(2, 2), padding="SAME")(h)
        return jnp.tanh(h)


class DCDiscriminator(nn.Module):
    """DCGAN discriminator for 8×8×1 images: ``Conv(f, stride 2) -> LReLU ->
    Conv(2f, stride 2) -> BN -> LReLU -> Dense(1)`` (8×8 → 4×4 → 2×2 → logit).

    Example:
        >>> d = DCDiscriminator(features=4)
        >>> v = d.init(jax.random.key(0), jnp.zeros((2, 8, 8, 1)))
        >>> d.apply(v, jnp.zeros((3, 8, 8, 1))).shape
        (3,)
    """

    features: int = 32

    @nn.compact
    def __call__(self, x, train: bool = False):
        f = self.features
        h = nn.leaky_relu(nn.Conv(f, (4, 4), strides=(2, 2), padding="SAME")(x), 0.2)
        h = nn.Conv(2 * f, (4, 4), strides=(2, 2), padding="SAME")(h)
        h = nn.leaky_relu(nn.BatchNorm(use_running_average=not train, momentum=0.9)(h), 0.2)
        return nn.Dense(1)(h.reshape(h.shape[0], -1))[:, 0]


class GANState(NamedTuple):
    """Both players' train states.

    Fields:
      generator: :class:`jaxphys.core.TrainState` of G (``model_state`` holds its batch stats).
      discriminator: :class:`jaxphys.core.TrainState` of D.
    """

    generator: TrainState
    discriminator: TrainState


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``mean softplus(-D(x)) + mean softplus(D(G(z)))`` (BCE with labels 1 real / 0 fake).

    Example:
        >>> round(float(discriminator_loss(jnp.zeros(4), jnp.zeros(4))), 4)   # 2 log 2
        1.3863
    """
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss(fake_logits: jax.Array) -> jax.Array:
    """Non-saturating generator loss ``mean softplus(-D(G(z))) = -mean log σ(D(G(z)))``.

    Example:
        >>> round(float(generator_loss(jnp.zeros(4))), 4)   # log 2
        0.6931
    """
    return jnp.mean(jax.nn.softplus(-fake_logits))


def _apply(model, params, model_state, x, train):
    """Apply a module in train mode, returning (y, new_model_state)."""
    variables = {"params": params, **model_state}
    if train and model_state:
        y, new = model.apply(variables, x, train=True, mutable=list(model_state))
        return y, dict(new)
    return model.apply(variables, x, train=train), model_state


def make_gan_step(generator: nn.Module, discriminator: nn.Module, g_optimizer, d_optimizer,
                  latent_dim: int, *, jit: bool = True):
    """Compose one GAN update ``gan_step(state, x_real, key) -> (state, metrics)``.

    The discriminator step is ``make_train_step(d_loss, d_optimizer,
    has_model_state=True)`` with batch ``{'x': x_real, 'g': (G params, G state)}``;
    the generator step is ``make_train_step(g_loss, g_optimizer, has_model_state=True)``
    with batch ``{'x': x_real, 'd': (D params, D state)}`` (``x_real`` sets the number of
    fakes). The held-fixed player's parameters arrive through the batch, so gradients
    flow only into the player being updated. D runs in train mode in both steps
    (batch statistics of D are only updated in its own step).

    Returns:
        ``gan_step``; metrics ``d_loss``, ``g_loss``, ``d_real`` (mean σ(D(x))),
        ``d_fake`` (mean σ(D(G(z)))) as float scalars.
    """
    latent_dim = as_int(latent_dim, "latent_dim", minimum=1)

    def fakes(g_params, g_state, n, key):
        z = jax.random.normal(key, (n, latent_dim))
        return _apply(generator, g_params, g_state, z, True)

    def d_loss(d_params, batch, key, d_state):
        g_params, g_state = batch["g"]
        x = batch["x"]
        fake, _ = fakes(g_params, g_state, x.shape[0], key)
        fake = jax.lax.stop_gradient(fake)
        logits, new_state = _apply(discriminator, d_params, d_state,
                                   jnp.concatenate([x, fake]), True)
        real_l, fake_l = logits[: x.shape[0]], logits[x.shape[0]:]
        loss = discriminator_loss(real_l, fake_l)
        return loss, {"model_state": new_state,
                      "d_real": jnp.mean(jax.nn.sigmoid(real_l)),
                      "d_fake": jnp.mean(jax.nn.sigmoid(fake_l))}

    def g_loss(g_params, batch, key, g_state):
        d_params, d_state = batch["d"]
        fake, new_state = fakes(g_params, g_state, batch["x"].shape[0], key)
        logits, _ = _apply(discriminator, d_params, d_state, fake, True)
        return generator_loss(logits), {"model_state": new_state}

    d_step = make_train_step(d_loss, d_optimizer, has_model_state=True, jit=False)
    g_step = make_train_step(g_loss, g_optimizer, has_model_state=True, jit=False)

    def gan_step(state: GANState, x_real: jax.Array, key: jax.Array):
        d_key, g_key = jax.random.split(key)
        g, d = state.generator, state.discriminator
        d, d_metrics = d_step(d, {"x": x_real, "g": (g.params, g.model_state)}, d_key)
        g, g_metrics = g_step(g, {"x": x_real, "d": (d.params, d.model_state)}, g_key)
        metrics = {"d_loss": d_metrics["loss"], "g_loss": g_metrics["loss"],
                   "d_real": d_metrics["d_real"], "d_fake": d_metrics["d_fake"]}
        return GANState(g, d), metrics

    return jax.jit(gan_step) if jit else gan_step


def _state_from_variables(variables, optimizer) -> TrainState:
    variables = dict(variables)
    params = variables.pop("params")
    return TrainState.create(params, optimizer, model_state=variables)


def init_gan(key: jax.Array, generator: nn.Module, discriminator: nn.Module, g_optimizer,
             d_optimizer, latent_dim: int, example_x: jax.Array) -> GANState:
    """Initialise both players; ``example_x`` is a batch ``(n, ...)`` of data (n ≥ 2 for batch norm).

    Example:
        >>> s = init_gan(jax.random.key(0), MLPGenerator(2, (4,)), MLPDiscriminator((4,)),
        ...              optax.adam(1e-3), optax.adam(1e-3), 3, jnp.zeros((2, 2)))
        >>> s.generator.params["Dense_0"]["kernel"].shape
        (3, 4)
    """
    check_key(key)
    g_key, d_key = jax.random.split(key)
    n = int(example_x.shape[0])
    # compiled: an eager flax init dispatches every small op on its own (seconds for a DCGAN)
    g_vars = jax.jit(generator.init)(g_key, jnp.zeros((n, int(latent_dim))))
    d_vars = jax.jit(discriminator.init)(d_key, example_x)
    return GANState(_state_from_variables(g_vars, g_optimizer),
                    _state_from_variables(d_vars, d_optimizer))


def gan_sample(key: jax.Array, generator: nn.Module, state: GANState, n: int,
               latent_dim: int) -> jax.Array:
    """``n`` samples ``G(z)``, ``z ~ N(0, I)``, with G in eval mode (running batch stats).

    Example:
        >>> g = MLPGenerator(2, (4,))
        >>> s = init_gan(jax.random.key(0), g, MLPDiscriminator((4,)),
        ...              optax.adam(1e-3), optax.adam(1e-3), 3, jnp.zeros((2, 2)))
        >>> gan_sample(jax.random.key(1), g, s, 5, 3).shape
        (5, 2)
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    z = jax.random.normal(key, (n, as_int(latent_dim, "latent_dim", minimum=1)))
    g = state.generator
    return generator.apply({"params": g.params, **g.model_state}, z, train=False)


class GANFit(NamedTuple):
    """Result of :func:`train_gan`.

    Fields:
      state: the final :class:`GANState`.
      history: ``{'step', 'd_loss', 'g_loss', 'd_real', 'd_fake'}`` lists, one entry per
        logged chunk (means over the chunk).
    """

    state: GANState
    history: dict


@partial(jax.jit, static_argnames=("gan_step", "n", "batch_size"))
def _gan_chunk(gan_step, state, x, key, n, batch_size):
    n_data = x.shape[0]

    def body(carry, _):
        st, k = carry
        k, idx_key, step_key = jax.random.split(k, 3)
        idx = jax.random.randint(idx_key, (batch_size,), 0, n_data)
        st, m = gan_step(st, x[idx], step_key)
        return (st, k), m

    (state, _), metrics = jax.lax.scan(body, (state, key), None, length=n)
    return state, jax.tree.map(jnp.mean, metrics)


def train_gan(key: jax.Array, generator: nn.Module, discriminator: nn.Module, x, *,
              latent_dim: int, n_steps: int = 5000, batch_size: int = 256,
              learning_rate: float = 2e-4, b1: float = 0.5, chunk_size: int = 500) -> GANFit:
    """Train a GAN on ``x`` (N, ...) with Adam(``learning_rate``, β₁ = ``b1``) for both
    players; minibatches drawn uniformly with replacement; steps run in jitted
    ``lax.scan`` chunks of ``chunk_size``.

    Raises:
        ValueError naming ``x`` for non-finite or non-batched data.

    Example:
        >>> res = train_gan(jax.random.key(0), MLPGenerator(2, (8,)), MLPDiscriminator((8,)),
        ...                 jnp.ones((16, 2)), latent_dim=2, n_steps=4, batch_size=4, chunk_size=2)
        >>> len(res.history["d_loss"])
        2
    """
    check_key(key)
    x = as_array(x, "x").astype(jnp.float32)
    if x.ndim < 2:
        raise ValueError(f"x: expected a batch (N, ...) of samples, got shape {tuple(x.shape)}")
    check_finite(x, "x")
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    chunk = min(as_int(chunk_size, "chunk_size", minimum=1), n_steps)
    init_key, loop_key = jax.random.split(key)
    g_opt = optax.adam(learning_rate, b1=b1)
    d_opt = optax.adam(learning_rate, b1=b1)
    state = init_gan(init_key, generator, discriminator, g_opt, d_opt, latent_dim,
                     x[: max(2, min(batch_size, x.shape[0]))])
    gan_step = make_gan_step(generator, discriminator, g_opt, d_opt, latent_dim, jit=False)
    history: dict[str, list] = {"step": [], "d_loss": [], "g_loss": [], "d_real": [],
                                "d_fake": []}
    done = 0
    c = 0
    while done < n_steps:
        length = chunk if n_steps - done >= chunk else n_steps - done
        chunk_key = jax.random.fold_in(loop_key, c)
        state, m = _gan_chunk(gan_step, state, x, chunk_key, length, int(batch_size))
        done += length
        c += 1
        history["step"].append(done)
        for k in ("d_loss", "g_loss", "d_real", "d_fake"):
            history[k].append(float(m[k]))
    return GANFit(state, history)
