r"""Importance sampling of a proposal against the exact target (DINGO-IS).

Given ``n`` samples ``θ_i ~ q(θ|d)`` (the NPE posterior) with their densities, the
weights against the unnormalised posterior ``L(d|θ) p(θ)`` are

.. math:: w_i = \frac{L(d|θ_i)\,p(θ_i)}{q(θ_i|d)},\qquad
          \hat Z = \frac1n \sum_i w_i,\qquad
          n_\mathrm{eff} = \frac{(\sum_i w_i)^2}{\sum_i w_i^2},\qquad
          ε = n_\mathrm{eff}/n,

(Dax, Green, Gair, Pürrer, Wildberger, Macke, Buonanno & Schölkopf 2023, "Neural
importance sampling for rapid and reliable gravitational-wave inference", Phys. Rev.
Lett. 130, 171403: eqs. 3–5). ``Ẑ`` is unbiased for the evidence ``Z = ∫ L p dθ``; its
relative variance is ``(1/ε - 1)/n``, so the standard error of ``log Ẑ`` is
``sqrt((1 - ε)/(n ε))``. Weighted samples are exact posterior samples in the limit;
the proposal must cover the posterior (``q > 0`` where ``L p > 0``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..._checks import as_array, as_int, check_finite, check_key


class ImportanceResult(NamedTuple):
    """Fields:
        log_weights: (n,) unnormalised ``log w_i`` (``-inf`` where the target is zero).
        weights: (n,) normalised weights summing to 1.
        effective_sample_size: ``n_eff = 1/Σ w̄_i²`` (scalar).
        sample_efficiency: ``ε = n_eff/n`` in (0, 1].
        log_evidence: ``log Ẑ = logsumexp(log w) - log n``.
        log_evidence_error: the standard error ``sqrt((1 - ε)/(n ε))`` of ``log Ẑ``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import ImportanceResult, importance_weights
        >>> res = importance_weights(jnp.log(jnp.array([1.0, 3.0])), jnp.zeros(2))  # w = (1, 3)
        >>> isinstance(res, ImportanceResult), [round(float(w), 4) for w in res.weights]
        (True, [0.25, 0.75])
        >>> round(float(res.effective_sample_size), 4)      # 1/(1/16 + 9/16)
        1.6
        >>> round(float(res.sample_efficiency), 4), round(float(res.log_evidence), 4)  # log 2
        (0.8, 0.6931)
    """

    log_weights: jax.Array
    weights: jax.Array
    effective_sample_size: jax.Array
    sample_efficiency: jax.Array
    log_evidence: jax.Array
    log_evidence_error: jax.Array


def importance_weights(log_target, log_proposal) -> ImportanceResult:
    r"""Importance weights from ``log_target = log L(d|θ_i) + log p(θ_i)`` (n,) and
    ``log_proposal = log q(θ_i)`` (n,) at samples drawn from ``q``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import importance_weights
        >>> theta = jax.random.normal(jax.random.key(0), (20000,)) * 2.0   # q = N(0, 4)
        >>> log_q = -0.5 * (theta / 2.0) ** 2 - jnp.log(2.0 * jnp.sqrt(2 * jnp.pi))
        >>> log_target = -0.5 * theta ** 2          # ∫ e^{-θ²/2} dθ = sqrt(2π)
        >>> res = importance_weights(log_target, log_q)
        >>> abs(float(res.log_evidence) - 0.5 * float(jnp.log(2 * jnp.pi))) < 0.03
        True
    """
    log_target = as_array(log_target, "log_target", ndim=1)
    log_proposal = as_array(log_proposal, "log_proposal", ndim=1)
    if log_target.shape != log_proposal.shape:
        raise ValueError(f"log_proposal: expected the shape of log_target "
                         f"{tuple(log_target.shape)}, got {tuple(log_proposal.shape)}")
    if log_target.shape[0] < 2:
        raise ValueError(f"log_target: expected at least 2 samples, got {log_target.shape[0]}")
    return _weights(log_target, log_proposal)


@jax.jit
def _weights(log_target, log_proposal):
    n = log_target.shape[0]
    log_w = jnp.where(jnp.isfinite(log_target), log_target - log_proposal, -jnp.inf)
    log_sum = jax.scipy.special.logsumexp(log_w)
    normalised = jnp.exp(log_w - log_sum)
    n_eff = 1.0 / jnp.sum(normalised ** 2)
    efficiency = n_eff / n
    log_z = log_sum - jnp.log(n)
    error = jnp.sqrt((1.0 - efficiency) / (n * efficiency))
    return ImportanceResult(log_w, normalised, n_eff, efficiency, log_z, error)


def importance_resample(key: jax.Array, samples, weights, n: int) -> jax.Array:
    """``n`` unweighted draws (n, d) from weighted ``samples`` (N, d) by systematic
    resampling (one uniform offset, ``n`` evenly spaced points on the weights' CDF):
    each sample appears ``⌊n w_i⌋`` or ``⌈n w_i⌉`` times, so keep ``n`` well below the
    effective sample size to avoid many duplicates.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import importance_resample
        >>> samples = jnp.array([[10.0], [20.0]])
        >>> draws = importance_resample(jax.random.key(0), samples, jnp.array([0.25, 0.75]), 8)
        >>> sorted(draws[:, 0].tolist())          # 8 × (1/4, 3/4): exactly 2 and 6 copies
        [10.0, 10.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0]
    """
    check_key(key, "key")
    samples = as_array(samples, "samples", ndim=2)
    check_finite(samples, "samples")
    weights = as_array(weights, "weights", ndim=1)
    if weights.shape[0] != samples.shape[0]:
        raise ValueError(f"weights: expected one weight per sample ({samples.shape[0]}), got "
                         f"{weights.shape[0]}")
    n = as_int(n, "n", minimum=1)
    cdf = jnp.cumsum(weights / jnp.sum(weights))
    points = (jax.random.uniform(key, (), cdf.dtype) + jnp.arange(n, dtype=cdf.dtype)) / n
    idx = jnp.clip(jnp.searchsorted(cdf, points), 0, samples.shape[0] - 1)
    order = jax.random.permutation(jax.random.fold_in(key, 1), n)
    return samples[idx[order]]
