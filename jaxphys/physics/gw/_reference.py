"""The reference posterior of one event: the exact phase-marginalised likelihood
sampled by the ensemble sampler, started without knowledge of the truth, with its
convergence diagnostics."""

from __future__ import annotations

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import as_int, check_key
from ._problem import GWProblem, make_log_posterior
from ._sampler import effective_sample_size, ensemble_sample, split_rhat


class ReferencePosterior(NamedTuple):
    """Fields:
        samples: (n, 4) posterior draws after burn-in (all walkers pooled), float64 NumPy.
        rhat: (4,) rank-normalised split-R̂ per parameter (walkers as chains).
        effective_sample_size: (4,) per parameter.
        acceptance_rate: mean acceptance of the stretch moves.
        converged: ``max R̂ < rhat_threshold`` and ``min ESS > min_ess``.
        wall_time: seconds from the call to the last sample (compilation included).

    Example (the fields filled from independent draws, without running the sampler):
        >>> import numpy as np
        >>> from jaxphys.physics.gw import ReferencePosterior, effective_sample_size, split_rhat
        >>> chains = np.random.default_rng(0).normal(size=(16, 25, 4))   # 16 walkers, θ (4,)
        >>> rhat, ess = split_rhat(chains), effective_sample_size(chains)
        >>> ref = ReferencePosterior(chains.reshape(-1, 4), rhat, ess, acceptance_rate=0.4,
        ...                          converged=bool(rhat.max() < 1.01 and ess.min() > 1000),
        ...                          wall_time=0.0)
        >>> ref.samples.shape, ref.converged              # 400 draws: ESS < 1000
        ((400, 4), False)
    """

    samples: np.ndarray
    rhat: np.ndarray
    effective_sample_size: np.ndarray
    acceptance_rate: float
    converged: bool
    wall_time: float


def reference_posterior(key: jax.Array, data, problem: GWProblem, *, n_walkers: int = 32,
                        n_steps: int = 30000, n_burn: int = 6000, thin: int = 4,
                        n_candidates: int = 50000, rhat_threshold: float = 1.01,
                        min_ess: float = 1000.0) -> ReferencePosterior:
    r"""Sample ``p(θ|d) ∝ p(θ) Λ̄(d|θ)`` (:func:`make_log_posterior`) with the stretch-move
    ensemble (:func:`ensemble_sample`).

    The walkers start at the ``n_walkers`` best of ``n_candidates`` prior draws (no use
    of the true parameters), run ``n_burn`` sweeps of burn-in, then ``n_steps - n_burn``
    sweeps of which every ``thin``-th is kept. Converged when every parameter has
    rank-normalised split-R̂ below ``rhat_threshold`` (Vehtari et al. 2021's 1.01) and an
    effective sample size above ``min_ess``; the result says whether it did, it does
    not raise. Run it in float64 (``jax.enable_x64``) for a reference.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import gw_problem, gw_signal, reference_posterior
        >>> problem = gw_problem()
        >>> data = gw_signal(jnp.array([30.0, 0.6, 1200.0, 0.01]), problem)
        >>> ref = reference_posterior(jax.random.key(0), data, problem, n_walkers=8,
        ...                           n_steps=40, n_burn=20, n_candidates=100)
        >>> ref.samples.shape                             # 8 walkers × (40 - 20) / thin 4
        (40, 4)
    """
    check_key(key, "key")
    n_walkers = as_int(n_walkers, "n_walkers", minimum=8)
    n_candidates = as_int(n_candidates, "n_candidates", minimum=n_walkers)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    n_burn = as_int(n_burn, "n_burn", minimum=0)
    thin = as_int(thin, "thin", minimum=1)
    start = time.perf_counter()
    log_post = make_log_posterior(data, problem)
    candidate_key, run_key = jax.random.split(key)
    dtype = problem.noise.frequencies.dtype
    candidates = problem.prior.sample(seed=candidate_key, sample_shape=n_candidates).astype(dtype)
    values = jax.lax.map(jax.vmap(log_post), candidates.reshape(-1, 1, 4), batch_size=4096)[:, 0]
    best = jnp.argsort(-values)[:n_walkers]
    result = ensemble_sample(run_key, log_post, candidates[best], n_steps, n_burn=n_burn,
                             thin=thin)
    chains = np.asarray(jnp.swapaxes(result.samples, 0, 1), np.float64)
    wall = time.perf_counter() - start
    rhat = split_rhat(chains)
    ess = effective_sample_size(chains)
    converged = bool(np.max(rhat) < rhat_threshold and np.min(ess) > min_ess)
    return ReferencePosterior(chains.reshape(-1, 4), rhat, ess,
                              float(np.mean(np.asarray(result.acceptance_rate))), converged,
                              wall)
