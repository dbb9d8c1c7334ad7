"""CartPole environment throughput: jaxphys vs gymnax vs gymnasium, in the same run.

Steps per second of CartPole-v1 under uniformly random actions, at 1, 1024 and
4096 parallel environments (16 in quick mode), counted as
``n_envs × steps``:

* jaxphys: ``jaxphys.rl.envs.CartPole``; ``jax.vmap(env.step)`` (auto-reset
  included) inside one jitted ``lax.scan`` of ``K`` steps, the random actions
  drawn inside the scan;
* gymnax 1.x: ``gymnax.make("CartPole-v1")``, exactly the same scan and vmap;
* gymnasium: ``gymnasium.make_vec("CartPole-v1", num_envs=n,
  vectorization_mode="vector_entry_point")`` (``CartPoleVectorEnv``, numpy
  vectorised, with auto-reset), stepped from Python with a numpy action array.

The JAX variants report their first call (trace + compile + run) apart; every
timing blocks on its outputs. A peer that is not installed (gymnax, gymnasium) is
skipped, with a note. Repeats are interleaved round-robin so the three
see the same machine load. Ratios are jaxphys steps/s over the peer's (> 1:
jaxphys faster).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, register
from ._timing import time_first_call, time_interleaved

NAME = "rl_cartpole"


def _config(ctx: Context) -> dict:
    if ctx.quick:   # one size: each size compiles two scans (jaxphys, gymnax)
        return {"n_envs": (16,), "scan_steps": {16: 50}, "gym_steps": {16: 50},
                "warmup": 1, "repeats": 2}
    return {"n_envs": (1, 1024, 4096), "scan_steps": {1: 20_000, 1024: 1_000, 4096: 500},
            "gym_steps": {1: 5_000, 1024: 200, 4096: 100}, "warmup": 1, "repeats": 5}


def _jax_runner(reset, step, sample, n_envs: int, n_steps: int):
    """A jitted scan of ``n_steps`` vmapped steps with random actions; returns run(key)."""

    @jax.jit
    def run(key):
        key_reset, key_loop = jax.random.split(key)
        _, state = jax.vmap(reset)(jax.random.split(key_reset, n_envs))

        def body(carry, _):
            state, k, total = carry
            k, k_act, k_step = jax.random.split(k, 3)
            actions = jax.vmap(sample)(jax.random.split(k_act, n_envs))
            obs, state, reward, done, _ = step(jax.random.split(k_step, n_envs), state, actions)
            # consume obs and done too: CartPole's reward is a constant 1, and XLA would
            # otherwise drop the dynamics as dead code
            total = total + jnp.sum(reward) + jnp.sum(obs) + jnp.sum(done)
            return (state, k, total), None

        (state, _, total), _ = jax.lax.scan(body, (state, key_loop, jnp.float32(0.0)), None,
                                            length=n_steps)
        return total, state

    return run


def _jaxphys(n_envs: int, n_steps: int):
    from jaxphys.rl.envs._cartpole import CartPole

    env = CartPole()
    params = env.default_params()
    space = env.action_space(params)

    def step(keys, state, actions):
        obs, state, reward, term, trunc, _ = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            keys, state, actions, params)
        return obs, state, reward, term | trunc, None

    return _jax_runner(lambda k: env.reset(k, params), step, space.sample, n_envs, n_steps)


def _gymnax(n_envs: int, n_steps: int):
    import gymnax

    env, params = gymnax.make("CartPole-v1")
    space = env.action_space(params)

    def step(keys, state, actions):
        out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, state, actions, params)
        # gymnax 1.x: (obs, state, reward, terminated, truncated, info)
        return out[0], out[1], out[2], out[3] | out[4], None

    return _jax_runner(lambda k: env.reset(k, params), step, space.sample, n_envs, n_steps)


def _gymnasium(n_envs: int, n_steps: int):
    import gymnasium as gym

    env = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def run():
        total = 0.0
        for _ in range(n_steps):
            obs, reward, term, trunc, _ = env.step(rng.integers(0, 2, n_envs))
            total += float(reward.sum()) + float(obs.sum()) + int(term.sum()) + int(trunc.sum())
        return total

    return run


def _version(dist: str) -> str | None:
    """The installed version of ``dist``, or None when it is not installed."""
    import importlib.metadata
    import importlib.util

    if importlib.util.find_spec(dist) is None:
        return None
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@register(NAME)
def rl_cartpole(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    peers = [name for name in ("gymnax", "gymnasium") if _version(name) is not None]
    notes = [f"{name} not installed: peer skipped" for name in ("gymnax", "gymnasium")
             if name not in peers]
    figures: dict = {}
    table = [["parallel envs", "jaxphys steps/s", "gymnax steps/s", "gymnasium vector steps/s",
              "× gymnax", "× gymnasium", "jaxphys / gymnax compile (s)"]]
    key = jax.random.key(0)
    for n in cfg["n_envs"]:
        k_steps, g_steps = cfg["scan_steps"][n], cfg["gym_steps"][n]
        ctx.log(f"{NAME}: {n} envs")
        jp = _jaxphys(n, k_steps)
        compile_s = {"jaxphys": time_first_call(jp, key)[0]}
        runners = {"jaxphys": lambda: jp(key)}
        if "gymnax" in peers:
            gx = _gymnax(n, k_steps)
            compile_s["gymnax"] = time_first_call(gx, key)[0]
            runners["gymnax"] = lambda: gx(key)
        if "gymnasium" in peers:
            runners["gymnasium"] = _gymnasium(n, g_steps)
        t = time_interleaved(runners, warmup=cfg["warmup"], repeats=cfg["repeats"])
        sps = {name: n * (g_steps if name == "gymnasium" else k_steps) / t[name].median_s
               for name in runners}
        figures[f"jaxphys_steps_per_s_{n}"] = Figure(sps["jaxphys"], "steps/s",
                                                     f"jaxphys CartPole, {n} envs, median")
        if "gymnax" in sps:
            figures[f"gymnax_steps_per_s_{n}"] = Figure(sps["gymnax"], "steps/s",
                                                        f"gymnax CartPole-v1, {n} envs, median")
        if "gymnasium" in sps:
            figures[f"gymnasium_steps_per_s_{n}"] = Figure(
                sps["gymnasium"], "steps/s", f"gymnasium CartPoleVectorEnv, {n} envs")
        for peer in ("gymnax", "gymnasium"):
            if peer in sps:
                figures[f"ratio_jaxphys_over_{peer}_{n}"] = Figure(
                    sps["jaxphys"] / sps[peer], "1", f"steps/s ratio at {n} envs")
        figures[f"jaxphys_compile_s_{n}"] = Figure(compile_s["jaxphys"], "s",
                                                   "first call, jaxphys scan")
        if "gymnax" in compile_s:
            figures[f"gymnax_compile_s_{n}"] = Figure(compile_s["gymnax"], "s",
                                                      "first call, gymnax scan")

        def ratio(peer):
            return fmt(sps["jaxphys"] / sps[peer], 3) if peer in sps else fmt(None)

        table.append([str(n), fmt(sps["jaxphys"]), fmt(sps.get("gymnax")),
                      fmt(sps.get("gymnasium")), ratio("gymnax"), ratio("gymnasium"),
                      " / ".join(fmt(compile_s.get(k), 3) for k in ("jaxphys", "gymnax"))])
    return BenchResult(
        description="CartPole-v1 environment steps per second under random actions: jaxphys "
                    "vs gymnax (same vmap + lax.scan) vs gymnasium's numpy vector env.",
        config={"n_envs": list(cfg["n_envs"]), "scan_steps": cfg["scan_steps"],
                "gymnasium_steps": cfg["gym_steps"], "repeats": cfg["repeats"],
                "gymnax": _version("gymnax"), "gymnasium": _version("gymnasium")},
        figures=figures, table=table,
        notes=("steps/s count n_envs × steps; auto-reset included in all three",
               "random actions drawn inside the scan (JAX) or by numpy (gymnasium)", *notes))
