"""Data handling: splits, k-fold, minibatches, standardisation, synthetic data sets.

* :func:`train_val_test_split` and :func:`kfold_indices` return index arrays
  shuffled from an explicit key (stratification keeps class proportions);
* :func:`minibatches` iterates over a pytree of arrays sharing a leading axis;
* :class:`Standardizer` fits z-scores on training data and inverts them;
* :func:`straight_line`, :func:`gw_triggers` and :func:`two_moons` generate
  synthetic data sets that carry their generating ``truth``.
"""

from ._batching import leading_size, minibatches
from ._digits import load_digits
from ._idx import load_idx, load_mnist
from ._sequences import (ADDITION_VOCAB, AdditionTask, addition_problems, coupled_oscillator,
                         decode_addition, encode_addition, format_addition, normal_modes,
                         oscillator_energy, recall_first)
from ._splits import Fold, Split, kfold_indices, split_sizes, train_val_test_split
from ._standardizer import Standardizer
from ._synthetic import Dataset, gw_triggers, straight_line, two_moons

__all__ = [
    "coupled_oscillator", "oscillator_energy", "normal_modes", "addition_problems",
    "AdditionTask", "encode_addition", "decode_addition", "format_addition", "ADDITION_VOCAB",
    "recall_first",
    "load_digits",
    "load_idx",
    "load_mnist",
    "Split",
    "Fold",
    "train_val_test_split",
    "kfold_indices",
    "split_sizes",
    "minibatches",
    "leading_size",
    "Standardizer",
    "Dataset",
    "straight_line",
    "gw_triggers",
    "two_moons",
]
