"""Optimisers and schedules by name: step-by-step equality with optax, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core._optimizers import (OPTIMIZERS, SCHEDULES, get_optimizer, get_schedule,
                                      resolve_optimizer)

# The optax transformation each name must equal (written out independently).
REFERENCE = {
    "gd": lambda lr: optax.sgd(lr),
    "sgd": lambda lr: optax.sgd(lr),
    "minibatch_sgd": lambda lr: optax.sgd(lr),
    "momentum": lambda lr: optax.sgd(lr, momentum=0.9),
    "nesterov": lambda lr: optax.sgd(lr, momentum=0.9, nesterov=True),
    "adagrad": lambda lr: optax.adagrad(lr, initial_accumulator_value=0.1, eps=1e-7),
    "rmsprop": lambda lr: optax.rmsprop(lr, decay=0.9, eps=1e-8),
    "adam": lambda lr: optax.adam(lr, b1=0.9, b2=0.999, eps=1e-8),
    "nadam": lambda lr: optax.nadam(lr, b1=0.9, b2=0.999, eps=1e-8),
    "adamw": lambda lr: optax.adamw(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=1e-4),
}


def _random_quadratic(seed=0, p=5):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    hess = a @ a.T / p + 0.1 * np.eye(p)
    centre = rng.normal(size=p)
    return (lambda th: 0.5 * (th - centre) @ jnp.asarray(hess) @ (th - centre)), rng.normal(size=p)


def _run(opt, loss, theta0, n=20):
    params = {"w": jnp.asarray(theta0, jnp.float32)}
    state = opt.init(params)
    grad = jax.grad(lambda p: loss(p["w"]))
    path = []
    for _ in range(n):
        updates, state = opt.update(grad(params), state, params)
        params = optax.apply_updates(params, updates)
        path.append(np.asarray(params["w"]))
    return np.stack(path)


def test_names_cover_the_issue():
    assert set(OPTIMIZERS) == set(REFERENCE)
    assert SCHEDULES == ("constant", "step", "exponential", "cosine", "warmup_cosine")


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_named_optimizer_equals_optax_step_by_step(name):
    loss, theta0 = _random_quadratic()
    lr = 0.05
    ours = _run(get_optimizer(name, learning_rate=lr), loss, theta0)
    ref = _run(REFERENCE[name](lr), loss, theta0)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-7)
    assert np.abs(ours[-1] - theta0).max() > 1e-3      # it moved


def test_hyperparameters_and_default_learning_rate():
    loss, theta0 = _random_quadratic(1)
    np.testing.assert_allclose(_run(get_optimizer("momentum", 0.1, momentum=0.5), loss, theta0),
                               _run(optax.sgd(0.1, momentum=0.5), loss, theta0), atol=1e-7)
    np.testing.assert_allclose(_run(get_optimizer("adam"), loss, theta0),
                               _run(optax.adam(1e-3), loss, theta0), atol=1e-7)
    np.testing.assert_allclose(_run(get_optimizer("sgd"), loss, theta0),
                               _run(optax.sgd(1e-2), loss, theta0), atol=1e-7)


def test_transform_passes_through_and_resolve():
    tx = optax.lamb(1e-3)
    assert get_optimizer(tx) is tx
    assert resolve_optimizer(tx) is tx
    loss, theta0 = _random_quadratic(2)
    np.testing.assert_allclose(_run(resolve_optimizer("rmsprop"), loss, theta0),
                               _run(optax.rmsprop(1e-3), loss, theta0), atol=1e-7)
    np.testing.assert_allclose(
        _run(resolve_optimizer(("nesterov", {"learning_rate": 0.02})), loss, theta0),
        _run(optax.sgd(0.02, momentum=0.9, nesterov=True), loss, theta0), atol=1e-7)
    with pytest.raises(TypeError, match="optimizer"):
        resolve_optimizer(3.0)


def test_traced_learning_rate_sweeps_without_recompiling():
    loss, theta0 = _random_quadratic(3)
    n_traces = []

    @jax.jit
    def one_step(lr):
        n_traces.append(1)
        opt = get_optimizer("adam", lr)
        params = jnp.asarray(theta0, jnp.float32)
        updates, _ = opt.update(jax.grad(loss)(params), opt.init(params), params)
        return updates

    for lr in (0.1, 0.2, 0.3):
        np.testing.assert_allclose(
            one_step(jnp.float32(lr)),
            _run(optax.adam(lr), loss, theta0, n=1)[0] - np.asarray(theta0, np.float32),
            atol=1e-6)
    assert len(n_traces) == 1


STEPS = [0, 1, 7, 10, 33, 50, 99, 100, 150]


@pytest.mark.parametrize("name, kw, ref", [
    ("constant", {"value": 0.3}, optax.constant_schedule(0.3)),
    ("step", {"init_value": 0.1, "boundaries_and_scales": {10: 0.5, 50: 0.1}},
     optax.piecewise_constant_schedule(0.1, {10: 0.5, 50: 0.1})),
    ("step", {"init_value": 0.1, "transition_steps": 25, "decay_rate": 0.5},
     optax.exponential_decay(0.1, 25, 0.5, staircase=True)),
    ("exponential", {"init_value": 0.1, "transition_steps": 25, "decay_rate": 0.5},
     optax.exponential_decay(0.1, 25, 0.5)),
    ("cosine", {"init_value": 0.2, "decay_steps": 100, "alpha": 0.1},
     optax.cosine_decay_schedule(0.2, 100, alpha=0.1)),
    ("warmup_cosine", {"peak_value": 0.5, "warmup_steps": 10, "decay_steps": 100},
     optax.warmup_cosine_decay_schedule(0.0, 0.5, 10, 100)),
])
def test_schedules_equal_optax(name, kw, ref):
    sched = get_schedule(name, **kw)
    np.testing.assert_allclose([float(sched(t)) for t in STEPS],
                               [float(ref(t)) for t in STEPS], rtol=1e-7, atol=0)


def test_schedule_values_by_hand():
    warm = get_schedule("warmup_cosine", peak_value=1.0, warmup_steps=10, decay_steps=110)
    assert float(warm(0)) == 0.0 and float(warm(5)) == pytest.approx(0.5)
    assert float(warm(10)) == pytest.approx(1.0) and float(warm(60)) == pytest.approx(0.5)
    cos = get_schedule("cosine", init_value=2.0, decay_steps=100)
    assert float(cos(50)) == pytest.approx(1.0) and float(cos(100)) == pytest.approx(0.0)


def test_optimizer_with_schedule_equals_optax():
    loss, theta0 = _random_quadratic(4)
    kw = {"init_value": 0.1, "decay_steps": 20}
    ref = _run(optax.adam(optax.cosine_decay_schedule(0.1, 20)), loss, theta0)
    for lr, skw in ((("cosine", kw), None), ("cosine", kw),
                    (get_schedule("cosine", **kw), None)):
        np.testing.assert_allclose(
            _run(get_optimizer("adam", lr, schedule_kwargs=skw), loss, theta0), ref, atol=1e-7)


def test_unknown_optimizer_lists_known_names():
    with pytest.raises(ValueError, match="optimizer") as err:
        get_optimizer("adamax", 0.1)
    for name in OPTIMIZERS:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="optimizer"):
        resolve_optimizer("Adam")


def test_unknown_schedule_lists_known_names():
    with pytest.raises(ValueError, match="schedule") as err:
        get_schedule("linear", init_value=0.1)
    for name in SCHEDULES:
        assert name in str(err.value)
    with pytest.raises(ValueError, match="schedule"):
        get_optimizer("sgd", "triangle")


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_bad_learning_rate(bad):
    with pytest.raises(ValueError, match="learning_rate"):
        get_optimizer("adam", learning_rate=bad)


def test_bad_keywords_and_rates():
    with pytest.raises(ValueError, match="betas"):
        get_optimizer("adam", 0.1, betas=(0.9, 0.99))
    with pytest.raises(ValueError, match="momentum"):
        get_optimizer("momentum", 0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="init_value"):
        get_schedule("cosine", init_value=-1.0, decay_steps=10)
    with pytest.raises(ValueError, match="decay_steps"):
        get_schedule("cosine", init_value=1.0)
    with pytest.raises(ValueError, match="not both"):
        get_schedule("step", init_value=1.0, boundaries_and_scales={5: 0.1}, decay_rate=0.5)
    with pytest.raises(ValueError, match="learning_rate"):
        get_optimizer(optax.sgd(0.1), learning_rate=0.2)
