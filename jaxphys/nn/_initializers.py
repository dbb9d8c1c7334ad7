r"""Weight initialisers, selectable by name.

Each initialiser is a flax/jax-compatible function ``init(key, shape, dtype=float32)``
(the form ``flax.linen.Dense(kernel_init=...)`` expects). For a dense kernel of
shape ``(fan_in, fan_out)`` and a convolution kernel ``(kh, kw, c_in, c_out)``
(receptive field ``r = kh·kw``, fan_in ``= r·c_in``, fan_out ``= r·c_out``) the
entries are i.i.d. with zero mean and variance

=====================================  ==============================  ======================
name (aliases)                         variance                        distribution
=====================================  ==============================  ======================
``glorot_uniform`` (``xavier_uniform``)  :math:`2/(n_{in}+n_{out})`     U(-a, a), a = √(3 var)
``glorot_normal`` (``xavier_normal``)    :math:`2/(n_{in}+n_{out})`     truncated normal (±2σ)
``he_uniform`` (``kaiming_uniform``)     :math:`2/n_{in}`               U(-a, a)
``he_normal`` (``kaiming_normal``)       :math:`2/n_{in}`               truncated normal
``lecun_uniform``                        :math:`1/n_{in}`               U(-a, a)
``lecun_normal``                         :math:`1/n_{in}`               truncated normal
``orthogonal``                           rows or columns orthonormal    Haar (QR of a Gaussian)
``zeros`` / ``ones``                     constant 0 / 1
=====================================  ==============================  ======================

The truncated normals are rescaled (σ divided by 0.8796, the standard
deviation of a unit normal cut at ±2) so the *variance* is the stated one.
Glorot keeps the variance of activations and of back-propagated gradients
roughly constant through tanh/linear layers; He (Kaiming) does so for ReLU,
which zeroes half its inputs; LeCun suits SELU. An ``orthogonal`` matrix of
shape ``(n, m)`` satisfies :math:`Q^\top Q = I_m` for ``n >= m`` (else
:math:`QQ^\top = I_n`), with the leading axes flattened into ``n`` for
higher-rank shapes.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

Initializer = Callable[..., jax.Array]

# Unit-variance rescaling of a standard normal truncated to [-2, 2].
_TRUNC_STD = 0.87962566103423978


def _fans(shape: tuple[int, ...]) -> tuple[float, float]:
    """(fan_in, fan_out): the last two axes are (in, out), leading axes the receptive field."""
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = float(np.prod(shape[:-2])) if len(shape) > 2 else 1.0
    return shape[-2] * receptive, shape[-1] * receptive


def _variance_scaling(scale: float, mode: str, distribution: str) -> Initializer:
    """Zero-mean entries of variance ``scale / fan`` (fan per ``mode``).

    The samples are drawn as a flat vector and reshaped: the same values a
    shaped draw would give in distribution, and much quicker to compile for
    rank-4 convolution kernels on XLA:CPU.
    """

    def init(key: jax.Array, shape: Any, dtype: Any = jnp.float32) -> jax.Array:
        shape = tuple(int(d) for d in shape)
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        var = scale / max(fan, 1.0)
        size = int(np.prod(shape)) if shape else 1
        if distribution == "uniform":
            a = np.sqrt(3.0 * var)
            flat = jax.random.uniform(key, (size,), dtype, -a, a)
        else:
            std = np.sqrt(var) / _TRUNC_STD
            flat = jax.random.truncated_normal(key, -2.0, 2.0, (size,), dtype) * std
        return jnp.reshape(flat, shape).astype(dtype)

    return init


_VS = _variance_scaling


def glorot_uniform() -> Initializer:
    """Glorot/Xavier uniform, variance ``2/(fan_in+fan_out)``.

    Example:
        >>> from jaxphys.nn import glorot_uniform
        >>> w = glorot_uniform()(jax.random.key(0), (300, 100))   # variance 2/400 = 0.005
        >>> round(float(w.var()) / 0.005, 1), bool(jnp.abs(w).max() <= (3 * 0.005) ** 0.5)
        (1.0, True)
    """
    return _VS(1.0, "fan_avg", "uniform")


def glorot_normal() -> Initializer:
    """Glorot/Xavier (truncated) normal, variance ``2/(fan_in+fan_out)``.

    Example:
        >>> from jaxphys.nn import glorot_normal
        >>> w = glorot_normal()(jax.random.key(0), (300, 100))    # variance 2/400 = 0.005
        >>> round(float(w.var()) / 0.005, 1)
        1.0
    """
    return _VS(1.0, "fan_avg", "truncated_normal")


def he_uniform() -> Initializer:
    """He/Kaiming uniform, variance ``2/fan_in``.

    Example:
        >>> from jaxphys.nn import he_uniform
        >>> w = he_uniform()(jax.random.key(0), (300, 100))       # variance 2/300
        >>> round(float(w.var()) * 300 / 2, 1), bool(jnp.abs(w).max() <= (3 * 2 / 300) ** 0.5)
        (1.0, True)
    """
    return _VS(2.0, "fan_in", "uniform")


def he_normal() -> Initializer:
    """He/Kaiming (truncated) normal, variance ``2/fan_in``.

    Example:
        >>> from jaxphys.nn import he_normal
        >>> w = he_normal()(jax.random.key(0), (3, 3, 64, 64))    # conv: fan_in = 3·3·64 = 576
        >>> round(float(w.var()) * 576 / 2, 1)                    # variance 2/576
        1.0
    """
    return _VS(2.0, "fan_in", "truncated_normal")


def lecun_uniform() -> Initializer:
    """LeCun uniform, variance ``1/fan_in``.

    Example:
        >>> from jaxphys.nn import lecun_uniform
        >>> w = lecun_uniform()(jax.random.key(0), (300, 100))    # variance 1/300
        >>> round(float(w.var()) * 300, 1), bool(jnp.abs(w).max() <= (3 / 300) ** 0.5)
        (1.0, True)
    """
    return _VS(1.0, "fan_in", "uniform")


def lecun_normal() -> Initializer:
    """LeCun (truncated) normal, variance ``1/fan_in`` (flax's default kernel init).

    Example:
        >>> from jaxphys.nn import lecun_normal
        >>> w = lecun_normal()(jax.random.key(0), (300, 100))     # variance 1/300
        >>> round(float(w.var()) * 300, 1)
        1.0
    """
    return _VS(1.0, "fan_in", "truncated_normal")


def orthogonal(scale: float = 1.0) -> Initializer:
    """A (scaled) random orthogonal matrix; see the module docstring.

    Example:
        >>> from jaxphys.nn import orthogonal
        >>> q = orthogonal()(jax.random.key(0), (4, 3))           # orthonormal columns
        >>> bool(jnp.allclose(q.T @ q, jnp.eye(3), atol=1e-5))
        True
        >>> r = orthogonal(2.0)(jax.random.key(1), (3, 4))        # wide: rows, scaled by 2
        >>> bool(jnp.allclose(r @ r.T, 4.0 * jnp.eye(3), atol=1e-4))
        True
    """

    def init(key: jax.Array, shape: Any, dtype: Any = jnp.float32) -> jax.Array:
        shape = tuple(int(d) for d in shape)
        if len(shape) < 2:
            raise ValueError(f"shape: orthogonal initialisation needs rank >= 2, got {shape}")
        n_rows, n_cols = int(np.prod(shape[:-1])), shape[-1]
        big, small = max(n_rows, n_cols), min(n_rows, n_cols)
        a = jnp.reshape(jax.random.normal(key, (big * small,), jnp.float32), (big, small))
        q, r = jnp.linalg.qr(a)
        # sign fix: makes Q Haar-distributed (uniform over the orthogonal group)
        q = q * jnp.sign(jnp.diagonal(r))[None, :]
        if n_rows < n_cols:
            q = q.T
        return (scale * jnp.reshape(q, shape)).astype(dtype)

    return init


def _zeros(key: jax.Array, shape: Any, dtype: Any = jnp.float32) -> jax.Array:
    del key
    return jnp.zeros(shape, dtype)


def _ones(key: jax.Array, shape: Any, dtype: Any = jnp.float32) -> jax.Array:
    del key
    return jnp.ones(shape, dtype)


def zeros() -> Initializer:
    """All zeros (biases).

    Example:
        >>> from jaxphys.nn import zeros
        >>> zeros()(jax.random.key(0), (2, 3)).tolist()           # the key is ignored
        [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    return _zeros


def ones() -> Initializer:
    """All ones (normalisation scales).

    Example:
        >>> from jaxphys.nn import ones
        >>> ones()(jax.random.key(0), (3,)).tolist()              # the key is ignored
        [1.0, 1.0, 1.0]
    """
    return _ones


_FACTORIES: dict[str, Callable[[], Initializer]] = {
    "glorot_uniform": glorot_uniform, "xavier_uniform": glorot_uniform,
    "glorot_normal": glorot_normal, "xavier_normal": glorot_normal,
    "he_uniform": he_uniform, "kaiming_uniform": he_uniform,
    "he_normal": he_normal, "kaiming_normal": he_normal,
    "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal,
    "orthogonal": orthogonal, "zeros": zeros, "ones": ones,
}


def initializer_names() -> list[str]:
    """The names :func:`get_initializer` knows (aliases included), sorted.

    >>> initializer_names()[:3]
    ['glorot_normal', 'glorot_uniform', 'he_normal']
    """
    return sorted(_FACTORIES)


def get_initializer(init: str | Initializer) -> Initializer:
    """An initialiser ``init(key, shape, dtype)`` by name, or the callable itself.

    Names are case-insensitive, ``'-'`` and ``'_'`` interchangeable.

    Raises:
        ValueError: for an unknown name, listing the known ones.
        TypeError: for something that is neither a string nor a callable.

    Example:
        >>> w = get_initializer("he_normal")(jax.random.key(0), (256, 128))
        >>> w.shape, w.dtype
        ((256, 128), dtype('float32'))
    """
    if callable(init):
        return init
    if not isinstance(init, str):
        raise TypeError(f"init: expected an initializer name or a callable, got "
                        f"{type(init).__name__}")
    name = init.strip().lower().replace("-", "_")
    if name not in _FACTORIES:
        raise ValueError(f"init: unknown initializer {init!r}; known: "
                         + ", ".join(initializer_names()))
    return _FACTORIES[name]()
