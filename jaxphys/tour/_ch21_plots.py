"""The figures of chapter 21: the three fits of one histogram, the bias study, the
resonance spectrum, its profile-likelihood contours and the coverage of its intervals.
"""

from __future__ import annotations

from ._ch21_likelihood_fits import (B_ERROR, GAUSS_EDGES, GAUSS_TRUTH, MASS_EDGES,
                                    resonance_expected)


def _figure(figsize):
    """A matplotlib figure on its own canvas (no pyplot state), constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _plot_three_fits(ax, data, fits):
    import numpy as np

    edges = np.asarray(GAUSS_EDGES)
    centres, width = 0.5 * (edges[1:] + edges[:-1]), edges[1] - edges[0]
    ax.errorbar(centres, data.counts, yerr=np.sqrt(np.maximum(data.counts, 1.0)), fmt="o",
                ms=3, color="k", capsize=0, label=f"data ({data.events.size} events)")
    x = np.linspace(edges[0], edges[-1], 400)
    for (name, fit), style in zip(fits.items(), ("-", "--", ":")):
        n, mu, sigma = (float(v) for v in fit.values)
        dn, dmu, dsigma = (float(v) for v in fit.errors)
        y = n * width * np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
        ax.plot(x, y, style, lw=1.8,
                label=f"{name}: n = {n:.0f} ± {dn:.0f}, μ = {mu:.3f} ± {dmu:.3f}, "
                      f"σ = {sigma:.3f} ± {dsigma:.3f}")
    ax.set_xlabel("x")
    ax.set_ylabel(f"events per bin of {width:.1f}")
    ax.set_title(f"A Gaussian fitted three ways (truth n = {GAUSS_TRUTH['n']:.0f}, μ = 0, σ = 1)")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(alpha=0.3)


def _plot_bias(ax, totals, study, n_toys):
    import numpy as np

    for name, colour, label in (("binned", "C0", "binned likelihood"),
                                ("chi2", "C2", "χ² (σ = √n)")):
        for p, marker, style in (("n", "o", "-"), ("sigma", "s", "--")):
            mean = np.array([row[p]["bias"] for row in study[name]])
            err = np.array([row[p]["bias_error"] for row in study[name]])
            ax.errorbar(totals, mean, yerr=err, fmt=marker + style, color=colour, ms=4,
                        capsize=2, label=f"{label}: {'n' if p == 'n' else 'σ'}")
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("expected events in the histogram")
    ax.set_ylabel("bias / spread of the estimates over the toys")
    ax.set_title(f"Bias over {n_toys} toys per point (40 bins)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def _plot_spectrum(ax, data, res):
    import numpy as np

    edges = np.asarray(MASS_EDGES)
    centres = 0.5 * (edges[1:] + edges[:-1])
    names = ("mu", "b", "tau")
    best = dict(zip(names, (float(v) for v in res["fit"].values)))
    null = dict(zip(names, (float(v) for v in res["null"])))
    ax.errorbar(centres, data.mass_counts, yerr=np.sqrt(np.maximum(data.mass_counts, 1.0)),
                fmt="o", ms=3, color="k", label="data")
    for params, label, style in ((best, f"signal + background, μ̂ = {best['mu']:.2f}", "-"),
                                 (null, "background only (μ = 0)", "--")):
        ax.stairs(resonance_expected(params), edges, ls=style, lw=1.6,
                  label=label)
    d, a = res["discovery"], res["asimov"]
    ax.text(0.97, 0.62, f"observed Z = {float(d.significance):.2f} (p = {float(d.p_value):.1e})\n"
            f"expected (Asimov) Z = {float(a.significance):.2f}\n"
            f"counting ±2w: Z_A = {res['counting']:.2f}\n"
            f"95 % CLs limit μ < {float(res['limit'].limit):.2f}",
            transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))
    ax.set_xlabel("mass [GeV]")
    ax.set_ylabel("events per GeV")
    ax.set_title("Resonance search: peak at 125 GeV over an exponential background")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _plot_contours(ax, res):
    import numpy as np

    fit = res["fit"]
    for (cl, c), colour in zip(res["contours"].items(), ("C0", "C1")):
        pts = np.asarray(c.points)
        pts = np.vstack([pts, pts[:1]])
        ax.plot(pts[:, 0], pts[:, 1], "-", color=colour, lw=1.6, label=f"{100 * cl:.1f} % contour")
    ax.plot(float(fit.values[0]), float(fit.values[1]), "k+", ms=10, label="best fit")
    for k, level in enumerate((1.0 - B_ERROR, 1.0 + B_ERROR)):
        ax.axhline(level, color="0.5", ls=":", lw=1.2,
                   label="external b = 1.00 ± 0.10" if k == 0 else None)
    ax.set_xlabel("signal strength μ")
    ax.set_ylabel("background normalisation b")
    ax.set_title("Profile-likelihood contours (τ profiled)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _plot_coverage(ax, res):
    for k, method in enumerate(("MINOS", "HESSE")):
        for cl in (0.6827, 0.95):
            c = res["cover"][(method, cl)]
            ax.errorbar([cl + (k - 0.5) * 0.012], [float(c.fraction)], yerr=[float(c.error)],
                        fmt="os"[k], color=f"C{k}", capsize=3,
                        label=f"{method} intervals" if cl == 0.95 else None)
    for cl in (0.6827, 0.95):
        ax.hlines(cl, cl - 0.05, cl + 0.05, colors="k", lw=1)
    ax.plot([0.6, 1.0], [0.6, 1.0], color="0.6", lw=0.8, ls=":")
    ax.set_xlim(0.6, 1.0)
    ax.set_ylim(0.55, 1.0)
    ax.set_xticks([0.6827, 0.95], ["68.3 %", "95 %"])
    ax.set_xlabel("nominal confidence level")
    ax.set_ylabel("fraction of toy intervals covering μ = 1")
    ax.set_title(f"Coverage over {res['n_toys']} toys ({100 * res['toy_valid']:.1f} % valid)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
