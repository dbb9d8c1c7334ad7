"""PCA against scikit-learn (same sign convention applied to both)."""

import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.classical._pca import pca_fit, pca_inverse_transform, pca_transform

sklearn_decomposition = pytest.importorskip("sklearn.decomposition")


def _flip(components):
    """Largest-|loading| entry of each row positive (numpy, independent of the code)."""
    idx = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(components.shape[0]), idx])
    return signs


def _data(n=200, d=6, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) * np.linspace(3.0, 0.2, d)[:, None]
    return rng.normal(size=(n, d)) @ mix + rng.normal(size=d)


@pytest.mark.parametrize("whiten", [False, True])
def test_matches_sklearn(x64, whiten):
    x = _data()
    ours = pca_fit(None, jnp.asarray(x), 4, whiten=whiten)
    ref = sklearn_decomposition.PCA(n_components=4, svd_solver="full", whiten=whiten).fit(x)
    signs = _flip(ref.components_)
    np.testing.assert_allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_,
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(ours.explained_variance, ref.explained_variance_, rtol=1e-5)
    np.testing.assert_allclose(ours.components, ref.components_ * signs[:, None], atol=1e-5)
    np.testing.assert_allclose(pca_transform(ours, jnp.asarray(x)),
                               ref.transform(x) * signs[None, :], atol=1e-5)
    if whiten:
        np.testing.assert_allclose(np.std(np.asarray(pca_transform(ours, x)), axis=0, ddof=1),
                                   1.0, atol=1e-6)


def test_float32_close_to_sklearn():
    x = _data(seed=1).astype(np.float32)
    ours = pca_fit(None, x, 3)
    ref = sklearn_decomposition.PCA(n_components=3, svd_solver="full").fit(x.astype(np.float64))
    np.testing.assert_allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_,
                               atol=1e-5)


def test_components_orthonormal_and_deterministic_sign(x64):
    x = _data(seed=2)
    p = pca_fit(None, x)
    c = np.asarray(p.components)
    np.testing.assert_allclose(c @ c.T, np.eye(c.shape[0]), atol=1e-10)
    assert np.all(c[np.arange(c.shape[0]), np.argmax(np.abs(c), axis=1)] > 0)
    assert float(jnp.sum(p.explained_variance_ratio)) == pytest.approx(1.0, abs=1e-12)
    # the same data with the features' signs flipped gives the same variances
    p2 = pca_fit(None, -x)
    np.testing.assert_allclose(p2.explained_variance, p.explained_variance, rtol=1e-10)


@pytest.mark.parametrize("whiten", [False, True])
def test_inverse_round_trip(x64, whiten):
    x = _data(seed=3)
    full = pca_fit(None, x, whiten=whiten)
    np.testing.assert_allclose(pca_inverse_transform(full, pca_transform(full, x)), x,
                               atol=1e-9)
    # rank-k reconstruction error = the discarded variance (times n - 1)
    part = pca_fit(None, x, 2, whiten=whiten)
    resid = x - np.asarray(pca_inverse_transform(part, pca_transform(part, x)))
    discarded = float(jnp.sum(full.explained_variance[2:])) * (x.shape[0] - 1)
    assert np.sum(resid ** 2) == pytest.approx(discarded, rel=1e-8)


def test_jit_no_recompile():
    x = _data(seed=4).astype(np.float32)
    from jaxphys.classical import _pca
    pca_fit(None, x, 2)
    before = _pca._pca_fit._cache_size()
    pca_fit(None, x + 1.0, 2)
    assert _pca._pca_fit._cache_size() == before


def test_bad_input():
    x = _data(n=5, d=3)
    with pytest.raises(ValueError, match="n_components"):
        pca_fit(None, x, 4)
    with pytest.raises(ValueError, match="n_components"):
        pca_fit(None, x, 0)
    bad = x.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="X"):
        pca_fit(None, bad, 2)
    with pytest.raises(ValueError, match="X"):
        pca_fit(None, x[:, 0], 1)
    p = pca_fit(None, x, 2)
    with pytest.raises(ValueError, match="X"):
        pca_transform(p, x[:, :2])
    with pytest.raises(ValueError, match="X"):
        pca_transform(p, bad)
    with pytest.raises(ValueError, match="Z"):
        pca_inverse_transform(p, np.zeros((3, 3)))
