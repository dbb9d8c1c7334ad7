"""jaxphys.physics.pinn: physics-informed neural networks.

* Residuals by automatic differentiation: :func:`make_pde_residual` turns a per-point
  ``residual_fn(d, z, coeffs)`` over named derivatives (:class:`Derivatives`:
  ``d["u_t"]``, ``d["u_xx"]`` …) into a residual of a network field.
* The problem and the networks: :class:`PINNProblem` with its :class:`Condition`\\ s,
  :class:`PINNNet` (an MLP on the unit box) or any model as a :class:`PINNField`,
  :func:`pinn_loss`, :func:`relative_l2`.
* Training: :func:`train_pinn` (Adam, optional residual-based adaptive resampling, then
  L-BFGS; any optimiser or network) on collocation points from
  :func:`sample_uniform`, :func:`sample_latin_hypercube`, :func:`adaptive_resample`.
* Solvers with exact references: Burgers (:func:`solve_burgers`, the Cole–Hopf
  solution :func:`burgers_cole_hopf`, :data:`BURGERS_NU`), heat (:func:`solve_heat`,
  :func:`heat_exact`), a damped oscillator (:func:`solve_damped_oscillator`,
  :func:`damped_oscillator_exact`), and the inverse problem :func:`burgers_inverse`
  (the viscosity learned from data).

Example:
    >>> from jaxphys.physics.pinn import heat_exact
    >>> round(float(heat_exact(0.5, 0.0, 1.0)), 6)      # sin(πx) at t = 0
    1.0
"""

from ._collocation import adaptive_resample, sample_latin_hypercube, sample_uniform
from ._derivatives import Derivatives, make_pde_residual
from ._pde_solutions import BURGERS_NU, burgers_cole_hopf, damped_oscillator_exact, heat_exact
from ._pinn import Condition, PINNField, PINNNet, PINNProblem, pinn_loss, relative_l2
from ._solvers import (InverseResult, PINNSolution, burgers_inverse, burgers_problem,
                       burgers_residual, heat_residual, oscillator_residual, solve_burgers,
                       solve_damped_oscillator, solve_heat)
from ._training import train_pinn

__all__ = [
    # residuals, problem, networks, loss
    "Derivatives", "make_pde_residual", "Condition", "PINNProblem", "PINNNet", "PINNField",
    "pinn_loss", "relative_l2",
    # training and collocation
    "train_pinn", "sample_uniform", "sample_latin_hypercube", "adaptive_resample",
    # exact solutions
    "burgers_cole_hopf", "heat_exact", "damped_oscillator_exact", "BURGERS_NU",
    # solvers
    "burgers_residual", "heat_residual", "oscillator_residual", "PINNSolution",
    "burgers_problem", "solve_burgers", "solve_heat", "solve_damped_oscillator",
    "InverseResult", "burgers_inverse",
]
