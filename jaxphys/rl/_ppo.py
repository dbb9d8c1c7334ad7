r"""Proximal policy optimisation (PPO, clipped objective) in one jittable function.

Each update collects ``n_steps`` steps from ``n_envs`` vmapped environments,
computes GAE advantages (:func:`jaxphys.rl._policy_gradient.gae`) and runs
``n_epochs`` passes of ``n_minibatches`` shuffled minibatches minimising

.. math::

    L = -\mathbb{E}\big[\min(\rho A, \mathrm{clip}(\rho, 1 \pm \epsilon) A)\big]
        + c_v\, \tfrac12 \mathbb{E}\big[\max\big((V - \hat R)^2,
          (V_{\rm old} + \mathrm{clip}(V - V_{\rm old}, \pm\epsilon) - \hat R)^2\big)\big]
        - c_e\, \mathbb{E}[H(\pi(\cdot|s))],

with :math:`\rho = \pi(a|s)/\pi_{\rm old}(a|s)`, advantages normalised per
minibatch, Adam with global-norm clipping and (optionally) a learning rate
annealed linearly to zero. Actor and critic are separate tanh MLPs
(:func:`jaxphys.rl._policy_gradient.make_actor_critic`).

``make_train(env, env_params, config) -> train``; ``train(key) -> PPOResult`` is
pure and jittable; ``jax.vmap(train)`` trains many seeds at once. The floats of
the config (learning rate, γ, λ, ε, coefficients) may be traced arrays, so a
sweep is ``jax.vmap(lambda k, lr: make_train(env, p, cfg._replace(learning_rate=lr))(k))``.
``train.policy(params)`` is the greedy policy for
:func:`jaxphys.rl._evaluate.evaluate`; ``train.network`` the actor-critic.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._cartpole import CartPole
    >>> env = CartPole()
    >>> cfg = PPOConfig(total_timesteps=2048, n_envs=4, n_steps=64, hidden=(16,))
    >>> train = make_train(env, env.default_params(), cfg)
    >>> result = jax.jit(train)(jax.random.key(0))
    >>> result.metrics["episode_return"].shape
    (8,)
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import check_key
from jaxphys.rl._policy_gradient import (ActorCriticParams, attach_policy, check_float,
                                         check_rollout_config, episode_summary, gae, init_runner,
                                         per_update_curve, make_act, make_actor_critic, rollout)

__all__ = ["PPOConfig", "PPOResult", "make_train"]


class PPOConfig(NamedTuple):
    """PPO hyperparameters (defaults: CartPole-v1, as in CleanRL/PureJaxRL).

    Static (Python ints/bools/tuples): ``total_timesteps`` (environment steps,
    summed over envs), ``n_envs``, ``n_steps`` (per env per update), ``n_epochs``,
    ``n_minibatches``, ``hidden``, ``activation``, ``anneal_lr``.
    Sweepable (floats or traced scalar arrays): ``learning_rate``, ``gamma``,
    ``gae_lambda``, ``clip_eps``, ``ent_coef``, ``vf_coef``, ``max_grad_norm``.
    """

    total_timesteps: int = 500_000
    n_envs: int = 4
    n_steps: int = 128
    n_epochs: int = 4
    n_minibatches: int = 4
    learning_rate: Any = 2.5e-4
    anneal_lr: bool = True
    gamma: Any = 0.99
    gae_lambda: Any = 0.95
    clip_eps: Any = 0.2
    ent_coef: Any = 0.01
    vf_coef: Any = 0.5
    max_grad_norm: Any = 0.5
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class PPOResult(NamedTuple):
    """Fields:
        params: ActorCriticParams of the trained actor and critic.
        metrics: dict of (n_updates,) arrays: ``episode_return`` (mean return of the
            episodes that finished during the update, carried forward if none did),
            ``n_episodes``, ``env_steps`` (cumulative), ``policy_loss``, ``value_loss``,
            ``entropy``, ``approx_kl``, ``clip_fraction`` (means over minibatches).
    """

    params: ActorCriticParams
    metrics: dict


def _check_config(cfg: PPOConfig) -> PPOConfig:
    batch, _ = check_rollout_config(cfg, PPOConfig, "n_epochs", "n_minibatches")
    if batch % cfg.n_minibatches:
        raise ValueError(f"n_minibatches: must divide n_envs * n_steps = {batch}, "
                         f"got {cfg.n_minibatches}")
    check_float(cfg.learning_rate, "learning_rate", low=0.0, strict_low=True)
    check_float(cfg.gamma, "gamma", low=0.0, high=1.0)
    check_float(cfg.gae_lambda, "gae_lambda", low=0.0, high=1.0)
    check_float(cfg.clip_eps, "clip_eps", low=0.0, strict_low=True)
    check_float(cfg.ent_coef, "ent_coef", low=0.0)
    check_float(cfg.vf_coef, "vf_coef", low=0.0)
    check_float(cfg.max_grad_norm, "max_grad_norm", low=0.0, strict_low=True)
    return cfg


def make_train(env: Any, env_params: Any = None, config: PPOConfig = PPOConfig()):
    """Build ``train(key) -> PPOResult`` (see the module docstring)."""
    cfg = _check_config(config)
    env_params = env.default_params() if env_params is None else env_params
    net = make_actor_critic(env, env_params, hidden=cfg.hidden, activation=cfg.activation)
    batch_size, n_updates = check_rollout_config(cfg, PPOConfig)
    mb_size = batch_size // cfg.n_minibatches
    value_b = jax.vmap(net.value, in_axes=(None, 0))
    dist_b = jax.vmap(net.dist, in_axes=(None, 0))

    def loss_fn(params, mb):
        obs, action, old_logp, old_value, adv, target = mb
        d = dist_b(params.actor, obs)
        logp = d.log_prob(action)
        entropy = jnp.mean(d.entropy())
        log_ratio = logp - old_logp
        ratio = jnp.exp(log_ratio)
        adv = (adv - jnp.mean(adv)) / (jnp.std(adv) + 1e-8)
        pg = -jnp.mean(jnp.minimum(ratio * adv,
                                   jnp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv))
        v = value_b(params.critic, obs)
        v_clip = old_value + jnp.clip(v - old_value, -cfg.clip_eps, cfg.clip_eps)
        vloss = 0.5 * jnp.mean(jnp.maximum((v - target) ** 2, (v_clip - target) ** 2))
        loss = pg + cfg.vf_coef * vloss - cfg.ent_coef * entropy
        stats = {"policy_loss": pg, "value_loss": vloss, "entropy": entropy,
                 "approx_kl": jnp.mean((ratio - 1) - log_ratio),
                 "clip_fraction": jnp.mean((jnp.abs(ratio - 1) > cfg.clip_eps).astype(jnp.float32))}
        return loss, stats

    def train(key: jax.Array) -> PPOResult:
        check_key(key)
        key_init, key_env, key_loop = jax.random.split(key, 3)
        params = net.init(key_init)
        lr = jnp.asarray(cfg.learning_rate, jnp.float32)
        steps_per_update = cfg.n_epochs * cfg.n_minibatches
        if cfg.anneal_lr:
            def schedule(count):
                return lr * (1.0 - (count // steps_per_update) / n_updates)
        else:
            def schedule(count):
                return lr
        tx = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm),
                         optax.adam(schedule, eps=1e-5))
        opt_state = tx.init(params)
        runner = init_runner(key_env, env, env_params, cfg.n_envs)

        def minibatch_step(carry, mb):
            params, opt_state = carry
            grads, stats = jax.grad(loss_fn, has_aux=True)(params, mb)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), stats

        def epoch(carry, _):
            params, opt_state, batch, k = carry
            k, key_perm = jax.random.split(k)
            perm = jax.random.permutation(key_perm, batch_size)
            mbs = jax.tree.map(
                lambda x: x[perm].reshape((cfg.n_minibatches, mb_size) + x.shape[1:]), batch)
            (params, opt_state), stats = jax.lax.scan(minibatch_step, (params, opt_state), mbs)
            return (params, opt_state, batch, k), stats

        def update(carry, _):
            params, opt_state, runner, k = carry
            k, key_roll, key_epochs = jax.random.split(k, 3)
            runner, traj = rollout(key_roll, env, env_params, make_act(net, params), runner,
                                   cfg.n_steps)
            next_value = jax.vmap(value_b, in_axes=(None, 0))(params.critic, traj.final_obs)
            adv, target = gae(traj.reward, traj.value, next_value, traj.terminated, traj.done,
                              cfg.gamma, cfg.gae_lambda)
            batch = jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]),
                                 (traj.obs, traj.action, traj.log_prob, traj.value, adv, target))
            (params, opt_state, _, _), stats = jax.lax.scan(
                epoch, (params, opt_state, batch, key_epochs), None, length=cfg.n_epochs)
            mean_ret, n_eps = episode_summary(traj)
            metrics = {k_: jnp.mean(v) for k_, v in stats.items()}
            metrics.update(episode_return=mean_ret, n_episodes=n_eps)
            return (params, opt_state, runner, k), metrics

        (params, _, _, _), metrics = jax.lax.scan(
            update, (params, opt_state, runner, key_loop), None, length=n_updates)
        return PPOResult(params, per_update_curve(metrics, batch_size))

    return attach_policy(train, net, cfg)
