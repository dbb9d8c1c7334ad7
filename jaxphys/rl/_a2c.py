r"""Advantage actor-critic (A2C, synchronous) in one jittable function.

Each update collects ``n_steps`` steps (default 5) from ``n_envs`` vmapped
environments and takes one gradient step on

.. math::

    L = -\mathbb{E}[\log\pi(a|s)\, A] + c_v\, \tfrac12 \mathbb{E}[(V(s) - \hat R)^2]
        - c_e\, \mathbb{E}[H(\pi(\cdot|s))],

where :math:`A` are GAE(λ) advantages; ``gae_lambda = 1`` (the default) gives
the classic n-step returns :math:`\hat R_t = \sum_{k<n} \gamma^k r_{t+k} +
\gamma^n V(s_{t+n})`, bootstrapped at the rollout end and at truncations, cut at
terminations.

``make_train(env, env_params, config) -> train(key) -> A2CResult``, jittable and
vmappable over keys; the float fields of the config may be traced arrays.
``train.policy(params)`` is the greedy policy for ``evaluate``.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._cartpole import CartPole
    >>> env = CartPole()
    >>> train = make_train(env, None, A2CConfig(total_timesteps=800, n_envs=8, hidden=(16,)))
    >>> jax.jit(train)(jax.random.key(0)).metrics["episode_return"].shape
    (20,)
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

__all__ = ["A2CConfig", "A2CResult", "make_train"]


class A2CConfig(NamedTuple):
    """A2C hyperparameters.

    Static: ``total_timesteps``, ``n_envs``, ``n_steps``, ``hidden``, ``activation``.
    Sweepable (floats or traced scalars): ``learning_rate`` (Adam), ``gamma``,
    ``gae_lambda``, ``ent_coef``, ``vf_coef``, ``max_grad_norm``.
    """

    total_timesteps: int = 100_000
    n_envs: int = 16
    n_steps: int = 5
    learning_rate: Any = 1e-3
    gamma: Any = 0.99
    gae_lambda: Any = 1.0
    ent_coef: Any = 0.01
    vf_coef: Any = 0.5
    max_grad_norm: Any = 0.5
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class A2CResult(NamedTuple):
    """Fields: params (ActorCriticParams); metrics, dict of (n_updates,) arrays:
    ``episode_return`` (forward-filled), ``n_episodes``, ``env_steps``, ``policy_loss``,
    ``value_loss``, ``entropy``."""

    params: ActorCriticParams
    metrics: dict


def make_train(env: Any, env_params: Any = None, config: A2CConfig = A2CConfig()):
    """Build ``train(key) -> A2CResult`` (see the module docstring)."""
    batch_size, n_updates = check_rollout_config(config, A2CConfig)
    cfg = config
    check_float(cfg.learning_rate, "learning_rate", low=0.0, strict_low=True)
    check_float(cfg.gamma, "gamma", low=0.0, high=1.0)
    check_float(cfg.gae_lambda, "gae_lambda", low=0.0, high=1.0)
    check_float(cfg.ent_coef, "ent_coef", low=0.0)
    check_float(cfg.vf_coef, "vf_coef", low=0.0)
    check_float(cfg.max_grad_norm, "max_grad_norm", low=0.0, strict_low=True)
    env_params = env.default_params() if env_params is None else env_params
    net = make_actor_critic(env, env_params, hidden=cfg.hidden, activation=cfg.activation)
    value_b = jax.vmap(net.value, in_axes=(None, 0))
    dist_b = jax.vmap(net.dist, in_axes=(None, 0))

    def loss_fn(params, batch):
        obs, action, adv, target = batch
        d = dist_b(params.actor, obs)
        entropy = jnp.mean(d.entropy())
        pg = -jnp.mean(d.log_prob(action) * adv)
        vloss = 0.5 * jnp.mean((value_b(params.critic, obs) - target) ** 2)
        loss = pg + cfg.vf_coef * vloss - cfg.ent_coef * entropy
        return loss, {"policy_loss": pg, "value_loss": vloss, "entropy": entropy}

    def train(key: jax.Array) -> A2CResult:
        check_key(key)
        key_init, key_env, key_loop = jax.random.split(key, 3)
        params = net.init(key_init)
        tx = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm),
                         optax.adam(jnp.asarray(cfg.learning_rate, jnp.float32), eps=1e-5))
        opt_state = tx.init(params)
        runner = init_runner(key_env, env, env_params, cfg.n_envs)

        def update(carry, _):
            params, opt_state, runner, k = carry
            k, key_roll = jax.random.split(k)
            runner, traj = rollout(key_roll, env, env_params, make_act(net, params), runner,
                                   cfg.n_steps)
            next_value = jax.vmap(value_b, in_axes=(None, 0))(params.critic, traj.final_obs)
            adv, target = gae(traj.reward, traj.value, next_value, traj.terminated, traj.done,
                              cfg.gamma, cfg.gae_lambda)
            batch = jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]),
                                 (traj.obs, traj.action, adv, target))
            grads, stats = jax.grad(loss_fn, has_aux=True)(params, batch)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            stats["episode_return"], stats["n_episodes"] = episode_summary(traj)
            return (params, opt_state, runner, k), stats

        (params, _, _, _), metrics = jax.lax.scan(
            update, (params, opt_state, runner, key_loop), None, length=n_updates)
        return A2CResult(params, per_update_curve(metrics, batch_size))

    return attach_policy(train, net, cfg)
