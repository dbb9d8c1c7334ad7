"""Landscapes, optimiser trajectories in one jit, steps to tolerance, the step-size lesson."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.optimize

from jaxphys.dynamics import (WELL_MINIMA, OptimizerPath, chi2_landscape, chi2_line,
                              gaussian_wells, gd_quadratic, ill_conditioned_quadratic,
                              optimizer_trajectories, quadratic_landscape, rosenbrock,
                              steps_to_tolerance, wells_landscape)
from jaxphys.dynamics._trajectories import _run_trajectories
from jaxphys.tour._ch20_dynamics import _step_size_regime as step_size_regime

SEVEN = ["gd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "nadam"]


# ----------------------------------------------------------------------------- step sizes

@pytest.mark.parametrize("eta", [0.1, 0.5, 0.9, 1.0, 1.1])
def test_gd_quadratic_matches_closed_form(x64, eta):
    path = gd_quadratic(-1.5, 3.0, eta, 30)
    t = np.arange(31)
    closed = 3.0 + (1.0 - 2.0 * eta) ** t * (-1.5 - 3.0)
    np.testing.assert_allclose(np.asarray(path.thetas), closed, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(path.losses), (closed - 3.0) ** 2, rtol=1e-12,
                               atol=1e-24)
    err = np.asarray(path.thetas) - 3.0
    if eta > 1:
        assert abs(err[-1]) > 100 * abs(err[0])                        # diverges
        assert step_size_regime(eta) == "diverging"
    elif eta == 1.0:
        np.testing.assert_allclose(np.abs(err), 4.5)                   # bounded bounce
    else:
        assert abs(err[-1]) < 2e-3 * abs(err[0])          # converges
    if 0.5 < eta < 1:
        signs = np.sign(err[:10])
        assert np.all(signs[1:] == -signs[:-1])                        # oscillates
        assert step_size_regime(eta) == "oscillating"
    if eta < 0.5:
        assert np.all(np.diff(err) > 0) and np.all(err < 0)            # monotone approach


def test_gd_quadratic_vmaps_over_eta_in_float32():
    etas = jnp.array([0.1, 0.5, 0.9, 1.0, 1.1])
    thetas = jax.vmap(lambda e: gd_quadratic(-1.5, 3.0, e, 30).thetas)(etas)
    closed = 3.0 + (1.0 - 2.0 * np.asarray(etas)[:, None]) ** np.arange(31) * -4.5
    np.testing.assert_allclose(np.asarray(thetas), closed, rtol=1e-4, atol=1e-4)


def test_gd_quadratic_bad_input():
    with pytest.raises(ValueError, match="eta"):
        gd_quadratic(0.0, 1.0, -0.1, 5)
    with pytest.raises(ValueError, match="n"):
        gd_quadratic(0.0, 1.0, 0.1, -1)
    with pytest.raises(ValueError, match="theta0"):
        gd_quadratic(jnp.zeros(2), 1.0, 0.1, 5)


# ----------------------------------------------------------------------------- landscapes

@pytest.mark.no_key_reuse_check     # no keys: skip the checker's tracing cost
def test_landscape_minima(x64):
    assert float(rosenbrock(jnp.array([1.0, 1.0]))) == 0.0
    pts = np.random.default_rng(0).normal(size=(20, 2))
    np.testing.assert_allclose(np.asarray(jax.vmap(rosenbrock)(jnp.asarray(pts))),
                               [scipy.optimize.rosen(p) for p in pts], rtol=1e-12)
    hess = jax.hessian(ill_conditioned_quadratic)(jnp.zeros(2), 100.0)
    np.testing.assert_allclose(np.asarray(hess), np.diag([1.0, 100.0]))
    # the documented minima of the wells: stationary, positive-definite, ordered by depth
    f = jax.jit(gaussian_wells)
    fg = jax.jit(jax.value_and_grad(gaussian_wells))
    for m in WELL_MINIMA:
        ref = scipy.optimize.minimize(lambda t: tuple(map(np.asarray, fg(jnp.asarray(t)))), m,
                                      method="BFGS", jac=True, options={"gtol": 1e-12})
        np.testing.assert_allclose(ref.x, m, atol=1e-4)
        assert np.all(np.linalg.eigvalsh(np.asarray(jax.hessian(f)(jnp.asarray(m)))) > 0)
    values = [float(f(jnp.asarray(m))) for m in WELL_MINIMA]
    assert np.argmin(values) == wells_landscape().global_index


def test_chi2_landscape_minimum_is_the_lstsq_fit(x64):
    ls = chi2_landscape(jax.random.key(3), n=25)
    grad = jax.grad(ls.loss)(jnp.asarray(ls.minima[0]))
    assert np.abs(np.asarray(grad)).max() < 1e-8
    x = jnp.array([0.0, 1.0, 2.0, 3.0])
    y = jnp.array([1.0, 2.5, 5.5, 6.0])
    coef = np.polyfit(np.asarray(x), np.asarray(y), 1)
    g = jax.grad(chi2_line)(jnp.asarray(coef), x, y, 0.3)
    assert np.abs(np.asarray(g)).max() < 1e-8


# ----------------------------------------------------------------------------- trajectories

@pytest.mark.no_key_reuse_check     # no keys: skip the checker's tracing cost
def test_trajectories_match_a_hand_loop(x64):
    loss = quadratic_landscape(10.0).loss
    starts = jnp.array([[2.0, 1.0], [-1.0, 0.5], [0.3, -1.2]])
    names = ["gd", "momentum", "adam", optax.rmsprop(1.0), lambda lr: optax.sgd(lr)]
    lrs = jnp.array([0.05, 0.05, 0.1, 0.01, 0.05])
    refs = [optax.sgd(0.05), optax.sgd(0.05, momentum=0.9), optax.adam(0.1),
            optax.rmsprop(0.01), optax.sgd(0.05)]
    tr = optimizer_trajectories(loss, names, starts, 15, lrs)
    assert tr.thetas.shape == (5, 3, 16, 2) and tr.losses.shape == (5, 3, 16)
    for o, ref in enumerate(refs):
        step = jax.jit(lambda th, st, ref=ref: ref.update(jax.grad(loss)(th), st, th))
        for s in range(3):
            theta = starts[s]
            state = ref.init(theta)
            path = [theta]
            for _ in range(15):
                upd, state = step(theta, state)
                theta = theta + upd
                path.append(theta)
            np.testing.assert_allclose(np.asarray(tr.thetas[o, s]), np.stack(path),
                                       rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(np.asarray(tr.losses[o, s]),
                                       np.asarray(jax.vmap(loss)(jnp.stack(path))),
                                       rtol=1e-10, atol=1e-14)


@pytest.mark.no_key_reuse_check     # no keys: skip the checker's tracing cost
def test_seven_optimisers_sixteen_starts_compile_once():
    loss = quadratic_landscape().loss
    starts = jax.random.uniform(jax.random.key(0), (16, 2), minval=-2.0, maxval=2.0)
    lrs = jnp.full((7,), 0.01)
    before = _run_trajectories._cache_size()
    with jax.log_compiles(True):
        first = optimizer_trajectories(loss, SEVEN, starts, 50, lrs)
    assert _run_trajectories._cache_size() == before + 1
    second = optimizer_trajectories(loss, SEVEN, starts[::-1] * 0.5, 50, lrs * 2.0)
    assert _run_trajectories._cache_size() == before + 1        # new values: no recompile
    assert first.thetas.shape == (7, 16, 51, 2)
    assert not np.allclose(np.asarray(first.thetas), np.asarray(second.thetas))


@pytest.mark.no_key_reuse_check     # no keys: skip the checker's tracing cost
def test_momentum_and_adam_beat_gradient_descent_on_ill_conditioned_quadratic():
    ls = quadratic_landscape(100.0)
    kappa = 100.0
    names = ["gd", "gd", "momentum", "adam"]
    # gd at 1/L and at its best constant step 2/(L + μ); momentum and Adam at the landscape's
    lrs = jnp.array([1 / kappa, 2 / (kappa + 1), ls.learning_rates["momentum"],
                     ls.learning_rates["adam"]])
    starts = jnp.asarray(ls.starts, jnp.float32)
    tr = optimizer_trajectories(ls.loss, names, starts, 600, lrs)
    steps = np.asarray(steps_to_tolerance(tr, ls.minima[0], 1e-2))
    assert np.all(steps >= 0)                                   # everyone gets there
    gd_best = np.minimum(steps[0], steps[1])
    assert np.all(steps[2] < gd_best) and np.all(steps[3] < gd_best)
    assert np.median(steps[2]) < 0.5 * np.median(gd_best)


def test_steps_to_tolerance_by_hand():
    d = jnp.array([3.0, 0.05, 0.5, 0.05, 0.01, 0.0])             # leaves, comes back
    d2 = jnp.array([3.0, 5.0, 0.05, 0.5, 2.0, 1.0])              # passes by, ends outside
    paths = [jnp.stack([v, jnp.zeros(6)], -1) for v in (d, d2, d * jnp.inf)]
    tr = OptimizerPath(jnp.stack(paths)[None], jnp.zeros((1, 3, 6)))
    assert steps_to_tolerance(tr, jnp.zeros(2), 0.1).tolist() == [[3, -1, -1]]
    two = jnp.array([[0.0, 0.0], [0.5, 0.0]])                   # nearest of several minima
    assert steps_to_tolerance(tr, two, 0.1).tolist() == [[1, -1, -1]]
    with pytest.raises(ValueError, match="tol"):
        steps_to_tolerance(tr, jnp.zeros(2), -1.0)
    with pytest.raises(ValueError, match="theta_star"):
        steps_to_tolerance(tr, jnp.zeros(3), 0.1)


def test_bad_input():
    starts = jnp.zeros((2, 2))
    lrs = jnp.array([0.1])
    with pytest.raises(ValueError, match="loss"):                # (2,) -> (2,)
        optimizer_trajectories(lambda t: t ** 2, ["gd"], starts, 5, lrs)
    with pytest.raises(ValueError, match="loss"):                # needs data as well
        optimizer_trajectories(lambda t, data: jnp.sum(t * data), ["gd"], starts, 5, lrs)
    with pytest.raises(ValueError, match="loss"):                # (2,) -> (2, 2)
        optimizer_trajectories(lambda t: jnp.outer(t, t), ["gd"], starts, 5, lrs)
    with pytest.raises(ValueError, match="loss"):
        optimizer_trajectories("rosenbrock", ["gd"], starts, 5, lrs)
    with pytest.raises(ValueError, match="optimizer") as err:
        optimizer_trajectories(rosenbrock, ["adamax"], starts, 5, lrs)
    assert "nesterov" in str(err.value)
    with pytest.raises(ValueError, match="optimizers"):
        optimizer_trajectories(rosenbrock, "adam", starts, 5, lrs)
    with pytest.raises(ValueError, match="learning_rates"):
        optimizer_trajectories(rosenbrock, ["gd"], starts, 5, jnp.array([-0.1]))
    with pytest.raises(ValueError, match="learning_rates"):
        optimizer_trajectories(rosenbrock, ["gd", "adam"], starts, 5, lrs)
    with pytest.raises(ValueError, match="starts"):
        optimizer_trajectories(rosenbrock, ["gd"], jnp.zeros((2, 3)), 5, lrs)
    with pytest.raises(ValueError, match="starts"):
        optimizer_trajectories(rosenbrock, ["gd"], jnp.array([[jnp.nan, 0.0]]), 5, lrs)
    with pytest.raises(ValueError, match="n_steps"):
        optimizer_trajectories(rosenbrock, ["gd"], starts, -2, lrs)
