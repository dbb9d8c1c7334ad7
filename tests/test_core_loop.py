"""run_steps, the one pure loop: vmapped sweeps, resume, equality with fit, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import TrainState, fit, make_train_step, run_steps, set_hyperparams
from jaxphys.core._loop import _run_steps_jit


def _regression(n=48):
    x = jnp.linspace(-2.0, 2.0, n)
    return {"x": jnp.stack([x, x ** 2], axis=1), "y": jnp.sin(x)}


def _loss(params, batch, key):
    hidden = jnp.tanh(batch["x"] @ params["w1"] + params["b1"][None, :])
    pred = hidden @ params["w2"]
    noise = 1e-3 * jax.random.normal(key, pred.shape)     # the step key matters
    return jnp.mean((pred + noise - batch["y"]) ** 2), {"mean_pred": jnp.mean(pred)}


def _params(key):
    k1, k2 = jax.random.split(key)
    return {"w1": 0.5 * jax.random.normal(k1, (2, 8)), "b1": jnp.zeros(8),
            "w2": 0.5 * jax.random.normal(k2, (8,))}


def test_vmapped_seeds_by_learning_rates_equal_separate_runs(x64):
    """4 seeds x 3 learning rates (injected hyperparameters) in one compiled call equal the
    12 runs done one by one, to 1e-6 in float64."""
    data = _regression()
    tx = optax.inject_hyperparams(optax.adam)(learning_rate=1e-2)
    step = make_train_step(_loss, jit=False)
    seeds = jnp.arange(4)
    rates = jnp.asarray([3e-3, 1e-2, 3e-2])

    def one(seed, rate):
        init_key, run_key = jax.random.split(jax.random.key(seed))
        state = set_hyperparams(TrainState.create(_params(init_key), tx), learning_rate=rate)
        return run_steps(step, state, data, run_key, n_steps=60, batch_size=16)

    sweep = jax.jit(jax.vmap(jax.vmap(one, in_axes=(None, 0)), in_axes=(0, None)))
    states, metrics = sweep(seeds, rates)
    assert metrics["loss"].shape == (4, 3, 60)
    for i, seed in enumerate(seeds):
        for j, rate in enumerate(rates):
            alone, alone_metrics = one(int(seed), float(rate))
            for a, b in zip(jax.tree.leaves(alone.params),
                            jax.tree.leaves(jax.tree.map(lambda t: t[i, j], states.params))):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(alone_metrics["loss"], metrics["loss"][i, j], rtol=1e-6)
    final = np.asarray(metrics["loss"][:, :, -5:].mean(-1))
    assert np.all(final < np.asarray(metrics["loss"][:, :, :5].mean(-1)))   # all learned
    assert not np.allclose(final[0], final[1])                                # seeds differ


def test_second_call_does_not_recompile_and_cut_run_equals_whole():
    data = _regression()
    step = make_train_step(_loss, jit=False)
    state = TrainState.create(_params(jax.random.key(1)), optax.sgd(0.05))
    key = jax.random.key(2)
    whole, whole_metrics = run_steps(step, state, data, key, n_steps=30, batch_size=12)
    size = _run_steps_jit._cache_size()
    # the same loop cut at step 14 (batches and keys depend on the step number alone)
    first, m1 = run_steps(step, state, data, jax.random.clone(key), n_steps=14, batch_size=12)
    second, m2 = run_steps(step, first, data, jax.random.clone(key), n_steps=16, batch_size=12)
    assert _run_steps_jit._cache_size() == size + 2      # one compile per new n_steps
    run_steps(step, second, data, jax.random.clone(key), n_steps=16, batch_size=12)
    assert _run_steps_jit._cache_size() == size + 2      # ... and none on the repeat
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(second)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole_metrics["loss"],
                                  np.concatenate([m1["loss"], m2["loss"]]))


def test_fit_trains_exactly_as_run_steps():
    data = _regression()
    state = TrainState.create(_params(jax.random.key(3)), optax.adam(1e-2))
    res = fit(jax.random.key(4), state, data, loss_fn=_loss, n_steps=25, batch_size=16,
              chunk_size=7, progress=False)
    loop_key, _ = jax.random.split(jax.random.key(4))
    st, metrics = run_steps(make_train_step(_loss, jit=False), state, data, loop_key,
                            n_steps=25, batch_size=16)
    for a, b in zip(jax.tree.leaves(res.state), jax.tree.leaves(st)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(res.history["loss"][0], np.mean(metrics["loss"][:7]), rtol=1e-6)


def test_each_epoch_visits_every_example_once():
    data = {"i": jnp.arange(12)}

    def record(state, batch, key):
        return state.replace(step=state.step + 1), {"seen": batch["i"]}

    state = TrainState.create(jnp.zeros(()), optax.sgd(0.1))
    _, metrics = run_steps(record, state, data, jax.random.key(5), n_steps=9, batch_size=4)
    seen = np.asarray(metrics["seen"]).reshape(3, 12)
    for epoch in seen:
        np.testing.assert_array_equal(np.sort(epoch), np.arange(12))
    assert not np.array_equal(seen[0], seen[1])


def test_bad_arguments_are_named():
    data = _regression()
    step = make_train_step(_loss, jit=False)
    state = TrainState.create(_params(jax.random.key(6)), optax.sgd(0.1))
    key = jax.random.key(7)
    with pytest.raises(ValueError, match="n_steps"):
        run_steps(step, state, data, key, n_steps=0)
    with pytest.raises(TypeError, match="n_steps"):
        run_steps(step, state, data, key, n_steps=3.0)
    with pytest.raises(ValueError, match="batch_size.*48"):
        run_steps(step, state, data, key, n_steps=3, batch_size=49)
    with pytest.raises(TypeError, match="batch_size"):
        run_steps(step, state, data, key, n_steps=3, batch_size=8.0)
    with pytest.raises(TypeError, match="state.*step"):
        run_steps(step, {"params": state.params}, data, key, n_steps=3)
    with pytest.raises(TypeError, match="step"):
        run_steps("adam", state, data, key, n_steps=3)
    with pytest.raises(ValueError, match="data"):
        run_steps(step, state, {"x": jnp.ones(3), "y": jnp.ones(4)}, key, n_steps=3)
    with pytest.raises(ValueError, match="values"):
        set_hyperparams(TrainState.create(jnp.ones(2), optax.inject_hyperparams(optax.sgd)(
            learning_rate=0.1)), lr=0.2)
    with pytest.raises(ValueError, match="inject_hyperparams"):
        set_hyperparams(state, learning_rate=0.2)
