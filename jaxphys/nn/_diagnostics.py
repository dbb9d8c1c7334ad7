r"""Training diagnostics: per-layer gradient norms (vanishing and exploding gradients).

For a loss :math:`L(\theta)` and a parameter tree grouped into layers
:math:`\theta = (\theta_1, \dots, \theta_L)` (a flax params dict
``{'dense_0': {'kernel', 'bias'}, ...}``), the diagnostic is

.. math:: g_\ell = \lVert \partial L / \partial \theta_\ell \rVert_2
          = \Bigl(\sum_{w \in \theta_\ell} (\partial L/\partial w)^2\Bigr)^{1/2}.

Back-propagation multiplies the gradient by :math:`W_\ell^\top \mathrm{diag}\,
\sigma'(z_\ell)` at every layer; with sigmoids (:math:`\sigma' \le 1/4`) and
Glorot/LeCun weights the product shrinks geometrically, so :math:`g_\ell`
*vanishes* towards the input, while ReLU with He initialisation keeps it of
order one (and too-large weights make it *explode*).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

import jax
import jax.numpy as jnp


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _walk(tree: Any, prefix: tuple[str, ...], out: list) -> None:
    """Collect (path, leaf) in the mapping's own key order (insertion order for dicts)."""
    if isinstance(tree, Mapping):
        for k in tree:
            _walk(tree[k], prefix + (str(k),), out)
    elif isinstance(tree, (list, tuple)) and not hasattr(tree, "shape"):
        for i, v in enumerate(tree):
            _walk(v, prefix + (str(i),), out)
    elif tree is not None:
        out.append((prefix, tree))


def layer_norms(tree: Any, *, by: str = "layer") -> dict[str, jax.Array]:
    """L2 norm of each layer's (or each leaf's) entries of a parameter-like tree.

    Args:
        tree: nested dicts of arrays (flax ``params``; a variables dict
            ``{'params': ...}`` is unwrapped).
        by: ``'layer'``: group the leaves by their parent path (``'dense_0'``,
            ``'block/conv_1'``), i.e. kernel and bias together; ``'leaf'``: one
            entry per array (``'dense_0/kernel'``).

    Returns:
        ``{name: scalar norm}`` ordered by name with numbers compared as numbers
        (``dense_2`` before ``dense_10``), i.e. input to output for the layers here.

    Example:
        >>> layer_norms({"dense_0": {"kernel": jnp.full((2, 2), 1.0), "bias": jnp.zeros(2)},
        ...              "dense_1": {"kernel": jnp.full((1, 1), 3.0)}})
        {'dense_0': Array(2., dtype=float32), 'dense_1': Array(3., dtype=float32)}
    """
    if by not in ("layer", "leaf"):
        raise ValueError(f"by: expected 'layer' or 'leaf', got {by!r}")
    if isinstance(tree, Mapping) and set(tree) == {"params"}:
        tree = tree["params"]
    leaves: list = []
    _walk(tree, (), leaves)
    if not leaves:
        raise ValueError("tree: expected a tree of arrays, got no arrays")
    groups: dict[str, list] = {}
    for path, leaf in leaves:
        key = path if by == "leaf" or len(path) < 2 else path[:-1]
        name = "/".join(key) if key else "<root>"
        groups.setdefault(name, []).append(jnp.asarray(leaf))
    names = sorted(groups, key=_natural_key)
    return {n: jnp.sqrt(sum(jnp.sum(jnp.square(jnp.abs(a))) for a in groups[n])) for n in names}


def gradient_norms(loss_fn: Callable[..., Any], params: Any, *args: Any, has_aux: bool = False,
                   by: str = "layer", jit: bool = True, **kwargs: Any) -> dict[str, jax.Array]:
    r"""Per-layer gradient norms :math:`\lVert\partial L/\partial\theta_\ell\rVert_2`.

    Args:
        loss_fn: ``loss_fn(params, *args, **kwargs) -> scalar`` (or ``(scalar, aux)``
            with ``has_aux=True``), e.g. ``lambda p, x, y: loss(model.apply({'params': p},
            x), y)`` or a jaxphys loss ``(params, batch, key) -> (loss, aux)``.
        params: the parameter tree to differentiate (nested dicts of arrays).
        *args, **kwargs: passed to ``loss_fn`` (the batch, a key...).
        has_aux: ``loss_fn`` returns ``(loss, aux)``.
        by: ``'layer'`` (kernel and bias together) or ``'leaf'``; see :func:`layer_norms`.
        jit: compile the gradient (default); ``args``/``kwargs`` must then be arrays
            (pytrees of arrays). ``False`` differentiates op by op.

    Returns:
        ``{layer_name: norm}`` (float scalars), from input to output layer.

    Example:
        >>> params = {"dense_0": {"w": jnp.array(2.0)}, "dense_1": {"w": jnp.array(3.0)}}
        >>> loss = lambda p, x: p["dense_1"]["w"] * p["dense_0"]["w"] * x
        >>> {k: float(v) for k, v in gradient_norms(loss, params, 1.0).items()}
        {'dense_0': 3.0, 'dense_1': 2.0}
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    def grad_fn(p, a, kw):
        return jax.grad(lambda q: loss_fn(q, *a, **kw), has_aux=has_aux)(p)

    if jit:
        grad_fn = jax.jit(grad_fn)
    grads = grad_fn(params, args, kwargs)
    if has_aux:
        grads = grads[0]
    return layer_norms(grads, by=by)
