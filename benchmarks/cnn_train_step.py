"""CNN train step: jaxphys LeNet-5 against the same network in PyTorch on CPU, in the same run.

Model: LeNet-5 as in ``jaxphys.nn.LeNet5`` (ReLU, max pooling) on 28×28×1 images:
conv 6@5×5 ('SAME') → ReLU → max-pool 2 → conv 16@5×5 ('VALID') → ReLU →
max-pool 2 → flatten (400) → dense 120 → ReLU → dense 84 → ReLU → dense 10;
batch 128; Adam (lr 1e-3); mean softmax cross-entropy; synthetic data
(standard-normal images, uniform labels; the same arrays for both frameworks).

jaxphys side: ``LeNet5`` (channels-last NHWC), a contract loss
``loss_fn(params, batch, key) -> (loss, aux)`` and
``jaxphys.core.make_train_step(loss_fn)`` on a ``TrainState`` carrying
``optax.adam(1e-3)``: the jitted, state-donating step called once per batch from
Python, and ``K`` steps inside one ``lax.scan`` (how ``fit`` runs its chunks).

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

from ._runner import BenchResult, Context, Figure, fmt, register
from ._train_variants import jaxphys_variants, time_against_torch, torch_step_runner

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
    from jaxphys.nn import LeNet5

    model = LeNet5()

    def loss_fn(params, batch, key):
        del key
        logits = model.apply({"params": params}, batch["x"])
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, batch["y"][:, None], axis=1)), {}

    init_key, run_key = jax.random.split(jax.random.key(0))
    params = jax.jit(model.init)(init_key, jnp.asarray(x_np[0, :1]))["params"]
    out = jaxphys_variants(loss_fn, optax.adam(cfg["lr"]), params, x_np, y_np, cfg, ctx, run_key)
    out["init_params"] = jax.tree.map(np.array, params)  # writable copies for torch
    out["first_loss"] = float(out["first_metrics"]["loss"])
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

    runner = torch_step_runner(one_step, cfg["steps_per_repeat"])
    runner["first_loss"] = float(runner["first"])
    return runner


@register(NAME)
def cnn_train_step(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    x_np, y_np = _data(cfg, n_batches=max(cfg["chunk"], 4))
    flops = flop_counts(cfg["size"], cfg["batch"])
    jx = _setup_jaxphys(cfg, x_np, y_np, ctx)
    tr = time_against_torch(jx, lambda: _setup_torch(cfg, x_np, y_np, jx["init_params"]), cfg,
                            ctx)

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
