"""CNN train step: jaxphys LeNet-5 against the same network in PyTorch on CPU, in the same run.

Model: LeNet-5 as in ``jaxphys.nn.LeNet5`` (ReLU, max pooling) on 28×28×1 images:
conv 6@5×5 ('SAME') → ReLU → max-pool 2 → conv 16@5×5 ('VALID') → ReLU →
max-pool 2 → flatten (400) → dense 120 → ReLU → dense 84 → ReLU → dense 10;
batch 128; Adam (lr 1e-3); mean softmax cross-entropy; synthetic data
(standard-normal images, uniform labels; the same arrays for both frameworks).

jaxphys side: ``LeNet5`` (channels-last NHWC), a contract loss
``loss_fn(params, batch, key) -> (loss, aux)`` and
``jaxphys.core.make_train_step(loss_fn, optax.adam(1e-3))``: the jitted,
state-donating step called once per batch from Python, and ``K`` steps inside
one ``lax.scan`` (how ``fit`` runs its chunks).

Peer: ``torch.nn`` Conv2d/MaxPool2d/Linear in NCHW, eager,
``torch.optim.Adam(lr=1e-3)``, ``F.cross_entropy``, ``torch.set_num_threads``
equal to the cores available. The torch model starts from the jaxphys initial
parameters (kernels transposed to OIHW; the feature map is permuted to
channels-last before flattening so the dense layers see the same order), and
the first-step losses of both are compared (``first_loss_abs_diff``): it is the
same function.

Compile time (first call: trace + compile + run, blocked) is reported apart
from the steady state (median and best steps/s of interleaved, blocked
repeats). Ratios are jaxphys steps/s over torch steps/s (> 1: jaxphys faster).
FLOPs per step: 3 × the forward multiply-adds of the convolutions and dense
layers (2 FLOPs each), backward ≈ 2 × forward; pooling, ReLU, softmax and Adam
are not counted.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._runner import BenchResult, Context, Figure, cpu_count, fmt, register
from ._timing import time_first_call, time_interleaved

NAME = "cnn_train_step"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"size": 28, "batch": 8, "lr": 1e-3, "chunk": 4, "steps_per_repeat": 2,
                "warmup": 1, "repeats": 2, "pause_s": 0.0}
    return {"size": 28, "batch": 128, "lr": 1e-3, "chunk": 20, "steps_per_repeat": 10,
            "warmup": 2, "repeats": 9, "pause_s": 0.3}


def flop_counts(size: int, batch: int) -> dict:
    """Analytic FLOPs of a LeNet-5 (as above) forward pass and train step."""
    s1 = size                      # conv 1, 'SAME'
    p1 = s1 // 2
    s2 = p1 - 4                    # conv 2, 'VALID' 5×5
    p2 = s2 // 2
    conv = 2 * (s1 * s1 * 6 * 25 * 1 + s2 * s2 * 16 * 25 * 6)
    dense = 2 * (p2 * p2 * 16 * 120 + 120 * 84 + 84 * 10)
    forward = float(batch * (conv + dense))
    return {"forward": forward, "step": 3.0 * forward}


def _data(cfg: dict, n_batches: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    s = cfg["size"]
    x = rng.standard_normal((n_batches, cfg["batch"], s, s, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=(n_batches, cfg["batch"]), dtype=np.int32)
    return x, y


def _setup_jaxphys(cfg, x_np, y_np, ctx):
    from jaxphys.core import TrainState, make_train_step
    from jaxphys.nn._conv import LeNet5

    model = LeNet5()

    def loss_fn(params, batch, key):
        del key
        logits = model.apply({"params": params}, batch["x"])
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, batch["y"][:, None], axis=1)), {}

    optimizer = optax.adam(cfg["lr"])
    init_key, step_keys_key, scan_keys_key = jax.random.split(jax.random.key(0), 3)
    x_all, y_all = jnp.asarray(x_np), jnp.asarray(y_np)
    batches = [{"x": x_all[i], "y": y_all[i]} for i in range(x_np.shape[0])]
    params = jax.jit(model.init)(init_key, batches[0]["x"][:1])["params"]
    make_state = jax.jit(lambda p: TrainState.create(p, optimizer))
    out = {"init_params": jax.tree.map(np.array, params)}  # writable copies

    spr, warmup, repeats = cfg["steps_per_repeat"], cfg["warmup"], cfg["repeats"]
    step = make_train_step(loss_fn, optimizer)
    step_keys = list(jax.random.split(step_keys_key, 1 + (warmup + repeats + 1) * spr))
    compile_s, (state, metrics) = time_first_call(step, make_state(params), batches[0],
                                                  step_keys[0])
    out["first_loss"] = float(metrics["loss"])
    counter = 1

    def run_steps():
        nonlocal state, counter
        m = None
        for _ in range(spr):
            state, m = step(state, batches[counter % len(batches)], step_keys[counter])
            counter += 1
        return state, m

    out["step"] = {"compile_s": compile_s, "run": run_steps, "steps_per_call": spr}
    ctx.log(f"[bench]   jaxphys step: compile {compile_s:.2f} s")

    chunk = cfg["chunk"]
    pure_step = make_train_step(loss_fn, optimizer, jit=False)

    def run_chunk(state, data, idx, key):
        def body(carry, xs):
            rows, i = xs
            batch = jax.tree.map(lambda a: a[rows], data)
            carry, m = pure_step(carry, batch, jax.random.fold_in(key, i))
            return carry, m["loss"]

        return jax.lax.scan(body, state, (idx, jnp.arange(idx.shape[0])))

    run_chunk = jax.jit(run_chunk, donate_argnums=(0,))
    b, s = cfg["batch"], cfg["size"]
    data = {"x": x_all.reshape(-1, s, s, 1), "y": y_all.reshape(-1)}
    idx = jnp.asarray((np.arange(chunk)[:, None] % x_np.shape[0]) * b + np.arange(b)[None, :],
                      dtype=jnp.int32)
    chunk_keys = list(jax.random.split(scan_keys_key, 1 + warmup + repeats))
    compile_scan_s, (scan_state, _) = time_first_call(run_chunk, make_state(params), data, idx,
                                                      chunk_keys[0])
    calls = 1

    def run_scan():
        nonlocal scan_state, calls
        scan_state, losses = run_chunk(scan_state, data, idx, chunk_keys[calls])
        calls += 1
        return scan_state, losses

    out["scan"] = {"compile_s": compile_scan_s, "run": run_scan, "steps_per_call": chunk}
    ctx.log(f"[bench]   jaxphys scan K={chunk}: compile {compile_scan_s:.2f} s")
    return out


def _setup_torch(cfg, x_np, y_np, init_params):
    import torch
    import torch.nn.functional as F

    class TorchLeNet5(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_0 = torch.nn.Conv2d(1, 6, 5, padding=2)
            self.conv_1 = torch.nn.Conv2d(6, 16, 5)
            self.dense_0 = torch.nn.Linear(400, 120)
            self.dense_1 = torch.nn.Linear(120, 84)
            self.dense_2 = torch.nn.Linear(84, 10)

        def forward(self, x):
            h = F.max_pool2d(F.relu(self.conv_0(x)), 2)
            h = F.max_pool2d(F.relu(self.conv_1(h)), 2)
            h = h.permute(0, 2, 3, 1).flatten(1)  # channels-last order, as jaxphys flattens
            h = F.relu(self.dense_0(h))
            h = F.relu(self.dense_1(h))
            return self.dense_2(h)

    model = TorchLeNet5()
    with torch.no_grad():
        for name in ("conv_0", "conv_1"):
            layer = getattr(model, name)
            layer.weight.copy_(torch.from_numpy(init_params[name]["kernel"].transpose(3, 2, 0, 1)
                                                .copy()))
            layer.bias.copy_(torch.from_numpy(init_params[name]["bias"]))
        for name in ("dense_0", "dense_1", "dense_2"):
            layer = getattr(model, name)
            layer.weight.copy_(torch.from_numpy(init_params[name]["kernel"].T.copy()))
            layer.bias.copy_(torch.from_numpy(init_params[name]["bias"]))
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    xs = [torch.from_numpy(np.ascontiguousarray(x_np[i].transpose(0, 3, 1, 2)))
          for i in range(x_np.shape[0])]
    ys = [torch.from_numpy(y_np[i]).long() for i in range(y_np.shape[0])]

    def one_step(i):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xs[i % len(xs)]), ys[i % len(ys)])
        loss.backward()
        opt.step()
        return loss.detach()

    first_s, first_loss = time_first_call(one_step, 0)
    spr = cfg["steps_per_repeat"]
    counter = 1

    def run_steps():
        nonlocal counter
        loss = None
        for _ in range(spr):
            loss = one_step(counter)
            counter += 1
        return loss

    return {"compile_s": first_s, "run": run_steps, "steps_per_call": spr,
            "first_loss": float(first_loss), "version": torch.__version__}


@register(NAME)
def cnn_train_step(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    x_np, y_np = _data(cfg, n_batches=max(cfg["chunk"], 4))
    flops = flop_counts(cfg["size"], cfg["batch"])
    jx = _setup_jaxphys(cfg, x_np, y_np, ctx)
    try:
        import torch
    except ImportError:
        torch = None
        ctx.log("[bench]   torch not installed: peer skipped")
    variants = {"step": jx["step"], "scan": jx["scan"]}
    tr = None
    prev = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(cpu_count())
            tr = _setup_torch(cfg, x_np, y_np, jx["init_params"])
            tr["threads"] = cpu_count()
            variants["torch"] = tr
        timings = time_interleaved({k: v["run"] for k, v in variants.items()},
                                   warmup=cfg["warmup"], repeats=cfg["repeats"],
                                   pause_s=cfg["pause_s"])
    finally:
        if torch is not None:
            torch.set_num_threads(prev)
    for name, v in variants.items():
        t = timings[name]
        v.pop("run")
        v["median"] = v["steps_per_call"] / t.median_s
        v["best"] = v["steps_per_call"] / t.min_s
        v["spread"] = t.max_s / t.min_s
        ctx.log(f"[bench]   {name}: {v['median']:.1f} steps/s median, {v['best']:.1f} best")

    def gflops(r):
        return flops["step"] * r["median"] / 1e9

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
        "flops_per_step_analytic": Figure(flops["step"], "FLOP", "3 × forward conv+dense FLOPs"),
        "jaxphys_gflops": Figure(gflops(jx["step"]), "GFLOP/s", "achieved, jitted step"),
    }
    if tr is not None:
        fig |= {
            "torch_first_step_s": Figure(tr["compile_s"], "s", "first eager step"),
            "torch_steps_per_s": Figure(tr["median"], "steps/s", "torch eager CPU, median"),
            "torch_steps_per_s_best": Figure(tr["best"], "steps/s", "same, best repeat"),
            "torch_gflops": Figure(gflops(tr), "GFLOP/s", "achieved, torch"),
            "ratio_jaxphys_over_torch": Figure(jx["step"]["median"] / tr["median"], "1",
                                               "steps/s ratio, jitted step vs torch (>1: faster)"),
            "ratio_jaxphys_scan_over_torch": Figure(jx["scan"]["median"] / tr["median"], "1",
                                                    "steps/s ratio, lax.scan vs torch"),
            "first_loss_abs_diff": Figure(abs(jx["first_loss"] - tr["first_loss"]), "nats",
                                          "abs(loss_jaxphys − loss_torch) at step 0, same weights"),
        }
    table = [["variant", "compile / first step (s)", "steps/s (median)", "steps/s (best)",
              "× torch", "GFLOP/s", "slowest / fastest repeat"]]
    rows = [("jaxphys `make_train_step` (jit, 1 step per call)", jx["step"]),
            (f"jaxphys, {k} steps per `lax.scan` call", jx["scan"])]
    if tr is not None:
        rows.append((f"PyTorch {tr['version']} eager CPU, {tr['threads']} threads", tr))
    for label, r in rows:
        ratio = r["median"] / tr["median"] if tr is not None else None
        table.append([label, fmt(r["compile_s"], 3), fmt(r["median"]), fmt(r["best"]),
                      fmt(ratio, 3), fmt(gflops(r)), fmt(r["spread"], 3)])
    notes = [f"FLOPs per step (analytic) = 3 × forward = {flops['step']:.4g}.",
             "Both frameworks start from the same weights (jaxphys init copied into torch)."]
    if jx["scan"]["median"] < 0.8 * jx["step"]["median"]:
        notes.append("The lax.scan variant is slower than one step per call here: on XLA:CPU "
                     "convolutions inside a rolled while loop (scan) run slower than the same "
                     "step compiled on its own; `fit` runs its chunks this way.")
    if tr is None:
        notes.append("torch not installed: no peer figures.")
    else:
        notes.append(f"First-step loss: jaxphys {jx['first_loss']:.6f}, torch "
                     f"{tr['first_loss']:.6f}.")
        if jax.default_backend() != "cpu":
            notes.append(f"JAX ran on {jax.default_backend()}, the torch peer on CPU.")
    return BenchResult(
        description=f"LeNet-5 train step on {cfg['size']}×{cfg['size']}×1 images, batch "
                    f"{cfg['batch']}, Adam(lr={cfg['lr']}), softmax cross-entropy: jaxphys vs "
                    "PyTorch (CPU) in the same run.",
        config={**cfg, "torch_threads": tr["threads"] if tr else None},
        figures=fig, table=table, notes=tuple(notes))
