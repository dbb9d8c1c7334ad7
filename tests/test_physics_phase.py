"""Phase classification of Ising configurations (Carrasquilla–Melko)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest


from jaxphys.core import FitResult, Model
from jaxphys.physics.ising import (T_CRITICAL, accuracy_away_from_tc, bootstrap_crossing,
                                   crossing_temperature,
                                   finite_size_extrapolation, ising_configurations, phase_curve,
                                   predict_ordered, train_phase_classifier)
from jaxphys.tour._ch16_ising import _z2_logistic_demo as z2_logistic_demo

# Monte Carlo data and 600-step trainings: execution-bound, so compiled optimised
pytestmark = pytest.mark.xla_default_level

TC = 2.0 / np.log(1.0 + np.sqrt(2.0))     # Onsager, written out independently


@pytest.fixture(scope="module")
def ising20():
    """L = 20 configurations on a grid symmetric about T_c plus points near T_c, from one
    generator call (one compilation); at each temperature half the chains train, half test."""
    temps = jnp.linspace(1.0, 2 * TC - 1.0, 20)
    all_temps = jnp.concatenate([temps, jnp.linspace(2.1, 2.45, 8)])
    data = ising_configurations(jax.random.key(20), 20, all_temps, 200, n_chains=20,
                                n_thermal=100, sample_every=5)
    # rows are grouped by temperature, chain-major within a temperature
    per_t = np.arange(data.spins.shape[0]) % 200
    chain = per_t // 10
    is_train = (chain % 2 == 0) & (np.repeat(np.arange(28), 200) < 20)
    is_test = chain % 2 == 1
    split = lambda mask: type(data)(data.spins[mask], data.temperature[mask],  # noqa: E731
                                    data.label[mask], data.critical_temperature)
    return split(is_train), split(is_test)


def test_crossing_and_extrapolation_helpers():
    t = np.linspace(1.0, 3.0, 21)
    p = 1.0 / (1.0 + np.exp((t - 2.3) / 0.1))
    assert crossing_temperature(t, p) == pytest.approx(2.3, abs=2e-3)
    assert np.isnan(crossing_temperature(t, np.ones_like(t)))
    sizes = np.array([8, 12, 16, 24, 32])
    fit = finite_size_extrapolation(sizes, 2.269 + 0.9 / sizes)
    assert fit.tc == pytest.approx(2.269, abs=1e-5) and fit.slope == pytest.approx(0.9, rel=1e-4)
    fit_nu = finite_size_extrapolation(sizes, 2.269 + 0.9 / sizes ** 0.5, nu=2.0)
    assert fit_nu.tc == pytest.approx(2.269, abs=1e-5)
    with pytest.raises(ValueError, match="L"):
        finite_size_extrapolation([8], [2.3])


@pytest.mark.no_key_reuse_check
def test_dense_classifier_L20(ising20):
    """Done-when: test accuracy ≥ 0.97 away from T_c (|T - T_c| ≥ 0.3) for L = 20."""
    train, test = ising20
    clf = train_phase_classifier(jax.random.key(0), train.spins, train.label, kind="dense",
                                 n_steps=600, l2=1e-3)
    acc = accuracy_away_from_tc(clf, test.spins, test.label, test.temperature)
    assert acc >= 0.97
    curve = phase_curve(clf, test.spins, test.temperature)
    p = np.asarray(curve.p_ordered)
    assert p[0] > 0.97 and p[-1] < 0.05
    tc_dense = crossing_temperature(curve.temperature, p)
    assert abs(tc_dense - TC) < 0.06     # a dense net on |m|-like features: T*(L=20) ≈ 2.30


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_cnn_classifier_L20_crossing(ising20):
    """Done-when: the CNN's crossing estimate of T_c within 0.03 of 2.269 at L = 20."""
    train, test = ising20
    clf = train_phase_classifier(jax.random.key(1), train.spins, train.label, kind="cnn",
                                 hidden=32, n_steps=400)
    assert accuracy_away_from_tc(clf, test.spins, test.label, test.temperature) >= 0.97
    curve = phase_curve(clf, test.spins, test.temperature)
    assert abs(crossing_temperature(curve.temperature, curve.p_ordered) - TC) < 0.03


def test_z2_logistic_regression_fails_on_spins_succeeds_on_abs_m(ising20):
    train, test = ising20
    demo = z2_logistic_demo(train.spins, train.label, test.spins, test.label,
                            test.temperature)
    # a linear function of the spins is odd under s → -s: at best it catches one sign
    # of the ordered phase (≤ 0.75 on balanced data)
    assert demo.raw_spins_accuracy < 0.8
    assert demo.abs_m_accuracy_away >= 0.97
    assert demo.abs_m_accuracy > demo.raw_spins_accuracy + 0.15


def test_bad_inputs(ising20):
    train, _ = ising20
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="kind"):
        train_phase_classifier(key, train.spins[:8], train.label[:8], kind="rnn")
    with pytest.raises(ValueError, match="spins"):
        train_phase_classifier(key, train.spins[0], train.label[:1])
    with pytest.raises(ValueError, match="label"):
        train_phase_classifier(key, train.spins[:8], train.label[:7])
    assert float(T_CRITICAL) == pytest.approx(TC)


@pytest.mark.no_key_reuse_check
def test_classifier_seeds_differ_and_predict_shape(ising20):
    train, test = ising20
    sub = slice(0, None, 20)
    a = train_phase_classifier(jax.random.key(0), train.spins[sub], train.label[sub],
                               n_steps=5)
    b = train_phase_classifier(jax.random.key(1), train.spins[sub], train.label[sub],
                               n_steps=5)
    pa, pb = predict_ordered(a, test.spins[:10]), predict_ordered(b, test.spins[:10])
    assert pa.shape == (10,) and not np.allclose(pa, pb)
    with pytest.raises(ValueError, match="L"):
        predict_ordered(a, jnp.ones((2, 8, 8)))


@pytest.mark.no_key_reuse_check
def test_classifier_takes_the_users_model_optimizer_and_fit_options(ising20):
    """A one-feature logistic model on |m| (a jaxphys.core.Model, Z2-invariant), the user's
    optimiser and fit's validation pass through; the |m| model separates the phases."""
    train, test = ising20
    abs_m = Model(lambda key, x: {"w": jnp.ones(()), "b": jnp.zeros(())},
                  lambda p, x: p["w"] * 10.0 * (jnp.abs(jnp.mean(x, axis=1)) - p["b"]))
    val = {"x": test.spins.reshape(test.spins.shape[0], -1).astype(jnp.float32),
           "y": test.label.astype(jnp.float32)}
    clf = train_phase_classifier(jax.random.key(0), train.spins, train.label, model=abs_m,
                                 optimizer=optax.adam(0.05), n_steps=300, l2=0.0,
                                 val_data=val, eval_every=100)
    assert isinstance(clf.result, FitResult) and clf.result.history["val_step"] == [100, 200, 300]
    assert clf.result.history["val_accuracy"][-1] >= 0.9
    assert accuracy_away_from_tc(clf, test.spins, test.label, test.temperature) >= 0.97
    two = Model(lambda key, x: {"w": jnp.ones((x.shape[1], 2))}, lambda p, x: x @ p["w"])
    with pytest.raises(ValueError, match="model"):
        train_phase_classifier(jax.random.key(0), train.spins[:8], train.label[:8], model=two)


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_chapter_16_quick(tmp_path):
    pytest.importorskip("matplotlib")
    from jaxphys.tour._ch16_ising import CHAPTER

    res = CHAPTER.run(jax.random.key(0), tmp_path, quick=True)
    assert all(f.is_file() for f in res.figures)
    assert res.metrics["max_energy_deviation"] < 0.02
    assert res.metrics["accuracy_away_L16"] > 0.95


def _noisy_curve(rng, n_per, n_dup=1):
    """P(ordered) per configuration: a logistic step at T = 2.3 plus Gaussian noise of
    sd 0.2, ``n_per`` configurations per temperature, each repeated ``n_dup`` times (as
    correlated records of one chain would be)."""
    temps = np.linspace(2.0, 2.6, 7)
    t = np.repeat(temps, n_per)
    p = 1.0 / (1.0 + np.exp((t - 2.3) / 0.08)) + 0.2 * rng.normal(size=t.shape)
    groups = np.tile(np.arange(n_per), temps.shape[0])
    return np.repeat(t, n_dup), np.repeat(p, n_dup), np.repeat(groups, n_dup)


def test_bootstrap_crossing_error_matches_the_sampling_spread():
    """The bootstrap error of one data set against the spread of the crossing over 400
    independent data sets (the truth it estimates), within 20 %; with every record
    repeated 5 times (perfectly correlated records), resampling the groups keeps the
    right error while resampling records alone shrinks it by about √5."""
    rng = np.random.default_rng(0)
    spread = np.std([crossing_temperature(*_phase_means(*_noisy_curve(rng, 40)[:2]))
                     for _ in range(400)], ddof=1)
    t, p, g = _noisy_curve(np.random.default_rng(1), 40)
    b = bootstrap_crossing(jax.random.key(0), p, t, n_boot=400)
    assert b.n_boot == b.n_valid == 400
    assert b.crossing == pytest.approx(crossing_temperature(*_phase_means(t, p)))
    assert b.error == pytest.approx(spread, rel=0.2), (b.error, spread)
    t5, p5, g5 = _noisy_curve(np.random.default_rng(1), 40, n_dup=5)
    grouped = bootstrap_crossing(jax.random.key(0), p5, t5, groups=g5, n_boot=400)
    naive = bootstrap_crossing(jax.random.key(0), p5, t5, n_boot=400)
    assert grouped.error == pytest.approx(spread, rel=0.2), (grouped.error, spread)
    assert naive.error == pytest.approx(grouped.error / np.sqrt(5), rel=0.2)
    other = bootstrap_crossing(jax.random.key(1), p, t, n_boot=400)
    assert other.error != b.error                                 # two keys differ
    with pytest.raises(ValueError, match="groups: expected integer"):
        bootstrap_crossing(jax.random.key(0), p, t, groups=g.astype(float))
    with pytest.raises(ValueError, match="level"):
        bootstrap_crossing(jax.random.key(0), p, t, level=1.5)
    with pytest.raises(ValueError, match="p_ordered"):
        bootstrap_crossing(jax.random.key(0), p[:-1], t)
    flat = bootstrap_crossing(jax.random.key(0), np.ones_like(p), t)   # never crosses
    assert np.isnan(flat.crossing) and np.isnan(flat.error) and flat.n_valid == 0


def _phase_means(t, p):
    temps = np.unique(t)
    return temps, np.array([p[t == v].mean() for v in temps])


def test_finite_size_fit_reports_chi2_against_numpy_and_scipy(x64):
    from scipy.stats import chi2 as chi2_dist

    sizes = np.array([8, 12, 16, 24])
    y = np.array([2.37, 2.345, 2.33, 2.31])
    err = np.array([0.01, 0.012, 0.008, 0.01])
    fit = finite_size_extrapolation(sizes, y, err)
    coef = np.polyfit(1.0 / sizes, y, 1, w=1.0 / err)
    resid = (y - np.polyval(coef, 1.0 / sizes)) / err
    assert fit.tc == pytest.approx(coef[1], abs=1e-6) and fit.slope == pytest.approx(coef[0],
                                                                                     rel=1e-5)
    assert fit.dof == 2 and fit.chi2 == pytest.approx(np.sum(resid ** 2), rel=1e-5)
    assert fit.p_value == pytest.approx(chi2_dist.sf(np.sum(resid ** 2), 2), rel=1e-4)
    assert np.isnan(finite_size_extrapolation(sizes, y).chi2)
