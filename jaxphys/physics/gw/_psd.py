r"""Detector noise: the Advanced LIGO design PSD, coloured Gaussian noise, whitening, SNR.

Conventions (one-sided PSD ``S_n(f)`` in 1/Hz; a segment of ``T`` seconds, frequency
bins ``f_k = k/T``, ``Δf = 1/T``; frequency series are continuous Fourier transforms in
s, ``h̃_k ≈ Δt·DFT(h)_k``). Stationary Gaussian noise has independent bins with

.. math:: ⟨\mathrm{Re}\,ñ_k^2⟩ = ⟨\mathrm{Im}\,ñ_k^2⟩ = \frac{T}{4} S_n(f_k),\qquad
          ⟨|ñ_k|^2⟩ = \frac{T}{2} S_n(f_k),

the noise-weighted inner product is ``(a|b) = 4Δf Re Σ_k a_k b_k^*/S_n(f_k)`` (a Riemann
sum of ``4 Re∫ a b^*/S_n df``), and the whitened series ``w_k = h̃_k / sqrt(T S_n(f_k)/4)``
turns the noise into independent standard normals in each real and imaginary part, with
``(a|b) = Re Σ_k w_{a,k} w_{b,k}^*``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import (check_finite, check_key, check_positive, check_range,
                        check_same_shape, is_concrete)
from ._waveform import check_frequencies

#: Low-frequency cutoff f_s of the Advanced LIGO fit (the fit is infinite below it).
ALIGO_MIN_FREQUENCY = 20.0


def _aligo_bracket(f):
    x = f / 215.0
    x2 = x * x
    return x ** -4.14 - 5.0 / x2 + 111.0 * (1.0 - x2 + 0.5 * x2 * x2) / (1.0 + 0.5 * x2)


def _check_aligo_band(f):
    if is_concrete(f) and float(jnp.min(f)) < ALIGO_MIN_FREQUENCY:
        raise ValueError(f"frequencies: the Advanced LIGO fit is valid from "
                         f"{ALIGO_MIN_FREQUENCY} Hz up, got a lowest frequency of "
                         f"{float(jnp.min(f))!r} Hz")


def aligo_psd(frequencies) -> np.ndarray:
    r"""Analytic fit to the Advanced LIGO design noise, one-sided PSD in 1/Hz, (n,).

    .. math:: S_n(f) = S_0\Big[x^{-4.14} - 5x^{-2}
              + 111\,\frac{1 - x^2 + x^4/2}{1 + x^2/2}\Big],\qquad x = f/f_0,

    with ``S_0 = 10⁻⁴⁹ Hz⁻¹``, ``f_0 = 215 Hz``, valid above the cutoff
    ``f_s = 20 Hz`` (Sathyaprakash & Schutz 2009, "Physics, astrophysics and cosmology
    with gravitational waves", Living Rev. Relativity 12, 2, Table 1; the same fit is
    LALSuite's ``LALAdvLIGOPsd``). Frequencies below 20 Hz raise (the fit is infinite
    there), as do non-increasing ones.

    The values (~10⁻⁴⁷) are below float32's range, so this returns a float64 NumPy
    array (host side); the library computes with the amplitude spectral density
    :func:`aligo_asd` = sqrt(S_n), which float32 holds.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import aligo_psd
        >>> float(aligo_psd(np.array([215.0]))[0] / 1e-49)   # 1 - 5 + 111 (1/2)/(3/2)
        33.0
    """
    f = check_frequencies(np.asarray(frequencies, np.float64))
    _check_aligo_band(f)
    f = np.asarray(frequencies, np.float64)
    return 1e-49 * _aligo_bracket(f)


def aligo_asd(frequencies) -> jax.Array:
    """Amplitude spectral density ``sqrt(S_n(f))`` of :func:`aligo_psd` in 1/sqrt(Hz),
    (n,), in the dtype of ``frequencies`` (jittable; the 20 Hz check runs on concrete
    values).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import aligo_asd
        >>> asd = aligo_asd(jnp.array([20.0, 100.0, 1000.0]))
        >>> [f"{float(a):.2e}" for a in asd]
        ['4.26e-23', '2.86e-24', '1.42e-23']
    """
    f = check_frequencies(frequencies)
    _check_aligo_band(f)
    return (1e-49 ** 0.5) * jnp.sqrt(_aligo_bracket(f))


class NoiseModel(NamedTuple):
    """Stationary Gaussian detector noise on a frequency grid.

    Fields:
        frequencies: (n,) bin frequencies ``f_k = k/T`` in Hz, increasing.
        asd: (n,) amplitude spectral density ``sqrt(S_n(f_k))`` in 1/sqrt(Hz), positive
            (the one-sided PSD itself, ~10⁻⁴⁷, underflows float32).
        duration: segment length T in s (``Δf = 1/T``), a Python float.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import NoiseModel
        >>> noise = NoiseModel(jnp.array([10.0, 10.25, 10.5]), jnp.full(3, 1e-23), 4.0)
        >>> noise.delta_f, f"{noise.psd[0]:.3g}"          # 1/T; S_n = ASD²
        (0.25, '1e-46')
        >>> round(float(noise.sigma[0] / noise.asd[0]), 4)  # σ_k = ASD sqrt(T)/2, T = 4 s
        1.0
    """

    frequencies: jax.Array
    asd: jax.Array
    duration: float

    @property
    def delta_f(self) -> float:
        """Frequency resolution ``Δf = 1/T`` in Hz."""
        return 1.0 / self.duration

    @property
    def psd(self) -> np.ndarray:
        """The one-sided PSD ``S_n(f_k)`` in 1/Hz, float64 NumPy (n,)."""
        return np.asarray(self.asd, np.float64) ** 2

    @property
    def sigma(self) -> jax.Array:
        """Per-bin standard deviation of the real (and of the imaginary) part of the
        noise, ``sqrt(T S_n(f_k)/4)`` in s, (n,)."""
        return self.asd * (0.5 * self.duration ** 0.5)


def noise_model(f_min: float = 20.0, f_max: float = 128.0, duration: float = 2.0,
                psd=None, dtype=None) -> NoiseModel:
    r"""Bins ``k/T`` for ``f_min ≤ k/T ≤ f_max`` and their noise spectrum.

    Args:
        f_min, f_max: band in Hz.
        duration: segment length T in s (``Δf = 1/T``).
        psd: ``None`` for :func:`aligo_psd`, a callable ``S(frequencies) -> (n,)``
            (float64 NumPy frequencies in, one-sided PSD in 1/Hz out), or an array of
            PSD values on these bins; checked to be finite and positive.
        dtype: float dtype of the arrays (default: JAX's default float).

    Example:
        >>> from jaxphys.physics.gw import noise_model
        >>> noise = noise_model(20.0, 128.0, 2.0)
        >>> noise.frequencies.shape, noise.delta_f
        ((217,), 0.5)
    """
    check_positive(duration, "duration")
    if not 0 < float(f_min) < float(f_max):
        raise ValueError(f"f_min, f_max: expected 0 < f_min < f_max, got {f_min} and {f_max}")
    duration = float(duration)
    k = np.arange(int(np.ceil(f_min * duration - 1e-9)), int(np.floor(f_max * duration + 1e-9)) + 1)
    if k.size == 0:
        raise ValueError(f"duration: no frequency bin k/T lies in [{f_min}, {f_max}] Hz for "
                         f"T = {duration} s")
    f64 = k / duration
    if psd is None:
        values = aligo_psd(f64)
    elif callable(psd):
        values = np.asarray(psd(f64), np.float64)
    else:
        values = psd
    dtype = jnp.zeros(()).dtype if dtype is None else dtype
    return make_noise_model(jnp.asarray(f64, dtype), duration, psd=values)


def make_noise_model(frequencies, duration: float, *, psd=None, asd=None) -> NoiseModel:
    """A :class:`NoiseModel` from arrays: ``frequencies`` increasing and spaced by
    ``1/duration``, and exactly one of ``psd`` (one-sided, 1/Hz; converted to an ASD in
    float64 first) or ``asd`` (1/sqrt(Hz)), one finite positive value per frequency.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import make_noise_model
        >>> f = np.arange(20.0, 22.0, 0.5)                # 4 bins 1/2 Hz apart: T = 2 s
        >>> noise = make_noise_model(f, 2.0, psd=np.full(4, 1e-46))
        >>> noise.frequencies.shape, noise.delta_f, f"{float(noise.asd[0]):.3g}"  # sqrt(S_n)
        ((4,), 0.5, '1e-23')
    """
    f = check_frequencies(frequencies)
    check_positive(duration, "duration")
    if (psd is None) == (asd is None):
        raise ValueError("psd, asd: expected exactly one of them")
    name = "psd" if asd is None else "asd"
    values = np.asarray(psd if asd is None else asd, np.float64)
    if values.ndim != 1 or values.shape != tuple(f.shape):
        raise ValueError(f"{name}: expected one value per frequency, shape {tuple(f.shape)}, "
                         f"got {values.shape}")
    check_finite(values, name)
    check_positive(values, name)
    if f.shape[0] > 1:
        steps = np.diff(np.asarray(f, np.float64))
        if not np.allclose(steps, 1.0 / float(duration), rtol=1e-4, atol=0.0):
            raise ValueError(f"frequencies: expected a spacing of 1/duration = "
                             f"{1.0 / float(duration)!r} Hz, got spacings from {steps.min()!r} "
                             f"to {steps.max()!r}")
    asd_values = np.sqrt(values) if asd is None else values
    return NoiseModel(f, jnp.asarray(asd_values, f.dtype), float(duration))


def interpolate_psd(frequencies, psd_frequencies, psd_values) -> np.ndarray:
    """A tabulated one-sided PSD (for example a measured one) interpolated linearly in
    log-log onto ``frequencies`` (float64 NumPy); raises if a frequency lies outside
    the table's range.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import interpolate_psd
        >>> table_f = np.array([10.0, 100.0, 1000.0])
        >>> table_s = 1e-46 * (table_f / 100.0) ** -4      # a power law: a line in log-log
        >>> (interpolate_psd([20.0, 50.0], table_f, table_s) / 1e-46).round(6)  # (f/100)^-4
        array([625.,  16.])
    """
    f = np.asarray(frequencies, np.float64)
    table_f = np.asarray(psd_frequencies, np.float64)
    check_frequencies(f)                                # checks only: keeps float64 values
    check_frequencies(table_f, "psd_frequencies")
    table_s = np.asarray(psd_values, np.float64)
    if table_s.shape != table_f.shape:
        raise ValueError(f"psd_values: expected shape {table_f.shape} (one per "
                         f"psd_frequencies), got {table_s.shape}")
    check_finite(table_s, "psd_values")
    check_positive(table_s, "psd_values")
    lo, hi = table_f[0], table_f[-1]
    if f[0] < lo or f[-1] > hi:
        raise ValueError(f"frequencies: expected values inside the PSD's range [{lo!r}, "
                         f"{hi!r}] Hz, got [{f[0]!r}, {f[-1]!r}]")
    return np.exp(np.interp(np.log(f), np.log(table_f), np.log(table_s)))


def _check_series(x, noise: NoiseModel, name: str) -> jax.Array:
    x = jnp.asarray(x)
    if x.ndim < 1 or x.shape[-1] != noise.frequencies.shape[0]:
        raise ValueError(f"{name}: expected a frequency series of length "
                         f"{noise.frequencies.shape[0]} (one value per bin of the noise model) "
                         f"in the last axis, got shape {tuple(x.shape)}")
    return x


def colored_noise(key: jax.Array, noise: NoiseModel) -> jax.Array:
    r"""One realisation of the noise, (n,) complex in s: independent bins,
    ``Re ñ_k, Im ñ_k ~ N(0, T S_n(f_k)/4)``.

    Example:
        >>> import jax
        >>> from jaxphys.physics.gw import colored_noise, noise_model, whiten
        >>> noise = noise_model()
        >>> n = colored_noise(jax.random.key(0), noise)
        >>> w = whiten(n, noise)                        # unit variance per real part
        >>> n.shape, 0.7 < float(w.real.std()) < 1.3
        ((217,), True)
    """
    check_key(key, "key")
    z = jax.random.normal(key, (2,) + noise.asd.shape, noise.asd.dtype)
    return noise.sigma * (z[0] + 1j * z[1])


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
