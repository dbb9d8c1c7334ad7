"""Density estimation and generative models.

A flow or a VAE posterior follows convention 4: a model whose
``apply(params, context=None)`` returns a ``distrax.Distribution``, so ``log_prob``,
``sample`` and ``sample_and_log_prob`` work the same everywhere.

* Autoencoders: :class:`Autoencoder` (MLP), :class:`ConvAutoencoder`,
  :class:`TiedAutoencoder`, :class:`StackedAutoencoder` with :func:`pretrain_stacked`;
  sparse (KL penalty) and denoising (:func:`corrupt`) training with
  :func:`train_autoencoder`; anomaly scores :func:`detect_anomalies`.
* VAE: :class:`VAE` with a :class:`GaussianEncoder` posterior and Bernoulli or
  Gaussian decoders, :func:`elbo` with β, closed-form KL,
  :func:`importance_log_likelihood`, :func:`sample_prior`, :func:`interpolate`,
  :func:`latent_traversal`, :func:`latent_manifold`.
* Normalising flows on distrax bijectors: RealNVP, neural spline flows, MAF (MADE),
  conditional on an optional context with an embedding network; maximum-likelihood
  training with :func:`jaxphys.core.fit`.
* Neural posterior estimation with simulation-based calibration, expected coverage
  and :func:`c2st`.
* GAN: MLP and DCGAN generators and discriminators, alternating updates from two core
  train steps (:func:`make_gan_step`, :func:`train_gan`).
* Diffusion: DDPM with linear or cosine schedules (:func:`make_schedule`), ε-prediction
  :func:`ddpm_loss`, :func:`ddpm_sample` and :func:`ddim_sample`, :class:`TimeMLP` and
  :class:`DiffusionUNet`, classifier-free guidance.
"""

from jaxphys.generative._autoencoders import (Autoencoder, ConvAutoencoder, TiedAutoencoder,
                                              StackedAutoencoder, corrupt, sparsity_penalty,
                                              autoencoder_loss, train_autoencoder, AEFit,
                                              pretrain_stacked, reconstruction_error,
                                              anomaly_threshold, AnomalyResult, detect_anomalies,
                                              CORRUPTIONS)
from jaxphys.generative._vae import (GaussianEncoder, BernoulliDecoder, GaussianDecoder, VAE,
                                     ELBOTerms, elbo, vae_loss, train_vae, VAEFit,
                                     importance_log_likelihood, sample_prior,
                                     kl_to_standard_normal, interpolate, latent_traversal,
                                     latent_manifold, LIKELIHOODS)
from jaxphys.generative._gan import (MLPGenerator, MLPDiscriminator, DCGenerator, DCDiscriminator,
                                     GANState, make_gan_step, init_gan, train_gan, gan_sample,
                                     GANFit, discriminator_loss, generator_loss)
from jaxphys.generative._schedules import (NoiseSchedule, linear_schedule, cosine_schedule,
                                           make_schedule, SCHEDULES)
from jaxphys.generative._diffusion import (TimeMLP, DiffusionUNet, timestep_embedding, ddpm_loss,
                                           ddpm_sample, ddim_sample, train_diffusion, DiffusionFit,
                                           q_sample)
from jaxphys.generative._flows import (RealNVP, NeuralSplineFlow, MAF, FlowDistribution,
                                       flow_nll_loss, fit_flow)
from jaxphys.generative._bijectors import (Permute, MaskedAutoregressiveAffine, ElementwiseAffine,
                                           StandardNormal)
from jaxphys.generative._npe import (NPE, train_npe, sbc_ranks, expected_coverage, SBCResult,
                                     CoverageResult)
from jaxphys.generative._c2st import (c2st)

__all__ = [
    "Autoencoder",
    "ConvAutoencoder",
    "TiedAutoencoder",
    "StackedAutoencoder",
    "corrupt",
    "sparsity_penalty",
    "autoencoder_loss",
    "train_autoencoder",
    "AEFit",
    "pretrain_stacked",
    "reconstruction_error",
    "anomaly_threshold",
    "AnomalyResult",
    "detect_anomalies",
    "CORRUPTIONS",
    "GaussianEncoder",
    "BernoulliDecoder",
    "GaussianDecoder",
    "VAE",
    "ELBOTerms",
    "elbo",
    "vae_loss",
    "train_vae",
    "VAEFit",
    "importance_log_likelihood",
    "sample_prior",
    "kl_to_standard_normal",
    "interpolate",
    "latent_traversal",
    "latent_manifold",
    "LIKELIHOODS",
    "MLPGenerator",
    "MLPDiscriminator",
    "DCGenerator",
    "DCDiscriminator",
    "GANState",
    "make_gan_step",
    "init_gan",
    "train_gan",
    "gan_sample",
    "GANFit",
    "discriminator_loss",
    "generator_loss",
    "NoiseSchedule",
    "linear_schedule",
    "cosine_schedule",
    "make_schedule",
    "SCHEDULES",
    "TimeMLP",
    "DiffusionUNet",
    "timestep_embedding",
    "ddpm_loss",
    "ddpm_sample",
    "ddim_sample",
    "train_diffusion",
    "DiffusionFit",
    "q_sample",
    "RealNVP",
    "NeuralSplineFlow",
    "MAF",
    "FlowDistribution",
    "flow_nll_loss",
    "fit_flow",
    "Permute",
    "MaskedAutoregressiveAffine",
    "ElementwiseAffine",
    "StandardNormal",
    "NPE",
    "train_npe",
    "sbc_ranks",
    "expected_coverage",
    "SBCResult",
    "CoverageResult",
    "c2st",
]
