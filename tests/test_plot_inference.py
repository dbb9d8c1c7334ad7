"""jaxphys.plot's inference figures: the corner plot, the P–P plot and the profile curve.

Each writes a PNG, draws what it is given (checked on the artists), and its numbers
match an independent computation: the binomial band against scipy's quantiles and
jaxphys.physics.gw.pp_plot_data, the corner plot's highest-density thresholds against
the closed form of a 2-D Gaussian."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from jaxphys import plot  # noqa: E402
from jaxphys.plot._corner import credible_thresholds  # noqa: E402
from jaxphys.plot._pp import binomial_band  # noqa: E402


def _assert_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


# ---- profile -------------------------------------------------------------------------------

def test_plot_profile_draws_the_curve_parabola_and_intervals(tmp_path):
    x = np.linspace(-1.0, 3.0, 81)
    delta = ((x - 1.0) / 0.5) ** 2 * (1.0 + 0.1 * (x - 1.0))
    path = tmp_path / "profile.png"
    fig = plot.plot_profile(x, delta, best=1.0, error=0.5, xlabel="μ",
                            intervals={"68 %": (0.52, 1.49, 1.0), "95 %": (0.1, 2.0, 3.84)},
                            path=path)
    assert isinstance(fig, Figure)
    _assert_png(path)
    (ax,) = fig.axes
    curve, parabola = ax.lines[0], ax.lines[1]
    np.testing.assert_allclose(curve.get_ydata(), delta)
    np.testing.assert_allclose(parabola.get_ydata(), ((x - 1.0) / 0.5) ** 2)
    # each interval: a horizontal segment at its threshold between its two ends
    segments = [np.asarray(c.get_segments()) for c in ax.collections if c.get_segments()]
    horizontal = [s for s in segments if s.shape[0] == 1 and s[0, 0, 1] == s[0, 1, 1]]
    assert sorted(float(s[0, 0, 1]) for s in horizontal) == [1.0, 3.84]
    ends = {float(s[0, 0, 1]): (float(s[0, 0, 0]), float(s[0, 1, 0])) for s in horizontal}
    assert ends[1.0] == (0.52, 1.49) and ends[3.84] == (0.1, 2.0)
    assert ax.get_xlabel() == "μ"
    assert any("68 %: [0.52, 1.49]" in t.get_text() for t in ax.get_legend().get_texts())


def test_plot_profile_draws_into_given_axes_and_skips_nonfinite(tmp_path):
    fig = Figure()
    axes = fig.subplots(1, 2)
    x = np.linspace(0.0, 1.0, 5)
    y = np.array([1.0, np.inf, 0.0, 0.5, 2.0])
    out = plot.plot_profile(x, y, ax=axes[1])
    assert out is fig and len(axes[1].lines) == 1 and not axes[0].lines
    np.testing.assert_allclose(axes[1].lines[0].get_xdata(), x[np.isfinite(y)])


def test_plot_profile_bad_input():
    x = np.linspace(0.0, 1.0, 5)
    with pytest.raises(ValueError, match="values"):
        plot.plot_profile(x[::-1], x)
    with pytest.raises(ValueError, match="same length"):
        plot.plot_profile(x, x[:3])
    with pytest.raises(ValueError, match=r"intervals\['a'\]"):
        plot.plot_profile(x, x, intervals={"a": (1.0, 0.0, 1.0)})
    with pytest.raises(ValueError, match="threshold"):
        plot.plot_profile(x, x, intervals={"a": (0.0, 1.0, -1.0)})
    with pytest.raises(ValueError, match="best"):
        plot.plot_profile(x, x, error=0.1)
    with pytest.raises(ValueError, match="error"):
        plot.plot_profile(x, x, best=0.5, error=0.0)


# ---- P–P -----------------------------------------------------------------------------------

def test_binomial_band_matches_scipy_quantiles():
    stats = pytest.importorskip("scipy.stats")
    grid = np.linspace(0.0, 1.0, 37)[1:-1]
    for n in (20, 200):
        for confidence in (0.68, 0.95):
            lower, upper = binomial_band(n, grid, confidence)
            alpha = 0.5 * (1.0 - confidence)
            np.testing.assert_allclose(lower, stats.binom.ppf(alpha, n, grid) / n)
            np.testing.assert_allclose(upper, stats.binom.ppf(1.0 - alpha, n, grid) / n)
    lower, upper = binomial_band(10, np.array([0.0, 1.0]), 0.95)
    np.testing.assert_array_equal(lower, [0.0, 1.0])
    np.testing.assert_array_equal(upper, [0.0, 1.0])


def test_plot_pp_draws_the_ecdf_and_gw_band(tmp_path):
    from jaxphys.physics.gw import pp_plot_data

    rng = np.random.default_rng(3)
    levels = np.stack([rng.uniform(size=150), rng.beta(2.0, 1.0, size=150)], axis=1)
    path = tmp_path / "pp.png"
    fig = plot.plot_pp(levels, names=["a", "b"], confidence=0.95, n_grid=51, path=path)
    _assert_png(path)
    (ax,) = fig.axes
    grid = np.linspace(0.0, 1.0, 51)
    diagonal, first, second = ax.lines
    np.testing.assert_allclose(diagonal.get_ydata(), [0, 1])
    for line, column in ((first, 0), (second, 1)):
        expected = np.array([np.sum(levels[:, column] <= g) / 150 for g in grid])
        np.testing.assert_allclose(line.get_ydata(), expected)
    # the shaded band is the one jaxphys.physics.gw reports for the same injections
    reference = pp_plot_data(levels, confidence=0.95, n_grid=51)
    (band,) = ax.collections
    vertices = band.get_paths()[0].vertices   # fill_between: the lower edge, then the upper
    np.testing.assert_allclose(vertices[1:52, 0], grid)      # edge backwards
    np.testing.assert_allclose(vertices[1:52, 1], reference.lower)
    np.testing.assert_allclose(vertices[53:104, 1], reference.upper[::-1])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["95 % binomial band", "a", "b"]


def test_plot_pp_bad_input():
    with pytest.raises(ValueError, match="credible_levels"):
        plot.plot_pp(np.array([[0.5, 1.5], [0.1, 0.2]]))
    with pytest.raises(ValueError, match="credible_levels"):
        plot.plot_pp(np.array([[0.5]]))
    with pytest.raises(ValueError, match="names"):
        plot.plot_pp(np.full((5, 2), 0.5), names=["only one"])
    with pytest.raises(ValueError, match="confidence"):
        plot.plot_pp(np.full((5, 2), 0.5), confidence=1.5)


# ---- corner --------------------------------------------------------------------------------

def test_credible_thresholds_match_the_gaussian_closed_form():
    """For a 2-D standard normal the highest-density region holding 1 - exp(-k²/2) of the
    mass is the circle of radius k, whose boundary density is exp(-k²/2)/(2π)."""
    edges = np.linspace(-6.0, 6.0, 1201)
    centres = 0.5 * (edges[1:] + edges[:-1])
    xx, yy = np.meshgrid(centres, centres)
    density = np.exp(-0.5 * (xx ** 2 + yy ** 2)) / (2 * np.pi)
    ks = np.array([1.0, 2.0])
    levels = 1.0 - np.exp(-0.5 * ks ** 2)
    thresholds = credible_thresholds(density, levels)
    np.testing.assert_allclose(thresholds, np.exp(-0.5 * ks ** 2) / (2 * np.pi), rtol=2e-3)
    assert thresholds[0] > thresholds[1]
    with pytest.raises(ValueError, match="levels"):
        credible_thresholds(density, [1.0])
    with pytest.raises(ValueError, match="density"):
        credible_thresholds(np.zeros(4), [0.5])


def test_plot_corner_overlays_weighted_sets(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    b = 0.5 + rng.normal(size=(3000, 3))
    weights = rng.uniform(size=3000)
    path = tmp_path / "corner.png"
    fig = plot.plot_corner({"a": a, "b": b}, weights={"b": weights}, names=["x", "y", "z"],
                           truth=[0.0, 0.0, 0.0], path=path, bins=30)
    _assert_png(path)
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    assert not any(axes[i, j].axison or axes[i, j].collections or axes[i, j].patches
                   for i in range(3) for j in range(3) if j > i)
    # diagonal: each set's normalised (weighted) histogram, as numpy computes it
    diag = axes[1, 1]
    lo, hi = diag.get_xlim()
    heights = [p.get_path().vertices for p in diag.patches]
    assert len(heights) == 2
    expected_b = np.histogram(b[:, 1], bins=30, range=(lo, hi), weights=weights, density=True)[0]
    shown_b = heights[1][1:-1:2, 1]
    np.testing.assert_allclose(shown_b, expected_b, rtol=1e-6)
    # lower triangle: contour sets, one per sample set and panel
    assert len(axes[2, 0].collections) >= 2
    assert axes[2, 0].get_xlabel() == "x" and axes[2, 0].get_ylabel() == "z"
    texts = [t.get_text() for t in axes[0, 2].get_legend().get_texts()]
    assert texts == ["a", "b", "truth"]


def test_plot_corner_bad_input():
    x = np.zeros((10, 2)) + np.arange(10)[:, None]
    with pytest.raises(ValueError, match="samples"):
        plot.plot_corner({"a": x, "b": np.ones((10, 3))})
    with pytest.raises(ValueError, match="weights"):
        plot.plot_corner({"a": x}, weights={"c": np.ones(10)})
    with pytest.raises(ValueError, match=r"weights\['a'\]"):
        plot.plot_corner({"a": x}, weights={"a": np.ones(9)})
    with pytest.raises(ValueError, match="names"):
        plot.plot_corner(x, names=["one"])
    with pytest.raises(ValueError, match="truth"):
        plot.plot_corner(x, truth=[1.0])
    with pytest.raises(ValueError, match="levels"):
        plot.plot_corner(x, levels=(0.5, 1.2))
