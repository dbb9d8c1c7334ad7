"""jaxphys: machine learning for physicists on JAX.

Models are pure ``init``/``apply`` pairs over parameter pytrees, losses are
``loss_fn(params, batch, key) -> (loss, aux)``, train steps are composed from a
loss and an optax optimiser, and everything compiles with XLA.

Subpackages (imported on first use): ``core``, ``losses``, ``metrics``, ``data``,
``linear``, ``fitting`` (likelihood fits with Minuit-grade errors), ``nn``, ``classical``,
``generative``, ``rl``, ``physics`` (Ising, PINNs, gravitational waves, simulators),
``dynamics`` (the physics of learning), ``plot`` (needs the ``plot`` extra), ``tour``.

Example:
    >>> import jaxphys
    >>> jaxphys.__version__
    '0.1.0'
"""

from __future__ import annotations

import importlib
from typing import Any

from .core import (EarlyStopping, FitResult, LossAux, Model, TrainState, as_model, fit,
                   make_eval_step, make_train_step, restore_checkpoint, run_steps,
                   save_checkpoint, skip_nonfinite)

__version__ = "0.1.0"

_SUBPACKAGES = ("core", "losses", "metrics", "data", "linear", "fitting", "nn", "classical",
                "generative", "rl", "physics", "dynamics", "plot", "tour")

__all__ = [
    "__version__", "Model", "as_model", "TrainState", "make_train_step", "make_eval_step",
    "LossAux", "skip_nonfinite", "run_steps", "fit", "FitResult", "EarlyStopping", "save_checkpoint", "restore_checkpoint",
    *_SUBPACKAGES,
]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'jaxphys' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
