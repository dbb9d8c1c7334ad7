"""VAE: distrax posterior, closed-form KL vs Monte Carlo, importance-sampled
likelihood against an independent-pixel baseline, sampling, interpolation, bad input."""

import distrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from jaxphys.data import load_digits
from jaxphys.generative._vae import (VAE, elbo, importance_log_likelihood, interpolate,
                                     latent_manifold, latent_traversal, sample_prior,
                                     train_vae)


def _binarised_digits():
    x = (np.asarray(load_digits().x).reshape(-1, 64) > 0.5).astype(np.float32)
    perm = np.random.default_rng(0).permutation(len(x))
    return x[perm[:1400]], x[perm[1400:]]


def test_posterior_is_distrax_diagonal_gaussian_with_reparameterised_samples():
    vae = VAE(data_dim=4, latent_dim=3, hidden=(8,))
    v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
    q = vae.apply(v, jnp.ones((5, 4)))
    assert isinstance(q, distrax.MultivariateNormalDiag)
    assert q.batch_shape == (5,) and q.event_shape == (3,)

    def first_sample(loc_shift):
        q2 = distrax.MultivariateNormalDiag(q.loc + loc_shift, q.scale_diag)
        return jnp.sum(q2.sample(seed=jax.random.key(1)))

    # z = μ + σ ε: dz/dμ = 1 for every entry (the gradient flows through the sample)
    g = jax.grad(first_sample)(jnp.zeros((5, 3)))
    np.testing.assert_allclose(g, np.ones((5, 3)))


def test_closed_form_kl_equals_monte_carlo(x64):
    vae = VAE(data_dim=6, latent_dim=4, hidden=(16,))
    v = vae.init(jax.random.key(0), jnp.zeros((1, 6)))
    x = jax.random.normal(jax.random.key(1), (3, 6))
    terms = elbo(vae, v, x, jax.random.key(2))
    q = vae.apply(v, x)
    loc, scale = np.asarray(q.loc), np.asarray(q.scale_diag)
    rng = np.random.default_rng(0)
    for i in range(3):
        z = loc[i] + scale[i] * rng.normal(size=(200_000, 4))
        log_ratio = (stats.norm.logpdf(z, loc[i], scale[i]).sum(1)
                     - stats.norm.logpdf(z).sum(1))
        mc, err = log_ratio.mean(), log_ratio.std() / np.sqrt(len(z))
        assert abs(float(terms.kl[i]) - mc) < 4 * err + 1e-6, (float(terms.kl[i]), mc, err)


@pytest.mark.no_key_reuse_check
def test_importance_sampled_likelihood_beats_independent_pixels_on_binarised_digits():
    train, test = _binarised_digits()
    # baseline: one Bernoulli per pixel fitted on train (Laplace-smoothed)
    p = (train.sum(0) + 1.0) / (len(train) + 2.0)
    base_ll = np.mean(np.sum(test * np.log(p) + (1 - test) * np.log1p(-p), axis=1))
    vae = VAE(data_dim=64, latent_dim=8, hidden=(128,))
    res = train_vae(jax.random.key(0), vae, train, n_steps=3000, batch_size=128,
                    learning_rate=2e-3)
    ll = importance_log_likelihood(jax.random.key(1), vae, res.state.params, test, k=200)
    ll_mean = float(jnp.mean(ll))
    elbo_mean = float(jnp.mean(elbo(vae, res.state.params, jnp.asarray(test),
                                    jax.random.key(2)).elbo))
    assert ll_mean - base_ll >= 5.0, (ll_mean, base_ll)
    assert ll_mean >= elbo_mean - 0.5              # the k-sample bound is tighter than the ELBO


def test_sampling_interpolation_traversal_and_manifold():
    vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
    v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
    a, b = jnp.zeros(4), jnp.ones(4)
    path = interpolate(vae, v, a, b, 6)
    mu = vae.apply(v, jnp.stack([a, b])).mean()
    ends = vae.apply(v, mu, method="decode").mean()
    np.testing.assert_allclose(path[0], ends[0], rtol=1e-5)
    np.testing.assert_allclose(path[-1], ends[1], rtol=1e-5)
    trav = latent_traversal(vae, v, jnp.zeros(2), 0, jnp.array([-1.0, 0.0, 1.0]))
    np.testing.assert_allclose(trav[1], vae.apply(v, jnp.zeros((1, 2)), method="decode").mean()[0],
                               rtol=1e-5)
    grid = latent_manifold(vae, v, 5)
    assert grid.shape == (5, 5, 4)
    s1 = sample_prior(jax.random.key(1), vae, v, 7)
    s2 = sample_prior(jax.random.key(2), vae, v, 7)
    assert s1.shape == (7, 4) and bool(jnp.all((s1 > 0) & (s1 < 1)))
    assert not np.allclose(s1, s2)
    binary = sample_prior(jax.random.key(3), vae, v, 7, mean=False)
    assert set(np.unique(np.asarray(binary))) <= {0.0, 1.0}


@pytest.mark.no_key_reuse_check
def test_gaussian_decoder_vae_learns_scale_and_beta_weights_kl():
    x = np.random.default_rng(0).normal(size=(512, 3)).astype(np.float32) * [1.0, 0.5, 0.2]
    vae = VAE(data_dim=3, latent_dim=2, hidden=(32,), likelihood="gaussian")
    res = train_vae(jax.random.key(0), vae, x, n_steps=600, batch_size=128, learning_rate=3e-3)
    assert res.history["loss"][-1] < res.history["loss"][0]
    t1 = elbo(vae, res.state.params, jnp.asarray(x), jax.random.key(1), beta=1.0)
    t4 = elbo(vae, res.state.params, jnp.asarray(x), jax.random.key(1), beta=4.0)
    np.testing.assert_allclose(t1.elbo - t4.elbo, 3.0 * t1.kl, rtol=1e-4, atol=1e-4)


@pytest.mark.no_key_reuse_check
def test_train_vae_takes_the_callers_optimizer_params_and_fit_settings(tmp_path):
    import optax

    vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
    x = np.random.default_rng(0).uniform(size=(32, 4)).astype(np.float32) > 0.5
    v0 = vae.init(jax.random.key(3), jnp.zeros((1, 4)))
    frozen = train_vae(jax.random.key(0), vae, x, n_steps=4, batch_size=16, params=v0,
                       optimizer=optax.sgd(0.0))
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(frozen.state.params),
                                                   jax.tree.leaves(v0)))
    res = train_vae(jax.random.key(0), vae, x, n_steps=4, batch_size=16, val_x=x[:8],
                    eval_every=2, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert res.history["val_step"] == [2, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt_0000000002.npz",
                                                          "ckpt_0000000004.npz"]


def test_bad_input_gives_clear_errors():
    vae = VAE(data_dim=4, latent_dim=3, hidden=(8,))
    x = np.ones((8, 4), np.float32)
    x[0, 0] = np.inf
    with pytest.raises(ValueError, match="x: expected finite"):
        train_vae(jax.random.key(0), vae, x, n_steps=2)
    with pytest.raises(ValueError, match="x"):
        train_vae(jax.random.key(0), vae, np.ones((8, 5)), n_steps=2)
    good = np.ones((8, 4), np.float32)
    with pytest.raises(ValueError, match="val_x: expected finite"):
        train_vae(jax.random.key(0), vae, good, n_steps=2, val_x=x)
    with pytest.raises(ValueError, match="val_x"):
        train_vae(jax.random.key(0), vae, good, n_steps=2, val_x=np.ones((8, 3)))
    with pytest.raises(ValueError, match="learning_rate"):
        train_vae(jax.random.key(0), vae, good, n_steps=2, learning_rate=-1e-3)
    with pytest.raises(ValueError, match="beta"):
        train_vae(jax.random.key(0), vae, good, n_steps=2, beta=-1.0)
    v = vae.init(jax.random.key(0), jnp.zeros((1, 4)))
    with pytest.raises(ValueError, match="latent_dim"):
        latent_manifold(vae, v, 4)
    with pytest.raises(ValueError, match="likelihood"):
        VAE(data_dim=4, latent_dim=2, likelihood="poisson").init(jax.random.key(0),
                                                                  jnp.zeros((1, 4)))


@pytest.mark.no_key_reuse_check
def test_tour_chapter_9_quick(quick_chapter, chapter_checks):
    tour_result, out = quick_chapter("autoencoders")      # the tour's own key: fold_in(key(0), number)
    chapter_checks("autoencoders", tour_result, out)
    res = tour_result.runs[0].result
    assert all(p.exists() for p in res.figures) and len(res.figures) == 3
    assert np.isfinite(res.metrics["vae_test_loglik_is100"])
    assert res.metrics["ae_test_mse"] < 0.1
