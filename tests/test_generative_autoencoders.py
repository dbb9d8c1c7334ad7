"""Autoencoders: PCA subspace of a linear AE, denoising, tied weights, sparsity,
stacked pre-training, anomaly thresholds, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy.linalg import subspace_angles

from jaxphys.data import load_digits
from jaxphys.generative import (Autoencoder, ConvAutoencoder, StackedAutoencoder,
                                TiedAutoencoder, anomaly_threshold, autoencoder_loss, corrupt,
                                detect_anomalies, pretrain_stacked, reconstruction_error,
                                kl_sparsity_penalty, train_autoencoder)


def _digits_split():
    x = np.asarray(load_digits().x).reshape(-1, 64)
    perm = np.random.default_rng(0).permutation(len(x))
    return jnp.asarray(x[perm[:1400]]), jnp.asarray(x[perm[1400:]])


@pytest.fixture(scope="module")
def digits_dae():
    """A denoising AE (Gaussian corruption σ = 0.3) trained on 1400 digits."""
    with jax.debug_key_reuse(False):
        train, test = _digits_split()
        ae = Autoencoder(data_dim=64, latent_dim=16, hidden=(64,), output="sigmoid")
        res = train_autoencoder(jax.random.key(0), ae, train, n_steps=1500, batch_size=128,
                                learning_rate=3e-3, corruption="gaussian", noise_level=0.3)
    return ae, res, train, test


@pytest.mark.no_key_reuse_check
def test_linear_autoencoder_spans_top_k_pca_subspace():
    rng = np.random.default_rng(1)
    d, k, n = 6, 2, 2000
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    stds = np.array([3.0, 2.0, 1.0, 0.6, 0.4, 0.2])
    x = (rng.normal(size=(n, d)) * stds) @ q.T + rng.normal(size=d)
    ae = Autoencoder(data_dim=d, latent_dim=k, hidden=(), activation=None)
    opt = optax.adam(optax.cosine_decay_schedule(2e-2, 3000, alpha=1e-3))
    res = train_autoencoder(jax.random.key(0), ae, jnp.asarray(x, jnp.float32), n_steps=3000,
                            batch_size=n, optimizer=opt)
    decoder = np.asarray(res.state.params["params"]["dec_out"]["kernel"]).T     # (d, k) columns
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    angles = subspace_angles(decoder, vt[:k].T)
    assert np.max(angles) < 1e-2, angles


@pytest.mark.no_key_reuse_check
def test_denoising_autoencoder_reduces_noise_on_held_out_data(digits_dae):
    ae, res, _, test = digits_dae
    noisy = test + 0.3 * jax.random.normal(jax.random.key(5), test.shape)
    denoised = ae.apply(res.state.params, noisy)
    mse_noisy = float(jnp.mean((noisy - test) ** 2))
    mse_denoised = float(jnp.mean((denoised - test) ** 2))
    assert abs(mse_noisy - 0.09) < 0.005
    assert mse_denoised < 0.5 * mse_noisy, (mse_denoised, mse_noisy)


@pytest.mark.no_key_reuse_check
def test_anomaly_threshold_flags_quantile_of_normal_and_noise_images(digits_dae):
    ae, res, train, test = digits_dae
    apply_fn = ae.apply
    thr = anomaly_threshold(reconstruction_error(apply_fn, res.state.params, train), 0.95)
    normal = detect_anomalies(apply_fn, res.state.params, test, thr)
    noise = jax.random.uniform(jax.random.key(3), (200, 64))
    odd = detect_anomalies(apply_fn, res.state.params, noise, thr)
    assert 0.0 < float(jnp.mean(normal.is_anomaly)) < 0.15      # ≈ 5 % false positives
    assert float(jnp.mean(odd.is_anomaly)) > 0.95
    recon = np.asarray(ae.apply(res.state.params, test))
    np.testing.assert_allclose(normal.scores, np.mean((recon - np.asarray(test)) ** 2, axis=1),
                               rtol=1e-5)


def test_anomaly_threshold_is_the_numpy_quantile_and_checks_quantile():
    s = np.random.default_rng(0).exponential(size=500)
    assert float(anomaly_threshold(s, 0.9)) == pytest.approx(np.quantile(s, 0.9), rel=1e-5)
    with pytest.raises(ValueError, match="quantile"):
        anomaly_threshold(s, 1.5)


def test_tied_autoencoder_decoder_uses_transposed_encoder_weights():
    ae = TiedAutoencoder(data_dim=5, widths=(4, 2), activation="tanh")
    v = ae.init(jax.random.key(0), jnp.zeros((1, 5)))
    p = jax.tree.map(np.asarray, v["params"])
    p["c0"] = np.arange(5.0) / 10
    p["c1"] = np.arange(4.0) / 10
    x = np.random.default_rng(0).normal(size=(3, 5))
    z = np.tanh(x @ p["W0"] + p["b0"]) @ p["W1"] + p["b1"]
    x_hat = np.tanh(z @ p["W1"].T + p["c1"]) @ p["W0"].T + p["c0"]
    got = ae.apply({"params": jax.tree.map(jnp.asarray, p)}, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(got, x_hat, rtol=1e-4, atol=1e-5)
    n_tied = sum(a.size for a in jax.tree.leaves(v))
    untied = Autoencoder(data_dim=5, latent_dim=2, hidden=(4,))
    n_untied = sum(a.size for a in jax.tree.leaves(untied.init(jax.random.key(0),
                                                               jnp.zeros((1, 5)))))
    assert n_untied - n_tied == 5 * 4 + 4 * 2


def test_sparsity_penalty_matches_bernoulli_kl():
    codes = np.random.default_rng(0).uniform(0.01, 0.99, size=(50, 7))
    rho, rho_hat = 0.05, codes.mean(0)
    want = np.sum(rho * np.log(rho / rho_hat) + (1 - rho) * np.log((1 - rho) / (1 - rho_hat)))
    assert float(kl_sparsity_penalty(jnp.asarray(codes), rho)) == pytest.approx(want, rel=1e-5)


@pytest.mark.no_key_reuse_check
def test_sparse_autoencoder_drives_mean_activation_to_target():
    train, _ = _digits_split()
    ae = Autoencoder(data_dim=64, latent_dim=32, hidden=(), latent_activation="sigmoid",
                     output="sigmoid")
    kw = dict(n_steps=400, batch_size=128, learning_rate=3e-3)
    sparse = train_autoencoder(jax.random.key(0), ae, train, sparsity_target=0.05,
                               sparsity_weight=1.0, **kw)
    dense = train_autoencoder(jax.random.key(0), ae, train, **kw)
    rho_sparse = float(jnp.mean(ae.apply(sparse.state.params, train, method="encode")))
    rho_dense = float(jnp.mean(ae.apply(dense.state.params, train, method="encode")))
    assert rho_sparse < 0.12 < rho_dense, (rho_sparse, rho_dense)


@pytest.mark.no_key_reuse_check
def test_stacked_pretraining_then_fine_tuning():
    train, test = _digits_split()
    sae = StackedAutoencoder(data_dim=64, widths=(32, 8), activation="tanh")
    v0 = sae.init(jax.random.key(1), train[:1])
    pre = pretrain_stacked(jax.random.key(2), sae, train, n_steps=300, learning_rate=3e-3)
    assert jax.tree.map(jnp.shape, pre) == jax.tree.map(jnp.shape, v0)
    err = lambda v: float(jnp.mean(reconstruction_error(sae.apply, v, test)))  # noqa: E731
    tuned = train_autoencoder(jax.random.key(3), sae, train, params=pre, n_steps=300,
                              learning_rate=1e-3)
    assert err(pre) < 0.5 * err(v0)
    assert err(tuned.state.params) < err(pre)
    assert err(tuned.state.params) < float(jnp.var(test))


@pytest.mark.no_key_reuse_check
def test_conv_autoencoder_and_dropout_corruption_train():
    train, _ = _digits_split()
    imgs = train.reshape(-1, 8, 8, 1)
    ae = ConvAutoencoder(image_shape=(8, 8, 1), latent_dim=8, features=8, output="sigmoid")
    res = train_autoencoder(jax.random.key(0), ae, imgs, n_steps=150, batch_size=64,
                            learning_rate=3e-3, corruption="dropout", noise_level=0.2)
    assert ae.apply(res.state.params, imgs[:3]).shape == (3, 8, 8, 1)
    v0 = ae.init(jax.random.key(0), imgs[:1])
    err = lambda v: float(jnp.mean(reconstruction_error(ae.apply, v, imgs)))  # noqa: E731
    assert err(res.state.params) < 0.6 * err(v0), (err(res.state.params), err(v0))


def test_corrupt_statistics_and_two_seeds_differ():
    x = jnp.ones((200, 50))
    a = corrupt(jax.random.key(0), x, "gaussian", 0.5)
    b = corrupt(jax.random.key(1), x, "gaussian", 0.5)
    assert float(jnp.std(a - x)) == pytest.approx(0.5, rel=0.05)
    assert not np.allclose(a, b)
    d = corrupt(jax.random.key(2), x, "dropout", 0.3)
    assert float(jnp.mean(d == 0)) == pytest.approx(0.3, abs=0.02)
    with pytest.raises(ValueError, match="kind"):
        corrupt(jax.random.key(0), x, "salt", 0.1)


def test_bad_input_gives_clear_errors():
    ae = Autoencoder(data_dim=3, latent_dim=1, hidden=())
    x = np.ones((8, 3), np.float32)
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="x: expected finite"):
        train_autoencoder(jax.random.key(0), ae, x, n_steps=2)
    with pytest.raises(ValueError, match="corruption"):
        autoencoder_loss(ae, corruption="blur")
    with pytest.raises(ValueError, match="x"):
        train_autoencoder(jax.random.key(0), ae, np.ones(3), n_steps=2)
