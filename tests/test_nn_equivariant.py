"""Deep Sets invariance, equivariant-layer commutation, EGNN E(n) and permutation symmetry."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.nn._equivariant import EGNN, DeepSets, PermEquivariant


def random_orthogonal(seed, dim, det):
    """A random orthogonal matrix (QR of a Gaussian, numpy) with determinant ``det``."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)))
    q = q * np.sign(np.diag(r))[None, :]
    if np.sign(np.linalg.det(q)) != det:
        q[:, 0] = -q[:, 0]
    assert np.allclose(q @ q.T, np.eye(dim)) and np.isclose(np.linalg.det(q), det)
    return q


@pytest.mark.parametrize("pool", ["sum", "mean", "max"])
def test_deep_sets_is_permutation_invariant(x64, pool):
    model = DeepSets(phi_widths=(16, 16), rho_widths=(16, 2), pool=pool)
    x = jax.random.normal(jax.random.key(0), (9, 3))
    params = model.init(jax.random.key(1), x)
    apply = jax.jit(DeepSets(phi_widths=(16, 16), rho_widths=(16, 2), pool=pool).apply)
    y = apply(params, x)
    assert y.shape == (2,)
    rng = np.random.default_rng(0)
    for _ in range(3):
        perm = rng.permutation(9)
        np.testing.assert_allclose(apply(params, x[perm]), y, rtol=1e-12, atol=1e-12)
    # the set function really depends on the elements
    assert not np.allclose(apply(params, x.at[0].add(1.0)), y)


def test_deep_sets_mask_ignores_padding_and_batches():
    model = DeepSets(phi_widths=(8,), rho_widths=(8, 1), pool="mean")
    x = jax.random.normal(jax.random.key(0), (6, 2))
    params = model.init(jax.random.key(1), x)
    apply = jax.jit(model.apply)
    mask = jnp.array([True, True, True, True, False, False])
    y = apply(params, x, mask)
    padded = x.at[4:].set(100.0)
    np.testing.assert_allclose(apply(params, padded, mask), y, rtol=1e-6)
    np.testing.assert_allclose(apply(params, x[:4]), y, rtol=1e-6)   # same as the 4-set
    batch = jnp.stack([x, padded])
    out = apply(params, batch, jnp.stack([mask, mask]))
    assert out.shape == (2, 1)
    np.testing.assert_allclose(out[1], y, rtol=1e-6)
    with pytest.raises(ValueError, match="mask"):
        model.apply(params, x, jnp.ones(5, bool))
    with pytest.raises(ValueError, match="pool"):
        DeepSets(pool="median").init(jax.random.key(2), x)
    with pytest.raises(ValueError, match="x"):
        model.apply(params, x[0])


@pytest.mark.parametrize("pool", ["mean", "max"])
def test_equivariant_layer_commutes_with_permutations(x64, pool):
    layer = PermEquivariant(features=5, pool=pool)
    x = jax.random.normal(jax.random.key(0), (7, 3))
    params = layer.init(jax.random.key(1), x)
    apply = jax.jit(layer.apply)
    y = apply(params, x)
    assert y.shape == (7, 5)
    perm = np.random.default_rng(1).permutation(7)
    np.testing.assert_allclose(apply(params, x[perm]), y[perm], rtol=1e-12, atol=1e-12)
    # y_i = Λ x_i + Γ pool(x) + β, checked by hand for the mean pool
    if pool == "mean":
        p = params["params"]
        pooled = x.mean(0)
        want = x @ p["lambda"]["kernel"] + p["lambda"]["bias"][None] \
            + (pooled @ p["gamma"]["kernel"])[None]
        np.testing.assert_allclose(y, want, rtol=1e-12)


def _egnn_setup(n=7, dim=3, f=4):
    model = EGNN(hidden=16, n_layers=2, out_features=2)
    h = jax.random.normal(jax.random.key(0), (n, f))
    x = jax.random.normal(jax.random.key(1), (n, dim))
    params = jax.jit(model.init)(jax.random.key(2), h, x)
    return jax.jit(model.apply), params, h, x


@pytest.mark.parametrize("det", [1, -1])
def test_egnn_is_e_n_equivariant(x64, det):
    apply, params, h, x = _egnn_setup()
    out = apply(params, h, x)
    assert not np.allclose(out.coords, x)          # coordinates really move
    q = jnp.asarray(random_orthogonal(3 + det, 3, det))
    shift = jnp.array([0.7, -2.0, 1.3])
    moved = apply(params, h, x @ q.T + shift[None])
    np.testing.assert_allclose(moved.features, out.features, atol=1e-10)
    np.testing.assert_allclose(moved.graph, out.graph, atol=1e-10)
    np.testing.assert_allclose(moved.coords, out.coords @ q.T + shift[None], atol=1e-10)


def test_egnn_permutation_equivariance_and_float32_tolerance():
    apply, params, h, x = _egnn_setup(n=6, dim=2)
    out = apply(params, h, x)
    perm = np.random.default_rng(5).permutation(6)
    p_out = apply(params, h[perm], x[perm])
    np.testing.assert_allclose(p_out.features, out.features[perm], atol=1e-5)
    np.testing.assert_allclose(p_out.coords, out.coords[perm], atol=1e-5)
    np.testing.assert_allclose(p_out.graph, out.graph, atol=1e-5)
    q = jnp.asarray(random_orthogonal(7, 2, -1), jnp.float32)
    moved = apply(params, h, x @ q.T + 3.0)
    np.testing.assert_allclose(moved.coords, out.coords @ q.T + 3.0, atol=1e-4)
    np.testing.assert_allclose(moved.graph, out.graph, atol=1e-4)


def test_egnn_mask_and_input_errors(x64):
    apply, params, h, x = _egnn_setup(n=5)
    mask = jnp.array([True, True, True, False, False])
    out = apply(params, h, x, mask)
    junk = apply(params, h.at[3:].set(9.0), x.at[3:].set(-4.0), mask)
    np.testing.assert_allclose(junk.graph, out.graph, atol=1e-10)
    np.testing.assert_allclose(junk.coords[:3], out.coords[:3], atol=1e-10)
    np.testing.assert_allclose(junk.coords[3:], x.at[3:].set(-4.0)[3:])  # padding stays put
    small = apply(params, h[:3], x[:3])
    np.testing.assert_allclose(small.graph, out.graph, atol=1e-10)
    batched = jax.vmap(apply, in_axes=(None, 0, 0))(params, jnp.stack([h, h]),
                                                          jnp.stack([x, x + 1.0]))
    assert batched.coords.shape == (2, 5, 3)
    with pytest.raises(ValueError, match="h"):
        apply(params, h[0], x)
    with pytest.raises(ValueError, match="x"):
        apply(params, h, x[:4])
    with pytest.raises(ValueError, match="mask"):
        apply(params, h, x, mask[:4])
