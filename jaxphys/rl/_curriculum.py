"""Sparse rewards and a goal-distance curriculum for tabular Q-learning.

The sparse task (``sparse_maze``): a grid-world maze whose only reward is +1 on
reaching the goal (no step cost, no shaping), with the episodes starting far
from the goal and truncated after ``max_steps`` steps. A plain ε-greedy
Q-learner starts with Q ≡ 0: until it stumbles on the goal its greedy policy is
a random walk, which needs of order (distance)² steps in a corridor, far more
than an episode allows, so it almost never sees a reward and learns nothing
within its budget.

The curriculum (``make_curriculum_train``) trains the same learner, with the
same number of environment steps, on a sequence of start distributions of
growing goal distance: stage k starts uniformly on the free cells at most
``distances[k]`` moves from the goal (``GridWorld.goal_distances``), the last
stage on the task's own start distribution. Near the goal a random walk finds
the reward, and the values learned there guide the agent across the next,
longer stage. The learner advances when the exponential moving average of its
training-episode success (weight ``ema_rate`` per finished episode) reaches
``advance_at``. Only the start distribution, an array in ``GridWorldParams``,
changes, so the whole curriculum runs in one ``lax.scan`` and vmaps over seeds.

Evaluation (both agents): the greedy policy on the task's own start
distribution every ``config.eval_every`` steps; ``success_rate(result)`` is the
fraction of evaluation episodes that reach the goal.

Example:
    >>> import jax
    >>> env = sparse_maze()
    >>> d = env.goal_distances()
    >>> int(d[env.default_params().start > 0].min())        # every start is far away
    23
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
from jaxphys._checks import as_int, check_key, is_concrete
from jaxphys.rl._evaluate import evaluate
from jaxphys.rl._tabular_learning import (QLearningConfig, _check_q_config, _final_q, _mask_fn,
                                          _q_step, greedy_policy)
from jaxphys.rl.envs._gridworld import GridWorld

__all__ = ["SPARSE_MAZE", "sparse_maze", "CurriculumResult", "curriculum_starts",
           "plain_starts", "make_curriculum_train"]

# A serpentine maze: the start region (S) lies at the far end of the corridor.
SPARSE_MAZE = (
    "SS.#.....",
    "SS.#.###.",
    "...#.#...",
    ".###.#.##",
    ".....#..G",
)


def sparse_maze(*, slip: float = 0.0, max_steps: int = 60) -> GridWorld:
    """The sparse-reward maze: +1 at the goal only (``step_reward = 0``, no pits)."""
    return GridWorld(SPARSE_MAZE, slip=slip, step_reward=0.0, goal_reward=1.0,
                     pit_reward=0.0, max_steps=max_steps)


class CurriculumResult(NamedTuple):
    """A curriculum run: the ``QLearningResult`` fields plus the stage trace.

    Fields:
        q_values, visits, step_rewards, step_dones, eval_steps, eval_returns: as in
            ``QLearningResult`` (evaluation always on the task's start distribution).
        stages: (n_steps,) int32, the curriculum stage at every training step
            (``len(distances)`` is the task itself).
    """

    q_values: jax.Array
    visits: jax.Array
    step_rewards: jax.Array
    step_dones: jax.Array
    eval_steps: jax.Array
    eval_returns: jax.Array
    stages: jax.Array


def curriculum_starts(env: GridWorld, env_params: Any, distances: Sequence[int]) -> jax.Array:
    """(K + 1, H, W) float32 start weights: stage k uniform on the free, non-terminal
    cells with 1 ≤ goal distance ≤ ``distances[k]``; the last stage is
    ``env_params.start``."""
    d = env.goal_distances(env_params)
    free = ~(env_params.walls | env_params.goal | env_params.pits)
    stages = [jnp.where(free & (d >= 1) & (d <= float(k)), 1.0, 0.0) for k in distances]
    stages.append(jnp.asarray(env_params.start, jnp.float32))
    return jnp.stack(stages)


def plain_starts(env_params: Any, n_stages: int) -> jax.Array:
    """(n_stages, H, W): every stage starts on the task's own start distribution (no
    curriculum), for ``train(key, starts)`` of ``make_curriculum_train``."""
    start = jnp.asarray(env_params.start, jnp.float32)
    return jnp.broadcast_to(start[None], (n_stages,) + start.shape)


def make_curriculum_train(env: GridWorld, env_params: Any, config: QLearningConfig, *,
                          distances: Sequence[int] = (2, 4, 8, 12, 16, 20, 24),
                          advance_at: float = 0.8, ema_rate: float = 0.1
                          ) -> Callable[..., CurriculumResult]:
    """Build ``train(key, starts=None) -> CurriculumResult``: Q-learning over a curriculum.

    ``starts`` (K + 1, H, W) overrides the stage start weights of
    ``curriculum_starts(env, env_params, distances)`` (a traced argument: the
    plain agent is the same function with every stage equal to the task's start,
    ``plain_starts``, so both agents vmap through one compilation).

    Args:
        env: a ``GridWorld`` (its goal reward should be the only positive reward).
        env_params: the task's params (``None``: defaults); its ``start`` is the last stage.
        config: the ``QLearningConfig`` of the learner (``n_steps`` is the whole budget,
            shared by all stages).
        distances: increasing positive ints, the largest goal distance of each stage.
        advance_at: success moving average (in (0, 1]) that moves to the next stage.
        ema_rate: weight in (0, 1] of each finished episode in the moving average.
    """
    if not isinstance(env, GridWorld):
        raise ValueError(f"env: the curriculum needs a GridWorld, got {type(env).__name__}")
    params = env.default_params() if env_params is None else env_params
    params = env.check_params(params)
    parts = _check_q_config(env, params, config)
    dists = [as_int(k, "distances", minimum=1) for k in distances]
    if len(dists) == 0 or any(b <= a for a, b in zip(dists, dists[1:])):
        raise ValueError(f"distances: expected a non-empty increasing sequence, got "
                         f"{list(distances)}")
    for name, v in (("advance_at", advance_at), ("ema_rate", ema_rate)):
        if is_concrete(v) and not 0.0 < float(v) <= 1.0:
            raise ValueError(f"{name}: expected a value in (0, 1], got {v}")
    default_starts = curriculum_starts(env, params, dists)
    last = len(dists)
    mask = _mask_fn(env, params)
    eval_every = config.eval_every or config.n_steps

    def train(key: jax.Array, starts: jax.Array | None = None) -> CurriculumResult:
        check_key(key)
        if starts is None:
            starts = default_starts
        if tuple(jnp.shape(starts)) != tuple(default_starts.shape):
            raise ValueError(f"starts: expected shape {tuple(default_starts.shape)}, got "
                             f"{tuple(jnp.shape(starts))}")
        reset_key, run_key = jax.random.split(key)
        stage0 = params._replace(start=starts[0])
        obs, env_state = env.reset(reset_key, stage0)
        q = jnp.full((parts.n_states, parts.n_actions), parts.q0, jnp.float32)
        n = jnp.zeros((parts.n_states, parts.n_actions), jnp.int32)

        def step(carry, _):
            q, n, obs, env_state, t, stage, ema, key = carry
            key, sub = jax.random.split(key)
            p_stage = params._replace(start=starts[stage])
            q, n, obs, env_state, reward, done, terminated = _q_step(
                env, p_stage, mask, config, parts, sub, q, n, obs, env_state, t)
            success = jnp.logical_and(terminated, reward > 0).astype(jnp.float32)
            ema = jnp.where(done, (1.0 - ema_rate) * ema + ema_rate * success, ema)
            advance = jnp.logical_and(ema >= advance_at, stage < last)
            stage_new = jnp.where(advance, stage + 1, stage)
            ema = jnp.where(advance, 0.0, ema)
            return (q, n, obs, env_state, t + 1, stage_new, ema, key), (reward, done, stage)

        def chunk(carry, _):
            carry, (rewards, dones, stages) = jax.lax.scan(step, carry, None,
                                                           length=eval_every)
            q, key = carry[0], carry[-1]
            if not config.eval_every:
                return carry, (rewards, dones, stages, jnp.zeros((0,), jnp.float32))
            key, eval_key = jax.random.split(key)
            res = evaluate(eval_key, env, params, greedy_policy(env, params, q),
                           n_episodes=config.eval_episodes, max_steps=config.eval_max_steps)
            return carry[:-1] + (key,), (rewards, dones, stages, res.returns)

        init = (q, n, obs, env_state, jnp.asarray(0, jnp.int32), jnp.asarray(0, jnp.int32),
                jnp.asarray(0.0, jnp.float32), run_key)
        carry, (rewards, dones, stages, returns) = jax.lax.scan(
            chunk, init, None, length=config.n_steps // eval_every)
        eval_steps = jnp.arange(1, parts.n_evals + 1, dtype=jnp.int32) * eval_every
        eval_returns = returns.reshape(parts.n_evals, config.eval_episodes if parts.n_evals
                                       else 0)
        return CurriculumResult(_final_q(env, params, carry[0]), carry[1], rewards.reshape(-1),
                                dones.reshape(-1), eval_steps, eval_returns,
                                stages.reshape(-1))

    return train
