"""Data parallelism with JAX's own sharding (GSPMD).

The batch is split along a ``'data'`` mesh axis, parameters and optimiser state
are replicated, and XLA inserts the gradient all-reduce. On several hosts, call
``jax.distributed.initialize()`` first on every process; :func:`make_mesh`
then spans all global devices and each process feeds its share of the batch.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxphys._checks import as_int


def make_mesh(n_devices: int | None = None, axis_name: str = "data") -> Mesh:
    """A 1-D device mesh over the first ``n_devices`` devices (default: all).

    Example:
        >>> mesh = make_mesh(1)
        >>> dict(mesh.shape)
        {'data': 1}
    """
    devices = jax.devices()
    n = len(devices) if n_devices is None else as_int(n_devices, "n_devices")
    if not 1 <= n <= len(devices):
        raise ValueError(f"n_devices: must be between 1 and {len(devices)} (devices available), got {n}")
    return Mesh(np.asarray(devices[:n]), (axis_name,))


def replicate(tree: Any, mesh: Mesh) -> Any:
    """Place every leaf of ``tree`` on all devices of ``mesh`` (replicated).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.core import make_mesh, replicate
        >>> params = replicate({"w": jnp.ones(3)}, make_mesh(1))
        >>> params["w"].shape, params["w"].sharding.is_fully_replicated
        ((3,), True)
    """
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_batch(batch: Any, mesh: Mesh, axis_name: str = "data") -> Any:
    """Split every leaf of ``batch`` along its leading axis over ``axis_name``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.core import make_mesh, shard_batch
        >>> batch = shard_batch({"x": jnp.ones((4, 2))}, make_mesh(1))
        >>> batch["x"].shape, tuple(batch["x"].sharding.spec)     # rows split over 'data'
        ((4, 2), ('data',))
    """
    n_shards = mesh.shape[axis_name]
    for leaf in jax.tree.leaves(batch):
        if np.ndim(leaf) == 0 or np.shape(leaf)[0] % n_shards:
            raise ValueError(f"batch: leading axis {np.shape(leaf)[:1]} is not divisible by the "
                             f"{n_shards} devices of mesh axis {axis_name!r}")
    return jax.device_put(batch, NamedSharding(mesh, PartitionSpec(axis_name)))


def shard_local_batch(local_batch: Any, mesh: Mesh, axis_name: str = "data") -> Any:
    """Assemble the global batch from every process's own share (multi-host runs).

    Each process passes the examples it loaded (the same leading size on every
    process); the result is a global array sharded along ``axis_name`` whose rows are
    the processes' shares in process order. On one process it equals
    :func:`shard_batch`.

    Example:
        >>> import numpy as np
        >>> batch = shard_local_batch({"x": np.ones((4, 2))}, make_mesh(1))
        >>> batch["x"].shape
        (4, 2)
    """
    sharding = NamedSharding(mesh, PartitionSpec(axis_name))
    for leaf in jax.tree.leaves(local_batch):
        if np.ndim(leaf) == 0:
            raise ValueError("local_batch: every array needs a leading example axis; found a "
                             "scalar")
    return jax.tree.map(lambda a: jax.make_array_from_process_local_data(sharding, np.asarray(a)),
                        local_batch)


def data_parallel(step: Callable, mesh: Mesh, axis_name: str = "data",
                  donate: bool = True) -> Callable:
    """Jit an unjitted ``step(state, batch, key)`` for data parallelism on ``mesh``.

    ``step`` comes from ``make_train_step(..., jit=False)``. The returned
    function expects a replicated state (:func:`replicate`) and a batch sharded on
    ``axis_name`` (:func:`shard_batch`) and returns a replicated state and metrics.
    Because the loss is a mean over the global batch, the result equals the
    single-device step up to floating-point reassociation of the reduction.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.core import data_parallel, make_mesh, replicate, shard_batch
        >>> def step(state, batch, key):       # one gradient step on mean((w - x)²)
        ...     grad = 2.0 * (state["w"] - jnp.mean(batch["x"]))
        ...     return {"w": state["w"] - 0.5 * grad}, {"grad": grad}
        >>> mesh = make_mesh(1)
        >>> state, metrics = data_parallel(step, mesh)(
        ...     replicate({"w": jnp.array(0.0)}, mesh),
        ...     shard_batch({"x": jnp.array([1.0, 2.0, 3.0, 6.0])}, mesh), jax.random.key(0))
        >>> float(metrics["grad"]), float(state["w"])    # -2·mean(x), then w = mean(x)
        (-6.0, 3.0)
    """
    rep = NamedSharding(mesh, PartitionSpec())
    data = NamedSharding(mesh, PartitionSpec(axis_name))
    return jax.jit(step, in_shardings=(rep, data, rep), out_shardings=(rep, rep),
                   donate_argnums=(0,) if donate else ())
