"""The training steps of ``jaxphys.dynamics`` and ``jaxphys.linear`` (KAN apart: its own row).

None of these functions is a trainer in the table's sense (none returns a ``FitResult``):
``logistic_regression`` is a convex solve to a gradient tolerance and returns the
solution (``LogisticFit``); ``fit_mlp_seeds``, ``width_sweep`` and ``depth_sweep`` return
errors over seeds and architectures. Each hands a loss to ``make_train_step`` and runs it
with ``run_steps``; the rows below build that same step and state from the module's own
loss and network builders, so the table checks exactly what those functions run.
"""

import jax
import jax.numpy as jnp
import optax

from jaxphys.core import TrainState, make_train_step
from jaxphys.linear._logistic import _LBFGS, _loss
from jaxphys.dynamics._expressiveness import _masked_net, _mse
from jaxphys.nn import MLP

from ._training import TrainerCase


def _blobs(n=24):
    """Two overlapping classes in two dimensions (a finite optimum without L2)."""
    x = jax.random.normal(jax.random.key(100), (n, 2))
    y = (jnp.arange(n) % 2).astype(jnp.float32)
    return {"x": x + 0.8 * y[:, None], "y": y}


def _make_logistic(key):
    """``logistic_regression``'s step: its loss, the default ``optax.lbfgs()``, full batch;
    the start is drawn from the key (the library starts from zero)."""
    data = _blobs()
    w_key, b_key = jax.random.split(key)
    params = (0.1 * jax.random.normal(w_key, (2,)), 0.1 * jax.random.normal(b_key, ()))
    state = TrainState.create(params, _LBFGS)
    return make_train_step(_loss(jnp.asarray(0.01), 2), jit=False), state, data


def _regression(n=24):
    x = jnp.linspace(-1.0, 1.0, n)[:, None]
    return {"x": x, "y": jnp.sin(3.0 * x[:, 0])}


def _make_mlp_seeds(key):
    """``fit_mlp_seeds`` / ``depth_sweep``'s step: an ``MLP`` on the mean squared error."""
    model = MLP(widths=(8, 8, 1))
    data = _regression()
    params = model.init(key, data["x"][:1])["params"]
    loss_fn = _mse(lambda p, x: model.apply({"params": p}, x)[:, 0])
    return make_train_step(loss_fn, jit=False), TrainState.create(params, optax.adam(0.01)), data


def _make_width_sweep(key):
    """``width_sweep``'s step: width 3 masked inside a width-8 hidden layer."""
    data = _regression()
    params, apply = _masked_net(key, jnp.asarray(3), 8, 1, jnp.float32, "tanh")
    return (make_train_step(_mse(apply), jit=False), TrainState.create(params, optax.adam(0.01)),
            data)


def _poison(data):
    return {**data, "x": data["x"].at[0].set(jnp.nan)}


CASES = [
    TrainerCase("linear.logistic_regression (its L-BFGS step, full batch)", _make_logistic,
                _poison),
    TrainerCase("dynamics.fit_mlp_seeds (its MLP regression step; depth_sweep's too)",
                _make_mlp_seeds, _poison),
    TrainerCase("dynamics.width_sweep (its masked one-hidden-layer step)", _make_width_sweep,
                _poison),
]
