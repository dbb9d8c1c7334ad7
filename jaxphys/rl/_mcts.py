"""Monte Carlo tree search (UCT) for deterministic environments, jittable.

The tree lives in fixed-size arrays of ``n_simulations + 1`` nodes (node 0 is
the root); every simulation

1. *selects* from the root, while the node is expanded in every action and not
   terminal, the child maximising the UCB1 score
   ``Q̄(s, a) + c √(ln N(s) / N(s, a))`` (Kocsis & Szepesvári 2006), where
   ``Q̄`` is the child's mean return min–max normalised over the tree so that
   ``c`` does not depend on the reward scale;
2. *expands* one untried action (chosen at random), stepping the environment
   from the stored parent state (``env.step_env``: no auto-reset; the
   environment must be deterministic given the state);
3. *evaluates* the new node by a rollout of ``rollout_depth`` steps (uniform
   random actions, or a given ``rollout_policy``; the discounted sum of rewards,
   stopping at termination), plus, if a
   ``value_fn(obs)`` is given, its estimate discounted at the rollout's end
   (``rollout_depth = 0`` with a ``value_fn`` is pure learned-value evaluation);
4. *backs up* ``G ← r + γ G`` along the parent pointers to the root.

The action played is the root's most visited child. ``mcts_search`` plans one
move; ``mcts_episode`` plays a whole episode with a fresh search at each step.
Both are pure functions (jit with ``env``, ``config`` and ``value_fn`` static).

Example:
    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl.envs import IsingChain
    >>> env = IsingChain(6)
    >>> params = env.default_params()
    >>> cfg = MCTSConfig(n_simulations=64)
    >>> ep = mcts_episode(jax.random.key(0), env, params, cfg, max_steps=12)
    >>> bool(ep.terminated)      # reached a ground state
    True
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from jaxphys._checks import as_int, check_key

__all__ = ["MCTSConfig", "MCTSTree", "MCTSSearch", "MCTSEpisode", "mcts_search", "mcts_episode"]


class MCTSConfig(NamedTuple):
    """Static search settings.

    Fields:
        n_simulations: simulations per move (the tree has n_simulations + 1 nodes).
        rollout_depth: random-rollout steps to evaluate a new leaf (0: value_fn only).
        gamma: discount of the search returns.
        c_uct: exploration constant on min–max normalised values.
        max_depth: bound on the selection depth (a safeguard for while loops).

    Example:
        >>> from jaxphys.rl import MCTSConfig
        >>> MCTSConfig()
        MCTSConfig(n_simulations=128, rollout_depth=16, gamma=1.0, c_uct=1.0, max_depth=64)
        >>> MCTSConfig(n_simulations=32, gamma=0.9).n_simulations + 1   # nodes in the tree
        33
    """

    n_simulations: int = 128
    rollout_depth: int = 16
    gamma: float = 1.0
    c_uct: float = 1.0
    max_depth: int = 64


class MCTSTree(NamedTuple):
    """The search tree, ``M = n_simulations + 1`` nodes, ``A`` actions.

    Fields:
        states: env state pytree, every leaf with leading axis M.
        obs: (M, *obs_shape) observation of each node.
        parent: (M,) int32, parent node (−1 for the root and unused nodes).
        children: (M, A) int32, child node of each action (−1 if not expanded).
        reward: (M,) float32, reward of the step from the parent into the node.
        terminal: (M,) bool, the step into the node terminated the episode.
        visits: (M,) int32, simulations through the node.
        value_sum: (M,) float32, summed returns ``r + γ G`` seen from the parent.
        n_nodes: int32 scalar, nodes in use.

    Example (``mcts_search(...).tree`` is one):
        >>> from jaxphys.rl import MCTSTree
        >>> MCTSTree._fields
        ('states', 'obs', 'parent', 'children', 'reward', 'terminal', 'visits', 'value_sum',
         'n_nodes')
    """

    states: Any
    obs: jax.Array
    parent: jax.Array
    children: jax.Array
    reward: jax.Array
    terminal: jax.Array
    visits: jax.Array
    value_sum: jax.Array
    n_nodes: jax.Array


class MCTSSearch(NamedTuple):
    """Result of one search.

    Fields:
        action: int32 scalar, the root's most visited action.
        visits: (A,) int32, root child visit counts (0 for unexpanded actions).
        q: (A,) float32, root child mean returns (−inf for unexpanded actions).
        tree: the full ``MCTSTree``.

    Example (what :func:`mcts_search` returns; its example runs one):
        >>> from jaxphys.rl import MCTSSearch
        >>> MCTSSearch._fields
        ('action', 'visits', 'q', 'tree')
    """

    action: jax.Array
    visits: jax.Array
    q: jax.Array
    tree: MCTSTree


class MCTSEpisode(NamedTuple):
    """An episode played by MCTS.

    Fields:
        actions: (max_steps,) int32, actions played (−1 after the end).
        rewards: (max_steps,) float32 (0 after the end).
        final_state: env state when the episode ended (or after max_steps).
        length: int32 scalar, steps played.
        terminated: bool scalar, the episode terminated (not truncated / cut).
        ret: float32 scalar, undiscounted return.

    Example (what :func:`mcts_episode` returns; its example plays one):
        >>> from jaxphys.rl import MCTSEpisode
        >>> MCTSEpisode._fields
        ('actions', 'rewards', 'final_state', 'length', 'terminated', 'ret')
    """

    actions: jax.Array
    rewards: jax.Array
    final_state: Any
    length: jax.Array
    terminated: jax.Array
    ret: jax.Array


def mcts_search(key: jax.Array, env: Any, params: Any, state: Any, obs: jax.Array,
                config: MCTSConfig = MCTSConfig(),
                value_fn: Callable[[jax.Array], jax.Array] | None = None,
                rollout_policy: Callable[[jax.Array, jax.Array], jax.Array] | None = None
                ) -> MCTSSearch:
    """Plan one move from ``state`` (with observation ``obs``) by UCT (module docstring).

    ``rollout_policy(key, obs) -> action`` drives the rollouts (default: uniform
    random actions); ``value_fn(obs) -> scalar`` estimates the return after them.

    An open ferromagnetic chain of 4 spins (E_min = −3) with one broken bond at its end:
    flipping spin 3 reaches the ground state in one flip, a return of
    (E_0 − E_min)/scale − 1 = (−1 + 3)/2 − 1 = 0 (the reward of
    :class:`~jaxphys.rl.envs.IsingChain`), and every simulation passes through one
    child of the root:

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import MCTSConfig, mcts_search
    >>> from jaxphys.rl.envs import IsingChain, IsingChainState
    >>> env = IsingChain(4)
    >>> params = env.default_params()
    >>> spins = jnp.array([1.0, 1.0, 1.0, -1.0])                     # E_0 = −1
    >>> state = IsingChainState(spins, time=jnp.int32(0), e_min=jnp.float32(-3.0))
    >>> cfg = MCTSConfig(n_simulations=16)        # leaves valued by 16 random flips
    >>> res = mcts_search(jax.random.key(0), env, params, state, spins, cfg)
    >>> int(res.action), float(res.q[3]), int(res.visits.sum())
    (3, 0.0, 16)
    """
    n_sims = as_int(config.n_simulations, "n_simulations", minimum=1)
    depth = as_int(config.rollout_depth, "rollout_depth", minimum=0)
    if depth == 0 and value_fn is None:
        raise ValueError("rollout_depth: 0 needs a value_fn to evaluate leaves")
    n_actions = int(env.action_space(params).n)
    m = n_sims + 1
    gamma = jnp.float32(config.gamma)
    # every step_env call gets its own key, folded in from this one (simulation i, depth t):
    # a deterministic environment ignores it, one that draws from it never sees a key twice
    key, step_key = jax.random.split(key)

    def stack(x):
        return jnp.zeros((m,) + jnp.shape(x), jnp.asarray(x).dtype).at[0].set(x)

    tree = MCTSTree(states=jax.tree.map(stack, state), obs=stack(obs),
                    parent=jnp.full((m,), -1, jnp.int32),
                    children=jnp.full((m, n_actions), -1, jnp.int32),
                    reward=jnp.zeros((m,), jnp.float32), terminal=jnp.zeros((m,), bool),
                    visits=jnp.zeros((m,), jnp.int32), value_sum=jnp.zeros((m,), jnp.float32),
                    n_nodes=jnp.asarray(1, jnp.int32))

    def node_q(tree):
        return tree.value_sum / jnp.maximum(tree.visits, 1)

    def select(tree):
        q_all = node_q(tree)
        used = jnp.arange(m) < tree.n_nodes
        used = used.at[0].set(False)
        q_min = jnp.min(jnp.where(used, q_all, jnp.inf))
        q_max = jnp.max(jnp.where(used, q_all, -jnp.inf))
        span = jnp.where(q_max > q_min, q_max - q_min, 1.0)
        q_min = jnp.where(jnp.isfinite(q_min), q_min, 0.0)

        def cond(c):
            node, d = c
            full = jnp.all(tree.children[node] >= 0)
            return full & jnp.logical_not(tree.terminal[node]) & (d < config.max_depth)

        def body(c):
            node, d = c
            kids = tree.children[node]
            n_kid = tree.visits[kids].astype(jnp.float32)
            q = (q_all[kids] - q_min) / span
            ucb = q + config.c_uct * jnp.sqrt(jnp.log(jnp.maximum(tree.visits[node], 1))
                                              / jnp.maximum(n_kid, 1.0))
            ucb = jnp.where(n_kid == 0, jnp.inf, ucb)
            return kids[jnp.argmax(ucb)], d + 1

        node, _ = jax.lax.while_loop(cond, body, (jnp.asarray(0, jnp.int32), 0))
        return node

    def rollout(rollout_key, env_key, leaf_state, leaf_obs):
        def body(c, t):
            s, o, g, disc, done, k = c
            k, act_key = jax.random.split(k)
            if rollout_policy is None:
                a = jax.random.randint(act_key, (), 0, n_actions, dtype=jnp.int32)
            else:
                a = jnp.clip(rollout_policy(act_key, o), 0, n_actions - 1).astype(jnp.int32)
            o2, s2, r, term, _, _ = env.step_env(jax.random.fold_in(env_key, t + 1), s, a,
                                                 params)
            g = g + jnp.where(done, 0.0, disc * r)
            disc = jnp.where(done, disc, disc * gamma)
            done = done | term
            return (s2, o2, g, disc, done, k), None
        init = (leaf_state, leaf_obs, jnp.float32(0.0), jnp.float32(1.0), jnp.asarray(False),
                rollout_key)
        if depth > 0:
            (_, o, g, disc, done, _), _ = jax.lax.scan(body, init, jnp.arange(depth))
        else:
            _, o, g, disc, done, _ = init
        if value_fn is not None:
            g = g + jnp.where(done, 0.0, disc * value_fn(o))
        return g

    def simulate(c, i):
        tree, sim_key = c
        env_key = jax.random.fold_in(step_key, i)
        sim_key, pick_key, rollout_key = jax.random.split(sim_key, 3)
        node = select(tree)
        can_expand = jnp.logical_not(tree.terminal[node]) & jnp.any(tree.children[node] < 0)
        untried = tree.children[node] < 0
        a = jnp.argmax(jnp.where(untried, jax.random.uniform(pick_key, (n_actions,)), -1.0))
        parent_state = jax.tree.map(lambda x: x[node], tree.states)
        o2, s2, r, term, _, _ = env.step_env(jax.random.fold_in(env_key, 0), parent_state,
                                             a.astype(jnp.int32), params)
        new = tree.n_nodes
        leaf_value = jnp.where(term, 0.0, rollout(rollout_key, env_key, s2, o2))

        def put(arr, val):
            return arr.at[new].set(jnp.where(can_expand, val, arr[new]))

        tree = tree._replace(
            states=jax.tree.map(put, tree.states, s2), obs=put(tree.obs, o2),
            parent=put(tree.parent, node),
            children=tree.children.at[node, a].set(jnp.where(can_expand, new,
                                                             tree.children[node, a])),
            reward=put(tree.reward, jnp.asarray(r, jnp.float32)), terminal=put(tree.terminal, term),
            n_nodes=tree.n_nodes + can_expand.astype(jnp.int32))
        leaf = jnp.where(can_expand, new, node)
        g0 = jnp.where(can_expand, leaf_value, 0.0)

        def up_cond(c):
            cur, _, _ = c
            return cur >= 0

        def up_body(c):
            cur, g, t = c
            g = t.reward[cur] + gamma * g
            t = t._replace(visits=t.visits.at[cur].add(1), value_sum=t.value_sum.at[cur].add(g))
            return t.parent[cur], g, t

        # the leaf's own value_sum gets r_leaf + γ·(leaf value)
        _, _, tree = jax.lax.while_loop(up_cond, up_body, (leaf, g0, tree))
        return (tree, sim_key), None

    (tree, _), _ = jax.lax.scan(simulate, (tree, key), jnp.arange(n_sims))
    kids = tree.children[0]
    expanded = kids >= 0
    visits = jnp.where(expanded, tree.visits[kids], 0)
    q = jnp.where(expanded, node_q(tree)[kids], -jnp.inf)
    # most visited; ties broken by the higher mean return
    score = visits.astype(jnp.float32) + 1e-3 * jax.nn.sigmoid(jnp.where(expanded, q, -1e9))
    action = jnp.argmax(jnp.where(expanded, score, -1.0)).astype(jnp.int32)
    return MCTSSearch(action=action, visits=visits, q=q, tree=tree)


def mcts_episode(key: jax.Array, env: Any, params: Any, config: MCTSConfig = MCTSConfig(), *,
                 max_steps: int = 100, value_fn: Callable | None = None,
                 rollout_policy: Callable | None = None,
                 initial: tuple[jax.Array, Any] | None = None) -> MCTSEpisode:
    """Play one episode: reset (or start from ``initial = (obs, state)``), then search and
    play until termination, the environment's truncation or ``max_steps`` moves.

    An open chain of 4 spins started with a domain wall in the middle: two flips (both
    spins on one side) reach a ground state, E = −3, for a return of
    (E_0 − E_min)/scale − 2 = (−1 + 3)/2 − 2 = −1; the unused steps hold action −1:

    >>> import jax, jax.numpy as jnp
    >>> from jaxphys.rl import MCTSConfig, mcts_episode
    >>> from jaxphys.rl.envs import IsingChain, IsingChainState
    >>> env = IsingChain(4)
    >>> params = env.default_params()
    >>> spins = jnp.array([1.0, 1.0, -1.0, -1.0])                    # E_0 = −1
    >>> state = IsingChainState(spins, time=jnp.int32(0), e_min=jnp.float32(-3.0))
    >>> ep = mcts_episode(jax.random.key(0), env, params, MCTSConfig(n_simulations=32),
    ...                   max_steps=4, initial=(spins, state))
    >>> int(ep.length), bool(ep.terminated), float(ep.ret), ep.actions.tolist()[2:]
    (2, True, -1.0, [-1, -1])
    >>> float(env.energy(ep.final_state.spins, params))
    -3.0
    """
    check_key(key)
    max_steps = as_int(max_steps, "max_steps", minimum=1)
    reset_key, run_key = jax.random.split(key)
    obs, state = env.reset_env(reset_key, params) if initial is None else initial

    def body(c, _):
        obs, state, done, term_any, k = c
        k, search_key, step_key = jax.random.split(k, 3)
        res = mcts_search(search_key, env, params, state, obs, config, value_fn, rollout_policy)
        o2, s2, r, term, trunc, _ = env.step_env(step_key, state, res.action, params)
        alive = jnp.logical_not(done)
        obs = jnp.where(alive, o2, obs)
        state = jax.tree.map(lambda new, old: jnp.where(alive, new, old), s2, state)
        out = (jnp.where(alive, res.action, -1), jnp.where(alive, r, 0.0).astype(jnp.float32))
        term_any = term_any | (alive & term)
        done = done | term | trunc
        return (obs, state, done, term_any, k), out

    init = (obs, state, jnp.asarray(False), jnp.asarray(False), run_key)
    (obs, state, _, terminated, _), (actions, rewards) = jax.lax.scan(body, init, None,
                                                                       length=max_steps)
    length = jnp.sum(actions >= 0).astype(jnp.int32)
    return MCTSEpisode(actions=actions, rewards=rewards, final_state=state, length=length,
                       terminated=terminated, ret=jnp.sum(rewards))
