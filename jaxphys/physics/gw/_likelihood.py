r"""The exact likelihood of a signal in stationary Gaussian noise (Whittle), and its
analytic marginalisation over the coalescence phase.

For data ``d̃ = h̃(θ) + ñ`` on the bins of a :class:`NoiseModel`, the real and imaginary
parts of every bin are independent Gaussians of variance ``σ_k² = T S_n(f_k)/4``
(Whittle 1957; e.g. Cutler & Flanagan 1994, Phys. Rev. D 49, 2658, eq. 2.4), so

.. math:: \log L(d|θ) = -\frac12 (d - h|d - h) - \sum_k \log(2π σ_k²)
          = \underbrace{-\tfrac12 (d|d) - \sum_k \log(2πσ_k²)}_{\log L(d|0)}
            + \underbrace{(d|h) - \tfrac12 (h|h)}_{\log Λ(θ)},

a density of the 2n real numbers ``(Re d̃_k, Im d̃_k)`` (units s⁻²ⁿ). The likelihood
ratio ``Λ`` against noise alone is what samplers need; it is free of the large
normalisation. A template ``h = h₀ e^{iφ_c}`` whose coalescence phase enters only as an
overall phase (the dominant harmonic with constant antenna factors) has the
phase-marginalised likelihood ratio (uniform φ_c on [0, 2π))

.. math:: \log \bar Λ = \log I_0\big(|⟨d, h_0⟩|\big) - \tfrac12 (h_0|h_0),

with ``⟨d, h⟩ = 4Δf Σ d_k h_k^*/S_n(f_k)`` and ``I_0`` the modified Bessel function
(e.g. Veitch et al. 2015, Phys. Rev. D 91, 042003, LALInference, eq. 20; Thrane &
Talbot 2019, PASA 36, e010, eq. 74).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..._checks import check_finite
from ._psd import NoiseModel, _check_series
from ._whitening import complex_inner_product, inner_product, whiten


def log_i0(x) -> jax.Array:
    """``log I₀(x)`` for ``x ≥ 0`` without overflow: ``log(i0e(x)) + x``.

    Example:
        >>> from jaxphys.physics.gw import log_i0
        >>> round(float(log_i0(0.0)), 4), round(float(log_i0(1.0)), 4)  # I₀(0) = 1, I₀(1) = 1.2661
        (0.0, 0.2359)
        >>> round(float(log_i0(1000.0)), 2)   # ≈ x - log(2πx)/2, where I₀ itself overflows
        995.63
    """
    x = jnp.asarray(x)
    return jnp.log(jax.scipy.special.i0e(x)) + x


def log_likelihood_ratio(data, template, noise: NoiseModel) -> jax.Array:
    r"""``log Λ = (d|h) - (h|h)/2 = log L(d|h) - log L(d|0)`` for one data series and
    one template, both (n,) complex on the noise model's bins.

    Example:
        >>> import jax
        >>> from jaxphys.physics.gw import (colored_noise, log_likelihood_ratio, noise_model,
        ...                                 optimal_snr, taylorf2)
        >>> noise = noise_model()
        >>> h = taylorf2(noise.frequencies, 25.0, 0.8, 1000.0).plus
        >>> d = h + colored_noise(jax.random.key(0), noise)
        >>> rho = float(optimal_snr(h, noise))             # E[log Λ(h)] = ρ²/2
        >>> abs(float(log_likelihood_ratio(d, h, noise)) - rho ** 2 / 2) < 4 * rho
        True
    """
    _check_pair(data, template, noise)
    return inner_product(data, template, noise) - 0.5 * inner_product(template, template, noise)


def noise_log_likelihood(data, noise: NoiseModel) -> jax.Array:
    r"""``log L(d|0) = -(d|d)/2 - Σ_k log(2π σ_k²)``, the exact Gaussian log density of
    noise alone (σ_k² = T S_n(f_k)/4, summed as logarithms so that float32 holds it).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import make_noise_model, noise_log_likelihood
        >>> noise = make_noise_model(jnp.array([1.0, 2.0]), 1.0, asd=jnp.array([2.0, 2.0]))
        >>> noise.sigma.tolist()                          # σ_k = ASD sqrt(T)/2 = 1
        [1.0, 1.0]
        >>> d = jnp.array([1.0 + 0j, 0j])                 # (d|d) = 1
        >>> round(float(noise_log_likelihood(d, noise)), 4)   # -1/2 - 2 log(2π)
        -4.1758
    """
    data = _check_series(data, noise, "data")
    check_finite(data, "data")
    w = whiten(data, noise)
    log_sigma = jnp.log(noise.asd) + 0.5 * jnp.log(noise.duration / 4.0)
    norm = jnp.sum(jnp.log(2.0 * jnp.pi) + 2.0 * log_sigma)
    return -0.5 * jnp.sum(jnp.abs(w) ** 2, axis=-1) - norm


def whittle_log_likelihood(data, template, noise: NoiseModel) -> jax.Array:
    r"""The exact log-likelihood ``log L(d|h) = -(d-h|d-h)/2 - Σ_k log(2π σ_k²)`` of
    one data series given one template (both (n,) complex).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import noise_model, taylorf2, whittle_log_likelihood
        >>> noise = noise_model()
        >>> h = taylorf2(noise.frequencies, 25.0, 0.8, 1000.0).plus
        >>> at_truth = whittle_log_likelihood(h, h, noise)          # d = h exactly
        >>> off = whittle_log_likelihood(h, 0.9 * h, noise)
        >>> bool(at_truth > off)
        True
    """
    _check_pair(data, template, noise)
    return noise_log_likelihood(data, noise) + log_likelihood_ratio(data, template, noise)


def phase_marginalized_log_likelihood_ratio(data, template, noise: NoiseModel) -> jax.Array:
    r"""``log Λ̄ = log I₀(|⟨d, h₀⟩|) - (h₀|h₀)/2``: the likelihood ratio averaged over a
    uniform coalescence phase, for a template ``h₀`` computed at φ_c = 0 (see the
    module docstring).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import (make_noise_model,
        ...                                 phase_marginalized_log_likelihood_ratio)
        >>> noise = make_noise_model(jnp.array([1.0, 2.0]), 1.0, asd=jnp.array([2.0, 2.0]))
        >>> h0 = jnp.array([1.0 + 0j, 1j])                # σ_k = 1: (h₀|h₀) = 2
        >>> for phase in (0.0, 0.7, 2.0):   # d = h₀ e^{iφ}: log I₀(|⟨d, h₀⟩| = 2) - 2/2
        ...     d = h0 * jnp.exp(1j * phase)     # = log(2.27959) - 1 whatever the phase
        ...     print(round(float(phase_marginalized_log_likelihood_ratio(d, h0, noise)), 4))
        -0.176
        -0.176
        -0.176
    """
    _check_pair(data, template, noise)
    z = complex_inner_product(data, template, noise)
    return log_i0(jnp.abs(z)) - 0.5 * inner_product(template, template, noise)


def _check_pair(data, template, noise):
    check_finite(_check_series(data, noise, "data"), "data")
    _check_series(template, noise, "template")
    if jnp.shape(data) != jnp.shape(template):
        raise ValueError(f"template: expected the shape of data {tuple(jnp.shape(data))} "
                         f"(vmap over a batch at the call site), got {tuple(jnp.shape(template))}")
