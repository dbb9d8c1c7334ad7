"""KAN grid extension (refit splines on a new grid) and pruning of weak edges and nodes.

Liu et al. 2024, "KAN: Kolmogorov–Arnold Networks": train on a coarse grid,
:func:`refine_grid` to a finer one (least-squares initialised from the coarse
splines, so the function is unchanged), and :func:`prune` edges whose importance
(mean ``|φ|`` on data) is small, after training with :func:`sparsity_penalty`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite

from ._kan import KAN, KANLayerSpec, _trace_jit, kan_activations
from ._kan_basis import bspline_basis

__all__ = ["refine_grid", "edge_importance", "sparsity_penalty", "Pruned", "prune"]


def refine_grid(kan: KAN, params: list[dict], grid_size: int, x: Any = None, *,
                margin: float = 0.05, n_fit: int | None = None) -> tuple[KAN, list[dict]]:
    """Move a KAN to a grid of ``grid_size`` intervals, keeping its function.

    For every node the new coefficients solve the least-squares problem
    ``min_c Σ_n (Σ_b c_b B'_b(t_n) − s(t_n))²`` where ``s`` is the old spline term on
    ``n_fit`` uniform points ``t_n`` over the node's (new) range. If ``x`` ``(N,
    widths[0])`` is given, the ranges of the hidden layers' nodes are reset to the
    range their inputs take on ``x``, widened by ``margin`` × its width on each side
    (the input layer keeps its declared range). When the new grid contains the old
    one (e.g. ``G' = 2G``, same range) the refined KAN equals the old one exactly.

    Returns ``(new_kan, new_params)``; SiLU scales and symbolic constants are kept.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, refine_grid
        >>> kan = KAN.create((2, 3, 1), grid_size=5)
        >>> params = kan.init(jax.random.key(0), jnp.zeros(2))
        >>> fine, fine_params = refine_grid(kan, params, 10)    # G' = 2G contains the old grid
        >>> fine.grid_size, fine_params[0]["coef"].shape           # G' + k = 13 coefficients
        (10, (2, 3, 13))
        >>> x = jax.random.uniform(jax.random.key(1), (4, 2), minval=-1.0, maxval=1.0)
        >>> bool(jnp.allclose(fine.apply(fine_params, x), kan.apply(params, x), atol=1e-5))
        True
    """
    grid_size = as_int(grid_size, "grid_size", minimum=1)
    n_basis = grid_size + kan.order
    n_fit = max(400, 8 * n_basis) if n_fit is None else as_int(n_fit, "n_fit", minimum=n_basis)
    layers = list(kan.layers)
    if x is not None:
        acts = kan_activations(kan, params, x)
        for l in range(1, len(layers)):
            h = np.asarray(acts[l].inputs, np.float64)
            lo, hi = h.min(axis=0), h.max(axis=0)
            width = np.maximum(hi - lo, 1e-3)
            lo, hi = lo - margin * width, hi + margin * width
            layers[l] = layers[l]._replace(lo=tuple(map(float, lo)), hi=tuple(map(float, hi)))
    new_params = []
    for old_spec, spec, p in zip(kan.layers, layers, params):
        old_range = np.asarray([old_spec.lo, old_spec.hi], np.float64)
        new_range = np.asarray([spec.lo, spec.hi], np.float64)
        coef = _refit_coef(p["coef"], old_range, new_range, kan.grid_size, grid_size,
                           kan.order, n_fit)
        new_params.append({**p, "coef": jnp.asarray(coef, p["coef"].dtype)})
    return kan._replace(grid_size=grid_size, layers=tuple(layers)), new_params


def _refit_coef(coef, old_range, new_range, old_grid, new_grid, order, n_fit):
    """Least-squares coefficients ``(d_in, d_out, new_grid + order)`` of the old splines
    (host-side NumPy float64: no compilation, exact to rounding)."""
    frac = np.linspace(0.0, 1.0, n_fit)[:, None]
    lo_new, hi_new = new_range[0][None], new_range[1][None]
    t = lo_new + frac * (hi_new - lo_new)                               # (n_fit, d_in)
    with jax.enable_x64(True):
        old_b = np.asarray(bspline_basis(jnp.asarray(t), old_range[0][None], old_range[1][None],
                                         old_grid, order))
        new_b = np.asarray(bspline_basis(jnp.asarray(t), lo_new, hi_new, new_grid, order))
    target = np.einsum("nib,iob->nio", old_b, np.asarray(coef, np.float64))
    new = np.stack([np.linalg.lstsq(new_b[:, i], target[:, i], rcond=None)[0]
                    for i in range(t.shape[1])])                        # (d_in, nb', d_out)
    return np.transpose(new, (0, 2, 1))


# --------------------------------------------------------------------------- pruning

def edge_importance(kan: KAN, params: list[dict], x: Any) -> list[jax.Array]:
    """Importance of every edge: ``mean_n |φ_ij(x_i^(n))|`` on the batch ``x``; one
    ``(d_in, d_out)`` array per layer (0 on pruned edges).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, edge_importance
        >>> kan = KAN.create((1, 2, 1))
        >>> params = [{**p, "coef": 0 * p["coef"]} for p in kan.init(jax.random.key(0))]
        >>> params[0]["w_b"] = params[0]["w_b"].at[0, 1].set(0.0)   # edge 0 -> 1 switched off
        >>> x = jnp.array([[0.0], [1.0]])                # zero splines: every φ is w_b·silu
        >>> scores = edge_importance(kan, params, x)   # layer 0: mean |silu(x)| = silu(1)/2
        >>> [[round(float(v), 4) for v in s.ravel()] for s in scores]   # layer 1: its silu/√2
        [[0.3655, 0.0], [0.1745, 0.0]]
    """
    return [jnp.mean(jnp.abs(a.phi), axis=0) for a in kan_activations(kan, params, x)]


def sparsity_penalty(kan: KAN, params: list[dict], x: Any) -> jax.Array:
    """L1 sparsity penalty ``Σ_layers Σ_ij mean_n |φ_ij(x_i)|`` on a batch ``x``
    ``(N, widths[0])`` (differentiable, jittable); add ``λ ×`` it to the loss before
    :func:`prune` so that unneeded edges fade.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, sparsity_penalty
        >>> kan = KAN.create((1, 2, 1))
        >>> params = [{**p, "coef": 0 * p["coef"]} for p in kan.init(jax.random.key(0))]
        >>> params[0]["w_b"] = params[0]["w_b"].at[0, 1].set(0.0)   # edge 0 -> 1 switched off
        >>> x = jnp.array([[0.0], [1.0]])                # zero splines: every φ is w_b·silu
        >>> round(float(sparsity_penalty(kan, params, x)), 4)  # Σ edge_importance: .3655 + .1745
        0.54
    """
    x = as_array(x, "x", ndim=2)
    kan._check_x(x)
    check_finite(x, "x")
    trace = _trace_jit(kan, params, x)
    return sum(jnp.sum(jnp.mean(jnp.abs(phi), axis=0)) for _, phi in trace)


class Pruned(NamedTuple):
    """Result of :func:`prune`.

    Fields:
      kan: the pruned architecture (hidden widths reduced, weak edges masked).
      params: its params.
      kept_nodes: per hidden layer, the indices (into the old layer) of kept nodes.
      edge_scores: the importance scores used, one ``(d_in, d_out)`` array per old layer.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, prune
        >>> kan = KAN.create((1, 2, 1))
        >>> params = [{**p, "coef": 0 * p["coef"]} for p in kan.init(jax.random.key(0))]
        >>> params[0]["w_b"] = params[0]["w_b"].at[0, 1].set(0.0)   # edge 0 -> 1 switched off
        >>> x = jnp.array([[0.0], [1.0]])                # zero splines: every φ is w_b·silu
        >>> res = prune(kan, params, x)
        >>> res.kan.widths, res.params[0]["coef"].shape   # one hidden node left, its params
        ((1, 1, 1), (1, 1, 8))
        >>> [s.shape for s in res.edge_scores]            # the scores of the old layers
        [(1, 2), (2, 1)]
    """

    kan: KAN
    params: list
    kept_nodes: tuple
    edge_scores: list


def prune(kan: KAN, params: list[dict], x: Any, *, node_threshold: float = 1e-2,
          edge_threshold: float | None = None) -> Pruned:
    """Remove weak hidden nodes and mask weak edges.

    Scores come from :func:`edge_importance` on ``x``. A hidden node is kept when its
    largest incoming score and its largest outgoing score both reach
    ``node_threshold``; then every edge whose score is below ``edge_threshold``
    (default: ``node_threshold``) is masked. Input and output nodes are always kept.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, prune
        >>> kan = KAN.create((1, 2, 1))
        >>> params = [{**p, "coef": 0 * p["coef"]} for p in kan.init(jax.random.key(0))]
        >>> params[0]["w_b"] = params[0]["w_b"].at[0, 1].set(0.0)   # edge 0 -> 1 switched off
        >>> x = jnp.array([[0.0], [1.0]])                # zero splines: every φ is w_b·silu
        >>> res = prune(kan, params, x)                   # hidden node 1 never fires
        >>> res.kan.widths, res.kept_nodes
        ((1, 1, 1), ((0,),))
    """
    scores = [np.asarray(s, np.float64) for s in edge_importance(kan, params, x)]
    edge_threshold = node_threshold if edge_threshold is None else edge_threshold
    n_layers = len(kan.layers)
    kept = []
    for l in range(1, n_layers):
        incoming = scores[l - 1].max(axis=0)
        outgoing = scores[l].max(axis=1)
        idx = np.nonzero((incoming >= node_threshold) & (outgoing >= node_threshold))[0]
        if idx.size == 0:      # keep the strongest node rather than cut the network
            idx = np.array([int(np.argmax(np.minimum(incoming, outgoing)))])
        kept.append(idx)
    keep_in = [np.arange(kan.widths[0])] + kept
    keep_out = kept + [np.arange(kan.widths[-1])]
    layers, new_params, new_scores = [], [], []
    for spec, p, s, ki, ko in zip(kan.layers, params, scores, keep_in, keep_out):
        s = s[np.ix_(ki, ko)]
        mask = np.asarray(spec.mask)[np.ix_(ki, ko)] * (s >= edge_threshold)
        sym = [[spec.symbolic[i][j] for j in ko] for i in ki]
        layers.append(KANLayerSpec(lo=tuple(spec.lo[i] for i in ki),
                                   hi=tuple(spec.hi[i] for i in ki),
                                   mask=tuple(tuple(int(v) for v in row) for row in mask),
                                   symbolic=tuple(tuple(row) for row in sym)))
        new_params.append({k: v[ki][:, ko] for k, v in p.items()})
        new_scores.append(s)
    widths = (kan.widths[0],) + tuple(len(k) for k in kept) + (kan.widths[-1],)
    return Pruned(kan._replace(widths=widths, layers=tuple(layers)), new_params,
                  tuple(tuple(int(i) for i in k) for k in kept), scores)
