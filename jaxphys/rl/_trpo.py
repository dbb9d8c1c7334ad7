r"""Trust-region policy optimisation (TRPO) in one jittable function.

Each update collects a rollout (``n_envs × n_steps``), computes GAE advantages
(normalised), and takes one natural-gradient step on the actor:

* surrogate :math:`L(\theta) = \mathbb{E}[\tfrac{\pi_\theta(a|s)}{\pi_{\rm old}(a|s)} A]`,
  gradient :math:`g = \nabla L(\theta_{\rm old})`;
* Fisher-vector products :math:`F v = \nabla_\theta (\nabla_\theta \bar D_{KL} \cdot v)
  + \beta v` (Hessian of the mean :math:`KL(\pi_{\rm old} \| \pi_\theta)` at
  :math:`\theta_{\rm old}`, damping :math:`\beta`), never forming :math:`F`;
* :math:`x \approx F^{-1} g` by ``cg_iters`` conjugate-gradient iterations;
* full step :math:`\Delta = \sqrt{2\delta / x^\top F x}\; x` (KL ≈ δ to second order);
* backtracking line search over :math:`\Delta, \Delta/2, \Delta/4, …`
  (``backtrack_iters`` candidates, evaluated together): the first with
  :math:`\bar D_{KL} \le \delta` and a surrogate improvement > 0 is taken; if none
  is, the actor is left unchanged.

The critic is fitted to the λ-returns by ``vf_iters`` Adam steps per update on
the whole batch.

``make_train(env, env_params, config) -> train(key) -> TRPOResult``, jittable
and vmappable; ``train.policy(params)`` is the greedy policy.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs._cartpole import CartPole
    >>> env = CartPole()
    >>> cfg = TRPOConfig(total_timesteps=1024, n_envs=4, n_steps=128, hidden=(16,))
    >>> m = jax.jit(make_train(env, None, cfg))(jax.random.key(0)).metrics
    >>> bool((m["kl"] <= 0.01 + 1e-6).all())
    True
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from jaxphys._checks import check_key
from jaxphys.rl._policy_gradient import (ActorCriticParams, attach_policy, check_float,
                                         check_rollout_config, episode_summary, gae, init_runner,
                                         per_update_curve, make_act, make_actor_critic, rollout)

__all__ = ["TRPOConfig", "TRPOResult", "make_train", "conjugate_gradient"]


class TRPOConfig(NamedTuple):
    """TRPO hyperparameters.

    Static: ``total_timesteps``, ``n_envs``, ``n_steps``, ``cg_iters``,
    ``backtrack_iters``, ``vf_iters``, ``hidden``, ``activation``.
    Sweepable: ``max_kl`` (δ), ``damping`` (β), ``gamma``, ``gae_lambda``,
    ``vf_learning_rate``.
    """

    total_timesteps: int = 100_000
    n_envs: int = 8
    n_steps: int = 256
    max_kl: Any = 0.01
    damping: Any = 0.1
    cg_iters: int = 10
    backtrack_iters: int = 10
    gamma: Any = 0.99
    gae_lambda: Any = 0.95
    vf_learning_rate: Any = 1e-3
    vf_iters: int = 10
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class TRPOResult(NamedTuple):
    """Fields: params (ActorCriticParams); metrics, dict of (n_updates,) arrays:
    ``episode_return`` (forward-filled), ``n_episodes``, ``env_steps``, ``kl`` (of the
    accepted step), ``improvement`` (surrogate gain), ``step_fraction`` (accepted
    fraction of the full step, 0 if rejected), ``value_loss``."""

    params: ActorCriticParams
    metrics: dict


def conjugate_gradient(matvec, b: jax.Array, n_iters: int) -> jax.Array:
    """Approximately solve ``A x = b`` for symmetric positive-definite ``A`` given as
    ``matvec(v) -> A v``, with ``n_iters`` CG iterations from ``x = 0``.

    >>> import jax.numpy as jnp
    >>> A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    >>> conjugate_gradient(lambda v: A @ v, jnp.array([1.0, 2.0]), 2).round(4).tolist()
    [0.0909, 0.6364]
    """

    def body(carry, _):
        x, r, p, rr = carry
        ap = matvec(p)
        alpha = rr / jnp.maximum(jnp.vdot(p, ap), 1e-12)
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = jnp.vdot(r, r)
        p = r + (rr_new / jnp.maximum(rr, 1e-30)) * p
        return (x, r, p, rr_new), None

    init = (jnp.zeros_like(b), b, b, jnp.vdot(b, b))
    (x, _, _, _), _ = jax.lax.scan(body, init, None, length=n_iters)
    return x


def make_train(env: Any, env_params: Any = None, config: TRPOConfig = TRPOConfig()):
    """Build ``train(key) -> TRPOResult`` (see the module docstring)."""
    batch_size, n_updates = check_rollout_config(config, TRPOConfig, "cg_iters",
                                                 "backtrack_iters", "vf_iters")
    cfg = config
    check_float(cfg.max_kl, "max_kl", low=0.0, strict_low=True)
    check_float(cfg.damping, "damping", low=0.0)
    check_float(cfg.gamma, "gamma", low=0.0, high=1.0)
    check_float(cfg.gae_lambda, "gae_lambda", low=0.0, high=1.0)
    check_float(cfg.vf_learning_rate, "vf_learning_rate", low=0.0, strict_low=True)
    env_params = env.default_params() if env_params is None else env_params
    net = make_actor_critic(env, env_params, hidden=cfg.hidden, activation=cfg.activation)
    value_b = jax.vmap(net.value, in_axes=(None, 0))
    dist_b = jax.vmap(net.dist, in_axes=(None, 0))
    fractions = 0.5 ** jnp.arange(cfg.backtrack_iters, dtype=jnp.float32)

    def actor_step(actor_params, obs, action, old_logp, adv):
        flat0, unravel = ravel_pytree(actor_params)
        old_dist = jax.lax.stop_gradient(dist_b(actor_params, obs))

        def surrogate(flat):
            logp = dist_b(unravel(flat), obs).log_prob(action)
            return jnp.mean(jnp.exp(logp - old_logp) * adv)

        def mean_kl(flat):
            return jnp.mean(old_dist.kl_divergence(dist_b(unravel(flat), obs)))

        g = jax.grad(surrogate)(flat0)
        kl_grad = jax.grad(mean_kl)

        def fvp(v):
            return jax.jvp(kl_grad, (flat0,), (v,))[1] + cfg.damping * v

        x = conjugate_gradient(fvp, g, cfg.cg_iters)
        shs = jnp.maximum(jnp.vdot(x, fvp(x)), 1e-12)
        full = jnp.sqrt(2.0 * cfg.max_kl / shs) * x
        base = surrogate(flat0)

        def candidate(frac):
            flat = flat0 + frac * full
            return surrogate(flat) - base, mean_kl(flat)

        gains, kls = jax.vmap(candidate)(fractions)
        ok = (kls <= cfg.max_kl) & (gains > 0) & jnp.isfinite(gains)
        first = jnp.argmax(ok)
        accepted = jnp.any(ok)
        frac = jnp.where(accepted, fractions[first], 0.0)
        stats = {"kl": jnp.where(accepted, kls[first], 0.0),
                 "improvement": jnp.where(accepted, gains[first], 0.0), "step_fraction": frac}
        return unravel(flat0 + frac * full), stats

    def train(key: jax.Array) -> TRPOResult:
        check_key(key)
        key_init, key_env, key_loop = jax.random.split(key, 3)
        params = net.init(key_init)
        vf_tx = optax.adam(jnp.asarray(cfg.vf_learning_rate, jnp.float32))
        vf_state = vf_tx.init(params.critic)
        runner = init_runner(key_env, env, env_params, cfg.n_envs)

        def vf_loss(critic_params, obs, target):
            return 0.5 * jnp.mean((value_b(critic_params, obs) - target) ** 2)

        def update(carry, _):
            params, vf_state, runner, k = carry
            k, key_roll = jax.random.split(k)
            runner, traj = rollout(key_roll, env, env_params, make_act(net, params), runner,
                                   cfg.n_steps)
            next_value = jax.vmap(value_b, in_axes=(None, 0))(params.critic, traj.final_obs)
            adv, target = gae(traj.reward, traj.value, next_value, traj.terminated, traj.done,
                              cfg.gamma, cfg.gae_lambda)
            obs, action, old_logp, adv, target = jax.tree.map(
                lambda x: x.reshape((batch_size,) + x.shape[2:]),
                (traj.obs, traj.action, traj.log_prob, adv, target))
            adv = (adv - jnp.mean(adv)) / (jnp.std(adv) + 1e-8)
            actor, stats = actor_step(params.actor, obs, action, old_logp, adv)

            def vf_step(c, _):
                critic, opt_state = c
                loss, grads = jax.value_and_grad(vf_loss)(critic, obs, target)
                upd, opt_state = vf_tx.update(grads, opt_state, critic)
                return (optax.apply_updates(critic, upd), opt_state), loss

            (critic, vf_state), vf_losses = jax.lax.scan(
                vf_step, (params.critic, vf_state), None, length=cfg.vf_iters)
            stats["value_loss"] = vf_losses[0]
            stats["episode_return"], stats["n_episodes"] = episode_summary(traj)
            return (ActorCriticParams(actor, critic), vf_state, runner, k), stats

        (params, _, _, _), metrics = jax.lax.scan(
            update, (params, vf_state, runner, key_loop), None, length=n_updates)
        return TRPOResult(params, per_update_curve(metrics, batch_size))

    return attach_policy(train, net, cfg)
