"""Bijectors that distrax lacks: a fixed permutation, a statically split coupling layer,
the MAF and IAF autoregressive affine maps, an elementwise affine map and the standard
normal base."""

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
        # a reversal is a strided view (no gather, and no scatter in the gradient)
        self._reverse = bool(np.array_equal(perm, np.arange(perm.size)[::-1]))

    def _take(self, x, idx):
        return x[..., ::-1] if self._reverse else x[..., idx]

    def forward_and_log_det(self, x):
        return self._take(x, self._perm), jnp.zeros(x.shape[:-1], x.dtype)

    def inverse_and_log_det(self, y):
        return self._take(y, self._inv), jnp.zeros(y.shape[:-1], y.dtype)


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """A slice for an arithmetic run of indices (a strided view, no gather), else ``idx``."""
    if idx.size <= 1:
        return slice(int(idx[0]), int(idx[0]) + 1) if idx.size else slice(0, 0)
    step = int(idx[1] - idx[0])
    if step > 0 and np.array_equal(idx, np.arange(idx[0], idx[-1] + 1, step)):
        return slice(int(idx[0]), int(idx[-1]) + 1, step)
    return idx


class SplitCoupling(distrax.Bijector):
    r"""Coupling layer that splits the coordinates statically (event_ndims 1).

    With ``mask`` (d,) bool (True = passed through and conditioned on), the layer maps

    .. math:: y_{\bar m} = g_{θ(x_m)}(x_{\bar m}), \quad y_m = x_m, \quad
              \log|\det J| = \sum_{i \in \bar m} \log|g'_{θ,i}(x_i)|,

    where ``θ = conditioner(x_m)`` is computed from the kept coordinates alone (the
    index sets are known at trace time), and the inner elementwise bijector ``g`` runs
    on the transformed coordinates only. It is the map of ``distrax.MaskedCoupling(mask,
    c, bijector)`` with a conditioner ``c(x) = conditioner(x_m)`` scattered into the
    rows of the transformed coordinates, without the masked full-width passes.

    Args:
        mask: (d,) bool, True where the coordinate is kept.
        conditioner: ``x_m (..., k) -> params (..., n, P)``, ``k`` = number of kept and
            ``n`` = number of transformed coordinates (``k`` may be 0).
        bijector: ``params (..., n, P) -> `` an elementwise (event_ndims 0) distrax
            bijector acting on (..., n).

    Example:
        >>> import distrax, jax.numpy as jnp
        >>> def conditioner(kept):      # the shift of the one moved coordinate: x_0
        ...     return kept[..., None]
        >>> layer = SplitCoupling(jnp.array([True, False]), conditioner,
        ...                       lambda p: distrax.ScalarAffine(shift=p[..., 0]))
        >>> layer.forward(jnp.array([2.0, 1.0]))      # y_1 = x_1 + x_0
        Array([2., 3.], dtype=float32)
    """

    def __init__(self, mask, conditioner: Callable, bijector: Callable):
        super().__init__(event_ndims_in=1)
        mask = np.asarray(mask)
        if mask.ndim != 1 or mask.dtype != bool:
            raise ValueError(f"mask: expected a (d,) bool array, got dtype {mask.dtype} and "
                             f"shape {mask.shape}")
        if mask.all():
            raise ValueError("mask: expected at least one transformed (False) coordinate")
        self._mask = mask
        self._d = mask.size
        keep, move = np.flatnonzero(mask), np.flatnonzero(~mask)
        self._keep, self._move = _as_slice(keep), _as_slice(move)
        # reassembly by concatenation when the kept and moved sets are two blocks
        self._blocks = None
        if keep.size == 0:
            self._blocks = ()
        elif keep.max() < move.min():
            self._blocks = ("keep", "move")
        elif move.max() < keep.min():
            self._blocks = ("move", "keep")
        self._conditioner = conditioner
        self._bijector = bijector

    @property
    def mask(self) -> np.ndarray:
        return self._mask

    def _check(self, x):
        if x.ndim < 1 or x.shape[-1] != self._d:
            raise ValueError(f"x: expected shape (..., {self._d}), got {tuple(x.shape)}")

    def _apply(self, x, direction: str):
        x = jnp.asarray(x)
        self._check(x)
        kept = x[..., self._keep]
        inner = self._bijector(self._conditioner(kept))
        y_move, log_det = getattr(inner, direction)(x[..., self._move])
        if self._blocks == ():
            y = y_move
        elif self._blocks is not None:
            parts = {"keep": kept, "move": y_move}
            y = jnp.concatenate([parts[b] for b in self._blocks], axis=-1)
        else:
            y = x.at[..., self._move].set(y_move)
        return y, jnp.sum(log_det, axis=-1)

    def forward_and_log_det(self, x):
        return self._apply(x, "forward_and_log_det")

    def inverse_and_log_det(self, y):
        return self._apply(y, "inverse_and_log_det")


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

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.generative import MaskedAutoregressiveAffine
        >>> def conditioner(x):          # μ_1 = x_0, α = 0: z = (x_0, x_1 - x_0)
        ...     shift = jnp.stack([jnp.zeros_like(x[..., 0]), x[..., 0]], -1)
        ...     return jnp.stack([shift, jnp.zeros_like(shift)], -1)
        >>> maf = MaskedAutoregressiveAffine(conditioner)
        >>> maf.inverse(jnp.array([1.0, 3.0]))     # data → base: one conditioner pass
        Array([1., 2.], dtype=float32)
        >>> maf.forward(jnp.array([1.0, 2.0]))     # base → data: the autoregressive loop
        Array([1., 3.], dtype=float32)
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


class InverseAutoregressiveAffine(distrax.Bijector):
    r"""Inverse autoregressive affine bijector (IAF, Kingma et al. 2016, "Improved
    variational inference with inverse autoregressive flow").

    With ``(μ, α) = conditioner(x)`` where ``μ_i, α_i`` depend on ``x_{<i}`` only (a
    MADE network), the forward map (base → sample) is one network pass

    .. math:: y_i = x_i\, e^{α_i(x_{<i})} + μ_i(x_{<i}), \quad
              \log|\det ∂y/∂x| = \sum_i α_i,

    so sampling a posterior and evaluating the density of its own samples
    (``sample_and_log_prob``) are fast: the direction a variational posterior needs. The
    inverse is the autoregressive loop ``x_i = (y_i - μ_i(x_{<i})) e^{-α_i(x_{<i})}``:
    ``d`` network passes in a ``lax.fori_loop``, after pass ``k`` the first ``k``
    coordinates are exact. It is the inverse of :class:`MaskedAutoregressiveAffine`'s
    construction (there the parameters depend on the output).

    Args:
        conditioner: ``x (..., d) -> params (..., d, 2)`` with ``params[..., 0] = μ`` and
            ``params[..., 1]`` the unbounded log-scale, soft-clamped to
            ``±log_scale_bound`` by ``b·tanh(·/b)``.

    Example:
        >>> import jax.numpy as jnp
        >>> def conditioner(x):          # μ_1 = x_0, α = 0: y = (x_0, x_1 + x_0)
        ...     shift = jnp.stack([jnp.zeros_like(x[..., 0]), x[..., 0]], -1)
        ...     return jnp.stack([shift, jnp.zeros_like(shift)], -1)
        >>> iaf = InverseAutoregressiveAffine(conditioner)
        >>> iaf.forward(jnp.array([1.0, 2.0])), iaf.inverse(jnp.array([1.0, 3.0]))
        (Array([1., 3.], dtype=float32), Array([1., 2.], dtype=float32))
    """

    def __init__(self, conditioner: Callable, log_scale_bound: float = 5.0):
        super().__init__(event_ndims_in=1)
        self._conditioner = conditioner
        self._bound = log_scale_bound

    def _shift_log_scale(self, x):
        p = self._conditioner(x)
        b = self._bound
        return p[..., 0], b * jnp.tanh(p[..., 1] / b)

    def forward_and_log_det(self, x):
        shift, log_scale = self._shift_log_scale(x)
        return x * jnp.exp(log_scale) + shift, jnp.sum(log_scale, axis=-1)

    def inverse_and_log_det(self, y):
        d = y.shape[-1]

        def body(_, x):
            shift, log_scale = self._shift_log_scale(x)
            return ((y - shift) * jnp.exp(-log_scale)).astype(y.dtype)

        x = jax.lax.fori_loop(0, d, body, jnp.zeros_like(y))
        _, log_scale = self._shift_log_scale(x)
        return x, -jnp.sum(log_scale, axis=-1)


class ElementwiseAffine(distrax.Bijector):
    """``y = shift + scale ⊙ x`` over the last axis (event_ndims 1), shift and scale (d,),
    broadcast explicitly against any batch shape; log|det J| = Σ log|scale|.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.generative import ElementwiseAffine
        >>> b = ElementwiseAffine(shift=jnp.array([1.0, 0.0]), scale=jnp.array([2.0, 3.0]))
        >>> y, log_det = b.forward_and_log_det(jnp.array([[1.0, 1.0], [0.0, 2.0]]))
        >>> y.tolist(), [round(float(v), 4) for v in log_det]      # log 2 + log 3 = log 6
        ([[3.0, 3.0], [1.0, 6.0]], [1.7918, 1.7918])
    """

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
    against (n, d) inputs, which ``jax_numpy_rank_promotion='raise'`` rejects).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.generative import StandardNormal
        >>> base = StandardNormal(2)
        >>> round(float(base.log_prob(jnp.zeros(2))), 4)      # -log 2π at the origin
        -1.8379
        >>> base.sample(seed=jax.random.key(0), sample_shape=5).shape
        (5, 2)
    """

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
