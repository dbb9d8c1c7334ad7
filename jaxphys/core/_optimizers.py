"""Optimisers and learning-rate schedules by name, all built from optax.

Every optimiser here (SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam and their kin) is an ``optax.GradientTransformation``
whose last stage multiplies the (transformed) gradient by ``-η``:

* ``'gd'`` (batch gradient descent), ``'sgd'``, ``'minibatch_sgd'``:
  θ ← θ − η g — ``optax.sgd(η)``;
* ``'momentum'``: v ← γ v + g, θ ← θ − η v — ``optax.sgd(η, momentum=0.9)``;
* ``'nesterov'``: v ← γ v + g, θ ← θ − η (γ v + g) — ``optax.sgd(η, 0.9, nesterov=True)``;
* ``'adagrad'``: s ← s + g², θ ← θ − η g / √(s + ε) — ``optax.adagrad(η, 0.1, 1e-7)``;
* ``'rmsprop'``: s ← β s + (1 − β) g², θ ← θ − η g / √(s + ε) —
  ``optax.rmsprop(η, decay=0.9, eps=1e-8)``;
* ``'adam'``: bias-corrected moving averages m (β₁) and v (β₂) of g and g²,
  θ ← θ − η m̂ / (√v̂ + ε) — ``optax.adam(η, 0.9, 0.999, 1e-8)``;
* ``'nadam'``: Adam with a Nesterov look-ahead on m — ``optax.nadam(η, 0.9, 0.999, 1e-8)``;
* ``'adamw'``: Adam plus decoupled weight decay λθ — ``optax.adamw(η, ..., weight_decay=1e-4)``.

Here g = ∇L(θ_t) and η is the learning rate.

``'gd'``, ``'sgd'`` and ``'minibatch_sgd'`` share one update: the difference is
only which examples the caller averages the gradient over (the whole data set,
one example, or a mini-batch of B).

Learning-rate schedules ``η(t)`` (``t`` = optimiser step) by name:
``'constant'``, ``'step'`` (a staircase: piecewise-constant or exponential),
``'exponential'``, ``'cosine'`` and ``'warmup_cosine'`` (a linear warm-up, then
cosine decay); see :func:`get_schedule`.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
import optax

from jaxphys._checks import is_concrete

__all__ = ["OPTIMIZERS", "SCHEDULES", "get_optimizer", "get_schedule", "resolve_optimizer"]

# name -> (optax constructor, default learning rate, default hyper-parameters)
_OPTIMIZERS: dict[str, tuple[Callable[..., optax.GradientTransformation], float, dict]] = {
    "gd": (optax.sgd, 0.01, {}),
    "sgd": (optax.sgd, 0.01, {}),
    "minibatch_sgd": (optax.sgd, 0.01, {}),
    "momentum": (optax.sgd, 0.01, {"momentum": 0.9}),
    "nesterov": (optax.sgd, 0.01, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (optax.adagrad, 0.01, {"initial_accumulator_value": 0.1, "eps": 1e-7}),
    "rmsprop": (optax.rmsprop, 0.001, {"decay": 0.9, "eps": 1e-8}),
    "adam": (optax.adam, 0.001, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
    "nadam": (optax.nadam, 0.001, {"b1": 0.9, "b2": 0.999, "eps": 1e-8}),
    "adamw": (optax.adamw, 0.001, {"b1": 0.9, "b2": 0.999, "eps": 1e-8, "weight_decay": 1e-4}),
}
# The keyword arguments each name accepts (its defaults above plus extras optax takes).
_EXTRA_KW: dict[str, tuple[str, ...]] = {
    "gd": (), "sgd": (), "minibatch_sgd": (),
    "momentum": ("nesterov",), "nesterov": (),
    "adagrad": (), "rmsprop": ("centered", "momentum", "initial_scale"),
    "adam": ("eps_root",), "nadam": ("eps_root",), "adamw": ("eps_root", "mask"),
}

#: The optimiser names :func:`get_optimizer` knows, from plain SGD to the adaptive methods.
OPTIMIZERS: tuple[str, ...] = tuple(_OPTIMIZERS)
#: The schedule names :func:`get_schedule` knows.
SCHEDULES: tuple[str, ...] = ("constant", "step", "exponential", "cosine", "warmup_cosine")

# schedule name -> (required kwargs, optional kwargs)
_SCHEDULE_KW: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "constant": (("value",), ()),
    "step": (("init_value",), ("boundaries_and_scales", "transition_steps", "decay_rate",
                               "transition_begin", "end_value")),
    "exponential": (("init_value", "transition_steps", "decay_rate"),
                    ("transition_begin", "staircase", "end_value")),
    "cosine": (("init_value", "decay_steps"), ("alpha", "exponent")),
    "warmup_cosine": (("peak_value", "warmup_steps", "decay_steps"),
                      ("init_value", "end_value", "exponent")),
}
# kwargs that are learning rates (must be finite and >= 0)
_RATE_KW = ("value", "init_value", "peak_value", "end_value")


def _check_rate(value: Any, name: str) -> None:
    """A concrete learning rate must be a finite number >= 0 (tracers pass)."""
    if not is_concrete(value):
        return
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, a schedule or a schedule name, got "
                         f"{type(value).__name__}") from None
    if arr.ndim != 0:
        raise ValueError(f"{name}: expected a scalar, got shape {arr.shape}")
    if not math.isfinite(float(arr)):
        raise ValueError(f"{name}: expected a finite value, got {float(arr)!r}")
    if float(arr) < 0:
        raise ValueError(f"{name}: must be >= 0, got {float(arr)!r}")


def _check_kwargs(kind: str, name: str, given: Mapping[str, Any], allowed: tuple[str, ...],
                  required: tuple[str, ...] = ()) -> None:
    unknown = sorted(set(given) - set(allowed) - set(required))
    if unknown:
        raise ValueError(f"{kind} {name!r}: unknown keyword argument(s) {', '.join(unknown)}; "
                         f"accepted: {', '.join(required + allowed) or 'none'}")
    missing = [k for k in required if k not in given]
    if missing:
        raise ValueError(f"{kind} {name!r}: missing keyword argument(s) {', '.join(missing)}")


def get_schedule(name: str, **kwargs: Any) -> optax.Schedule:
    r"""A learning-rate schedule ``η(t)`` by name, as an optax schedule (``step -> rate``).

    * ``'constant'``: η(t) = η₀. Keyword: ``value``.
    * ``'step'``: a staircase, either piecewise constant η₀ · Π_{b ≤ t} s_b
      (``init_value``, ``boundaries_and_scales={b: s_b}``) or exponential
      η₀ · r^⌊(t − t₀)/T⌋ (``init_value``, ``transition_steps`` T, ``decay_rate`` r,
      optional ``transition_begin`` t₀, ``end_value``).
    * ``'exponential'``: η₀ · r^((t − t₀)/T) (``init_value``, ``transition_steps``,
      ``decay_rate``, optional ``transition_begin``, ``staircase``, ``end_value``).
    * ``'cosine'``: η₀ [(1 − α) ½(1 + cos(π min(t, T)/T)) + α] (``init_value``,
      ``decay_steps`` T, optional ``alpha``, ``exponent``).
    * ``'warmup_cosine'``: a linear warm-up from ``init_value`` (default 0) to
      ``peak_value`` over ``warmup_steps``, then cosine decay to ``end_value``
      (default 0) at step ``decay_steps`` (which counts the warm-up).

    They are exactly ``optax.constant_schedule``, ``optax.piecewise_constant_schedule``,
    ``optax.exponential_decay`` (``staircase=True`` for ``'step'``),
    ``optax.cosine_decay_schedule`` and ``optax.warmup_cosine_decay_schedule``.

    Raises:
        ValueError: for an unknown name (listing the known ones), unknown or missing
            keyword arguments, or a negative rate.

    >>> sched = get_schedule("step", init_value=0.1, transition_steps=10, decay_rate=0.5)
    >>> [round(float(sched(t)), 4) for t in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
    """
    if not isinstance(name, str) or name not in _SCHEDULE_KW:
        raise ValueError(f"schedule: unknown name {name!r}; known schedules: "
                         + ", ".join(SCHEDULES))
    required, optional = _SCHEDULE_KW[name]
    _check_kwargs("schedule", name, kwargs, optional, required)
    for k in _RATE_KW:
        if k in kwargs:
            _check_rate(kwargs[k], k)
    if name == "constant":
        return optax.constant_schedule(kwargs["value"])
    if name == "step":
        if "boundaries_and_scales" in kwargs:
            others = set(kwargs) - {"init_value", "boundaries_and_scales"}
            if others:
                raise ValueError("schedule 'step': give either boundaries_and_scales or "
                                 "transition_steps and decay_rate, not both (also got "
                                 + ", ".join(sorted(others)) + ")")
            return optax.piecewise_constant_schedule(kwargs["init_value"],
                                                     dict(kwargs["boundaries_and_scales"]))
        if "transition_steps" not in kwargs or "decay_rate" not in kwargs:
            raise ValueError("schedule 'step': missing keyword arguments; give "
                             "boundaries_and_scales, or transition_steps and decay_rate")
        return optax.exponential_decay(staircase=True, **kwargs)
    if name == "exponential":
        return optax.exponential_decay(**kwargs)
    if name == "cosine":
        return optax.cosine_decay_schedule(**kwargs)
    return optax.warmup_cosine_decay_schedule(**{"init_value": 0.0, **kwargs})


def _resolve_learning_rate(learning_rate: Any, default: float,
                           schedule_kwargs: Mapping[str, Any] | None) -> Any:
    if learning_rate is None:
        learning_rate = default
    if isinstance(learning_rate, tuple) and len(learning_rate) == 2 \
            and isinstance(learning_rate[0], str):
        name, kw = learning_rate
        return get_schedule(name, **dict(kw))
    if isinstance(learning_rate, str):
        return get_schedule(learning_rate, **dict(schedule_kwargs or {}))
    if schedule_kwargs:
        raise ValueError("schedule_kwargs: only used with a schedule name as learning_rate, "
                         f"got learning_rate={learning_rate!r}")
    if callable(learning_rate):
        return learning_rate
    _check_rate(learning_rate, "learning_rate")
    return learning_rate


def get_optimizer(name_or_transform: str | optax.GradientTransformation,
                  learning_rate: Any = None, *, schedule_kwargs: Mapping[str, Any] | None = None,
                  **kwargs: Any) -> optax.GradientTransformation:
    """An optimiser by name (see the module table), or an optax transformation unchanged.

    Args:
        name_or_transform: one of :data:`OPTIMIZERS` (``'gd'``, ``'sgd'``,
            ``'minibatch_sgd'``, ``'momentum'``, ``'nesterov'``, ``'adagrad'``,
            ``'rmsprop'``, ``'adam'``, ``'nadam'``, ``'adamw'``), or an
            ``optax.GradientTransformation``, returned as it is (then no other
            argument may be given).
        learning_rate: η: a number ≥ 0 (a traced array is fine: build the optimiser
            inside ``jit`` to sweep it), an optax schedule ``step -> η``, a schedule
            name (with ``schedule_kwargs``), or a pair ``(schedule_name, kwargs)``.
            ``None`` takes the name's default: 0.01 for the gradient-descent family
            and AdaGrad, 0.001 for RMSProp and the Adam family.
        schedule_kwargs: keyword arguments of :func:`get_schedule` when
            ``learning_rate`` is a schedule name.
        **kwargs: hyper-parameters overriding the defaults, with optax's names:
            ``momentum`` (γ = 0.9), ``initial_accumulator_value`` (0.1) and ``eps``
            (1e-7) for AdaGrad, ``decay`` (β = 0.9) and ``eps`` (1e-8) for RMSProp,
            ``b1`` (0.9), ``b2`` (0.999), ``eps`` (1e-8) for Adam/Nadam/AdamW,
            ``weight_decay`` (1e-4) for AdamW.

    Returns:
        the ``optax.GradientTransformation`` (identical, step by step, to the optax
        constructor called with the same values).

    Raises:
        ValueError: for an unknown name (listing the known ones), a negative or
            non-finite ``learning_rate``, or an unknown hyper-parameter.

    >>> import jax.numpy as jnp
    >>> opt = get_optimizer("momentum", learning_rate=0.1)
    >>> params = jnp.array([1.0, -2.0])
    >>> state = opt.init(params)
    >>> updates, state = opt.update(2 * params, state)     # ∇(θ²) = 2θ
    >>> updates.tolist()
    [-0.2, 0.4]
    """
    if isinstance(name_or_transform, optax.GradientTransformation):
        if learning_rate is not None or kwargs or schedule_kwargs:
            raise ValueError("learning_rate: an optax transformation is used as it is; do not "
                             "pass learning_rate or hyper-parameters with it")
        return name_or_transform
    if not isinstance(name_or_transform, str) or name_or_transform not in _OPTIMIZERS:
        raise ValueError(f"optimizer: unknown name {name_or_transform!r}; known optimisers: "
                         + ", ".join(OPTIMIZERS) + " (or pass an optax.GradientTransformation)")
    name = name_or_transform
    ctor, default_lr, defaults = _OPTIMIZERS[name]
    _check_kwargs("optimizer", name, kwargs, tuple(defaults) + _EXTRA_KW[name])
    for k, v in kwargs.items():
        if k in ("momentum", "decay", "b1", "b2", "eps", "weight_decay",
                 "initial_accumulator_value") and is_concrete(v) and v is not None:
            _check_rate(v, k)
    lr = _resolve_learning_rate(learning_rate, default_lr, schedule_kwargs)
    return ctor(lr, **{**defaults, **kwargs})


def resolve_optimizer(optimizer: Any, name: str = "optimizer") -> optax.GradientTransformation:
    """What ``TrainState.create`` and the trainers call on their optimiser argument.

    Accepts an ``optax.GradientTransformation`` (returned unchanged), a name
    (``'adam'`` → :func:`get_optimizer` with its default learning rate), or a pair
    ``(name, kwargs)`` such as ``('adam', {'learning_rate': 3e-4})``.

    Raises:
        ValueError: unknown name (listing the known ones) or bad hyper-parameters.
        TypeError: anything else.

    >>> import optax
    >>> isinstance(resolve_optimizer(("sgd", {"learning_rate": 0.1})),
    ...            optax.GradientTransformation)
    True
    """
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    if isinstance(optimizer, str):
        return get_optimizer(optimizer)
    if (isinstance(optimizer, tuple) and len(optimizer) == 2 and isinstance(optimizer[0], str)
            and isinstance(optimizer[1], Mapping)):
        return get_optimizer(optimizer[0], **dict(optimizer[1]))
    raise TypeError(f"{name}: expected an optax.GradientTransformation, an optimiser name ("
                    + ", ".join(OPTIMIZERS) + ") or a pair (name, kwargs), got "
                    f"{type(optimizer).__name__}")
