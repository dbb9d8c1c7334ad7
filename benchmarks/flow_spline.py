"""Neural spline flow on two moons: jaxphys against flowjax and zuko, in the same run.

Model (all three): 2-D neural spline flow, 4 rational-quadratic spline coupling
layers, 8 bins on [-5, 5], conditioner MLPs with two hidden layers of 64 ReLU/tanh
units (each library's default activation: jaxphys ReLU, flowjax ReLU, zuko ReLU),
standard-normal base; Adam (lr 1e-3), batch 256, negative log-likelihood.

* jaxphys: ``NeuralSplineFlow(n_layers=4, hidden=(64, 64), n_bins=8)`` (its
  ``SplitCoupling`` layers apply the rational-quadratic spline to the transformed
  coordinates only), the loss from ``flow_nll_loss`` and the jitted step of
  ``jaxphys.core.make_train_step`` (which also computes the gradient norm and skips
  non-finite steps).
* flowjax: ``coupling_flow(transformer=RationalQuadraticSpline(knots=7, interval=5),
  flow_layers=4, nn_width=64, nn_depth=2)`` (flowjax counts inner knots: 7 inner knots
  are 8 bins), an ``equinox.filter_jit`` step with optax.
* zuko (PyTorch, CPU, eager): ``zuko.flows.NSF(2, transforms=4, bins=8,
  hidden_features=(64, 64))`` with ``torch.optim.Adam``.

Reported: compile time (first call) apart; steady-state train steps/s (median of
interleaved repeats, blocked); log_prob throughput (points/s on a batch of 10 000);
the test NLL (10 000 held-out points) after the same number of training steps for
each. Ratios are jaxphys over the peer (> 1: jaxphys faster / higher NLL worse).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._runner import BenchResult, Context, Figure, cpu_count, fmt, register
from ._timing import time_first_call, time_interleaved

NAME = "flow_spline"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        # smoke test: the smallest sizes, its time is mostly compilation
        return {"n_layers": 1, "hidden": 8, "bins": 4, "batch": 32, "n_train": 256,
                "n_test": 256, "train_steps": 4, "steps_per_repeat": 1, "repeats": 1,
                "lp_batch": 256, "lr": 1e-3}
    return {"n_layers": 4, "hidden": 64, "bins": 8, "batch": 256, "n_train": 10000,
            "n_test": 10000, "train_steps": 2000, "steps_per_repeat": 50, "repeats": 7,
            "lp_batch": 10000, "lr": 1e-3}


def _data(cfg):
    from jaxphys.data import two_moons

    tr = np.asarray(two_moons(jax.random.key(0), cfg["n_train"], 0.05).x, np.float32)
    te = np.asarray(two_moons(jax.random.key(1), cfg["n_test"], 0.05).x, np.float32)
    return tr, te


def _batches(cfg, tr, n):
    rng = np.random.default_rng(0)
    return [tr[rng.integers(0, len(tr), cfg["batch"])] for _ in range(n)]


def _jaxphys(cfg, batches, te):
    from jaxphys.core import TrainState, make_train_step
    from jaxphys.generative import NeuralSplineFlow, flow_nll_loss

    flow = NeuralSplineFlow(n_layers=cfg["n_layers"], hidden=(cfg["hidden"],) * 2,
                            n_bins=cfg["bins"])
    opt = optax.adam(cfg["lr"])
    state = TrainState.create(flow.init(jax.random.key(0), jnp.zeros(2)), opt)
    step = make_train_step(flow_nll_loss(flow), donate=False)     # the optimiser: state.tx
    key = jax.random.key(1)
    dev = [jnp.asarray(b) for b in batches]
    holder = {"state": state, "i": 0}

    def run_steps(n):
        for _ in range(n):
            holder["state"], m = step(holder["state"], dev[holder["i"] % len(dev)], key)
            holder["i"] += 1
        return holder["state"].params

    lp = jax.jit(lambda p, x: flow.apply(p).log_prob(x))
    te_j = jnp.asarray(te)
    return {"compile": lambda: time_first_call(run_steps, 1)[0], "steps": run_steps,
            "logprob": lambda: lp(holder["state"].params, te_j),
            "nll": lambda: -float(lp(holder["state"].params, te_j).mean())}


def _flowjax(cfg, batches, te):
    import equinox as eqx
    from flowjax.bijections import RationalQuadraticSpline
    from flowjax.distributions import Normal
    from flowjax.flows import coupling_flow

    flow = coupling_flow(jax.random.key(0), base_dist=Normal(jnp.zeros(2)),
                         transformer=RationalQuadraticSpline(knots=cfg["bins"] - 1, interval=5),
                         flow_layers=cfg["n_layers"], nn_width=cfg["hidden"], nn_depth=2,
                         nn_activation=jax.nn.relu)
    params, static = eqx.partition(flow, eqx.is_inexact_array)
    opt = optax.adam(cfg["lr"])
    opt_state = opt.init(params)

    @jax.jit
    def step(params, opt_state, x):
        def loss(p):
            return -jnp.mean(eqx.combine(p, static).log_prob(x))
        val, g = jax.value_and_grad(loss)(params)
        upd, opt_state = opt.update(g, opt_state, params)
        return optax.apply_updates(params, upd), opt_state, val

    dev = [jnp.asarray(b) for b in batches]
    holder = {"p": params, "s": opt_state, "i": 0}

    def run_steps(n):
        for _ in range(n):
            holder["p"], holder["s"], _ = step(holder["p"], holder["s"],
                                               dev[holder["i"] % len(dev)])
            holder["i"] += 1
        return holder["p"]

    lp = jax.jit(lambda p, x: eqx.combine(p, static).log_prob(x))
    te_j = jnp.asarray(te)
    return {"compile": lambda: time_first_call(run_steps, 1)[0], "steps": run_steps,
            "logprob": lambda: lp(holder["p"], te_j),
            "nll": lambda: -float(lp(holder["p"], te_j).mean())}


def _zuko(cfg, batches, te):
    import torch
    import zuko

    torch.set_num_threads(cpu_count())
    torch.manual_seed(0)
    flow = zuko.flows.NSF(2, transforms=cfg["n_layers"], bins=cfg["bins"],
                          hidden_features=(cfg["hidden"],) * 2)
    opt = torch.optim.Adam(flow.parameters(), lr=cfg["lr"])
    tb = [torch.from_numpy(np.array(b)) for b in batches]
    tt = torch.from_numpy(np.array(te))
    holder = {"i": 0}

    def run_steps(n):
        for _ in range(n):
            loss = -flow().log_prob(tb[holder["i"] % len(tb)]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            holder["i"] += 1
        return None

    def logprob():
        with torch.no_grad():
            return flow().log_prob(tt)

    def compile_():
        t0 = time.perf_counter()
        run_steps(1)
        return time.perf_counter() - t0

    return {"compile": compile_, "steps": run_steps, "logprob": logprob,
            "nll": lambda: -float(logprob().mean())}


@register(NAME)
def flow_spline(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    tr, te = _data(cfg)
    batches = _batches(cfg, tr, 64)
    libs = {"jaxphys": _jaxphys, "flowjax": _flowjax, "zuko": _zuko}
    runners, notes = {}, []
    for name, make in libs.items():
        try:
            runners[name] = make(cfg, batches, te)
        except ImportError as err:
            notes.append(f"{name} unavailable: {err}")
    compile_s = {n: r["compile"]() for n, r in runners.items()}
    k = cfg["steps_per_repeat"]
    t_steps = time_interleaved({n: (lambda r=r: r["steps"](k)) for n, r in runners.items()},
                               warmup=1, repeats=cfg["repeats"])
    t_lp = time_interleaved({n: r["logprob"] for n, r in runners.items()}, warmup=1,
                            repeats=cfg["repeats"])
    ctx.log("training for the test NLL")
    nll = {}
    for n, r in runners.items():
        done = 1 + k * (1 + cfg["repeats"])
        r["steps"](max(cfg["train_steps"] - done, 0))
        nll[n] = r["nll"]()
    fig = {}
    for n in runners:
        fig[f"{n}_compile_s"] = Figure(compile_s[n], "s", f"{n}: first train step (compile)")
        fig[f"{n}_steps_per_s"] = Figure(k / t_steps[n].median_s, "steps/s",
                                         f"{n}: train steps/s (median)")
        fig[f"{n}_logprob_per_s"] = Figure(cfg["lp_batch"] / t_lp[n].median_s, "points/s",
                                           f"{n}: log_prob throughput")
        fig[f"{n}_test_nll"] = Figure(nll[n], "nats",
                                      f"{n}: test NLL after {cfg['train_steps']} steps")
    for peer in ("flowjax", "zuko"):
        if peer in runners and "jaxphys" in runners:
            fig[f"ratio_steps_vs_{peer}"] = Figure(
                t_steps[peer].median_s / t_steps["jaxphys"].median_s, "1",
                f"train steps/s, jaxphys / {peer}")
            fig[f"ratio_logprob_vs_{peer}"] = Figure(
                t_lp[peer].median_s / t_lp["jaxphys"].median_s, "1",
                f"log_prob throughput, jaxphys / {peer}")
    table = [["library", "compile s", "steps/s", "log_prob points/s", "test NLL"]]
    for n in runners:
        table.append([n, fmt(compile_s[n]), fmt(fig[f"{n}_steps_per_s"].value),
                      fmt(fig[f"{n}_logprob_per_s"].value), fmt(nll[n])])
    return BenchResult(
        description=f"neural spline flow ({cfg['n_layers']} couplings, {cfg['bins']} bins, "
                    f"2x{cfg['hidden']} conditioners) on two moons: jaxphys vs flowjax vs "
                    "zuko (PyTorch CPU).",
        config=cfg, figures=fig, table=table, notes=tuple(notes))
