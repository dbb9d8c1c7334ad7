"""jaxphys.physics.simulators: simulators with priors, for simulation-based inference.

A task is a :class:`SimulationTask`: a distrax prior over θ and a per-example
``simulate(key, theta) -> x``; :func:`simulate_batch` draws ``(θ, x)`` pairs to train
neural posterior estimation (:mod:`jaxphys.generative`'s NPE) on.

* :func:`damped_oscillator` — noisy displacement of a damped oscillator, θ = (ω₀, γ)
  (:func:`oscillator_signal` is the noise-free curve);
* :func:`gw_chirp` — a Newtonian gravitational-wave chirp in white noise
  (:func:`chirp_signal`, :data:`T_SUN`);
* :func:`gaussian_linear` — the Gaussian linear benchmark, whose posterior is known in
  closed form (for calibration checks).

Why here and not beside NPE: these are physical models with physical units, written
like the rest of :mod:`jaxphys.physics`, and nothing in them depends on the inference
method; NPE, flows and the calibration tests in :mod:`jaxphys.generative` take any
:class:`SimulationTask` and stay free of physics (physics sits above generative:
:mod:`jaxphys.physics.gw` builds on its flows), so an inference method can be tried on
a simulator without the one importing the other.

Example:
    >>> import jax
    >>> from jaxphys.physics.simulators import damped_oscillator, simulate_batch
    >>> theta, x = simulate_batch(jax.random.key(0), damped_oscillator(), 5)
    >>> theta.shape[0], x.shape[0]
    (5, 5)
"""

from ._simulators import (T_SUN, SimulationTask, chirp_signal, damped_oscillator,
                          gaussian_linear, gw_chirp, oscillator_signal, simulate_batch)

__all__ = ["SimulationTask", "simulate_batch", "damped_oscillator", "oscillator_signal",
           "gw_chirp", "chirp_signal", "gaussian_linear", "T_SUN"]
