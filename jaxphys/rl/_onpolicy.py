r"""Pieces shared by the on-policy agents (REINFORCE, A2C, PPO, TRPO).

* :class:`OnPolicyState`: the agent state of REINFORCE, A2C and PPO.
* :func:`gae`: generalised advantage estimates (Schulman et al. 2016,
  *High-dimensional continuous control using generalized advantage estimation*),

  .. math::

      \delta_t = r_t + \gamma (1 - \mathrm{term}_t) V(s'_t) - V(s_t), \qquad
      A_t = \delta_t + \gamma\lambda (1 - \mathrm{done}_t) A_{t+1},

  with :math:`s'_t` the observation the action led to (``final_obs``, also at a
  truncation: truncated episodes are bootstrapped, terminated ones are not);
  :func:`advantages` applies it to a rollout with the agent's critic.
* :func:`make_act`, :func:`actor_critic_policy`: acting with a
  :class:`~jaxphys.rl.PolicyNetwork`.
* :func:`clipped_adam`: Adam after global-norm clipping, with the learning rate and
  the clipping norm injected (``optax.inject_hyperparams``) so that the agents set
  them from their traced hyperparameters.

Example:
    >>> import jax.numpy as jnp
    >>> adv, target = gae(jnp.ones(3), jnp.zeros(3), jnp.ones(3), jnp.array([False, True, False]),
    ...                   jnp.array([False, True, False]), 0.5, 1.0)
    >>> adv.tolist()
    [2.0, 1.0, 1.5]
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import as_int, check_range
from jaxphys.core import TrainState, set_hyperparams
from jaxphys.rl._networks import PolicyNetwork
from jaxphys.rl._rollout import (ActOutput, RunnerState, Trajectory, episode_metrics, init_runner,
                                 rollout)

__all__ = ["OnPolicyState", "gae", "advantages", "make_act", "actor_critic_policy",
           "clipped_adam", "set_learning", "check_rollout_config", "flatten_time",
           "annealed", "log_prob_entropy", "onpolicy_init", "collect", "advance"]


class OnPolicyState(NamedTuple):
    """The state of REINFORCE, A2C and PPO.

    Fields:
        step: int32 scalar, updates done.
        train_state: ``jaxphys.core.TrainState`` of the network's parameters and its
            optimiser (:func:`clipped_adam`).
        runner: the environments (:class:`~jaxphys.rl.RunnerState`).
        hparams: the agent's hyperparameters (float32 arrays).

    ``agent.init(key)`` of these agents returns one; built here by hand:

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.core import TrainState
        >>> from jaxphys.rl import OnPolicyState, PPOHyperparams
        >>> ts = TrainState.create({"w": jnp.zeros(2)}, "adam")
        >>> state = OnPolicyState(jnp.int32(0), ts, None, PPOHyperparams())
        >>> state.params["w"].tolist(), int(state.step)      # params: what the policy uses
        ([0.0, 0.0], 0)
    """

    step: jax.Array
    train_state: TrainState
    runner: RunnerState
    hparams: Any

    @property
    def params(self) -> Any:
        """The network parameters (for ``agent.policy``)."""
        return self.train_state.params


def onpolicy_init(net: PolicyNetwork, tx: optax.GradientTransformation, env: Any,
                  env_params: Any, n_envs: int) -> Callable[[jax.Array, Any], OnPolicyState]:
    """The ``init(key, hparams)`` of REINFORCE, A2C and PPO: fresh network parameters,
    the optimiser ``tx`` with the hyperparameters' learning rate and clipping norm,
    and ``n_envs`` reset environments."""
    def init(key: jax.Array, hp: Any) -> OnPolicyState:
        key_net, key_env = jax.random.split(key)
        train_state = set_learning(TrainState.create(net.init(key_net), tx), hp.learning_rate,
                                   hp.max_grad_norm)
        return OnPolicyState(jnp.zeros((), jnp.int32), train_state,
                             init_runner(key_env, env, env_params, n_envs), hp)

    return init


def collect(net: PolicyNetwork, env: Any, env_params: Any, state: OnPolicyState,
            key: jax.Array, n_steps: int, learning_rate: Any
            ) -> tuple[TrainState, RunnerState, Trajectory]:
    """The first half of an on-policy update: set this update's learning rate (and
    the hyperparameters' clipping norm) and roll the current policy out for
    ``n_steps`` in every environment."""
    train_state = set_learning(state.train_state, learning_rate, state.hparams.max_grad_norm)
    runner, traj = rollout(key, env, env_params, make_act(net, train_state.params),
                           state.runner, n_steps)
    return train_state, runner, traj


def advance(state: OnPolicyState, train_state: TrainState, runner: RunnerState,
            traj: Trajectory, metrics: dict, batch_size: int
            ) -> tuple[OnPolicyState, dict]:
    """The last half of an on-policy update: the next state and the update's metrics
    with the rollout's episode statistics and the environment steps so far."""
    metrics = metrics | episode_metrics(traj)
    metrics["env_steps"] = (state.step + 1) * batch_size
    return OnPolicyState(state.step + 1, train_state, runner, state.hparams), metrics


def clipped_adam(eps: float = 1e-8) -> optax.GradientTransformation:
    """``chain(clip_by_global_norm(max_grad_norm), adam(learning_rate, eps))`` with
    ``learning_rate`` and ``max_grad_norm`` injected hyperparameters (set them with
    :func:`set_learning`)."""
    def factory(learning_rate, max_grad_norm):
        return optax.chain(optax.clip_by_global_norm(max_grad_norm),
                           optax.adam(learning_rate, eps=eps))

    return optax.inject_hyperparams(factory)(learning_rate=1e-3, max_grad_norm=1.0)


def set_learning(train_state: TrainState, learning_rate: Any, max_grad_norm: Any = None
                 ) -> TrainState:
    """``train_state`` with its injected learning rate (and clipping norm) replaced."""
    values = {"learning_rate": learning_rate}
    if max_grad_norm is not None:
        values["max_grad_norm"] = max_grad_norm
    return set_hyperparams(train_state, **values)


def annealed(learning_rate: jax.Array, step: jax.Array, n_updates: int, anneal: bool
             ) -> jax.Array:
    """The learning rate of update ``step``: ``lr (1 − step / n_updates)`` when annealing."""
    if not anneal:
        return learning_rate
    return learning_rate * (1.0 - step.astype(jnp.float32) / n_updates)


def check_rollout_config(config: Any, *int_fields: str) -> tuple[int, int]:
    """Check an on-policy config's sizes; return ``(batch_size, n_updates)`` with
    ``batch_size = n_envs · n_steps`` transitions per update and
    ``n_updates = total_timesteps // batch_size``."""
    for name in ("total_timesteps", "n_envs", "n_steps", *int_fields):
        as_int(getattr(config, name), f"config.{name}", minimum=1)
    batch_size = config.n_envs * config.n_steps
    if config.total_timesteps < batch_size:
        raise ValueError(f"config.total_timesteps: expected at least n_envs * n_steps = "
                         f"{batch_size}, got {config.total_timesteps}")
    if config.activation not in ("tanh", "relu"):
        raise ValueError(f"config.activation: expected 'tanh' or 'relu', got "
                         f"{config.activation!r}")
    return batch_size, config.total_timesteps // batch_size


def gae(reward: jax.Array, value: jax.Array, next_value: jax.Array, terminated: jax.Array,
        done: jax.Array, gamma: Any, lam: Any) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates along axis 0 (time); ``(advantages, targets)`` with
    ``targets = advantages + value`` (the λ-returns). Arrays ``(T, ...)``; ``done`` is
    terminated or truncated.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import gae
        >>> r, v, no = jnp.ones(3), jnp.zeros(3), jnp.zeros(3, bool)
        >>> adv, target = gae(r, v, v, no, no, 0.5, 1.0)    # λ = 1, V = 0: returns to go
        >>> adv.tolist()                                    # [1 + 0.5 + 0.25, 1 + 0.5, 1]
        [1.75, 1.5, 1.0]
        >>> adv, _ = gae(r, v, jnp.full(3, 2.0), no, no, 0.5, 0.0)
        >>> adv.tolist()                                    # λ = 0: δ = 1 + 0.5 · 2 - 0
        [2.0, 2.0, 2.0]
    """
    check_range(gamma, "gamma", low=0.0, high=1.0)
    not_terminated = 1.0 - terminated.astype(reward.dtype)
    not_done = 1.0 - done.astype(reward.dtype)
    delta = reward + gamma * not_terminated * next_value - value

    def body(next_advantage, inputs):
        d, nd = inputs
        advantage = d + gamma * lam * nd * next_advantage
        return advantage, advantage

    _, adv = jax.lax.scan(body, jnp.zeros_like(delta[0]), (delta, not_done), reverse=True)
    return adv, adv + value


def advantages(net: PolicyNetwork, params: Any, traj: Trajectory, gamma: Any, lam: Any
               ) -> tuple[jax.Array, jax.Array]:
    """GAE of a rollout with the critic of ``params``: V of each ``final_obs`` bootstraps
    (unless terminated); returns ``(advantages, targets)``, each ``(T, N)``."""
    next_value = jax.vmap(jax.vmap(net.value, in_axes=(None, 0)), in_axes=(None, 0))(
        params, traj.final_obs)
    return gae(traj.reward, traj.value, next_value, traj.terminated, traj.done, gamma, lam)


def flatten_time(tree: Any) -> Any:
    """Merge the leading ``(T, N)`` axes of every leaf into one of length ``T N``."""
    return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), tree)


def make_act(net: PolicyNetwork, params: Any) -> Callable[[jax.Array, jax.Array], ActOutput]:
    """Batched ``act(key, obs) -> ActOutput(action, log_prob, value)`` sampling the policy
    (one key per observation; distributions are built per observation)."""

    def one(key, obs):
        dist = net.dist(params, obs)
        action = dist.sample(seed=key)
        return action, dist.log_prob(action), net.value(params, obs)

    def act(key, obs):
        return ActOutput(*jax.vmap(one)(jax.random.split(key, obs.shape[0]), obs))

    return act


def log_prob_entropy(net: PolicyNetwork, params: Any, obs: jax.Array, action: jax.Array
                     ) -> tuple[jax.Array, jax.Array]:
    """Per-example ``(log π(a|s), H(π(·|s)))`` of a batch, each ``(B,)``."""
    def one(o, a):
        dist = net.dist(params, o)
        return dist.log_prob(a), dist.entropy()

    return jax.vmap(one)(obs, action)


def actor_critic_policy(net: PolicyNetwork, params: Any, deterministic: bool = True
                        ) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``policy(key, obs) -> action`` of one observation: the mode (argmax or mean) if
    ``deterministic``, else a sample."""

    def policy(key, obs):
        dist = net.dist(params, obs)
        return dist.mode() if deterministic else dist.sample(seed=key)

    return policy
