"""Per-layer gradient norms: vanishing gradients with sigmoids, not with He-initialised ReLU."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.nn._diagnostics import gradient_norms, layer_norms
from jaxphys.nn._mlp import MLP

DEPTH = 12


def _norms(activation, kernel_init):
    x = jax.random.normal(jax.random.key(0), (128, 64))
    y = jax.random.randint(jax.random.key(1), (128,), 0, 10)
    model = MLP(widths=(64,) * DEPTH + (10,), activation=activation, kernel_init=kernel_init)
    params = jax.jit(model.init)(jax.random.key(2), x)["params"]

    def loss(p, x, y):
        logp = jax.nn.log_softmax(model.apply({"params": p}, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    norms = gradient_norms(loss, params, x, y)
    assert list(norms) == [f"dense_{i}" for i in range(DEPTH + 1)]  # input → output order
    return np.array([float(v) for v in norms.values()])


def test_sigmoid_gradients_vanish_towards_the_input():
    g = _norms("sigmoid", "glorot_normal")
    # each sigmoid layer multiplies the back-propagated signal by sigma' <= 1/4
    assert np.all(np.diff(np.log(g)) > 0)          # strictly growing towards the output
    assert g[0] < 1e-4 * g[-1]
    slope = np.polyfit(np.arange(g.size), np.log10(g), 1)[0]
    assert slope > 0.4                              # > 0.4 decades lost per layer


def test_he_relu_gradients_do_not_vanish():
    g = _norms("relu", "he_normal")
    assert g.max() / g.min() < 5.0
    slope = np.polyfit(np.arange(g.size), np.log10(g), 1)[0]
    assert abs(slope) < 0.05


def test_gradient_norms_closed_form_and_leaf_grouping():
    # L = sum(W x) + b  ->  dL/dW = x broadcast over outputs, dL/db = 1
    params = {"lin": {"kernel": jnp.ones((3, 2)), "bias": jnp.zeros(2)}}
    x = jnp.array([1.0, 2.0, 2.0])

    def loss(p, x):
        return jnp.sum(x @ p["lin"]["kernel"] + p["lin"]["bias"]), {"aux": 0.0}

    by_layer = gradient_norms(loss, params, x, has_aux=True)
    np.testing.assert_allclose(float(by_layer["lin"]), np.sqrt(2 * 9.0 + 2.0), rtol=1e-6)
    by_leaf = gradient_norms(loss, params, x, has_aux=True, by="leaf")
    np.testing.assert_allclose(float(by_leaf["lin/kernel"]), np.sqrt(18.0), rtol=1e-6)
    np.testing.assert_allclose(float(by_leaf["lin/bias"]), np.sqrt(2.0), rtol=1e-6)
    assert list(layer_norms({"params": {"d_10": {"w": 1.0}, "d_2": {"w": 1.0}}})) == ["d_2",
                                                                                     "d_10"]
    with pytest.raises(ValueError, match="by"):
        layer_norms(params, by="neuron")
