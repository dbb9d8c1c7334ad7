"""Tabular RL: TabularMDP, GridWorld, dynamic programming, TD(0), Q-learning."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

from jaxphys.rl._tabular import (policy_evaluation, q_value_iteration, uniform_policy,
                                 value_iteration)
from jaxphys.rl import QLearningConfig, TD0Config, make_q_learning, make_td0
from jaxphys.rl.envs._gridworld import GridWorld
from jaxphys.rl.envs._tabular_mdp import TabularMDP, make_mdp_params, three_state_mdp

# the lecture notes' MDP, written out independently of three_state_mdp()
P_NOTES = {(0, 0): [0.7, 0.3, 0], (0, 1): [1, 0, 0], (0, 2): [0.8, 0.2, 0],
           (1, 0): [0, 1, 0], (1, 2): [0, 0, 1], (2, 1): [0.8, 0.1, 0.1]}
R_NOTES = {(0, 0, 0): 10.0, (1, 2, 2): -50.0, (2, 1, 0): 40.0}


def _brute_force_q(gamma):
    """Q* by enumerating the deterministic policies and solving (I − γ P_π) V = r_π."""
    actions = [[a for (s2, a) in P_NOTES if s2 == s] for s in range(3)]
    P = np.zeros((3, 3, 3))
    R = np.zeros((3, 3, 3))
    for (s, a), row in P_NOTES.items():
        P[s, a] = row
    for (s, a, s2), r in R_NOTES.items():
        R[s, a, s2] = r
    r_sa = (P * R).sum(-1)
    best = None
    for pol in itertools.product(*actions):
        P_pi = np.array([P[s, pol[s]] for s in range(3)])
        r_pi = np.array([r_sa[s, pol[s]] for s in range(3)])
        v = np.linalg.solve(np.eye(3) - gamma * P_pi, r_pi)
        if best is None or np.all(v >= best - 1e-9):
            best = v
    q = r_sa + gamma * P @ best
    for s in range(3):
        for a in range(3):
            if (s, a) not in P_NOTES:
                q[s, a] = -np.inf
    return q


@pytest.mark.parametrize("gamma, expected", [(0.90, [0, 0, 1]), (0.95, [0, 2, 1])])
def test_q_value_iteration_three_state_mdp(gamma, expected):
    mdp = three_state_mdp().to_mdp()
    ref = _brute_force_q(gamma)
    for solver in (q_value_iteration, value_iteration):
        res = solver(mdp, gamma, tol=1e-6)
        assert res.policy.tolist() == expected
        fin = np.isfinite(ref)
        np.testing.assert_array_equal(np.isfinite(np.asarray(res.q_values)), fin)
        np.testing.assert_allclose(np.asarray(res.q_values)[fin], ref[fin], rtol=1e-5, atol=1e-3)
        assert np.argmax(ref, -1).tolist() == expected


def test_policy_evaluation_matches_linear_solve(x64):
    mdp = three_state_mdp().to_mdp()
    pi = np.asarray(uniform_policy(mdp), float)
    P, R = np.asarray(mdp.transitions, float), np.asarray(mdp.rewards, float)
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sat,sat->s", pi, P, R)
    v = np.linalg.solve(np.eye(3) - 0.9 * P_pi, r_pi)
    res = policy_evaluation(mdp, pi, jnp.asarray(0.9), tol=1e-10)
    np.testing.assert_allclose(np.asarray(res.values), v, rtol=1e-7)
    det = policy_evaluation(mdp, jnp.asarray([0, 0, 1]), 0.9, tol=1e-10)
    np.testing.assert_allclose(np.asarray(det.values), np.nanmax(_brute_force_q(0.9), -1),
                               rtol=1e-6, atol=1e-12)


def test_value_iteration_vmaps_over_gamma():
    mdp = three_state_mdp().to_mdp()
    pols = jax.vmap(lambda g: q_value_iteration(mdp, g).policy)(jnp.asarray([0.9, 0.95]))
    assert pols.tolist() == [[0, 0, 1], [0, 2, 1]]


def _grid_adjacency(layout):
    h, w = len(layout), len(layout[0])
    adj = np.zeros((h * w, h * w))
    for r, c in itertools.product(range(h), range(w)):
        if layout[r][c] in "#GP":
            continue                       # no moves out of walls or terminal cells
        for dr, dc in ((-1, 0), (0, 1), (1, 0), (0, -1)):
            r2, c2 = r + dr, c + dc
            if 0 <= r2 < h and 0 <= c2 < w and layout[r2][c2] != "#":
                adj[r * w + c, r2 * w + c2] = 1
    return adj


def test_gridworld_values_match_shortest_paths():
    layout = ["S...#", ".##.#", "....G", ".#P.."]
    env = GridWorld(layout, step_reward=0.0, goal_reward=1.0, pit_reward=-1.0)
    gamma = 0.9
    res = value_iteration(env.to_mdp(), gamma, tol=1e-7)
    dist = shortest_path(_grid_adjacency(layout), unweighted=True)[:, 2 * 5 + 4]
    v = np.asarray(res.values)
    for s, d in enumerate(dist):
        r, c = divmod(s, 5)
        if layout[r][c] in "#GP":
            assert v[s] == 0.0
        else:
            np.testing.assert_allclose(v[s], gamma ** (d - 1), rtol=1e-5)
    got = np.asarray(env.goal_distances()).ravel()
    free = np.array([ch not in "#P" for ch in "".join(layout)])
    np.testing.assert_array_equal(got[free], dist[free])


def test_gridworld_sampling_matches_to_mdp():
    env = GridWorld(["S..", ".#.", "P.G"], slip=0.3)
    params = env.default_params()
    mdp = env.to_mdp(params)
    _, state = env.reset(jax.random.key(0), params)
    step = jax.jit(jax.vmap(lambda k, a: env.step_env(k, state, a, params)[0], (0, None)))
    for action, seed in ((1, 1), (2, 2)):
        obs = step(jax.random.split(jax.random.key(seed), 4000), jnp.asarray(action))
        freq = np.bincount(np.asarray(obs), minlength=9) / 4000
        np.testing.assert_allclose(freq, np.asarray(mdp.transitions[0, action]), atol=0.03)


def test_gridworld_episode_and_params_vmap():
    env = GridWorld(["S.G"], step_reward=-0.1, max_steps=5)
    params = env.default_params()
    obs, state = env.reset(jax.random.key(0), params)
    obs, state, r, term, trunc, info = env.step(jax.random.key(1), state, 1, params)
    assert int(obs) == 1 and float(r) == pytest.approx(-0.1) and not bool(term)
    obs, state, r, term, trunc, info = env.step(jax.random.key(2), state, 1, params)
    assert bool(term) and float(r) == 1.0 and int(info["final_obs"]) == 2 and int(obs) == 0
    # batch over slip probabilities: a vmapped params pytree
    slips = jnp.asarray([0.0, 1.0])
    batch = jax.vmap(lambda s: params._replace(slip=s))(slips)
    p = jax.vmap(lambda p: env.to_mdp(p).transitions[0, 1])(batch)
    np.testing.assert_allclose(np.asarray(p), [[0, 1, 0], [0.75, 0.25, 0]], atol=1e-6)
    with pytest.raises(ValueError, match="action"):
        env.step(jax.random.key(3), state, 4, params)


def test_tabular_mdp_sampling_and_unavailable_actions():
    env = three_state_mdp()
    params = env.default_params()
    _, state = env.reset(jax.random.key(0), params)
    keys = jax.random.split(jax.random.key(1), 4000)
    nxt = jax.jit(jax.vmap(lambda k: env.step_env(k, state, jnp.asarray(0), params)[0]))(keys)
    np.testing.assert_allclose(np.bincount(np.asarray(nxt), minlength=3) / 4000, [0.7, 0.3, 0],
                               atol=0.03)
    s2 = state._replace(s=jnp.asarray(2))
    obs, st, r, term, trunc, info = env.step_env(jax.random.key(2), s2, jnp.asarray(0), params)
    assert int(obs) == 2 and float(r) == 0.0 and bool(info["invalid_action"])


def test_bad_inputs():
    P = np.zeros((2, 2, 2))
    P[:, :, 0] = 1.0
    R = np.zeros((2, 2, 2))
    with pytest.raises(ValueError, match="transitions"):
        make_mdp_params(P * 0.5, R, available=np.ones((2, 2)))
    with pytest.raises(ValueError, match="rewards"):
        make_mdp_params(P, R[:, :, :1])
    with pytest.raises(ValueError, match="available"):
        make_mdp_params(P, R, available=np.array([[1, 1], [0, 0]]))
    with pytest.raises(ValueError, match="transitions"):
        TabularMDP(-P, R, available=np.ones((2, 2)))
    mdp = three_state_mdp().to_mdp()
    with pytest.raises(ValueError, match="gamma"):
        value_iteration(mdp, 1.0)
    with pytest.raises(ValueError, match="policy"):
        policy_evaluation(mdp, np.full((3, 3), 1 / 3), 0.9)     # unavailable actions
    with pytest.raises(TypeError, match="mdp"):
        q_value_iteration(np.zeros((3, 3, 3)), 0.9)
    with pytest.raises(ValueError, match="layout"):
        GridWorld(["S..", "..."])                                # no goal
    with pytest.raises(ValueError, match="layout"):
        GridWorld(["S.G", ".."])
    with pytest.raises(ValueError, match="slip"):
        GridWorld(["SG"], slip=1.5)
    env = three_state_mdp()
    with pytest.raises(ValueError, match="config.exploration"):
        make_q_learning(env, None, QLearningConfig(exploration="softmax"))
    agent = make_q_learning(env, None, QLearningConfig())
    with pytest.raises(ValueError, match="hparams.learning_rate"):
        agent.train(jax.random.key(0), agent.default_hparams._replace(learning_rate=-0.1))
    with pytest.raises(ValueError, match="hparams.epsilon"):
        agent.train(jax.random.key(0), agent.default_hparams._replace(epsilon=2.0))
    with pytest.raises(ValueError, match=r"hparams.gamma: expected values in \[0.0, 1.0\]"):
        agent.train(jax.random.key(0), agent.default_hparams._replace(gamma=1.5))
    with pytest.raises(ValueError, match="config.eval_every"):
        make_q_learning(env, None, QLearningConfig(n_steps=100, eval_every=300))
    with pytest.raises(ValueError, match="config.policy"):
        make_td0(env, None, TD0Config(policy=np.ones((3, 2)) / 2))
    with pytest.raises(ValueError, match="network"):
        make_q_learning(env, None, QLearningConfig(), network=object())
    with pytest.raises(ValueError, match="env"):
        make_q_learning(GridWorldAsBox(), None, QLearningConfig())


# --------------------------------------------------------------------------- learning
class GridWorldAsBox(GridWorld):     # a non-tabular observation space
    def __init__(self):
        super().__init__(["SG"])

    def observation_space(self, params):
        from jaxphys.rl.envs import Box
        return Box(0.0, 1.0, (1,))


def _q_error(q, q_ref):
    fin = np.isfinite(q_ref)
    assert np.array_equal(np.isfinite(q), fin)
    return float(np.max(np.abs(q[fin] - q_ref[fin])))


def _q_agent(n_steps, env=None):
    """Uniform behaviour, per-pair learning rate N^-0.7 (the lecture notes' setting)."""
    env = three_state_mdp(max_steps=100) if env is None else env
    agent = make_q_learning(env, None, QLearningConfig(n_steps=n_steps, lr_schedule="visits"))
    return agent, agent.default_hparams._replace(epsilon=1.0, learning_rate=1.0, lr_decay=1.0,
                                                 lr_power=0.7)


@pytest.mark.no_key_reuse_check
def test_q_learning_converges_three_state():
    """The agent's learning floor: Q-learning → Q* (brute force) at γ = 0.9."""
    agent, hp = _q_agent(40_000)
    q = np.asarray(agent.train(jax.random.key(0), hp._replace(gamma=0.9)).state.q_values)
    err = _q_error(q, _brute_force_q(0.9))
    assert err < 2.5, err                                     # |Q*| up to 50
    assert np.argmax(q, -1).tolist() == [0, 0, 1]


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("gamma", [0.90, 0.95])
def test_q_learning_converges_three_state_long(gamma):
    agent, hp = _q_agent(400_000)
    res = jax.jit(jax.vmap(agent.train, in_axes=(0, None)))(
        jax.random.split(jax.random.key(1), 2), hp._replace(gamma=gamma))
    ref = _brute_force_q(gamma)
    for q in np.asarray(res.state.q_values):
        assert _q_error(q, ref) < 0.04 * np.max(ref)          # within 4 % of max Q* (≈ 50)
        assert np.argmax(q[[0, 2]], -1).tolist() == [0, 1]


@pytest.mark.no_key_reuse_check
def test_count_bonus_explores_every_pair():
    """Greedy with f(Q, N) = Q + κ/(1+N) tries every action of every reachable cell;
    the greedy agent without the bonus (κ = 0, ε = 0) does not."""
    layout = ["S...", ".#..", "...G"]
    env = GridWorld(layout, step_reward=0.0, max_steps=30)
    reachable = np.array([c not in "#G" for c in "".join(layout)])
    agent = make_q_learning(env, None, QLearningConfig(n_steps=3000, exploration="count_bonus"))
    hp = agent.default_hparams._replace(gamma=0.9, epsilon=0.0, learning_rate=0.5)
    kappas = jnp.asarray([2.0, 0.0])
    visits = np.asarray(jax.jit(jax.vmap(lambda k: agent.train(
        jax.random.key(0), hp._replace(kappa=k)).state.visits))(kappas))
    assert np.all(visits[0][reachable] > 0)
    assert np.any(visits[1][reachable] == 0)


@pytest.mark.no_key_reuse_check
def test_td0_matches_policy_evaluation():
    """The agent's learning floor: TD(0) → V^π by a linear solve (γ = 0.8)."""
    env = three_state_mdp(max_steps=100)
    mdp = env.to_mdp()
    pi = np.asarray(uniform_policy(mdp))
    P, R = np.asarray(mdp.transitions, float), np.asarray(mdp.rewards, float)
    v_ref = np.linalg.solve(np.eye(3) - 0.8 * np.einsum("sa,sat->st", pi, P),
                            np.einsum("sa,sat,sat->s", pi, P, R))
    agent = make_td0(env, None, TD0Config(policy=pi, n_steps=60_000, lr_schedule="visits"))
    hp = agent.default_hparams._replace(gamma=0.8, learning_rate=1.0, lr_decay=0.05)
    res = agent.train(jax.random.key(0), hp)
    np.testing.assert_allclose(np.asarray(res.state.table), v_ref, atol=1.0)
    assert int(res.state.visits.sum()) == 60_000


@pytest.mark.no_key_reuse_check
def test_td0_undiscounted_random_walk_reaches_k_over_6():
    """Sutton & Barto (2018), Example 6.2: the five-state random walk, undiscounted (γ = 1,
    the same rule [0, 1] as every agent). From C, each step goes left or right with
    probability 1/2; reaching the right end pays 1. V(A..E) = 1/6 .. 5/6 exactly."""
    P = np.zeros((7, 1, 7))
    for s in range(1, 6):
        P[s, 0, s - 1] = P[s, 0, s + 1] = 0.5
    R = np.zeros((7, 1, 7))
    R[5, 0, 6] = 1.0
    env = TabularMDP(P, R, initial=np.eye(7)[3], terminal=np.isin(np.arange(7), [0, 6]),
                     max_steps=1000)
    agent = make_td0(env, None, TD0Config(policy=np.ones((7, 1)), n_steps=40_000,
                                          lr_schedule="visits"))
    hp = agent.default_hparams._replace(gamma=1.0, learning_rate=1.0, lr_decay=1.0,
                                        lr_power=0.7, initial_value=0.5)
    values = np.asarray(agent.train(jax.random.key(0), hp).state.table)[1:6]
    np.testing.assert_allclose(values, np.arange(1, 6) / 6, atol=0.03)


@pytest.mark.parametrize("learner", ["q_learning", "td0", "curriculum"])
def test_tabular_learners_bootstrap_only_at_truncation(learner):
    """GridWorld "SG" with one-step episodes: from S, "right" enters the terminal goal and
    every other action bumps into a wall and is truncated (time limit 1). One update from
    an optimistic table (c = 5, step size 1) must give r after the termination and
    r + γ c after a truncation (the bootstrap from the final observation, S)."""
    from jaxphys.rl import CurriculumConfig, make_curriculum

    c, gamma = 5.0, 0.9
    env = GridWorld(["SG"], step_reward=-0.1, goal_reward=1.0, max_steps=1)
    mdp = env.to_mdp()
    if learner == "td0":
        agent = make_td0(env, None, TD0Config(policy=np.full((2, 4), 0.25), n_steps=4))
        hp = agent.default_hparams._replace(learning_rate=1.0, gamma=gamma, initial_value=c)
    elif learner == "q_learning":
        agent = make_q_learning(env, None, QLearningConfig(n_steps=4))
        hp = agent.default_hparams._replace(learning_rate=1.0, gamma=gamma, initial_q=c,
                                            epsilon=1.0)
    else:
        agent = make_curriculum(env, None, CurriculumConfig(n_steps=4, distances=(1,)))
        hp = agent.default_hparams._replace(learning_rate=1.0, gamma=gamma, initial_q=c,
                                            epsilon=1.0)
    init = agent.init(jax.random.key(99), hp)
    seen = set()
    for seed in range(16):
        state, _ = agent.train_from(jax.random.key(seed), init, 1)
        if learner == "td0":
            value = float(state.table[0])
            terminated = value == pytest.approx(float(np.max(mdp.rewards[0, :, 1])))
            assert terminated or value == pytest.approx(-0.1 + gamma * c), value
        else:
            (s, a), = np.argwhere(np.asarray(state.visits))
            s2 = int(np.argmax(np.asarray(mdp.transitions[s, a])))
            terminated = bool(mdp.terminal[s2])
            expected = float(mdp.rewards[s, a, s2]) + (0.0 if terminated else gamma * c)
            assert float(state.table[s, a]) == pytest.approx(expected, abs=1e-5)
        seen.add(terminated)
    assert seen == {False, True}


@pytest.mark.no_key_reuse_check
def test_tour_chapter_12_quick(quick_chapter, chapter_checks):
    tour_result, out = quick_chapter("tabular-rl")      # the tour's own key: fold_in(key(0), number)
    chapter_checks("tabular-rl", tour_result, out)
    res = tour_result.runs[0].result
    assert res.metrics["qvi_policy_matches_gamma_0.90"] == 1.0
    assert res.metrics["qvi_policy_matches_gamma_0.95"] == 1.0
    assert res.metrics["grid_q_learning_success"] >= 0.9
    for f in res.figures:
        assert f.exists()
