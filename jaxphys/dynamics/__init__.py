"""jaxphys.dynamics: the physics of learning.

How training behaves, measured with the library's own step and loop:

* Landscapes and optimiser paths: two-parameter losses with known minima
  (:func:`quadratic_landscape`, :func:`rosenbrock_landscape`, :func:`chi2_landscape`,
  :func:`wells_landscape`, :class:`Landscape`), :func:`loss_surface` on a grid, and
  :class:`OptimizerPath` records of :func:`gradient_descent`, of every optimiser from
  every start (:func:`optimizer_trajectories`, :func:`steps_to_tolerance`) and of the
  step-size lesson on a parabola (:func:`gd_quadratic`).
* Double descent: random-features regression (:func:`init_feature_map`,
  :func:`apply_features`, :func:`min_norm_lstsq`) swept across the interpolation
  threshold (:func:`double_descent`).
* Expressiveness: MLP error against width and depth at a parameter budget
  (:func:`width_sweep`, :func:`depth_sweep`, :class:`ArchitectureSweep`).
* Scaling laws: :func:`fit_power_law` with bootstrap intervals, :func:`scaling_sweep`,
  :func:`teacher_student_sweep`, :func:`kan_grid_scaling`; the bias–variance
  decomposition (:func:`bias_variance`, :func:`polynomial_bias_variance`).
* Signal propagation at initialisation: the mean-field maps (:func:`mean_field`,
  :func:`critical_sigma_w2`, the edge of chaos), the same maps measured on random
  networks (:func:`propagate_pair`, :func:`empirical_correlation_map`) and the depth
  that still trains (:func:`trainability`).

Example:
    >>> from jaxphys.dynamics import gd_quadratic
    >>> gd_quadratic(0.0, 1.0, 0.5, 2).thetas.tolist()     # η = ½ lands in one step
    [0.0, 1.0, 1.0]
"""

from ._bias_variance import BiasVariance, bias_variance, polynomial_bias_variance
from ._expressiveness import (ArchitectureSweep, depth_sweep, fit_mlp_seeds, mlp_param_count,
                              width_for_budget, width_sweep)
from ._landscapes import (WELL_MINIMA, Landscape, chi2_landscape, chi2_line, gaussian_wells,
                          ill_conditioned_quadratic, loss_surface, quadratic_landscape,
                          rosenbrock, rosenbrock_landscape, wells_landscape)
from ._mean_field import (MeanField, chi1, correlation_map, critical_sigma_w2,
                          fixed_point_correlation, fixed_point_length, length_map, mean_field)
from ._power_law import PowerLawFit, fit_power_law, power_law
from ._random_features import (DoubleDescent, FeatureMap, apply_features, double_descent,
                               init_feature_map, min_norm_lstsq)
from ._scaling import (KANGridScaling, ScalingSweep, kan_grid_scaling, scaling_sweep,
                       teacher_student_sweep)
from ._signal_propagation import PairPropagation, empirical_correlation_map, propagate_pair
from ._trainability import TrainabilityResult, trainability
from ._trajectories import (OptimizerPath, gd_quadratic, gradient_descent,
                            optimizer_trajectories, steps_to_tolerance)

__all__ = [
    # landscapes and optimiser paths
    "Landscape", "ill_conditioned_quadratic", "rosenbrock", "chi2_line", "gaussian_wells",
    "WELL_MINIMA", "quadratic_landscape", "rosenbrock_landscape", "chi2_landscape",
    "wells_landscape", "loss_surface", "OptimizerPath", "gradient_descent",
    "optimizer_trajectories", "steps_to_tolerance", "gd_quadratic",
    # random features and double descent
    "FeatureMap", "init_feature_map", "apply_features", "min_norm_lstsq", "DoubleDescent",
    "double_descent",
    # expressiveness
    "ArchitectureSweep", "width_sweep", "depth_sweep", "fit_mlp_seeds", "mlp_param_count",
    "width_for_budget",
    # scaling laws and bias–variance
    "PowerLawFit", "power_law", "fit_power_law", "ScalingSweep", "scaling_sweep",
    "teacher_student_sweep", "KANGridScaling", "kan_grid_scaling", "BiasVariance",
    "bias_variance", "polynomial_bias_variance",
    # signal propagation
    "MeanField", "length_map", "fixed_point_length", "correlation_map",
    "fixed_point_correlation", "chi1", "mean_field", "critical_sigma_w2", "PairPropagation",
    "propagate_pair", "empirical_correlation_map", "TrainabilityResult", "trainability",
]
