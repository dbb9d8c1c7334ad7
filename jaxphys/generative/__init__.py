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
  train steps in one :class:`GANState` (:func:`make_gan_step`, :func:`train_gan`).
* Sample quality of generated images: :func:`fit_image_judge` fits a PCA feature space
  and a classifier on real images, :func:`judge_images` scores samples (Fréchet
  distance against a real-vs-real baseline, classifier confidence, label entropy).

Every trainer (:func:`train_autoencoder`, :func:`train_vae`, :func:`fit_flow`,
:func:`train_npe`, :func:`train_gan`, :func:`train_diffusion`) is a loss or a step
handed to :func:`jaxphys.core.fit`; each accepts the caller's model and optimiser
(``optimizer=``, an optax transformation), passes ``**fit_kwargs`` (checkpoints,
validation, callbacks) to ``fit`` and returns its :class:`jaxphys.core.FitResult`.
* Diffusion: DDPM with linear or cosine schedules (:func:`make_schedule`), ε-prediction
  :func:`ddpm_loss`, :func:`ddpm_sample` and :func:`ddim_sample`, :class:`TimeMLP` and
  :class:`DiffusionUNet`, classifier-free guidance.
"""

from jaxphys.generative._autoencoders import (Autoencoder, ConvAutoencoder, TiedAutoencoder,
                                              StackedAutoencoder)
from jaxphys.generative._autoencoder_training import (corrupt, kl_sparsity_penalty,
                                                      autoencoder_loss, train_autoencoder,
                                                      pretrain_stacked, CORRUPTIONS)
from jaxphys.generative._anomaly import (reconstruction_error, anomaly_threshold, AnomalyResult,
                                         detect_anomalies)
from jaxphys.generative._vae import (GaussianEncoder, BernoulliDecoder, GaussianDecoder, VAE,
                                     ELBOTerms, elbo, vae_loss, train_vae,
                                     importance_log_likelihood, sample_prior,
                                     kl_to_standard_normal, interpolate, latent_traversal,
                                     latent_manifold, LIKELIHOODS)
from jaxphys.generative._vae_posteriors import (FlowPosterior, posterior_head,
                                                posterior_location)
from jaxphys.generative._conv_vae import (ConvEncoder, ConvDecoder)
from jaxphys.generative._gan import (MLPGenerator, MLPDiscriminator, DCGenerator, DCDiscriminator,
                                     GANState, make_gan_step, init_gan, train_gan, gan_sample,
                                     discriminator_loss, generator_loss)
from jaxphys.generative._schedules import (NoiseSchedule, linear_schedule, cosine_schedule,
                                           make_schedule, NOISE_SCHEDULES)
from jaxphys.generative._diffusion_models import TimeMLP, DiffusionUNet, timestep_embedding
from jaxphys.generative._diffusion import (ddpm_loss, ddpm_sample, ddim_sample, train_diffusion,
                                           diffusion_optimizer, init_diffusion, q_sample)
from jaxphys.generative._flows import (RealNVP, NeuralSplineFlow, MAF, FlowDistribution,
                                       flow_nll_loss, flow_optimizer, fit_flow)
from jaxphys.generative._bijectors import (Permute, MaskedAutoregressiveAffine, ElementwiseAffine,
                                           StandardNormal, InverseAutoregressiveAffine,
                                           SplitCoupling)
from jaxphys.generative._spline import RationalQuadraticSpline
from jaxphys.generative._npe import (NPE, init_npe, train_npe, fit_npe)
from jaxphys.generative._sbc import (sbc_ranks, sbc_uniformity, rank_uniformity, expected_coverage,
                                     tarp_coverage, posterior_samples, chi2_survival, SBCResult,
                                     CoverageResult, UniformityTest, TARPResult)
from jaxphys.generative._snpe import (train_sequential_npe, truncated_prior_samples)
from jaxphys.generative._sbibm import (two_moons_prior, two_moons_simulate, two_moons_mean,
                                       two_moons_log_likelihood, two_moons_reference_posterior)
from jaxphys.generative._c2st import (c2st)
from jaxphys.generative._sample_quality import (ImageJudge, SampleQuality, fit_image_judge,
                                                judge_images)

__all__ = [
    "Autoencoder",
    "ConvAutoencoder",
    "TiedAutoencoder",
    "StackedAutoencoder",
    "corrupt",
    "kl_sparsity_penalty",
    "autoencoder_loss",
    "train_autoencoder",
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
    "importance_log_likelihood",
    "sample_prior",
    "kl_to_standard_normal",
    "interpolate",
    "latent_traversal",
    "latent_manifold",
    "LIKELIHOODS",
    "FlowPosterior",
    "posterior_head",
    "posterior_location",
    "ConvEncoder",
    "ConvDecoder",
    "MLPGenerator",
    "MLPDiscriminator",
    "DCGenerator",
    "DCDiscriminator",
    "GANState",
    "make_gan_step",
    "init_gan",
    "train_gan",
    "gan_sample",
    "discriminator_loss",
    "generator_loss",
    "NoiseSchedule",
    "linear_schedule",
    "cosine_schedule",
    "make_schedule",
    "NOISE_SCHEDULES",
    "TimeMLP",
    "DiffusionUNet",
    "timestep_embedding",
    "ddpm_loss",
    "ddpm_sample",
    "ddim_sample",
    "train_diffusion",
    "diffusion_optimizer",
    "init_diffusion",
    "q_sample",
    "RealNVP",
    "NeuralSplineFlow",
    "MAF",
    "FlowDistribution",
    "flow_nll_loss",
    "flow_optimizer",
    "fit_flow",
    "Permute",
    "MaskedAutoregressiveAffine",
    "ElementwiseAffine",
    "StandardNormal",
    "InverseAutoregressiveAffine",
    "SplitCoupling",
    "RationalQuadraticSpline",
    "NPE",
    "init_npe",
    "train_npe",
    "fit_npe",
    "sbc_ranks",
    "expected_coverage",
    "SBCResult",
    "CoverageResult",
    "sbc_uniformity",
    "rank_uniformity",
    "tarp_coverage",
    "posterior_samples",
    "chi2_survival",
    "UniformityTest",
    "TARPResult",
    "train_sequential_npe",
    "truncated_prior_samples",
    "two_moons_prior",
    "two_moons_simulate",
    "two_moons_mean",
    "two_moons_log_likelihood",
    "two_moons_reference_posterior",
    "c2st",
    "ImageJudge",
    "SampleQuality",
    "fit_image_judge",
    "judge_images",
]
