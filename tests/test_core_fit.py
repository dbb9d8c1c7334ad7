"""fit: convergence, shuffling, validation, early stopping, exact resume."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import EarlyStopping, TrainState, fit, make_train_step
from jaxphys.nn import MLP


def _index_loss(params, batch, key):
    """A loss that reports which examples it saw."""
    loss = jnp.mean((params["w"] * batch["x"] - batch["y"]) ** 2)
    return loss, {"first": batch["i"][0].astype(jnp.float32),
                  "idx_sum": jnp.sum(batch["i"]).astype(jnp.float32)}


def _index_data(n=32):
    x = jnp.linspace(-1.0, 1.0, n)
    return {"x": x, "y": 3.0 * x, "i": jnp.arange(n)}


def _run_index(key, n_epochs=3):
    opt = optax.sgd(0.1)
    state = TrainState.create({"w": jnp.zeros(())}, opt)
    return fit(key, state, _index_data(), loss_fn=_index_loss, n_epochs=n_epochs, batch_size=4,
               chunk_size=1, progress=False)


def test_each_epoch_is_a_permutation_and_seeds_differ():
    res_a = _run_index(jax.random.key(0))
    res_b = _run_index(jax.random.key(1))
    res_a2 = _run_index(jax.random.key(0))
    sums = np.asarray(res_a.history["idx_sum"]).reshape(3, 8).sum(axis=1)
    np.testing.assert_array_equal(sums, [sum(range(32))] * 3)   # every example once per epoch
    firsts_a = res_a.history["first"]
    assert firsts_a == res_a2.history["first"]                     # same key: same order
    assert firsts_a != res_b.history["first"]                      # other key: other order
    assert firsts_a[:8] != firsts_a[8:16]                          # reshuffled each epoch
    assert len(res_a.history["step"]) == 24 and res_a.history["step"][-1] == 24


def test_fit_converges_to_least_squares_solution(x64):
    key_x, key_n, key_fit = jax.random.split(jax.random.key(2), 3)
    x = jax.random.normal(key_x, (200, 2))
    y = x @ jnp.asarray([1.5, -2.0]) + 0.3 + 0.05 * jax.random.normal(key_n, (200,))

    def loss_fn(p, batch, key):
        return jnp.mean((batch["x"] @ p["w"] + p["b"] - batch["y"]) ** 2), {}

    opt = optax.adam(0.02)
    state = TrainState.create({"w": jnp.zeros(2), "b": jnp.zeros(())}, opt)
    res = fit(key_fit, state, {"x": x, "y": y}, loss_fn=loss_fn, n_steps=3000, progress=False)
    design = np.column_stack([np.asarray(x), np.ones(200)])
    coef, *_ = np.linalg.lstsq(design, np.asarray(y), rcond=None)
    np.testing.assert_allclose(res.state.params["w"], coef[:2], atol=1e-6)
    np.testing.assert_allclose(res.state.params["b"], coef[2], atol=1e-6)


def _mlp_problem():
    key_x, key_init = jax.random.split(jax.random.key(3))
    x = jax.random.normal(key_x, (96, 3))
    y = jnp.sin(x[:, :1]) + x[:, 1:2] * x[:, 2:3]
    model = MLP(widths=(16, 16, 1), activation="tanh")
    params = model.init(key_init, x[:2])["params"]

    def loss_fn(p, batch, key):
        pred = model.apply({"params": p}, batch["x"])
        return jnp.mean((pred - batch["y"]) ** 2), {}

    return {"x": x, "y": y}, params, loss_fn


@pytest.mark.no_key_reuse_check
def test_checkpoint_resume_is_bit_identical(tmp_path):
    data, params, loss_fn = _mlp_problem()
    opt = optax.adam(1e-2)
    common = dict(n_steps=100, batch_size=16, val_data=data, eval_every=10, checkpoint_every=20,
                  chunk_size=7, progress=False)
    full = fit(jax.random.key(4), TrainState.create(params, opt), data, loss_fn=loss_fn,
               checkpoint_dir=tmp_path / "full", **common)

    def crash_at_60(step, state, history):
        if step == 60:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(jax.random.key(4), TrainState.create(params, opt), data, loss_fn=loss_fn,
            checkpoint_dir=tmp_path / "crash", callback=crash_at_60, **common)
    resumed = fit(jax.random.key(4), TrainState.create(params, opt), data, loss_fn=loss_fn,
                  checkpoint_dir=tmp_path / "crash", **common)
    assert int(resumed.state.step) == int(full.state.step) == 100
    for a, b in zip(jax.tree.leaves(full.state), jax.tree.leaves(resumed.state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert full.history == resumed.history
    # a run with other settings refuses to resume from that folder
    with pytest.raises(ValueError, match="checkpoint_dir"):
        fit(jax.random.key(4), TrainState.create(params, opt), data, loss_fn=loss_fn,
            checkpoint_dir=tmp_path / "crash", **{**common, "n_steps": 120})


def test_early_stopping_restores_best_parameters():
    # train towards y = x while validating against y = 0: validation gets worse and worse
    x = jnp.linspace(-1.0, 1.0, 32)
    train = {"x": x, "y": x}
    val = {"x": x, "y": 0.5 * x}

    def loss_fn(p, batch, key):
        return jnp.mean((p["w"] * batch["x"] - batch["y"]) ** 2), {"w": p["w"]}

    opt = optax.sgd(0.5)
    common = dict(val_data=val, eval_every=2, progress=False)
    res = fit(jax.random.key(5), TrainState.create({"w": jnp.zeros(())}, opt), train,
              loss_fn=loss_fn, n_steps=200, early_stopping=EarlyStopping(patience=3), **common)
    assert res.stopped_early and res.history["val_step"][-1] < 200
    best_idx = int(np.argmin(res.history["val_loss"]))
    assert res.best_step == res.history["val_step"][best_idx]
    # the restored parameters are those of the best evaluation: rerun to that step
    again = fit(jax.random.key(5), TrainState.create({"w": jnp.zeros(())}, opt), train,
                loss_fn=loss_fn, n_steps=res.best_step, progress=False)
    np.testing.assert_array_equal(res.state.params["w"], again.state.params["w"])
    assert abs(float(res.state.params["w"]) - 0.5) < 0.2


def test_nan_examples_are_skipped_and_counted():
    x = jnp.linspace(-1.0, 1.0, 16).at[3].set(jnp.nan)
    data = {"x": x, "y": 2.0 * jnp.nan_to_num(x)}

    def loss_fn(p, batch, key):
        return jnp.mean((p["w"] * batch["x"] - batch["y"]) ** 2), {}

    opt = optax.sgd(0.2)
    res = fit(jax.random.key(6), TrainState.create({"w": jnp.zeros(())}, opt), data,
              loss_fn=loss_fn, n_epochs=50, batch_size=4, progress=False)
    assert int(res.state.n_skipped) == 50 == sum(res.history["skipped"])
    assert abs(float(res.state.params["w"]) - 2.0) < 1e-3


def test_bad_arguments_are_named():
    data = {"x": jnp.ones(10), "y": jnp.ones(9)}
    opt = optax.sgd(0.1)
    state = TrainState.create({"w": jnp.zeros(())}, opt)
    key = jax.random.key(7)
    loss = _index_loss
    with pytest.raises(ValueError, match="train_data"):
        fit(key, state, data, loss_fn=loss, n_steps=1, progress=False)
    good = _index_data(8)
    with pytest.raises(ValueError, match="n_steps/n_epochs"):
        fit(key, state, good, loss_fn=loss, n_steps=1, n_epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        fit(key, state, good, loss_fn=loss, n_steps=1, batch_size=9, progress=False)
    with pytest.raises(ValueError, match="early_stopping"):
        fit(key, state, good, loss_fn=loss, n_steps=1, early_stopping=EarlyStopping(),
            progress=False)
    with pytest.raises(ValueError, match="early_stopping.metric"):
        fit(key, state, good, loss_fn=loss, n_steps=2, val_data=good,
            early_stopping=EarlyStopping(metric="nope"), progress=False)
    with pytest.raises(ValueError, match="loss_fn/step"):
        fit(key, state, good, n_steps=2, progress=False)
    with pytest.raises(ValueError, match="eval_every"):
        fit(key, state, good, loss_fn=loss, n_steps=2, val_data=good, eval_every=-2,
            progress=False)
    with pytest.raises(TypeError, match="batch_size"):
        fit(key, state, good, loss_fn=loss, n_steps=2, batch_size=2.5, progress=False)
    with pytest.raises(TypeError, match="n_epochs"):
        fit(key, state, good, loss_fn=loss, n_epochs=1.5, progress=False)
    with pytest.raises(ValueError, match="n_steps"):
        fit(key, state, good, loss_fn=loss, n_steps=0, progress=False)
    with pytest.raises(TypeError, match="state"):
        fit(key, {"w": jnp.zeros(())}, good, loss_fn=loss, n_steps=1, progress=False)
    with pytest.raises(ValueError, match="eval_fn"):
        fit(key, state, good, step=make_train_step(loss), n_steps=1, val_data=good,
            progress=False)
