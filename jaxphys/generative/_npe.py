r"""Neural posterior estimation (NPE).

NPE (Papamakarios & Murray 2016; Greenberg et al. 2019; the amortised inference
behind DINGO) fits a conditional flow ``q(θ | x)`` to simulated pairs
``θ ~ p(θ), x ~ p(x | θ)`` by maximising ``E[log q(θ | x)]``, whose optimum is the
true posterior ``p(θ | x)`` for every ``x``. After training, the posterior of any
observation is one flow evaluation away (amortised): sampling takes milliseconds.

θ and x are standardised with the simulated set's mean and standard deviation;
:meth:`NPE.posterior` undoes the θ standardisation with a distrax affine bijector,
so its ``log_prob`` is the density in the original units. The calibration diagnostics
(SBC, expected coverage, TARP) are in :mod:`jaxphys.generative._sbc`, sequential
rounds with truncated proposals in :mod:`jaxphys.generative._snpe`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import distrax
import jax
import jax.numpy as jnp
from flax import struct

from .._checks import as_array, as_int, check_finite, check_key, check_same_length
from ..core import EarlyStopping, FitResult, TrainState, fit
from ._bijectors import ElementwiseAffine
from ._flows import FlowDistribution, NeuralSplineFlow, _Flow, flow_nll_loss, flow_optimizer
from ._sbc import CoverageResult, SBCResult, expected_coverage, sbc_ranks  # noqa: F401
from ._training import fit_settings


class NPE(TrainState):
    """A neural posterior estimator: the conditional flow's train state and the
    standardisation of θ and x, so that one object trains (through
    :func:`jaxphys.core.fit`), checkpoints, resumes and gives posteriors.

    Fields (beyond those of :class:`jaxphys.core.TrainState`: ``step``, ``params``,
    ``opt_state``, ``model_state``, ``n_skipped``, ``tx``):
        theta_mean, theta_scale: (d,) θ standardisation, ``θ_u = (θ - mean) / scale``.
        x_mean, x_scale: (n_x,) data standardisation (the flow's context).
        flow: the conditional flow (static; a :class:`NeuralSplineFlow`, ...).

    Build one with :func:`init_npe`; :func:`train_npe` returns it as ``result.state``.

    Example:
        >>> import jax, optax
        >>> from jaxphys.generative import MAF, NPE, init_npe
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> theta, x = simulate_batch(jax.random.key(0), gaussian_linear(dim=2), 100)
        >>> npe = init_npe(jax.random.key(1), theta, x, optimizer=optax.adam(1e-3),
        ...                flow=MAF(n_layers=1, hidden=(8,)))
        >>> isinstance(npe, NPE), bool(jnp.allclose(npe.theta_mean, theta.mean(0)))
        (True, True)
        >>> npe.posterior(x[0]).event_shape              # q(θ | x_0), in the units of θ
        (2,)
    """

    theta_mean: jax.Array
    theta_scale: jax.Array
    x_mean: jax.Array
    x_scale: jax.Array
    flow: Any = struct.field(pytree_node=False)

    def _check_x(self, x, name: str = "x", ndim=(1, 2)) -> jax.Array:
        x = as_array(x, name, ndim=ndim)
        if x.shape[-1] != self.x_mean.shape[0]:
            raise ValueError(f"{name}: expected shape (n_x,) or (n, n_x) with n_x="
                             f"{self.x_mean.shape[0]}, got {tuple(x.shape)}")
        return x

    def training_data(self, theta, x) -> dict:
        """The flow's training batch ``{'x': θ_u (n, d), 'context': x_u (n, n_x)}`` for
        finite simulated pairs ``theta`` (n, d), ``x`` (n, n_x), standardised as this
        estimator."""
        theta = as_array(theta, "theta", ndim=2)
        x = self._check_x(x, ndim=2)
        if theta.shape[-1] != self.theta_mean.shape[0]:
            raise ValueError(f"theta: expected shape (n, {self.theta_mean.shape[0]}), got "
                             f"{tuple(theta.shape)}")
        check_same_length("theta", theta, "x", x)
        check_finite(theta, "theta")
        check_finite(x, "x")
        return {"x": (theta - self.theta_mean[None]) / self.theta_scale[None],
                "context": (x - self.x_mean[None]) / self.x_scale[None]}

    def posterior(self, x) -> distrax.Distribution:
        """``q(θ | x)`` for one observation ``x`` (n_x,) or a batch (n, n_x) (one
        posterior per row for ``log_prob`` of a matching θ batch)."""
        x = self._check_x(x)
        ctx = (x - jnp.broadcast_to(self.x_mean, x.shape)) / jnp.broadcast_to(self.x_scale,
                                                                                x.shape)
        unit = self.flow.apply(self.params, ctx)
        return FlowDistribution(unit, ElementwiseAffine(self.theta_mean, self.theta_scale),
                                self.theta_mean.shape[0], unit.dtype)

    def sample(self, key: jax.Array, x, n: int) -> jax.Array:
        """``n`` posterior samples (n, d) for one observation ``x`` (n_x,)."""
        return self.posterior(x).sample(seed=key, sample_shape=int(n))


def _hashable_flow(flow):
    """The flow with list-valued settings as tuples (the flow is a static, hashed field)."""
    if not isinstance(flow, _Flow):
        raise TypeError(f"flow: expected a flow from jaxphys.generative (NeuralSplineFlow, "
                        f"RealNVP, MAF ...), got {type(flow).__name__}")
    return dataclasses.replace(flow, hidden=tuple(int(h) for h in flow.hidden))


def init_npe(key: jax.Array, theta, x, *, flow: _Flow | None = None, optimizer=None,
             standardize_x: str = "independent") -> NPE:
    """A fresh :class:`NPE` for simulated pairs ``theta`` (n, d), ``x`` (n, n_x).

    θ is standardised per component with the simulations' mean and standard deviation;
    x per feature (``standardize_x='independent'``) or with one mean and one scale for
    all features (``'structured'``). The flow is initialised on the standardised pairs.

    Args:
        key: PRNG key (the flow's initialisation).
        theta, x: the simulations (finite; a ``ValueError`` names them otherwise).
        flow: the conditional flow (default ``NeuralSplineFlow(n_layers=4,
            hidden=(64, 64), n_bins=8)``).
        optimizer: an optax transformation (default :func:`flow_optimizer` with its
            defaults: clipped Adam, learning rate 1e-3 decayed over 2000 steps).
        standardize_x: ``'independent'`` or ``'structured'``.

    Example:
        >>> import jax, optax
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> theta, x = simulate_batch(jax.random.key(0), gaussian_linear(dim=2), 100)
        >>> from jaxphys.generative import MAF
        >>> npe = init_npe(jax.random.key(1), theta, x, optimizer=optax.adam(1e-3),
        ...                flow=MAF(n_layers=1, hidden=(8,)))
        >>> npe.training_data(theta, x)["context"].shape, int(npe.step)
        ((100, 2), 0)
    """
    check_key(key, "key")
    theta = as_array(theta, "theta", ndim=2)
    x = as_array(x, "x", ndim=2)
    check_finite(theta, "theta")
    check_finite(x, "x")
    if theta.shape[0] != x.shape[0]:
        raise ValueError(f"theta and x must have the same length along axis 0, got "
                         f"{theta.shape[0]} and {x.shape[0]}")
    flow = _hashable_flow(NeuralSplineFlow(n_layers=4, hidden=(64, 64), n_bins=8)
                          if flow is None else flow)
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
    tx = flow_optimizer() if optimizer is None else optimizer
    base = TrainState.create(flow.init(key, theta_u, x_u), tx)
    return NPE(step=base.step, params=base.params, opt_state=base.opt_state,
               model_state=base.model_state, n_skipped=base.n_skipped, tx=base.tx,
               theta_mean=tm, theta_scale=ts, x_mean=xm, x_scale=xs, flow=flow)


def train_npe(key: jax.Array, theta, x, *, flow: _Flow | None = None, n_steps: int = 2000,
              batch_size: int = 256, learning_rate: float = 1e-3, val_fraction: float = 0.1,
              patience: int = 10, eval_every: int | None = None,
              standardize_x: str = "independent", clip_norm: float | None = 10.0,
              optimizer=None, progress: bool = False, **fit_kwargs) -> FitResult:
    r"""Train NPE on simulated pairs ``theta`` (n, d), ``x`` (n, n_x).

    The estimator is :func:`init_npe`'s; it trains by maximum likelihood with
    :func:`flow_nll_loss` and :func:`jaxphys.core.fit`, with the optimiser of
    :func:`fit_flow` (:func:`flow_optimizer`).

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
        clip_norm: global-norm clipping stage in front of the optimiser (None: none).
        optimizer: an optax transformation replacing the default Adam.
        **fit_kwargs: passed to :func:`jaxphys.core.fit` (``checkpoint_dir`` ...).

    Returns:
        a :class:`jaxphys.core.FitResult` whose ``state`` is the trained :class:`NPE`.

    Example:
        >>> import jax
        >>> from jaxphys.generative import MAF
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> task = gaussian_linear(dim=2)
        >>> theta, x = simulate_batch(jax.random.key(0), task, 100)
        >>> npe = train_npe(jax.random.key(1), theta, x, n_steps=10, batch_size=32,
        ...                 flow=MAF(n_layers=1, hidden=(8,))).state
        >>> npe.sample(jax.random.key(2), x[0], 100).shape
        (100, 2)
    """
    check_key(key, "key")
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    check_val_fraction(val_fraction)
    init_key, fit_key = jax.random.split(key)
    opt = flow_optimizer(learning_rate, n_steps, clip_norm=clip_norm, optimizer=optimizer)
    npe = init_npe(init_key, theta, x, flow=flow, optimizer=opt, standardize_x=standardize_x)
    return fit_npe(fit_key, npe, theta, x, n_steps=n_steps, batch_size=batch_size,
                   val_fraction=val_fraction, patience=patience, eval_every=eval_every,
                   progress=progress, **fit_kwargs)


def check_val_fraction(val_fraction) -> float:
    """``val_fraction`` as a float in [0, 1) (a ValueError naming it otherwise)."""
    try:
        value = float(val_fraction)
    except (TypeError, ValueError):
        raise TypeError(f"val_fraction: expected a number in [0, 1), got "
                        f"{type(val_fraction).__name__}") from None
    if not 0.0 <= value < 1.0:
        raise ValueError(f"val_fraction: expected a number in [0, 1), got {val_fraction}")
    return value


def fit_npe(key: jax.Array, npe: NPE, theta, x, *, n_steps: int, batch_size: int = 256,
            val_fraction: float = 0.1, patience: int = 10, eval_every: int | None = None,
            progress: bool = False, **fit_kwargs) -> FitResult:
    """Train an existing :class:`NPE` (its parameters, optimiser state and
    standardisation as they are) on the pairs ``theta``, ``x`` with
    :func:`jaxphys.core.fit`, holding out a random ``val_fraction`` for early stopping
    (see :func:`train_npe`, which calls it on a fresh :func:`init_npe`).

    Example (a real call, ``res = fit_npe(key, npe, theta, x, n_steps=500)``, continues
    training: ``res.state`` is the updated :class:`NPE`, its ``step`` counting on from
    ``npe.step``; it compiles a train step, seconds, so only the hold-out check runs here):
        >>> import jax, optax
        >>> from jaxphys.generative import MAF, fit_npe, init_npe
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> theta, x = simulate_batch(jax.random.key(0), gaussian_linear(dim=2), 100)
        >>> npe = init_npe(jax.random.key(1), theta, x, optimizer=optax.adam(1e-3),
        ...                flow=MAF(n_layers=1, hidden=(8,)))
        >>> fit_npe(jax.random.key(2), npe, theta, x, n_steps=500, val_fraction=0.999)
        Traceback (most recent call last):
        ...
        ValueError: val_fraction: leaves no training simulations out of 100
    """
    check_key(key, "key")
    val_fraction = check_val_fraction(val_fraction)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    split_key, fit_key = jax.random.split(key)
    data = npe.training_data(theta, x)
    n = data["x"].shape[0]
    n_val = int(round(val_fraction * n))
    settings: dict[str, Any] = {}
    if n_val > 0:
        if n - n_val < 1:
            raise ValueError(f"val_fraction: leaves no training simulations out of {n}")
        perm = jax.random.permutation(split_key, n)
        val_idx, tr_idx = perm[:n_val], perm[n_val:]
        settings = dict(val_data=jax.tree.map(lambda a: a[val_idx], data),
                        early_stopping=EarlyStopping(patience=as_int(patience, "patience",
                                                                      minimum=1)),
                        eval_every=eval_every)
        data = jax.tree.map(lambda a: a[tr_idx], data)
    settings = fit_settings(fit_kwargs, n_steps=n_steps, progress=progress, desc="npe",
                            batch_size=min(batch_size, data["x"].shape[0]), **settings)
    return fit(fit_key, npe, data, loss_fn=flow_nll_loss(npe.flow), **settings)
