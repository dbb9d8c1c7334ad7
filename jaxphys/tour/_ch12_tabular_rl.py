"""Chapter 12: value iteration and Q-learning on Géron's three-state MDP and a grid world.

The three-state MDP of Géron, *Hands-on ML*, ch. 18 (``three_state_mdp``: from s0 the
actions a0, a1, a2 lead to [0.7, 0.3, 0], [1, 0, 0], [0.8, 0.2, 0]; from s1 a0
stays and a2 goes to s2 for −50; from s2 a1 returns to s0 for +40 with
probability 0.8) is solved by Q-value iteration (``q_value_iteration``, one
jitted ``while_loop``): the optimal actions are (a0, a0, a1) at γ = 0.90 and
(a0, a2, a1) at γ = 0.95 (far-sighted enough, the agent pays −50 in s1 to reach
the +40 of s2). Tabular Q-learning (the ``make_q_learning`` agent: uniform
behaviour policy, per-pair learning rate N^−0.7) learns the same Q-values from
sampled transitions; both discounts run in one vmapped call, γ being a traced
hyperparameter. Then a 5 × 10 maze with two pits and a 10 % slip probability
(``GridWorld``): value iteration on its exact tensors (``to_mdp``) gives V* and
the optimal policy (arrows), and ε-greedy Q-learning recovers a policy that
reaches the goal, evaluated on greedy episodes (``jaxphys.rl.evaluate``).
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

_ARROWS = {0: (0.0, 0.35), 1: (0.35, 0.0), 2: (0.0, -0.35), 3: (-0.35, 0.0)}


def _policy_panel(ax, env, values, policy, title):
    import numpy as np

    params = env.default_params()
    walls = np.asarray(params.walls)
    goal, pits = np.asarray(params.goal), np.asarray(params.pits)
    v = np.asarray(values).reshape(env.height, env.width).copy()
    v = np.ma.masked_where(walls, v)
    im = ax.imshow(v, cmap="viridis", origin="upper")
    ax.imshow(np.ma.masked_where(~walls, walls), cmap="Greys", vmin=0, vmax=1.2, origin="upper")
    pol = np.asarray(policy).reshape(env.height, env.width)
    for r in range(env.height):
        for c in range(env.width):
            if walls[r, c]:
                continue
            if goal[r, c]:
                ax.text(c, r, "G", ha="center", va="center", color="w", fontsize=12,
                        weight="bold")
            elif pits[r, c]:
                ax.text(c, r, "P", ha="center", va="center", color="r", fontsize=12,
                        weight="bold")
            else:
                dx, dy = _ARROWS[int(pol[r, c])]
                ax.arrow(c - dx / 2, r + dy / 2, dx, -dy, head_width=0.18, head_length=0.12,
                         length_includes_head=True, color="w")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
    return im


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.plot import new_figure, save_figure
    from jaxphys.rl import (QLearningConfig, evaluate, greedy_policy, make_q_learning,
                            q_value_iteration, value_iteration)
    from jaxphys.rl.envs import GridWorld, three_state_mdp

    out_dir = Path(out_dir)
    ql_key, grid_key, eval_key = jax.random.split(key, 3)
    metrics: dict[str, float] = {}
    gammas = (0.90, 0.95)
    expected = {0.90: [0, 0, 1], 0.95: [0, 2, 1]}

    # --- the three-state MDP: Q-value iteration and Q-learning (both γ in one vmap)
    env = three_state_mdp(max_steps=100)
    mdp = env.to_mdp()
    q_star = {}
    for g in gammas:
        res = q_value_iteration(mdp, g, tol=1e-6)
        q_star[g] = np.asarray(res.q_values)
        metrics[f"qvi_policy_matches_gamma_{g:.2f}"] = float(res.policy.tolist() == expected[g])
        metrics[f"qvi_iterations_gamma_{g:.2f}"] = float(res.n_iter)
    n_steps = 40_000 if quick else 400_000

    learner = make_q_learning(env, None, QLearningConfig(n_steps=n_steps, lr_schedule="visits"))
    hp = learner.default_hparams._replace(epsilon=1.0, learning_rate=1.0, lr_decay=1.0,
                                          lr_power=0.7)

    def learn(gamma, k):
        return learner.train(k, hp._replace(gamma=gamma)).state.q_values

    q_learned = np.asarray(jax.jit(jax.vmap(learn))(jnp.asarray(gammas, jnp.float32),
                                                    jax.random.split(ql_key, 2)))
    fin = np.isfinite(q_star[0.90])
    for i, g in enumerate(gammas):
        err = float(np.max(np.abs(q_learned[i][fin] - q_star[g][fin])))
        metrics[f"q_learning_max_error_gamma_{g:.2f}"] = err
        metrics[f"q_learning_max_Q_gamma_{g:.2f}"] = float(np.max(q_star[g][fin]))

    fig = new_figure(figsize=(10.0, 3.8))
    axes = fig.subplots(1, 2)
    labels = [f"s{s}a{a}" for s in range(3) for a in range(3) if fin[s, a]]
    xs = np.arange(len(labels))
    for ax, (i, g) in zip(axes, enumerate(gammas)):
        ax.bar(xs - 0.2, q_star[g][fin], 0.4, label="Q-value iteration")
        ax.bar(xs + 0.2, q_learned[i][fin], 0.4, label=f"Q-learning ({n_steps} steps)")
        ax.set_xticks(xs, labels)
        ax.axhline(0.0, color="k", lw=0.6)
        pol = ", ".join(f"a{a}" for a in expected[g])
        ax.set_title(f"γ = {g:.2f}: optimal actions ({pol})")
        ax.set_ylabel("Q(s, a)")
    axes[0].legend(fontsize=8)
    save_figure(fig, out_dir / "ch12_three_state.png")

    # --- the grid world: value iteration vs Q-learning
    grid = GridWorld(slip=0.1, step_reward=-0.01, max_steps=100)
    gp = grid.default_params()
    vi = value_iteration(grid.to_mdp(gp), 0.95, tol=1e-7)
    grid_steps = 20_000 if quick else 100_000
    grid_learner = make_q_learning(grid, gp, QLearningConfig(n_steps=grid_steps,
                                                             lr_schedule="visits"))
    grid_hp = grid_learner.default_hparams._replace(gamma=0.95, epsilon=0.2, learning_rate=0.3,
                                                    lr_decay=0.02)

    def grid_train(k):
        q = grid_learner.train(k, grid_hp).state.q_values
        ev = evaluate(eval_key, grid, gp, greedy_policy(grid, gp, q), n_episodes=100,
                      max_steps=100)
        return q, ev.returns

    q_grid, returns = jax.jit(grid_train)(grid_key)
    q_grid, returns = np.asarray(q_grid), np.asarray(returns)
    free = ~np.asarray(gp.walls | gp.goal | gp.pits).ravel()
    opt = np.asarray(vi.q_values)
    agree = np.mean(np.take_along_axis(opt, q_grid.argmax(-1)[:, None], 1)[:, 0][free]
                    >= opt.max(-1)[free] - 1e-3)
    metrics["grid_q_learning_success"] = float(np.mean(returns > 0))
    metrics["grid_q_learning_mean_return"] = float(returns.mean())
    metrics["grid_q_learning_optimal_action_fraction"] = float(agree)
    metrics["grid_value_at_start"] = float(np.asarray(vi.values)[0])

    fig = new_figure(figsize=(11.0, 3.4))
    axes = fig.subplots(1, 2)
    im = _policy_panel(axes[0], grid, vi.values, vi.policy,
                       "value iteration: V* and optimal policy (γ = 0.95, slip 0.1)")
    fig.colorbar(im, ax=axes[0], shrink=0.8)
    v_learned = np.where(free, q_grid.max(-1), 0.0)
    im = _policy_panel(axes[1], grid, v_learned, q_grid.argmax(-1),
                       f"Q-learning, {grid_steps} steps: max_a Q and greedy policy")
    fig.colorbar(im, ax=axes[1], shrink=0.8)
    save_figure(fig, out_dir / "ch12_gridworld.png")

    summary = (f"Q-value iteration: optimal actions (a0, a0, a1) at γ=0.90 and (a0, a2, a1) at "
               f"γ=0.95; Q-learning ({n_steps} steps) max |Q − Q*| "
               f"{metrics['q_learning_max_error_gamma_0.90']:.2f} / "
               f"{metrics['q_learning_max_error_gamma_0.95']:.2f} (|Q*| ≤ 54); grid world: "
               f"Q-learning's greedy policy reaches the goal in "
               f"{100 * metrics['grid_q_learning_success']:.0f} % of episodes, optimal action in "
               f"{100 * agree:.0f} % of cells")
    return ChapterResult(summary=summary, metrics=metrics,
                         figures=[out_dir / "ch12_three_state.png",
                                  out_dir / "ch12_gridworld.png"])


CHAPTER = Chapter(number=12, name="tabular-rl",
                  title="Value iteration and Q-learning: the three-state MDP and a grid world",
                  run=run)
