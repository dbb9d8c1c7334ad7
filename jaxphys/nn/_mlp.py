"""Multilayer perceptron with initialiser, dropout and normalisation options."""

from __future__ import annotations

from typing import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ._activations import get_activation
from ._initializers import get_initializer

__all__ = ["MLP", "get_activation", "Normalization", "NORMS"]

NORMS = (None, "batch", "layer")


class Normalization(nn.Module):
    """Batch or layer normalisation selected by name (``None`` is the identity).

    * ``'batch'``: :math:`\\hat x = (x - \\mu_B)/\\sqrt{\\sigma_B^2 + \\epsilon}\\,\\gamma + \\beta`
      with the mean and variance over every axis but the last (the batch, and the
      spatial axes of an image). In train mode it normalises with the batch's
      statistics and updates running averages
      ``m ← momentum·m + (1-momentum)·μ_B`` in the ``'batch_stats'`` collection
      (apply with ``mutable=['batch_stats']``); in eval mode it uses the running
      averages, so outputs do not depend on the rest of the batch.
    * ``'layer'``: the same with mean and variance over the features of each
      example (no state, identical in train and eval mode).

    Attributes:
        kind: ``None``, ``'batch'`` or ``'layer'``.
        momentum: running-average momentum of batch norm.
        epsilon: added to the variance.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import Normalization
        >>> x = jnp.array([[1.0, 2.0, 3.0]])            # mean 2, variance 2/3 over features
        >>> y, _ = Normalization("layer").init_with_output(jax.random.key(0), x)
        >>> [round(float(v), 3) for v in y[0]]           # (x - 2)/√(2/3)
        [-1.225, 0.0, 1.225]
        >>> bn = Normalization("batch")
        >>> batch = jnp.array([[0.0], [2.0]])             # batch mean 1, variance 1
        >>> variables = bn.init(jax.random.key(1), batch)
        >>> y, new = bn.apply(variables, batch, train=True, mutable=["batch_stats"])
        >>> [round(float(v), 3) for v in y[:, 0]]          # (x - 1)/1
        [-1.0, 1.0]
        >>> round(float(new["batch_stats"]["batch_norm"]["mean"][0]), 4)   # 0.9·0 + 0.1·1
        0.1
    """

    kind: str | None = None
    momentum: float = 0.9
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        if self.kind is None:
            return x
        if self.kind == "batch":
            return nn.BatchNorm(use_running_average=not train, momentum=self.momentum,
                                epsilon=self.epsilon, name="batch_norm")(x)
        if self.kind == "layer":
            return nn.LayerNorm(epsilon=self.epsilon, name="layer_norm")(x)
        raise ValueError(f"norm: unknown value {self.kind!r}; expected one of "
                         + ", ".join(repr(k) for k in NORMS))


class MLP(nn.Module):
    r"""Fully connected network ``x → σ(N(W₁x+b₁)) → … → W_L h + b_L``.

    Each hidden layer is Dense → normalisation (optional) → activation → dropout
    (optional); the last layer is Dense only (logits or a regression output).

    Attributes:
        widths: output widths of the layers; the last is the output size,
            e.g. ``(512, 512, 10)``.
        activation: a name (``'relu'``, ``'tanh'``, ``'gelu'``, … see
            :func:`jaxphys.nn.get_activation`) or a callable, applied after every
            layer but the last.
        kernel_init: weight initialiser, a name (``'lecun_normal'`` – flax's
            default –, ``'he_normal'``, ``'glorot_uniform'``, ``'orthogonal'``, … see
            :func:`jaxphys.nn.get_initializer`) or an ``init(key, shape, dtype)``.
        bias_init: bias initialiser (default ``'zeros'``).
        dropout: dropout rate in [0, 1) after every hidden activation. In train
            mode each unit is zeroed with this probability and the survivors are
            scaled by ``1/(1-rate)`` (inverted dropout, so eval needs no rescaling);
            needs a ``'dropout'`` rng: ``apply(..., train=True, rngs={'dropout': key})``.
            In eval mode (``train=False``, the default) dropout is the identity.
        norm: ``None`` (default), ``'batch'`` or ``'layer'`` normalisation before each
            hidden activation (see :class:`Normalization`). Batch norm keeps running
            statistics in the ``'batch_stats'`` collection; train mode updates them
            (``apply(..., train=True, mutable=['batch_stats'])`` returns
            ``(y, {'batch_stats': new})``), eval mode uses them.
        momentum: batch-norm running-average momentum.

    Call: ``__call__(x, train=False)``; input shape ``(..., d_in)``, output
    ``(..., widths[-1])``. With batch norm the leading axes form the batch.

    Training with batch norm through :func:`jaxphys.core.fit`: start from
    ``TrainState.from_variables(variables, opt)`` (``model_state`` holds
    ``batch_stats``). The loss then receives the flax variables dict and returns a
    :class:`jaxphys.core.LossAux` with the updated statistics:
    ``loss_fn(variables, batch, key)`` computes ``y, new = mlp.apply(variables, x,
    train=True, rngs={'dropout': key}, mutable=['batch_stats'])`` and returns
    ``(loss, LossAux(metrics, new))``; gradients flow into ``variables['params']``
    only. Evaluate with ``mlp.apply(state.variables, x)`` (eval mode).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP(widths=(16, 3))
        >>> params = mlp.init(jax.random.key(0), jnp.ones((5, 4)))
        >>> mlp.apply(params, jnp.ones((5, 4))).shape
        (5, 3)
        >>> reg = MLP(widths=(32, 32, 10), kernel_init="he_normal", dropout=0.2, norm="batch")
        >>> variables = reg.init(jax.random.key(1), jnp.ones((8, 4)))
        >>> sorted(variables)
        ['batch_stats', 'params']
        >>> y, updates = reg.apply(variables, jnp.ones((8, 4)), train=True,
        ...                        rngs={"dropout": jax.random.key(2)}, mutable=["batch_stats"])
        >>> y.shape, sorted(updates)
        ((8, 10), ['batch_stats'])
    """

    widths: Sequence[int]
    activation: str | Callable = "relu"
    kernel_init: str | Callable = "lecun_normal"
    bias_init: str | Callable = "zeros"
    dropout: float = 0.0
    norm: str | None = None
    momentum: float = 0.9

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        if len(self.widths) == 0:
            raise ValueError("widths: expected at least one layer width, got ()")
        if jnp.ndim(x) < 1:
            raise ValueError("x: expected shape (..., d_in), got a scalar")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout: expected a rate in [0, 1), got {self.dropout!r}")
        if self.norm not in NORMS:
            raise ValueError(f"norm: unknown value {self.norm!r}; expected one of "
                             + ", ".join(repr(k) for k in NORMS))
        act = get_activation(self.activation)
        kinit = get_initializer(self.kernel_init)
        binit = get_initializer(self.bias_init)
        n = len(self.widths)
        for i, w in enumerate(self.widths):
            x = nn.Dense(int(w), kernel_init=kinit, bias_init=binit, name=f"dense_{i}")(x)
            if i < n - 1:
                if self.norm is not None:
                    x = Normalization(self.norm, momentum=self.momentum,
                                      name=f"norm_{i}")(x, train)
                x = act(x)
                if self.dropout > 0:
                    x = nn.Dropout(rate=float(self.dropout), deterministic=not train,
                                   name=f"dropout_{i}")(x)
        return x
