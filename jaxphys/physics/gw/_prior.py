"""The prior of the gravitational-wave problem over ``θ = (𝓜 [M_⊙], q, D_L [Mpc], t_c [s])``
(:data:`PARAMETER_NAMES`), a distrax distribution with its support checks.
"""

from __future__ import annotations

import distrax
import jax
import jax.numpy as jnp
import numpy as np

from ..._checks import is_concrete

__all__ = ["PARAMETER_NAMES", "GWPrior"]


#: Names of the inferred parameters, in order.
PARAMETER_NAMES = ("chirp_mass", "mass_ratio", "luminosity_distance", "coalescence_time")


class GWPrior(distrax.Distribution):
    r"""Prior over ``θ = (𝓜, q, D_L, t_c)``, event shape (4,): uniform in chirp mass
    (M_⊙), mass ratio ``q = m₂/m₁`` and coalescence time (s, relative to the trigger), and
    uniform in Euclidean volume in distance, ``p(D_L) = 3D_L²/(D_max³ - D_min³)`` (Mpc).

    Each argument is a ``(low, high)`` pair. A distrax distribution: ``sample(seed=key,
    sample_shape=n)``, ``log_prob(theta)`` (``-inf`` outside the support); :meth:`check`
    raises on concrete values outside it, naming the parameter.

    Example:
        >>> import jax
        >>> from jaxphys.physics.gw import GWPrior
        >>> prior = GWPrior()
        >>> theta = prior.sample(seed=jax.random.key(0), sample_shape=3)
        >>> theta.shape, prior.log_prob(theta).shape
        ((3, 4), (3,))
    """

    def __init__(self, chirp_mass=(25.0, 40.0), mass_ratio=(0.25, 1.0),
                 luminosity_distance=(400.0, 3000.0), coalescence_time=(-0.05, 0.05)):
        super().__init__()
        bounds = {}
        for name, pair in zip(PARAMETER_NAMES, (chirp_mass, mass_ratio, luminosity_distance,
                                                coalescence_time)):
            try:
                lo, hi = (float(v) for v in pair)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: expected a (low, high) pair of numbers, got "
                                 f"{pair!r}") from None
            if not lo < hi:
                raise ValueError(f"{name}: expected low < high, got ({lo}, {hi})")
            bounds[name] = (lo, hi)
        if bounds["chirp_mass"][0] <= 0:
            raise ValueError(f"chirp_mass: expected a positive lower bound, got "
                             f"{bounds['chirp_mass'][0]}")
        if bounds["mass_ratio"][0] <= 0 or bounds["mass_ratio"][1] > 1:
            raise ValueError(f"mass_ratio: expected bounds inside (0, 1], got "
                             f"{bounds['mass_ratio']}")
        if bounds["luminosity_distance"][0] <= 0:
            raise ValueError(f"luminosity_distance: expected a positive lower bound, got "
                             f"{bounds['luminosity_distance'][0]}")
        self.bounds = bounds
        self.names = PARAMETER_NAMES

    @property
    def event_shape(self):
        return (4,)

    @property
    def low(self) -> np.ndarray:
        """(4,) lower bounds."""
        return np.array([self.bounds[n][0] for n in PARAMETER_NAMES])

    @property
    def high(self) -> np.ndarray:
        """(4,) upper bounds."""
        return np.array([self.bounds[n][1] for n in PARAMETER_NAMES])

    def _sample_n(self, key, n):
        u = jax.random.uniform(key, (n, 4))
        lo, hi = jnp.asarray(self.low, u.dtype), jnp.asarray(self.high, u.dtype)
        linear = lo[None] + u * (hi - lo)[None]
        d_lo, d_hi = self.bounds["luminosity_distance"]
        distance = (d_lo ** 3 + u[:, 2] * (d_hi ** 3 - d_lo ** 3)) ** (1.0 / 3.0)
        return linear.at[:, 2].set(distance.astype(u.dtype))

    def log_prob(self, value):
        value = jnp.asarray(value)
        lo = jnp.broadcast_to(jnp.asarray(self.low, value.dtype), value.shape)
        hi = jnp.broadcast_to(jnp.asarray(self.high, value.dtype), value.shape)
        inside = jnp.all((value >= lo) & (value <= hi), axis=-1)
        d_lo, d_hi = self.bounds["luminosity_distance"]
        widths = self.high - self.low
        const = -np.log(widths[0]) - np.log(widths[1]) - np.log(widths[3])
        const += np.log(3.0 / (d_hi ** 3 - d_lo ** 3))
        density = const + 2.0 * jnp.log(jnp.abs(value[..., 2]))
        return jnp.where(inside, density, -jnp.inf)

    def check(self, theta, name: str = "theta") -> None:
        """Raise ``ValueError`` naming the parameter if a concrete ``theta`` (..., 4) lies
        outside the support."""
        if not is_concrete(theta):
            return
        arr = np.asarray(theta, np.float64)
        if arr.ndim < 1 or arr.shape[-1] != 4:
            raise ValueError(f"{name}: expected shape (..., 4) for {PARAMETER_NAMES}, got "
                             f"{arr.shape}")
        for i, param in enumerate(PARAMETER_NAMES):
            lo, hi = self.bounds[param]
            col = arr[..., i]
            if not np.all(np.isfinite(col)) or np.any(col < lo) or np.any(col > hi):
                bad = col[~((col >= lo) & (col <= hi))].ravel()[0]
                raise ValueError(f"{name}: {param} must lie in the prior's support "
                                 f"[{lo}, {hi}], got {bad!r}")
