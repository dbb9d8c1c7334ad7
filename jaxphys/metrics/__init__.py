"""Classification metrics on batches: accuracy, confusion matrix, precision,
recall (sensitivity), selectivity (specificity), F1, ROC curve and AUC, log-loss;
the precision–recall and calibration curves; the HEP figures of merit: background
rejection at a fixed signal efficiency, s/√b and the Asimov significance.

Every classification metric takes optional event weights ``sample_weight``
``(n,)``, as scikit-learn does. (Likelihood fits and profile-likelihood
significances of fitted models are in :mod:`jaxphys.fitting`.)

Every function takes arrays of shape ``(n,)`` (``log_loss`` also ``(n, C)``).
Binary metrics use the positive class 1. Everything but :func:`roc_curve`
(whose length depends on the data) is written in ``jax.numpy`` and jittable.
Degenerate cases are documented per function: zero denominators in
precision/recall/selectivity/F1 give ``zero_division`` (0.0 by default), an
undefined ROC rate or AUC gives NaN.
"""

from ._classification import (BinaryCounts, accuracy, binary_counts, confusion_matrix,
                              f1_score, precision, recall, selectivity, sensitivity,
                              specificity)
from ._curves import (BackgroundRejection, CalibrationCurve, PrecisionRecallCurve,
                      background_rejection, calibration_curve, precision_recall_curve)
from ._roc import RocCurve, auc, log_loss, roc_auc, roc_curve
from ._significance import asimov_significance, significance
from ._image_quality import ClassifierScores, classifier_scores, frechet_distance

__all__ = [
    "accuracy",
    "confusion_matrix",
    "BinaryCounts",
    "binary_counts",
    "precision",
    "recall",
    "sensitivity",
    "selectivity",
    "specificity",
    "f1_score",
    "RocCurve",
    "roc_curve",
    "auc",
    "roc_auc",
    "log_loss",
    "PrecisionRecallCurve",
    "precision_recall_curve",
    "CalibrationCurve",
    "calibration_curve",
    "BackgroundRejection",
    "background_rejection",
    "significance",
    "asimov_significance",
    "frechet_distance",
    "ClassifierScores",
    "classifier_scores",
]
