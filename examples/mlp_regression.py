"""Fit a damped oscillation with an MLP: minibatches, validation, early stopping, checkpoints.

    python examples/mlp_regression.py [--quick] [--steps 4000] [--checkpoints /tmp/osc-ckpt]

Run it twice with the same --checkpoints folder and the second run resumes where
the first stopped (interrupt it with Ctrl-C to see that).
"""

import argparse

import jax
import jax.numpy as jnp
import optax

from jaxphys.core import EarlyStopping, TrainState, fit
from jaxphys.nn import MLP


def damped_oscillation(key, n, noise=0.05):
    """x(t) = exp(-t/τ) cos(ω t) with τ = 2, ω = 5, observed with Gaussian noise."""
    key_t, key_noise = jax.random.split(key)
    t = jax.random.uniform(key_t, (n, 1), minval=0.0, maxval=4.0)
    x = jnp.exp(-t / 2.0) * jnp.cos(5.0 * t)
    return {"t": t, "x": x + noise * jax.random.normal(key_noise, x.shape)}


def main(quick: bool = False, steps: int | None = None, checkpoints: str | None = None) -> dict:
    n_steps = steps if steps is not None else (1000 if quick else 4000)
    key_train, key_val, key_init, key_fit = jax.random.split(jax.random.key(0), 4)
    train, val = damped_oscillation(key_train, 512), damped_oscillation(key_val, 256)
    model = MLP(widths=(64, 64, 1), activation="tanh")
    params = jax.jit(model.init)(key_init, train["t"][:1])["params"]

    def loss_fn(p, batch, key):
        pred = model.apply({"params": p}, batch["t"])
        return jnp.mean((pred - batch["x"]) ** 2), {}

    optimizer = optax.adam(optax.cosine_decay_schedule(3e-3, n_steps))
    result = fit(key_fit, TrainState.create(params, optimizer), train, loss_fn=loss_fn,
                 n_steps=n_steps, batch_size=64, val_data=val, eval_every=100,
                 early_stopping=EarlyStopping(patience=10),
                 checkpoint_dir=checkpoints, checkpoint_every=500 if checkpoints else None,
                 progress=not quick)
    best = min(result.history["val_loss"])
    print(f"best step {result.best_step}: validation MSE {best:.5f} (noise variance 0.0025)")
    return {"best_step": result.best_step, "val_mse": best}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    parser.add_argument("--steps", type=int, default=None, help="default 4000 (1000 with --quick)")
    parser.add_argument("--checkpoints", default=None)
    args = parser.parse_args()
    main(quick=args.quick, steps=args.steps, checkpoints=args.checkpoints)
