"""Chapter 14: agents that find Ising ground states.

Part 1, a learned agent. A DQN (``jaxphys.rl`` DQN, double-DQN targets,
replay ring buffer) plays the ``IsingChain`` game on a ferromagnetic open
chain of N = 10 spins, ``E = −J Σ s_i s_{i+1}``: each action flips one spin; the
reward is −1 per flip plus potential-based shaping by the energy (so the best
policy reaches a ground state in the fewest flips; the naive reward
``+Σ s_i s_{i+1}`` would instead pay to never finish). From random starts we
measure how often the greedy agent reaches a ground state and how many flips it
needs beyond the minimum (the Hamming distance to the nearest of the two
aligned states).

Part 2, planning. On a periodic ±J spin glass in a field ``h`` (frustrated
whenever the product of the couplings is negative) UCT Monte Carlo tree search
with zero-temperature rollouts plays from a random start until it reaches the
ground state; its energy is compared with the exact minimum found by
enumerating all ``2^N`` configurations.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.plot import new_figure
    from jaxphys.rl import DQNConfig, MCTSConfig, make_dqn, mcts_episode
    from jaxphys.rl.envs import IsingChain, enumerate_ising_chain, random_pm_j_couplings

    dqn_key, eval_key, glass_key, mcts_key = jax.random.split(key, 4)

    # ---- part 1: DQN on the ferromagnetic chain -------------------------------------------
    n = 10
    env = IsingChain(n, observe_fields=True, max_steps=3 * n)
    params = env.make_params(J=1.0, h=0.0, gamma=0.9)
    config = DQNConfig(total_timesteps=60_000 if quick else 100_000, n_envs=16,
                       buffer_size=10_000, batch_size=64, learning_starts=1_000,
                       target_update_interval=2_000, hidden=(128, 128), loss="huber",
                       lr_decay=True)
    agent = make_dqn(env, params, config)
    hparams = agent.default_hparams._replace(learning_rate=1e-3, gamma=0.9, eps_fraction=0.5)
    result = agent.train(dqn_key, hparams)
    policy = agent.policy(result.state.params)
    n_episodes = 200 if quick else 1000

    @jax.jit
    def episodes(k):
        def one(ek):
            reset_key, run_key = jax.random.split(ek)
            obs, state = env.reset_env(reset_key, params)

            def body(c, _):
                obs, st, done, length, reached = c
                o2, s2, _, term, trunc, _ = env.step_env(run_key, st, policy(run_key, obs), params)
                alive = jnp.logical_not(done)
                return (o2, s2, done | term | trunc, length + alive.astype(jnp.int32),
                        reached | (alive & term)), None

            init = (obs, state, jnp.asarray(False), jnp.asarray(0), jnp.asarray(False))
            (_, _, _, length, reached), _ = jax.lax.scan(body, init, None, length=3 * n)
            return state.spins, length, reached
        return jax.vmap(one)(jax.random.split(k, n_episodes))

    starts, lengths, reached = (np.asarray(x) for x in episodes(eval_key))
    _, ground = enumerate_ising_chain(np.ones(n - 1), 0.0, n_spins=n)
    min_flips = np.min((starts[:, None, :] != ground[None]).sum(-1), axis=1)
    success = float(reached.mean())
    excess = float((lengths[reached] - min_flips[reached]).mean()) if reached.any() else np.nan

    # learning curve in 20 chunks: mean return and mean length of the episodes ended in each
    m = result.metrics
    episodes = np.asarray(m["n_episodes"])
    ended = np.where(episodes > 0, np.asarray(m["episode_return"]) * episodes, 0.0)
    chunks = np.array_split(np.arange(episodes.shape[0]), 20)
    done = np.array([episodes[c].sum() for c in chunks])
    ret = np.array([ended[c].sum() for c in chunks]) / np.maximum(done, 1)
    steps = np.array([np.asarray(m["env_steps"])[c[-1]] for c in chunks])
    ep_len = np.array([len(c) * config.n_envs for c in chunks]) / np.maximum(done, 1)

    fig = new_figure(figsize=(9.0, 3.6))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(steps, ret, marker="o")
    ax1.set_xlabel("environment steps")
    ax1.set_ylabel("mean episode return (training, ε-greedy)")
    ax1.set_title("DQN on the N = 10 ferromagnetic chain")
    ax2.plot(steps, ep_len, marker="o", label="flips per episode (training)")
    ax2.axhline(min_flips.mean(), color="k", ls="--", label="minimum flips (mean)")
    if reached.any():
        ax2.axhline(lengths[reached].mean(), color="C1", ls=":", label="greedy agent (evaluation)")
    for ax in (ax1, ax2):
        ax.ticklabel_format(axis="x", style="sci", scilimits=(3, 3))
    ax2.set_xlabel("environment steps")
    ax2.set_ylabel("flips")
    ax2.legend()
    fig_dqn = out_dir / "ch14_dqn_ising.png"
    fig.savefig(fig_dqn, dpi=110)

    # ---- part 2: MCTS on a ±J spin glass, checked by enumeration ---------------------------
    n_glass = 12 if quick else 16
    n_glasses = 1 if quick else 4
    h = 0.25
    genv = IsingChain(n_glass, periodic=True, max_steps=3 * n_glass)
    mcfg = MCTSConfig(n_simulations=64 if quick else 128, rollout_depth=8, c_uct=1.0)
    Js = jax.vmap(lambda k: random_pm_j_couplings(k, n_glass))(
        jax.random.split(glass_key, n_glasses))

    def plan(k, J):
        gp = genv.default_params()._replace(J=J, h=jnp.float32(h))
        reset_key, play_key = jax.random.split(k)
        obs, state = genv.reset_env(reset_key, gp)
        ep = mcts_episode(play_key, genv, gp, mcfg, max_steps=3 * n_glass,
                          rollout_policy=genv.greedy_policy(gp, epsilon=0.1),
                          initial=(obs, state))
        return state.spins, ep.actions, ep.terminated, genv.energy(ep.final_state.spins, gp)

    start_spins, actions, terminated, e_final = (
        np.asarray(x) for x in jax.jit(jax.vmap(plan))(jax.random.split(mcts_key, n_glasses), Js))

    def np_energy(s, J):
        return float(-np.sum(J * s * np.roll(s, -1)) - h * s.sum())

    exact, found, traces = [], [], []
    for i in range(n_glasses):
        J = np.asarray(Js[i], float)
        e_exact, _ = enumerate_ising_chain(J, h, n_spins=n_glass)
        exact.append(e_exact)
        found.append(abs(e_final[i] - e_exact) < 1e-4)
        s = start_spins[i].astype(float).copy()
        trace = [np_energy(s, J)]
        for a in actions[i]:
            if a < 0:
                break
            s[a] *= -1
            trace.append(np_energy(s, J))
        traces.append(trace)

    fig = new_figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for i, trace in enumerate(traces):
        line, = ax.plot(trace, marker=".", label=f"glass {i + 1}: MCTS")
        ax.axhline(exact[i], color=line.get_color(), ls="--", lw=0.8)
    ax.set_xlabel("flips")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("energy E")
    ax.set_title(f"MCTS on periodic ±J chains, N = {n_glass}, h = {h} "
                 "(dashed: exact minimum by enumeration)", fontsize=9)
    ax.legend(fontsize=8)
    fig_mcts = out_dir / "ch14_mcts_spin_glass.png"
    fig.savefig(fig_mcts, dpi=110)

    metrics = {
        "dqn_success_rate": success,
        "dqn_mean_flips": float(lengths[reached].mean()) if reached.any() else float("nan"),
        "min_flips_mean": float(min_flips.mean()),
        "dqn_excess_flips": excess,
        "glass_n_spins": n_glass,
        "mcts_found_ground_state": float(np.mean(found)),
        "mcts_energy_0": float(e_final[0]),
        "exact_energy_0": float(exact[0]),
        "mcts_reached_terminal": float(np.mean(terminated)),
    }
    summary = (f"DQN (N = {n}): ground state in {100 * success:.0f}% of {n_episodes} starts, "
               f"{excess:+.2f} flips over the minimum; MCTS found the exact ground energy of "
               f"{int(np.sum(found))}/{n_glasses} ±J glasses (N = {n_glass}, "
               f"E = {e_final[0]:.2f} vs {exact[0]:.2f} by enumeration)")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_dqn, fig_mcts])


CHAPTER = Chapter(number=14, name="ising-agent",
                  title="Agents that find Ising ground states: DQN and MCTS vs enumeration",
                  run=run)
