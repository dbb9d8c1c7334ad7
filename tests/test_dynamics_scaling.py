"""Scaling laws: power-law fits with bootstrap intervals, sweeps, teacher–student, KAN grids."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import Model
from jaxphys.dynamics import (fit_power_law, kan_grid_scaling, scaling_sweep,
                              teacher_student_sweep)

SIZES = np.array([10.0, 20, 50, 100, 200, 500, 1000, 2000, 5000])


def test_fit_exact_power_law(x64):
    fit = fit_power_law(SIZES, 0.05 + 3.0 * SIZES ** -0.7, n_bootstrap=200)
    assert abs(fit.alpha - 0.7) < 1e-6 and abs(fit.l_inf - 0.05) < 1e-8
    assert abs(fit.a - 3.0) < 1e-5
    pure = fit_power_law(SIZES, 2.0 * SIZES ** -1.3, n_bootstrap=200, with_floor=False)
    assert abs(pure.alpha - 1.3) < 1e-6 and pure.l_inf == 0.0


def test_fit_recovers_alpha_within_ci(x64):
    """Synthetic noisy power law: α inside the 90 % interval; and the interval covers the
    truth for most of 10 independent data sets (nominal 90 %)."""
    rng = np.random.default_rng(0)
    alpha, covered, widths = 0.5, 0, []
    for seed in range(10):
        losses = (0.1 + 2.0 * SIZES ** -alpha) * np.exp(0.03 * rng.standard_normal(SIZES.size))
        fit = fit_power_law(SIZES, losses, key=jax.random.key(seed), n_bootstrap=200)
        covered += fit.alpha_ci[0] <= alpha <= fit.alpha_ci[1]
        widths.append(fit.alpha_ci[1] - fit.alpha_ci[0])
        if seed == 0:
            assert fit.alpha_ci[0] <= alpha <= fit.alpha_ci[1], fit.alpha_ci
            assert fit.alpha_ci[0] <= fit.alpha <= fit.alpha_ci[1]
    assert covered >= 7, covered
    assert 0.0 < np.median(widths) < 0.3


def test_fit_bad_input():
    with pytest.raises(ValueError, match="losses"):
        fit_power_law(SIZES, SIZES[:-1])
    with pytest.raises(ValueError, match="losses"):
        fit_power_law(SIZES, -SIZES)
    with pytest.raises(ValueError, match="sizes"):
        fit_power_law([1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="method"):
        fit_power_law(SIZES, 1 / SIZES, method="jackknife")


def test_sweep_vmapped_and_looped_agree():
    def train_fn(key, n):
        noise = 1e-3 * jax.random.uniform(key, (3,))
        return jnp.array([3.0, 2.0, 4.0]) / n + noise

    a = scaling_sweep(jax.random.key(0), train_fn, [1, 2, 4, 8], n_seeds=3)
    b = scaling_sweep(jax.random.key(0), train_fn, [1, 2, 4, 8], n_seeds=3, vmap_sizes=True)
    np.testing.assert_allclose(a.min_test_loss, b.min_test_loss, rtol=1e-6)
    assert a.curves.shape == (4, 3, 3)
    np.testing.assert_allclose(a.mean_min_test_loss, 2.0 / np.array([1, 2, 4, 8]), atol=2e-3)


@pytest.mark.no_key_reuse_check
def test_teacher_student_data_scaling():
    res = teacher_student_sweep(jax.random.key(0), [16, 64, 256], d_in=2, teacher_width=8,
                                student_width=16, n_steps=400, n_test=256, n_seeds=2,
                                n_eval=4)
    assert res.min_test_loss.shape == (3, 2)
    assert np.all(np.diff(res.mean_min_test_loss) < 0)          # more data, lower loss


@pytest.mark.no_key_reuse_check
def test_teacher_student_takes_the_users_student_and_optimizer():
    """A linear student (a core.Model) with learning rate 0 never moves: flat test curves;
    with Adam it learns, yet cannot beat the best linear fit of the tanh teacher."""
    linear = Model(lambda k, x: {"w": jax.random.normal(k, (x.shape[1],)), "b": jnp.zeros(())},
                   lambda p, x: x @ p["w"] + p["b"])
    kw = dict(d_in=2, teacher_width=8, n_steps=60, n_test=128, n_seeds=2, n_eval=3,
              model=linear)
    frozen = teacher_student_sweep(jax.random.key(0), [16, 64], optimizer=optax.sgd(0.0), **kw)
    np.testing.assert_array_equal(frozen.curves[..., 0], frozen.curves[..., -1])
    moving = teacher_student_sweep(jax.random.key(0), [16, 64], optimizer=optax.adam(0.05), **kw)
    assert np.all(moving.curves[..., -1] < moving.curves[..., 0])
    with pytest.raises(ValueError, match="model"):
        teacher_student_sweep(jax.random.key(0), [16], model=Model(
            lambda k, x: jnp.ones((x.shape[1], 3)), lambda p, x: x @ p), **{
                k: v for k, v in kw.items() if k != "model"})


@pytest.mark.no_key_reuse_check
def test_kan_grid_scaling_exponent_near_4(x64):
    """Cubic splines: RMSE ∝ G^-4; the fitted exponent within 25 % of 4."""
    res = kan_grid_scaling(jax.random.key(0), (4, 8, 16, 32), n_lbfgs=150, n_bootstrap=200)
    assert np.all(np.diff(res.test_rmse) < 0)
    assert abs(res.fit.alpha - 4.0) <= 1.0, (res.fit.alpha, res.test_rmse)


@pytest.mark.slow   # duplicate of tests/test_tour.py once the chapter is registered
@pytest.mark.no_key_reuse_check
def test_tour_chapter_19_quick(tmp_path):
    from jaxphys.tour._ch19_scaling import CHAPTER

    res = CHAPTER.run(jax.random.key(0), tmp_path, quick=True)
    assert abs(res.metrics["kan_alpha"] - 4.0) <= 1.0
    assert res.metrics["bv_max_rel_mismatch_deg_le_6"] < 0.05
    assert all(p.exists() for p in res.figures)
