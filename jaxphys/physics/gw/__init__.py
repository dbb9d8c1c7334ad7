"""Gravitational-wave posteriors the way DINGO does them, at a scale a laptop trains.

* Waveforms: the stationary-phase TaylorF2 inspiral to 3.5PN (:func:`taylorf2`,
  :func:`taylorf2_phase`), mass conversions, :func:`isco_frequency`.
* Noise: the Advanced LIGO design fit (:func:`aligo_psd`, :func:`aligo_asd`), a
  :class:`NoiseModel` on a frequency grid, :func:`colored_noise`, :func:`whiten`, inner
  products, :func:`optimal_snr`, :func:`matched_filter_snr`, :func:`whitened_time_series`.
* The exact likelihood (:func:`whittle_log_likelihood`, :func:`log_likelihood_ratio`,
  :func:`phase_marginalized_log_likelihood_ratio`) and the inference problem
  (:class:`GWPrior`, :func:`gw_problem`, :func:`simulate_dataset`,
  :func:`make_log_posterior`, DINGO's :func:`intrinsic_bank` + :func:`apply_extrinsic`).
* A reference sampler (:func:`ensemble_sample`, :func:`reference_posterior`) with
  :func:`split_rhat` and :func:`effective_sample_size`.
* DINGO's pieces: the reduced basis (:func:`waveform_basis`) and :class:`GWEmbedding`,
  NPE (:func:`train_gw_npe`, :func:`sample_posterior`), importance sampling
  (:func:`importance_weights`, :func:`importance_sample_posterior`), and the P–P plot
  (:func:`credible_levels`, :func:`pp_plot_data`).
"""

from jaxphys.physics.gw._waveform import (SOLAR_MASS_SECONDS, MEGAPARSEC_SECONDS, EULER_GAMMA,
                                          PN_ORDERS, Polarizations, symmetric_mass_ratio,
                                          total_mass, component_masses, isco_frequency,
                                          check_frequencies, taylorf2_phase,
                                          newtonian_amplitude, taylorf2, detector_strain)
from jaxphys.physics.gw._psd import (ALIGO_MIN_FREQUENCY, aligo_psd, aligo_asd, NoiseModel,
                                     noise_model, make_noise_model, interpolate_psd,
                                     colored_noise)
from jaxphys.physics.gw._whitening import (whiten, inner_product, complex_inner_product,
                                           optimal_snr, matched_filter_snr, to_time_domain,
                                           whitened_time_series)
from jaxphys.physics.gw._likelihood import (log_i0, log_likelihood_ratio, noise_log_likelihood,
                                            whittle_log_likelihood,
                                            phase_marginalized_log_likelihood_ratio)
from jaxphys.physics.gw._prior import PARAMETER_NAMES, GWPrior
from jaxphys.physics.gw._problem import (REFERENCE_DISTANCE, GWProblem, gw_problem, gw_signal, whitened_features,
                                         simulate_features, simulate_dataset, features_to_strain,
                                         make_log_posterior, distance_for_snr, apply_extrinsic,
                                         intrinsic_bank)
from jaxphys.physics.gw._sampler import (EnsembleState, EnsembleInfo, EnsembleResult,
                                         ensemble_init, ensemble_step, ensemble_sample,
                                         split_rhat, effective_sample_size)
from jaxphys.physics.gw._reference import ReferencePosterior, reference_posterior
from jaxphys.physics.gw._importance import (ImportanceResult, importance_weights,
                                            importance_resample)
from jaxphys.physics.gw._embedding import (ReducedBasis, reduced_basis, waveform_basis, project,
                                           ResidualBlock, GWEmbedding)
from jaxphys.physics.gw._npe import (GWPosteriorModel, train_gw_npe, sample_posterior,
                                     posterior_log_prob, ImportanceSampledPosterior,
                                     importance_sample_posterior, prior_log_prob_baseline)
from jaxphys.physics.gw._calibration import (PPResult, credible_levels, kolmogorov_pvalue,
                                             pp_plot_data)

__all__ = [
    "SOLAR_MASS_SECONDS", "MEGAPARSEC_SECONDS", "EULER_GAMMA", "PN_ORDERS", "Polarizations",
    "symmetric_mass_ratio", "total_mass", "component_masses", "isco_frequency",
    "check_frequencies", "taylorf2_phase", "newtonian_amplitude", "taylorf2", "detector_strain",
    "ALIGO_MIN_FREQUENCY", "aligo_psd", "aligo_asd", "NoiseModel", "noise_model",
    "make_noise_model", "interpolate_psd", "colored_noise", "whiten", "inner_product",
    "complex_inner_product", "optimal_snr", "matched_filter_snr", "to_time_domain",
    "whitened_time_series",
    "log_i0", "log_likelihood_ratio", "noise_log_likelihood", "whittle_log_likelihood",
    "phase_marginalized_log_likelihood_ratio",
    "PARAMETER_NAMES", "REFERENCE_DISTANCE", "GWPrior", "GWProblem", "gw_problem", "gw_signal",
    "whitened_features", "simulate_features", "simulate_dataset", "features_to_strain",
    "make_log_posterior", "distance_for_snr", "apply_extrinsic", "intrinsic_bank",
    "EnsembleState", "EnsembleInfo", "EnsembleResult", "ensemble_init", "ensemble_step",
    "ensemble_sample", "split_rhat", "effective_sample_size",
    "ReferencePosterior", "reference_posterior",
    "ImportanceResult", "importance_weights", "importance_resample",
    "ReducedBasis", "reduced_basis", "waveform_basis", "project", "ResidualBlock", "GWEmbedding",
    "GWPosteriorModel", "train_gw_npe", "sample_posterior", "posterior_log_prob",
    "ImportanceSampledPosterior", "importance_sample_posterior", "prior_log_prob_baseline",
    "PPResult", "credible_levels", "kolmogorov_pvalue", "pp_plot_data",
]
