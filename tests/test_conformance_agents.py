"""The agent conformance table: every agent of jaxphys.rl, the same checks.

Rows: ``tests/conformance/agents.py``. For every agent (tiny configuration):

* ``train`` is jittable and a second call with another key and another learning rate
  does not recompile;
* ``jax.vmap`` over (seed, learning rate) pairs equals the per-seed runs; two seeds differ;
  the learning rate is a traced array that changes the run;
* a run interrupted half-way, checkpointed with ``jaxphys.core.save_checkpoint``, restored
  with ``restore_checkpoint`` and trained on with ``train_from`` equals the uninterrupted
  run bit for bit (under JAX's key-reuse checker: no key inside an update is used twice);
* bad input (hparams of the wrong structure, γ outside [0, 1], a negative rate, a network
  whose output does not fit the action space, an inconsistent config) raises an error
  naming the argument before any training.

``FLOORS``: each agent learns on its natural environment at a reduced budget (the
curriculum's floor, success against the plain learner, is in tests/test_rl_curriculum.py).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.core import fit, restore_checkpoint, save_checkpoint
from jaxphys.rl import NO_DATA, sweep_axes

from conformance.agents import CASES, FLOORS

_RUNS: dict = {}


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _single(case):
    """Per-case cache: the agent, the jitted train and three single runs: seed 0, seed 1,
    seed 0 with twice the learning rate."""
    if case.name not in _RUNS:
        agent = case.make()
        hp = agent.default_hparams
        lr = getattr(hp, case.lr_field)
        hp2 = hp._replace(**{case.lr_field: 2.0 * lr})
        train = jax.jit(agent.train)
        keys = [jax.random.fold_in(jax.random.key(0), i) for i in (0, 1, 0)]
        runs = [train(keys[0], hp), train(keys[1], hp), train(keys[2], hp2)]
        _RUNS[case.name] = dict(agent=agent, train=train, hp=hp, hp2=hp2, runs=runs)
    return _RUNS[case.name]


@pytest.fixture(params=CASES, ids=[case.name for case in CASES])
def case(request):
    return request.param


@pytest.mark.no_key_reuse_check
def test_agent_jits_without_recompiling(case):
    cached = _single(case)
    assert cached["train"]._cache_size() == 1       # 3 calls: new key, new learning rate
    agent = cached["agent"]
    res = cached["runs"][0]
    assert int(res.state.step) == agent.n_updates
    for name, values in res.metrics.items():
        assert np.shape(values)[0] == agent.n_updates, name
    for name in ("episode_return", "n_episodes", "env_steps"):
        assert name in res.metrics
    assert not any(np.any(np.isnan(x)) for x in _leaves(res.state.params))


@pytest.mark.no_key_reuse_check
def test_agent_vmap_equals_per_seed_and_learning_rate_is_traced(case):
    cached = _single(case)
    agent, hp = cached["agent"], cached["hp"]
    keys = jnp.stack([jax.random.key_data(jax.random.fold_in(jax.random.key(0), i))
                      for i in (0, 1, 0)])
    lr = getattr(hp, case.lr_field)
    swept = hp._replace(**{case.lr_field: jnp.stack([lr, lr, 2.0 * lr])})
    axes = sweep_axes(hp, case.lr_field)
    batched = jax.jit(jax.vmap(lambda k, h: agent.train(jax.random.wrap_key_data(k), h),
                               in_axes=(0, axes)))(keys, swept)
    for i, single in enumerate(cached["runs"]):
        for a, b in zip(_leaves(single.state), _leaves(batched.state)):
            np.testing.assert_allclose(a, b[i], rtol=2e-4, atol=2e-5)
    params = [_leaves(run.state.params) for run in cached["runs"]]
    assert any(not np.allclose(a, b) for a, b in zip(params[0], params[1]))   # seeds differ
    assert any(not np.allclose(a, b) for a, b in zip(params[0], params[2]))   # lr matters
    assert getattr(agent.check_hparams(swept), case.lr_field).shape == (3,)


@pytest.mark.no_key_reuse_check
def test_agent_checkpoint_resume_is_exact(case, tmp_path):
    cached = _single(case)
    agent = cached["agent"]
    key_init, key_run = jax.random.split(jax.random.fold_in(jax.random.key(0), 0))
    half = agent.n_updates // 2
    state = agent.init(key_init, cached["hp"])
    with jax.debug_key_reuse(True):
        state, first = agent.train_from(key_run, state, half)
    path = save_checkpoint(tmp_path / "agent.npz", state)
    restored = restore_checkpoint(path, agent.init(jax.random.key(99), cached["hp"]))
    assert int(restored.step) == half
    with jax.debug_key_reuse(True):
        resumed, second = agent.train_from(jax.random.split(
            jax.random.fold_in(jax.random.key(0), 0))[1], restored, agent.n_updates - half)
    uninterrupted = cached["runs"][0]
    for a, b in zip(_leaves(resumed), _leaves(uninterrupted.state)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        np.concatenate([np.asarray(first["n_episodes"]), np.asarray(second["n_episodes"])]),
        np.asarray(uninterrupted.metrics["n_episodes"]))


@pytest.mark.no_key_reuse_check
def test_agent_step_trains_through_core_fit_with_checkpoints(tmp_path):
    """The agent's update is a core step: ``fit`` drives it (the run it checkpoints and
    resumes equals ``train_from`` with fit's training key)."""
    case = next(c for c in CASES if c.name == "ppo")
    cached = _single(case)
    agent = cached["agent"]
    key_init, key_run = jax.random.split(jax.random.fold_in(jax.random.key(0), 0))
    state = agent.init(key_init, cached["hp"])
    interrupted = fit(key_run, state, NO_DATA, step=agent.step, n_steps=agent.n_updates,
                      checkpoint_dir=tmp_path, checkpoint_every=1, progress=False,
                      callback=lambda step, st, history: step >= 2)
    assert int(interrupted.state.step) == 2
    result = fit(key_run, state, NO_DATA, step=agent.step, n_steps=agent.n_updates,
                 checkpoint_dir=tmp_path, checkpoint_every=1, progress=False)
    uninterrupted = fit(key_run, state, NO_DATA, step=agent.step, n_steps=agent.n_updates,
                        progress=False)
    for a, b in zip(_leaves(result.state), _leaves(uninterrupted.state)):
        np.testing.assert_array_equal(a, b)              # resume is bit-exact
    # train_from compiles the same steps in another program: XLA may fuse differently,
    # so the two agree to float32 rounding, not bit for bit. It runs in two halves under
    # the key-reuse checker: the program the checkpoint test compiled (there, two halves
    # equal one run bit for bit)
    half = agent.n_updates // 2
    first_key, second_key = (jax.random.split(key_run)[0] for _ in range(2))  # one key
    with jax.debug_key_reuse(True):
        reference, _ = agent.train_from(first_key, state, half)
        reference, _ = agent.train_from(second_key, reference, agent.n_updates - half)
    for a, b in zip(_leaves(result.state), _leaves(reference)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert len(result.history["n_episodes"]) == agent.n_updates


def test_agent_bad_input_names_the_argument(case):
    agent = case.make()
    hp = agent.default_hparams
    key = jax.random.key(0)
    with pytest.raises(TypeError, match="hparams"):
        agent.train(key, dict(hp._asdict()))
    with pytest.raises(ValueError, match=f"hparams.{case.lr_field}"):
        agent.train(key, hp._replace(**{case.lr_field: -1.0}))
    with pytest.raises(ValueError, match=f"hparams.{case.lr_field}"):
        agent.train(key, hp._replace(**{case.lr_field: jnp.ones(2)}))
    if "gamma" in hp._fields:
        with pytest.raises(ValueError, match="hparams.gamma"):
            agent.train(key, hp._replace(gamma=1.5))
        with pytest.raises(ValueError, match="hparams.gamma"):
            agent.check_hparams(hp._replace(gamma=jnp.array([0.9, -0.1])))
    with pytest.raises(TypeError, match="key"):
        agent.train(0, hp)
    if case.bad_network is not None:
        with pytest.raises(ValueError, match="network"):
            case.bad_network()
    if case.bad_config is not None:
        with pytest.raises(ValueError, match=case.expect):
            case.bad_config()


# slow tier for now: twice in this session a vmapped floor run hung inside XLA:CPU with
# every thread idle (also with async dispatch off), which would stall the default run;
# tests/test_rl_policy_gradient.py and test_rl_showcase.py keep default-tier learning checks
@pytest.mark.slow
@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("floor", FLOORS, ids=[floor.name for floor in FLOORS])
def test_agent_learning_floor(floor):
    value, threshold, what = floor.run()
    assert value >= threshold, f"{floor.name}: {value:.3f} < {threshold:.3f} ({what})"
