r"""The inference problem: a prior over (chirp mass, mass ratio, distance, coalescence
time), one detector with Advanced LIGO noise, the simulator that NPE trains on and the
exact (phase-marginalised) posterior that the reference sampler and importance sampling
use.

**Band and resolution (chosen for a 2-core CPU).** The default keeps 20–80 Hz at
``Δf = 1/2 Hz`` (a 2 s segment): 121 complex bins, 242 real numbers per simulation, so a
bank of 2·10⁵ waveforms takes 190 MB of float32. The prior (GW150914-like heavy binaries,
detector-frame chirp mass 25–40 M_⊙, q = m₂/m₁ in [1/4, 1]) keeps the whole inspiral in
both: the lightest binary (𝓜 = 25 M_⊙, q = 1, M = 57 M_⊙) reaches its ISCO at 76.6 Hz,
and the longest signal lasts 0.88 s from 20 Hz to coalescence (3.5PN), well inside the
1.5 s between the segment start and the trigger time, so the grid resolves every phase
(``dΨ/df = 2π t(f)`` changes by less than 2π per bin, no wrap-around). With so few cycles
in band the posteriors are broad enough for a small network: at SNR 15–30 the chirp mass
is measured to 0.1–1 M_⊙ against a prior standard deviation of 4.3 M_⊙ (DINGO's
production networks resolve far narrower posteriors after days of GPU training).

**Parameters** ``θ = (𝓜 [M_⊙], q, D_L [Mpc], t_c [s])`` with ``t_c`` relative to the
trigger time; the coalescence phase is drawn uniformly by the simulator and marginalised
analytically in the likelihood; the inclination and antenna factors are fixed (face-on,
optimally oriented for ``+``), so the single detector's SNR is the network SNR.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from ..._checks import as_array, as_int, check_finite, check_key
from ._likelihood import log_i0
from ._prior import PARAMETER_NAMES, GWPrior
from ._psd import NoiseModel, _check_series, noise_model
from ._whitening import optimal_snr, whiten
from ._waveform import _amplitude_prefactor, _check_order, _isco_envelope, _phase


class GWProblem(NamedTuple):
    """One-detector inference problem (see the module docstring).

    Fields:
        noise: the :class:`NoiseModel` (bins, ASD, duration).
        prior: the :class:`GWPrior`.
        trigger_time: s from the segment start; the waveform's coalescence time is
            ``trigger_time + θ[3]``.
        pn_order: phase order of the TaylorF2 model.
        inclination: fixed inclination in rad.
        isco_taper: the fraction of ``f_ISCO`` over which the amplitude rolls off (see
            :func:`taylorf2`; 0 is the hard cut).

    Example:
        >>> from jaxphys.physics.gw import GWPrior, GWProblem, noise_model
        >>> problem = GWProblem(noise_model(20.0, 30.0, 1.0), GWPrior(), trigger_time=0.5,
        ...                     pn_order=3.5, inclination=0.0, isco_taper=0.1)
        >>> problem.n_bins                                # 20, 21, …, 30 Hz at Δf = 1/T = 1 Hz
        11
        >>> problem._fields
        ('noise', 'prior', 'trigger_time', 'pn_order', 'inclination', 'isco_taper')
    """

    noise: NoiseModel
    prior: GWPrior
    trigger_time: float
    pn_order: float
    inclination: float
    isco_taper: float

    @property
    def n_bins(self) -> int:
        """Number of complex frequency bins."""
        return int(self.noise.frequencies.shape[0])


def gw_problem(f_min: float = 20.0, f_max: float = 80.0, duration: float = 2.0,
               prior: GWPrior | None = None, trigger_time: float | None = None,
               pn_order: float = 3.5, inclination: float = 0.0, isco_taper: float = 0.1,
               dtype=None) -> GWProblem:
    """The default problem: aLIGO noise on 20–80 Hz with Δf = 1/2 Hz, the default
    :class:`GWPrior`, trigger 0.5 s before the segment end, 3.5PN phase, face-on, the
    amplitude rolled off over the last 10 % below ``f_ISCO`` (a hard cut at the ISCO
    inside the band makes the posterior in total mass jagged at the bin spacing).

    Example:
        >>> from jaxphys.physics.gw import gw_problem
        >>> problem = gw_problem()
        >>> problem.n_bins, problem.noise.delta_f, problem.trigger_time
        (121, 0.5, 1.5)
    """
    _check_order(pn_order)
    trigger = float(duration) - 0.5 if trigger_time is None else float(trigger_time)
    if not 0.0 < trigger < float(duration):
        raise ValueError(f"trigger_time: expected a time inside the segment (0, {duration}) s, "
                         f"got {trigger}")
    if not 0.0 <= float(isco_taper) < 1.0:
        raise ValueError(f"isco_taper: expected a fraction in [0, 1), got {isco_taper!r}")
    return GWProblem(noise_model(f_min, f_max, duration, dtype=dtype),
                     GWPrior() if prior is None else prior, trigger, float(pn_order),
                     float(inclination), float(isco_taper))


def _theta(theta, problem: GWProblem, name: str = "theta") -> jax.Array:
    theta = as_array(theta, name, ndim=1)
    if theta.shape[0] != 4:
        raise ValueError(f"{name}: expected shape (4,) for {PARAMETER_NAMES}, got "
                         f"{tuple(theta.shape)}")
    problem.prior.check(theta, name)
    return theta


def gw_signal(theta, problem: GWProblem, phase=0.0) -> jax.Array:
    """The detector strain ``h̃(θ)`` (n,) complex in s at coalescence phase ``phase``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import gw_problem, gw_signal
        >>> problem = gw_problem()
        >>> gw_signal(jnp.array([30.0, 0.5, 1000.0, 0.0]), problem).shape
        (121,)
    """
    theta = _theta(theta, problem)
    return _signal(theta, problem, phase)


def _whitened_parts(theta, problem, phase):
    """Real and imaginary parts of the whitened template ``h̃(θ)/σ_k`` in real arithmetic
    (XLA's CPU complex reductions are several times slower)."""
    noise = problem.noise
    f = noise.frequencies
    theta = theta.astype(f.dtype)
    chirp_mass, mass_ratio, distance, time = theta[0], theta[1], theta[2], theta[3]
    # functions of f alone: evaluated once when traced (f is a constant)
    f_third, log_f = f ** (1.0 / 3.0), jnp.log(f)
    shape = f ** (-7.0 / 6.0) / noise.sigma
    psi = _phase(f, f_third, log_f, chirp_mass, mass_ratio, problem.trigger_time + time, phase,
                 int(round(2 * problem.pn_order)))
    cos_i = jnp.cos(problem.inclination)
    amp = (0.5 * (1.0 + cos_i ** 2) * _amplitude_prefactor(chirp_mass, distance) * shape
           * _isco_envelope(f, chirp_mass, mass_ratio, problem.isco_taper))
    return amp * jnp.cos(psi), -amp * jnp.sin(psi)


#: Distance (Mpc) at which :func:`intrinsic_bank` stores waveforms.
REFERENCE_DISTANCE = 1000.0


def apply_extrinsic(re, im, distance, time, phase, problem: GWProblem):
    r"""Move whitened waveforms ``(re, im)`` (..., n) stored at ``D_L = 1000 Mpc``,
    ``t_c = 0`` and ``φ_c = 0`` to ``distance`` (Mpc), coalescence time ``time`` (s) and
    phase ``phase`` (rad), each (...,): ``h̃ → h̃ (D_ref/D) e^{i(φ - 2πf t_c)}`` exactly
    (the amplitude is ∝ 1/D and the ISCO envelope does not depend on D, t_c, φ).
    DINGO draws these extrinsic parameters afresh for every training batch.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import apply_extrinsic, gw_problem
        >>> problem = gw_problem()                        # 121 bins, 20–80 Hz
        >>> f = np.asarray(problem.noise.frequencies)
        >>> re, im = apply_extrinsic(np.ones(121), np.zeros(121), 2000.0, 0.01, 0.3, problem)
        >>> h = np.asarray(re) + 1j * np.asarray(im)      # twice as far: half the amplitude
        >>> round(float(abs(h[0])), 4)
        0.5
        >>> np.allclose(h, 0.5 * np.exp(1j * (0.3 - 2 * np.pi * f * 0.01)), atol=1e-5)
        True
    """
    time, phase = jnp.asarray(time), jnp.asarray(phase)
    f = jnp.reshape(problem.noise.frequencies, (1,) * time.ndim + (-1,))
    angle = phase[..., None] - 2.0 * jnp.pi * time[..., None] * f
    scale = (REFERENCE_DISTANCE / jnp.asarray(distance))[..., None]
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    return scale * (re * cos - im * sin), scale * (re * sin + im * cos)


def intrinsic_bank(key: jax.Array, problem: GWProblem, n: int):
    """``n`` intrinsic parameters ``(𝓜, q)`` (n, 2) from the prior and their whitened
    waveforms ``[Re w, Im w]`` (n, 2 n_bins) at the reference distance, ``t_c = 0``,
    ``φ_c = 0``: the bank that :func:`apply_extrinsic` completes.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.gw import gw_problem, gw_signal, intrinsic_bank, whitened_features
        >>> problem = gw_problem()                        # 121 bins, 20–80 Hz
        >>> masses, bank = intrinsic_bank(jax.random.key(0), problem, 3)
        >>> masses.shape, bank.shape                      # (𝓜, q); [Re w, Im w]
        ((3, 2), (3, 242))
        >>> theta = jnp.array([masses[0, 0], masses[0, 1], 1000.0, 0.0])   # D_ref, t_c = 0
        >>> x = np.asarray(whitened_features(gw_signal(theta, problem), problem))
        >>> np.allclose(bank[0], x, rtol=1e-4, atol=1e-4 * np.abs(x).max())
        True
    """
    check_key(key, "key")
    theta = problem.prior.sample(seed=key, sample_shape=as_int(n, "n", minimum=1))
    ref = jnp.array([0.0, 0.0, REFERENCE_DISTANCE, 0.0], theta.dtype)
    full = theta * jnp.array([1.0, 1.0, 0.0, 0.0], theta.dtype)[None] + ref[None]
    re, im = jax.jit(jax.vmap(lambda t: _whitened_parts(t, problem, 0.0)))(full)
    return theta[:, :2], jnp.concatenate([re, im], axis=1)


def _signal(theta, problem, phase):
    re, im = _whitened_parts(theta, problem, phase)
    return (re + 1j * im) * problem.noise.sigma


def whitened_features(strain, problem: GWProblem) -> jax.Array:
    """Real network input (2n,): ``[Re w, Im w]`` of the whitened strain ``w`` (noise:
    independent standard normals).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import gw_problem, whitened_features
        >>> problem = gw_problem()                        # 121 bins, 20–80 Hz
        >>> x = whitened_features(problem.noise.sigma * (1.0 + 2.0j), problem)  # (1 + 2i) σ_k
        >>> x.shape, [round(float(v), 4) for v in x[::121]]  # Re w_0 = 1, Im w_0 = 2
        ((242,), [1.0, 2.0])
    """
    w = whiten(_check_series(strain, problem.noise, "strain"), problem.noise)
    return jnp.concatenate([w.real, w.imag], axis=-1)


def simulate_features(key: jax.Array, theta, problem: GWProblem) -> jax.Array:
    """One simulation for NPE: a uniform coalescence phase, the signal, coloured noise,
    whitened, as real features (2n,). Per example: ``vmap`` over keys and θ.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.physics.gw import gw_problem, simulate_features
        >>> problem = gw_problem()
        >>> simulate_features(jax.random.key(0), jnp.array([30.0, 0.5, 1000.0, 0.0]),
        ...                   problem).shape
        (242,)
    """
    check_key(key, "key")
    theta = _theta(theta, problem)
    return _simulate(key, theta, problem)


def _simulate(key, theta, problem):
    phase_key, noise_key = jax.random.split(key)
    dtype = problem.noise.asd.dtype
    phase = jax.random.uniform(phase_key, (), dtype, 0.0, 2.0 * jnp.pi)
    re, im = _whitened_parts(theta, problem, phase)
    z = jax.random.normal(noise_key, (2,) + re.shape, dtype)
    return jnp.concatenate([re + z[0], im + z[1]])


def simulate_dataset(key: jax.Array, problem: GWProblem, n: int):
    """``n`` pairs ``θ ~ prior`` (n, 4) and whitened features ``x`` (n, 2·n_bins).

    Example:
        >>> import jax, numpy as np
        >>> from jaxphys.physics.gw import gw_problem, simulate_dataset
        >>> problem = gw_problem()                        # 121 bins, 20–80 Hz
        >>> theta, x = simulate_dataset(jax.random.key(0), problem, 3)
        >>> theta.shape, x.shape                          # θ = (𝓜, q, D_L, t_c)
        ((3, 4), (3, 242))
        >>> t = np.asarray(theta)
        >>> bool(np.all((t >= problem.prior.low) & (t <= problem.prior.high)))   # in the prior
        True
    """
    check_key(key, "key")
    n = as_int(n, "n", minimum=1)
    prior_key, sim_key = jax.random.split(key)
    theta = problem.prior.sample(seed=prior_key, sample_shape=n)
    x = jax.jit(jax.vmap(lambda k, t: _simulate(k, t, problem)))(
        jax.random.split(sim_key, n), theta)
    return theta, x


def features_to_strain(features, problem: GWProblem) -> jax.Array:
    """Inverse of :func:`whitened_features`: complex strain (n,) from (2n,) features.

    Example:
        >>> import numpy as np
        >>> from jaxphys.physics.gw import features_to_strain, gw_problem, whitened_features
        >>> problem = gw_problem()                        # 121 bins, 20–80 Hz
        >>> x = np.linspace(-1.0, 1.0, 242, dtype=np.float32)   # [Re w, Im w]
        >>> h = features_to_strain(x, problem)
        >>> h.shape, np.allclose(whitened_features(h, problem), x, atol=1e-6)
        ((121,), True)
    """
    features = as_array(features, "features", ndim=1)
    n = problem.n_bins
    if features.shape[0] != 2 * n:
        raise ValueError(f"features: expected length 2 * {n} = {2 * n}, got {features.shape[0]}")
    return (features[:n] + 1j * features[n:]) * problem.noise.sigma


def make_log_posterior(data, problem: GWProblem) -> Callable:
    r"""Unnormalised log posterior ``log p(θ) + log Λ̄(d|θ)`` (phase marginalised, see
    :func:`phase_marginalized_log_likelihood_ratio`) for the data strain ``data`` (n,)
    complex; returns ``log_posterior(theta (4,)) -> scalar`` (``-inf`` outside the prior),
    pure and vmappable. Adding ``log L(d|0)`` makes it the log of likelihood × prior.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import gw_problem, gw_signal, make_log_posterior
        >>> problem = gw_problem()
        >>> truth = jnp.array([30.0, 0.5, 1000.0, 0.0])
        >>> log_post = make_log_posterior(gw_signal(truth, problem), problem)
        >>> bool(log_post(truth) > log_post(truth.at[0].set(30.5)))
        True
    """
    data = _check_series(data, problem.noise, "data")
    if data.ndim != 1:
        raise ValueError(f"data: expected one strain series of shape ({problem.n_bins},), got "
                         f"{tuple(data.shape)}")
    check_finite(data, "data")

    # phase_marginalized_log_likelihood_ratio in real arithmetic, data whitened once
    w_data = whiten(data, problem.noise)
    data_re, data_im = w_data.real, w_data.imag
    middle = 0.5 * (problem.prior.low + problem.prior.high)

    def log_posterior(theta):
        log_prior = problem.prior.log_prob(theta)
        safe = jnp.where(jnp.isfinite(log_prior), theta, jnp.asarray(middle, theta.dtype))
        re, im = _whitened_parts(safe, problem, 0.0)
        overlap_re = jnp.sum(data_re * re + data_im * im)
        overlap_im = jnp.sum(data_im * re - data_re * im)
        power = jnp.sum(re * re + im * im)
        log_like = log_i0(jnp.sqrt(overlap_re ** 2 + overlap_im ** 2)) - 0.5 * power
        return jnp.where(jnp.isfinite(log_prior), log_prior + log_like, -jnp.inf)

    return log_posterior


def distance_for_snr(theta, snr: float, problem: GWProblem) -> jax.Array:
    """θ with its distance rescaled so that the optimal SNR is ``snr`` (ρ ∝ 1/D_L).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.physics.gw import distance_for_snr, gw_problem, gw_signal, optimal_snr
        >>> problem = gw_problem()
        >>> theta = jnp.array([30.0, 0.5, 1000.0, 0.0])
        >>> at_20 = distance_for_snr(theta, 20.0, problem)
        >>> round(float(optimal_snr(gw_signal(at_20, problem), problem.noise)), 3)
        20.0
        >>> at_10 = distance_for_snr(theta, 10.0, problem)   # half the SNR: twice as far
        >>> round(float(at_10[2] / at_20[2]), 4)
        2.0
    """
    theta = _theta(theta, problem)
    rho = optimal_snr(_signal(theta, problem, 0.0), problem.noise)
    out = theta.at[2].set(theta[2] * rho / snr)
    problem.prior.check(out, "theta (rescaled to the requested snr)")
    return out
