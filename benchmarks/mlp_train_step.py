"""MLP train step: jaxphys against PyTorch on CPU, in the same run.

Model: a 784-512-512-10 ReLU MLP; batch 256; Adam (lr 1e-3); mean softmax
cross-entropy over the batch, on synthetic data (standard-normal inputs,
uniform integer labels; the same arrays for both frameworks).

jaxphys side: ``jaxphys.nn.MLP(widths=(512, 512, 10))``, a contract
``loss_fn(params, batch, key) -> (loss, aux)`` built from the per-example
``softmax_cross_entropy`` and ``vmap``, ``jaxphys.core.make_train_step(loss_fn)`` and
``TrainState.create(params, optax.adam(1e-3))`` (the state carries the optimiser). Two
variants:

* ``step``: the jitted (state-donating) step called once per batch from Python;
* ``scan``: ``K`` steps inside one ``jax.lax.scan`` in one jitted call, the way
  ``fit`` runs its chunks (the pure step from ``make_train_step(..., jit=False)``,
  the batch gathered by index from the device-resident data, the key folded
  with the step number).

Each reports compile time (first call: tracing + compilation + one run, blocked)
apart from the steady state: steps/s from the median (and the best) of several
timed repeats after warm-up, each repeat blocked on its outputs. The repeats of
all variants, PyTorch included, are interleaved round-robin (with a short
untimed pause before each, so the previous variant's worker threads go idle),
so that every variant sees the same machine load.

Peer: the same model and optimiser in PyTorch, eager, on CPU
(``torch.nn.Linear`` layers, ``torch.optim.Adam(lr=1e-3)``, ``F.cross_entropy``),
with ``torch.set_num_threads`` equal to the cores available. Ratios are
jaxphys steps/s over torch steps/s (> 1: jaxphys faster).

FLOPs per train step, counted analytically (matrix products only):

* forward: ``2·B·Σ in·out`` over the three dense layers;
* backward ≈ 2 × forward (one product for the weight gradient and one for the
  input gradient per layer), so a step ≈ 3 × forward. This is the figure the
  achieved FLOP/s use. Strictly the first layer's input gradient is not needed,
  which gives the smaller ``flops_per_step_matmul_exact``;
* not counted: bias adds, ReLU and its mask, softmax/log-sum-exp, the gradient
  norm and finiteness guard of the jaxphys step, and the Adam update (each
  O(B·width) or O(#params) ≈ 10⁶–10⁷ FLOPs against ≈ 10⁹ for the products).

XLA's own count (``jitted.lower(...).compile().cost_analysis()['flops']``) of
the whole step is reported beside it when the backend provides one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._runner import BenchResult, Context, Figure, fmt, register
from ._train_variants import jaxphys_variants, time_against_torch, torch_step_runner

NAME = "mlp_train_step"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"d_in": 32, "widths": (32, 32, 10), "batch": 16, "lr": 1e-3, "chunk": 4,
                "steps_per_repeat": 4, "warmup": 1, "repeats": 3, "pause_s": 0.0}
    return {"d_in": 784, "widths": (512, 512, 10), "batch": 256, "lr": 1e-3, "chunk": 50,
            "steps_per_repeat": 25, "warmup": 2, "repeats": 11, "pause_s": 0.3}


def flop_counts(d_in: int, widths: tuple[int, ...], batch: int) -> dict:
    """Analytic FLOPs of one train step (matrix products only; see module doc)."""
    dims = (d_in, *widths)
    pairs = list(zip(dims[:-1], dims[1:]))
    forward = 2.0 * batch * sum(i * o for i, o in pairs)
    first_in_grad = 2.0 * batch * pairs[0][0] * pairs[0][1]
    return {"forward": forward, "step": 3.0 * forward,
            "step_matmul_exact": 3.0 * forward - first_in_grad}


def synthetic_data(cfg: dict, n_batches: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_batches`` batches: x (n_batches, B, d_in) float32 ~ N(0, 1), y (n_batches, B) int32."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n_batches, cfg["batch"], cfg["d_in"]), dtype=np.float32)
    y = rng.integers(0, cfg["widths"][-1], size=(n_batches, cfg["batch"]), dtype=np.int32)
    return x, y


def _per_example_xent():
    """The per-example softmax cross-entropy of jaxphys.losses (a local equivalent if that
    module is not there yet)."""
    try:
        from jaxphys.losses import softmax_cross_entropy

        return softmax_cross_entropy, "jaxphys.losses.softmax_cross_entropy"
    except ImportError:
        def softmax_cross_entropy(logits, label):
            return -jax.nn.log_softmax(logits)[label]

        return softmax_cross_entropy, "-log_softmax(logits)[label] (jaxphys.losses missing)"


def _cost_flops(jitted, *args, compiled: bool = True) -> float | None:
    """XLA's FLOP count of a jitted call, or None if the backend gives none.

    ``compiled=True`` counts the optimised executable
    (``jitted.lower(*args).compile().cost_analysis()``, one extra compilation);
    ``False`` counts the lowered, unoptimised module (no compilation; quick mode)."""
    try:
        lowered = jitted.lower(*args)
        cost = lowered.compile().cost_analysis() if compiled else lowered.cost_analysis()
    except Exception:  # noqa: BLE001 - cost analysis is optional per backend
        return None
    if isinstance(cost, (list, tuple)):
        cost = cost[0] if cost else None
    if not cost or "flops" not in cost:
        return None
    flops = float(cost["flops"])
    return flops if flops > 0 else None


def _setup_jaxphys(cfg: dict, x_np: np.ndarray, y_np: np.ndarray, ctx: Context) -> dict:
    """Build both jaxphys variants, time their first calls, return their runners."""
    from jaxphys.nn import MLP

    xent, loss_name = _per_example_xent()
    model = MLP(widths=tuple(cfg["widths"]))

    def loss_fn(params, batch, key):
        del key  # deterministic model, no dropout
        logits = model.apply({"params": params}, batch["x"])
        loss = jnp.mean(jax.vmap(xent)(logits, batch["y"]))
        return loss, {}

    optimizer = optax.adam(cfg["lr"])
    init_key, cost_key, run_key = jax.random.split(jax.random.key(0), 3)
    # Jitted set-up: one compilation instead of many small eager ones.
    params = jax.jit(model.init)(init_key, jnp.asarray(x_np[0]))["params"]
    out = jaxphys_variants(loss_fn, optimizer, params, x_np, y_np, cfg, ctx, run_key)
    out["loss_name"] = loss_name
    # after the compile timing: an ahead-of-time lower().compile() before it warms caches
    out["flops_xla"] = _cost_flops(out["jitted_step"], out["fresh_state"](), out["batches"][0],
                                   cost_key, compiled=not ctx.quick)
    return out


def _setup_torch(cfg: dict, x_np: np.ndarray, y_np: np.ndarray) -> dict:
    """Build the PyTorch peer (threads already set by the caller), time its first step,
    return its runner."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    dims = (cfg["d_in"], *cfg["widths"])
    layers: list = []
    for i, (d_a, d_b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(torch.nn.Linear(d_a, d_b))
        if i < len(dims) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    xs = [torch.from_numpy(x_np[i]) for i in range(x_np.shape[0])]
    ys = [torch.from_numpy(y_np[i]).long() for i in range(y_np.shape[0])]

    def one_step(i):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs[i % len(xs)]), ys[i % len(ys)])
        loss.backward()
        opt.step()
        return loss.detach()

    return torch_step_runner(one_step, cfg["steps_per_repeat"])


def _measure(cfg: dict, x_np: np.ndarray, y_np: np.ndarray, ctx: Context) -> tuple[dict, dict]:
    """Set up every variant, then time them interleaved (round-robin repeats), so that
    all of them see the same machine load. Returns ``(jaxphys, torch or None)``, each
    variant with ``compile_s``, ``median`` and ``best`` steps/s."""
    jx = _setup_jaxphys(cfg, x_np, y_np, ctx)
    tr = time_against_torch(jx, lambda: _setup_torch(cfg, x_np, y_np), cfg, ctx)
    return jx, tr


@register(NAME, requires=("matmul_peak",))
def mlp_train_step(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    x_np, y_np = synthetic_data(cfg, n_batches=cfg["chunk"])
    flops = flop_counts(cfg["d_in"], tuple(cfg["widths"]), cfg["batch"])
    jx, tr = _measure(cfg, x_np, y_np, ctx)
    peak_res = ctx.results.get("matmul_peak")
    peak = peak_res.figures["peak_gflops"].value * 1e9 if peak_res else None

    def achieved(steps_per_s):
        return flops["step"] * steps_per_s

    def frac(steps_per_s):
        return achieved(steps_per_s) / peak if peak else None

    k = cfg["chunk"]
    fig = {
        "jaxphys_compile_s": Figure(jx["step"]["compile_s"], "s",
                                    "jitted step, first call (trace + compile + run)"),
        "jaxphys_steps_per_s": Figure(jx["step"]["median"], "steps/s",
                                      "jitted step per Python call, median"),
        "jaxphys_steps_per_s_best": Figure(jx["step"]["best"], "steps/s", "same, best repeat"),
        "jaxphys_scan_compile_s": Figure(jx["scan"]["compile_s"], "s",
                                         f"{k} steps in one lax.scan, first call"),
        "jaxphys_scan_steps_per_s": Figure(jx["scan"]["median"], "steps/s",
                                           f"{k} steps per lax.scan call, median"),
        "jaxphys_scan_steps_per_s_best": Figure(jx["scan"]["best"], "steps/s",
                                                "same, best repeat"),
        "flops_per_step_analytic": Figure(flops["step"], "FLOP",
                                          "3 × forward matmul FLOPs (used for FLOP/s)"),
        "flops_per_step_matmul_exact": Figure(flops["step_matmul_exact"], "FLOP",
                                              "matmuls only, no first-layer input gradient"),
        "flops_per_step_xla": Figure(jx["flops_xla"], "FLOP",
                                     "XLA cost_analysis of the jitted step"),
        "jaxphys_gflops": Figure(achieved(jx["step"]["median"]) / 1e9, "GFLOP/s",
                                 "achieved, jitted step (analytic FLOPs)"),
        "jaxphys_scan_gflops": Figure(achieved(jx["scan"]["median"]) / 1e9, "GFLOP/s",
                                      "achieved, lax.scan chunk (analytic FLOPs)"),
        "jaxphys_fraction_of_peak": Figure(frac(jx["step"]["median"]), "1",
                                           "jitted step FLOP/s / jnp.dot peak"),
        "jaxphys_scan_fraction_of_peak": Figure(frac(jx["scan"]["median"]), "1",
                                                "lax.scan FLOP/s / jnp.dot peak"),
    }
    if tr is not None:
        fig |= {
            "torch_first_step_s": Figure(tr["compile_s"], "s",
                                         "first eager step (allocates Adam state)"),
            "torch_steps_per_s": Figure(tr["median"], "steps/s", "torch eager CPU, median"),
            "torch_steps_per_s_best": Figure(tr["best"], "steps/s", "same, best repeat"),
            "torch_gflops": Figure(achieved(tr["median"]) / 1e9, "GFLOP/s",
                                   "achieved, torch (analytic FLOPs)"),
            "torch_fraction_of_peak": Figure(frac(tr["median"]), "1",
                                             "torch FLOP/s / jnp.dot peak"),
            "ratio_jaxphys_over_torch": Figure(jx["step"]["median"] / tr["median"], "1",
                                               "steps/s ratio, jitted step vs torch (>1: faster)"),
            "ratio_jaxphys_scan_over_torch": Figure(jx["scan"]["median"] / tr["median"], "1",
                                                    "steps/s ratio, lax.scan vs torch"),
        }

    def pct(x):
        return "—" if x is None else f"{100 * x:.1f} %"

    table = [["variant", "compile / first step (s)", "steps/s (median)", "steps/s (best)",
              "× torch", "GFLOP/s", "of jnp.dot peak", "slowest / fastest repeat"]]
    rows = [("jaxphys `make_train_step` (jit, 1 step per call)", jx["step"]["compile_s"],
             jx["step"]), (f"jaxphys, {k} steps per `lax.scan` call", jx["scan"]["compile_s"],
                           jx["scan"])]
    if tr is not None:
        rows.append((f"PyTorch {tr['version']} eager CPU, {tr['threads']} threads",
                     tr["compile_s"], tr))
    for label, first, r in rows:
        ratio = r["median"] / tr["median"] if tr is not None else None
        table.append([label, fmt(first, 3), fmt(r["median"]), fmt(r["best"]),
                      fmt(ratio, 3), fmt(achieved(r["median"]) / 1e9),
                      pct(frac(r["median"])), fmt(r["spread"], 3)])

    notes = [
        f"FLOPs per step (analytic) = 3 × forward = 3 × 2·B·Σ in·out = {flops['step']:.4g}; "
        "backward counted as 2 × forward. Bias, ReLU, softmax, gradient norm, "
        "non-finite guard and Adam update are not counted (see benchmarks/mlp_train_step.py).",
        f"Per-example loss: {jx['loss_name']}, vmapped, mean over the batch.",
    ]
    exact = flops["step_matmul_exact"] / flops["step"]
    notes.append(f"Counting only the products the step needs (no first-layer input gradient, "
                 f"{flops['step_matmul_exact']:.4g} FLOPs) scales every GFLOP/s and fraction "
                 f"by {exact:.3f}.")
    if jx["flops_xla"]:
        notes.append(f"XLA cost analysis counts {jx['flops_xla']:.4g} FLOPs for the whole step "
                     f"({jx['flops_xla'] / flops['step']:.3f} × the analytic figure, "
                     f"{jx['flops_xla'] / flops['step_matmul_exact']:.3f} × the exact product "
                     "count).")
    else:
        notes.append("XLA cost analysis unavailable on this backend.")
    if tr is None:
        notes.append("torch not installed: no peer figures.")
    elif jax.default_backend() != "cpu":
        notes.append(f"JAX ran on {jax.default_backend()}, the torch peer on CPU.")
    return BenchResult(
        description=f"{cfg['d_in']}-{'-'.join(map(str, cfg['widths']))} ReLU MLP train step, "
                    f"batch {cfg['batch']}, Adam(lr={cfg['lr']}), softmax cross-entropy, "
                    "synthetic float32 data: jaxphys vs PyTorch (CPU) in the same run.",
        config={**cfg, "widths": list(cfg["widths"]), "torch_threads":
                tr["threads"] if tr else None},
        figures=fig,
        table=table,
        notes=tuple(notes),
    )
