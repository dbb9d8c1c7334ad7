"""Permutation-invariant and E(n)-equivariant networks: Deep Sets and EGNN.

Deep Sets (Zaheer et al. 2017): a function of a set ``{x_i}`` that does not
depend on the order of its elements is ``ρ(pool_i φ(x_i))`` with a symmetric
pooling (sum, mean, max). A permutation-*equivariant* layer maps
``x_i ↦ Λ x_i + Γ pool(x) + β``: permuting the inputs permutes the outputs.

EGNN (Satorras, Hoogeboom & Welling 2021, "E(n) Equivariant Graph Neural
Networks"): on a point cloud with coordinates ``x_i ∈ R^dim`` and node features
``h_i``, one layer computes, over the fully connected graph (``i ≠ j``, both unmasked),

    m_ij  = φ_e(h_i, h_j, |x_i − x_j|²)
    x_i' = x_i + (1/N_i) Σ_j (x_i − x_j)/(|x_i − x_j| + 1) · φ_x(m_ij)
    h_i' = h_i + φ_h(h_i, Σ_j m_ij)

(``N_i`` = number of neighbours; the ``/(|·| + 1)`` normalisation is optional).
Only distances enter the messages, so ``h`` is invariant and ``x`` equivariant
under rotations, reflections, translations and permutations of the nodes.

All modules work on one example (one set or one graph); ``vmap`` at the call site.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxphys.nn._activations import get_activation
from jaxphys.nn._mlp import MLP

__all__ = ["DeepSets", "PermEquivariant", "EGNN", "EGNNLayer", "EGNNOutput", "set_pool"]

_POOLS = ("sum", "mean", "max")


def _check_pool(pool: str) -> None:
    if pool not in _POOLS:
        raise ValueError(f"pool: unknown pooling {pool!r}; expected one of "
                         + ", ".join(map(repr, _POOLS)))


def _set_mask(x: jax.Array, mask, name: str = "mask") -> jax.Array:
    n = x.shape[-2]
    if mask is None:
        return jnp.ones(x.shape[:-1], bool)
    mask = jnp.asarray(mask)
    if mask.shape != x.shape[:-1]:
        raise ValueError(f"{name}: expected shape {tuple(x.shape[:-1])} (one flag per element "
                         f"of the {n} set elements), got {tuple(mask.shape)}")
    return mask.astype(bool)


def _set_input(x: Any, mask: Any, pool: str) -> tuple[jax.Array, jax.Array]:
    """Checked set input ``(..., n_elements, d)``, its boolean mask, and the pool name."""
    x = jnp.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x: expected shape (..., n_elements, d), got {tuple(x.shape)}")
    _check_pool(pool)
    return x, _set_mask(x, mask)


def set_pool(h: jax.Array, mask: jax.Array, pool: str) -> jax.Array:
    """Pool ``h`` ``(..., n, f)`` over its set axis, using only elements where ``mask``
    ``(..., n)`` is true; ``(..., f)``. An empty set pools to zeros.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.nn import set_pool
        >>> h = jnp.array([[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]])
        >>> mask = jnp.array([True, True, False])               # the third row is padding
        >>> [set_pool(h, mask, pool).tolist() for pool in ("sum", "mean", "max")]
        [[4.0, 6.0], [2.0, 3.0], [3.0, 4.0]]
    """
    _check_pool(pool)
    m = mask[..., None].astype(h.dtype)
    if pool == "sum":
        return jnp.sum(h * m, axis=-2)
    if pool == "mean":
        return jnp.sum(h * m, axis=-2) / jnp.maximum(jnp.sum(m, axis=-2), 1.0)
    out = jnp.max(jnp.where(mask[..., None], h, -jnp.inf), axis=-2)
    return jnp.where(jnp.any(mask, axis=-1)[..., None], out, 0.0)


class DeepSets(nn.Module):
    """Permutation-invariant set function ``ρ(pool_i φ(x_i))``.

    Attributes:
      phi_widths: widths of the element network φ (an MLP, activation between layers).
      rho_widths: widths of the set network ρ; the last is the output size.
      pool: ``"sum"``, ``"mean"`` or ``"max"``.
      activation: activation name for both MLPs (also applied to φ's output).

    ``__call__(x, mask=None)``: ``x`` ``(n, d)`` one set (leading batch axes allowed),
    ``mask`` ``(n,)`` bool (False = padding, ignored); returns ``(rho_widths[-1],)``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = DeepSets(phi_widths=(8,), rho_widths=(8, 1))
        >>> x = jax.random.normal(jax.random.key(0), (5, 3))
        >>> params = model.init(jax.random.key(1), x)
        >>> y, y_perm = model.apply(params, x), model.apply(params, x[::-1])
        >>> y.shape, bool(jnp.allclose(y, y_perm, atol=1e-6))
        ((1,), True)
    """

    phi_widths: Sequence[int] = (64, 64)
    rho_widths: Sequence[int] = (64, 1)
    pool: str = "sum"
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        x, mask = _set_input(x, mask, self.pool)
        act = get_activation(self.activation)
        h = act(MLP(widths=tuple(self.phi_widths), activation=self.activation, name="phi")(x))
        pooled = set_pool(h, mask, self.pool)
        return MLP(widths=tuple(self.rho_widths), activation=self.activation, name="rho")(pooled)


class PermEquivariant(nn.Module):
    """Permutation-equivariant layer ``y_i = Λ x_i + Γ pool_j(x_j) + β``.

    Attributes:
      features: output width.
      pool: ``"sum"``, ``"mean"`` or ``"max"``.

    ``__call__(x, mask=None)``: ``x`` ``(n, d)`` → ``(n, features)``; rows where
    ``mask`` is False are excluded from the pool and returned as zeros.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> layer = PermEquivariant(features=4)
        >>> x = jax.random.normal(jax.random.key(0), (5, 3))
        >>> params = layer.init(jax.random.key(1), x)
        >>> bool(jnp.allclose(layer.apply(params, x[::-1]), layer.apply(params, x)[::-1]))
        True
    """

    features: int
    pool: str = "mean"

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array | None = None) -> jax.Array:
        x, mask = _set_input(x, mask, self.pool)
        pooled = set_pool(x, mask, self.pool)
        own = nn.Dense(self.features, name="lambda")(x)
        shared = nn.Dense(self.features, use_bias=False, name="gamma")(pooled)
        y = own + shared[..., None, :]
        return y * mask[..., None].astype(y.dtype)


class EGNNLayer(nn.Module):
    """One E(n)-equivariant message-passing layer (see the module docstring).

    Attributes:
      hidden: width of the messages and of φ_e, φ_x, φ_h.
      activation: activation name (SiLU as in the paper).
      normalize: divide ``x_i − x_j`` by ``|x_i − x_j| + 1`` in the coordinate update.
      update_coords: if False, coordinates pass through unchanged.

    ``__call__(h, x, mask)``: ``h`` ``(n, f)``, ``x`` ``(n, dim)``, ``mask`` ``(n,)``
    bool → ``(h', x')`` with ``h'`` ``(n, hidden)``; masked nodes keep their
    coordinates and send or receive no messages.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import EGNNLayer
        >>> layer = EGNNLayer(hidden=8)
        >>> h, x = jnp.ones((4, 8)), jax.random.normal(jax.random.key(0), (4, 3))
        >>> mask = jnp.array([True, True, True, True])
        >>> params = layer.init(jax.random.key(1), h, x, mask)
        >>> rot = jnp.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # 90° about z
        >>> h1, x1 = layer.apply(params, h, x, mask)
        >>> h2, x2 = layer.apply(params, h, x @ rot.T, mask)      # rotate the input cloud
        >>> h1.shape, bool(jnp.allclose(h2, h1, atol=1e-5))   # features: invariant
        ((4, 8), True)
        >>> bool(jnp.allclose(x2, x1 @ rot.T, atol=1e-5))     # coordinates: rotate along
        True
    """

    hidden: int = 64
    activation: str = "silu"
    normalize: bool = True
    update_coords: bool = True

    @nn.compact
    def __call__(self, h: jax.Array, x: jax.Array, mask: jax.Array):
        act = get_activation(self.activation)
        n, f = h.shape
        diff = x[:, None, :] - x[None, :, :]                      # (n, n, dim): x_i − x_j
        dist2 = jnp.sum(diff ** 2, axis=-1, keepdims=True)         # (n, n, 1)
        pair = jnp.concatenate([jnp.broadcast_to(h[:, None, :], (n, n, f)),
                                jnp.broadcast_to(h[None, :, :], (n, n, f)), dist2], axis=-1)
        edge = (mask[:, None] & mask[None, :]) & ~jnp.eye(n, dtype=bool)
        edge_f = edge[..., None].astype(h.dtype)                   # (n, n, 1)
        msg = act(MLP(widths=(self.hidden, self.hidden), activation=self.activation,
                      name="phi_e")(pair)) * edge_f                # (n, n, hidden)
        if self.update_coords:
            weight = MLP(widths=(self.hidden, 1), activation=self.activation,
                         name="phi_x")(msg)                        # (n, n, 1)
            direction = diff
            if self.normalize:
                direction = diff / (jnp.sqrt(dist2 + 1e-12) + 1.0)
            n_nb = jnp.maximum(jnp.sum(edge_f, axis=1), 1.0)       # (n, 1)
            shift = jnp.sum(direction * weight * edge_f, axis=1) / n_nb
            x = jnp.where(mask[:, None], x + shift, x)
        agg = jnp.sum(msg, axis=1)                                 # (n, hidden)
        update = MLP(widths=(self.hidden, self.hidden), activation=self.activation,
                     name="phi_h")(jnp.concatenate([h, agg], axis=-1))
        h_new = h + update if f == self.hidden else update
        h_new = jnp.where(mask[:, None], h_new, 0.0)
        return h_new, x


class EGNNOutput(NamedTuple):
    """Output of :class:`EGNN` for one graph.

    Fields:
      features: ``(n, hidden)`` node features (E(n)-invariant, permutation-equivariant).
      coords: ``(n, dim)`` updated coordinates (E(n)-equivariant).
      graph: ``(out_features,)`` graph-level output (invariant), ``ρ(Σ_i ψ(h_i))``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import EGNN, EGNNOutput
        >>> model = EGNN(hidden=8, n_layers=2)
        >>> h, x = jnp.ones((4, 1)), jax.random.normal(jax.random.key(0), (4, 3))
        >>> params = model.init(jax.random.key(1), h, x)
        >>> shift = jnp.array([[1.0, 2.0, 3.0]])
        >>> out, moved = model.apply(params, h, x), model.apply(params, h, x + shift)
        >>> isinstance(out, EGNNOutput), bool(jnp.allclose(moved.graph, out.graph, atol=1e-5))
        (True, True)
        >>> bool(jnp.allclose(moved.coords, out.coords + shift, atol=1e-5))  # x moves along
        True
    """

    features: jax.Array
    coords: jax.Array
    graph: jax.Array


class EGNN(nn.Module):
    """E(n)-equivariant graph network on a fully connected point cloud.

    Attributes:
      hidden: width of the node features and messages.
      n_layers: number of :class:`EGNNLayer` s.
      out_features: width of the graph-level output.
      activation: activation name.
      normalize: normalised coordinate updates (see :class:`EGNNLayer`).

    ``__call__(h, x, mask=None)``: node features ``h`` ``(n, f)``, coordinates ``x``
    ``(n, dim)``, optional ``mask`` ``(n,)`` bool (False = padding node) →
    :class:`EGNNOutput`. One graph per call; ``jax.vmap`` over a batch.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> model = EGNN(hidden=8, n_layers=2)
        >>> h, x = jnp.ones((4, 1)), jax.random.normal(jax.random.key(0), (4, 3))
        >>> params = model.init(jax.random.key(1), h, x)
        >>> out = model.apply(params, h, x)
        >>> out.features.shape, out.coords.shape, out.graph.shape
        ((4, 8), (4, 3), (1,))
    """

    hidden: int = 64
    n_layers: int = 4
    out_features: int = 1
    activation: str = "silu"
    normalize: bool = True

    @nn.compact
    def __call__(self, h: jax.Array, x: jax.Array, mask: jax.Array | None = None
                 ) -> EGNNOutput:
        h, x = jnp.asarray(h), jnp.asarray(x)
        if h.ndim != 2:
            raise ValueError(f"h: expected node features of shape (n_nodes, f), "
                             f"got {tuple(h.shape)}")
        if x.ndim != 2:
            raise ValueError(f"x: expected coordinates of shape (n_nodes, dim), "
                             f"got {tuple(x.shape)}")
        if x.shape[0] != h.shape[0]:
            raise ValueError(f"x: expected {h.shape[0]} nodes (as in h), got {x.shape[0]}")
        mask = _set_mask(x, mask)
        act = get_activation(self.activation)
        h = nn.Dense(self.hidden, name="embed")(h)
        for i in range(self.n_layers):
            h, x = EGNNLayer(hidden=self.hidden, activation=self.activation,
                             normalize=self.normalize, name=f"layer_{i}")(h, x, mask)
        node = act(MLP(widths=(self.hidden, self.hidden), activation=self.activation,
                       name="psi")(h))
        pooled = set_pool(node, mask, "sum")
        graph = MLP(widths=(self.hidden, self.out_features), activation=self.activation,
                    name="rho")(pooled)
        return EGNNOutput(features=h, coords=x, graph=graph)
