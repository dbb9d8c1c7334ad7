"""Chapter 10: a normalising flow on two moons, and neural posterior estimation.

First a neural spline flow learns the two-moons density by maximum likelihood
(``jaxphys.generative.NeuralSplineFlow`` + ``fit_flow``): the figure shows its density
and fresh samples, with the held-out negative log-likelihood.

Then neural posterior estimation on a damped harmonic oscillator observed with noise
(``jaxphys.physics.damped_oscillator``: θ = (ω₀, γ), uniform prior): simulate (θ, x)
pairs, train a conditional flow q(θ | x) on them (``train_npe``), and sample the
posterior of a new observation in milliseconds. The corner plot marks the true
parameters; the expected coverage of the 50/68/95 % highest-density regions over
held-out simulations checks the calibration (it should match the nominal levels).
"""

from __future__ import annotations

import time
from pathlib import Path

from ._runner import Chapter, ChapterResult


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.data import two_moons
    from jaxphys.generative import NeuralSplineFlow, expected_coverage, fit_flow, train_npe
    from jaxphys.physics.simulators import damped_oscillator, oscillator_signal, simulate_batch
    from jaxphys.plot import new_figure, save_figure

    k_tr, k_te, k_fit, k_s, k_sim, k_npe, k_obs, k_post, k_cov, k_val = jax.random.split(key, 10)
    metrics = {}
    n = 2000 if quick else 10000
    tr, te = two_moons(k_tr, n, 0.05).x, two_moons(k_te, n, 0.05).x
    flow = NeuralSplineFlow(n_layers=4, hidden=(32, 32) if quick else (64, 64), n_bins=8)
    res = fit_flow(k_fit, flow, tr, n_steps=600 if quick else 5000, batch_size=256,
                   learning_rate=3e-3 if quick else 1e-3)
    xx, yy = np.meshgrid(np.linspace(-1.5, 2.5, 120), np.linspace(-1.0, 1.5, 90))
    pts = np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)
    # Each evaluation is one compiled function: run eagerly, a spline flow dispatches (and
    # compiles) its many small operations one by one, several times slower.
    log_prob = jax.jit(lambda p, x: flow.apply(p).log_prob(x))
    sample = jax.jit(lambda p, k: flow.apply(p).sample(seed=k, sample_shape=2000))
    lp = np.asarray(log_prob(res.state.params, jnp.concatenate([te, jnp.asarray(pts)])))
    nll = -float(lp[:n].mean())
    metrics["moons_test_nll"] = nll
    samples = np.asarray(sample(res.state.params, k_s))
    fig = new_figure(figsize=(10.0, 4.0))
    a1, a2 = fig.subplots(1, 2)
    a1.imshow(np.exp(lp[n:]).reshape(xx.shape), origin="lower",
              extent=(-1.5, 2.5, -1.0, 1.5), aspect="auto")
    a1.set_title(f"spline-flow density, test NLL {nll:.3f} nats")
    a2.scatter(samples[:, 0], samples[:, 1], s=2)
    a2.set_xlim(-1.5, 2.5)
    a2.set_ylim(-1.0, 1.5)
    a2.set_title("flow samples")
    path1 = out_dir / "ch10_flow_moons.png"
    save_figure(fig, path1)

    # ---- NPE on the oscillator ---------------------------------------------------
    task = damped_oscillator()
    n_sims = 3000 if quick else 20000
    theta, x = simulate_batch(k_sim, task, n_sims)
    npe = train_npe(k_npe, theta, x, n_steps=500 if quick else 4000, batch_size=256,
                    learning_rate=3e-3 if quick else 1e-3,
                    flow=NeuralSplineFlow(n_layers=3, hidden=(64, 64), n_bins=8)).state
    theta_true = np.array([2.0, 0.2], np.float32)
    x_obs = task.simulate(k_obs, theta_true)
    sample_posterior = jax.jit(lambda k, x: npe.sample(k, x, 4000))
    post_samples = sample_posterior(k_post, x_obs).block_until_ready()   # compile
    t0 = time.perf_counter()
    post_samples = np.asarray(sample_posterior(k_post, x_obs).block_until_ready())
    metrics["posterior_4000_samples_ms"] = 1e3 * (time.perf_counter() - t0)
    theta_v, x_v = simulate_batch(k_val, task, 100 if quick else 500)
    cov = expected_coverage(k_cov, npe, theta_v, x_v, n_posterior=200)
    for lev, c in zip(cov.levels, cov.coverage):
        metrics[f"coverage_{int(round(100 * lev))}"] = float(c)
    names = ["ω₀ [rad/s]", "γ [1/s]"]
    fig2 = new_figure(figsize=(10.0, 7.0))
    axs = fig2.subplots(2, 3)
    for i in range(2):
        for j in range(2):
            ax = axs[i, j]
            if i == j:
                ax.hist(post_samples[:, i], bins=50, color="C0")
                ax.axvline(theta_true[i], color="r")
            elif i > j:
                ax.scatter(post_samples[:, j], post_samples[:, i], s=1, alpha=0.3)
                ax.plot(theta_true[j], theta_true[i], "r*", ms=14)
            else:
                ax.axis("off")
            if i == 1:
                ax.set_xlabel(names[j])
    axs[1, 0].set_ylabel(names[1])
    ax = axs[0, 2]
    ax.plot(np.asarray(task.times), np.asarray(x_obs), "k.", label="observation")
    for s in post_samples[:20]:
        ax.plot(np.asarray(task.times), np.asarray(oscillator_signal(s, task.times)), "C0",
                alpha=0.2)
    ax.set_title("data and 20 posterior draws")
    ax = axs[1, 2]
    ax.plot([0, 1], [0, 1], "k--")
    ax.plot(cov.levels, cov.coverage, "o-")
    ax.set_xlabel("credibility level")
    ax.set_ylabel("empirical coverage")
    path2 = out_dir / "ch10_npe_oscillator.png"
    save_figure(fig2, path2)
    summary = (f"flow on two moons: test NLL {nll:.3f} nats; NPE oscillator coverage "
               + ", ".join(f"{int(100 * l)}%→{c:.2f}" for l, c in zip(cov.levels, cov.coverage)))
    return ChapterResult(summary=summary, metrics=metrics, figures=[path1, path2])


CHAPTER = Chapter(10, "flows-npe", "Normalising flows and neural posterior estimation", run)
