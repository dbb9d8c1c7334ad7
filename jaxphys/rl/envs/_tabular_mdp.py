"""A finite MDP given by explicit transition and reward tensors.

``P[s, a, s']`` is the probability of landing in ``s'`` after action ``a`` in
state ``s`` and ``R[s, a, s']`` the reward of that transition. ``available[s, a]``
marks the actions allowed in each state (textbook MDPs such as Géron's leave
some out); an unavailable action is a no-op in the environment (the agent stays,
reward 0; ``info["invalid_action"]`` is true) and is excluded by the planners
and learners of ``jaxphys.rl`` (Q = −∞ there). Entering a state with
``terminal[s']`` ends the episode; episodes are truncated after
``max_steps`` steps. Observations are the state index (int32 scalar).

Example (the three-state MDP of Géron, *Hands-on ML*, ch. 18):
    >>> import jax
    >>> env = three_state_mdp()
    >>> env.n_states, env.n_actions
    (3, 3)
    >>> env.default_params().available.astype(int).tolist()
    [[1, 1, 1], [1, 0, 1], [0, 1, 0]]
    >>> obs, state = env.reset(jax.random.key(0))
    >>> int(obs)
    0
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_shape, is_concrete
from jaxphys.rl.envs._base import Discrete, Environment

__all__ = ["TabularMDPParams", "TabularMDPState", "TabularMDP", "make_mdp_params",
           "three_state_mdp"]


class TabularMDPParams(NamedTuple):
    """A finite MDP as arrays (all vmappable; ``S`` states, ``A`` actions).

    Fields:
        transitions: (S, A, S) float32, ``P[s, a, s']``; rows of available actions sum to 1,
            rows of unavailable actions are the self-loop ``s → s``.
        rewards: (S, A, S) float32, ``R[s, a, s']`` (0 on unavailable rows).
        available: (S, A) bool, allowed actions.
        initial: (S,) float32, initial-state distribution (sums to 1).
        terminal: (S,) bool, absorbing states that end an episode when entered.
        max_steps: int32 scalar, truncation length of an episode.

    Example (Géron's MDP: action a0 is not available in s2, so its row is the self-loop):
        >>> from jaxphys.rl.envs import three_state_mdp
        >>> params = three_state_mdp().default_params()
        >>> params.transitions.shape, params.rewards.shape, params.available.shape
        ((3, 3, 3), (3, 3, 3), (3, 3))
        >>> params.transitions[2, 0].tolist(), float(params.rewards[2, 1, 0])
        ([0.0, 0.0, 1.0], 40.0)
        >>> params.initial.tolist(), params.terminal.tolist(), int(params.max_steps)
        ([1.0, 0.0, 0.0], [False, False, False], 1000)
    """

    transitions: jax.Array
    rewards: jax.Array
    available: jax.Array
    initial: jax.Array
    terminal: jax.Array
    max_steps: jax.Array


class TabularMDPState(NamedTuple):
    """Fields: s: int32 scalar, current state; t: int32 scalar, steps taken in the episode.

    Example (in Géron's MDP, s1 allows a0 and a2 only):
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl.envs import TabularMDPState, three_state_mdp
        >>> env = three_state_mdp()
        >>> state = TabularMDPState(s=jnp.int32(1), t=jnp.int32(0))
        >>> env.action_mask(state.s, env.default_params()).tolist(), int(state.t)
        ([True, False, True], 0)
    """

    s: jax.Array
    t: jax.Array


def make_mdp_params(transitions: Any, rewards: Any, *, available: Any = None,
                    initial: Any = None, terminal: Any = None, max_steps: int = 100
                    ) -> TabularMDPParams:
    """Check and canonicalise an MDP given as arrays.

    ``available`` defaults to the rows of ``transitions`` that are not all zero;
    ``initial`` to state 0; ``terminal`` to no terminal state. Raises a
    ``ValueError`` naming the argument for wrong shapes, negative or non-finite
    probabilities, rows of available actions that do not sum to 1, or a
    non-terminal state without any available action.

    Example (three states; the all-zero rows are the unavailable actions):
        >>> import numpy as np
        >>> from jaxphys.rl.envs import make_mdp_params
        >>> P = np.zeros((3, 3, 3))                 # P[s, a, s']
        >>> P[:, 0] = np.eye(3)                     # a0: stay, in every state
        >>> P[0, 1] = [0.0, 0.5, 0.5]               # a1 in s0: a coin toss between s1 and s2
        >>> params = make_mdp_params(P, np.zeros((3, 3, 3)))
        >>> params.available.astype(int).tolist()
        [[1, 1, 0], [1, 0, 0], [1, 0, 0]]
        >>> params.transitions[1, 1].tolist(), params.initial.tolist()   # self-loop; start s0
        ([0.0, 1.0, 0.0], [1.0, 0.0, 0.0])
        >>> P[0, 1] = [0.0, 0.5, 0.4]
        >>> make_mdp_params(P, np.zeros((3, 3, 3)))
        Traceback (most recent call last):
        ...
        ValueError: transitions: the row of available action (s=0, a=1) must sum to 1, got 0.9
    """
    P = as_array(transitions, "transitions", ndim=3, dtype=jnp.float32)
    S, A = P.shape[0], P.shape[1]
    check_shape(P, "transitions", (S, A, S))
    R = as_array(rewards, "rewards", ndim=3, dtype=jnp.float32)
    check_shape(R, "rewards", (S, A, S))
    check_finite(P, "transitions")
    check_finite(R, "rewards")
    if available is None:
        if not is_concrete(P):
            raise ValueError("available: required when transitions are traced")
        available = np.asarray(P).sum(-1) > 0
    avail = as_array(available, "available", ndim=2).astype(bool)
    check_shape(avail, "available", (S, A))
    if initial is None:
        initial = jnp.zeros(S, jnp.float32).at[0].set(1.0)
    init = as_array(initial, "initial", ndim=1, dtype=jnp.float32)
    check_shape(init, "initial", (S,))
    term = (jnp.zeros(S, bool) if terminal is None
            else as_array(terminal, "terminal", ndim=1).astype(bool))
    check_shape(term, "terminal", (S,))
    max_steps = as_int(max_steps, "max_steps", minimum=1)
    if all(is_concrete(x) for x in (P, avail, init, term)):
        p, av = np.asarray(P), np.asarray(avail)
        if np.any(p < 0):
            raise ValueError(f"transitions: probabilities must be >= 0, got minimum {p.min()!r}")
        sums = p.sum(-1)
        bad = av & (np.abs(sums - 1.0) > 1e-4)
        if np.any(bad):
            s, a = np.argwhere(bad)[0]
            raise ValueError(f"transitions: the row of available action (s={s}, a={a}) must "
                             f"sum to 1, got {sums[s, a]:.6g}")
        dead = ~av.any(-1) & ~np.asarray(term)
        if np.any(dead):
            raise ValueError(f"available: non-terminal state {int(np.argmax(dead))} has no "
                             "available action")
        i = np.asarray(init)
        if np.any(i < 0) or abs(i.sum() - 1.0) > 1e-4:
            raise ValueError(f"initial: expected a probability vector, got sum {i.sum():.6g}")
    eye = jnp.eye(S, dtype=jnp.float32)[:, None, :]                        # (S, 1, S)
    P = jnp.where(avail[:, :, None], P, eye)
    R = jnp.where(avail[:, :, None], R, 0.0)
    return TabularMDPParams(P, R, avail, init, term, jnp.asarray(max_steps, jnp.int32))


class TabularMDP(Environment):
    """An environment stepping a finite MDP (see the module docstring).

    Args:
        transitions, rewards, available, initial, terminal, max_steps: as in
            ``make_mdp_params``; they become ``default_params()``. Other params of
            the same shapes (a vmapped batch, say) may be passed to ``reset``/``step``.

    Example (a walk on three sites: a0 left, a1 stay, a2 right; entering the terminal site
    s2 pays 1):
        >>> import jax
        >>> import numpy as np
        >>> from jaxphys.rl.envs import TabularMDP
        >>> P, R = np.zeros((3, 3, 3)), np.zeros((3, 3, 3))
        >>> for s in (0, 1):
        ...     for a, s_next in enumerate((max(s - 1, 0), s, s + 1)):
        ...         P[s, a, s_next] = 1.0
        >>> R[1, 2, 2] = 1.0
        >>> env = TabularMDP(P, R, terminal=[False, False, True])
        >>> env.n_states, env.n_actions
        (3, 3)
        >>> params = env.default_params()
        >>> params.transitions[0, 0].tolist(), params.available[2].tolist()  # s2 needs none
        ([1.0, 0.0, 0.0], [False, False, False])
        >>> obs, state = env.reset(jax.random.key(0), params)   # the default start: s0
        >>> int(obs), int(state.t)
        (0, 0)
    """

    def __init__(self, transitions: Any, rewards: Any, *, available: Any = None,
                 initial: Any = None, terminal: Any = None, max_steps: int = 100) -> None:
        self._params = make_mdp_params(transitions, rewards, available=available,
                                       initial=initial, terminal=terminal, max_steps=max_steps)
        self.n_states = int(self._params.transitions.shape[0])
        self.n_actions = int(self._params.transitions.shape[1])

    def default_params(self) -> TabularMDPParams:
        return self._params

    def observation_space(self, params: Any) -> Discrete:
        return Discrete(self.n_states)

    def action_space(self, params: Any) -> Discrete:
        return Discrete(self.n_actions)

    def reset_env(self, key: jax.Array, params: TabularMDPParams
                  ) -> tuple[jax.Array, TabularMDPState]:
        s = jax.random.categorical(key, jnp.log(params.initial)).astype(jnp.int32)
        return s, TabularMDPState(s, jnp.asarray(0, jnp.int32))

    def step_env(self, key: jax.Array, state: TabularMDPState, action: jax.Array,
                 params: TabularMDPParams):
        p = params.transitions[state.s, action]
        s_next = jax.random.categorical(key, jnp.log(p)).astype(jnp.int32)
        reward = params.rewards[state.s, action, s_next]
        t = state.t + 1
        terminated = params.terminal[s_next]
        truncated = jnp.logical_and(t >= params.max_steps, jnp.logical_not(terminated))
        info = {"invalid_action": jnp.logical_not(params.available[state.s, action])}
        return s_next, TabularMDPState(s_next, t), reward, terminated, truncated, info

    def action_mask(self, obs: jax.Array, params: TabularMDPParams) -> jax.Array:
        """(A,) bool: the actions available in state ``obs``."""
        return params.available[obs]

    def to_mdp(self, params: TabularMDPParams | None = None) -> TabularMDPParams:
        """The MDP arrays for the planners (``value_iteration`` ...): ``params`` itself."""
        return self.default_params() if params is None else params


def three_state_mdp(max_steps: int = 1000) -> TabularMDP:
    """The three-state MDP of Géron, *Hands-on Machine Learning*, ch. 18.

    From s0: a0 → [0.7, 0.3, 0], a1 → [1, 0, 0], a2 → [0.8, 0.2, 0]; from s1:
    a0 → [0, 1, 0], a2 → [0, 0, 1] (a1 unavailable); from s2: a1 → [0.8, 0.1, 0.1]
    (a0, a2 unavailable). Rewards +10 for s0-a0-s0, −50 for s1-a2-s2, +40 for
    s2-a1-s0, else 0. Starts in s0, never terminates (truncated at ``max_steps``).

    Example:
        >>> from jaxphys.rl.envs import three_state_mdp
        >>> env = three_state_mdp(max_steps=50)
        >>> params = env.default_params()
        >>> [round(p, 4) for p in params.transitions[0, 0].tolist()]
        [0.7, 0.3, 0.0]
        >>> float(params.rewards[0, 0, 0]), float(params.rewards[1, 2, 2]), int(params.max_steps)
        (10.0, -50.0, 50)
    """
    P = np.zeros((3, 3, 3), np.float32)
    P[0, 0] = [0.7, 0.3, 0.0]
    P[0, 1] = [1.0, 0.0, 0.0]
    P[0, 2] = [0.8, 0.2, 0.0]
    P[1, 0] = [0.0, 1.0, 0.0]
    P[1, 2] = [0.0, 0.0, 1.0]
    P[2, 1] = [0.8, 0.1, 0.1]
    R = np.zeros((3, 3, 3), np.float32)
    R[0, 0, 0] = 10.0
    R[1, 2, 2] = -50.0
    R[2, 1, 0] = 40.0
    return TabularMDP(P, R, max_steps=max_steps)
