"""jaxphys.physics: physics with machine learning, one subpackage per topic.

* :mod:`jaxphys.physics.ising` — the 2-D Ising model: Onsager's exact results, Monte
  Carlo (checkerboard Metropolis, Wolff clusters, multi-spin coding), observables with
  autocorrelation-aware errors, and classifiers that learn the phase transition
  (Carrasquilla–Melko).
* :mod:`jaxphys.physics.pinn` — physics-informed neural networks: residuals by automatic
  differentiation, collocation, training (Adam then L-BFGS), solvers for Burgers, heat
  and a damped oscillator with their exact solutions, and the inverse Burgers problem.
* :mod:`jaxphys.physics.gw` — gravitational waves: TaylorF2 inspirals, the Advanced LIGO
  design PSD, coloured noise, whitening and SNRs, the Whittle likelihood with a reference
  MCMC posterior, and DINGO-style NPE with importance sampling.
* :mod:`jaxphys.physics.simulators` — simulators with priors for simulation-based
  inference (a damped oscillator, a Newtonian chirp, the Gaussian linear task).

The physics of learning itself (landscapes, signal propagation, scaling laws) is in
:mod:`jaxphys.dynamics`.

Example:
    >>> from jaxphys.physics import ising
    >>> round(ising.T_CRITICAL, 6)
    2.269185
"""

from jaxphys.physics import gw, ising, pinn, simulators

__all__ = ["ising", "pinn", "gw", "simulators"]
