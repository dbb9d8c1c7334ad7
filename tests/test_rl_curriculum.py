"""Sparse rewards and the goal-distance curriculum (issue 8)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.rl import (CurriculumConfig, QLearningConfig, curriculum_starts, evaluations,
                        make_curriculum, make_q_learning, plain_starts, sparse_maze,
                        sweep_axes)
from jaxphys.rl.envs._tabular_mdp import three_state_mdp

CFG = CurriculumConfig(n_steps=6000, eval_every=1000, eval_episodes=50, eval_max_steps=60,
                       distances=(3, 6, 10, 14, 18, 22))


def _hparams(agent):
    return agent.default_hparams._replace(gamma=0.95, epsilon=0.1, learning_rate=0.5)


@pytest.fixture(scope="module")
def runs():
    env = sparse_maze(max_steps=60)
    params = env.default_params()
    agent = make_curriculum(env, params, CFG)
    hp = _hparams(agent)
    n = len(CFG.distances) + 1
    starts = jnp.stack([curriculum_starts(env, params, CFG.distances)] * 2
                       + [plain_starts(params, n)] * 2)
    axes = sweep_axes(hp, "starts")
    with jax.debug_key_reuse(False):
        # one compilation: two curriculum seeds and two plain seeds (every stage = the task)
        both = jax.jit(jax.vmap(agent.train, in_axes=(0, axes)))(
            jax.random.split(jax.random.key(0), 4), hp._replace(starts=starts))
    curr = jax.tree.map(lambda x: x[:2], both)
    plain = jax.tree.map(lambda x: x[2:], both)
    return env, curr, plain


@pytest.mark.no_key_reuse_check
def test_plain_starts_equal_plain_q_learning():
    """The plain agent of the curriculum code is plain Q-learning on the task."""
    env = sparse_maze(max_steps=20)
    params = env.default_params()
    curriculum = make_curriculum(env, params, CurriculumConfig(n_steps=200, distances=(3,)))
    plain = make_q_learning(env, params, QLearningConfig(n_steps=200))
    hp = _hparams(curriculum)._replace(starts=plain_starts(params, 2))
    a = curriculum.train(jax.random.key(5), hp)
    b = plain.train(jax.random.key(5), plain.default_hparams._replace(
        gamma=0.95, epsilon=0.1, learning_rate=0.5))
    np.testing.assert_array_equal(np.asarray(a.state.q_values), np.asarray(b.state.q_values))
    np.testing.assert_array_equal(np.asarray(a.metrics["reward"]),
                                  np.asarray(b.metrics["reward"]))


@pytest.mark.no_key_reuse_check
def test_curriculum_succeeds_where_plain_agent_fails(runs):
    """The curriculum agent's learning floor: same 6000-step budget, success ≥ 0.9 where the
    plain learner stays below 0.5."""
    _, curr, plain = runs
    s_curr = evaluations(curr.metrics)                           # (seeds, n_evals)
    s_plain = evaluations(plain.metrics)
    assert s_curr.shape == (2, 6)
    assert np.all(s_curr[:, -1] >= 0.9), s_curr
    assert np.all(s_plain[:, -1] < 0.5), s_plain
    # the plain agent's failure: it (almost) never sees the sparse reward
    assert np.asarray(plain.metrics["reward"]).sum() < 5
    # the curriculum advanced through every stage to the task itself
    stages = np.asarray(curr.metrics["stage"])
    assert np.all(np.asarray(curr.state.stage) == len(CFG.distances))
    assert np.all(np.diff(stages, axis=1) >= 0)


@pytest.mark.no_key_reuse_check
def test_sparse_task_only_rewards_the_goal(runs):
    env, curr, plain = runs
    r = np.asarray(curr.metrics["reward"])
    assert set(np.unique(r).tolist()) <= {0.0, 1.0}
    # every reward-1 step ends an episode (the goal is terminal)
    assert np.all(np.asarray(curr.metrics["done"])[r > 0])
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
    with pytest.raises(ValueError, match="config.distances"):
        make_curriculum(env, None, CurriculumConfig(distances=(4, 2)))
    with pytest.raises(ValueError, match="env"):
        make_curriculum(three_state_mdp(), None, CFG)
    agent = make_curriculum(env, None, CurriculumConfig(distances=(2,)))
    hp = agent.default_hparams
    with pytest.raises(ValueError, match="hparams.advance_at"):
        agent.train(jax.random.key(0), hp._replace(advance_at=1.5))
    with pytest.raises(ValueError, match="hparams.starts"):
        agent.train(jax.random.key(0), hp._replace(starts=plain_starts(env.default_params(), 3)))
    with pytest.raises(ValueError, match="hparams.gamma"):
        agent.train(jax.random.key(0), hp._replace(gamma=1.2))
