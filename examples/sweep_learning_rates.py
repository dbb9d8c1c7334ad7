"""A learning-rate × seed sweep in one compiled call: ``run_steps`` under ``jax.vmap``.

Every run trains the same MLP on a noisy damped oscillation. The learning rate is a
traced array inside the optimiser state (``optax.inject_hyperparams`` and
``set_hyperparams``), so ``jax.vmap`` over seeds and over learning rates compiles the
training loop once for all of them.

    python examples/sweep_learning_rates.py [--quick]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys.core import TrainState, make_train_step, run_steps, set_hyperparams
from jaxphys.losses import mse
from jaxphys.nn import MLP


def main(quick: bool = False) -> dict:
    n_steps = 200 if quick else 2000
    seeds = jnp.arange(3 if quick else 8)
    learning_rates = jnp.array([1e-4, 1e-3, 1e-2, 3e-2])
    key_data, key_noise = jax.random.split(jax.random.key(0))
    t = jax.random.uniform(key_data, (256, 1), maxval=4.0)
    data = {"t": t, "x": jnp.exp(-t / 2.0) * jnp.cos(5.0 * t)
            + 0.05 * jax.random.normal(key_noise, t.shape)}
    model = MLP(widths=(32, 32, 1), activation="tanh")

    def loss_fn(params, batch, key):
        return jnp.mean(jax.vmap(mse)(model.apply({"params": params}, batch["t"]), batch["x"])), {}

    step = make_train_step(loss_fn, jit=False)
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)

    def train(seed, learning_rate):
        key_init, key_run = jax.random.split(jax.random.key(seed))
        state = TrainState.create(model.init(key_init, t[:1])["params"], tx)
        state = set_hyperparams(state, learning_rate=learning_rate)
        _, metrics = run_steps(step, state, data, key_run, n_steps=n_steps, batch_size=32)
        return metrics["loss"]

    sweep = jax.jit(jax.vmap(jax.vmap(train, in_axes=(None, 0)), in_axes=(0, None)))
    losses = np.asarray(sweep(seeds, learning_rates))          # (seeds, rates, steps)
    final = losses[:, :, -20:].mean(axis=-1)                   # last 20 steps, per run
    mean, spread = final.mean(axis=0), final.std(axis=0)
    for lr, m, s in zip(np.asarray(learning_rates), mean, spread):
        print(f"learning rate {lr:7.0e}: final loss {m:.4f} ± {s:.4f} over {len(seeds)} seeds")
    best = float(learning_rates[int(np.argmin(mean))])
    print(f"best learning rate {best:.0e}; losses array {losses.shape} from one compiled call")
    return {"losses_shape": losses.shape, "final_mean": mean, "best_learning_rate": best,
            "initial_loss": float(losses[:, :, 0].mean())}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
