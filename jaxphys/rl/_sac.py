r"""Soft actor-critic (SAC) for continuous actions.

Maximum-entropy RL (Haarnoja et al. 2018, *Soft actor-critic algorithms and
applications*, twin critics and a learned temperature): the actor is a tanh-squashed
Gaussian, :math:`a = \tanh(\mu_\theta(s) + \sigma_\theta(s)\,\xi)` rescaled to the action
box, with log-density
:math:`\log\pi(a|s) = \log\mathcal N(u; \mu, \sigma) - \sum_i \log(1 - \tanh^2 u_i)`.
Each gradient step on a minibatch from the replay buffer takes one
:func:`jaxphys.core.make_train_step` step on each of

.. math::

    L_Q &= \sum_{j=1,2} \mathbb{E}\big[(Q_j(s, a) - y)^2\big], \quad
    y = r + \gamma (1 - \mathrm{term}) \big(\min_j \bar Q_j(s', a') - \alpha \log\pi(a'|s')\big),\\
    L_\pi &= \mathbb{E}\big[\alpha \log\pi(a|s) - \min_j Q_j(s, a)\big], \qquad
    L_\alpha = -\log\alpha\; \mathbb{E}[\log\pi(a|s) + \bar{\mathcal H}],

with :math:`a' \sim \pi(\cdot|s')`, :math:`\bar Q_j` Polyak-averaged target critics (rate
τ) and target entropy :math:`\bar{\mathcal H} = -\dim a`. ``term`` is the true
termination: truncated episodes are bootstrapped from their final observation.

One update steps ``n_envs`` environments once with the shared rollout (uniformly random
actions for the first ``learning_starts`` environment steps), stores the transitions in
the replay buffer, then takes ``gradient_steps`` gradient steps.

``make_sac(env, env_params, config, *, network=None) -> Agent``; ``network`` is an
:class:`~jaxphys.rl.ActorCritic`: actor ``obs -> (mean, log_std)`` of the pre-squash
Gaussian, critic ``(obs, action) -> Q`` (the agent builds twin critics from it).

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import Pendulum
    >>> cfg = SACConfig(total_timesteps=48, learning_starts=32, batch_size=8, hidden=(8,))
    >>> agent = make_sac(Pendulum(), None, cfg)
    >>> state = agent.init(jax.random.key(0))
    >>> agent.n_updates, float(jax.numpy.exp(state.log_alpha.params))
    (48, 1.0)
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import as_int
from jaxphys.core import TrainState, as_model, make_train_step, set_hyperparams
from jaxphys.rl._agent import RATE, UNIT, Agent, build_agent, check_config_type
from jaxphys.rl._networks import (LOG_STD_MAX, LOG_STD_MIN, ActorCritic, check_policy_output,
                                  check_value_output, trace_model)
from jaxphys.rl._replay import ReplayBuffer, replay_add_batch, replay_init, replay_sample
from jaxphys.rl._rollout import (ActOutput, RunnerState, Transition, episode_metrics,
                                 init_runner, rollout, transitions)
from jaxphys.rl._sac_networks import (SACActorMLP, SACCriticMLP, soft_q_target,
                                      tanh_gaussian_sample)
from jaxphys.rl.envs._base import Box

__all__ = ["SACConfig", "SACHyperparams", "SACParams", "SACState", "SACLearners", "make_sac"]


@dataclasses.dataclass(frozen=True)
class SACConfig:
    """Static settings of SAC (defaults: Pendulum-v1).

    Fields: total_timesteps (environment steps, summed over envs), n_envs, buffer_size,
    batch_size, learning_starts (environment steps of random actions before learning,
    below total_timesteps), gradient_steps (per update), autotune (learn α), hidden
    (widths of the default networks).

    >>> from jaxphys.rl import SACConfig
    >>> cfg = SACConfig()
    >>> cfg.total_timesteps // cfg.n_envs, cfg.learning_starts   # updates; random-action steps
    (12000, 1000)
    """

    total_timesteps: int = 12_000
    n_envs: int = 1
    buffer_size: int = 100_000
    batch_size: int = 128
    learning_starts: int = 1_000
    gradient_steps: int = 1
    autotune: bool = True
    hidden: Sequence[int] = (128, 128)


class SACHyperparams(NamedTuple):
    """The floats of SAC one may sweep: learning_rate (all three Adams, > 0), gamma
    ([0, 1]), tau (Polyak rate, [0, 1]), alpha (initial temperature, the fixed one
    without autotune, > 0).

    >>> from jaxphys.rl import SACHyperparams
    >>> hp = SACHyperparams()
    >>> hp.tau, hp.alpha
    (0.005, 1.0)
    >>> hp._replace(alpha=0.2).alpha               # a fixed temperature (autotune=False)
    0.2
    """

    learning_rate: Any = 1e-3
    gamma: Any = 0.99
    tau: Any = 0.005
    alpha: Any = 1.0


SPECS = {"learning_rate": RATE, "gamma": UNIT, "tau": UNIT, "alpha": RATE}


class SACParams(NamedTuple):
    """Fields: actor, critic (twin Q: leading axis 2 on every leaf), target_critic
    (Polyak average of critic), log_alpha (float32 scalar, log temperature).

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import SACParams
    >>> twin = {"w": jnp.zeros((2, 3))}                 # leading axis 2: Q_1 and Q_2
    >>> p = SACParams(actor={"w": jnp.zeros(3)}, critic=twin, target_critic=twin,
    ...               log_alpha=jnp.log(jnp.float32(0.2)))
    >>> p.critic["w"].shape, round(float(jnp.exp(p.log_alpha)), 4)     # α = 0.2
    ((2, 3), 0.2)
    """

    actor: Any
    critic: Any
    target_critic: Any
    log_alpha: jax.Array


class SACLearners(NamedTuple):
    """What a SAC gradient step updates (the carry of the ``gradient_steps`` scan).

    Fields: actor, critic, log_alpha (``jaxphys.core.TrainState`` s), target_critic
    (parameters).
    """

    actor: TrainState
    critic: TrainState
    log_alpha: TrainState
    target_critic: Any


class SACState(NamedTuple):
    """The state of SAC.

    Fields:
        step: int32 scalar, updates done.
        actor, critic, log_alpha: ``jaxphys.core.TrainState`` s (each carries its Adam).
        target_critic: the target critics' parameters.
        buffer: the replay buffer of :class:`~jaxphys.rl.Transition` (actions in [-1, 1]).
        runner: the environments. hparams: the :class:`SACHyperparams`.

    ``agent.init(key)`` of :func:`~jaxphys.rl.make_sac` returns one; ``state.params``
    gathers the parameters into a :class:`SACParams`.

    >>> from jaxphys.rl import SACState
    >>> SACState._fields
    ('step', 'actor', 'critic', 'log_alpha', 'target_critic', 'buffer', 'runner', 'hparams')
    """

    step: jax.Array
    actor: TrainState
    critic: TrainState
    log_alpha: TrainState
    target_critic: Any
    buffer: ReplayBuffer
    runner: RunnerState
    hparams: Any

    @property
    def params(self) -> SACParams:
        """All parameters (``agent.policy`` uses the actor's)."""
        return SACParams(self.actor.params, self.critic.params, self.target_critic,
                         self.log_alpha.params)


def make_sac(env: Any, env_params: Any = None, config: SACConfig = SACConfig(), *,
             network: Any = None) -> Agent:
    """Build the SAC :class:`~jaxphys.rl.Agent` (module docstring).

    >>> from jaxphys.rl import SACConfig, make_sac
    >>> from jaxphys.rl.envs import Pendulum
    >>> cfg = SACConfig(total_timesteps=400, learning_starts=100, batch_size=8, hidden=(8,))
    >>> agent = make_sac(Pendulum(), None, cfg)      # built, not trained
    >>> agent.name, agent.n_updates                  # one environment step per update
    ('sac', 400)
    >>> type(agent.network).__name__                 # default actor and critic MLPs
    'ActorCritic'
    """
    config = check_config_type(config, SACConfig)
    for name in ("total_timesteps", "n_envs", "buffer_size", "batch_size", "gradient_steps"):
        as_int(getattr(config, name), f"config.{name}", minimum=1)
    learning_starts = as_int(config.learning_starts, "config.learning_starts", minimum=0)
    if config.total_timesteps < config.n_envs:
        raise ValueError(f"config.total_timesteps: expected at least n_envs = {config.n_envs}, "
                         f"got {config.total_timesteps}")
    if learning_starts >= config.total_timesteps:
        raise ValueError(f"config.learning_starts: must be below total_timesteps = "
                         f"{config.total_timesteps} (no gradient step would run), got "
                         f"{learning_starts}")
    env_params = env.default_params() if env_params is None else env_params
    space = env.action_space(env_params)
    if not isinstance(space, Box) or len(space.shape) != 1:
        raise ValueError(f"env: SAC needs a 1-d Box action space, got {space!r}")
    obs_space = env.observation_space(env_params)
    example_obs = jnp.zeros(obs_space.shape, obs_space.dtype)
    action_dim = space.shape[0]
    example_action = jnp.zeros((action_dim,), jnp.float32)
    if network is None:
        network = ActorCritic(SACActorMLP(tuple(config.hidden), action_dim),
                              SACCriticMLP(tuple(config.hidden)))
    if not isinstance(network, ActorCritic):
        raise ValueError("network: SAC needs ActorCritic(actor, critic): actor obs -> "
                         "(mean, log_std), critic (obs, action) -> Q")
    actor, critic = as_model(network.actor), as_model(network.critic)
    _, out = trace_model(actor, jax.random.key(0), example_obs, who="network.actor")
    check_policy_output(out, space, "network.actor")
    _, out = trace_model(critic, jax.random.key(0), example_obs, example_action,
                         who="network.critic")
    check_value_output(out, "network.critic")
    low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), (action_dim,))
    high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), (action_dim,))
    target_entropy = -float(action_dim)
    n_updates = config.total_timesteps // config.n_envs
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)

    def to_env(a):           # [-1, 1] -> [low, high], one action (d,)
        return low + 0.5 * (a + 1.0) * (high - low)

    def from_env(a):
        return 2.0 * (a - low) / (high - low) - 1.0

    def sample_action(key, actor_params, obs):          # one observation
        mean, log_std = actor.apply(actor_params, obs)
        return tanh_gaussian_sample(key, mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX))

    def twin_q(critic_params, obs, action):             # batch -> (2, B)
        one = jax.vmap(critic.apply, in_axes=(0, None, None))
        return jax.vmap(lambda o, a: jnp.reshape(one(critic_params, o, a), (2,)),
                        out_axes=1)(obs, action)

    def sample_batch(key, actor_params, obs):
        return jax.vmap(sample_action, in_axes=(0, None, 0))(
            jax.random.split(key, obs.shape[0]), actor_params, obs)

    def critic_loss(critic_params, batch, key):
        sample, target = batch
        q = twin_q(critic_params, sample.obs, sample.action)
        return jnp.sum(jnp.mean((q - target[None]) ** 2, axis=1)), {}

    def actor_loss(actor_params, batch, key):
        sample, critic_params, alpha = batch
        action, log_prob = sample_batch(key, actor_params, sample.obs)
        q = jnp.min(twin_q(critic_params, sample.obs, action), axis=0)
        return jnp.mean(alpha * log_prob - q), {"log_prob": jnp.mean(log_prob)}

    def alpha_loss(log_alpha, mean_log_prob, key):
        return -log_alpha * (jax.lax.stop_gradient(mean_log_prob) + target_entropy), {}

    critic_step = make_train_step(critic_loss, jit=False)
    actor_step = make_train_step(actor_loss, jit=False)
    alpha_step = make_train_step(alpha_loss, jit=False)

    def init(key, hp):
        key_actor, key_critic, key_env = jax.random.split(key, 3)
        actor_params = actor.init(key_actor, example_obs)
        critic_params = jax.vmap(critic.init, in_axes=(0, None, None))(
            jax.random.split(key_critic, 2), example_obs, example_action)

        def create(params):
            return set_hyperparams(TrainState.create(params, tx), learning_rate=hp.learning_rate)

        example = Transition(example_obs, example_action, jnp.zeros(()), example_obs,
                             jnp.zeros((), bool))
        return SACState(jnp.zeros((), jnp.int32), create(actor_params), create(critic_params),
                        create(jnp.log(hp.alpha)), critic_params,
                        replay_init(example, config.buffer_size),
                        init_runner(key_env, env, env_params, config.n_envs), hp)

    def gradient_step(learners, key, buffer, hp):
        key_batch, key_next, key_actor, key_critic, key_alpha = jax.random.split(key, 5)
        sample = replay_sample(key_batch, buffer, config.batch_size)
        alpha = jnp.exp(learners.log_alpha.params)
        next_action, next_log_prob = sample_batch(key_next, learners.actor.params,
                                                  sample.next_obs)
        next_q = jnp.min(twin_q(learners.target_critic, sample.next_obs, next_action), axis=0)
        y = jax.lax.stop_gradient(soft_q_target(sample.reward, sample.terminated, next_q,
                                                next_log_prob, hp.gamma, alpha))
        critic, critic_metrics = critic_step(learners.critic, (sample, y), key_critic)
        actor, actor_metrics = actor_step(learners.actor, (sample, critic.params, alpha),
                                          key_actor)
        log_alpha = learners.log_alpha
        if config.autotune:
            log_alpha, _ = alpha_step(log_alpha, actor_metrics["log_prob"], key_alpha)
        target = jax.tree.map(lambda t, c: (1.0 - hp.tau) * t + hp.tau * c,
                              learners.target_critic, critic.params)
        metrics = {"critic_loss": critic_metrics["loss"], "actor_loss": actor_metrics["loss"],
                   "entropy": -actor_metrics["log_prob"],
                   "skipped": critic_metrics["skipped"] + actor_metrics["skipped"]}
        return SACLearners(actor, critic, log_alpha, target), metrics

    def step(state, batch, key):
        hp = state.hparams
        key_rollout, key_learn = jax.random.split(key)
        learning = state.step * config.n_envs >= learning_starts

        def act(key_act, obs):
            key_random, key_policy = jax.random.split(key_act)
            random = jax.random.uniform(key_random, (obs.shape[0], action_dim), minval=-1.0,
                                        maxval=1.0)
            policy_action, _ = sample_batch(key_policy, state.actor.params, obs)
            return ActOutput(jax.vmap(to_env)(jnp.where(learning, policy_action, random)))

        runner, traj = rollout(key_rollout, env, env_params, act, state.runner, 1)
        stored = transitions(traj)
        buffer = replay_add_batch(state.buffer,
                                  stored._replace(action=jax.vmap(from_env)(stored.action)))
        learners = SACLearners(state.actor, state.critic, state.log_alpha, state.target_critic)

        def learn(learners):
            learners, metrics = jax.lax.scan(
                lambda carry, k: gradient_step(carry, k, buffer, hp), learners,
                jax.random.split(key_learn, config.gradient_steps))
            metrics = {name: jnp.mean(value) for name, value in metrics.items()
                       if name != "skipped"} | {"skipped": jnp.sum(metrics["skipped"])}
            return learners, metrics

        def wait(learners):
            zero = jnp.zeros((), jnp.float32)
            return learners, {"critic_loss": zero, "actor_loss": zero, "entropy": zero,
                              "skipped": jnp.zeros((), jnp.int32)}

        learners, metrics = jax.lax.cond(learning, learn, wait, learners)
        metrics["alpha"] = jnp.exp(learners.log_alpha.params)
        metrics |= episode_metrics(traj)
        metrics["env_steps"] = (state.step + 1) * config.n_envs
        return SACState(state.step + 1, learners.actor, learners.critic, learners.log_alpha,
                        learners.target_critic, buffer, runner, hp), metrics

    def policy(params, deterministic):
        def act(key, obs):
            if deterministic:
                return to_env(jnp.tanh(actor.apply(params.actor, obs)[0]))
            return to_env(sample_action(key, params.actor, obs)[0])
        return act

    return build_agent("sac", config, SACHyperparams, SACHyperparams(), SPECS, SACState, init,
                       step, n_updates, policy, network)
