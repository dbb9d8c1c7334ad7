"""Chapter 3: polynomial under- and overfitting, then ridge and lasso.

A small noisy sample (20 training points) of ``f(x) = sin(πx)`` on ``[-1, 1]``
with Gaussian noise σ = 0.3 is fitted by least-squares polynomials of every
degree 0 … 15 (12 with ``--quick``), all in one ``jax.vmap`` of
``jaxphys.linear.lstsq_fit``. The training error falls monotonically with the
degree; the validation and test errors fall, reach a minimum, and rise again
once the polynomial starts fitting the noise: the bias–variance trade-off. No
model can beat the noise floor σ² on fresh data. The degree is chosen on the
validation set; the test set (1000 points) is only used to report.

At the highest degree, ridge (L2, closed form) and lasso (L1, coordinate
descent) tame the overfit (``jaxphys.linear.ridge``, ``lasso``,
``regularization_path``). They act on the powers ``x, …, x^deg`` standardised
with training statistics (``jaxphys.data.Standardizer``) and on a centred
``y``, so that every power is penalised alike and the mean not at all. λ is
chosen on the validation set over a logarithmic grid; lasso's grid starts at
λ = 0.01 because coordinate descent on these strongly correlated powers does
not converge in reasonable time below it. Lasso sets many coefficients
exactly to zero.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

SIGMA = 0.3


def _truth(x):
    import numpy as np

    return np.sin(np.pi * x)


def _sample(key, n):
    """n points, x ~ U(-1, 1) sorted, y = sin(πx) + N(0, SIGMA²)."""
    import jax
    import jax.numpy as jnp

    x_key, noise_key = jax.random.split(key)
    x = jnp.sort(jax.random.uniform(x_key, (n,), jnp.float64, -1.0, 1.0))
    return x, jnp.sin(jnp.pi * x) + SIGMA * jax.random.normal(noise_key, (n,), jnp.float64)


def _mse(pred, y) -> float:
    import numpy as np

    return float(np.mean((np.asarray(pred) - np.asarray(y)) ** 2))


def fit_all_degrees(x, y, max_deg: int):
    """Least-squares polynomial coefficients of every degree 0 … max_deg in one compiled call.

    Degree d is the degree-``max_deg`` problem with the columns x^k, k > d, switched
    off and one extra equation θ_k = 0 for each of them (an exact constraint that
    keeps the design full rank). Every degree then has the same shapes, so
    ``jax.vmap`` solves all of them at once with ``jaxphys.linear.lstsq_fit``
    (QR) instead of compiling one fit per degree.

    Args:
      x, y: training data, shape (n,), n > max_deg.
      max_deg: the highest degree (Python int).

    Returns:
      (max_deg + 1, max_deg + 1) array; row d holds c_0 … c_d of the degree-d fit
      (increasing powers) followed by zeros.
    """
    import jax
    import jax.numpy as jnp

    from jaxphys import linear

    design = linear.design_matrix_poly(x, max_deg)                       # (n, p)
    p = max_deg + 1
    masks = (jnp.arange(p)[None, :] <= jnp.arange(p)[:, None]).astype(design.dtype)
    target = jnp.concatenate([y, jnp.zeros((p,), design.dtype)])

    def fit_one(mask):
        constrained = jnp.concatenate([design * mask[None, :], jnp.diag(1.0 - mask)], axis=0)
        return linear.lstsq_fit(constrained, target).params

    return jax.vmap(fit_one)(masks)


def _mse_per_degree(coeffs, x, y):
    """Mean squared error of each row of polynomial coefficients on (x, y), shape (degrees,)."""
    import jax
    import numpy as np

    from jaxphys import linear

    pred = jax.vmap(linear.polyval, in_axes=(0, None))(coeffs, x)       # (degrees, n)
    return np.mean((np.asarray(pred) - np.asarray(y)[None, :]) ** 2, axis=1)


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys import data, linear, plot

    n_train, n_val, n_test = 20, 20, 1000
    max_deg = 12 if quick else 15
    lams = np.geomspace(1e-6, 1e2, 17 if quick else 41)       # includes 1e-2 exactly
    # Coordinate descent crawls on these strongly correlated powers when λ is small
    # (below ~1e-2 it has not converged after 10⁵ sweeps), so lasso's grid starts there.
    is_lasso_lam = lams >= 1e-2 * (1 - 1e-9)
    lasso_sweeps = 2000 if quick else 20000
    x_grid = np.linspace(-1.0, 1.0, 400)
    noise_floor = SIGMA ** 2

    train_key, val_key, test_key = jax.random.split(key, 3)
    with jax.enable_x64(True):
        (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = (
            _sample(k, n) for k, n in ((train_key, n_train), (val_key, n_val),
                                       (test_key, n_test)))
        grid = jnp.asarray(x_grid)

        # 1. Least squares at every degree; the degree is chosen on the validation set.
        degrees = np.arange(max_deg + 1)
        coeffs = fit_all_degrees(x_tr, y_tr, max_deg)                 # (max_deg+1, max_deg+1)
        errors = {name: _mse_per_degree(coeffs, xs, ys) for name, xs, ys in
                  (("train", x_tr, y_tr), ("validation", x_va, y_va), ("test", x_te, y_te))}
        best_deg = int(np.argmin(errors["validation"]))
        curves = np.asarray(jax.vmap(linear.polyval, in_axes=(0, None))(coeffs, grid))

        # 2. Ridge and lasso at the highest degree, λ chosen on the validation set. The
        # penalty should treat every power alike and leave the mean alone, so the
        # features x, x², …, x^deg are standardised on the training set and y is centred.
        powers = {name: linear.design_matrix_poly(xs, max_deg)[:, 1:] for name, xs in
                  (("train", x_tr), ("val", x_va), ("test", x_te), ("grid", grid))}
        scaler = data.Standardizer.fit(powers["train"])
        z = {name: np.asarray(scaler.transform(p)) for name, p in powers.items()}
        y_mean = float(jnp.mean(y_tr))
        y_centered = y_tr - y_mean
        grids = {"ridge": lams, "lasso": lams[is_lasso_lam]}
        paths = {"ridge": np.asarray(linear.regularization_path(
                     linear.ridge, z["train"], y_centered, jnp.asarray(grids["ridge"]))),
                 "lasso": np.asarray(linear.regularization_path(
                     linear.lasso, z["train"], y_centered, jnp.asarray(grids["lasso"]),
                     max_iter=lasso_sweeps))}

    def predict(theta, features):     # theta (p,) or (L, p) → predictions (n,) or (n, L)
        return y_mean + features @ np.asarray(theta).T

    val_curves = {name: np.mean((predict(p, z["val"]) - np.asarray(y_va)[:, None]) ** 2, axis=0)
                  for name, p in paths.items()}
    chosen = {name: int(np.argmin(v)) for name, v in val_curves.items()}
    lam_chosen = {name: float(grids[name][chosen[name]]) for name in paths}
    reg_coef = {name: paths[name][chosen[name]] for name in paths}
    reg_test = {name: _mse(predict(reg_coef[name], z["test"]), y_te) for name in paths}
    n_zero = int(np.sum(reg_coef["lasso"] == 0.0))
    x_tr, y_tr = np.asarray(x_tr), np.asarray(y_tr)

    figs = [out_dir / f"ch03_{stem}.png" for stem in
            ("errors_vs_degree", "polynomial_fits", "regularized_fits", "validation_vs_lambda",
             "ridge_path", "lasso_path")]
    plot.plot_curves(degrees, errors, marker="o", log_y=True, xlabel="polynomial degree",
                     ylabel="mean squared error",
                     vline=best_deg, vline_label=f"chosen on validation: degree {best_deg}",
                     hline=noise_floor, hline_label=f"noise floor σ² = {noise_floor:g}",
                     title=f"Under- and overfitting ({n_train} training points, σ = {SIGMA:g})",
                     path=figs[0])
    points = {"training data": (x_tr, y_tr)}
    ylim = (-2.2, 2.2)
    truth = {"truth sin(πx)": _truth(x_grid)}
    plot.plot_curves(x_grid, {"degree 1 (underfit)": curves[1],
                              f"degree {best_deg} (best on validation)": curves[best_deg],
                              f"degree {max_deg} (overfit)": curves[max_deg]},
                     points=points, reference=truth, ylim=ylim, xlabel="x", ylabel="y",
                     title="Polynomial least-squares fits", path=figs[1])
    plot.plot_curves(x_grid, {f"degree {max_deg}, least squares": curves[max_deg],
                              f"ridge, λ = {lam_chosen['ridge']:.2g}":
                                  predict(reg_coef["ridge"], z["grid"]),
                              f"lasso, λ = {lam_chosen['lasso']:.2g}":
                                  predict(reg_coef["lasso"], z["grid"])},
                     points=points, reference=truth, ylim=ylim, xlabel="x", ylabel="y",
                     title=f"Degree {max_deg}: least squares, ridge and lasso", path=figs[2])
    lasso_on_grid = np.full(lams.shape, np.nan)          # NaN: not computed, not drawn
    lasso_on_grid[is_lasso_lam] = val_curves["lasso"]
    plot.plot_curves(lams, {"ridge": val_curves["ridge"], "lasso": lasso_on_grid},
                     log_x=True, log_y=True, xlabel="regularisation strength λ",
                     ylabel="validation mean squared error", hline=noise_floor,
                     hline_label=f"noise floor σ² = {noise_floor:g}",
                     title=f"Choosing λ at degree {max_deg}", path=figs[3])
    labels = [f"$x^{{{k}}}$" for k in range(1, max_deg + 1)]
    for name, path in zip(("ridge", "lasso"), figs[4:]):
        plot.plot_regularisation_path(grids[name], paths[name], labels=labels,
                                      chosen=lam_chosen[name],
                                      xlabel="regularisation strength λ",
                                      ylabel="coefficient of standardised $x^k$",
                                      title=f"{name.capitalize()} path, degree {max_deg}",
                                      symlog_y=1.0 if name == "ridge" else None,
                                      path=path)

    metrics = {
        "best_degree": float(best_deg),
        "test_mse_best_degree": float(errors["test"][best_deg]),
        "max_degree": float(max_deg),
        "test_mse_max_degree": float(errors["test"][max_deg]),
        "test_mse_ridge": reg_test["ridge"],
        "test_mse_lasso": reg_test["lasso"],
        "lambda_ridge": lam_chosen["ridge"],
        "lambda_lasso": lam_chosen["lasso"],
        "lasso_zero_coefficients": float(n_zero),
        "noise_variance": noise_floor,
    }
    summary = (f"best degree {best_deg} (test MSE {errors['test'][best_deg]:.3f}; degree "
               f"{max_deg}: {errors['test'][max_deg]:.3g}); ridge {reg_test['ridge']:.3f}, "
               f"lasso {reg_test['lasso']:.3f} with {n_zero}/{max_deg} zero coefficients; "
               f"noise floor {noise_floor:g}")
    return ChapterResult(summary=summary, metrics=metrics, figures=figs)


CHAPTER = Chapter(number=3, name="polynomial",
                  title="Polynomial under- and overfitting, ridge and lasso", run=run)
