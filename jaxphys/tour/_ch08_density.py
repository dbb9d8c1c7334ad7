"""Chapter 8: density estimation, a normalising flow against classical estimators.

On a 1-D two-component Gaussian mixture and on two moons (noise 0.05) the chapter
fits a single Gaussian (maximum likelihood), a histogram (1-D only), a Gaussian
kernel density estimate with a cross-validated bandwidth, a Gaussian mixture (EM;
2 components in 1-D, 8 on the moons) from ``jaxphys.classical``, and a neural spline
flow (``jaxphys.generative.NeuralSplineFlow`` trained by maximum likelihood with
``fit_flow``). Each is scored by its mean negative log-likelihood on held-out
samples (nats; lower is better; the generating density's own score is shown for
reference), and the estimated densities are drawn against the data.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def _mixture(key, n):
    import jax
    import jax.numpy as jnp

    k_c, k_n = jax.random.split(key)
    comp = jax.random.bernoulli(k_c, 0.7, (n,))
    z = jax.random.normal(k_n, (n,))
    return jnp.where(comp, 1.0 + z, -2.0 + 0.5 * z)


def _mixture_logpdf(x):
    import numpy as np
    from scipy.stats import norm

    return np.log(0.3 * norm(-2, 0.5).pdf(x) + 0.7 * norm(1, 1).pdf(x))


def _moons_logpdf_mc(key, x, n_mc=20000):
    """Generating density of two moons by Monte Carlo over the latent angle."""
    import jax
    import jax.numpy as jnp

    from jaxphys.data import two_moons

    centres = two_moons(key, n_mc, 0.0).x
    d2 = jnp.sum((x[:, None, :] - centres[None, :, :]) ** 2, axis=-1)
    s2 = 0.05 ** 2
    return jax.scipy.special.logsumexp(-0.5 * d2 / s2, axis=1) - jnp.log(n_mc) - jnp.log(
        2 * jnp.pi * s2)


def _in_blocks(fn, x, size):
    """``fn`` over the rows of ``x`` in blocks of ``size`` (the last one zero-padded), so
    that a compiled ``fn`` sees one shape whatever the number of rows."""
    import jax.numpy as jnp
    import numpy as np

    x = jnp.asarray(x)
    n = x.shape[0]
    x = jnp.concatenate([x, jnp.zeros(((-n) % size,) + x.shape[1:], x.dtype)])
    return np.concatenate([np.asarray(fn(b)) for b in jnp.split(x, x.shape[0] // size)])[:n]


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys import classical
    from jaxphys.data import two_moons
    from jaxphys.generative import NeuralSplineFlow, fit_flow
    from jaxphys.plot import new_figure, save_figure

    k1, k2, k3, k4, k5, k6, k7, k8, k9 = jax.random.split(key, 9)
    n = 2000 if quick else 10000
    steps = 300 if quick else 4000
    metrics = {}

    # ---- 1-D mixture -------------------------------------------------------------
    tr1, te1 = _mixture(k1, n), _mixture(k2, n)
    grid = jnp.linspace(-5, 5, 400)
    dens = {}
    mu, sd = float(tr1.mean()), float(tr1.std())
    gauss = lambda x: -0.5 * ((x - mu) / sd) ** 2 - np.log(sd * np.sqrt(2 * np.pi))  # noqa
    dens["Gaussian"] = gauss
    hist = classical.histogram_fit(None, tr1, 30, range=(-5.0, 5.0))
    dens["histogram"] = lambda x: np.log(np.maximum(np.asarray(
        classical.histogram_density(hist, x)), 1e-12))
    kde = classical.kde_fit(k3, tr1[:, None])
    dens["KDE"] = lambda x: np.asarray(classical.kde_score_samples(kde, jnp.asarray(x)[:, None]))
    gmm = classical.gmm_fit(k4, tr1[:, None], 2)
    dens["GMM (2)"] = lambda x: np.asarray(classical.gmm_score_samples(gmm, jnp.asarray(x)[:, None]))
    flow1 = NeuralSplineFlow(n_layers=2, hidden=(16,), n_bins=8)
    res1 = fit_flow(k5, flow1, tr1[:, None], n_steps=steps, batch_size=256, learning_rate=5e-3)
    # Flow densities as compiled functions of one shape: evaluated eagerly, a spline flow
    # dispatches (and compiles) its many small operations one by one, several times slower.
    lp1 = jax.jit(lambda x: flow1.apply(res1.state.params).log_prob(x[:, None]))
    dens["spline flow"] = lambda x: _in_blocks(lp1, x, 400)
    truth_nll = -float(np.mean(_mixture_logpdf(np.asarray(te1))))
    metrics["mixture_truth_nll"] = truth_nll
    fig = new_figure(figsize=(12.0, 4.8))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.hist(np.asarray(tr1), bins=60, density=True, color="0.85", label="training data")
    ax1.plot(grid, np.exp(_mixture_logpdf(np.asarray(grid))), "k--", lw=2, label=f"truth ({truth_nll:.3f})")
    for name, f in dens.items():
        nll = -float(np.mean(f(te1)))
        metrics[f"mixture_nll_{name.split()[0].lower()}"] = nll
        ax1.plot(grid, np.exp(f(grid)), lw=1.4, label=f"{name} ({nll:.3f})")
    ax1.set_title("1-D mixture: density (test NLL, nats)")
    ax1.legend(fontsize=8)

    # ---- two moons ---------------------------------------------------------------
    tr2, te2 = two_moons(k6, n, 0.05).x, two_moons(k7, n, 0.05).x
    kde2 = classical.kde_fit(k8, tr2)
    gmm2 = classical.gmm_fit(k8, tr2, 8)
    flow2 = NeuralSplineFlow(n_layers=3 if quick else 4, hidden=(32, 32), n_bins=8)
    res2 = fit_flow(k9, flow2, tr2, n_steps=2 * steps, batch_size=256, learning_rate=3e-3)
    lp2 = jax.jit(lambda x: flow2.apply(res2.state.params).log_prob(x))
    m2, c2 = np.asarray(tr2.mean(0)), np.cov(np.asarray(tr2).T)
    from scipy.stats import multivariate_normal
    scorers = {
        "Gaussian": lambda x: multivariate_normal(m2, c2).logpdf(np.asarray(x)),
        "KDE": lambda x: np.asarray(classical.kde_score_samples(kde2, x)),
        "GMM (8)": lambda x: np.asarray(classical.gmm_score_samples(gmm2, x)),
        "spline flow": lambda x: _in_blocks(lp2, x, 1000),
    }
    truth2 = -float(jnp.mean(_moons_logpdf_mc(k8, te2[:2000])))
    metrics["moons_truth_nll"] = truth2
    xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 120), np.linspace(-1.0, 1.5, 90))
    pts = jnp.asarray(np.stack([xx.ravel(), yy.ravel()], 1), jnp.float32)
    ax2.scatter(np.asarray(tr2[:1000, 0]), np.asarray(tr2[:1000, 1]), s=2, c="k")
    ax2.set_title("two moons (training data)")
    fig_m = new_figure(figsize=(14.0, 3.6))
    axes = fig_m.subplots(1, 4)
    for ax, (name, f) in zip(axes, scorers.items()):
        nll = -float(np.mean(f(te2)))
        metrics[f"moons_nll_{name.split()[0].lower()}"] = nll
        ax.imshow(np.exp(f(pts)).reshape(xx.shape), origin="lower",
                  extent=(-1.5, 2.5, -1.0, 1.5), aspect="auto", cmap="viridis")
        ax.set_title(f"{name}: test NLL {nll:.3f}")
    path1 = out_dir / "ch08_density_1d.png"
    path2 = out_dir / "ch08_density_moons.png"
    save_figure(fig, path1)
    save_figure(fig_m, path2)
    summary = (f"two moons test NLL: flow {metrics['moons_nll_spline']:.3f}, KDE "
               f"{metrics['moons_nll_kde']:.3f}, GMM {metrics['moons_nll_gmm']:.3f}, Gaussian "
               f"{metrics['moons_nll_gaussian']:.3f} (truth ≈ {truth2:.3f}) nats")
    return ChapterResult(summary=summary, metrics=metrics, figures=[path1, path2])


CHAPTER = Chapter(8, "density", "Density estimation: flows vs histogram, KDE and GMM", run)
