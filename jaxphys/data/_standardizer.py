"""Feature standardisation (z-scores) with an exact inverse."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_array, check_finite


def _expand(stat: jax.Array, x: jax.Array) -> jax.Array:
    """Reshape a per-feature statistic to broadcast against ``x`` explicitly."""
    return jnp.reshape(stat, (1,) * (x.ndim - stat.ndim) + stat.shape)


class Standardizer(NamedTuple):
    r"""Per-feature affine standardisation :math:`z = (x - \mu) / s`.

    Fit on training data only, then apply the same transform to validation
    and test data. It is a NamedTuple, hence a pytree: it can be passed
    through ``jit`` and saved in a checkpoint.

    Fields:
        mean: μ, shape ``(d,)`` (``()`` if fitted on a vector), in the units of x.
        scale: s, the population standard deviation (ddof = 0) of each
            feature, same shape as ``mean``. A **constant feature** (all
            values equal, zero variance) gets ``scale = 1`` and ``mean`` = its
            value, so it maps to exactly 0 instead of dividing by zero.

    Example:
        >>> x = jnp.array([[1.0, 5.0], [3.0, 5.0]])
        >>> std = Standardizer.fit(x)
        >>> std.transform(x).tolist()
        [[-1.0, 0.0], [1.0, 0.0]]
        >>> std.inverse(std.transform(x)).tolist()
        [[1.0, 5.0], [3.0, 5.0]]
    """

    mean: jax.Array
    scale: jax.Array

    @classmethod
    def fit(cls, x: Any) -> "Standardizer":
        r"""Estimate :math:`\mu_j = \bar x_j` and :math:`s_j = \sqrt{\overline{(x_j-\bar x_j)^2}}`.

        Args:
            x: data, shape ``(n, d)`` (n examples, d features) or ``(n,)``,
                n >= 1, finite.

        Returns:
            A fitted :class:`Standardizer`; zero-variance features get scale 1.

        Example:
            >>> std = Standardizer.fit(jnp.array([[0.0, 2.0], [2.0, 2.0]]))
            >>> std.mean.tolist(), std.scale.tolist()
            ([1.0, 2.0], [1.0, 1.0])
        """
        x = as_array(x, "x", ndim=(1, 2))
        if x.shape[0] == 0:
            raise ValueError("x: expected at least one example, got shape "
                             f"{tuple(x.shape)}")
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        check_finite(x, "x")
        mean, scale = _fit(x)
        return cls(mean=mean, scale=scale)

    def _check(self, x: Any, name: str) -> jax.Array:
        x = as_array(x, name)
        if not jnp.issubdtype(x.dtype, jnp.inexact):
            x = x.astype(jnp.result_type(float))
        feat = tuple(jnp.shape(self.mean))
        if x.ndim < len(feat) or tuple(x.shape[x.ndim - len(feat):]) != feat:
            want = "(..., " + ", ".join(map(str, feat)) + ")" if feat else "any shape"
            raise ValueError(f"{name}: expected shape {want} (the features the Standardizer "
                             f"was fitted on), got {tuple(x.shape)}")
        return x

    def transform(self, x: Any) -> jax.Array:
        r""":math:`z = (x - \mu)/s`; ``x`` of shape ``(..., d)``, returns the same shape.

        Example:
            >>> Standardizer(mean=jnp.array([1.0]), scale=jnp.array([2.0])).transform(
            ...     jnp.array([[5.0]])).tolist()
            [[2.0]]
        """
        x = self._check(x, "x")
        return _transform(x, self.mean, self.scale)

    def inverse(self, z: Any) -> jax.Array:
        r""":math:`x = z\,s + \mu`, undoing :meth:`transform`; ``z`` of shape ``(..., d)``.

        Example:
            >>> Standardizer(mean=jnp.array([1.0]), scale=jnp.array([2.0])).inverse(
            ...     jnp.array([[2.0]])).tolist()
            [[5.0]]
        """
        z = self._check(z, "z")
        return _inverse(z, self.mean, self.scale)


@jax.jit
def _fit(x):
    constant = jnp.max(x, axis=0) == jnp.min(x, axis=0)
    mean = jnp.where(constant, x[0], jnp.mean(x, axis=0))
    std = jnp.sqrt(jnp.mean(jnp.square(x - _expand(mean, x)), axis=0))
    scale = jnp.where(constant | (std == 0), 1.0, std).astype(x.dtype)
    return mean, scale


@jax.jit
def _transform(x, mean, scale):
    return (x - _expand(mean, x)) / _expand(scale, x)


@jax.jit
def _inverse(z, mean, scale):
    return z * _expand(scale, z) + _expand(mean, z)
