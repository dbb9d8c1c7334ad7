"""Chapter 17: a physics-informed network solves viscous Burgers beside the exact solution.

``u_t + u u_x = ν u_xx`` on ``x ∈ [-1, 1]``, ``t ∈ [0, 1]``, ν = 0.01/π,
``u(x, 0) = −sin πx``, ``u(±1, t) = 0`` (Raissi, Perdikaris & Karniadakis 2019). A
tanh MLP ``n(x, t)`` enters the field as ``u = −sin πx + t(1 − x²) n`` (initial
and boundary conditions hold exactly), and is trained on the mean squared PDE
residual at Latin-hypercube collocation points — derivatives by ``jax.grad`` and
forward-mode JVPs — with Adam, rounds of residual-based adaptive resampling
(points added where ``|r|`` is largest: the shock at ``x = 0``) and L-BFGS. The
exact solution comes from the Cole–Hopf transformation by Gauss–Hermite
quadrature. The quick run trains a small network for a few seconds; the full
run a larger one for longer (the 5e-3 accuracy of the literature needs many
thousand L-BFGS steps: see ``tests/test_physics_pinn.py``).
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

CONFIG = {
    True: dict(widths=(16,) * 3, n_collocation=1000, n_adam=800, learning_rate=5e-3,
               n_lbfgs=400, chunk_size=10),
    False: dict(widths=(20,) * 6, n_collocation=5000, n_adam=3000, learning_rate=3e-3,
                rar_rounds=2, rar_points=500, rar_adam=500, n_lbfgs=3000, chunk_size=25),
}


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import numpy as np

    from jaxphys.physics.pinn import BURGERS_NU, burgers_cole_hopf, relative_l2, solve_burgers
    from jaxphys.plot import new_figure, save_figure

    cfg = CONFIG[bool(quick)]
    sol = solve_burgers(key, **cfg)
    x = np.linspace(-1.0, 1.0, 256)
    t = np.linspace(0.0, 1.0, 100)
    xx, tt = np.meshgrid(x, t, indexing="ij")
    with jax.enable_x64(True):
        exact = np.asarray(burgers_cole_hopf(xx, tt))
    pred = np.asarray(sol.predict(np.stack([xx, tt], -1).astype(np.float32)))
    err = relative_l2(pred, exact)
    max_err = float(np.max(np.abs(pred - exact)))

    fig = new_figure(figsize=(11.0, 6.0))
    grid = fig.add_gridspec(2, 3)
    for col, (field, title) in enumerate([(exact, "exact (Cole–Hopf)"), (pred, "PINN"),
                                          (np.abs(pred - exact), "|PINN − exact|")]):
        ax = fig.add_subplot(grid[0, col])
        im = ax.pcolormesh(t, x, field, shading="auto", cmap="RdBu_r" if col < 2 else "viridis")
        fig.colorbar(im, ax=ax)
        ax.set_xlabel("t")
        ax.set_ylabel("x")
        ax.set_title(title, fontsize=10)
    history = sol.result.history
    n_points = int(history["n_collocation"][-1])
    n0 = cfg["n_collocation"]
    for col, ti in enumerate((25, 50, 99)):
        ax = fig.add_subplot(grid[1, col])
        ax.plot(x, exact[:, ti], "k-", lw=2, label="exact")
        ax.plot(x, pred[:, ti], "r--", lw=1.5, label="PINN")
        ax.set_title(f"t = {t[ti]:.2f}", fontsize=10)
        ax.set_xlabel("x")
        if col == 0:
            ax.set_ylabel("u")
            ax.legend(fontsize=8)
    added = n_points - n0
    fig.suptitle(f"Burgers, ν = 0.01/π: relative L2 error {err:.2e} on 256 × 100"
                 + (f" ({added} RAR points added)" if added else ""), fontsize=11)
    fig_path = out_dir / "ch17_pinn_burgers.png"
    save_figure(fig, fig_path)

    fig2 = new_figure(figsize=(6.4, 4.0))
    ax = fig2.add_subplot(1, 1, 1)
    steps = np.asarray(history["step"])
    residual = np.asarray(history["residual"])
    is_lbfgs = np.asarray(history["stage"]) == "lbfgs"
    ax.semilogy(steps[~is_lbfgs], residual[~is_lbfgs], label="Adam (+ RAR rounds)")
    ax.semilogy(steps[is_lbfgs], residual[is_lbfgs], label="L-BFGS")
    n_adam = int(steps[~is_lbfgs].max()) if (~is_lbfgs).any() else 0
    n_lbfgs = int(steps[-1]) - n_adam
    ax.set_xlabel("step")
    ax.set_ylabel(f"mean squared residual (mean over {cfg['chunk_size']} steps)")
    ax.legend()
    loss_path = out_dir / "ch17_pinn_loss.png"
    save_figure(fig2, loss_path)

    metrics = {"relative_l2_error": err, "max_abs_error": max_err,
               "final_residual_loss": float(residual[-1]),
               "nu": float(BURGERS_NU), "n_collocation": n_points,
               "n_adam": n_adam, "n_lbfgs": n_lbfgs}
    summary = (f"Burgers PINN (ν = 0.01/π): relative L2 error {err:.2e}, max |error| "
               f"{max_err:.2e} vs Cole–Hopf on 256 × 100, {n_adam} Adam + {n_lbfgs} "
               f"L-BFGS steps, {n_points} collocation points")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_path, loss_path])


CHAPTER = Chapter(number=17, name="pinn", title="A physics-informed network solves Burgers",
                  run=run)
