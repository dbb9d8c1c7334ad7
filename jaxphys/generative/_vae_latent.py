"""Pictures of a VAE's latent space: prior samples, interpolations, traversals and the
2-D manifold, all through the decoder's mean."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm

from .._checks import as_array, as_int, check_finite, check_key
from ._vae_posteriors import posterior_location

if TYPE_CHECKING:   # _vae imports this module
    from ._vae import VAE


def _decode_mean(vae, params, z):
    return vae.apply(params, z, method="decode").mean()


def sample_prior(key: jax.Array, vae: VAE, params: Any, n: int, *,
                 mean: bool = True) -> jax.Array:
    """``n`` draws ``z ~ N(0, I)`` decoded: the decoder means (pixel probabilities for
    Bernoulli) if ``mean``, else samples ``x ~ p(x|z)``. Shape ``(n, D)``.

    Example:
        >>> from jaxphys.generative import VAE
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> sample_prior(jax.random.key(1), vae, v, 5).shape
        (5, 4)
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    z_key, x_key = jax.random.split(key)
    z = jax.random.normal(z_key, (n, vae.latent_dim))
    p = vae.apply(params, z, method="decode")
    if mean:
        return p.mean()
    if vae.likelihood == "bernoulli":
        return jax.random.bernoulli(x_key, p.mean()).astype(jnp.float32)
    return p.sample(seed=x_key).astype(jnp.float32)


def interpolate(vae: VAE, params: Any, x_a, x_b, n_points: int = 8) -> jax.Array:
    """Decoder means along the straight line between the posterior locations of two
    examples ``x_a``, ``x_b`` (each ``(D,)``; the means for a Gaussian posterior, see
    :func:`posterior_location`): ``z(s) = (1-s) μ(x_a) + s μ(x_b)``, ``s ∈ [0, 1]``;
    shape ``(n_points, D)``.

    Example:
        >>> from jaxphys.generative import VAE
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> interpolate(vae, v, jnp.zeros(4), jnp.ones(4), 5).shape
        (5, 4)
    """
    x_a = as_array(x_a, "x_a", ndim=1)
    x_b = as_array(x_b, "x_b", ndim=1)
    check_finite(x_a, "x_a")
    check_finite(x_b, "x_b")
    n_points = as_int(n_points, "n_points", minimum=2)
    mu = posterior_location(vae.apply(params, jnp.stack([x_a, x_b])))
    s = jnp.linspace(0.0, 1.0, n_points)[:, None]
    return _decode_mean(vae, params, (1.0 - s) * mu[0][None] + s * mu[1][None])


def latent_traversal(vae: VAE, params: Any, z0, dim: int, values) -> jax.Array:
    """Decoder means as latent coordinate ``dim`` of ``z0 (L,)`` sweeps ``values (m,)``
    with the others held fixed; shape ``(m, D)``.

    Example:
        >>> from jaxphys.generative import VAE
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> latent_traversal(vae, v, jnp.zeros(2), 1, jnp.linspace(-2, 2, 7)).shape
        (7, 4)
    """
    z0 = as_array(z0, "z0", ndim=1)
    dim = as_int(dim, "dim", minimum=0)
    if dim >= vae.latent_dim:
        raise ValueError(f"dim: expected < latent_dim = {vae.latent_dim}, got {dim}")
    values = as_array(values, "values", ndim=1)
    z = jnp.broadcast_to(z0[None], (values.shape[0], z0.shape[0])).at[:, dim].set(values)
    return _decode_mean(vae, params, z)


def latent_manifold(vae: VAE, params: Any, n_side: int = 15) -> jax.Array:
    """The manifold picture of a 2-D latent space: decoder means on an ``n_side × n_side``
    grid of prior quantiles ``z = Φ⁻¹(u)``, ``u`` evenly spaced in (0, 1); shape
    ``(n_side, n_side, D)`` with ``[i, j]`` at ``(z_1 = g_j, z_2 = g_{n-1-i})`` (top row = high z₂).

    Example:
        >>> from jaxphys.generative import VAE
        >>> vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
        >>> v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
        >>> latent_manifold(vae, v, 3).shape
        (3, 3, 4)
    """
    if vae.latent_dim != 2:
        raise ValueError(f"vae: the manifold picture needs latent_dim = 2, got {vae.latent_dim}")
    n = as_int(n_side, "n_side", minimum=2)
    g = norm.ppf(jnp.linspace(0.5 / n, 1 - 0.5 / n, n))
    z1, z2 = jnp.meshgrid(g, g[::-1])
    z = jnp.stack([z1.ravel(), z2.ravel()], axis=1)
    return _decode_mean(vae, params, z).reshape(n, n, -1)
