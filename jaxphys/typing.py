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
* :class:`Space`, :class:`EnvironmentLike` — a pure, single-instance, auto-resetting
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
           "EnvironmentLike", "FlowLike", "AgentLike", "PyTree"]

#: Any pytree of arrays (parameters, batches, states).
PyTree = Any


class InitFn(Protocol):
    """``init(key, example_input) -> variables``: a fresh set of parameters.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> def init(key, x):                   # an InitFn: one weight per input feature
        ...     return {"w": jax.random.normal(key, (x.shape[-1],)), "b": jnp.zeros(())}
        >>> jax.tree.map(jnp.shape, init(jax.random.key(0), jnp.zeros((5, 3))))
        {'b': (), 'w': (3,)}
    """

    def __call__(self, key: jax.Array, example_input: Any, /) -> PyTree: ...


class ApplyFn(Protocol):
    """``apply(variables, x, **kwargs) -> y``: the model's forward pass, pure.

    Example:
        >>> import jax.numpy as jnp
        >>> def apply(variables, x):            # an ApplyFn: a linear model
        ...     return x @ variables["w"] + variables["b"]
        >>> apply({"w": jnp.array([1.0, 2.0]), "b": 0.5}, jnp.array([[3.0, 4.0]])).tolist()
        [11.5]
    """

    def __call__(self, variables: PyTree, x: Any, /, **kwargs: Any) -> Any: ...


@runtime_checkable
class ModelLike(Protocol):
    """Anything with pure ``init`` and ``apply``: a flax module or a
    :class:`jaxphys.core.Model`.

    Example:
        >>> from jaxphys.core import Model
        >>> from jaxphys.typing import ModelLike
        >>> line = Model(init=lambda key, x: 0.0, apply=lambda p, x: p * x)
        >>> isinstance(line, ModelLike), isinstance(lambda x: x, ModelLike)
        (True, False)
    """

    init: Any
    apply: Any


class LossFn(Protocol):
    """``loss_fn(params, batch, key) -> (scalar_loss, aux)``; ``aux`` a dict of scalar
    metrics, or a :class:`jaxphys.core.LossAux` when the model has non-trainable state.

    Example:
        >>> import jax.numpy as jnp
        >>> def loss_fn(params, batch, key):    # a LossFn: mean squared residual
        ...     residual = params["a"] * batch["x"] - batch["y"]
        ...     return jnp.mean(residual ** 2), {"max_abs": jnp.max(jnp.abs(residual))}
        >>> batch = {"x": jnp.array([1.0, 2.0]), "y": jnp.array([2.0, 3.0])}
        >>> loss, aux = loss_fn({"a": 2.0}, batch, None)       # residuals 0 and 1
        >>> float(loss), float(aux["max_abs"])
        (0.5, 1.0)
    """

    def __call__(self, params: PyTree, batch: PyTree, key: jax.Array, /) -> tuple[jax.Array,
                                                                                   Any]: ...


class Step(Protocol):
    """``step(state, batch, key) -> (state, metrics)``: one training step.

    Example:
        >>> import jax.numpy as jnp
        >>> def step(state, batch, key):        # a Step: gradient descent on mean((w - x)²)
        ...     grad = 2.0 * (state["w"] - jnp.mean(batch))
        ...     return {"w": state["w"] - 0.25 * grad}, {"grad": grad}
        >>> state, metrics = step({"w": 0.0}, jnp.array([1.0, 3.0]), None)
        >>> float(metrics["grad"]), float(state["w"])         # 2·(0 - 2), 0 + 0.25·4
        (-4.0, 1.0)
    """

    def __call__(self, state: Any, batch: PyTree, key: jax.Array, /) -> tuple[Any, dict]: ...


@runtime_checkable
class HasStepCounter(Protocol):
    """A training state: a pytree with an integer scalar ``step`` field.

    Example:
        >>> from typing import NamedTuple
        >>> import jax.numpy as jnp
        >>> from jaxphys.typing import HasStepCounter
        >>> class State(NamedTuple):
        ...     w: jnp.ndarray
        ...     step: jnp.ndarray
        >>> isinstance(State(jnp.zeros(3), jnp.array(0)), HasStepCounter)
        True
        >>> isinstance({"w": jnp.zeros(3), "step": 0}, HasStepCounter)   # a field, not a key
        False
    """

    step: jax.Array


@runtime_checkable
class Space(Protocol):
    """An action or observation space (``Discrete`` or ``Box``).

    Example:
        >>> from jaxphys.rl.envs import Discrete
        >>> from jaxphys.typing import Space
        >>> actions = Discrete(3)
        >>> isinstance(actions, Space), actions.shape
        (True, ())
    """

    shape: tuple[int, ...]

    def contains(self, x: Any) -> jax.Array: ...

    def sample(self, key: jax.Array) -> jax.Array: ...


@runtime_checkable
class EnvironmentLike(Protocol):
    """A pure, single-instance environment; batch with ``jax.vmap`` at the call site.

    ``reset(key, params) -> (obs, state)`` and
    ``step(key, state, action, params) -> (obs, state, reward, terminated, truncated, info)``
    with auto-reset (the finished episode's last observation in ``info['final_obs']``);
    every float one may sweep lives in ``params`` (``default_params()``).

    Example:
        >>> from jaxphys.rl.envs import CartPole
        >>> from jaxphys.typing import EnvironmentLike
        >>> env = CartPole()
        >>> params = env.default_params()
        >>> isinstance(env, EnvironmentLike), env.action_space(params)
        (True, Discrete(n=2))
        >>> env.observation_space(params).shape          # x, ẋ, θ, θ̇
        (4,)
    """

    def default_params(self) -> Any: ...

    def reset(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]: ...

    def step(self, key: jax.Array, state: Any, action: Any,
             params: Any) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict]: ...

    def action_space(self, params: Any) -> Space: ...

    def observation_space(self, params: Any) -> Space: ...


@runtime_checkable
class FlowLike(Protocol):
    """A model whose ``apply(params, context=None)`` returns a ``distrax.Distribution``.

    The runtime check sees only ``init`` and ``apply``; that ``apply`` returns a
    distribution is the contract (see :class:`jaxphys.generative.RealNVP`).

    Example:
        >>> from jaxphys.generative import RealNVP
        >>> from jaxphys.typing import FlowLike
        >>> isinstance(RealNVP(n_layers=2, hidden=(8,)), FlowLike)
        True
    """

    init: Any
    apply: Any


@runtime_checkable
class AgentLike(Protocol):
    """What ``make_<algo>(env, env_params, config, *, network=None)`` returns.

    ``default_hparams`` (a pytree of every float one may sweep), ``init(key, hparams)``,
    a pure ``train(key, hparams)`` (vmappable over keys and hparams) and
    ``policy(params)``.

    Example:
        >>> from jaxphys.rl import QLearningConfig, make_q_learning
        >>> from jaxphys.rl.envs import GridWorld
        >>> from jaxphys.typing import AgentLike
        >>> agent = make_q_learning(GridWorld(), None, QLearningConfig(n_steps=500))  # not trained
        >>> isinstance(agent, AgentLike), float(agent.default_hparams.learning_rate)
        (True, 0.1)
    """

    default_hparams: Any

    def init(self, key: jax.Array, hparams: Any) -> Any: ...

    def train(self, key: jax.Array, hparams: Any) -> Any: ...

    def policy(self, params: Any) -> Any: ...
