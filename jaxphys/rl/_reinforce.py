r"""REINFORCE with a learned baseline (Monte-Carlo policy gradient), one jittable function.

Each update runs ``n_envs`` vmapped environments for ``n_steps`` steps and uses
every step whose episode *ends* inside the rollout (the trailing unfinished
episode of each environment is masked out, so all returns are true Monte-Carlo
returns, never bootstrapped):

.. math::

    G_t = \sum_{k \ge 0} \gamma^k r_{t+k} \ \text{(to the episode end)}, \qquad
    \nabla J \approx \frac{1}{|\mathcal{V}|}\sum_{t \in \mathcal{V}}
        \nabla\log\pi(a_t|s_t)\,(G_t - b(s_t)),

with the baseline :math:`b = V_\phi` fitted by least squares to :math:`G_t`
in the same Adam step (loss ``pg + c_v · ½ mse − c_e · entropy``). Episodes that
started in an earlier rollout contribute their remaining steps (their
returns-to-go are complete). Pick ``n_steps`` at least the episode limit so
that long episodes still finish inside a rollout.

``make_train(env, env_params, config) -> train(key) -> ReinforceResult``,
jittable and vmappable; ``train.policy(params)`` is the greedy policy.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._cartpole import CartPole
    >>> env = CartPole()
    >>> cfg = ReinforceConfig(total_timesteps=2000, n_envs=4, n_steps=100, hidden=(16,))
    >>> jax.jit(make_train(env, None, cfg))(jax.random.key(0)).metrics["episode_return"].shape
    (5,)
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax

from jaxphys._checks import check_key
from jaxphys.rl._policy_gradient import (ActorCriticParams, attach_policy, check_float,
                                         check_rollout_config, episode_summary, init_runner,
                                         per_update_curve, make_act, make_actor_critic, rollout)

__all__ = ["ReinforceConfig", "ReinforceResult", "make_train", "returns_to_go"]


class ReinforceConfig(NamedTuple):
    """REINFORCE hyperparameters.

    Static: ``total_timesteps``, ``n_envs``, ``n_steps`` (rollout length per env),
    ``hidden``, ``activation``. Sweepable: ``learning_rate``, ``gamma``,
    ``ent_coef``, ``vf_coef``, ``max_grad_norm``.
    """

    total_timesteps: int = 200_000
    n_envs: int = 8
    n_steps: int = 500
    learning_rate: Any = 3e-3
    gamma: Any = 0.99
    ent_coef: Any = 0.0
    vf_coef: Any = 0.5
    max_grad_norm: Any = 1.0
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class ReinforceResult(NamedTuple):
    """Fields: params (ActorCriticParams; the critic is the baseline); metrics, dict of
    (n_updates,) arrays: ``episode_return`` (forward-filled), ``n_episodes``, ``env_steps``,
    ``policy_loss``, ``value_loss``, ``entropy``, ``used_fraction`` (steps not masked)."""

    params: ActorCriticParams
    metrics: dict


def returns_to_go(reward: jax.Array, done: jax.Array, gamma: Any) -> tuple[jax.Array, jax.Array]:
    """Discounted returns to the episode end along axis 0, and a mask of the steps whose
    episode ends within the array. ``reward``, ``done``: (T, ...). Returns ``(G, valid)``.

    >>> import jax.numpy as jnp
    >>> G, valid = returns_to_go(jnp.ones(4), jnp.array([False, True, False, False]), 0.5)
    >>> G.tolist(), valid.tolist()
    ([1.5, 1.0, 0.0, 0.0], [True, True, False, False])
    """

    def body(carry, inputs):
        g, seen_done = carry
        r, d = inputs
        g = r + gamma * jnp.where(d, 0.0, g)
        seen_done = seen_done | d
        return (g, seen_done), (g, seen_done)

    init = (jnp.zeros_like(reward[0]), jnp.zeros_like(done[0]))
    _, (g, valid) = jax.lax.scan(body, init, (reward, done), reverse=True)
    return jnp.where(valid, g, 0.0), valid


def make_train(env: Any, env_params: Any = None, config: ReinforceConfig = ReinforceConfig()):
    """Build ``train(key) -> ReinforceResult`` (see the module docstring)."""
    batch_size, n_updates = check_rollout_config(config, ReinforceConfig)
    cfg = config
    check_float(cfg.learning_rate, "learning_rate", low=0.0, strict_low=True)
    check_float(cfg.gamma, "gamma", low=0.0, high=1.0)
    check_float(cfg.ent_coef, "ent_coef", low=0.0)
    check_float(cfg.vf_coef, "vf_coef", low=0.0)
    check_float(cfg.max_grad_norm, "max_grad_norm", low=0.0, strict_low=True)
    env_params = env.default_params() if env_params is None else env_params
    net = make_actor_critic(env, env_params, hidden=cfg.hidden, activation=cfg.activation)
    value_b = jax.vmap(net.value, in_axes=(None, 0))
    dist_b = jax.vmap(net.dist, in_axes=(None, 0))

    def loss_fn(params, batch):
        obs, action, ret, valid = batch
        w = valid.astype(jnp.float32)
        n = jnp.maximum(jnp.sum(w), 1.0)
        d = dist_b(params.actor, obs)
        baseline = value_b(params.critic, obs)
        adv = jax.lax.stop_gradient(ret - baseline)
        pg = -jnp.sum(w * d.log_prob(action) * adv) / n
        vloss = 0.5 * jnp.sum(w * (baseline - ret) ** 2) / n
        entropy = jnp.sum(w * d.entropy()) / n
        loss = pg + cfg.vf_coef * vloss - cfg.ent_coef * entropy
        return loss, {"policy_loss": pg, "value_loss": vloss, "entropy": entropy,
                      "used_fraction": jnp.mean(w)}

    def train(key: jax.Array) -> ReinforceResult:
        check_key(key)
        key_init, key_env, key_loop = jax.random.split(key, 3)
        params = net.init(key_init)
        tx = optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm),
                         optax.adam(jnp.asarray(cfg.learning_rate, jnp.float32)))
        opt_state = tx.init(params)
        runner = init_runner(key_env, env, env_params, cfg.n_envs)

        def update(carry, _):
            params, opt_state, runner, k = carry
            k, key_roll = jax.random.split(k)
            runner, traj = rollout(key_roll, env, env_params, make_act(net, params), runner,
                                   cfg.n_steps)
            ret, valid = returns_to_go(traj.reward, traj.done, cfg.gamma)
            batch = jax.tree.map(lambda x: x.reshape((batch_size,) + x.shape[2:]),
                                 (traj.obs, traj.action, ret, valid))
            grads, stats = jax.grad(loss_fn, has_aux=True)(params, batch)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            stats["episode_return"], stats["n_episodes"] = episode_summary(traj)
            return (params, opt_state, runner, k), stats

        (params, _, _, _), metrics = jax.lax.scan(
            update, (params, opt_state, runner, key_loop), None, length=n_updates)
        return ReinforceResult(params, per_update_curve(metrics, batch_size))

    return attach_policy(train, net, cfg)
