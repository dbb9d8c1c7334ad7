"""Bijectors that distrax lacks: a fixed permutation and the MAF autoregressive affine map."""

from __future__ import annotations

from typing import Callable

import distrax
import jax
import jax.numpy as jnp
import numpy as np


class Permute(distrax.Bijector):
    """Fixed permutation of the last axis: ``y[..., i] = x[..., perm[i]]``; log|det J| = 0.

    Example:
        >>> import jax.numpy as jnp
        >>> b = Permute([2, 0, 1])
        >>> b.forward(jnp.array([10., 20., 30.]))
        Array([30., 10., 20.], dtype=float32)
    """

    def __init__(self, permutation):
        super().__init__(event_ndims_in=1, is_constant_jacobian=True)
        perm = np.asarray(permutation, dtype=np.int64)
        if sorted(perm.tolist()) != list(range(perm.size)):
            raise ValueError(f"permutation: expected a permutation of 0..{perm.size - 1}, "
                             f"got {perm.tolist()}")
        self._perm = perm
        self._inv = np.argsort(perm)

    def forward_and_log_det(self, x):
        return x[..., self._perm], jnp.zeros(x.shape[:-1], x.dtype)

    def inverse_and_log_det(self, y):
        return y[..., self._inv], jnp.zeros(y.shape[:-1], y.dtype)


class MaskedAutoregressiveAffine(distrax.Bijector):
    r"""Masked autoregressive affine bijector (MAF, Papamakarios et al. 2017).

    With ``(μ, α) = conditioner(x)`` where ``μ_i, α_i`` depend on ``x_{<i}`` only
    (a MADE network), the data → base direction is one network pass

    .. math:: z_i = (x_i - μ_i(x_{<i}))\, e^{-α_i(x_{<i})},
              \quad \log|\det ∂z/∂x| = -\sum_i α_i,

    so densities are fast. The base → data direction (``forward``, used by
    ``sample``) is the autoregressive loop ``x_i = z_i e^{α_i} + μ_i``: ``d``
    network passes in a ``lax.fori_loop``, after pass ``k`` the first ``k``
    coordinates are exact.

    Args:
        conditioner: ``x (..., d) -> params (..., d, 2)`` with ``params[..., 0] = μ``
            and ``params[..., 1]`` the unbounded log-scale, soft-clamped to
            ``±log_scale_bound`` by ``b·tanh(·/b)``.
    """

    def __init__(self, conditioner: Callable, log_scale_bound: float = 5.0):
        super().__init__(event_ndims_in=1)
        self._conditioner = conditioner
        self._bound = log_scale_bound

    def _shift_log_scale(self, x):
        p = self._conditioner(x)
        b = self._bound
        return p[..., 0], b * jnp.tanh(p[..., 1] / b)

    def inverse_and_log_det(self, y):
        shift, log_scale = self._shift_log_scale(y)
        z = (y - shift) * jnp.exp(-log_scale)
        return z, -jnp.sum(log_scale, axis=-1)

    def forward_and_log_det(self, z):
        d = z.shape[-1]

        def body(_, x):
            shift, log_scale = self._shift_log_scale(x)
            return (z * jnp.exp(log_scale) + shift).astype(z.dtype)

        x = jax.lax.fori_loop(0, d, body, jnp.zeros_like(z))
        _, log_scale = self._shift_log_scale(x)
        return x, jnp.sum(log_scale, axis=-1)


class ElementwiseAffine(distrax.Bijector):
    """``y = shift + scale ⊙ x`` over the last axis (event_ndims 1), shift and scale (d,),
    broadcast explicitly against any batch shape; log|det J| = Σ log|scale|."""

    def __init__(self, shift, scale):
        super().__init__(event_ndims_in=1, is_constant_jacobian=True)
        self._shift = jnp.asarray(shift)
        self._scale = jnp.asarray(scale)

    def forward_and_log_det(self, x):
        shift = jnp.broadcast_to(self._shift, x.shape)
        scale = jnp.broadcast_to(self._scale, x.shape)
        logdet = jnp.broadcast_to(jnp.sum(jnp.log(jnp.abs(self._scale))), x.shape[:-1])
        return shift + scale * x, logdet

    def inverse_and_log_det(self, y):
        shift = jnp.broadcast_to(self._shift, y.shape)
        scale = jnp.broadcast_to(self._scale, y.shape)
        logdet = jnp.broadcast_to(-jnp.sum(jnp.log(jnp.abs(self._scale))), y.shape[:-1])
        return (y - shift) / scale, logdet


class StandardNormal(distrax.Distribution):
    """Standard normal N(0, I_d) with event shape (d,), written without implicit
    rank promotion (distrax's ``MultivariateNormalDiag`` broadcasts its (d,) location
    against (n, d) inputs, which ``jax_numpy_rank_promotion='raise'`` rejects)."""

    def __init__(self, d: int, dtype=jnp.float32):
        self._d = int(d)
        self._dtype = dtype

    @property
    def event_shape(self):
        return (self._d,)

    @property
    def dtype(self):
        return self._dtype

    def _sample_n(self, key, n):
        return jax.random.normal(key, (n, self._d), self._dtype)

    def log_prob(self, value):
        value = jnp.asarray(value)
        return -0.5 * jnp.sum(value ** 2, axis=-1) - 0.5 * self._d * np.log(2 * np.pi)

    def mean(self):
        return jnp.zeros(self._d, self._dtype)

    def stddev(self):
        return jnp.ones(self._d, self._dtype)
