"""Activations against their numpy/scipy formulas; initialisers have their stated variances."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special

from jaxphys.nn._activations import activation_names, get_activation
from jaxphys.nn._initializers import get_initializer, initializer_names
from jaxphys.nn._mlp import MLP

X = np.linspace(-6.0, 6.0, 101)


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


SELU_L, SELU_A = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
REFERENCES = {
    "sigmoid": _sig,
    "tanh": np.tanh,
    "relu": lambda x: np.maximum(x, 0.0),
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.01 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: SELU_L * np.where(x > 0, x, SELU_A * np.expm1(x)),
    "gelu_exact": lambda x: 0.5 * x * (1 + special.erf(x / np.sqrt(2))),
    "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x * _sig(x),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "identity": lambda x: x,
}


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_elementwise_activation_matches_formula(name, x64):
    got = np.asarray(get_activation(name)(jnp.asarray(X)))
    np.testing.assert_allclose(got, REFERENCES[name](X), rtol=1e-12, atol=1e-12)


def test_softmax_and_log_softmax_match_scipy(x64):
    z = np.random.default_rng(0).normal(size=(4, 7)) * 30  # large logits: stability
    np.testing.assert_allclose(get_activation("softmax")(jnp.asarray(z)),
                               special.softmax(z, axis=-1), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(get_activation("log_softmax")(jnp.asarray(z)),
                               special.log_softmax(z, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(get_activation("softmax")(jnp.asarray(z))).sum(-1),
                               1.0, rtol=1e-12)


def test_activation_names_are_case_insensitive_and_unknown_lists_known():
    assert get_activation("Leaky-ReLU") is get_activation("leaky_relu")
    assert {"sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu",
            "softmax", "log_softmax"} <= set(activation_names())
    with pytest.raises(ValueError, match="activation.*known.*sigmoid"):
        get_activation("swishy")
    with pytest.raises(TypeError, match="activation"):
        get_activation(3)
    with pytest.raises(ValueError, match="activation"):
        MLP(widths=(3, 1), activation="nope").init(jax.random.key(0), jnp.ones(2))


FAN_IN, FAN_OUT = 400, 600
STATED_VARIANCE = {
    "glorot_uniform": 2 / (FAN_IN + FAN_OUT), "glorot_normal": 2 / (FAN_IN + FAN_OUT),
    "xavier_uniform": 2 / (FAN_IN + FAN_OUT), "xavier_normal": 2 / (FAN_IN + FAN_OUT),
    "he_uniform": 2 / FAN_IN, "he_normal": 2 / FAN_IN,
    "kaiming_uniform": 2 / FAN_IN, "kaiming_normal": 2 / FAN_IN,
    "lecun_uniform": 1 / FAN_IN, "lecun_normal": 1 / FAN_IN,
}


@pytest.mark.parametrize("name", sorted(STATED_VARIANCE))
def test_initialiser_has_stated_variance(name):
    w = np.asarray(get_initializer(name)(jax.random.key(1), (FAN_IN, FAN_OUT)), np.float64)
    # 240 000 samples: the sample variance is within ~0.5 % (a few standard errors)
    assert abs(w.mean()) < 0.01 * np.sqrt(STATED_VARIANCE[name])
    np.testing.assert_allclose(w.var(), STATED_VARIANCE[name], rtol=0.02)
    if "uniform" in name:  # bounded by sqrt(3 var)
        assert np.abs(w).max() <= np.sqrt(3 * STATED_VARIANCE[name]) * (1 + 1e-6)


def test_conv_kernel_fans_include_receptive_field():
    # (kh, kw, c_in, c_out) = (3, 3, 32, 64): fan_in = 288, fan_out = 576
    w = np.asarray(get_initializer("he_normal")(jax.random.key(2), (3, 3, 32, 64)))
    np.testing.assert_allclose(w.var(), 2 / 288, rtol=0.03)
    w = np.asarray(get_initializer("glorot_uniform")(jax.random.key(3), (3, 3, 32, 64)))
    np.testing.assert_allclose(w.var(), 2 / (288 + 576), rtol=0.03)


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (3, 4, 20)])
def test_orthogonal_is_orthogonal(shape):
    q = np.asarray(get_initializer("orthogonal")(jax.random.key(4), shape), np.float64)
    m = q.reshape(-1, shape[-1])
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    np.testing.assert_allclose(gram, np.eye(gram.shape[0]), atol=1e-5)


def test_zeros_and_two_seeds_differ():
    assert not np.any(np.asarray(get_initializer("zeros")(jax.random.key(5), (3, 2))))
    a = get_initializer("he_normal")(jax.random.key(6), (8, 8))
    b = get_initializer("he_normal")(jax.random.key(7), (8, 8))
    assert not np.allclose(a, b)


def test_unknown_initializer_lists_names_and_mlp_uses_named_init():
    with pytest.raises(ValueError, match="initializer.*known.*glorot_uniform"):
        get_initializer("glorot_sideways")
    assert {"glorot_uniform", "he_normal", "lecun_normal", "orthogonal", "zeros"} <= set(
        initializer_names())
    with pytest.raises(ValueError, match="initializer"):
        MLP(widths=(3,), kernel_init="bogus").init(jax.random.key(8), jnp.ones(2))
    p = MLP(widths=(256,), kernel_init="he_uniform").init(jax.random.key(9),
                                                          jnp.ones((1, 512)))["params"]
    np.testing.assert_allclose(np.var(p["dense_0"]["kernel"]), 2 / 512, rtol=0.05)
