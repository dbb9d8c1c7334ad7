r"""The one rollout and the one episode bookkeeping, shared by every agent.

* :class:`RunnerState`: ``n_envs`` environments between rollouts, with the return and
  length of their running episodes.
* :func:`rollout` runs ``n_steps`` steps of the vmapped environments (auto-reset) under
  an ``act(key, obs) -> ActOutput`` in one ``lax.scan`` and returns a
  :class:`Trajectory` with leading axes ``(n_steps, n_envs)``. Every agent collects
  its experience with it: the on-policy agents (REINFORCE, A2C, PPO, TRPO), the
  replay agents (DQN, SAC) and the tabular learners.
* :func:`episode_metrics`: the mean return of the episodes that ended in a rollout
  (NaN if none did), how many ended, and their mean length: the learning-curve entries
  of every agent; :func:`forward_fill` carries the last finished episode's return over
  updates in which none ended.
* :func:`transitions`: a rollout as a flat batch of :class:`Transition` for the replay
  buffer. Its ``next_obs`` is the observation the action led to (``info['final_obs']``,
  before any auto-reset) and its ``terminated`` flag is the true termination only, so a
  target :math:`r + \gamma (1 - \mathrm{terminated}) V(s')` bootstraps at a truncation
  (Pardo, Tavakoli, Levdik & Kormushev 2018, *Time limits in reinforcement learning*).

Example:
    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl.envs import CartPole
    >>> env = CartPole()
    >>> runner = init_runner(jax.random.key(0), env, env.default_params(), n_envs=3)
    >>> def act(key, obs):   # always push right
    ...     return ActOutput(jnp.ones(obs.shape[0], jnp.int32))
    >>> runner, traj = rollout(jax.random.key(1), env, env.default_params(), act, runner, 5)
    >>> traj.reward.shape, transitions(traj).obs.shape
    ((5, 3), (15, 4))
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int

__all__ = ["RunnerState", "Trajectory", "Transition", "ActOutput", "init_runner", "rollout",
           "episode_metrics", "forward_fill", "transitions"]


class RunnerState(NamedTuple):
    """Vectorised environments between rollouts (leading axis ``n_envs``).

    Fields:
        obs: (n_envs, *obs_shape) current observations.
        env_state: batched environment state.
        episode_return: (n_envs,) float32, undiscounted return of the running episodes.
        episode_length: (n_envs,) int32, steps of the running episodes.

    Example:
        >>> import jax
        >>> from jaxphys.rl import RunnerState, init_runner
        >>> from jaxphys.rl.envs import CartPole
        >>> env = CartPole()
        >>> runner = init_runner(jax.random.key(0), env, env.default_params(), n_envs=3)
        >>> isinstance(runner, RunnerState), runner.obs.shape       # 3 × (x, ẋ, θ, θ̇)
        (True, (3, 4))
        >>> runner.episode_return.tolist(), runner.episode_length.tolist()   # fresh episodes
        ([0.0, 0.0, 0.0], [0, 0, 0])
    """

    obs: jax.Array
    env_state: Any
    episode_return: jax.Array
    episode_length: jax.Array


class ActOutput(NamedTuple):
    """What an agent's ``act(key, obs)`` returns for a batch of observations.

    Fields:
        action: (n_envs, *action_shape) actions (the environment clips traced actions).
        log_prob: (n_envs,) float32, log π(a|s) under the acting policy (0 if unused).
        value: (n_envs,) float32, the critic's V(s) (0 if unused).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import ActOutput
        >>> out = ActOutput(action=jnp.array([0, 1]))   # a policy without log π or V
        >>> out.action.tolist(), out.log_prob is None, out.value is None
        ([0, 1], True, True)
    """

    action: jax.Array
    log_prob: Any = None
    value: Any = None


class Trajectory(NamedTuple):
    """A rollout, leading axes ``(T, N) = (n_steps, n_envs)``.

    Fields:
        obs: (T, N, *obs_shape) observations the actions were taken in.
        action: (T, N, *action_shape) actions (as the agent chose them).
        log_prob: (T, N) float32, log π(a|s) under the acting policy.
        value: (T, N) float32, V(s) under the acting critic.
        reward: (T, N) float32 rewards.
        terminated: (T, N) bool, the transition ended the episode in a terminal state.
        truncated: (T, N) bool, the episode was cut (time limit) without terminating.
        final_obs: (T, N, *obs_shape) the observation each action led to (before auto-reset).
        finished_return: (T, N) float32, return of the episode that ended here (0 elsewhere).
        finished_length: (T, N) int32, length of the episode that ended here (0 elsewhere).

    Example (built by hand; :func:`rollout` returns one):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import Trajectory
        >>> z = jnp.zeros((3, 1))                        # T = 3 steps, N = 1 environment
        >>> traj = Trajectory(**{field: z for field in Trajectory._fields})._replace(
        ...     terminated=jnp.array([[False], [True], [False]]),
        ...     truncated=jnp.array([[False], [False], [True]]))
        >>> traj.done[:, 0].tolist()            # the next observation starts a new episode
        [False, True, True]
    """

    obs: jax.Array
    action: jax.Array
    log_prob: jax.Array
    value: jax.Array
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    final_obs: jax.Array
    finished_return: jax.Array
    finished_length: jax.Array

    @property
    def done(self) -> jax.Array:
        """(T, N) bool, terminated or truncated: the next observation starts a new episode."""
        return self.terminated | self.truncated


class Transition(NamedTuple):
    """One transition ``(s, a, r, s', terminated)``, as the replay buffer stores it.

    Fields:
        obs: (*obs_shape,) the observation the action was taken in.
        action: (*action_shape,) the action.
        reward: float32 scalar.
        next_obs: (*obs_shape,) the observation the action led to (before any auto-reset).
        terminated: bool scalar, true termination (a truncation is False: bootstrap there).

    Example (the one-step target r + γ (1 − terminated) V(s'), with V(s') = 5, γ = 0.9):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import Transition
        >>> t = Transition(obs=jnp.zeros(2), action=jnp.int32(1), reward=jnp.float32(1.0),
        ...                next_obs=jnp.ones(2), terminated=jnp.asarray(True))
        >>> def target(t, v_next=5.0, gamma=0.9):
        ...     return round(float(t.reward + gamma * jnp.where(t.terminated, 0.0, v_next)), 4)
        >>> target(t), target(t._replace(terminated=jnp.asarray(False)))   # 1, 1 + 0.9 × 5
        (1.0, 5.5)
    """

    obs: jax.Array
    action: jax.Array
    reward: jax.Array
    next_obs: jax.Array
    terminated: jax.Array


def init_runner(key: jax.Array, env: Any, env_params: Any, n_envs: int) -> RunnerState:
    """Reset ``n_envs`` environments (one key each).

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import init_runner
    >>> from jaxphys.rl.envs import CartPole
    >>> env = CartPole()
    >>> runner = init_runner(jax.random.key(0), env, env.default_params(), n_envs=3)
    >>> runner.obs.shape, bool(jnp.all(jnp.abs(runner.obs) <= 0.05))   # gymnasium's reset
    ((3, 4), True)
    """
    n_envs = as_int(n_envs, "n_envs", minimum=1)
    obs, state = jax.vmap(env.reset_env, in_axes=(0, None))(jax.random.split(key, n_envs),
                                                            env_params)
    return RunnerState(obs, state, jnp.zeros(n_envs, jnp.float32), jnp.zeros(n_envs, jnp.int32))


def rollout(key: jax.Array, env: Any, env_params: Any, act: Callable[[jax.Array, jax.Array],
            ActOutput], runner: RunnerState, n_steps: int) -> tuple[RunnerState, Trajectory]:
    """``n_steps`` steps of the vmapped environments under ``act``.

    ``act(key, obs) -> ActOutput`` acts on the batch ``obs`` (n_envs, ...); fields it
    leaves ``None`` are stored as zeros. Returns the runner after the rollout and the
    :class:`Trajectory`.

    Three CartPoles pushed right for 5 steps: CartPole pays +1 per step and no pole falls
    that soon, so every episode is still running, 5 steps long:

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import ActOutput, init_runner, rollout
    >>> from jaxphys.rl.envs import CartPole
    >>> env = CartPole()
    >>> params = env.default_params()
    >>> runner = init_runner(jax.random.key(0), env, params, n_envs=3)
    >>> def push_right(key, obs):
    ...     return ActOutput(jnp.ones(obs.shape[0], jnp.int32))
    >>> runner, traj = rollout(jax.random.key(1), env, params, push_right, runner, n_steps=5)
    >>> traj.obs.shape, float(traj.reward.sum()), bool(traj.done.any())   # (T, N, 4)
    ((5, 3, 4), 15.0, False)
    >>> runner.episode_return.tolist(), runner.episode_length.tolist()
    ([5.0, 5.0, 5.0], [5, 5, 5])
    """
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    n_envs = runner.episode_return.shape[0]
    step = jax.vmap(env.step, in_axes=(0, 0, 0, None))
    zeros = jnp.zeros(n_envs, jnp.float32)

    def body(carry, key_t):
        key_act, key_env = jax.random.split(key_t)
        out = act(key_act, carry.obs)
        obs, env_state, reward, terminated, truncated, info = step(
            jax.random.split(key_env, n_envs), carry.env_state, out.action, env_params)
        done = terminated | truncated
        episode_return = carry.episode_return + reward
        episode_length = carry.episode_length + 1
        log_prob = zeros if out.log_prob is None else out.log_prob
        value = zeros if out.value is None else out.value
        record = Trajectory(carry.obs, out.action, log_prob, value, reward, terminated,
                            truncated & ~terminated, info["final_obs"],
                            jnp.where(done, episode_return, 0.0),
                            jnp.where(done, episode_length, 0))
        carry = RunnerState(obs, env_state, jnp.where(done, 0.0, episode_return),
                            jnp.where(done, 0, episode_length))
        return carry, record

    return jax.lax.scan(body, runner, jax.random.split(key, n_steps))


def episode_metrics(traj: Trajectory) -> dict:
    """The episodes that ended in ``traj``: ``episode_return`` (float32 mean, NaN if none
    ended), ``n_episodes`` (int32) and ``episode_length`` (float32 mean, NaN if none).

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import Trajectory, episode_metrics
    >>> z = jnp.zeros((4, 1))                            # T = 4 steps, N = 1 environment
    >>> traj = Trajectory(**{field: z for field in Trajectory._fields})._replace(
    ...     terminated=jnp.array([[False], [True], [False], [True]]),   # two episodes end
    ...     truncated=jnp.zeros((4, 1), bool),
    ...     finished_return=jnp.array([[0.0], [10.0], [0.0], [20.0]]),
    ...     finished_length=jnp.array([[0], [2], [0], [2]]))
    >>> m = episode_metrics(traj)
    >>> float(m["episode_return"]), int(m["n_episodes"]), float(m["episode_length"])
    (15.0, 2, 2.0)
    """
    done = traj.done
    n = jnp.sum(done.astype(jnp.int32))
    denominator = jnp.maximum(n, 1).astype(jnp.float32)
    mean_return = jnp.sum(traj.finished_return) / denominator
    mean_length = jnp.sum(traj.finished_length).astype(jnp.float32) / denominator
    return {"episode_return": jnp.where(n > 0, mean_return, jnp.nan),
            "n_episodes": n,
            "episode_length": jnp.where(n > 0, mean_length, jnp.nan)}


def forward_fill(x: jax.Array) -> jax.Array:
    """Replace NaNs along the last axis by the last finite value before them (NaN before
    any). Leading axes (seeds, settings) are kept apart.

    >>> forward_fill(jnp.array([jnp.nan, 1.0, jnp.nan, 3.0])).tolist()
    [nan, 1.0, 1.0, 3.0]
    """
    x = jnp.asarray(x)
    moved = jnp.moveaxis(x, -1, 0)

    def body(last, v):
        v = jnp.where(jnp.isnan(v), last, v)
        return v, v

    filled = jax.lax.scan(body, jnp.full_like(moved[0], jnp.nan), moved)[1]
    return jnp.moveaxis(filled, 0, -1)


def transitions(traj: Trajectory) -> Transition:
    """The rollout as ``T × N`` transitions in time-major order (leading axis ``T N``).

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import Trajectory, transitions
    >>> z = jnp.zeros((2, 3))                           # T = 2 steps, N = 3 environments
    >>> traj = Trajectory(**{field: z for field in Trajectory._fields})._replace(
    ...     obs=jnp.zeros((2, 3, 4)), final_obs=jnp.ones((2, 3, 4)),
    ...     reward=jnp.array([[0.0, 1.0, 2.0], [10.0, 11.0, 12.0]]))   # 10 t + n
    >>> batch = transitions(traj)
    >>> batch.obs.shape, batch.reward.tolist()    # step 0 of every environment, then step 1
    ((6, 4), [0.0, 1.0, 2.0, 10.0, 11.0, 12.0])
    >>> float(batch.next_obs.min())               # next_obs is the final_obs of the step
    1.0
    """
    def flat(x):
        return x.reshape((-1,) + x.shape[2:])

    return Transition(flat(traj.obs), flat(traj.action), flat(traj.reward),
                      flat(traj.final_obs), flat(traj.terminated))
