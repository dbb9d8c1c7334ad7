"""Generative trainers: autoencoder, VAE, flow, NPE, diffusion, GAN (with and without batch norm).

Each row builds its tiny problem from the public pieces its trainer is made of (the
loss or step, the model's init, the trainer's default optimiser builder) and runs the
public trainer on the same problem.
"""

import functools

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys.core import TrainState, make_train_step
from jaxphys.generative import (VAE, Autoencoder, MLPDiscriminator, MLPGenerator,
                                NeuralSplineFlow, RealNVP, TimeMLP, autoencoder_loss, ddpm_loss, diffusion_optimizer, fit_flow,
                                fit_npe, flow_nll_loss, flow_optimizer, init_diffusion, init_gan, init_npe,
                                linear_schedule, make_gan_step, train_autoencoder,
                                train_diffusion, train_gan, train_npe, train_sequential_npe,
                                train_vae, vae_loss)

from ._training import TrainerCase

_RNG = np.random.default_rng(0)
_X = jnp.asarray(_RNG.normal(size=(24, 4)), jnp.float32)
_BINARY = jnp.asarray(_RNG.uniform(size=(24, 4)) > 0.5, jnp.float32)
_THETA = jnp.asarray(_RNG.normal(size=(24, 2)), jnp.float32)
_SIMS = _THETA + 0.1 * jnp.asarray(_RNG.normal(size=(24, 2)), jnp.float32)
_LABELS = jnp.asarray(np.arange(24) % 2, jnp.int32)


def _poison(data):
    """NaN in the first example of every floating-point array."""
    return jax.tree.map(lambda a: a.at[0].set(jnp.nan)
                        if jnp.issubdtype(a.dtype, jnp.floating) else a, data)


# ---- autoencoder (denoising: the loss draws from its key)

_AE = Autoencoder(data_dim=4, latent_dim=2, hidden=(8,))


def _make_autoencoder(key):
    state = TrainState.create(_AE.init(key, _X[:1]), optax.adam(1e-2))
    step = make_train_step(autoencoder_loss(_AE, corruption="gaussian", noise_level=0.1),
                           jit=False)
    return step, state, {"x": _X}


def _autoencoder_trainer(key, **fit_kwargs):
    return train_autoencoder(key, _AE, _X, batch_size=8, corruption="gaussian", **fit_kwargs)


# ---- VAE

_VAE = VAE(data_dim=4, latent_dim=2, hidden=(8,))


def _make_vae(key):
    state = TrainState.create(_VAE.init(key, _BINARY[:1]), optax.adam(1e-2))
    return make_train_step(vae_loss(_VAE, beta=1.0), jit=False), state, {"x": _BINARY}


def _vae_trainer(key, **fit_kwargs):
    return train_vae(key, _VAE, _BINARY, batch_size=8, **fit_kwargs)


# ---- flow

_FLOW = RealNVP(n_layers=2, hidden=(8,))


def _make_flow(key):
    state = TrainState.create(_FLOW.init(key, _X[:, :2]), flow_optimizer(1e-2, 8))
    return make_train_step(flow_nll_loss(_FLOW), jit=False), state, {"x": _X[:, :2]}


def _flow_trainer(key, **fit_kwargs):
    return fit_flow(key, _FLOW, _X[:, :2], batch_size=8, **fit_kwargs)


# ---- NPE: a conditional spline flow in an NPE state (standardisation included); one
# coupling layer (the trainers' code path does not depend on the depth: RealNVP's row
# has two layers and the permutation between them)

_NPE_FLOW = NeuralSplineFlow(n_layers=1, hidden=(8,), n_bins=4)
# the three NPE rows share this make: one optimiser and one step (per flow) for all of
# them, so that their loops compile once and the rows differ only in their trainers
_NPE_OPTIMIZER = flow_optimizer(1e-2, 8)


@functools.cache
def _npe_step(flow):
    return make_train_step(flow_nll_loss(flow), jit=False)


def _make_npe(key):
    npe = init_npe(key, _THETA, _SIMS, flow=_NPE_FLOW, optimizer=_NPE_OPTIMIZER)
    return _npe_step(npe.flow), npe, npe.training_data(_THETA, _SIMS)


def _npe_trainer(key, **fit_kwargs):
    return train_npe(key, _THETA, _SIMS, flow=_NPE_FLOW, batch_size=8, val_fraction=0.25,
                     **fit_kwargs)


def _fit_npe_trainer(key, **fit_kwargs):
    init_key, fit_key = jax.random.split(key)
    npe = init_npe(init_key, _THETA, _SIMS, flow=_NPE_FLOW)
    return fit_npe(fit_key, npe, _THETA, _SIMS, batch_size=8, val_fraction=0.25, **fit_kwargs)


def _simulate_linear(key, theta):
    return theta + 0.1 * jax.random.normal(key, theta.shape)


_PRIOR = distrax.MultivariateNormalDiag(jnp.zeros(2), jnp.ones(2))


def _sequential_npe_trainer(key, **fit_kwargs):
    # TSNPE's rounds each train the same NPE step through fit (n_steps per round); two
    # rounds, so that the second truncates the prior. No hold-out: fit_npe's validation
    # and early stopping are the two rows above
    return train_sequential_npe(key, _PRIOR, _simulate_linear, jnp.array([0.3, -0.2]),
                                n_rounds=2, simulations_per_round=16, n_support=16,
                                flow=_NPE_FLOW, batch_size=8, val_fraction=0.0,
                                **fit_kwargs)


# ---- class-conditional diffusion

_DENOISER = TimeMLP(widths=(8,), n_classes=2)
_SCHEDULE = linear_schedule(10)


def _make_diffusion(key):
    state = TrainState.create(init_diffusion(key, _DENOISER, _X[:, :2], _LABELS),
                              diffusion_optimizer(1e-2, 8))
    step = make_train_step(ddpm_loss(_DENOISER, _SCHEDULE, cond_drop=0.2), jit=False)
    return step, state, {"x": _X[:, :2], "y": _LABELS}


def _diffusion_trainer(key, **fit_kwargs):
    return train_diffusion(key, _DENOISER, _SCHEDULE, _X[:, :2], _LABELS, batch_size=8,
                           cond_drop=0.2, **fit_kwargs)


# ---- GAN: MLP players, and players with batch statistics (the LossAux path, as the
# DCGAN's; dense rather than convolutional layers only to keep the compilation short)

_G, _D = MLPGenerator(2, (8,)), MLPDiscriminator((8,))


class _BatchNormPlayer(nn.Module):
    out: int

    @nn.compact
    def __call__(self, x, train: bool = False):
        h = nn.BatchNorm(use_running_average=not train, momentum=0.9)(nn.Dense(8)(x))
        y = nn.Dense(self.out)(nn.leaky_relu(h, 0.2))
        return y if self.out > 1 else y[:, 0]


_BNG, _BND = _BatchNormPlayer(2), _BatchNormPlayer(1)


def _make_gan(key):
    state = init_gan(key, _G, _D, optax.adam(1e-2), optax.adam(1e-2, b1=0.5), 2, _X[:8, :2])
    return make_gan_step(_G, _D, 2, jit=False), state, {"x": _X[:, :2]}


def _gan_trainer(key, **fit_kwargs):
    return train_gan(key, _G, _D, _X[:, :2], latent_dim=2, batch_size=8, **fit_kwargs)


def _make_batchnorm_gan(key):
    state = init_gan(key, _BNG, _BND, optax.adam(1e-2), optax.adam(1e-2), 3, _X[:8, :2])
    return make_gan_step(_BNG, _BND, 3, jit=False), state, {"x": _X[:, :2]}


CASES = [
    TrainerCase("generative.train_autoencoder (denoising MLP)", _make_autoencoder, _poison,
                batch_size=8, trainer=_autoencoder_trainer),
    TrainerCase("generative.train_vae", _make_vae, _poison, batch_size=8, trainer=_vae_trainer),
    TrainerCase("generative.fit_flow (RealNVP)", _make_flow, _poison, batch_size=8,
                trainer=_flow_trainer),
    TrainerCase("generative.train_npe (conditional spline flow)", _make_npe, _poison,
                batch_size=8, trainer=_npe_trainer),
    TrainerCase("generative.fit_npe (an existing NPE trained on)", _make_npe, _poison,
                batch_size=8, trainer=_fit_npe_trainer),
    TrainerCase("generative.train_sequential_npe (truncated sequential NPE)", _make_npe,
                _poison, batch_size=8, trainer=_sequential_npe_trainer),
    TrainerCase("generative.train_diffusion (class-conditional)", _make_diffusion, _poison,
                batch_size=8, trainer=_diffusion_trainer),
    TrainerCase("generative.train_gan (MLP players)", _make_gan, _poison, batch_size=8,
                trainer=_gan_trainer),
    TrainerCase("generative.train_gan (players with batch statistics)", _make_batchnorm_gan,
                _poison, batch_size=8),
]
