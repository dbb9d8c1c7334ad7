"""Bias–variance decomposition: closed forms and the polynomial underfit/overfit picture."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.dynamics import bias_variance, polynomial_bias_variance


def test_constant_model_closed_form(x64):
    """Mean-of-y estimator on a fixed design: bias² = mean_x (f - mean f)², variance = σ²/n."""
    n, sigma = 10, 0.5
    x_train = jnp.linspace(0.0, 1.0, n)
    f = lambda x: 2.0 * x  # noqa: E731

    def draw(k):
        return x_train, f(x_train) + sigma * jax.random.normal(k, (n,))

    x_test = jnp.linspace(0.0, 1.0, 21)
    bv = bias_variance(jax.random.key(0), lambda x, y, xt: jnp.full(xt.shape, jnp.mean(y)),
                       draw, x_test, f, sigma, n_sets=4000)
    bias2 = float(np.mean((2.0 * np.asarray(x_test) - 1.0) ** 2))
    assert abs(bv.bias2 - bias2) < 0.01
    assert abs(bv.variance - sigma ** 2 / n) < 0.003
    assert bv.noise == pytest.approx(sigma ** 2)
    assert abs(bv.bias2 + bv.variance + bv.noise - bv.test_mse) < 4 * bv.test_mse_se + 1e-3


def test_polynomial_underfit_overfit(x64):
    degrees = list(range(9))
    bv = polynomial_bias_variance(jax.random.key(1), degrees, n_train=30, sigma=0.3,
                                  n_sets=1000)
    total = bv.bias2 + bv.variance + bv.noise
    # the decomposition matches the independently estimated test error
    assert np.all(np.abs(total - bv.test_mse) < 4 * bv.test_mse_se + 0.01 * bv.test_mse)
    # underfit: degree 0-2 dominated by bias; overfit: variance grows with degree
    assert bv.bias2[0] > 10 * bv.variance[0]
    assert bv.bias2[3] < 0.1 * bv.bias2[1]
    assert bv.variance[8] > 3 * bv.variance[3]
    best = int(np.argmin(bv.test_mse))
    assert 3 <= best <= 6
    assert bv.test_mse[0] > bv.test_mse[best] and bv.test_mse[8] > bv.test_mse[best]


def test_bad_input():
    with pytest.raises(ValueError, match="degrees"):
        polynomial_bias_variance(jax.random.key(0), [0, 25], n_train=20)
    with pytest.raises(ValueError, match="sigma"):
        bias_variance(jax.random.key(0), None, None, jnp.zeros(3), None, -1.0)
    with pytest.raises(ValueError, match="n_sets"):
        bias_variance(jax.random.key(0), None, None, jnp.zeros(3), None, 1.0, n_sets=1)
