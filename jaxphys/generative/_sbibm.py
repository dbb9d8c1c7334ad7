r"""The two-moons task of the simulation-based-inference benchmark with a reference
posterior computed here, independently of any estimator (Lueckmann et al. 2021,
"Benchmarking simulation-based inference", the ``sbibm`` task ``two_moons``; its
``gaussian_linear`` task is :func:`jaxphys.physics.simulators.gaussian_linear` with
``dim=10``, whose posterior is exact).

The prior and the simulator (:func:`two_moons_prior`, :func:`two_moons_simulate`) make
a :class:`jaxphys.physics.simulators.SimulationTask`; generative does not import physics.

**Two moons** (Greenberg et al. 2019). θ ~ U(-1, 1)², and with ``a ~ U(-π/2, π/2)``,
``r ~ N(0.1, 0.01²)``, ``p = (r cos a + 0.25, r sin a)``,

.. math:: x = p + \Big(-\frac{|θ_1 + θ_2|}{\sqrt 2},\ \frac{θ_2 - θ_1}{\sqrt 2}\Big).

The likelihood is closed form: with ``v = x + (|θ_1 + θ_2|/√2, (θ_1 - θ_2)/√2) - (0.25, 0)``
and ``ρ = |v|``, the point ``v`` has polar angle in (-π/2, π/2) and radius ``r`` when
``r > 0`` (in the other half plane, radius ``-r``, when ``r < 0``), so

.. math:: p(x | θ) = \frac{\mathcal N(ρ;\ 0.1, 0.01^2)\,\mathbb 1[v_1 > 0]
                    + \mathcal N(-ρ;\ 0.1, 0.01^2)\,\mathbb 1[v_1 < 0]}{π ρ}

(the map θ ↦ x - p is piecewise orthogonal, Jacobian 1). The posterior, two thin
crescents, is this likelihood on the prior's square; :func:`two_moons_reference_posterior`
samples it from a fine grid.
"""

from __future__ import annotations

import math
from typing import Any

import distrax
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, as_int, check_finite, check_key

_MOON_RADIUS, _MOON_WIDTH, _MOON_SHIFT = 0.1, 0.01, 0.25


def _pairs(v: Any, name: str) -> jax.Array:
    """``v`` as an array of shape ``(..., 2)`` (a static check: it holds under tracing)."""
    v = jnp.asarray(v)
    if v.shape[-1:] != (2,):
        raise ValueError(f"{name}: expected shape (..., 2), got {tuple(v.shape)}")
    return v


def two_moons_mean(theta: jax.Array) -> jax.Array:
    """The parameter-dependent shift ``(-|θ_1 + θ_2|/√2, (θ_2 - θ_1)/√2)`` (..., 2).

    Example:
        >>> from jaxphys.generative import two_moons_mean
        >>> m = two_moons_mean(jnp.array([[0.5, 0.5], [-0.5, -0.5], [0.0, 1.0]]))
        >>> [[round(float(v), 4) for v in row] for row in m]   # θ and -θ: the same x
        [[-0.7071, 0.0], [-0.7071, 0.0], [-0.7071, 0.7071]]
    """
    theta = _pairs(theta, "theta")
    z0 = (theta[..., 0] + theta[..., 1]) / math.sqrt(2.0)
    z1 = (theta[..., 1] - theta[..., 0]) / math.sqrt(2.0)
    return jnp.stack([-jnp.abs(z0), z1], axis=-1)


def two_moons_log_likelihood(theta, x) -> jax.Array:
    """Closed-form ``log p(x | θ)`` of the two-moons simulator (module docstring);
    ``theta`` (..., 2) and ``x`` (..., 2) broadcast explicitly against each other.

    Example:
        >>> x = jnp.array([0.35, 0.0])                          # θ = 0, a = 0, r = 0.1
        >>> round(float(two_moons_log_likelihood(jnp.zeros(2), x)), 4)
        4.8441
    """
    theta, x = _pairs(theta, "theta"), _pairs(x, "x")
    batch = jnp.broadcast_shapes(theta.shape[:-1], x.shape[:-1])
    theta = jnp.broadcast_to(theta, batch + (2,))
    x = jnp.broadcast_to(x, batch + (2,))
    v = x - two_moons_mean(theta) - jnp.asarray([_MOON_SHIFT, 0.0], x.dtype)
    rho = jnp.sqrt(jnp.sum(v * v, axis=-1))
    signed = jnp.where(v[..., 0] > 0, rho, -rho)
    log_normal = (-0.5 * ((signed - _MOON_RADIUS) / _MOON_WIDTH) ** 2
                  - math.log(_MOON_WIDTH * math.sqrt(2.0 * math.pi)))
    return log_normal - jnp.log(math.pi * rho)


def two_moons_prior() -> distrax.Distribution:
    """The two-moons prior U(-1, 1)² (a distrax distribution, event shape (2,)).

    Example:
        >>> import jax
        >>> from jaxphys.generative import two_moons_prior
        >>> prior = two_moons_prior()
        >>> prior.event_shape, round(float(prior.log_prob(jnp.zeros(2))), 4)   # log(1/4)
        ((2,), -1.3863)
        >>> prior.sample(seed=jax.random.key(0), sample_shape=3).shape
        (3, 2)
    """
    return distrax.Independent(distrax.Uniform(-jnp.ones(2), jnp.ones(2)), 1)


def two_moons_simulate(key: jax.Array, theta: jax.Array) -> jax.Array:
    """One draw ``x ~ p(x | θ)`` of the two-moons simulator for ``theta`` (2,) (module
    docstring); ``vmap`` it over keys and parameters.

    Example:
        >>> import jax
        >>> x = two_moons_simulate(jax.random.key(0), jnp.zeros(2))
        >>> bool(abs(float(jnp.linalg.norm(x - jnp.array([0.25, 0.0]))) - 0.1) < 0.05)
        True
    """
    theta = jnp.asarray(theta)
    if theta.shape != (2,):
        raise ValueError(f"theta: expected shape (2,) (vmap over a batch), got "
                         f"{tuple(theta.shape)}")
    angle_key, radius_key = jax.random.split(key)
    a = jax.random.uniform(angle_key, (), theta.dtype, -math.pi / 2, math.pi / 2)
    r = _MOON_RADIUS + _MOON_WIDTH * jax.random.normal(radius_key, (), theta.dtype)
    p = jnp.stack([r * jnp.cos(a) + _MOON_SHIFT, r * jnp.sin(a)])
    return p + two_moons_mean(theta)


def _log_likelihood_np(theta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """:func:`two_moons_log_likelihood` in float64 NumPy (the reference grid)."""
    z0 = (theta[..., 0] + theta[..., 1]) / math.sqrt(2.0)
    z1 = (theta[..., 1] - theta[..., 0]) / math.sqrt(2.0)
    v0 = x[0] + np.abs(z0) - _MOON_SHIFT
    v1 = x[1] - z1
    rho = np.hypot(v0, v1)
    signed = np.where(v0 > 0, rho, -rho)
    with np.errstate(divide="ignore"):
        return (-0.5 * ((signed - _MOON_RADIUS) / _MOON_WIDTH) ** 2
                - math.log(_MOON_WIDTH * math.sqrt(2.0 * math.pi)) - np.log(math.pi * rho))


def two_moons_reference_posterior(key: jax.Array, x_obs, n_samples: int, *,
                                  coarse: int = 400, refine: int = 10) -> np.ndarray:
    r"""Samples of the exact two-moons posterior ``p(θ | x_obs)`` (float64, (n, 2)).

    The closed-form likelihood (:func:`two_moons_log_likelihood`) times the uniform
    prior is evaluated on a grid over the prior's square [-1, 1]²: first at the
    centres of ``coarse × coarse`` cells (width ``h₀ = 2/coarse``), then, in the cells
    within ``e^{-30}`` of the largest value and their neighbours, at the centres of a
    ``refine × refine`` subdivision (width ``h = h₀/refine``, 5·10⁻⁴ by default against
    the crescents' width 0.01). Each sample picks a fine cell with probability
    proportional to the density at its centre (the midpoint rule) and a uniform point in
    it.

    Args:
        key: PRNG key.
        x_obs: one observation (2,).
        n_samples: number of samples.
        coarse, refine: grid sizes (see above).

    Example:
        >>> import jax
        >>> s = two_moons_reference_posterior(jax.random.key(0), jnp.array([0.35, 0.0]), 500)
        >>> s.shape, bool(np.all(np.abs(s) <= 1))
        ((500, 2), True)
    """
    check_key(key, "key")
    x = np.asarray(as_array(x_obs, "x_obs", ndim=1), np.float64)
    if x.shape != (2,):
        raise ValueError(f"x_obs: expected shape (2,), got {x.shape}")
    check_finite(x, "x_obs")
    n_samples = as_int(n_samples, "n_samples", minimum=1)
    coarse = as_int(coarse, "coarse", minimum=2)
    refine = as_int(refine, "refine", minimum=1)
    h0 = 2.0 / coarse
    centres = -1.0 + h0 * (np.arange(coarse) + 0.5)
    grid = np.stack(np.meshgrid(centres, centres, indexing="ij"), axis=-1)
    log_l = _log_likelihood_np(grid, x)
    top = np.max(log_l)
    if not np.isfinite(top):
        raise ValueError(f"x_obs: {x.tolist()} has zero likelihood for every θ in the prior")
    keep = log_l > top - 30.0
    # the neighbours of kept cells too (a crescent may cross a cell off its centre)
    dilated = keep.copy()
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            dilated |= np.roll(np.roll(keep, di, axis=0), dj, axis=1)
    cells = np.argwhere(dilated)                                   # (m, 2) coarse indices
    h = h0 / refine
    offsets = h * (np.arange(refine) + 0.5)
    sub = np.stack(np.meshgrid(offsets, offsets, indexing="ij"), axis=-1).reshape(-1, 2)
    corners = -1.0 + h0 * cells                                    # lower-left corners
    fine = (corners[:, None, :] + sub[None, :, :]).reshape(-1, 2)
    log_p = _log_likelihood_np(fine, x)
    weights = np.exp(log_p - np.max(log_p))
    cdf = np.cumsum(weights)
    pick_key, jitter_key = jax.random.split(key)
    u = np.asarray(jax.random.uniform(pick_key, (n_samples,), jnp.float32), np.float64)
    idx = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1)
    jitter = np.asarray(jax.random.uniform(jitter_key, (n_samples, 2), jnp.float32), np.float64)
    return fine[idx] + (jitter - 0.5) * h
