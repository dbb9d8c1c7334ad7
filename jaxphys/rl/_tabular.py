"""Dynamic programming on a finite MDP: policy evaluation, value and Q-value iteration.

The MDP is a ``TabularMDPParams`` (``P[s, a, s']``, ``R[s, a, s']``, the
availability mask ``available[s, a]`` and the ``terminal[s]`` flags); a
``TabularMDP`` or ``GridWorld`` gives it with ``env.to_mdp(params)``. With
discount γ the Bellman optimality operator is

    Q(s, a) = Σ_s' P[s, a, s'] (R[s, a, s'] + γ (1 − terminal[s']) V(s')),
    V(s) = max_{a available in s} Q(s, a),

iterated to a fixed point (a γ-contraction) inside one ``lax.while_loop`` until
the largest change is below ``tol`` or ``max_iter`` sweeps. Unavailable actions
get Q = −∞ and are never chosen. ``policy_evaluation`` iterates the same
operator with the expectation over a given stochastic policy ``pi[s, a]``
instead of the max. Everything is jittable and vmappable over MDPs of one
shape and over γ (a traced array).

Example (the three-state MDP of Géron, *Hands-on Machine Learning*, ch. 18):
    >>> from jaxphys.rl.envs import three_state_mdp
    >>> mdp = three_state_mdp().to_mdp()
    >>> q_value_iteration(mdp, 0.90).policy.tolist()
    [0, 0, 1]
    >>> q_value_iteration(mdp, 0.95).policy.tolist()
    [0, 2, 1]
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import (
    as_array,
    as_int,
    check_finite,
    check_range,
    check_shape,
    is_concrete,
)
from jaxphys.rl.envs._tabular_mdp import TabularMDPParams

__all__ = ["PlanningResult", "PolicyEvaluationResult", "bellman_q", "policy_evaluation",
           "value_iteration", "q_value_iteration", "greedy_action", "uniform_policy"]


class PlanningResult(NamedTuple):
    """The optimal values of a finite MDP.

    Fields:
        values: (S,) float, V*(s) (0 at terminal states).
        q_values: (S, A) float, Q*(s, a); −∞ for unavailable actions.
        policy: (S,) int32, a greedy optimal action (lowest index among ties).
        n_iter: int32 scalar, Bellman sweeps performed.
        residual: float scalar, largest change in the last sweep (< tol if converged).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import PlanningResult, q_value_iteration
        >>> from jaxphys.rl.envs import three_state_mdp
        >>> res = q_value_iteration(three_state_mdp().to_mdp(), 0.90)
        >>> isinstance(res, PlanningResult), res.values.shape, res.q_values.shape
        (True, (3,), (3, 3))
        >>> bool(jnp.allclose(res.values, res.q_values.max(axis=1))), float(res.residual) < 1e-6
        (True, True)
    """

    values: jax.Array
    q_values: jax.Array
    policy: jax.Array
    n_iter: jax.Array
    residual: jax.Array


class PolicyEvaluationResult(NamedTuple):
    """Fields: values (S,) V^π; q_values (S, A) Q^π (−∞ where unavailable);
    n_iter int32 scalar; residual float scalar.

    Example:
        >>> from jaxphys.rl import PolicyEvaluationResult
        >>> PolicyEvaluationResult._fields      # what policy_evaluation returns
        ('values', 'q_values', 'n_iter', 'residual')
    """

    values: jax.Array
    q_values: jax.Array
    n_iter: jax.Array
    residual: jax.Array


def _check_mdp(mdp: Any) -> TabularMDPParams:
    if not isinstance(mdp, TabularMDPParams):
        raise TypeError(f"mdp: expected a TabularMDPParams (env.to_mdp(params)), got "
                        f"{type(mdp).__name__}")
    S, A = mdp.available.shape
    check_shape(mdp.transitions, "mdp.transitions", (S, A, S))
    check_shape(mdp.rewards, "mdp.rewards", (S, A, S))
    check_shape(mdp.terminal, "mdp.terminal", (S,))
    return mdp


def _check_gamma(gamma: Any) -> jax.Array:
    g = as_array(gamma, "gamma", ndim=0)
    if not jnp.issubdtype(g.dtype, jnp.floating):
        g = g.astype(jnp.float32)
    check_finite(g, "gamma")
    if is_concrete(g) and not 0.0 <= float(g) < 1.0:
        raise ValueError(f"gamma: expected a discount in [0, 1), got {float(g)}")
    return g


def bellman_q(mdp: TabularMDPParams, values: jax.Array, gamma: Any) -> jax.Array:
    """(S, A): ``Σ_s' P (R + γ (1 − terminal[s']) V(s'))``, −∞ where unavailable.

    From V = 0 one backup gives the expected immediate reward, e.g. Q(s0, a0) =
    0.7 × 10 in Géron's MDP (:func:`jaxphys.rl.envs.three_state_mdp`):

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import bellman_q
    >>> from jaxphys.rl.envs import three_state_mdp
    >>> q = bellman_q(three_state_mdp().to_mdp(), jnp.zeros(3), 0.9)
    >>> [[round(float(x), 4) for x in row] for row in q]
    [[7.0, 0.0, 0.0], [0.0, -inf, -50.0], [-inf, 32.0, -inf]]
    """
    check_range(gamma, "gamma", low=0.0, high=1.0)
    cont = jnp.where(mdp.terminal, 0.0, values)                              # (S,)
    target = mdp.rewards + gamma * cont[None, None, :]
    q = jnp.sum(mdp.transitions * target, axis=-1)
    return jnp.where(mdp.available, q, -jnp.inf)


def _max_available(q: jax.Array, mdp: TabularMDPParams) -> jax.Array:
    v = jnp.max(jnp.where(mdp.available, q, -jnp.inf), axis=-1)
    return jnp.where(mdp.terminal | ~jnp.any(mdp.available, -1), 0.0, v)


def greedy_action(q_values: jax.Array, available: jax.Array | None = None) -> jax.Array:
    """(S,) int32: the available action of largest Q in each state (lowest index on ties).

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import greedy_action
    >>> q = jnp.array([[1.0, 3.0, 2.0], [0.0, 0.0, -1.0]])
    >>> greedy_action(q).tolist()                     # a tie goes to the lower index
    [1, 0]
    >>> greedy_action(q, jnp.array([[True, False, True], [True, True, True]])).tolist()
    [2, 0]
    """
    q = q_values if available is None else jnp.where(available, q_values, -jnp.inf)
    return jnp.argmax(q, axis=-1).astype(jnp.int32)


def uniform_policy(mdp: TabularMDPParams) -> jax.Array:
    """(S, A): the uniformly random policy over the available actions.

    >>> from jaxphys.rl import uniform_policy
    >>> from jaxphys.rl.envs import three_state_mdp
    >>> pi = uniform_policy(three_state_mdp().to_mdp())    # s1 lacks a1; s2 has a1 only
    >>> [[round(float(p), 4) for p in row] for row in pi]
    [[0.3333, 0.3333, 0.3333], [0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]
    """
    a = mdp.available.astype(jnp.float32)
    return a / jnp.maximum(jnp.sum(a, -1, keepdims=True), 1.0)


@functools.partial(jax.jit, static_argnames=("kind", "max_iter"))
def _solve(kind, mdp, gamma, pi, tol, max_iter):
    """The jitted cores: ``kind`` in {"v", "q", "pi"}."""
    dtype = jnp.result_type(mdp.rewards.dtype, gamma.dtype)
    tol = jnp.asarray(tol, dtype)
    S = mdp.available.shape[0]
    avail = mdp.available
    if kind == "v":
        v, it, res = _iterate(lambda v: _max_available(bellman_q(mdp, v, gamma), mdp),
                              jnp.zeros(S, dtype), tol, max_iter)
        q = bellman_q(mdp, v, gamma)
        return v, q, it, res
    if kind == "q":
        def update(q_finite):                  # iterate on a finite copy (0 where unavailable)
            q = jnp.where(avail, q_finite, -jnp.inf)
            new = bellman_q(mdp, _max_available(q, mdp), gamma)
            return jnp.where(avail, new, 0.0)

        qf, it, res = _iterate(update, jnp.zeros(avail.shape, dtype), tol, max_iter)
        q = jnp.where(avail, qf, -jnp.inf)
        return _max_available(q, mdp), q, it, res
    pi = pi.astype(dtype)

    def update_pi(v):
        q = jnp.where(avail, bellman_q(mdp, v, gamma), 0.0)
        return jnp.where(mdp.terminal, 0.0, jnp.sum(pi * q, axis=-1))

    v, it, res = _iterate(update_pi, jnp.zeros(S, dtype), tol, max_iter)
    return v, bellman_q(mdp, v, gamma), it, res


def _iterate(update, init, tol, max_iter):
    def cond(carry):
        _, it, res = carry
        return jnp.logical_and(it < max_iter, res >= tol)

    def body(carry):
        x, it, _ = carry
        new = update(x)
        return new, it + 1, jnp.max(jnp.abs(new - x))

    inf = jnp.asarray(jnp.inf, init.dtype)
    return jax.lax.while_loop(cond, body, (init, jnp.asarray(0, jnp.int32), inf))


def value_iteration(mdp: TabularMDPParams, gamma: Any, *, tol: float = 1e-6,
                    max_iter: int = 10_000) -> PlanningResult:
    """Iterate ``V ← max_a Σ_s' P (R + γ V')`` from V = 0 (see the module docstring).

    Args:
        mdp: ``TabularMDPParams`` with S states and A actions.
        gamma: discount in [0, 1), scalar (may be traced, e.g. vmapped).
        tol: stop when ``max_s |V_new − V| < tol``.
        max_iter: most sweeps.

    One state and two actions that both stay there, paying 1 and 2: the optimal value
    is the geometric series V* = 2 / (1 − γ) = 20 at γ = 0.9, by action 1:

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import value_iteration
    >>> from jaxphys.rl.envs import make_mdp_params
    >>> mdp = make_mdp_params(jnp.ones((1, 2, 1)), jnp.array([[[1.0], [2.0]]]))
    >>> res = value_iteration(mdp, 0.9)
    >>> round(float(res.values[0]), 3), res.policy.tolist()
    (20.0, [1])
    """
    mdp = _check_mdp(mdp)
    gamma = _check_gamma(gamma)
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    v, q, it, res = _solve("v", mdp, gamma, None, tol, max_iter)
    return PlanningResult(v, q, greedy_action(q, mdp.available), it, res)


def q_value_iteration(mdp: TabularMDPParams, gamma: Any, *, tol: float = 1e-6,
                      max_iter: int = 10_000) -> PlanningResult:
    """Iterate ``Q ← Σ_s' P (R + γ max_a' Q(s', a'))`` on the Q table from Q = 0.

    The same fixed point as ``value_iteration`` reached on the (S, A) table (Q-value
    iteration); unavailable actions stay at −∞. Arguments as there.

    The MDP of :func:`value_iteration`'s example (rewards 1 and 2 for staying, V* = 20
    at γ = 0.9): Q*(a) = r_a + γ V*, i.e. 1 + 18 = 19 and 2 + 18 = 20:

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import q_value_iteration
    >>> from jaxphys.rl.envs import make_mdp_params
    >>> mdp = make_mdp_params(jnp.ones((1, 2, 1)), jnp.array([[[1.0], [2.0]]]))
    >>> res = q_value_iteration(mdp, 0.9)
    >>> [round(float(q), 3) for q in res.q_values[0]], res.policy.tolist()
    ([19.0, 20.0], [1])
    """
    mdp = _check_mdp(mdp)
    gamma = _check_gamma(gamma)
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    v, q, it, res = _solve("q", mdp, gamma, None, tol, max_iter)
    return PlanningResult(v, q, greedy_action(q, mdp.available), it, res)


def policy_evaluation(mdp: TabularMDPParams, policy: Any, gamma: Any, *, tol: float = 1e-6,
                      max_iter: int = 10_000) -> PolicyEvaluationResult:
    """V^π by iterating ``V ← Σ_a π(a|s) Σ_s' P (R + γ V')`` from V = 0.

    Args:
        policy: (S, A) probabilities ``π[s, a]`` (rows sum to 1, zero on unavailable
            actions), or (S,) int deterministic actions.
        gamma, tol, max_iter: as in ``value_iteration``.

    The MDP of :func:`value_iteration`'s example (rewards 1 and 2 for staying): the
    uniform policy earns 1.5 per step, V = 1.5 / (1 − γ) = 15 at γ = 0.9; always
    taking action 0 earns V = 1 / (1 − γ) = 10:

    >>> import jax.numpy as jnp
    >>> from jaxphys.rl import policy_evaluation, uniform_policy
    >>> from jaxphys.rl.envs import make_mdp_params
    >>> mdp = make_mdp_params(jnp.ones((1, 2, 1)), jnp.array([[[1.0], [2.0]]]))
    >>> round(float(policy_evaluation(mdp, uniform_policy(mdp), 0.9).values[0]), 3)
    15.0
    >>> round(float(policy_evaluation(mdp, jnp.array([0]), 0.9).values[0]), 3)
    10.0
    """
    mdp = _check_mdp(mdp)
    gamma = _check_gamma(gamma)
    max_iter = as_int(max_iter, "max_iter", minimum=1)
    S, A = mdp.available.shape
    pi = as_array(policy, "policy", ndim=(1, 2))
    if pi.ndim == 1:
        check_shape(pi, "policy", (S,))
        if is_concrete(pi) and (np.any(np.asarray(pi) < 0) or np.any(np.asarray(pi) >= A)):
            raise ValueError(f"policy: actions must lie in [0, {A - 1}], got {np.asarray(pi)}")
        pi = jax.nn.one_hot(pi.astype(jnp.int32), A, dtype=jnp.float32)
    check_shape(pi, "policy", (S, A))
    if is_concrete(pi) and is_concrete(mdp.available):
        p, av = np.asarray(pi, float), np.asarray(mdp.available)
        live = ~np.asarray(mdp.terminal)
        if np.any(p < 0) or np.any(np.abs(p.sum(-1) - 1.0)[live] > 1e-4):
            raise ValueError("policy: each row must be a probability vector over actions")
        if np.any((p > 0) & ~av):
            s, a = np.argwhere((p > 0) & ~av)[0]
            raise ValueError(f"policy: puts probability on unavailable action a={a} in s={s}")
    v, q, it, res = _solve("pi", mdp, gamma, pi, tol, max_iter)
    return PolicyEvaluationResult(v, q, it, res)
