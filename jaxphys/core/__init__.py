"""jaxphys.core: models, train states, the train step, the loop, ``fit``, checkpoints, sharding.

The training contract: a loss ``loss_fn(params, batch, key) -> (loss, aux)``;
:func:`make_train_step` turns it into ``step(state, batch, key) -> (state, metrics)``
with the optimiser carried by the :class:`TrainState`; :func:`run_steps` runs any
step under ``lax.scan`` (jittable, vmappable); :func:`fit` drives that loop from the
host with validation, early stopping and checkpoints; every trainer returns a
:class:`FitResult`.
"""

from ._checkpoint import (checkpoint_path, latest_checkpoint, read_checkpoint_metadata,
                          restore_checkpoint, save_checkpoint)
from ._fit import EarlyStopping, FitResult, fit
from ._flatten import flat_optimizer
from ._lbfgs import train_lbfgs
from ._loop import run_steps, set_hyperparams
from ._model import Model, as_model, split_variables
from ._optimizers import OPTIMIZERS, SCHEDULES, get_optimizer, get_schedule, resolve_optimizer
from ._sharding import data_parallel, make_mesh, replicate, shard_batch, shard_local_batch
from ._train_state import TrainState
from ._train_step import LossAux, make_eval_step, make_train_step, skip_nonfinite

__all__ = [
    "Model", "as_model", "split_variables", "TrainState", "make_train_step", "make_eval_step",
    "LossAux", "skip_nonfinite", "run_steps", "set_hyperparams", "fit", "train_lbfgs",
    "flat_optimizer", "FitResult", "EarlyStopping", "save_checkpoint", "restore_checkpoint",
    "read_checkpoint_metadata", "latest_checkpoint", "checkpoint_path", "make_mesh",
    "replicate", "shard_batch", "shard_local_batch", "data_parallel",
    "OPTIMIZERS", "SCHEDULES", "get_optimizer", "get_schedule", "resolve_optimizer",
]
