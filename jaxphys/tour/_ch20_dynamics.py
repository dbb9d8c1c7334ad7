"""Chapter 20: training dynamics: optimisers, step sizes, width, depth, double descent.

Seven optimisers (gradient descent, momentum, Nesterov, AdaGrad, RMSProp,
Adam, Nadam; `jaxphys.core.get_optimizer` names, optax underneath) run from 16
starting points on four two-parameter landscapes: an ill-conditioned quadratic
(κ = 100), the Rosenbrock valley, the χ² surface of a straight-line fit, and three
Gaussian wells (three minima). Each landscape is one jitted call
(`optimizer_trajectories`: a scan over steps, vmapped over starts, for every
optimiser). The steps each needs to stay within a tolerance of a minimum are
tabulated (median over starts; −1 when fewer than half arrive; tolerance 0.01
in θ, 0.05 on Rosenbrock, 5 % of a standard error on χ²). On the quadratic,
momentum and Adam need several times fewer steps than gradient descent at its
classic step 1/L. The step-size lesson: gradient descent on (θ − 3)² from
θ₀ = −1.5 multiplies the error by (1 − 2η) per step, so it creeps (η = 0.1), lands
at once (η = 0.5), oscillates (η = 0.9), bounces for ever (η = 1) or diverges
(η = 1.1); the computed paths match the closed form. Universal approximation: a
1-D target fitted by one hidden layer of growing width (error falls with width)
and by growing depth at a fixed parameter count. Double descent: minimum-norm
random-features regression has its test error peak where the number of features
equals the number of training points. Sparse rewards and a curriculum: in a
serpentine maze whose only reward is +1 at the goal, 23-25 moves from the start
(``jaxphys.rl.sparse_maze``, episodes of 60 steps), a plain ε-greedy
Q-learner never finds the reward within its step budget, while the same learner
with the same budget, started ever farther from the goal (a goal-distance
curriculum that advances on its training success), reaches the goal in every
greedy evaluation episode; the figure shows the success rate against
environment steps (one jitted, vmapped call for all seeds of both agents).
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

OPTIMIZERS = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam")
ETAS = (0.1, 0.5, 0.9, 1.0, 1.1)


def _step_size_regime(eta: float) -> str:
    """The behaviour of gradient descent on ``(θ − θ*)²`` with step ``η``, from ``|1 − 2η|``.

    >>> [_step_size_regime(e) for e in (0.1, 0.5, 0.9, 1.0, 1.1)]
    ['monotone', 'one step', 'oscillating', 'marginal', 'diverging']
    """
    eta = float(eta)
    if eta <= 0:
        raise ValueError(f"eta: expected a step size > 0, got {eta!r}")
    if eta < 0.5:
        return "monotone"
    if eta == 0.5:
        return "one step"
    if eta < 1.0:
        return "oscillating"
    if eta == 1.0:
        return "marginal"
    return "diverging"


def _trajectory_figure(landscapes, runs, path):
    import numpy as np

    from jaxphys.dynamics import loss_surface
    from jaxphys.plot import new_figure, save_figure

    fig = new_figure(figsize=(11.0, 9.0))
    axes = fig.subplots(2, 2).ravel()
    for ax, ls in zip(axes, landscapes):
        tr, start_index = runs[ls.name]["trajectories"], runs[ls.name]["show"]
        (a0, a1), (b0, b1) = ls.bounds
        g1 = np.linspace(a0, a1, 121)
        g2 = np.linspace(b0, b1, 121)
        z = np.asarray(loss_surface(ls.loss, g1, g2))
        zmin = z.min()
        levels = zmin + np.geomspace(1e-3, z.max() - zmin + 1e-3, 20) * (
            1.0 if ls.name != "wells" else 1.0)
        ax.contourf(g1, g2, z.T, levels=levels, cmap="Greys_r", alpha=0.8)
        ax.contour(g1, g2, z.T, levels=levels, colors="k", linewidths=0.3)
        thetas = np.asarray(tr.thetas)
        for o, name in enumerate(OPTIMIZERS):
            path_o = thetas[o, start_index]
            ok = np.all(np.isfinite(path_o), axis=1)
            ax.plot(path_o[ok, 0], path_o[ok, 1], "-", lw=1.4, color=f"C{o}", label=name)
        ax.plot(*thetas[0, start_index, 0], "o", color="w", mec="k", ms=7)
        ax.plot(ls.minima[:, 0], ls.minima[:, 1], "*", color="gold", mec="k", ms=13)
        ax.set_xlim(a0, a1)
        ax.set_ylim(b0, b1)
        ax.set_xlabel(ls.labels[0])
        ax.set_ylabel(ls.labels[1])
        ax.set_title(f"{ls.name}: {thetas.shape[2] - 1} steps from one of 16 starts")
    axes[0].legend(fontsize=8, loc="lower left", ncol=2)
    return save_figure(fig, path)


def _steps_figure(table, n_steps, path):
    import numpy as np

    from jaxphys.plot import new_figure, save_figure

    fig = new_figure(figsize=(9.0, 4.2))
    ax = fig.subplots()
    names = list(table)
    width = 0.8 / len(OPTIMIZERS)
    for o, opt in enumerate(OPTIMIZERS):
        vals = np.array([table[n][opt] for n in names], float)
        shown = np.where(vals >= 0, vals, np.nan)
        ax.bar(np.arange(len(names)) + (o - 3) * width, shown, width, color=f"C{o}", label=opt)
        for i, v in enumerate(vals):
            if v < 0:
                ax.text(i + (o - 3) * width, 1.5, "×", ha="center", va="center",
                        color=f"C{o}", fontsize=11)
    ax.set_yscale("log")
    ax.set_ylim(1.0, 30.0 * n_steps)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_ylabel("median steps to tolerance (× = not reached)")
    ax.set_title("Steps to stay within tolerance of a minimum (16 starts)")
    ax.legend(fontsize=8, ncol=4)
    ax.grid(alpha=0.3, axis="y")
    return save_figure(fig, path)


def _step_size_figure(thetas, closed, path):
    import numpy as np

    from jaxphys.plot import new_figure, save_figure

    fig = new_figure(figsize=(11.0, 4.2))
    left, right = fig.subplots(1, 2)
    t = np.arange(thetas.shape[1])
    for i, eta in enumerate(ETAS):
        left.plot(t, thetas[i], "o-", ms=3, lw=1, color=f"C{i}", label=f"η = {eta:g}")
        left.plot(t, closed[i], "-", lw=3, alpha=0.25, color=f"C{i}")
        right.semilogy(t, np.abs(thetas[i] - 3.0) + 1e-300, "o-" if eta != 0.1 else "s--",
                       ms=3 if eta != 0.1 else 6, mfc="none" if eta == 0.1 else None, lw=1,
                       color=f"C{i}",
                       label=f"η = {eta:g}:  |1 − 2η| = {abs(1 - 2 * eta):.1f}")
    left.axhline(3.0, color="k", lw=0.8, ls="--")
    left.set_ylim(-12, 18)
    left.set_xlabel("step t")
    left.set_ylabel("θ_t")
    left.set_title("GD on (θ − 3)²: paths (dots) on the closed form (bands)")
    right.set_ylim(1e-4, 1e3)
    right.set_xlabel("step t")
    right.set_ylabel("|θ_t − θ*|")
    right.set_title("|θ_t − θ*| = |1 − 2η|^t |θ₀ − θ*|")
    right.legend(fontsize=8)
    left.legend(fontsize=8, loc="upper left")
    return save_figure(fig, path)


def _expressiveness_figure(width_res, depth_res, path):
    import numpy as np

    from jaxphys.plot import new_figure, save_figure

    fig = new_figure(figsize=(11.0, 4.2))
    left, right = fig.subplots(1, 2)
    for res, label, color in ((width_res, "one hidden layer, growing width", "C0"),):
        med = np.median(res.test_mse, axis=1)
        left.loglog(res.n_params, med, "o-", color=color, label=label)
        for w, p, m in zip(res.widths, res.n_params, med):
            left.annotate(f"W={w}", (p, m), textcoords="offset points", xytext=(4, 4), fontsize=7)
        left.fill_between(res.n_params, res.test_mse.min(1), res.test_mse.max(1), color=color,
                          alpha=0.2)
    left.set_xlabel("parameters")
    left.set_ylabel("test MSE (median, range over seeds)")
    left.set_title("Universal approximation: error vs width")
    left.grid(alpha=0.3, which="both")
    med = np.median(depth_res.test_mse, axis=1)
    right.semilogy(depth_res.depths, med, "o-", color="C1")
    right.fill_between(depth_res.depths, depth_res.test_mse.min(1), depth_res.test_mse.max(1),
                       color="C1", alpha=0.2)
    for d, w, p, m in zip(depth_res.depths, depth_res.widths, depth_res.n_params, med):
        right.annotate(f"W={w}, {p} params", (d, m), textcoords="offset points", xytext=(4, 4),
                       fontsize=7)
    right.set_xticks(depth_res.depths)
    right.set_xlabel("hidden layers (fixed parameter budget)")
    right.set_ylabel("test MSE")
    right.set_title(f"Depth at ≈ {int(np.median(depth_res.n_params))} parameters")
    right.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def _double_descent_figure(dd, path):
    import numpy as np

    from jaxphys.plot import new_figure, save_figure

    fig = new_figure(figsize=(6.8, 4.4))
    ax = fig.subplots()
    ratio = dd.n_features / dd.n_train
    for arr, label, color in ((dd.test_mse, "test", "C3"), (dd.train_mse, "train", "C0")):
        a = np.asarray(arr)
        med = np.median(a, axis=1)
        ax.plot(ratio, np.maximum(med, 1e-8), "o-", ms=4, color=color, label=label)
        ax.fill_between(ratio, np.maximum(np.quantile(a, 0.25, axis=1), 1e-8),
                        np.maximum(np.quantile(a, 0.75, axis=1), 1e-8), color=color, alpha=0.2)
    ax.axvline(1.0, color="0.3", ls="--", lw=1, label="interpolation threshold P = N")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, None)
    ax.set_xlabel("features / training points  P/N")
    ax.set_ylabel("mean squared error (median, IQR over seeds)")
    ax.set_title(f"Double descent: min-norm random ReLU features, N = {dd.n_train}")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return save_figure(fig, path)


def _curriculum_panel(key, quick, path):
    """Success rate vs environment steps of the curriculum and the plain agent."""
    import jax
    import numpy as np

    from jaxphys.plot import new_figure, save_figure
    from jaxphys.rl import (CurriculumConfig, curriculum_starts, evaluations, make_curriculum,
                            plain_starts, sparse_maze, sweep_axes)

    env = sparse_maze(max_steps=60)
    params = env.default_params()
    distances = (3, 6, 10, 14, 18, 22)
    n_steps, every, seeds = (6000, 500, 3) if quick else (20_000, 500, 8)
    agent = make_curriculum(env, params, CurriculumConfig(
        n_steps=n_steps, eval_every=every, eval_episodes=32, eval_max_steps=60,
        distances=distances))
    hp = agent.default_hparams._replace(gamma=0.95, epsilon=0.1, learning_rate=0.5)
    starts = np.stack([np.asarray(curriculum_starts(env, params, distances))] * seeds
                      + [np.asarray(plain_starts(params, len(distances) + 1))] * seeds)
    axes = sweep_axes(hp, "starts")
    res = jax.jit(jax.vmap(agent.train, in_axes=(0, axes)))(
        jax.random.split(key, 2 * seeds), hp._replace(starts=starts))
    succ = evaluations(res.metrics)                                # (2 * seeds, n_evals)
    steps = every * np.arange(1, succ.shape[1] + 1)
    fig = new_figure(figsize=(6.8, 4.2))
    ax = fig.subplots()
    for rows, label, color in ((succ[:seeds], "goal-distance curriculum", "C2"),
                                (succ[seeds:], "plain ε-greedy Q-learning", "C3")):
        ax.plot(steps, rows.T, color=color, alpha=0.3, lw=1)
        ax.plot(steps, rows.mean(0), "o-", color=color, lw=2, ms=4, label=label)
    ax.axhline(0.9, color="0.4", ls="--", lw=0.8)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("greedy success rate (32 episodes)")
    nearest = int(np.min(np.asarray(env.goal_distances())[np.asarray(params.start) > 0]))
    ax.set_title(f"Sparse reward, goal {nearest}+ moves away: {seeds} seeds each", fontsize=10)
    ax.legend(fontsize=8, loc="center right")
    ax.grid(alpha=0.3)
    save_figure(fig, path)
    return float(succ[:seeds, -1].mean()), float(succ[seeds:, -1].mean()), n_steps


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.dynamics import (chi2_landscape, depth_sweep, double_descent, gd_quadratic,
                                  optimizer_trajectories, quadratic_landscape,
                                  rosenbrock_landscape, steps_to_tolerance, wells_landscape,
                                  width_sweep)

    # the curriculum's stream comes from fold_in so that the five keys below keep the values
    # the other sections were tuned with
    rl_key = jax.random.fold_in(key, 20)
    chi2_key, width_key, depth_key, dd_data_key, dd_key = jax.random.split(key, 5)
    quick = bool(quick)
    out_dir = Path(out_dir)
    metrics: dict[str, float] = {}

    # --- optimisers on the four landscapes: one jitted call per landscape
    n_steps = 600 if quick else 2000
    landscapes = [quadratic_landscape(100.0), rosenbrock_landscape(),
                  chi2_landscape(chi2_key, n=30), wells_landscape()]
    runs, table = {}, {}
    for ls in landscapes:
        lrs = jnp.asarray([ls.learning_rates[o] for o in OPTIMIZERS], jnp.float32)
        starts = jnp.asarray(ls.starts, jnp.float32)
        tr = optimizer_trajectories(ls.loss, OPTIMIZERS, starts, n_steps, lrs)
        if ls.name == "chi2":
            tol = 0.05 * min(hi - lo for lo, hi in ls.bounds) / 12.0   # 5 % of a std error
        elif ls.name == "rosenbrock":
            tol = 5e-2
        else:
            tol = 1e-2
        steps = np.asarray(steps_to_tolerance(tr, ls.minima, tol))
        # on the wells any minimum counts; the global one is reported separately
        show = 0 if ls.name != "rosenbrock" else 4
        runs[ls.name] = {"trajectories": tr, "show": show}
        table[ls.name] = {}
        for o, opt in enumerate(OPTIMIZERS):
            arrived = steps[o][steps[o] >= 0]
            med = float(np.median(arrived)) if arrived.size >= steps.shape[1] / 2 else -1.0
            table[ls.name][opt] = med
            metrics[f"{ls.name}_{opt}_median_steps"] = med
        if ls.name == "wells":
            final = np.asarray(tr.thetas[:, :, -1])                      # (O, S, 2)
            dist = np.linalg.norm(final - ls.minima[ls.global_index][None, None, :], axis=-1)
            for o, opt in enumerate(OPTIMIZERS):
                metrics[f"wells_{opt}_global_fraction"] = float(np.mean(dist[o] < tol))

    fig_traj = _trajectory_figure(landscapes, runs, out_dir / "ch20_trajectories.png")
    del fig_traj
    _steps_figure(table, n_steps, out_dir / "ch20_steps_to_tolerance.png")

    # --- the step-size lesson
    with jax.enable_x64(True):
        etas = jnp.asarray(ETAS, jnp.float64)
        thetas = np.asarray(jax.vmap(lambda e: gd_quadratic(-1.5, 3.0, e, 30).thetas)(etas))
    closed = 3.0 + (1.0 - 2.0 * np.asarray(ETAS)[:, None]) ** np.arange(31) * (-1.5 - 3.0)
    metrics["step_size_max_abs_error_vs_closed_form"] = float(
        np.max(np.abs(thetas - closed) / np.maximum(1.0, np.abs(closed))))
    for eta, th in zip(ETAS, thetas):
        metrics[f"theta30_eta_{eta:g}"] = float(th[-1])
    _step_size_figure(thetas, closed, out_dir / "ch20_step_sizes.png")

    # --- universal approximation: width and depth
    def target(x):
        return jnp.sin(2 * jnp.pi * x) + 0.5 * jnp.cos(5 * jnp.pi * x)

    x_train = jnp.linspace(-1.0, 1.0, 64)
    x_test_key, width_fit_key = jax.random.split(width_key)
    x_test = jax.random.uniform(x_test_key, (400,), minval=-1.0, maxval=1.0)
    if quick:
        widths, depths, seeds, steps_nn, budget = (1, 4, 16), (1, 3), 2, 600, 120
    else:
        widths, depths, seeds, steps_nn, budget = (1, 2, 4, 8, 16, 32, 64), (1, 2, 3, 4, 6), \
            3, 3000, 200
    wres = width_sweep(width_fit_key, x_train, target(x_train), x_test, target(x_test), widths,
                       n_seeds=seeds, n_steps=steps_nn, learning_rate=0.02)
    dres = depth_sweep(depth_key, x_train, target(x_train), x_test, target(x_test), depths,
                       budget, n_seeds=seeds, n_steps=steps_nn, learning_rate=0.01)
    wmed = np.median(wres.test_mse, axis=1)
    dmed = np.median(dres.test_mse, axis=1)
    for w, m in zip(wres.widths, wmed):
        metrics[f"width_{w}_test_mse"] = float(m)
    for d, m in zip(dres.depths, dmed):
        metrics[f"depth_{d}_test_mse"] = float(m)
    _expressiveness_figure(wres, dres, out_dir / "ch20_width_depth.png")

    # --- double descent with random ReLU features
    n_train, d_in = 40, 10
    with jax.enable_x64(True):
        beta_key, xtr_key, noise_key, xte_key = jax.random.split(dd_data_key, 4)
        beta = jax.random.normal(beta_key, (d_in,)) / np.sqrt(d_in)
        xtr = jax.random.normal(xtr_key, (n_train, d_in))
        xte = jax.random.normal(xte_key, (500, d_in))
        ytr = jnp.tanh(2 * xtr @ beta) + 0.3 * jax.random.normal(noise_key, (n_train,))
        yte = jnp.tanh(2 * xte @ beta)
        ratios = (0.125, 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2, 4, 10) if quick else \
            (0.05, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.2,
             1.35, 1.5, 2, 3, 5, 10, 20)
        ps = sorted({max(1, int(round(r * n_train))) for r in ratios})
        dd = double_descent(dd_key, xtr, ytr, xte, yte, ps, n_seeds=5 if quick else 20)
    test_med = np.median(np.asarray(dd.test_mse), axis=1)
    peak_p = int(dd.n_features[int(np.argmax(test_med))])
    metrics["double_descent_peak_features"] = float(peak_p)
    metrics["double_descent_peak_over_n"] = peak_p / n_train
    metrics["double_descent_peak_test_mse"] = float(test_med.max())
    metrics["double_descent_min_test_mse_below_threshold"] = float(
        test_med[dd.n_features < n_train].min())
    metrics["double_descent_test_mse_at_max_features"] = float(test_med[-1])
    _double_descent_figure(dd, out_dir / "ch20_double_descent.png")

    # --- sparse rewards: curriculum vs plain agent
    curr_success, plain_success, rl_steps = _curriculum_panel(rl_key, quick,
                                                              out_dir / "ch20_curriculum.png")
    metrics["curriculum_final_success"] = curr_success
    metrics["plain_agent_final_success"] = plain_success
    metrics["curriculum_step_budget"] = float(rl_steps)

    q = table["quadratic"]
    regimes = ", ".join(f"η={e:g} {_step_size_regime(e)}" for e in ETAS)
    summary = (f"ill-conditioned quadratic (κ=100), median steps to 1e-2: GD {q['gd']:.0f}, "
               f"momentum {q['momentum']:.0f}, Adam {q['adam']:.0f}, Nesterov "
               f"{q['nesterov']:.0f}; step sizes: {regimes} (max rel. error vs closed form "
               f"{metrics['step_size_max_abs_error_vs_closed_form']:.1e}); width "
               f"{wres.widths[0]}→{wres.widths[-1]}: test MSE {wmed[0]:.3g}→{wmed[-1]:.3g}; "
               f"double-descent peak at P = {peak_p} (N = {n_train}), test MSE "
               f"{test_med.max():.3g} vs {test_med[-1]:.3g} at P = {int(dd.n_features[-1])}; "
               f"sparse maze after {rl_steps} steps: curriculum success "
               f"{100 * curr_success:.0f} %, plain agent {100 * plain_success:.0f} %")
    figures = [out_dir / f"ch20_{n}.png" for n in ("trajectories", "steps_to_tolerance",
                                                   "step_sizes", "width_depth",
                                                   "double_descent", "curriculum")]
    return ChapterResult(summary=summary, metrics=metrics, figures=figures)


CHAPTER = Chapter(number=20, name="dynamics",
                  title="Training dynamics: optimisers, step sizes, width, depth, double descent",
                  run=run)
