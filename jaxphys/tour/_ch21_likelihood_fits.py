"""Chapter 21: likelihood fits — a Gaussian on a histogram three ways, then a resonance search.

Part one draws events from a Gaussian (a Poisson number of them, expected
``N_EXPECTED``), histograms them, and fits the normalisation, mean and width three
ways with ``jaxphys.fitting``: the extended binned Poisson likelihood
(``BinnedNLL``, the model's cdf integrated over each bin), the extended unbinned
likelihood of the events themselves (``UnbinnedNLL``), and a χ² with the
errors taken from the data, σ_i = √max(n_i, 1) (``LeastSquares``, Neyman's χ²).
Toy histograms (``jax.random.poisson``) at expected totals from tens to
thousands of events are fitted in one compiled call each (``minimize_toys``). The
figure shows each estimator's bias in units of its spread over the toys, the
metrics the pulls ``(θ̂ - θ)/σ̂`` (``pull_summary``): the χ² fit is biased at low
counts — a bin that fluctuates down gets a smaller error and pulls the curve
down, so the fitted normalisation is low by about one event per populated bin,
a bias that shrinks only as 1/√N relative to the error — while the likelihood's
normalisation is unbiased at any count.

Part two is a resonance search: a Gaussian peak (signal strength μ, μ = 1 the
nominal signal) over an exponential background whose normalisation b carries a
10 % external measurement (``GaussianConstraint``), fitted to a binned mass
spectrum. It draws the profile likelihood in μ (``profile_scan``) with the MINOS
intervals at 68.3 % and 95 % (``minos``), the (μ, b) contours (``contour``), the
discovery significance of the data and of the Asimov data set
(``discovery_significance``, beside the counting-experiment
``metrics.asimov_significance`` in a ±2 width window), the 95 % CLs upper limit
(``upper_limit``), and checks the coverage of the MINOS and HESSE intervals on
toys (fluctuated counts and auxiliary measurement; ``minimize_toys``, a vmapped
``minos``, ``coverage``).

Keys: ``data_key, toy_key = jax.random.split(key)``; the observed data of both parts
are :func:`datasets` ``(data_key)``, every toy :func:`toy_data` ``(toy_key, quick)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ._runner import Chapter, ChapterResult

# ---- part one: a Gaussian on a histogram -------------------------------------------------
GAUSS_EDGES = tuple(-4.0 + 0.2 * i for i in range(41))   # 40 bins of 0.2 on [-4, 4]
GAUSS_TRUTH = {"n": 400.0, "mu": 0.0, "sigma": 1.0}       # n: expected events on the line
TOY_TOTALS = {True: (30.0, 300.0, 3000.0),
              False: (20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 3000.0, 10000.0)}
N_TOYS = {True: 200, False: 2000}

# ---- part two: a resonance over an exponential background --------------------------------
MASS_EDGES = tuple(100.0 + i for i in range(61))         # 60 bins of 1 GeV on [100, 160]
SIGNAL_EVENTS, BACKGROUND_EVENTS = 40.0, 1000.0          # at μ = 1 and b = 1
PEAK_MASS, PEAK_WIDTH, SLOPE = 125.0, 2.0, 30.0          # GeV
RESONANCE_TRUTH = {"mu": 1.0, "b": 1.0, "tau": SLOPE}
B_ERROR = 0.1                                            # external 10 % on b
N_COVERAGE_TOYS = {True: 200, False: 2000}


def gaussian_cdf(e, p):
    """Cumulative expected count ``n Φ((e - μ)/σ)`` (the extended model of part one)."""
    import jax.scipy.special as jsp

    return p["n"] * jsp.ndtr((e - p["mu"]) / p["sigma"])


def bin_integral(x, p):
    """Expected counts of bins ``x`` (m, 2) = (low, high edges): ``n [Φ(b) - Φ(a)]``."""
    return gaussian_cdf(x[:, 1], p) - gaussian_cdf(x[:, 0], p)


def gaussian_binned_cost(counts):
    """Extended binned Poisson likelihood of a histogram on ``GAUSS_EDGES``."""
    from jaxphys.fitting import BinnedNLL

    return BinnedNLL(counts, GAUSS_EDGES, cdf=gaussian_cdf, extended=True)


def gaussian_chi2_cost(counts):
    """Neyman's χ²: errors √max(n_i, 1) from the data, the model integrated over each bin."""
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.fitting import LeastSquares

    edges = np.asarray(GAUSS_EDGES)
    bins = np.stack([edges[:-1], edges[1:]], axis=1)
    return LeastSquares(bins, counts, jnp.sqrt(jnp.maximum(jnp.asarray(counts), 1.0)),
                        bin_integral)


def gaussian_unbinned_cost(events):
    """Extended unbinned likelihood: density normalised on [-4, 4], ν = n [Φ(4) - Φ(-4)]."""
    import jax.numpy as jnp
    import jax.scipy.special as jsp

    from jaxphys.fitting import UnbinnedNLL

    low, high = GAUSS_EDGES[0], GAUSS_EDGES[-1]

    def inside(p):
        return (jsp.ndtr((high - p["mu"]) / p["sigma"])
                - jsp.ndtr((low - p["mu"]) / p["sigma"]))

    def density(x, p):
        z = (x - p["mu"]) / p["sigma"]
        return jnp.exp(-0.5 * z * z) / (jnp.sqrt(2.0 * jnp.pi) * p["sigma"] * inside(p))

    return UnbinnedNLL(events, density, expected=lambda p: p["n"] * inside(p))


def resonance_cdf(e, p):
    """Cumulative expected count: μ s₀ Φ((e - m)/w) + b B₀ (1 - e^{-(e-100)/τ})/(1 - e^{-60/τ})."""
    import jax.numpy as jnp
    import jax.scipy.special as jsp

    low, high = MASS_EDGES[0], MASS_EDGES[-1]
    signal = p["mu"] * SIGNAL_EVENTS * jsp.ndtr((e - PEAK_MASS) / PEAK_WIDTH)
    background = (p["b"] * BACKGROUND_EVENTS * -jnp.expm1(-(e - low) / p["tau"])
                  / -jnp.expm1(-(high - low) / p["tau"]))
    return signal + background


def resonance_cost(toy):
    """Binned likelihood of ``toy['counts']`` plus the constraint ``b = toy['b_measured'] ± 0.1``."""
    from jaxphys.fitting import BinnedNLL, GaussianConstraint

    return (BinnedNLL(toy["counts"], MASS_EDGES, cdf=resonance_cdf, extended=True)
            + GaussianConstraint("b", toy["b_measured"], B_ERROR))


def resonance_parameters(start=None, fixed=()):
    """The fit's parameters (μ, b, τ), started at ``start`` (the truth by default)."""
    from jaxphys.fitting import Parameters

    return Parameters(RESONANCE_TRUTH if start is None else start,
                      limits={"b": (0.0, None), "tau": (5.0, 200.0)}, fixed=fixed)


def _phi(z):
    """Standard normal cdf on the host (numpy)."""
    import math

    import numpy as np

    return 0.5 * np.vectorize(math.erfc)(-np.asarray(z, np.float64) / math.sqrt(2.0))


def gaussian_expected(params):
    """Expected counts (40,) of the histogram of part one, on the host (numpy)."""
    import numpy as np

    e = np.asarray(GAUSS_EDGES)
    return params["n"] * np.diff(_phi((e - params["mu"]) / params["sigma"]))


def resonance_expected(params, edges=MASS_EDGES):
    """Expected counts of the mass bins ``edges`` (default (60,)), on the host (numpy)."""
    import numpy as np

    e = np.asarray(edges, np.float64)
    low, high = MASS_EDGES[0], MASS_EDGES[-1]
    signal = params["mu"] * SIGNAL_EVENTS * _phi((e - PEAK_MASS) / PEAK_WIDTH)
    background = (params["b"] * BACKGROUND_EVENTS * -np.expm1(-(e - low) / params["tau"])
                  / -np.expm1(-(high - low) / params["tau"]))
    return np.diff(signal + background)


class Datasets(NamedTuple):
    """The chapter's observed data.

    Fields:
      events: (N,) float64 Gaussian events inside [-4, 4] (N ~ Poisson).
      counts: (40,) their histogram on ``GAUSS_EDGES``.
      mass_counts: (60,) the observed mass spectrum on ``MASS_EDGES``.
    """

    events: object
    counts: object
    mass_counts: object


def datasets(key) -> Datasets:
    """Both parts' observed data from one key (see the module docstring for the key)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    count_key, event_key = jax.random.split(key)
    # one Poisson draw: the number of Gaussian events, then the 60 mass bins
    rates = np.concatenate([[GAUSS_TRUTH["n"]], resonance_expected(RESONANCE_TRUTH)])
    counts = np.asarray(jax.random.poisson(count_key, jnp.asarray(rates)), np.float64)
    x = np.asarray(jax.random.normal(event_key, (int(counts[0]),)), np.float64)
    x = GAUSS_TRUTH["mu"] + GAUSS_TRUTH["sigma"] * x
    events = x[(x > GAUSS_EDGES[0]) & (x < GAUSS_EDGES[-1])]
    histogram = np.histogram(events, np.asarray(GAUSS_EDGES))[0].astype(np.float64)
    return Datasets(events, histogram, counts[1:])


class Toys(NamedTuple):
    """Toy data sets.

    Fields:
      histograms: (levels, n_toys, 40) Poisson histograms of part one, one row of
        ``TOY_TOTALS`` expected events per level.
      mass_counts: (n_coverage_toys, 60) mass spectra at the truth (μ = 1, b = 1).
      b_measured: (n_coverage_toys,) the auxiliary measurement of b, N(1, 0.1).
    """

    histograms: object
    mass_counts: object
    b_measured: object


def toy_data(key, quick: bool) -> Toys:
    """All toys of the chapter: one Poisson and one normal draw."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    count_key, aux_key = jax.random.split(key)
    totals = np.asarray(TOY_TOTALS[quick])
    n_toys, n_cover = N_TOYS[quick], N_COVERAGE_TOYS[quick]
    shape = gaussian_expected(dict(GAUSS_TRUTH, n=1.0))
    rates = np.concatenate([(totals[:, None] * shape[None]).ravel(),
                            resonance_expected(RESONANCE_TRUTH)])
    size = max(n_toys, n_cover)
    counts = np.asarray(jax.random.poisson(count_key, jnp.asarray(rates), (size, rates.size)),
                        np.float64)
    histograms = counts[:n_toys, :totals.size * shape.size].reshape(n_toys, totals.size, -1)
    aux = np.asarray(jax.random.normal(aux_key, (n_cover,)), np.float64)
    return Toys(np.swapaxes(histograms, 0, 1), counts[:n_cover, totals.size * shape.size:],
                RESONANCE_TRUTH["b"] + B_ERROR * aux)


def _three_fits(data):
    import numpy as np

    from jaxphys.fitting import Parameters, minimize

    start = {"n": float(data.counts.sum()), "mu": float(np.mean(data.events)),
             "sigma": float(np.std(data.events))}
    params = Parameters(start, limits={"n": (0.0, None), "sigma": (0.0, None)})
    return {"binned likelihood": minimize(gaussian_binned_cost(data.counts), params),
            "unbinned likelihood": minimize(gaussian_unbinned_cost(data.events), params),
            "χ² (σ = √n)": minimize(gaussian_chi2_cost(data.counts), params)}


def _bias_study(toys, quick):
    """Mean pulls of n and σ over toys at each expected total, binned likelihood vs χ²."""
    import numpy as np

    from jaxphys.fitting import Parameters, minimize_toys, pull_summary

    totals = TOY_TOTALS[quick]
    out = {"binned": [], "chi2": []}
    for total, histograms in zip(totals, toys.histograms):
        truth = dict(GAUSS_TRUTH, n=total)
        params = Parameters(truth, limits={"n": (0.0, None), "sigma": (0.0, None)})
        for name, make_cost in (("binned", gaussian_binned_cost), ("chi2", gaussian_chi2_cost)):
            fits = minimize_toys(make_cost, histograms, params)
            values, errors = np.asarray(fits.values), np.asarray(fits.errors)
            valid = np.asarray(fits.valid)
            row = {"valid": float(valid.mean())}
            for i, p in enumerate(("n", "mu", "sigma")):
                s = pull_summary(values[:, i], errors[:, i], truth[p], valid)
                good = values[valid, i]
                spread = float(np.std(good, ddof=1))
                # bias in units of the spread of the estimates over the toys (the figure), and
                # the pulls (θ̂ - θ)/σ̂ with the fit's own errors (the metrics)
                row[p] = {"bias": (float(np.mean(good)) - truth[p]) / spread,
                          "bias_error": 1.0 / np.sqrt(good.size),
                          "pull_mean": float(s.mean), "pull_mean_error": float(s.mean_error),
                          "pull_width": float(s.width)}
            out[name].append(row)
    return totals, out


def _resonance(data, toys, quick):
    from statistics import NormalDist

    import jax
    import numpy as np

    from jaxphys import metrics
    from jaxphys.fitting import (contour, coverage, discovery_significance, minimize,
                                 minimize_toys, minos, profile_scan, upper_limit)

    params = resonance_parameters()
    observed = {"counts": data.mass_counts, "b_measured": np.float64(RESONANCE_TRUTH["b"])}
    cost = resonance_cost(observed)
    fit = minimize(cost, params)
    one_sigma = minos(cost, params, fit, "mu")
    ninety_five = minos(cost, params, fit, "mu", cl=0.95)
    mu_hat, mu_err = float(fit.values[0]), float(fit.errors[0])
    # the grid holds μ = 0 exactly: its profiled point is the background-only fit
    grid = np.union1d(np.linspace(min(-0.5, float(ninety_five.lower) - 0.5),
                                  float(ninety_five.upper) + 0.7, 61 if quick else 121), [0.0])
    scan = profile_scan(cost, params, fit, "mu", grid)
    null = np.asarray(scan.parameters)[int(np.flatnonzero(grid == 0.0)[0])]
    contours = {cl: contour(cost, params, fit, "mu", "b", cl=cl, size=24 if quick else 60)
                for cl in (0.6827, 0.95)}
    discovery = discovery_significance(cost, params, fit, "mu")
    limit = upper_limit(cost, params, fit, "mu", method="cls")
    asimov_data = {"counts": resonance_expected(RESONANCE_TRUTH),
                   "b_measured": np.float64(RESONANCE_TRUTH["b"])}
    asimov_cost = resonance_cost(asimov_data)
    asimov = discovery_significance(asimov_cost, params, minimize(asimov_cost, params), "mu")
    window = (PEAK_MASS - 2 * PEAK_WIDTH, PEAK_MASS + 2 * PEAK_WIDTH)
    s_win = float(resonance_expected(dict(RESONANCE_TRUTH, b=0.0), window)[0])
    b_win = float(resonance_expected(dict(RESONANCE_TRUTH, mu=0.0), window)[0])
    counting = float(metrics.asimov_significance(s_win, b_win))

    # coverage: toys at the truth, counts and the auxiliary measurement of b fluctuated
    n_toys = N_COVERAGE_TOYS[quick]
    toys = {"counts": toys.mass_counts, "b_measured": toys.b_measured}
    fits = minimize_toys(resonance_cost, toys, params)
    cover = {}
    with jax.enable_x64(True):
        for cl in (0.6827, 0.95):
            # vmapped (not wrapped in a new jit): both levels share one compiled MINOS
            iv = jax.vmap(lambda d, r, cl=cl: minos(resonance_cost(d), params, r, "mu",
                                                    cl=cl))(toys, fits)
            ok = np.asarray(iv.lower_valid) & np.asarray(iv.upper_valid)
            cover[("MINOS", cl)] = coverage(iv.lower, iv.upper, RESONANCE_TRUTH["mu"], ok)
            z = NormalDist().inv_cdf(0.5 * (1.0 + cl))
            v, e = np.asarray(fits.values[:, 0]), np.asarray(fits.errors[:, 0])
            cover[("HESSE", cl)] = coverage(v - z * e, v + z * e, RESONANCE_TRUTH["mu"],
                                            np.asarray(fits.valid))
    return dict(fit=fit, null=null, one_sigma=one_sigma, ninety_five=ninety_five, scan=scan,
                contours=contours, discovery=discovery, limit=limit, asimov=asimov,
                counting=counting, window=(s_win, b_win), cover=cover, n_toys=n_toys,
                toy_valid=float(np.mean(np.asarray(fits.valid))), mu_hat=mu_hat, mu_err=mu_err)


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax

    from jaxphys.plot import plot_profile

    from ._ch21_plots import (_figure, _plot_bias, _plot_contours, _plot_coverage,
                              _plot_spectrum, _plot_three_fits)

    data_key, toy_key = jax.random.split(key)
    data, toys = datasets(data_key), toy_data(toy_key, quick)
    fits = _three_fits(data)
    totals, study = _bias_study(toys, quick)

    fig = _figure((13.0, 4.8))
    ax_fit, ax_bias = fig.subplots(1, 2)
    _plot_three_fits(ax_fit, data, fits)
    _plot_bias(ax_bias, totals, study, N_TOYS[quick])
    path_fits = out_dir / "ch21_gaussian_fits.png"
    fig.savefig(path_fits, dpi=120)

    res = _resonance(data, toys, quick)
    fig2 = _figure((12.0, 9.0))
    axes = fig2.subplots(2, 2)
    _plot_spectrum(axes[0, 0], data, res)
    one, two = res["one_sigma"], res["ninety_five"]
    plot_profile(res["scan"].values, res["scan"].delta_cost, ax=axes[0, 1],
                 intervals={"MINOS 68.3 %": (float(one.lower), float(one.upper), 1.0),
                            "MINOS 95 %": (float(two.lower), float(two.upper), 3.841459)},
                 best=res["mu_hat"], error=res["mu_err"], xlabel="signal strength μ",
                 title="Profile likelihood in μ (b, τ profiled)")
    _plot_contours(axes[1, 0], res)
    _plot_coverage(axes[1, 1], res)
    path_res = out_dir / "ch21_resonance.png"
    fig2.savefig(path_res, dpi=120)

    metrics = {}
    for short, name in (("binned", "binned likelihood"), ("unbinned", "unbinned likelihood"),
                        ("chi2", "χ² (σ = √n)")):
        for i, p in enumerate(("n", "mu", "sigma")):
            metrics[f"{short}_{p}"] = float(fits[name].values[i])
            metrics[f"{short}_{p}_error"] = float(fits[name].errors[i])
    metrics["n_events"] = int(data.events.size)
    for name in ("binned", "chi2"):
        for tag, row in (("lowest", study[name][0]), ("highest", study[name][-1])):
            metrics[f"{name}_bias_n_{tag}"] = row["n"]["bias"]
            metrics[f"{name}_pull_n_{tag}"] = row["n"]["pull_mean"]
            metrics[f"{name}_pull_n_{tag}_error"] = row["n"]["pull_mean_error"]
            metrics[f"{name}_pull_n_width_{tag}"] = row["n"]["pull_width"]
            metrics[f"{name}_bias_sigma_{tag}"] = row["sigma"]["bias"]
        metrics[f"{name}_valid_lowest"] = study[name][0]["valid"]
    metrics["lowest_total"], metrics["highest_total"] = totals[0], totals[-1]
    metrics.update({
        "mu_hat": res["mu_hat"], "mu_error": res["mu_err"],
        "b_hat": float(res["fit"].values[1]), "tau_hat": float(res["fit"].values[2]),
        "minos68_lower": float(one.lower), "minos68_upper": float(one.upper),
        "minos95_lower": float(two.lower), "minos95_upper": float(two.upper),
        "z_observed": float(res["discovery"].significance),
        "z_asimov": float(res["asimov"].significance),
        "z_asimov_counting_window": res["counting"],
        "upper_limit_cls95": float(res["limit"].limit),
        "n_coverage_toys": res["n_toys"],
    })
    for (method, cl), c in res["cover"].items():
        tag = f"{method.lower()}{int(round(100 * cl))}"
        metrics[f"coverage_{tag}"] = float(c.fraction)
        metrics[f"coverage_{tag}_error"] = float(c.error)
    summary = (f"n̂ = {metrics['binned_n']:.0f} (binned), {metrics['unbinned_n']:.0f} "
               f"(unbinned), {metrics['chi2_n']:.0f} (χ²); χ² pull of n at "
               f"{totals[0]:.0f} events {metrics['chi2_pull_n_lowest']:+.2f} vs "
               f"{metrics['binned_pull_n_lowest']:+.2f} (binned likelihood); resonance μ̂ = "
               f"{res['mu_hat']:.2f} [{float(one.lower):.2f}, {float(one.upper):.2f}], Z = "
               f"{metrics['z_observed']:.2f} (Asimov {metrics['z_asimov']:.2f}), CLs μ < "
               f"{metrics['upper_limit_cls95']:.2f}; MINOS coverage "
               f"{metrics['coverage_minos68']:.3f} / {metrics['coverage_minos95']:.3f}")
    return ChapterResult(summary=summary, metrics=metrics, figures=[path_fits, path_res])


CHAPTER = Chapter(21, "likelihood-fits",
                  "Likelihood fits: a Gaussian three ways, χ² bias, a resonance search", run)
