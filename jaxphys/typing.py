"""Protocols for the library's contracts, used in its signatures.

Each protocol states the shape of one concept; anything with that shape works
wherever the library asks for it (structural typing: no base class to inherit).

* :class:`InitFn`, :class:`ApplyFn`, :class:`ModelLike` — a model is a pair of pure
  functions ``init(key, example_input) -> variables`` and ``apply(variables, x, **kw) -> y``
  (a ``flax.linen.Module`` as it is, or :class:`jaxphys.core.Model`).
* :class:`LossFn` — ``loss_fn(params, batch, key) -> (scalar, aux)``.
* :class:`Step` — ``step(state, batch, key) -> (state, metrics)``.
* :class:`HasStepCounter` — what :func:`jaxphys.core.run_steps` and
  :func:`jaxphys.core.fit` need of a state: an integer ``step`` field.
* :class:`Space`, :class:`Environment` — a pure, single-instance, auto-resetting
  environment in the gymnax convention.
* :class:`FlowLike` — a model whose ``apply(params, context=None)`` returns a
  ``distrax.Distribution``.
* :class:`AgentLike` — what every reinforcement-learning agent builder returns.

Argument-order rules, followed everywhere: random functions take ``key`` first;
models take ``(params, x)``; losses take ``(params, batch, key)`` and per-example losses
``(prediction, target)``; metrics take ``(y_true, y_score)`` as scikit-learn does;
fits of a model function take ``f(x, params)`` as ``scipy.optimize.curve_fit`` does.

Example:
    >>> import jax.numpy as jnp
    >>> from jaxphys.core import Model
    >>> line = Model(init=lambda key, x: jnp.zeros(()), apply=lambda p, x: p * x)
    >>> isinstance(line, ModelLike)
    True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import jax

__all__ = ["InitFn", "ApplyFn", "ModelLike", "LossFn", "Step", "HasStepCounter", "Space",
           "Environment", "FlowLike", "AgentLike", "PyTree"]

#: Any pytree of arrays (parameters, batches, states).
PyTree = Any


class InitFn(Protocol):
    """``init(key, example_input) -> variables``: a fresh set of parameters."""

    def __call__(self, key: jax.Array, example_input: Any, /) -> PyTree: ...


class ApplyFn(Protocol):
    """``apply(variables, x, **kwargs) -> y``: the model's forward pass, pure."""

    def __call__(self, variables: PyTree, x: Any, /, **kwargs: Any) -> Any: ...


@runtime_checkable
class ModelLike(Protocol):
    """Anything with pure ``init`` and ``apply``: a flax module or a
    :class:`jaxphys.core.Model`."""

    init: Any
    apply: Any


class LossFn(Protocol):
    """``loss_fn(params, batch, key) -> (scalar_loss, aux)``; ``aux`` a dict of scalar
    metrics, or a :class:`jaxphys.core.LossAux` when the model has non-trainable state."""

    def __call__(self, params: PyTree, batch: PyTree, key: jax.Array, /) -> tuple[jax.Array,
                                                                                   Any]: ...


class Step(Protocol):
    """``step(state, batch, key) -> (state, metrics)``: one training step."""

    def __call__(self, state: Any, batch: PyTree, key: jax.Array, /) -> tuple[Any, dict]: ...


@runtime_checkable
class HasStepCounter(Protocol):
    """A training state: a pytree with an integer scalar ``step`` field."""

    step: jax.Array


@runtime_checkable
class Space(Protocol):
    """An action or observation space (``Discrete`` or ``Box``)."""

    shape: tuple[int, ...]

    def contains(self, x: Any) -> jax.Array: ...

    def sample(self, key: jax.Array) -> jax.Array: ...


@runtime_checkable
class Environment(Protocol):
    """A pure, single-instance environment; batch with ``jax.vmap`` at the call site.

    ``reset(key, params) -> (obs, state)`` and
    ``step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``
    with auto-reset (the finished episode's last observation in ``info['final_obs']``);
    every float one may sweep lives in ``params`` (``default_params()``).
    """

    def default_params(self) -> Any: ...

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]: ...

    def step(self, key: jax.Array, state: Any, action: Any,
             params: Any) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict]: ...

    def action_space(self, params: Any) -> Space: ...

    def observation_space(self, params: Any) -> Space: ...


@runtime_checkable
class FlowLike(Protocol):
    """A model whose ``apply(params, context=None)`` returns a ``distrax.Distribution``."""

    init: Any
    apply: Any


@runtime_checkable
class AgentLike(Protocol):
    """What ``make_<algo>(env, env_params, config, *, network=None)`` returns.

    ``default_hparams`` (a pytree of every float one may sweep), ``init(key, hparams)``,
    a pure ``train(key, hparams)`` (vmappable over keys and hparams) and
    ``policy(params)``.
    """

    default_hparams: Any

    def init(self, key: jax.Array, hparams: Any) -> Any: ...

    def train(self, key: jax.Array, hparams: Any) -> Any: ...

    def policy(self, params: Any) -> Any: ...
