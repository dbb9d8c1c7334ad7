"""jaxphys.fitting cost functions against independent likelihoods (scipy.stats), and their
pytree, composition and bad-input behaviour."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import pytest
from scipy import special, stats

from jaxphys.fitting import (BinnedNLL, CorrelatedLeastSquares, CostSum, CustomCost,
                             GaussianConstraint, LeastSquares, Parameters, UnbinnedNLL)

EDGES = np.linspace(-2.0, 3.0, 11)
COUNTS = np.array([3.0, 0.0, 7.0, 12.0, 20.0, 18.0, 9.0, 4.0, 0.0, 1.0])


def gauss_cdf(e, p):
    return jsp.ndtr((e - p["mu"]) / p["sigma"])


def gauss_pdf(x, p):
    return jnp.exp(-0.5 * ((x - p["mu"]) / p["sigma"]) ** 2) / (p["sigma"] * jnp.sqrt(2 * jnp.pi))


P = {"mu": 0.4, "sigma": 1.1}


def test_binned_extended_is_the_poisson_deviance(x64):
    scale = 80.0
    cost = BinnedNLL(COUNTS, EDGES, cdf=lambda e, p: scale * gauss_cdf(e, p), extended=True)
    mu = scale * np.diff(special.ndtr((EDGES - P["mu"]) / P["sigma"]))
    reference = -2 * np.sum(stats.poisson.logpmf(COUNTS, mu) - stats.poisson.logpmf(COUNTS, COUNTS))
    np.testing.assert_allclose(float(cost(P)), reference, rtol=1e-12)


def test_binned_shape_only_is_the_multinomial_deviance(x64):
    cost = BinnedNLL(COUNTS, EDGES, cdf=gauss_cdf)
    p = np.diff(special.ndtr((EDGES - P["mu"]) / P["sigma"]))
    p = p / p.sum()  # conditional on the histogram range
    n = COUNTS.sum()
    reference = -2 * (stats.multinomial.logpmf(COUNTS, n, p)
                      - stats.multinomial.logpmf(COUNTS, n, COUNTS / n))
    np.testing.assert_allclose(float(cost(P)), reference, rtol=1e-10)


def test_density_quadrature_matches_exact_bin_integrals(x64):
    exact = BinnedNLL(COUNTS, EDGES, cdf=gauss_cdf).integrals(P)
    for order, rtol in ((5, 1e-9), (8, 1e-13)):
        quad = BinnedNLL(COUNTS, EDGES, density=gauss_pdf, quadrature_order=order).integrals(P)
        np.testing.assert_allclose(np.asarray(quad), np.asarray(exact), rtol=rtol)
    # one node is the midpoint rule, visibly biased for wide bins
    midpoint = BinnedNLL(COUNTS, EDGES, density=gauss_pdf, quadrature_order=1).integrals(P)
    assert np.max(np.abs(np.asarray(midpoint) / np.asarray(exact) - 1)) > 1e-3


def test_unbinned_plain_and_extended_against_scipy(x64):
    data = np.random.default_rng(0).normal(0.3, 1.2, 50)
    plain = UnbinnedNLL(data, gauss_pdf)
    np.testing.assert_allclose(float(plain(P)), -2 * np.sum(stats.norm.logpdf(data, 0.4, 1.1)),
                               rtol=1e-12)
    extended = UnbinnedNLL(data, gauss_pdf, expected=lambda p: 45.0 + 0.0 * p["mu"])
    # -2 log[Pois(N; ν) Π p(x_i)] up to the constant 2 log N!
    reference = (-2 * (stats.poisson.logpmf(50, 45.0) + np.sum(stats.norm.logpdf(data, 0.4, 1.1)))
                 - 2 * special.gammaln(51))
    np.testing.assert_allclose(float(extended(P)), reference, rtol=1e-12)


def test_least_squares_and_correlated_against_gaussian_likelihoods(x64):
    rng = np.random.default_rng(1)
    x = np.linspace(0, 1, 6)
    y = rng.normal(size=6)
    sigma = np.linspace(0.5, 1.0, 6)
    model = lambda t, p: p[0] + p[1] * t  # noqa: E731
    theta = jnp.array([0.1, -0.3])
    m = 0.1 - 0.3 * x
    diag = LeastSquares(x, y, sigma, model)
    np.testing.assert_allclose(float(diag(theta)), np.sum(((y - m) / sigma) ** 2), rtol=1e-12)
    a = rng.normal(size=(6, 6))
    cov = a @ a.T + 6 * np.eye(6)
    corr = CorrelatedLeastSquares(x, y, cov, model)
    logdet = np.linalg.slogdet(cov)[1]
    reference = -2 * stats.multivariate_normal.logpdf(y, m, cov) - 6 * np.log(2 * np.pi) - logdet
    np.testing.assert_allclose(float(corr(theta)), reference, rtol=1e-10)
    # a diagonal covariance is the diagonal χ²
    diagonal = CorrelatedLeastSquares(x, y, np.diag(sigma ** 2), model)
    np.testing.assert_allclose(float(diagonal(theta)), float(diag(theta)), rtol=1e-12)


def test_sums_divide_by_errordef_and_count_data(x64):
    half = CustomCost(lambda p: 0.5 * ((p["mu"] - 1.0) / 0.5) ** 2, errordef=0.5, n_data=1)
    full = GaussianConstraint("mu", 1.0, 0.5)
    both = half + full + GaussianConstraint(("mu", "sigma"), [0.0, 1.0], [1.0, 2.0])
    assert isinstance(both, CostSum) and len(both.costs) == 3 and both.n_data == 4
    value = float(both(P))
    expected = 2 * ((0.4 - 1.0) / 0.5) ** 2 + 0.4 ** 2 + (0.1 / 2.0) ** 2
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    with pytest.raises(TypeError):
        _ = full + 1.0


def test_costs_are_pytrees_that_jit_and_vmap(x64):
    cost = BinnedNLL(COUNTS, EDGES, cdf=gauss_cdf)
    leaves, tree = jax.tree.flatten(cost)
    assert len(leaves) == 2
    again = jax.tree.unflatten(tree, leaves)
    np.testing.assert_allclose(float(again(P)), float(cost(P)))
    np.testing.assert_allclose(float(jax.jit(lambda c, p: c(p))(cost, P)), float(cost(P)))
    stacked = np.stack([COUNTS, COUNTS + 1])
    values = jax.vmap(lambda n: BinnedNLL(n, EDGES, cdf=gauss_cdf)(P))(stacked)
    np.testing.assert_allclose(float(values[1]),
                               float(BinnedNLL(COUNTS + 1, EDGES, cdf=gauss_cdf)(P)))


@pytest.mark.parametrize("kwargs, argument", [
    (dict(counts=[1.0, -1.0], edges=[0.0, 1.0, 2.0]), "counts"),
    (dict(counts=np.zeros(0), edges=[0.0]), "counts"),
    (dict(counts=[0.0, 0.0], edges=[0.0, 1.0, 2.0]), "counts"),
    (dict(counts=[1.0, 2.0], edges=[0.0, 2.0, 1.0]), "edges"),
    (dict(counts=[1.0, 2.0], edges=[0.0, 1.0]), "edges"),
    (dict(counts=[1.0, np.nan], edges=[0.0, 1.0, 2.0]), "counts"),
])
def test_binned_bad_input_names_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        BinnedNLL(kwargs["counts"], kwargs["edges"], cdf=gauss_cdf)


def test_other_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="cdf, density"):
        BinnedNLL(COUNTS, EDGES, cdf=gauss_cdf, density=gauss_pdf)
    with pytest.raises(ValueError, match="data"):
        UnbinnedNLL(np.array([1.0, np.nan]), gauss_pdf)
    with pytest.raises(ValueError, match="data"):
        UnbinnedNLL(np.zeros(0), gauss_pdf)
    with pytest.raises(ValueError, match="sigma"):
        LeastSquares([0.0, 1.0], [1.0, 2.0], [1.0, 0.0], lambda x, p: p[0] + x)
    with pytest.raises(ValueError, match="x"):
        LeastSquares([0.0, 1.0, 2.0], [1.0, 2.0], 1.0, lambda x, p: p[0] + x)
    with pytest.raises(ValueError, match="covariance"):
        CorrelatedLeastSquares([0.0, 1.0], [1.0, 2.0], [[1.0, 2.0], [2.0, 1.0]],
                               lambda x, p: p[0] + x)
    with pytest.raises(ValueError, match="covariance"):
        CorrelatedLeastSquares([0.0, 1.0], [1.0, 2.0], [[1.0, 0.5], [0.4, 1.0]],
                               lambda x, p: p[0] + x)
    with pytest.raises(ValueError, match="errors"):
        GaussianConstraint("b", 1.0, -0.1)
    with pytest.raises(ValueError, match="errordef"):
        CustomCost(lambda p: p[0] ** 2, errordef=0.0)


def test_parameters_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="start"):
        Parameters({"tau": -1.0}, limits={"tau": (0.0, None)})
    with pytest.raises(ValueError, match="start"):
        Parameters({"tau": 0.0}, limits={"tau": (0.0, None)})  # on the limit
    with pytest.raises(ValueError, match="start"):
        Parameters({"tau": np.nan})
    with pytest.raises(ValueError, match="limits"):
        Parameters({"tau": 1.0}, limits={"t": (0.0, None)})
    with pytest.raises(ValueError, match="limits"):
        Parameters({"tau": 1.0}, limits={"tau": (2.0, 0.0)})
    with pytest.raises(ValueError, match="fixed"):
        Parameters({"tau": 1.0}, fixed=("x",))
    with pytest.raises(ValueError, match="names"):
        Parameters(np.array([1.0, 2.0]), names=("a",))
    p = Parameters(np.array([1.0, 2.0, 3.0]), limits=[None, (0, None), (None, 5.0)], fixed=(0,))
    assert p.names == ("x0", "x1", "x2") and p.layout.free == (1, 2)
    assert p.layout.kinds == (0, 1, 2)
