"""Chapter 9: an autoencoder and a variational autoencoder on the 8×8 digits.

The digits (``jaxphys.data.load_digits``) are binarised at 0.5 and split
1400 / 397 into training and test images. Two models are trained with
``jaxphys.core.fit`` through the ``jaxphys.generative`` helpers:

* an undercomplete MLP autoencoder 64 → 64 → 8 → 64 → 64 (sigmoid output),
  trained on the squared reconstruction error;
* a VAE with a 2-D latent space, 64 → 128 → (μ, σ) posterior (a distrax
  diagonal Gaussian), Bernoulli decoder 2 → 128 → 64, trained on the ELBO.

Figures: test digits with their AE and VAE reconstructions; the 2-D latent space
(posterior means of the test digits coloured by class) next to the manifold
picture (decoder means on a grid of prior quantiles); samples from the prior and
a latent interpolation between two test digits. Metrics: test reconstruction
error, the VAE's test ELBO and importance-sampled log-likelihood (k = 100) next
to an independent-pixel Bernoulli baseline fitted on the training images.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def _image_row(ax_row, imgs, title=None):
    for ax, im in zip(ax_row, imgs):
        ax.imshow(im.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax_row[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.data import load_digits
    from jaxphys.generative import (VAE, Autoencoder, elbo, importance_log_likelihood,
                                    interpolate, latent_manifold, sample_prior, train_autoencoder,
                                    train_vae)
    from jaxphys.plot import new_figure, save_figure

    ds = load_digits()
    x_all = (np.asarray(ds.x).reshape(-1, 64) > 0.5).astype(np.float32)
    y_all = np.asarray(ds.y)
    split_key, ae_key, vae_key, ll_key, elbo_key, sample_key = jax.random.split(key, 6)
    perm = np.asarray(jax.random.permutation(split_key, len(x_all)))
    tr, te = perm[:1400], perm[1400:]
    x_train, x_test, y_test = x_all[tr], x_all[te], y_all[te]
    n_ae, n_vae = (600, 1500) if quick else (4000, 6000)

    ae = Autoencoder(data_dim=64, latent_dim=8, hidden=(64,), output="sigmoid")
    ae_fit = train_autoencoder(ae_key, ae, x_train, n_steps=n_ae, batch_size=128,
                               learning_rate=3e-3)
    vae = VAE(data_dim=64, latent_dim=2, hidden=(128,))
    vae_fit = train_vae(vae_key, vae, x_train, n_steps=n_vae, batch_size=128,
                        learning_rate=2e-3)

    xt = jnp.asarray(x_test)
    ae_rec = np.asarray(ae.apply(ae_fit.state.params, xt))
    q = vae.apply(vae_fit.state.params, xt)
    mu = np.asarray(q.mean())
    vae_rec = np.asarray(vae.apply(vae_fit.state.params, q.mean(), method="decode").mean())
    ae_mse = float(np.mean((ae_rec - x_test) ** 2))
    vae_mse = float(np.mean((vae_rec - x_test) ** 2))
    test_elbo = float(jnp.mean(elbo(vae, vae_fit.state.params, xt, elbo_key).elbo))
    test_ll = float(jnp.mean(importance_log_likelihood(ll_key, vae, vae_fit.state.params, xt,
                                                       k=100)))
    p = (x_train.sum(0) + 1.0) / (len(x_train) + 2.0)
    base_ll = float(np.mean(np.sum(x_test * np.log(p) + (1 - x_test) * np.log1p(-p), 1)))

    # reconstructions
    fig = new_figure(figsize=(8, 2.8))
    axes = fig.subplots(3, 10)
    _image_row(axes[0], x_test[:10], "test")
    _image_row(axes[1], ae_rec[:10], "AE (8-D)")
    _image_row(axes[2], vae_rec[:10], "VAE (2-D)")
    fig.suptitle(f"Reconstructions: AE MSE {ae_mse:.3f}, VAE MSE {vae_mse:.3f}")
    fig_rec = out_dir / "ch09_reconstructions.png"
    save_figure(fig, fig_rec)

    # latent space and manifold picture
    fig = new_figure(figsize=(10, 4.6))
    ax1, ax2 = fig.subplots(1, 2)
    sc = ax1.scatter(mu[:, 0], mu[:, 1], c=y_test, cmap="tab10", s=8)
    fig.colorbar(sc, ax=ax1, label="digit")
    ax1.set_xlabel("z₁ (posterior mean)")
    ax1.set_ylabel("z₂")
    ax1.set_title("Test digits in the VAE's 2-D latent space")
    n_side = 12
    vae_params = vae_fit.state.params
    grid = np.asarray(latent_manifold(vae, vae_params, n_side)).reshape(n_side, n_side, 8, 8)
    canvas = grid.transpose(0, 2, 1, 3).reshape(n_side * 8, n_side * 8)
    ax2.imshow(canvas, cmap="gray_r")
    ax2.set_xticks([])
    ax2.set_yticks([])
    ax2.set_title("Decoder means on a grid of prior quantiles")
    fig_lat = out_dir / "ch09_latent_space.png"
    save_figure(fig, fig_lat)

    # prior samples and interpolation
    samples = np.asarray(sample_prior(sample_key, vae, vae_fit.state.params, 10))
    i_a = int(np.nonzero(y_test == 0)[0][0])
    i_b = int(np.nonzero(y_test == 7)[0][0])
    path = np.asarray(interpolate(vae, vae_fit.state.params, xt[i_a], xt[i_b], 10))
    fig = new_figure(figsize=(8, 2.0))
    axes = fig.subplots(2, 10)
    _image_row(axes[0], samples, "prior")
    _image_row(axes[1], path, "0 → 7")
    fig.suptitle("VAE: samples from the prior and a latent interpolation")
    fig_smp = out_dir / "ch09_samples_interpolation.png"
    save_figure(fig, fig_smp)

    metrics = {"ae_test_mse": ae_mse, "vae_test_mse": vae_mse, "vae_test_elbo": test_elbo,
               "vae_test_loglik_is100": test_ll, "independent_pixel_loglik": base_ll,
               "vae_gain_over_baseline_nats": test_ll - base_ll}
    summary = (f"AE test MSE {ae_mse:.3f}; 2-D VAE test log p(x) ≈ {test_ll:.1f} nats "
               f"(ELBO {test_elbo:.1f}) vs independent pixels {base_ll:.1f}")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_rec, fig_lat, fig_smp])


CHAPTER = Chapter(number=9, name="autoencoders", title="Autoencoder and VAE on the digits",
                  run=run)
