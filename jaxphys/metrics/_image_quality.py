r"""Sample quality of a generative model: the Fréchet distance between Gaussian fits of
features, and the scores of a classifier's probabilities on generated samples.

Fréchet distance (Dowson & Landau 1982, "The Fréchet distance between multivariate
normal distributions"; used on Inception features as the FID by Heusel et al. 2017,
"GANs trained by a two time-scale update rule converge to a local Nash equilibrium").
Fit a Gaussian to each feature set, ``N(μ_a, Σ_a)`` and ``N(μ_b, Σ_b)`` (sample mean,
unbiased covariance ``1/(n-1)``); the squared 2-Wasserstein distance between them is

.. math:: d^2 = \|μ_a - μ_b\|^2 + \operatorname{tr}\big(Σ_a + Σ_b
          - 2\,(Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2}\big).

It depends on the feature space: choose one fixed map (a PCA or a classifier's hidden
layer fitted on real data only) and compare a model's value with the real-vs-real
baseline — the same distance between two real sets of the same sizes — which is not 0
because of sampling noise (its expectation falls like ``1/n``).

Classifier scores (Salimans et al. 2016, "Improved techniques for training GANs"): a
classifier trained on real data gives probabilities ``p(c | x_i)`` ``(n, C)`` for
generated ``x_i``. Sharp, recognisable samples have a high *confidence*
``mean_i max_c p(c | x_i)``; a model that produces every class has a high *entropy of the
predicted labels* ``H = -Σ_c f_c log f_c`` (``f_c``: fraction of samples whose arg-max is
``c``; ``log C`` when balanced, 0 after total mode collapse); the *Inception score* is
``exp(mean_i KL(p(·|x_i) ‖ p̄))`` with ``p̄ = mean_i p(·|x_i)`` (between 1 and ``C``); a
class-conditional model is scored by the fraction of samples classified as the class
requested.

Both functions are written in ``jax.numpy`` and are jittable; argument checks run on
concrete inputs only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_finite, is_concrete
from ._common import check_class_range

__all__ = ["frechet_distance", "ClassifierScores", "classifier_scores"]


def _features(x: Any, name: str) -> jax.Array:
    arr = as_array(x, name, ndim=2)
    if arr.shape[0] < 2:
        raise ValueError(f"{name}: expected at least 2 samples to fit a covariance, got "
                         f"shape {tuple(arr.shape)}")
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    check_finite(arr, name)
    return arr


def _psd_sqrt(matrix: jax.Array) -> jax.Array:
    """Symmetric square root of a symmetric positive semi-definite matrix (eigenvalues
    below 0 from rounding set to 0)."""
    values, vectors = jnp.linalg.eigh(matrix)
    return (vectors * jnp.sqrt(jnp.maximum(values, 0.0))[None, :]) @ vectors.T


def frechet_distance(features_a: Any, features_b: Any) -> jax.Array:
    r"""Squared Fréchet (2-Wasserstein) distance between Gaussian fits of two feature sets.

    ``d² = ‖μ_a − μ_b‖² + tr(Σ_a + Σ_b − 2 (Σ_a^{1/2} Σ_b Σ_a^{1/2})^{1/2})`` (see the
    module docstring), in the squared units of the features. The matrix square roots are
    taken by symmetric eigendecompositions, so the result is real and ``≥ 0`` up to
    rounding (use float64 for many features or near-singular covariances).

    Args:
        features_a: ``(n_a, d)`` finite features, ``n_a ≥ 2``.
        features_b: ``(n_b, d)`` finite features, ``n_b ≥ 2`` (``n_b`` may differ).

    Returns:
        ``()`` float scalar.

    Raises:
        ValueError naming the argument for a wrong rank, fewer than two samples,
        different feature widths or non-finite values.

    Example:
        >>> a = jnp.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
        >>> round(float(frechet_distance(a, a + 1.0)), 4)     # ‖(1, 1)‖², same covariance
        2.0
    """
    a = _features(features_a, "features_a")
    b = _features(features_b, "features_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"features_b: expected {a.shape[1]} features per sample (the width "
                         f"of features_a), got shape {tuple(b.shape)}")
    dtype = jnp.result_type(a.dtype, b.dtype)
    return _frechet(a.astype(dtype), b.astype(dtype))


@jax.jit
def _frechet(a: jax.Array, b: jax.Array) -> jax.Array:
    mean_a, mean_b = jnp.mean(a, axis=0), jnp.mean(b, axis=0)
    cov_a = jnp.cov(a, rowvar=False).reshape(a.shape[1], a.shape[1])
    cov_b = jnp.cov(b, rowvar=False).reshape(b.shape[1], b.shape[1])
    root_a = _psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    middle = 0.5 * (middle + middle.T)
    cross = jnp.sum(jnp.sqrt(jnp.maximum(jnp.linalg.eigvalsh(middle), 0.0)))
    return (jnp.sum((mean_a - mean_b) ** 2) + jnp.trace(cov_a) + jnp.trace(cov_b)
            - 2.0 * cross)


class ClassifierScores(NamedTuple):
    """Scores of generated samples from a classifier's probabilities ``(n, C)``.

    Fields:
      mean_confidence: ``()`` mean over samples of the largest class probability.
      label_entropy: ``()`` entropy in nats of the predicted-label histogram, in
        ``[0, log C]`` (``log C``: every class equally often).
      label_fractions: ``(C,)`` fraction of samples whose arg-max is each class.
      inception_score: ``()`` ``exp(mean_i KL(p(·|x_i) ‖ p̄))``, in ``[1, C]``.
      requested_accuracy: ``()`` fraction of samples classified as the requested class,
        or ``None`` when no requested labels were given.

    Example:
        Confident and balanced over ``C = 3`` classes: entropy ``log 3``, Inception
        score ``C``.

        >>> from jaxphys.metrics import classifier_scores
        >>> s = classifier_scores(jnp.eye(3))
        >>> s.label_fractions.round(4).tolist()
        [0.3333, 0.3333, 0.3333]
        >>> float(s.mean_confidence), round(float(s.label_entropy), 4)
        (1.0, 1.0986)
        >>> round(float(s.inception_score), 4), s.requested_accuracy is None
        (3.0, True)
    """

    mean_confidence: jax.Array
    label_entropy: jax.Array
    label_fractions: jax.Array
    inception_score: jax.Array
    requested_accuracy: jax.Array | None


def classifier_scores(probabilities: Any, requested_labels: Any = None) -> ClassifierScores:
    r"""Confidence, predicted-label entropy, Inception score and (for a class-conditional
    model) requested-class accuracy of generated samples (see the module docstring).

    Args:
        probabilities: ``(n, C)`` class probabilities of a classifier trained on real data
            (rows finite, ``≥ 0``, summing to 1 within 1e-3), ``C ≥ 2``.
        requested_labels: optional int ``(n,)`` labels in ``[0, C)``: the class each
            sample was generated for.

    Returns:
        :class:`ClassifierScores`.

    Raises:
        ValueError naming the argument for a wrong shape, probabilities that are not
        a distribution per row, or labels outside ``[0, C)``.

    Example:
        >>> p = jnp.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
        >>> s = classifier_scores(p, requested_labels=jnp.array([0, 1, 1, 1]))
        >>> round(float(s.mean_confidence), 3), round(float(s.label_entropy), 4)
        (0.75, 0.6931)
        >>> float(s.requested_accuracy)
        0.75
    """
    p = as_array(probabilities, "probabilities", ndim=2)
    if p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(f"probabilities: expected shape (n, C) with n >= 1 and C >= 2, got "
                         f"{tuple(p.shape)}")
    if not jnp.issubdtype(p.dtype, jnp.inexact):
        p = p.astype(jnp.result_type(float))
    check_finite(p, "probabilities")
    if is_concrete(p):
        arr = np.asarray(p, dtype=np.float64)
        if np.any(arr < 0) or np.any(np.abs(arr.sum(axis=1) - 1.0) > 1e-3):
            raise ValueError("probabilities: expected rows of non-negative probabilities "
                             "summing to 1 (e.g. a softmax or predict_proba output), got row "
                             f"sums from {arr.sum(axis=1).min():.4g} to "
                             f"{arr.sum(axis=1).max():.4g} and minimum {arr.min():.4g}")
    labels = None
    if requested_labels is not None:
        labels = as_array(requested_labels, "requested_labels", ndim=1)
        if labels.shape[0] != p.shape[0]:
            raise ValueError(f"requested_labels: expected shape ({p.shape[0]},), one label "
                             f"per row of probabilities, got {tuple(labels.shape)}")
        check_class_range(labels, "requested_labels", int(p.shape[1]))
        labels = labels.astype(jnp.int32)
    return _scores(p, labels)


@jax.jit
def _scores(p: jax.Array, labels: jax.Array | None) -> ClassifierScores:
    n_classes = p.shape[1]
    predicted = jnp.argmax(p, axis=1)
    fractions = jnp.mean(jax.nn.one_hot(predicted, n_classes, dtype=p.dtype), axis=0)
    entropy = -jnp.sum(jnp.where(fractions > 0, fractions * jnp.log(
        jnp.where(fractions > 0, fractions, 1.0)), 0.0))
    marginal = jnp.mean(p, axis=0)
    safe_log = lambda q: jnp.log(jnp.where(q > 0, q, 1.0))  # noqa: E731
    kl = jnp.sum(jnp.where(p > 0, p * (safe_log(p) - safe_log(marginal)[None, :]), 0.0),
                 axis=1)
    accuracy = None if labels is None else jnp.mean((predicted == labels).astype(p.dtype))
    return ClassifierScores(mean_confidence=jnp.mean(jnp.max(p, axis=1)),
                            label_entropy=entropy, label_fractions=fractions,
                            inception_score=jnp.exp(jnp.mean(kl)),
                            requested_accuracy=accuracy)
