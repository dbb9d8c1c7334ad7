"""Kolmogorov–Arnold networks (KANs): the architecture and its forward pass.

A KAN layer maps ``x ∈ R^{d_in}`` to ``y ∈ R^{d_out}`` with one learnable
univariate function per edge,

    y_j = Σ_i m_ij φ_ij(x_i),
    φ_ij(x) = w_b[i,j] · silu(x) + w_s[i,j] · Σ_b c[i,j,b] B_b(x),

where ``m_ij ∈ {0, 1}`` is the pruning mask and ``B_b`` are the B-splines of
order ``k`` (degree ``k``, e.g. 3 = cubic) on a uniform grid of ``G`` intervals
over the input node's range ``[lo_i, hi_i]``, with ``k`` extra knots on each side
(extended knots ``t_m = lo + (m - k) h``, ``h = (hi - lo)/G``, ``m = 0..G+2k``), so
there are ``G + k`` basis functions and they sum to one on ``[lo, hi]``
(:func:`bspline_basis`, closed form on the uniform grid).
An edge may instead be *fixed* to a symbolic function, ``φ_ij(x) = c·f(a·x + b) + d``
(``f`` from :data:`SYMBOLIC_LIBRARY`, ``a, b, c, d`` trainable).

The forward pass never forms the ``(N, d_in, d_out)`` edge values: with the basis
flattened to ``(N, d_in·(G+k))`` a layer is two matrix products,

    y = B(x) · W_s + silu(x) · W_b (+ the symbolic edges),
    W_s[(i,b), j] = m_ij w_s[i,j] c[i,j,b],   W_b[i, j] = m_ij w_b[i,j]

(``m_ij`` is 0 on symbolic edges here); :func:`kan_activations` forms the edge
values when they are wanted (pruning, symbolic fits).

Inputs outside a node's grid range: the spline term sees ``x`` clipped to
``[lo, hi]`` (it is constant beyond the range) while the SiLU term and symbolic
edges see ``x`` itself. :func:`check_in_range` raises a ``ValueError`` for
concrete inputs outside the first layer's range; ``KAN(..., out_of_range="error")``
runs that check in ``apply`` whenever its input is concrete (not under ``jit``).

The architecture (widths, grid size, order, ranges, masks, symbolic choices) is
the static, hashable :class:`KAN` NamedTuple; the trainable arrays are the
params pytree that ``KAN.init`` returns. ``KAN`` has ``init(key, x)`` and
``apply(params, x)``, so it is a model for ``jaxphys.core`` (``fit``,
``make_train_step``) as it is.

Workflow (Liu et al. 2024, "KAN: Kolmogorov–Arnold Networks"): train on a coarse
grid, ``refine_grid`` to a finer one and train again, ``prune`` weak edges and
nodes (``_kan_grid``); ``auto_symbolic`` / ``fix_symbolic`` fit edges to library
functions and ``symbolic_formula`` prints the formula (``_kan_symbolic``);
``jaxphys.core.train_lbfgs`` trains it with optax's L-BFGS through the core step.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, is_concrete

from ._kan_basis import bspline_basis

__all__ = ["KAN", "KANLayerSpec", "SYMBOLIC_LIBRARY", "check_in_range", "LayerActivations",
           "kan_activations"]

_OUT_OF_RANGE = ("clip", "error")

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

    Example:
        >>> from jaxphys.nn import KAN, KANLayerSpec
        >>> spec = KAN.create((2, 3, 1), grid_range=(0.0, 2.0)).layers[0]   # the 2 -> 3 layer
        >>> isinstance(spec, KANLayerSpec), spec.lo, spec.hi
        (True, (0.0, 0.0), (2.0, 2.0))
        >>> spec.mask, spec.symbolic[0]                  # every edge kept, none symbolic
        (((1, 1, 1), (1, 1, 1)), (None, None, None))
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


def _layer_basis(spec: KANLayerSpec, p: dict, x: jax.Array, order: int) -> jax.Array:
    """``(N, d_in, G + k)`` spline basis of a layer's inputs ``x`` ``(N, d_in)``."""
    dtype = p["coef"].dtype
    grid_size = p["coef"].shape[-1] - order
    lo = jnp.asarray(spec.lo, dtype)
    hi = jnp.asarray(spec.hi, dtype)
    return bspline_basis(x.astype(dtype), lo[None], hi[None], grid_size, order)


def _symbolic_edges(spec: KANLayerSpec):
    """``(i, j, name)`` of the kept symbolic edges of a layer."""
    return [(i, j, name) for i, row in enumerate(spec.symbolic) for j, name in enumerate(row)
            if name is not None and spec.mask[i][j]]


def _symbolic_value(p: dict, x: jax.Array, i: int, j: int, name: str) -> jax.Array:
    a, b, c, d = (p["sym"][i, j, q] for q in range(4))
    return c * _lib_entry(name)[0](a * x[:, i] + b) + d


def _layer_output(spec: KANLayerSpec, p: dict, x: jax.Array, order: int) -> jax.Array:
    """Layer output ``Σ_i m_ij φ_ij(x_i)``, ``(N, d_out)`` for ``x`` ``(N, d_in)``: two
    matrix products (flattened basis by masked spline weights, SiLU by masked scales)
    plus the symbolic edges."""
    dtype = p["coef"].dtype
    x = x.astype(dtype)
    d_in, d_out, n_basis = p["coef"].shape
    spline_mask = np.asarray(spec.mask, bool) & np.asarray(
        [[name is None for name in row] for row in spec.symbolic], bool)
    spline_mask = jnp.asarray(spline_mask, dtype)
    basis = _layer_basis(spec, p, x, order).reshape(x.shape[0], d_in * n_basis)
    spline_weight = (spline_mask * p["w_s"])[:, :, None] * p["coef"]         # (d_in, d_out, nb)
    spline_weight = jnp.transpose(spline_weight, (0, 2, 1)).reshape(d_in * n_basis, d_out)
    # one product for both terms: [B(x), silu(x)] · [W_s; W_b]
    features = jnp.concatenate([basis, jax.nn.silu(x)], axis=1)
    y = features @ jnp.concatenate([spline_weight, spline_mask * p["w_b"]], axis=0)
    for i, j, name in _symbolic_edges(spec):
        y = y.at[:, j].add(_symbolic_value(p, x, i, j, name))
    return y


def _layer_phi(spec: KANLayerSpec, p: dict, x: jax.Array, order: int) -> jax.Array:
    """Edge values ``φ_ij(x_i)`` (masked), ``(N, d_in, d_out)`` for ``x`` ``(N, d_in)``."""
    dtype = p["coef"].dtype
    x = x.astype(dtype)
    basis = _layer_basis(spec, p, x, order)                              # (N, d_in, nb)
    spline = jnp.einsum("nib,iob->nio", basis, p["coef"])
    phi = p["w_b"][None] * jax.nn.silu(x)[:, :, None] + p["w_s"][None] * spline
    for i, j, name in _symbolic_edges(spec):
        phi = phi.at[:, i, j].set(_symbolic_value(p, x, i, j, name))
    return phi * jnp.asarray(spec.mask, dtype)[None]


def _forward(kan: KAN, params: list[dict], x: jax.Array, keep: bool = False):
    """Output ``(..., d_out)`` and, if ``keep``, the list of (layer input, φ) per layer."""
    if len(params) != len(kan.layers):
        raise ValueError(f"params: expected {len(kan.layers)} layers, got {len(params)}")
    lead = x.shape[:-1]
    h = x.reshape((-1, x.shape[-1]))
    trace = []
    for spec, p in zip(kan.layers, params):
        if keep:
            phi = _layer_phi(spec, p, h, kan.order)
            trace.append((h, phi))
            h = phi.sum(axis=1)
        else:
            h = _layer_output(spec, p, h, kan.order)
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

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, kan_activations
        >>> kan = KAN.create((2, 3, 1))
        >>> params = kan.init(jax.random.key(0), jnp.zeros(2))
        >>> acts = kan_activations(kan, params, jnp.zeros((4, 2)))    # one per layer
        >>> [(a.inputs.shape, a.phi.shape) for a in acts]
        [((4, 2), (4, 2, 3)), ((4, 3), (4, 3, 1))]
    """

    inputs: jax.Array
    phi: jax.Array


def kan_activations(kan: KAN, params: list[dict], x: Any) -> list[LayerActivations]:
    """The inputs and edge values of every layer for a batch ``x`` ``(N, widths[0])``.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, kan_activations
        >>> kan = KAN.create((2, 3, 1))
        >>> params = kan.init(jax.random.key(0), jnp.zeros(2))
        >>> x = jax.random.uniform(jax.random.key(1), (4, 2), minval=-1.0, maxval=1.0)
        >>> first, last = kan_activations(kan, params, x)
        >>> bool(jnp.allclose(first.phi.sum(axis=1), last.inputs, atol=1e-6))  # Σ_i φ_ij(x_i)
        True
        >>> bool(jnp.allclose(last.phi.sum(axis=1), kan.apply(params, x), atol=1e-6))
        True
    """
    x = as_array(x, "x", ndim=2)
    kan._check_x(x)
    check_finite(x, "x")
    trace = _trace_jit(kan, params, x)
    return [LayerActivations(h, phi) for h, phi in trace]


def check_in_range(kan: KAN, x: Any) -> None:
    """Raise ``ValueError`` if a concrete ``x`` ``(..., widths[0])`` leaves the first layer's
    grid range (beyond it the spline term is clipped, i.e. constant).

    Example:
        >>> import numpy as np
        >>> from jaxphys.nn import KAN, check_in_range
        >>> kan = KAN.create((2, 1))                     # grid range [-1, 1] on both inputs
        >>> check_in_range(kan, np.array([[0.5, -1.0]]))  # inside (edges included): no error
        >>> check_in_range(kan, np.array([[0.5, 2.0]]))
        Traceback (most recent call last):
        ...
        ValueError: x: input 1 must lie in the KAN grid range [-1, 1], got values in [2, 2]
    """
    x = np.asarray(x)
    kan._check_x(x)
    check_finite(x, "x")
    lo = np.asarray(kan.layers[0].lo)
    hi = np.asarray(kan.layers[0].hi)
    flat = x.reshape(-1, x.shape[-1])
    bad = (flat < lo) | (flat > hi)
    if np.any(bad):
        col = int(np.argmax(bad.any(axis=0)))
        raise ValueError(f"x: input {col} must lie in the KAN grid range "
                         f"[{lo[col]:g}, {hi[col]:g}], got values in "
                         f"[{flat[:, col].min():g}, {flat[:, col].max():g}]")
