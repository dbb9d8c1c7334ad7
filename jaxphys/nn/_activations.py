r"""Activation functions, selectable by name.

Element-wise (applied to every entry of an array of any shape):

=============  ==============================================================
name           definition
=============  ==============================================================
``sigmoid``    :math:`\sigma(x) = 1 / (1 + e^{-x})`
``tanh``       :math:`\tanh x`
``relu``       :math:`\max(0, x)`
``leaky_relu`` :math:`x` for :math:`x \ge 0`, :math:`\alpha x` otherwise (α = 0.01)
``elu``        :math:`x` for :math:`x > 0`, :math:`\alpha (e^x - 1)` otherwise (α = 1)
``selu``       :math:`\lambda\,\mathrm{elu}_\alpha(x)`, λ ≈ 1.0507, α ≈ 1.6733
``gelu``       :math:`x\,\Phi(x)` (tanh approximation, as in flax/jax defaults)
``gelu_exact`` :math:`x\,\Phi(x) = \tfrac{x}{2}(1 + \mathrm{erf}(x/\sqrt2))`
``silu``       :math:`x\,\sigma(x)` (also called swish)
``softplus``   :math:`\log(1 + e^x)`
``identity``   :math:`x`
=============  ==============================================================

Along the last axis (``(..., C) -> (..., C)``):

* ``softmax``: :math:`e^{x_i} / \sum_j e^{x_j}` (computed stably, max subtracted);
* ``log_softmax``: :math:`x_i - \log \sum_j e^{x_j}`.

Use :func:`get_activation` to turn a name (or a callable, returned unchanged)
into the function; every layer in :mod:`jaxphys.nn` that takes an
``activation`` argument accepts both.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

Activation = Callable[[jax.Array], jax.Array]


def sigmoid(x: jax.Array) -> jax.Array:
    r"""Logistic sigmoid :math:`1/(1+e^{-x})`, element-wise.

    >>> sigmoid(jnp.array([0.0])).tolist()
    [0.5]
    """
    return jax.nn.sigmoid(x)


def tanh(x: jax.Array) -> jax.Array:
    r"""Hyperbolic tangent, element-wise.

    >>> tanh(jnp.array([0.0])).tolist()
    [0.0]
    """
    return jnp.tanh(x)


# ``relu`` is jax.nn.relu itself (also flax.linen.relu), so that ``get_activation('relu')``
# returns the very function flax users compare against.
relu = jax.nn.relu


def leaky_relu(x: jax.Array, negative_slope: float = 0.01) -> jax.Array:
    r"""Leaky ReLU: :math:`x` if :math:`x \ge 0`, else ``negative_slope`` · x.

    >>> leaky_relu(jnp.array([-1.0, 2.0])).tolist()
    [-0.01, 2.0]
    """
    return jnp.where(x >= 0, x, negative_slope * x)


def elu(x: jax.Array, alpha: float = 1.0) -> jax.Array:
    r"""Exponential linear unit: :math:`x` if :math:`x > 0`, else :math:`\alpha(e^x - 1)`.

    >>> round(float(elu(jnp.array(-1.0))), 4)
    -0.6321
    """
    return jax.nn.elu(x, alpha)


def selu(x: jax.Array) -> jax.Array:
    r"""Scaled ELU :math:`\lambda\,\mathrm{elu}_\alpha(x)` with the self-normalising constants
    λ = 1.0507009873554805, α = 1.6732632423543772 (Klambauer et al. 2017).

    >>> round(float(selu(jnp.array(1.0))), 4)
    1.0507
    """
    return jax.nn.selu(x)


def gelu(x: jax.Array) -> jax.Array:
    r"""Gaussian error linear unit, tanh approximation
    :math:`\tfrac{x}{2}\bigl(1+\tanh[\sqrt{2/\pi}(x + 0.044715x^3)]\bigr)`.

    >>> round(float(gelu(jnp.array(1.0))), 4)
    0.8412
    """
    return jax.nn.gelu(x, approximate=True)


def gelu_exact(x: jax.Array) -> jax.Array:
    r"""Exact GELU :math:`x\,\Phi(x) = \tfrac{x}{2}(1 + \mathrm{erf}(x/\sqrt 2))`.

    >>> round(float(gelu_exact(jnp.array(1.0))), 4)
    0.8413
    """
    return jax.nn.gelu(x, approximate=False)


def silu(x: jax.Array) -> jax.Array:
    r"""Sigmoid linear unit (swish) :math:`x\,\sigma(x)`.

    >>> round(float(silu(jnp.array(1.0))), 4)
    0.7311
    """
    return jax.nn.silu(x)


def softplus(x: jax.Array) -> jax.Array:
    r"""Softplus :math:`\log(1+e^x)` (stable for large |x|).

    >>> round(float(softplus(jnp.array(0.0))), 4)
    0.6931
    """
    return jax.nn.softplus(x)


def identity(x: jax.Array) -> jax.Array:
    """The identity (a linear output layer)."""
    return x


def softmax(x: jax.Array) -> jax.Array:
    r"""Softmax along the last axis, :math:`e^{x_i - m}/\sum_j e^{x_j - m}` with
    :math:`m = \max_j x_j`. Shape ``(..., C) -> (..., C)``; rows sum to 1.

    >>> [round(v, 4) for v in softmax(jnp.array([0.0, jnp.log(3.0)])).tolist()]
    [0.25, 0.75]
    """
    return jax.nn.softmax(x, axis=-1)


def log_softmax(x: jax.Array) -> jax.Array:
    r"""Log-softmax along the last axis, :math:`x_i - \log\sum_j e^{x_j}` (stable).
    Shape ``(..., C) -> (..., C)``.

    >>> [round(v, 4) for v in log_softmax(jnp.array([0.0, 0.0])).tolist()]
    [-0.6931, -0.6931]
    """
    return jax.nn.log_softmax(x, axis=-1)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "gelu_exact": gelu_exact,
    "silu": silu,
    "swish": silu,
    "softplus": softplus,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "identity": identity,
    "linear": identity,
}


def activation_names() -> list[str]:
    """The names :func:`get_activation` knows, sorted.

    >>> activation_names()[:3]
    ['elu', 'gelu', 'gelu_exact']
    """
    return sorted(ACTIVATIONS)


def get_activation(activation: str | Callable) -> Activation:
    """An activation function by name, or the callable itself.

    Names are case-insensitive; ``'-'`` and ``'_'`` are interchangeable
    (``'Leaky-ReLU'`` → ``leaky_relu``). See the module docstring for the table.

    Raises:
        ValueError: for an unknown name, listing the known ones.
        TypeError: for something that is neither a string nor a callable.

    Example:
        >>> get_activation("relu")(jnp.array([-2.0, 3.0])).tolist()
        [0.0, 3.0]
    """
    if callable(activation):
        return activation
    if not isinstance(activation, str):
        raise TypeError(f"activation: expected a name or a callable, got "
                        f"{type(activation).__name__}")
    name = activation.strip().lower().replace("-", "_")
    if name not in ACTIVATIONS:
        raise ValueError(f"activation: unknown name {activation!r}; known: "
                         + ", ".join(activation_names()))
    return ACTIVATIONS[name]
