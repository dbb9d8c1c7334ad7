"""Likelihood-ratio tests: Wilks p-values, discovery significance, upper limits.

Asymptotic formulae from G. Cowan, K. Cranmer, E. Gross and O. Vitells,
"Asymptotic formulae for likelihood-based tests of new physics", Eur. Phys.
J. C 71 (2011) 1554 (arXiv:1007.1727), for costs that are ``-2 log L`` up to a
constant (divided by errordef otherwise), so that a statistic is a cost difference.
"""

from __future__ import annotations

import contextlib
from statistics import NormalDist
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaincc, log_ndtr, ndtr, ndtri

from jaxphys._checks import as_int, is_concrete

from ._cost import Cost
from ._fit import MinimizeResult, run_checked
from ._parameters import Layout
from ._profile import _checked
from ._root import find_crossing, frozen_mask, limit_distance, profile_point

__all__ = ["LikelihoodRatioTest", "likelihood_ratio_test", "DiscoveryTest",
           "discovery_significance", "UpperLimit", "upper_limit"]


class LikelihoodRatioTest(NamedTuple):
    """Result of :func:`likelihood_ratio_test`.

    Fields (``()`` float64):
        statistic: :math:`q = (C_0 - C_1)/u`, −2 log of the likelihood ratio.
        dof: degrees of freedom of the χ² reference distribution.
        p_value: :math:`P(\\chi^2_{dof} \\ge q)` (Wilks).
        significance: the one-sided Gaussian equivalent :math:`Z = \\Phi^{-1}(1 - p)`.

    Example:
        Built by hand (:func:`likelihood_ratio_test` returns one) with the textbook
        numbers: :math:`q = 3.8415` on one degree of freedom is the 5 % point of
        :math:`\\chi^2_1`, and :math:`\\Phi^{-1}(0.95) = 1.6449`.

        >>> from statistics import NormalDist
        >>> from jaxphys.fitting import LikelihoodRatioTest
        >>> t = LikelihoodRatioTest(statistic=jnp.array(3.8415), dof=jnp.array(1.0),
        ...                         p_value=jnp.array(0.05), significance=jnp.array(1.6449))
        >>> z = NormalDist().inv_cdf(1.0 - float(t.p_value))          # Z = Φ⁻¹(1 - p)
        >>> round(z, 4), round(float(t.significance), 4)
        (1.6449, 1.6449)
    """

    statistic: jax.Array
    dof: jax.Array
    p_value: jax.Array
    significance: jax.Array


def likelihood_ratio_test(null: MinimizeResult, alternative: MinimizeResult,
                          dof: int) -> LikelihoodRatioTest:
    r"""Likelihood-ratio test of nested models with Wilks' χ² p-value.

    With :math:`C_0, C_1` the minimum costs of the null model (``dof``
    parameters fixed or removed) and of the alternative, :math:`q = (C_0 - C_1)/u`
    (u the errordef, 1 for ``-2 log L``) is asymptotically
    :math:`\chi^2_{dof}` under the null (S. S. Wilks, "The large-sample
    distribution of the likelihood ratio for testing composite hypotheses",
    Ann. Math. Statist. 9 (1938) 60), provided the null values lie inside
    the parameter space. :math:`p = Q(dof/2, q/2)`, the regularised upper
    incomplete gamma function. Jittable.

    Args:
        null: fit of the restricted model.
        alternative: fit of the larger model (same data, same cost type).
        dof: difference in the number of free parameters (>= 1).

    Returns:
        :class:`LikelihoodRatioTest`.

    Example:
        >>> from jaxphys.fitting import LeastSquares, Parameters, minimize
        >>> from jaxphys.fitting import likelihood_ratio_test
        >>> cost = LeastSquares(jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 2.0, 4.0]), 1.0,
        ...                     lambda x, p: p["a"] + p["b"] * x)
        >>> alt = minimize(cost, {"a": 0.0, "b": 0.0})
        >>> null = minimize(cost, Parameters({"a": 0.0, "b": 0.0}, fixed="b"))
        >>> test = likelihood_ratio_test(null, alt, 1)
        >>> round(float(test.statistic), 4), round(float(test.p_value), 4)
        (4.5, 0.0339)
    """
    for name, r in (("null", null), ("alternative", alternative)):
        if not isinstance(r, MinimizeResult):
            raise TypeError(f"{name}: expected a MinimizeResult, got {type(r).__name__}")
    dof = as_int(dof, "dof", minimum=1)
    concrete = all(is_concrete(leaf) for leaf in jax.tree.leaves((null, alternative)))
    with jax.enable_x64(True) if concrete else contextlib.nullcontext():
        q = jnp.maximum((jnp.asarray(null.minimum) - jnp.asarray(alternative.minimum))
                        / jnp.asarray(alternative.errordef), 0.0)
        p = gammaincc(0.5 * dof, 0.5 * q)
        return LikelihoodRatioTest(statistic=q, dof=jnp.asarray(dof, q.dtype), p_value=p,
                                   significance=-ndtri(p))


class DiscoveryTest(NamedTuple):
    """Result of :func:`discovery_significance`.

    Fields (``()``):
        q0: the discovery statistic :math:`q_0`.
        significance: :math:`Z_0 = \\sqrt{q_0}`.
        p_value: :math:`p_0 = 1 - \\Phi(Z_0)`.
        valid: bool, the fit and the null (background-only) fit converged.

    Example:
        Built by hand (:func:`discovery_significance` returns one): :math:`q_0 = 9` is a
        3σ excess, with the one-sided p-value :math:`1 - \\Phi(3) = 0.00135`.

        >>> from jax.scipy.special import ndtr
        >>> from jaxphys.fitting import DiscoveryTest
        >>> q0 = jnp.array(9.0)
        >>> d = DiscoveryTest(q0=q0, significance=jnp.sqrt(q0), p_value=ndtr(-jnp.sqrt(q0)),
        ...                   valid=jnp.array(True))
        >>> float(d.significance), round(float(d.p_value), 5)
        (3.0, 0.00135)
    """

    q0: jax.Array
    significance: jax.Array
    p_value: jax.Array
    valid: jax.Array


def discovery_significance(cost: Cost, parameters: Any, result: MinimizeResult,
                           parameter: str | int, *, null_value: float = 0.0,
                           tolerance: float = 1e-10, max_iterations: int = 200) -> DiscoveryTest:
    r"""Discovery significance of a signal strength: :math:`Z_0 = \sqrt{q_0}`.

    Cowan et al. (2011), eqs. (12) and (53): with μ the signal parameter,
    :math:`q_0 = (C_p(\mu_0) - C_{min})/u` if :math:`\hat\mu > \mu_0`, else 0,
    where :math:`C_p(\mu_0)` is the cost profiled at the background-only
    value :math:`\mu_0` (``null_value``); under the background-only hypothesis
    :math:`q_0` follows ½δ(0) + ½χ²₁, so :math:`p_0 = 1 - \Phi(\sqrt{q_0})`.
    On an Asimov data set (the expected counts as data) this gives the median
    expected significance, the Asimov significance.

    Args:
        cost, parameters, result: as for :func:`~jaxphys.fitting.minos`.
        parameter: the signal strength (name or index), free in the fit.
        null_value: its background-only value (inside or on its limits).

    Returns:
        :class:`DiscoveryTest`.

    Example:
        >>> from jaxphys.fitting import LeastSquares, Parameters, minimize
        >>> from jaxphys.fitting import discovery_significance
        >>> cost = LeastSquares(jnp.array([0.0]), jnp.array([3.0]), 1.0, lambda x, p: p["mu"] + x)
        >>> p = Parameters({"mu": 1.0})
        >>> round(float(discovery_significance(cost, p, minimize(cost, p), "mu").significance), 6)
        3.0
    """
    cost, parameters, idx, tolerance, max_iterations = _checked(
        cost, parameters, result, (parameter,), tolerance, max_iterations)
    return run_checked(cost, parameters, _discovery_jit, result, np.float64(null_value), idx,
                       parameters.layout, tolerance, max_iterations)


def _discovery(cost, values, result, null_value, indices, layout: Layout, tolerance,
               max_iterations):
    i = indices[0]
    prof = profile_point(cost, layout, result.values.at[i].set(null_value),
                         frozen_mask(layout, indices), tolerance, max_iterations)
    q0 = jnp.maximum(prof.minimum - result.minimum, 0.0) / result.errordef
    q0 = jnp.where(result.values[i] > null_value, q0, 0.0)
    z = jnp.sqrt(q0)
    return DiscoveryTest(q0=q0, significance=z, p_value=ndtr(-z),
                         valid=result.valid & prof.converged)


_discovery_jit = jax.jit(_discovery, static_argnums=(5, 7))


class UpperLimit(NamedTuple):
    """Result of :func:`upper_limit`.

    Fields (``()``):
        limit: the upper limit on the parameter.
        valid: bool, the root-finding and every profile fit converged.
        at_limit: bool, the parameter's own upper limit was reached first.
        n_evaluations: int32, cost + gradient + Hessian evaluations.

    Example:
        Built by hand (:func:`upper_limit` returns one): for a Gaussian measurement
        :math:`\\hat\\mu = 1 \\pm 1` the 95 % profile-likelihood limit is
        :math:`1 + 1.6449`.

        >>> from jaxphys.fitting import UpperLimit
        >>> ul = UpperLimit(limit=jnp.array(1.0 + 1.6449), valid=jnp.array(True),
        ...                 at_limit=jnp.array(False), n_evaluations=jnp.array(12))
        >>> round(float(ul.limit), 4), bool(ul.valid & ~ul.at_limit)    # a limit to quote
        (2.6449, True)
    """

    limit: jax.Array
    valid: jax.Array
    at_limit: jax.Array
    n_evaluations: jax.Array


_METHODS = ("profile", "cls")


def upper_limit(cost: Cost, parameters: Any, result: MinimizeResult, parameter: str | int, *,
                cl: float = 0.95, method: str = "profile", null_value: float = 0.0,
                tolerance: float = 1e-10, max_iterations: int = 200) -> UpperLimit:
    r"""Upper limit on a signal strength μ from the profile likelihood, or asymptotic CLs.

    With :math:`q_\mu = (C_p(\mu) - C_{min})/u` for :math:`\mu \ge \hat\mu`
    (Cowan et al. 2011, eq. (14)) and :math:`\alpha = 1 - \text{cl}`:

    * ``"profile"``: :math:`\mu_{up}` solves :math:`\sqrt{q_\mu} = \Phi^{-1}(1-\alpha)`
      (eq. (64), the one-sided profile-likelihood limit; 1.645 at 95 %).
    * ``"cls"``: :math:`\mu_{up}` solves :math:`\mathrm{CL_s} = \alpha`
      (A. L. Read, "Presentation of search results: the CLs technique", J.
      Phys. G 28 (2002) 2693) with the asymptotic
      :math:`\mathrm{CL_s} = \frac{1 - \Phi(\sqrt{q_\mu})}{\Phi(\sqrt{q_{\mu,A}} - \sqrt{q_\mu})}`
      (eqs. (59), (65)) and :math:`\sqrt{q_{\mu,A}} = (\mu - \mu_0)/\sigma`,
      σ the HESSE error of μ (the Wald approximation, eq. (31), with σ from
      the data rather than from the Asimov set). For a Gaussian measurement
      :math:`x \pm \sigma` it gives the classic
      :math:`\mu_{up} = x + \sigma\,\Phi^{-1}(1 - \alpha\,\Phi((x-\mu_0)/\sigma))`.

    Args:
        cost, parameters, result: as for :func:`~jaxphys.fitting.minos`.
        parameter: the signal strength (name or index), free in the fit.
        cl: confidence level in (0, 1).
        method: ``"profile"`` or ``"cls"``.
        null_value: μ of the background-only hypothesis (for CLs).

    Returns:
        :class:`UpperLimit`.

    Example:
        >>> from jaxphys.fitting import LeastSquares, Parameters, minimize, upper_limit
        >>> cost = LeastSquares(jnp.array([0.0]), jnp.array([1.0]), 1.0, lambda x, p: p["mu"] + x)
        >>> p = Parameters({"mu": 0.0})
        >>> round(float(upper_limit(cost, p, minimize(cost, p), "mu").limit), 4)  # 1 + 1.6449
        2.6449
    """
    if method not in _METHODS:
        raise ValueError(f"method: unknown value {method!r}; expected one of {_METHODS}")
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl: expected a probability in (0, 1), got {cl}")
    cost, parameters, idx, tolerance, max_iterations = _checked(
        cost, parameters, result, (parameter,), tolerance, max_iterations)
    return run_checked(cost, parameters, _upper_jit, result, np.float64(null_value), idx,
                       parameters.layout, cl, method, tolerance, max_iterations)


def _upper(cost, values, result, null_value, indices, layout: Layout, cl: float, method: str,
           tolerance, max_iterations):
    i = indices[0]
    best = result.values
    dtype = best.dtype
    sigma = result.errors[i]
    good_sigma = jnp.isfinite(sigma) & (sigma > 0)
    sigma = jnp.where(good_sigma, sigma, 1.0 + 0.1 * jnp.abs(best[i]))
    alpha = 1.0 - cl
    if method == "profile":
        z = NormalDist().inv_cdf(cl)
        u0 = z * sigma

        def psi(u, q):
            return jnp.sqrt(q) - z
    else:
        shift = (best[i] - null_value) / sigma
        u0 = sigma * ndtri(1.0 - alpha * ndtr(shift))

        def psi(u, q):
            root_q = jnp.sqrt(q)
            log_cls = log_ndtr(-root_q) - log_ndtr((best[i] + u - null_value) / sigma - root_q)
            return np.log(alpha) - log_cls

    u_max = limit_distance(layout, i, best[i], jnp.ones((), dtype))
    crossing = find_crossing(cost, layout, indices, best, result.minimum, jnp.ones((1,), dtype),
                             u0, u_max, psi, tolerance, max_iterations)
    return UpperLimit(limit=best[i] + crossing.distance,
                      valid=crossing.converged & result.valid & good_sigma,
                      at_limit=crossing.at_limit, n_evaluations=crossing.n_evaluations)


_upper_jit = jax.jit(_upper, static_argnums=(5, 6, 7, 9))
