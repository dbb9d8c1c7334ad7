"""KAN forward + backward: jaxphys against jaxkan and pykan, in the same run.

Network: widths [2, 5, 1], cubic B-splines (k = 3) on G = 5 intervals over
[-1, 1] plus a SiLU residual on every edge; float32; one batch of B = 1024
points uniform in [-1, 1]²; loss = mean squared error against
``exp(sin(πx) + y²)``. One call computes the loss and its gradient with respect
to every trainable parameter (no optimiser update).

* jaxphys: ``jaxphys.nn.KAN``, ``jax.jit(jax.value_and_grad(loss))``; B-splines in
  closed form on the uniform grid (``k + 1`` polynomial pieces per point, a custom
  derivative rule), each layer two matrix products (flattened basis by masked spline
  weights, SiLU by masked scales).
* jaxkan (flax.nnx): ``jaxkan.models.KAN.KAN(layer_dims, layer_type="base",
  required_parameters={"k": 3, "G": 5})``, split into ``nnx.Param`` and the rest,
  the same jitted ``value_and_grad``. Its "base" layer is the pykan-style spline
  + SiLU layer (it also carries a bias per output node).
* pykan (PyTorch, eager, CPU): ``kan.KAN(width, grid=5, k=3, auto_save=False,
  save_act=False, symbolic_enabled=False)``, ``loss.backward()`` after ``zero_grad``.

Compile time (first call: trace + compile + run, blocked) is reported apart from
the steady state (median over interleaved repeats, each blocked on its outputs).
A peer that is missing or fails is skipped with its reason in the notes. Quick mode
skips pykan (importing it alone, with sympy and pandas, costs seconds).
"""

from __future__ import annotations

import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, peer_threads, register
from ._timing import time_first_call, time_interleaved

NAME = "kan_forward_backward"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"widths": [2, 5, 1], "grid": 5, "order": 3, "batch": 64,
                "calls_per_repeat": 2, "warmup": 1, "repeats": 3}
    return {"widths": [2, 5, 1], "grid": 5, "order": 3, "batch": 1024,
            "calls_per_repeat": 20, "warmup": 2, "repeats": 11}


def _data(cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.uniform(-1.0, 1.0, (cfg["batch"], 2)).astype(np.float32)
    y = np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2).astype(np.float32)
    return x, y


def _repeat(fn, n):
    def run():
        out = None
        for _ in range(n):
            out = fn()
        return out
    return run


def _setup_jaxphys(cfg, x_np, y_np):
    import jax
    import jax.numpy as jnp

    from jaxphys.nn import KAN

    kan = KAN.create(tuple(cfg["widths"]), grid_size=cfg["grid"], order=cfg["order"])
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)
    params = kan.init(jax.random.key(0), x[0])

    def loss(p, x, y):
        return jnp.mean((kan.apply(p, x)[:, 0] - y) ** 2)

    vg = jax.jit(jax.value_and_grad(loss))
    compile_s, _ = time_first_call(vg, params, x, y)
    n_params = sum(v.size for layer in params for k, v in layer.items() if k != "sym")
    return {"compile_s": compile_s, "run": _repeat(lambda: vg(params, x, y),
                                                   cfg["calls_per_repeat"]),
            "n_params": int(n_params)}


def _setup_jaxkan(cfg, x_np, y_np):
    import jax
    import jax.numpy as jnp
    from flax import nnx
    from jaxkan.models.KAN import KAN as JaxKAN

    model = JaxKAN(list(cfg["widths"]), layer_type="base",
                   required_parameters={"k": cfg["order"], "G": cfg["grid"]}, seed=0)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)

    def loss(p, rest, x, y):
        return jnp.mean((nnx.merge(graphdef, p, rest)(x)[:, 0] - y) ** 2)

    vg = jax.jit(jax.value_and_grad(loss))
    compile_s, _ = time_first_call(vg, params, rest, x, y)
    n_params = sum(np.size(v) for v in jax.tree.leaves(params))
    return {"compile_s": compile_s, "run": _repeat(lambda: vg(params, rest, x, y),
                                                   cfg["calls_per_repeat"]),
            "n_params": int(n_params)}


def _setup_pykan(cfg, x_np, y_np):
    import time

    import torch
    from kan import KAN as PyKAN

    torch.manual_seed(0)
    model = PyKAN(width=list(cfg["widths"]), grid=cfg["grid"], k=cfg["order"], seed=0,
                  auto_save=False, save_act=False, symbolic_enabled=False, device="cpu")
    x, y = torch.tensor(x_np), torch.tensor(y_np)

    def step():
        model.zero_grad(set_to_none=True)
        loss = torch.mean((model(x)[:, 0] - y) ** 2)
        loss.backward()
        return loss.detach()

    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"compile_s": first, "run": _repeat(step, cfg["calls_per_repeat"]),
            "n_params": int(n_params)}


@register(NAME)
def kan_forward_backward(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    x_np, y_np = _data(cfg)
    variants, notes = {}, []
    setups = {"jaxphys": _setup_jaxphys, "jaxkan": _setup_jaxkan, "pykan": _setup_pykan}
    if ctx.quick:
        del setups["pykan"]
        notes.append("pykan skipped in quick mode")
    versions = {}
    for name, setup in setups.items():
        try:
            variants[name] = setup(cfg, x_np, y_np)
            if name != "jaxphys":
                import importlib.metadata as md
                versions[name] = md.version(name)
        except Exception as err:   # a missing or incompatible peer is skipped, not fatal
            if name == "jaxphys":
                raise
            reason = f"{type(err).__name__}: {err}".splitlines()[0][:200]
            notes.append(f"{name} skipped: {reason}")
            ctx.log(f"[bench]   {name} skipped: {reason}")
    torch_threads = None
    if "pykan" in variants:
        import torch
        prev = torch.get_num_threads()
        torch.set_num_threads(peer_threads(ctx))
        torch_threads = peer_threads(ctx)
    try:
        timings = time_interleaved({k: v["run"] for k, v in variants.items()},
                                   warmup=cfg["warmup"], repeats=cfg["repeats"])
    finally:
        if "pykan" in variants:
            torch.set_num_threads(prev)
    n = cfg["calls_per_repeat"]
    for name, v in variants.items():
        t = timings[name]
        v["median_ms"] = 1e3 * t.median_s / n
        v["best_ms"] = 1e3 * t.min_s / n
        ctx.log(f"[bench]   {name}: {v['median_ms']:.3f} ms per forward+backward (median)")

    base = variants["jaxphys"]["median_ms"]
    fig = {}
    for name, v in variants.items():
        fig[f"{name}_compile_s"] = Figure(v["compile_s"], "s",
                                          "first call (trace + compile + run; eager for pykan)")
        fig[f"{name}_ms"] = Figure(v["median_ms"], "ms", "forward + backward, median")
        fig[f"{name}_ms_best"] = Figure(v["best_ms"], "ms", "same, best repeat")
    for peer in ("jaxkan", "pykan"):
        if peer in variants:
            fig[f"speedup_vs_{peer}"] = Figure(variants[peer]["median_ms"] / base, "1",
                                               f"{peer} time / jaxphys time (>1: jaxphys faster)")
    table = [["library", "first call (s)", "ms / fwd+bwd (median)", "ms (best)",
              "speed-up of jaxphys", "trainable parameters"]]
    for name, v in variants.items():
        label = name if name == "jaxphys" else f"{name} {versions.get(name, '')}".strip()
        if name == "pykan":
            label += f" (torch eager CPU, {torch_threads} threads)"
        table.append([label, fmt(v["compile_s"], 3), fmt(v["median_ms"]), fmt(v["best_ms"]),
                      fmt(v["median_ms"] / base, 3), str(v["n_params"])])
    notes.append("Parameter counts differ by bookkeeping: jaxphys counts coef, w_b, w_s (the "
                 "symbolic constants are excluded); jaxkan adds a bias per output node; pykan "
                 "also has trainable per-edge scales and a node bias/scale.")
    return BenchResult(
        description=f"KAN {cfg['widths']} (cubic B-splines, G = {cfg['grid']}, SiLU residual) "
                    f"loss + gradient on a batch of {cfg['batch']} (float32): jaxphys vs jaxkan "
                    "and pykan in the same run.",
        config=cfg, figures=fig, table=table, notes=tuple(notes))
