"""Your own flax model through your own train step and ``fit``.

A Fourier-feature network (a flax module written here, not one of jaxphys's) learns a
chirped signal. The train step is composed by hand from the library's pieces: the
gradient step of ``make_train_step`` plus an exponential moving average (EMA) of the
parameters, in a state of our own; ``skip_nonfinite`` guards it and ``fit`` drives it
with validation on the EMA parameters.

    python examples/custom_model_and_step.py [--quick]
"""

import argparse
from typing import Any

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp
import optax

from jaxphys.core import TrainState, fit, make_train_step, skip_nonfinite


class FourierMLP(nn.Module):
    """u(t) = MLP([sin(2π B t), cos(2π B t)]) with fixed random frequencies B."""

    n_features: int = 32
    scale: float = 3.0
    width: int = 64

    @nn.compact
    def __call__(self, t):                                  # t: (batch, 1)
        freqs = self.param("freqs", nn.initializers.normal(self.scale), (1, self.n_features))
        phase = 2.0 * jnp.pi * t @ jax.lax.stop_gradient(freqs)
        h = jnp.concatenate([jnp.sin(phase), jnp.cos(phase)], axis=-1)
        h = nn.tanh(nn.Dense(self.width)(h))
        return nn.Dense(1)(h)


@flax.struct.dataclass
class EMAState:
    """Our own training state: fit needs only a pytree with an integer ``step``."""

    step: jax.Array
    train: TrainState
    ema: Any


def chirp(key, n, noise=0.05):
    key_t, key_noise = jax.random.split(key)
    t = jax.random.uniform(key_t, (n, 1))
    y = jnp.sin(2.0 * jnp.pi * (2.0 * t + 3.0 * t ** 2))
    return {"t": t, "y": y + noise * jax.random.normal(key_noise, y.shape)}


def main(quick: bool = False) -> dict:
    n_steps = 300 if quick else 3000
    key_train, key_val, key_init, key_fit = jax.random.split(jax.random.key(0), 4)
    train, val = chirp(key_train, 512), chirp(key_val, 256, noise=0.0)
    model = FourierMLP()

    def loss_fn(params, batch, key):
        pred = model.apply({"params": params}, batch["t"])
        return jnp.mean((pred - batch["y"]) ** 2), {}

    gradient_step = make_train_step(loss_fn, guard_nonfinite=False, jit=False)
    decay = 0.98

    def ema_step(state, batch, key):
        train_state, metrics = gradient_step(state.train, batch, key)
        ema = jax.tree.map(lambda e, p: decay * e + (1.0 - decay) * p, state.ema,
                           train_state.params)
        return EMAState(step=state.step + 1, train=train_state, ema=ema), metrics

    def eval_fn(state, batch, key):
        return {"loss": loss_fn(state.ema, batch, key)[0],
                "raw": loss_fn(state.train.params, batch, key)[0]}

    params = jax.jit(model.init)(key_init, train["t"][:1])["params"]
    train_state = TrainState.create(params, optax.adam(3e-3))
    state = EMAState(step=jnp.asarray(0, jnp.int32), train=train_state, ema=params)
    result = fit(key_fit, state, train, step=skip_nonfinite(ema_step), eval_fn=eval_fn,
                 n_steps=n_steps, batch_size=64, val_data=val, eval_every=n_steps // 3,
                 progress=False)
    val_ema = float(result.history["val_loss"][-1])
    val_raw = float(result.history["val_raw"][-1])
    first = float(result.history["loss"][0])
    print(f"{n_steps} steps: train loss {first:.4f} -> {float(result.history['loss'][-1]):.4f}; "
          f"validation MSE, EMA params {val_ema:.4f}, raw params {val_raw:.4f}")
    return {"val_ema": val_ema, "val_raw": val_raw, "first_loss": first}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
