"""Deep Q-networks (Mnih et al. 2015) with double-DQN targets (van Hasselt et al. 2016).

An MLP ``Q_θ(s, ·)`` with one output per discrete action is trained on
transitions ``(s, a, r, s', d)`` drawn uniformly from a replay ring buffer
(:mod:`jaxphys.rl._replay`) by minimising the squared (or Huber) TD error

    δ = Q_θ(s, a) − [r + γ (1 − d) Q_θ⁻(s', a*)],
    a* = argmax_a Q_θ(s', a)   (double DQN)   or   argmax_a Q_θ⁻(s', a)   (DQN),

with a target network ``θ⁻`` refreshed every ``target_update_interval`` environment
steps (``θ⁻ ← τ θ + (1 − τ) θ⁻``, τ = 1 a hard copy). ``d`` is *termination*
only: at a truncation the target bootstraps from ``info["final_obs"]``.
Exploration is ε-greedy with ε decayed linearly from ``eps_start`` to ``eps_end``
over the first ``eps_fraction`` of the run.

``make_train(env, env_params, config) -> train(key, hparams=None)`` builds the
whole run (``n_envs`` vmapped environments, ``lax.scan`` over iterations of
``n_envs`` steps each, a gradient step every ``train_interval`` iterations once
``learning_starts`` steps are collected) as one jittable function, so
``jax.vmap(train)(keys)`` trains several seeds at once. The sweepable values
(learning rate, γ, ε schedule, τ) are traced arrays in ``DQNHyperparams`` and
can be vmapped too.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._ising_chain import IsingChain
    >>> env = IsingChain(4)
    >>> cfg = DQNConfig(total_timesteps=256, n_envs=4, buffer_size=64, batch_size=8,
    ...                 learning_starts=32, hidden=(8,))
    >>> train = make_train(env, env.default_params(), cfg)
    >>> out = jax.jit(train)(jax.random.key(0))      # doctest: +SKIP
    >>> out.metrics["loss"].shape                   # 256 steps / 4 envs  # doctest: +SKIP
    (64,)
    >>> policy = dqn_greedy_policy(train.network, out.params)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import as_int, check_in
from jaxphys.nn import MLP
from jaxphys.rl._replay import replay_add_batch, replay_init, replay_sample

__all__ = ["DQNConfig", "DQNHyperparams", "DQNResult", "make_train", "q_network",
           "dqn_greedy_policy", "epsilon_schedule", "dqn_target", "make_dqn_train"]


class DQNConfig(NamedTuple):
    """Static configuration of a DQN run (sizes are Python ints).

    Fields:
        total_timesteps: environment steps in all (over all parallel envs).
        n_envs: parallel environments (vmapped); one iteration = n_envs steps.
        buffer_size: replay capacity (transitions).
        batch_size: transitions per gradient step.
        learning_starts: environment steps collected before the first update.
        train_interval: a gradient step every this many iterations.
        target_update_interval: environment steps between target-network updates.
        hidden: hidden widths of the Q-network MLP.
        double: double-DQN targets (else the max of the target network).
        loss: ``"mse"`` or ``"huber"`` (δ = 1).
        max_grad_norm: global gradient-norm clipping.
        lr_decay: decay the learning rate linearly to 0 over the run.
        learning_rate, gamma, eps_start, eps_end, eps_fraction, tau: defaults of the
            sweepable ``DQNHyperparams``.
    """

    total_timesteps: int = 500_000
    n_envs: int = 10
    buffer_size: int = 10_000
    batch_size: int = 128
    learning_starts: int = 10_000
    train_interval: int = 1
    target_update_interval: int = 500
    hidden: tuple[int, ...] = (120, 84)
    double: bool = True
    loss: str = "mse"
    max_grad_norm: float = 10.0
    lr_decay: bool = False
    learning_rate: float = 2.5e-4
    gamma: float = 0.99
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_fraction: float = 0.5
    tau: float = 1.0


class DQNHyperparams(NamedTuple):
    """Sweepable values, float32 scalars (vmap over them with ``jax.vmap(train)``).

    Fields: learning_rate, gamma (discount), eps_start, eps_end, eps_fraction
    (fraction of the run over which ε decays), tau (target update rate, 1 = copy).
    """

    learning_rate: jax.Array
    gamma: jax.Array
    eps_start: jax.Array
    eps_end: jax.Array
    eps_fraction: jax.Array
    tau: jax.Array

    @classmethod
    def from_config(cls, config: DQNConfig) -> "DQNHyperparams":
        f = jnp.float32
        return cls(f(config.learning_rate), f(config.gamma), f(config.eps_start),
                   f(config.eps_end), f(config.eps_fraction), f(config.tau))


class DQNResult(NamedTuple):
    """Outcome of ``train``.

    Fields:
        params: Q-network parameters (flax variables dict).
        metrics: dict of per-iteration arrays, shape (n_iterations,):
            ``episode_return_sum`` (float32, summed undiscounted returns of the
            episodes that ended in this iteration), ``episodes_done`` (int32),
            ``loss`` (float32, TD loss of the update, 0 when none), ``epsilon``
            (float32) and ``timesteps`` (int32, environment steps so far).
    """

    params: Any
    metrics: dict


def q_network(n_actions: int, hidden: tuple[int, ...]) -> MLP:
    """The Q-network: ``MLP(hidden + (n_actions,), relu)``, obs (d,) -> Q (n_actions,)."""
    return MLP(widths=tuple(hidden) + (int(n_actions),), activation="relu")


def dqn_target(reward: jax.Array, done: jax.Array, q_next_online: jax.Array,
               q_next_target: jax.Array, gamma: jax.Array, *, double: bool = True) -> jax.Array:
    """TD target of one transition: ``r + γ (1 − d) Q_target(s', a*)``.

    ``a* = argmax Q_online(s', ·)`` (double DQN) or ``argmax Q_target(s', ·)``.
    ``q_next_online``, ``q_next_target``: (A,); the rest scalars.

    >>> float(dqn_target(1.0, 0.0, jnp.array([0., 2.]), jnp.array([5., 3.]), 0.5))
    2.5
    """
    a_star = jnp.argmax(q_next_online if double else q_next_target)
    return reward + gamma * (1.0 - done) * q_next_target[a_star]


def epsilon_schedule(step: jax.Array, total: int, eps_start: jax.Array, eps_end: jax.Array,
                     eps_fraction: jax.Array) -> jax.Array:
    """Linear ε: ``eps_start → eps_end`` over ``eps_fraction · total`` steps, then constant."""
    frac = jnp.clip(step / jnp.maximum(eps_fraction * total, 1.0), 0.0, 1.0)
    return eps_start + frac * (eps_end - eps_start)


def dqn_greedy_policy(network: MLP, params: Any) -> Callable[[jax.Array, jax.Array], jax.Array]:
    """``policy(key, obs) -> argmax_a Q(obs, a)`` for :func:`jaxphys.rl.evaluate`."""
    def policy(key, obs):
        return jnp.argmax(network.apply(params, obs)).astype(jnp.int32)
    return policy


def make_train(env: Any, env_params: Any, config: DQNConfig = DQNConfig()
               ) -> Callable[..., DQNResult]:
    """Build ``train(key, hparams=None) -> DQNResult`` (see the module docstring).

    ``env`` must have a ``Discrete`` action space and a vector observation.
    """
    n_envs = as_int(config.n_envs, "n_envs", minimum=1)
    total = as_int(config.total_timesteps, "total_timesteps", minimum=n_envs)
    buffer_size = as_int(config.buffer_size, "buffer_size", minimum=1)
    batch_size = as_int(config.batch_size, "batch_size", minimum=1)
    train_interval = as_int(config.train_interval, "train_interval", minimum=1)
    target_interval = as_int(config.target_update_interval, "target_update_interval", minimum=1)
    learning_starts = as_int(config.learning_starts, "learning_starts", minimum=0)
    check_in(config.loss, "loss", ("mse", "huber"))
    params_env = env.default_params() if env_params is None else env_params
    space = env.action_space(params_env)
    if not hasattr(space, "n"):
        raise ValueError(f"env: DQN needs a Discrete action space, got {space}")
    n_actions = int(space.n)
    network = q_network(n_actions, config.hidden)
    n_iters = total // n_envs
    n_updates = max(1, (n_iters - learning_starts // n_envs) // train_interval)

    def train(key: jax.Array, hparams: DQNHyperparams | None = None) -> DQNResult:
        hp = DQNHyperparams.from_config(config) if hparams is None else hparams
        if config.lr_decay:
            lr = optax.linear_schedule(hp.learning_rate, 0.0, n_updates)
        else:
            lr = hp.learning_rate
        optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                                optax.adam(lr))
        init_key, reset_key, run_key = jax.random.split(key, 3)
        obs, env_state = jax.vmap(env.reset, in_axes=(0, None))(
            jax.random.split(reset_key, n_envs), params_env)
        q_params = network.init(init_key, obs[0])
        opt_state = optimizer.init(q_params)
        example = {"obs": obs[0], "action": jnp.asarray(0, jnp.int32),
                   "reward": jnp.asarray(0.0, jnp.float32), "next_obs": obs[0],
                   "done": jnp.asarray(0.0, jnp.float32)}
        buffer = replay_init(example, buffer_size)

        def td_loss(qp, target_params, batch):
            q = jax.vmap(network.apply, in_axes=(None, 0))(qp, batch["obs"])
            q_sa = jnp.take_along_axis(q, batch["action"][:, None], axis=1)[:, 0]
            q_next_target = jax.vmap(network.apply, in_axes=(None, 0))(target_params,
                                                                      batch["next_obs"])
            q_next_online = (jax.vmap(network.apply, in_axes=(None, 0))(qp, batch["next_obs"])
                             if config.double else q_next_target)
            target = jax.vmap(lambda r, d, qo, qt: dqn_target(r, d, qo, qt, hp.gamma,
                                                              double=config.double))(
                batch["reward"], batch["done"], q_next_online, q_next_target)
            delta = q_sa - jax.lax.stop_gradient(target)
            if config.loss == "huber":
                return jnp.mean(optax.huber_loss(delta, delta=1.0))
            return jnp.mean(delta ** 2)

        def update(carry_in, sample_key):
            qp, tp, os_, buf = carry_in
            batch = replay_sample(sample_key, buf, batch_size)
            loss, grads = jax.value_and_grad(td_loss)(qp, tp, batch)
            updates, os_ = optimizer.update(grads, os_, qp)
            return optax.apply_updates(qp, updates), os_, loss

        def body(carry, _):
            (qp, tp, os_, buf, obs, env_state, ep_ret, it, loop_key) = carry
            loop_key, act_key, explore_key, step_key, sample_key = jax.random.split(loop_key, 5)
            timesteps = it * n_envs
            eps = epsilon_schedule(timesteps.astype(jnp.float32), total, hp.eps_start,
                                   hp.eps_end, hp.eps_fraction)
            q = jax.vmap(network.apply, in_axes=(None, 0))(qp, obs)
            greedy = jnp.argmax(q, axis=1).astype(jnp.int32)
            random_a = jax.random.randint(act_key, (n_envs,), 0, n_actions, dtype=jnp.int32)
            explore = jax.random.uniform(explore_key, (n_envs,)) < eps
            action = jnp.where(explore, random_a, greedy)
            next_obs, env_state, reward, terminated, truncated, info = jax.vmap(
                env.step, in_axes=(0, 0, 0, None))(jax.random.split(step_key, n_envs),
                                                   env_state, action, params_env)
            done = jnp.logical_or(terminated, truncated)
            buf = replay_add_batch(buf, {"obs": obs, "action": action, "reward": reward,
                                         "next_obs": info["final_obs"],
                                         "done": terminated.astype(jnp.float32)})
            ep_ret = ep_ret + reward
            finished_sum = jnp.sum(jnp.where(done, ep_ret, 0.0))
            n_finished = jnp.sum(done.astype(jnp.int32))
            ep_ret = jnp.where(done, 0.0, ep_ret)

            timesteps_after = timesteps + n_envs
            learn = jnp.logical_and(timesteps_after >= learning_starts,
                                    (it % train_interval) == 0)
            qp, os_, loss = jax.lax.cond(
                learn, update, lambda c, k: (c[0], c[2], jnp.asarray(0.0, jnp.float32)),
                (qp, tp, os_, buf), sample_key)
            sync = (timesteps_after // target_interval) > (timesteps // target_interval)
            sync = jnp.logical_and(sync, timesteps_after >= learning_starts)
            tp = jax.tree.map(lambda t, o: jnp.where(sync, hp.tau * o + (1.0 - hp.tau) * t, t),
                              tp, qp)
            metrics = {"episode_return_sum": finished_sum, "episodes_done": n_finished,
                       "loss": loss, "epsilon": eps, "timesteps": timesteps_after}
            return (qp, tp, os_, buf, next_obs, env_state, ep_ret, it + 1, loop_key), metrics

        carry = (q_params, q_params, opt_state, buffer, obs, env_state,
                 jnp.zeros((n_envs,), jnp.float32), jnp.asarray(0, jnp.int32), run_key)
        carry, metrics = jax.lax.scan(body, carry, None, length=n_iters)
        return DQNResult(params=carry[0], metrics=metrics)

    train.network = network          # for dqn_greedy_policy(train.network, result.params)
    return train


make_dqn_train = make_train     # the name under which jaxphys.rl exports it
