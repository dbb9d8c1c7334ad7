r"""Neural posterior estimation (NPE) and its diagnostics.

NPE (Papamakarios & Murray 2016; Greenberg et al. 2019; the amortised inference
behind DINGO) fits a conditional flow ``q(θ | x)`` to simulated pairs
``θ ~ p(θ), x ~ p(x | θ)`` by maximising ``E[log q(θ | x)]``, whose optimum is the
true posterior ``p(θ | x)`` for every ``x``. After training, the posterior of any
observation is one flow evaluation away (amortised): sampling takes milliseconds.

θ and x are standardised with the simulated set's mean and standard deviation;
:meth:`NPE.posterior` undoes the θ standardisation with a distrax affine bijector,
so its ``log_prob`` is the density in the original units.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import distrax
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, check_finite, check_key
from ._bijectors import ElementwiseAffine
from ._flows import FlowDistribution, NeuralSplineFlow, _Flow, fit_flow


class NPE(NamedTuple):
    """A trained neural posterior estimator.

    Fields:
        flow: the conditional flow (a :class:`NeuralSplineFlow`, ...).
        params: its parameters.
        theta_mean, theta_scale: (d,) θ standardisation.
        x_mean, x_scale: (n_x,) data standardisation.
        history: the training history from :func:`jaxphys.core.fit`.
    """

    flow: Any
    params: Any
    theta_mean: jax.Array
    theta_scale: jax.Array
    x_mean: jax.Array
    x_scale: jax.Array
    history: dict

    def posterior(self, x) -> distrax.Distribution:
        """``q(θ | x)`` for one observation ``x`` (n_x,) or a batch (n, n_x) (one
        posterior per row for ``log_prob`` of a matching θ batch)."""
        x = as_array(x, "x", ndim=(1, 2))
        if x.shape[-1] != self.x_mean.shape[0]:
            raise ValueError(f"x: expected shape (n_x,) or (n, n_x) with n_x="
                             f"{self.x_mean.shape[0]}, got {tuple(x.shape)}")
        ctx = (x - jnp.broadcast_to(self.x_mean, x.shape)) / jnp.broadcast_to(self.x_scale,
                                                                                x.shape)
        unit = self.flow.apply(self.params, ctx)
        return FlowDistribution(unit, ElementwiseAffine(self.theta_mean, self.theta_scale),
                                self.theta_mean.shape[0], unit.dtype)

    def sample(self, key: jax.Array, x, n: int) -> jax.Array:
        """``n`` posterior samples (n, d) for one observation ``x`` (n_x,)."""
        return self.posterior(x).sample(seed=key, sample_shape=int(n))


def train_npe(key: jax.Array, theta, x, *, flow: _Flow | None = None, n_steps: int = 2000,
              batch_size: int = 256, learning_rate: float = 1e-3, val_fraction: float = 0.1,
              patience: int = 10, eval_every: int | None = None,
              standardize_x: str = "independent", progress: bool = False) -> NPE:
    r"""Train NPE on simulated pairs ``theta`` (n, d), ``x`` (n, n_x).

    Args:
        key: PRNG key.
        theta, x: simulations (see :func:`jaxphys.physics.simulate_batch`).
        flow: the conditional flow (default ``NeuralSplineFlow(n_layers=4,
            hidden=(64, 64), n_bins=8)``); give it an ``embedding`` for
            high-dimensional x.
        n_steps, batch_size, learning_rate: Adam settings (cosine-decayed rate);
            ``n_steps`` is the most steps (early stopping may end sooner).
        val_fraction: fraction of the simulations held out (a random subset) for
            validation; training stops when the validation NLL has not improved for
            ``patience`` evaluations (every ``eval_every`` steps, default one epoch)
            and the best parameters are returned. Without it (``0``) a flow trained
            long on a fixed simulation set overfits and its posteriors come out
            over-confident (too narrow: coverage below nominal).
        standardize_x: ``'independent'`` (each feature of x to zero mean and unit
            variance) or ``'structured'`` (one mean and one scale for all features,
            as sbi's ``z_score_x='structured'``): for a time series or an image, where
            per-feature scaling would blow the pure-noise samples (a decayed signal)
            up to the size of the informative ones.

    Example:
        >>> import jax
        >>> from jaxphys.physics._simulators import gaussian_linear, simulate_batch
        >>> task = gaussian_linear(dim=2)
        >>> theta, x = simulate_batch(jax.random.key(0), task, 500)
        >>> npe = train_npe(jax.random.key(1), theta, x, n_steps=20, batch_size=64,
        ...                 flow=NeuralSplineFlow(n_layers=2, hidden=(16,)))
        >>> npe.sample(jax.random.key(2), x[0], 100).shape
        (100, 2)
    """
    check_key(key, "key")
    theta = as_array(theta, "theta", ndim=2)
    x = as_array(x, "x", ndim=2)
    check_finite(theta, "theta")
    check_finite(x, "x")
    if theta.shape[0] != x.shape[0]:
        raise ValueError(f"theta and x must have the same length along axis 0, got "
                         f"{theta.shape[0]} and {x.shape[0]}")
    flow = NeuralSplineFlow(n_layers=4, hidden=(64, 64), n_bins=8) if flow is None else flow
    tm, ts = theta.mean(0), theta.std(0)
    if standardize_x == "independent":
        xm, xs = x.mean(0), x.std(0)
    elif standardize_x == "structured":
        xm = jnp.full(x.shape[1:], x.mean(), x.dtype)
        xs = jnp.full(x.shape[1:], x.std(), x.dtype)
    else:
        raise ValueError(f"standardize_x: expected 'independent' or 'structured', got "
                         f"{standardize_x!r}")
    ts = jnp.where(ts > 0, ts, 1.0)
    xs = jnp.where(xs > 0, xs, 1.0)
    theta_u = (theta - tm[None]) / ts[None]
    x_u = (x - xm[None]) / xs[None]
    if not 0.0 <= float(val_fraction) < 1.0:
        raise ValueError(f"val_fraction: expected a number in [0, 1), got {val_fraction}")
    n_val = int(round(float(val_fraction) * theta.shape[0]))
    split_key, fit_key = jax.random.split(key)
    kw: dict[str, Any] = {}
    if n_val > 0:
        if theta.shape[0] - n_val < 1:
            raise ValueError(f"val_fraction: leaves no training simulations out of "
                             f"{theta.shape[0]}")
        from ..core import EarlyStopping

        perm = jax.random.permutation(split_key, theta.shape[0])
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        kw = dict(val_x=theta_u[val_idx], val_context=x_u[val_idx],
                  early_stopping=EarlyStopping(patience=int(patience)),
                  eval_every=eval_every)
        theta_u, x_u = theta_u[tr_idx], x_u[tr_idx]
    res = fit_flow(fit_key, flow, theta_u, x_u, n_steps=n_steps, batch_size=batch_size,
                   learning_rate=learning_rate, progress=progress, **kw)
    return NPE(flow, res.state.params, tm, ts, xm, xs, res.history)


class SBCResult(NamedTuple):
    """Simulation-based calibration (Talts et al. 2018).

    Fields:
        ranks: (n_sbc, d) int, rank of the true θ_j among the posterior samples' θ_j.
        n_posterior: number of posterior samples per simulation (ranks lie in
            0..n_posterior, uniform for a calibrated posterior).
    """

    ranks: np.ndarray
    n_posterior: int


def _posterior_samples(key, npe: NPE, x, n_posterior):
    """Samples (n_sims, n_posterior, d) and their log q, one posterior per row of x."""
    keys = jax.random.split(key, x.shape[0])

    @jax.jit
    def one(k, xi):
        return npe.posterior(xi).sample_and_log_prob(seed=k, sample_shape=n_posterior)

    return jax.lax.map(lambda a: one(*a), (keys, x), batch_size=64)


def sbc_ranks(key: jax.Array, npe: NPE, theta, x, *, n_posterior: int = 200) -> SBCResult:
    """SBC ranks of the true parameters ``theta`` (n, d) given their simulations ``x``."""
    theta = as_array(theta, "theta", ndim=2)
    x = as_array(x, "x", ndim=2)
    samples, _ = _posterior_samples(key, npe, x, int(n_posterior))
    ranks = np.asarray(jnp.sum(samples < theta[:, None, :], axis=1))
    return SBCResult(ranks, int(n_posterior))


class CoverageResult(NamedTuple):
    """Expected coverage of highest-posterior-density regions.

    Fields:
        levels: (k,) nominal credibility levels.
        coverage: (k,) fraction of simulations whose true θ lies in the
            ``level`` HPD region of q(θ | x) (≈ level when calibrated).
        credibility: (n,) for each simulation, the smallest HPD level containing
            the true θ (the fraction of posterior samples with higher density).
    """

    levels: np.ndarray
    coverage: np.ndarray
    credibility: np.ndarray


def expected_coverage(key: jax.Array, npe: NPE, theta, x, *,
                      levels: Sequence[float] = (0.5, 0.68, 0.95),
                      n_posterior: int = 500) -> CoverageResult:
    r"""Expected coverage: for each simulation, the HPD credibility of the truth

    .. math:: c_i = \frac{1}{M}\sum_{m=1}^{M} \mathbb 1[q(θ_m|x_i) > q(θ_i^*|x_i)],
              \quad θ_m \sim q(·|x_i),

    and coverage(α) = mean_i 1[c_i < α]; a calibrated posterior gives α.
    """
    theta = as_array(theta, "theta", ndim=2)
    x = as_array(x, "x", ndim=2)
    _, logq = _posterior_samples(key, npe, x, int(n_posterior))
    logq_true = npe.posterior(x).log_prob(theta)
    cred = np.asarray(jnp.mean(logq > logq_true[:, None], axis=1))
    levels = np.asarray(levels, float)
    cov = np.array([np.mean(cred < a) for a in levels])
    return CoverageResult(levels, cov, cred)
