r"""Frequency-domain inspiral waveforms: the stationary-phase TaylorF2 approximant.

Units: frequencies in Hz, times in s, masses in solar masses (detector frame),
luminosity distance in Mpc; the Fourier transform of the dimensionless strain,
``h̃(f) = ∫ h(t) e^{-2πift} dt``, is in seconds (strain per Hz).

For a quasi-circular, non-spinning binary of chirp mass ``𝓜 = (m₁m₂)^{3/5}/M^{1/5}``,
total mass ``M = m₁ + m₂``, symmetric mass ratio ``η = m₁m₂/M²`` (``q = m₂/m₁ ≤ 1``),
the stationary-phase approximation of the dominant (2, 2) harmonic is

.. math:: \tilde h_+(f) = \frac{1 + \cos^2 ι}{2}\,\mathcal A f^{-7/6} e^{-iΨ(f)},\qquad
          \tilde h_\times(f) = -i\cos ι\,\mathcal A f^{-7/6} e^{-iΨ(f)},

.. math:: \mathcal A = \sqrt{5/24}\;π^{-2/3}\,\frac{c\,(G𝓜/c^3)^{5/6}}{D_L},\qquad
          Ψ(f) = 2πf t_c - φ_c - \frac{π}{4}
                 + \frac{3}{128\,η\,v^5}\sum_{k=0}^{7} α_k v^k,\quad v = (πGMf/c^3)^{1/3},

with the non-spinning phase coefficients up to 3.5 post-Newtonian order of Buonanno,
Iyer, Ochsner, Pan & Sathyaprakash (2009), "Comparison of post-Newtonian templates for
compact binary inspiral signals in gravitational-wave detectors", Phys. Rev. D 80,
084043, eq. (3.18) (γ_E is Euler's constant, ``v_lso = 6^{-1/2}``):

* α₀ = 1, α₁ = 0, α₂ = 3715/756 + 55η/9, α₃ = -16π,
* α₄ = 15293365/508032 + 27145η/504 + 3085η²/72,
* α₅ = π(38645/756 - 65η/9)(1 + 3 ln(v/v_lso)),
* α₆ = 11583231236531/4694215680 - 640π²/3 - 6848γ_E/21 - (6848/21) ln(4v)
  + (-15737765635/3048192 + 2255π²/12)η + 76055η²/1728 - 127825η³/1296,
* α₇ = π(77096675/254016 + 378515η/1512 - 74045η²/756).

``φ_c`` is the phase of ``h̃`` at coalescence, so ``h̃ ∝ e^{iφ_c}``. The inspiral is cut
at the innermost stable circular orbit of a test mass, ``f_ISCO = c³/(6^{3/2}πGM)``:
``h̃ = 0`` above it (there is no merger or ringdown in TaylorF2).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import as_array, check_finite, check_positive, is_concrete

#: G M_⊙ / c³ in seconds (IAU 2015 nominal solar mass parameter 1.3271244e20 m³ s⁻²).
SOLAR_MASS_SECONDS = 4.925490947e-6
#: One megaparsec over the speed of light, in seconds (3.0856775814913673e22 m / c).
MEGAPARSEC_SECONDS = 3.0856775814913673e22 / 299792458.0
#: Euler–Mascheroni constant γ_E.
EULER_GAMMA = 0.5772156649015329
#: Post-Newtonian orders (in units of v², so 3.5 means terms up to v⁷) that
#: :func:`taylorf2_phase` accepts.
PN_ORDERS = (0.0, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5)


class Polarizations(NamedTuple):
    """The two polarisations of a frequency-domain waveform.

    Fields:
        plus: (n,) complex ``h̃₊(f)`` in s.
        cross: (n,) complex ``h̃ₓ(f)`` in s.

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import Polarizations, taylorf2
        >>> pol = taylorf2(jnp.linspace(20.0, 60.0, 5), 20.0, 0.5, 400.0)  # face-on, ι = 0
        >>> isinstance(pol, Polarizations), pol._fields
        (True, ('plus', 'cross'))
        >>> np.allclose(pol.cross, -1j * np.asarray(pol.plus))  # circular: h̃ₓ = -i h̃₊ at ι = 0
        True
    """

    plus: jax.Array
    cross: jax.Array


def symmetric_mass_ratio(mass_ratio):
    """``η = q/(1+q)²`` for ``q = m₂/m₁`` (η = 1/4 for equal masses).

    Example:
        >>> from jaxphys.physics.gw import symmetric_mass_ratio
        >>> symmetric_mass_ratio(1.0), round(symmetric_mass_ratio(0.5), 4)  # m₁m₂/M²: 2/9
        (0.25, 0.2222)
    """
    return mass_ratio / (1.0 + mass_ratio) ** 2


def total_mass(chirp_mass, mass_ratio):
    """Total mass ``M = 𝓜 η^{-3/5}`` (same units as ``chirp_mass``).

    Example:
        >>> from jaxphys.physics.gw import total_mass
        >>> m1, m2 = 30.0, 20.0
        >>> chirp = (m1 * m2) ** 0.6 / (m1 + m2) ** 0.2   # 𝓜 = (m₁m₂)^{3/5}/M^{1/5}
        >>> round(total_mass(chirp, m2 / m1), 6)          # back to m₁ + m₂
        50.0
    """
    return chirp_mass * symmetric_mass_ratio(mass_ratio) ** (-0.6)


def component_masses(chirp_mass, mass_ratio):
    """``(m₁, m₂)`` with ``m₁ = M/(1+q)``, ``m₂ = qM/(1+q)``, ``m₁ ≥ m₂`` for q ≤ 1.

    Example:
        >>> from jaxphys.physics.gw import component_masses
        >>> m1, m2 = component_masses(8.705, 1.0)
        >>> round(float(m1), 2), round(float(m2), 2)
        (10.0, 10.0)
    """
    m = total_mass(chirp_mass, mass_ratio)
    return m / (1.0 + mass_ratio), m * mass_ratio / (1.0 + mass_ratio)


def isco_frequency(chirp_mass, mass_ratio):
    r"""Gravitational-wave frequency at the test-mass innermost stable circular orbit,
    ``f_ISCO = 1/(6^{3/2} π G M/c³)`` in Hz (about 4400 Hz (M_⊙/M)).

    Example:
        >>> from jaxphys.physics.gw import isco_frequency
        >>> round(float(isco_frequency(8.705, 1.0)))     # 10 + 10 solar masses
        220
    """
    m = total_mass(chirp_mass, mass_ratio) * SOLAR_MASS_SECONDS
    return 1.0 / (6.0 ** 1.5 * jnp.pi * m)


def _check_order(pn_order) -> int:
    """Twice the PN order, i.e. the highest power of v kept."""
    if pn_order not in PN_ORDERS:
        raise ValueError(f"pn_order: expected one of {PN_ORDERS}, got {pn_order!r}")
    return int(round(2 * float(pn_order)))


def check_frequencies(frequencies, name: str = "frequencies") -> jax.Array:
    """A rank-1 array of finite, positive, strictly increasing frequencies (checked on
    concrete values; returned as an array).

    Example:
        >>> from jaxphys.physics.gw import check_frequencies
        >>> check_frequencies([20.0, 20.5, 21.0]).shape
        (3,)
        >>> check_frequencies([20.0, 19.5])
        Traceback (most recent call last):
        ...
        ValueError: frequencies: expected strictly increasing frequencies, got f[0] = 20.0 ...
    """
    f = as_array(frequencies, name, ndim=1)
    if f.shape[0] < 1:
        raise ValueError(f"{name}: expected at least one frequency, got an empty array")
    check_finite(f, name)
    check_positive(f, name)
    if is_concrete(f) and f.shape[0] > 1:
        steps = np.diff(np.asarray(f))
        if not np.all(steps > 0):
            i = int(np.argmin(steps > 0))
            raise ValueError(f"{name}: expected strictly increasing frequencies, got "
                             f"f[{i}] = {float(f[i])!r} followed by f[{i + 1}] = "
                             f"{float(f[i + 1])!r}")
    return f


def check_binary(chirp_mass, mass_ratio, luminosity_distance) -> None:
    """Concrete values only: chirp mass > 0, 0 < mass ratio ≤ 1, distance > 0."""
    check_positive(chirp_mass, "chirp_mass")
    check_positive(mass_ratio, "mass_ratio")
    check_positive(luminosity_distance, "luminosity_distance")
    if is_concrete(mass_ratio) and np.any(np.asarray(mass_ratio) > 1.0):
        raise ValueError(f"mass_ratio: expected q = m2/m1 in (0, 1], got maximum "
                         f"{float(np.max(np.asarray(mass_ratio)))!r}")


def _alpha(eta, v, log_v, order: int):
    """The phase series ``Σ_k α_k v^k`` up to ``v^order`` (BIOPS 2009 eq. 3.18), by
    Horner's rule (``log_v = ln v`` is passed in, so that a caller can build it from a
    precomputed ``ln f``)."""
    pi = jnp.pi
    log_v_lso = 0.5 * math.log(1.0 / 6.0)
    terms = {
        2: 3715.0 / 756.0 + 55.0 / 9.0 * eta,
        3: -16.0 * pi,
        4: 15293365.0 / 508032.0 + 27145.0 / 504.0 * eta + 3085.0 / 72.0 * eta ** 2,
        5: pi * (38645.0 / 756.0 - 65.0 / 9.0 * eta) * (1.0 + 3.0 * (log_v - log_v_lso)),
        6: (11583231236531.0 / 4694215680.0 - 640.0 / 3.0 * pi ** 2
            - 6848.0 / 21.0 * EULER_GAMMA - 6848.0 / 21.0 * (math.log(4.0) + log_v)
            + (-15737765635.0 / 3048192.0 + 2255.0 / 12.0 * pi ** 2) * eta
            + 76055.0 / 1728.0 * eta ** 2 - 127825.0 / 1296.0 * eta ** 3),
        7: pi * (77096675.0 / 254016.0 + 378515.0 / 1512.0 * eta - 74045.0 / 756.0 * eta ** 2),
    }
    if order < 2:
        return jnp.ones_like(v)
    inner = terms[order] * jnp.ones_like(v)
    for k in range(order - 1, 1, -1):
        inner = terms[k] + v * inner
    return 1.0 + v * v * inner


def taylorf2_phase(frequencies, chirp_mass, mass_ratio, coalescence_time=0.0,
                   coalescence_phase=0.0, *, pn_order: float = 3.5) -> jax.Array:
    r"""The TaylorF2 phase ``Ψ(f)`` in radians (see the module docstring), (n,).

    At ``pn_order=0`` it is the Newtonian ``Ψ = 2πf t_c - φ_c - π/4 + (3/128)(πG𝓜f/c³)^{-5/3}``.
    Pure and jittable; ``pn_order`` is static.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import taylorf2_phase
        >>> psi = taylorf2_phase(jnp.array([20.0, 40.0]), 10.0, 1.0, pn_order=0.0)
        >>> [round(float(p), 1) for p in psi]            # (3/128)(π 𝓜 f)^{-5/3} - π/4
        [355.9, 111.6]
    """
    order = _check_order(pn_order)
    f = jnp.asarray(frequencies)
    return _phase(f, f ** (1.0 / 3.0), jnp.log(f), chirp_mass, mass_ratio, coalescence_time,
                  coalescence_phase, order)


def _phase(f, f_third, log_f, chirp_mass, mass_ratio, coalescence_time, coalescence_phase,
           order):
    """Ψ(f) from ``f``, ``f^{1/3}`` and ``ln f`` (precomputable: under ``vmap`` over θ
    only products remain per bin)."""
    eta = symmetric_mass_ratio(mass_ratio)
    m = total_mass(chirp_mass, mass_ratio) * SOLAR_MASS_SECONDS
    scale = (jnp.pi * m) ** (1.0 / 3.0)
    v = scale * f_third
    log_v = jnp.log(scale) + log_f / 3.0
    v2 = v * v
    inv_v5 = 1.0 / (v2 * v2 * v)
    series = _alpha(eta, v, log_v, order)
    return (2.0 * jnp.pi * f * coalescence_time - coalescence_phase - jnp.pi / 4.0
            + 3.0 / (128.0 * eta) * inv_v5 * series)


def newtonian_amplitude(frequencies, chirp_mass, luminosity_distance) -> jax.Array:
    r"""``|h̃(f)| = sqrt(5/24) π^{-2/3} (G𝓜/c³)^{5/6} f^{-7/6} c/D_L`` in s (face-on,
    optimally oriented: the amplitude of ``h̃₊`` at ι = 0), (n,).

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import newtonian_amplitude, taylorf2
        >>> f = jnp.linspace(20.0, 60.0, 5)              # 20, 30, 40, 50, 60 Hz
        >>> amp = newtonian_amplitude(f, 20.0, 400.0)
        >>> round(float(amp[2] / amp[0]), 4)              # f^{-7/6}: 2^{-7/6}
        0.4454
        >>> np.allclose(amp, np.abs(taylorf2(f, 20.0, 0.5, 400.0).plus))  # below the ISCO
        True
    """
    f = jnp.asarray(frequencies)
    return _amplitude_prefactor(chirp_mass, luminosity_distance) * f ** (-7.0 / 6.0)


def taylorf2(frequencies, chirp_mass, mass_ratio, luminosity_distance, coalescence_time=0.0,
             coalescence_phase=0.0, inclination=0.0, *, pn_order: float = 3.5,
             isco_taper: float = 0.0) -> Polarizations:
    r"""TaylorF2 polarisations ``(h̃₊, h̃ₓ)`` on ``frequencies`` (n,), complex, in s.

    Args:
        frequencies: (n,) positive, increasing, in Hz.
        chirp_mass: detector-frame chirp mass 𝓜 in solar masses.
        mass_ratio: q = m₂/m₁ in (0, 1].
        luminosity_distance: D_L in Mpc.
        coalescence_time: t_c in s (a time shift ``e^{-2πift_c}``).
        coalescence_phase: φ_c in rad.
        inclination: ι in rad (0: face-on).
        pn_order: highest post-Newtonian order of the phase, one of :data:`PN_ORDERS`
            (static).
        isco_taper: ``0`` (default) cuts the amplitude to zero above ``f_ISCO``, as
            TaylorF2 is usually terminated. A fraction ``ε > 0`` instead rolls it off
            with a cosine over ``[(1-ε) f_ISCO, f_ISCO]``,
            ``A → A (1 + cos(π (f - (1-ε)f_ISCO)/(ε f_ISCO)))/2``: on a discrete grid a
            hard cut makes the likelihood jump each time ``f_ISCO`` crosses a bin (a
            jagged posterior in the total mass); the taper makes it smooth.

    Values are checked (masses and distance positive, q ≤ 1, frequencies increasing)
    when concrete; under ``jit``/``vmap`` call it with checked inputs. Zero above
    :func:`isco_frequency`.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import taylorf2
        >>> f = jnp.linspace(20.0, 128.0, 5)
        >>> h = taylorf2(f, 20.0, 0.5, 400.0, 0.0, 0.0)
        >>> h.plus.shape, h.plus.dtype
        ((5,), dtype('complex64'))
        >>> batch = jax.vmap(lambda mc: taylorf2(f, mc, 0.5, 400.0).plus)(jnp.array([15.0, 25.0]))
        >>> batch.shape
        (2, 5)
    """
    f = check_frequencies(frequencies)
    check_binary(chirp_mass, mass_ratio, luminosity_distance)
    if not 0.0 <= float(isco_taper) < 1.0:
        raise ValueError(f"isco_taper: expected a fraction in [0, 1), got {isco_taper!r}")
    return _taylorf2(f, chirp_mass, mass_ratio, luminosity_distance, coalescence_time,
                     coalescence_phase, inclination, _check_order(pn_order), float(isco_taper))


def _amplitude_prefactor(chirp_mass, luminosity_distance):
    """``sqrt(5/24) π^{-2/3} (G𝓜/c³)^{5/6} c/D_L`` (times ``f^{-7/6}``, f in Hz, it is
    ``|h̃|`` in s)."""
    mc = chirp_mass * SOLAR_MASS_SECONDS
    d = luminosity_distance * MEGAPARSEC_SECONDS
    return (math.sqrt(5.0 / 24.0) * math.pi ** (-2.0 / 3.0)) * mc ** (5.0 / 6.0) / d


def _isco_envelope(f, chirp_mass, mass_ratio, isco_taper: float):
    """1 below the taper, the cosine roll-off inside it, 0 above ``f_ISCO``."""
    f_isco = isco_frequency(chirp_mass, mass_ratio)
    envelope = jnp.ones_like(f)
    if isco_taper > 0.0:
        start = (1.0 - isco_taper) * f_isco
        position = jnp.clip((f - start) / (isco_taper * f_isco), 0.0, 1.0)
        envelope = 0.5 * (1.0 + jnp.cos(jnp.pi * position))
    return jnp.where(f <= f_isco, envelope, 0.0)


def _taylorf2(f, chirp_mass, mass_ratio, luminosity_distance, coalescence_time,
              coalescence_phase, inclination, order: int, isco_taper: float = 0.0) -> Polarizations:
    """Unchecked TaylorF2 (see :func:`taylorf2`)."""
    psi = _phase(f, f ** (1.0 / 3.0), jnp.log(f), chirp_mass, mass_ratio, coalescence_time,
                 coalescence_phase, order)
    amp = (_amplitude_prefactor(chirp_mass, luminosity_distance) * f ** (-7.0 / 6.0)
           * _isco_envelope(f, chirp_mass, mass_ratio, isco_taper))
    base = amp * jnp.exp(-1j * psi)
    cos_i = jnp.cos(inclination)
    return Polarizations(0.5 * (1.0 + cos_i ** 2) * base, -1j * cos_i * base)


def detector_strain(polarizations: Polarizations, antenna_plus=1.0, antenna_cross=0.0):
    r"""The strain seen by one detector, ``h̃ = F₊ h̃₊ + Fₓ h̃ₓ`` (n,), for constant
    antenna-pattern factors (default: a detector optimally oriented for the ``+``
    polarisation, F₊ = 1, Fₓ = 0).

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import detector_strain, taylorf2
        >>> pol = taylorf2(jnp.linspace(20.0, 60.0, 5), 20.0, 0.5, 400.0)  # face-on: h̃ₓ = -i h̃₊
        >>> np.array_equal(detector_strain(pol), pol.plus)   # default F₊ = 1, Fₓ = 0
        True
        >>> h = detector_strain(pol, 0.6, 0.8)            # |F₊ - i Fₓ| = 1
        >>> np.allclose(np.abs(h), np.abs(pol.plus))
        True
    """
    return antenna_plus * polarizations.plus + antenna_cross * polarizations.cross
