"""SAC's pieces outside the update: the tanh-squashed Gaussian policy sample with its
log-density, the soft Q target, and the default actor and critic networks.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxphys._checks import check_range
from jaxphys.nn import MLP
from jaxphys.rl._networks import LOG_STD_MAX, LOG_STD_MIN

__all__ = ["tanh_gaussian_sample", "soft_q_target"]


def tanh_gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array
                         ) -> tuple[jax.Array, jax.Array]:
    r"""Sample :math:`a = \tanh(u)`, :math:`u \sim \mathcal N(\mu, \sigma^2)` (diagonal, last
    axis the action dimension), and its log-density
    :math:`\log\mathcal N(u) - \sum_i \log(1 - \tanh^2 u_i)`, with
    :math:`\log(1 - \tanh^2 u) = 2(\log 2 - u - \mathrm{softplus}(-2u))` (stable for large |u|).

    Shapes: ``mean``, ``log_std`` (..., d) -> ``(a (..., d), log_prob (...))``.

    >>> import jax, jax.numpy as jnp, numpy as np
    >>> from jaxphys.rl import tanh_gaussian_sample
    >>> mean, log_std = jnp.zeros((3, 2)), jnp.zeros((3, 2))    # 3 draws of a 2-d action
    >>> sample = jax.jit(tanh_gaussian_sample)           # one compile, as inside a policy
    >>> a, logp = sample(jax.random.key(0), mean, log_std)
    >>> a, logp = np.asarray(a), np.asarray(logp)
    >>> a.shape, logp.shape, bool(np.all(np.abs(a) < 1))
    ((3, 2), (3,), True)
    >>> u = np.arctanh(a)                    # by hand: N(u; 0, 1) and the change of variables
    >>> by_hand = np.sum(-0.5 * u**2 - 0.5 * np.log(2 * np.pi) - np.log(1 - a**2), axis=-1)
    >>> bool(np.allclose(logp, by_hand, atol=1e-4))
    True
    """
    std = jnp.exp(log_std)
    u = mean + std * jax.random.normal(key, mean.shape, mean.dtype)
    logp = jnp.sum(-0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * jnp.log(2 * jnp.pi), axis=-1)
    logp = logp - jnp.sum(2.0 * (jnp.log(2.0) - u - jax.nn.softplus(-2.0 * u)), axis=-1)
    return jnp.tanh(u), logp


def soft_q_target(reward: jax.Array, terminated: jax.Array, next_q_min: jax.Array,
                  next_log_prob: jax.Array, gamma: Any, alpha: Any) -> jax.Array:
    """``y = r + γ (1 − terminated)(min_j Q̄_j(s', a') − α log π(a'|s'))`` (any shape).

    >>> float(soft_q_target(1.0, False, 2.0, -1.0, 0.5, 0.1))
    2.05
    """
    check_range(gamma, "gamma", low=0.0, high=1.0)
    not_terminal = 1.0 - jnp.asarray(terminated, jnp.float32)
    return reward + gamma * not_terminal * (next_q_min - alpha * next_log_prob)


class SACActorMLP(nn.Module):
    """The default SAC actor: a ReLU :class:`jaxphys.nn.MLP` trunk, then ``mean`` and
    ``log_std`` heads, ``log_std`` squashed into [−5, 2] by a tanh."""

    hidden: Sequence[int]
    action_dim: int

    @nn.compact
    def __call__(self, obs):
        h = nn.relu(MLP(widths=tuple(self.hidden), activation="relu", name="trunk")(obs))
        mean = nn.Dense(self.action_dim, name="mean")(h)
        log_std = jnp.tanh(nn.Dense(self.action_dim, name="log_std")(h))
        return mean, LOG_STD_MIN + 0.5 * (LOG_STD_MAX - LOG_STD_MIN) * (log_std + 1.0)


class SACCriticMLP(nn.Module):
    """The default SAC critic: ``Q(obs, action)``, a ReLU MLP on their concatenation."""

    hidden: Sequence[int]

    @nn.compact
    def __call__(self, obs, action):
        x = jnp.concatenate([obs, action], axis=-1)
        return MLP(widths=tuple(self.hidden) + (1,), activation="relu", name="q")(x)[..., 0]
