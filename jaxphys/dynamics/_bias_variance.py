r"""Bias–variance decomposition by refitting on many resampled training sets (vmapped).

For data ``y = f(x) + ε``, ``ε ~ N(0, σ²)``, and an estimator ``ĝ_D`` fitted on a
random training set ``D``, the expected squared error at a test point ``x``
splits as

    E_{D,ε}[(ĝ_D(x) − y)²] = (E_D ĝ_D(x) − f(x))² + Var_D ĝ_D(x) + σ²
                           =        bias²(x)      +  variance(x) + noise.

Here each term is estimated by Monte Carlo: ``n_sets`` training sets are drawn
(fresh inputs and noise each), the estimator is refitted on each under ``vmap``,
and the terms are averaged over a grid of test points. The expected test MSE is
estimated *independently* — each fitted model is scored on its own fresh noisy
test labels — so ``bias² + variance + noise ≈ test MSE`` is a check, not an
identity.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_key, check_positive

__all__ = ["BiasVariance", "bias_variance", "polynomial_bias_variance"]


class BiasVariance(NamedTuple):
    """Monte-Carlo bias–variance decomposition (each field averaged over test points).

    Fields:
      bias2: squared bias ``mean_x (E_D ĝ − f)²`` (float, or ``(n_models,)``).
      variance: ``mean_x Var_D ĝ``.
      noise: ``σ²``.
      test_mse: independently estimated expected test MSE ``E (ĝ_D(x) − y)²``.
      test_mse_se: its Monte-Carlo standard error.

    Example (about what :func:`bias_variance`'s example returns, a constant model of
    ``y = 2x + ε`` on [0, 1] with σ = 0.1 and 20 training points: bias² = mean (2x − 1)²
    = 0.4, variance = Var(y)/20 = (1/3 + σ²)/20 ≈ 0.0172, noise σ² = 0.01):
      >>> from jaxphys.dynamics import BiasVariance
      >>> bv = BiasVariance(bias2=0.4, variance=0.0175, noise=0.01, test_mse=0.427,
      ...                   test_mse_se=0.002)
      >>> total = bv.bias2 + bv.variance + bv.noise              # the check against the
      >>> round(total, 4), abs(total - bv.test_mse) < 2 * bv.test_mse_se   # test MSE
      (0.4275, True)
    """

    bias2: Any
    variance: Any
    noise: Any
    test_mse: Any
    test_mse_se: Any


def bias_variance(key: jax.Array, fit_predict: Callable, sample_train: Callable, x_test: Any,
                  f_true: Callable, sigma: Any, *, n_sets: int = 500) -> BiasVariance:
    r"""Decompose the test error of an estimator into bias², variance and noise.

    Args:
      key: PRNG key.
      fit_predict: ``fit_predict(x_train, y_train, x_test) -> (n_test,)`` predictions of
        the estimator fitted on one training set (pure, vmappable).
      sample_train: ``sample_train(key) -> (x_train, y_train)`` one noisy training set.
      x_test: ``(n_test, ...)`` test inputs.
      f_true: noise-free target, ``f_true(x_test) -> (n_test,)``.
      sigma: noise standard deviation σ (its square is the noise term).
      n_sets: number of training sets.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> f = lambda x: 2.0 * x
      >>> def draw(k):
      ...     kx, ke = jax.random.split(k)
      ...     x = jax.random.uniform(kx, (20,))
      ...     return x, f(x) + 0.1 * jax.random.normal(ke, (20,))
      >>> mean_fit = lambda x, y, xt: jnp.full(xt.shape, jnp.mean(y))   # a constant model
      >>> bv = bias_variance(jax.random.key(0), mean_fit, draw, jnp.linspace(0, 1, 11), f, 0.1)
      >>> round(float(bv.bias2), 1)                                     # mean (2x - 1)² = 0.4
      0.4
    """
    check_key(key)
    n_sets = as_int(n_sets, "n_sets", minimum=2)
    x_test = as_array(x_test, "x_test")
    check_finite(x_test, "x_test")
    sigma = as_array(sigma, "sigma", ndim=0)
    check_finite(sigma, "sigma")
    check_positive(sigma, "sigma", strict=False)
    train_key, test_key = jax.random.split(key)
    out = _decompose(fit_predict, sample_train, f_true, train_key, test_key, x_test, sigma,
                     n_sets)
    return BiasVariance(*(float(v) for v in out))


def _decompose(fit_predict, sample_train, f_true, train_key, test_key, x_test, sigma, n_sets):
    def one(k_train, k_test):
        x, y = sample_train(k_train)
        pred = fit_predict(x, y, x_test)
        y_test = f_true(x_test) + sigma * jax.random.normal(k_test, pred.shape, pred.dtype)
        return pred, jnp.mean((pred - y_test) ** 2)

    preds, mses = jax.jit(jax.vmap(one))(jax.random.split(train_key, n_sets),
                                         jax.random.split(test_key, n_sets))
    f = f_true(x_test)
    if preds.shape[1:] != f.shape:
        raise ValueError(f"fit_predict: expected predictions of shape {f.shape} (f_true's), "
                         f"got {preds.shape[1:]}")
    mean_pred = jnp.mean(preds, axis=0)
    bias2 = jnp.mean((mean_pred - f) ** 2)
    variance = jnp.mean(jnp.var(preds, axis=0, ddof=1))
    return bias2, variance, sigma ** 2, jnp.mean(mses), jnp.std(mses, ddof=1) / np.sqrt(n_sets)


def _legendre_design(x, deg):
    """Legendre design matrix ``(n, deg + 1)`` on ``[-1, 1]`` (well conditioned)."""
    cols = [jnp.ones_like(x), x]
    for k in range(1, deg):
        cols.append(((2 * k + 1) * x * cols[k] - k * cols[k - 1]) / (k + 1))
    return jnp.stack(cols[:deg + 1], axis=1)


def polynomial_bias_variance(key: jax.Array, degrees: Sequence[int], *, n_train: int = 20,
                             sigma: float = 0.3, n_sets: int = 1000, n_test: int = 101,
                             f_true: Callable | None = None) -> BiasVariance:
    r"""The polynomial underfit/overfit picture.

    Target ``f(x) = sin(πx)`` (or ``f_true``) on ``[-1, 1]``; each training set has
    ``n_train`` uniform random inputs and Gaussian noise σ; the estimator is the
    least-squares polynomial of each degree (Legendre basis). Low degrees have
    large bias², high degrees large variance; the test MSE is U-shaped.

    Returns a :class:`BiasVariance` whose fields are ``(len(degrees),)`` arrays
    (``noise`` a float). Use float64 (``jax.enable_x64``) for degrees above ~10.

    Example (a call compiles the vmapped least-squares fits, several seconds, so only the
    argument check runs here; ``bv.test_mse`` of a real call is U-shaped in the degree):
      >>> import jax
      >>> from jaxphys.dynamics import polynomial_bias_variance
      >>> polynomial_bias_variance(jax.random.key(0), [0, 1, 3, 12], n_train=10)
      Traceback (most recent call last):
      ...
      ValueError: degrees: expected degrees < n_train = 10 (interpolation limit), got max 12
    """
    check_key(key)
    n_train = as_int(n_train, "n_train", minimum=2)
    n_sets = as_int(n_sets, "n_sets", minimum=2)
    n_test = as_int(n_test, "n_test", minimum=1)
    degs = [as_int(d, "degrees", minimum=0) for d in degrees]
    if max(degs) >= n_train:
        raise ValueError(f"degrees: expected degrees < n_train = {n_train} (interpolation "
                         f"limit), got max {max(degs)}")
    f_true = (lambda x: jnp.sin(jnp.pi * x)) if f_true is None else f_true
    dtype = jnp.result_type(float)
    sigma_a = jnp.asarray(sigma, dtype)
    x_test = jnp.linspace(-1.0, 1.0, n_test, dtype=dtype)

    def sample_train(k):
        kx, ke = jax.random.split(k)
        x = jax.random.uniform(kx, (n_train,), dtype, -1.0, 1.0)
        return x, f_true(x) + sigma_a * jax.random.normal(ke, (n_train,), dtype)

    d_max = max(degs)

    def decompose(deg, k):
        keep = (jnp.arange(d_max + 1) <= deg).astype(dtype)[None]   # mask: one compile

        def fit_predict(x, y, xt):
            coef = jnp.linalg.lstsq(_legendre_design(x, d_max) * keep, y)[0]
            return (_legendre_design(xt, d_max) * keep) @ coef

        train_key, test_key = jax.random.split(k)
        return _decompose(fit_predict, sample_train, f_true, train_key, test_key, x_test,
                          sigma_a, n_sets)

    out = jax.jit(jax.vmap(decompose))(jnp.asarray(degs), jax.random.split(key, len(degs)))
    bias2, variance, _, mse, se = (np.asarray(v) for v in out)
    return BiasVariance(bias2, variance, float(sigma_a) ** 2, mse, se)
