"""Deep Q-networks (Mnih et al. 2015) with double-DQN targets (van Hasselt et al. 2016).

A network ``Q_θ(s, ·)`` with one output per discrete action is trained on transitions
``(s, a, r, s', terminated)`` drawn uniformly from the replay buffer
(:func:`jaxphys.rl.replay_init`) by minimising the squared (or Huber) TD error

    δ = Q_θ(s, a) − [r + γ (1 − terminated) Q_θ⁻(s', a*)],
    a* = argmax_a Q_θ(s', a)   (double DQN)   or   argmax_a Q_θ⁻(s', a)   (DQN),

with a target network ``θ⁻`` updated every ``target_update_interval`` environment steps
(``θ⁻ ← τ θ + (1 − τ) θ⁻``, τ = 1 a hard copy). ``terminated`` is the true termination
only: at a truncation the target bootstraps from the observation the action led to
(``info["final_obs"]``, stored by :func:`jaxphys.rl.transitions`). Exploration is
ε-greedy with ε decayed linearly from ``eps_start`` to ``eps_end`` over the first
``eps_fraction`` of the run.

One update collects ``train_interval`` steps of ``n_envs`` environments with the shared
rollout, stores them, and (once ``learning_starts`` environment steps are collected)
takes one :func:`jaxphys.core.make_train_step` step on a minibatch.

``make_dqn(env, env_params, config, *, network=None) -> Agent``; ``network`` maps one
observation to ``(n_actions,)`` Q-values (default :func:`jaxphys.rl.q_network`).

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import IsingChain
    >>> cfg = DQNConfig(total_timesteps=128, n_envs=4, buffer_size=64, batch_size=8,
    ...                 learning_starts=32, hidden=(8,))
    >>> agent = make_dqn(IsingChain(4), None, cfg)
    >>> agent.n_updates                                 # 128 steps / 4 envs
    32
    >>> agent.init(jax.random.key(0)).buffer.capacity
    64
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import as_int, check_in, check_range
from jaxphys.core import TrainState, make_train_step
from jaxphys.rl._agent import RATE, UNIT, Agent, build_agent, check_config_type
from jaxphys.rl._networks import check_q_network, q_network
from jaxphys.rl._onpolicy import annealed, clipped_adam, set_learning
from jaxphys.rl._replay import ReplayBuffer, replay_add_batch, replay_init, replay_sample
from jaxphys.rl.envs._base import Discrete
from jaxphys.rl._rollout import (ActOutput, RunnerState, Transition, episode_metrics,
                                 init_runner, rollout, transitions)

__all__ = ["DQNConfig", "DQNHyperparams", "DQNState", "make_dqn", "dqn_target",
           "dqn_td_targets", "epsilon_schedule", "epsilon_greedy"]


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    """Static settings of DQN.

    Fields:
        total_timesteps: environment steps in all (over all parallel envs).
        n_envs: parallel environments.
        train_interval: steps per environment between gradient steps (one update).
        buffer_size: replay capacity (transitions). batch_size: transitions per step.
        learning_starts: environment steps collected before the first gradient step
            (below ``total_timesteps``).
        target_update_interval: environment steps between target-network updates.
        hidden: hidden widths of the default Q-network MLP.
        double: double-DQN targets (else the max of the target network).
        loss: ``"mse"`` or ``"huber"`` (δ = 1).
        lr_decay: decay the learning rate linearly to 0 over the run.

    >>> from jaxphys.rl import DQNConfig
    >>> cfg = DQNConfig()
    >>> per_update = cfg.n_envs * cfg.train_interval     # environment steps per update
    >>> cfg.total_timesteps // per_update, cfg.learning_starts // per_update
    (50000, 1000)
    """

    total_timesteps: int = 500_000
    n_envs: int = 10
    train_interval: int = 1
    buffer_size: int = 10_000
    batch_size: int = 128
    learning_starts: int = 10_000
    target_update_interval: int = 500
    hidden: Sequence[int] = (120, 84)
    double: bool = True
    loss: str = "mse"
    lr_decay: bool = False


class DQNHyperparams(NamedTuple):
    """The floats of DQN one may sweep (float32 scalars).

    Fields: learning_rate (Adam, > 0), gamma ([0, 1]), eps_start, eps_end ([0, 1]),
    eps_fraction (fraction of the run over which ε decays, [0, 1]), tau (target update
    rate, [0, 1], 1 = copy), max_grad_norm (> 0).

    >>> from jaxphys.rl import DQNHyperparams, epsilon_schedule
    >>> hp = DQNHyperparams()
    >>> hp.eps_start, hp.eps_end, hp.eps_fraction, hp.tau    # tau = 1: hard target copies
    (1.0, 0.05, 0.5, 1.0)
    >>> # a quarter into a 500k-step run, halfway through the decay: ε = (1 + 0.05) / 2
    >>> eps = epsilon_schedule(125_000.0, 500_000, hp.eps_start, hp.eps_end, hp.eps_fraction)
    >>> round(float(eps), 4)
    0.525
    """

    learning_rate: Any = 2.5e-4
    gamma: Any = 0.99
    eps_start: Any = 1.0
    eps_end: Any = 0.05
    eps_fraction: Any = 0.5
    tau: Any = 1.0
    max_grad_norm: Any = 10.0


SPECS = {"learning_rate": RATE, "gamma": UNIT, "eps_start": UNIT, "eps_end": UNIT,
         "eps_fraction": UNIT, "tau": UNIT, "max_grad_norm": RATE}


class DQNState(NamedTuple):
    """The state of DQN.

    Fields:
        step: int32 scalar, updates done.
        q: ``jaxphys.core.TrainState`` of the online Q-network and its optimiser.
        target_params: the target network's parameters.
        buffer: the :class:`~jaxphys.rl.ReplayBuffer` of :class:`~jaxphys.rl.Transition`.
        runner: the environments. hparams: the :class:`DQNHyperparams`.

    ``agent.init(key)`` of :func:`~jaxphys.rl.make_dqn` returns one;
    ``state.params`` is ``state.q.params``.

    >>> from jaxphys.rl import DQNState
    >>> DQNState._fields
    ('step', 'q', 'target_params', 'buffer', 'runner', 'hparams')
    """

    step: jax.Array
    q: TrainState
    target_params: Any
    buffer: ReplayBuffer
    runner: RunnerState
    hparams: Any

    @property
    def params(self) -> Any:
        """The online Q-network's parameters (for ``agent.policy``)."""
        return self.q.params


def dqn_target(reward: jax.Array, terminated: jax.Array, q_next_online: jax.Array,
               q_next_target: jax.Array, gamma: jax.Array, *, double: bool = True) -> jax.Array:
    """TD target of one transition: ``r + γ (1 − terminated) Q_target(s', a*)``.

    ``a* = argmax Q_online(s', ·)`` (double DQN) or ``argmax Q_target(s', ·)``.
    ``q_next_online``, ``q_next_target``: (A,); the rest scalars.

    >>> float(dqn_target(1.0, 0.0, jnp.array([0., 2.]), jnp.array([5., 3.]), 0.5))
    2.5
    """
    check_range(gamma, "gamma", low=0.0, high=1.0)
    a_star = jnp.argmax(q_next_online if double else q_next_target)
    not_terminal = 1.0 - jnp.asarray(terminated, jnp.float32)
    return reward + gamma * not_terminal * q_next_target[a_star]


def dqn_td_targets(model: Any, online_params: Any, target_params: Any, batch: Transition,
                   gamma: Any, *, double: bool = True) -> jax.Array:
    """The targets of a batch of transitions (leading axis B) with the Q-``model``."""
    apply = jax.vmap(model.apply, in_axes=(None, 0))
    q_next_target = apply(target_params, batch.next_obs)
    q_next_online = apply(online_params, batch.next_obs) if double else q_next_target
    return jax.vmap(lambda r, d, qo, qt: dqn_target(r, d, qo, qt, gamma, double=double))(
        batch.reward, batch.terminated, q_next_online, q_next_target)


def epsilon_schedule(step: jax.Array, total: int, eps_start: jax.Array, eps_end: jax.Array,
                     eps_fraction: jax.Array) -> jax.Array:
    """Linear ε: ``eps_start → eps_end`` over ``eps_fraction · total`` steps, then constant.

    >>> float(epsilon_schedule(jnp.float32(250), 1000, 1.0, 0.1, 0.5))
    0.55
    """
    frac = jnp.clip(step / jnp.maximum(eps_fraction * total, 1.0), 0.0, 1.0)
    return eps_start + frac * (eps_end - eps_start)


def epsilon_greedy(key: jax.Array, q_values: jax.Array, epsilon: Any) -> jax.Array:
    """int32 action: a uniformly random one with probability ε, else ``argmax q_values``.

    The greedy action is thus taken with probability ``1 − ε + ε / n_actions``.

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import epsilon_greedy
    >>> act = jax.jit(epsilon_greedy)                    # one compile, as inside a rollout
    >>> q = jnp.array([0.1, 2.0, -1.0])
    >>> int(act(jax.random.key(0), q, 0.0))              # ε = 0: the argmax
    1
    """
    check_range(epsilon, "epsilon", low=0.0, high=1.0)
    key_explore, key_action = jax.random.split(key)
    random_action = jax.random.randint(key_action, (), 0, q_values.shape[-1], dtype=jnp.int32)
    greedy = jnp.argmax(q_values).astype(jnp.int32)
    return jnp.where(jax.random.uniform(key_explore) < epsilon, random_action, greedy)


def make_dqn(env: Any, env_params: Any = None, config: DQNConfig = DQNConfig(), *,
             network: Any = None) -> Agent:
    """Build the DQN :class:`~jaxphys.rl.Agent` (module docstring). ``env`` needs a
    ``Discrete`` action space; ``network`` one observation → ``(n,)`` Q-values.

    >>> from jaxphys.rl import DQNConfig, make_dqn
    >>> from jaxphys.rl.envs import CartPole, Pendulum
    >>> cfg = DQNConfig(total_timesteps=1000, n_envs=4, buffer_size=100, batch_size=8,
    ...                 learning_starts=200, hidden=(8,))
    >>> agent = make_dqn(CartPole(), None, cfg)        # built, not trained
    >>> agent.name, agent.n_updates                    # 1000 steps / 4 envs
    ('dqn', 250)
    >>> make_dqn(Pendulum(), None, cfg)                # continuous torque: no argmax
    Traceback (most recent call last):
    ...
    ValueError: env: DQN needs a Discrete action space, got Box(...)
    """
    config = check_config_type(config, DQNConfig)
    for name in ("total_timesteps", "n_envs", "train_interval", "buffer_size", "batch_size",
                 "target_update_interval"):
        as_int(getattr(config, name), f"config.{name}", minimum=1)
    learning_starts = as_int(config.learning_starts, "config.learning_starts", minimum=0)
    check_in(config.loss, "config.loss", ("mse", "huber"))
    per_update = config.n_envs * config.train_interval
    if config.total_timesteps < per_update:
        raise ValueError(f"config.total_timesteps: expected at least n_envs * train_interval = "
                         f"{per_update}, got {config.total_timesteps}")
    if learning_starts >= config.total_timesteps:
        raise ValueError(f"config.learning_starts: must be below total_timesteps = "
                         f"{config.total_timesteps} (no gradient step would run), got "
                         f"{learning_starts}")
    env_params = env.default_params() if env_params is None else env_params
    space = env.action_space(env_params)
    if not isinstance(space, Discrete):
        raise ValueError(f"env: DQN needs a Discrete action space, got {space!r}")
    if network is None:
        network = q_network(space.n, config.hidden)
    model = check_q_network(network, env, env_params)
    n_updates = config.total_timesteps // per_update
    total = config.total_timesteps
    obs_space = env.observation_space(env_params)
    example_obs = jnp.zeros(obs_space.shape, obs_space.dtype)
    tx = clipped_adam()

    def td_loss(params, batch, key):
        transitions_batch, target_params, gamma = batch
        q = jax.vmap(model.apply, in_axes=(None, 0))(params, transitions_batch.obs)
        q_taken = jnp.take_along_axis(q, transitions_batch.action[:, None], axis=1)[:, 0]
        target = dqn_td_targets(model, params, target_params, transitions_batch, gamma,
                                double=config.double)
        delta = q_taken - jax.lax.stop_gradient(target)
        if config.loss == "huber":
            return jnp.mean(optax.huber_loss(delta, delta=1.0)), {}
        return jnp.mean(delta ** 2), {}

    gradient_step = make_train_step(td_loss, jit=False)

    def init(key, hp):
        key_net, key_env = jax.random.split(key)
        params = model.init(key_net, example_obs)
        q = set_learning(TrainState.create(params, tx), hp.learning_rate, hp.max_grad_norm)
        example = Transition(example_obs, jnp.zeros((), jnp.int32), jnp.zeros(()),
                             example_obs, jnp.zeros((), bool))
        return DQNState(jnp.zeros((), jnp.int32), q, params,
                        replay_init(example, config.buffer_size),
                        init_runner(key_env, env, env_params, config.n_envs), hp)

    def step(state, batch, key):
        hp = state.hparams
        key_rollout, key_sample, key_step = jax.random.split(key, 3)
        env_steps = state.step * per_update
        epsilon = epsilon_schedule(env_steps.astype(jnp.float32), total, hp.eps_start,
                                   hp.eps_end, hp.eps_fraction)
        q = set_learning(state.q, annealed(hp.learning_rate, state.step, n_updates,
                                           config.lr_decay), hp.max_grad_norm)

        def act(key_act, obs):
            q_values = jax.vmap(model.apply, in_axes=(None, 0))(q.params, obs)
            keys = jax.random.split(key_act, obs.shape[0])
            return ActOutput(jax.vmap(epsilon_greedy, in_axes=(0, 0, None))(
                keys, q_values, epsilon))

        runner, traj = rollout(key_rollout, env, env_params, act, state.runner,
                               config.train_interval)
        buffer = replay_add_batch(state.buffer, transitions(traj))
        env_steps_after = env_steps + per_update
        learn = env_steps_after >= learning_starts

        def update(q):
            sample = replay_sample(key_sample, buffer, config.batch_size)
            q, step_metrics = gradient_step(q, (sample, state.target_params, hp.gamma), key_step)
            return q, step_metrics["loss"], step_metrics["skipped"]

        def no_update(q):
            return q, jnp.zeros((), jnp.float32), jnp.zeros((), jnp.int32)

        q, loss, skipped = jax.lax.cond(learn, update, no_update, q)
        sync = learn & ((env_steps_after // config.target_update_interval)
                        > (env_steps // config.target_update_interval))
        target_params = jax.tree.map(
            lambda t, o: jnp.where(sync, hp.tau * o + (1.0 - hp.tau) * t, t),
            state.target_params, q.params)
        metrics = {"loss": loss, "skipped": skipped, "epsilon": epsilon,
                   **episode_metrics(traj), "env_steps": env_steps_after}
        return DQNState(state.step + 1, q, target_params, buffer, runner, hp), metrics

    def policy(params, deterministic):
        def act(key, obs):
            q_values = model.apply(params, obs)
            return epsilon_greedy(key, q_values, 0.0 if deterministic else 0.05)
        return act

    return build_agent("dqn", config, DQNHyperparams, DQNHyperparams(), SPECS, DQNState, init,
                       step, n_updates, policy, model)
