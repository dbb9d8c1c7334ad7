"""Core trainers: a plain loss (MLP regression), a flax model with batch statistics, and
L-BFGS (``train_lbfgs``: optax's L-BFGS on raveled parameters through the same step)."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxphys.core import LossAux, TrainState, fit, flat_optimizer, make_train_step, train_lbfgs
from jaxphys.nn import MLP

from ._training import TrainerCase


def _regression_data(n=24):
    x = jnp.linspace(-1.0, 1.0, n)[:, None]
    return {"x": x, "y": jnp.sin(3.0 * x)}


def _mlp_loss(model):
    def loss_fn(params, batch, key):
        pred = model.apply({"params": params}, batch["x"], train=True, rngs={"dropout": key})
        return jnp.mean((pred - batch["y"]) ** 2), {}
    return loss_fn


def _make_mlp(key):
    model = MLP(widths=(8, 1), dropout=0.1)
    data = _regression_data()
    params = model.init(key, data["x"][:2])["params"]
    state = TrainState.create(params, optax.adam(1e-2))
    return make_train_step(_mlp_loss(model), jit=False), state, data


def _mlp_trainer(key, **fit_kwargs):
    init_key, fit_key = jax.random.split(key)
    step, state, data = _make_mlp(init_key)
    return fit(fit_key, state, data, step=step, **fit_kwargs)


class _BatchNormNet(nn.Module):
    @nn.compact
    def __call__(self, x, train):
        x = nn.Dense(8)(x)
        x = nn.BatchNorm(use_running_average=not train)(x)
        return nn.Dense(1)(nn.tanh(x))


def _make_batchnorm(key):
    net = _BatchNormNet()
    data = _regression_data()

    def loss_fn(variables, batch, key):
        pred, updates = net.apply(variables, batch["x"], train=True, mutable=["batch_stats"])
        return jnp.mean((pred - batch["y"]) ** 2), LossAux({}, updates)

    state = TrainState.from_variables(net.init(key, data["x"][:2], False), optax.sgd(0.1))
    return make_train_step(loss_fn, jit=False), state, data


def _lbfgs_loss(params, batch, key):
    pred = MLP(widths=(8, 1)).apply({"params": params}, batch["x"])
    return jnp.mean((pred - batch["y"]) ** 2), {}


def _lbfgs_params(key, data):
    return MLP(widths=(8, 1)).init(key, data["x"][:2])["params"]


def _make_lbfgs(key):
    data = _regression_data()
    state = TrainState.create(_lbfgs_params(key, data), flat_optimizer(optax.lbfgs(memory_size=5)))
    return make_train_step(_lbfgs_loss, deterministic_loss=True, jit=False), state, data


def _lbfgs_trainer(key, n_steps, progress=False):
    init_key, run_key = jax.random.split(key)
    data = _regression_data()
    return train_lbfgs(_lbfgs_loss, _lbfgs_params(init_key, data), data, n_steps,
                       memory_size=5, key=run_key)


def _poison(data):
    return {**data, "x": data["x"].at[0].set(jnp.nan)}


CASES = [
    TrainerCase("core.fit (loss, MLP with dropout)", _make_mlp, _poison, batch_size=8,
                trainer=_mlp_trainer),
    TrainerCase("core.fit (flax batch statistics, LossAux)", _make_batchnorm, _poison,
                batch_size=8),
    TrainerCase("core.train_lbfgs (full-batch L-BFGS, MLP regression)", _make_lbfgs, _poison,
                trainer=_lbfgs_trainer),
]
