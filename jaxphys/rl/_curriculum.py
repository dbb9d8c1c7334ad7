"""Sparse rewards and a goal-distance curriculum for tabular Q-learning.

The sparse task (``sparse_maze``): a grid-world maze whose only reward is +1 on
reaching the goal (no step cost, no shaping), with the episodes starting far from the
goal and truncated after ``max_steps`` steps. A plain ε-greedy Q-learner starts with
Q ≡ 0: until it stumbles on the goal its greedy policy is a random walk, which needs of
order (distance)² steps in a corridor, far more than an episode allows, so it almost
never sees a reward and learns nothing within its budget.

The curriculum agent (``make_curriculum``, after Florensa et al. 2017, *Reverse
curriculum generation for reinforcement learning*) trains the same learner, with the
same number of environment steps, on a sequence of start distributions of growing goal
distance: stage k starts uniformly on the free cells at most ``distances[k]`` moves from
the goal (``GridWorld.goal_distances``), the last stage on the task's own start
distribution. Near the goal a random walk finds the reward, and the values learned there
guide the agent across the next, longer stage. The learner advances when the
exponential moving average of its training-episode success (weight ``ema_rate`` per
finished episode) reaches ``advance_at``. The stage start weights are a hyperparameter
array (``hparams.starts``): the plain agent is the same agent with every stage equal to
the task's start (``plain_starts``), so both vmap through one compilation.

Evaluation (both agents): the greedy policy on the task's own start distribution every
``config.eval_every`` steps (metric ``eval_success``, the fraction of evaluation
episodes that reach the goal; :func:`jaxphys.rl.evaluations` picks the evaluation steps).

Example:
    >>> import jax
    >>> env = sparse_maze()
    >>> d = env.goal_distances()
    >>> int(d[env.default_params().start > 0].min())        # every start is far away
    23
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int
from jaxphys.rl._agent import Agent, HyperparamSpec, build_agent, check_config_type
from jaxphys.rl._rollout import RunnerState, episode_metrics, init_runner, rollout
from jaxphys.rl._tabular_learning import (Q_SPECS, action_mask_fn, check_discrete,
                                          check_no_network, check_q_config, evaluation_metrics,
                                          greedy_policy, initial_table, q_learner)
from jaxphys.rl.envs._gridworld import GridWorld

__all__ = ["SPARSE_MAZE", "sparse_maze", "CurriculumConfig", "CurriculumHyperparams",
           "CurriculumState", "curriculum_starts", "plain_starts", "make_curriculum"]

# A serpentine maze: the start region (S) lies at the far end of the corridor.
SPARSE_MAZE = (
    "SS.#.....",
    "SS.#.###.",
    "...#.#...",
    ".###.#.##",
    ".....#..G",
)


def sparse_maze(*, slip: float = 0.0, max_steps: int = 60) -> GridWorld:
    """The sparse-reward maze: +1 at the goal only (``step_reward = 0``, no pits).

    Example:
        >>> from jaxphys.rl import sparse_maze
        >>> env = sparse_maze()
        >>> p = env.default_params()
        >>> float(p.step_reward), float(p.goal_reward), int(p.max_steps)
        (0.0, 1.0, 60)
        >>> p.walls.shape, int(p.start.sum())                 # 5 × 9 maze, the 4 S cells
        ((5, 9), 4)
    """
    return GridWorld(SPARSE_MAZE, slip=slip, step_reward=0.0, goal_reward=1.0,
                     pit_reward=0.0, max_steps=max_steps)


@dataclasses.dataclass(frozen=True)
class CurriculumConfig:
    """Static settings of the curriculum learner: those of
    :class:`~jaxphys.rl.QLearningConfig` (``n_steps`` is the whole budget, shared by all
    stages) and ``distances``, increasing positive ints, the largest goal distance of
    each stage (the task itself is one stage more).

    Example:
        >>> from jaxphys.rl import CurriculumConfig
        >>> cfg = CurriculumConfig()
        >>> cfg.distances, len(cfg.distances) + 1             # stages, the task included
        ((2, 4, 8, 12, 16, 20, 24), 8)
        >>> cfg.n_steps                                       # shared by all the stages
        10000
    """

    n_steps: int = 10_000
    exploration: str = "epsilon_greedy"
    lr_schedule: str = "constant"
    eval_every: int = 0
    eval_episodes: int = 16
    eval_max_steps: int = 200
    distances: Sequence[int] = (2, 4, 8, 12, 16, 20, 24)


class CurriculumHyperparams(NamedTuple):
    """The Q-learning hyperparameters (:class:`~jaxphys.rl.QLearningHyperparams`) and
    advance_at (success average that moves to the next stage, (0, 1]), ema_rate (weight
    of each finished episode in the average, (0, 1]), starts ((K + 1, H, W) float32 start
    weights of the stages, ≥ 0; :func:`curriculum_starts` or :func:`plain_starts`).

    Example:
        >>> from jaxphys.rl import CurriculumHyperparams
        >>> hp = CurriculumHyperparams()
        >>> hp.advance_at, hp.ema_rate, hp.epsilon
        (0.8, 0.1, 0.1)
        >>> hp.starts is None           # make_curriculum fills in curriculum_starts(...)
        True
    """

    learning_rate: Any = 0.1
    gamma: Any = 0.99
    lr_decay: Any = 0.0
    lr_power: Any = 1.0
    epsilon: Any = 0.1
    kappa: Any = 1.0
    initial_q: Any = 0.0
    advance_at: Any = 0.8
    ema_rate: Any = 0.1
    starts: Any = None


class CurriculumState(NamedTuple):
    """The state of the curriculum learner.

    Fields:
        step: int32 scalar, environment steps done.
        table: (S, A) float32 Q-values. visits: (S, A) int32 update counts.
        runner: one environment. stage: int32 scalar, the current stage
            (``len(distances)`` is the task). success_average: float32 scalar, the moving
            average of the current stage's episode success. hparams.

    ``agent.init(key)`` of :func:`~jaxphys.rl.make_curriculum` returns one, at stage 0.

    Example:
        >>> from jaxphys.rl import CurriculumState
        >>> CurriculumState._fields
        ('step', 'table', 'visits', 'runner', 'stage', 'success_average', 'hparams')
    """

    step: jax.Array
    table: jax.Array
    visits: jax.Array
    runner: RunnerState
    stage: jax.Array
    success_average: jax.Array
    hparams: Any

    @property
    def params(self) -> jax.Array:
        """The Q table (what ``agent.policy`` acts on)."""
        return self.table

    @property
    def q_values(self) -> jax.Array:
        """Alias of ``table``."""
        return self.table


def curriculum_starts(env: GridWorld, env_params: Any, distances: Sequence[int]) -> jax.Array:
    """(K + 1, H, W) float32 start weights: stage k uniform on the free, non-terminal cells
    with 1 ≤ goal distance ≤ ``distances[k]``; the last stage is ``env_params.start``.

    Example:
        >>> from jaxphys.rl import curriculum_starts
        >>> from jaxphys.rl.envs import GridWorld
        >>> env = GridWorld(["S...G"])                        # a corridor, goal 4 moves away
        >>> starts = curriculum_starts(env, env.default_params(), (1, 2))
        >>> starts.astype(int).tolist()   # within 1, within 2 moves of G, then the task's S
        [[[0, 0, 0, 1, 0]], [[0, 0, 1, 1, 0]], [[1, 0, 0, 0, 0]]]
    """
    d = env.goal_distances(env_params)
    free = ~(env_params.walls | env_params.goal | env_params.pits)
    stages = [jnp.where(free & (d >= 1) & (d <= float(k)), 1.0, 0.0) for k in distances]
    stages.append(jnp.asarray(env_params.start, jnp.float32))
    return jnp.stack(stages)


def plain_starts(env_params: Any, n_stages: int) -> jax.Array:
    """(n_stages, H, W): every stage starts on the task's own start distribution (no
    curriculum), for ``hparams.starts``.

    Example:
        >>> from jaxphys.rl import plain_starts
        >>> from jaxphys.rl.envs import GridWorld
        >>> starts = plain_starts(GridWorld(["S...G"]).default_params(), 3)
        >>> starts.astype(int).tolist()                       # always the task's S
        [[[1, 0, 0, 0, 0]], [[1, 0, 0, 0, 0]], [[1, 0, 0, 0, 0]]]
    """
    n_stages = as_int(n_stages, "n_stages", minimum=1)
    start = jnp.asarray(env_params.start, jnp.float32)
    return jnp.broadcast_to(start[None], (n_stages,) + start.shape)


def make_curriculum(env: GridWorld, env_params: Any = None,
                    config: CurriculumConfig = CurriculumConfig(), *,
                    network: Any = None) -> Agent:
    """Build the curriculum Q-learning :class:`~jaxphys.rl.Agent` (module docstring).

    ``env`` must be a ``GridWorld`` (its goal reward the only positive reward);
    ``env_params.start`` is the last stage; the default ``hparams.starts`` is
    ``curriculum_starts(env, env_params, config.distances)``.

    Example:
        >>> from jaxphys.rl import CurriculumConfig, make_curriculum, plain_starts, sparse_maze
        >>> env = sparse_maze()
        >>> agent = make_curriculum(env, None, CurriculumConfig(n_steps=1000, distances=(2, 4)))
        >>> agent.name, agent.n_updates                       # one update per env step
        ('curriculum', 1000)
        >>> # start cells per stage: G's corridor within 2 and 4 moves, then the 4 S cells
        >>> agent.default_hparams.starts.sum(axis=(1, 2)).tolist()
        [2.0, 4.0, 4.0]
        >>> plain = agent.default_hparams._replace(starts=plain_starts(env.default_params(), 3))
        >>> plain.starts.shape                                # the no-curriculum baseline
        (3, 5, 9)
    """
    if not isinstance(env, GridWorld):
        raise ValueError(f"env: the curriculum needs a GridWorld, got {type(env).__name__}")
    config = check_config_type(config, CurriculumConfig)
    check_no_network(network, "the curriculum learner")
    check_q_config(config)
    params = env.check_params(env.default_params() if env_params is None else env_params)
    n_states, n_actions = check_discrete(env, params)
    distances = [as_int(k, "config.distances", minimum=1) for k in config.distances]
    if not distances or any(b <= a for a, b in zip(distances, distances[1:])):
        raise ValueError(f"config.distances: expected a non-empty increasing sequence, got "
                         f"{list(config.distances)}")
    default_starts = curriculum_starts(env, params, distances)
    last = len(distances)
    mask = action_mask_fn(env, params)
    act_fn, learn_fn = q_learner(env, config, mask)
    specs = dict(Q_SPECS, advance_at=HyperparamSpec(0.0, 1.0, low_open=True),
                 ema_rate=HyperparamSpec(0.0, 1.0, low_open=True),
                 starts=HyperparamSpec(0.0, None, shape=tuple(default_starts.shape)))

    def stage_params(starts, stage):
        return params._replace(start=starts[stage])

    def init(key, hp):
        return CurriculumState(jnp.zeros((), jnp.int32),
                               initial_table(mask, n_states, n_actions, hp.initial_q),
                               jnp.zeros((n_states, n_actions), jnp.int32),
                               init_runner(key, env, stage_params(hp.starts, 0), 1),
                               jnp.zeros((), jnp.int32), jnp.zeros((), jnp.float32), hp)

    def step(state, batch, key):
        key_rollout, key_eval = jax.random.split(key)
        hp = state.hparams
        runner, traj = rollout(key_rollout, env, stage_params(hp.starts, state.stage),
                               act_fn(state.table, state.visits, hp), state.runner, 1)
        q, visits = learn_fn(state.table, state.visits, state.step, hp, traj)
        done, reward = traj.done[0, 0], traj.reward[0, 0]
        success = (traj.terminated[0, 0] & (reward > 0)).astype(jnp.float32)
        average = jnp.where(done, (1.0 - hp.ema_rate) * state.success_average
                            + hp.ema_rate * success, state.success_average)
        advance = (average >= hp.advance_at) & (state.stage < last)
        metrics = {"reward": reward, "done": done, "stage": state.stage,
                   **episode_metrics(traj), "env_steps": state.step + 1,
                   **evaluation_metrics(env, params, config, q, state.step + 1, key_eval)}
        return CurriculumState(state.step + 1, q, visits, runner,
                               jnp.where(advance, state.stage + 1, state.stage),
                               jnp.where(advance, 0.0, average), hp), metrics

    def policy(q, deterministic):
        if not deterministic:
            raise ValueError("deterministic: the curriculum learner's policy is greedy")
        return greedy_policy(env, params, q)

    defaults = CurriculumHyperparams(starts=default_starts)
    return build_agent("curriculum", config, CurriculumHyperparams, defaults, specs,
                       CurriculumState, init, step, config.n_steps, policy, None)
