"""Physics with machine learning, and the physics of learning.

* Ising Monte Carlo on L×L lattices: :func:`simulate` (checkerboard Metropolis or
  Wolff clusters, chains vmapped over temperatures), :func:`ising_observables`
  (energy, |m|, susceptibility, specific heat, Binder cumulant with
  autocorrelation-aware errors), Onsager's exact :func:`onsager_energy`,
  :func:`onsager_magnetisation`, :data:`T_CRITICAL`; labelled configurations
  :func:`ising_configurations`.
* Phase classification (Carrasquilla–Melko): :func:`train_phase_classifier`,
  :func:`phase_curve`, :func:`crossing_temperature`, :func:`finite_size_extrapolation`,
  :func:`z2_logistic_demo`.
* Physics-informed networks: :func:`make_pde_residual`, collocation sampling,
  :func:`train_pinn` (Adam then L-BFGS), solvers for Burgers, heat and a damped
  oscillator, the exact Cole–Hopf :func:`burgers_cole_hopf`, the inverse problem
  :func:`burgers_inverse`.
* Signal propagation at initialisation: :func:`mean_field`, :func:`critical_sigma_w2`,
  :func:`empirical_correlation_map`, :func:`trainability`.
* Scaling laws: :func:`sweep`, :func:`fit_power_law` (bootstrap intervals),
  :func:`teacher_student_sweep`, :func:`kan_grid_scaling`; bias–variance
  :func:`bias_variance`, :func:`polynomial_bias_variance`.
* Simulators for simulation-based inference (see :mod:`jaxphys.generative`'s NPE).
"""

from jaxphys.physics._onsager import (critical_temperature, elliptic_k, onsager_energy,
                                      onsager_magnetisation, T_CRITICAL)
from jaxphys.physics._ising_mc import (IsingRun, energy_per_spin, magnetisation_per_spin,
                                       metropolis_sweep, random_spins, simulate, wolff_update,
                                       ALGORITHMS)
from jaxphys.physics._observables import (Estimate, IsingObservables,
                                          integrated_autocorrelation_time, mean_with_error,
                                          jackknife, ising_observables)
from jaxphys.physics._ising_data import (IsingConfigurations, ising_configurations)
from jaxphys.physics._phase import (PhaseClassifier, PhaseCurve, FiniteSizeFit, Z2Demo,
                                    phase_model, train_phase_classifier, predict_ordered,
                                    phase_curve, crossing_temperature, finite_size_extrapolation,
                                    z2_logistic_demo, accuracy_away_from_tc)
from jaxphys.physics._pinn import (Derivatives, make_pde_residual, Condition, PINNProblem, PINNNet,
                                   pinn_loss, PINNResult, train_pinn, relative_l2)
from jaxphys.physics._collocation import (sample_uniform, sample_latin_hypercube,
                                          adaptive_resample)
from jaxphys.physics._pde_solutions import (burgers_cole_hopf, heat_exact, damped_oscillator_exact,
                                            BURGERS_NU)
from jaxphys.physics._pinn_solvers import (burgers_residual, heat_residual, oscillator_residual,
                                           PINNSolution, burgers_problem, solve_burgers,
                                           solve_heat, solve_damped_oscillator, InverseResult,
                                           burgers_inverse)
from jaxphys.physics._signal import (MeanField, PairPropagation, length_map, fixed_point_length,
                                     correlation_map, fixed_point_correlation, chi1, mean_field,
                                     critical_sigma_w2, propagate_pair, empirical_correlation_map,
                                     trainability, TrainabilityResult)
from jaxphys.physics._scaling import (PowerLawFit, fit_power_law, power_law, SweepResult, sweep,
                                      teacher_student_sweep, KANGridScaling, kan_grid_scaling)
from jaxphys.physics._bias_variance import (BiasVariance, bias_variance, polynomial_bias_variance)
from jaxphys.physics._simulators import (SimulationTask, simulate_batch, damped_oscillator,
                                         oscillator_signal, gw_chirp, chirp_signal,
                                         gaussian_linear, T_SUN)

__all__ = [
    "critical_temperature",
    "elliptic_k",
    "onsager_energy",
    "onsager_magnetisation",
    "T_CRITICAL",
    "IsingRun",
    "energy_per_spin",
    "magnetisation_per_spin",
    "metropolis_sweep",
    "random_spins",
    "simulate",
    "wolff_update",
    "ALGORITHMS",
    "Estimate",
    "IsingObservables",
    "integrated_autocorrelation_time",
    "mean_with_error",
    "jackknife",
    "ising_observables",
    "IsingConfigurations",
    "ising_configurations",
    "PhaseClassifier",
    "PhaseCurve",
    "FiniteSizeFit",
    "Z2Demo",
    "phase_model",
    "train_phase_classifier",
    "predict_ordered",
    "phase_curve",
    "crossing_temperature",
    "finite_size_extrapolation",
    "z2_logistic_demo",
    "accuracy_away_from_tc",
    "Derivatives",
    "make_pde_residual",
    "Condition",
    "PINNProblem",
    "PINNNet",
    "pinn_loss",
    "PINNResult",
    "train_pinn",
    "relative_l2",
    "sample_uniform",
    "sample_latin_hypercube",
    "adaptive_resample",
    "burgers_cole_hopf",
    "heat_exact",
    "damped_oscillator_exact",
    "BURGERS_NU",
    "burgers_residual",
    "heat_residual",
    "oscillator_residual",
    "PINNSolution",
    "burgers_problem",
    "solve_burgers",
    "solve_heat",
    "solve_damped_oscillator",
    "InverseResult",
    "burgers_inverse",
    "MeanField",
    "PairPropagation",
    "length_map",
    "fixed_point_length",
    "correlation_map",
    "fixed_point_correlation",
    "chi1",
    "mean_field",
    "critical_sigma_w2",
    "propagate_pair",
    "empirical_correlation_map",
    "trainability",
    "TrainabilityResult",
    "PowerLawFit",
    "fit_power_law",
    "power_law",
    "SweepResult",
    "sweep",
    "teacher_student_sweep",
    "KANGridScaling",
    "kan_grid_scaling",
    "BiasVariance",
    "bias_variance",
    "polynomial_bias_variance",
    "SimulationTask",
    "simulate_batch",
    "damped_oscillator",
    "oscillator_signal",
    "gw_chirp",
    "chirp_signal",
    "gaussian_linear",
    "T_SUN",
]
