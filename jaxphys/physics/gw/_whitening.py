r"""Whitening, noise-weighted inner products and SNRs, and the way back to the time domain.

With the conventions of :mod:`jaxphys.physics.gw._psd`:
``(a|b) = 4Δf Re Σ_k a_k b_k^*/S_n(f_k)`` and the whitened series
``w_k = h̃_k / sqrt(T S_n(f_k)/4)``, so that ``(a|b) = Re Σ_k w_{a,k} w_{b,k}^*``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import check_finite, check_range, check_same_shape
from ._psd import NoiseModel, _check_series

__all__ = ["whiten", "inner_product", "complex_inner_product", "optimal_snr", "matched_filter_snr",
           "to_time_domain", "whitened_time_series"]


def whiten(strain, noise: NoiseModel) -> jax.Array:
    """Whitened frequency series ``w_k = h̃_k / sqrt(T S_n(f_k)/4)`` (dimensionless,
    same shape as ``strain``, whose last axis must match the noise model's bins).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import make_noise_model, whiten
        >>> noise = make_noise_model(jnp.array([10.0, 11.0]), 1.0, asd=jnp.array([2.0, 4.0]))
        >>> noise.sigma.tolist()                          # ASD sqrt(T)/2 with T = 1 s
        [1.0, 2.0]
        >>> whiten(jnp.array([2.0 + 2j, 2.0 + 0j]), noise).tolist()
        [(2+2j), (1+0j)]
    """
    strain = _check_series(strain, noise, "strain")
    return strain / jnp.broadcast_to(noise.sigma, strain.shape)


def _whiten_pair(a, b, noise):
    a = _check_series(a, noise, "a")
    b = _check_series(b, noise, "b")
    check_same_shape(a, "a", b, "b", why="vmap over a batch at the call site")
    return whiten(a, noise), whiten(b, noise)


def inner_product(a, b, noise: NoiseModel) -> jax.Array:
    r"""Noise-weighted inner product ``(a|b) = 4Δf Re Σ_k a_k b_k^*/S_n(f_k)`` over the
    last axis, computed as ``Re Σ_k w_{a,k} w_{b,k}^*`` of the whitened series (the
    PSD itself underflows float32).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import inner_product, make_noise_model
        >>> noise = make_noise_model(jnp.array([1.0, 2.0]), 1.0, asd=jnp.array([2.0, 2.0]))
        >>> a = jnp.array([1.0 + 0j, 2j])                 # σ_k = 1: (a|a) = Σ|a_k|² = 1 + 4
        >>> round(float(inner_product(a, a, noise)), 4)
        5.0
        >>> louder = make_noise_model(noise.frequencies, 1.0, asd=2 * noise.asd)
        >>> round(float(inner_product(a, a, louder)), 4)  # twice the ASD: a quarter
        1.25
    """
    wa, wb = _whiten_pair(a, b, noise)
    return jnp.sum((wa * jnp.conj(wb)).real, axis=-1)


def complex_inner_product(a, b, noise: NoiseModel) -> jax.Array:
    r"""``⟨a, b⟩ = 4Δf Σ_k a_k b_k^*/S_n(f_k)`` (complex; its real part is ``(a|b)``).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import complex_inner_product, inner_product, make_noise_model
        >>> noise = make_noise_model(jnp.array([1.0, 2.0]), 1.0, asd=jnp.array([2.0, 2.0]))
        >>> a, b = jnp.array([1j, 2.0 + 0j]), jnp.array([1.0 + 0j, 1.0 + 0j])  # σ_k = 1
        >>> complex(complex_inner_product(a, b, noise))   # Σ a_k b_k^* = i + 2
        (2+1j)
        >>> float(inner_product(a, b, noise))             # its real part
        2.0
    """
    wa, wb = _whiten_pair(a, b, noise)
    return jnp.sum(wa * jnp.conj(wb), axis=-1)


def optimal_snr(signal, noise: NoiseModel) -> jax.Array:
    r"""Optimal signal-to-noise ratio ``ρ = sqrt((h|h))`` (the expected matched-filter
    SNR with the exact template).

    Example:
        >>> from jaxphys.physics.gw import noise_model, optimal_snr, taylorf2
        >>> noise = noise_model()
        >>> h = taylorf2(noise.frequencies, 25.0, 0.8, 1000.0).plus
        >>> 10 < float(optimal_snr(h, noise)) < 40
        True
    """
    return jnp.sqrt(inner_product(signal, signal, noise))


def matched_filter_snr(data, template, noise: NoiseModel, *, maximize_phase: bool = False):
    r"""Matched-filter SNR ``(d|h)/sqrt((h|h))``, or with ``maximize_phase`` its maximum
    over a constant phase of the template, ``|⟨d, h⟩|/sqrt((h|h))``. For ``d = h + n``
    the first is distributed as N(ρ_opt, 1).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import make_noise_model, matched_filter_snr
        >>> noise = make_noise_model(jnp.array([1.0, 2.0]), 1.0, asd=jnp.array([2.0, 2.0]))
        >>> h = jnp.array([3.0 + 0j, 4.0 + 0j])           # σ_k = 1: ρ_opt = sqrt(9 + 16)
        >>> round(float(matched_filter_snr(h, h, noise)), 4)
        5.0
        >>> d = 1j * h                                    # the signal a quarter cycle later
        >>> (round(float(matched_filter_snr(d, h, noise)), 4),
        ...  round(float(matched_filter_snr(d, h, noise, maximize_phase=True)), 4))
        (0.0, 5.0)
    """
    data = _check_series(data, noise, "data")
    template = _check_series(template, noise, "template")
    check_finite(data, "data")
    norm = jnp.sqrt(inner_product(template, template, noise))
    if maximize_phase:
        return jnp.abs(complex_inner_product(data, template, noise)) / norm
    return inner_product(data, template, noise) / norm


def to_time_domain(series, noise: NoiseModel, sample_rate: float | None = None):
    r"""Inverse Fourier transform of a frequency series given on the noise model's bins
    (zero outside them) to a real time series of T seconds: ``(times (m,), values
    (..., m))``, the inverse of ``X_k = Δt DFT(x)_k``. ``sample_rate`` (Hz) defaults to
    the smallest power of two above twice the top frequency.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import noise_model, to_time_domain
        >>> noise = noise_model()                         # 20–128 Hz, T = 2 s: 217 bins
        >>> series = np.zeros(217, np.complex64)
        >>> series[60] = 1.0                              # X(50 Hz) = T/2
        >>> t, x = to_time_domain(series, noise)          # 512 Hz: a power of two above 2·128 Hz
        >>> t.shape, np.allclose(x, np.cos(2 * np.pi * 50.0 * np.asarray(t)), atol=1e-4)
        ((1024,), True)
    """
    series = _check_series(series, noise, "series")
    t = noise.duration
    if sample_rate is None:
        sample_rate = 2.0 ** np.ceil(np.log2(2.0 * float(noise.frequencies[-1]) + 1e-9))
    check_range(sample_rate, "sample_rate", low=0.0, low_open=True)
    m = int(round(float(sample_rate) * t))
    n_rfft = m // 2 + 1
    k = np.rint(np.asarray(noise.frequencies, np.float64) * t).astype(int)
    if k[-1] >= n_rfft - 1:
        raise ValueError(f"sample_rate: expected more than twice the top frequency "
                         f"{float(noise.frequencies[-1])!r} Hz, got {sample_rate!r}")
    full = jnp.zeros(series.shape[:-1] + (n_rfft,), jnp.result_type(series, jnp.complex64))
    full = full.at[..., k].set(series)
    values = jnp.fft.irfft(full, n=m, axis=-1) * float(sample_rate)
    return jnp.arange(m) / float(sample_rate), values


def whitened_time_series(strain, noise: NoiseModel, sample_rate: float | None = None):
    """Whitened strain in the time domain, ``(times (m,), values (..., m))``, scaled so
    that the noise alone has unit variance per sample (band-limited to the noise
    model's bins): what a plot of "whitened strain with the injected signal" shows.

    Example:
        >>> import jax
        >>> from jaxphys.physics.gw import colored_noise, noise_model, whitened_time_series
        >>> noise = noise_model()
        >>> t, w = whitened_time_series(colored_noise(jax.random.key(0), noise), noise)
        >>> t.shape, 0.8 < float(w.std()) < 1.2
        ((1024,), True)
    """
    w = whiten(strain, noise)
    times, values = to_time_domain(w, noise, sample_rate)
    # x_j = (2 f_s / m) Re Σ_k w_k e^{2πi k j/m}: variance (f_s/m)² · 4n = 4n/T² for noise
    n = noise.frequencies.shape[0]
    return times, values * noise.duration / (2.0 * np.sqrt(n))
