"""The environment interface: pure, single-instance, auto-resetting.

An environment is a plain Python object holding only static configuration
(sizes, step limits); everything one may sweep lives in ``params``, a
NamedTuple of arrays (``env.default_params()``), so ``jax.vmap`` batches over
instances and over parameters alike::

    obs, state = env.reset(key, params)
    obs, state, reward, terminated, truncated, info = env.step(key, state, action, params)

``step`` auto-resets: when the episode ends (``terminated | truncated``) the
returned ``obs``/``state`` already belong to a fresh episode and the last
observation of the finished one is ``info["final_obs"]`` (needed to bootstrap
values at truncation). Subclasses implement ``reset_env`` and ``step_env``
(no reset) and the two spaces.

Actions: ``step`` checks a concrete action against ``action_space`` and raises a
``ValueError`` naming ``action``; under ``jit``/``vmap`` (traced actions) a
discrete action is clipped to ``[0, n - 1]`` and a continuous one to the box.

Example:
    >>> import jax, jax.numpy as jnp
    >>> space = Discrete(3)
    >>> bool(space.contains(jnp.asarray(2))), bool(space.contains(jnp.asarray(3)))
    (True, False)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import is_concrete

__all__ = ["Discrete", "Box", "Environment"]


class Discrete(NamedTuple):
    """Integer actions or observations ``0 .. n - 1`` (scalar, int32).

    Example:
        >>> from jaxphys.rl.envs import Discrete
        >>> space = Discrete(4)
        >>> space.n, space.shape
        (4, ())
        >>> [bool(space.contains(a)) for a in (0, 3, 4, -1)]
        [True, True, False, False]
        >>> int(space.clip(7))           # what step does to a traced action
        3
    """

    n: int

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    @property
    def dtype(self) -> Any:
        return jnp.int32

    def contains(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        return jnp.logical_and(x >= 0, x < self.n) & (x == jnp.round(x))

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, (), 0, self.n, dtype=jnp.int32)

    def clip(self, x: Any) -> jax.Array:
        return jnp.clip(jnp.asarray(x), 0, self.n - 1).astype(jnp.int32)


class Box(NamedTuple):
    """Real vectors in ``[low, high]`` (elementwise; ``±inf`` allowed), shape ``shape``.

    Example (Pendulum's torque, N·m):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import Box
        >>> torque = Box(-2.0, 2.0, (1,))
        >>> torque.low, torque.high, torque.shape
        (-2.0, 2.0, (1,))
        >>> bool(torque.contains(jnp.array([1.5]))), bool(torque.contains(jnp.array([2.5])))
        (True, False)
        >>> torque.clip(jnp.array([3.0])).tolist()
        [2.0]
    """

    low: Any
    high: Any
    shape: tuple[int, ...]
    dtype: Any = jnp.float32

    def contains(self, x: Any) -> jax.Array:
        x = jnp.asarray(x)
        if x.shape != tuple(self.shape):
            return jnp.asarray(False)
        return jnp.all((x >= self.low) & (x <= self.high))

    def sample(self, key: jax.Array) -> jax.Array:
        low = jnp.broadcast_to(jnp.asarray(self.low, self.dtype), self.shape)
        high = jnp.broadcast_to(jnp.asarray(self.high, self.dtype), self.shape)
        return jax.random.uniform(key, self.shape, self.dtype, low, high)

    def clip(self, x: Any) -> jax.Array:
        return jnp.clip(jnp.asarray(x, self.dtype), self.low, self.high)


def _check_action(space: Discrete | Box, action: Any) -> jax.Array:
    """Raise on a concrete out-of-space action; clip a traced one."""
    if is_concrete(action):
        arr = np.asarray(action)
        if isinstance(space, Discrete):
            if arr.shape != () or not bool(space.contains(arr)):
                raise ValueError(f"action: expected an integer scalar in [0, {space.n - 1}], "
                                 f"got {arr!r}")
        else:
            if arr.shape != tuple(space.shape):
                raise ValueError(f"action: expected shape {tuple(space.shape)}, got {arr.shape}")
            if not np.all(np.isfinite(arr)) or not bool(space.contains(arr)):
                raise ValueError(f"action: expected values in [{space.low}, {space.high}], "
                                 f"got {arr!r}")
    return space.clip(action)


class Environment:
    """Base class of pure environments (see the module docstring).

    Subclasses define ``default_params()``, ``reset_env(key, params)``,
    ``step_env(key, state, action, params)``, ``observation_space(params)`` and
    ``action_space(params)``. States and params are NamedTuples of arrays.

    Example (a particle stepping along a line, done once ``|x| ≥ 2``):
        >>> import jax, jax.numpy as jnp
        >>> from typing import NamedTuple
        >>> from jaxphys.rl.envs import Box, Discrete, Environment
        >>> class WalkParams(NamedTuple):
        ...     step_length: jax.Array
        >>> class Walk(Environment):
        ...     def default_params(self):
        ...         return WalkParams(jnp.float32(1.0))
        ...     def reset_env(self, key, params):
        ...         x = jnp.zeros(1)                          # state: the position
        ...         return x, x
        ...     def step_env(self, key, x, action, params):   # action 0: left, 1: right
        ...         x = x + jnp.where(action == 1, 1.0, -1.0) * params.step_length
        ...         return x, x, -1.0, jnp.abs(x[0]) >= 2.0, jnp.asarray(False), {}
        ...     def observation_space(self, params):
        ...         return Box(-jnp.inf, jnp.inf, (1,))
        ...     def action_space(self, params):
        ...         return Discrete(2)
        >>> env = Walk()
        >>> obs, x = env.reset(jax.random.key(0))
        >>> obs, x, reward, terminated, truncated, info = env.step(jax.random.key(1), x, 1)
        >>> x.tolist(), float(reward), bool(terminated)
        ([1.0], -1.0, False)
        >>> obs, x, reward, terminated, truncated, info = env.step(jax.random.key(2), x, 1)
        >>> bool(terminated), info["final_obs"].tolist(), x.tolist()   # auto-reset to 0
        (True, [2.0], [0.0])
    """

    def default_params(self) -> Any:
        raise NotImplementedError

    def reset_env(self, key: jax.Array, params: Any) -> tuple[jax.Array, Any]:
        raise NotImplementedError

    def step_env(self, key: jax.Array, state: Any, action: jax.Array, params: Any
                 ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict]:
        raise NotImplementedError

    def observation_space(self, params: Any) -> Discrete | Box:
        raise NotImplementedError

    def action_space(self, params: Any) -> Discrete | Box:
        raise NotImplementedError

    def reset(self, key: jax.Array, params: Any = None) -> tuple[jax.Array, Any]:
        """Start an episode: ``(obs, state)``."""
        params = self.default_params() if params is None else params
        return self.reset_env(key, params)

    def step(self, key: jax.Array, state: Any, action: Any, params: Any = None
             ) -> tuple[jax.Array, Any, jax.Array, jax.Array, jax.Array, dict]:
        """One transition with auto-reset.

        Returns ``(obs, state, reward, terminated, truncated, info)``: reward
        float32 scalar, terminated/truncated bool scalars; ``info["final_obs"]``
        is the observation the action led to (before any reset).
        """
        params = self.default_params() if params is None else params
        action = _check_action(self.action_space(params), action)
        key_step, key_reset = jax.random.split(key)
        obs_step, state_step, reward, terminated, truncated, info = self.step_env(
            key_step, state, action, params)
        obs_reset, state_reset = self.reset_env(key_reset, params)
        done = jnp.logical_or(terminated, truncated)
        state_out = jax.tree.map(lambda r, s: jnp.where(done, r, s), state_reset, state_step)
        obs_out = jnp.where(done, obs_reset, obs_step)
        info = dict(info)
        info["final_obs"] = obs_step
        return (obs_out, state_out, jnp.asarray(reward, jnp.float32),
                jnp.asarray(terminated, bool), jnp.asarray(truncated, bool), info)

    @property
    def name(self) -> str:
        return type(self).__name__
