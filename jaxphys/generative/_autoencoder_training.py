r"""Training autoencoders: reconstruction loss, sparsity, denoising, greedy stacking.

The loss is the reconstruction error ``‖x - x̂‖²/D``, with two regularisers:

* Sparse: a penalty ``β Σ_j KL(ρ ‖ ρ̂_j)`` on the mean activations
  ``ρ̂_j = mean_batch z_j ∈ (0, 1)`` of a sigmoid code (:func:`kl_sparsity_penalty`).
* Denoising: the encoder sees a corrupted ``x̃`` (:func:`corrupt`: additive Gaussian
  noise or dropout masking) and the loss compares ``g(f(x̃))`` with the clean ``x``
  (Vincent et al. 2008, "Extracting and composing robust features with denoising
  autoencoders").

:func:`train_autoencoder` trains any autoencoder with ``jaxphys.core.fit``;
:func:`pretrain_stacked` trains one shallow autoencoder per layer on the codes of the
previous one (greedy layer-wise; Bengio et al. 2007, "Greedy layer-wise training of deep
networks"), giving the initial parameters of a
deep :class:`~jaxphys.generative.StackedAutoencoder` that is then fine-tuned end to end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from .._checks import as_array, as_int, check_finite, check_in, check_key
from ..core import FitResult, TrainState, fit
from ._autoencoders import Autoencoder, StackedAutoencoder
from ._training import check_learning_rate, fit_settings

__all__ = ["corrupt", "kl_sparsity_penalty", "autoencoder_loss", "train_autoencoder",
           "pretrain_stacked", "CORRUPTIONS"]

CORRUPTIONS = (None, "gaussian", "dropout")


def corrupt(key: jax.Array, x: jax.Array, kind: str = "gaussian", level: Any = 0.1) -> jax.Array:
    """Corrupt a batch for denoising: ``'gaussian'``: ``x + level·N(0, 1)``;
    ``'dropout'``: each entry set to 0 with probability ``level`` (no rescaling).
    ``level`` may be traced.

    Example:
        >>> x = jnp.ones((2, 1000))
        >>> round(float(jnp.mean(corrupt(jax.random.key(0), x, "dropout", 0.25))), 1)
        0.8
    """
    if kind == "gaussian":
        return x + level * jax.random.normal(key, x.shape, x.dtype)
    if kind == "dropout":
        keep = jax.random.bernoulli(key, 1.0 - level, x.shape)
        return jnp.where(keep, x, 0.0).astype(x.dtype)
    raise ValueError(f"kind: unknown corruption {kind!r}; expected 'gaussian' or 'dropout'")


def kl_sparsity_penalty(codes: jax.Array, target: Any) -> jax.Array:
    r"""``Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ/ρ̂_j) + (1-ρ) log((1-ρ)/(1-ρ̂_j))`` with
    ``ρ̂_j`` the batch mean of code unit ``j`` (codes in (0, 1), e.g. sigmoid).

    Example:
        >>> abs(float(kl_sparsity_penalty(jnp.full((4, 3), 0.05), 0.05))) < 1e-6
        True
        >>> round(float(kl_sparsity_penalty(jnp.full((4, 1), 0.5), 0.05)), 4)
        0.4946
    """
    rho_hat = jnp.clip(jnp.mean(codes, axis=0), 1e-6, 1 - 1e-6)
    rho = target
    return jnp.sum(rho * jnp.log(rho / rho_hat) + (1 - rho) * jnp.log((1 - rho) / (1 - rho_hat)))


def autoencoder_loss(model: nn.Module, *, corruption: str | None = None,
                     noise_level: Any = 0.1, sparsity_target: Any = None,
                     sparsity_weight: Any = 0.0):
    """``loss_fn(params, batch, key) -> (loss, aux)`` for an autoencoder.

    ``batch = {'x': (B, ...)}``; ``params`` are the model's variables. Loss =
    ``mean_i ‖x_i - g(f(x̃_i))‖²/D`` (``x̃ = x`` without corruption) plus
    ``sparsity_weight · kl_sparsity_penalty(f(x̃), sparsity_target)`` when a target is
    given; ``aux = {'reconstruction': …, 'sparsity': …}``.

    Example:
        >>> ae = Autoencoder(data_dim=3, latent_dim=1, hidden=())
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 3)))
        >>> loss, aux = autoencoder_loss(ae)(v, {"x": jnp.zeros((2, 3))}, jax.random.key(1))
        >>> float(loss)
        0.0
    """
    check_in(corruption, "corruption", CORRUPTIONS)

    def loss_fn(params, batch, key):
        x = batch["x"]
        x_in = x if corruption is None else corrupt(key, x, corruption, noise_level)
        z = model.apply(params, x_in, method="encode")
        x_hat = model.apply(params, z, method="decode")
        rec = jnp.mean((x_hat - x).reshape(x.shape[0], -1) ** 2)
        sp = (kl_sparsity_penalty(z, sparsity_target) if sparsity_target is not None
              else jnp.zeros(()))
        return rec + sparsity_weight * sp, {"reconstruction": rec, "sparsity": sp}

    return loss_fn


def _check_data(x, name="x") -> jax.Array:
    x = as_array(x, name).astype(jnp.float32)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a batch (N, ...) of examples, got shape "
                         f"{tuple(x.shape)}")
    check_finite(x, name)
    return x


def _check_fits(model: nn.Module, params: Any, x: jax.Array, name: str) -> None:
    """``model`` must reconstruct an example of ``x`` in ``x``'s shape (``decode(encode(x))``
    traced abstractly: nothing is compiled); a ``ValueError`` names ``name`` otherwise."""
    def reconstruct(p, xx):
        return model.apply(p, model.apply(p, xx, method="encode"), method="decode")

    try:
        out = jax.eval_shape(reconstruct, params, x[:1])
    except Exception as err:  # a flax or lax shape error, kept as the cause
        raise ValueError(f"{name}: examples of shape {tuple(x.shape[1:])} do not fit the "
                         f"model ({type(err).__name__}: {err})") from err
    if tuple(getattr(out, "shape", ())) != tuple(x[:1].shape):
        raise ValueError(f"{name}: the model maps examples of shape {tuple(x.shape[1:])} to "
                         f"{tuple(getattr(out, 'shape', ())[1:])}; an autoencoder reconstructs "
                         f"its input's shape")


def train_autoencoder(key: jax.Array, model: nn.Module, x, *, n_steps: int = 2000,
                      batch_size: int = 128, learning_rate: float = 1e-3,
                      val_x=None, params=None, optimizer=None, corruption: str | None = None,
                      noise_level: Any = 0.1, sparsity_target: Any = None,
                      sparsity_weight: Any = 0.0, progress: bool = False,
                      **fit_kwargs) -> FitResult:
    """Train an autoencoder on ``x`` ``(N, ...)`` with :func:`autoencoder_loss` and
    :func:`jaxphys.core.fit`.

    Args:
        key: PRNG key (initialisation, batches, corruption).
        model: an autoencoder module (``encode`` / ``decode`` methods).
        x: training data (finite: a ``ValueError`` names ``x`` otherwise).
        n_steps, batch_size: training length and minibatch size (at most N).
        learning_rate: of the default optimiser, ``optax.adam(learning_rate)`` (> 0).
        val_x: optional validation data (logged as ``val_loss``, by default at the end).
        params: optional initial variables (e.g. from :func:`pretrain_stacked`); default
            ``model.init(key, x[:1])``.
        optimizer: optional optax transformation replacing the default Adam.
        corruption, noise_level, sparsity_target, sparsity_weight: of
            :func:`autoencoder_loss` (denoising and sparse autoencoders).
        **fit_kwargs: passed to :func:`jaxphys.core.fit` (``checkpoint_dir``,
            ``eval_every``, ``callback`` ...).

    Returns:
        a :class:`jaxphys.core.FitResult`; the trained variables (``{'params': …}``,
        what ``model.apply`` takes) are ``result.state.params``.

    Example:
        >>> ae = Autoencoder(data_dim=3, latent_dim=1, hidden=())
        >>> res = train_autoencoder(jax.random.key(0), ae, jnp.ones((16, 3)), n_steps=5,
        ...                         batch_size=8)
        >>> ae.apply(res.state.params, jnp.ones((2, 3))).shape, len(res.history["loss"]) > 0
        ((2, 3), True)
    """
    check_key(key)
    x = _check_data(x)
    loss_fn = autoencoder_loss(model, corruption=corruption, noise_level=noise_level,
                               sparsity_target=sparsity_target,
                               sparsity_weight=sparsity_weight)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    opt = optax.adam(check_learning_rate(learning_rate)) if optimizer is None else optimizer
    init_key, fit_key = jax.random.split(key)
    val = None if val_x is None else {"x": _check_data(val_x, "val_x")}
    shapes = params
    if params is None:           # the shapes first (abstract, nothing compiled), then init
        try:
            shapes = jax.eval_shape(model.init, init_key, x[:1])
        except Exception as err:  # a flax or lax shape error, kept as the cause
            raise ValueError(f"x: examples of shape {tuple(x.shape[1:])} do not fit the "
                             f"model ({type(err).__name__}: {err})") from err
    _check_fits(model, shapes, x, "x")
    if val is not None:
        _check_fits(model, shapes, val["x"], "val_x")
    if params is None:
        params = model.init(init_key, x[:1])
    state = TrainState.create(params, opt)
    settings = fit_settings(fit_kwargs, n_steps=n_steps, val_data=val,
                            batch_size=min(batch_size, x.shape[0]),
                            eval_every=n_steps if val is not None else None,
                            progress=progress, chunk_size=min(500, n_steps), desc="autoencoder")
    return fit(fit_key, state, {"x": x}, loss_fn=loss_fn, **settings)


def pretrain_stacked(key: jax.Array, model: StackedAutoencoder, x, *, n_steps: int = 1000,
                     batch_size: int = 128, learning_rate: float = 1e-3, optimizer=None,
                     **fit_kwargs) -> Any:
    """Greedy layer-wise pre-training of a :class:`StackedAutoencoder` (Bengio et al. 2007,
    "Greedy layer-wise training of deep networks").

    Stage ``i`` trains the shallow autoencoder ``h_i → enc{i} → dec{i} → ĥ_i`` on the
    codes ``h_i`` of the already-trained layers ``0 … i-1`` (``h_0 = x``) with
    :func:`train_autoencoder`, with the model's activation on the hidden code (none on
    the last one) and on the reconstruction of an inner code (``model.output`` on the
    first). Returns the variables of the deep model, ready for end-to-end fine-tuning
    with :func:`train_autoencoder` (``params=``).

    Args:
        optimizer: optional optax transformation for every stage (default
            ``optax.adam(learning_rate)``).
        **fit_kwargs: passed to each stage's :func:`jaxphys.core.fit`; a
            ``checkpoint_dir`` gets one sub-folder per stage (``stage0``, ``stage1`` …).

    Example:
        >>> sae = StackedAutoencoder(data_dim=4, widths=(3, 2))
        >>> v = pretrain_stacked(jax.random.key(0), sae, jnp.ones((8, 4)), n_steps=2, batch_size=4)
        >>> sae.apply(v, jnp.ones((2, 4))).shape
        (2, 4)
    """
    check_key(key)
    x = _check_data(x)
    widths = tuple(int(w) for w in model.widths)
    params: dict[str, Any] = {}
    h = x.reshape(x.shape[0], -1)
    n = len(widths)
    checkpoint_dir = fit_kwargs.pop("checkpoint_dir", None)
    for i, w in enumerate(widths):
        stage_key = jax.random.fold_in(key, i)
        shallow = Autoencoder(data_dim=int(h.shape[1]), latent_dim=w, hidden=(),
                              latent_activation=model.activation if i < n - 1 else None,
                              output=model.output if i == 0 else model.activation)
        stage_kwargs = dict(fit_kwargs)
        if checkpoint_dir is not None:
            stage_kwargs["checkpoint_dir"] = Path(checkpoint_dir) / f"stage{i}"
        res = train_autoencoder(stage_key, shallow, h, n_steps=n_steps, batch_size=batch_size,
                                learning_rate=learning_rate, optimizer=optimizer,
                                **stage_kwargs)
        p = res.state.params["params"]
        params[f"enc{i}"] = p["enc_out"]
        params[f"dec{i}"] = p["dec_out"]
        h = shallow.apply(res.state.params, h, method="encode")
    return {"params": params}
