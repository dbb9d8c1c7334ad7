"""Per-example losses against hand-written NumPy/SciPy formulas."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import scipy.stats

from jaxphys import losses

RNG = np.random.default_rng(1234)


def _pair(shape=(5,)):
    return RNG.normal(size=shape), RNG.normal(size=shape)


# ----------------------------------------------------------------- regression

def test_mse_mae_match_numpy(x64):
    pred, target = _pair((4, 3))
    np.testing.assert_allclose(losses.mse(pred, target), np.mean((pred - target) ** 2), rtol=1e-12)
    np.testing.assert_allclose(losses.mae(pred, target), np.mean(np.abs(pred - target)),
                               rtol=1e-12)
    assert float(losses.mse(2.0, 5.0)) == 9.0  # scalars are examples too


def test_mse_hand_value():
    assert float(losses.mse(jnp.array([0.0, 1.0]), jnp.array([2.0, 1.0]))) == pytest.approx(2.0)


def test_vmap_at_call_site(x64):
    pred, target = _pair((6, 3))
    per_example = jax.vmap(losses.mse)(pred, target)
    np.testing.assert_allclose(per_example, np.mean((pred - target) ** 2, axis=1), rtol=1e-12)


def test_huber_both_branches(x64):
    delta = 0.7
    pred = np.array([0.1, -0.5, 2.0, -3.0, 0.7])
    target = np.zeros(5)
    r = np.abs(pred - target)
    ref = np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).mean()
    np.testing.assert_allclose(losses.huber(pred, target, delta), ref, rtol=1e-12)
    # hand value: r = 0.5 (quadratic) and 3 (linear, delta = 1): (0.125 + 2.5) / 2
    assert float(losses.huber(jnp.array([0.5, 3.0]), jnp.zeros(2))) == pytest.approx(1.3125)


def test_huber_delta_is_traced():
    f = jax.jit(lambda p, t, d: losses.huber(p, t, d))  # a fresh jit cache
    a = f(jnp.array([3.0]), jnp.array([0.0]), jnp.asarray(1.0))
    b = f(jnp.array([3.0]), jnp.array([0.0]), jnp.asarray(2.0))
    assert float(a) == pytest.approx(2.5) and float(b) == pytest.approx(4.0)
    assert f._cache_size() == 1  # a new delta does not recompile


def test_chi2_matches_numpy(x64):
    pred, target = _pair((7,))
    sigma = RNG.uniform(0.5, 2.0, size=7)
    np.testing.assert_allclose(losses.chi2(pred, target, sigma),
                               np.sum(((pred - target) / sigma) ** 2), rtol=1e-12)
    np.testing.assert_allclose(losses.chi2(pred, target, 0.5),
                               np.sum(((pred - target) / 0.5) ** 2), rtol=1e-12)


def test_chi2_under_jit_skips_value_check():
    out = jax.jit(losses.chi2)(jnp.ones(2), jnp.zeros(2), jnp.array([1.0, 2.0]))
    assert float(out) == pytest.approx(1.25)


def test_gaussian_nll_matches_scipy(x64):
    mean, target = _pair((5,))
    log_var = RNG.normal(size=5)
    ref = -np.sum(scipy.stats.norm.logpdf(target, loc=mean, scale=np.exp(0.5 * log_var)))
    np.testing.assert_allclose(losses.gaussian_nll(mean, log_var, target), ref, rtol=1e-12)
    ref_scalar = -np.sum(scipy.stats.norm.logpdf(target, loc=mean, scale=np.exp(0.5 * 0.3)))
    np.testing.assert_allclose(losses.gaussian_nll(mean, 0.3, target), ref_scalar, rtol=1e-12)


# ------------------------------------------------------------- classification

def test_bce_matches_scipy(x64):
    logit = RNG.normal(scale=5.0, size=9)
    label = RNG.uniform(size=9)
    ref = -(label * scipy.special.log_expit(logit) + (1 - label) * scipy.special.log_expit(-logit))
    per_example = jax.vmap(losses.binary_cross_entropy)(logit, label)
    np.testing.assert_allclose(per_example, ref, rtol=1e-12)


def test_bce_hand_value():
    # p = sigmoid(0) = 1/2: -log(1/2)
    assert float(losses.binary_cross_entropy(0.0, 1.0)) == pytest.approx(np.log(2.0))


@pytest.mark.parametrize("logit, label, expected", [
    (1000.0, 1.0, 0.0), (1000.0, 0.0, 1000.0), (-1000.0, 1.0, 1000.0), (-1000.0, 0.0, 0.0),
])
def test_bce_stable_for_huge_logits(logit, label, expected):
    value = losses.binary_cross_entropy(logit, label)
    assert np.isfinite(float(value))
    assert float(value) == pytest.approx(expected, abs=1e-6)
    grad = jax.grad(losses.binary_cross_entropy)(jnp.asarray(logit), jnp.asarray(label))
    # d/dz = sigmoid(z) - y
    assert float(grad) == pytest.approx(float(logit > 0) - label, abs=1e-6)


def test_softmax_ce_equals_minus_log_softmax(x64):
    logits = RNG.normal(scale=3.0, size=(6, 4))
    labels = RNG.integers(0, 4, size=6)
    ref = -scipy.special.log_softmax(logits, axis=1)[np.arange(6), labels]
    np.testing.assert_allclose(jax.vmap(losses.softmax_cross_entropy)(logits, labels), ref,
                               rtol=1e-12)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(jax.vmap(losses.softmax_cross_entropy_onehot)(logits, onehot),
                               ref, rtol=1e-12)


def test_softmax_ce_soft_targets(x64):
    logits = RNG.normal(size=5)
    target = RNG.dirichlet(np.ones(5))
    ref = -np.sum(target * scipy.special.log_softmax(logits))
    np.testing.assert_allclose(losses.softmax_cross_entropy_onehot(logits, target), ref,
                               rtol=1e-12)


def test_softmax_ce_stable_for_huge_logits():
    logits = jnp.array([1000.0, -1000.0, 0.0])
    assert float(losses.softmax_cross_entropy(logits, 0)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.softmax_cross_entropy(logits, 1)) == pytest.approx(2000.0)
    assert float(losses.softmax_cross_entropy_onehot(logits, jnp.array([0.0, 0.0, 1.0]))) \
        == pytest.approx(1000.0)
    # a -inf logit with zero target weight contributes nothing (no 0 * inf = NaN)
    assert float(losses.softmax_cross_entropy_onehot(jnp.array([0.0, -jnp.inf]),
                                                     jnp.array([1.0, 0.0]))) == 0.0
    grad = jax.grad(losses.softmax_cross_entropy)(logits, 1)
    assert np.all(np.isfinite(np.asarray(grad)))


# --------------------------------------------------------------------- density

def test_kl_normal_closed_form_equals_monte_carlo(x64):
    mu_q, sigma_q = np.array([0.3, -1.0, 2.0]), np.array([0.5, 1.5, 1.0])
    mu_p, sigma_p = np.array([0.0, 0.5, 1.0]), np.array([1.0, 2.0, 0.7])
    rng = np.random.default_rng(7)
    n = 200_000
    x = mu_q + sigma_q * rng.normal(size=(n, 3))
    log_ratio = (scipy.stats.norm.logpdf(x, mu_q, sigma_q)
                 - scipy.stats.norm.logpdf(x, mu_p, sigma_p)).sum(axis=1)
    mc, se = log_ratio.mean(), log_ratio.std(ddof=1) / np.sqrt(n)
    kl = float(losses.kl_normal(mu_q, sigma_q, mu_p, sigma_p))
    assert abs(kl - mc) < 5 * se, (kl, mc, se)


def test_kl_normal_special_values(x64):
    assert float(losses.kl_normal(jnp.zeros(4), jnp.ones(4))) == 0.0
    # KL(N(μ, σ²) || N(0, 1)) = ½(σ² + μ² - 1 - log σ²), by hand
    mu, s = 0.8, 0.4
    expected = 0.5 * (s**2 + mu**2 - 1 - np.log(s**2))
    assert float(losses.kl_normal(jnp.array([mu]), jnp.array([s]))) == pytest.approx(expected)
    assert float(losses.kl_normal(jnp.array([1.0, 2.0]), jnp.array([3.0, 0.1]))) > 0


# ---------------------------------------------------------------------- reduce

def test_reduce(x64):
    values = RNG.normal(size=8)
    weights = RNG.uniform(size=8)
    np.testing.assert_allclose(losses.reduce(values), values.mean(), rtol=1e-12)
    np.testing.assert_allclose(losses.reduce(values, "sum"), values.sum(), rtol=1e-12)
    np.testing.assert_allclose(losses.reduce(values, "none"), values, rtol=1e-12)
    np.testing.assert_allclose(losses.reduce(values, "mean", weights),
                               np.average(values, weights=weights), rtol=1e-12)
    np.testing.assert_allclose(losses.reduce(values, "sum", weights), np.sum(values * weights),
                               rtol=1e-12)
    np.testing.assert_allclose(losses.reduce(values, "none", weights), values * weights,
                               rtol=1e-12)


# ------------------------------------------------------------------ bad input

@pytest.mark.parametrize("fn", [losses.mse, losses.mae, losses.huber])
def test_mismatched_shapes_are_refused(fn):
    with pytest.raises(ValueError, match="target"):
        fn(jnp.zeros(3), jnp.zeros((3, 1)))
    with pytest.raises(ValueError, match="target"):
        fn(jnp.zeros(3), jnp.zeros(4))


def test_bad_input_errors():
    with pytest.raises(ValueError, match="target"):
        losses.chi2(jnp.zeros(3), jnp.zeros((1, 3)), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        losses.chi2(jnp.zeros(3), jnp.zeros(3), jnp.array([1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="sigma"):
        losses.chi2(jnp.zeros(3), jnp.zeros(3), -1.0)
    with pytest.raises(ValueError, match="sigma"):
        losses.chi2(jnp.zeros(3), jnp.zeros(3), jnp.ones(2))
    with pytest.raises(ValueError, match="delta"):
        losses.huber(jnp.zeros(3), jnp.zeros(3), 0.0)
    with pytest.raises(ValueError, match="log_var"):
        losses.gaussian_nll(jnp.zeros(3), jnp.zeros(2), jnp.zeros(3))
    with pytest.raises(ValueError, match="target"):
        losses.gaussian_nll(jnp.zeros(3), jnp.zeros(3), jnp.zeros(2))
    with pytest.raises(ValueError, match="label"):
        losses.binary_cross_entropy(jnp.zeros(2), jnp.zeros(3))
    with pytest.raises(ValueError, match="label"):
        losses.binary_cross_entropy(0.0, 1.5)
    with pytest.raises(ValueError, match="logits"):
        losses.softmax_cross_entropy(jnp.zeros((2, 3)), 0)
    with pytest.raises(ValueError, match="label"):
        losses.softmax_cross_entropy(jnp.zeros(3), 3)
    with pytest.raises(ValueError, match="label"):
        losses.softmax_cross_entropy(jnp.zeros(3), 1.0)
    with pytest.raises(ValueError, match="label"):
        losses.softmax_cross_entropy(jnp.zeros(3), jnp.array([0, 1]))
    with pytest.raises(ValueError, match="onehot"):
        losses.softmax_cross_entropy_onehot(jnp.zeros(3), jnp.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="sigma_q"):
        losses.kl_normal(jnp.zeros(2), jnp.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="sigma_q"):
        losses.kl_normal(jnp.zeros(2), jnp.ones(3))
    with pytest.raises(ValueError, match="sigma_p"):
        losses.kl_normal(jnp.zeros(2), jnp.ones(2), 0.0, 0.0)
    with pytest.raises(ValueError, match="mu_p"):
        losses.kl_normal(jnp.zeros(2), jnp.ones(2), jnp.zeros(3))
    with pytest.raises(ValueError, match="reduction"):
        losses.reduce(jnp.zeros(3), "avg")
    with pytest.raises(ValueError, match="weights"):
        losses.reduce(jnp.zeros(3), "mean", jnp.ones(2))
    with pytest.raises(ValueError, match="weights"):
        losses.reduce(jnp.zeros(3), "mean", jnp.array([1.0, -1.0, 1.0]))
