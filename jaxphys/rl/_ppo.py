r"""Proximal policy optimisation (Schulman et al. 2017, clipped objective).

Each update collects ``n_steps`` steps from ``n_envs`` vmapped environments
(:func:`jaxphys.rl.rollout`), computes GAE advantages (:func:`jaxphys.rl.gae`, bootstrapped
at truncations) and runs ``n_epochs`` passes of ``n_minibatches`` shuffled minibatches,
each one :func:`jaxphys.core.make_train_step` step (with the non-finite guard) on

.. math::

    L = -\mathbb{E}\big[\min(\rho A, \mathrm{clip}(\rho, 1 \pm \epsilon) A)\big]
        + c_v\, \tfrac12 \mathbb{E}\big[\max\big((V - \hat R)^2,
          (V_{\rm old} + \mathrm{clip}(V - V_{\rm old}, \pm\epsilon) - \hat R)^2\big)\big]
        - c_e\, \mathbb{E}[H(\pi(\cdot|s))],

with :math:`\rho = \pi(a|s)/\pi_{\rm old}(a|s)`, advantages normalised per minibatch,
Adam after global-norm clipping, the learning rate optionally annealed linearly to 0.

``make_ppo(env, env_params, config, *, network=None) -> Agent`` (the contract of
:mod:`jaxphys.rl`): sizes in :class:`PPOConfig`, the floats in :class:`PPOHyperparams`.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import CartPole
    >>> env = CartPole()
    >>> agent = make_ppo(env, env.default_params(),
    ...                  PPOConfig(total_timesteps=1024, n_envs=4, n_steps=64, hidden=(8,)))
    >>> agent.n_updates, float(agent.default_hparams.clip_eps)
    (4, 0.2)
    >>> state = agent.init(jax.random.key(0))        # then agent.train / agent.train_from
    >>> state.runner.obs.shape, int(state.step)
    ((4, 4), 0)
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from jaxphys.core import make_train_step
from jaxphys.rl._agent import (NONNEGATIVE, RATE, UNIT, Agent, HyperparamSpec, build_agent,
                               check_config_type)
from jaxphys.rl._networks import policy_network
from jaxphys.rl._onpolicy import (OnPolicyState, actor_critic_policy, advance, advantages,
                                  annealed, check_rollout_config, clipped_adam, collect,
                                  flatten_time, log_prob_entropy, onpolicy_init)

__all__ = ["PPOConfig", "PPOHyperparams", "make_ppo"]


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Static settings of PPO (defaults: CartPole-v1, as CleanRL and PureJaxRL).

    Fields:
        total_timesteps: environment steps in all (summed over the environments).
        n_envs: parallel environments. n_steps: steps per environment per update.
        n_epochs: passes over each rollout. n_minibatches: minibatches per pass (must
            divide ``n_envs · n_steps``).
        anneal_lr: decay the learning rate linearly to 0 over the run.
        hidden: hidden widths of the default actor and critic MLPs.
        activation: ``'tanh'`` or ``'relu'`` (default networks).

    Example:
        >>> from jaxphys.rl import PPOConfig
        >>> cfg = PPOConfig()
        >>> batch = cfg.n_envs * cfg.n_steps              # 4 × 128 transitions per update
        >>> batch, batch // cfg.n_minibatches, cfg.total_timesteps // batch
        (512, 128, 976)
    """

    total_timesteps: int = 500_000
    n_envs: int = 4
    n_steps: int = 128
    n_epochs: int = 4
    n_minibatches: int = 4
    anneal_lr: bool = True
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class PPOHyperparams(NamedTuple):
    """The floats of PPO one may sweep (float32 scalars; vmap over them).

    Fields: learning_rate (Adam, > 0), gamma (discount, [0, 1]), gae_lambda ([0, 1]),
    clip_eps (ε of the ratio and value clipping, > 0), ent_coef (c_e ≥ 0), vf_coef
    (c_v ≥ 0), max_grad_norm (global gradient-norm clipping, > 0).

    Example:
        >>> from jaxphys.rl import PPOHyperparams
        >>> hp = PPOHyperparams()
        >>> hp.clip_eps, hp.gamma, hp.gae_lambda     # the ratio stays in [0.8, 1.2]
        (0.2, 0.99, 0.95)
        >>> hp._replace(clip_eps=0.1).clip_eps
        0.1
    """

    learning_rate: Any = 2.5e-4
    gamma: Any = 0.99
    gae_lambda: Any = 0.95
    clip_eps: Any = 0.2
    ent_coef: Any = 0.01
    vf_coef: Any = 0.5
    max_grad_norm: Any = 0.5


SPECS = {"learning_rate": RATE, "gamma": UNIT, "gae_lambda": UNIT,
         "clip_eps": HyperparamSpec(0.0, None, low_open=True), "ent_coef": NONNEGATIVE,
         "vf_coef": NONNEGATIVE, "max_grad_norm": RATE}


def ppo_loss(net, params, minibatch, hp):
    """The clipped PPO loss of one minibatch ``(obs, action, old_log_prob, old_value,
    advantage, target)``; returns ``(loss, metrics)``."""
    obs, action, old_log_prob, old_value, adv, target = minibatch
    log_prob, entropy = log_prob_entropy(net, params, obs, action)
    entropy = jnp.mean(entropy)
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    adv = (adv - jnp.mean(adv)) / (jnp.std(adv) + 1e-8)
    clipped = jnp.clip(ratio, 1.0 - hp.clip_eps, 1.0 + hp.clip_eps)
    policy_loss = -jnp.mean(jnp.minimum(ratio * adv, clipped * adv))
    value = jax.vmap(net.value, in_axes=(None, 0))(params, obs)
    value_clipped = old_value + jnp.clip(value - old_value, -hp.clip_eps, hp.clip_eps)
    value_loss = 0.5 * jnp.mean(jnp.maximum((value - target) ** 2,
                                            (value_clipped - target) ** 2))
    loss = policy_loss + hp.vf_coef * value_loss - hp.ent_coef * entropy
    return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                  "approx_kl": jnp.mean((ratio - 1.0) - log_ratio),
                  "clip_fraction": jnp.mean((jnp.abs(ratio - 1.0) > hp.clip_eps)
                                            .astype(jnp.float32))}


def make_ppo(env: Any, env_params: Any = None, config: PPOConfig = PPOConfig(), *,
             network: Any = None) -> Agent:
    """Build the PPO :class:`~jaxphys.rl.Agent` (see the module docstring).

    Args:
        env: a :class:`jaxphys.rl.envs.Environment` with Discrete or 1-d Box actions.
        env_params: its params (None: ``env.default_params()``).
        config: a :class:`PPOConfig`.
        network: None (default MLPs), an :class:`~jaxphys.rl.ActorCritic` of two models,
            or one shared model returning ``(policy_head, value)`` (contract:
            :mod:`jaxphys.rl`), checked against the action space here.

    Example:
        >>> from jaxphys.rl import PPOConfig, make_ppo
        >>> from jaxphys.rl.envs import CartPole
        >>> cfg = PPOConfig(total_timesteps=2048, n_envs=2, n_steps=32, hidden=(8,))
        >>> agent = make_ppo(CartPole(), None, cfg)      # built, not trained
        >>> agent.name, agent.n_updates                  # 2048 / (2 envs × 32 steps)
        ('ppo', 32)
        >>> agent.check_hparams(agent.default_hparams._replace(clip_eps=-0.1))
        Traceback (most recent call last):
        ...
        ValueError: hparams.clip_eps: expected values in (0.0, inf], got -0.1...
    """
    config = check_config_type(config, PPOConfig)
    batch_size, n_updates = check_rollout_config(config, "n_epochs", "n_minibatches")
    if batch_size % config.n_minibatches:
        raise ValueError(f"config.n_minibatches: must divide n_envs * n_steps = {batch_size}, "
                         f"got {config.n_minibatches}")
    env_params = env.default_params() if env_params is None else env_params
    net = policy_network(env, env_params, network, hidden=config.hidden,
                         activation=config.activation)
    minibatch_size = batch_size // config.n_minibatches
    tx = clipped_adam(eps=1e-5)

    def loss_fn(params, batch, key):
        minibatch, hp = batch
        return ppo_loss(net, params, minibatch, hp)

    gradient_step = make_train_step(loss_fn, jit=False)

    init = onpolicy_init(net, tx, env, env_params, config.n_envs)

    def step(state, batch, key):
        hp = state.hparams
        key_rollout, key_epochs = jax.random.split(key)
        train_state, runner, traj = collect(
            net, env, env_params, state, key_rollout, config.n_steps,
            annealed(hp.learning_rate, state.step, n_updates, config.anneal_lr))
        params = train_state.params
        adv, target = advantages(net, params, traj, hp.gamma, hp.gae_lambda)
        data = flatten_time((traj.obs, traj.action, traj.log_prob, traj.value, adv, target))

        def epoch(train_state, key_epoch):
            key_perm, key_steps = jax.random.split(key_epoch)
            perm = jax.random.permutation(key_perm, batch_size)
            minibatches = jax.tree.map(
                lambda x: x[perm].reshape((config.n_minibatches, minibatch_size) + x.shape[1:]),
                data)

            def minibatch_step(ts, inputs):
                minibatch, key_step = inputs
                return gradient_step(ts, (minibatch, hp), key_step)

            return jax.lax.scan(minibatch_step, train_state,
                                (minibatches, jax.random.split(key_steps, config.n_minibatches)))

        train_state, stats = jax.lax.scan(epoch, train_state,
                                          jax.random.split(key_epochs, config.n_epochs))
        metrics = {name: jnp.mean(value) for name, value in stats.items() if name != "skipped"}
        metrics["skipped"] = jnp.sum(stats["skipped"])
        return advance(state, train_state, runner, traj, metrics, batch_size)

    def policy(params, deterministic):
        return actor_critic_policy(net, params, deterministic)

    return build_agent("ppo", config, PPOHyperparams, PPOHyperparams(), SPECS, OnPolicyState,
                       init, step, n_updates, policy, net)
