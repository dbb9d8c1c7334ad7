"""PPO on CartPole: wall-clock to reach a return of 475, jaxphys vs rejax vs stable-baselines3.

All three train PPO on CartPole-v1 with the same hyperparameters (4 envs ×
128 steps per update, 4 epochs of 4 minibatches, Adam 2.5e-4 annealed
linearly, γ 0.99, GAE λ 0.95, clip 0.2, entropy 0.01, value 0.5, gradient
norm 0.5, separate 64-64 tanh actor and critic) for at most 5·10⁵ steps:

"Reaching 475" is gym's CartPole-v1 solved rule: the mean return of the last 100
training episodes (at update granularity: the fewest latest updates holding at least
100 finished episodes) is at least 475.

* jaxphys: ``jaxphys.rl._ppo.make_train``; the whole run is one jitted call
  (compile timed apart with ``lower().compile()``). Time to 475 = run time ×
  (updates until the solved rule first holds) / (all updates) — the scan's updates
  all cost the same.
* rejax 0.1 ``PPO.create(env="CartPole-v1", ...)`` with the same settings: one
  jitted ``train`` (compile apart); its greedy evaluation (128 episodes) every
  ``eval_freq`` steps is the reached-475 signal (evaluation time included in
  its run time: a small handicap, noted).
* stable-baselines3 PPO, PyTorch CPU, ``torch.set_num_threads`` = cores (one in
  quick mode): wall
  clock of ``learn`` with a callback that stops as soon as the solved rule holds
  after a rollout (same criterion as
  jaxphys).

Each is run once per seed (one seed in full mode; the jaxphys run is
repeated after compilation for a steady-state time). Quick mode uses tiny
budgets only to exercise the code (475 is not reached; the time-to figures are
then None) and skips rejax (its compilation alone would double the smoke test). Ratios are peer seconds over jaxphys seconds (> 1: jaxphys faster).
"""

from __future__ import annotations

import time

import jax
import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, peer_threads, register
from ._timing import block

NAME = "rl_ppo"
TARGET = 475.0
SOLVED_WINDOW = 100


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"total": 2048, "sb3_total": 512, "n_envs": 4, "n_steps": 128, "hidden": 16,
                "eval_freq": 1024}
    return {"total": 500_000, "sb3_total": 500_000, "n_envs": 4, "n_steps": 128, "hidden": 64,
            "eval_freq": 8192}


def _first_fraction(curve: np.ndarray, steps: np.ndarray, total: float):
    hit = np.flatnonzero(np.nan_to_num(curve, nan=-np.inf) >= TARGET)
    return (None, None) if hit.size == 0 else (float(steps[hit[0]]) / total, int(steps[hit[0]]))


def _window_mean(sums, counts, i: int, window: int = SOLVED_WINDOW):
    """Mean return of the training episodes of updates ``j..i``, the fewest latest whole
    updates holding at least ``window`` episodes; ``None`` while fewer have ended."""
    c = np.cumsum(np.asarray(counts[:i + 1], float)[::-1])
    k = int(np.searchsorted(c, window))           # updates i-k..i hold >= window episodes
    return None if k >= len(c) else float(np.sum(sums[i - k:i + 1])) / c[k]


def _solved_index(sums, counts):
    """First update at which ``_window_mean`` >= TARGET: gym's CartPole-v1 "solved" rule
    (mean of 100 consecutive episodes) at update granularity, applied alike to jaxphys
    and stable-baselines3 (one rollout = one update). ``None`` if never."""
    for i in range(len(counts)):
        m = _window_mean(sums, counts, i)
        if m is not None and m >= TARGET:
            return i
    return None


def _jaxphys(cfg: dict) -> dict:
    from jaxphys.rl._evaluate import evaluate
    from jaxphys.rl._ppo import PPOConfig, make_train
    from jaxphys.rl.envs._cartpole import CartPole

    env = CartPole()
    pc = PPOConfig(total_timesteps=cfg["total"], n_envs=cfg["n_envs"], n_steps=cfg["n_steps"],
                   hidden=(cfg["hidden"],) * 2)
    train = make_train(env, env.default_params(), pc)
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = jax.jit(train).lower(key).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    res = block(compiled(key))
    run_s = time.perf_counter() - start
    start = time.perf_counter()
    block(compiled(jax.random.key(1)))
    run2_s = time.perf_counter() - start
    steps = np.asarray(res.metrics["env_steps"])
    counts = np.asarray(res.metrics["n_episodes"])
    sums = np.where(counts > 0, np.asarray(res.metrics["episode_return"]), 0.0) * counts
    i = _solved_index(sums, counts)
    frac, at = (None, None) if i is None else (float(steps[i]) / steps[-1], int(steps[i]))
    ev = jax.jit(lambda k: evaluate(k, env, None, train.policy(res.params), n_episodes=32,
                                    max_steps=500).mean_return)(jax.random.key(2))
    return {"compile_s": compile_s, "run_s": run_s, "run2_s": run2_s,
            "to_target_s": None if frac is None else frac * run_s, "at_step": at,
            "final_eval": float(ev), "steps": int(steps[-1])}


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
        import jax.numpy as jnp

        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action,
                                                                         params)
        return obs, state, reward, jnp.logical_or(terminated, truncated), info


def _rejax(cfg: dict) -> dict:
    import gymnax
    from rejax import PPO

    env, env_params = gymnax.make("CartPole-v1")
    algo = PPO.create(env=_FiveTupleEnv(env), env_params=env_params,
                      total_timesteps=cfg["total"], eval_freq=cfg["eval_freq"],
                      num_envs=cfg["n_envs"], num_steps=cfg["n_steps"], num_epochs=4,
                      num_minibatches=4, learning_rate=2.5e-4, max_grad_norm=0.5, gamma=0.99,
                      gae_lambda=0.95, clip_eps=0.2, ent_coef=0.01, vf_coef=0.5,
                      skip_initial_evaluation=True,
                      agent_kwargs={"activation": "tanh",
                                    "hidden_layer_sizes": (cfg["hidden"],) * 2})
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = jax.jit(algo.train).lower(key).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    _, (lengths, returns) = block(compiled(key))
    run_s = time.perf_counter() - start
    curve = np.asarray(returns).mean(axis=-1)
    steps = np.arange(1, curve.shape[0] + 1) * cfg["eval_freq"]
    frac, at = _first_fraction(curve, steps, cfg["total"])
    return {"compile_s": compile_s, "run_s": run_s,
            "to_target_s": None if frac is None else frac * run_s, "at_step": at,
            "final_eval": float(curve[-1]), "annealed_lr": False}


def _sb3(cfg: dict, threads: int) -> dict:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    class StopAt(BaseCallback):
        """Per rollout (= one jaxphys update): the sum and count of the training episodes
        that ended in it; the same solved rule as for jaxphys (``_solved_index``)."""

        def __init__(self):
            super().__init__()
            self.returns: list[float] = []
            self.sums: list[float] = []
            self.counts: list[int] = []
            self.reached_at = None

        def _on_step(self) -> bool:
            if self.reached_at is not None:
                return False           # stops learn() at the first step after reaching
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

    total = cfg["sb3_total"]

    def lr(progress_remaining):
        return 2.5e-4 * progress_remaining

    env = make_vec_env("CartPole-v1", n_envs=cfg["n_envs"], seed=0)
    model = PPO("MlpPolicy", env, n_steps=cfg["n_steps"], batch_size=cfg["n_envs"] *
                cfg["n_steps"] // 4, n_epochs=4, learning_rate=lr, gamma=0.99, gae_lambda=0.95,
                clip_range=0.2, ent_coef=0.01, vf_coef=0.5, max_grad_norm=0.5, seed=0,
                policy_kwargs={"net_arch": {"pi": [cfg["hidden"]] * 2, "vf": [cfg["hidden"]] * 2},
                               "activation_fn": torch.nn.Tanh}, device="cpu", verbose=0)
    cb = StopAt()
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        start = time.perf_counter()
        model.learn(total_timesteps=total, callback=cb)
        wall = time.perf_counter() - start
    finally:
        torch.set_num_threads(prev_threads)
    return {"run_s": wall,
            "to_target_s": cb.reached_wall - start if cb.reached_at is not None else None,
            "at_step": cb.reached_at, "steps": int(model.num_timesteps),
            "torch": torch.__version__, "threads": threads}


@register(NAME)
def rl_ppo(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    ctx.log(f"{NAME}: jaxphys")
    jx = _jaxphys(cfg)
    ctx.log(f"{NAME}: rejax")
    if ctx.quick:    # a second whole-run compilation would double the smoke test's time
        rj = {"error": "skipped in quick mode"}
    else:
        try:
            rj = _rejax(cfg)
        except Exception as err:  # noqa: BLE001 - the peer is optional
            rj = {"error": repr(err)}
    ctx.log(f"{NAME}: stable-baselines3")
    try:
        sb = _sb3(cfg, peer_threads(ctx))
    except Exception as err:  # noqa: BLE001
        sb = {"error": repr(err)}

    def ratio(peer):
        a, b = peer.get("to_target_s"), jx["to_target_s"]
        return None if a is None or b is None else a / b

    def get(d, k):
        return d.get(k) if isinstance(d, dict) else None

    figures = {
        "jaxphys_compile_s": Figure(jx["compile_s"], "s", "jit compile of the whole run"),
        "jaxphys_run_s": Figure(jx["run_s"], "s", f"{jx['steps']} steps, compiled"),
        "jaxphys_run_again_s": Figure(jx["run2_s"], "s", "same, second seed"),
        "jaxphys_to_475_s": Figure(jx["to_target_s"], "s",
                                   "wall-clock until the last 100 training episodes average ≥ 475"),
        "jaxphys_to_475_steps": Figure(jx["at_step"], "steps", "env steps until solved (≥ 475)"),
        "jaxphys_final_eval": Figure(jx["final_eval"], "return", "greedy, 32 episodes"),
        "rejax_compile_s": Figure(get(rj, "compile_s"), "s", "jit compile of rejax train"),
        "rejax_run_s": Figure(get(rj, "run_s"), "s", "rejax run incl. its evaluations"),
        "rejax_to_475_s": Figure(get(rj, "to_target_s"), "s", "until greedy eval ≥ 475"),
        "rejax_to_475_steps": Figure(get(rj, "at_step"), "steps", "env steps until greedy eval ≥ 475"),
        "sb3_to_475_s": Figure(get(sb, "to_target_s"), "s", "SB3 PPO (torch CPU) wall-clock"),
        "sb3_run_s": Figure(get(sb, "run_s"), "s", "SB3 learn() wall-clock"),
        "sb3_to_475_steps": Figure(get(sb, "at_step"), "steps", "env steps until solved (≥ 475)"),
        "ratio_rejax_over_jaxphys_to_475": Figure(ratio(rj), "1", "> 1: jaxphys faster"),
        "ratio_sb3_over_jaxphys_to_475": Figure(ratio(sb), "1", "> 1: jaxphys faster"),
    }
    table = [["library", "compile (s)", "to 475 (s)", "steps to 475", "run (s)"],
             ["jaxphys", fmt(jx["compile_s"]), fmt(jx["to_target_s"]), str(jx["at_step"]),
              fmt(jx["run_s"])],
             ["rejax", fmt(get(rj, "compile_s")), fmt(get(rj, "to_target_s")),
              str(get(rj, "at_step")), fmt(get(rj, "run_s"))],
             ["stable-baselines3 (torch CPU)", "—", fmt(get(sb, "to_target_s")),
              str(get(sb, "at_step")), fmt(get(sb, "run_s"))]]
    notes = ["time to 475 excludes compilation for the JAX libraries",
             "rejax's learning rate is constant (no annealing option); its run time includes "
             "its periodic 128-episode evaluations"]
    for name, d in (("rejax", rj), ("stable-baselines3", sb)):
        if "error" in d:
            notes.append(f"{name} unavailable: {d['error']}")
    return BenchResult(description="PPO on CartPole-v1, wall-clock to a return of 475 with "
                                   "compile time apart: jaxphys vs rejax vs stable-baselines3.",
                       config=dict(cfg), figures=figures, table=table, notes=tuple(notes))
