"""The basic MLP: shapes, parameter count, activations, errors."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.nn import MLP, get_activation


def test_shapes_and_parameter_count():
    mlp = MLP(widths=(512, 512, 10))
    x = jnp.ones((7, 784))
    variables = mlp.init(jax.random.key(0), x)
    n_params = sum(p.size for p in jax.tree.leaves(variables))
    assert n_params == 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10
    assert mlp.apply(variables, x).shape == (7, 10)
    assert mlp.apply(variables, x[0]).shape == (10,)


def test_forward_equals_manual_composition():
    mlp = MLP(widths=(4, 3), activation="tanh")
    x = jax.random.normal(jax.random.key(1), (5, 2))
    p = mlp.init(jax.random.key(2), x)["params"]
    manual = jnp.tanh(x @ p["dense_0"]["kernel"] + p["dense_0"]["bias"][None, :])
    manual = manual @ p["dense_1"]["kernel"] + p["dense_1"]["bias"][None, :]
    np.testing.assert_allclose(mlp.apply({"params": p}, x), manual, rtol=1e-6)


def test_two_seeds_give_different_parameters():
    mlp = MLP(widths=(3,))
    a = mlp.init(jax.random.key(3), jnp.ones(2))["params"]["dense_0"]["kernel"]
    b = mlp.init(jax.random.key(4), jnp.ones(2))["params"]["dense_0"]["kernel"]
    assert not np.allclose(a, b)


def test_activation_by_name_and_errors():
    assert get_activation("relu") is nn.relu
    f = lambda x: x  # noqa: E731
    assert get_activation(f) is f
    with pytest.raises(ValueError, match="activation.*known"):
        get_activation("swishy")
    with pytest.raises(ValueError, match="widths"):
        MLP(widths=()).init(jax.random.key(5), jnp.ones(2))
