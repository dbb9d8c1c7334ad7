"""Chapter 13: PPO balances the pole, several seeds with one compiled program.

CartPole (``jaxphys.rl.envs.CartPole``, gymnasium CartPole-v1's dynamics: +1
per step, terminated when the pole tilts past 12° or the cart leaves ±2.4 m,
truncated at 500 steps). PPO (clipped objective, GAE, minibatch epochs; separate
64-64 tanh actor and critic) is an agent, ``make_ppo(env, params, config)``, whose
``train(key, hparams)`` is one jittable function: ``jax.vmap(agent.train)`` would
train all seeds in one compiled call, but on jaxlib 0.10.2's CPU runtime long vmapped
agent runs have now and then waited forever with every thread idle (the RL guide's
known issue; once in this chapter's quick run), so the chapter compiles one
single-seed program, ``jax.jit(agent.train)``, and runs it once per seed. The figure
shows the
training return of every seed against environment steps, their mean, and a
uniformly random policy for scale; the trained greedy policies are then
evaluated on fresh episodes (``jaxphys.rl.evaluate``). ``--quick`` trains 3
seeds for 3.3·10⁴ steps (learning visibly, not solved); the full chapter trains
4 seeds for 5·10⁵ steps, where every seed reaches the 500-step limit.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import time

    import jax
    import numpy as np

    from jaxphys.plot import new_figure, save_figure
    from jaxphys.rl import PPOConfig, evaluate, make_ppo
    from jaxphys.rl.envs import CartPole

    n_seeds, steps = (3, 32_768) if quick else (4, 500_000)
    cfg = PPOConfig(total_timesteps=steps, n_envs=8 if quick else 4, n_steps=128)
    env = CartPole()
    agent = make_ppo(env, env.default_params(), cfg)
    train_key, eval_key, random_key = jax.random.split(key, 3)
    start = time.perf_counter()
    train = jax.jit(agent.train)                    # one compile, one run per seed
    runs = [jax.block_until_ready(train(k)) for k in jax.random.split(train_key, n_seeds)]
    res = jax.tree.map(lambda *leaves: jax.numpy.stack(leaves), *runs)
    seconds = time.perf_counter() - start

    def evaluate_params(k, params):
        return evaluate(k, env, None, agent.policy(params), n_episodes=32, max_steps=500)

    ev = jax.jit(jax.vmap(evaluate_params))(jax.random.split(eval_key, n_seeds),
                                            res.state.params)
    final = np.asarray(ev.mean_return)
    rand = float(jax.jit(lambda k: evaluate(k, env, None,
                                           lambda kk, o: env.action_space(None).sample(kk),
                                           n_episodes=200, max_steps=500).mean_return)(random_key))

    steps_axis = np.asarray(res.metrics["env_steps"][0])
    curves = np.asarray(res.metrics["episode_return"])
    fig_path = out_dir / "ch13_ppo_cartpole.png"
    fig = new_figure(figsize=(7.0, 4.2))
    ax = fig.subplots()
    for i in range(n_seeds):
        ax.plot(steps_axis, curves[i], lw=0.8, alpha=0.6, label=f"seed {i}")
    ax.plot(steps_axis, np.nanmean(curves, axis=0), "k-", lw=2, label="mean over seeds")
    ax.axhline(500, color="C2", ls=":", label="episode limit (500)")
    ax.axhline(rand, color="C3", ls="--", label=f"random policy ({rand:.0f})")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("training episode return")
    ax.set_title(f"PPO on CartPole, {n_seeds} seeds, one compiled program; greedy evaluation: "
                 + ", ".join(f"{r:.0f}" for r in final), fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    save_figure(fig, fig_path)

    metrics = {"eval_return_mean": float(final.mean()), "eval_return_min": float(final.min()),
               "random_policy_return": rand, "n_seeds": float(n_seeds),
               "env_steps_per_seed": float(steps_axis[-1]),
               "train_seconds_incl_compile": float(seconds)}
    summary = (f"PPO, {n_seeds} seeds × {int(steps_axis[-1])} steps: greedy evaluation return "
               f"mean {final.mean():.0f} (min {final.min():.0f}; random policy {rand:.0f}, "
               f"maximum 500)")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_path])


CHAPTER = Chapter(number=13, name="ppo", title="PPO on CartPole: a learning curve over seeds",
                  run=run)
