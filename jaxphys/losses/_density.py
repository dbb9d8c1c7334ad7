"""Divergences between densities: the closed-form KL of diagonal Gaussians."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxphys._checks import check_positive

from ._common import as_float, check_same_shape, check_scalar_or_same_shape


def kl_normal(mu_q: Any, sigma_q: Any, mu_p: Any = 0.0, sigma_p: Any = 1.0) -> jax.Array:
    r"""KL divergence :math:`\mathrm{KL}(q\,\|\,p)` of two diagonal Gaussians, closed form.

    For :math:`q = \mathcal N(\mu_q, \mathrm{diag}\,\sigma_q^2)` and
    :math:`p = \mathcal N(\mu_p, \mathrm{diag}\,\sigma_p^2)`,

    .. math::
        \mathrm{KL}(q\|p) = \sum_{j}\left[\log\frac{\sigma_{p,j}}{\sigma_{q,j}}
        + \frac{\sigma_{q,j}^2 + (\mu_{q,j}-\mu_{p,j})^2}{2\sigma_{p,j}^2}
        - \frac12\right]
        = \mathbb E_{x\sim q}\left[\log q(x) - \log p(x)\right] \ge 0 .

    The default ``p`` is the standard normal, the VAE prior.

    Args:
        mu_q: mean of q, any shape ``S`` (the dimensions are summed over).
        sigma_q: standard deviation of q (not the variance), shape ``S`` exactly,
            > 0 (checked when concrete).
        mu_p: mean of p, a scalar or shape ``S``.
        sigma_p: standard deviation of p, a scalar or shape ``S``, > 0.

    Returns:
        Scalar, nats.

    Example:
        >>> float(kl_normal(jnp.zeros(3), jnp.ones(3)))  # q = p
        0.0
        >>> round(float(kl_normal(jnp.array([1.0]), jnp.array([1.0]))), 4)  # ½ μ²
        0.5
    """
    mu_q = as_float(mu_q, "mu_q")
    sigma_q = as_float(sigma_q, "sigma_q")
    check_same_shape(mu_q, "mu_q", sigma_q, "sigma_q")
    mu_p = as_float(mu_p, "mu_p")
    sigma_p = as_float(sigma_p, "sigma_p")
    check_scalar_or_same_shape(mu_q, "mu_q", mu_p, "mu_p")
    check_scalar_or_same_shape(mu_q, "mu_q", sigma_p, "sigma_p")
    check_positive(sigma_q, "sigma_q")
    check_positive(sigma_p, "sigma_p")
    return _kl_normal(mu_q, sigma_q, mu_p, sigma_p)


@jax.jit
def _kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    var_ratio = jnp.square(sigma_q / sigma_p)
    mean_term = jnp.square((mu_q - mu_p) / sigma_p)
    # log(σp/σq) = -½ log(var_ratio)
    per_dim = 0.5 * (var_ratio + mean_term - 1.0 - jnp.log(var_ratio))
    return jnp.sum(jnp.broadcast_to(per_dim, mu_q.shape))
