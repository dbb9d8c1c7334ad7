"""Classical and unsupervised methods with one functional API.

Every method is ``<name>_fit(key, X, [y,] **hyperparameters) -> params`` (a typed
NamedTuple, fields documented with shapes) with ``<name>_predict(params, X)`` /
``<name>_transform(params, X)`` / ``<name>_score_samples(params, X)``; the fits are
jitted where the shapes allow. Deterministic fits accept ``key=None``.

* PCA: :func:`pca_fit`, :func:`pca_transform`, :func:`pca_inverse_transform`
  (:class:`PCAParams`); SVD of the centred data, sign convention, whitening.
* k-means: :func:`kmeans_fit`, :func:`kmeans_predict` (:class:`KMeansParams`);
  greedy k-means++, Lloyd in ``lax.while_loop``, restarts under ``vmap``.
* Densities: :func:`histogram_fit`, :func:`histogram_density`
  (:class:`HistogramParams`); :func:`kde_fit`, :func:`kde_score_samples`
  (:class:`KDEParams`, bandwidth by shuffled k-fold CV log-likelihood);
  :func:`gmm_fit`, :func:`gmm_score_samples`, :func:`gmm_predict`,
  :func:`gmm_predict_proba`, :func:`gmm_bic`, :func:`gmm_aic`, :func:`gmm_select`
  (:class:`GMMParams`, :class:`GMMSelection`).
* t-SNE: :func:`tsne_fit` (:class:`TSNEResult`; exact :math:`O(n^2)` gradient, or
  nearest-neighbour affinities with FFT-interpolated repulsion for large ``n``),
  :func:`tsne_affinities`, :func:`trustworthiness`.
* Trees: :func:`tree_fit`, :func:`tree_predict`, :func:`tree_predict_proba`
  (:class:`TreeParams`; CART, array-encoded, level-wise histogram split search on
  quantile bins in JAX; Gini, entropy, misclassification, MSE); random forests
  :func:`forest_fit`, :func:`forest_predict`, :func:`forest_predict_proba`
  (:class:`ForestParams`; bootstrap weights and random feature subsets, all trees
  grown together level by level under ``vmap``, OOB score).
* Boosting: AdaBoost (SAMME) :func:`adaboost_fit`, :func:`adaboost_predict`,
  :func:`adaboost_predict_proba`, :func:`adaboost_decision_function`
  (:class:`AdaBoostParams`); gradient-boosted trees :func:`gb_fit`, :func:`gb_predict`,
  :func:`gb_predict_proba`, :func:`gb_decision_function` (:class:`GBParams`; squared
  error, logistic and softmax losses, learning rate, row subsampling, early stopping;
  ``criterion="xgboost"``: XGBoost's regularised second-order gain with λ, γ,
  ``min_child_weight`` and column subsampling).
* Model selection: :func:`cross_validate` (:class:`CVResult`), :func:`learning_curve`
  (:class:`LearningCurve`), :func:`grid_search` (:class:`GridSearchResult`,
  hyperparameters as arrays, vmapped where shapes allow).
"""

from jaxphys.classical._boosting import (AdaBoostParams, GBParams, adaboost_decision_function,
                                         adaboost_fit, adaboost_predict, adaboost_predict_proba,
                                         gb_decision_function, gb_fit, gb_predict, gb_predict_proba)
from jaxphys.classical._density import (HistogramParams, KDEParams, histogram_density,
                                        histogram_fit, kde_fit, kde_score_samples)
from jaxphys.classical._forest import (ForestParams, forest_fit, forest_predict,
                                       forest_predict_proba)
from jaxphys.classical._gmm import (GMMParams, GMMSelection, gmm_aic, gmm_bic, gmm_fit,
                                    gmm_n_parameters, gmm_predict, gmm_predict_proba,
                                    gmm_score_samples, gmm_select)
from jaxphys.classical._kmeans import KMeansParams, kmeans_fit, kmeans_predict
from jaxphys.classical._model_selection import (CVResult, GridSearchResult, LearningCurve,
                                                cross_validate, grid_search, learning_curve)
from jaxphys.classical._pca import PCAParams, pca_fit, pca_inverse_transform, pca_transform
from jaxphys.classical._tree import TreeParams, tree_fit, tree_predict, tree_predict_proba
from jaxphys.classical._tsne import TSNEResult, trustworthiness, tsne_affinities, tsne_fit

__all__ = [
    "PCAParams",
    "pca_fit",
    "pca_transform",
    "pca_inverse_transform",
    "KMeansParams",
    "kmeans_fit",
    "kmeans_predict",
    "HistogramParams",
    "histogram_fit",
    "histogram_density",
    "KDEParams",
    "kde_fit",
    "kde_score_samples",
    "GMMParams",
    "GMMSelection",
    "gmm_fit",
    "gmm_score_samples",
    "gmm_predict",
    "gmm_predict_proba",
    "gmm_bic",
    "gmm_aic",
    "gmm_n_parameters",
    "gmm_select",
    "TSNEResult",
    "tsne_fit",
    "tsne_affinities",
    "trustworthiness",
    "TreeParams",
    "tree_fit",
    "tree_predict",
    "tree_predict_proba",
    "ForestParams",
    "forest_fit",
    "forest_predict",
    "forest_predict_proba",
    "AdaBoostParams",
    "adaboost_fit",
    "adaboost_predict",
    "adaboost_predict_proba",
    "adaboost_decision_function",
    "GBParams",
    "gb_fit",
    "gb_predict",
    "gb_predict_proba",
    "gb_decision_function",
    "CVResult",
    "cross_validate",
    "LearningCurve",
    "learning_curve",
    "GridSearchResult",
    "grid_search",
]
