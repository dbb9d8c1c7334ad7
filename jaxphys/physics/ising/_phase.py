"""Learning the Ising phase transition from raw spins (Carrasquilla and Melko, 2017).

A classifier (a dense network or a CNN from ``jaxphys.nn``) is trained to tell
ordered (``T < T_c``) from disordered (``T > T_c``) configurations. Its mean output
``P(ordered | T)`` falls from 1 to 0 across the transition; the temperature where
it crosses 1/2 estimates ``T_c(L)`` (``_finite_size.py`` has the crossing, its
bootstrap error and the extrapolation ``T_c(L) = T_c + a L^{-1/ν}``).

Why a hidden layer is needed: ``H`` is invariant under ``s → -s`` (Z₂), so ordered
configurations come with ``m > 0`` and ``m < 0`` equally. A linear function of
the spins (logistic regression on raw spins) is odd under the flip up to its bias
and cannot separate the phases (accuracy ≈ 1/2), while logistic regression on the
Z₂-invariant feature ``|m|`` succeeds (the tour's Ising chapter shows both).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys import _checks
from ._onsager import T_CRITICAL

__all__ = ["PhaseClassifier", "PhaseCurve", "phase_model", "train_phase_classifier",
           "predict_ordered", "phase_curve", "accuracy_away_from_tc"]

MODELS = ("dense", "cnn")


class PhaseClassifier(NamedTuple):
    """A trained phase classifier.

    Fields:
      kind: ``"dense"`` or ``"cnn"``: the input layout (flattened spins or ``(L, L, 1)``).
      module: the network, a flax module (applied to ``{"params": params}``) or a
        ``jaxphys.core.Model`` (applied to ``params``); its output is one logit of
        "ordered" per configuration.
      params: its trained parameters.
      L: the lattice size it was trained on.
      result: the :class:`jaxphys.core.FitResult` of the training (final state, history
        with ``'step'``, ``'loss'``, ``'accuracy'`` ...).

    :func:`train_phase_classifier` returns a trained one; by hand, a model on the
    Z₂-invariant ``|m|``, logit ``10 (|m| - 1/2)`` (no training):

    >>> from jaxphys.core import Model
    >>> by_m = Model(init=lambda key, x: {"a": 10.0},
    ...              apply=lambda p, x: p["a"] * (jnp.abs(x.mean(axis=-1)) - 0.5))
    >>> clf = PhaseClassifier("dense", by_m, {"a": 10.0}, L=4, result=None)
    >>> up = jnp.ones((4, 4), jnp.int8)
    >>> p = predict_ordered(clf, jnp.stack([up, -up]))  # |m| = 1: σ(5) for both signs
    >>> [round(float(v), 4) for v in p]
    [0.9933, 0.9933]
    """

    kind: str
    module: Any
    params: Any
    L: int
    result: Any


class PhaseCurve(NamedTuple):
    """Mean classifier output per temperature.

    Fields:
      temperature: ``(n_T,)`` sorted distinct temperatures.
      p_ordered: ``(n_T,)`` mean ``P(ordered)`` over the configurations at each temperature.
      error: ``(n_T,)`` standard error of that mean.

    :func:`phase_curve` returns one; a curve by hand, and where it crosses 1/2:

    >>> from jaxphys.physics.ising import crossing_temperature
    >>> curve = PhaseCurve(jnp.array([2.0, 2.2, 2.4]), jnp.array([0.9, 0.6, 0.2]), jnp.zeros(3))
    >>> round(crossing_temperature(curve.temperature, curve.p_ordered), 4)  # 2.2 + 0.1·0.2/0.4
    2.25
    """

    temperature: jax.Array
    p_ordered: jax.Array
    error: jax.Array


def phase_model(kind: str = "dense", hidden: int = 64):
    """The classifier module: ``"dense"`` — ``MLP((hidden, 1))`` with ReLU on flattened
    spins; ``"cnn"`` — ``CNN(features=(8,), dense=(hidden,), n_classes=1)`` (3×3 conv,
    2×2 max-pool; ``L`` even) on ``(L, L, 1)`` spins. Both output one logit of "ordered".

    >>> type(phase_model("cnn")).__name__
    'CNN'
    """
    _checks.check_in(kind, "kind", MODELS)
    hidden = _checks.as_int(hidden, "hidden", minimum=1)
    from jaxphys.nn import CNN, MLP

    if kind == "dense":
        return MLP(widths=(hidden, 1), activation="relu")
    return CNN(features=(8,), n_classes=1, dense=(hidden,), activation="relu")


def _inputs(kind: str, spins: jax.Array) -> jax.Array:
    x = spins.astype(jnp.float32)
    if kind == "dense":
        return x.reshape(x.shape[0], -1)
    return x[..., None]


def _check_spins(spins: Any, name: str = "spins") -> jax.Array:
    s = _checks.as_array(spins, name, ndim=3)
    if s.shape[1] != s.shape[2]:
        raise ValueError(f"{name}: expected (n, L, L) square lattices, got shape {s.shape}")
    return s


def _logits(module: Any, params: Any, x: jax.Array) -> jax.Array:
    """``(n,)`` logits of a flax module (``{"params": params}``) or a core Model."""
    out = (module.apply({"params": params}, x) if isinstance(module, nn.Module)
           else module.apply(params, x))
    return out.reshape(x.shape[0])


def train_phase_classifier(key: jax.Array, spins: Any, label: Any, *, kind: str = "dense",
                           hidden: int = 64, n_steps: int = 600, batch_size: int = 128,
                           learning_rate: float = 1e-3, l2: float = 1e-4, optimizer: Any = None,
                           model: Any = None, **fit_kwargs: Any) -> PhaseClassifier:
    """Train a dense network or CNN on labelled configurations (binary cross-entropy, Adam).

    Args:
      key: PRNG key (initialisation and minibatches).
      spins: ``(n, L, L)`` spins ±1 (e.g. ``IsingConfigurations.spins``).
      label: ``(n,)`` 1 ordered, 0 disordered.
      kind: ``"dense"`` or ``"cnn"``; hidden: hidden width (see :func:`phase_model`).
      n_steps, batch_size, learning_rate: Adam training by :func:`jaxphys.core.fit`
        (``batch_size`` at most ``n``: a larger one trains on the full batch).
      l2: weight decay added to the loss, ``l2/2 · ‖θ‖²``.
      optimizer: an optax transformation instead of ``optax.adam(learning_rate)``.
      model: the network instead of :func:`phase_model` (``hidden`` is then unused): a
        flax module or ``jaxphys.core.Model`` (stateless) taking the ``kind`` layout,
        ``(n, L²)`` or ``(n, L, L, 1)``, to ``(n,)`` or ``(n, 1)`` logits.
      **fit_kwargs: passed to :func:`jaxphys.core.fit` (``progress`` defaults to False,
        ``chunk_size`` to ``min(n_steps, 300)``; ``val_data`` is ``{"x", "y"}`` in the
        ``kind`` layout).

    Returns:
      :class:`PhaseClassifier` (its ``result`` the ``FitResult``).

    Raises:
      ValueError: for a bad ``kind``, ``spins`` rank or mismatched ``label`` length, or a
        model that does not give one logit per configuration.

    Not run here (sampling and training take seconds; ``tests/test_physics_ising.py``
    trains one):

    >>> from jaxphys.physics.ising import ising_configurations
    >>> data = ising_configurations(jax.random.key(0), 8, jnp.array([1.5, 3.5]),
    ...                             64)                       # doctest: +SKIP
    >>> clf = train_phase_classifier(jax.random.key(1), data.spins, data.label,
    ...                              n_steps=200)             # doctest: +SKIP
    >>> clf.kind, clf.L, predict_ordered(clf, data.spins).shape   # doctest: +SKIP
    ('dense', 8, (128,))
    """
    import optax

    from jaxphys.core import TrainState, as_model, fit, resolve_optimizer, split_variables
    from jaxphys.losses import binary_cross_entropy

    _checks.check_key(key)
    _checks.check_in(kind, "kind", MODELS)
    s = _check_spins(spins)
    y = _checks.as_array(label, "label", ndim=1).astype(jnp.float32)
    _checks.check_same_length("spins", s, "label", y)
    n_steps = _checks.as_int(n_steps, "n_steps", minimum=1)
    batch_size = _checks.as_int(batch_size, "batch_size", minimum=1)
    _checks.check_range(learning_rate, "learning_rate", low=0.0, low_open=True)
    for name in ("loss_fn", "step", "n_epochs"):
        if name in fit_kwargs:
            raise TypeError(f"{name}: train_phase_classifier sets it (the length is n_steps)")
    optimizer = (optax.adam(learning_rate) if optimizer is None
                 else resolve_optimizer(optimizer, "optimizer"))
    module = phase_model(kind, hidden) if model is None else model
    x = _inputs(kind, s)
    init_key, fit_key = jax.random.split(key)
    if isinstance(module, nn.Module):
        variables = jax.jit(module.init)(init_key, x[:1])
        params, model_state = split_variables(variables)
        if model_state:
            raise ValueError(f"model: expected a stateless network, its variables hold "
                             f"{sorted(model_state)} beside 'params'")
    else:
        module = as_model(module)
        params = module.init(init_key, x[:1])
    out = jax.eval_shape(lambda p: (module.apply({"params": p}, x[:2])
                                    if isinstance(module, nn.Module)
                                    else module.apply(p, x[:2])), params)
    if out.shape not in ((min(2, x.shape[0]),), (min(2, x.shape[0]), 1)):
        raise ValueError(f"model: expected one logit per configuration, shape (n,) or (n, 1), "
                         f"got {out.shape} for {min(2, x.shape[0])} configurations")
    l2 = jnp.asarray(l2, jnp.float32)

    def loss_fn(p, batch, k):
        del k
        logits = _logits(module, p, batch["x"])
        bce = jnp.mean(jax.vmap(binary_cross_entropy)(logits, batch["y"]))
        reg = 0.5 * l2 * sum(jnp.sum(w ** 2) for w in jax.tree.leaves(p))
        acc = jnp.mean((logits > 0) == (batch["y"] > 0.5))
        return bce + reg, {"accuracy": acc}

    options = {"progress": False, "chunk_size": min(n_steps, 300), **fit_kwargs}
    res = fit(fit_key, TrainState.create(params, optimizer), {"x": x, "y": y}, loss_fn=loss_fn,
              n_steps=n_steps, batch_size=min(batch_size, x.shape[0]), **options)
    return PhaseClassifier(kind, module, res.state.params, int(s.shape[1]), res)


def predict_ordered(clf: PhaseClassifier, spins: Any) -> jax.Array:
    """``(n,)`` probability ``P(ordered)`` of each configuration ``(n, L, L)``.

    With a hand-made classifier on ``|m|`` (logit ``10 (|m| - 1/2)``, no training):

    >>> from jaxphys.core import Model
    >>> by_m = Model(init=lambda key, x: {"a": 10.0},
    ...              apply=lambda p, x: p["a"] * (jnp.abs(x.mean(axis=-1)) - 0.5))
    >>> clf = PhaseClassifier("dense", by_m, {"a": 10.0}, L=4, result=None)
    >>> up = jnp.ones((4, 4), jnp.int8)
    >>> stripes = up.at[::2].set(-1)                     # m = 0
    >>> p = predict_ordered(clf, jnp.stack([up, -up, stripes]))
    >>> [round(float(v), 4) for v in p]                  # σ(5), σ(5), σ(-5)
    [0.9933, 0.9933, 0.0067]
    """
    s = _check_spins(spins)
    if s.shape[1] != clf.L:
        raise ValueError(f"spins: the classifier was trained on L = {clf.L}, got L = "
                         f"{s.shape[1]}")
    logits = jax.jit(_logits, static_argnums=0)(clf.module, clf.params, _inputs(clf.kind, s))
    return jax.nn.sigmoid(logits)


def phase_curve(clf: PhaseClassifier, spins: Any, temperature: Any) -> PhaseCurve:
    """Mean ``P(ordered)`` at each distinct temperature of a labelled test set.

    With a hand-made classifier on ``|m|`` (logit ``10 (|m| - 1/2)``, no training):

    >>> from jaxphys.core import Model
    >>> by_m = Model(init=lambda key, x: {"a": 10.0},
    ...              apply=lambda p, x: p["a"] * (jnp.abs(x.mean(axis=-1)) - 0.5))
    >>> clf = PhaseClassifier("dense", by_m, {"a": 10.0}, L=4, result=None)
    >>> up = jnp.ones((4, 4), jnp.int8)
    >>> stripes = up.at[::2].set(-1)                     # m = 0
    >>> curve = phase_curve(clf, jnp.stack([up, -up, stripes, up]),
    ...                     jnp.array([1.5, 1.5, 3.5, 3.5]))
    >>> curve.temperature.tolist(), [round(float(p), 4) for p in curve.p_ordered]
    ([1.5, 3.5], [0.9933, 0.5])
    """
    p = np.asarray(predict_ordered(clf, spins))
    t = np.asarray(_checks.as_array(temperature, "temperature", ndim=1))
    _checks.check_range(t, "temperature", low=0.0, low_open=True)
    _checks.check_same_length("spins", p, "temperature", t)
    temps = np.unique(t)
    mean = np.array([p[t == v].mean() for v in temps])
    err = np.array([p[t == v].std() / np.sqrt(max((t == v).sum() - 1, 1)) for v in temps])
    return PhaseCurve(jnp.asarray(temps), jnp.asarray(mean), jnp.asarray(err))


def accuracy_away_from_tc(clf: PhaseClassifier, spins: Any, label: Any, temperature: Any, *,
                          window: float = 0.3) -> float:
    """Accuracy on the configurations with ``|T - T_c| ≥ window``.

    With a hand-made classifier on ``|m|`` (logit ``10 (|m| - 1/2)``, no training); the
    ordered lattice at T = 2.3 > T_c is misclassified, but lies inside the window:

    >>> from jaxphys.core import Model
    >>> by_m = Model(init=lambda key, x: {"a": 10.0},
    ...              apply=lambda p, x: p["a"] * (jnp.abs(x.mean(axis=-1)) - 0.5))
    >>> clf = PhaseClassifier("dense", by_m, {"a": 10.0}, L=4, result=None)
    >>> up = jnp.ones((4, 4), jnp.int8)
    >>> stripes = up.at[::2].set(-1)                     # m = 0
    >>> spins = jnp.stack([up, -up, stripes, up])
    >>> label, t = jnp.array([1, 1, 0, 0]), jnp.array([1.5, 1.5, 3.5, 2.3])
    >>> accuracy_away_from_tc(clf, spins, label, t)             # T = 2.3 left out
    1.0
    >>> accuracy_away_from_tc(clf, spins, label, t, window=0.0)  # all four
    0.75
    """
    p = np.asarray(predict_ordered(clf, spins))
    _checks.as_array(label, "label", ndim=1)
    _checks.as_array(temperature, "temperature", ndim=1)
    y = np.asarray(label)
    t = np.asarray(temperature)
    _checks.check_same_length("spins", p, "label", y)
    _checks.check_same_length("spins", p, "temperature", t)
    _checks.check_range(t, "temperature", low=0.0, low_open=True)
    away = np.abs(t - T_CRITICAL) >= window
    return float(np.mean((p[away] > 0.5) == (y[away] == 1)))
