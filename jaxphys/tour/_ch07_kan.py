"""Chapter 7: a Kolmogorov–Arnold network recovers a formula.

Target ``f(x, y) = exp(sin(πx) + y²)`` on ``[-1, 1]²`` (float64 throughout).
A KAN of widths ``[2, 5, 1]`` (learnable cubic B-spline edges on ``G = 5``
intervals plus a SiLU residual) is trained with L-BFGS and an L1 sparsity
penalty on its edge activations (after 30 steps the hidden nodes' grid ranges
are refitted to the range their inputs take), then pruned: hidden nodes whose incoming or
outgoing edges are all weak go, which here leaves the ``[2, 1, 1]`` structure of
the formula, ``exp(φ₁(x) + φ₂(y))``. The pruned network is retrained and its grid
refined (``G = 5 → 10 → 20``; ``--quick``: straight to ``G = 10``; each refinement initialised by least squares from
the coarse splines, so the loss curve continues where it was). Each edge is
then fitted to a function library by affine least squares ``c·f(a·x + b) + d``,
fixed, the constants retrained, and the formula printed.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

# (train points, steps before pruning, steps per grid, grids, symbolic retraining steps)
SETTINGS = {True: dict(n=500, sparse_steps=100, steps=150, grids=(10,), sym_steps=60),
            False: dict(n=1000, sparse_steps=200, steps=250, grids=(5, 10, 20), sym_steps=150)}
SPARSITY = 1e-2         # λ of the L1 penalty before pruning
NODE_THRESHOLD = 0.1    # prune hidden nodes with max in/out edge score below this


def target(x):
    import jax.numpy as jnp
    return jnp.exp(jnp.sin(jnp.pi * x[..., 0]) + x[..., 1] ** 2)


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.core import train_lbfgs
    from jaxphys.nn import (KAN, auto_symbolic, kan_activations, prune, refine_grid,
                            sparsity_penalty, symbolic_formula)
    from jaxphys.plot import plot_curves
    from jaxphys.plot import new_figure, save_figure

    cfg = SETTINGS[bool(quick)]
    with jax.enable_x64(True):
        train_key, test_key, init_key = jax.random.split(key, 3)
        x_train = jax.random.uniform(train_key, (cfg["n"], 2), jnp.float64, -1.0, 1.0)
        x_test = jax.random.uniform(test_key, (1000, 2), jnp.float64, -1.0, 1.0)
        y_train, y_test = target(x_train), target(x_test)
        batch = (x_train, y_train)

        def loss_for(kan, lam=0.0):
            def loss(params, b, key):
                mse = jnp.mean((kan.apply(params, b[0])[:, 0] - b[1]) ** 2)
                return (mse + lam * sparsity_penalty(kan, params, b[0]) if lam else mse), {}
            return loss

        def rmse(kan, params, x, y):
            return float(jnp.sqrt(jnp.mean((kan.apply(params, x)[:, 0] - y) ** 2)))

        # 1. sparse training of [2, 5, 1], then pruning
        kan = KAN.create((2, 5, 1), grid_size=cfg["grids"][0])
        params = kan.init(init_key, x_train[0])
        # a short start, then the hidden grid ranges are fitted to the hidden activations
        params = train_lbfgs(loss_for(kan, SPARSITY), params, batch, 30).state.params
        kan, params = refine_grid(kan, params, cfg["grids"][0], x_train)
        params = train_lbfgs(loss_for(kan, SPARSITY), params, batch, cfg["sparse_steps"]).state.params
        pruned = prune(kan, params, x_train, node_threshold=NODE_THRESHOLD)
        kan, params = pruned.kan, pruned.params

        # 2. retrain and refine the grid; record the train loss and the test RMSE per stage
        curve, stage_rmse, boundaries = [], [], []
        for g_index, grid in enumerate(cfg["grids"]):
            if g_index or grid != kan.grid_size:
                kan, params = refine_grid(kan, params, grid, x_train)
            if g_index:
                boundaries.append(len(curve))
            res = train_lbfgs(loss_for(kan), params, batch, cfg["steps"])
            params = res.state.params
            curve.extend(np.sqrt(np.maximum(np.asarray(res.history["loss"]), 1e-300)).tolist())
            stage_rmse.append(rmse(kan, params, x_test, y_test))
        spline_kan = kan
        acts = kan_activations(kan, params, x_train)

        # 3. symbolic extraction, retraining of the constants, the formula
        sym_kan, sym_params, fits = auto_symbolic(kan, params, x_train)
        sym_params = train_lbfgs(loss_for(sym_kan), sym_params, batch, cfg["sym_steps"]).state.params
        formula = symbolic_formula(sym_kan, sym_params, ["x", "y"], digits=6)[0]
        sym_rmse = rmse(sym_kan, sym_params, x_test, y_test)

    namespace = {"sin": np.sin, "exp": np.exp, "log": np.log, "sqrt": np.sqrt,
                 "tanh": np.tanh, "abs": np.abs, "x": np.asarray(x_test[:, 0]),
                 "y": np.asarray(x_test[:, 1])}
    printed = eval(formula, {"__builtins__": {}}, namespace)  # noqa: S307  (our own string)
    formula_err = float(np.max(np.abs(printed - np.asarray(y_test))))

    # Figure 1: the learned edge functions with their symbolic fits.
    edges = [(l, i, j) for l, spec in enumerate(spline_kan.layers)
             for i in range(len(spec.mask)) for j in range(len(spec.mask[0])) if spec.mask[i][j]]
    fig = new_figure(figsize=(3.2 * len(edges), 3.0))
    for k, (l, i, j) in enumerate(edges):
        ax = fig.add_subplot(1, len(edges), k + 1)
        xs = np.asarray(acts[l].inputs[:, i])
        order = np.argsort(xs)
        ax.plot(xs[order], np.asarray(acts[l].phi[:, i, j])[order], lw=2.5, label="spline edge")
        f = fits.get((l, i, j))
        if f is not None:
            from jaxphys.nn import SYMBOLIC_LIBRARY
            fn = SYMBOLIC_LIBRARY[f.name][0]
            ax.plot(xs[order], f.c * fn(f.a * xs[order] + f.b) + f.d, "k--",
                    label=f"{f.name}, r² = {f.r2:.6f}")
        ax.set_title(f"layer {l}: node {i} → {j}", fontsize=9)
        ax.legend(fontsize=7)
    fig_edges = out_dir / "ch07_kan_edges.png"
    save_figure(fig, fig_edges)

    # Figure 2: RMSE across grid refinements.
    steps = np.arange(1, len(curve) + 1)
    fig_loss = out_dir / "ch07_kan_grid_refinement.png"
    plot_curves(steps, {"train RMSE (L-BFGS)": np.asarray(curve)}, log_y=True,
                xlabel=("L-BFGS step (grid refined at the dashed line)" if boundaries
                        else f"L-BFGS step (grid G = {cfg['grids'][0]})"), ylabel="RMSE",
                vline=float(boundaries[0]) if boundaries else None,
                vline_label=(f"G = {cfg['grids'][0]} → {cfg['grids'][1]}" if boundaries
                             else None),
                title="KAN on exp(sin(πx) + y²): grid extension", path=fig_loss)

    metrics = {"hidden_width_after_pruning": float(spline_kan.widths[1])}
    for grid, r in zip(cfg["grids"], stage_rmse):
        metrics[f"test_rmse_G{grid}"] = r
    metrics["test_rmse_symbolic"] = sym_rmse
    metrics["formula_max_error"] = formula_err
    for (l, i, j), f in fits.items():
        metrics[f"r2_edge_{l}{i}{j}_{f.name}"] = f.r2
    names = ", ".join(f"{f.name}" for f in fits.values())
    summary = (f"[2, 5, 1] pruned to {list(spline_kan.widths)}; test RMSE "
               + " → ".join(f"{r:.1e} (G={g})" for g, r in zip(cfg["grids"], stage_rmse))
               + f"; edges: {names}; formula: f = {formula} (max error {formula_err:.1e})")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_edges, fig_loss])


CHAPTER = Chapter(number=7, name="kan", title="A Kolmogorov–Arnold network recovers a formula",
                  run=run)
