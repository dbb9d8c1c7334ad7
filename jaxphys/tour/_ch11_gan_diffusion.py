"""Chapter 11: a GAN and a diffusion model on 2-D data and on the digits.

2-D data:

* a GAN (MLP generator and discriminator, non-saturating loss, alternating
  updates composed from two ``jaxphys.core`` train steps) on a ring of eight
  Gaussians (radius 2, σ = 0.05); a mode counts as covered when at least 1 % of
  the samples lie within 3σ of its centre;
* a DDPM (cosine schedule, T = 200, time-conditioned MLP, ε-prediction loss) on
  two moons, sampled with the ancestral sampler (200 steps) and with DDIM (50
  steps); each sample set is compared with fresh two-moons data by a classifier
  two-sample test (C2ST: 0.5 = indistinguishable).

Digits (8×8, scaled to [-1, 1]):

* a DCGAN-style generator / discriminator (strided convolutions, batch norm,
  leaky ReLU, tanh output);
* a class-conditional diffusion model with a small U-Net denoiser, trained with
  label dropout and sampled with classifier-free guidance (w = 2), one row per digit.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.data import Standardizer, load_digits, two_moons
    from jaxphys.generative import (DCDiscriminator, DCGenerator, DiffusionUNet, MLPDiscriminator,
                                    MLPGenerator, TimeMLP, c2st, ddim_sample, ddpm_sample,
                                    gan_sample, make_schedule, train_diffusion, train_gan)
    from jaxphys.plot import new_figure, save_figure

    keys = jax.random.split(key, 14)
    n_gan, n_diff, n_dcgan, n_unet = (400, 500, 60, 60) if quick else (3000, 3000, 2000, 2000)

    # ---- GAN on a ring of Gaussians
    sigma = 0.05
    centers = 2.0 * np.stack([np.cos(2 * np.pi * np.arange(8) / 8),
                              np.sin(2 * np.pi * np.arange(8) / 8)], 1)
    idx = jax.random.randint(keys[0], (4000,), 0, 8)
    ring = jnp.asarray(centers, jnp.float32)[idx] + sigma * jax.random.normal(keys[1], (4000, 2))
    g, d = MLPGenerator(2, (128, 128)), MLPDiscriminator((128, 128))
    gan_fit = train_gan(keys[2], g, d, ring, latent_dim=2, n_steps=n_gan, batch_size=256,
                        learning_rate=1e-3)
    gs = np.asarray(gan_sample(keys[3], g, gan_fit.state, 2000, 2))
    dist = np.linalg.norm(gs[:, None, :] - centers[None], axis=-1)
    near = dist.min(1) < 3 * sigma
    counts = np.bincount(dist.argmin(1)[near], minlength=8)
    modes = int(np.sum(counts >= 20))

    # ---- DDPM / DDIM on two moons
    moons = two_moons(keys[4], 4000, 0.05).x
    ref = two_moons(keys[5], 4000, 0.05).x[:2000]    # same shape: no second compilation
    st = Standardizer.fit(moons)
    sched = make_schedule("cosine", 200)
    net = TimeMLP(widths=(128, 128, 128))
    diff_fit = train_diffusion(keys[6], net, sched, st.transform(moons), n_steps=n_diff,
                               batch_size=256, learning_rate=2e-3)
    diff_params = diff_fit.state.params
    ddpm = np.asarray(st.inverse(ddpm_sample(keys[7], net, diff_params, sched, 2000, (2,))))
    ddim = np.asarray(st.inverse(ddim_sample(keys[8], net, diff_params, sched, 2000, (2,),
                                             n_steps=50)))
    c2st_steps = 200 if quick else 1000
    acc_ddpm = c2st(keys[9], ref, ddpm, n_steps=c2st_steps)
    acc_ddim = c2st(keys[10], ref, ddim, n_steps=c2st_steps)

    fig = new_figure(figsize=(12, 3.4))
    axes = fig.subplots(1, 4)
    for ax, pts, title in ((axes[0], np.asarray(ring), "ring data"),
                           (axes[1], gs, f"GAN: {modes}/8 modes"),
                           (axes[2], ddpm, f"DDPM 200 steps: C2ST {acc_ddpm:.2f}"),
                           (axes[3], ddim, f"DDIM 50 steps: C2ST {acc_ddim:.2f}")):
        ax.scatter(pts[:1500, 0], pts[:1500, 1], s=2, alpha=0.5)
        ax.set_title(title, fontsize=9)
        ax.set_aspect("equal")
    fig_2d = out_dir / "ch11_samples_2d.png"
    save_figure(fig, fig_2d)

    # ---- digits: DCGAN and class-conditional diffusion with guidance
    ds = load_digits()
    imgs = jnp.asarray(ds.x)[..., None] * 2.0 - 1.0
    dg, dd = DCGenerator(features=16), DCDiscriminator(features=16)
    dc_fit = train_gan(keys[11], dg, dd, imgs, latent_dim=16, n_steps=n_dcgan, batch_size=64,
                       learning_rate=2e-4, chunk_size=min(n_dcgan, 500))
    dc_imgs = np.asarray(gan_sample(keys[12], dg, dc_fit.state, 30, 16))
    dsched = make_schedule("linear", 200, beta_end=0.05)
    unet = DiffusionUNet(features=16 if not quick else 8, depth=1, n_classes=10)
    unet_fit = train_diffusion(keys[13], unet, dsched, imgs, ds.y, n_steps=n_unet,
                               batch_size=64, learning_rate=2e-3, cond_drop=0.1)
    labels = jnp.repeat(jnp.arange(10), 3)
    sample_key = jax.random.fold_in(key, 99)
    unet_params = unet_fit.state.params
    cf_imgs = np.asarray(ddim_sample(sample_key, unet, unet_params, dsched, 30, (8, 8, 1),
                                     n_steps=50, labels=labels, guidance=2.0))

    fig = new_figure(figsize=(10, 3.4))
    ax1, ax2 = fig.subplots(1, 2)
    for ax, ims, title in ((ax1, dc_imgs, "DCGAN samples"),
                           (ax2, cf_imgs, "diffusion, w = 2: 3 per digit 0-9")):
        grid = np.clip(ims[:, :, :, 0], -1, 1).reshape(3, 10, 8, 8) if ax is ax1 else \
            np.clip(ims[:, :, :, 0], -1, 1).reshape(10, 3, 8, 8).transpose(1, 0, 2, 3)
        ax.imshow(grid.transpose(0, 2, 1, 3).reshape(24, 80), cmap="gray_r", vmin=-1, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title, fontsize=9)
    fig_dig = out_dir / "ch11_samples_digits.png"
    save_figure(fig, fig_dig)

    metrics = {"gan_modes_covered": modes, "gan_high_quality_fraction": float(near.mean()),
               "ddpm_c2st": float(acc_ddpm), "ddim50_c2st": float(acc_ddim),
               "dcgan_final_d_loss": float(dc_fit.history["d_loss"][-1]),
               "unet_final_loss": float(unet_fit.history["loss"][-1])}
    summary = (f"GAN covers {modes}/8 ring modes; two moons C2ST DDPM {acc_ddpm:.2f}, "
               f"DDIM-50 {acc_ddim:.2f}; digits from a DCGAN and a guided U-Net diffusion model")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_2d, fig_dig])


CHAPTER = Chapter(number=11, name="gan-diffusion", title="GAN and diffusion samples",
                  run=run)
