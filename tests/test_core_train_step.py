"""make_train_step / make_eval_step against closed forms and invariants."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import Model, TrainState, as_model, make_eval_step, make_train_step
from jaxphys.nn import MLP


def _linear_problem(key, n=64, p=3):
    kx, kn = jax.random.split(key)
    x = jax.random.normal(kx, (n, p))
    w_true = jnp.arange(1.0, p + 1.0)
    y = x @ w_true + 0.1 * jax.random.normal(kn, (n,))
    return {"x": x, "y": y}


def _lsq_loss(params, batch, key):
    pred = batch["x"] @ params["w"] + params["b"]
    return jnp.mean((pred - batch["y"]) ** 2), {"mean_pred": jnp.mean(pred)}


def test_convex_problem_reaches_closed_form_optimum(x64):
    batch = _linear_problem(jax.random.key(1))
    opt = optax.adam(0.05)
    step = make_train_step(_lsq_loss, opt)
    state = TrainState.create({"w": jnp.zeros(3), "b": jnp.zeros(())}, opt)
    keys = jax.random.split(jax.random.key(2), 3000)
    for k in keys:
        state, metrics = step(state, batch, k)
    x = np.asarray(batch["x"])
    design = np.column_stack([x, np.ones(len(x))])
    coef, *_ = np.linalg.lstsq(design, np.asarray(batch["y"]), rcond=None)
    np.testing.assert_allclose(state.params["w"], coef[:3], atol=1e-8)
    np.testing.assert_allclose(state.params["b"], coef[3], atol=1e-8)
    assert int(state.step) == 3000 and int(state.n_skipped) == 0
    assert set(metrics) >= {"loss", "grad_norm", "skipped", "mean_pred"}


def test_nan_batch_leaves_params_and_optimizer_unchanged():
    batch = _linear_problem(jax.random.key(3))
    opt = optax.adam(0.01)
    step = make_train_step(_lsq_loss, opt, donate=False)
    state = TrainState.create({"w": jnp.ones(3), "b": jnp.zeros(())}, opt)
    state, _ = step(state, batch, jax.random.key(4))
    bad = {"x": batch["x"].at[5, 1].set(jnp.nan), "y": batch["y"]}
    new_state, metrics = step(state, bad, jax.random.key(5))
    assert int(metrics["skipped"]) == 1
    assert int(new_state.n_skipped) == 1 and int(new_state.step) == int(state.step) + 1
    for a, b in zip(jax.tree.leaves((state.params, state.opt_state)),
                    jax.tree.leaves((new_state.params, new_state.opt_state))):
        np.testing.assert_array_equal(a, b)
    # an infinite target gives infinite loss: skipped as well
    inf = {"x": batch["x"], "y": batch["y"].at[0].set(jnp.inf)}
    newer, m2 = step(new_state, inf, jax.random.key(6))
    assert int(m2["skipped"]) == 1 and int(newer.n_skipped) == 2
    np.testing.assert_array_equal(newer.params["w"], state.params["w"])
    # training carries on normally afterwards
    after, m3 = step(newer, batch, jax.random.key(7))
    assert int(m3["skipped"]) == 0 and np.all(np.isfinite(after.params["w"]))
    assert not np.array_equal(after.params["w"], state.params["w"])


def test_without_guard_nan_propagates():
    batch = _linear_problem(jax.random.key(8))
    opt = optax.sgd(0.1)
    step = make_train_step(_lsq_loss, opt, guard_nonfinite=False)
    state = TrainState.create({"w": jnp.ones(3), "b": jnp.zeros(())}, opt)
    bad = {"x": batch["x"].at[0, 0].set(jnp.nan), "y": batch["y"]}
    state, _ = step(state, bad, jax.random.key(9))
    assert np.isnan(np.asarray(state.params["w"])).any()


def test_clip_by_global_norm_matches_manual():
    batch = _linear_problem(jax.random.key(10))
    params = {"w": 10.0 * jnp.ones(3), "b": jnp.asarray(5.0)}
    opt = optax.sgd(1.0)
    step = make_train_step(_lsq_loss, opt, clip_norm=0.5, donate=False)
    state = TrainState.create(params, opt)
    new, metrics = step(state, batch, jax.random.key(11))
    grads = jax.grad(lambda p: _lsq_loss(p, batch, None)[0])(params)
    norm = np.sqrt(sum(float(jnp.sum(g ** 2)) for g in jax.tree.leaves(grads)))
    np.testing.assert_allclose(metrics["grad_norm"], norm, rtol=1e-5)
    for k in params:
        np.testing.assert_allclose(new.params[k], params[k] - grads[k] * 0.5 / norm, rtol=1e-5)


def test_jitted_step_does_not_recompile():
    batch = _linear_problem(jax.random.key(12))
    opt = optax.adam(0.01)
    step = make_train_step(_lsq_loss, opt)
    state = TrainState.create({"w": jnp.zeros(3), "b": jnp.zeros(())}, opt)
    state, _ = step(state, batch, jax.random.key(13))
    state, _ = step(state, {"x": batch["x"] + 1.0, "y": batch["y"]}, jax.random.key(14))
    state, _ = step(state, batch, jax.random.key(15))
    assert step._cache_size() == 1


def test_model_state_is_threaded_and_guarded():
    class Counter(nn.Module):
        @nn.compact
        def __call__(self, x):
            count = self.variable("counters", "n", lambda: jnp.zeros((), jnp.int32))
            count.value += 1
            return nn.Dense(1)(x)[..., 0]

    module = Counter()
    x = jnp.ones((4, 2))
    variables = module.init(jax.random.key(16), x)

    def loss_fn(params, batch, key, model_state):
        pred, updates = module.apply({"params": params, **model_state}, batch["x"],
                                     mutable=["counters"])
        return jnp.mean((pred - batch["y"]) ** 2), {"model_state": updates}

    opt = optax.sgd(0.1)
    state = TrainState.from_variables(variables, opt)
    step = make_train_step(loss_fn, opt, has_model_state=True)
    state, _ = step(state, {"x": x, "y": jnp.zeros(4)}, jax.random.key(17))
    state, _ = step(state, {"x": x, "y": jnp.zeros(4)}, jax.random.key(18))
    assert int(state.model_state["counters"]["n"]) == 3   # 1 from init + 2 steps
    state, m = step(state, {"x": x, "y": jnp.full(4, jnp.nan)}, jax.random.key(19))
    assert int(m["skipped"]) == 1 and int(state.model_state["counters"]["n"]) == 3


def test_flax_module_and_plain_model_both_work():
    mlp = MLP(widths=(8, 1))
    model = as_model(mlp)
    x = jnp.ones((5, 3))
    variables = model.init(jax.random.key(20), x)
    assert model.apply(variables, x).shape == (5, 1)
    plain = Model(init=lambda key, x: jnp.zeros(x.shape[-1]), apply=lambda p, x: x @ p)
    assert as_model(plain) is plain
    with pytest.raises(TypeError, match="model"):
        as_model(object())


def test_eval_step_matches_loss():
    batch = _linear_problem(jax.random.key(21))
    params = {"w": jnp.ones(3), "b": jnp.asarray(0.5)}
    state = TrainState.create(params, optax.sgd(0.1))
    metrics = make_eval_step(_lsq_loss)(state, batch, jax.random.key(22))
    pred = np.asarray(batch["x"]) @ np.ones(3) + 0.5
    np.testing.assert_allclose(metrics["loss"], np.mean((pred - np.asarray(batch["y"])) ** 2),
                               rtol=1e-5)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="optimizer"):
        make_train_step(_lsq_loss, 42)
    with pytest.raises(ValueError, match="optimizer: unknown name"):
        make_train_step(_lsq_loss, "not an optimizer")
    with pytest.raises(ValueError, match="clip_norm"):
        make_train_step(_lsq_loss, optax.sgd(0.1), clip_norm=0.0)
    with pytest.raises(TypeError, match="optimizer"):
        TrainState.create({"w": jnp.zeros(2)}, None)
    vector_loss = make_train_step(lambda p, b, k: (p * b, {}), optax.sgd(0.1))
    state = TrainState.create(jnp.ones(2), optax.sgd(0.1))
    with pytest.raises(ValueError, match="loss_fn"):
        vector_loss(state, jnp.ones(2), jax.random.key(23))


def test_optimizer_by_name_equals_optax_transformation():
    batch = _linear_problem(jax.random.key(24))
    params = {"w": jnp.zeros(3), "b": jnp.zeros(())}
    by_name = make_train_step(_lsq_loss, ("adam", {"learning_rate": 0.01}), donate=False)
    by_tx = make_train_step(_lsq_loss, optax.adam(0.01), donate=False)
    s1 = TrainState.create(params, ("adam", {"learning_rate": 0.01}))
    s2 = TrainState.create(params, optax.adam(0.01))
    for k in jax.random.split(jax.random.key(25), 5):
        s1, _ = by_name(s1, batch, k)
        s2, _ = by_tx(s2, batch, k)
    np.testing.assert_array_equal(s1.params["w"], s2.params["w"])
    with pytest.raises(ValueError, match="adamm.*adam"):
        make_train_step(_lsq_loss, "adamm")
