"""jaxphys.core: models, train states, composed train steps, ``fit``, checkpoints, sharding."""

from ._checkpoint import (checkpoint_path, latest_checkpoint, read_checkpoint_metadata,
                          restore_checkpoint, save_checkpoint)
from ._fit import EarlyStopping, FitResult, fit
from ._model import Model, as_model, split_variables
from ._sharding import data_parallel, make_mesh, replicate, shard_batch
from ._train_state import TrainState
from ._train_step import make_eval_step, make_train_step

__all__ = [
    "Model", "as_model", "split_variables", "TrainState", "make_train_step", "make_eval_step",
    "fit", "FitResult", "EarlyStopping", "save_checkpoint", "restore_checkpoint",
    "read_checkpoint_metadata", "latest_checkpoint", "checkpoint_path", "make_mesh",
    "replicate", "shard_batch", "data_parallel",
]
