"""CartPole environment throughput: jaxphys vs gymnax vs gymnasium, in the same run.

Steps per second of CartPole-v1 under uniformly random actions, at 1, 1024 and
4096 parallel environments (1 and 64 in quick mode), counted as
``n_envs × steps``:

* jaxphys: ``jaxphys.rl.envs.CartPole``; ``jax.vmap(env.step)`` (auto-reset
  included) inside one jitted ``lax.scan`` of ``K`` steps, the random actions
  drawn inside the scan;
* gymnax 1.x: ``gymnax.make("CartPole-v1")``, exactly the same scan and vmap;
* gymnasium: ``gymnasium.make_vec("CartPole-v1", num_envs=n,
  vectorization_mode="vector_entry_point")`` (``CartPoleVectorEnv``, numpy
  vectorised, with auto-reset), stepped from Python with a numpy action array.

The JAX variants report their first call (trace + compile + run) apart; every
timing blocks on its outputs. Repeats are interleaved round-robin so the three
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
    if ctx.quick:
        return {"n_envs": (1, 64), "scan_steps": {1: 200, 64: 50}, "gym_steps": {1: 200, 64: 50},
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


@register(NAME)
def rl_cartpole(ctx: Context) -> BenchResult:
    import gymnasium
    import gymnax

    cfg = _config(ctx)
    figures: dict = {}
    table = [["parallel envs", "jaxphys steps/s", "gymnax steps/s", "gymnasium vector steps/s",
              "× gymnax", "× gymnasium", "jaxphys / gymnax compile (s)"]]
    key = jax.random.key(0)
    for n in cfg["n_envs"]:
        k_steps, g_steps = cfg["scan_steps"][n], cfg["gym_steps"][n]
        ctx.log(f"{NAME}: {n} envs")
        jp, gx = _jaxphys(n, k_steps), _gymnax(n, k_steps)
        jp_compile, _ = time_first_call(jp, key)
        gx_compile, _ = time_first_call(gx, key)
        gym_run = _gymnasium(n, g_steps)
        t = time_interleaved({"jaxphys": lambda: jp(key), "gymnax": lambda: gx(key),
                              "gymnasium": gym_run}, warmup=cfg["warmup"],
                             repeats=cfg["repeats"])
        sps = {"jaxphys": n * k_steps / t["jaxphys"].median_s,
               "gymnax": n * k_steps / t["gymnax"].median_s,
               "gymnasium": n * g_steps / t["gymnasium"].median_s}
        figures |= {
            f"jaxphys_steps_per_s_{n}": Figure(sps["jaxphys"], "steps/s",
                                               f"jaxphys CartPole, {n} envs, median"),
            f"gymnax_steps_per_s_{n}": Figure(sps["gymnax"], "steps/s",
                                              f"gymnax CartPole-v1, {n} envs, median"),
            f"gymnasium_steps_per_s_{n}": Figure(sps["gymnasium"], "steps/s",
                                                 f"gymnasium CartPoleVectorEnv, {n} envs"),
            f"ratio_jaxphys_over_gymnax_{n}": Figure(sps["jaxphys"] / sps["gymnax"], "1",
                                                     f"steps/s ratio at {n} envs"),
            f"ratio_jaxphys_over_gymnasium_{n}": Figure(sps["jaxphys"] / sps["gymnasium"], "1",
                                                        f"steps/s ratio at {n} envs"),
            f"jaxphys_compile_s_{n}": Figure(jp_compile, "s", "first call, jaxphys scan"),
            f"gymnax_compile_s_{n}": Figure(gx_compile, "s", "first call, gymnax scan"),
        }
        table.append([str(n), fmt(sps["jaxphys"]), fmt(sps["gymnax"]), fmt(sps["gymnasium"]),
                      fmt(sps["jaxphys"] / sps["gymnax"], 3),
                      fmt(sps["jaxphys"] / sps["gymnasium"], 3),
                      f"{jp_compile:.2f} / {gx_compile:.2f}"])
    return BenchResult(
        description="CartPole-v1 environment steps per second under random actions: jaxphys "
                    "vs gymnax (same vmap + lax.scan) vs gymnasium's numpy vector env.",
        config={"n_envs": list(cfg["n_envs"]), "scan_steps": cfg["scan_steps"],
                "gymnasium_steps": cfg["gym_steps"], "repeats": cfg["repeats"],
                "gymnax": gymnax.__version__ if hasattr(gymnax, "__version__") else None,
                "gymnasium": gymnasium.__version__},
        figures=figures, table=table,
        notes=("steps/s count n_envs × steps; auto-reset included in all three",
               "random actions drawn inside the scan (JAX) or by numpy (gymnasium)"))
