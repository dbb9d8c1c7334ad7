"""The lean rational-quadratic spline and the statically split coupling layer, against
distrax (run side by side on the same parameters), the inverse, jax.jacfwd and
monotonicity; NeuralSplineFlow against the distrax MaskedCoupling construction.

Each comparison runs in one jitted call (op-by-op dispatch of distrax's vectorised
spline is slow)."""

import dataclasses

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.generative._bijectors import SplitCoupling
from jaxphys.generative._flows import NeuralSplineFlow, _coupling_mask
from jaxphys.generative._spline import _UNROLL_MIN_SIZE, RationalQuadraticSpline

# the spline has two layouts of the same arithmetic, chosen by the number of elements:
# every comparison runs below and above the threshold
SIZES = {"stacked": 400, "unrolled": 2 * _UNROLL_MIN_SIZE}

LO, HI = -3.0, 4.0


def _params(key, shape, k, scale=1.0, dtype=jnp.float32):
    return scale * jax.random.normal(key, shape + (3 * k + 1,), dtype)


def _ours(params):
    return RationalQuadraticSpline(params, LO, HI)


def _reference(params):
    return distrax.RationalQuadraticSpline(params, LO, HI, boundary_slopes="identity")


def _points(key, n, dtype):
    """Points inside the range and in both tails, plus the two range ends."""
    x = jax.random.uniform(key, (n,), dtype, LO - 2.0, HI + 2.0)
    return x.at[:2].set(jnp.array([LO, HI], dtype))


@jax.jit
def _both_ways(params, x):
    """Forward and inverse ((value, log-det) each) of both splines."""
    out = {}
    for name, make in (("ours", _ours), ("ref", _reference)):
        spline = make(params)
        out[name] = (spline.forward_and_log_det(x), spline.inverse_and_log_det(x))
    return out


@pytest.mark.parametrize("layout", sorted(SIZES))
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_matches_distrax(precision, layout):
    n = SIZES[layout]
    with jax.enable_x64(precision == "float64"):
        dtype = jnp.float32 if precision == "float32" else jnp.float64
        # the unrolled layout sums the knots in another order than distrax's cumsum: in
        # float32 a point within rounding of a knot of a narrow bin may land in the
        # neighbouring bin (one point in 4096 here, 4e-5 off); float64 pins the maths
        tol = {"float32": 1e-5 if layout == "stacked" else 1e-4, "float64": 1e-10}[precision]
        key_p, key_x = jax.random.split(jax.random.key(0))
        params = _params(key_p, (n,), 6, scale=1.5, dtype=dtype)
        x = _points(key_x, n, dtype)
        ours, ref = _ours(params), _reference(params)
        for knots in ("x_pos", "y_pos", "knot_slopes"):
            np.testing.assert_allclose(getattr(ours, knots), getattr(ref, knots), rtol=tol,
                                       atol=tol, err_msg=knots)
        out = _both_ways(params, x)
        for got, want, method in zip(out["ours"], out["ref"], ("forward", "inverse")):
            assert got[0].dtype == dtype and got[0].shape == x.shape
            for g, w, what in zip(got, want, ("value", "log_det")):
                np.testing.assert_allclose(g, w, rtol=tol, atol=tol,
                                           err_msg=f"{method} {what}")


def test_broadcasts_like_distrax():
    """One spline per coordinate (d, P) applied to a batch (n, d), and one spline for all."""
    key_x, *keys_p = jax.random.split(jax.random.key(1), 3)
    x = jax.random.normal(key_x, (5, 3)) * 2.0
    for shape, key_p in zip([(3,), ()], keys_p):
        params = _params(key_p, shape, 4)
        got = jax.jit(lambda p, v: _ours(p).forward_and_log_det(v))(params, x)
        # distrax's vectorize needs the broadcast spelled out under strict rank promotion
        full = jnp.broadcast_to(params, (5, 3) + params.shape[-1:])
        want = jax.jit(lambda p, v: _reference(p).forward_and_log_det(v))(full, x)
        for g, w in zip(got, want):
            assert g.shape == (5, 3)
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_inverse_of_forward_including_tails_and_knots(x64):
    key_p, key_x = jax.random.split(jax.random.key(2))
    k = 8
    params = _params(key_p, (), k, dtype=jnp.float64)
    spline = _ours(params)
    x = jnp.concatenate([spline.x_pos, _points(key_x, 200, jnp.float64),
                         jnp.array([-1e3, 1e3])])

    @jax.jit
    def run(params, x):
        spline = _ours(params)
        y, ld_fwd = spline.forward_and_log_det(x)
        x_back, ld_inv = spline.inverse_and_log_det(y)
        return y, ld_fwd, x_back, ld_inv, spline.inverse(spline.y_pos)

    y, ld_fwd, x_back, ld_inv, x_knots = run(params, x)
    # the knots map to the knots, both ways
    np.testing.assert_allclose(y[:k + 1], spline.y_pos, rtol=0, atol=1e-12)
    np.testing.assert_allclose(x_knots, spline.x_pos, rtol=0, atol=1e-12)
    np.testing.assert_allclose(x_back, x, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ld_inv, -ld_fwd, rtol=0, atol=1e-10)
    # identity tails
    outside = (x <= LO) | (x >= HI)
    assert int(outside.sum()) > 20
    np.testing.assert_array_equal(y[outside], x[outside])
    np.testing.assert_array_equal(ld_fwd[outside], 0.0)


def test_log_det_is_log_derivative(x64):
    key_p, key_x = jax.random.split(jax.random.key(3))
    params = _params(key_p, (), 5, scale=1.5, dtype=jnp.float64)
    x = _points(key_x, 300, jnp.float64)

    @jax.jit
    def run(params, x):
        spline = _ours(params)
        dfwd = jax.vmap(jax.jacfwd(spline.forward))(x)
        dinv = jax.vmap(jax.jacfwd(spline.inverse))(x)
        return (spline.forward_log_det_jacobian(x), jnp.log(jnp.abs(dfwd)),
                spline.inverse_log_det_jacobian(x), jnp.log(jnp.abs(dinv)))

    ld_fwd, want_fwd, ld_inv, want_inv = run(params, x)
    np.testing.assert_allclose(ld_fwd, want_fwd, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ld_inv, want_inv, rtol=1e-10, atol=1e-10)


def test_monotone_and_continuously_differentiable(x64):
    params = _params(jax.random.key(4), (), 8, scale=2.0, dtype=jnp.float64)
    spline = _ours(params)
    fwd = jax.jit(lambda p, v: _ours(p).forward_and_log_det(v))
    x = jnp.linspace(LO - 1.0, HI + 1.0, 20001)
    y, _ = fwd(params, x)
    assert bool(jnp.all(jnp.diff(y) > 0))
    assert float(jnp.max(jnp.abs(y - x))) > 0.1                  # not the identity
    # C^1: the log-derivative is the same just left and right of every knot
    # (range ends included, where it meets the identity tails' 0)
    eps = 1e-10
    _, ld_left = fwd(params, spline.x_pos - eps)
    _, ld_right = fwd(params, spline.x_pos + eps)
    assert float(jnp.max(jnp.abs(ld_left[1:-1]))) > 0.1          # knots with slope != 1
    np.testing.assert_allclose(ld_left, ld_right, rtol=0, atol=1e-4)


def test_zero_params_is_identity():
    spline = _ours(jnp.zeros((4, 13)))
    x = jnp.array([LO - 1.0, -1.0, 0.5, HI + 2.0])
    for y, ld in (spline.forward_and_log_det(x), spline.inverse_and_log_det(x)):
        np.testing.assert_allclose(y, x, atol=1e-6)
        np.testing.assert_allclose(ld, 0.0, atol=1e-6)


@pytest.mark.parametrize("layout", sorted(SIZES))
def test_gradients_finite_at_identity_and_match_distrax(layout):
    """Training starts from zero conditioner outputs: the spline's parameter gradients
    there must be finite (the unselected root branch divides 0 by 0). The values are
    compared in float64 (in float32 the two layouts' summation orders differ from
    distrax's by a few 1e-4 relative on gradients of size 30)."""
    n = 64 if layout == "stacked" else SIZES[layout]

    def loss(params, x, make):
        spline = make(params)
        return jnp.sum(spline.inverse_and_log_det(x)[1] + spline.inverse(x)
                       + spline.forward_and_log_det(x)[1] + spline.forward(x))

    grad = jax.jit(jax.grad(loss), static_argnums=2)
    x = jnp.linspace(LO - 0.5, HI + 0.5, n)
    assert bool(jnp.all(jnp.isfinite(grad(jnp.zeros((n, 3 * 6 + 1)), x, _ours))))
    with jax.enable_x64(True):
        x = jnp.linspace(LO - 0.5, HI + 0.5, n, dtype=jnp.float64)
        for params in (jnp.zeros((n, 3 * 6 + 1), jnp.float64),
                       _params(jax.random.key(5), (n,), 6, dtype=jnp.float64)):
            g, g_ref = grad(params, x, _ours), grad(params, x, _reference)
            assert bool(jnp.all(jnp.isfinite(g)))
            np.testing.assert_allclose(g, g_ref, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("kwargs, name", [
    ({"params": jnp.zeros(12)}, "params"),
    ({"params": jnp.zeros(3)}, "params"),
    ({"range_min": 1.0, "range_max": 1.0}, "range_min"),
    ({"min_bin_size": 0.0}, "min_bin_size"),
    ({"min_bin_size": 2.0}, "min_bin_size"),
    ({"min_knot_slope": 1.0}, "min_knot_slope"),
])
def test_bad_arguments(kwargs, name):
    args = {"params": jnp.zeros(13), "range_min": LO, "range_max": HI, **kwargs}
    params, lo, hi = args.pop("params"), args.pop("range_min"), args.pop("range_max")
    with pytest.raises(ValueError, match=name):
        RationalQuadraticSpline(params, lo, hi, **args)


def _conditioner(key, d, n_params):
    key_w, key_b = jax.random.split(key)
    w = jax.random.normal(key_w, (d, d * n_params))
    b = jax.random.normal(key_b, (d * n_params,))

    def net(x):
        h = x @ w
        return jnp.tanh(h + jnp.broadcast_to(b, h.shape)).reshape(x.shape[:-1] + (d, n_params))
    return net


def _on_kept(net, mask):
    """The full-width conditioner ``net`` (masked x -> (..., d, P)) as a SplitCoupling
    conditioner (kept coordinates -> rows of the transformed ones)."""
    keep, move = np.flatnonzero(mask), np.flatnonzero(~mask)

    def conditioner(kept):
        x = jnp.zeros(kept.shape[:-1] + (mask.size,), kept.dtype).at[..., keep].set(kept)
        return net(x)[..., move, :]

    return conditioner


@pytest.mark.parametrize("mask", [[True, False], [False, True], [True, True, False, False, False],
                                  [False, True, False, True], [True, False, False, True, False],
                                  [False]])
def test_split_coupling_matches_masked_coupling(x64, mask):
    mask = np.array(mask)
    d, k = mask.size, 4
    key_c, key_x = jax.random.split(jax.random.key(6))
    net = _conditioner(key_c, d, 3 * k + 1)
    ours = SplitCoupling(mask, _on_kept(net, mask), _ours)
    ref = distrax.MaskedCoupling(jnp.asarray(mask), net, _reference)
    x = 2.0 * jax.random.normal(key_x, (7, d))

    @jax.jit
    def run(x):
        return ([(b.forward_and_log_det(x), b.inverse_and_log_det(x)) for b in (ours, ref)],
                ours.inverse(ours.forward(x)))

    (got, want), x_back = run(x)
    for g_dir, w_dir, method in zip(got, want, ("forward", "inverse")):
        assert g_dir[0].shape == (7, d) and g_dir[1].shape == (7,)
        for g, w in zip(g_dir, w_dir):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=method)
    y = got[0][0]
    assert not np.allclose(y, x)
    np.testing.assert_array_equal(y[:, mask], x[:, mask])        # kept coordinates
    np.testing.assert_allclose(x_back, x, atol=1e-10)


def test_split_coupling_bad_input():
    with pytest.raises(ValueError, match="mask"):
        SplitCoupling(np.array([True, True]), None, None)
    with pytest.raises(ValueError, match="mask"):
        SplitCoupling(np.array([1, 0]), None, None)
    mask = np.array([True, False])
    layer = SplitCoupling(mask, _on_kept(_conditioner(jax.random.key(0), 2, 13), mask), _ours)
    with pytest.raises(ValueError, match=r"x: expected shape \(\.\.\., 2\)"):
        layer.forward(jnp.zeros((4, 3)))


@dataclasses.dataclass(frozen=True)
class _DistraxSplineFlow(NeuralSplineFlow):
    """The same flow built from distrax alone: the inverse of a distrax MaskedCoupling
    around distrax's spline, its full-width conditioner reading the kept coordinates of
    the masked input and filling the rows of the transformed ones (the kept rows are
    zero: distrax's identity spline, and masked out anyway)."""

    def _layer(self, i, d, net):
        def spline(p):
            return distrax.RationalQuadraticSpline(p, self.range_min, self.range_max,
                                                   boundary_slopes="identity")
        mask = _coupling_mask(i, d, self.permutation is None)
        keep, move = np.flatnonzero(mask), np.flatnonzero(~mask)

        def full_width(x):
            rows = net(x[..., keep])
            out = jnp.zeros(rows.shape[:-2] + (d, rows.shape[-1]), rows.dtype)
            return out.at[..., move, :].set(rows)

        return distrax.Inverse(distrax.MaskedCoupling(mask=jnp.asarray(mask),
                                                      conditioner=full_width, bijector=spline))


@pytest.mark.parametrize("d, permutation", [(2, "reverse"), (5, "random")])
def test_flow_log_prob_and_sample_match_distrax_construction(x64, d, permutation):
    kwargs = dict(n_layers=2, hidden=(16,), n_bins=5, permutation=permutation)
    flow, ref = NeuralSplineFlow(**kwargs), _DistraxSplineFlow(**kwargs)
    key_p, key_n, key_x = jax.random.split(jax.random.key(7), 3)
    params = flow.init(key_p, jnp.zeros(d))
    leaves, tree = jax.tree.flatten(params)
    noise = jax.random.split(key_n, len(leaves))
    # float64 parameters (flax initialises float32), so the whole flow runs in float64
    params = jax.tree.unflatten(tree, [(p + 0.3 * jax.random.normal(k, p.shape, p.dtype))
                                       .astype(jnp.float64) for p, k in zip(leaves, noise)])
    x = 2.0 * jax.random.normal(key_x, (32, d), jnp.float64)

    @jax.jit
    def run(params, x, seed):
        out = []
        # the same seed for both (a clone: a consumed key may not be reused); the
        # samples go through the forward direction
        for f, key in ((flow, seed), (ref, jax.random.clone(seed))):
            dist = f.apply(params)
            out.append((dist.log_prob(x), *dist.sample_and_log_prob(seed=key,
                                                                    sample_shape=16)))
        return out

    got, want = run(params, x, jax.random.key(8))
    for g, w, what in zip(got, want, ("log_prob", "sample", "sample log_prob")):
        assert g.dtype == jnp.float64
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10, err_msg=what)


def test_train_step_compiles_once():
    import optax

    from jaxphys.core import TrainState, make_train_step
    from jaxphys.generative._flows import flow_nll_loss

    flow = NeuralSplineFlow(n_layers=2, hidden=(8,), n_bins=4)
    opt = optax.adam(1e-3)
    init_key, data_key, *step_keys = jax.random.split(jax.random.key(9), 5)
    state = TrainState.create(flow.init(init_key, jnp.zeros(2)), opt)
    step = make_train_step(flow_nll_loss(flow), donate=False)     # the optimiser: state.tx
    x = jax.random.normal(data_key, (32, 2))
    losses = []
    for i, k in enumerate(step_keys):
        state, metrics = step(state, x + 0.1 * i, k)
        losses.append(float(metrics["loss"]))
    assert step._cache_size() == 1
    assert np.all(np.isfinite(losses)) and losses[0] != losses[-1]
