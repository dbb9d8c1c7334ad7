"""Synthetic data sets with known generating truth, for the tour and the tests.

Each generator takes a key first and returns a :class:`Dataset` whose
``truth`` dict holds the parameters it was generated from, so that a fit or
a classifier can be checked against the truth.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import check_finite, check_key, check_positive

from jaxphys._checks import as_int


class Dataset(NamedTuple):
    """A synthetic data set and the truth it was drawn from.

    Fields:
        x: inputs, shape ``(n,)`` or ``(n, d)`` (per generator).
        y: targets, shape ``(n,)``: float values (regression) or int32 labels
            (classification).
        truth: dict of the generating parameters (see each generator).

    Example:
        >>> from jaxphys.data import straight_line
        >>> data = straight_line(jax.random.key(0), n=20, slope=3.0, intercept=-1.0, sigma=0.0)
        >>> x, y, truth = data                              # a NamedTuple unpacks
        >>> sorted(truth), float(truth["slope"])
        (['intercept', 'sigma', 'slope'], 3.0)
        >>> bool(jnp.allclose(y, truth["slope"] * x + truth["intercept"]))
        True
    """

    x: jax.Array
    y: jax.Array
    truth: dict


def _float_scalar(value: Any, name: str) -> jax.Array:
    arr = jnp.asarray(value, dtype=jnp.result_type(float))
    if arr.ndim != 0:
        raise ValueError(f"{name}: expected a scalar, got shape {tuple(arr.shape)}")
    check_finite(arr, name)
    return arr


def straight_line(key: jax.Array, n: int = 50, slope: Any = 2.0, intercept: Any = 1.0,
                  sigma: Any = 1.0, x_range: tuple[float, float] = (0.0, 10.0)) -> Dataset:
    r"""Points on a straight line with Gaussian noise.

    .. math::
        x_i \sim \mathcal U(x_\mathrm{lo}, x_\mathrm{hi})\ \text{(then sorted)}, \qquad
        y_i = a\,x_i + b + \varepsilon_i,\quad \varepsilon_i \sim \mathcal N(0, \sigma^2)

    The weighted least-squares fit with :math:`\sigma_i = \sigma` recovers
    :math:`a` with standard error :math:`\sigma/\sqrt{\sum_i (x_i-\bar x)^2}`
    and gives :math:`\chi^2 \sim \chi^2_{n-2}`.

    Args:
        key: a JAX PRNG key.
        n: number of points, >= 2.
        slope: a, in units of y per unit of x.
        intercept: b, in units of y.
        sigma: noise standard deviation σ >= 0 (0 gives exact points), units of y.
        x_range: (lo, hi) with lo < hi.

    Returns:
        :class:`Dataset` with x of shape ``(n,)`` (sorted increasing), y of shape
        ``(n,)`` and ``truth = {'slope', 'intercept', 'sigma'}`` (float scalars).

    Example:
        >>> data = straight_line(jax.random.key(0), n=20, sigma=0.0)
        >>> data.x.shape, bool(jnp.allclose(data.y, 2.0 * data.x + 1.0))
        ((20,), True)
    """
    check_key(key)
    n = as_int(n, "n", minimum=2)
    slope = _float_scalar(slope, "slope")
    intercept = _float_scalar(intercept, "intercept")
    sigma = _float_scalar(sigma, "sigma")
    check_positive(sigma, "sigma", strict=False)
    try:
        lo, hi = (float(v) for v in x_range)
    except (TypeError, ValueError):
        raise ValueError(f"x_range: expected two numbers (lo, hi), got {x_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"x_range: expected finite lo < hi, got {x_range!r}")
    x, y = _straight_line(key, n, slope, intercept, sigma, jnp.asarray(lo, slope.dtype),
                          jnp.asarray(hi, slope.dtype))
    return Dataset(x=x, y=y, truth={"slope": slope, "intercept": intercept, "sigma": sigma})


@partial(jax.jit, static_argnums=1)
def _straight_line(key, n, slope, intercept, sigma, lo, hi):
    key_x, key_noise = jax.random.split(key)
    x = jnp.sort(jax.random.uniform(key_x, (n,), slope.dtype, minval=lo, maxval=hi))
    y = slope * x + intercept + sigma * jax.random.normal(key_noise, (n,), slope.dtype)
    return x, y


# Generative model of the fake gravitational-wave triggers (see gw_triggers).
_GW_SNR_THRESHOLD = 8.0
_GW_SIGNAL_SNR_INDEX = 4.0         # p_s(ρ) ∝ ρ^-4 (sources uniform in volume)
_GW_NOISE_SNR_WIDTH = 2.0          # κ: noise ρ/κ ~ χ_2 (Rayleigh), truncated at threshold
_GW_SIGNAL_MCHIRP_MEDIAN = 12.0    # solar masses
_GW_SIGNAL_MCHIRP_LOG_SIGMA = 0.5
_GW_NOISE_MCHIRP_MEDIAN = 30.0     # solar masses
_GW_NOISE_MCHIRP_LOG_SIGMA = 0.7


def _lognormal_logpdf_no_jacobian(m: jax.Array, median: float, log_sigma: float) -> jax.Array:
    z = (jnp.log(m) - math.log(median)) / log_sigma
    return -0.5 * jnp.square(z) - math.log(log_sigma)


def gw_triggers(key: jax.Array, n: int = 2000, signal_fraction: float = 0.5) -> Dataset:
    r"""Fake gravitational-wave search triggers: astrophysical signals and noise glitches.

    Each trigger has two features, the matched-filter signal-to-noise ratio
    ρ and the chirp mass :math:`\mathcal M` (solar masses) of the best-matching
    template. All triggers pass the threshold :math:`\rho \ge \rho_0 = 8`.
    Exactly ``round(signal_fraction * n)`` triggers are signals (label 1) and
    the rest noise (label 0), in random order. The generative model:

    * **signal SNR** — sources uniform in volume give
      :math:`p_s(\rho) = 3\rho_0^3\rho^{-4}` for :math:`\rho\ge\rho_0`
      (sampled as :math:`\rho = \rho_0 U^{-1/3}`), a heavy tail;
    * **noise SNR** — a Rayleigh (χ with 2 degrees of freedom, as for a
      two-phase matched filter) of width κ = 2, inflated over Gaussian noise's
      κ = 1 by glitches, truncated at the threshold:
      :math:`\rho^2 = \rho_0^2 + 2\kappa^2 E`, :math:`E\sim\mathrm{Exp}(1)`, i.e.
      :math:`p_n(\rho) = (\rho/\kappa^2)\,e^{-(\rho^2-\rho_0^2)/2\kappa^2}`;
    * **signal chirp mass** — log-normal, median 12 M☉, σ(ln 𝓜) = 0.5
      (a binary-black-hole-like population);
    * **noise chirp mass** — log-normal, median 30 M☉, σ(ln 𝓜) = 0.7: short
      glitches preferentially ring up short, high-mass templates, over a broad range.

    The classes overlap (loud glitches, light-template glitches, quiet
    signals): a logistic classifier on the standardised features reaches a
    ROC AUC of about 0.94–0.95, and the Bayes-optimal classifier, the exact
    log-likelihood ratio returned in ``truth``, does no better than about
    0.95: the overlap is irreducible, not a weakness of the classifier.

    Args:
        key: a JAX PRNG key.
        n: number of triggers, >= 2.
        signal_fraction: fraction of signals, in [0, 1].

    Returns:
        :class:`Dataset` with x of shape ``(n, 2)``, columns ``[snr, chirp_mass]``
        (dimensionless, M☉), y of shape ``(n,)`` int32 (1 = signal), and
        ``truth`` = {``'signal_fraction'``, ``'n_signal'``, ``'snr_threshold'``,
        ``'signal_snr_index'`` (4: p ∝ ρ^-4), ``'noise_snr_width'`` (κ),
        ``'signal_mchirp_median'``, ``'signal_mchirp_log_sigma'``,
        ``'noise_mchirp_median'``, ``'noise_mchirp_log_sigma'``,
        ``'log_likelihood_ratio'`` (shape ``(n,)``, :math:`\log p_s(x)/p_n(x)`
        per trigger)}.

    Example:
        >>> data = gw_triggers(jax.random.key(0), n=100)
        >>> data.x.shape, int(data.y.sum()), bool(data.x[:, 0].min() >= 8.0)
        ((100, 2), 50, True)
    """
    check_key(key)
    n = as_int(n, "n", minimum=2)
    try:
        frac = float(signal_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"signal_fraction: expected a number in [0, 1], got "
                         f"{signal_fraction!r}") from None
    if not 0.0 <= frac <= 1.0:
        raise ValueError(f"signal_fraction: expected a number in [0, 1], got {frac}")
    n_signal = int(round(frac * n))
    x, y, llr = _gw_triggers(key, n, n_signal)
    rho0 = _GW_SNR_THRESHOLD
    kappa = _GW_NOISE_SNR_WIDTH
    truth = {
        "signal_fraction": frac,
        "n_signal": n_signal,
        "snr_threshold": rho0,
        "signal_snr_index": _GW_SIGNAL_SNR_INDEX,
        "noise_snr_width": kappa,
        "signal_mchirp_median": _GW_SIGNAL_MCHIRP_MEDIAN,
        "signal_mchirp_log_sigma": _GW_SIGNAL_MCHIRP_LOG_SIGMA,
        "noise_mchirp_median": _GW_NOISE_MCHIRP_MEDIAN,
        "noise_mchirp_log_sigma": _GW_NOISE_MCHIRP_LOG_SIGMA,
        "log_likelihood_ratio": llr,
    }
    return Dataset(x=x, y=y, truth=truth)


@partial(jax.jit, static_argnums=1)
def _gw_triggers(key, n, n_signal):
    rho0 = _GW_SNR_THRESHOLD
    kappa = _GW_NOISE_SNR_WIDTH
    key_order, key_snr_sig, key_snr_noise, key_mc_sig, key_mc_noise = jax.random.split(key, 5)
    is_signal = jax.random.permutation(key_order, n) < n_signal
    dt = jnp.result_type(float)
    # Uniform on (0, 1]: avoids U = 0 (ρ = ∞).
    u = 1.0 - jax.random.uniform(key_snr_sig, (n,), dtype=dt)
    snr_sig = rho0 * u ** (-1.0 / 3.0)
    snr_noise = jnp.sqrt(rho0**2 + 2.0 * kappa**2 * jax.random.exponential(key_snr_noise, (n,), dt))
    mc_sig = _GW_SIGNAL_MCHIRP_MEDIAN * jnp.exp(
        _GW_SIGNAL_MCHIRP_LOG_SIGMA * jax.random.normal(key_mc_sig, (n,), dt))
    mc_noise = _GW_NOISE_MCHIRP_MEDIAN * jnp.exp(
        _GW_NOISE_MCHIRP_LOG_SIGMA * jax.random.normal(key_mc_noise, (n,), dt))
    snr = jnp.where(is_signal, snr_sig, snr_noise)
    mchirp = jnp.where(is_signal, mc_sig, mc_noise)
    # Exact log-likelihood ratio (the common 1/𝓜 Jacobians cancel).
    log_ps = math.log(3.0 * rho0**3) - _GW_SIGNAL_SNR_INDEX * jnp.log(snr) \
        + _lognormal_logpdf_no_jacobian(mchirp, _GW_SIGNAL_MCHIRP_MEDIAN,
                                        _GW_SIGNAL_MCHIRP_LOG_SIGMA)
    log_pn = jnp.log(snr) - 2.0 * math.log(kappa) - (jnp.square(snr) - rho0**2) / (2 * kappa**2) \
        + _lognormal_logpdf_no_jacobian(mchirp, _GW_NOISE_MCHIRP_MEDIAN,
                                        _GW_NOISE_MCHIRP_LOG_SIGMA)
    x = jnp.stack([snr, mchirp], axis=1)
    return x, is_signal.astype(jnp.int32), log_ps - log_pn


def two_moons(key: jax.Array, n: int = 1000, noise: Any = 0.05) -> Dataset:
    r"""Two interleaving half circles (like scikit-learn's ``make_moons``).

    Moon 0 (``n // 2`` points): :math:`(\cos t, \sin t)`; moon 1 (the other
    ``n - n // 2``): :math:`(1 - \cos t,\ \tfrac12 - \sin t)`, with the angles
    t evenly spaced on :math:`[0, \pi]` for each moon. The points are shuffled
    and Gaussian noise of standard deviation ``noise`` is added to both
    coordinates. Not linearly separable: a test for non-linear classifiers.

    Args:
        key: a JAX PRNG key.
        n: number of points, >= 2.
        noise: noise standard deviation, >= 0.

    Returns:
        :class:`Dataset` with x of shape ``(n, 2)``, y of shape ``(n,)`` int32
        (the moon label 0/1) and ``truth = {'noise', 'angle'}`` where ``angle``
        (shape ``(n,)``) is each point's t before noise.

    Example:
        >>> data = two_moons(jax.random.key(0), n=10)
        >>> data.x.shape, data.y.tolist().count(0), data.y.tolist().count(1)
        ((10, 2), 5, 5)
    """
    check_key(key)
    n = as_int(n, "n", minimum=2)
    noise = _float_scalar(noise, "noise")
    check_positive(noise, "noise", strict=False)
    x, y, angle = _two_moons(key, n, noise)
    return Dataset(x=x, y=y, truth={"noise": noise, "angle": angle})


@partial(jax.jit, static_argnums=1)
def _two_moons(key, n, noise):
    n_outer = n // 2
    n_inner = n - n_outer
    t_outer = jnp.linspace(0.0, jnp.pi, n_outer, dtype=noise.dtype)
    t_inner = jnp.linspace(0.0, jnp.pi, n_inner, dtype=noise.dtype)
    clean = jnp.concatenate([
        jnp.stack([jnp.cos(t_outer), jnp.sin(t_outer)], axis=1),
        jnp.stack([1.0 - jnp.cos(t_inner), 0.5 - jnp.sin(t_inner)], axis=1),
    ])
    labels = jnp.concatenate([jnp.zeros(n_outer, jnp.int32), jnp.ones(n_inner, jnp.int32)])
    angle = jnp.concatenate([t_outer, t_inner])
    key_order, key_noise = jax.random.split(key)
    order = jax.random.permutation(key_order, n)
    x = clean[order] + noise * jax.random.normal(key_noise, (n, 2), clean.dtype)
    return x, labels[order], angle[order]
