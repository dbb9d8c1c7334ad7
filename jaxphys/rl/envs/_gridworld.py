"""A grid-world maze: walls, goal cells, pits, a slip probability.

The layout is a list of equal-length strings: ``#`` wall, ``G`` goal, ``P`` pit,
``S`` start, ``.`` free. The agent occupies a cell; observations are the cell
index ``row * width + col`` (int32 scalar). Actions: 0 up, 1 right, 2 down,
3 left. A move into a wall or off the grid leaves the agent in place. With
probability ``slip`` the chosen action is replaced by one drawn uniformly from
the four (possibly the same one). Entering a goal gives ``goal_reward`` and
entering a pit ``pit_reward``, both end the episode (terminated); every other
step gives ``step_reward``; episodes are truncated after ``max_steps`` steps.
A reward only at the goal (``step_reward = 0``) makes the sparse-reward task
of ``jaxphys.rl._curriculum``.

Every number and map lives in ``GridWorldParams`` (arrays, vmappable: one may
batch over slip probabilities or start distributions); only the grid's height
and width are static. ``to_mdp(params)`` gives the exact transition and reward
tensors for the planners (``value_iteration`` ...), ``goal_distances(params)``
the shortest-path length of every cell to the nearest goal.

Example:
    >>> import jax
    >>> env = GridWorld(["S..", ".#.", "..G"])
    >>> obs, state = env.reset(jax.random.key(0))
    >>> int(obs), env.action_space(env.default_params()).n
    (0, 4)
    >>> env.goal_distances().astype(int).tolist()[0]
    [4, 3, 2]
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_shape, is_concrete
from jaxphys.rl.envs._base import Discrete, Environment
from jaxphys.rl.envs._tabular_mdp import TabularMDPParams

__all__ = ["GridWorldParams", "GridWorldState", "GridWorld", "ACTION_NAMES"]

ACTION_NAMES = ("up", "right", "down", "left")
_MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]], np.int32)

DEFAULT_LAYOUT = (
    "S.....#...",
    ".####.#.#.",
    ".#....#.#.",
    ".#.##...#P",
    "...#P.#..G",
)


class GridWorldParams(NamedTuple):
    """Maps and numbers of a grid world (``H × W`` cells; all arrays, vmappable).

    Fields:
        walls: (H, W) bool, blocked cells.
        goal: (H, W) bool, goal cells (terminal, ``goal_reward``).
        pits: (H, W) bool, pit cells (terminal, ``pit_reward``).
        start: (H, W) float32, unnormalised start weights (≥ 0, positive somewhere).
        slip: float32 scalar in [0, 1], probability of a uniformly random action.
        step_reward: float32 scalar, reward of a step that enters neither goal nor pit.
        goal_reward: float32 scalar.
        pit_reward: float32 scalar.
        max_steps: int32 scalar, truncation length.

    Example:
        >>> from jaxphys.rl.envs import GridWorld
        >>> params = GridWorld(["S.G", ".#P"], slip=0.1).default_params()
        >>> params.walls.astype(int).tolist(), params.pits.astype(int).tolist()
        ([[0, 0, 0], [0, 1, 0]], [[0, 0, 0], [0, 0, 1]])
        >>> round(float(params.slip), 4), float(params.goal_reward), int(params.max_steps)
        (0.1, 1.0, 100)
    """

    walls: jax.Array
    goal: jax.Array
    pits: jax.Array
    start: jax.Array
    slip: jax.Array
    step_reward: jax.Array
    goal_reward: jax.Array
    pit_reward: jax.Array
    max_steps: jax.Array


class GridWorldState(NamedTuple):
    """Fields: pos: (2,) int32 (row, col); t: int32 scalar, steps taken in the episode.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import GridWorld, GridWorldState
        >>> env = GridWorld(["S..", ".#.", "..G"])
        >>> state = GridWorldState(pos=jnp.array([1, 2], jnp.int32), t=jnp.int32(4))
        >>> int(env.pos_to_obs(state.pos)), int(state.t)   # row 1, col 2: cell 1 * 3 + 2
        (5, 4)
    """

    pos: jax.Array
    t: jax.Array


def _parse_layout(layout: Sequence[str]) -> dict[str, np.ndarray]:
    if isinstance(layout, str) or len(layout) == 0:
        raise ValueError("layout: expected a non-empty list of strings (rows), got "
                         f"{layout!r}")
    width = len(layout[0])
    if width == 0 or any(len(row) != width for row in layout):
        raise ValueError(f"layout: every row must have the same non-zero length, got lengths "
                         f"{[len(r) for r in layout]}")
    grid = np.array([list(row) for row in layout])
    unknown = set(grid.ravel()) - set("#GPS.")
    if unknown:
        raise ValueError(f"layout: unknown characters {sorted(unknown)}; use # G P S .")
    if not np.any(grid == "G"):
        raise ValueError("layout: needs at least one goal cell 'G'")
    return {"walls": grid == "#", "goal": grid == "G", "pits": grid == "P", "start": grid == "S"}


class GridWorld(Environment):
    """A grid-world maze (see the module docstring).

    Args:
        layout: rows of ``# G P S .``; without ``S`` the agent starts uniformly on
            every free cell.
        slip, step_reward, goal_reward, pit_reward, max_steps: the default params.

    Example (observations are cell indices ``row * width + col``):
        >>> import jax, jax.numpy as jnp
        >>> from jaxphys.rl.envs import ACTION_NAMES, GridWorld
        >>> env = GridWorld(["S..", ".#.", "..G"], slip=0.1, step_reward=-0.1)
        >>> env.height, env.width, env.n_states, ACTION_NAMES
        (3, 3, 9, ('up', 'right', 'down', 'left'))
        >>> obs, state = env.reset(jax.random.key(0))
        >>> int(obs), state.pos.tolist()                  # at S
        (0, [0, 0])
        >>> env.obs_to_pos(jnp.int32(8)).tolist()         # the goal cell
        [2, 2]
    """

    def __init__(self, layout: Sequence[str] = DEFAULT_LAYOUT, *, slip: float = 0.0,
                 step_reward: float = -0.01, goal_reward: float = 1.0,
                 pit_reward: float = -1.0, max_steps: int = 100) -> None:
        maps = _parse_layout(layout)
        self.layout = tuple(layout)
        self.height, self.width = maps["walls"].shape
        self.n_states = self.height * self.width
        slip_arr = as_array(slip, "slip", ndim=0, dtype=jnp.float32)
        check_finite(slip_arr, "slip")
        if not 0.0 <= float(slip_arr) <= 1.0:
            raise ValueError(f"slip: expected a probability in [0, 1], got {float(slip_arr)}")
        for name, v in (("step_reward", step_reward), ("goal_reward", goal_reward),
                        ("pit_reward", pit_reward)):
            check_finite(as_array(v, name, ndim=0, dtype=jnp.float32), name)
        max_steps = as_int(max_steps, "max_steps", minimum=1)
        start = maps["start"] if maps["start"].any() else ~(maps["walls"] | maps["goal"]
                                                            | maps["pits"])
        self._params = GridWorldParams(
            walls=jnp.asarray(maps["walls"]), goal=jnp.asarray(maps["goal"]),
            pits=jnp.asarray(maps["pits"]), start=jnp.asarray(start, jnp.float32),
            slip=slip_arr, step_reward=jnp.asarray(step_reward, jnp.float32),
            goal_reward=jnp.asarray(goal_reward, jnp.float32),
            pit_reward=jnp.asarray(pit_reward, jnp.float32),
            max_steps=jnp.asarray(max_steps, jnp.int32))

    # --- interface
    def default_params(self) -> GridWorldParams:
        return self._params

    def observation_space(self, params: Any) -> Discrete:
        return Discrete(self.n_states)

    def action_space(self, params: Any) -> Discrete:
        return Discrete(4)

    def check_params(self, params: GridWorldParams) -> GridWorldParams:
        """Raise a ``ValueError`` naming the field for wrong shapes or values (concrete only)."""
        for name in ("walls", "goal", "pits", "start"):
            check_shape(getattr(params, name), f"params.{name}", (self.height, self.width))
        start = params.start
        if is_concrete(start) and is_concrete(params.walls):
            s = np.asarray(start)
            if np.any(s < 0) or not np.any(s[~np.asarray(params.walls)] > 0):
                raise ValueError("params.start: expected non-negative weights, positive on "
                                 "some free cell")
        if is_concrete(params.slip) and not 0.0 <= float(params.slip) <= 1.0:
            raise ValueError(f"params.slip: expected a probability in [0, 1], got "
                             f"{float(params.slip)}")
        return params

    def pos_to_obs(self, pos: jax.Array) -> jax.Array:
        return (pos[0] * self.width + pos[1]).astype(jnp.int32)

    def obs_to_pos(self, obs: jax.Array) -> jax.Array:
        return jnp.stack([obs // self.width, obs % self.width]).astype(jnp.int32)

    def reset_env(self, key: jax.Array, params: GridWorldParams
                  ) -> tuple[jax.Array, GridWorldState]:
        w = jnp.where(params.walls, 0.0, params.start).ravel()
        idx = jax.random.categorical(key, jnp.log(w)).astype(jnp.int32)
        pos = self.obs_to_pos(idx)
        return idx, GridWorldState(pos, jnp.asarray(0, jnp.int32))

    def _move(self, pos: jax.Array, action: jax.Array, walls: jax.Array) -> jax.Array:
        target = pos + jnp.asarray(_MOVES)[action]
        inside = ((target[0] >= 0) & (target[0] < self.height)
                  & (target[1] >= 0) & (target[1] < self.width))
        clipped = jnp.clip(target, 0, jnp.asarray([self.height - 1, self.width - 1]))
        blocked = jnp.logical_or(jnp.logical_not(inside), walls[clipped[0], clipped[1]])
        return jnp.where(blocked, pos, clipped)

    def step_env(self, key: jax.Array, state: GridWorldState, action: jax.Array,
                 params: GridWorldParams):
        slip_key, random_key = jax.random.split(key)
        slipped = jax.random.uniform(slip_key) < params.slip
        random_action = jax.random.randint(random_key, (), 0, 4, dtype=jnp.int32)
        taken = jnp.where(slipped, random_action, action)
        pos = self._move(state.pos, taken, params.walls)
        at_goal = params.goal[pos[0], pos[1]]
        at_pit = params.pits[pos[0], pos[1]]
        reward = jnp.where(at_goal, params.goal_reward,
                           jnp.where(at_pit, params.pit_reward, params.step_reward))
        t = state.t + 1
        terminated = jnp.logical_or(at_goal, at_pit)
        truncated = jnp.logical_and(t >= params.max_steps, jnp.logical_not(terminated))
        info = {"slipped": slipped}
        return self.pos_to_obs(pos), GridWorldState(pos, t), reward, terminated, truncated, info

    def action_mask(self, obs: jax.Array, params: Any) -> jax.Array:
        """(4,) bool: every action is allowed (bumping into a wall is a no-op)."""
        return jnp.ones(4, bool)

    # --- exact model
    def to_mdp(self, params: GridWorldParams | None = None) -> TabularMDPParams:
        """The grid world as explicit tensors ``P[s, a, s']``, ``R[s, a, s']`` (jittable).

        States are cell indices; goal and pit cells are terminal (absorbing,
        reward 0 afterwards), and so are the unreachable wall cells (value 0);
        ``initial`` is the normalised start distribution.
        """
        params = self.default_params() if params is None else params
        return self._to_mdp(params)

    @functools.partial(jax.jit, static_argnums=0)
    def _to_mdp(self, params: GridWorldParams) -> TabularMDPParams:
        S = self.n_states
        cells = jnp.arange(S, dtype=jnp.int32)
        pos = jax.vmap(self.obs_to_pos)(cells)                                # (S, 2)
        nxt = jax.vmap(lambda p: jax.vmap(lambda a: self.pos_to_obs(
            self._move(p, a, params.walls)))(jnp.arange(4)))(pos)             # (S, 4)
        onehot = jax.nn.one_hot(nxt, S, dtype=jnp.float32)                     # (S, 4, S)
        slip_row = jnp.mean(onehot, axis=1, keepdims=True)                     # (S, 1, S)
        P = (1.0 - params.slip) * onehot + params.slip * slip_row
        goal, pits = params.goal.ravel(), params.pits.ravel()
        terminal = goal | pits | params.walls.ravel()
        r_next = jnp.where(goal, params.goal_reward,
                           jnp.where(pits, params.pit_reward, params.step_reward))   # (S,)
        R = jnp.broadcast_to(r_next[None, None, :], (S, 4, S))
        # terminal states: absorbing self-loops with reward 0
        eye = jnp.eye(S, dtype=jnp.float32)[:, None, :]
        P = jnp.where(terminal[:, None, None], eye, P)
        R = jnp.where(terminal[:, None, None], 0.0, R)
        w = jnp.where(params.walls, 0.0, params.start).ravel()
        return TabularMDPParams(P, R, jnp.ones((S, 4), bool), w / jnp.sum(w), terminal,
                                params.max_steps)

    def goal_distances(self, params: GridWorldParams | None = None) -> jax.Array:
        """(H, W) float32: fewest moves from each cell to a goal (``inf`` if none; walls ``inf``).

        Computed by relaxing ``d ← min(d, 1 + min_neighbour d)`` ``H·W`` times (jittable).
        """
        params = self.default_params() if params is None else params
        return self._goal_distances(params)

    @functools.partial(jax.jit, static_argnums=0)
    def _goal_distances(self, params: GridWorldParams) -> jax.Array:
        inf = jnp.asarray(jnp.inf, jnp.float32)
        d0 = jnp.where(params.goal, 0.0, inf)

        def relax(_, d):
            padded = jnp.pad(d, 1, constant_values=jnp.inf)
            nb = jnp.minimum(jnp.minimum(padded[:-2, 1:-1], padded[2:, 1:-1]),
                             jnp.minimum(padded[1:-1, :-2], padded[1:-1, 2:]))
            # pits end the episode: a path may not pass through them
            nb = jnp.where(params.pits, inf, nb)
            d = jnp.minimum(d, nb + 1.0)
            return jnp.where(params.walls, inf, d)

        return jax.lax.fori_loop(0, self.n_states, relax, d0)
