"""Splits, k-fold, minibatches, Standardizer and the synthetic data sets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import sklearn.datasets
import sklearn.linear_model
import sklearn.metrics
import sklearn.preprocessing

from jaxphys import data


def _as_sets(split):
    return [set(np.asarray(part).tolist()) for part in split]


# --------------------------------------------------------------------- splits

@pytest.mark.parametrize("n, fractions, sizes", [
    (100, (0.6, 0.2, 0.2), [60, 20, 20]),
    (7, (0.6, 0.2, 0.2), [4, 2, 1]),
    (50, (0.8, 0.1, 0.1), [40, 5, 5]),
    (10, (1.0, 0.0, 0.0), [10, 0, 0]),
])
def test_split_disjoint_covering_and_sized(n, fractions, sizes):
    split = data.train_val_test_split(jax.random.key(n), n, fractions)
    assert [len(p) for p in split] == sizes
    train, val, test = _as_sets(split)
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(range(n))
    assert all(p.dtype == jnp.int32 for p in split)


def test_split_default_is_60_20_20_and_shuffled():
    split = data.train_val_test_split(jax.random.key(0), 1000)
    assert [len(p) for p in split] == [600, 200, 200]
    assert not np.all(np.diff(np.asarray(split.train)) > 0)  # not in order


def test_split_keys_differ_and_reproduce():
    a = data.train_val_test_split(jax.random.key(1), 100)
    b = data.train_val_test_split(jax.random.key(2), 100)
    c = data.train_val_test_split(jax.random.key(1), 100)
    assert not np.array_equal(a.train, b.train)
    for pa, pc in zip(a, c):
        np.testing.assert_array_equal(pa, pc)


def test_stratified_split_keeps_proportions():
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=503, p=[0.7, 0.2, 0.1])
    fractions = (0.6, 0.2, 0.2)
    split = data.train_val_test_split(jax.random.key(3), 503, fractions, stratify=labels)
    train, val, test = _as_sets(split)
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(range(503))
    assert [len(p) for p in split] == [302, 101, 100]  # same sizes as without stratify
    for part, frac, tol in zip(split, fractions, (1.0, 2.0, 2.0)):
        part_labels = labels[np.asarray(part)]
        for cls in range(3):
            # every class is split with the same fractions, to within rounding
            assert abs(np.sum(part_labels == cls) - frac * np.sum(labels == cls)) < tol
        assert not np.all(np.diff(part_labels) >= 0)  # classes are mixed, not grouped


def test_stratified_split_many_small_classes_keeps_sizes():
    labels = np.repeat(np.arange(100), 2)  # 100 classes of two examples
    split = data.train_val_test_split(jax.random.key(4), 200, stratify=labels)
    assert [len(p) for p in split] == [120, 40, 40]
    # proportions of a coarse grouping (classes < 50 vs >= 50) are kept too
    for part, frac in zip(split, (0.6, 0.2, 0.2)):
        assert abs(np.sum(labels[np.asarray(part)] < 50) - frac * 100) <= 2


def test_split_bad_input():
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="fractions"):
        data.train_val_test_split(key, 10, (0.5, 0.2, 0.2))
    with pytest.raises(ValueError, match="fractions"):
        data.train_val_test_split(key, 10, (0.5, 0.5))
    with pytest.raises(ValueError, match="fractions"):
        data.train_val_test_split(key, 10, (1.2, -0.1, -0.1))
    with pytest.raises(ValueError, match="n"):
        data.train_val_test_split(key, 0)
    with pytest.raises(ValueError, match="n"):
        data.train_val_test_split(key, 10.5)
    with pytest.raises(ValueError, match="stratify"):
        data.train_val_test_split(key, 10, stratify=np.zeros(9))
    with pytest.raises(ValueError, match="stratify"):
        data.train_val_test_split(key, 10, stratify=np.zeros((10, 1)))
    with pytest.raises(TypeError, match="key"):
        data.train_val_test_split(0, 10)


# --------------------------------------------------------------------- k-fold

@pytest.mark.parametrize("n, k", [(10, 3), (12, 4), (5, 5), (7, 2)])
def test_kfold_partitions(n, k):
    folds = data.kfold_indices(jax.random.key(n + k), n, k)
    assert len(folds) == k
    vals = [set(np.asarray(f.val).tolist()) for f in folds]
    assert set().union(*vals) == set(range(n))
    assert sum(len(v) for v in vals) == n  # pairwise disjoint
    assert max(map(len, vals)) - min(map(len, vals)) <= 1
    for fold, val in zip(folds, vals):
        train_idx, val_idx = fold  # unpacks as a (train, val) pair
        train = set(np.asarray(train_idx).tolist())
        assert len(train) == len(train_idx) == n - len(val)
        assert not train & val and train | val == set(range(n))


def test_kfold_keys_differ():
    a = data.kfold_indices(jax.random.key(0), 20, 4)
    b = data.kfold_indices(jax.random.key(1), 20, 4)
    assert not all(np.array_equal(fa.val, fb.val) for fa, fb in zip(a, b))


def test_kfold_bad_input():
    with pytest.raises(ValueError, match="k"):
        data.kfold_indices(jax.random.key(0), 10, 1)
    with pytest.raises(ValueError, match="k"):
        data.kfold_indices(jax.random.key(1), 10, 11)
    with pytest.raises(ValueError, match="n"):
        data.kfold_indices(jax.random.key(2), 1, 2)


# ---------------------------------------------------------------- minibatches

def _toy(n=23):
    return {"x": np.arange(3 * n, dtype=np.float32).reshape(n, 3), "y": np.arange(n)}


def test_minibatches_cover_each_example_once_and_stay_aligned():
    toy = _toy()
    batches = list(data.minibatches(jax.random.key(0), toy, 5))
    assert [len(b["y"]) for b in batches] == [5, 5, 5, 5, 3]
    ids = np.concatenate([b["y"] for b in batches])
    assert sorted(ids.tolist()) == list(range(23))
    assert not np.array_equal(ids, np.arange(23))  # shuffled
    for b in batches:  # rows of every leaf belong together
        np.testing.assert_array_equal(b["x"][:, 0], 3 * b["y"])
        assert isinstance(b["x"], np.ndarray)


def test_minibatches_drop_last_tuple_and_jax_leaves():
    xs = jnp.arange(10.0)
    ys = jnp.arange(10) * 2
    batches = list(data.minibatches(jax.random.key(1), (xs, ys), 4, drop_last=True))
    assert len(batches) == 2
    for bx, by in batches:
        assert bx.shape == (4,) and isinstance(bx, jax.Array)
        np.testing.assert_array_equal(2 * bx.astype(int), by)


def test_minibatches_keys_differ_and_none_keeps_order():
    toy = _toy(12)
    a = np.concatenate([b["y"] for b in data.minibatches(jax.random.key(2), toy, 4)])
    b = np.concatenate([b["y"] for b in data.minibatches(jax.random.key(3), toy, 4)])
    assert not np.array_equal(a, b)
    c = np.concatenate([b["y"] for b in data.minibatches(None, toy, 5)])
    np.testing.assert_array_equal(c, np.arange(12))


def test_minibatches_bad_input():
    with pytest.raises(ValueError, match="data"):
        data.minibatches(jax.random.key(0), {"x": np.zeros(5), "y": np.zeros(4)}, 2)
    with pytest.raises(ValueError, match="data"):
        data.minibatches(jax.random.key(1), {"x": np.zeros(5), "s": np.float32(1.0)}, 2)
    with pytest.raises(ValueError, match="data"):
        data.minibatches(jax.random.key(2), {}, 2)
    with pytest.raises(ValueError, match="batch_size"):
        data.minibatches(jax.random.key(3), _toy(), 0)
    with pytest.raises(ValueError, match="batch_size"):
        data.minibatches(jax.random.key(4), _toy(), 100, drop_last=True)


# ---------------------------------------------------------------- Standardizer

def test_standardizer_zero_mean_unit_std_and_round_trip(x64):
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[3.0, -100.0, 0.0], scale=[0.1, 50.0, 2.0], size=(200, 3))
    std = data.Standardizer.fit(x)
    np.testing.assert_allclose(std.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std.scale, x.std(axis=0), rtol=1e-12)
    z = std.transform(x)
    np.testing.assert_allclose(np.mean(z, axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(np.std(z, axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(std.inverse(z), x, rtol=1e-12, atol=1e-12)
    # a single row and data not used for fitting
    np.testing.assert_allclose(std.inverse(std.transform(x[0])), x[0], rtol=1e-12)


def test_standardizer_float32_round_trip_and_vector():
    x = np.random.default_rng(1).normal(size=50).astype(np.float32) * 7 + 2
    std = data.Standardizer.fit(x)
    assert std.mean.shape == ()
    np.testing.assert_allclose(std.inverse(std.transform(x)), x, rtol=1e-5, atol=1e-5)


def test_standardizer_constant_column():
    x = np.array([[0.1, 1.0], [0.1, 2.0], [0.1, 4.0]], dtype=np.float32)
    std = data.Standardizer.fit(x)
    assert float(std.scale[0]) == 1.0
    z = std.transform(x)
    assert np.all(np.asarray(z[:, 0]) == 0.0)
    np.testing.assert_array_equal(std.inverse(z)[:, 0], x[:, 0])


def test_standardizer_is_a_pytree_for_jit():
    std = data.Standardizer.fit(jnp.array([[1.0], [3.0]]))
    z = jax.jit(lambda s, x: s.transform(x))(std, jnp.array([[5.0]]))
    assert float(z[0, 0]) == pytest.approx(3.0)


def test_standardizer_bad_input():
    with pytest.raises(ValueError, match="x"):
        data.Standardizer.fit(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="x"):
        data.Standardizer.fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match="x"):
        data.Standardizer.fit(np.zeros((0, 3)))
    std = data.Standardizer.fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="x"):
        std.transform(np.ones((4, 2)))
    with pytest.raises(ValueError, match="z"):
        std.inverse(np.ones(2))


# ---------------------------------------------------------- synthetic: line

def test_straight_line_recovers_truth(x64):
    pulls = []
    for seed in range(3):
        d = data.straight_line(jax.random.key(seed), n=200, slope=-1.5, intercept=4.0, sigma=0.5)
        x, y = np.asarray(d.x), np.asarray(d.y)
        assert x.shape == y.shape == (200,)
        assert np.all(np.diff(x) >= 0) and x.min() >= 0.0 and x.max() <= 10.0
        assert float(d.truth["slope"]) == -1.5 and float(d.truth["sigma"]) == 0.5
        slope, intercept = np.polyfit(x, y, 1)
        slope_err = 0.5 / np.sqrt(np.sum((x - x.mean()) ** 2))
        pulls.append((slope - d.truth["slope"]) / slope_err)
        residuals = y - (slope * x + intercept)
        # residual scatter agrees with sigma: chi2/dof within ~5 standard deviations
        chi2_dof = np.sum(residuals**2) / 0.5**2 / 198
        assert abs(chi2_dof - 1) < 5 * np.sqrt(2 / 198)
    assert np.all(np.abs(pulls) < 4), pulls


def test_straight_line_seeds_differ_and_bad_input():
    a = data.straight_line(jax.random.key(10))
    b = data.straight_line(jax.random.key(11))
    assert not np.allclose(a.y, b.y)
    with pytest.raises(ValueError, match="n"):
        data.straight_line(jax.random.key(12), n=1)
    with pytest.raises(ValueError, match="sigma"):
        data.straight_line(jax.random.key(13), sigma=-1.0)
    with pytest.raises(ValueError, match="x_range"):
        data.straight_line(jax.random.key(14), x_range=(1.0, 1.0))


# ---------------------------------------------------- synthetic: GW triggers

def test_gw_triggers_shapes_balance_and_seeds():
    # (n = 4000 throughout this file: one compilation)
    d = data.gw_triggers(jax.random.key(0), n=4000, signal_fraction=0.3)
    assert d.x.shape == (4000, 2) and d.y.shape == (4000,) and d.y.dtype == jnp.int32
    x, y = np.asarray(d.x), np.asarray(d.y)
    assert int(y.sum()) == 1200 == d.truth["n_signal"]
    assert set(np.unique(y).tolist()) == {0, 1}
    assert x[:, 0].min() >= 8.0 and x[:, 1].min() > 0.0
    assert not np.all(np.diff(y) >= 0)  # classes are shuffled
    e = data.gw_triggers(jax.random.key(1), n=4000, signal_fraction=0.3)
    assert not np.allclose(x, np.asarray(e.x))
    assert int(np.sum(np.asarray(data.gw_triggers(jax.random.key(5), n=4000).y))) == 2000


def test_gw_triggers_follow_the_documented_model():
    d = data.gw_triggers(jax.random.key(2), n=4000)
    x, y, t = np.asarray(d.x, dtype=np.float64), np.asarray(d.y), d.truth
    rho0, kappa = t["snr_threshold"], t["noise_snr_width"]
    snr_s, snr_n = x[y == 1, 0], x[y == 0, 0]
    mc_s, mc_n = x[y == 1, 1], x[y == 0, 1]
    # signal: p(ρ) ∝ ρ^-4 above ρ0 is a Pareto law with index 3
    assert scipy.stats.kstest(snr_s, scipy.stats.pareto(b=3, scale=rho0).cdf).pvalue > 1e-3
    # noise: (ρ² - ρ0²) / 2κ² ~ Exp(1)
    assert scipy.stats.kstest((snr_n**2 - rho0**2) / (2 * kappa**2), "expon").pvalue > 1e-3
    sig_mc = scipy.stats.lognorm(s=t["signal_mchirp_log_sigma"], scale=t["signal_mchirp_median"])
    noise_mc = scipy.stats.lognorm(s=t["noise_mchirp_log_sigma"], scale=t["noise_mchirp_median"])
    assert scipy.stats.kstest(mc_s, sig_mc.cdf).pvalue > 1e-3
    assert scipy.stats.kstest(mc_n, noise_mc.cdf).pvalue > 1e-3
    # the returned log-likelihood ratio is log p_s(x) - log p_n(x) of that model
    rayleigh = scipy.stats.rayleigh(scale=kappa)
    log_ps = scipy.stats.pareto(b=3, scale=rho0).logpdf(x[:, 0]) + sig_mc.logpdf(x[:, 1])
    log_pn = rayleigh.logpdf(x[:, 0]) - rayleigh.logsf(rho0) + noise_mc.logpdf(x[:, 1])
    np.testing.assert_allclose(t["log_likelihood_ratio"], log_ps - log_pn, rtol=1e-4, atol=1e-4)


def test_gw_triggers_overlap_gives_realistic_auc():
    train = data.gw_triggers(jax.random.key(3), n=4000)
    test = data.gw_triggers(jax.random.key(4), n=4000)
    scaler = sklearn.preprocessing.StandardScaler().fit(np.asarray(train.x))
    clf = sklearn.linear_model.LogisticRegression().fit(scaler.transform(np.asarray(train.x)),
                                                        np.asarray(train.y))
    score = clf.decision_function(scaler.transform(np.asarray(test.x)))
    auc = sklearn.metrics.roc_auc_score(np.asarray(test.y), score)
    assert 0.90 < auc < 0.97, auc
    bayes = sklearn.metrics.roc_auc_score(np.asarray(test.y),
                                          np.asarray(test.truth["log_likelihood_ratio"]))
    assert auc - 0.01 < bayes < 0.99, (auc, bayes)


def test_gw_triggers_bad_input():
    with pytest.raises(ValueError, match="signal_fraction"):
        data.gw_triggers(jax.random.key(0), n=10, signal_fraction=1.5)
    with pytest.raises(ValueError, match="n"):
        data.gw_triggers(jax.random.key(1), n=0)


# ------------------------------------------------------ synthetic: two moons

def test_two_moons_shapes_balance_and_seeds():
    # (n = 301 throughout this file: one compilation)
    d = data.two_moons(jax.random.key(0), n=301, noise=0.1)
    assert d.x.shape == (301, 2) and d.y.shape == (301,) and d.y.dtype == jnp.int32
    y = np.asarray(d.y)
    assert np.sum(y == 0) == 150 and np.sum(y == 1) == 151
    e = data.two_moons(jax.random.key(1), n=301, noise=0.1)
    assert not np.allclose(np.asarray(d.x), np.asarray(e.x))


def test_two_moons_noiseless_points_equal_sklearn():
    d = data.two_moons(jax.random.key(2), n=301, noise=0.0)
    ref_x, ref_y = sklearn.datasets.make_moons(n_samples=301, noise=0.0, shuffle=False)
    for label in (0, 1):
        ours = np.asarray(d.x)[np.asarray(d.y) == label]
        theirs = ref_x[ref_y == label]
        assert ours.shape == theirs.shape
        # the same set of points: every point has an exact partner in the other set
        dist = np.linalg.norm(ours[:, None, :] - theirs[None, :, :], axis=-1)
        assert dist.min(axis=1).max() < 1e-6 and dist.min(axis=0).max() < 1e-6


def test_two_moons_noise_level():
    d = data.two_moons(jax.random.key(3), n=301, noise=0.05)
    x, y = np.asarray(d.x, dtype=np.float64), np.asarray(d.y)
    angle = np.asarray(d.truth["angle"], dtype=np.float64)
    clean = np.where((y == 0)[:, None],
                     np.stack([np.cos(angle), np.sin(angle)], axis=1),
                     np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1))
    resid = (x - clean).ravel()
    # 602 residuals: the relative standard error of their std is 1/sqrt(2 * 602) ~ 0.03
    assert abs(resid.std() / 0.05 - 1) < 5 / np.sqrt(2 * resid.size)
    assert abs(resid.mean()) < 5 * 0.05 / np.sqrt(resid.size)
    with pytest.raises(ValueError, match="noise"):
        data.two_moons(jax.random.key(4), noise=-0.1)
