"""Likelihood and χ² fits with Minuit-grade errors, compiled and vmapped.

Fits live here (``jaxphys.fitting``); ``jaxphys.linear`` keeps linear least
squares, ``curve_fit`` and the regularised and logistic regressions.

**Costs** are small pytrees, ``cost(params) -> scalar``, added with ``+``;
all are χ²-like (``-2 log L`` up to a constant, ``errordef = 1``):

* :class:`BinnedNLL` — Poisson deviance of a histogram (Baker–Cousins), model
  as a cdf or a density integrated over each bin, extended or shape-only;
* :class:`UnbinnedNLL` — ``-2 Σ log p(x_i)``, optionally extended;
* :class:`LeastSquares`, :class:`CorrelatedLeastSquares` — χ² with a diagonal
  or a full covariance (Cholesky);
* :class:`GaussianConstraint` — penalty terms for nuisance parameters;
* :class:`CustomCost` — your own function with its errordef (0.5 for ``-log L``).

**Parameters** (:class:`Parameters`): named (a dict start) or positional,
limits through MINUIT's sin/sqrt transformations, fixed parameters.

**Minimiser** (:func:`minimize`): damped Newton with exact JAX Hessians in
float64 and a trust-region acceptance test, inside one ``lax.while_loop`` (it
jits and vmaps: toys are ``jax.vmap`` of the whole fit).
:class:`MinimizeResult` holds values, HESSE errors
(:math:`V = 2\\,\\mathrm{errordef}\\,H^{-1}`), covariance, correlation,
minimum, EDM, ``valid`` with reasons (:func:`status_reasons`; a singular
Hessian is never valid) and counts.

**Profile likelihood**: :func:`minos` (asymmetric intervals),
:func:`profile_scan`, :func:`contour`; :func:`likelihood_ratio_test` (Wilks),
:func:`discovery_significance` (Cowan et al. 2011), :func:`upper_limit`
(profile likelihood or asymptotic CLs). **Toys**: :func:`minimize_toys`
(thousands of fits in one compiled call), :func:`pull_summary`,
:func:`coverage`. HEP
figures of merit on counts and scores (s/√b, Asimov Z) are in
:mod:`jaxphys.metrics`.

Example:
    >>> import jax.numpy as jnp
    >>> from jaxphys.fitting import LeastSquares, Parameters, minimize, minos
    >>> cost = LeastSquares(jnp.array([0.0, 1.0, 2.0]), jnp.array([1.1, 2.9, 5.0]), 0.1,
    ...                     lambda x, p: p["a"] + p["b"] * x)
    >>> params = Parameters({"a": 0.0, "b": 1.0})
    >>> result = minimize(cost, params)
    >>> bool(result.valid), [round(float(e), 4) for e in result.errors]
    (True, [0.0913, 0.0707])
"""

from ._binned import BinnedNLL
from ._cost import Cost, CostSum, CustomCost, GaussianConstraint
from ._fit import (AT_LIMIT, HESSIAN_NOT_POSITIVE_DEFINITE, MAX_ITERATIONS, NO_DECREASE,
                   NOT_FINITE, MinimizeResult, minimize, status_reasons)
from ._hypothesis import (DiscoveryTest, LikelihoodRatioTest, UpperLimit,
                          discovery_significance, likelihood_ratio_test, upper_limit)
from ._least_squares import CorrelatedLeastSquares, LeastSquares
from ._parameters import Parameters
from ._profile import (Contour, MinosInterval, ProfileScan, contour, delta_for, minos,
                       profile_scan)
from ._toys import Coverage, PullSummary, coverage, minimize_toys, pull_summary
from ._unbinned import UnbinnedNLL

__all__ = [
    "Cost",
    "CostSum",
    "CustomCost",
    "BinnedNLL",
    "UnbinnedNLL",
    "LeastSquares",
    "CorrelatedLeastSquares",
    "GaussianConstraint",
    "Parameters",
    "MinimizeResult",
    "minimize",
    "status_reasons",
    "MAX_ITERATIONS",
    "HESSIAN_NOT_POSITIVE_DEFINITE",
    "NOT_FINITE",
    "NO_DECREASE",
    "AT_LIMIT",
    "MinosInterval",
    "minos",
    "ProfileScan",
    "profile_scan",
    "Contour",
    "contour",
    "delta_for",
    "LikelihoodRatioTest",
    "likelihood_ratio_test",
    "DiscoveryTest",
    "discovery_significance",
    "UpperLimit",
    "upper_limit",
    "minimize_toys",
    "PullSummary",
    "pull_summary",
    "Coverage",
    "coverage",
]
