"""Data handling: splits, k-fold, minibatches, standardisation, synthetic data sets.

* :func:`train_val_test_split` and :func:`kfold_indices` return index arrays
  shuffled from an explicit key (stratification keeps class proportions);
* :func:`minibatches` iterates over a pytree of arrays sharing a leading axis;
* :class:`Standardizer` fits z-scores on training data and inverts them;
* :func:`straight_line`, :func:`gw_triggers` and :func:`two_moons` generate
  synthetic data sets that carry their generating ``truth``.
"""

from ._batching import leading_size, minibatches
from ._splits import Fold, Split, kfold_indices, split_sizes, train_val_test_split
from ._standardizer import Standardizer
from ._synthetic import Dataset, gw_triggers, straight_line, two_moons

__all__ = [
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
