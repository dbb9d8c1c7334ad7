"""Kolmogorov–Arnold networks (KANs): B-spline edges, grid extension, pruning, symbolic fits.

A KAN layer maps ``x ∈ R^{d_in}`` to ``y ∈ R^{d_out}`` with one learnable
univariate function per edge,

    y_j = Σ_i m_ij φ_ij(x_i),
    φ_ij(x) = w_b[i,j] · silu(x) + w_s[i,j] · Σ_b c[i,j,b] B_b(x),

where ``m_ij ∈ {0, 1}`` is the pruning mask and ``B_b`` are the B-splines of
order ``k`` (degree ``k``, e.g. 3 = cubic) on a uniform grid of ``G`` intervals
over the input node's range ``[lo_i, hi_i]``, with ``k`` extra knots on each side
(extended knots ``t_m = lo + (m - k) h``, ``h = (hi - lo)/G``, ``m = 0..G+2k``), so
there are ``G + k`` basis functions and they sum to one on ``[lo, hi]``.
An edge may instead be *fixed* to a symbolic function, ``φ_ij(x) = c·f(a·x + b) + d``
(``f`` from :data:`SYMBOLIC_LIBRARY`, ``a, b, c, d`` trainable).

Inputs outside a node's grid range: the spline term sees ``x`` clipped to
``[lo, hi]`` (it is constant beyond the range) while the SiLU term and symbolic
edges see ``x`` itself. :func:`check_in_range` raises a ``ValueError`` for
concrete inputs outside the first layer's range; ``KAN(..., out_of_range="error")``
runs that check in ``apply`` whenever its input is concrete (not under ``jit``).

The architecture (widths, grid size, order, ranges, masks, symbolic choices) is
the static, hashable :class:`KAN` NamedTuple; the trainable arrays are the
params pytree that ``KAN.init`` returns. ``KAN`` has ``init(key, x)`` and
``apply(params, x)``, so it is a model for ``jaxphys.core`` (``fit``,
``make_train_step``) as it is; :func:`train_lbfgs` runs optax's L-BFGS in one
jitted ``lax.scan``.

Workflow (Liu et al. 2024, "KAN: Kolmogorov–Arnold Networks"): train on a coarse
grid, :func:`refine_grid` to a finer one (least-squares initialised from the
coarse splines, so the function is unchanged) and train again; :func:`prune`
weak edges and nodes (importance: mean ``|φ|`` on data); :func:`auto_symbolic` /
:func:`fix_symbolic` fit edges to library functions by affine least squares;
retrain the affine constants; :func:`symbolic_formula` prints the formula.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import jax.flatten_util
import optax

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, is_concrete

__all__ = [
    "KAN", "KANLayerSpec", "bspline_basis", "check_in_range", "refine_grid", "edge_importance",
    "Pruned", "prune", "sparsity_penalty", "SYMBOLIC_LIBRARY", "SymbolicFit", "fit_symbolic_edge",
    "suggest_symbolic", "fix_symbolic", "auto_symbolic", "symbolic_formula", "LayerActivations",
    "kan_activations", "LBFGSResult", "train_lbfgs",
]

_OUT_OF_RANGE = ("clip", "error")


# --------------------------------------------------------------------------- B-splines

def bspline_basis(x: jax.Array, lo: Any, hi: Any, grid_size: int, order: int) -> jax.Array:
    """B-spline basis of order ``order`` on ``grid_size`` uniform intervals over ``[lo, hi]``.

    Knots are extended by ``order`` intervals on each side; the ``grid_size + order``
    basis functions are translates of the cardinal B-spline (uniform knots), evaluated
    from its truncated-power form. ``x`` is clipped to ``[lo, hi]`` first (constant continuation).

    Args:
      x: points, any shape ``S``.
      lo, hi: range, scalars or broadcastable to ``S``.
      grid_size: number of intervals ``G`` (≥ 1).
      order: spline order ``k`` (degree; 0 = piecewise constant, 3 = cubic).

    Returns:
      ``S + (G + k,)`` basis values; they sum to one for ``x`` in ``[lo, hi]``.

    Example:
        >>> import jax.numpy as jnp
        >>> b = bspline_basis(jnp.array([-1.0, 0.3, 1.0]), -1.0, 1.0, 4, 3)
        >>> b.shape, [round(float(s), 6) for s in b.sum(-1)]
        ((3, 7), [1.0, 1.0, 1.0])
    """
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    lo = jnp.broadcast_to(jnp.asarray(lo, x.dtype), x.shape)   # explicit, no rank promotion
    hi = jnp.broadcast_to(jnp.asarray(hi, x.dtype), x.shape)
    n_basis = grid_size + order
    h = (hi - lo) / grid_size
    u = (jnp.clip(x, lo, hi) - lo) / h + order             # knot units: knots at 0..G+2k
    j = jnp.arange(n_basis, dtype=u.dtype).reshape((1,) * u.ndim + (n_basis,))
    if order == 0:
        interval = jnp.clip(jnp.floor(u), 0, n_basis - 1)
        return (j == interval[..., None]).astype(u.dtype)
    # Uniform knots: B_j(u) = M_k(u - j), the cardinal B-spline of degree k,
    # M_k(t) = (1/k!) Σ_{m=0}^{k+1} (-1)^m C(k+1, m) (t - m)_+^k on its support [0, k+1].
    t = u[..., None] - j
    acc = jnp.zeros_like(t)
    for m in range(order + 2):
        acc = acc + ((-1) ** m * math.comb(order + 1, m)) * jnp.maximum(t - m, 0.0) ** order
    inside = (t >= 0) & (t < order + 1)
    basis = jnp.where(inside, acc / math.factorial(order), 0.0)
    return basis


# --------------------------------------------------------------------------- symbolic library

# name -> (numpy function, formula template with {u}, complexity)
SYMBOLIC_LIBRARY: dict[str, tuple[Callable, str, int]] = {
    "x": (lambda u: u, "({u})", 1),
    "x^2": (lambda u: u ** 2, "({u})**2", 2),
    "x^3": (lambda u: u ** 3, "({u})**3", 3),
    "x^4": (lambda u: u ** 4, "({u})**4", 3),
    "1/x": (lambda u: 1.0 / u, "1/({u})", 3),
    "sqrt": (lambda u: np.sqrt(u) if isinstance(u, np.ndarray) else jnp.sqrt(u), "sqrt({u})", 2),
    "exp": (lambda u: np.exp(u) if isinstance(u, np.ndarray) else jnp.exp(u), "exp({u})", 2),
    "log": (lambda u: np.log(u) if isinstance(u, np.ndarray) else jnp.log(u), "log({u})", 2),
    "sin": (lambda u: np.sin(u) if isinstance(u, np.ndarray) else jnp.sin(u), "sin({u})", 2),
    "tanh": (lambda u: np.tanh(u) if isinstance(u, np.ndarray) else jnp.tanh(u), "tanh({u})", 3),
    "abs": (lambda u: np.abs(u) if isinstance(u, np.ndarray) else jnp.abs(u), "abs({u})", 3),
}
"""The default library for symbolic edges: ``name -> (f, formula template, complexity)``.

``sin(a·x + b)`` covers ``cos``; domains: ``log`` needs ``a·x + b > 0``, ``sqrt``
``≥ 0``, ``1/x`` no sign change; fits that leave the domain on the data are rejected.
"""


def _lib_entry(name: str) -> tuple[Callable, str, int]:
    if name not in SYMBOLIC_LIBRARY:
        raise ValueError(f"name: unknown symbolic function {name!r}; known: "
                         + ", ".join(SYMBOLIC_LIBRARY))
    return SYMBOLIC_LIBRARY[name]


# --------------------------------------------------------------------------- architecture

class KANLayerSpec(NamedTuple):
    """Static description of one KAN layer (hashable).

    Fields:
      lo, hi: grid range of each input node, tuples of ``d_in`` floats.
      mask: ``d_in`` tuples of ``d_out`` ints, 1 = edge kept, 0 = pruned.
      symbolic: ``d_in`` tuples of ``d_out`` entries, a library name for a fixed
        symbolic edge or ``None`` for a spline edge.
    """

    lo: tuple
    hi: tuple
    mask: tuple
    symbolic: tuple


def _default_layer(d_in: int, d_out: int, lo: float, hi: float) -> KANLayerSpec:
    return KANLayerSpec(lo=(float(lo),) * d_in, hi=(float(hi),) * d_in,
                        mask=((1,) * d_out,) * d_in, symbolic=((None,) * d_out,) * d_in)


class KAN(NamedTuple):
    """A Kolmogorov–Arnold network (static architecture; params are a separate pytree).

    Build with :meth:`KAN.create`. ``init(key, x)`` returns the params, a list with
    one dict per layer:

      * ``coef``: ``(d_in, d_out, G + k)`` spline coefficients;
      * ``w_b``, ``w_s``: ``(d_in, d_out)`` SiLU and spline scales;
      * ``sym``: ``(d_in, d_out, 4)`` affine constants ``(a, b, c, d)`` of symbolic
        edges (unused on spline edges).

    ``apply(params, x)``: ``x`` of shape ``(..., widths[0])`` → ``(..., widths[-1])``.

    Fields:
      widths: node counts per layer, e.g. ``(2, 5, 1)``.
      grid_size: number of grid intervals ``G``.
      order: spline order ``k``.
      layers: one :class:`KANLayerSpec` per layer.
      out_of_range: ``"clip"`` (the spline term is constant beyond the grid range) or
        ``"error"`` (``apply`` raises on concrete inputs outside the first layer's range).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> kan = KAN.create((2, 3, 1), grid_size=5)
        >>> params = kan.init(jax.random.key(0), jnp.zeros(2))
        >>> kan.apply(params, jnp.zeros((4, 2))).shape
        (4, 1)
    """

    widths: tuple
    grid_size: int
    order: int
    layers: tuple
    out_of_range: str = "clip"

    @classmethod
    def create(cls, widths: Sequence[int], *, grid_size: int = 5, order: int = 3,
               grid_range: tuple[float, float] = (-1.0, 1.0),
               out_of_range: str = "clip") -> "KAN":
        """A KAN with every node's grid over ``grid_range`` and no pruned or symbolic edge."""
        widths = tuple(as_int(w, "widths", minimum=1) for w in widths)
        if len(widths) < 2:
            raise ValueError(f"widths: expected at least (d_in, d_out), got {widths}")
        grid_size = as_int(grid_size, "grid_size", minimum=1)
        order = as_int(order, "order", minimum=0)
        lo, hi = (float(v) for v in grid_range)
        if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
            raise ValueError(f"grid_range: expected finite (lo, hi) with lo < hi, got {grid_range}")
        check_in(out_of_range, "out_of_range", _OUT_OF_RANGE)
        layers = tuple(_default_layer(a, b, lo, hi) for a, b in zip(widths[:-1], widths[1:]))
        return cls(widths, grid_size, order, layers, out_of_range)

    # -- model convention ----------------------------------------------------------------
    def init(self, key: jax.Array, x: Any = None, *, noise: float = 0.1) -> list[dict]:
        """Random params: ``coef ~ N(0, noise²)``, ``w_b = w_s = 1/√d_in`` (every edge
        starts as a monotone SiLU plus a small random spline, which trains more reliably
        than random-sign SiLU scales), ``sym = (1, 0, 1, 0)``. ``x`` (optional) is checked for shape;
        the dtype is ``x``'s if floating, else the default float."""
        check_key(key)
        dtype = jnp.result_type(float)
        if x is not None:
            x = as_array(x, "x")
            self._check_x(x)
            if jnp.issubdtype(x.dtype, jnp.floating):
                dtype = x.dtype
        params = []
        keys = jax.random.split(key, len(self.layers))
        for layer_key, d_in, d_out in zip(keys, self.widths[:-1], self.widths[1:]):
            n_basis = self.grid_size + self.order
            params.append({
                "coef": noise * jax.random.normal(layer_key, (d_in, d_out, n_basis), dtype),
                "w_b": jnp.full((d_in, d_out), 1.0 / np.sqrt(d_in), dtype),
                "w_s": jnp.full((d_in, d_out), 1.0 / np.sqrt(d_in), dtype),
                "sym": jnp.broadcast_to(jnp.asarray([1.0, 0.0, 1.0, 0.0], dtype),
                                        (d_in, d_out, 4)),
            })
        return params

    def apply(self, params: list[dict], x: Any) -> jax.Array:
        """Network output, ``(..., widths[-1])`` for ``x`` of shape ``(..., widths[0])``."""
        x = jnp.asarray(x)
        self._check_x(x)
        if self.out_of_range == "error" and is_concrete(x):
            check_in_range(self, x)
        return _apply_jit(self, params, x)

    @property
    def model(self):
        """This KAN as a ``jaxphys.core.Model``."""
        from jaxphys.core import Model
        return Model(init=self.init, apply=self.apply)

    def _check_x(self, x: jax.Array) -> None:
        if x.ndim < 1 or x.shape[-1] != self.widths[0]:
            raise ValueError(f"x: expected shape (..., {self.widths[0]}), got {tuple(x.shape)}")


def _layer_phi(spec: KANLayerSpec, p: dict, x: jax.Array, order: int) -> jax.Array:
    """Edge values ``φ_ij(x_i)`` (masked), ``(N, d_in, d_out)`` for ``x`` ``(N, d_in)``."""
    dtype = p["coef"].dtype
    x = x.astype(dtype)
    grid_size = p["coef"].shape[-1] - order
    lo = jnp.asarray(spec.lo, dtype)
    hi = jnp.asarray(spec.hi, dtype)
    basis = bspline_basis(x, lo[None], hi[None], grid_size, order)     # (N, d_in, nb)
    spline = jnp.sum(basis[:, :, None, :] * p["coef"][None], axis=-1)
    phi = p["w_b"][None] * jax.nn.silu(x)[:, :, None] + p["w_s"][None] * spline
    for i, row in enumerate(spec.symbolic):
        for j, name in enumerate(row):
            if name is not None:
                a, b, c, d = (p["sym"][i, j, q] for q in range(4))
                phi = phi.at[:, i, j].set(c * _lib_entry(name)[0](a * x[:, i] + b) + d)
    return phi * jnp.asarray(spec.mask, dtype)[None]


def _forward(kan: KAN, params: list[dict], x: jax.Array, keep: bool = False):
    """Output ``(..., d_out)`` and, if ``keep``, the list of (layer input, φ) per layer."""
    if len(params) != len(kan.layers):
        raise ValueError(f"params: expected {len(kan.layers)} layers, got {len(params)}")
    lead = x.shape[:-1]
    h = x.reshape((-1, x.shape[-1]))
    trace = []
    for spec, p in zip(kan.layers, params):
        phi = _layer_phi(spec, p, h, kan.order)
        if keep:
            trace.append((h, phi))
        h = phi.sum(axis=1)
    return h.reshape(lead + (h.shape[-1],)), trace


@jax.jit(static_argnums=0)
def _apply_jit(kan: KAN, params: list[dict], x: jax.Array) -> jax.Array:
    return _forward(kan, params, x)[0]


@jax.jit(static_argnums=0)
def _trace_jit(kan: KAN, params: list[dict], x: jax.Array) -> list:
    return _forward(kan, params, x, keep=True)[1]


class LayerActivations(NamedTuple):
    """Per-layer values on a batch.

    Fields:
      inputs: ``(N, d_in)`` inputs of the layer's nodes.
      phi: ``(N, d_in, d_out)`` edge values ``φ_ij(x_i)`` (0 on pruned edges).
    """

    inputs: jax.Array
    phi: jax.Array


def kan_activations(kan: KAN, params: list[dict], x: Any) -> list[LayerActivations]:
    """The inputs and edge values of every layer for a batch ``x`` ``(N, widths[0])``."""
    x = as_array(x, "x", ndim=2)
    kan._check_x(x)
    check_finite(x, "x")
    trace = _trace_jit(kan, params, x)
    return [LayerActivations(h, phi) for h, phi in trace]


def check_in_range(kan: KAN, x: Any) -> None:
    """Raise ``ValueError`` if a concrete ``x`` ``(..., widths[0])`` leaves the first layer's
    grid range (beyond it the spline term is clipped, i.e. constant)."""
    x = np.asarray(x)
    lo = np.asarray(kan.layers[0].lo)
    hi = np.asarray(kan.layers[0].hi)
    flat = x.reshape(-1, x.shape[-1])
    bad = (flat < lo) | (flat > hi)
    if np.any(bad):
        col = int(np.argmax(bad.any(axis=0)))
        raise ValueError(f"x: input {col} must lie in the KAN grid range "
                         f"[{lo[col]:g}, {hi[col]:g}], got values in "
                         f"[{flat[:, col].min():g}, {flat[:, col].max():g}]")


# --------------------------------------------------------------------------- grid extension

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
    ``(d_in, d_out)`` array per layer (0 on pruned edges)."""
    return [jnp.mean(jnp.abs(a.phi), axis=0) for a in kan_activations(kan, params, x)]


def sparsity_penalty(kan: KAN, params: list[dict], x: Any) -> jax.Array:
    """L1 sparsity penalty ``Σ_layers Σ_ij mean_n |φ_ij(x_i)|`` on a batch ``x``
    ``(N, widths[0])`` (differentiable, jittable); add ``λ ×`` it to the loss before
    :func:`prune` so that unneeded edges fade."""
    trace = _trace_jit(kan, params, jnp.asarray(x))
    return sum(jnp.sum(jnp.mean(jnp.abs(phi), axis=0)) for _, phi in trace)


class Pruned(NamedTuple):
    """Result of :func:`prune`.

    Fields:
      kan: the pruned architecture (hidden widths reduced, weak edges masked).
      params: its params.
      kept_nodes: per hidden layer, the indices (into the old layer) of kept nodes.
      edge_scores: the importance scores used, one ``(d_in, d_out)`` array per old layer.
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


# --------------------------------------------------------------------------- symbolic fits

class SymbolicFit(NamedTuple):
    """An affine fit ``y ≈ c·f(a·x + b) + d``.

    Fields:
      name: library name of ``f``.
      a, b, c, d: the constants (Python floats).
      r2: coefficient of determination on the fitted points (``-inf`` if no valid fit).
    """

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float


def _r2_grid(f: Callable, x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray):
    """r², c, d of the linear fit of y on f(a x + b) for every (a, b) pair of the grids."""
    with np.errstate(all="ignore"):
        u = a[:, None, None] * x + b[None, :, None]
        fu = f(u)
        valid = np.all(np.isfinite(fu), axis=-1)
        fu = np.where(np.isfinite(fu), fu, 0.0)
        fm = fu.mean(-1, keepdims=True)
        fc = fu - fm
        yc = y - y.mean()
        cov = fc @ yc
        var_f = np.einsum("abn,abn->ab", fc, fc)
        var_y = yc @ yc
        r2 = cov ** 2 / (var_f * var_y)
        r2 = np.where(valid & (var_f > 1e-12 * max(var_y, 1e-300)) & np.isfinite(r2), r2,
                      -np.inf)
        c = cov / var_f
        d = y.mean() - c * fm[..., 0]
    return r2, c, d


def fit_symbolic_edge(x: Any, y: Any, name: str, *, a_range: tuple = (-10.0, 10.0),
                      b_range: tuple = (-10.0, 10.0), n_grid: int = 41,
                      n_zoom: int = 4) -> SymbolicFit:
    """Fit ``y ≈ c·f(a·x + b) + d`` for the library function ``name``.

    A grid search over ``(a, b)`` (``n_grid``² points over the ranges), zoomed
    ``n_zoom`` times around the best point, with ``c, d`` from linear least squares
    at every grid point; ``r²`` is that of the best fit. Redundant constants are then
    normalised (e.g. ``c·exp(a·x + b) → (c·e^b)·exp(a·x)``, ``c·(a·x + b)² →
    c·a²·(x + b/a)²``). Runs in NumPy float64.

    Raises:
      ValueError: for an unknown ``name`` or mismatched ``x``, ``y``.

    Example:
        >>> import numpy as np
        >>> x = np.linspace(-1, 1, 101)
        >>> fit = fit_symbolic_edge(x, 2 * np.sin(3 * x + 0.5) - 1, "sin")
        >>> round(fit.r2, 6), round(abs(fit.a), 3), round(abs(fit.c), 3)
        (1.0, 3.0, 2.0)
    """
    f, _, _ = _lib_entry(name)
    x = np.asarray(x, np.float64).ravel()
    y = np.asarray(y, np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"y: expected shape {x.shape} (the shape of x), got {y.shape}")
    check_finite(x, "x")
    check_finite(y, "y")
    a_lo, a_hi = map(float, a_range)
    b_lo, b_hi = map(float, b_range)
    best = None
    for _ in range(n_zoom + 1):
        a = np.linspace(a_lo, a_hi, n_grid)
        b = np.linspace(b_lo, b_hi, n_grid)
        r2, c, d = _r2_grid(f, x, y, a, b)
        ia, ib = np.unravel_index(np.argmax(r2), r2.shape)
        if not np.isfinite(r2[ia, ib]):
            break
        best = SymbolicFit(name, float(a[ia]), float(b[ib]), float(c[ia, ib]), float(d[ia, ib]),
                           float(r2[ia, ib]))
        da, db = 2 * (a[1] - a[0]), 2 * (b[1] - b[0])
        a_lo, a_hi = a[ia] - da, a[ia] + da
        b_lo, b_hi = b[ib] - db, b[ib] + db
    if best is None:
        return SymbolicFit(name, 1.0, 0.0, 0.0, float(np.mean(y)), -np.inf)
    return _canonical(best)


def _canonical(fit: SymbolicFit) -> SymbolicFit:
    """Remove the redundancies of ``c·f(a·x + b) + d`` (same function, better-conditioned
    constants for retraining): e.g. ``c·exp(a·x + b) = (c·e^b)·exp(a·x)``."""
    name, a, b, c, d, r2 = fit
    if a == 0.0:
        return fit
    if name == "x":
        return SymbolicFit(name, 1.0, 0.0, c * a, c * b + d, r2)
    if name in ("x^2", "x^3", "x^4"):
        n = int(name[-1])
        return SymbolicFit(name, 1.0, b / a, c * a ** n, d, r2)
    if name == "1/x":
        return SymbolicFit(name, 1.0, b / a, c / a, d, r2)
    if name == "abs":
        return SymbolicFit(name, 1.0, b / a, c * abs(a), d, r2)
    if name == "exp":
        return SymbolicFit(name, a, 0.0, c * float(np.exp(b)), d, r2)
    if name == "sqrt":
        return SymbolicFit(name, float(np.sign(a)), b / abs(a), c * float(np.sqrt(abs(a))), d,
                           r2)
    if name == "log":
        return SymbolicFit(name, float(np.sign(a)), b / abs(a), c, d + c * float(np.log(abs(a))),
                           r2)
    return fit


def suggest_symbolic(x: Any, y: Any, library: Sequence[str] | None = None, *,
                     r2_tol: float = 1e-6, **fit_kw) -> list[SymbolicFit]:
    """Fit every library function to ``(x, y)``; fits sorted best first.

    Ranking: by ``r²``, except that a simpler function (lower complexity in
    :data:`SYMBOLIC_LIBRARY`) whose ``r²`` is within ``r2_tol`` of the best comes first.
    """
    names = list(SYMBOLIC_LIBRARY) if library is None else list(library)
    for n in names:
        _lib_entry(n)
    fits = [fit_symbolic_edge(x, y, n, **fit_kw) for n in names]
    top = max(f.r2 for f in fits)
    return sorted(fits, key=lambda f: (f.r2 < top - r2_tol, SYMBOLIC_LIBRARY[f.name][2]
                                       if f.r2 >= top - r2_tol else 0, -f.r2))


def fix_symbolic(kan: KAN, params: list[dict], layer: int, i: int, j: int,
                 fit: SymbolicFit) -> tuple[KAN, list[dict]]:
    """Fix edge ``(layer, i, j)`` to ``c·f(a·x + b) + d`` from ``fit``; returns
    ``(new_kan, new_params)``. The affine constants stay trainable."""
    _lib_entry(fit.name)
    layer = as_int(layer, "layer", minimum=0)
    if layer >= len(kan.layers):
        raise ValueError(f"layer: expected < {len(kan.layers)}, got {layer}")
    spec = kan.layers[layer]
    if not (0 <= i < len(spec.symbolic) and 0 <= j < len(spec.symbolic[0])):
        raise ValueError(f"i, j: edge ({i}, {j}) is outside layer {layer} "
                         f"of shape ({len(spec.symbolic)}, {len(spec.symbolic[0])})")
    sym = [list(row) for row in spec.symbolic]
    sym[i][j] = fit.name
    layers = list(kan.layers)
    layers[layer] = spec._replace(symbolic=tuple(tuple(r) for r in sym))
    new_params = list(params)
    p = dict(params[layer])
    p["sym"] = p["sym"].at[i, j].set(jnp.asarray([fit.a, fit.b, fit.c, fit.d], p["sym"].dtype))
    new_params[layer] = p
    return kan._replace(layers=tuple(layers)), new_params


def auto_symbolic(kan: KAN, params: list[dict], x: Any, library: Sequence[str] | None = None,
                  *, r2_tol: float = 1e-6, max_points: int = 256, **fit_kw
                  ) -> tuple[KAN, list[dict], dict[tuple[int, int, int], SymbolicFit]]:
    """Fix every kept spline edge to its best library function, layer by layer
    (inputs of later layers recomputed after earlier ones are fixed), each fitted on at
    most ``max_points`` of the batch ``x`` ``(N, widths[0])``.

    Returns ``(new_kan, new_params, fits)`` with ``fits[(layer, i, j)]`` the chosen fit.
    """
    fits = {}
    for l in range(len(kan.layers)):
        act = kan_activations(kan, params, x)[l]
        xs, phi = np.asarray(act.inputs, np.float64), np.asarray(act.phi, np.float64)
        if xs.shape[0] > max_points:    # an even subsample keeps the grid search cheap
            pick = np.linspace(0, xs.shape[0] - 1, max_points).round().astype(int)
            xs, phi = xs[pick], phi[pick]
        spec = kan.layers[l]
        for i in range(len(spec.mask)):
            for j in range(len(spec.mask[0])):
                if spec.mask[i][j] == 0 or spec.symbolic[i][j] is not None:
                    continue
                best = suggest_symbolic(xs[:, i], phi[:, i, j], library, r2_tol=r2_tol,
                                        **fit_kw)[0]
                kan, params = fix_symbolic(kan, params, l, i, j, best)
                fits[(l, i, j)] = best
    return kan, params, fits


def _num(v: float, digits: int) -> str:
    s = f"{float(v):.{digits}g}"
    return f"({s})" if s.startswith("-") else s


def symbolic_formula(kan: KAN, params: list[dict], variables: Sequence[str] | None = None,
                     *, digits: int = 12) -> list[str]:
    """The network as formulas, one string per output, once every kept edge is symbolic.

    The strings use ``+ - * / **`` and the functions ``exp log sqrt sin tanh abs``, so
    they evaluate with NumPy (``eval`` in a namespace of those functions and the
    variables) or parse with ``sympy.sympify``. ``variables`` default to
    ``x1, x2, …``; constants carry ``digits`` significant digits.

    Raises:
      ValueError: if a kept edge is still a spline.
    """
    names = [f"x{i + 1}" for i in range(kan.widths[0])] if variables is None else list(variables)
    if len(names) != kan.widths[0]:
        raise ValueError(f"variables: expected {kan.widths[0]} names, got {len(names)}")
    exprs = names
    for l, (spec, p) in enumerate(zip(kan.layers, params)):
        sym = np.asarray(p["sym"], np.float64)
        out = []
        for j in range(len(spec.mask[0])):
            terms = []
            for i in range(len(spec.mask)):
                if spec.mask[i][j] == 0:
                    continue
                name = spec.symbolic[i][j]
                if name is None:
                    raise ValueError(f"kan: edge (layer {l}, {i} -> {j}) is a spline; fix it "
                                     "with fix_symbolic or auto_symbolic first")
                a, b, c, d = (_num(v, digits) for v in sym[i, j])
                inner = SYMBOLIC_LIBRARY[name][1].format(u=f"{a}*{exprs[i]} + {b}")
                terms.append(f"{c}*{inner} + {d}")
            out.append("(" + " + ".join(terms) + ")" if terms else "0")
        exprs = out
    return exprs


# --------------------------------------------------------------------------- L-BFGS

class LBFGSResult(NamedTuple):
    """Result of :func:`train_lbfgs`.

    Fields:
      params: the final params.
      losses: ``(n_steps,)`` loss before each step.
    """

    params: Any
    losses: jax.Array


def train_lbfgs(loss_fn: Callable[[Any, Any], jax.Array], params: Any, batch: Any,
                n_steps: int, *, memory_size: int = 20) -> LBFGSResult:
    """Minimise ``loss_fn(params, batch)`` with ``optax.lbfgs`` (zoom line search),
    ``n_steps`` steps in one jitted ``lax.scan``. ``batch`` is a traced argument.

    Example:
        >>> import jax.numpy as jnp
        >>> res = train_lbfgs(lambda p, b: jnp.sum((p - b) ** 2), jnp.zeros(3),
        ...                   jnp.arange(3.0), 10)
        >>> [round(float(v), 4) for v in res.params]
        [0.0, 1.0, 2.0]
    """
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    opt = optax.lbfgs(memory_size=memory_size)

    flat, unravel = jax.flatten_util.ravel_pytree(params)   # one vector: a smaller graph

    @jax.jit
    def run(flat, batch):
        fun = lambda v: loss_fn(unravel(v), batch)  # noqa: E731
        value_and_grad = optax.value_and_grad_from_state(fun)

        def step(carry, _):
            v, state = carry
            value, grad = value_and_grad(v, state=state)
            updates, state = opt.update(grad, state, v, value=value, grad=grad, value_fn=fun)
            return (v + updates, state), value

        (v, _), losses = jax.lax.scan(step, (flat, opt.init(flat)), None, length=n_steps)
        return v, losses

    v, losses = run(flat, batch)
    return LBFGSResult(unravel(v), losses)
