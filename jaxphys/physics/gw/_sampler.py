r"""A reference sampler: the affine-invariant ensemble sampler with the stretch move,
and the convergence diagnostics split-R̂ and effective sample size.

**Stretch move** (Goodman & Weare 2010, "Ensemble samplers with affine invariance",
Comm. App. Math. Comp. Sci. 5, 65; the algorithm of emcee, Foreman-Mackey et al. 2013).
The ``W`` walkers are split in two halves; each walker ``X_k`` of one half moves, in
parallel, towards or away from a random walker ``X_j`` of the other half,

.. math:: Y = X_j + z (X_k - X_j),\qquad g(z) ∝ z^{-1/2}\ \text{on}\ [1/a, a],

accepted with probability ``min(1, z^{d-1} p(Y)/p(X_k))``; then the other half moves.
The chain is invariant under affine maps of the parameters, so strongly correlated or
badly scaled posteriors (chirp mass and coalescence time) need no tuning.

**Diagnostics** (Vehtari, Gelman, Simpson, Carpenter & Bürkner 2021, "Rank-normalization,
folding, and localization: an improved R̂ for assessing convergence of MCMC", Bayesian
Analysis 16, 667): split-R̂ on rank-normalised draws, and the effective sample size from
the chains' autocorrelations truncated by Geyer's initial monotone sequence. The walkers
of an ensemble are treated as the chains (as ArviZ does for emcee).
"""

from __future__ import annotations

from functools import partial
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import as_array, as_int, check_finite, check_key


class EnsembleState(NamedTuple):
    """Fields:
        positions: (W, d) walker positions.
        log_probs: (W,) their log densities.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import EnsembleState
        >>> walkers = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])  # W = 4, d = 2
        >>> state = EnsembleState(walkers, -0.5 * jnp.sum(walkers ** 2, axis=1))  # N(0, I)
        >>> state.positions.shape, state.log_probs.tolist()
        ((4, 2), [-0.5, -0.5, -1.0, -2.0])
    """

    positions: jax.Array
    log_probs: jax.Array


class EnsembleInfo(NamedTuple):
    """Fields:
        accepted: (W,) bool, which walkers moved in this step.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import EnsembleInfo
        >>> info = EnsembleInfo(accepted=jnp.array([True, False, True, True]))
        >>> float(info.accepted.mean())                   # this sweep's acceptance rate
        0.75
    """

    accepted: jax.Array


class EnsembleResult(NamedTuple):
    """Fields:
        samples: (n_kept, W, d) positions after burn-in (every ``thin``-th step).
        log_probs: (n_kept, W) their log densities.
        acceptance_rate: (W,) fraction of accepted moves per walker over all steps.
        final_state: the :class:`EnsembleState` after the last step (to continue).

    Example (filled by hand with 3 kept steps of 4 walkers in 1-D; :func:`ensemble_sample`
    returns one):
        >>> import numpy as np
        >>> from jaxphys.physics.gw import EnsembleResult, EnsembleState
        >>> samples = np.arange(12.0).reshape(3, 4, 1)      # (n_kept, W, d)
        >>> res = EnsembleResult(samples, -0.5 * samples[..., 0] ** 2, np.full(4, 0.5),
        ...                      EnsembleState(samples[-1], -0.5 * samples[-1, :, 0] ** 2))
        >>> chains = np.swapaxes(res.samples, 0, 1)       # walkers as chains: (W, n_kept, d)
        >>> chains.shape, chains[1, :, 0].tolist()        # walker 1 at steps 1, 2, 3
        ((4, 3, 1), [1.0, 5.0, 9.0])
    """

    samples: jax.Array
    log_probs: jax.Array
    acceptance_rate: jax.Array
    final_state: EnsembleState


def ensemble_init(positions, log_prob_fn: Callable) -> EnsembleState:
    """State for walkers at ``positions`` (W, d); W even, ≥ 2(d+1) recommended;
    every walker must have a finite log density.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import ensemble_init
        >>> log_p = lambda x: -0.5 * jnp.sum(x ** 2)        # N(0, I)
        >>> walkers = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
        >>> ensemble_init(walkers, log_p).log_probs.tolist()   # -|x|²/2
        [-0.5, -0.5, -1.0, -2.0]
    """
    positions = as_array(positions, "positions", ndim=2)
    w = positions.shape[0]
    if w < 4 or w % 2:
        raise ValueError(f"positions: expected an even number of walkers >= 4, got {w}")
    # one compiled program, not one small compile per operation of log_prob_fn
    log_probs = jax.jit(jax.vmap(log_prob_fn))(positions)
    if not bool(jnp.all(jnp.isfinite(log_probs))):
        raise ValueError("positions: every walker must start where log_prob_fn is finite")
    return EnsembleState(positions, log_probs)


def _half_move(key, movers, movers_lp, others, log_prob_fn, stretch):
    n, d = movers.shape
    z_key, j_key, u_key = jax.random.split(key, 3)
    u = jax.random.uniform(z_key, (n,), movers.dtype)
    z = ((stretch - 1.0) * u + 1.0) ** 2 / stretch
    partners = others[jax.random.randint(j_key, (n,), 0, others.shape[0])]
    proposal = partners + z[:, None] * (movers - partners)
    proposal_lp = jax.vmap(log_prob_fn)(proposal)
    log_ratio = (d - 1.0) * jnp.log(z) + proposal_lp - movers_lp
    accept = jnp.log(jax.random.uniform(u_key, (n,), movers.dtype)) < log_ratio
    accept = accept & jnp.isfinite(proposal_lp)
    new = jnp.where(accept[:, None], proposal, movers)
    return new, jnp.where(accept, proposal_lp, movers_lp), accept


def ensemble_step(key: jax.Array, state: EnsembleState, log_prob_fn: Callable,
                  stretch=2.0) -> tuple[EnsembleState, EnsembleInfo]:
    """One sweep: the first half of the walkers moves against the second, then the
    second against the updated first. Pure and jittable.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import ensemble_init, ensemble_step
        >>> log_p = lambda x: -0.5 * jnp.sum(x ** 2)
        >>> walkers = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
        >>> state = ensemble_init(walkers, log_p)
        >>> step = jax.jit(ensemble_step, static_argnums=2)   # pure: jit it (log_p static)
        >>> new, info = step(jax.random.key(0), state, log_p)
        >>> new.positions.shape, info.accepted.shape
        ((4, 2), (4,))
        >>> x = np.asarray(new.positions)
        >>> moved = np.any(x != np.asarray(state.positions), axis=1)
        >>> bool(np.all(moved == np.asarray(info.accepted)))   # rejected walkers stay put
        True
        >>> np.allclose(new.log_probs, -0.5 * np.sum(x ** 2, axis=1))   # match the positions
        True
    """
    half = state.positions.shape[0] // 2
    first_key, second_key = jax.random.split(key)
    first, first_lp, acc_first = _half_move(first_key, state.positions[:half],
                                            state.log_probs[:half], state.positions[half:],
                                            log_prob_fn, stretch)
    second, second_lp, acc_second = _half_move(second_key, state.positions[half:],
                                               state.log_probs[half:], first, log_prob_fn,
                                               stretch)
    new = EnsembleState(jnp.concatenate([first, second]), jnp.concatenate([first_lp, second_lp]))
    return new, EnsembleInfo(jnp.concatenate([acc_first, acc_second]))


@partial(jax.jit, static_argnames=("log_prob_fn", "n_steps", "n_burn", "thin"))
def _run(key, state, stretch, *, log_prob_fn, n_steps, n_burn, thin):
    def body(carry, step_key):
        new, info = ensemble_step(step_key, carry, log_prob_fn, stretch)
        return new, (new.positions, new.log_probs, info.accepted)

    keys = jax.random.split(key, n_steps)
    final, (positions, log_probs, accepted) = jax.lax.scan(body, state, keys)
    return (positions[n_burn::thin], log_probs[n_burn::thin],
            jnp.mean(accepted.astype(positions.dtype), axis=0), final)


def ensemble_sample(key: jax.Array, log_prob_fn: Callable, initial_positions, n_steps: int, *,
                    n_burn: int = 0, thin: int = 1, stretch: float = 2.0) -> EnsembleResult:
    r"""Run the stretch-move ensemble for ``n_steps`` sweeps (a jitted ``lax.scan``).

    Args:
        key: PRNG key.
        log_prob_fn: ``log_prob_fn(x (d,)) -> scalar``, pure (vmapped inside), ``-inf``
            outside the support. Passed as a static argument: reuse the same function
            object to avoid recompiling.
        initial_positions: (W, d) starting walkers (W even), all with finite density.
        n_steps: sweeps; the first ``n_burn`` are dropped, then every ``thin``-th is kept.
        stretch: the scale ``a > 1`` of the stretch distribution (2 as in emcee).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import ensemble_sample, split_rhat
        >>> log_p = lambda x: -0.5 * jnp.sum(x ** 2)
        >>> start = 0.1 * jax.random.normal(jax.random.key(0), (16, 2))
        >>> res = ensemble_sample(jax.random.key(1), log_p, start, 1500, n_burn=500)
        >>> res.samples.shape
        (1000, 16, 2)
        >>> bool(jnp.all(split_rhat(jnp.swapaxes(res.samples, 0, 1)) < 1.05))
        True
    """
    check_key(key, "key")
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    n_burn = as_int(n_burn, "n_burn", minimum=0)
    thin = as_int(thin, "thin", minimum=1)
    if n_burn >= n_steps:
        raise ValueError(f"n_burn: expected fewer than n_steps={n_steps}, got {n_burn}")
    if not float(stretch) > 1.0:
        raise ValueError(f"stretch: expected a > 1, got {stretch}")
    positions = as_array(initial_positions, "initial_positions", ndim=2)
    check_finite(positions, "initial_positions")
    state = ensemble_init(positions, log_prob_fn)
    samples, log_probs, rate, final = _run(key, state, jnp.asarray(stretch, positions.dtype),
                                           log_prob_fn=log_prob_fn, n_steps=n_steps,
                                           n_burn=n_burn, thin=thin)
    return EnsembleResult(samples, log_probs, rate, final)


def _chains(x, name):
    x = np.asarray(x, np.float64)
    if x.ndim == 2:
        x = x[..., None]
    if x.ndim != 3:
        raise ValueError(f"{name}: expected shape (n_chains, n_draws) or (n_chains, n_draws, d), "
                         f"got {x.shape}")
    if x.shape[0] < 1 or x.shape[1] < 4:
        raise ValueError(f"{name}: expected at least 4 draws per chain, got shape {x.shape}")
    check_finite(x, name)
    return x


def _split(x):
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _rank_normalize(x):
    """Normal scores of the pooled ranks (Blom's offset 3/8), per parameter."""
    flat = x.reshape(-1, x.shape[-1])
    ranks = np.argsort(np.argsort(flat, axis=0, kind="stable"), axis=0) + 1.0
    n = flat.shape[0]
    scores = jax.scipy.special.ndtri(jnp.asarray((ranks - 0.375) / (n + 0.25)))
    return np.asarray(scores, np.float64).reshape(x.shape)


def _rhat(x):
    n = x.shape[1]
    means = x.mean(axis=1)
    within = x.var(axis=1, ddof=1).mean(axis=0)
    between = n * means.var(axis=0, ddof=1)
    var_plus = (n - 1) / n * within + between / n
    return np.sqrt(var_plus / within)


def split_rhat(chains, *, rank_normalize: bool = True) -> np.ndarray:
    r"""Split-R̂ per parameter for ``chains`` (n_chains, n_draws[, d]): each chain is cut
    in two halves, then ``R̂ = sqrt(V̂⁺/W)`` with ``W`` the mean within-chain variance and
    ``V̂⁺ = (n-1)/n W + B/n`` (Gelman et al. 2013, BDA3 §11.4). With ``rank_normalize``
    (the default) on the normal scores of the pooled ranks, and the larger of that and
    the same for the folded draws ``|x - median|`` (Vehtari et al. 2021, §4). ≈ 1 at
    convergence; 1.01 is the usual threshold. Returns (d,).

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import split_rhat
        >>> mixed = np.random.default_rng(0).normal(size=(16, 1000, 2))  # 16 chains, d = 2
        >>> split_rhat(mixed).round(2)
        array([1., 1.])
        >>> stuck = mixed.copy()
        >>> stuck[8:] += 3.0                              # half the chains elsewhere
        >>> bool(np.all(split_rhat(stuck) > 1.1))
        True
    """
    x = _split(_chains(chains, "chains"))
    if not rank_normalize:
        return _rhat(x)
    bulk = _rhat(_rank_normalize(x))
    folded = np.abs(x - np.median(x.reshape(-1, x.shape[-1]), axis=0))
    return np.maximum(bulk, _rhat(_rank_normalize(folded)))


def _autocovariance(x):
    """Autocovariance of each chain over lags 0..n-1 by FFT; x (m, n) → (m, n)."""
    m, n = x.shape
    centred = x - x.mean(axis=1, keepdims=True)
    size = 2 ** int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(centred, n=size, axis=1)
    acov = np.fft.irfft(spec * np.conj(spec), n=size, axis=1)[:, :n]
    return acov / n


def effective_sample_size(chains) -> np.ndarray:
    r"""Effective sample size per parameter of ``chains`` (n_chains, n_draws[, d]):

    .. math:: \mathrm{ESS} = \frac{M N}{1 + 2\sum_{t≥1} \hat ρ_t},\qquad
              \hat ρ_t = 1 - \frac{W - \frac1M\sum_m \hat γ_{m,t}}{\hat V^+},

    with the multi-chain autocorrelation ``ρ̂_t`` (Stan; Vehtari et al. 2021, eqs. 10–11),
    summed over pairs ``ρ̂_{2k} + ρ̂_{2k+1}`` while positive and made monotone (Geyer
    1992's initial monotone sequence). Returns (d,).

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import effective_sample_size
        >>> rng = np.random.default_rng(0)
        >>> a, x = 0.5, np.zeros((4, 2000))               # 4 AR(1) chains x_t = a x_{t-1} + ε_t
        >>> for t in range(1, 2000):
        ...     x[:, t] = a * x[:, t - 1] + rng.normal(size=4)
        >>> ess = effective_sample_size(x)[0]             # N (1 - a)/(1 + a) = 8000/3 ≈ 2667
        >>> bool(2300 < ess < 3000)
        True
    """
    x = _chains(chains, "chains")
    m, n, d = x.shape
    out = np.empty(d)
    for j in range(d):
        acov = _autocovariance(x[:, :, j])
        within = acov[:, 0].mean() * n / (n - 1)
        var_plus = within * (n - 1) / n
        if m > 1:
            var_plus += x[:, :, j].mean(axis=1).var(ddof=1)
        rho = 1.0 - (within - acov.mean(axis=0)) / var_plus
        rho[0] = 1.0
        pairs = rho[:-1:2] + rho[1::2]
        k = np.argmax(pairs < 0) if np.any(pairs < 0) else pairs.size
        pairs = np.minimum.accumulate(pairs[:k]) if k > 0 else pairs[:0]
        tau = -1.0 + 2.0 * np.sum(pairs)
        out[j] = m * n / max(tau, 1.0 / np.log10(m * n + 10.0))
    return out
