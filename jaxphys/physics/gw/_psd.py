r"""Detector noise: the Advanced LIGO design PSD and coloured Gaussian noise (whitening
and SNRs, with these conventions, are in ``_whitening.py``).

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

from ..._checks import (check_finite, check_key, check_positive, is_concrete)
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
