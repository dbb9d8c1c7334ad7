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
