r"""Amortised gravitational-wave posteriors: NPE with DINGO's embedding, then importance
sampling with the exact likelihood (DINGO-IS).

A conditional neural spline flow ``q(θ|d)`` over the standardised parameters
``θ = (𝓜, q, D_L, t_c)`` is trained on simulations ``θ ~ p(θ)``, ``d ~ p(d|θ)`` (a uniform
coalescence phase, Advanced LIGO noise; :func:`simulate_dataset`), its context being
the whitened strain seen through :class:`GWEmbedding`. Any observed strain then gets
posterior samples in one flow pass; :func:`importance_sample_posterior` reweights them
with the exact phase-marginalised likelihood, which removes the network's residual
error and gives the evidence (Dax et al. 2023, Phys. Rev. Lett. 130, 171403).
"""

from __future__ import annotations

import time
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import as_array, as_int, check_finite, check_key, check_range
from ...core import EarlyStopping, fit
from ...generative import (NPE, NeuralSplineFlow, flow_nll_loss, flow_optimizer, init_npe,
                           train_npe)
from ._embedding import GWEmbedding, ReducedBasis, waveform_basis
from ._importance import ImportanceResult, importance_weights
from ._problem import (GWProblem, apply_extrinsic, intrinsic_bank, make_log_posterior,
                       simulate_dataset, whitened_features)
from ._psd import _check_series


class GWPosteriorModel(NamedTuple):
    """A trained amortised posterior.

    Fields:
        npe: the :class:`jaxphys.generative.NPE` (flow, parameters, standardisation).
        history: the training history (``'loss'``, ``'val_loss'`` ... per logged step).
        basis: the :class:`ReducedBasis` of the embedding's first layer.
        problem: the :class:`GWProblem` it was trained for.
        simulation_time: seconds spent simulating the training set and basis.
        training_time: seconds spent training (compilation included).

    Example (:func:`train_gw_npe` returns one; training is too slow for an example):
        >>> from jaxphys.physics.gw import GWPosteriorModel
        >>> GWPosteriorModel._fields
        ('npe', 'history', 'basis', 'problem', 'simulation_time', 'training_time')
    """

    npe: NPE
    history: dict
    basis: ReducedBasis
    problem: GWProblem
    simulation_time: float
    training_time: float


def _fit_npe(key, theta, x, flow, *, n_steps, batch_size, learning_rate, progress):
    """The one call into the library's NPE trainer for a fixed simulation set (adapt
    here if its API changes): returns the trained :class:`NPE` and its history."""
    result = train_npe(key, theta, x, flow=flow, n_steps=n_steps, batch_size=batch_size,
                       learning_rate=learning_rate, standardize_x="structured",
                       progress=progress)
    return result.state, result.history


def _augmented_loss(npe: NPE, problem: GWProblem):
    """The flow's NLL on batches ``{'intrinsic': (B, 2), 'clean': (B, 2n)}`` completed,
    for every batch afresh, with extrinsic parameters from the prior, a uniform phase
    and unit-variance noise (the loss contract ``loss_fn(params, batch, key)``)."""
    nll = flow_nll_loss(npe.flow)
    lo, hi = problem.prior.low, problem.prior.high
    n = problem.n_bins

    def loss_fn(params, batch, key):
        intrinsic, clean = batch["intrinsic"], batch["clean"]
        size, dtype = intrinsic.shape[0], clean.dtype
        u_key, phase_key, noise_key, loss_key = jax.random.split(key, 4)
        u = jax.random.uniform(u_key, (2, size), dtype)
        distance = (lo[2] ** 3 + u[0] * (hi[2] ** 3 - lo[2] ** 3)) ** (1.0 / 3.0)
        time = lo[3] + u[1] * (hi[3] - lo[3])
        phase = jax.random.uniform(phase_key, (size,), dtype, 0.0, 2.0 * jnp.pi)
        re, im = apply_extrinsic(clean[:, :n], clean[:, n:], distance, time, phase, problem)
        x = jnp.concatenate([re, im], axis=1)
        x = x + jax.random.normal(noise_key, x.shape, dtype)
        theta = jnp.concatenate([intrinsic, distance[:, None], time[:, None]], axis=1)
        theta_u = (theta - npe.theta_mean[None]) / npe.theta_scale[None]
        context = (x - npe.x_mean[None]) / npe.x_scale[None]
        return nll(params, {"x": theta_u, "context": context}, loss_key)

    return loss_fn


def _fit_npe_augmented(key, problem, flow, intrinsic, clean, theta_sample, x_sample, *,
                       n_steps, batch_size, learning_rate, patience, progress):
    """NPE with DINGO's on-the-fly extrinsic parameters and noise, on the library's
    pieces: :func:`init_npe` (standardisation from a simulated sample), the flow NLL and
    :func:`jaxphys.core.fit` with early stopping on a held-out 10 % of the bank."""
    init_key, split_key, fit_key = jax.random.split(key, 3)
    npe = init_npe(init_key, theta_sample, x_sample, flow=flow, standardize_x="structured",
                   optimizer=flow_optimizer(learning_rate, n_steps))
    n = intrinsic.shape[0]
    n_val = max(1, n // 10)
    perm = jax.random.permutation(split_key, n)
    data = {"intrinsic": intrinsic, "clean": clean}
    train = jax.tree.map(lambda a: a[perm[n_val:]], data)
    val = jax.tree.map(lambda a: a[perm[:n_val]], data)
    result = fit(fit_key, npe, train, loss_fn=_augmented_loss(npe, problem), n_steps=n_steps,
                 batch_size=min(batch_size, n - n_val), val_data=val,
                 early_stopping=EarlyStopping(patience=patience), progress=progress,
                 desc="gw npe")
    return result.state, result.history


def train_gw_npe(key: jax.Array, problem: GWProblem, *, n_simulations: int = 50000,
                 n_basis: int = 64, n_basis_waveforms: int = 5000, embedding_width: int = 128,
                 embedding_blocks: int = 3, embedding_dim: int = 32, flow_layers: int = 5,
                 flow_hidden=(128, 128), n_bins: int = 8, n_steps: int = 5000,
                 batch_size: int = 512, learning_rate: float = 1e-3, augment: bool = True,
                 patience: int = 10, progress: bool = False) -> GWPosteriorModel:
    r"""Simulate, build the reduced basis, and train NPE for ``problem``.

    The flow is ``NeuralSplineFlow(flow_layers, flow_hidden, n_bins)`` with a
    :class:`GWEmbedding` of ``n_basis`` SVD vectors (from ``n_basis_waveforms``
    noise-free waveforms), ``embedding_blocks`` residual blocks of ``embedding_width``
    and output ``embedding_dim``; the features are whitened strain, standardised with
    one mean and scale (``'structured'``). Adam with a cosine-decayed ``learning_rate``,
    batches of ``batch_size``, at most ``n_steps`` steps, early stopping on 10 % held
    out (``patience`` evaluations, one per epoch).

    * ``augment=True`` (DINGO's scheme): a bank of ``n_simulations`` intrinsic
      waveforms ``(𝓜, q)`` (:func:`intrinsic_bank`); every batch draws new distances,
      coalescence times, phases (:func:`apply_extrinsic`) and noise, so the network
      never sees the same noisy strain twice and does not overfit the noise.
    * ``augment=False``: ``n_simulations`` fixed simulations and
      :func:`jaxphys.generative.train_npe`.

    Example (the defaults: training takes minutes, ``tests/test_physics_gw_npe.py`` runs it):
        >>> import inspect
        >>> from jaxphys.physics.gw import train_gw_npe
        >>> defaults = inspect.signature(train_gw_npe).parameters
        >>> [defaults[k].default for k in ("n_simulations", "n_basis", "n_steps", "augment")]
        [50000, 64, 5000, True]
    """
    check_key(key, "key")
    n_simulations = as_int(n_simulations, "n_simulations", minimum=10)
    # every size before the first simulation: a bad one fails in milliseconds, not minutes
    n_basis = as_int(n_basis, "n_basis", minimum=1)
    n_basis_waveforms = as_int(n_basis_waveforms, "n_basis_waveforms", minimum=2)
    embedding_width = as_int(embedding_width, "embedding_width", minimum=1)
    embedding_blocks = as_int(embedding_blocks, "embedding_blocks", minimum=0)
    embedding_dim = as_int(embedding_dim, "embedding_dim", minimum=1)
    flow_layers = as_int(flow_layers, "flow_layers", minimum=1)
    n_bins = as_int(n_bins, "n_bins", minimum=1)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    check_range(learning_rate, "learning_rate", low=0.0, low_open=True)
    basis_key, sim_key, sample_key, train_key = jax.random.split(key, 4)
    start = time.perf_counter()
    basis = waveform_basis(basis_key, problem, n_basis_waveforms, n_basis)
    embedding = GWEmbedding(basis.projection, width=embedding_width,
                            n_blocks=embedding_blocks, output_dim=embedding_dim)
    flow = NeuralSplineFlow(n_layers=flow_layers, hidden=tuple(flow_hidden),
                            n_bins=n_bins, embedding=embedding)
    settings = dict(n_steps=n_steps, batch_size=batch_size, learning_rate=float(learning_rate),
                    progress=progress)
    if augment:
        intrinsic, clean = intrinsic_bank(sim_key, problem, n_simulations)
        theta_sample, x_sample = simulate_dataset(sample_key, problem,
                                                  min(n_simulations, 10000))
        jax.block_until_ready((clean, x_sample))
        simulated = time.perf_counter()
        npe, history = _fit_npe_augmented(train_key, problem, flow, intrinsic, clean,
                                          theta_sample, x_sample,
                                          patience=as_int(patience, "patience", minimum=1),
                                          **settings)
    else:
        theta, x = simulate_dataset(sim_key, problem, n_simulations)
        x.block_until_ready()
        simulated = time.perf_counter()
        npe, history = _fit_npe(train_key, theta, x, flow, **settings)
    jax.block_until_ready(npe.params)
    return GWPosteriorModel(npe, history, basis, problem, simulated - start,
                            time.perf_counter() - simulated)


@partial(jax.jit, static_argnames=("n",))
def _sample_one(npe, key, features, n):
    return npe.posterior(features).sample_and_log_prob(seed=key, sample_shape=n)


@jax.jit
def _log_prob(npe, features, theta):
    return npe.posterior(features).log_prob(theta)


def _features(data, model, name):
    data = jnp.asarray(data)
    check_finite(data, name)
    n = model.problem.n_bins
    if data.ndim == 1 and jnp.iscomplexobj(data):
        return whitened_features(_check_series(data, model.problem.noise, name), model.problem)
    if data.shape[-1:] != (2 * n,):
        raise ValueError(f"{name}: expected a complex strain ({n},) or real whitened features "
                         f"(..., {2 * n}), got shape {tuple(data.shape)} ({data.dtype})")
    return data


def sample_posterior(key: jax.Array, model: GWPosteriorModel, data, n: int):
    """``n`` samples (n, 4) of ``q(θ|d)`` and their log densities (n,), for one
    observation: a complex strain (n_bins,) or its whitened features (2 n_bins,), or a
    batch of features (m, 2 n_bins) (then (m, n, 4) and (m, n)). Compiled once per ``n``.

    Example (not run: it needs a trained model, minutes of :func:`train_gw_npe`):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import gw_problem, gw_signal, sample_posterior, train_gw_npe
        >>> problem = gw_problem()
        >>> model = train_gw_npe(jax.random.key(0), problem, n_steps=500)  # doctest: +SKIP
        >>> strain = gw_signal(jnp.array([30.0, 0.5, 1000.0, 0.0]), problem)  # doctest: +SKIP
        >>> samples, log_q = sample_posterior(jax.random.key(1), model, strain,
        ...                                   2000)      # doctest: +SKIP
        >>> samples.shape, log_q.shape                    # doctest: +SKIP
        ((2000, 4), (2000,))
    """
    check_key(key, "key")
    features = _features(data, model, "data")
    n = as_int(n, "n", minimum=1)
    if features.ndim == 1:
        return _sample_one(model.npe, key, features, n)
    keys = jax.random.split(key, features.shape[0])
    outs = [_sample_one(model.npe, k, f, n) for k, f in zip(keys, features)]
    return jnp.stack([o[0] for o in outs]), jnp.stack([o[1] for o in outs])


def posterior_log_prob(model: GWPosteriorModel, data, theta) -> jax.Array:
    """``log q(θ_i|d_i)`` (m,) for features ``data`` (m, 2 n_bins) and parameters
    ``theta`` (m, 4), one posterior per row (compiled).

    Example (not run: it needs a trained model, minutes of :func:`train_gw_npe`):
        >>> import jax
        >>> from jaxphys.physics.gw import (gw_problem, posterior_log_prob,
        ...                                 prior_log_prob_baseline, simulate_dataset,
        ...                                 train_gw_npe)
        >>> problem = gw_problem()
        >>> model = train_gw_npe(jax.random.key(0), problem, n_steps=500)  # doctest: +SKIP
        >>> theta, x = simulate_dataset(jax.random.key(1), problem, 500)  # doctest: +SKIP
        >>> log_q = posterior_log_prob(model, x, theta)   # doctest: +SKIP
        >>> log_q.shape                                   # doctest: +SKIP
        (500,)
        >>> gain = float(log_q.mean()) - prior_log_prob_baseline(model, theta)  # doctest: +SKIP
        >>> gain > 0                      # nats gained over the prior  # doctest: +SKIP
        True
    """
    features = _features(data, model, "data")
    theta = as_array(theta, "theta", ndim=2)
    check_finite(theta, "theta")
    if features.ndim != 2 or features.shape[0] != theta.shape[0] or theta.shape[1] != 4:
        raise ValueError(f"data, theta: expected shapes (m, {2 * model.problem.n_bins}) and "
                         f"(m, 4), got {tuple(features.shape)} and {tuple(theta.shape)}")
    return _log_prob(model.npe, features, theta)


class ImportanceSampledPosterior(NamedTuple):
    """Fields:
        samples: (n, 4) proposal samples from the NPE.
        log_proposal: (n,) ``log q(θ_i|d)``.
        log_target: (n,) ``log p(θ_i) + log Λ̄(d|θ_i)`` (``-inf`` outside the prior).
        weights: the :class:`ImportanceResult` (normalised weights, ESS, efficiency, and
            ``log_evidence``: the log Bayes factor of signal against noise,
            ``log ∫ p(θ) L(d|θ) dθ - log L(d|0)``, with its standard error).

    Example (built from three samples by hand; :func:`importance_sample_posterior`
    returns one):
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import ImportanceSampledPosterior, importance_weights
        >>> samples = jnp.array([[30.0, 0.5, 1000.0, 0.0]] * 3)
        >>> log_q = jnp.zeros(3)
        >>> log_target = jnp.log(jnp.array([1.0, 3.0, 0.0]))  # the third outside the prior
        >>> post = ImportanceSampledPosterior(samples, log_q, log_target,
        ...                                   importance_weights(log_target, log_q))
        >>> [round(float(w), 4) for w in post.weights.weights]
        [0.25, 0.75, 0.0]
        >>> round(float(post.weights.log_evidence), 4)    # log((1 + 3 + 0)/3)
        0.2877
    """

    samples: jax.Array
    log_proposal: jax.Array
    log_target: jax.Array
    weights: ImportanceResult


def importance_sample_posterior(key: jax.Array, model: GWPosteriorModel, strain,
                                n: int) -> ImportanceSampledPosterior:
    """DINGO-IS for one observed complex strain (n_bins,): ``n`` NPE samples reweighted by
    the exact phase-marginalised likelihood times the prior (with a trained model:
    ``tests/test_physics_gw_npe.py`` runs it).

    Example (not run: it needs a trained model, minutes of :func:`train_gw_npe`):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import (colored_noise, distance_for_snr, gw_problem,
        ...                                 gw_signal, importance_sample_posterior,
        ...                                 train_gw_npe)
        >>> problem = gw_problem()
        >>> model = train_gw_npe(jax.random.key(0), problem, n_steps=500)  # doctest: +SKIP
        >>> truth = distance_for_snr(jnp.array([32.0, 0.5, 1000.0, 0.01]), 20.0,
        ...                          problem)                 # doctest: +SKIP
        >>> strain = gw_signal(truth, problem) + colored_noise(jax.random.key(1),
        ...                                                    problem.noise)  # doctest: +SKIP
        >>> post = importance_sample_posterior(jax.random.key(2), model, strain,
        ...                                    4000)          # doctest: +SKIP
        >>> post.samples.shape, post.weights.weights.shape   # doctest: +SKIP
        ((4000, 4), (4000,))
        >>> 0.0 < float(post.weights.sample_efficiency) <= 1.0   # doctest: +SKIP
        True
    """
    check_key(key, "key")
    strain = as_array(strain, "strain", ndim=1)
    _check_series(strain, model.problem.noise, "strain")
    samples, log_q = sample_posterior(key, model, strain, n)
    log_post = make_log_posterior(strain, model.problem)
    dtype = model.problem.noise.frequencies.dtype
    log_target = jax.jit(jax.vmap(log_post))(samples.astype(dtype))
    weights = importance_weights(log_target, log_q.astype(log_target.dtype))
    return ImportanceSampledPosterior(samples, log_q, log_target, weights)


def prior_log_prob_baseline(model: GWPosteriorModel, theta) -> float:
    """Mean log prior density of ``theta`` (m, 4): the score of "the prior as the
    posterior", to compare with the NPE's mean ``log q(θ|d)`` at the true parameters.

    Example (only the model's problem, its prior, enters):
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import GWPosteriorModel, gw_problem, prior_log_prob_baseline
        >>> model = GWPosteriorModel(None, {}, None, gw_problem(), 0.0, 0.0)   # no network
        >>> theta = jnp.array([[30.0, 0.5, 1000.0, 0.0], [30.0, 0.5, 2000.0, 0.0]])
        >>> # p(θ) = (1/15)(1/0.75)(1/0.1) · 3 D²/(3000³ - 400³); mean log p at D = 1000, 2000
        >>> round(prior_log_prob_baseline(model, theta), 3)
        -8.527
    """
    theta = as_array(theta, "theta", ndim=2)
    check_finite(theta, "theta")
    return float(np.mean(np.asarray(model.problem.prior.log_prob(theta))))
