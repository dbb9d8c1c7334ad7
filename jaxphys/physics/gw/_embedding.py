r"""DINGO's embedding network: a fixed reduced-basis (SVD) projection of the whitened
strain followed by residual blocks.

**Reduced basis** (Dax, Green, Gair, Macke, Buonanno & Schölkopf 2021, "Real-time
gravitational wave science with neural posterior estimation", Phys. Rev. Lett. 127,
241103, and its supplement: the first layer of the embedding is initialised with the
SVD of whitened waveforms). For ``N`` whitened noise-free waveforms, rows of
``H ∈ ℂ^{N×n}``, the SVD ``H = U S V^H`` orders the right singular vectors by how much
of the waveforms' power they carry; the first ``K`` columns ``V_K`` give coefficients
``c = w V_K`` (K complex numbers) and the reconstruction ``w ≈ c V_K^H``. On the real
features ``x = [Re w, Im w]`` the projection is the real matrix

.. math:: [\mathrm{Re}\,c,\ \mathrm{Im}\,c] = x \begin{pmatrix} P & Q \\ -Q & P\end{pmatrix},
          \qquad V_K = P + iQ,

and since ``V_K`` has orthonormal columns, white noise stays white: the 2K projected
noise components are independent standard normals.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import as_int, check_finite, check_key
from ._problem import GWProblem, _whitened_parts


class ReducedBasis(NamedTuple):
    """Fields:
        basis: (n, K) complex NumPy array ``V_K`` with orthonormal columns.
        singular_values: (K,) the largest singular values of the training waveforms.
        projection: (2n, 2K) float32 NumPy matrix acting on real features ``[Re w, Im w]``.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import ReducedBasis, reduced_basis
        >>> waves = np.diag([3.0, 2.0, 0.5]).astype(complex)   # orthogonal rows of norm 3, 2, 0.5
        >>> rb = reduced_basis(waves, 2)
        >>> isinstance(rb, ReducedBasis), rb.singular_values.round(6).tolist()
        (True, [3.0, 2.0])
        >>> np.allclose(rb.basis.conj().T @ rb.basis, np.eye(2)), rb.projection.shape
        (True, (6, 4))
    """

    basis: np.ndarray
    singular_values: np.ndarray
    projection: np.ndarray


def reduced_basis(waveforms, n_basis: int) -> ReducedBasis:
    """SVD basis of ``waveforms`` (N, n) complex whitened strains (rows), keeping
    ``n_basis`` vectors (computed in float64 on the host).

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import reduced_basis
        >>> t = np.linspace(0, 1, 50)
        >>> waves = np.array([np.exp(2j * np.pi * (3 + 0.1 * k) * t) for k in range(20)])
        >>> rb = reduced_basis(waves, 5)
        >>> rb.basis.shape, rb.projection.shape
        ((50, 5), (100, 10))
    """
    h = np.asarray(waveforms)
    if h.ndim != 2:
        raise ValueError(f"waveforms: expected shape (N, n), got {h.shape}")
    h = h.astype(np.complex128)
    check_finite(h.real, "waveforms")
    check_finite(h.imag, "waveforms")
    n_basis = as_int(n_basis, "n_basis", minimum=1)
    if n_basis > min(h.shape):
        raise ValueError(f"n_basis: expected at most min(N, n) = {min(h.shape)}, got {n_basis}")
    _, s, vh = np.linalg.svd(h, full_matrices=False)
    v = vh[:n_basis].conj().T
    p, q = v.real, v.imag
    projection = np.block([[p, q], [-q, p]]).astype(np.float32)
    return ReducedBasis(v, s[:n_basis], projection)


def waveform_basis(key: jax.Array, problem: GWProblem, n_waveforms: int = 5000,
                   n_basis: int = 64) -> ReducedBasis:
    """The reduced basis of ``n_waveforms`` noise-free whitened waveforms with
    parameters drawn from the problem's prior and a uniform coalescence phase.

    Example:
        >>> import jax, numpy as np
        >>> from jaxphys.physics.gw import gw_problem, waveform_basis
        >>> problem = gw_problem()                         # 121 bins, 20–80 Hz
        >>> rb = waveform_basis(jax.random.key(0), problem, n_waveforms=8, n_basis=3)
        >>> rb.basis.shape, rb.projection.shape            # (n_bins, K), (2 n_bins, 2K)
        ((121, 3), (242, 6))
        >>> bool(np.all(np.diff(rb.singular_values) <= 0))  # ordered by captured power
        True
    """
    check_key(key, "key")
    prior_key, phase_key = jax.random.split(key)
    n_waveforms = as_int(n_waveforms, "n_waveforms", minimum=2)
    n_basis = as_int(n_basis, "n_basis", minimum=1)
    theta = problem.prior.sample(seed=prior_key, sample_shape=n_waveforms)
    phases = jax.random.uniform(phase_key, (n_waveforms,), maxval=2 * np.pi)
    re, im = jax.jit(jax.vmap(lambda t, p: _whitened_parts(t, problem, p)))(theta, phases)
    return reduced_basis(np.asarray(re, np.float64) + 1j * np.asarray(im, np.float64), n_basis)


def project(features, basis: ReducedBasis) -> jax.Array:
    """Reduced-basis coefficients ``[Re c, Im c]`` (..., 2K) of real features (..., 2n).

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import project, reduced_basis
        >>> rb = reduced_basis(np.diag([3.0, 2.0, 0.5]).astype(complex), 2)
        >>> x = jnp.array([0.0, 3.0, 0.0, 0.0, 4.0, 0.0])     # w = (0, 3 + 4i, 0): in the basis
        >>> c = project(x, rb)
        >>> c.shape, round(float(np.linalg.norm(c)), 4)      # orthonormal: |c| = |w| = 5
        ((4,), 5.0)
        >>> project(jnp.stack([x, 2 * x]), rb).shape        # batches over leading axes
        (2, 4)
    """
    features = jnp.asarray(features)
    if features.shape[-1] != basis.projection.shape[0]:
        raise ValueError(f"features: expected length {basis.projection.shape[0]} (2 × bins) in "
                         f"the last axis, got shape {tuple(features.shape)}")
    return features @ jnp.asarray(basis.projection, features.dtype)


class ResidualBlock(nn.Module):
    """``x + W₂ σ(W₁ σ(LayerNorm(x)))`` with ``W₂`` zero-initialised (the block starts
    as the identity), as DINGO's dense residual network (pre-activation form).

    Example:
        >>> import jax, numpy as np
        >>> from jaxphys.physics.gw import ResidualBlock
        >>> block = ResidualBlock(width=8)
        >>> x = np.linspace(-2.0, 2.0, 16, dtype=np.float32).reshape(2, 8)   # 2 inputs of width 8
        >>> params = block.init(jax.random.key(0), x[0])
        >>> np.array_equal(block.apply(params, x), x)       # W₂ = 0 at init: the identity
        True
    """

    width: int
    activation: Any = nn.elu

    @nn.compact
    def __call__(self, x):
        h = self.activation(nn.LayerNorm()(x))
        h = self.activation(nn.Dense(self.width)(h))
        return x + nn.Dense(self.width, kernel_init=nn.initializers.zeros)(h)


class GWEmbedding(nn.Module):
    r"""Embedding of whitened strain features ``x`` (..., 2n) into (..., ``output_dim``):
    the fixed reduced-basis projection (:class:`ReducedBasis` ``.projection``, not a
    parameter unless ``trainable_basis``), a dense layer to ``width``, ``n_blocks``
    :class:`ResidualBlock` s and a dense output layer.

    Attributes:
        projection: (2n, 2K) matrix, e.g. ``waveform_basis(...).projection``.
        width, n_blocks, output_dim: sizes of the residual network.
        trainable_basis: if True the projection starts at the SVD basis and is
            fine-tuned with the rest (DINGO's option); default False keeps it fixed.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import GWEmbedding
        >>> emb = GWEmbedding(np.eye(6, 4, dtype=np.float32), width=8, n_blocks=1, output_dim=3)
        >>> params = emb.init(jax.random.key(0), jnp.zeros(6))
        >>> emb.apply(params, jnp.ones((2, 6))).shape
        (2, 3)
        >>> 'projection' in params['params']          # fixed: not a parameter
        False
    """

    projection: Any
    width: int = 128
    n_blocks: int = 3
    output_dim: int = 32
    trainable_basis: bool = False

    @nn.compact
    def __call__(self, x):
        if x.shape[-1] != np.shape(self.projection)[0]:
            raise ValueError(f"x: expected {np.shape(self.projection)[0]} features in the last "
                             f"axis (2 × frequency bins), got shape {tuple(x.shape)}")
        if self.trainable_basis:
            proj = self.param("projection", lambda key: jnp.asarray(self.projection, x.dtype))
        else:
            proj = jax.lax.stop_gradient(jnp.asarray(self.projection, x.dtype))
        h = nn.Dense(self.width)(x @ proj)
        for _ in range(int(self.n_blocks)):
            h = ResidualBlock(self.width)(h)
        return nn.Dense(self.output_dim)(nn.elu(h))

    def __hash__(self):          # the projection array is not hashable; identity suffices
        return id(self)
