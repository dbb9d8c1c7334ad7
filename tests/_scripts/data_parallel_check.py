"""Run in a subprocess with 8 forced CPU devices: data-parallel vs one device.

Prints one JSON line with the largest absolute parameter differences.
"""

import json
import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                           + " --xla_force_host_platform_device_count=8")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import optax  # noqa: E402

from jaxphys.core import (TrainState, data_parallel, fit, make_mesh, make_train_step,  # noqa: E402
                          replicate, shard_batch)
from jaxphys.nn import MLP  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
assert len(jax.devices()) == 8, jax.devices()

key_x, key_init, key_fit = jax.random.split(jax.random.key(0), 3)
x = jax.random.normal(key_x, (64, 5))
y = jnp.tanh(x @ jnp.arange(1.0, 6.0))[:, None]
model = MLP(widths=(32, 32, 1))
params = model.init(key_init, x[:2])["params"]


def loss_fn(p, batch, key):
    return jnp.mean((model.apply({"params": p}, batch["x"]) - batch["y"]) ** 2), {}


opt = optax.adam(1e-2)
batch = {"x": x, "y": y}
single = make_train_step(loss_fn, opt, donate=False)
mesh = make_mesh(8)
parallel = data_parallel(make_train_step(loss_fn, opt, jit=False), mesh, donate=False)

s1 = TrainState.create(params, opt)
s8 = replicate(TrainState.create(params, opt), mesh)
sharded = shard_batch(batch, mesh)
step_keys = jax.random.split(jax.random.key(1), 20)
for k in step_keys:
    s1, m1 = single(s1, batch, k)
    s8, m8 = parallel(s8, sharded, k)
step_diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in
                zip(jax.tree.leaves(s1.params), jax.tree.leaves(s8.params)))
batch_shards = len(sharded["x"].addressable_shards)

f1 = fit(key_fit, TrainState.create(params, opt), batch, loss_fn=loss_fn, n_steps=40, batch_size=16,
         progress=False)
f8 = fit(key_fit, TrainState.create(params, opt), batch, loss_fn=loss_fn, n_steps=40, batch_size=16,
         progress=False, mesh=mesh)
fit_diff = max(float(jnp.max(jnp.abs(a - b))) for a, b in
               zip(jax.tree.leaves(f1.state.params), jax.tree.leaves(f8.state.params)))
moved = max(float(jnp.max(jnp.abs(a - b))) for a, b in
            zip(jax.tree.leaves(params), jax.tree.leaves(f1.state.params)))
print(json.dumps({"step_diff": step_diff, "fit_diff": fit_diff, "moved": moved,
                  "batch_shards": batch_shards, "loss_diff": abs(float(m1["loss"] - m8["loss"]))}))
