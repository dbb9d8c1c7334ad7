r"""Sequential neural posterior estimation with truncated proposals (TSNPE; Deistler,
Gonçalves & Macke 2022, "Truncated proposals for scalable and hassle-free
simulation-based inference").

For one observation ``x_o``, the rounds spend the simulation budget where the posterior
is. Round 0 simulates from the prior and trains an :class:`NPE`. Round ``r ≥ 1`` draws
its parameters from the prior truncated to the highest-probability region of the
current estimate,

.. math:: \tilde p_r(θ) \propto p(θ)\, \mathbb 1\big[\log q_{r-1}(θ | x_o) ≥ τ_{r-1}\big],

with ``τ`` the ``ε``-quantile of ``log q_{r-1}(θ|x_o)`` over draws of ``q_{r-1}(θ|x_o)``
(the region holds ``1 - ε`` of its mass), sampled by rejection from the prior. Because
the proposal is the prior restricted to a region that holds the posterior, the ordinary
NPE loss on all simulations so far still has the posterior at ``x_o`` as its optimum
(no importance weights, no atomic loss); the estimator continues training from the
previous round's parameters with a fresh optimiser state.

The result is amortised only inside the truncated region: use it for ``x_o``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, as_int, check_finite, check_key
from ..core import FitResult
from ._flows import _Flow, flow_optimizer
from ._npe import NPE, check_val_fraction, fit_npe, init_npe
from ._training import check_learning_rate


def _simulate(key, simulate, theta):
    return jax.vmap(simulate)(jax.random.split(key, theta.shape[0]), theta)


def truncated_prior_samples(key: jax.Array, prior, log_density, threshold: float, n: int, *,
                            batch_size: int = 16384, max_draws: int = 10_000_000
                            ) -> tuple[jax.Array, float]:
    """``n`` draws of ``prior`` restricted to ``{θ : log_density(θ) ≥ threshold}``, by
    rejection from the prior in batches of ``batch_size`` (one compiled ``log_density``
    call per batch). Returns ``(theta (n, d), acceptance rate)``; a ``RuntimeError``
    if ``max_draws`` prior draws do not yield ``n``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.generative import truncated_prior_samples, two_moons_prior
        >>> log_density = lambda theta: -jnp.sum(theta ** 2, axis=-1)   # keep |θ| ≤ 0.5
        >>> theta, rate = truncated_prior_samples(jax.random.key(0), two_moons_prior(),
        ...                                       log_density, -0.25, 100, batch_size=1000)
        >>> theta.shape, bool(jnp.all(jnp.sum(theta ** 2, axis=-1) <= 0.25))
        ((100, 2), True)
        >>> round(rate, 1)                 # the disc's share of the prior's square: π/16
        0.2
    """
    check_key(key, "key")
    n = as_int(n, "n", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    max_draws = as_int(max_draws, "max_draws", minimum=1)
    kept, drawn, count = [], 0, 0
    log_density = jax.jit(log_density)
    while count < n:
        if drawn >= max_draws:
            raise RuntimeError(f"truncated_prior_samples: {count} of {n} accepted after "
                               f"{drawn} prior draws (acceptance {count / drawn:.2e}); the "
                               f"region is too small for rejection from the prior")
        key, draw_key = jax.random.split(key)
        theta = prior.sample(seed=draw_key, sample_shape=batch_size)
        ok = np.asarray(log_density(theta) >= threshold)
        drawn += batch_size
        if ok.any():
            kept.append(np.asarray(theta)[ok])
            count += int(ok.sum())
    theta = np.concatenate(kept)[:n]
    return jnp.asarray(theta), count / drawn


def train_sequential_npe(key: jax.Array, prior: Any, simulate: Any, x_obs, *, n_rounds: int = 4,
                         simulations_per_round: int = 2500, truncation: float = 1e-4,
                         n_support: int = 10_000, flow: _Flow | None = None,
                         n_steps: int = 5000, batch_size: int = 256,
                         learning_rate: float = 1e-3, val_fraction: float = 0.1,
                         patience: int = 20, eval_every: int | None = None,
                         standardize_x: str = "independent", clip_norm: float | None = 10.0,
                         optimizer=None, progress: bool = False, **fit_kwargs) -> FitResult:
    r"""Truncated sequential NPE (TSNPE, module docstring) for the observation ``x_obs``.

    Args:
        key: PRNG key.
        prior: the prior over θ, a distrax distribution with event shape (d,) (its
            ``sample`` and, for the truncation, nothing else).
        simulate: ``simulate(key, θ (d,)) -> x (n_x,)``, pure and jittable (a
            :class:`jaxphys.physics.simulators.SimulationTask`'s ``simulate``).
        x_obs: the observation (n_x,).
        n_rounds: rounds (1 is plain NPE with ``simulations_per_round`` simulations).
        simulations_per_round: simulations added each round (the budget is
            ``n_rounds · simulations_per_round``).
        truncation: ``ε``, the posterior mass left outside the truncated region.
        n_support: posterior draws that set the threshold ``τ`` each round.
        flow, n_steps, batch_size, learning_rate, val_fraction, patience, eval_every,
        standardize_x, clip_norm, optimizer: as :func:`train_npe`, for every round
            (``n_steps`` and early stopping per round).
        **fit_kwargs: passed to :func:`jaxphys.core.fit` in every round.

    Returns:
        the last round's :class:`jaxphys.core.FitResult` (``state``: the :class:`NPE`);
        its history also holds ``round_simulations`` (simulations per round),
        ``round_acceptance`` (the rejection sampler's acceptance rate, 1 for round 0)
        and ``round_log_threshold`` (``τ`` used by the round, ``-inf`` for round 0).

    Example:
        >>> import jax
        >>> from jaxphys.generative import MAF
        >>> from jaxphys.physics.simulators import gaussian_linear
        >>> task = gaussian_linear(dim=2)
        >>> res = train_sequential_npe(jax.random.key(0), task.prior, task.simulate,
        ...                            jnp.array([0.1, -0.2]), n_rounds=2,
        ...                            simulations_per_round=200, n_steps=10, n_support=500,
        ...                            val_fraction=0.0, flow=MAF(n_layers=1, hidden=(8,)))
        >>> res.history["round_simulations"], res.state.sample(jax.random.key(1),
        ...                                                   jnp.array([0.1, -0.2]), 5).shape
        ([200, 200], (5, 2))
    """
    check_key(key, "key")
    x_obs = as_array(x_obs, "x_obs", ndim=1)
    check_finite(x_obs, "x_obs")
    n_rounds = as_int(n_rounds, "n_rounds", minimum=1)
    per_round = as_int(simulations_per_round, "simulations_per_round", minimum=2)
    n_support = as_int(n_support, "n_support", minimum=1)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    if optimizer is None:
        check_learning_rate(learning_rate)
    check_val_fraction(val_fraction)
    if not 0.0 < float(truncation) < 1.0:
        raise ValueError(f"truncation: expected a posterior mass in (0, 1), got {truncation}")
    if not callable(getattr(prior, "sample", None)):
        raise TypeError(f"prior: expected a distrax distribution, got {type(prior).__name__}")
    if not callable(simulate):
        raise TypeError(f"simulate: expected a function (key, theta) -> x, got "
                        f"{type(simulate).__name__}")
    round_keys = jax.random.split(key, n_rounds)
    theta_all = x_all = None
    npe: NPE | None = None
    result = None
    acceptance, thresholds = [], []
    for r in range(n_rounds):
        prior_key, sim_key, init_key, fit_key, support_key = jax.random.split(round_keys[r], 5)
        if r == 0:
            theta = prior.sample(seed=prior_key, sample_shape=per_round)
            rate, tau = 1.0, -float("inf")
        else:
            support, log_q = npe.posterior(x_obs).sample_and_log_prob(seed=support_key,
                                                                       sample_shape=n_support)
            tau = float(jnp.quantile(log_q, float(truncation)))
            posterior_at_obs = npe.posterior(x_obs)
            theta, rate = truncated_prior_samples(prior_key, prior, posterior_at_obs.log_prob,
                                                  tau, per_round)
        x = _simulate(sim_key, simulate, theta)
        theta_all = theta if theta_all is None else jnp.concatenate([theta_all, theta])
        x_all = x if x_all is None else jnp.concatenate([x_all, x])
        opt = flow_optimizer(learning_rate, n_steps, clip_norm=clip_norm, optimizer=optimizer)
        if npe is None:
            npe = init_npe(init_key, theta_all, x_all, flow=flow, optimizer=opt,
                           standardize_x=standardize_x)
            if x_obs.shape[0] != npe.x_mean.shape[0]:
                raise ValueError(f"x_obs: expected shape ({npe.x_mean.shape[0]},) like the "
                                 f"simulations, got {tuple(x_obs.shape)}")
        else:
            npe = npe.replace(opt_state=npe.tx.init(npe.params))
        result = fit_npe(fit_key, npe, theta_all, x_all, n_steps=n_steps,
                         batch_size=batch_size, val_fraction=val_fraction, patience=patience,
                         eval_every=eval_every, progress=progress, **fit_kwargs)
        npe = result.state
        acceptance.append(rate)
        thresholds.append(tau)
    history = dict(result.history)
    history["round_simulations"] = [per_round] * n_rounds
    history["round_acceptance"] = acceptance
    history["round_log_threshold"] = thresholds
    return result._replace(history=history)
