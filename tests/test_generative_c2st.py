"""C2ST: chance level for equal distributions, Bayes accuracy for shifted Gaussians,
agreement with an sklearn MLPClassifier C2ST."""

import jax
import numpy as np
import pytest
from scipy.stats import norm

from jaxphys.generative._c2st import c2st


def _gauss(key, n, shift):
    kx, ky = jax.random.split(key)
    x = jax.random.normal(kx, (n, 2))
    y = jax.random.normal(ky, (n, 2)) + shift
    return x, y


def test_same_distribution_is_chance():
    data_key, test_key = jax.random.split(jax.random.key(0))
    x, y = _gauss(data_key, 2000, 0.0)
    acc = c2st(test_key, x, y)
    assert abs(acc - 0.5) < 0.04          # ~3.5 sigma for 4000 held-out predictions


def test_shifted_gaussians_match_bayes_accuracy_and_sklearn():
    data_key, test_key = jax.random.split(jax.random.key(1))
    shift = 0.5
    x, y = _gauss(data_key, 2000, shift)
    acc = c2st(test_key, x, y)
    # the Bayes classifier for N(0, I) vs N(m, I) has accuracy Φ(|m| / 2)
    bayes = norm.cdf(np.sqrt(2) * shift / 2)
    assert abs(acc - bayes) < 0.03
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neural_network import MLPClassifier
    xs, ys = np.asarray(x), np.asarray(y)
    data = np.concatenate([xs, ys])
    data = (data - xs.mean(0)) / xs.std(0)
    labels = np.r_[np.zeros(len(xs)), np.ones(len(ys))]
    clf = MLPClassifier(hidden_layer_sizes=(64, 64), max_iter=300, random_state=0)
    ref = cross_val_score(clf, data, labels, scoring="accuracy",
                          cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean()
    assert abs(acc - ref) < 0.05


def test_separated_gaussians_near_one():
    from jaxphys.generative._c2st import _fold_accuracies

    data_key, test_key, rate_key = jax.random.split(jax.random.key(2), 3)
    x, y = _gauss(data_key, 1000, 3.0)
    assert c2st(test_key, x, y) > 0.97
    # the learning rate and weight decay are arrays in the optimiser state: no recompile
    n_compiled = _fold_accuracies._cache_size()
    assert c2st(rate_key, x, y, learning_rate=1e-2, weight_decay=0.0) > 0.97
    assert _fold_accuracies._cache_size() == n_compiled


def test_one_dimensional_and_different_sizes():
    kx, ky, kt = jax.random.split(jax.random.key(3), 3)
    x = jax.random.normal(kx, (300,))
    y = jax.random.normal(ky, (500,)) * 0.2
    assert c2st(kt, x, y, n_steps=300) > 0.7


@pytest.mark.parametrize("n_x,n_y", [(600, 1400), (1400, 600)])
def test_same_distribution_with_unequal_sizes_is_chance(n_x, n_y):
    """Balanced accuracy: a classifier that predicts the larger class scores 0.5, not
    max(n_x, n_y) / (n_x + n_y) = 0.7 (issue 21: 0.745 before)."""
    kx, ky, kt = jax.random.split(jax.random.key(5), 3)
    x = jax.random.normal(kx, (n_x, 2))
    y = jax.random.normal(ky, (n_y, 2))
    acc = c2st(kt, x, y, n_steps=300)
    # the sd of a balanced accuracy at chance is 0.25 sqrt(1/n_x + 1/n_y) = 0.012
    assert abs(acc - 0.5) < 0.05, acc


def test_user_classifier_and_optimizer():
    import optax

    from jaxphys.nn import MLP

    data_key, test_key, frozen_key = jax.random.split(jax.random.key(6), 3)
    x, y = _gauss(data_key, 500, 3.0)
    acc = c2st(test_key, x, y, classifier=MLP(widths=(8, 1)), optimizer=optax.adam(1e-2),
               n_steps=200)
    assert acc > 0.95
    # a frozen classifier (learning rate 0) is the initialisation's guess: far from separating
    frozen = c2st(frozen_key, x, y, classifier=MLP(widths=(8, 1)), optimizer=optax.sgd(0.0),
                  n_steps=10)
    assert frozen < acc - 0.2, (frozen, acc)


def test_bad_input():
    k = jax.random.key(4)
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="x and y"):
        c2st(k, x, np.zeros((10, 3)))
    with pytest.raises(ValueError, match="y"):
        c2st(k, x, np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="n_folds"):
        c2st(k, x, x, n_folds=1)
    with pytest.raises(ValueError, match="learning_rate"):
        c2st(k, x, x, learning_rate=-1.0)
    with pytest.raises(ValueError, match="n_steps"):
        c2st(k, x, x, n_steps=0)
