"""Data-parallel training on a device mesh: ``fit(..., mesh=make_mesh())``.

Each minibatch is split along the mesh's ``data`` axis, parameters stay replicated and
XLA inserts the gradient all-reduce. The script trains the same model with and without
the mesh and prints how far apart the parameters end. On a CPU-only machine, fake
several devices to see the sharding at work:

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/data_parallel.py
    python examples/data_parallel.py --quick        # whatever devices there are
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys.core import TrainState, fit, make_mesh
from jaxphys.losses import softmax_cross_entropy
from jaxphys.nn import MLP


def main(quick: bool = False) -> dict:
    n_steps = 40 if quick else 2000
    n_devices = len(jax.devices())
    batch_size = 16 * n_devices                       # divisible by the mesh size
    key_x, key_init, key_fit = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(key_x, (1024, 2))
    labels = (jnp.linalg.norm(x, axis=-1) > 1.2).astype(jnp.int32)   # inside or outside a ring
    data = {"x": x, "y": labels}
    model = MLP(widths=(32, 32, 2), activation="relu")

    def loss_fn(params, batch, key):
        logits = model.apply({"params": params}, batch["x"])
        loss = jnp.mean(jax.vmap(softmax_cross_entropy)(logits, batch["y"]))
        accuracy = jnp.mean(jnp.argmax(logits, axis=-1) == batch["y"])
        return loss, {"accuracy": accuracy}

    state = TrainState.create(jax.jit(model.init)(key_init, x[:1])["params"], optax.adam(1e-2))
    common = dict(loss_fn=loss_fn, n_steps=n_steps, batch_size=batch_size, progress=False)
    mesh = make_mesh()                                 # all local devices on one 'data' axis
    sharded = fit(key_fit, state, data, mesh=mesh, **common)
    single = fit(key_fit, state, data, **common)
    difference = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                     for a, b in zip(jax.tree.leaves(sharded.state.params),
                                     jax.tree.leaves(single.state.params)))
    accuracy = float(sharded.history["accuracy"][-1])
    print(f"{n_devices} device(s), mesh {dict(mesh.shape)}, batch {batch_size}: "
          f"training accuracy {accuracy:.3f} after {n_steps} steps; "
          f"largest parameter difference to one device {difference:.2e}")
    return {"n_devices": n_devices, "accuracy": accuracy, "difference": difference}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
