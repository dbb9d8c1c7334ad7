"""Checkpoint, interrupt and resume: ``fit(..., checkpoint_dir=..., resume=True)``.

The first run is interrupted part-way (here by a callback that stops it, as a crash or
a job's time limit would); the second call, with the same arguments, restores the latest
checkpoint from the folder and trains on. Because every minibatch and key depends on
the step number alone, the resumed run ends exactly where an uninterrupted one does.

    python examples/checkpoint_resume.py [--quick] [--checkpoints DIR]
"""

import argparse
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys.core import TrainState, fit, latest_checkpoint
from jaxphys.nn import MLP


def main(quick: bool = False, checkpoints: str | None = None) -> dict:
    n_steps, every = (60, 20) if quick else (3000, 500)
    key_data, key_init, key_fit = jax.random.split(jax.random.key(0), 3)
    t = jax.random.uniform(key_data, (512, 1), minval=-1.0, maxval=1.0)
    data = {"t": t, "u": jnp.tanh(3.0 * t) + 0.1 * t ** 2}
    model = MLP(widths=(32, 32, 1), activation="tanh")

    def loss_fn(params, batch, key):
        return jnp.mean((model.apply({"params": params}, batch["t"]) - batch["u"]) ** 2), {}

    state = TrainState.create(jax.jit(model.init)(key_init, t[:1])["params"], optax.adam(3e-3))
    common = dict(loss_fn=loss_fn, n_steps=n_steps, batch_size=32, chunk_size=every,
                  progress=False)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(checkpoints) if checkpoints else Path(tmp) / "run"
        stop_at = n_steps // 2

        def interrupt(step, state, history):          # after each chunk; stands in for a crash
            return step >= stop_at

        first = fit(key_fit, state, data, checkpoint_dir=folder, checkpoint_every=every,
                    callback=interrupt, **common)
        print(f"interrupted at step {int(first.state.step)}; latest checkpoint "
              f"{latest_checkpoint(folder).name}")
        resumed = fit(key_fit, state, data, checkpoint_dir=folder, checkpoint_every=every,
                      resume=True, **common)
        whole = fit(key_fit, state, data, **common)   # the uninterrupted reference
    difference = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                     for a, b in zip(jax.tree.leaves(resumed.state.params),
                                     jax.tree.leaves(whole.state.params)))
    loss = float(loss_fn(resumed.state.params, data, None)[0])
    print(f"resumed to step {int(resumed.state.step)}: loss {loss:.5f}; largest parameter "
          f"difference to the uninterrupted run {difference:.1e}")
    return {"interrupted_at": int(first.state.step), "final_step": int(resumed.state.step),
            "n_steps": n_steps, "difference": difference, "loss": loss}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    parser.add_argument("--checkpoints", default=None, help="checkpoint folder (default: a "
                        "temporary one)")
    args = parser.parse_args()
    main(quick=args.quick, checkpoints=args.checkpoints)
