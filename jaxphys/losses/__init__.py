"""Per-example losses (regression, classification, density) and a reduction helper.

Every loss takes **one example** and returns a scalar; batch with ``jax.vmap``
at the call site and combine with :func:`reduce`::

    per_example = jax.vmap(mse)(pred_batch, target_batch)   # (n,)
    loss = reduce(per_example)                              # scalar

Predictions and targets must have identical shapes (no broadcasting; a
mismatch raises ``ValueError`` naming the argument). Classification losses
work on logits and are stable for arbitrarily large logits.
"""

from ._classification import (binary_cross_entropy, softmax_cross_entropy,
                              softmax_cross_entropy_onehot)
from ._density import kl_normal
from ._reduce import reduce
from ._regression import chi2, gaussian_nll, huber, mae, mse

__all__ = [
    "mse",
    "mae",
    "huber",
    "chi2",
    "gaussian_nll",
    "binary_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_onehot",
    "kl_normal",
    "reduce",
]
