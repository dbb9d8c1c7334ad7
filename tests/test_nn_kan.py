"""KAN: B-spline basis vs scipy, grid extension, pruning, symbolic extraction, convergence."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.interpolate import BSpline

from jaxphys.core import TrainState, fit
from jax.test_util import check_grads

from jaxphys.nn import (KAN, SymbolicFit, auto_symbolic, bspline_basis, check_in_range,
                        fit_symbolic_edge, fix_symbolic, kan_activations, prune, refine_grid,
                        suggest_symbolic, symbolic_formula)
from jaxphys.core import train_lbfgs
from jaxphys.nn._kan_basis import cardinal_pieces


def target(x):
    return jnp.exp(jnp.sin(jnp.pi * x[..., 0]) + x[..., 1] ** 2)


def mse_loss(kan):
    def loss(params, batch, key):
        x, y = batch
        return jnp.mean((kan.apply(params, x)[:, 0] - y) ** 2), {}
    return loss


@pytest.mark.parametrize("order", [0, 1, 2, 3, 5])
def test_bspline_basis_equals_scipy_basis_elements(x64, order):
    lo, hi, grid = -0.7, 1.3, 6
    h = (hi - lo) / grid
    knots = lo + (np.arange(grid + 2 * order + 1) - order) * h
    x = np.sort(np.random.default_rng(0).uniform(lo, hi, 300))   # off the knots (order 0 jumps)
    ours = np.asarray(bspline_basis(jnp.asarray(x), lo, hi, grid, order))
    assert ours.shape == (x.size, grid + order)
    for j in range(grid + order):
        ref = BSpline.basis_element(knots[j:j + order + 2], extrapolate=False)(x)
        np.testing.assert_allclose(ours[:, j], np.nan_to_num(ref), atol=1e-12)
    # partition of unity on the whole range, end points included
    ends = np.asarray(bspline_basis(jnp.asarray([lo, hi]), lo, hi, grid, order))
    np.testing.assert_allclose(ours.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(ends.sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_bspline_derivatives_equal_scipy(x64, order):
    """The basis's custom derivative rule (and its derivative) against scipy's splines."""
    lo, hi, grid = -0.7, 1.3, 5
    h = (hi - lo) / grid
    knots = lo + (np.arange(grid + 2 * order + 1) - order) * h
    x = np.sort(np.random.default_rng(1).uniform(lo, hi, 200))

    def basis(v):
        return bspline_basis(v, lo, hi, grid, order)

    first = np.asarray(jax.vmap(jax.jacfwd(basis))(jnp.asarray(x)))
    second = np.asarray(jax.vmap(jax.jacfwd(jax.jacrev(basis)))(jnp.asarray(x)))
    for j in range(grid + order):
        element = BSpline.basis_element(knots[j:j + order + 2], extrapolate=False)
        np.testing.assert_allclose(first[:, j], np.nan_to_num(element.derivative(1)(x)),
                                   atol=1e-10)
        if order >= 2:   # second derivative of a linear spline is 0 away from the knots
            np.testing.assert_allclose(second[:, j], np.nan_to_num(element.derivative(2)(x)),
                                       atol=1e-9)
    # beyond the range the spline term is constant: zero derivative
    outside = np.asarray(jax.vmap(jax.jacfwd(basis))(jnp.asarray([lo - 0.3, hi + 0.2])))
    np.testing.assert_array_equal(outside, 0.0)


def test_cardinal_pieces_are_the_cardinal_spline(x64):
    """Pieces q_r(f) = M_k(r + f) against scipy's cardinal B-spline on knots 0..k+1."""
    f = np.linspace(0.0, 1.0, 11)[:-1]
    for order in range(6):
        element = BSpline.basis_element(np.arange(order + 2.0), extrapolate=False)
        for r, coefficients in enumerate(cardinal_pieces(order)):
            value = sum(float(c) * f ** p for p, c in enumerate(coefficients))
            np.testing.assert_allclose(value, element(r + f), atol=1e-13)


def test_matrix_forward_equals_edge_sum_with_symbolic_and_masked_edges(x64):
    """apply (two matrix products + symbolic edges) against a hand-written edge sum with
    scipy splines and NumPy's sin, for a layer with a symbolic and a pruned edge; its
    gradient against finite differences."""
    kan = KAN.create((2, 2), grid_size=4, order=3, grid_range=(-1.5, 1.0))
    p = kan.init(jax.random.key(0), jnp.zeros(2), noise=0.5)
    kan, p = fix_symbolic(kan, p, 0, 0, 1, SymbolicFit("sin", 2.0, 0.3, 1.5, -0.2, 1.0))
    spec = kan.layers[0]
    kan = kan._replace(layers=(spec._replace(mask=((1, 1), (0, 1))),))
    x = np.array([[0.4, -0.9], [-1.4, 0.95], [2.0, -3.0]])
    knots = -1.5 + (np.arange(4 + 2 * 3 + 1) - 3) * (2.5 / 4)
    coef, w_b, w_s = (np.asarray(p[0][k]) for k in ("coef", "w_b", "w_s"))
    want = np.zeros((3, 2))
    for n, row in enumerate(x):
        for i, j in ((0, 0), (1, 1)):                      # the spline edges
            spline = BSpline(knots, coef[i, j], 3)(np.clip(row[i], -1.5, 1.0))
            want[n, j] += w_b[i, j] * row[i] / (1 + np.exp(-row[i])) + w_s[i, j] * spline
        want[n, 1] += 1.5 * np.sin(2.0 * row[0] + 0.3) - 0.2  # the symbolic edge (0, 1)
    np.testing.assert_allclose(np.asarray(kan.apply(p, jnp.asarray(x))), want, rtol=1e-12)
    phi_sum = kan_activations(kan, p, jnp.asarray(x))[0].phi.sum(axis=1)
    np.testing.assert_allclose(np.asarray(phi_sum), want, rtol=1e-12)
    check_grads(lambda q, v: kan.apply(q, v), (p, jnp.asarray(x[:2])), order=2,
                modes=("rev",), atol=1e-6, rtol=1e-6)


def test_model_convention_shapes_and_seeds():
    kan = KAN.create((3, 4, 2), grid_size=4)
    a = kan.init(jax.random.key(0), jnp.zeros(3))
    b = kan.init(jax.random.key(1), jnp.zeros(3))
    assert a[0]["coef"].shape == (3, 4, 7) and a[1]["w_b"].shape == (4, 2)
    assert not np.allclose(a[0]["coef"], b[0]["coef"])
    x = jax.random.uniform(jax.random.key(2), (5, 3), minval=-1, maxval=1)
    y = kan.apply(a, x)
    assert y.shape == (5, 2)
    np.testing.assert_allclose(kan.apply(a, x[0]), y[0], rtol=1e-5, atol=1e-6)
    from jaxphys.nn._kan import _apply_jit
    n_compiled = _apply_jit._cache_size()
    kan.apply(b, x + 0.5)                                    # same shapes: no recompilation
    assert _apply_jit._cache_size() == n_compiled
    with pytest.raises(ValueError, match="x"):
        kan.apply(a, jnp.zeros((5, 2)))
    with pytest.raises(ValueError, match="widths"):
        KAN.create((3,))
    with pytest.raises(ValueError, match="grid_range"):
        KAN.create((2, 1), grid_range=(1.0, -1.0))


def test_forward_equals_hand_written_edge_sum(x64):
    kan = KAN.create((2, 1), grid_size=3, order=2, grid_range=(-2.0, 2.0))
    p = kan.init(jax.random.key(0), jnp.zeros(2))
    x = np.array([0.3, -1.1])
    knots = -2.0 + (np.arange(3 + 2 * 2 + 1) - 2) * (4.0 / 3)
    want = 0.0
    for i in range(2):
        spline = BSpline(knots, np.asarray(p[0]["coef"][i, 0]), 2)(x[i])
        want += float(p[0]["w_b"][i, 0]) * x[i] / (1 + np.exp(-x[i])) \
            + float(p[0]["w_s"][i, 0]) * spline
    np.testing.assert_allclose(float(kan.apply(p, jnp.asarray(x))[0]), want, rtol=1e-12)


def test_out_of_range_inputs_clip_the_spline_and_can_raise(x64):
    kan = KAN.create((2, 1), grid_size=5)
    p = kan.init(jax.random.key(0), jnp.zeros(2))
    p = [{**p[0], "w_b": jnp.zeros_like(p[0]["w_b"])}]      # spline terms only
    inside = kan.apply(p, jnp.array([1.0, -1.0]))
    outside = kan.apply(p, jnp.array([3.5, -7.0]))            # clipped to the range ends
    np.testing.assert_allclose(outside, inside, rtol=1e-12)
    with pytest.raises(ValueError, match="x"):
        check_in_range(kan, jnp.array([[0.0, 0.0], [0.0, 1.5]]))
    check_in_range(kan, jnp.array([[1.0, -1.0]]))             # the end points are inside
    strict = kan._replace(out_of_range="error")
    with pytest.raises(ValueError, match="x: input 0"):
        strict.apply(p, jnp.array([1.2, 0.0]))
    with pytest.raises(ValueError, match="out_of_range"):
        KAN.create((2, 1), out_of_range="extrapolate")


def test_grid_extension_preserves_the_function(x64):
    kan = KAN.create((2, 3, 1), grid_size=5)
    p = kan.init(jax.random.key(0), jnp.zeros(2), noise=0.5)
    x = jnp.stack(jnp.meshgrid(jnp.linspace(-1, 1, 41), jnp.linspace(-1, 1, 41)), -1)
    x = x.reshape(-1, 2)
    coarse = kan.apply(p, x)
    # nested grid (G' = 2G, same ranges): the coarse splines lie in the fine space
    fine_kan, fine_p = refine_grid(kan, p, 10)
    assert fine_kan.grid_size == 10 and fine_p[0]["coef"].shape == (2, 3, 13)
    np.testing.assert_allclose(fine_kan.apply(fine_p, x), coarse, atol=1e-10)
    # non-nested grid and hidden ranges fitted to the data: equal to approximation error
    other_kan, other_p = refine_grid(kan, p, 13, x)
    hidden = np.asarray(kan_activations(kan, p, x)[1].inputs)
    assert other_kan.layers[1].lo[0] <= hidden[:, 0].min()
    assert other_kan.layers[1].hi[0] >= hidden[:, 0].max()
    scale = float(jnp.std(coarse))
    assert float(jnp.max(jnp.abs(other_kan.apply(other_p, x) - coarse))) < 0.02 * scale


def test_pruning_removes_dead_nodes_and_keeps_the_function(x64):
    kan = KAN.create((2, 3, 1), grid_size=4)
    p = kan.init(jax.random.key(0), jnp.zeros(2))
    dead = {k: v.at[1].set(0.0) for k, v in p[1].items() if k != "sym"}   # node 1 has no output
    p = [p[0], {**p[1], **dead}]
    x = jax.random.uniform(jax.random.key(1), (200, 2), minval=-1, maxval=1)
    out = prune(kan, p, x, node_threshold=1e-3)
    assert out.kan.widths == (2, 2, 1)
    assert out.kept_nodes == ((0, 2),)
    np.testing.assert_allclose(out.kan.apply(out.params, x), kan.apply(p, x), atol=1e-12)
    # an edge below the edge threshold is masked, and only that edge
    scores = np.asarray(out.edge_scores[0])[:, [0, 2]]       # scores of the kept nodes' edges
    cut = float(np.sort(scores.ravel())[0]) * 1.0001
    masked = prune(kan, p, x, node_threshold=1e-3, edge_threshold=cut)
    assert sum(map(sum, masked.kan.layers[0].mask)) == 3


def test_symbolic_library_errors_and_exact_fits(x64):
    x = np.linspace(-1, 1, 101)
    with pytest.raises(ValueError, match="name"):
        fit_symbolic_edge(x, x, "sinh")
    with pytest.raises(ValueError, match="name"):
        suggest_symbolic(x, x, ["x", "bessel"])
    with pytest.raises(ValueError, match="y"):
        fit_symbolic_edge(x, x[:-1], "sin")
    with pytest.raises(ValueError, match="y"):
        fit_symbolic_edge(x, np.where(x > 0, np.nan, x), "sin")
    fits = suggest_symbolic(x, 0.5 * np.exp(1.5 * x - 0.2) + 3.0)
    assert fits[0].name == "exp" and fits[0].r2 > 1 - 1e-12
    y = 3.0 * np.tanh(2.0 * x) - 1.0
    best = suggest_symbolic(x, y)[0]
    assert best.name == "tanh" and best.r2 > 1 - 1e-12
    kan = KAN.create((2, 1), grid_size=3)
    p = kan.init(jax.random.key(0), jnp.zeros(2))
    with pytest.raises(ValueError, match="spline"):
        symbolic_formula(kan, p)


@pytest.mark.slow   # tests/test_tour.py checks the quick chapter's recovery in the default tier
@pytest.mark.no_key_reuse_check
def test_kan_recovers_exp_sin_plus_square(x64):
    """Done-when: RMSE < 1e-3 after grid extension; sin / x² / exp found with r² > 0.999;
    the printed formula evaluates to the target within 1e-4."""
    train_key, test_key, init_key = jax.random.split(jax.random.key(0), 3)
    x_train = jax.random.uniform(train_key, (1000, 2), minval=-1, maxval=1)
    x_test = jax.random.uniform(test_key, (1000, 2), minval=-1, maxval=1)
    y_train, y_test = target(x_train), target(x_test)
    kan = KAN.create((2, 1, 1), grid_size=5)
    params = kan.init(init_key, x_train[0])
    # a short start on G = 5, then G = 10 with the hidden range fitted to the data, then G = 20
    params = train_lbfgs(mse_loss(kan), params, (x_train, y_train), 30).state.params
    kan, params = refine_grid(kan, params, 10, x_train)
    params = train_lbfgs(mse_loss(kan), params, (x_train, y_train), 150).state.params
    coarse_rmse = float(jnp.sqrt(jnp.mean((kan.apply(params, x_test)[:, 0] - y_test) ** 2)))
    kan, params = refine_grid(kan, params, 20, x_train)
    params = train_lbfgs(mse_loss(kan), params, (x_train, y_train), 500).state.params
    rmse = float(jnp.sqrt(jnp.mean((kan.apply(params, x_test)[:, 0] - y_test) ** 2)))
    assert rmse < 1e-3 < coarse_rmse

    sym_kan, sym_params, fits = auto_symbolic(kan, params, x_train)
    assert fits[(0, 0, 0)].name == "sin" and fits[(0, 0, 0)].r2 > 0.999
    assert fits[(0, 1, 0)].name == "x^2" and fits[(0, 1, 0)].r2 > 0.999
    assert fits[(1, 0, 0)].name == "exp" and fits[(1, 0, 0)].r2 > 0.999
    sym_params = train_lbfgs(mse_loss(sym_kan), sym_params, (x_train, y_train), 200).state.params
    formula = symbolic_formula(sym_kan, sym_params, ["x", "y"])[0]
    namespace = {"sin": np.sin, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
                 "tanh": np.tanh, "abs": np.abs, "x": np.asarray(x_test[:, 0]),
                 "y": np.asarray(x_test[:, 1])}
    value = eval(formula, {"__builtins__": {}}, namespace)  # noqa: S307
    want = np.exp(np.sin(np.pi * namespace["x"]) + namespace["y"] ** 2)
    np.testing.assert_allclose(value, want, atol=1e-4)


@pytest.mark.no_key_reuse_check
def test_trains_with_adam_through_core_fit():
    kan = KAN.create((2, 1, 1), grid_size=5)
    data_key, init_key, fit_key = jax.random.split(jax.random.key(0), 3)
    x = jax.random.uniform(data_key, (256, 2), minval=-1, maxval=1)
    data = {"x": x, "y": target(x)}

    def loss_fn(params, batch, key):
        pred = kan.apply(params, batch["x"])[:, 0]
        return jnp.mean((pred - batch["y"]) ** 2), {}

    params = kan.init(init_key, x[0])
    state = TrainState.create(params, optax.adam(1e-2))
    first = float(loss_fn(params, data, None)[0])
    res = fit(fit_key, state, data, loss_fn=loss_fn, n_steps=200, batch_size=64,
              progress=False)
    last = float(loss_fn(res.state.params, data, None)[0])
    assert last < 0.1 * first
