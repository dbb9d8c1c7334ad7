r"""Shared pieces of the on-policy agents (REINFORCE, A2C, PPO, TRPO).

* :func:`make_actor_critic` builds separate actor and critic MLPs for an
  environment: a categorical head (logits) for ``Discrete`` actions, a diagonal
  Gaussian head (state-dependent mean, state-independent log σ) for ``Box``
  actions. The policy at an observation is a ``distrax`` distribution.
* :func:`rollout` runs ``n_steps`` steps of ``n_envs`` vmapped environments
  (auto-reset) in one ``lax.scan`` and returns a :class:`Trajectory` with
  leading axes ``(n_steps, n_envs)``.
* :func:`gae` computes generalised advantage estimates,

  .. math::

      \delta_t = r_t + \gamma (1 - \mathrm{term}_t) V(s'_t) - V(s_t), \qquad
      A_t = \delta_t + \gamma\lambda (1 - \mathrm{done}_t) A_{t+1},

  with :math:`s'_t` the true next state of the transition (``final_obs``, also
  at a truncation, so truncated episodes are bootstrapped and terminated ones
  are not); :math:`\lambda = 1` gives n-step returns up to the rollout end.
* :func:`episode_summary` turns the per-step episode bookkeeping into the mean
  return of the episodes that finished during a rollout.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._cartpole import CartPole
    >>> env = CartPole()
    >>> net = make_actor_critic(env, env.default_params(), hidden=(16,))
    >>> params = net.init(jax.random.key(0))
    >>> obs, _ = env.reset(jax.random.key(1))
    >>> net.dist(params.actor, obs).probs.shape, net.value(params.critic, obs).shape
    ((2,), ())
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.rl.envs._base import Box, Discrete

__all__ = ["ActorCriticParams", "ActorCritic", "make_actor_critic", "RunnerState", "Trajectory",
           "init_runner", "rollout", "gae", "episode_summary", "actor_critic_policy"]


class ActorCriticParams(NamedTuple):
    """Fields: actor (flax params of the policy net), critic (flax params of the value net)."""

    actor: Any
    critic: Any


class _MLP(nn.Module):
    """Dense layers with orthogonal initialisation (gain √2 hidden, ``out_scale`` last)."""

    hidden: Sequence[int]
    out_dim: int
    out_scale: float
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = {"tanh": jnp.tanh, "relu": nn.relu}[self.activation]
        for width in self.hidden:
            x = act(nn.Dense(width, kernel_init=nn.initializers.orthogonal(np.sqrt(2.0)))(x))
        return nn.Dense(self.out_dim, kernel_init=nn.initializers.orthogonal(self.out_scale))(x)


class _GaussianActor(nn.Module):
    hidden: Sequence[int]
    action_dim: int
    activation: str = "tanh"

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        mean = _MLP(self.hidden, self.action_dim, 0.01, self.activation)(x)
        log_std = self.param("log_std", nn.initializers.zeros, (self.action_dim,))
        return mean, jnp.broadcast_to(log_std, mean.shape)


class ActorCritic(NamedTuple):
    """An actor and a critic for one environment (all functions are per observation).

    Fields:
        init: ``init(key) -> ActorCriticParams``.
        dist: ``dist(actor_params, obs) -> distrax.Distribution`` over one action.
        value: ``value(critic_params, obs) -> ()`` float32 state value.
        discrete: whether actions are integers (categorical head).
        action_shape: shape of one action, ``()`` or ``(d,)``.
    """

    init: Callable[[jax.Array], ActorCriticParams]
    dist: Callable[[Any, jax.Array], distrax.Distribution]
    value: Callable[[Any, jax.Array], jax.Array]
    discrete: bool
    action_shape: tuple[int, ...]


def make_actor_critic(env: Any, env_params: Any, *, hidden: Sequence[int] = (64, 64),
                      activation: str = "tanh") -> ActorCritic:
    """Separate actor and critic MLPs sized for ``env`` (see the module docstring).

    The critic's last layer has gain 1, the actor's 0.01 (a near-uniform initial
    policy), hidden layers √2 (orthogonal initialisation).
    """
    if activation not in ("tanh", "relu"):
        raise ValueError(f"activation: expected 'tanh' or 'relu', got {activation!r}")
    hidden = tuple(int(h) for h in hidden)
    params = env.default_params() if env_params is None else env_params
    obs_space = env.observation_space(params)
    act_space = env.action_space(params)
    example = jnp.zeros(obs_space.shape, jnp.float32)
    critic = _MLP(hidden, 1, 1.0, activation)
    if isinstance(act_space, Discrete):
        actor = _MLP(hidden, act_space.n, 0.01, activation)

        def dist(actor_params, obs):
            return distrax.Categorical(logits=actor.apply(actor_params, obs))
        discrete, action_shape = True, ()
    elif isinstance(act_space, Box):
        if len(act_space.shape) != 1:
            raise ValueError(f"env: expected a 1-d Box action space, got shape {act_space.shape}")
        actor = _GaussianActor(hidden, act_space.shape[0], activation)

        def dist(actor_params, obs):
            mean, log_std = actor.apply(actor_params, obs)
            return distrax.MultivariateNormalDiag(mean, jnp.exp(log_std))
        discrete, action_shape = False, tuple(act_space.shape)
    else:
        raise ValueError(f"env: unsupported action space {act_space!r}")

    def init(key):
        key_actor, key_critic = jax.random.split(key)
        return ActorCriticParams(actor.init(key_actor, example), critic.init(key_critic, example))

    def value(critic_params, obs):
        return critic.apply(critic_params, obs)[..., 0]

    return ActorCritic(init, dist, value, discrete, action_shape)


def actor_critic_policy(net: ActorCritic, params: ActorCriticParams, *, deterministic: bool = True
                        ) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``policy(key, obs) -> action`` for :func:`jaxphys.rl._evaluate.evaluate`: the mode
    (argmax or mean) if ``deterministic``, else a sample."""

    def policy(key, obs):
        d = net.dist(params.actor, obs)
        return d.mode() if deterministic else d.sample(seed=key)

    return policy


class RunnerState(NamedTuple):
    """Vectorised environments between rollouts (leading axis n_envs).

    Fields:
        obs: (n_envs, *obs_shape) float32 current observations.
        env_state: batched environment state.
        episode_return: (n_envs,) float32 return of the running episodes so far.
        episode_length: (n_envs,) int32 steps of the running episodes so far.
    """

    obs: jax.Array
    env_state: Any
    episode_return: jax.Array
    episode_length: jax.Array


class Trajectory(NamedTuple):
    """A rollout, leading axes ``(n_steps, n_envs)``.

    Fields:
        obs: (T, N, *obs_shape) observations the actions were taken in.
        action: (T, N, *action_shape) actions (before the environment's clipping).
        log_prob: (T, N) log π(a|s) under the acting policy.
        value: (T, N) V(s) under the acting critic.
        reward: (T, N) float32 rewards.
        terminated: (T, N) bool, the transition ended the episode in a terminal state.
        done: (T, N) bool, terminated or truncated (the next obs starts a new episode).
        final_obs: (T, N, *obs_shape) the state each action led to (before auto-reset).
        finished_return: (T, N) float32 return of the episode that ended here (0 elsewhere).
        finished_length: (T, N) int32 length of the episode that ended here (0 elsewhere).
    """

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    terminated: jax.Array
    done: jax.Array
    final_obs: jax.Array
    finished_return: jax.Array
    finished_length: jax.Array


def init_runner(key: jax.Array, env: Any, env_params: Any, n_envs: int) -> RunnerState:
    """Reset ``n_envs`` environments."""
    obs, state = jax.vmap(env.reset_env, in_axes=(0, None))(jax.random.split(key, n_envs),
                                                            env_params)
    return RunnerState(obs, state, jnp.zeros(n_envs, jnp.float32), jnp.zeros(n_envs, jnp.int32))


def rollout(key: jax.Array, env: Any, env_params: Any, act: Callable, runner: RunnerState,
            n_steps: int) -> tuple[RunnerState, Trajectory]:
    """``n_steps`` steps of the vmapped environments under ``act``.

    ``act(key, obs) -> (action, log_prob, value)`` acts on the batch ``(n_envs, ...)``.
    """
    n_envs = runner.episode_return.shape[0]
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def body(carry, _):
        runner, k = carry
        k, key_act, key_env = jax.random.split(k, 3)
        action, log_prob, value = act(key_act, runner.obs)
        obs, env_state, reward, terminated, truncated, info = step(
            jax.random.split(key_env, n_envs), runner.env_state, action, env_params)
        done = terminated | truncated
        ep_ret = runner.episode_return + reward
        ep_len = runner.episode_length + 1
        traj = Trajectory(runner.obs, action, log_prob, value, reward, terminated, done,
                          info["final_obs"], jnp.where(done, ep_ret, 0.0),
                          jnp.where(done, ep_len, 0))
        runner = RunnerState(obs, env_state, jnp.where(done, 0.0, ep_ret),
                             jnp.where(done, 0, ep_len))
        return (runner, k), traj

    (runner, _), traj = jax.lax.scan(body, (runner, key), None, length=n_steps)
    return runner, traj


def gae(reward: jax.Array, value: jax.Array, next_value: jax.Array, terminated: jax.Array,
        done: jax.Array, gamma: jax.Array, lam: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates along axis 0 (time); returns ``(advantages, targets)``
    with ``targets = advantages + value`` (the λ-returns). Shapes ``(T, ...)``."""
    not_term = 1.0 - terminated.astype(reward.dtype)
    not_done = 1.0 - done.astype(reward.dtype)
    delta = reward + gamma * not_term * next_value - value

    def body(next_adv, inputs):
        d, nd = inputs
        adv = d + gamma * lam * nd * next_adv
        return adv, adv

    _, adv = jax.lax.scan(body, jnp.zeros_like(delta[0]), (delta, not_done), reverse=True)
    return adv, adv + value


def episode_summary(traj: Trajectory) -> tuple[jax.Array, jax.Array]:
    """``(mean_return, n_finished)`` of the episodes that ended in ``traj`` (mean NaN if none)."""
    n = jnp.sum(traj.done)
    mean = jnp.sum(traj.finished_return) / jnp.where(n > 0, n, 1)
    return jnp.where(n > 0, mean, jnp.nan), n


def forward_fill(x: jax.Array) -> jax.Array:
    """Replace NaNs along axis 0 by the last finite value before them (NaN before any)."""

    def body(last, v):
        v = jnp.where(jnp.isnan(v), last, v)
        return v, v

    return jax.lax.scan(body, jnp.full_like(x[0], jnp.nan), x)[1]


def check_rollout_config(cfg: Any, config_type: type, *int_fields: str) -> tuple[int, int]:
    """Check an on-policy config's type and sizes; return ``(batch_size, n_updates)``.

    ``batch_size = n_envs * n_steps`` transitions per update and
    ``n_updates = total_timesteps // batch_size``; ``int_fields`` are further
    fields that must be integers ≥ 1.
    """
    from jaxphys._checks import as_int

    if not isinstance(cfg, config_type):
        raise TypeError(f"config: expected a {config_type.__name__}, got {type(cfg).__name__}")
    for name in ("total_timesteps", "n_envs", "n_steps", *int_fields):
        as_int(getattr(cfg, name), name, minimum=1)
    batch_size = cfg.n_envs * cfg.n_steps
    if cfg.total_timesteps < batch_size:
        raise ValueError(f"total_timesteps: expected at least n_envs * n_steps = {batch_size}, "
                         f"got {cfg.total_timesteps}")
    return batch_size, cfg.total_timesteps // batch_size


def per_update_curve(metrics: dict, batch_size: int) -> dict:
    """Per-update metrics of a scanned run with ``episode_return`` forward-filled over
    updates in which no episode ended, and ``env_steps`` (n_updates,) int32 added."""
    n_updates = metrics["episode_return"].shape[0]
    metrics["episode_return"] = forward_fill(metrics["episode_return"])
    metrics["env_steps"] = (jnp.arange(1, n_updates + 1) * batch_size).astype(jnp.int32)
    return metrics


def attach_policy(train: Callable, net: ActorCritic, cfg: Any) -> Callable:
    """Give ``train`` its ``policy(params, deterministic=True)``, ``network`` and ``config``."""
    train.policy = lambda params, deterministic=True: actor_critic_policy(
        net, params, deterministic=deterministic)
    train.network = net
    train.config = cfg
    return train


def make_act(net: ActorCritic, params: ActorCriticParams) -> Callable:
    """Batched ``act(key, obs) -> (action, log_prob, value)`` sampling the policy."""

    def act(key, obs):
        d = jax.vmap(net.dist, in_axes=(None, 0))(params.actor, obs)
        action = d.sample(seed=key)
        log_prob = d.log_prob(action)
        value = jax.vmap(net.value, in_axes=(None, 0))(params.critic, obs)
        return action, log_prob, value

    return act


def check_float(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                strict_low: bool = False) -> Any:
    """Range-check a (possibly traced) sweepable hyperparameter; concrete values only."""
    from jaxphys._checks import is_concrete

    if not is_concrete(value):
        return value
    arr = np.asarray(value, dtype=float)
    if arr.shape != ():
        raise ValueError(f"{name}: expected a scalar, got shape {arr.shape}")
    if not np.isfinite(arr):
        raise ValueError(f"{name}: expected a finite value, got {value!r}")
    if low is not None and (arr < low or (strict_low and arr == low)):
        op = ">" if strict_low else ">="
        raise ValueError(f"{name}: expected a value {op} {low}, got {value!r}")
    if high is not None and arr > high:
        raise ValueError(f"{name}: expected a value <= {high}, got {value!r}")
    return value
