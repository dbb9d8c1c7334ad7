r"""REINFORCE with a learned baseline (Williams 1992, *Simple statistical gradient-following
algorithms for connectionist reinforcement learning*).

Each update runs ``n_envs`` vmapped environments for ``n_steps`` steps and uses every
step whose episode *ends* inside the rollout (the trailing unfinished episode of each
environment is masked out, so every return reaches the episode's end):

.. math::

    G_t = r_t + \gamma\,[\mathrm{trunc}_t V(s'_t) + (1 - \mathrm{done}_t) G_{t+1}], \qquad
    \nabla J \approx \frac{1}{|\mathcal{V}|}\sum_{t \in \mathcal{V}}
        \nabla\log\pi(a_t|s_t)\,(G_t - b(s_t)),

a Monte-Carlo return to a termination, bootstrapped from the baseline
:math:`b = V_\phi` only where the episode was *truncated* (a time limit is not part of
the task: Pardo et al. 2018, *Time limits in reinforcement learning*). The baseline is
fitted by least squares to :math:`G_t` in the same step (loss ``pg + c_v · ½ mse − c_e ·
entropy``, one :func:`jaxphys.core.make_train_step` step per update). Pick ``n_steps``
at least the episode limit so that long episodes still finish inside a rollout.

``make_reinforce(env, env_params, config, *, network=None) -> Agent``.

Example:
    >>> import jax
    >>> from jaxphys.rl.envs import CartPole
    >>> cfg = ReinforceConfig(total_timesteps=800, n_envs=4, n_steps=100, hidden=(8,))
    >>> agent = make_reinforce(CartPole(), None, cfg)
    >>> agent.n_updates, sorted(agent.default_hparams._fields)[:2]
    (2, ['ent_coef', 'gamma'])
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from jaxphys._checks import check_range
from jaxphys.core import make_train_step
from jaxphys.rl._agent import NONNEGATIVE, RATE, UNIT, Agent, build_agent, check_config_type
from jaxphys.rl._networks import policy_network
from jaxphys.rl._onpolicy import (OnPolicyState, actor_critic_policy, advance,
                                  check_rollout_config, clipped_adam, collect, flatten_time,
                                  log_prob_entropy, onpolicy_init)
from jaxphys.rl._rollout import Trajectory

__all__ = ["ReinforceConfig", "ReinforceHyperparams", "make_reinforce", "returns_to_go",
           "reinforce_returns"]


@dataclasses.dataclass(frozen=True)
class ReinforceConfig:
    """Static settings of REINFORCE: total_timesteps, n_envs, n_steps (rollout length per
    environment), hidden and activation (default networks).

    >>> from jaxphys.rl import ReinforceConfig
    >>> cfg = ReinforceConfig()
    >>> cfg.n_envs * cfg.n_steps, cfg.total_timesteps // (cfg.n_envs * cfg.n_steps)
    (4000, 50)
    """

    total_timesteps: int = 200_000
    n_envs: int = 8
    n_steps: int = 500
    hidden: Sequence[int] = (64, 64)
    activation: str = "tanh"


class ReinforceHyperparams(NamedTuple):
    """The floats of REINFORCE one may sweep: learning_rate (> 0), gamma ([0, 1]),
    ent_coef (≥ 0), vf_coef (baseline weight, ≥ 0), max_grad_norm (> 0).

    >>> from jaxphys.rl import ReinforceHyperparams
    >>> hp = ReinforceHyperparams()
    >>> hp.learning_rate, hp.gamma, hp.ent_coef
    (0.003, 0.99, 0.0)
    >>> hp._replace(gamma=0.9).gamma
    0.9
    """

    learning_rate: Any = 3e-3
    gamma: Any = 0.99
    ent_coef: Any = 0.0
    vf_coef: Any = 0.5
    max_grad_norm: Any = 1.0


SPECS = {"learning_rate": RATE, "gamma": UNIT, "ent_coef": NONNEGATIVE, "vf_coef": NONNEGATIVE,
         "max_grad_norm": RATE}


def returns_to_go(reward: jax.Array, terminated: jax.Array, truncated: jax.Array,
                  bootstrap: jax.Array, gamma: Any) -> tuple[jax.Array, jax.Array]:
    """Discounted returns to the episode end along axis 0, bootstrapped at truncations,
    and the mask of steps whose episode ends within the arrays.

    ``G_t = r_t + γ [truncated_t · bootstrap_t + (1 − done_t) G_{t+1}]`` with
    ``done = terminated | truncated``; arrays ``(T, ...)``; returns ``(G, valid)``.

    >>> import jax.numpy as jnp
    >>> f, t = jnp.array([False, True, False, False]), jnp.array([False, False, False, True])
    >>> G, valid = returns_to_go(jnp.ones(4), f, t, jnp.full(4, 10.0), 0.5)
    >>> G.tolist(), valid.tolist()
    ([1.5, 1.0, 4.0, 6.0], [True, True, True, True])
    """
    check_range(gamma, "gamma", low=0.0, high=1.0)
    done = terminated | truncated

    def body(carry, inputs):
        g, seen_end = carry
        r, d, tr, v = inputs
        g = r + gamma * (jnp.where(tr, v, 0.0) + jnp.where(d, 0.0, g))
        seen_end = seen_end | d
        return (g, seen_end), (g, seen_end)

    init = (jnp.zeros_like(reward[0]), jnp.zeros_like(done[0]))
    _, (g, valid) = jax.lax.scan(body, init, (reward, done, truncated, bootstrap), reverse=True)
    return jnp.where(valid, g, 0.0), valid


def reinforce_returns(net: Any, params: Any, traj: Trajectory, gamma: Any
                      ) -> tuple[jax.Array, jax.Array]:
    """:func:`returns_to_go` of a rollout, bootstrapped with the baseline of ``params`` at
    the final observations of truncated episodes; ``(G, valid)``, each ``(T, N)``."""
    bootstrap = jax.vmap(jax.vmap(net.value, in_axes=(None, 0)), in_axes=(None, 0))(
        params, traj.final_obs)
    return returns_to_go(traj.reward, traj.terminated, traj.truncated, bootstrap, gamma)


def make_reinforce(env: Any, env_params: Any = None, config: ReinforceConfig = ReinforceConfig(),
                   *, network: Any = None) -> Agent:
    """Build the REINFORCE :class:`~jaxphys.rl.Agent` (module docstring; ``network`` as for
    :func:`jaxphys.rl.make_ppo`, the critic is the baseline).

    >>> from jaxphys.rl import ReinforceConfig, make_reinforce
    >>> from jaxphys.rl.envs import Pendulum                # continuous torque, 200-step episodes
    >>> cfg = ReinforceConfig(total_timesteps=2000, n_envs=2, n_steps=200, hidden=(8,))
    >>> agent = make_reinforce(Pendulum(), None, cfg)      # built, not trained
    >>> agent.name, agent.n_updates                        # 2000 / (2 envs × 200 steps)
    ('reinforce', 5)
    """
    config = check_config_type(config, ReinforceConfig)
    batch_size, n_updates = check_rollout_config(config)
    env_params = env.default_params() if env_params is None else env_params
    net = policy_network(env, env_params, network, hidden=config.hidden,
                         activation=config.activation)
    tx = clipped_adam()

    def loss_fn(params, batch, key):
        (obs, action, ret, valid), hp = batch
        weight = valid.astype(jnp.float32)
        n = jnp.maximum(jnp.sum(weight), 1.0)
        log_prob, entropy = log_prob_entropy(net, params, obs, action)
        baseline = jax.vmap(net.value, in_axes=(None, 0))(params, obs)
        adv = jax.lax.stop_gradient(ret - baseline)
        policy_loss = -jnp.sum(weight * log_prob * adv) / n
        value_loss = 0.5 * jnp.sum(weight * (baseline - ret) ** 2) / n
        entropy = jnp.sum(weight * entropy) / n
        loss = policy_loss + hp.vf_coef * value_loss - hp.ent_coef * entropy
        return loss, {"policy_loss": policy_loss, "value_loss": value_loss, "entropy": entropy,
                      "used_fraction": jnp.mean(weight)}

    gradient_step = make_train_step(loss_fn, jit=False)

    init = onpolicy_init(net, tx, env, env_params, config.n_envs)

    def step(state, batch, key):
        hp = state.hparams
        key_rollout, key_step = jax.random.split(key)
        train_state, runner, traj = collect(net, env, env_params, state, key_rollout,
                                            config.n_steps, hp.learning_rate)
        ret, valid = reinforce_returns(net, train_state.params, traj, hp.gamma)
        data = flatten_time((traj.obs, traj.action, ret, valid))
        train_state, metrics = gradient_step(train_state, (data, hp), key_step)
        return advance(state, train_state, runner, traj, metrics, batch_size)

    def policy(params, deterministic):
        return actor_critic_policy(net, params, deterministic)

    return build_agent("reinforce", config, ReinforceHyperparams, ReinforceHyperparams(), SPECS,
                       OnPolicyState, init, step, n_updates, policy, net)
