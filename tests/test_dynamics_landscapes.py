"""jaxphys.dynamics loss_surface and gradient_descent against loops and closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.dynamics import OptimizerPath, gradient_descent, loss_surface
from jaxphys.dynamics._trajectories import _descend

THETA_STAR = np.array([1.5, -0.5, 2.0])


def quadratic(theta):
    return jnp.sum((theta - jnp.asarray(THETA_STAR, theta.dtype)) ** 2)


def test_loss_surface_equals_double_loop(x64):
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10, 30)
    y = 2.0 * x + 1.0 + rng.normal(size=30)

    def chi2(theta):                        # straight-line χ² in (slope, intercept)
        return jnp.sum((y - theta[0] * x - theta[1]) ** 2)

    g1 = np.linspace(1.0, 3.0, 7)
    g2 = np.linspace(-1.0, 3.0, 5)
    surface = loss_surface(chi2, g1, g2)
    assert surface.shape == (7, 5)
    loop = np.array([[np.sum((y - a * x - b) ** 2) for b in g2] for a in g1])
    np.testing.assert_allclose(surface, loop, rtol=1e-12)


def test_gradient_descent_quadratic_closed_form(x64):
    theta0 = np.array([0.0, 3.0, -1.0])
    eta, n = 0.1, 25
    traj = gradient_descent(quadratic, theta0, eta, n)
    assert isinstance(traj, OptimizerPath)
    assert traj.thetas.shape == (n + 1, 3) and traj.losses.shape == (n + 1,)
    t = np.arange(n + 1)[:, None]
    closed = THETA_STAR + (1 - 2 * eta) ** t * (theta0 - THETA_STAR)
    np.testing.assert_allclose(traj.thetas, closed, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(traj.losses, np.sum((closed - THETA_STAR) ** 2, axis=1),
                               rtol=1e-12, atol=1e-14)


def test_learning_rate_is_traced_vmap_and_no_recompile(x64):
    theta0 = np.array([0.0, 0.0, 0.0])
    gradient_descent(quadratic, theta0, 0.1, 10)
    size = _descend._cache_size()
    gradient_descent(quadratic, theta0, 0.3, 10)
    assert _descend._cache_size() == size
    etas = jnp.array([0.05, 0.25, 0.45])
    finals = jax.vmap(lambda eta: gradient_descent(quadratic, theta0, eta, 10).thetas[-1])(etas)
    closed = THETA_STAR + (1 - 2 * np.asarray(etas))[:, None] ** 10 * (theta0 - THETA_STAR)
    np.testing.assert_allclose(finals, closed, rtol=1e-12, atol=1e-14)


def test_zero_steps():
    traj = gradient_descent(quadratic, jnp.zeros(3), 0.1, 0)
    assert traj.thetas.shape == (1, 3)
    np.testing.assert_allclose(traj.losses, [np.sum(THETA_STAR**2)], rtol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="theta1_grid"):
        loss_surface(quadratic, np.zeros((2, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="theta2_grid"):
        loss_surface(quadratic, np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="loss"):
        loss_surface(lambda t: t * 2.0, np.zeros(2), np.zeros(3))      # not a scalar
    with pytest.raises(ValueError, match="loss"):
        loss_surface(None, np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="theta0"):
        gradient_descent(quadratic, np.zeros((3, 1)), 0.1, 5)
    with pytest.raises(ValueError, match="theta0"):
        gradient_descent(quadratic, np.array([0.0, np.nan, 0.0]), 0.1, 5)
    with pytest.raises(ValueError, match="learning_rate"):
        gradient_descent(quadratic, np.zeros(3), -0.1, 5)
    with pytest.raises(ValueError, match="learning_rate"):
        gradient_descent(quadratic, np.zeros(3), np.array([0.1, 0.2]), 5)
    with pytest.raises(ValueError, match="n_steps"):
        gradient_descent(quadratic, np.zeros(3), 0.1, -1)
    with pytest.raises(ValueError, match="n_steps"):
        gradient_descent(quadratic, np.zeros(3), 0.1, 2.5)
    with pytest.raises(ValueError, match="loss"):
        gradient_descent(lambda t: t, np.zeros(3), 0.1, 5)
