"""Multilayer perceptron."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu, "tanh": jnp.tanh, "sigmoid": nn.sigmoid, "gelu": nn.gelu,
    "silu": nn.silu, "elu": nn.elu, "selu": nn.selu, "leaky_relu": nn.leaky_relu,
    "softplus": nn.softplus, "identity": lambda x: x,
}


def get_activation(activation: str | Callable) -> Callable[[jax.Array], jax.Array]:
    """An activation function by name (or the callable itself).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if callable(activation):
        return activation
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation: unknown name {activation!r}; known: "
                         + ", ".join(sorted(_ACTIVATIONS)))
    return _ACTIVATIONS[activation]


class MLP(nn.Module):
    """Fully connected network ``x → σ(W₁x+b₁) → … → W_L h + b_L``.

    Attributes:
        widths: output widths of the layers; the last is the output size,
            e.g. ``(512, 512, 10)``.
        activation: a name (``'relu'``, ``'tanh'``, ``'gelu'``, …) or a callable,
            applied after every layer but the last.

    Input shape ``(..., d_in)``, output ``(..., widths[-1])``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP(widths=(16, 3))
        >>> params = mlp.init(jax.random.key(0), jnp.ones((5, 4)))
        >>> mlp.apply(params, jnp.ones((5, 4))).shape
        (5, 3)
    """

    widths: Sequence[int]
    activation: str | Callable = "relu"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if len(self.widths) == 0:
            raise ValueError("widths: expected at least one layer width, got ()")
        if jnp.ndim(x) < 1:
            raise ValueError(f"x: expected shape (..., d_in), got a scalar")
        act = get_activation(self.activation)
        for i, w in enumerate(self.widths):
            x = nn.Dense(int(w), name=f"dense_{i}")(x)
            if i < len(self.widths) - 1:
                x = act(x)
        return x
