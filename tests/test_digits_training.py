"""Done-when: digits with a 75/25 stratified split, MLP >= 0.96 and a small CNN >= 0.975 test
accuracy (real training with jaxphys.core.fit); batch-norm and dropout train/eval modes."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import LossAux, TrainState, fit
from jaxphys.data import Standardizer, train_val_test_split
from jaxphys.data._digits import load_digits
from jaxphys.nn._conv import CNN
from jaxphys.nn._mlp import MLP


@pytest.fixture(scope="module")
def digits():
    ds = load_digits()
    x, y = np.asarray(ds.x).reshape(-1, 64), np.asarray(ds.y)
    split = train_val_test_split(jax.random.key(0), x.shape[0], (0.75, 0.0, 0.25), stratify=y)
    tr, te = np.asarray(split.train), np.asarray(split.test)
    # stratified: every class keeps its share in the test set (to within two examples)
    np.testing.assert_allclose(np.bincount(y[te], minlength=10),
                               0.25 * np.bincount(y, minlength=10), atol=2)
    scaler = Standardizer.fit(x[tr])  # statistics of the training set only
    z = np.asarray(scaler.transform(x))
    return z[tr], y[tr], z[te], y[te]


def _xent(logits, labels):
    """Mean softmax cross-entropy, written out here (independent of jaxphys.losses)."""
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))


def _train_and_score(model, x_tr, y_tr, x_te, y_te, n_epochs):
    variables = jax.jit(model.init)(jax.random.key(1), x_tr[:1])
    opt = optax.adam(1e-3)
    state = TrainState.from_variables(variables, opt)

    def loss_fn(params, batch, key):
        logits = model.apply({"params": params}, batch["x"], train=True, rngs={"dropout": key})
        return _xent(logits, batch["y"]), {}

    res = fit(jax.random.key(2), state, {"x": x_tr, "y": y_tr}, loss_fn=loss_fn,
              n_epochs=n_epochs, batch_size=64, progress=False)
    logits = jax.jit(model.apply)({"params": res.state.params}, x_te)
    return float(np.mean(np.argmax(np.asarray(logits), -1) == y_te))


@pytest.mark.no_key_reuse_check
def test_mlp_reaches_096(digits):
    x_tr, y_tr, x_te, y_te = digits
    acc = _train_and_score(MLP(widths=(128, 10)), x_tr, y_tr, x_te, y_te, n_epochs=40)
    print(f"MLP test accuracy {acc:.4f}")
    assert acc >= 0.96, acc


@pytest.mark.no_key_reuse_check
def test_small_cnn_reaches_0975(digits):
    x_tr, y_tr, x_te, y_te = digits
    img = lambda a: a.reshape(-1, 8, 8, 1)  # noqa: E731  channels last
    acc = _train_and_score(CNN(features=(32,), dense=(64,)), img(x_tr), y_tr, img(x_te), y_te,
                           n_epochs=30)
    print(f"CNN test accuracy {acc:.4f}")
    assert acc >= 0.975, acc


@pytest.mark.no_key_reuse_check
def test_batch_norm_mlp_trains_with_fit_model_state(digits):
    x_tr, y_tr, x_te, y_te = digits
    model = MLP(widths=(128, 10), norm="batch")
    variables = jax.jit(model.init)(jax.random.key(12), x_tr[:2])
    opt = optax.adam(1e-3)
    state = TrainState.from_variables(variables, opt)
    assert set(state.model_state) == {"batch_stats"}

    def loss_fn(variables, batch, key):
        logits, new_state = model.apply(variables, batch["x"], train=True,
                                        rngs={"dropout": key}, mutable=["batch_stats"])
        return _xent(logits, batch["y"]), LossAux({}, new_state)

    res = fit(jax.random.key(13), state, {"x": x_tr, "y": y_tr}, loss_fn=loss_fn, n_epochs=10,
              batch_size=64, progress=False)
    stats = res.state.model_state["batch_stats"]["norm_0"]["batch_norm"]
    assert not np.allclose(stats["mean"], 0.0) and not np.allclose(stats["var"], 1.0)
    logits = jax.jit(model.apply)(res.state.variables, x_te)  # eval: running averages
    acc = float(np.mean(np.argmax(np.asarray(logits), -1) == y_te))
    print(f"batch-norm MLP test accuracy {acc:.4f}")
    assert acc > 0.93, acc


def test_batch_norm_train_and_eval_modes():
    model = MLP(widths=(16, 3), norm="batch", momentum=0.9)
    x = jax.random.normal(jax.random.key(3), (32, 4)) * 3.0 + 5.0
    variables = model.init(jax.random.key(4), x)
    stats0 = variables["batch_stats"]["norm_0"]["batch_norm"]
    np.testing.assert_array_equal(stats0["mean"], 0.0)
    np.testing.assert_array_equal(stats0["var"], 1.0)
    y_train, updates = model.apply(variables, x, train=True, mutable=["batch_stats"])
    y_eval = model.apply(variables, x)  # eval: running averages (still the initial 0 / 1)
    assert not np.allclose(y_train, y_eval)
    # the running mean moved by (1 - momentum) of the batch mean of the pre-activations
    h = np.asarray(x @ variables["params"]["dense_0"]["kernel"]
                   + variables["params"]["dense_0"]["bias"][None, :])
    new = updates["batch_stats"]["norm_0"]["batch_norm"]
    np.testing.assert_allclose(new["mean"], 0.1 * h.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(new["var"], 0.9 + 0.1 * h.var(0), rtol=1e-4)
    # train mode normalises with batch statistics: the hidden pre-activation has mean 0, var 1
    # (gamma=1, beta=0 at init), so the output does not change if the batch is shifted
    y_shift, _ = model.apply(variables, x + 10.0, train=True, mutable=["batch_stats"])
    np.testing.assert_allclose(y_shift, y_train, atol=1e-4)
    # eval mode: each example independently (batch of one equals the full batch row)
    y_one = model.apply({"params": variables["params"], **updates}, x[:1])
    y_all = model.apply({"params": variables["params"], **updates}, x)
    np.testing.assert_allclose(y_one[0], y_all[0], rtol=1e-5, atol=1e-6)


def test_dropout_identity_in_eval_and_random_in_train():
    model = MLP(widths=(64, 64, 5), dropout=0.5)
    x = jax.random.normal(jax.random.key(5), (8, 10))
    variables = model.init(jax.random.key(6), x)
    plain = MLP(widths=(64, 64, 5))
    reference = plain.apply(variables, x)  # same parameters, no dropout layers
    np.testing.assert_allclose(model.apply(variables, x), reference, rtol=1e-6)
    np.testing.assert_allclose(model.apply(variables, x, train=False), reference, rtol=1e-6)
    a = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(7)})
    b = model.apply(variables, x, train=True, rngs={"dropout": jax.random.key(8)})
    assert not np.allclose(a, reference) and not np.allclose(a, b)
    # inverted dropout: the mean over many masks is close to the eval output
    keys = jax.random.split(jax.random.key(9), 200)
    sample = jax.jit(jax.vmap(lambda k: model.apply({"params": variables["params"]}, x[:1],
                                                    train=True, rngs={"dropout": k})))
    mean = sample(keys).mean(0)
    # first-layer expectation is exact; later layers only approximately (ReLU nonlinearity)
    assert np.corrcoef(np.ravel(mean), np.ravel(reference[:1]))[0, 1] > 0.9
    with pytest.raises(Exception, match="dropout"):
        model.apply(variables, x, train=True)  # needs a 'dropout' rng
    with pytest.raises(ValueError, match="dropout"):
        MLP(widths=(4, 2), dropout=1.0).init(jax.random.key(10), x)
    with pytest.raises(ValueError, match="norm"):
        MLP(widths=(4, 2), norm="group").init(jax.random.key(11), x)
