"""The training conformance table: every trainer in the library, the same checks.

Each row (``tests/conformance/training_*.py``) builds a tiny problem from a trainer's
public pieces. For every row: the step runs under :func:`run_steps` (which jits the whole
loop) and under :func:`fit`; the second call of the loop does not recompile; two seeds
give different initial states; a non-finite batch is skipped without touching params, optimiser or model state;
an interrupted ``fit`` resumed from its checkpoint equals the uninterrupted run bit for bit;
the high-level trainer returns a :class:`FitResult`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.core import FitResult, fit, run_steps
from jaxphys.core._loop import _run_steps_jit

from conformance import training_core
from conformance import training_generative
from conformance import training_nn
from conformance import training_physics

TABLE = [*training_core.CASES, *training_nn.CASES, *training_physics.CASES,
         *training_generative.CASES]


def _leaves_equal(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y))
                                      for x, y in zip(la, lb))


def _without_counters(state):
    """The state with its step counters zeroed (they advance on a skipped step too)."""
    def zero(path, leaf):
        name = jax.tree_util.keystr(path[-1:]) if path else ""
        return jnp.zeros_like(leaf) if name in (".step", ".n_skipped") else leaf
    return jax.tree_util.tree_map_with_path(zero, state)


def _poisoned(case, data):
    """``case.poison(data)`` for a full-batch row; for a minibatch row ``case.poison``
    applied to each pair of examples (the first of every pair poisoned): a minibatch of
    the loop then holds non-finite examples among finite ones (one that held none would
    train, and the check that every step is skipped would fail)."""
    if case.batch_size is None:
        return case.poison(data)
    n = jax.tree.leaves(data)[0].shape[0]
    pairs = jax.tree.map(lambda a: a.reshape(n // 2, 2, *a.shape[1:]), data)
    return jax.tree.map(lambda a: a.reshape(n, *a.shape[2:]), jax.vmap(case.poison)(pairs))


@pytest.fixture(params=TABLE, ids=[case.name for case in TABLE])
def case(request):
    return request.param


@pytest.mark.no_key_reuse_check
def test_trainer_conforms(case, tmp_path):
    step, state, data = case.make(jax.random.key(0))
    kw = dict(n_steps=6, batch_size=case.batch_size)

    # run_steps: runs (it jits the whole loop itself), and the second call does not recompile
    final, metrics = run_steps(step, state, data, jax.random.key(1), **kw)
    assert int(final.step) == int(state.step) + 6
    assert all(np.shape(m)[:1] == (6,) for m in jax.tree.leaves(metrics))
    assert not _leaves_equal(_without_counters(final), _without_counters(state))
    size = _run_steps_jit._cache_size()
    run_steps(step, state, data, jax.random.key(3), **kw)
    assert _run_steps_jit._cache_size() == size

    # two seeds give two initial states
    _, state_b, _ = case.make(jax.random.key(4))
    assert not _leaves_equal(_without_counters(state), _without_counters(state_b))

    # a non-finite batch is skipped: nothing but the counters changes. Checked in the
    # loop compiled above (no new compilation), six steps on non-finite batches
    bad = _poisoned(case, data)
    skipped, bad_metrics = run_steps(step, state, bad, jax.random.key(6), **kw)
    assert _run_steps_jit._cache_size() == size
    assert np.asarray(bad_metrics["skipped"]).tolist() == [1] * 6
    assert int(skipped.step) == int(state.step) + 6
    assert _leaves_equal(_without_counters(skipped), _without_counters(state))

    # fit: checkpoint, crash, resume equals the uninterrupted run bit for bit
    common = dict(n_steps=8, batch_size=case.batch_size, checkpoint_every=2, chunk_size=3,
                  progress=False)
    whole = fit(jax.random.key(7), state, data, step=step, checkpoint_dir=tmp_path / "a",
                **common)

    def crash(r, st, history):
        if r >= 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(jax.random.key(7), state, data, step=step, checkpoint_dir=tmp_path / "b",
            callback=crash, **common)
    resumed = fit(jax.random.key(7), state, data, step=step, checkpoint_dir=tmp_path / "b",
                  **common)
    assert isinstance(whole, FitResult)
    assert _leaves_equal(whole.state, resumed.state)
    assert whole.history == resumed.history

    # the public high-level trainer is built on these pieces and returns a FitResult
    if case.trainer is not None:
        result = case.trainer(jax.random.key(8), n_steps=2, progress=False)
        assert isinstance(result, FitResult)
        assert int(result.state.step) >= 2


def _public_trainers():
    """Every public function of every subpackage annotated to return a FitResult."""
    import importlib
    import inspect

    import jaxphys

    found = set()
    for sub in jaxphys._SUBPACKAGES:
        if sub in ("plot", "tour"):
            continue
        module = importlib.import_module(f"jaxphys.{sub}")
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                ret = inspect.signature(obj).return_annotation
                if "FitResult" in str(ret):
                    found.add(f"{sub}.{name}")
    return found


def test_every_public_trainer_is_in_the_table():
    """The public trainers (functions annotated to return FitResult) each have a row."""
    names = {case.name.split(" ")[0] for case in TABLE}
    missing = _public_trainers() - names
    assert not missing, f"trainers without a conformance row: {sorted(missing)}"
