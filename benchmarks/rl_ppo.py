"""PPO and DQN on CartPole: jaxphys vs rejax (and PPO vs stable-baselines3), same run.

Three comparisons, each with the same hyperparameters on both sides:

* **PPO to a greedy return of 475** (4 envs × 128 steps per update, 4 epochs of 4
  minibatches, Adam 2.5e-4, γ 0.99, GAE λ 0.95, clip 0.2, entropy 0.01, value 0.5,
  gradient norm 0.5, separate 64-64 tanh actor and critic, at most 5·10⁵ steps). Both
  libraries evaluate the greedy policy on 128 episodes every ``eval_freq`` environment
  steps *inside* one jitted call (rejax's own evaluation; for jaxphys ``agent.train_from``
  chunks and ``jaxphys.rl.evaluate`` under one ``lax.scan``), and the criterion is the
  first evaluation ≥ 475: time to it = run time × (evaluations until then) / (all
  evaluations). Compilation is timed apart (``lower().compile()``). rejax 0.1 anneals no
  learning rate; the jaxphys agent is run with ``anneal_lr=False`` too.
* **PPO, 64 seeds vmapped** (``jax.vmap(train)`` over 64 keys, a shorter run each):
  environment steps per second, jaxphys over rejax (rejax evaluates once, at the end).
* **DQN** (10 envs, buffer 10⁴, batch 128, 10⁴ steps before learning, target copy every
  500 steps, Adam 2.5e-4, ε 1 → 0.05 over half the run, 64-64 ReLU Q-network (rejax's
  fixed size), double DQN):
  environment steps per second over the same budget, compile apart.
* stable-baselines3 PPO, PyTorch CPU, ``torch.set_num_threads`` = cores (one in quick mode),
  with a callback that stops at gym's CartPole-v1 *solved* rule (the mean return of the
  last 100 training episodes ≥ 475, at rollout granularity); jaxphys is timed to the same
  rule on its training episodes, and its **compile time is added** to its wall clock, as
  SB3's start-up is in SB3's.

Quick mode uses tiny budgets only to exercise the code (475 is not reached; the time-to
figures are then None) and skips rejax (its compilations would double the smoke test).
Ratios are peer seconds over jaxphys seconds, or jaxphys steps/s over the peer's (> 1:
jaxphys faster).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, peer_threads, register
from ._timing import block

NAME = "rl_ppo"
TARGET = 475.0
SOLVED_WINDOW = 100


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"total": 2048, "sb3_total": 512, "n_envs": 4, "n_steps": 128, "hidden": 16,
                "eval_freq": 1024, "eval_episodes": 8, "seeds": 4, "seed_total": 1024,
                "dqn_total": 2000, "dqn_starts": 500}
    return {"total": 500_000, "sb3_total": 500_000, "n_envs": 4, "n_steps": 128, "hidden": 64,
            "eval_freq": 8192, "eval_episodes": 128, "seeds": 64, "seed_total": 16_384,
            "dqn_total": 100_000, "dqn_starts": 10_000}


def _window_mean(sums, counts, i: int, window: int = SOLVED_WINDOW):
    """Mean return of the training episodes of updates ``j..i``, the fewest latest whole
    updates holding at least ``window`` episodes; ``None`` while fewer have ended."""
    c = np.cumsum(np.asarray(counts[:i + 1], float)[::-1])
    k = int(np.searchsorted(c, window))
    return None if k >= len(c) else float(np.sum(sums[i - k:i + 1])) / c[k]


def _solved_index(sums, counts):
    """First update at which ``_window_mean`` >= TARGET (gym's solved rule), or None."""
    for i in range(len(counts)):
        m = _window_mean(sums, counts, i)
        if m is not None and m >= TARGET:
            return i
    return None


def _first_fraction(curve):
    hit = np.flatnonzero(np.nan_to_num(np.asarray(curve), nan=-np.inf) >= TARGET)
    return None if hit.size == 0 else (hit[0] + 1) / len(curve)


def _compile(fn, *args):
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - start


def _timed(compiled, *args):
    start = time.perf_counter()
    out = block(compiled(*args))
    return out, time.perf_counter() - start


def _ppo_agent(cfg, total):
    from jaxphys.rl import PPOConfig, make_ppo
    from jaxphys.rl.envs import CartPole

    env = CartPole()
    agent = make_ppo(env, env.default_params(), PPOConfig(
        total_timesteps=total, n_envs=cfg["n_envs"], n_steps=cfg["n_steps"], anneal_lr=False,
        hidden=(cfg["hidden"],) * 2))
    return env, agent


def _jaxphys_ppo(cfg: dict) -> dict:
    from jaxphys.rl import evaluate

    env, agent = _ppo_agent(cfg, cfg["total"])
    per_chunk = cfg["eval_freq"] // (cfg["n_envs"] * cfg["n_steps"])
    n_chunks = cfg["total"] // cfg["eval_freq"]

    def run(key):
        key_init, key_run, key_eval = jax.random.split(key, 3)

        def chunk(state, i):
            state, metrics = agent.train_from(key_run, state, per_chunk)
            ev = evaluate(jax.random.fold_in(key_eval, i), env, None, agent.policy(state.params),
                          n_episodes=cfg["eval_episodes"], max_steps=500)
            return state, (ev.mean_return, metrics)

        return jax.lax.scan(chunk, agent.init(key_init), jnp.arange(n_chunks))[1]

    key = jax.random.key(0)
    compiled, compile_s = _compile(run, key)
    (curve, metrics), run_s = _timed(compiled, key)
    _, run2_s = _timed(compiled, jax.random.key(1))
    counts = np.asarray(metrics["n_episodes"]).reshape(-1)
    returns = np.nan_to_num(np.asarray(metrics["episode_return"]).reshape(-1))
    solved = _solved_index(returns * counts, counts)
    frac = _first_fraction(curve)
    solved_s = None if solved is None else run_s * (solved + 1) / len(counts)
    return {"compile_s": compile_s, "run_s": run_s, "run2_s": run2_s,
            "to_target_s": None if frac is None else frac * run_s,
            "at_step": None if frac is None else int(round(frac * cfg["total"])),
            "solved_with_compile_s": None if solved_s is None else compile_s + solved_s,
            "final_eval": float(np.asarray(curve)[-1])}


class _FiveTupleEnv:
    """gymnax 1.x ``step`` returns (obs, state, reward, terminated, truncated, info); rejax 0.1
    unpacks the older (obs, state, reward, done, info). This adapter gives rejax the latter."""

    def __init__(self, env):
        self._env = env

    def __getattr__(self, name):
        if name == "_env" or name.startswith("__"):   # copy/deepcopy probe before __init__
            raise AttributeError(name)
        return getattr(self._env, name)

    def step(self, key, state, action, params=None):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action,
                                                                         params)
        return obs, state, reward, jnp.logical_or(terminated, truncated), info


def _rejax_ppo(cfg: dict, total: int, eval_freq: int):
    import gymnax
    from rejax import PPO

    env, env_params = gymnax.make("CartPole-v1")
    return PPO.create(env=_FiveTupleEnv(env), env_params=env_params, total_timesteps=total,
                      eval_freq=eval_freq, num_envs=cfg["n_envs"], num_steps=cfg["n_steps"],
                      num_epochs=4, num_minibatches=4, learning_rate=2.5e-4, max_grad_norm=0.5,
                      gamma=0.99, gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5,
                      skip_initial_evaluation=True,
                      agent_kwargs={"activation": "tanh",
                                    "hidden_layer_sizes": (cfg["hidden"],) * 2})


def _rejax(cfg: dict) -> dict:
    algo = _rejax_ppo(cfg, cfg["total"], cfg["eval_freq"])
    key = jax.random.key(0)
    compiled, compile_s = _compile(algo.train, key)
    (_, (_, returns)), run_s = _timed(compiled, key)
    frac = _first_fraction(np.asarray(returns).mean(axis=-1))
    return {"compile_s": compile_s, "run_s": run_s,
            "to_target_s": None if frac is None else frac * run_s,
            "at_step": None if frac is None else int(round(frac * cfg["total"]))}


def _seeds(cfg: dict, with_rejax: bool) -> dict:
    """64 seeds of a short PPO run in one vmapped call: steps/s of each library."""
    keys = jax.random.split(jax.random.key(3), cfg["seeds"])
    _, agent = _ppo_agent(cfg, cfg["seed_total"])
    compiled, compile_s = _compile(jax.vmap(agent.train), keys)
    _, run_s = _timed(compiled, keys)
    out = {"jaxphys_compile_s": compile_s, "jaxphys_run_s": run_s,
           "jaxphys_sps": cfg["seeds"] * cfg["seed_total"] / run_s}
    if with_rejax:
        algo = _rejax_ppo(cfg, cfg["seed_total"], cfg["seed_total"])
        compiled, compile_s = _compile(jax.vmap(algo.train), keys)
        _, run_s = _timed(compiled, keys)
        out |= {"rejax_compile_s": compile_s, "rejax_run_s": run_s,
                "rejax_sps": cfg["seeds"] * cfg["seed_total"] / run_s}
    return out


def _dqn(cfg: dict, with_rejax: bool) -> dict:
    from jaxphys.rl import DQNConfig, make_dqn
    from jaxphys.rl.envs import CartPole

    key = jax.random.key(4)
    total, starts = cfg["dqn_total"], cfg["dqn_starts"]
    env = CartPole()
    agent = make_dqn(env, env.default_params(), DQNConfig(
        total_timesteps=total, n_envs=10, buffer_size=10_000, batch_size=128,
        learning_starts=starts, target_update_interval=500, hidden=(64, 64)))
    compiled, compile_s = _compile(agent.train, key)
    _, run_s = _timed(compiled, key)
    out = {"jaxphys_compile_s": compile_s, "jaxphys_run_s": run_s, "jaxphys_sps": total / run_s}
    if with_rejax:
        import gymnax
        from rejax import DQN

        genv, genv_params = gymnax.make("CartPole-v1")
        algo = DQN.create(env=_FiveTupleEnv(genv), env_params=genv_params, total_timesteps=total,
                          eval_freq=total, num_envs=10, buffer_size=10_000, fill_buffer=starts,
                          batch_size=128, learning_rate=2.5e-4, target_update_freq=500,
                          polyak=0.0, gamma=0.99, eps_start=1.0, eps_end=0.05,
                          exploration_fraction=0.5, max_grad_norm=10.0,
                          skip_initial_evaluation=True,
                          agent_kwargs={"activation": "relu"})   # rejax's Q-net is 64-64
        compiled, compile_s = _compile(algo.train, key)
        _, run_s = _timed(compiled, key)
        out |= {"rejax_compile_s": compile_s, "rejax_run_s": run_s, "rejax_sps": total / run_s}
    return out


def _sb3(cfg: dict, threads: int) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopAt(BaseCallback):
        """Per rollout (= one jaxphys update): sum and count of the training episodes that
        ended in it; stops at the solved rule (``_window_mean``)."""

        def __init__(self):
            super().__init__()
            self.returns, self.sums, self.counts = [], [], []
            self.reached_at = None

        def _on_step(self) -> bool:
            if self.reached_at is not None:
                return False
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(float(info["episode"]["r"]))
            return True

        def _on_rollout_end(self) -> None:
            self.sums.append(float(np.sum(self.returns)))
            self.counts.append(len(self.returns))
            self.returns = []
            m = _window_mean(self.sums, self.counts, len(self.counts) - 1)
            if self.reached_at is None and m is not None and m >= TARGET:
                self.reached_at = self.num_timesteps
                self.reached_wall = time.perf_counter()

    env = make_vec_env("CartPole-v1", n_envs=cfg["n_envs"], seed=0)
    model = PPO("MlpPolicy", env, n_steps=cfg["n_steps"], batch_size=cfg["n_envs"] *
                cfg["n_steps"] // 4, n_epochs=4, learning_rate=2.5e-4, gamma=0.99,
                gae_lambda=0.95, clip_range=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5,
                seed=0, policy_kwargs={"net_arch": {"pi": [cfg["hidden"]] * 2,
                                                    "vf": [cfg["hidden"]] * 2},
                                       "activation_fn": torch.nn.Tanh}, device="cpu", verbose=0)
    cb = StopAt()
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        model.learn(total_timesteps=cfg["sb3_total"], callback=cb)
        wall = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous)
    return {"run_s": wall,
            "to_target_s": cb.reached_wall - start if cb.reached_at is not None else None,
            "at_step": cb.reached_at, "torch": torch.__version__, "threads": threads}


def _try(fn, *args):
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001 - the peers are optional
        return {"error": repr(err)}


@register(NAME)
def rl_ppo(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    with_rejax = not ctx.quick
    ctx.log(f"{NAME}: jaxphys PPO to 475")
    jx = _jaxphys_ppo(cfg)
    ctx.log(f"{NAME}: rejax PPO to 475")
    rj = _try(_rejax, cfg) if with_rejax else {"error": "skipped in quick mode"}
    ctx.log(f"{NAME}: {cfg['seeds']} seeds vmapped")
    sd = _seeds(cfg, with_rejax)
    ctx.log(f"{NAME}: DQN")
    dq = _dqn(cfg, with_rejax)
    ctx.log(f"{NAME}: stable-baselines3")
    sb = _try(_sb3, cfg, peer_threads(ctx))

    def ratio(a, b):
        return None if a is None or b is None else a / b

    def fig(value, unit, label):
        return Figure(value, unit, label)

    figures = {
        "jaxphys_compile_s": fig(jx["compile_s"], "s", "jit compile of the whole run"),
        "jaxphys_run_s": fig(jx["run_s"], "s", f"{cfg['total']} steps with evaluations"),
        "jaxphys_run_again_s": fig(jx["run2_s"], "s", "same, second seed"),
        "jaxphys_to_475_s": fig(jx["to_target_s"], "s", "until a greedy evaluation ≥ 475"),
        "jaxphys_to_475_steps": fig(jx["at_step"], "steps", "env steps until greedy ≥ 475"),
        "jaxphys_final_eval": fig(jx["final_eval"], "return", "greedy, last evaluation"),
        "rejax_compile_s": fig(rj.get("compile_s"), "s", "jit compile of rejax train"),
        "rejax_run_s": fig(rj.get("run_s"), "s", "rejax run with its evaluations"),
        "rejax_to_475_s": fig(rj.get("to_target_s"), "s", "until a greedy evaluation ≥ 475"),
        "rejax_to_475_steps": fig(rj.get("at_step"), "steps", "env steps until greedy ≥ 475"),
        "ratio_rejax_over_jaxphys_to_475": fig(ratio(rj.get("to_target_s"), jx["to_target_s"]),
                                               "1", "> 1: jaxphys faster"),
        "jaxphys_seeds_steps_per_s": fig(sd["jaxphys_sps"], "steps/s",
                                         f"PPO, {cfg['seeds']} seeds vmapped"),
        "rejax_seeds_steps_per_s": fig(sd.get("rejax_sps"), "steps/s",
                                       f"PPO, {cfg['seeds']} seeds vmapped"),
        "ratio_jaxphys_over_rejax_seeds": fig(ratio(sd["jaxphys_sps"], sd.get("rejax_sps")), "1",
                                              "vmapped seeds steps/s, > 1: jaxphys faster"),
        "jaxphys_dqn_steps_per_s": fig(dq["jaxphys_sps"], "steps/s", "DQN, compile apart"),
        "rejax_dqn_steps_per_s": fig(dq.get("rejax_sps"), "steps/s", "DQN, compile apart"),
        "ratio_jaxphys_over_rejax_dqn": fig(ratio(dq["jaxphys_sps"], dq.get("rejax_sps")), "1",
                                            "DQN steps/s, > 1: jaxphys faster"),
        "jaxphys_solved_with_compile_s": fig(jx["solved_with_compile_s"], "s",
                                             "compile + until the solved rule (training)"),
        "sb3_to_solved_s": fig(sb.get("to_target_s"), "s", "SB3 PPO (torch CPU) to the rule"),
        "sb3_run_s": fig(sb.get("run_s"), "s", "SB3 learn() wall-clock"),
        "ratio_sb3_over_jaxphys_solved": fig(ratio(sb.get("to_target_s"),
                                                   jx["solved_with_compile_s"]),
                                             "1", "jaxphys compile included, > 1: faster"),
    }
    table = [["comparison", "jaxphys", "peer", "ratio (> 1: jaxphys faster)"],
             ["PPO to greedy 475, s (rejax)", fmt(jx["to_target_s"]), fmt(rj.get("to_target_s")),
              fmt(figures["ratio_rejax_over_jaxphys_to_475"].value, 3)],
             [f"PPO {cfg['seeds']} seeds, steps/s (rejax)", fmt(sd["jaxphys_sps"]),
              fmt(sd.get("rejax_sps")), fmt(figures["ratio_jaxphys_over_rejax_seeds"].value, 3)],
             ["DQN steps/s (rejax)", fmt(dq["jaxphys_sps"]), fmt(dq.get("rejax_sps")),
              fmt(figures["ratio_jaxphys_over_rejax_dqn"].value, 3)],
             ["PPO to solved rule incl. compile, s (SB3)", fmt(jx["solved_with_compile_s"]),
              fmt(sb.get("to_target_s")), fmt(figures["ratio_sb3_over_jaxphys_solved"].value, 3)]]
    notes = ["JAX times exclude compilation (reported apart) except in the SB3 comparison",
             "both PPO runs evaluate 128 greedy episodes every eval_freq steps inside the jit",
             "rejax treats a truncation as a termination (no bootstrap); jaxphys bootstraps"]
    for name, d in (("rejax", rj), ("stable-baselines3", sb)):
        if "error" in d:
            notes.append(f"{name} unavailable: {d['error']}")
    return BenchResult(description="PPO and DQN on CartPole-v1: time to a greedy return of 475, "
                                   "vmapped-seed and DQN throughput against rejax, and time to "
                                   "the solved rule against stable-baselines3.",
                       config=dict(cfg), figures=figures, table=table, notes=tuple(notes))
