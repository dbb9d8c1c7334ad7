"""Chapter 1: a straight-line χ² fit, its residuals, and the χ² surface.

Data ``y_i = a x_i + b + ε_i`` with ``ε_i ~ N(0, σ²)`` and known σ
(``jaxphys.data.straight_line``). The weighted least-squares fit
(``jaxphys.linear.lstsq_fit`` on the design ``[x, 1]``) gives the slope and
intercept with their covariance ``(AᵀWA)⁻¹``, the χ² per degree of freedom
and its p-value. The χ² surface over (slope, intercept) is drawn with the
Δχ² = 2.30 / 6.18 / 11.83 joint 1σ/2σ/3σ contours, the best fit, the truth, and
the path of plain gradient descent from a poor starting point. Slope and
intercept are strongly anti-correlated for x ≥ 0, so χ² is a long, narrow
valley: with the largest stable step, descent drops into the valley at once
and then crawls along it (the condition number of the Hessian sets the pace).
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

# The generating truth (arbitrary units) and the number of points, quick / full.
TRUTH = {"slope": 2.0, "intercept": 1.0, "sigma": 1.0}
N_POINTS = {True: 30, False: 50}


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys import data, dynamics, linear, plot

    n_points = N_POINTS[bool(quick)]
    grid_size = 61 if quick else 161
    n_steps = 1000

    with jax.enable_x64(True):
        ds = data.straight_line(key, n=n_points, **TRUTH)
        x = jnp.asarray(ds.x, jnp.float64)
        y = jnp.asarray(ds.y, jnp.float64)
        sigma = jnp.full_like(x, float(ds.truth["sigma"]))
        design = jnp.stack([x, jnp.ones_like(x)], axis=1)        # θ = (slope, intercept)
        fit = linear.lstsq_fit(design, y, sigma)
        theta = np.asarray(fit.params)
        cov = np.asarray(fit.cov)
        err = np.sqrt(np.diag(cov))
        rho = cov[0, 1] / (err[0] * err[1])
        true_theta = np.array([float(ds.truth["slope"]), float(ds.truth["intercept"])])

        def chi2(t):
            return jnp.sum(((y - design @ t) / sigma) ** 2)

        # Gradient descent from a poor start with step size 1/L, L the largest curvature
        # of χ² (its Hessian 2AᵀWA): stable, but slow along the narrow valley.
        start = theta + np.array([-8.0, 12.0]) * err
        hess = 2.0 * (design / sigma[:, None]).T @ (design / sigma[:, None])
        lr = 1.0 / float(jnp.max(jnp.linalg.eigvalsh(hess)))
        path = dynamics.gradient_descent(chi2, jnp.asarray(start), jnp.asarray(lr), n_steps)
        trajectory = np.asarray(path.thetas)

        # Grid: ±5σ around the best fit, widened to hold the truth and the whole descent.
        lo = np.minimum.reduce([theta - 5 * err, true_theta, trajectory.min(axis=0)]) - err
        hi = np.maximum.reduce([theta + 5 * err, true_theta, trajectory.max(axis=0)]) + err
        t1 = jnp.linspace(lo[0], hi[0], grid_size)
        t2 = jnp.linspace(lo[1], hi[1], grid_size)
        surface = np.asarray(dynamics.loss_surface(chi2, t1, t2))

    chi2_val, dof = float(fit.chi2), int(fit.dof)
    pull = (theta[0] - true_theta[0]) / err[0]
    info = (f"slope     = {theta[0]:.3f} ± {err[0]:.3f}  (true {true_theta[0]:g})\n"
            f"intercept = {theta[1]:.3f} ± {err[1]:.3f}  (true {true_theta[1]:g})\n"
            f"ρ = {rho:+.2f},  χ²/dof = {chi2_val:.1f}/{dof},  p = {float(fit.p_value):.2f}")

    def line_err(xx):   # 1σ band of the fitted line: sqrt(J cov Jᵀ), J = [x, 1]
        jac = np.stack([xx, np.ones_like(xx)], axis=1)
        return np.sqrt(np.einsum("ni,ij,nj->n", jac, cov, jac))

    fig_fit = out_dir / "ch01_line_fit.png"
    plot.plot_fit(np.asarray(x), np.asarray(y), np.asarray(sigma),
                  model=lambda xx: theta[0] * xx + theta[1], model_err=line_err,
                  truth=lambda xx: true_theta[0] * xx + true_theta[1], info=info,
                  xlabel="x [arb. units]", ylabel="y [arb. units]",
                  data_label=f"data (n = {n_points}, σ = {float(sigma[0]):g})",
                  model_label="χ² fit", title="Straight-line χ² fit", path=fig_fit)
    fig_surface = out_dir / "ch01_chi2_surface.png"
    gd_distance = float(np.linalg.norm((trajectory[-1] - theta) / err))
    plot.plot_loss_surface(np.asarray(t1), np.asarray(t2), surface,
                           optimum=theta, truth=true_theta, trajectory=trajectory,
                           chi2_contours=True, labels=("slope a", "intercept b"),
                           loss_label="χ²", title="χ² surface with the 1σ/2σ/3σ contours",
                           path=fig_surface)

    metrics = {
        "slope": float(theta[0]), "slope_err": float(err[0]),
        "intercept": float(theta[1]), "intercept_err": float(err[1]),
        "correlation": float(rho),
        "chi2_per_dof": chi2_val / dof, "p_value": float(fit.p_value),
        "slope_pull": float(pull),
        "gd_final_distance_sigma": gd_distance,
    }
    summary = (f"slope {theta[0]:.3f} ± {err[0]:.3f} (truth {true_theta[0]:g}, pull {pull:+.2f}), "
               f"intercept {theta[1]:.3f} ± {err[1]:.3f}, χ²/dof = {chi2_val:.1f}/{dof}, "
               f"p = {float(fit.p_value):.2f}")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_fit, fig_surface])


CHAPTER = Chapter(number=1, name="line-fit", title="Straight-line χ² fit and its loss surface",
                  run=run)
