"""make_train_step / make_eval_step against closed forms and invariants."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import (LossAux, Model, TrainState, as_model, make_eval_step, make_train_step,
                          skip_nonfinite)
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
    step = make_train_step(_lsq_loss, guard_nonfinite=False)
    state = TrainState.create({"w": jnp.ones(3), "b": jnp.zeros(())}, opt)
    bad = {"x": batch["x"].at[0, 0].set(jnp.nan), "y": batch["y"]}
    state, _ = step(state, bad, jax.random.key(9))
    assert np.isnan(np.asarray(state.params["w"])).any()


def test_clip_by_global_norm_matches_manual():
    """Clipping is an optax stage in the optimiser the state carries."""
    batch = _linear_problem(jax.random.key(10))
    params = {"w": 10.0 * jnp.ones(3), "b": jnp.asarray(5.0)}
    opt = optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(1.0))
    step = make_train_step(_lsq_loss, opt, donate=False)
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

    def loss_fn(variables, batch, key):
        pred, updates = module.apply(variables, batch["x"], mutable=["counters"])
        return jnp.mean((pred - batch["y"]) ** 2), LossAux({"n": updates["counters"]["n"]},
                                                             updates)

    opt = optax.sgd(0.1)
    state = TrainState.from_variables(variables, opt)
    step = make_train_step(loss_fn, opt)
    state, _ = step(state, {"x": x, "y": jnp.zeros(4)}, jax.random.key(17))
    state, _ = step(state, {"x": x, "y": jnp.zeros(4)}, jax.random.key(18))
    assert int(state.model_state["counters"]["n"]) == 3   # 1 from init + 2 steps
    state, m = step(state, {"x": x, "y": jnp.full(4, jnp.nan)}, jax.random.key(19))
    assert int(m["skipped"]) == 1 and int(state.model_state["counters"]["n"]) == 3
    # a stateful state with a loss that returns a plain dict is refused, naming the loss
    plain = make_train_step(lambda v, b, k: (jnp.mean(module.apply(v, b["x"], mutable=[
        "counters"])[0] ** 2), {}))
    with pytest.raises(TypeError, match="loss_fn.*LossAux"):
        plain(state, {"x": x, "y": jnp.zeros(4)}, jax.random.key(26))


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
    with pytest.raises(TypeError, match="optimizer"):
        make_train_step(_lsq_loss, "adam")           # names are resolved by TrainState.create
    with pytest.raises(TypeError, match="tx"):
        TrainState.create({"w": jnp.zeros(2)}, None)
    with pytest.raises(ValueError, match="optimizer: unknown name"):
        TrainState.create({"w": jnp.zeros(2)}, "not an optimizer")
    vector_loss = make_train_step(lambda p, b, k: (p * b, {}))
    state = TrainState.create(jnp.ones(2), optax.sgd(0.1))
    with pytest.raises(ValueError, match="loss_fn"):
        vector_loss(state, jnp.ones(2), jax.random.key(23))
    # the optimiser travels in the state: a second, different one is refused
    twice = make_train_step(lambda p, b, k: (jnp.sum(p * b), {}), optax.sgd(0.1))
    with pytest.raises(ValueError, match="optimizer"):
        twice(state, jnp.ones(2), jax.random.key(27))
    same = make_train_step(lambda p, b, k: (jnp.sum(p * b), {}), state.tx, donate=False)
    assert int(same(state, jnp.ones(2), jax.random.key(28))[0].step) == 1
    # a step needs a TrainState; the guard needs a step counter
    with pytest.raises(TypeError, match="state"):
        vector_loss({"params": jnp.ones(2)}, jnp.ones(2), jax.random.key(29))
    with pytest.raises(TypeError, match="state.*step"):
        skip_nonfinite(lambda s, b, k: (s, {}))({"w": 1.0}, None, jax.random.key(30))


def test_optimizer_by_name_equals_optax_transformation():
    batch = _linear_problem(jax.random.key(24))
    params = {"w": jnp.zeros(3), "b": jnp.zeros(())}
    step = make_train_step(_lsq_loss, donate=False)
    s1 = TrainState.create(params, ("adam", {"learning_rate": 0.01}))
    s2 = TrainState.create(params, optax.adam(0.01))
    for k in jax.random.split(jax.random.key(25), 5):
        s1, _ = step(s1, batch, k)
        s2, _ = step(s2, batch, k)
    np.testing.assert_array_equal(s1.params["w"], s2.params["w"])
    with pytest.raises(ValueError, match="adamm.*adam"):
        TrainState.create(params, "adamm")


def test_lbfgs_runs_through_the_same_step(x64):
    """optax.lbfgs (value, grad and value_fn for its line search) through make_train_step
    reaches the least-squares solution of an ill-conditioned quadratic."""
    batch = _linear_problem(jax.random.key(31))
    batch = {"x": batch["x"] * jnp.asarray([[1.0, 10.0, 0.1]]), "y": batch["y"]}
    state = TrainState.create({"w": jnp.zeros(3), "b": jnp.zeros(())}, optax.lbfgs())
    step = make_train_step(_lsq_loss)
    for k in jax.random.split(jax.random.key(32), 40):
        state, metrics = step(state, batch, k)
    x = np.asarray(batch["x"])
    coef, *_ = np.linalg.lstsq(np.column_stack([x, np.ones(len(x))]), np.asarray(batch["y"]),
                               rcond=None)
    np.testing.assert_allclose(state.params["w"], coef[:3], rtol=1e-8)
    assert float(metrics["grad_norm"]) < 1e-8


def test_guard_wraps_a_custom_two_part_step():
    """skip_nonfinite guards any step with a step counter, e.g. a NamedTuple of two states."""
    from typing import NamedTuple

    class Pair(NamedTuple):
        step: jax.Array
        a: TrainState
        b: TrainState

    loss = make_train_step(lambda p, x, k: (jnp.sum((p - x) ** 2), {}), guard_nonfinite=False,
                           jit=False)

    def two(state, batch, key):
        a, ma = loss(state.a, batch, key)
        b, mb = loss(state.b, 2.0 * batch, key)
        return Pair(state.step + 1, a, b), {"a": ma["loss"], "b": mb["loss"]}

    step = jax.jit(skip_nonfinite(two))
    pair = Pair(jnp.zeros((), jnp.int32), TrainState.create(jnp.ones(2), optax.sgd(0.1)),
                TrainState.create(jnp.ones(2), optax.sgd(0.1)))
    good, m = step(pair, jnp.zeros(2), jax.random.key(33))
    assert int(m["skipped"]) == 0 and int(good.step) == 1
    np.testing.assert_allclose(good.a.params, 0.8)
    bad, m = step(good, jnp.array([0.0, jnp.nan]), jax.random.key(34))
    assert int(m["skipped"]) == 1 and int(bad.step) == 2
    for x, y in zip(jax.tree.leaves((good.a, good.b)), jax.tree.leaves((bad.a, bad.b))):
        np.testing.assert_array_equal(x, y)


def test_lbfgs_reuses_the_line_search_value_and_flat_equals_pytree(x64):
    """deterministic_loss reuses optax.lbfgs's stored value and gradient (one gradient
    evaluation per step fewer: counted) and gives the same iterates; flat_optimizer(lbfgs) equals
    lbfgs on the pytree to rounding."""
    from jaxphys.core import flat_optimizer

    batch = _linear_problem(jax.random.key(35))
    calls = []

    def counted(params, b, key):
        jax.debug.callback(lambda: calls.append(1))
        return _lsq_loss(params, b, key)[0], {}

    p0 = {"w": jnp.zeros(3), "b": jnp.zeros(())}
    runs = {}
    for name, tx, det in (("plain", optax.lbfgs(), False), ("reuse", optax.lbfgs(), True),
                          ("flat", flat_optimizer(optax.lbfgs()), True)):
        step = make_train_step(counted, deterministic_loss=det, donate=False)
        state = TrainState.create(p0, tx)
        calls.clear()
        for k in jax.random.split(jax.random.key(36), 6):
            state, metrics = step(state, batch, k)
        runs[name] = (state.params, len(calls))
    for k in p0:
        np.testing.assert_allclose(runs["reuse"][0][k], runs["plain"][0][k], rtol=1e-10)
        np.testing.assert_allclose(runs["flat"][0][k], runs["plain"][0][k], rtol=1e-8)
    assert runs["reuse"][1] <= runs["plain"][1] - 5     # one evaluation saved per step (1st aside)
