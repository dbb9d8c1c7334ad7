"""jaxphys.core: models, train states, composed train steps, ``fit``, checkpoints, sharding."""

from ._checkpoint import (checkpoint_path, latest_checkpoint, read_checkpoint_metadata,
                          restore_checkpoint, save_checkpoint)
from ._fit import EarlyStopping, FitResult, fit
from ._model import Model, as_model, split_variables
from ._optimizers import OPTIMIZERS, SCHEDULES, get_optimizer, get_schedule, resolve_optimizer
from ._sharding import data_parallel, make_mesh, replicate, shard_batch
from ._train_state import TrainState
from ._train_step import make_eval_step, make_train_step
from ._trajectories import (WELL_MINIMA, Landscape, ScalarPath, Trajectories, chi2_landscape,
                            chi2_line, gaussian_wells, gd_quadratic, ill_conditioned_quadratic,
                            optimizer_trajectories, quadratic_landscape, rosenbrock,
                            rosenbrock_landscape, step_size_regime, steps_to_tolerance,
                            wells_landscape)

__all__ = [
    "Model", "as_model", "split_variables", "TrainState", "make_train_step", "make_eval_step",
    "fit", "FitResult", "EarlyStopping", "save_checkpoint", "restore_checkpoint",
    "read_checkpoint_metadata", "latest_checkpoint", "checkpoint_path", "make_mesh",
    "replicate", "shard_batch", "data_parallel",
    "OPTIMIZERS", "SCHEDULES", "get_optimizer", "get_schedule", "resolve_optimizer",
    "Landscape", "Trajectories", "ScalarPath", "optimizer_trajectories", "steps_to_tolerance",
    "gd_quadratic", "step_size_regime", "ill_conditioned_quadratic", "rosenbrock", "chi2_line",
    "gaussian_wells", "WELL_MINIMA", "quadratic_landscape", "rosenbrock_landscape",
    "chi2_landscape", "wells_landscape",
]
