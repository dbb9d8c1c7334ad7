"""Symbolic regression of KAN edges: affine fits ``c·f(a·x + b) + d`` of library functions.

Liu et al. 2024, "KAN: Kolmogorov–Arnold Networks": once a KAN is trained and
pruned, :func:`auto_symbolic` / :func:`fix_symbolic` fit each edge's activation to
a function of :data:`SYMBOLIC_LIBRARY` by affine least squares (:func:`fit_symbolic_edge`,
ranked by :func:`suggest_symbolic`), the affine constants are retrained, and
:func:`symbolic_formula` prints the network as formulas.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_finite

from ._kan import KAN, SYMBOLIC_LIBRARY, _lib_entry, kan_activations

__all__ = ["SymbolicFit", "fit_symbolic_edge", "suggest_symbolic", "fix_symbolic",
           "auto_symbolic", "symbolic_formula"]


class SymbolicFit(NamedTuple):
    """An affine fit ``y ≈ c·f(a·x + b) + d``.

    Fields:
      name: library name of ``f``.
      a, b, c, d: the constants (Python floats).
      r2: coefficient of determination on the fitted points (``-inf`` if no valid fit).

    Example:
        >>> import numpy as np
        >>> from jaxphys.nn import SymbolicFit, fit_symbolic_edge
        >>> t = np.linspace(0.0, 1.0, 51)
        >>> fit = fit_symbolic_edge(t, 10 - 4.905 * t ** 2, "x^2")   # a falling ball: h(t)
        >>> isinstance(fit, SymbolicFit), fit.name, round(fit.c, 4), round(fit.d, 4)  # -g/2, h₀
        (True, 'x^2', -4.905, 10.0)
        >>> round(fit.r2, 6)
        1.0
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
    n_grid = as_int(n_grid, "n_grid", minimum=2)
    n_zoom = as_int(n_zoom, "n_zoom", minimum=0)
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

    Example:
        >>> import numpy as np
        >>> from jaxphys.nn import suggest_symbolic
        >>> t = np.linspace(0.0, 1.0, 51)
        >>> fits = suggest_symbolic(t, 10 - 4.905 * t ** 2, library=["x", "x^2", "exp"])
        >>> [f.name for f in fits], round(fits[0].r2, 6), round(fits[0].c, 4)
        (['x^2', 'exp', 'x'], 1.0, -4.905)
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
    ``(new_kan, new_params)``. The affine constants stay trainable.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, SymbolicFit, fix_symbolic
        >>> kan = KAN.create((1, 1))
        >>> params = kan.init(jax.random.key(0))
        >>> fit = SymbolicFit("x^2", a=1.0, b=0.0, c=3.0, d=1.0, r2=1.0)     # 3 (1·x + 0)² + 1
        >>> kan, params = fix_symbolic(kan, params, 0, 0, 0, fit)          # layer 0, edge 0 -> 0
        >>> kan.layers[0].symbolic, float(kan.apply(params, jnp.array([0.5]))[0])   # 3/4 + 1
        ((('x^2',),), 1.75)
    """
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

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, auto_symbolic
        >>> kan = KAN.create((1, 1))                     # G = 5 cubic splines on [-1, 1]
        >>> p = kan.init(jax.random.key(0))[0]
        >>> greville = jnp.linspace(-1.4, 1.4, 8)        # coefficients at the knot averages:
        >>> params = [{**p, "coef": 2 * greville[None, None, :],   # the spline is 2x
        ...            "w_b": jnp.zeros((1, 1))}]                  # and no SiLU term
        >>> x = jnp.linspace(-1.0, 1.0, 21)[:, None]
        >>> kan, params, fits = auto_symbolic(kan, params, x, library=["x", "x^2", "sin"])
        >>> fits[(0, 0, 0)].name, round(fits[(0, 0, 0)].c, 4), kan.layers[0].symbolic
        ('x', 2.0, (('x',),))
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

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.nn import KAN, SymbolicFit, fix_symbolic, symbolic_formula
        >>> kan = KAN.create((1, 1))
        >>> params = kan.init(jax.random.key(0))
        >>> fit = SymbolicFit("x^2", a=1.0, b=0.0, c=3.0, d=1.0, r2=1.0)     # 3 (1·x + 0)² + 1
        >>> kan, params = fix_symbolic(kan, params, 0, 0, 0, fit)          # layer 0, edge 0 -> 0
        >>> formula = symbolic_formula(kan, params)[0]
        >>> formula, eval(formula, {"x1": 0.5})
        ('(3*(1*x1 + 0)**2 + 1)', 1.75)
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
