"""PINN train step (Burgers residual): jaxphys against PyTorch on CPU, in the same run.

Problem: viscous Burgers ``u_t + u u_x − ν u_xx`` (ν = 0.01/π) at ``N`` fixed
Latin-hypercube collocation points in ``[-1, 1] × [0, 1]``; the field is a tanh
MLP ``2 → 20 → 20 → 20 → 20 → 1`` on inputs rescaled to ``[-1, 1]``, with the
hard-constraint output ``u = −sin πx + t(1 − x²) n(x, t)``; loss = mean squared
residual; Adam (lr 1e-3). Both sides start from the same weights.

jaxphys side: :func:`jaxphys.physics.pinn_loss` (residual built by
``make_pde_residual``: ``jax.grad`` for ``u_x, u_t``, a forward-mode JVP of the
gradient for ``u_xx``, vmapped over points) and
``jaxphys.core.make_train_step(loss_fn)`` on a ``TrainState`` carrying
``optax.adam(1e-3)``; variants: one jitted step per Python call, and ``K`` steps per
call of ``jaxphys.core.run_steps`` (the library's ``lax.scan`` loop, jitted).

Peer: the same network in eager PyTorch on CPU (``torch.nn.Linear`` + ``tanh``),
derivatives by ``torch.autograd.grad(..., create_graph=True)`` (``u_x, u_t``, then
``u_xx``), ``torch.optim.Adam``, ``torch.set_num_threads`` = the cores available.
Ratios are jaxphys steps/s over torch steps/s (> 1: jaxphys faster). Compile time
(first call) is reported apart from the steady state.
"""

from __future__ import annotations

import jax
import numpy as np
import optax

from ._runner import BenchResult, Context, Figure, fmt, register
from ._train_variants import time_against_torch
from ._timing import time_first_call

NAME = "pinn_train_step"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"widths": (20, 20), "n_points": 256, "lr": 1e-3, "chunk": 5,
                "steps_per_repeat": 5, "warmup": 1, "repeats": 3, "pause_s": 0.0}
    return {"widths": (20, 20, 20, 20), "n_points": 2000, "lr": 1e-3, "chunk": 50,
            "steps_per_repeat": 25, "warmup": 2, "repeats": 9, "pause_s": 0.3}


def _setup_jaxphys(cfg: dict, ctx: Context) -> dict:
    from jaxphys.core import TrainState, make_train_step, run_steps
    from jaxphys.physics.pinn import sample_latin_hypercube
    from jaxphys.physics.pinn import PINNNet, pinn_loss
    from jaxphys.physics.pinn._solvers import _burgers_transform, burgers_problem

    problem = burgers_problem()
    net = PINNNet(tuple(cfg["widths"]), problem.lo, problem.hi, _burgers_transform)
    init_key, colloc_key, run_key = jax.random.split(jax.random.key(0), 3)
    params = {"field": net.init(init_key), "coeffs": {}}
    batch = problem.batch(sample_latin_hypercube(colloc_key, cfg["n_points"], problem.lo,
                                                 problem.hi))
    loss_fn = pinn_loss(problem, net.field)
    opt = optax.adam(cfg["lr"])
    make_state = jax.jit(lambda p: TrainState.create(p, opt))
    spr, chunk = cfg["steps_per_repeat"], cfg["chunk"]
    n_calls = 1 + cfg["warmup"] + cfg["repeats"]
    step_key, scan_key = jax.random.split(run_key)
    step_keys = list(jax.random.split(step_key, n_calls * spr + 1))

    step = make_train_step(loss_fn)
    compile_s, (state, first) = time_first_call(step, make_state(params), batch, step_keys[0])
    counter = 1

    def run_step_calls():
        nonlocal state, counter
        metrics = None
        for _ in range(spr):
            state, metrics = step(state, batch, step_keys[counter])
            counter += 1
        return state, metrics

    pure = make_train_step(loss_fn, jit=False)
    data = problem.dataset(batch["collocation"])       # one full batch, for run_steps

    def chunk_fn(state, data, key):
        state, metrics = run_steps(pure, state, data, key, n_steps=chunk)
        return state, metrics["loss"]

    chunk_fn = jax.jit(chunk_fn, donate_argnums=(0,))
    chunk_keys = list(jax.random.split(scan_key, n_calls))
    compile_scan_s, (scan_state, _) = time_first_call(chunk_fn, make_state(params), data,
                                                      chunk_keys[0])
    calls = 1

    def run_scan():
        nonlocal scan_state, calls
        scan_state, losses = chunk_fn(scan_state, data, chunk_keys[calls])
        calls += 1
        return scan_state, losses

    ctx.log(f"[bench]   jaxphys PINN step: compile {compile_s:.2f} s, scan {compile_scan_s:.2f} s")
    return {"step": {"compile_s": compile_s, "run": run_step_calls, "steps_per_call": spr},
            "scan": {"compile_s": compile_scan_s, "run": run_scan, "steps_per_call": chunk},
            "params": params, "colloc": np.asarray(batch["collocation"]),
            "first_loss": float(first["loss"])}


def _setup_torch(cfg: dict, params: list, colloc: np.ndarray) -> dict:
    import torch

    nu = 0.01 / np.pi
    layers = []
    for p in params:
        lin = torch.nn.Linear(*np.asarray(p["w"]).shape)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.asarray(p["w"]).T.copy()))
            lin.bias.copy_(torch.from_numpy(np.asarray(p["b"]).copy()))
        layers.append(lin)
    model = torch.nn.ModuleList(layers)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    x = torch.from_numpy(colloc[:, :1].copy())
    t = torch.from_numpy(colloc[:, 1:].copy())

    def field(x, t):
        h = torch.cat([x, 2.0 * t - 1.0], dim=1)          # the box [-1,1]×[0,1] → [-1,1]²
        for lin in model[:-1]:
            h = torch.tanh(lin(h))
        n = model[-1](h)
        return -torch.sin(np.pi * x) + t * (1.0 - x ** 2) * n

    def loss_fn():
        xr = x.clone().requires_grad_(True)
        tr = t.clone().requires_grad_(True)
        u = field(xr, tr)
        u_x, u_t = torch.autograd.grad(u.sum(), (xr, tr), create_graph=True)
        u_xx = torch.autograd.grad(u_x.sum(), xr, create_graph=True)[0]
        return torch.mean((u_t + u * u_x - nu * u_xx) ** 2)

    def one_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.detach()

    first_s, first = time_first_call(one_step)

    def run_steps():
        out = None
        for _ in range(cfg["steps_per_repeat"]):
            out = one_step()
        return out

    return {"compile_s": first_s, "run": run_steps, "steps_per_call": cfg["steps_per_repeat"],
            "first_loss": float(first), "version": torch.__version__}


@register(NAME)
def pinn_train_step(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    jx = _setup_jaxphys(cfg, ctx)
    tr = time_against_torch(jx, lambda: _setup_torch(cfg, jx["params"]["field"], jx["colloc"]),
                            cfg, ctx)

    fig = {
        "jaxphys_compile_s": Figure(jx["step"]["compile_s"], "s", "jitted step, first call"),
        "jaxphys_steps_per_s": Figure(jx["step"]["median"], "steps/s",
                                      "jitted step per Python call, median"),
        "jaxphys_scan_compile_s": Figure(jx["scan"]["compile_s"], "s",
                                         f"{cfg['chunk']} steps in one run_steps call, "
                                         "first call"),
        "jaxphys_scan_steps_per_s": Figure(jx["scan"]["median"], "steps/s",
                                           "run_steps chunk (lax.scan), median"),
    }
    notes = [f"Initial loss: jaxphys {jx['first_loss']:.6g}"
             + (f", torch {tr['first_loss']:.6g} (same weights and points)" if tr else "")]
    table = [["variant", "compile / first step (s)", "steps/s (median)", "steps/s (best)",
              "× torch", "slowest / fastest repeat"]]
    rows = [("jaxphys `make_train_step` (jit, 1 step per call)", jx["step"]),
            (f"jaxphys, {cfg['chunk']} steps per `run_steps` call", jx["scan"])]
    if tr is not None:
        fig |= {
            "torch_first_step_s": Figure(tr["compile_s"], "s", "first eager step"),
            "torch_steps_per_s": Figure(tr["median"], "steps/s", "torch eager CPU, median"),
            "ratio_jaxphys_over_torch": Figure(jx["step"]["median"] / tr["median"], "1",
                                               "steps/s ratio, jitted step vs torch"),
            "ratio_jaxphys_scan_over_torch": Figure(jx["scan"]["median"] / tr["median"], "1",
                                                    "steps/s ratio, lax.scan vs torch"),
        }
        rows.append((f"PyTorch {tr['version']} eager CPU, {tr['threads']} threads", tr))
    else:
        notes.append("torch not installed: no peer figures.")
    for label, r in rows:
        ratio = r["median"] / tr["median"] if tr is not None else None
        table.append([label, fmt(r["compile_s"], 3), fmt(r["median"]), fmt(r["best"]),
                      fmt(ratio, 3), fmt(r["spread"], 3)])
    if jax.default_backend() != "cpu":
        notes.append(f"JAX ran on {jax.default_backend()}, the torch peer on CPU.")
    return BenchResult(
        description=f"Burgers PINN train step: tanh MLP 2-{'-'.join(map(str, cfg['widths']))}-1, "
                    f"{cfg['n_points']} collocation points, residual with u_x, u_t, u_xx, "
                    "Adam: jaxphys vs PyTorch (CPU) in the same run.",
        config={**cfg, "widths": list(cfg["widths"]),
                "torch_threads": tr["threads"] if tr else None},
        figures=fig, table=table, notes=tuple(notes))
