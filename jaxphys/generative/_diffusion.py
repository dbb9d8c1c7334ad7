r"""Denoising diffusion: DDPM training, ancestral and DDIM samplers, classifier-free guidance.

A denoiser ``ε_θ(x_t, t, y)`` is trained to predict the noise that made
``x_t = sqrt(ᾱ_t) x_0 + sqrt(1-ᾱ_t) ε`` (Ho et al. 2020):

.. math:: L(θ) = E_{x_0, t \sim U\{0..T-1\}, ε}\,\tfrac{1}{D}\,\|ε - ε_θ(x_t, t, y)\|^2 .

Samplers run the reverse chain from ``x_T ~ N(0, I)``:

* ancestral (DDPM): ``x_{t-1} = (x_t - β_t/sqrt(1-ᾱ_t) ε_θ)/sqrt(α_t) + sqrt(β̃_t) z``;
* DDIM (Song et al. 2021) on a sub-sequence of ``S ≤ T`` steps:
  ``x̂_0 = (x_t - sqrt(1-ᾱ_t) ε_θ)/sqrt(ᾱ_t)``,
  ``x_{t'} = sqrt(ᾱ_{t'}) x̂_0 + sqrt(1-ᾱ_{t'}-σ²) ε_θ + σ z`` with
  ``σ = η sqrt((1-ᾱ_{t'})/(1-ᾱ_t)) sqrt(1-ᾱ_t/ᾱ_{t'})`` (η = 0: deterministic).

Classifier-free guidance (Ho & Salimans 2022): the class label is replaced by a
*null* label with probability ``cond_drop`` during training, so one network learns
both ``ε(x, t, y)`` and ``ε(x, t, ∅)``; sampling uses
``ε̃ = (1 + w) ε(x, t, y) - w ε(x, t, ∅)`` with guidance weight ``w ≥ 0``.

Denoisers here are flax modules called as ``apply(variables, x, t, y)`` with
``x`` batched ``(n, ...)``, ``t`` int ``(n,)`` and ``y`` int ``(n,)`` or ``None``:
:class:`TimeMLP` for low-dimensional data and :class:`DiffusionUNet` (a
``jaxphys.nn.UNet`` with the time and class embeddings fed as extra channels)
for small images.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, as_int, check_finite, check_key, check_range
from ..core import FitResult, TrainState, fit
from ._schedules import NoiseSchedule
from ._training import cosine_adam, fit_settings, with_clipping

__all__ = ["ddpm_loss", "ddpm_sample", "ddim_sample", "train_diffusion", "diffusion_optimizer",
           "init_diffusion", "q_sample"]


def _expand(a: jax.Array, x: jax.Array) -> jax.Array:
    """(n,) coefficients reshaped to broadcast against ``x`` (n, ...)."""
    return a.reshape(a.shape + (1,) * (x.ndim - 1))


def q_sample(schedule: NoiseSchedule, x0: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    """``x_t = sqrt(ᾱ_t) x_0 + sqrt(1-ᾱ_t) ε`` for a batch; ``t`` int ``(n,)``.

    Example:
        >>> from jaxphys.generative import linear_schedule
        >>> s = linear_schedule(10, 0.1, 0.1)
        >>> round(float(q_sample(s, jnp.ones((1, 1)), jnp.array([0]), jnp.zeros((1, 1)))[0, 0]), 4)
        0.9487
    """
    ab = schedule.alpha_bars[t]
    return _expand(jnp.sqrt(ab), x0) * x0 + _expand(jnp.sqrt(1.0 - ab), x0) * eps


def ddpm_loss(model: nn.Module, schedule: NoiseSchedule, *, cond_drop: float = 0.0):
    """The ε-prediction loss as ``loss_fn(params, batch, key) -> (loss, aux)``.

    ``batch = {'x': (B, ...)}`` and, for a class-conditional model, ``'y': (B,)`` int
    labels; ``params`` are the model's variables. Each example draws ``t`` uniformly
    from ``0 … T-1``; with probability ``cond_drop`` its label is replaced by the null
    label ``model.n_classes`` (classifier-free guidance training). ``aux`` is empty.

    Example:
        >>> from jaxphys.generative import TimeMLP, linear_schedule
        >>> net = TimeMLP(widths=(8,))
        >>> v = net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros(1, jnp.int32))
        >>> loss_fn = ddpm_loss(net, linear_schedule(100))
        >>> loss, aux = loss_fn(v, {"x": jnp.ones((4, 2))}, jax.random.key(1))
        >>> loss.shape
        ()
    """
    n_steps = schedule.n_steps
    if not 0.0 <= float(cond_drop) < 1.0:
        raise ValueError(f"cond_drop: expected a probability in [0, 1), got {cond_drop!r}")

    def loss_fn(params, batch, key):
        x0 = batch["x"]
        t_key, eps_key, drop_key = jax.random.split(key, 3)
        b = x0.shape[0]
        t = jax.random.randint(t_key, (b,), 0, n_steps)
        eps = jax.random.normal(eps_key, x0.shape, x0.dtype)
        xt = q_sample(schedule, x0, t, eps)
        y = batch.get("y")
        if y is not None and cond_drop > 0:
            drop = jax.random.bernoulli(drop_key, cond_drop, (b,))
            y = jnp.where(drop, model.n_classes, y)
        pred = model.apply(params, xt, t, y)
        return jnp.mean((pred - eps) ** 2), {}

    return loss_fn


def _guided_eps(model, params, x, t, labels, guidance):
    if labels is None:
        return model.apply(params, x, t, None)
    n = x.shape[0]
    null = jnp.full((n,), model.n_classes, jnp.int32)
    both = model.apply(params, jnp.concatenate([x, x]), jnp.concatenate([t, t]),
                       jnp.concatenate([labels, null]))
    cond, uncond = both[:n], both[n:]
    return (1.0 + guidance) * cond - guidance * uncond


def _clipped_eps(x, eps, ab, x0_range):
    """With ``x0_range = (low, high)``: the prediction ``x̂₀ = (x - sqrt(1-ᾱ) ε̂)/sqrt(ᾱ)``
    clipped into the data's range and ``ε̂`` made consistent with it; else ``ε̂``."""
    if x0_range is None:
        return eps
    x0 = jnp.clip((x - jnp.sqrt(1.0 - ab) * eps) / jnp.sqrt(ab), x0_range[0], x0_range[1])
    return (x - jnp.sqrt(ab) * x0) / jnp.sqrt(1.0 - ab)


@partial(jax.jit, static_argnames=("model", "shape", "conditional", "x0_range"))
def _ancestral(key, model, params, schedule, shape, labels, guidance, conditional,
               x0_range=None):
    init_key, loop_key = jax.random.split(key)
    x = jax.random.normal(init_key, shape)
    n_steps = schedule.betas.shape[0]
    labels = labels if conditional else None

    def body(carry, t):
        x, k = carry
        k, z_key = jax.random.split(k)
        tt = jnp.full((shape[0],), t, jnp.int32)
        eps = _guided_eps(model, params, x, tt, labels, guidance)
        beta, alpha, ab = schedule.betas[t], schedule.alphas[t], schedule.alpha_bars[t]
        eps = _clipped_eps(x, eps, ab, x0_range)
        mean = (x - beta / jnp.sqrt(1.0 - ab) * eps) / jnp.sqrt(alpha)
        z = jax.random.normal(z_key, shape)
        x = mean + jnp.sqrt(schedule.posterior_variance[t]) * z
        return (x, k), None

    (x, _), _ = jax.lax.scan(body, (x, loop_key), jnp.arange(n_steps - 1, -1, -1))
    return x


@partial(jax.jit, static_argnames=("model", "shape", "conditional", "x0_range"))
def _ddim(key, model, params, schedule, shape, taus, labels, guidance, eta, conditional,
          x0_range=None):
    init_key, loop_key = jax.random.split(key)
    x = jax.random.normal(init_key, shape)
    labels = labels if conditional else None
    prev = jnp.concatenate([jnp.array([-1], jnp.int32), taus[:-1]])

    def body(carry, ts):
        x, k = carry
        t, t_prev = ts
        k, z_key = jax.random.split(k)
        tt = jnp.full((shape[0],), t, jnp.int32)
        eps = _guided_eps(model, params, x, tt, labels, guidance)
        ab = schedule.alpha_bars[t]
        ab_prev = jnp.where(t_prev >= 0, schedule.alpha_bars[jnp.maximum(t_prev, 0)], 1.0)
        eps = _clipped_eps(x, eps, ab, x0_range)
        x0 = (x - jnp.sqrt(1.0 - ab) * eps) / jnp.sqrt(ab)
        sigma = eta * jnp.sqrt((1.0 - ab_prev) / (1.0 - ab)) * jnp.sqrt(1.0 - ab / ab_prev)
        direction = jnp.sqrt(jnp.maximum(1.0 - ab_prev - sigma ** 2, 0.0)) * eps
        z = jax.random.normal(z_key, shape)
        x = jnp.sqrt(ab_prev) * x0 + direction + sigma * z
        return (x, k), None

    (x, _), _ = jax.lax.scan(body, (x, loop_key), (taus[::-1], prev[::-1]))
    return x


def _sampler_args(key, n, sample_shape, labels, guidance):
    check_key(key)
    n = as_int(n, "n", minimum=1)
    shape = (n,) + tuple(int(s) for s in sample_shape)
    if labels is not None:
        labels = as_array(labels, "labels", ndim=1).astype(jnp.int32)
        if labels.shape[0] != n:
            raise ValueError(f"labels: expected shape ({n},), got {tuple(labels.shape)}")
    guidance = as_array(guidance, "guidance", ndim=0).astype(jnp.float32)
    check_finite(guidance, "guidance")
    dummy = labels if labels is not None else jnp.zeros((n,), jnp.int32)
    return shape, dummy, guidance, labels is not None


def _x0_range(x0_range):
    if x0_range is None:
        return None
    try:
        low, high = (float(v) for v in x0_range)
    except (TypeError, ValueError):
        raise ValueError(f"x0_range: expected None or a pair (low, high) of numbers, got "
                         f"{x0_range!r}") from None
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"x0_range: expected finite low < high, got {x0_range!r}")
    return (low, high)


def ddpm_sample(key: jax.Array, model: nn.Module, params: Any, schedule: NoiseSchedule,
                n: int, sample_shape: Sequence[int], *, labels=None,
                guidance: float = 0.0, x0_range=None) -> jax.Array:
    """Ancestral DDPM sampling: ``T`` reverse steps from ``x_T ~ N(0, I)``.

    With ``x0_range = (low, high)``, the data's range, every step clips the denoiser's
    implied prediction ``x̂₀ = (x_t - sqrt(1-ᾱ_t) ε̂)/sqrt(ᾱ_t)`` into it and uses the
    ``ε̂`` consistent with the clipped ``x̂₀`` (Ho et al. 2020's sampler clips to [-1, 1];
    "static thresholding" in Saharia et al. 2022). Large guidance weights push ``x̂₀``
    outside the data's range; clipping keeps samples in it.

    Args:
        key: PRNG key.
        model, params: the denoiser and its variables.
        schedule: the training :class:`NoiseSchedule`.
        n: number of samples; sample_shape: shape of one sample, e.g. ``(2,)`` or ``(8, 8, 1)``.
        labels: optional int ``(n,)`` class labels for a conditional model.
        guidance: classifier-free guidance weight ``w`` (traced; 0 = plain conditional).
        x0_range: None (no clipping) or ``(low, high)`` with ``low < high``.

    Returns:
        samples ``(n, *sample_shape)`` float32. Compiled once per (model, shape).

    Example:
        >>> from jaxphys.generative import TimeMLP, linear_schedule
        >>> net = TimeMLP(widths=(8,))
        >>> v = net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros(1, jnp.int32))
        >>> ddpm_sample(jax.random.key(1), net, v, linear_schedule(20), 5, (2,)).shape
        (5, 2)
    """
    shape, lab, w, cond = _sampler_args(key, n, sample_shape, labels, guidance)
    return _ancestral(key, model, params, schedule, shape, lab, w, cond, _x0_range(x0_range))


def ddim_sample(key: jax.Array, model: nn.Module, params: Any, schedule: NoiseSchedule,
                n: int, sample_shape: Sequence[int], *, n_steps: int = 50, eta: float = 0.0,
                labels=None, guidance: float = 0.0, x0_range=None) -> jax.Array:
    """DDIM sampling with ``n_steps ≤ T`` time steps ``τ_i = floor(i T / n_steps)`` (``eta = 0``:
    deterministic given ``x_T``; ``eta = 1``: DDPM-like noise). Other arguments as
    :func:`ddpm_sample`.

    Example:
        >>> from jaxphys.generative import TimeMLP, linear_schedule
        >>> net = TimeMLP(widths=(8,))
        >>> v = net.init(jax.random.key(0), jnp.zeros((1, 2)), jnp.zeros(1, jnp.int32))
        >>> ddim_sample(jax.random.key(1), net, v, linear_schedule(100), 3, (2,), n_steps=10).shape
        (3, 2)
    """
    shape, lab, w, cond = _sampler_args(key, n, sample_shape, labels, guidance)
    s = as_int(n_steps, "n_steps", minimum=1)
    if s > schedule.n_steps:
        raise ValueError(f"n_steps: expected at most the schedule's T = {schedule.n_steps}, "
                         f"got {s}")
    # evenly spaced from 0 with stride T/S (Song et al.'s uniform spacing): the chain
    # starts at τ_{S-1} = floor((S-1)·T/S) rather than T-1, where ᾱ may be ~0 (cosine)
    # and x̂_0 = (x - sqrt(1-ᾱ) ε)/sqrt(ᾱ) would amplify the error of ε by 1/sqrt(ᾱ).
    taus = np.unique((np.arange(s) * schedule.n_steps) // s).astype(np.int32)
    eta_arr = as_array(eta, "eta", ndim=0).astype(jnp.float32)
    check_range(eta_arr, "eta", low=0.0)
    return _ddim(key, model, params, schedule, shape, jnp.asarray(taus), lab, w, eta_arr,
                 cond, _x0_range(x0_range))


def diffusion_optimizer(learning_rate: float = 1e-3, n_steps: int = 5000, *,
                        clip_norm: float | None = 1.0, optimizer=None):
    """The optimiser :func:`train_diffusion` uses: ``optimizer`` (default Adam with a
    learning rate cosine-decayed from ``learning_rate`` to 5 % of it over ``n_steps``)
    behind ``optax.clip_by_global_norm(clip_norm)`` unless ``clip_norm`` is None.

    Example:
        >>> import optax
        >>> isinstance(diffusion_optimizer(1e-3, 100), optax.GradientTransformation)
        True
    """
    base = cosine_adam(learning_rate, n_steps, 0.05) if optimizer is None else optimizer
    return with_clipping(base, clip_norm)


def _diffusion_data(model: nn.Module, x, y) -> dict:
    x = as_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x: expected a batch (N, ...) of samples, got shape {tuple(x.shape)}")
    check_finite(x, "x")
    data = {"x": x.astype(jnp.float32)}
    if y is not None:
        y = as_array(y, "y", ndim=1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y: expected shape ({x.shape[0]},), got {tuple(y.shape)}")
        n_classes = getattr(model, "n_classes", None)
        if n_classes is None:
            raise ValueError("y: labels given but the model has n_classes=None")
        if not np.all(np.asarray(y) == np.round(np.asarray(y))):
            raise ValueError("y: expected integer class labels")
        y = y.astype(jnp.int32)
        if int(jnp.min(y)) < 0 or int(jnp.max(y)) >= int(n_classes):
            raise ValueError(f"y: class labels must lie in [0, n_classes) = [0, {n_classes}), "
                             f"got values from {int(jnp.min(y))} to {int(jnp.max(y))}")
        data["y"] = y
    return data


def init_diffusion(key: jax.Array, model: nn.Module, example_x, example_y=None):
    """The denoiser's variables for samples shaped like ``example_x`` ``(n, ...)`` (and,
    for a class-conditional model, labels like ``example_y`` ``(n,)``); the init is
    compiled (an eager flax init dispatches every small op on its own).

    Example:
        >>> from jaxphys.generative import TimeMLP
        >>> v = init_diffusion(jax.random.key(0), TimeMLP(widths=(8,)), jnp.zeros((1, 2)))
        >>> sorted(v)
        ['params']
    """
    check_key(key)
    x = jnp.asarray(example_x)[:1]
    y = None if example_y is None else jnp.asarray(example_y, jnp.int32)[:1]
    return jax.jit(model.init)(key, x, jnp.zeros((1,), jnp.int32), y)


def train_diffusion(key: jax.Array, model: nn.Module, schedule: NoiseSchedule, x, y=None, *,
                    n_steps: int = 5000, batch_size: int = 256, learning_rate: float = 1e-3,
                    cond_drop: float = 0.1, clip_norm: float | None = 1.0, optimizer=None,
                    params=None, progress: bool = False, **fit_kwargs) -> FitResult:
    """Train a denoiser with the ε-prediction loss (:func:`ddpm_loss`) using
    :func:`jaxphys.core.fit`, with :func:`diffusion_optimizer` (default Adam with cosine
    decay, behind a gradient-norm clipping stage at ``clip_norm``).

    Args:
        key: PRNG key (initialisation, minibatches, times and noise).
        model: the denoiser (:class:`TimeMLP`, :class:`DiffusionUNet` or any module
            called as ``apply(variables, x, t, y)``).
        schedule: the :class:`NoiseSchedule`.
        x: training data ``(N, ...)`` (finite; a ``ValueError`` names ``x`` otherwise).
        y: optional int labels ``(N,)`` in ``[0, n_classes)`` for a class-conditional
            model (labels dropped with probability ``cond_drop`` for classifier-free
            guidance).
        n_steps, batch_size: training length and minibatch size (at most N).
        learning_rate: the default optimiser's initial learning rate (> 0).
        clip_norm: global-norm clipping stage in front of the optimiser (None: none).
        optimizer: optional optax transformation replacing the default Adam.
        params: optional initial variables (default :func:`init_diffusion`).
        **fit_kwargs: passed to :func:`jaxphys.core.fit` (``checkpoint_dir``, ...).

    Returns:
        a :class:`jaxphys.core.FitResult`; the trained variables are
        ``result.state.params``.

    Example:
        >>> from jaxphys.generative import TimeMLP, linear_schedule
        >>> res = train_diffusion(jax.random.key(0), TimeMLP(widths=(8,)), linear_schedule(10),
        ...                       jnp.ones((32, 2)), n_steps=3, batch_size=8)
        >>> len(res.history["loss"]) > 0
        True
    """
    check_key(key)
    data = _diffusion_data(model, x, y)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    opt = diffusion_optimizer(learning_rate, n_steps, clip_norm=clip_norm, optimizer=optimizer)
    loss_fn = ddpm_loss(model, schedule, cond_drop=cond_drop if y is not None else 0.0)
    init_key, fit_key = jax.random.split(key)
    if params is None:
        params = init_diffusion(init_key, model, data["x"], data.get("y"))
    state = TrainState.create(params, opt)
    settings = fit_settings(fit_kwargs, n_steps=n_steps, progress=progress,
                            batch_size=min(batch_size, data["x"].shape[0]),
                            chunk_size=min(500, n_steps), desc="diffusion")
    return fit(fit_key, state, data, loss_fn=loss_fn, **settings)
