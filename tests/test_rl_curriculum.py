"""Sparse rewards and the goal-distance curriculum (issue 8)."""

import jax
import numpy as np
import pytest

from jaxphys.rl._curriculum import (curriculum_starts, make_curriculum_train, plain_starts,
                                    sparse_maze)
from jaxphys.rl._tabular_learning import QLearningConfig, make_q_learning_train, success_rate
from jaxphys.rl.envs._tabular_mdp import three_state_mdp

CFG = QLearningConfig(n_steps=6000, gamma=0.95, epsilon=0.1, learning_rate=0.5,
                      eval_every=1000, eval_episodes=50, eval_max_steps=60)
DISTANCES = (3, 6, 10, 14, 18, 22)


@pytest.fixture(scope="module")
def runs():
    env = sparse_maze(max_steps=60)
    params = env.default_params()
    train = make_curriculum_train(env, params, CFG, distances=DISTANCES)
    n = len(DISTANCES) + 1
    starts = np.stack([curriculum_starts(env, params, DISTANCES)] * 2
                      + [plain_starts(params, n)] * 2)
    with jax.debug_key_reuse(False):
        # one compilation: two curriculum seeds and two plain seeds (every stage = the task)
        both = jax.jit(jax.vmap(train))(jax.random.split(jax.random.key(0), 4), starts)
    curr = jax.tree.map(lambda x: x[:2], both)
    plain = jax.tree.map(lambda x: x[2:], both)
    return env, curr, plain


@pytest.mark.no_key_reuse_check
def test_plain_starts_equal_plain_q_learning():
    """The plain agent of the curriculum code is plain Q-learning on the task."""
    env = sparse_maze(max_steps=20)
    params = env.default_params()
    cfg = CFG._replace(n_steps=200, eval_every=0)
    a = jax.jit(make_curriculum_train(env, params, cfg, distances=(3,)))(
        jax.random.key(5), plain_starts(params, 2))
    b = jax.jit(make_q_learning_train(env, params, cfg))(jax.random.key(5))
    np.testing.assert_array_equal(np.asarray(a.q_values), np.asarray(b.q_values))
    np.testing.assert_array_equal(np.asarray(a.step_rewards), np.asarray(b.step_rewards))


@pytest.mark.no_key_reuse_check
def test_curriculum_succeeds_where_plain_agent_fails(runs):
    _, curr, plain = runs
    s_curr = np.asarray(jax.vmap(success_rate)(curr))           # (seeds, n_evals)
    s_plain = np.asarray(jax.vmap(success_rate)(plain))
    assert s_curr.shape == (2, 6)
    assert np.all(s_curr[:, -1] >= 0.9), s_curr                 # same 6000-step budget
    assert np.all(s_plain[:, -1] < 0.5), s_plain
    # the plain agent's failure: it (almost) never sees the sparse reward
    assert np.asarray(plain.step_rewards).sum() < 5
    # the curriculum advanced through every stage to the task itself
    assert np.all(np.asarray(curr.stages)[:, -1] == len(DISTANCES))
    assert np.all(np.diff(np.asarray(curr.stages), axis=1) >= 0)


@pytest.mark.no_key_reuse_check
def test_sparse_task_only_rewards_the_goal(runs):
    env, curr, plain = runs
    r = np.asarray(curr.step_rewards)
    assert set(np.unique(r).tolist()) <= {0.0, 1.0}
    # every reward-1 step ends an episode (the goal is terminal)
    assert np.all(np.asarray(curr.step_dones)[r > 0])
    d = np.asarray(env.goal_distances())
    assert d[np.asarray(env.default_params().start) > 0].min() > 20    # starts far away


def test_curriculum_starts_respect_distances():
    env = sparse_maze()
    params = env.default_params()
    starts = np.asarray(curriculum_starts(env, params, (2, 5)))
    d = np.asarray(env.goal_distances(params))
    assert starts.shape == (3,) + d.shape
    for k, dmax in enumerate((2, 5)):
        cells = starts[k] > 0
        assert cells.any() and np.all(d[cells] <= dmax) and np.all(d[cells] >= 1)
        assert cells.sum() == np.sum((d >= 1) & (d <= dmax))
    np.testing.assert_array_equal(starts[-1], np.asarray(params.start))


def test_curriculum_bad_inputs():
    env = sparse_maze()
    with pytest.raises(ValueError, match="distances"):
        make_curriculum_train(env, None, CFG, distances=(4, 2))
    with pytest.raises(ValueError, match="advance_at"):
        make_curriculum_train(env, None, CFG, advance_at=1.5)
    with pytest.raises(ValueError, match="env"):
        make_curriculum_train(three_state_mdp(), None, CFG)
    with pytest.raises(ValueError, match="starts"):
        make_curriculum_train(env, None, CFG, distances=(2,))(jax.random.key(0),
                                                              plain_starts(env.default_params(), 3))
    with pytest.raises(ValueError, match="config.gamma"):
        make_curriculum_train(env, None, CFG._replace(gamma=1.2))
