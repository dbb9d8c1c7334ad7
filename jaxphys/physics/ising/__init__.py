"""jaxphys.physics.ising: the 2-D Ising model, by Monte Carlo and by machine learning.

* Exact results (Onsager 1944; Yang 1952): :func:`onsager_energy`,
  :func:`onsager_magnetization`, :func:`critical_temperature`, :data:`T_CRITICAL`,
  :func:`elliptic_k`.
* Monte Carlo on L×L periodic lattices: :func:`simulate` (checkerboard Metropolis,
  Wolff clusters or both, chains vmapped over temperatures, :class:`IsingRun`),
  :func:`metropolis_sweep`, :func:`wolff_update`, the multi-spin coded
  :func:`metropolis_multispin` and :func:`wolff_multispin` (32 chains per word),
  :func:`energy_per_spin`, :func:`magnetization_per_spin`, :func:`random_spins`.
* Observables with autocorrelation-aware errors: :func:`ising_observables`
  (energy, |m|, susceptibility, specific heat, Binder cumulant; :class:`Estimate`),
  :func:`integrated_autocorrelation_time`, :func:`mean_with_error`, :func:`jackknife`.
* Learning the phases (Carrasquilla and Melko 2017): labelled configurations
  (:func:`ising_configurations`), :func:`train_phase_classifier`, :func:`phase_curve`,
  :func:`crossing_temperature` with a bootstrap error (:func:`bootstrap_crossing`),
  :func:`finite_size_extrapolation` (with χ²/dof), :func:`accuracy_away_from_tc`.

Example:
    >>> from jaxphys.physics.ising import T_CRITICAL, onsager_magnetization
    >>> round(T_CRITICAL, 4), float(onsager_magnetization(3.0))
    (2.2692, 0.0)
"""

from ._configurations import IsingConfigurations, ising_configurations
from ._monte_carlo import (ALGORITHMS, IsingRun, energy_per_spin, magnetization_per_spin,
                           metropolis_sweep, random_spins, simulate, wolff_update)
from ._multispin import metropolis_multispin
from ._observables import (Estimate, IsingObservables, integrated_autocorrelation_time,
                           ising_observables, jackknife, mean_with_error)
from ._onsager import (T_CRITICAL, critical_temperature, elliptic_k, onsager_energy,
                       onsager_magnetization)
from ._finite_size import (BootstrapCrossing, FiniteSizeFit, bootstrap_crossing,
                           crossing_temperature, finite_size_extrapolation)
from ._phase import (PhaseClassifier, PhaseCurve, accuracy_away_from_tc, phase_curve,
                     phase_model, predict_ordered, train_phase_classifier)
from ._wolff_multispin import wolff_multispin

__all__ = [
    # exact results
    "T_CRITICAL", "critical_temperature", "elliptic_k", "onsager_energy",
    "onsager_magnetization",
    # Monte Carlo
    "IsingRun", "ALGORITHMS", "simulate", "metropolis_sweep", "wolff_update",
    "metropolis_multispin", "wolff_multispin", "energy_per_spin", "magnetization_per_spin",
    "random_spins",
    # observables
    "Estimate", "IsingObservables", "ising_observables", "integrated_autocorrelation_time",
    "mean_with_error", "jackknife",
    # learning the phases
    "IsingConfigurations", "ising_configurations", "PhaseClassifier", "PhaseCurve",
    "FiniteSizeFit", "phase_model", "train_phase_classifier", "predict_ordered", "phase_curve",
    "crossing_temperature", "bootstrap_crossing", "BootstrapCrossing",
    "finite_size_extrapolation", "accuracy_away_from_tc",
]
