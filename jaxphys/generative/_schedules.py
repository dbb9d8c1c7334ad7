r"""Noise schedules for denoising diffusion (DDPM, Ho et al. 2020).

The forward process adds Gaussian noise in ``T`` steps,
``q(x_t | x_{t-1}) = N(sqrt(1-β_t) x_{t-1}, β_t I)``, so that in closed form

.. math:: x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\varepsilon,\qquad
          \bar\alpha_t = \prod_{s=1}^{t} (1-\beta_s),\quad \varepsilon \sim N(0, I).

Time steps are indexed ``t = 0 … T-1`` in arrays (``betas[0]`` is β₁).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_int

__all__ = ["NoiseSchedule", "linear_schedule", "cosine_schedule", "make_schedule",
           "NOISE_SCHEDULES"]

NOISE_SCHEDULES = ("linear", "cosine")


class NoiseSchedule(NamedTuple):
    """A DDPM noise schedule; every field is float32 of shape ``(T,)``.

    Fields:
      betas: β_t, the variance added at step t (0 < β_t < 1).
      alphas: α_t = 1 - β_t.
      alpha_bars: ᾱ_t = ∏_{s≤t} α_s, the signal fraction of x_t (decreasing).
      posterior_variance: β̃_t = β_t (1-ᾱ_{t-1})/(1-ᾱ_t), the variance of
        q(x_{t-1} | x_t, x_0), with ᾱ_{-1} = 1 so that β̃_0 = 0 (no noise is added
        at the last sampling step).

    Example:
        >>> from jaxphys.generative import NoiseSchedule
        >>> s = NoiseSchedule.from_betas([0.1, 0.2])
        >>> s.n_steps, [round(float(a), 4) for a in s.alpha_bars]     # 0.9, 0.9·0.8
        (2, [0.9, 0.72])
        >>> [round(float(v), 4) for v in s.posterior_variance]   # 0, 0.2·(1 - 0.9)/(1 - 0.72)
        [0.0, 0.0714]
    """

    betas: jax.Array
    alphas: jax.Array
    alpha_bars: jax.Array
    posterior_variance: jax.Array

    @property
    def n_steps(self) -> int:
        """T, the number of diffusion steps."""
        return int(self.betas.shape[0])

    @classmethod
    def from_betas(cls, betas) -> "NoiseSchedule":
        """Build a schedule from β_t, checking ``0 < β_t < 1`` and finiteness.

        Example:
            >>> s = NoiseSchedule.from_betas([0.1, 0.2])
            >>> [round(float(a), 3) for a in s.alpha_bars]
            [0.9, 0.72]
        """
        b = np.asarray(betas, dtype=np.float64)
        if b.ndim != 1 or b.size < 1:
            raise ValueError(f"betas: expected a non-empty 1-D array, got shape {b.shape}")
        if not np.all(np.isfinite(b)):
            raise ValueError("betas: expected finite values, found NaN or infinity")
        if not (np.all(b > 0) and np.all(b < 1)):
            raise ValueError(f"betas: every β_t must lie in (0, 1), got min {b.min():.4g} "
                             f"and max {b.max():.4g}")
        alphas = 1.0 - b
        abar = np.cumprod(alphas)
        abar_prev = np.concatenate([[1.0], abar[:-1]])
        post = b * (1.0 - abar_prev) / (1.0 - abar)
        f = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
        return cls(f(b), f(alphas), f(abar), f(post))


def linear_schedule(n_steps: int = 1000, beta_start: float = 1e-4,
                    beta_end: float = 0.02) -> NoiseSchedule:
    """β_t linear from ``beta_start`` to ``beta_end`` (Ho et al. 2020).

    Ho et al. use ``T = 1000``, 1e-4 … 0.02; for a shorter chain keep the product
    ``T·β`` comparable (e.g. ``T = 200`` with ``beta_end = 0.1``).

    Example:
        >>> s = linear_schedule(10, 0.01, 0.1)
        >>> s.n_steps, round(float(s.betas[-1]), 3)
        (10, 0.1)
    """
    n = as_int(n_steps, "n_steps", minimum=1)
    for name, v in (("beta_start", beta_start), ("beta_end", beta_end)):
        if not (np.isfinite(v) and 0 < v < 1):
            raise ValueError(f"{name}: expected a value in (0, 1), got {v!r}")
    if beta_end < beta_start:
        raise ValueError(f"beta_end: expected >= beta_start = {beta_start}, got {beta_end}")
    return NoiseSchedule.from_betas(np.linspace(beta_start, beta_end, n))


def cosine_schedule(n_steps: int = 1000, s: float = 0.008,
                    max_beta: float = 0.999) -> NoiseSchedule:
    r"""The cosine schedule of Nichol & Dhariwal (2021):
    ``ᾱ(t) = f(t)/f(0)``, ``f(t) = cos²(((t/T) + s)/(1 + s) · π/2)``,
    ``β_t = min(1 - ᾱ_t/ᾱ_{t-1}, max_beta)``.

    Example:
        >>> s = cosine_schedule(100)
        >>> float(s.alpha_bars[0]) > 0.99, float(s.alpha_bars[-1]) < 1e-3
        (True, True)
    """
    n = as_int(n_steps, "n_steps", minimum=1)
    if not (np.isfinite(s) and s > 0):
        raise ValueError(f"s: expected a positive offset, got {s!r}")
    if not (np.isfinite(max_beta) and 0 < max_beta < 1):
        raise ValueError(f"max_beta: expected a value in (0, 1), got {max_beta!r}")
    t = np.arange(n + 1, dtype=np.float64) / n
    f = np.cos((t + s) / (1 + s) * np.pi / 2) ** 2
    abar = f / f[0]
    betas = np.clip(1.0 - abar[1:] / abar[:-1], 1e-8, max_beta)
    return NoiseSchedule.from_betas(betas)


def make_schedule(kind: str, n_steps: int = 1000, **kwargs) -> NoiseSchedule:
    """A schedule by name: ``'linear'`` or ``'cosine'`` (keyword arguments go to
    :func:`linear_schedule` / :func:`cosine_schedule`).

    Example:
        >>> make_schedule("cosine", 50).n_steps
        50
        >>> make_schedule("quadratic", 50)
        Traceback (most recent call last):
        ...
        ValueError: kind: unknown noise schedule 'quadratic'; expected one of 'linear', 'cosine'
    """
    if kind not in NOISE_SCHEDULES:
        raise ValueError(f"kind: unknown noise schedule {kind!r}; expected one of "
                         + ", ".join(repr(k) for k in NOISE_SCHEDULES))
    return (linear_schedule if kind == "linear" else cosine_schedule)(n_steps, **kwargs)
