"""A fixed-size replay buffer as a pytree ring buffer (jittable, vmappable).

The buffer holds any pytree of transitions (e.g. a dict of ``obs``, ``action``,
``reward``, ``next_obs``, ``done``), each leaf stored with a leading axis of
``capacity``. Adding writes at ``position`` and wraps around (the oldest
entries are overwritten); sampling draws uniformly, with replacement, among the
``size`` entries written so far. Everything is pure: ``add`` returns a new
buffer.

Example:
    >>> import jax, jax.numpy as jnp
    >>> buf = replay_init({"x": jnp.zeros(2)}, capacity=3)
    >>> buf = replay_add_batch(buf, {"x": jnp.arange(8.0).reshape(4, 2)})   # 4 > 3: wraps
    >>> int(buf.size), int(buf.position), buf.data["x"][:, 0].tolist()
    (3, 1, [6.0, 2.0, 4.0])
    >>> replay_sample(jax.random.key(0), buf, 5)["x"].shape
    (5, 2)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int

__all__ = ["ReplayBuffer", "replay_init", "replay_add", "replay_add_batch", "replay_sample"]


class ReplayBuffer(NamedTuple):
    """Ring buffer state.

    Fields:
        data: pytree, each leaf (capacity, *leaf_shape) with the example's dtype.
        position: int32 scalar, index the next entry is written to.
        size: int32 scalar, number of valid entries (≤ capacity).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import ReplayBuffer, replay_init
        >>> buf = replay_init({"x": jnp.float32(0.0)}, capacity=3)
        >>> isinstance(buf, ReplayBuffer), buf.capacity, int(buf.size), int(buf.position)
        (True, 3, 0, 0)
    """

    data: Any
    position: jax.Array
    size: jax.Array

    @property
    def capacity(self) -> int:
        return jax.tree.leaves(self.data)[0].shape[0]


def replay_init(example: Any, capacity: int) -> ReplayBuffer:
    """An empty buffer for transitions shaped like ``example`` (one transition, no batch axis).

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import replay_init
    >>> example = {"obs": jnp.zeros(3), "action": jnp.int32(0), "reward": jnp.float32(0.0)}
    >>> buf = replay_init(example, capacity=5)
    >>> buf.data["obs"].shape, buf.data["action"].dtype, int(buf.size)
    ((5, 3), dtype('int32'), 0)
    """
    capacity = as_int(capacity, "capacity", minimum=1)
    data = jax.tree.map(lambda x: jnp.zeros((capacity,) + jnp.shape(x), jnp.asarray(x).dtype),
                        example)
    return ReplayBuffer(data, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32))


def replay_add_batch(buffer: ReplayBuffer, batch: Any) -> ReplayBuffer:
    """Append a batch (every leaf with leading axis B) in order, wrapping around.

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import replay_add_batch, replay_init
    >>> buf = replay_init({"x": jnp.float32(0.0)}, capacity=3)
    >>> buf = replay_add_batch(buf, {"x": jnp.array([1.0, 2.0])})
    >>> buf.data["x"].tolist(), int(buf.size), int(buf.position)
    ([1.0, 2.0, 0.0], 2, 2)
    >>> buf = replay_add_batch(buf, {"x": jnp.array([3.0, 4.0])})   # 4 overwrites the 1
    >>> buf.data["x"].tolist(), int(buf.size), int(buf.position)
    ([4.0, 2.0, 3.0], 3, 1)
    """
    capacity = buffer.capacity
    n = jax.tree.leaves(batch)[0].shape[0]
    idx = (buffer.position + jnp.arange(n, dtype=jnp.int32)) % capacity
    if n > capacity:     # only the last `capacity` entries survive; write them once
        batch = jax.tree.map(lambda x: x[n - capacity:], batch)
        idx = idx[n - capacity:]
    data = jax.tree.map(lambda buf, x: buf.at[idx].set(x.astype(buf.dtype)), buffer.data, batch)
    position = (buffer.position + n) % capacity
    size = jnp.minimum(buffer.size + n, capacity).astype(jnp.int32)
    return ReplayBuffer(data, position.astype(jnp.int32), size)


def replay_add(buffer: ReplayBuffer, transition: Any) -> ReplayBuffer:
    """Append one transition.

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import replay_add, replay_init
    >>> buf = replay_init({"x": jnp.float32(0.0)}, capacity=3)
    >>> for x in (1.0, 2.0, 3.0, 4.0):             # the fourth overwrites the oldest
    ...     buf = replay_add(buf, {"x": x})
    >>> buf.data["x"].tolist(), int(buf.size), int(buf.position)
    ([4.0, 2.0, 3.0], 3, 1)
    """
    return replay_add_batch(buffer, jax.tree.map(lambda x: jnp.asarray(x)[None], transition))


def replay_sample(key: jax.Array, buffer: ReplayBuffer, batch_size: int) -> Any:
    """``batch_size`` transitions drawn uniformly with replacement from the filled part.

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import replay_add_batch, replay_init, replay_sample
    >>> buf = replay_init({"x": jnp.float32(0.0)}, capacity=3)
    >>> buf = replay_add_batch(buf, {"x": jnp.array([1.0, 2.0])})   # 2 of 3 slots filled
    >>> batch = replay_sample(jax.random.key(0), buf, 5)
    >>> batch["x"].shape, set(batch["x"].tolist()) <= {1.0, 2.0}     # never an empty slot
    ((5,), True)
    """
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree.map(lambda x: x[idx], buffer.data)
