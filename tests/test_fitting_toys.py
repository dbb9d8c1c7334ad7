"""Toy studies with jaxphys.fitting: thousands of fits in one compiled call, pulls of
mean 0 and width 1, and HESSE and MINOS intervals covering at 68 % and 95 % within
Monte-Carlo error (a small default-tier study; the full one is marked slow)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import pytest
from scipy import stats

from jaxphys.fitting import (BinnedNLL, Parameters, coverage, minimize, minimize_toys, minos,
                             pull_summary)

EDGES = np.linspace(-3.0, 3.0, 25)
TRUTH = {"n": 2000.0, "mu": 0.2, "sigma": 0.9}
PARAMS = Parameters(TRUTH, limits={"n": (0.0, None), "sigma": (0.0, None)})


def cdf(e, p):
    return p["n"] * jsp.ndtr((e - p["mu"]) / p["sigma"])


def make_cost(counts):
    return BinnedNLL(counts, EDGES, cdf=cdf, extended=True)


def toy_counts(key, n_toys):
    expected = TRUTH["n"] * np.diff(stats.norm.cdf(EDGES, TRUTH["mu"], TRUTH["sigma"]))
    return np.asarray(jax.random.poisson(key, jnp.asarray(expected), (n_toys, EDGES.size - 1)),
                      np.float64)


def check_study(n_toys, with_minos):
    counts = toy_counts(jax.random.key(7), n_toys)
    fits = minimize_toys(make_cost, counts, PARAMS)
    assert fits.values.shape == (n_toys, 3) and bool(np.all(np.asarray(fits.valid)))
    truth = np.array(list(TRUTH.values()))
    values, errors = np.asarray(fits.values), np.asarray(fits.errors)
    n_sigma = 4.0  # tolerance in Monte-Carlo standard errors
    for i in range(3):
        s = pull_summary(values[:, i], errors[:, i], truth[i])
        assert abs(float(s.mean)) < n_sigma * float(s.mean_error), (i, s)
        assert abs(float(s.width) - 1.0) < n_sigma * float(s.width_error), (i, s)
        for z, prob in ((1.0, stats.norm.cdf(1) - stats.norm.cdf(-1)), (1.96, 0.95)):
            c = coverage(values[:, i] - z * errors[:, i], values[:, i] + z * errors[:, i],
                         truth[i])
            assert abs(float(c.fraction) - prob) < n_sigma * np.sqrt(prob * (1 - prob) / n_toys)
    if not with_minos:
        return fits
    with jax.enable_x64(True):
        intervals = {cl: jax.jit(jax.vmap(lambda n, r, cl=cl: minos(make_cost(n), PARAMS, r,
                                                                    cl=cl)))(counts, fits)
                     for cl in (0.6827, 0.95)}
    for cl, iv in intervals.items():
        assert bool(np.all(np.asarray(iv.lower_valid) & np.asarray(iv.upper_valid)))
        for i in range(3):
            c = coverage(iv.lower[:, i], iv.upper[:, i], truth[i])
            tolerance = n_sigma * np.sqrt(cl * (1 - cl) / n_toys)
            assert abs(float(c.fraction) - cl) < tolerance, (cl, i, c)
    return fits


def test_toy_study_default_tier():
    fits = check_study(200, with_minos=True)
    # the queue (slots refilled as fits converge) gives each toy exactly its own fit
    counts = toy_counts(jax.random.key(7), 200)
    for i in (0, 57, 199):
        single = minimize(make_cost(counts[i]), PARAMS)
        np.testing.assert_allclose(np.asarray(fits.values[i]), np.asarray(single.values),
                                   rtol=1e-10)
        np.testing.assert_allclose(np.asarray(fits.errors[i]), np.asarray(single.errors),
                                   rtol=1e-10)
        assert int(fits.n_iterations[i]) == int(single.n_iterations)
    # one compiled call per study: a second study of the same shape does not recompile
    from jaxphys.fitting._toys import _toys
    size = _toys._cache_size()
    other = minimize_toys(make_cost, toy_counts(jax.random.key(8), 200), PARAMS)
    assert _toys._cache_size() == size
    assert not np.allclose(np.asarray(other.values), np.asarray(fits.values))  # seeds differ


@pytest.mark.slow
def test_toy_study_full():
    check_study(4000, with_minos=True)


def test_minimize_toys_bad_input():
    with pytest.raises(ValueError, match="data"):
        minimize_toys(make_cost, {"a": np.zeros((3, 24)), "b": np.zeros((4, 24))}, PARAMS)
    with pytest.raises(TypeError, match="make_cost"):
        minimize_toys(None, np.zeros((3, 24)), PARAMS)
    with pytest.raises(ValueError, match="batch_size"):
        minimize_toys(make_cost, np.zeros((3, 24)), PARAMS, batch_size=0)
