r"""Networks of the agents: the output contract per head, the defaults, the checks.

Every agent takes ``network=``: a flax module or a :class:`jaxphys.core.Model`
(``init(key, example) -> params``, ``apply(params, x) -> y``), or an
:class:`ActorCritic` pair of them. A network acts on **one** observation (no batch
axis; the agents ``vmap``). Output contract per head:

* **policy, discrete actions** (``Discrete(n)``): categorical logits, shape ``(n,)``.
* **policy, continuous actions** (``Box`` of shape ``(d,)``): a Gaussian head, the pair
  ``(mean, log_std)``, each of shape ``(d,)``; for SAC the action is
  :math:`\tanh(u)`, :math:`u \sim \mathcal N(\text{mean}, e^{2\,\text{log\_std}})`,
  rescaled to the box (``log_std`` is clipped to ``[-5, 2]``).
* **state value** (critic of REINFORCE, A2C, PPO, TRPO): shape ``()`` or ``(1,)``.
* **Q-values** (DQN): shape ``(n,)``, one per action.
* **action value** (SAC's critic): ``apply(params, obs, action)`` of shape ``()`` or
  ``(1,)``; ``init(key, obs, action)``. SAC builds twin critics from it.

On-policy agents take either an :class:`ActorCritic` (separate actor and critic) or one
shared model whose ``apply`` returns ``(policy_head, value)``. Each network is checked
against the environment's spaces when the agent is built (``jax.eval_shape``, nothing
runs): a mismatch is a ``ValueError`` naming ``network``.

The default networks are :class:`jaxphys.nn.MLP` trunks: actor and critic with
orthogonal initialisation (gain √2 in the hidden layers, 0.01 on the policy output, 1
on the value), a state-independent log σ for Gaussian policies (Andrychowicz et al.
2021, *What matters in on-policy reinforcement learning?*).

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import CartPole
    >>> env = CartPole()
    >>> net = policy_network(env, env.default_params(), hidden=(16,))
    >>> params = net.init(jax.random.key(0))
    >>> obs, _ = env.reset(jax.random.key(1))
    >>> net.dist(params, obs).probs.shape, net.value(params, obs).shape
    ((2,), ())
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int
from jaxphys.core import as_model
from jaxphys.nn import MLP
from jaxphys.rl.envs._base import Box, Discrete

__all__ = ["ActorCritic", "ActorCriticParams", "PolicyNetwork", "policy_network",
           "q_network", "check_q_network", "PolicyMLP", "GaussianPolicyMLP", "ValueMLP",
           "describe_output"]

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


class ActorCritic(NamedTuple):
    """Separate actor and critic models (flax modules or :class:`jaxphys.core.Model`).

    Fields:
        actor: ``apply(params, obs)`` → logits ``(n,)`` or ``(mean, log_std)``.
        critic: ``apply(params, obs)`` → value ``()``/``(1,)``; for SAC
            ``apply(params, obs, action)`` → Q ``()``/``(1,)``.

    Example (the user's own actor and critic for CartPole's 2 actions):
        >>> from jaxphys.nn import MLP
        >>> from jaxphys.rl import ActorCritic, policy_network
        >>> from jaxphys.rl.envs import CartPole
        >>> env = CartPole()
        >>> pair = ActorCritic(actor=MLP(widths=(16, 2)), critic=MLP(widths=(16, 1)))
        >>> net = policy_network(env, env.default_params(), pair)    # checked, nothing runs
        >>> net.shared, net.discrete
        (False, True)
    """

    actor: Any
    critic: Any


class ActorCriticParams(NamedTuple):
    """Fields: actor, critic (the parameters of each model of an :class:`ActorCritic`).

    Example:
        >>> import jax
        >>> from jaxphys.rl import ActorCriticParams, policy_network
        >>> from jaxphys.rl.envs import CartPole
        >>> env = CartPole()
        >>> net = policy_network(env, env.default_params(), hidden=(16,))
        >>> params = net.init(jax.random.key(0))      # separate default actor and critic
        >>> isinstance(params, ActorCriticParams), params._fields
        (True, ('actor', 'critic'))
    """

    actor: Any
    critic: Any


class _Head(nn.Module):
    """A :class:`jaxphys.nn.MLP` trunk (orthogonal √2), then a linear output of gain
    ``out_scale``."""

    hidden: Sequence[int]
    out_dim: int
    out_scale: float
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        h = x
        if self.hidden:
            h = MLP(widths=tuple(self.hidden), activation=self.activation,
                    kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)), name="trunk")(h)
            h = {"tanh": jnp.tanh, "relu": nn.relu}[self.activation](h)
        return nn.Dense(self.out_dim, kernel_init=nn.initializers.orthogonal(self.out_scale),
                        name="out")(h)


class PolicyMLP(nn.Module):
    """The default discrete actor: logits ``(n_actions,)`` of one observation."""

    hidden: Sequence[int]
    n_actions: int
    activation: str = "tanh"

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        return _Head(self.hidden, self.n_actions, 0.01, self.activation)(obs)


class GaussianPolicyMLP(nn.Module):
    """The default continuous actor: ``(mean, log_std)`` with a state-independent log σ."""

    hidden: Sequence[int]
    action_dim: int
    activation: str = "tanh"

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean = _Head(self.hidden, self.action_dim, 0.01, self.activation)(obs)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return mean, jnp.broadcast_to(log_std, mean.shape)


class ValueMLP(nn.Module):
    """The default critic: V(s) of one observation, shape ``(1,)``."""

    hidden: Sequence[int]
    activation: str = "tanh"

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        return _Head(self.hidden, 1, 1.0, self.activation)(obs.astype(jnp.float32))


def describe_output(out: Any) -> str:
    """A short description of an ``eval_shape`` output for error messages."""
    if isinstance(out, (tuple, list)):
        return "a tuple of " + ", ".join(describe_output(o) for o in out)
    if hasattr(out, "shape"):
        return f"an array of shape {tuple(out.shape)}"
    return type(out).__name__


def _is_array(out: Any) -> bool:
    return hasattr(out, "shape") and not isinstance(out, (tuple, list))


def check_policy_output(out: Any, space: Any, who: str = "network") -> None:
    """Raise unless ``out`` (from ``jax.eval_shape``) fits the action space."""
    if isinstance(space, Discrete):
        if not _is_array(out):
            raise ValueError(f"{who}: Discrete({space.n}) actions need categorical logits, one "
                             f"array of shape ({space.n},); the policy head returned "
                             f"{describe_output(out)} (a Gaussian head is for Box actions)")
        if tuple(out.shape) != (space.n,):
            raise ValueError(f"{who}: Discrete({space.n}) actions need {space.n} logits, shape "
                             f"({space.n},); the policy head returned shape {tuple(out.shape)}")
        return
    d = tuple(space.shape)
    if _is_array(out) or not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ValueError(f"{who}: Box actions of shape {d} need a Gaussian head, the pair "
                         f"(mean, log_std) each of shape {d}; the policy head returned "
                         f"{describe_output(out)}")
    for part, label in zip(out, ("mean", "log_std")):
        if not _is_array(part) or tuple(part.shape) != d:
            raise ValueError(f"{who}: the Gaussian head's {label} must have shape {d} (the "
                             f"action shape); got {describe_output(part)}")


def check_value_output(out: Any, who: str = "network") -> None:
    """Raise unless ``out`` is a scalar value, shape ``()`` or ``(1,)``."""
    if not _is_array(out) or tuple(out.shape) not in ((), (1,)):
        raise ValueError(f"{who}: the value head must return one number, shape () or (1,); "
                         f"got {describe_output(out)}")


def trace_model(model: Any, key: jax.Array, *example: Any, who: str) -> tuple[Any, Any]:
    """``(params_shapes, output_shapes)`` of ``model`` on ``example`` (nothing runs)."""
    model = as_model(model)
    try:
        params = jax.eval_shape(model.init, key, *example)
        out = jax.eval_shape(model.apply, params, *example)
    except Exception as err:  # noqa: BLE001 - the user's network: report what failed
        shapes = ", ".join(str(tuple(np.shape(e))) for e in example)
        raise ValueError(f"{who}: calling init/apply on one example of shape(s) {shapes} "
                         f"failed: {type(err).__name__}: {err}") from err
    if isinstance(params, dict) and "params" in params and set(params) - {"params"}:
        raise ValueError(f"{who}: networks with non-trainable collections "
                         f"({sorted(set(params) - {'params'})}) are not supported by the agents")
    return params, out


class PolicyNetwork(NamedTuple):
    """A checked actor-critic for one environment (all functions per observation).

    Fields:
        init: ``init(key) -> params`` (an :class:`ActorCriticParams`, or the shared
            model's params).
        dist: ``dist(params, obs) -> distrax.Distribution`` over one action.
        value: ``value(params, obs) -> ()`` float32 state value.
        discrete: whether actions are integers (categorical head).
        action_shape: shape of one action, ``()`` or ``(d,)``.
        shared: one model for both heads (``False``: an :class:`ActorCritic`).
        actor_dist: ``actor_dist(actor_params, obs)`` (separate networks only, else None).

    Example:
        >>> import jax
        >>> from jaxphys.rl import PolicyNetwork, policy_network
        >>> from jaxphys.rl.envs import CartPole, Pendulum
        >>> env = CartPole()
        >>> net = policy_network(env, env.default_params(), hidden=(16,))
        >>> params = net.init(jax.random.key(0))
        >>> obs, _ = env.reset(jax.random.key(1))
        >>> [round(float(p), 2) for p in net.dist(params, obs).probs]  # output gain 0.01
        [0.5, 0.5]
        >>> pendulum = policy_network(Pendulum(), Pendulum().default_params(), hidden=(16,))
        >>> isinstance(pendulum, PolicyNetwork), pendulum.discrete, pendulum.action_shape
        (True, False, (1,))
    """

    init: Callable[[jax.Array], Any]
    dist: Callable[[Any, jax.Array], distrax.Distribution]
    value: Callable[[Any, jax.Array], jax.Array]
    discrete: bool
    action_shape: tuple
    shared: bool
    actor_dist: Any


def _distribution(head: Any, discrete: bool) -> distrax.Distribution:
    if discrete:
        return distrax.Categorical(logits=head)
    mean, log_std = head
    return distrax.MultivariateNormalDiag(mean, jnp.exp(log_std))


def policy_network(env: Any, env_params: Any, network: Any = None, *,
                   hidden: Sequence[int] = (64, 64), activation: str = "tanh") -> PolicyNetwork:
    """Check ``network`` (or build the default MLPs) for ``env``; see the module docstring.

    >>> from jaxphys.nn import MLP
    >>> from jaxphys.rl import ActorCritic, policy_network
    >>> from jaxphys.rl.envs import CartPole
    >>> env = CartPole()
    >>> net = policy_network(env, env.default_params(), hidden=(16,))   # the default MLPs
    >>> net.discrete, net.action_shape, net.shared
    (True, (), False)
    >>> policy_network(env, env.default_params(), ActorCritic(MLP((16, 3)), MLP((16, 1))))
    Traceback (most recent call last):
    ...
    ValueError: network.actor: Discrete(2) actions need 2 logits, shape (2,); ...
    """
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation: expected 'tanh' or 'relu', got {activation!r}")
    act_space = env.action_space(env_params)
    obs_space = env.observation_space(env_params)
    example = jnp.zeros(obs_space.shape, obs_space.dtype)
    if isinstance(act_space, Discrete):
        discrete, action_shape = True, ()
    elif isinstance(act_space, Box) and len(act_space.shape) == 1:
        discrete, action_shape = False, tuple(act_space.shape)
    else:
        raise ValueError(f"env: expected a Discrete or a 1-d Box action space, got {act_space!r}")
    hidden = tuple(int(h) for h in hidden)
    if network is None:
        actor = (PolicyMLP(hidden, act_space.n, activation) if discrete
                 else GaussianPolicyMLP(hidden, action_shape[0], activation))
        network = ActorCritic(actor, ValueMLP(hidden, activation))
    key = jax.random.key(0)
    if isinstance(network, ActorCritic):
        actor, critic = as_model(network.actor), as_model(network.critic)
        _, out = trace_model(actor, key, example, who="network.actor")
        check_policy_output(out, act_space, "network.actor")
        _, out = trace_model(critic, key, example, who="network.critic")
        check_value_output(out, "network.critic")

        def init(k):
            key_actor, key_critic = jax.random.split(k)
            return ActorCriticParams(actor.init(key_actor, example),
                                     critic.init(key_critic, example))

        def actor_dist(actor_params, obs):
            return _distribution(actor.apply(actor_params, obs), discrete)

        def dist(params, obs):
            return actor_dist(params.actor, obs)

        def value(params, obs):
            return jnp.reshape(critic.apply(params.critic, obs), ()).astype(jnp.float32)

        return PolicyNetwork(init, dist, value, discrete, action_shape, False, actor_dist)

    model = as_model(network)
    _, out = trace_model(model, key, example, who="network")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise ValueError("network: a shared actor-critic must return the pair (policy_head, "
                         f"value); got {describe_output(out)} (pass separate networks as "
                         "ActorCritic(actor, critic))")
    check_policy_output(out[0], act_space, "network")
    check_value_output(out[1], "network")

    def shared_dist(params, obs):
        return _distribution(model.apply(params, obs)[0], discrete)

    def shared_value(params, obs):
        return jnp.reshape(model.apply(params, obs)[1], ()).astype(jnp.float32)

    return PolicyNetwork(lambda k: model.init(k, example), shared_dist, shared_value, discrete,
                         action_shape, True, None)


def q_network(n_actions: int, hidden: Sequence[int]) -> MLP:
    """The default Q-network: ``MLP(hidden + (n_actions,), relu)``, obs (d,) → Q (n_actions,).

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import q_network
    >>> q = q_network(n_actions=2, hidden=(16,))       # CartPole: 4 observations, 2 actions
    >>> q.widths, q.activation
    ((16, 2), 'relu')
    >>> obs = jnp.zeros(4)
    >>> params = jax.eval_shape(q.init, jax.random.key(0), obs)     # shapes only, no compute
    >>> jax.eval_shape(q.apply, params, obs).shape                  # one Q-value per action
    (2,)
    """
    n_actions = as_int(n_actions, "n_actions", minimum=1)
    return MLP(widths=tuple(int(h) for h in hidden) + (n_actions,), activation="relu")


def check_q_network(network: Any, env: Any, env_params: Any) -> Any:
    """Check that ``network`` maps one observation to ``(n,)`` Q-values; return it as a Model."""
    space = env.action_space(env_params)
    if not isinstance(space, Discrete):
        raise ValueError(f"env: Q-learning agents need a Discrete action space, got {space!r}")
    if isinstance(network, ActorCritic):
        raise ValueError("network: DQN needs one Q-network, obs -> (n_actions,) Q-values; got "
                         "an ActorCritic pair")
    obs_space = env.observation_space(env_params)
    example = jnp.zeros(obs_space.shape, obs_space.dtype)
    model = as_model(network)
    _, out = trace_model(model, jax.random.key(0), example, who="network")
    if not _is_array(out) or tuple(out.shape) != (space.n,):
        raise ValueError(f"network: a Q-network for Discrete({space.n}) actions must return "
                         f"{space.n} Q-values, shape ({space.n},); got {describe_output(out)}")
    return model
