r"""Trust-region policy optimisation (Schulman et al. 2015, *Trust region policy optimization*).

Each update collects a rollout (``n_envs × n_steps``), computes GAE advantages
(normalised; bootstrapped at truncations) and takes one natural-gradient step on the actor:

* surrogate :math:`L(\theta) = \mathbb{E}[\tfrac{\pi_\theta(a|s)}{\pi_{\rm old}(a|s)} A]`,
  gradient :math:`g = \nabla L(\theta_{\rm old})`;
* Fisher-vector products :math:`F v = \nabla_\theta (\nabla_\theta \bar D_{KL} \cdot v)
  + \beta v` (Hessian of the mean :math:`KL(\pi_{\rm old} \| \pi_\theta)` at
  :math:`\theta_{\rm old}`, damping :math:`\beta`), never forming :math:`F`;
* :math:`x \approx F^{-1} g` by ``cg_iters`` conjugate-gradient iterations;
* full step :math:`\Delta = \sqrt{2\delta / x^\top F x}\; x` (KL ≈ δ to second order);
* backtracking over :math:`\Delta, \Delta/2, \Delta/4, …` (``backtrack_iters``
  candidates, evaluated together): the first with :math:`\bar D_{KL} \le \delta` and a
  surrogate gain > 0 is taken; if none is, the actor is left unchanged.

The critic is fitted to the λ-returns by ``vf_iters`` :func:`jaxphys.core.make_train_step`
Adam steps per update on the whole batch. TRPO needs separate networks
(``network=ActorCritic(actor, critic)``).

``make_trpo(env, env_params, config, *, network=None) -> Agent``.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import CartPole
    >>> agent = make_trpo(CartPole(), None, TRPOConfig(total_timesteps=512, n_envs=4,
    ...                                                n_steps=64, hidden=(8,)))
    >>> state = agent.init(jax.random.key(0))
    >>> agent.n_updates, float(state.hparams.max_kl)
    (2, 0.01)
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from jaxphys._checks import as_int
from jaxphys.core import TrainState, make_train_step, set_hyperparams
from jaxphys.rl._agent import (NONNEGATIVE, RATE, UNIT, Agent, build_agent,
                               check_config_type)
from jaxphys.rl._networks import ActorCriticParams, policy_network
from jaxphys.rl._onpolicy import (actor_critic_policy, advantages, check_rollout_config,
                                  flatten_time, make_act)
from jaxphys.rl._rollout import RunnerState, episode_metrics, init_runner, rollout

__all__ = ["TRPOConfig", "TRPOHyperparams", "TRPOState", "make_trpo", "conjugate_gradient"]


@dataclasses.dataclass(frozen=True)
class TRPOConfig:
    """Static settings of TRPO: total_timesteps, n_envs, n_steps, cg_iters (conjugate
    gradient iterations), backtrack_iters (line-search candidates), vf_iters (critic Adam
    steps per update), hidden and activation (default networks).

    >>> from jaxphys.rl import TRPOConfig
    >>> cfg = TRPOConfig()
    >>> batch = cfg.n_envs * cfg.n_steps                  # 8 × 256 transitions per update
    >>> batch, cfg.total_timesteps // batch
    (2048, 48)
    """

    total_timesteps: int = 100_000
    n_envs: int = 8
    n_steps: int = 256
    cg_iters: int = 10
    backtrack_iters: int = 10
    vf_iters: int = 10
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class TRPOHyperparams(NamedTuple):
    """The floats of TRPO one may sweep: max_kl (δ, > 0), damping (β ≥ 0), gamma and
    gae_lambda ([0, 1]), learning_rate (the critic's Adam, > 0).

    >>> from jaxphys.rl import TRPOHyperparams
    >>> hp = TRPOHyperparams()
    >>> hp.max_kl, hp.damping
    (0.01, 0.1)
    >>> hp._replace(max_kl=0.02).max_kl                 # a larger trust region
    0.02
    """

    max_kl: Any = 0.01
    damping: Any = 0.1
    gamma: Any = 0.99
    gae_lambda: Any = 0.95
    learning_rate: Any = 1e-3


SPECS = {"max_kl": RATE, "damping": NONNEGATIVE, "gamma": UNIT, "gae_lambda": UNIT,
         "learning_rate": RATE}


class TRPOState(NamedTuple):
    """The state of TRPO.

    Fields:
        step: int32 scalar, updates done.
        actor_params: the policy network's parameters.
        critic: ``jaxphys.core.TrainState`` of the value network and its Adam.
        runner: the environments. hparams: the :class:`TRPOHyperparams`.

    >>> import jax.numpy as jnp
    >>> from jaxphys.core import TrainState
    >>> from jaxphys.rl import TRPOHyperparams, TRPOState
    >>> critic = TrainState.create({"v": jnp.zeros(2)}, "adam")
    >>> state = TRPOState(jnp.int32(0), {"w": jnp.ones(2)}, critic, None, TRPOHyperparams())
    >>> state.params.actor["w"].tolist(), state.params.critic["v"].tolist()   # for policy
    ([1.0, 1.0], [0.0, 0.0])
    """

    step: jax.Array
    actor_params: Any
    critic: TrainState
    runner: RunnerState
    hparams: Any

    @property
    def params(self) -> ActorCriticParams:
        """Actor and critic parameters (for ``agent.policy``)."""
        return ActorCriticParams(self.actor_params, self.critic.params)


def conjugate_gradient(matvec, b: jax.Array, n_iters: int) -> jax.Array:
    """Approximately solve ``A x = b`` for symmetric positive-definite ``A`` given as
    ``matvec(v) -> A v``, with ``n_iters`` CG iterations from ``x = 0``.

    >>> import jax.numpy as jnp
    >>> A = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    >>> conjugate_gradient(lambda v: A @ v, jnp.array([1.0, 2.0]), 2).round(4).tolist()
    [0.0909, 0.6364]
    """
    n_iters = as_int(n_iters, "n_iters", minimum=1)

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


def make_trpo(env: Any, env_params: Any = None, config: TRPOConfig = TRPOConfig(), *,
              network: Any = None) -> Agent:
    """Build the TRPO :class:`~jaxphys.rl.Agent` (module docstring).

    >>> from jaxphys.rl import TRPOConfig, make_trpo
    >>> from jaxphys.rl.envs import CartPole
    >>> cfg = TRPOConfig(total_timesteps=1024, n_envs=2, n_steps=128, hidden=(8,))
    >>> agent = make_trpo(CartPole(), None, cfg)       # built, not trained
    >>> agent.name, agent.n_updates                    # 1024 / (2 envs × 128 steps)
    ('trpo', 4)
    """
    config = check_config_type(config, TRPOConfig)
    batch_size, n_updates = check_rollout_config(config, "cg_iters", "backtrack_iters",
                                                 "vf_iters")
    env_params = env.default_params() if env_params is None else env_params
    net = policy_network(env, env_params, network, hidden=config.hidden,
                         activation=config.activation)
    if net.shared:
        raise ValueError("network: TRPO steps the actor and fits the critic separately; pass "
                         "ActorCritic(actor, critic), not one shared model")
    fractions = 0.5 ** jnp.arange(as_int(config.backtrack_iters, "config.backtrack_iters"),
                                  dtype=jnp.float32)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)

    def actor_step(actor_params, obs, action, old_log_prob, adv, hp):
        flat0, unravel = ravel_pytree(actor_params)

        def per_example(flat, fn):
            return jax.vmap(lambda o, a: fn(net.actor_dist(unravel(flat), o), a))(obs, action)

        def surrogate(flat):
            log_prob = per_example(flat, lambda d, a: d.log_prob(a))
            return jnp.mean(jnp.exp(log_prob - old_log_prob) * adv)

        def mean_kl(flat):
            def kl(o):
                old = jax.lax.stop_gradient(net.actor_dist(actor_params, o))
                return old.kl_divergence(net.actor_dist(unravel(flat), o))
            return jnp.mean(jax.vmap(kl)(obs))

        g = jax.grad(surrogate)(flat0)
        kl_grad = jax.grad(mean_kl)

        def fisher_vector(v):
            return jax.jvp(kl_grad, (flat0,), (v,))[1] + hp.damping * v

        x = conjugate_gradient(fisher_vector, g, config.cg_iters)
        curvature = jnp.maximum(jnp.vdot(x, fisher_vector(x)), 1e-12)
        full = jnp.sqrt(2.0 * hp.max_kl / curvature) * x
        base = surrogate(flat0)

        def candidate(fraction):
            flat = flat0 + fraction * full
            return surrogate(flat) - base, mean_kl(flat)

        gains, kls = jax.vmap(candidate)(fractions)
        ok = (kls <= hp.max_kl) & (gains > 0) & jnp.isfinite(gains)
        first = jnp.argmax(ok)
        accepted = jnp.any(ok)
        fraction = jnp.where(accepted, fractions[first], 0.0)
        stats = {"kl": jnp.where(accepted, kls[first], 0.0),
                 "improvement": jnp.where(accepted, gains[first], 0.0),
                 "step_fraction": fraction}
        return unravel(flat0 + fraction * full), stats

    def value_loss(critic_params, batch, key):
        obs, target = batch
        value = jax.vmap(net.value, in_axes=(None, 0))(
            ActorCriticParams(None, critic_params), obs)
        return 0.5 * jnp.mean((value - target) ** 2), {}

    value_step = make_train_step(value_loss, jit=False)

    def init(key, hp):
        key_net, key_env = jax.random.split(key)
        params = net.init(key_net)
        critic = set_hyperparams(TrainState.create(params.critic, tx),
                                 learning_rate=hp.learning_rate)
        return TRPOState(jnp.zeros((), jnp.int32), params.actor, critic,
                         init_runner(key_env, env, env_params, config.n_envs), hp)

    def step(state, batch, key):
        hp = state.hparams
        key_rollout, key_value = jax.random.split(key)
        critic = set_hyperparams(state.critic, learning_rate=hp.learning_rate)
        params = state.params
        runner, traj = rollout(key_rollout, env, env_params, make_act(net, params), state.runner,
                               config.n_steps)
        adv, target = advantages(net, params, traj, hp.gamma, hp.gae_lambda)
        obs, action, old_log_prob, adv, target = flatten_time(
            (traj.obs, traj.action, traj.log_prob, adv, target))
        adv = (adv - jnp.mean(adv)) / (jnp.std(adv) + 1e-8)
        actor, metrics = actor_step(state.actor_params, obs, action, old_log_prob, adv, hp)
        critic, value_metrics = jax.lax.scan(
            lambda ts, k: value_step(ts, (obs, target), k), critic,
            jax.random.split(key_value, config.vf_iters))
        metrics["value_loss"] = value_metrics["loss"][0]
        metrics["skipped"] = jnp.sum(value_metrics["skipped"])
        metrics |= episode_metrics(traj)
        metrics["env_steps"] = (state.step + 1) * batch_size
        return TRPOState(state.step + 1, actor, critic, runner, hp), metrics

    def policy(params, deterministic):
        return actor_critic_policy(net, params, deterministic)

    return build_agent("trpo", config, TRPOHyperparams, TRPOHyperparams(), SPECS, TRPOState,
                       init, step, n_updates, policy, net)
