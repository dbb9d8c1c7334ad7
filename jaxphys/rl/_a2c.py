r"""Advantage actor-critic (A2C, synchronous; Mnih et al. 2016, *Asynchronous methods for
deep reinforcement learning*).

Each update collects ``n_steps`` steps (default 5) from ``n_envs`` vmapped
environments and takes one :func:`jaxphys.core.make_train_step` step on

.. math::

    L = -\mathbb{E}[\log\pi(a|s)\, A] + c_v\, \tfrac12 \mathbb{E}[(V(s) - \hat R)^2]
        - c_e\, \mathbb{E}[H(\pi(\cdot|s))],

where :math:`A` are GAE(λ) advantages; ``gae_lambda = 1`` (the default) gives the
classic n-step returns :math:`\hat R_t = \sum_{k<n} \gamma^k r_{t+k} + \gamma^n
V(s_{t+n})`, bootstrapped at the rollout end and at truncations, cut at terminations.

``make_a2c(env, env_params, config, *, network=None) -> Agent`` (the contract of
:mod:`jaxphys.rl`): sizes in :class:`A2CConfig`, the floats in :class:`A2CHyperparams`.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import CartPole
    >>> agent = make_a2c(CartPole(), None, A2CConfig(total_timesteps=400, n_envs=8, hidden=(8,)))
    >>> agent.n_updates, agent.init(jax.random.key(0)).runner.obs.shape
    (10, (8, 4))
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from jaxphys.core import make_train_step
from jaxphys.rl._agent import NONNEGATIVE, RATE, UNIT, Agent, build_agent, check_config_type
from jaxphys.rl._networks import policy_network
from jaxphys.rl._onpolicy import (OnPolicyState, actor_critic_policy, advance, advantages,
                                  check_rollout_config, clipped_adam, collect, flatten_time,
                                  log_prob_entropy, onpolicy_init)

__all__ = ["A2CConfig", "A2CHyperparams", "make_a2c"]


@dataclasses.dataclass(frozen=True)
class A2CConfig:
    """Static settings of A2C.

    Fields: total_timesteps (environment steps in all), n_envs, n_steps (per environment
    per update), normalize_advantages (standardise the advantages of each update, as
    stable-baselines3's option), hidden and activation (default networks).

    Example:
        >>> from jaxphys.rl import A2CConfig
        >>> cfg = A2CConfig(n_envs=4)
        >>> cfg.n_envs * cfg.n_steps                      # transitions per update: 4 × 5
        20
        >>> cfg.total_timesteps // (cfg.n_envs * cfg.n_steps)    # updates: 100 000 / 20
        5000
    """

    total_timesteps: int = 100_000
    n_envs: int = 16
    n_steps: int = 5
    normalize_advantages: bool = False
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class A2CHyperparams(NamedTuple):
    """The floats of A2C one may sweep (float32 scalars).

    Fields: learning_rate (Adam, > 0), gamma ([0, 1]), gae_lambda ([0, 1]), ent_coef (≥ 0),
    vf_coef (≥ 0), max_grad_norm (> 0).

    Example:
        >>> from jaxphys.rl import A2CHyperparams
        >>> hp = A2CHyperparams()
        >>> hp.gae_lambda, hp.learning_rate          # λ = 1: the classic n-step returns
        (1.0, 0.001)
        >>> hp._replace(gae_lambda=0.95).gae_lambda  # GAE(0.95) instead
        0.95
    """

    learning_rate: Any = 1e-3
    gamma: Any = 0.99
    gae_lambda: Any = 1.0
    ent_coef: Any = 0.01
    vf_coef: Any = 0.5
    max_grad_norm: Any = 0.5


SPECS = {"learning_rate": RATE, "gamma": UNIT, "gae_lambda": UNIT, "ent_coef": NONNEGATIVE,
         "vf_coef": NONNEGATIVE, "max_grad_norm": RATE}


def make_a2c(env: Any, env_params: Any = None, config: A2CConfig = A2CConfig(), *,
             network: Any = None) -> Agent:
    """Build the A2C :class:`~jaxphys.rl.Agent` (see the module docstring; ``network`` as
    for :func:`jaxphys.rl.make_ppo`).

    Example:
        >>> from jaxphys.rl import A2CConfig, make_a2c
        >>> from jaxphys.rl.envs import CartPole
        >>> cfg = A2CConfig(total_timesteps=400, n_envs=8, hidden=(8,))
        >>> agent = make_a2c(CartPole(), None, cfg)      # built, not trained
        >>> agent.name, agent.n_updates                  # 400 / (8 envs × 5 steps)
        ('a2c', 10)
        >>> agent.default_hparams.learning_rate.dtype    # the floats are float32 arrays
        dtype('float32')
    """
    config = check_config_type(config, A2CConfig)
    batch_size, n_updates = check_rollout_config(config)
    env_params = env.default_params() if env_params is None else env_params
    net = policy_network(env, env_params, network, hidden=config.hidden,
                         activation=config.activation)
    tx = clipped_adam(eps=1e-5)

    def loss_fn(params, batch, key):
        (obs, action, adv, target), hp = batch
        if config.normalize_advantages:
            adv = (adv - jnp.mean(adv)) / (jnp.std(adv) + 1e-8)
        log_prob, entropy = log_prob_entropy(net, params, obs, action)
        entropy = jnp.mean(entropy)
        policy_loss = -jnp.mean(log_prob * adv)
        value = jax.vmap(net.value, in_axes=(None, 0))(params, obs)
        value_loss = 0.5 * jnp.mean((value - target) ** 2)
        loss = policy_loss + hp.vf_coef * value_loss - hp.ent_coef * entropy
        return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy}

    gradient_step = make_train_step(loss_fn, jit=False)

    init = onpolicy_init(net, tx, env, env_params, config.n_envs)

    def step(state, batch, key):
        hp = state.hparams
        key_rollout, key_step = jax.random.split(key)
        train_state, runner, traj = collect(net, env, env_params, state, key_rollout,
                                            config.n_steps, hp.learning_rate)
        adv, target = advantages(net, train_state.params, traj, hp.gamma, hp.gae_lambda)
        data = flatten_time((traj.obs, traj.action, adv, target))
        train_state, metrics = gradient_step(train_state, (data, hp), key_step)
        return advance(state, train_state, runner, traj, metrics, batch_size)

    def policy(params, deterministic):
        return actor_critic_policy(net, params, deterministic)

    return build_agent("a2c", config, A2CHyperparams, A2CHyperparams(), SPECS, OnPolicyState,
                       init, step, n_updates, policy, net)
