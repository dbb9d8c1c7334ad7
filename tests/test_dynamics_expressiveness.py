"""Expressiveness: the width sweep's error falls with width (universal approximation);
random-features regression has its double-descent peak at P ≈ N."""

import flax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.dynamics import (apply_features, depth_sweep, double_descent, fit_mlp_seeds,
                              init_feature_map, min_norm_lstsq, mlp_param_count, width_for_budget,
                              width_sweep)
from jaxphys.nn import MLP


def _target(x):
    return jnp.sin(2 * jnp.pi * x) + 0.5 * jnp.cos(5 * jnp.pi * x)


def test_param_count_matches_flax():
    for d_in, widths in ((3, (5, 4, 2)),):
        params = MLP(widths=widths).init(jax.random.key(0), jnp.ones((1, d_in)))
        assert mlp_param_count(d_in, widths) == sum(
            x.size for x in jax.tree.leaves(flax.core.unfreeze(params)))
    for depth in (1, 2, 4):
        w = width_for_budget(depth, 300)
        counts = {v: mlp_param_count(1, (v,) * depth + (1,)) for v in (w - 1, w, w + 1)}
        assert abs(counts[w] - 300) <= min(abs(c - 300) for c in counts.values())


@pytest.mark.no_key_reuse_check            # a convergence test; keys are covered below
def test_width_sweep_error_falls_with_width():
    x = jnp.linspace(-1.0, 1.0, 40)
    x_test = jax.random.uniform(jax.random.key(1), (200,), minval=-1.0, maxval=1.0)
    res = width_sweep(jax.random.key(0), x, _target(x), x_test, _target(x_test), [1, 4, 16],
                      n_seeds=3, n_steps=800, learning_rate=0.02)
    test = np.median(res.test_mse, axis=1)
    train = np.median(res.train_mse, axis=1)
    assert res.n_params.tolist() == [4, 13, 49]
    assert test[0] > 2 * test[1] > 4 * test[2], test
    assert np.all(np.diff(train) < 0)
    assert test[2] < 0.05 * float(jnp.var(_target(x_test)))       # a good fit at width 16


def test_seeds_differ_and_depth_budget():
    x = jnp.linspace(-1.0, 1.0, 8)
    res = depth_sweep(jax.random.key(2), x, jnp.sin(x), x, jnp.sin(x), [2], 80, n_seeds=2,
                      n_steps=3)
    assert res.train_mse[0, 0] != res.train_mse[0, 1]               # two seeds differ
    assert res.depths.tolist() == [2] and res.widths.tolist() == [width_for_budget(2, 80)]
    assert abs(int(res.n_params[0]) - 80) < 0.2 * 80


def test_bad_input():
    x = jnp.zeros(5)
    with pytest.raises(ValueError, match="widths"):
        width_sweep(jax.random.key(0), x, x, x, x, [0, 4])
    with pytest.raises(ValueError, match="y_train"):
        width_sweep(jax.random.key(0), x, jnp.zeros(4), x, x, [4])
    with pytest.raises(ValueError, match="learning_rate"):
        width_sweep(jax.random.key(0), x, x, x, x, [4], learning_rate=-0.1)
    with pytest.raises(ValueError, match="activation"):
        width_sweep(jax.random.key(0), x, x, x, x, [4], activation="swish2")
    with pytest.raises(ValueError, match="widths"):
        fit_mlp_seeds(jax.random.key(0), x, x, x, x, (4, 2))


# ----------------------------------------------------------------------------- double descent

def _teacher(key, n_train=40, n_test=500, d=10, noise=0.3):
    beta_key, xtr_key, noise_key, xte_key = jax.random.split(key, 4)
    beta = jax.random.normal(beta_key, (d,)) / np.sqrt(d)
    x_train = jax.random.normal(xtr_key, (n_train, d))
    x_test = jax.random.normal(xte_key, (n_test, d))
    y_train = jnp.tanh(2 * x_train @ beta) + noise * jax.random.normal(noise_key, (n_train,))
    return x_train, y_train, x_test, jnp.tanh(2 * x_test @ beta)


def test_min_norm_lstsq_equals_numpy_pinv(x64):
    rng = np.random.default_rng(0)
    for shape in ((10, 4), (6, 15), (8, 8)):
        phi = rng.normal(size=shape)
        y = rng.normal(size=shape[0])
        np.testing.assert_allclose(np.asarray(min_norm_lstsq(phi, y)), np.linalg.pinv(phi) @ y,
                                   rtol=1e-8, atol=1e-10)
    phi, y = rng.normal(size=(6, 15)), rng.normal(size=6)
    lam = 0.3
    ridge = np.linalg.solve(phi.T @ phi + lam * np.eye(15), phi.T @ y)
    np.testing.assert_allclose(np.asarray(min_norm_lstsq(phi, y, ridge=lam)), ridge, rtol=1e-8)


def test_features_by_hand():
    fm = init_feature_map(jax.random.key(1), 2, 3, kind="fourier", scale=2.0)
    x = jnp.array([[0.5, -1.0]])
    pre = np.asarray(x) @ np.asarray(fm.weights) + np.asarray(fm.bias)
    np.testing.assert_allclose(np.asarray(apply_features(fm, x, kind="fourier")),
                               np.sqrt(2.0) * np.cos(pre) / np.sqrt(3), rtol=1e-5)
    assert np.all((0 <= np.asarray(fm.bias)) & (np.asarray(fm.bias) <= 2 * np.pi))
    relu = init_feature_map(jax.random.key(1), 2, 3)
    pre = np.asarray(x) @ np.asarray(relu.weights) + np.asarray(relu.bias)
    np.testing.assert_allclose(np.asarray(apply_features(relu, x)),
                               np.maximum(pre, 0) / np.sqrt(3), rtol=1e-5)
    other = init_feature_map(jax.random.key(2), 2, 3)
    assert not np.allclose(np.asarray(relu.weights), np.asarray(other.weights))


N_TRAIN = 40
PS = [5, 10, 20, 30, 36, 40, 44, 50, 60, 80, 160, 400]


@pytest.fixture(scope="module")
def sweeps():
    """One double-descent sweep per feature kind, in float64 (computed once)."""
    out = {}
    with jax.enable_x64(True):
        data = _teacher(jax.random.key(1), n_train=N_TRAIN, n_test=300)
        out["relu"] = double_descent(jax.random.key(2), *data, PS, n_seeds=5)
    return data, out


def test_double_descent_fits_equal_numpy_pinv(sweeps):
    (x_train, y_train, x_test, y_test), dd = sweeps[0], sweeps[1]["relu"]
    with jax.enable_x64(True):
        # rebuild the sweep's first feature map and fit with numpy's pseudo-inverse
        fm = init_feature_map(jax.random.split(jax.random.key(2), 5)[0], 10, max(PS))
        phi_tr = np.asarray(apply_features(fm, x_train)) * np.sqrt(max(PS))
        phi_te = np.asarray(apply_features(fm, x_test)) * np.sqrt(max(PS))
    for k, p in enumerate(PS):
        if abs(p - N_TRAIN) <= 4:
            continue          # at the threshold both cut tiny singular values differently
        w = np.linalg.pinv(phi_tr[:, :p]) @ np.asarray(y_train)
        np.testing.assert_allclose(float(dd.test_mse[k, 0]),
                                   np.mean((phi_te[:, :p] @ w - np.asarray(y_test)) ** 2),
                                   rtol=1e-6)
        np.testing.assert_allclose(float(dd.train_mse[k, 0]),
                                   np.mean((phi_tr[:, :p] @ w - np.asarray(y_train)) ** 2),
                                   rtol=1e-6, atol=1e-20)


def test_test_error_peaks_at_the_interpolation_threshold(sweeps, kind="relu"):
    n, ps, dd = N_TRAIN, PS, sweeps[1][kind]
    test = np.median(np.asarray(dd.test_mse), axis=1)
    train = np.median(np.asarray(dd.train_mse), axis=1)
    peak = ps[int(np.argmax(test))]
    assert 0.8 * n <= peak <= 1.25 * n, (peak, test)
    assert test.max() > 3 * test[ps.index(10)]                   # far above the U's bottom
    assert test[-1] < test.max() / 5                             # and falls again beyond
    assert np.all(train[np.asarray(ps) > 1.1 * n] < 1e-12)       # interpolation beyond P ≈ N
    assert np.all(np.diff(train[np.asarray(ps) <= n]) < 0)        # training error falls


def test_random_features_bad_input():
    x = jnp.zeros((5, 2))
    y = jnp.zeros(5)
    with pytest.raises(ValueError, match="y_train"):
        double_descent(jax.random.key(0), x, jnp.zeros(4), x, y, [3])
    with pytest.raises(ValueError, match="kind"):
        double_descent(jax.random.key(0), x, y, x, y, [3], kind="tanh")
    with pytest.raises(ValueError, match="n_features"):
        double_descent(jax.random.key(0), x, y, x, y, [0, 3])
    with pytest.raises(ValueError, match="x_test"):
        double_descent(jax.random.key(0), x, y, jnp.zeros((5, 3)), y, [3])
    with pytest.raises(ValueError, match="ridge"):
        min_norm_lstsq(x, y, ridge=-1.0)
    with pytest.raises(ValueError, match="x"):
        apply_features(init_feature_map(jax.random.key(0), 3, 4), x)
