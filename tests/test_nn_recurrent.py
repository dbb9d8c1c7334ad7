"""Recurrent cells and the scan wrapper against hand-written numpy loops."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import TrainState, fit
from jaxphys.data._sequences import recall_first
from jaxphys.nn._recurrent import GRUCell, LSTMCell, Recurrent, SimpleRNNCell

B, T, F, H = 3, 7, 4, 5


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _x(seed, shape=(B, T, F)):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _numpy_lstm(p, x):
    w_x, w_h, b = (np.asarray(p[n], np.float64) for n in ("kernel_input", "kernel_hidden", "bias"))
    h = np.zeros((x.shape[0], w_h.shape[0]))
    c = np.zeros_like(h)
    outs = []
    for t in range(x.shape[1]):
        a = x[:, t] @ w_x + h @ w_h + b
        i, f, g, o = np.split(a, 4, axis=1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        outs.append(h)
    return np.stack(outs, axis=1)


def _numpy_gru(p, x):
    w_x, w_h = np.asarray(p["kernel_input"], np.float64), np.asarray(p["kernel_hidden"], np.float64)
    b_x, b_h = np.asarray(p["bias_input"], np.float64), np.asarray(p["bias_hidden"], np.float64)
    hid = w_h.shape[0]
    h = np.zeros((x.shape[0], hid))
    outs = []
    for t in range(x.shape[1]):
        gx = x[:, t] @ w_x + b_x
        gh = h @ w_h + b_h
        r = _sigmoid(gx[:, :hid] + gh[:, :hid])
        z = _sigmoid(gx[:, hid:2 * hid] + gh[:, hid:2 * hid])
        n = np.tanh(gx[:, 2 * hid:] + r * gh[:, 2 * hid:])
        h = (1 - z) * n + z * h
        outs.append(h)
    return np.stack(outs, axis=1)


def _numpy_elman(p, x):
    w_x, w_h, b = (np.asarray(p[n], np.float64) for n in ("kernel_input", "kernel_hidden", "bias"))
    h = np.zeros((x.shape[0], w_h.shape[0]))
    outs = []
    for t in range(x.shape[1]):
        h = np.tanh(x[:, t] @ w_x + h @ w_h + b)
        outs.append(h)
    return np.stack(outs, axis=1)


def _randomise(params, seed):
    """Perturb every parameter (so that zero biases are exercised too)."""
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda leaf: jnp.asarray(np.asarray(leaf) + 0.3 * rng.normal(
        size=leaf.shape), jnp.float32), params)


@pytest.mark.parametrize("cell, reference", [(LSTMCell(H), _numpy_lstm),
                                             (GRUCell(H), _numpy_gru),
                                             (SimpleRNNCell(H), _numpy_elman)])
def test_cells_match_numpy_reference_loop(cell, reference):
    x = _x(0)
    layer = Recurrent(cell)
    params = _randomise(jax.jit(layer.init)(jax.random.key(0), x), 1)
    out = np.asarray(layer.apply(params, x))
    ref = reference(params["params"]["forward"], np.asarray(x, np.float64))
    assert out.shape == (B, T, H)
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=1e-5)


def test_many_to_one_is_last_step_and_head_is_dense():
    key_init = jax.random.key(1)
    x = _x(1)
    seq = Recurrent(LSTMCell(H))
    last = Recurrent(LSTMCell(H), return_sequences=False)
    params = jax.jit(seq.init)(key_init, x)
    np.testing.assert_allclose(last.apply(params, x), seq.apply(params, x)[:, -1], atol=1e-6)
    headed = Recurrent(LSTMCell(H), return_sequences=False, out_features=2)
    hp = jax.jit(headed.init)(key_init, x)
    res = headed.apply(hp, x, return_carry=True)
    kernel, bias = hp["params"]["head"]["kernel"], hp["params"]["head"]["bias"]
    np.testing.assert_allclose(res.outputs, res.carry.h @ kernel + bias[None, :], atol=1e-5)


@pytest.mark.parametrize("cell", [LSTMCell(H), GRUCell(H)])
def test_bidirectional_is_forward_plus_reversed_run(cell):
    key_init = jax.random.key(2)
    x = _x(2)
    bi = Recurrent(cell, bidirectional=True)
    params = jax.jit(bi.init)(key_init, x)
    out = bi.apply(params, x)
    uni = Recurrent(cell)
    fwd = uni.apply({"params": {"forward": params["params"]["forward"]}}, x)
    bwd = uni.apply({"params": {"forward": params["params"]["backward"]}}, x[:, ::-1])[:, ::-1]
    assert out.shape == (B, T, 2 * H)
    np.testing.assert_allclose(out[..., :H], fwd, atol=1e-6)
    np.testing.assert_allclose(out[..., H:], bwd, atol=1e-6)
    last = Recurrent(cell, bidirectional=True, return_sequences=False).apply(params, x)
    np.testing.assert_allclose(last, jnp.concatenate([fwd[:, -1], bwd[:, 0]], -1), atol=1e-6)


def test_recurrent_kernels_are_orthogonal_per_gate():
    params = jax.jit(Recurrent(LSTMCell(6)).init)(jax.random.key(3), jnp.ones((1, 2, 3)))
    w_h = np.asarray(params["params"]["forward"]["kernel_hidden"])
    assert w_h.shape == (6, 24)
    for g in range(4):
        block = w_h[:, 6 * g:6 * (g + 1)]
        np.testing.assert_allclose(block.T @ block, np.eye(6), atol=1e-5)
    bias = np.asarray(params["params"]["forward"]["bias"])
    np.testing.assert_array_equal(bias[6:12], 1.0)          # forget gate
    np.testing.assert_array_equal(np.delete(bias, np.s_[6:12]), 0.0)


@pytest.mark.parametrize("cell", [LSTMCell(H), GRUCell(H), SimpleRNNCell(H)])
def test_gradients_flow_through_the_scan_to_early_steps(cell):
    key_init = jax.random.key(4)
    x = _x(4, (2, 30, F))
    layer = Recurrent(cell, return_sequences=False)
    params = jax.jit(layer.init)(key_init, x)

    def loss(p, xx):
        return jnp.sum(layer.apply(p, xx) ** 2)

    g_params, g_x = jax.grad(loss, argnums=(0, 1))(params, x)
    for leaf in jax.tree.leaves(g_params):
        assert np.all(np.isfinite(leaf)) and np.any(leaf != 0)
    g_first = np.abs(np.asarray(g_x[:, 0]))            # the output at t=29 depends on x_0
    assert np.all(np.isfinite(g_x)) and g_first.max() > 1e-8


def test_bad_inputs_raise_naming_the_argument():
    layer = Recurrent(LSTMCell(H))
    params = jax.jit(layer.init)(jax.random.key(5), jnp.ones((2, 3, F)))
    with pytest.raises(ValueError, match="x: expected shape \\(batch, time, features\\)"):
        layer.apply(params, jnp.ones((3, F)))
    with pytest.raises(ValueError, match="x: expected 4 input features"):
        layer.apply(params, jnp.ones((2, 3, F + 1)))
    with pytest.raises(ValueError, match="x: expected at least one time step"):
        layer.apply(params, jnp.ones((2, 0, F)))
    with pytest.raises(ValueError, match="recurrent_init"):
        Recurrent(GRUCell(H, recurrent_init="nope")).init(jax.random.key(6), jnp.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="hidden"):
        Recurrent(SimpleRNNCell(0)).init(jax.random.key(7), jnp.ones((1, 2, 3)))


def test_jitted_apply_does_not_recompile():
    layer = Recurrent(GRUCell(H))
    x = jnp.ones((2, 4, F))
    params = jax.jit(layer.init)(jax.random.key(8), x)
    apply = jax.jit(layer.apply)
    apply(params, x)
    apply(params, x + 1.0)
    assert apply._cache_size() == 1


@pytest.mark.no_key_reuse_check
def test_lstm_learns_a_task_that_needs_memory():
    """Recall the first of 12 random symbols (chance 1/4): only memory can solve it."""
    data_key, test_key, init_key, fit_key = jax.random.split(jax.random.key(9), 4)
    train = recall_first(data_key, n=1024, length=12, n_symbols=4)
    test = recall_first(test_key, n=512, length=12, n_symbols=4)
    model = Recurrent(LSTMCell(32), return_sequences=False, out_features=4)

    def loss_fn(params, batch, key):
        logits = model.apply({"params": params}, batch["x"])
        logp = jax.nn.log_softmax(logits)
        nll = -jnp.take_along_axis(logp, batch["y"][:, None], axis=1)
        return jnp.mean(nll), {"accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["y"])}

    opt = optax.adam(1e-2)
    params = model.init(init_key, train.x[:1])["params"]
    res = fit(fit_key, TrainState.create(params, opt), {"x": train.x, "y": train.y},
              loss_fn=loss_fn, n_steps=200, batch_size=64, progress=False)
    logits = model.apply({"params": res.state.params}, test.x)
    accuracy = float(jnp.mean(jnp.argmax(logits, -1) == test.y))
    assert accuracy > 0.9, accuracy                          # chance is 0.25
