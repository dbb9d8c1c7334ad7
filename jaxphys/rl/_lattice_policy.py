r"""A convolutional actor-critic for lattice environments with periodic boundaries.

For an observation of ``L × L`` sites (:class:`jaxphys.rl.envs.IsingLattice`) whose
actions are the sites themselves, the natural policy is *translation-equivariant*:
translating the lattice translates the logits. :class:`PeriodicConvActorCritic` stacks
``len(features)`` ``k × k`` convolutions with periodic boundaries (:class:`PeriodicConv`,
:math:`y_{ij} = b + \sum_{a,b} x_{i+a-p,\,j+b-p} K_{ab}`, indices mod L, p = k // 2,
computed as k² lattice shifts and matrix products, which on a CPU is far cheaper than a
padded ``conv_general_dilated`` for small lattices), ReLU between them, and

* a 1 × 1 convolution to one logit per site, flattened to ``(L²,)`` (row-major, the
  environment's action index ``a = i L + j``): the categorical policy head;
* a linear read-out of the site-averaged features: the state value, ``()``.

It follows the shared actor-critic contract of :mod:`jaxphys.rl` (one model returning
``(logits, value)``), so any on-policy agent takes it as ``network=``. Equivariance holds
exactly: ``logits(roll(s)) = roll(logits(s))``.

Example:
    >>> import jax, jax.numpy as jnp
    >>> net = PeriodicConvActorCritic(features=(4,))
    >>> spins = jnp.ones((5, 5)).at[1, 2].set(-1.0)
    >>> params = net.init(jax.random.key(0), spins)
    >>> logits, value = net.apply(params, spins)
    >>> logits.shape, value.shape
    ((25,), ())
"""

from __future__ import annotations

from typing import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["PeriodicConvActorCritic", "PeriodicConv"]


class PeriodicConv(nn.Module):
    """A ``k × k`` convolution (cross-correlation) of one ``(L, L, C)`` lattice with periodic
    boundaries: ``(L, L, features)``.

    Attributes: features (output channels), kernel_size (odd k).

    Example (a 3 × 3 kernel of ones sums each site's neighbourhood, wrapping around
    the edges of a 5 × 5 lattice):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl import PeriodicConv
        >>> conv = PeriodicConv(features=1)
        >>> x = jnp.zeros((5, 5, 1)).at[0, 0, 0].set(1.0)      # one site in the corner
        >>> shapes = jax.eval_shape(conv.init, jax.random.key(0), x)["params"]
        >>> shapes["kernel"].shape, shapes["bias"].shape       # (k, k, C_in, C_out), (C_out,)
        ((3, 3, 1, 1), (1,))
        >>> ones = {"params": {"kernel": jnp.ones((3, 3, 1, 1)), "bias": jnp.zeros(1)}}
        >>> conv.apply(ones, x)[:, :, 0].astype(int).tolist()   # rows/cols 4, 0, 1 are hit
        [[1, 1, 0, 0, 1], [1, 1, 0, 0, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 1, 0, 0, 1]]
    """

    features: int
    kernel_size: int = 3

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 3:
            raise ValueError(f"x: expected one (L, L, C) lattice, got shape {x.shape}")
        k = self.kernel_size
        if k % 2 != 1:
            raise ValueError(f"kernel_size: expected an odd size, got {k}")
        kernel = self.param("kernel", nn.initializers.variance_scaling(2.0, "fan_in", "normal",
                                                                       in_axis=(0, 1, 2)),
                            (k, k, x.shape[-1], self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,))
        pad = k // 2
        out = jnp.broadcast_to(bias, x.shape[:2] + (self.features,))
        for a in range(k):
            for b in range(k):
                shifted = jnp.roll(x, (pad - a, pad - b), axis=(0, 1))
                out = out + shifted @ kernel[a, b]
        return out


class PeriodicConvActorCritic(nn.Module):
    """Periodic convolutional policy and value for ``(L, L)`` observations.

    Attributes:
        features: channels of the 3 × 3 convolutions, e.g. ``(16, 16)``.
        kernel_size: odd kernel size of those convolutions.

    Example (translating the spins translates the logits, the value is unchanged):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl import PeriodicConvActorCritic
        >>> net = PeriodicConvActorCritic(features=(4,))
        >>> spins = jnp.ones((5, 5)).at[1, 2].set(-1.0)
        >>> params = net.init(jax.random.key(0), spins)
        >>> logits, value = net.apply(params, spins)
        >>> shifted = jnp.roll(spins, (1, 2), axis=(0, 1))
        >>> logits2, value2 = net.apply(params, shifted)
        >>> expected = jnp.roll(logits.reshape(5, 5), (1, 2), axis=(0, 1)).reshape(-1)
        >>> bool(jnp.allclose(logits2, expected, atol=1e-6)), bool(jnp.isclose(value2, value))
        (True, True)
    """

    features: Sequence[int] = (16, 16)
    kernel_size: int = 3

    @nn.compact
    def __call__(self, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        if obs.ndim != 2:
            raise ValueError(f"obs: expected one (L, L) lattice, got shape {obs.shape}")
        h = obs.astype(jnp.float32)[:, :, None]
        for i, width in enumerate(self.features):
            h = nn.relu(PeriodicConv(int(width), self.kernel_size, name=f"conv_{i}")(h))
        logits = nn.Dense(1, kernel_init=nn.initializers.normal(0.01), name="policy")(h)
        value = nn.Dense(1, name="value")(jnp.mean(h, axis=(0, 1)))
        return logits.reshape(-1), value[0]
