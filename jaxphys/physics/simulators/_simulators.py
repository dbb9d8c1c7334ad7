r"""JAX simulators with priors for simulation-based inference.

A task is a :class:`SimulationTask` ``(prior, simulate, theta_names, ...)``:
``prior`` is a distrax distribution over θ (d,), ``simulate(key, theta) -> x`` is
per example (``vmap`` it over a batch of keys and parameters).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import distrax
import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_key, check_positive, check_range

__all__ = ["SimulationTask", "simulate_batch", "damped_oscillator", "oscillator_signal",
           "gw_chirp", "chirp_signal", "gaussian_linear", "T_SUN"]

# G M_sun / c^3 in seconds
T_SUN = 4.925490947e-6


class SimulationTask(NamedTuple):
    """A prior and a simulator.

    Fields:
        prior: distrax distribution over θ, event shape (d,).
        simulate: ``simulate(key, theta (d,)) -> x (n_x,)``, pure and jittable.
        theta_names: names of the d parameters.
        times: observation times (n_x,) in seconds (None if not a time series).
        posterior: for tasks with a closed-form posterior, ``posterior(x) ->
            distrax distribution`` over θ; else None.

    Example (a damped oscillator seen at 25 times with noise 0.1, θ = (ω₀, γ) uniform on
    [1, 3] × [0.05, 0.5]: :func:`damped_oscillator` by hand):
        >>> import distrax, jax, jax.numpy as jnp, numpy as np
        >>> from jaxphys.physics.simulators import (SimulationTask, oscillator_signal,
        ...                                         simulate_batch)
        >>> times = jnp.linspace(0.0, 10.0, 25)
        >>> def simulate(key, theta):
        ...     return oscillator_signal(theta, times) + 0.1 * jax.random.normal(key, (25,))
        >>> prior = distrax.Independent(distrax.Uniform(jnp.array([1.0, 0.05]),
        ...                                             jnp.array([3.0, 0.5])), 1)
        >>> task = SimulationTask(prior, simulate, ("omega0", "gamma"), times)
        >>> theta, x = simulate_batch(jax.random.key(0), task, 4)
        >>> theta.shape, x.shape, task.posterior is None
        ((4, 2), (4, 25), True)
        >>> bool(np.all(np.abs(np.asarray(x[:, 0]) - 1.0) < 0.5))   # x(0) = 1 plus the noise
        True
    """

    prior: distrax.Distribution
    simulate: Callable
    theta_names: tuple
    times: jax.Array | None = None
    posterior: Callable | None = None


def simulate_batch(key: jax.Array, task: SimulationTask, n: int):
    """Draw ``n`` pairs ``θ ~ prior``, ``x ~ simulate(θ)``; returns ``(theta (n, d), x (n, n_x))``.

    Example:
        >>> import jax, numpy as np
        >>> task = damped_oscillator()                      # θ = (ω₀, γ), x at 25 times
        >>> theta, x = simulate_batch(jax.random.key(0), task, 4)
        >>> theta.shape, x.shape
        ((4, 2), (4, 25))
        >>> bool(np.all(np.abs(np.asarray(x[:, 0]) - 1.0) < 0.5))   # x(0) = 1 plus σ = 0.1 noise
        True
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    prior_key, sim_key = jax.random.split(key)
    theta = task.prior.sample(seed=prior_key, sample_shape=n)
    x = jax.vmap(task.simulate)(jax.random.split(sim_key, n), theta)
    return theta, x


def _box(low, high) -> distrax.Distribution:
    return distrax.Independent(distrax.Uniform(jnp.asarray(low), jnp.asarray(high)), 1)


def _check_theta(theta, d: int) -> None:
    """``theta`` of shape ``(d,)`` (static: holds under ``vmap``/``jit``)."""
    if jnp.shape(theta) != (d,):
        raise ValueError(f"theta: expected shape ({d},) (vmap over a batch), got "
                         f"{tuple(jnp.shape(theta))}")


def oscillator_signal(theta, times):
    r"""Noise-free displacement of a damped oscillator ``ẍ + 2γẋ + ω₀²x = 0`` with
    ``x(0) = 1, ẋ(0) = 0`` (underdamped, γ < ω₀):
    ``x(t) = e^{-γt}(cos ω_d t + (γ/ω_d) sin ω_d t)``, ``ω_d = sqrt(ω₀² - γ²)``.
    ``theta = (ω₀ [rad/s], γ [1/s])``.

    Example:
        >>> import jax.numpy as jnp
        >>> times = jnp.array([0.0, jnp.pi])
        >>> x = oscillator_signal(jnp.array([1.25, 0.75]), times)   # ω_d = sqrt(1.25² - 0.75²) = 1
        >>> [round(float(v), 4) for v in x]                # 1, then e^{-0.75π}(cos π + 0)
        [1.0, -0.0948]
    """
    _check_theta(theta, 2)
    omega0, gamma = theta[0], theta[1]
    wd = jnp.sqrt(omega0 ** 2 - gamma ** 2)
    return jnp.exp(-gamma * times) * (jnp.cos(wd * times) + gamma / wd * jnp.sin(wd * times))


def damped_oscillator(n_obs: int = 25, t_max: float = 10.0, noise: float = 0.1,
                      omega_range=(1.0, 3.0), gamma_range=(0.05, 0.5)) -> SimulationTask:
    r"""Damped harmonic oscillator observed at ``n_obs`` equally spaced times in
    ``[0, t_max]`` seconds with Gaussian noise of standard deviation ``noise``.

    θ = (ω₀ [rad/s], γ [1/s]) with a uniform prior on ``omega_range × gamma_range``
    (underdamped throughout); see :func:`oscillator_signal`.

    Example:
        >>> import jax
        >>> task = damped_oscillator()
        >>> theta, x = simulate_batch(jax.random.key(0), task, 4)
        >>> theta.shape, x.shape
        ((4, 2), (4, 25))
    """
    check_positive(noise, "noise")
    if not gamma_range[1] < omega_range[0]:
        raise ValueError("gamma_range: expected max γ < min ω₀ (underdamped), got "
                         f"{gamma_range} and {omega_range}")
    times = jnp.linspace(0.0, float(t_max), as_int(n_obs, "n_obs", minimum=1))

    def simulate(key, theta):
        clean = oscillator_signal(theta, times)
        return clean + noise * jax.random.normal(key, clean.shape, clean.dtype)

    prior = _box([omega_range[0], gamma_range[0]], [omega_range[1], gamma_range[1]])
    return SimulationTask(prior, simulate, ("omega0", "gamma"), times)


def chirp_signal(theta, times, t_c):
    r"""Newtonian (leading-order post-Newtonian) inspiral chirp.

    With ``τ = t_c - t`` and ``𝓜`` the chirp mass in seconds (``M_c · G M_⊙/c³``),
    the gravitational-wave frequency and phase are

    .. math:: f(τ) = \frac{1}{8π}\Big(\frac{5}{τ}\Big)^{3/8} 𝓜^{-5/8}, \qquad
              Φ(τ) = -2\Big(\frac{τ}{5𝓜}\Big)^{5/8},

    and the strain is ``h = A (f / 100 Hz)^{2/3} cos(Φ + φ)``.
    ``theta = (A, M_c [solar masses], φ [rad])``.

    Example:
        >>> import jax.numpy as jnp, numpy as np
        >>> times = jnp.linspace(0.0, 0.5, 256)            # coalescence at t_c = 0.6 s
        >>> h = np.asarray(chirp_signal(jnp.array([1.0, 10.0, 0.0]), times, 0.6))
        >>> flipped = chirp_signal(jnp.array([2.0, 10.0, np.pi]), times, 0.6)   # 2A, φ + π
        >>> np.allclose(flipped, -2.0 * h, atol=1e-4)
        True
        >>> bool(np.abs(h[:64]).max() < np.abs(h[-64:]).max())   # louder towards t_c
        True
    """
    _check_theta(theta, 3)
    amp, mc, phi = theta[0], theta[1], theta[2]
    m = mc * T_SUN
    tau = t_c - times
    f = (5.0 / tau) ** 0.375 * m ** -0.625 / (8 * jnp.pi)
    phase = -2.0 * (tau / (5.0 * m)) ** 0.625
    return amp * (f / 100.0) ** (2.0 / 3.0) * jnp.cos(phase + phi)


def gw_chirp(n_samples: int = 256, sample_rate: float = 512.0, t_c: float = 0.6,
             noise: float = 1.0, amp_range=(0.5, 2.0), mass_range=(5.0, 15.0)) -> SimulationTask:
    r"""Toy gravitational-wave chirp in white Gaussian noise (standard deviation ``noise``).

    ``n_samples`` samples at ``sample_rate`` Hz from t = 0; coalescence at ``t_c``
    (after the window, so the frequency stays below Nyquist: with the defaults it
    runs from about 30 to 130 Hz). θ = (amplitude A, chirp mass M_c [M_⊙], phase φ
    [rad]) with uniform priors on ``amp_range``, ``mass_range`` and [0, 2π).
    See :func:`chirp_signal`.

    Example:
        >>> import jax
        >>> task = gw_chirp()
        >>> theta, x = simulate_batch(jax.random.key(0), task, 2)
        >>> theta.shape, x.shape
        ((2, 3), (2, 256))
    """
    check_positive(noise, "noise")
    check_range(sample_rate, "sample_rate", low=0.0, low_open=True)
    times = jnp.arange(as_int(n_samples, "n_samples", minimum=1)) / float(sample_rate)
    if not t_c > float(times[-1]):
        raise ValueError(f"t_c: expected a coalescence time after the last sample "
                         f"{float(times[-1]):.4g} s, got {t_c}")

    def simulate(key, theta):
        clean = chirp_signal(theta, times, t_c)
        return clean + noise * jax.random.normal(key, clean.shape, clean.dtype)

    prior = _box([amp_range[0], mass_range[0], 0.0], [amp_range[1], mass_range[1], 2 * np.pi])
    return SimulationTask(prior, simulate, ("amplitude", "chirp_mass", "phase"), times)


def gaussian_linear(dim: int = 5, prior_scale: float = 0.1 ** 0.5,
                    noise: float = 0.1 ** 0.5) -> SimulationTask:
    r"""The Gaussian-linear task (as in the SBI benchmark): θ ~ N(0, s₀² I_d),
    x | θ ~ N(θ, σ² I_d). The posterior is Gaussian,

    .. math:: θ | x \sim N\Big(\frac{s₀²}{s₀² + σ²}\,x,\ \frac{s₀² σ²}{s₀² + σ²} I_d\Big),

    returned by ``task.posterior(x)`` as a distrax ``MultivariateNormalDiag``.

    Example:
        >>> import jax.numpy as jnp
        >>> task = gaussian_linear(dim=2)
        >>> post = task.posterior(jnp.array([1.0, -1.0]))
        >>> post.mean(), post.stddev() ** 2
        (Array([ 0.5, -0.5], dtype=float32), Array([0.05, 0.05], dtype=float32))
    """
    check_positive(prior_scale, "prior_scale")
    check_positive(noise, "noise")
    dim = as_int(dim, "dim", minimum=1)
    s2, n2 = float(prior_scale) ** 2, float(noise) ** 2

    def simulate(key, theta):
        return theta + noise * jax.random.normal(key, theta.shape, theta.dtype)

    def posterior(x):
        x = jnp.asarray(x)
        var = s2 * n2 / (s2 + n2)
        return distrax.MultivariateNormalDiag(s2 / (s2 + n2) * x,
                                              jnp.full(x.shape, var ** 0.5, x.dtype))

    prior = distrax.MultivariateNormalDiag(jnp.zeros(dim), jnp.full(dim, float(prior_scale)))
    return SimulationTask(prior, simulate, tuple(f"theta_{i}" for i in range(dim)),
                          None, posterior)
