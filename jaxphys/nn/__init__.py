"""jaxphys.nn: neural-network layers and architectures (flax.linen modules)."""

from ._mlp import MLP, get_activation

__all__ = ["MLP", "get_activation"]
