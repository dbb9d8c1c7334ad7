"""Physics trainers: the PINN stages (Adam and L-BFGS) of ``physics.pinn.train_pinn``.

Each row is a tiny PINN for the decay equation ``u' = -k u``, ``u(0) = 1`` (first
derivatives only: a small graph, quick to compile) built from public pieces:
``PINNProblem``, ``PINNNet``, ``pinn_loss``, ``PINNProblem.dataset`` and
``TrainState.create`` with the stage's optimiser; the step is
``make_train_step(pinn_loss(...), jit=False)`` (with ``deterministic_loss=True`` and the
raveled ``flat_optimizer(optax.lbfgs(...))`` for the L-BFGS stage), exactly what
``train_pinn`` hands to ``fit`` for each stage.
"""

import jax
import jax.numpy as jnp
import optax

from jaxphys.core import TrainState, flat_optimizer, make_train_step
from jaxphys.physics.pinn import (PINNNet, PINNProblem, pinn_loss, sample_latin_hypercube,
                                  train_pinn)

from ._training import TrainerCase

_PROBLEM = PINNProblem(lambda d, z, c: d["u_t"] + c["k"] * d["u"], ("t",), (0.0,), (1.0,),
                       (), {"k": 1.0})
_NET = PINNNet((6,), _PROBLEM.lo, _PROBLEM.hi, lambda z, n: 1.0 + z[0] * n)
_COLLOCATION = sample_latin_hypercube(jax.random.key(99), 16, _PROBLEM.lo, _PROBLEM.hi)


def _maker(optimizer, deterministic_loss=False):
    # one step per row: the table's second seed then reuses run_steps' compilation
    step = make_train_step(pinn_loss(_PROBLEM, _NET.field),
                           deterministic_loss=deterministic_loss, jit=False)

    def make(key):
        state = TrainState.create({"field": _NET.init(key), "coeffs": {}}, optimizer)
        return step, state, _PROBLEM.dataset(_COLLOCATION)
    return make


def _poison(data):
    return {**data, "collocation": data["collocation"].at[0, 0].set(jnp.nan)}


def _trainer(stage):
    def trainer(key, *, n_steps, **fit_kwargs):
        init_key, train_key = jax.random.split(key)
        lengths = {"n_adam": n_steps, "n_lbfgs": 0} if stage == "adam" else \
            {"n_adam": 0, "n_lbfgs": n_steps}
        return train_pinn(train_key, _PROBLEM, _NET.field, {"field": _NET.init(init_key)},
                          n_collocation=16, **lengths, **fit_kwargs)
    return trainer


CASES = [
    TrainerCase("physics.pinn.train_pinn (Adam stage, decay PINN)", _maker(optax.adam(1e-2)),
                _poison, trainer=_trainer("adam")),
    TrainerCase("physics.pinn.train_pinn (L-BFGS stage, decay PINN)",
                _maker(flat_optimizer(optax.lbfgs(memory_size=5)), deterministic_loss=True),
                _poison, trainer=_trainer("lbfgs")),
]
