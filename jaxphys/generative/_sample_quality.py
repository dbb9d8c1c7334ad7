r"""A sample-quality measure for generated images built from the library alone: a fixed
PCA feature space and a softmax-regression classifier, both fitted on real training
images, scored with :func:`jaxphys.metrics.frechet_distance` and
:func:`jaxphys.metrics.classifier_scores`.

* Feature space: the ``n_components`` leading principal components of the real training
  images (pixels as given, e.g. in [-1, 1]; not whitened), fixed before any generator is
  scored. On 8×8 digits 16 components keep the strokes' shape statistics and ignore
  pixel-level noise. (Heusel et al. 2017 use Inception features for natural images; a
  PCA fitted on the real data is a transparent stand-in on small images.)
* Baseline: the same Fréchet distance between ``n`` real *training* images and the
  held-out *reference* images, with ``n`` the number of generated images scored (at most
  the training set): the value a perfect generator would reach with as many samples.
* Classifier: multinomial logistic regression on the pixels
  (:func:`jaxphys.linear.logistic_regression`, L2 strength ``1/n_train``, i.e.
  scikit-learn's default ``C = 1``), trained on the real training images; its accuracy
  and confidence on the held-out reference images tell how far its scores can be trusted.

The tests compare these numbers with an independent scikit-learn pipeline.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from .._checks import as_array, as_int, check_finite
from ..classical import PCAParams, pca_fit, pca_transform
from ..linear import LogisticFit, logistic_predict_proba, logistic_regression
from ..metrics import classifier_scores, frechet_distance

__all__ = ["ImageJudge", "SampleQuality", "fit_image_judge", "judge_images"]


class ImageJudge(NamedTuple):
    """The fixed measuring instruments, fitted on real images only.

    Fields:
      pca: :class:`jaxphys.classical.PCAParams` of the feature space (``d`` pixels →
        ``k`` features).
      classifier: :class:`jaxphys.linear.LogisticFit`, softmax weights ``(d, C)``.
      train_features: ``(n_train, k)`` features of the real training images.
      reference_features: ``(n_reference, k)`` features of the held-out real images.
      reference_accuracy: ``()`` the classifier's accuracy on the held-out images.
      reference_confidence: ``()`` its mean largest probability on them.

    Example:
        >>> from jaxphys.data import load_digits
        >>> ds = load_digits()
        >>> judge = fit_image_judge(ds.x[:600], ds.y[:600], ds.x[600:900], ds.y[600:900],
        ...                         n_components=4)
        >>> isinstance(judge, ImageJudge), judge.reference_features.shape
        (True, (300, 4))
    """

    pca: PCAParams
    classifier: LogisticFit
    train_features: jax.Array
    reference_features: jax.Array
    reference_accuracy: jax.Array
    reference_confidence: jax.Array


class SampleQuality(NamedTuple):
    """Scores of one set of generated images (all ``()`` float arrays except as noted).

    Fields:
      frechet: Fréchet distance between the generated and the held-out real features.
      baseline_frechet: the same between as many real training images and the held-out
        ones (real against real).
      frechet_ratio: ``frechet / baseline_frechet`` (1: as close as real data).
      mean_confidence: mean largest class probability of the classifier.
      label_entropy: entropy (nats) of the predicted labels; ``log C`` when every class
        is produced equally often.
      label_fractions: ``(C,)`` share of samples predicted as each class.
      requested_accuracy: share classified as the requested class, or ``None``.

    Example:
        >>> from jaxphys.data import load_digits
        >>> ds = load_digits()
        >>> judge = fit_image_judge(ds.x[:600], ds.y[:600], ds.x[600:900], ds.y[600:900],
        ...                         n_components=4)
        >>> q = judge_images(judge, ds.x[900:1000])     # no requested labels
        >>> isinstance(q, SampleQuality), q.label_fractions.shape, q.requested_accuracy
        (True, (10,), None)
    """

    frechet: jax.Array
    baseline_frechet: jax.Array
    frechet_ratio: jax.Array
    mean_confidence: jax.Array
    label_entropy: jax.Array
    label_fractions: jax.Array
    requested_accuracy: jax.Array | None


def _flat(images: Any, name: str, width: int | None = None) -> jax.Array:
    x = as_array(images, name)
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a batch of images (n, ...), got shape "
                         f"{tuple(x.shape)}")
    x = x.reshape(x.shape[0], -1).astype(jnp.float32)
    if width is not None and x.shape[1] != width:
        raise ValueError(f"{name}: expected images of {width} pixels (as the training "
                         f"images), got shape {tuple(jnp.shape(images))}")
    check_finite(x, name)
    return x


def fit_image_judge(train_images: Any, train_labels: Any, reference_images: Any,
                    reference_labels: Any, *, n_classes: int = 10,
                    n_components: int = 16) -> ImageJudge:
    """Fit the feature space and the classifier on real images (see the module docstring).

    Args:
        train_images: ``(n_train, ...)`` real images (finite), flattened to pixels.
        train_labels: ``(n_train,)`` int classes in ``[0, n_classes)``.
        reference_images: ``(n_reference, ...)`` held-out real images of the same size.
        reference_labels: ``(n_reference,)`` their classes.
        n_classes: number of classes ``C``; n_components: features ``k``.

    Returns:
        :class:`ImageJudge`.

    Example:
        >>> from jaxphys.data import load_digits
        >>> ds = load_digits()
        >>> judge = fit_image_judge(ds.x[:1000], ds.y[:1000], ds.x[1000:1400], ds.y[1000:1400],
        ...                         n_components=8)
        >>> judge.train_features.shape, float(judge.reference_accuracy) > 0.85
        ((1000, 8), True)
    """
    x_train = _flat(train_images, "train_images")
    x_ref = _flat(reference_images, "reference_images", x_train.shape[1])
    n_classes = as_int(n_classes, "n_classes", minimum=2)
    k = as_int(n_components, "n_components", minimum=1)
    for name, labels, x in (("train_labels", train_labels, x_train),
                            ("reference_labels", reference_labels, x_ref)):
        y = as_array(labels, name, ndim=1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"{name}: expected shape ({x.shape[0]},), one label per image, "
                             f"got {tuple(y.shape)}")
    pca = pca_fit(None, x_train, k)
    classifier = logistic_regression(x_train, train_labels, n_classes=n_classes,
                                     l2=1.0 / x_train.shape[0], max_iter=1000)
    p_ref = logistic_predict_proba(classifier, x_ref)
    reference = classifier_scores(p_ref, jnp.asarray(reference_labels))
    return ImageJudge(pca=pca, classifier=classifier,
                      train_features=pca_transform(pca, x_train),
                      reference_features=pca_transform(pca, x_ref),
                      reference_accuracy=reference.requested_accuracy,
                      reference_confidence=reference.mean_confidence)


def judge_images(judge: ImageJudge, images: Any, requested_labels: Any = None
                 ) -> SampleQuality:
    """Score generated images with a fitted :class:`ImageJudge`.

    Args:
        judge: from :func:`fit_image_judge`.
        images: ``(n, ...)`` generated images (finite, the training images' size and
            value range), ``n ≥ 2``.
        requested_labels: optional int ``(n,)`` classes the images were generated for.

    Returns:
        :class:`SampleQuality`.

    Example:
        >>> from jaxphys.data import load_digits
        >>> ds = load_digits()
        >>> judge = fit_image_judge(ds.x[:1000], ds.y[:1000], ds.x[1000:1400], ds.y[1000:1400],
        ...                         n_components=8)
        >>> q = judge_images(judge, ds.x[1400:], ds.y[1400:])   # real digits
        >>> float(q.frechet_ratio) < 2.0, float(q.requested_accuracy) > 0.85
        (True, True)
    """
    if not isinstance(judge, ImageJudge):
        raise TypeError(f"judge: expected an ImageJudge from fit_image_judge, got "
                        f"{type(judge).__name__}")
    x = _flat(images, "images", judge.pca.mean.shape[0])
    if x.shape[0] < 2:
        raise ValueError(f"images: expected at least 2 images, got {x.shape[0]}")
    scores = classifier_scores(logistic_predict_proba(judge.classifier, x), requested_labels)
    frechet = frechet_distance(pca_transform(judge.pca, x), judge.reference_features)
    n_base = min(x.shape[0], judge.train_features.shape[0])
    baseline = frechet_distance(judge.train_features[:n_base], judge.reference_features)
    return SampleQuality(frechet=frechet, baseline_frechet=baseline,
                         frechet_ratio=frechet / baseline,
                         mean_confidence=scores.mean_confidence,
                         label_entropy=scores.label_entropy,
                         label_fractions=scores.label_fractions,
                         requested_accuracy=scores.requested_accuracy)
