"""``minimize``: minimise a cost and report HESSE-style errors, with validity flags."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve

from jaxphys._checks import as_int, is_concrete

from ._cost import Cost
from ._newton import NewtonState, newton_minimize
from ._parameters import (Layout, Parameters, jacobian, minuit_errors, model_params,
                          normalised_slope, to_external, to_internal)

__all__ = ["MinimizeResult", "minimize", "status_reasons", "MAX_ITERATIONS",
           "HESSIAN_NOT_POSITIVE_DEFINITE", "NOT_FINITE", "NO_DECREASE", "AT_LIMIT"]

MAX_ITERATIONS = 1
HESSIAN_NOT_POSITIVE_DEFINITE = 2
NOT_FINITE = 4
NO_DECREASE = 8
AT_LIMIT = 16
_INVALID = MAX_ITERATIONS | HESSIAN_NOT_POSITIVE_DEFINITE | NOT_FINITE | NO_DECREASE
_REASONS = {
    MAX_ITERATIONS: "max_iterations reached before the EDM fell below the tolerance",
    HESSIAN_NOT_POSITIVE_DEFINITE: "the Hessian at the minimum is singular or not positive "
                                   "definite (a parameter is not identifiable, or a saddle point)",
    NOT_FINITE: "the cost, its gradient or its Hessian is not finite",
    NO_DECREASE: "no step lowers the cost (damping exhausted)",
    AT_LIMIT: "a parameter is at its limit (warning; its error is then not meaningful)",
}
# A Hessian is called singular when its unit-diagonal form has an eigenvalue below this
# (a correlation of ±(1 - 1e-10) between parameters, or worse).
_SINGULAR = 1e-10


class MinimizeResult(NamedTuple):
    """Result of :func:`minimize` (k parameters in the order of ``Parameters.names``).

    Fields:
        values: ``(k,)`` float64 best-fit values (fixed parameters at their value).
        errors: ``(k,)`` HESSE errors: :math:`\\sqrt{V_{ii}}` for parameters without
            limits; with limits, MINUIT's rule ½(|P(x+σ) − P| + |P(x−σ) − P|) from
            the internal error σ (x the internal value; equal to :math:`\\sqrt{V_{ii}}`
            to first order). 0 for fixed parameters, NaN when the Hessian is not
            positive definite.
        covariance: ``(k, k)`` :math:`V = 2\\,u\\,J H_{int}^{-1} J` (u the
            errordef, H the Hessian in internal coordinates, J = dP/dP_int),
            zero rows/columns for fixed parameters.
        correlation: ``(k, k)`` :math:`V_{ij}/\\sqrt{V_{ii}V_{jj}}` (zero rows for fixed).
        minimum: ``()`` cost at the minimum.
        edm: ``()`` estimated distance to the minimum, ½ gᵀH⁻¹g, in cost units.
        valid: ``()`` bool: converged (EDM < tolerance · errordef), finite,
            positive-definite Hessian.
        status: ``()`` int32 bit set of reasons (:func:`status_reasons` reads it):
            1 max iterations, 2 Hessian not positive definite, 4 not finite, 8 no
            decrease, 16 a parameter at its limit (a warning, does not make
            ``valid`` False).
        n_evaluations: ``()`` int32, evaluations of cost + gradient + Hessian.
        n_iterations: ``()`` int32, Newton iterations (accepted and rejected steps).
        errordef: ``()`` the cost's errordef u.

    Example:
        Built by hand (:func:`minimize` returns one): two parameters with errors 0.2 and
        0.3 and covariance 0.01, one of them at its limit.

        >>> from jaxphys.fitting import MinimizeResult, status_reasons
        >>> cov = jnp.array([[0.04, 0.01], [0.01, 0.09]])
        >>> err = jnp.sqrt(jnp.diag(cov))
        >>> r = MinimizeResult(values=jnp.array([1.0, 2.0]), errors=err, covariance=cov,
        ...                    correlation=cov / jnp.outer(err, err), minimum=jnp.array(3.2),
        ...                    edm=jnp.array(1e-9), valid=jnp.array(True), status=jnp.array(16),
        ...                    n_evaluations=jnp.array(6), n_iterations=jnp.array(5),
        ...                    errordef=jnp.array(1.0))
        >>> r.errors.round(4).tolist(), round(float(r.correlation[0, 1]), 4)  # 0.01 / (0.2·0.3)
        ([0.2, 0.3], 0.1667)
        >>> bool(r.valid), status_reasons(r.status)       # status 16 warns; still valid
        (True, ('a parameter is at its limit (warning; its error is then not meaningful)',))
    """

    values: jax.Array
    errors: jax.Array
    covariance: jax.Array
    correlation: jax.Array
    minimum: jax.Array
    edm: jax.Array
    valid: jax.Array
    status: jax.Array
    n_evaluations: jax.Array
    n_iterations: jax.Array
    errordef: jax.Array


def status_reasons(status: Any) -> tuple[str, ...]:
    """The reasons encoded in ``MinimizeResult.status`` (host side), e.g. for an error message.

    Example:
        >>> from jaxphys.fitting import status_reasons
        >>> status_reasons(1 | 16)[0]
        'max_iterations reached before the EDM fell below the tolerance'
    """
    code = int(np.asarray(status))
    return tuple(text for bit, text in _REASONS.items() if code & bit)


def positive_float(value: Any, name: str) -> np.float64:
    """A finite, strictly positive Python-side scalar (tolerances; never traced)."""
    try:
        out = np.float64(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__}") \
            from None
    if not (np.isfinite(out) and out > 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return out


def as_parameters(parameters: Any) -> Parameters:
    if isinstance(parameters, Parameters):
        return parameters
    return Parameters(parameters)


def check_cost(cost: Any) -> Cost:
    if not isinstance(cost, Cost):
        raise TypeError(f"cost: expected a jaxphys.fitting cost (BinnedNLL, UnbinnedNLL, "
                        f"LeastSquares, ..., or CustomCost(fn, errordef=...) around a "
                        f"function), got {type(cost).__name__}")
    return cost


def is_concrete_call(cost: Cost, parameters: Parameters) -> bool:
    return all(is_concrete(leaf) for leaf in jax.tree.leaves((cost, parameters)))


def run_checked(cost: Cost, parameters: Parameters, core, *args):
    """Run ``core(cost, values, *args)`` in float64: in an x64 context when the inputs are
    concrete, an error when traced without x64."""
    cost.check_names(parameters.names, parameters.layout.as_dict)
    if not is_concrete_call(cost, parameters):
        if not jax.config.jax_enable_x64:
            raise ValueError("minimize: fits run in float64; under jit/vmap enable it around the "
                             "call (`with jax.enable_x64(True):`) or globally "
                             "(jax.config.update('jax_enable_x64', True))")
        return core(cost, parameters.values, *args)
    with jax.enable_x64(True):
        return core(cost, jnp.asarray(np.asarray(parameters.values, np.float64)), *args)


def check_start_value(cost: Cost, parameters: Parameters, start_value: Any) -> None:
    """Raise, naming the bin or event, when the cost was not finite at the starting values
    (host side, concrete inputs only; the diagnosis runs only then)."""
    if not is_concrete_call(cost, parameters) or np.isfinite(np.asarray(start_value)):
        return
    with jax.enable_x64(True):
        values = jnp.asarray(np.asarray(parameters.values, np.float64))
        message = cost.diagnose(model_params(parameters.layout, values))
    raise ValueError("start: the cost cannot be evaluated at the starting values: "
                     + (message or f"it is {np.asarray(start_value)}"))


def minimize(cost: Cost, parameters: Any, *, tolerance: float = 1e-10,
             max_iterations: int = 200) -> MinimizeResult:
    r"""Minimise a cost and compute HESSE errors from the exact Hessian, in float64.

    The minimiser is damped Newton with exact JAX Hessians (see
    :mod:`jaxphys.fitting`), in MINUIT's internal coordinates for bounded
    parameters, all inside one ``lax.while_loop``: ``minimize`` jits and vmaps
    (``jax.vmap`` of a function that builds the cost from a toy data set and
    fits it runs thousands of toys in one call; enable x64 around it, or use
    :func:`~jaxphys.fitting.minimize_toys`).

    Errors: for a cost C with errordef u (1 for ``-2 log L`` and χ², 0.5 for
    ``-log L``), the covariance is :math:`V = 2u\,H^{-1}`, the inverse Hessian
    that MINUIT's HESSE reports (the 1σ contour is ΔC = u). With limits, H is
    taken in internal coordinates and carried to the parameters with the
    Jacobian, as HESSE does.

    ``valid`` is never True with a non-finite cost or a Hessian that is not
    positive definite (a non-identifiable model such as ``p0 * p1 * x``): such a
    fit reports NaN errors and the reason in ``status`` (:func:`status_reasons`).

    Args:
        cost: a :class:`~jaxphys.fitting.Cost` (binned, unbinned, χ², sums).
        parameters: a :class:`~jaxphys.fitting.Parameters`, or a dict / array of
            starting values (no limits, nothing fixed).
        tolerance: convergence when EDM < tolerance · errordef (float64 Newton
            usually ends far below it).
        max_iterations: Newton iterations at most.

    Returns:
        :class:`MinimizeResult`.

    Raises:
        ValueError: the cost is not finite at the starting values (the model
            is <= 0 where data lie, ...; the message names the bin or event), a
            start outside the limits (from :class:`Parameters`), or traced
            inputs without x64.

    Example:
        >>> from jaxphys.fitting import LeastSquares, minimize
        >>> cost = LeastSquares(jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 3.0, 5.0]), 1.0,
        ...                     lambda x, p: p["a"] + p["b"] * x)
        >>> result = minimize(cost, {"a": 0.0, "b": 0.0})
        >>> [round(float(v), 6) for v in result.values], bool(result.valid)
        ([1.0, 2.0], True)
    """
    cost = check_cost(cost)
    parameters = as_parameters(parameters)
    tolerance = positive_float(tolerance, "tolerance")
    max_iterations = as_int(max_iterations, "max_iterations", minimum=1)
    result, start_value = run_checked(cost, parameters, _fit_core_jit, parameters.layout,
                                      tolerance, max_iterations)
    check_start_value(cost, parameters, start_value)
    return result


def hesse(layout: Layout, internal: jax.Array, hessian: jax.Array, errordef: float):
    """Covariance, errors, correlation and the positive-definiteness of the Hessian."""
    k = len(layout.names)
    free = jnp.asarray(layout.free, jnp.int32)
    dtype = hessian.dtype
    diag = jnp.diag(hessian)
    positive_diag = jnp.all(diag > 0)
    scale = jnp.sqrt(jnp.where(positive_diag, diag, 1.0))
    unit = hessian / scale[:, None] / scale[None, :]
    smallest = jnp.linalg.eigvalsh(unit)[0]
    chol = jnp.linalg.cholesky(hessian)
    positive = positive_diag & (smallest > _SINGULAR) & jnp.all(jnp.isfinite(chol))
    chol = jnp.where(positive, chol, jnp.eye(hessian.shape[0], dtype=dtype))
    cov_internal = 2.0 * errordef * cho_solve((chol, True), jnp.eye(hessian.shape[0], dtype=dtype))
    jac = jacobian(layout, internal)
    cov_free = jac[:, None] * cov_internal * jac[None, :]
    cov = jnp.zeros((k, k), dtype).at[free[:, None], free[None, :]].set(cov_free)
    cov = jnp.where(positive, cov, jnp.nan)
    is_free = jnp.zeros((k,), bool).at[free].set(True)
    root = jnp.sqrt(jnp.diag(cov))
    safe = jnp.where(is_free & (root > 0), root, 1.0)
    corr = cov / safe[:, None] / safe[None, :]
    errors_free = minuit_errors(layout, internal, jnp.sqrt(jnp.diag(cov_internal)))
    errors = jnp.zeros((k,), dtype).at[free].set(jnp.where(positive, errors_free, jnp.nan))
    corr = jnp.where(is_free[:, None] & is_free[None, :], corr, 0.0)
    at_limit = jnp.any(normalised_slope(layout, internal) < 1e-3)
    return cov, errors, corr, positive, at_limit


def internal_cost_of(cost: Cost, layout: Layout, anchor: jax.Array):
    """The cost as a function of the internal coordinates of the free parameters."""
    def internal_cost(x):
        return cost(model_params(layout, to_external(layout, x, anchor)))
    return internal_cost


def finish(layout: Layout, state: NewtonState, anchor: jax.Array, errordef: float,
           tolerance) -> MinimizeResult:
    """The :class:`MinimizeResult` of a finished minimiser state (HESSE, flags)."""
    dtype = anchor.dtype
    external = to_external(layout, state.x, anchor)
    k = len(layout.names)
    errordef_array = jnp.asarray(errordef, dtype)
    if not layout.free:
        cov = jnp.zeros((k, k), dtype)
        return MinimizeResult(values=external, errors=jnp.zeros((k,), dtype), covariance=cov,
                         correlation=cov, minimum=state.value, edm=state.edm,
                         valid=state.finite, status=jnp.where(state.finite, 0, NOT_FINITE),
                         n_evaluations=state.n_evaluations,
                         n_iterations=jnp.zeros((), jnp.int32), errordef=errordef_array)
    cov, errors, corr, positive, at_limit = hesse(layout, state.x, state.hessian, errordef)
    converged = state.edm < tolerance * errordef
    status = (jnp.where(~converged & ~state.stalled & state.finite, MAX_ITERATIONS, 0)
              | jnp.where(positive, 0, HESSIAN_NOT_POSITIVE_DEFINITE)
              | jnp.where(state.finite, 0, NOT_FINITE)
              | jnp.where(state.stalled & ~converged, NO_DECREASE, 0)
              | jnp.where(at_limit, AT_LIMIT, 0)).astype(jnp.int32)
    return MinimizeResult(values=external, errors=errors, covariance=cov, correlation=corr,
                     minimum=state.value, edm=state.edm,
                     valid=(status & _INVALID) == 0, status=status,
                     n_evaluations=state.n_evaluations, n_iterations=state.iteration,
                     errordef=errordef_array)


def _fit_core(cost: Cost, values: jax.Array, layout: Layout, tolerance, max_iterations):
    anchor = jnp.asarray(values, jnp.result_type(float))
    start_value = cost(model_params(layout, anchor))
    state = newton_minimize(internal_cost_of(cost, layout, anchor), to_internal(layout, anchor),
                            jnp.asarray(tolerance * cost.errordef, anchor.dtype), max_iterations)
    return finish(layout, state, anchor, cost.errordef, tolerance), start_value


_fit_core_jit = jax.jit(_fit_core, static_argnums=(2, 4))
