"""Chapter 19: a scaling-law fit with its exponent, and the bias–variance picture.

Scaling: a ``(1, 1)`` cubic-spline KAN learns the smooth target ``exp(sin πx)``
on grids of ``G`` = 4, 8, 16, 32 (… 64) intervals, each grid initialised from the
previous one (grid extension) and trained with L-BFGS. Spline approximation
theory predicts test RMSE ``∝ G^{-(k+1)} = G^{-4}``; the fit of
``L = a·G^{-α}`` (``jaxphys.dynamics.fit_power_law``) gives ``α`` with a
residual-bootstrap 90 % interval.

Bias–variance: polynomials of degree 0 … 9 are refitted by least squares on
many training sets of 30 noisy samples of ``sin πx`` (vmapped over the sets and
the degrees); bias² falls, variance rises, and their sum plus the noise σ²
matches the independently estimated test MSE.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

CONFIG = {True: {"grids": (4, 8, 16, 32), "n_lbfgs": 150, "n_sets": 500},
          False: {"grids": (4, 8, 16, 32, 64), "n_lbfgs": 400, "n_sets": 4000}}


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import numpy as np

    from jaxphys.dynamics import kan_grid_scaling, polynomial_bias_variance
    from jaxphys.plot import new_figure, save_figure

    cfg = CONFIG[bool(quick)]
    kan_key, bv_key = jax.random.split(key)
    degrees = list(range(10))
    with jax.enable_x64(True):
        sc = kan_grid_scaling(kan_key, cfg["grids"], n_lbfgs=cfg["n_lbfgs"], n_bootstrap=300)
        bv = polynomial_bias_variance(bv_key, degrees, n_train=30, sigma=0.3,
                                      n_sets=cfg["n_sets"])
    fit = sc.fit

    fig = new_figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot(1, 1, 1)
    g = np.asarray(sc.grid_sizes, float)
    ax.loglog(g, sc.test_rmse, "o", ms=7, label="KAN test RMSE")
    gg = np.geomspace(g[0], g[-1], 100)
    ax.loglog(gg, np.asarray(fit.predict(gg)), "-",
              label=f"fit: α = {fit.alpha:.2f} [{fit.alpha_ci[0]:.2f}, {fit.alpha_ci[1]:.2f}]")
    ax.loglog(gg, sc.test_rmse[0] * (gg / g[0]) ** -4.0, "k:", label="theory G⁻⁴")
    ax.set_xlabel("grid intervals G")
    ax.set_ylabel("test RMSE")
    ax.set_title("KAN grid scaling on exp(sin πx)")
    ax.legend()
    scaling_path = out_dir / "ch19_kan_grid_scaling.png"
    save_figure(fig, scaling_path)

    fig2 = new_figure(figsize=(6.4, 4.4))
    ax = fig2.add_subplot(1, 1, 1)
    ax.semilogy(degrees, bv.bias2, "o-", label="bias²")
    ax.semilogy(degrees, bv.variance, "s-", label="variance")
    ax.semilogy(degrees, bv.bias2 + bv.variance + bv.noise, "k-", label="bias² + var + σ²")
    ax.semilogy(degrees, bv.test_mse, "r--", label="test MSE (independent)")
    ax.axhline(bv.noise, color="grey", ls=":", label="noise σ²")
    ax.set_xlabel("polynomial degree")
    ax.set_ylabel("mean squared error")
    ax.set_title("Bias–variance: n = 30 noisy samples of sin πx")
    ax.legend(fontsize=8)
    bv_path = out_dir / "ch19_bias_variance.png"
    save_figure(fig2, bv_path)

    total = bv.bias2 + bv.variance + bv.noise
    best = int(np.argmin(bv.test_mse))
    metrics = {"kan_alpha": fit.alpha, "kan_alpha_ci_lo": fit.alpha_ci[0],
               "kan_alpha_ci_hi": fit.alpha_ci[1], "kan_rmse_finest": float(sc.test_rmse[-1]),
               "bv_best_degree": best, "bv_best_test_mse": float(bv.test_mse[best]),
               "bv_max_rel_mismatch_deg_le_6": float(np.max(np.abs(total[:7] / bv.test_mse[:7]
                                                                   - 1)))}
    summary = (f"KAN grid scaling: RMSE ∝ G^-α with α = {fit.alpha:.2f} "
               f"[{fit.alpha_ci[0]:.2f}, {fit.alpha_ci[1]:.2f}] (theory 4); bias–variance: "
               f"best degree {best}, test MSE {bv.test_mse[best]:.3f}")
    return ChapterResult(summary=summary, metrics=metrics, figures=[scaling_path, bv_path])


CHAPTER = Chapter(number=19, name="scaling", title="Neural scaling laws and bias–variance",
                  run=run)
