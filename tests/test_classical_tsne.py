"""t-SNE and trustworthiness against scikit-learn and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.classical._tsne import (_affinities, _grad, _kl, trustworthiness, tsne_affinities,
                                     tsne_fit)

sk_manifold = pytest.importorskip("sklearn.manifold")
sk_datasets = pytest.importorskip("sklearn.datasets")


def test_trustworthiness_matches_sklearn(x64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 6))
    emb = x[:, :2] + 0.3 * rng.normal(size=(150, 2))
    for k in (1, 5, 12):
        ours = float(trustworthiness(x, emb, n_neighbors=k))
        ref = sk_manifold.trustworthiness(x, emb, n_neighbors=k)
        assert ours == pytest.approx(ref, abs=1e-12)
    # a similarity transform keeps every neighbourhood: T = 1
    rot = np.array([[0.6, -0.8], [0.8, 0.6]])
    assert float(trustworthiness(x[:, :2], 3.0 * x[:, :2] @ rot + 1.0, 5)) == pytest.approx(1.0)


def test_affinities_hit_the_perplexity(x64):
    x = np.random.default_rng(1).normal(size=(80, 4)) * np.array([1.0, 2.0, 0.5, 3.0])
    p, beta = _affinities(jnp.asarray(x), jnp.asarray(10.0))
    p, beta = np.asarray(p), np.asarray(beta)
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    for i in range(80):       # numpy: conditional entropy with the returned β_i
        logits = -beta[i] * np.delete(d[i], i)
        cond = np.exp(logits - logits.max())
        cond /= cond.sum()
        assert np.exp(-(cond * np.log(cond)).sum()) == pytest.approx(10.0, rel=1e-6)
    np.testing.assert_allclose(p, p.T, atol=1e-15)
    assert p.sum() == pytest.approx(1.0, abs=1e-8)   # the 1e-12 floor adds n² · 1e-12
    assert np.all(np.diag(p) == 0)
    np.testing.assert_allclose(tsne_affinities(x, 10.0), p, atol=1e-15)


def test_gradient_is_the_kl_gradient(x64):
    rng = np.random.default_rng(2)
    p = rng.random((30, 30))
    p = p + p.T
    np.fill_diagonal(p, 0.0)
    p = jnp.asarray(p / p.sum())
    y = jnp.asarray(rng.normal(size=(30, 2)))
    np.testing.assert_allclose(_grad(p, y), jax.grad(lambda yy: _kl(p, yy))(y), rtol=1e-9,
                               atol=1e-12)


@pytest.mark.no_key_reuse_check
def test_digits_quality():
    digits = sk_datasets.load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    res = tsne_fit(None, x, perplexity=30.0, n_iter=500)
    emb = np.asarray(res.embedding)
    assert np.all(np.isfinite(emb))
    trust = float(trustworthiness(x, emb, n_neighbors=5))
    assert trust >= 0.98
    assert trust == pytest.approx(sk_manifold.trustworthiness(x, emb, n_neighbors=5), abs=1e-4)
    # leave-one-out 5-nearest-neighbour accuracy in the 2-D embedding (numpy)
    d = ((emb[:, None] - emb[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nbrs = np.argsort(d, axis=1)[:, :5]
    pred = np.array([np.bincount(y[row], minlength=10).argmax() for row in nbrs])
    assert np.mean(pred == y) >= 0.95
    # the optimiser made progress and reports a sensible KL
    hist = np.asarray(res.kl_history)
    assert 0.0 < float(res.kl_divergence) < hist[5]


def test_random_init_seeds_differ():
    x = np.random.default_rng(3).normal(size=(40, 3)).astype(np.float32)
    a = tsne_fit(jax.random.key(0), x, perplexity=8.0, n_iter=60, init="random")
    b = tsne_fit(jax.random.key(1), x, perplexity=8.0, n_iter=60, init="random")
    assert not np.allclose(a.embedding, b.embedding)
    assert a.embedding.shape == (40, 2)


def test_bad_input():
    x = np.random.default_rng(4).normal(size=(20, 3))
    with pytest.raises(ValueError, match="perplexity"):
        tsne_fit(None, x, perplexity=20.0)
    with pytest.raises(ValueError, match="perplexity"):
        tsne_fit(None, x, perplexity=0.0)
    with pytest.raises(ValueError, match="perplexity"):
        tsne_affinities(x, 25.0)
    with pytest.raises(ValueError, match="n_components"):
        tsne_fit(None, x, n_components=4, perplexity=5.0)
    with pytest.raises(ValueError, match="init"):
        tsne_fit(None, x, perplexity=5.0, init="spectral")
    with pytest.raises(TypeError, match="key"):
        tsne_fit(None, x, perplexity=5.0, init="random")
    with pytest.raises(ValueError, match="momentum"):
        tsne_fit(None, x, perplexity=5.0, momentum=(0.5, 1.2))
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        tsne_fit(None, bad, perplexity=5.0)
    with pytest.raises(ValueError, match="embedding"):
        trustworthiness(x, x[:10, :2])
    with pytest.raises(ValueError, match="n_neighbors"):
        trustworthiness(x, x[:, :2], n_neighbors=10)


def test_sparse_affinities_are_knn_at_the_perplexity(x64):
    from jaxphys.classical._tsne_fft import sparse_affinities, symmetric_edges

    sk_neighbors = pytest.importorskip("sklearn.neighbors")
    x = np.random.default_rng(5).normal(size=(300, 5))
    nbr, v, beta = (np.asarray(a) for a in sparse_affinities(jnp.asarray(x), 10.0, 30))
    ref = sk_neighbors.NearestNeighbors(n_neighbors=31).fit(x).kneighbors(x)[1][:, 1:]
    np.testing.assert_array_equal(np.sort(nbr, axis=1), np.sort(ref, axis=1))
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    cond = 2.0 * 300 * v                                    # p_{j|i} over the neighbours
    np.testing.assert_allclose(cond.sum(1), 1.0, rtol=1e-10)
    for i in range(0, 300, 37):                              # Gaussian in distance, perp 10
        logits = -beta[i] * d[i, nbr[i]]
        expected = np.exp(logits - logits.max())
        np.testing.assert_allclose(cond[i], expected / expected.sum(), rtol=1e-8)
        assert np.exp(-(cond[i] * np.log(cond[i])).sum()) == pytest.approx(10.0, rel=1e-6)
    # the symmetric P: p_ij = p_ji, summing to 1 over the ordered pairs
    p, count = (np.asarray(a) for a in symmetric_edges(jnp.asarray(nbr), jnp.asarray(v)))
    dense = np.zeros((300, 300))
    np.add.at(dense, (np.repeat(np.arange(300), 30), nbr.ravel()), v.ravel())
    dense = dense + dense.T
    np.testing.assert_allclose(p, dense[np.arange(300)[:, None], nbr], rtol=1e-12)
    assert float((count * p).sum()) == pytest.approx(dense.sum(), rel=1e-12) == 1.0


def test_interpolated_kernel_sums_match_direct_sums(x64):
    from jaxphys.classical._tsne_fft import grid_spectra, kernel_sums

    y = np.random.default_rng(6).normal(size=(400, 2)) * np.array([12.0, 6.0])
    y -= y.mean(0)
    w = 1.0 / (1.0 + ((y[:, None] - y[None]) ** 2).sum(-1))
    direct_rep = y * (w ** 2).sum(1)[:, None] - (w ** 2) @ y
    errors = []
    for width, tol in ((1.0, 5e-2), (0.5, 6e-3), (0.25, 1e-3)):
        s1, s2, s2y = (np.asarray(a) for a in kernel_sums(
            jnp.asarray(y), width, 3, grid_spectra(width, 3, jnp.float64)))
        rep = y * s2[:, None] - s2y
        errors.append(np.linalg.norm(rep - direct_rep) / np.linalg.norm(direct_rep))
        assert errors[-1] < tol
        # Z = sum_ij w_ij (the only use of s1): within tol / 10
        assert abs((s1.sum() - 400) / (w.sum() - 400) - 1) < tol / 10
    # 3-point Lagrange interpolation: the error falls at least as h^3 when h halves
    assert errors[1] < errors[0] / 6 and errors[2] < errors[1] / 6
    # past the largest grid (extent 285 > 256 boxes of width 1) the boxes widen to
    # cover the points (here to width 1.11): the error grows a little
    big = y * 4.0
    w = 1.0 / (1.0 + ((big[:, None] - big[None]) ** 2).sum(-1))
    direct_rep = big * (w ** 2).sum(1)[:, None] - (w ** 2) @ big
    s1, s2, s2y = (np.asarray(a) for a in kernel_sums(jnp.asarray(big), 1.0, 3,
                                                       grid_spectra(1.0, 3, jnp.float64)))
    rep = big * s2[:, None] - s2y
    assert np.linalg.norm(rep - direct_rep) / np.linalg.norm(direct_rep) < 6e-2


def test_sparse_gradient_is_the_kl_gradient(x64):
    from jaxphys.classical._tsne_fft import (grid_spectra, sparse_affinities, sparse_gradient,
                                             sparse_kl, symmetric_edges)

    rng = np.random.default_rng(7)
    x = jnp.asarray(rng.normal(size=(150, 4)))
    nbr, v, _ = sparse_affinities(x, 8.0, 24)
    p_sym, count = symmetric_edges(nbr, v)
    dense = jnp.zeros((150, 150)).at[jnp.repeat(jnp.arange(150), 24), nbr.reshape(-1)].add(
        v.reshape(-1))
    dense = dense + dense.T
    y = jnp.asarray(rng.normal(size=(150, 2)) * 3.0)
    spectra = grid_spectra(0.25, 3, jnp.float64)
    grad, z = sparse_gradient(y, nbr, v, 1.0, 0.25, 3, spectra)
    exact = _grad(dense, y)                 # the exact method's gradient, same P
    assert float(jnp.linalg.norm(grad - exact) / jnp.linalg.norm(exact)) < 1e-2
    # the sparse KL equals the exact method's KL with the same P (Z interpolated)
    assert float(sparse_kl(y, nbr, p_sym, count, z)) == pytest.approx(float(_kl(dense, y)),
                                                                       rel=1e-3)


@pytest.mark.no_key_reuse_check
def test_fft_method_on_digits_as_good_as_exact():
    digits = sk_datasets.load_digits()
    x = (digits.data[:600] / 16.0).astype(np.float32)
    kw = dict(perplexity=20.0, n_iter=400)
    fft = tsne_fit(None, x, method="fft", **kw)
    exact = tsne_fit(None, x, method="exact", **kw)
    t_fft = float(trustworthiness(x, fft.embedding, 5))
    t_exact = float(trustworthiness(x, exact.embedding, 5))
    assert t_fft >= 0.97 and abs(t_fft - t_exact) <= 0.01, (t_fft, t_exact)
    hist = np.asarray(fft.kl_history)
    assert np.all(np.isfinite(hist)) and 0.0 < float(fft.kl_divergence) < hist[5]
    # "auto" picks the exact method at this size
    auto = tsne_fit(None, x, **kw)
    np.testing.assert_allclose(auto.embedding, exact.embedding)


def test_fft_bad_input():
    x = np.random.default_rng(8).normal(size=(40, 3))
    with pytest.raises(ValueError, match="method"):
        tsne_fit(None, x, perplexity=5.0, method="barnes_hut")
    with pytest.raises(ValueError, match="n_components"):
        tsne_fit(None, x, n_components=3, perplexity=5.0, method="fft")
    with pytest.raises(ValueError, match="box_width"):
        tsne_fit(None, x, perplexity=5.0, method="fft", box_width=0.0)
    with pytest.raises(ValueError, match="n_interpolation_nodes"):
        tsne_fit(None, x, perplexity=5.0, method="fft", n_interpolation_nodes=1)


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("n", [1797, 70000])
def test_fft_trustworthiness_equals_opentsne(n):
    """The digits, and 70 000 points of the benchmark's synthetic mixture (minutes on
    two cores): trustworthiness (k = 5; on 5000 random points at 70 000) within 0.002
    of openTSNE's with the same perplexity and iterations."""
    open_tsne = pytest.importorskip("openTSNE")
    if n == 1797:
        x = (sk_datasets.load_digits().data / 16.0).astype(np.float32)
        sub = np.arange(n)
    else:
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from benchmarks.classical_pca_tsne import synthetic_mixture

        x, _ = synthetic_mixture(n)
        sub = np.sort(np.random.default_rng(1).choice(n, 5000, replace=False))
    ours = np.asarray(tsne_fit(None, x, perplexity=30.0, n_iter=1000, method="fft").embedding)
    ref = np.asarray(open_tsne.TSNE(perplexity=30.0, n_iter=750, early_exaggeration_iter=250,
                                    n_jobs=2, random_state=0).fit(x.astype(np.float64)))
    t_ours = float(trustworthiness(x[sub], ours[sub], 5))
    t_ref = float(trustworthiness(x[sub], ref[sub], 5))
    assert t_ours >= t_ref - 0.002, (t_ours, t_ref)
