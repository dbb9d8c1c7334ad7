"""A likelihood fit of your own histogram, with HESSE errors, MINOS intervals and a profile.

A Gaussian peak on a falling exponential background, histogrammed in 40 bins, is fitted
by an extended binned Poisson likelihood (``BinnedNLL``, the model integrated over each
bin) with ``jaxphys.fitting.minimize``; ``minos`` gives the asymmetric profile-likelihood
intervals and ``profile_scan`` the profile of the peak position.

    python examples/histogram_likelihood_fit.py [--quick]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.fitting import BinnedNLL, Parameters, minimize, minos, profile_scan

TRUTH = {"n_sig": 400.0, "mass": 5.2, "width": 0.35, "n_bkg": 3000.0, "slope": 0.35}
LOW, HIGH = 2.0, 9.0


def intensity(x, p):
    """Expected counts per unit x: a Gaussian peak plus an exponential, each normalised
    on [LOW, HIGH] so that n_sig and n_bkg are expected event counts."""
    peak = jnp.exp(-0.5 * ((x - p["mass"]) / p["width"]) ** 2) / (jnp.sqrt(2 * jnp.pi) * p["width"])
    norm = (jnp.exp(-p["slope"] * LOW) - jnp.exp(-p["slope"] * HIGH)) / p["slope"]
    return p["n_sig"] * peak + p["n_bkg"] * jnp.exp(-p["slope"] * x) / norm


def simulate(seed, n_bins):
    """Events from the truth (numpy), histogrammed."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(TRUTH["mass"], TRUTH["width"], rng.poisson(TRUTH["n_sig"]))
    u = rng.uniform(size=rng.poisson(TRUTH["n_bkg"]))
    a, b = np.exp(-TRUTH["slope"] * LOW), np.exp(-TRUTH["slope"] * HIGH)
    background = -np.log(a - u * (a - b)) / TRUTH["slope"]          # inverse cdf on [LOW, HIGH]
    counts, edges = np.histogram(np.concatenate([signal, background]), n_bins, (LOW, HIGH))
    return counts.astype(np.float64), edges


def main(quick: bool = False) -> dict:
    with jax.enable_x64(True):                      # fits run in float64
        counts, edges = simulate(seed=1, n_bins=40)
        cost = BinnedNLL(jnp.asarray(counts), jnp.asarray(edges), density=intensity,
                         extended=True)
        start = Parameters({"n_sig": 200.0, "mass": 5.0, "width": 0.5, "n_bkg": 2500.0,
                            "slope": 0.3},
                           limits={"n_sig": (0.0, None), "width": (0.05, 2.0),
                                   "n_bkg": (0.0, None)})
        result = minimize(cost, start)
        intervals = minos(cost, start, result, ["n_sig", "mass"])
        masses = jnp.linspace(result.values[1] - 0.1, result.values[1] + 0.1,
                              5 if quick else 41)
        scan = profile_scan(cost, start, result, "mass", masses)
        names = start.names
        values = dict(zip(names, np.asarray(result.values).tolist()))
        errors = dict(zip(names, np.asarray(result.errors).tolist()))
        chi2 = float(result.minimum)
        for name in names:
            print(f"{name:6s} = {values[name]:9.4f} ± {errors[name]:.4f}   (truth {TRUTH[name]})")
        for i, name in enumerate(["n_sig", "mass"]):
            print(f"MINOS {name}: {float(intervals.lower_error[i]):+.4f} "
                  f"{float(intervals.upper_error[i]):+.4f}")
        print(f"fit valid: {bool(result.valid)}; deviance {chi2:.1f} for "
              f"{len(counts) - len(names)} degrees of freedom; profile of the mass at "
              f"{len(masses)} points, largest Δ(-2 log L) {float(scan.delta_cost.max()):.2f}")
        pull = (values["mass"] - TRUTH["mass"]) / errors["mass"]
        return {"valid": bool(result.valid), "values": values, "errors": errors,
                "mass_pull": pull, "minos_lower": np.asarray(intervals.lower_error),
                "minos_upper": np.asarray(intervals.upper_error),
                "profile": np.asarray(scan.delta_cost), "deviance": chi2,
                "dof": len(counts) - len(names)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
