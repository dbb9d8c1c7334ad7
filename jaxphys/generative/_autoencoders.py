r"""Autoencoders: undercomplete, sparse, denoising, tied, stacked; anomaly scores.

An autoencoder maps ``x → z = f(x) → x̂ = g(z)`` with a bottleneck ``dim z < dim x``
and is trained to minimise the reconstruction error ``‖x - x̂‖²/D``.

* :class:`Autoencoder`: MLP encoder / decoder (``hidden=()`` gives a *linear*
  autoencoder, whose optimum spans the top-k principal subspace, Baldi & Hornik 1989).
* :class:`ConvAutoencoder`: strided convolutions / transposed convolutions for small images.
* :class:`TiedAutoencoder`: the decoder reuses the encoder's weight matrices
  transposed, ``x̂ = W_1ᵀ σ(… W_Lᵀ z + c_L …) + c_1``, with its own biases.
* Sparse: a penalty ``β Σ_j KL(ρ ‖ ρ̂_j)`` on the mean activations
  ``ρ̂_j = mean_batch z_j ∈ (0, 1)`` of a sigmoid code (:func:`sparsity_penalty`).
* Denoising: the encoder sees a corrupted ``x̃`` (:func:`corrupt`: additive Gaussian
  noise or dropout masking) and the loss compares ``g(f(x̃))`` with the clean ``x``.
* Stacked: :func:`pretrain_stacked` trains one shallow autoencoder per layer on the
  codes of the previous one (greedy layer-wise), giving the initial parameters of
  a deep :class:`StackedAutoencoder` that is then fine-tuned end to end.
* Anomalies: :func:`reconstruction_error` per example and :func:`anomaly_threshold`
  at a chosen quantile of the scores of normal (training) data.

Every model is a flax module whose ``apply(variables, x)`` returns ``x̂`` (batched,
``(n, ...)``) and has ``encode`` / ``decode`` methods
(``apply(variables, x, method='encode')``).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from .._checks import as_array, as_int, check_finite, check_in, check_key
from ..core import TrainState, fit
from ..nn import get_activation

__all__ = ["Autoencoder", "ConvAutoencoder", "TiedAutoencoder", "StackedAutoencoder",
           "corrupt", "sparsity_penalty", "autoencoder_loss", "train_autoencoder", "AEFit",
           "pretrain_stacked", "reconstruction_error", "anomaly_threshold", "AnomalyResult",
           "detect_anomalies", "CORRUPTIONS"]

CORRUPTIONS = (None, "gaussian", "dropout")


def _out(h: jax.Array, output: str | None) -> jax.Array:
    if output is None or output == "linear":
        return h
    return get_activation(output)(h)          # 'sigmoid', 'tanh', ... or a callable


def _act(a):
    return (lambda h: h) if a is None else get_activation(a)


class Autoencoder(nn.Module):
    """MLP autoencoder ``x (n, D) → z (n, latent_dim) → x̂ (n, D)``.

    Attributes:
        data_dim: D, the size of an example.
        latent_dim: size of the code.
        hidden: hidden widths of the encoder (the decoder mirrors them); ``()`` and a
            linear code give a linear autoencoder.
        activation: hidden activation (name or callable).
        latent_activation: ``None`` (linear code) or e.g. ``'sigmoid'`` (sparse AE).
        output: ``None`` (linear) or an activation, e.g. ``'sigmoid'`` (data in [0, 1]).

    Example:
        >>> ae = Autoencoder(data_dim=5, latent_dim=2, hidden=(8,))
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 5)))
        >>> ae.apply(v, jnp.ones((3, 5))).shape, ae.apply(v, jnp.ones((3, 5)), method="encode").shape
        ((3, 5), (3, 2))
    """

    data_dim: int
    latent_dim: int
    hidden: Sequence[int] = (64,)
    activation: str | Callable = "relu"
    latent_activation: str | Callable | None = None
    output: str | None = None

    def setup(self):
        self.enc = [nn.Dense(w, name=f"enc{i}") for i, w in enumerate(self.hidden)]
        self.enc_out = nn.Dense(self.latent_dim, name="enc_out")
        self.dec = [nn.Dense(w, name=f"dec{i}") for i, w in enumerate(reversed(self.hidden))]
        self.dec_out = nn.Dense(self.data_dim, name="dec_out")

    def encode(self, x):
        act = _act(self.activation)
        h = x
        for layer in self.enc:
            h = act(layer(h))
        return _act(self.latent_activation)(self.enc_out(h))

    def decode(self, z):
        act = _act(self.activation)
        h = z
        for layer in self.dec:
            h = act(layer(h))
        return _out(self.dec_out(h), self.output)

    def __call__(self, x):
        return self.decode(self.encode(x))


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder for small images ``(n, H, W, C)``, H and W divisible by 4:
    ``Conv(f, 3×3, stride 2) → Conv(2f, stride 2) → Dense(latent)`` and the mirror
    ``Dense → ConvT(f, stride 2) → ConvT(C, stride 2)``.

    Example:
        >>> ae = ConvAutoencoder(image_shape=(8, 8, 1), latent_dim=4, features=4)
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 8, 8, 1)))
        >>> ae.apply(v, jnp.ones((2, 8, 8, 1))).shape
        (2, 8, 8, 1)
    """

    image_shape: Sequence[int]
    latent_dim: int
    features: int = 16
    activation: str | Callable = "relu"
    output: str | None = None

    def setup(self):
        h, w, c = (int(s) for s in self.image_shape)
        if h % 4 or w % 4:
            raise ValueError(f"image_shape: H and W must be divisible by 4, got {(h, w, c)}")
        f = self.features
        self.c1 = nn.Conv(f, (3, 3), strides=(2, 2), padding="SAME")
        self.c2 = nn.Conv(2 * f, (3, 3), strides=(2, 2), padding="SAME")
        self.to_z = nn.Dense(self.latent_dim)
        self.from_z = nn.Dense((h // 4) * (w // 4) * 2 * f)
        self.t1 = nn.ConvTranspose(f, (3, 3), strides=(2, 2), padding="SAME")
        self.t2 = nn.ConvTranspose(c, (3, 3), strides=(2, 2), padding="SAME")

    def encode(self, x):
        if jnp.ndim(x) != 4:
            raise ValueError(f"x: expected images (n, H, W, C), got shape {tuple(jnp.shape(x))}")
        act = _act(self.activation)
        h = act(self.c2(act(self.c1(x))))
        return self.to_z(h.reshape(h.shape[0], -1))

    def decode(self, z):
        act = _act(self.activation)
        h_, w_, _ = (int(s) for s in self.image_shape)
        h = act(self.from_z(z)).reshape(z.shape[0], h_ // 4, w_ // 4, 2 * self.features)
        return _out(self.t2(act(self.t1(h))), self.output)

    def __call__(self, x):
        return self.decode(self.encode(x))


class TiedAutoencoder(nn.Module):
    """MLP autoencoder with tied weights: encoder ``h_l = σ(W_l h_{l-1} + b_l)``
    (last layer linear, or ``latent_activation``), decoder ``h'_{l-1} = σ(W_lᵀ h'_l + c_l)``
    with the *same* matrices ``W_l`` transposed and separate biases ``c_l``
    (half the weights of an untied autoencoder).

    Attributes:
        data_dim, widths (the encoder's output widths, the last is the code size),
        activation, latent_activation, output.

    Example:
        >>> ae = TiedAutoencoder(data_dim=5, widths=(4, 2))
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 5)))
        >>> sorted(v["params"])
        ['W0', 'W1', 'b0', 'b1', 'c0', 'c1']
        >>> ae.apply(v, jnp.ones((3, 5))).shape
        (3, 5)
    """

    data_dim: int
    widths: Sequence[int] = (64, 8)
    activation: str | Callable = "relu"
    latent_activation: str | Callable | None = None
    output: str | None = None

    def setup(self):
        dims = (int(self.data_dim),) + tuple(int(w) for w in self.widths)
        init = nn.initializers.lecun_normal()
        self.Ws = [self.param(f"W{i}", init, (dims[i], dims[i + 1]))
                   for i in range(len(self.widths))]
        self.bs = [self.param(f"b{i}", nn.initializers.zeros, (dims[i + 1],))
                   for i in range(len(self.widths))]
        self.cs = [self.param(f"c{i}", nn.initializers.zeros, (dims[i],))
                   for i in range(len(self.widths))]

    def encode(self, x):
        act = _act(self.activation)
        h = x
        n = len(self.Ws)
        for i in range(n):
            h = h @ self.Ws[i] + self.bs[i][None]
            h = act(h) if i < n - 1 else _act(self.latent_activation)(h)
        return h

    def decode(self, z):
        act = _act(self.activation)
        h = z
        for i in reversed(range(len(self.Ws))):
            h = h @ self.Ws[i].T + self.cs[i][None]
            if i > 0:
                h = act(h)
        return _out(h, self.output)

    def __call__(self, x):
        return self.decode(self.encode(x))


class StackedAutoencoder(nn.Module):
    """Deep MLP autoencoder built from shallow blocks: encoder layers ``enc{i}``
    ``(dims[i] → widths[i])`` and decoder layers ``dec{i}`` ``(widths[i] → dims[i])``,
    applied ``enc0 … enc{L-1}`` then ``dec{L-1} … dec0``. Layer ``i`` with its mirror
    ``dec{i}`` is exactly the shallow autoencoder trained at stage ``i`` of
    :func:`pretrain_stacked`. Every layer but the code and the output uses ``activation``.

    Example:
        >>> ae = StackedAutoencoder(data_dim=6, widths=(4, 2))
        >>> v = ae.init(jax.random.key(0), jnp.zeros((1, 6)))
        >>> ae.apply(v, jnp.ones((3, 6))).shape
        (3, 6)
    """

    data_dim: int
    widths: Sequence[int] = (64, 16)
    activation: str | Callable = "relu"
    output: str | None = None

    def setup(self):
        dims = (int(self.data_dim),) + tuple(int(w) for w in self.widths)
        self.enc = [nn.Dense(dims[i + 1], name=f"enc{i}") for i in range(len(self.widths))]
        self.dec = [nn.Dense(dims[i], name=f"dec{i}") for i in range(len(self.widths))]

    def encode(self, x):
        act = _act(self.activation)
        h = x
        n = len(self.enc)
        for i in range(n):
            h = self.enc[i](h)
            if i < n - 1:
                h = act(h)
        return h

    def decode(self, z):
        act = _act(self.activation)
        h = z
        for i in reversed(range(len(self.dec))):
            h = self.dec[i](h)
            h = act(h) if i > 0 else _out(h, self.output)
        return h

    def __call__(self, x):
        return self.decode(self.encode(x))


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


def sparsity_penalty(codes: jax.Array, target: Any) -> jax.Array:
    r"""``Σ_j KL(ρ ‖ ρ̂_j) = Σ_j ρ log(ρ/ρ̂_j) + (1-ρ) log((1-ρ)/(1-ρ̂_j))`` with
    ``ρ̂_j`` the batch mean of code unit ``j`` (codes in (0, 1), e.g. sigmoid).

    Example:
        >>> abs(float(sparsity_penalty(jnp.full((4, 3), 0.05), 0.05))) < 1e-6
        True
        >>> round(float(sparsity_penalty(jnp.full((4, 1), 0.5), 0.05)), 4)
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
    ``sparsity_weight · sparsity_penalty(f(x̃), sparsity_target)`` when a target is
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
        sp = (sparsity_penalty(z, sparsity_target) if sparsity_target is not None
              else jnp.zeros(()))
        return rec + sparsity_weight * sp, {"reconstruction": rec, "sparsity": sp}

    return loss_fn


class AEFit(NamedTuple):
    """Result of :func:`train_autoencoder`.

    Fields:
      params: the trained variables (``{'params': …}``).
      history: the ``jaxphys.core.fit`` history (``'step'``, ``'loss'``, ``'val_loss'`` …).
    """

    params: Any
    history: dict


def _check_data(x, name="x") -> jax.Array:
    x = as_array(x, name).astype(jnp.float32)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a batch (N, ...) of examples, got shape "
                         f"{tuple(x.shape)}")
    check_finite(x, name)
    return x


def train_autoencoder(key: jax.Array, model: nn.Module, x, *, n_steps: int = 2000,
                      batch_size: int = 128, learning_rate: float = 1e-3,
                      val_x=None, params=None, optimizer=None, progress: bool = False,
                      **loss_kwargs) -> AEFit:
    """Train an autoencoder with Adam on ``x`` ``(N, ...)`` via ``jaxphys.core.fit``.

    Args:
        key: PRNG key (initialisation, batches, corruption).
        model: an autoencoder module (``encode`` / ``decode`` methods).
        x: training data (finite: a ``ValueError`` names ``x`` otherwise).
        val_x: optional validation data (logged as ``val_loss``).
        params: optional initial variables (e.g. from :func:`pretrain_stacked`).
        optimizer: optional optax transformation (default ``optax.adam(learning_rate)``).
        **loss_kwargs: ``corruption``, ``noise_level``, ``sparsity_target``,
            ``sparsity_weight`` of :func:`autoencoder_loss`.

    Example:
        >>> ae = Autoencoder(data_dim=3, latent_dim=1, hidden=())
        >>> res = train_autoencoder(jax.random.key(0), ae, jnp.ones((16, 3)), n_steps=5,
        ...                         batch_size=8)
        >>> len(res.history["loss"]) > 0
        True
    """
    check_key(key)
    x = _check_data(x)
    init_key, fit_key = jax.random.split(key)
    if params is None:
        params = model.init(init_key, x[:1])
    opt = optax.adam(learning_rate) if optimizer is None else optimizer
    state = TrainState.create(params, opt)
    loss_fn = autoencoder_loss(model, **loss_kwargs)
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    val = None if val_x is None else {"x": _check_data(val_x, "val_x")}
    res = fit(fit_key, state, loss_fn, opt, {"x": x}, n_steps=n_steps,
              batch_size=min(int(batch_size), x.shape[0]), val_data=val,
              eval_every=n_steps if val is not None else None,
              progress=progress, chunk_size=min(500, n_steps), desc="autoencoder")
    return AEFit(res.state.params, res.history)


def pretrain_stacked(key: jax.Array, model: StackedAutoencoder, x, *, n_steps: int = 1000,
                     batch_size: int = 128, learning_rate: float = 1e-3) -> Any:
    """Greedy layer-wise pre-training of a :class:`StackedAutoencoder`.

    Stage ``i`` trains the shallow autoencoder ``h_i → enc{i} → dec{i} → ĥ_i`` on the
    codes ``h_i`` of the already-trained layers ``0 … i-1`` (``h_0 = x``), with the
    model's activation on the hidden code (none on the last one) and on the
    reconstruction of an inner code (``model.output`` on the first). Returns the
    variables of the deep model, ready for end-to-end fine-tuning with
    :func:`train_autoencoder` (``params=``).

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
    for i, w in enumerate(widths):
        stage_key = jax.random.fold_in(key, i)
        shallow = Autoencoder(data_dim=int(h.shape[1]), latent_dim=w, hidden=(),
                              latent_activation=model.activation if i < n - 1 else None,
                              output=model.output if i == 0 else model.activation)
        res = train_autoencoder(stage_key, shallow, h, n_steps=n_steps, batch_size=batch_size,
                                learning_rate=learning_rate)
        p = res.params["params"]
        params[f"enc{i}"] = p["enc_out"]
        params[f"dec{i}"] = p["dec_out"]
        h = shallow.apply(res.params, h, method="encode")
    return {"params": params}


def reconstruction_error(apply_fn: Callable, params: Any, x) -> jax.Array:
    """Per-example anomaly score ``s_i = ‖x_i - x̂_i‖²/D`` ``(N,)`` with
    ``x̂ = apply_fn(params, x)``.

    Example:
        >>> reconstruction_error(lambda p, x: 0 * x, None, jnp.ones((2, 4))).tolist()
        [1.0, 1.0]
    """
    x = as_array(x, "x")
    x_hat = apply_fn(params, x)
    return jnp.mean((x_hat - x).reshape(x.shape[0], -1) ** 2, axis=1)


class AnomalyResult(NamedTuple):
    """Flags from :func:`detect_anomalies`.

    Fields:
      scores: float ``(N,)`` reconstruction errors.
      threshold: float scalar.
      is_anomaly: bool ``(N,)``, ``scores > threshold``.
    """

    scores: jax.Array
    threshold: jax.Array
    is_anomaly: jax.Array


def anomaly_threshold(scores, quantile: float = 0.99) -> jax.Array:
    """The ``quantile`` of the scores of normal data: a fraction ``1 - quantile`` of
    normal examples is flagged (the false-positive rate).

    Example:
        >>> float(anomaly_threshold(jnp.arange(101.0), 0.9))
        90.0
    """
    scores = as_array(scores, "scores", ndim=1)
    check_finite(scores, "scores")
    if not 0.0 < float(quantile) < 1.0:
        raise ValueError(f"quantile: expected a value in (0, 1), got {quantile!r}")
    return jnp.quantile(scores, quantile)


def detect_anomalies(apply_fn: Callable, params: Any, x, threshold) -> AnomalyResult:
    """Score ``x`` by reconstruction error and flag scores above ``threshold``.

    Example:
        >>> r = detect_anomalies(lambda p, x: 0 * x, None, jnp.array([[0.1], [3.0]]), 1.0)
        >>> r.is_anomaly.tolist()
        [False, True]
    """
    s = reconstruction_error(apply_fn, params, x)
    thr = jnp.asarray(threshold, s.dtype)
    return AnomalyResult(s, thr, s > thr)

