"""One of two processes on localhost: the data-parallel step across processes.

``python multiprocess_check.py PROCESS_ID PORT``. Both processes initialise
``jax.distributed`` (CPU collectives over gloo), build a 2-device mesh (one device per
process), feed their half of the global batch with ``shard_local_batch`` and take 10
data-parallel steps and a ``fit`` over the mesh; each also computes the single-process
reference on the full batch locally and prints one JSON line with the differences.
"""

import json
import sys

process_id, port = int(sys.argv[1]), int(sys.argv[2])

import jax  # noqa: E402

jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2,
                           process_id=process_id)
jax.config.update("jax_numpy_rank_promotion", "raise")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from jaxphys.core import (TrainState, data_parallel, fit, make_mesh, make_train_step,  # noqa
                          replicate, shard_local_batch)
from jaxphys.nn import MLP  # noqa: E402

assert jax.process_count() == 2 and len(jax.devices()) == 2, jax.devices()

key_x, key_init, key_fit = jax.random.split(jax.random.key(0), 3)
x = jax.random.normal(key_x, (64, 5))
y = jnp.tanh(x @ jnp.arange(1.0, 6.0))[:, None]
model = MLP(widths=(16, 16, 1))
params = model.init(key_init, x[:2])["params"]


def loss_fn(p, batch, key):
    return jnp.mean((model.apply({"params": p}, batch["x"]) - batch["y"]) ** 2), {}


tx = optax.adam(1e-2)
mesh = make_mesh()                                    # spans both processes' devices
half = slice(32 * process_id, 32 * (process_id + 1))  # this process's share of the batch
local = {"x": np.asarray(x[half]), "y": np.asarray(y[half])}
global_batch = shard_local_batch(local, mesh)
parallel = data_parallel(make_train_step(loss_fn, jit=False), mesh, donate=False)
state = replicate(TrainState.create(params, tx), mesh)

# the single-process reference, on this process's own device
single = make_train_step(loss_fn, donate=False)
reference = TrainState.create(params, tx)
keys = jax.random.split(jax.random.key(1), 10)
for k in keys:
    state, _ = parallel(state, global_batch, k)
    reference, _ = single(reference, {"x": x, "y": y}, k)

from jax.experimental import multihost_utils  # noqa: E402

gathered = multihost_utils.process_allgather(state.params, tiled=True)
step_diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in
                zip(jax.tree.leaves(gathered), jax.tree.leaves(reference.params)))
moved = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in
            zip(jax.tree.leaves(reference.params), jax.tree.leaves(params)))
print(json.dumps({"process": process_id, "step_diff": step_diff, "moved": moved,
                  "local_shards": len(global_batch["x"].addressable_shards),
                  "global_shape": list(global_batch["x"].shape)}), flush=True)
jax.distributed.shutdown()
