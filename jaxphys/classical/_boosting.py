"""Boosted trees: the names of :mod:`jaxphys.classical._adaboost` (AdaBoost, SAMME) and
:mod:`jaxphys.classical._gradient_boosting` (gradient boosting) in one place.

Both ensembles grow the array-encoded CART trees of :mod:`jaxphys.classical._grow`
from one set of quantile bins per fit and run their rounds in one jitted
``lax.scan``; see those modules for the algorithms.
"""

from jaxphys.classical._adaboost import (AdaBoostParams, _adaboost_fit,
                                         adaboost_decision_function, adaboost_fit,
                                         adaboost_predict, adaboost_predict_proba)
from jaxphys.classical._gb_predict import gb_decision_function, gb_predict, gb_predict_proba
from jaxphys.classical._gradient_boosting import GB_CRITERIA, GB_LOSSES, GBParams, _gb_fit, gb_fit

__all__ = ["AdaBoostParams", "adaboost_fit", "adaboost_predict", "adaboost_predict_proba",
           "adaboost_decision_function", "GBParams", "gb_fit", "gb_predict",
           "gb_predict_proba", "gb_decision_function", "GB_LOSSES", "GB_CRITERIA",
           "_adaboost_fit", "_gb_fit"]
