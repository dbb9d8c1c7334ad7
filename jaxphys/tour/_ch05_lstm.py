"""Chapter 5: an LSTM infers the hidden coordinate of two coupled oscillators.

Two masses between two walls, joined by three springs
(``jaxphys.data.coupled_oscillator``, exact normal-mode solution, random initial
conditions). The network sees only the first mass's displacement x₁(t), with a
little measurement noise, and must output the second, hidden, displacement x₂(t)
at every time step (many-to-many). The equation of motion of mass 1 says
x₂ = (m₁ẍ₁ + (k₁+k_c)x₁)/k_c, so x₂ is determined by the *history* of x₁ (its
curvature), not by its current value: a memoryless model cannot do it. An LSTM
(``Recurrent(LSTMCell(64), out_features=1)``, 32 units with ``--quick``, scanned over time with
``lax.scan``) is trained with ``jaxphys.core.fit`` on the mean squared error. It
is compared with two baselines on the test trajectories: predicting x₂ from x₁
alone by least squares (no memory) and the equation of motion evaluated with a
central second difference of the noisy x₁ (exact physics, but it amplifies the
noise by 4/Δt²). Errors are RMS over t ≥ 1 (after the first ten samples, which
the causal network needs to see some of the motion), relative to the spread of x₂.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

WARMUP = 10          # samples ignored in the error (the network first has to see the motion)
NOISE = 0.01         # measurement noise on x₁, in units of the initial amplitude


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxphys import plot
    from jaxphys.core import TrainState, fit
    from jaxphys.data import coupled_oscillator
    from jaxphys.nn import LSTMCell, Recurrent
    from jaxphys.plot import new_figure, save_figure

    n_train, n_steps_fit, hidden = (256, 400, 32) if quick else (1024, 3000, 64)
    train_key, test_key, init_key, fit_key = jax.random.split(key, 4)
    dt = 0.1
    train = coupled_oscillator(train_key, n=n_train, n_steps=100, dt=dt, noise=NOISE)
    test = coupled_oscillator(test_key, n=256, n_steps=100, dt=dt, noise=NOISE)
    model = Recurrent(LSTMCell(hidden), out_features=1)

    def loss_fn(params, batch, key):
        del key
        pred = model.apply({"params": params}, batch["x"])
        return jnp.mean((pred - batch["y"]) ** 2), {}

    schedule = optax.cosine_decay_schedule(3e-3, n_steps_fit, alpha=0.05)
    opt = optax.adam(schedule)
    params = model.init(init_key, train.x[:1])["params"]
    res = fit(fit_key, TrainState.create(params, opt), {"x": train.x, "y": train.y},
              loss_fn=loss_fn, n_steps=n_steps_fit, batch_size=64,
              val_data={"x": test.x, "y": test.y}, eval_every=max(n_steps_fit // 10, 1),
              progress=False, desc="ch05 lstm")

    x1 = np.asarray(test.x[..., 0])
    x2 = np.asarray(test.y[..., 0])
    pred = np.asarray(model.apply({"params": res.state.params}, test.x))[..., 0]
    scale = float(np.std(x2[:, WARMUP:]))

    def rel_rmse(p, lo=WARMUP, hi=None):
        return float(np.sqrt(np.mean((p - x2)[:, lo:hi] ** 2)) / scale)

    # Baseline 1: x₂ ≈ a·x₁ + b by least squares on the training set (no memory).
    tx1, tx2 = np.asarray(train.x[..., 0]).ravel(), np.asarray(train.y[..., 0]).ravel()
    coef = np.polyfit(tx1, tx2, 1)
    linear = np.polyval(coef, x1)
    # Baseline 2: the equation of motion of mass 1 with a central second difference.
    m1 = float(test.truth["masses"][0])
    k1, kc = float(test.truth["springs"][0]), float(test.truth["springs"][1])
    accel = np.full_like(x1, np.nan)
    accel[:, 1:-1] = (x1[:, 2:] - 2 * x1[:, 1:-1] + x1[:, :-2]) / dt**2
    physics = (m1 * accel + (k1 + kc) * x1) / kc
    metrics = {
        "test_rel_rmse_lstm": rel_rmse(pred),
        "test_rel_rmse_linear_no_memory": rel_rmse(linear),
        "test_rel_rmse_physics_finite_difference": rel_rmse(physics, WARMUP, -1),
        "test_mse_lstm": float(np.mean((pred - x2)[:, WARMUP:] ** 2)),
        "final_train_loss": float(res.history["loss"][-1]),
        "n_train": float(n_train), "n_steps": float(n_steps_fit), "hidden": float(hidden),
    }

    t = np.asarray(test.truth["t"])
    fig_pred = out_dir / "ch05_lstm_prediction.png"
    fig = new_figure(figsize=(7.5, 6.0))
    axes = fig.subplots(3, 1, sharex=True)
    for row, ax in enumerate(axes):
        ax.plot(t, x1[row], color="0.6", lw=1, label="observed x₁ (noisy)")
        ax.plot(t, x2[row], "k-", lw=1.8, label="hidden x₂ (truth)")
        ax.plot(t, pred[row], "C1--", lw=1.6, label="LSTM prediction of x₂")
        ax.axvspan(t[0], t[WARMUP], color="C0", alpha=0.08)
        ax.set_ylabel("displacement")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, ncol=3, loc="upper right")
    axes[0].set_title(f"Hidden x₂ from observed x₁ (test set): relative RMSE "
                      f"{metrics['test_rel_rmse_lstm']:.3f} for t ≥ {t[WARMUP]:g}", fontsize=10)
    axes[-1].set_xlabel("time t")
    save_figure(fig, fig_pred)

    fig_loss = out_dir / "ch05_lstm_loss.png"
    plot.plot_loss_curves(res.history, log_y=True, ylabel="MSE",
                          title="LSTM on the coupled oscillators", path=fig_loss)
    summary = (f"hidden-coordinate relative RMSE: LSTM {metrics['test_rel_rmse_lstm']:.3f}, "
               f"memoryless linear fit {metrics['test_rel_rmse_linear_no_memory']:.3f}, "
               f"equation of motion with finite differences of noisy x₁ "
               f"{metrics['test_rel_rmse_physics_finite_difference']:.3f}")
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_pred, fig_loss])


CHAPTER = Chapter(number=5, name="lstm", title="An LSTM infers a hidden coordinate of coupled "
                  "oscillators", run=run)
