r"""Soft actor-critic (SAC) for continuous actions, in one jittable function.

Maximum-entropy RL (Haarnoja et al. 2018, with twin critics and a learned
temperature): the actor is a tanh-squashed Gaussian,
:math:`a = \tanh(\mu_\theta(s) + \sigma_\theta(s)\,\xi)` rescaled to the action
box, with log-density
:math:`\log\pi(a|s) = \log\mathcal N(u; \mu, \sigma) - \sum_i \log(1 - \tanh^2 u_i)`.
Each gradient step on a minibatch from the replay buffer minimises

.. math::

    L_Q &= \sum_{j=1,2} \mathbb{E}\big[(Q_j(s, a) - y)^2\big], \quad
    y = r + \gamma (1 - \mathrm{term}) \big(\min_j \bar Q_j(s', a') - \alpha \log\pi(a'|s')\big),\\
    L_\pi &= \mathbb{E}\big[\alpha \log\pi(a|s) - \min_j Q_j(s, a)\big], \qquad
    L_\alpha = -\log\alpha\; \mathbb{E}[\log\pi(a|s) + \bar{\mathcal H}],

with :math:`a' \sim \pi(\cdot|s')`, :math:`\bar Q_j` Polyak-averaged target
critics (rate τ) and target entropy :math:`\bar{\mathcal H} = -\dim a`.
Truncated episodes are bootstrapped (``term`` is the true termination flag).

The replay buffer is a fixed-size pytree ring buffer (:class:`ReplayBuffer`,
:func:`buffer_init`, :func:`buffer_add`, :func:`buffer_sample`). Each iteration
steps ``n_envs`` vmapped environments once, stores the transitions and (after
``learning_starts`` environment steps of uniformly random actions) takes
``gradient_steps`` gradient steps.

``make_train(env, env_params, config) -> train(key) -> SACResult``, jittable and
vmappable over keys; ``train.policy(params)`` is the deterministic policy
:math:`\tanh\mu(s)` (rescaled) for ``evaluate``.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._pendulum import Pendulum
    >>> env = Pendulum()
    >>> cfg = SACConfig(total_timesteps=64, learning_starts=32, batch_size=16, hidden=(16,))
    >>> res = jax.jit(make_train(env, None, cfg))(jax.random.key(0))
    >>> res.metrics["episode_return"].shape
    (64,)
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import as_int, check_key
from jaxphys.rl._policy_gradient import check_float, forward_fill, init_runner, rollout
from jaxphys.rl.envs._base import Box

__all__ = ["SACConfig", "SACParams", "SACResult", "ReplayBuffer", "buffer_init", "buffer_add",
           "buffer_sample", "tanh_gaussian_sample", "make_train"]

LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


# ----------------------------------------------------------------------------- replay buffer
class ReplayBuffer(NamedTuple):
    """A ring buffer of transitions with fixed capacity ``C``.

    Fields:
        obs: (C, *obs_shape) float32.
        action: (C, *action_shape) float32.
        reward: (C,) float32.
        next_obs: (C, *obs_shape) float32, the true next state (before any auto-reset).
        terminated: (C,) bool, whether the next state is terminal (no bootstrap).
        position: int32 scalar, the slot the next transition goes to.
        size: int32 scalar, number of filled slots (≤ C).
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array
    position: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        return self.reward.shape[0]


def buffer_init(capacity: int, obs_shape: Sequence[int], action_shape: Sequence[int]
                ) -> ReplayBuffer:
    """An empty buffer.

    >>> buf = buffer_init(4, (3,), (1,))
    >>> buf.obs.shape, int(buf.size)
    ((4, 3), 0)
    """
    capacity = as_int(capacity, "capacity", minimum=1)
    z = jnp.zeros
    return ReplayBuffer(z((capacity, *obs_shape), jnp.float32), z((capacity, *action_shape),
                                                                   jnp.float32),
                        z((capacity,), jnp.float32), z((capacity, *obs_shape), jnp.float32),
                        z((capacity,), bool), jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))


def buffer_add(buf: ReplayBuffer, obs: jax.Array, action: jax.Array, reward: jax.Array,
               next_obs: jax.Array, terminated: jax.Array) -> ReplayBuffer:
    """Insert a batch of ``n`` transitions (leading axis ``n ≤ C``), overwriting the oldest.

    >>> import jax.numpy as jnp
    >>> buf = buffer_init(3, (1,), (1,))
    >>> for i in range(2):
    ...     x = jnp.full((2, 1), float(i))
    ...     buf = buffer_add(buf, x, x, jnp.full(2, float(i)), x, jnp.zeros(2, bool))
    >>> buf.reward.tolist(), int(buf.position), int(buf.size)
    ([1.0, 0.0, 1.0], 1, 3)
    """
    n = reward.shape[0]
    if n > buf.capacity:
        raise ValueError(f"reward: expected at most capacity = {buf.capacity} transitions, got {n}")
    idx = (buf.position + jnp.arange(n)) % buf.capacity
    return ReplayBuffer(buf.obs.at[idx].set(obs), buf.action.at[idx].set(action),
                        buf.reward.at[idx].set(reward), buf.next_obs.at[idx].set(next_obs),
                        buf.terminated.at[idx].set(terminated),
                        (buf.position + n) % buf.capacity,
                        jnp.minimum(buf.size + n, buf.capacity))


def buffer_sample(key: jax.Array, buf: ReplayBuffer, batch_size: int) -> ReplayBuffer:
    """``batch_size`` transitions drawn uniformly with replacement from the filled slots
    (returned as a ReplayBuffer whose arrays have leading axis ``batch_size``)."""
    idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buf.size, 1))
    return ReplayBuffer(buf.obs[idx], buf.action[idx], buf.reward[idx], buf.next_obs[idx],
                        buf.terminated[idx], buf.position, buf.size)


# ----------------------------------------------------------------------------- networks
def tanh_gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array
                         ) -> tuple[jax.Array, jax.Array]:
    r"""Sample :math:`a = \tanh(u)`, :math:`u \sim \mathcal N(\mu, \sigma^2)` (diagonal, last
    axis the action dimension), and its log-density
    :math:`\log\mathcal N(u) - \sum_i \log(1 - \tanh^2 u_i)`, with
    :math:`\log(1 - \tanh^2 u) = 2(\log 2 - u - \mathrm{softplus}(-2u))` (stable for large |u|).

    Shapes: ``mean``, ``log_std`` (..., d) -> ``(a (..., d), log_prob (...))``.
    """
    std = jnp.exp(log_std)
    u = mean + std * jax.random.normal(key, mean.shape, mean.dtype)
    logp = jnp.sum(-0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)
    logp = logp - jnp.sum(2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u)), axis=-1)
    return jnp.tanh(u), logp



class _Actor(nn.Module):
    hidden: Sequence[int]
    action_dim: int

    @nn.compact
    def __call__(self, obs):
        x = obs
        for w in self.hidden:
            x = nn.relu(nn.Dense(w)(x))
        mean = nn.Dense(self.action_dim)(x)
        log_std = jnp.tanh(nn.Dense(self.action_dim)(x))
        log_std = LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1)
        return mean, log_std


class _Critic(nn.Module):
    hidden: Sequence[int]

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        for w in self.hidden:
            x = nn.relu(nn.Dense(w)(x))
        return nn.Dense(1)(x)[..., 0]


class _TwinCritic(nn.Module):
    hidden: Sequence[int]

    @nn.compact
    def __call__(self, obs, action):
        ensemble = nn.vmap(_Critic, variable_axes={"params": 0}, split_rngs={"params": True},
                           in_axes=None, out_axes=0, axis_size=2)
        return ensemble(self.hidden)(obs, action)          # (2, ...)


class SACParams(NamedTuple):
    """Fields: actor, critic (twin Q, leading axis 2 on every leaf), target_critic
    (Polyak average of critic), log_alpha (float32 scalar, log temperature)."""

    actor: Any
    critic: Any
    target_critic: Any
    log_alpha: jax.Array


class SACConfig(NamedTuple):
    """SAC hyperparameters (defaults: Pendulum-v1).

    Static: ``total_timesteps`` (environment steps summed over envs), ``n_envs``,
    ``buffer_size``, ``batch_size``, ``learning_starts`` (environment steps of
    random actions before learning), ``gradient_steps`` (per iteration),
    ``hidden``, ``autotune`` (learn α). Sweepable: ``learning_rate`` (all three
    Adam optimisers), ``gamma``, ``tau``, ``init_alpha``.
    """

    total_timesteps: int = 12_000
    n_envs: int = 1
    buffer_size: int = 100_000
    batch_size: int = 128
    learning_starts: int = 1_000
    gradient_steps: int = 1
    learning_rate: Any = 1e-3
    gamma: Any = 0.99
    tau: Any = 0.005
    init_alpha: Any = 1.0
    autotune: bool = True
    hidden: Sequence[int] = (128, 128)


class SACResult(NamedTuple):
    """Fields: params (SACParams); metrics, dict of (n_iterations,) arrays:
    ``episode_return`` (mean of the episodes that ended in the iteration, carried forward;
    NaN before the first episode ends),
    ``n_episodes``, ``env_steps``, ``critic_loss``, ``actor_loss``, ``alpha``, ``entropy``
    (−mean log π of the minibatch). Losses are 0 before learning starts."""

    params: SACParams
    metrics: dict


def make_train(env: Any, env_params: Any = None, config: SACConfig = SACConfig()):
    """Build ``train(key) -> SACResult`` (see the module docstring)."""
    if not isinstance(config, SACConfig):
        raise TypeError(f"config: expected a SACConfig, got {type(config).__name__}")
    cfg = config
    for name in ("total_timesteps", "n_envs", "buffer_size", "batch_size", "gradient_steps"):
        as_int(getattr(cfg, name), name, minimum=1)
    as_int(cfg.learning_starts, "learning_starts", minimum=0)
    if cfg.total_timesteps < cfg.n_envs:
        raise ValueError(f"total_timesteps: expected at least n_envs = {cfg.n_envs}, "
                         f"got {cfg.total_timesteps}")
    if cfg.buffer_size < cfg.n_envs:
        raise ValueError(f"buffer_size: expected at least n_envs = {cfg.n_envs}, "
                         f"got {cfg.buffer_size}")
    check_float(cfg.learning_rate, "learning_rate", low=0.0, strict_low=True)
    check_float(cfg.gamma, "gamma", low=0.0, high=1.0)
    check_float(cfg.tau, "tau", low=0.0, high=1.0)
    check_float(cfg.init_alpha, "init_alpha", low=0.0, strict_low=True)
    env_params = env.default_params() if env_params is None else env_params
    act_space = env.action_space(env_params)
    if not isinstance(act_space, Box) or len(act_space.shape) != 1:
        raise ValueError(f"env: SAC needs a 1-d Box action space, got {act_space!r}")
    obs_shape = tuple(env.observation_space(env_params).shape)
    action_dim = act_space.shape[0]
    low = jnp.broadcast_to(jnp.asarray(act_space.low, jnp.float32), (action_dim,))
    high = jnp.broadcast_to(jnp.asarray(act_space.high, jnp.float32), (action_dim,))
    actor, critic = _Actor(tuple(cfg.hidden), action_dim), _TwinCritic(tuple(cfg.hidden))
    target_entropy = -float(action_dim)
    n_iters = cfg.total_timesteps // cfg.n_envs

    def _bounds(a):          # low, high shaped to broadcast against a (..., d) explicitly
        shape = (1,) * (a.ndim - 1) + (action_dim,)
        return low.reshape(shape), high.reshape(shape)

    def to_env(a):           # [-1, 1] -> [low, high]
        lo, hi = _bounds(a)
        return lo + 0.5 * (a + 1.0) * (hi - lo)

    def from_env(a):
        lo, hi = _bounds(a)
        return 2.0 * (a - lo) / (hi - lo) - 1.0

    def sample_action(key, actor_params, obs):
        mean, log_std = actor.apply(actor_params, obs)
        return tanh_gaussian_sample(key, mean, log_std)

    def policy_from(params):
        def policy(key, obs):
            return to_env(jnp.tanh(actor.apply(params.actor, obs)[0]))
        return policy

    def train(key: jax.Array) -> SACResult:
        check_key(key)
        key_actor, key_critic, key_env, key_loop = jax.random.split(key, 4)
        example_obs = jnp.zeros((1,) + obs_shape, jnp.float32)
        example_act = jnp.zeros((1, action_dim), jnp.float32)
        actor_params = actor.init(key_actor, example_obs)
        critic_params = critic.init(key_critic, example_obs, example_act)
        log_alpha = jnp.log(jnp.asarray(cfg.init_alpha, jnp.float32))
        params = SACParams(actor_params, critic_params, critic_params, log_alpha)
        tx = optax.adam(jnp.asarray(cfg.learning_rate, jnp.float32))
        opt_states = (tx.init(actor_params), tx.init(critic_params), tx.init(log_alpha))
        buf = buffer_init(cfg.buffer_size, obs_shape, (action_dim,))
        runner = init_runner(key_env, env, env_params, cfg.n_envs)

        def grad_step(buf, carry):
            params, opt_states, k = carry
            k, key_batch, key_next, key_pi = jax.random.split(k, 4)
            b = buffer_sample(key_batch, buf, cfg.batch_size)
            alpha = jnp.exp(params.log_alpha)
            a_next, logp_next = sample_action(key_next, params.actor, b.next_obs)
            q_next = jnp.min(critic.apply(params.target_critic, b.next_obs, a_next), axis=0)
            y = b.reward + cfg.gamma * (1.0 - b.terminated.astype(jnp.float32)) * (
                q_next - alpha * logp_next)
            y = jax.lax.stop_gradient(y)

            def critic_loss(cp):
                q = critic.apply(cp, b.obs, b.action)
                return jnp.sum(jnp.mean((q - y[None]) ** 2, axis=1))

            closs, cgrad = jax.value_and_grad(critic_loss)(params.critic)
            cupd, c_opt = tx.update(cgrad, opt_states[1], params.critic)
            new_critic = optax.apply_updates(params.critic, cupd)

            def actor_loss(ap):
                a, logp = sample_action(key_pi, ap, b.obs)
                q = jnp.min(critic.apply(new_critic, b.obs, a), axis=0)
                return jnp.mean(alpha * logp - q), logp

            (aloss, logp), agrad = jax.value_and_grad(actor_loss, has_aux=True)(params.actor)
            aupd, a_opt = tx.update(agrad, opt_states[0], params.actor)
            new_actor = optax.apply_updates(params.actor, aupd)

            def alpha_loss(la):
                return -la * jnp.mean(jax.lax.stop_gradient(logp) + target_entropy)

            lgrad = jax.grad(alpha_loss)(params.log_alpha)
            lupd, l_opt = tx.update(lgrad, opt_states[2], params.log_alpha)
            new_log_alpha = (optax.apply_updates(params.log_alpha, lupd) if cfg.autotune
                             else params.log_alpha)
            new_target = jax.tree.map(lambda t, c: (1 - cfg.tau) * t + cfg.tau * c,
                                      params.target_critic, new_critic)
            params = SACParams(new_actor, new_critic, new_target, new_log_alpha)
            stats = {"critic_loss": closs, "actor_loss": aloss, "alpha": jnp.exp(new_log_alpha),
                     "entropy": -jnp.mean(logp)}
            return (params, (a_opt, c_opt, l_opt), k), stats

        def iteration(carry, it):
            params, opt_states, buf, runner, k = carry
            k, key_roll, key_learn = jax.random.split(k, 3)
            learning = it * cfg.n_envs >= cfg.learning_starts

            def act(key_a, obs):
                key_rand, key_pi = jax.random.split(key_a)
                rand = jax.random.uniform(key_rand, (cfg.n_envs, action_dim), minval=-1.0,
                                          maxval=1.0)
                pi, _ = sample_action(key_pi, params.actor, obs)
                a = jnp.where(learning, pi, rand)
                return to_env(a), jnp.zeros(cfg.n_envs), jnp.zeros(cfg.n_envs)

            runner, traj = rollout(key_roll, env, env_params, act, runner, 1)
            buf = buffer_add(buf, traj.obs[0], from_env(traj.action[0]), traj.reward[0],
                             traj.final_obs[0], traj.terminated[0])

            def learn(operand):
                params, opt_states = operand
                (params, opt_states, _), stats = jax.lax.scan(
                    lambda c, _: grad_step(buf, c), (params, opt_states, key_learn), None,
                    length=cfg.gradient_steps)
                return params, opt_states, jax.tree.map(jnp.mean, stats)

            def skip(operand):
                params, opt_states = operand
                zero = jnp.asarray(0.0, jnp.float32)
                return params, opt_states, {"critic_loss": zero, "actor_loss": zero,
                                            "alpha": jnp.exp(params.log_alpha), "entropy": zero}

            params, opt_states, stats = jax.lax.cond(learning, learn, skip, (params, opt_states))
            n = jnp.sum(traj.done)
            stats["episode_return"] = jnp.where(
                n > 0, jnp.sum(traj.finished_return) / jnp.maximum(n, 1), jnp.nan)
            stats["n_episodes"] = n
            return (params, opt_states, buf, runner, k), stats

        (params, _, _, _, _), metrics = jax.lax.scan(
            iteration, (params, opt_states, buf, runner, key_loop), jnp.arange(n_iters))
        metrics["episode_return"] = forward_fill(metrics["episode_return"])
        metrics["env_steps"] = (jnp.arange(1, n_iters + 1) * cfg.n_envs).astype(jnp.int32)
        return SACResult(params, metrics)

    train.policy = policy_from
    train.config = cfg
    return train
