"""Chapter 22: gravitational-wave posteriors the way DINGO does them — the first series' goal.

One detector with Advanced LIGO design noise observes a binary inspiral (the
stationary-phase TaylorF2 waveform, 20–80 Hz, ``jaxphys.physics.gw``) with
parameters θ = (chirp mass 𝓜, mass ratio q, luminosity distance D_L, coalescence
time t_c); the distance is set for a network SNR of 22. The chapter

* whitens the strain and shows the injected chirp in the noise, in time and in
  frequency (``whitened_time_series``, the ASD against 2√f |h̃(f)|);
* trains neural posterior estimation with DINGO's pieces (``train_gw_npe``: a
  reduced-basis embedding of the whitened strain, residual blocks, a conditional
  spline flow, extrinsic parameters and noise drawn afresh for every batch) and
  samples the posterior of the event in one flow pass (``sample_posterior``);
* samples the exact phase-marginalised posterior with the reference ensemble
  MCMC sampler in float64 (``reference_posterior``, with split-R̂ and ESS);
* reweights the NPE samples with the exact likelihood (``importance_sample_posterior``,
  DINGO-IS: sample efficiency, effective sample size, the log Bayes factor of
  signal against noise with its error) and compares both sample sets to the
  reference in a corner plot and by a classifier two-sample test
  (``jaxphys.generative.c2st``: 0.5 means indistinguishable);
* checks calibration over simulated injections with a P–P plot
  (``credible_levels``, ``pp_plot_data``, ``jaxphys.plot.plot_pp``).

Time: the quick setting trains a small network for a few hundred steps (its
posterior is broad and importance sampling does the correcting); the full
setting (``FULL_NPE``, a longer reference chain, more injections) takes a few
minutes on a 2-core CPU — about 5 CPU minutes, most of it training — far below
the 15-minute setting of ``tests/test_physics_gw_npe.py``'s acceptance test.

Keys: ``npe_key, event_key, sample_key, reference_key, weight_key, c2st_key, pp_key =
jax.random.split(key, 7)``; the event is :func:`event` ``(event_key)``.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult

#: Network settings of ``train_gw_npe`` (quick: seconds of training; full: minutes).
QUICK_NPE = dict(n_simulations=5000, n_basis=32, n_basis_waveforms=500, embedding_width=64,
                 embedding_blocks=2, embedding_dim=16, flow_layers=3, flow_hidden=(64, 64),
                 n_steps=400, batch_size=256, learning_rate=2e-3)
FULL_NPE = dict(n_simulations=50000, n_basis=48, n_basis_waveforms=2000, embedding_width=128,
                embedding_blocks=3, embedding_dim=32, flow_layers=4, flow_hidden=(128, 128),
                n_steps=3000, batch_size=512, learning_rate=1e-3, patience=20)
#: Reference sampler settings (quick: a short chain; full: the acceptance test's).
QUICK_REFERENCE = dict(n_walkers=32, n_steps=2500, n_burn=700, n_candidates=10000)
FULL_REFERENCE = dict(n_walkers=32, n_steps=20000, n_burn=5000, n_candidates=50000)
N_IMPORTANCE = {True: 20000, False: 100000}
N_INJECTIONS = {True: 100, False: 300}
#: The event: θ = (𝓜 [M_⊙], q, D_L [Mpc] before rescaling, t_c [s]), SNR and phase.
THETA_START = (31.0, 0.6, 1000.0, 0.01)
SNR, PHASE = 22.0, 1.0
LABELS = (r"chirp mass $\mathcal{M}$ [M$_\odot$]", "mass ratio $q$", "distance $D_L$ [Mpc]",
          "$t_c$ [ms]")
SHORT_LABELS = (r"$\mathcal{M}$", "$q$", "$D_L$", "$t_c$")


def event(key):
    """The injected event: ``(problem, truth (4,), strain (n_bins,) complex)``: the TaylorF2
    signal at the distance giving SNR 22, plus Advanced LIGO noise drawn with ``key``."""
    import jax.numpy as jnp

    import jaxphys.physics.gw as gw

    problem = gw.gw_problem()
    truth = gw.distance_for_snr(jnp.array(THETA_START), SNR, problem)
    strain = gw.gw_signal(truth, problem, PHASE) + gw.colored_noise(key, problem.noise)
    return problem, truth, strain


def _display(theta):
    """Samples in the plotted units (t_c in ms)."""
    import numpy as np

    out = np.array(theta, np.float64, copy=True)
    out[..., 3] *= 1e3
    return out


def _plot_strain(path, problem, truth, strain):
    import jax.numpy as jnp
    import numpy as np
    from matplotlib.figure import Figure

    import jaxphys.physics.gw as gw

    signal = gw.gw_signal(truth, problem, PHASE)
    times, whitened = gw.whitened_time_series(jnp.stack([strain, signal]), problem.noise)
    times, whitened = np.asarray(times), np.asarray(whitened)
    f = np.asarray(problem.noise.frequencies)
    fig = Figure(figsize=(13.0, 4.4), layout="constrained")
    ax_t, ax_f = fig.subplots(1, 2, width_ratios=(1.6, 1.0))
    t0 = problem.trigger_time
    window = (times > t0 - 1.2) & (times < t0 + 0.15)
    ax_t.plot(times[window] - t0, whitened[0, window], color="0.6", lw=0.8,
              label="whitened strain (signal + noise)")
    ax_t.plot(times[window] - t0, whitened[1, window], color="C3", lw=1.4,
              label="injected signal, whitened")
    ax_t.set_xlabel("time from the trigger [s]")
    ax_t.set_ylabel("whitened strain [noise σ]")
    ax_t.set_title(f"Whitened data, 20–80 Hz: the chirp at optimal SNR {SNR:.0f}")
    ax_t.legend(fontsize=8, loc="upper left")
    ax_t.grid(alpha=0.3)
    ax_f.loglog(f, np.asarray(problem.noise.asd), color="k", lw=1.5,
                label="Advanced LIGO design ASD")
    # the data as an amplitude spectral density: |d̃| scaled so that noise alone has the
    # ASD's mean square (Re and Im of the whitened noise d̃/σ_k are standard normals)
    asd, sigma = np.asarray(problem.noise.asd), np.asarray(problem.noise.sigma)
    ax_f.loglog(f, np.abs(np.asarray(strain)) * asd / (np.sqrt(2.0) * sigma), ".", color="0.6",
                ms=3, label="data, as an ASD (noise scatters about the line)")
    h_c = 2.0 * np.sqrt(f) * np.abs(np.asarray(signal))
    ax_f.loglog(f, h_c, color="C3", lw=1.4, label="signal, 2√f |h̃(f)|")
    ax_f.set_ylim(0.3 * asd.min(), 3.0 * max(h_c.max(), asd.max()))
    ax_f.set_xlabel("frequency [Hz]")
    ax_f.set_ylabel("strain [1/√Hz]")
    ax_f.set_title("The signal against the noise")
    ax_f.legend(fontsize=8)
    ax_f.grid(alpha=0.3, which="both")
    fig.savefig(path, dpi=120)


def _plot_weights(path, weights, n):
    import numpy as np
    from matplotlib.figure import Figure

    w = np.asarray(weights.weights, np.float64)
    positive = w[w > 0]
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    ax_h, ax_c = fig.subplots(1, 2)
    scaled = np.log10(n * positive)
    floor = max(float(scaled.min()), -8.0)
    ax_h.hist(np.clip(scaled, floor, None), bins=60, range=(floor, float(scaled.max())),
              color="C0")
    ax_h.axvline(0.0, color="k", lw=1, ls="--", label="n w = 1 (a perfect proposal)")
    ax_h.set_xlabel(f"log10(n · normalised weight) (values below {floor:.0f} in the first bin)")
    ax_h.set_ylabel("samples")
    ax_h.set_title(f"Importance weights of {n} NPE samples ({w.size - positive.size} outside "
                   "the prior)")
    ax_h.legend(fontsize=8)
    ax_h.grid(alpha=0.3)
    ranked = np.sort(w)[::-1]
    ax_c.plot(np.arange(1, n + 1) / n, np.cumsum(ranked), color="C0", lw=1.6,
              label="importance sampling")
    ax_c.plot([0, 1], [0, 1], color="k", lw=1, ls="--", label="equal weights")
    ax_c.set_xscale("log")
    ax_c.set_xlabel("fraction of samples (largest weights first)")
    ax_c.set_ylabel("fraction of the posterior mass")
    ax_c.set_title("Where the mass is")
    ax_c.text(0.97, 0.05,
              f"sample efficiency ε = {float(weights.sample_efficiency):.3f}\n"
              f"effective sample size = {float(weights.effective_sample_size):.0f}\n"
              f"log Bayes factor (signal/noise) = {float(weights.log_evidence):.2f} ± "
              f"{float(weights.log_evidence_error):.2f}",
              transform=ax_c.transAxes, ha="right", va="bottom", fontsize=8,
              bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))
    ax_c.legend(fontsize=8, loc="upper left")
    ax_c.grid(alpha=0.3, which="both")
    fig.savefig(path, dpi=120)


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np

    import jaxphys.physics.gw as gw
    from jaxphys.generative import c2st
    from jaxphys.plot import plot_corner, plot_pp

    (npe_key, event_key, sample_key, reference_key, weight_key, c2st_key,
     pp_key) = jax.random.split(key, 7)
    problem, truth, strain = event(event_key)
    path_strain = out_dir / "ch22_whitened_strain.png"
    _plot_strain(path_strain, problem, truth, strain)

    model = gw.train_gw_npe(npe_key, problem, **(QUICK_NPE if quick else FULL_NPE))
    n_draw = 2000 if quick else 5000
    gw.sample_posterior(sample_key, model, strain, n_draw)[0].block_until_ready()  # compile
    start = time.perf_counter()
    npe_samples, _ = gw.sample_posterior(jax.random.fold_in(sample_key, 1), model, strain,
                                         n_draw)
    npe_samples = np.asarray(npe_samples.block_until_ready(), np.float64)
    npe_ms = 1e3 * (time.perf_counter() - start)

    with jax.enable_x64(True):
        reference = gw.reference_posterior(reference_key, strain.astype(jnp.complex128),
                                           gw.gw_problem(dtype=jnp.float64),
                                           **(QUICK_REFERENCE if quick else FULL_REFERENCE))
    n_importance = N_IMPORTANCE[quick]
    start = time.perf_counter()
    weighted = gw.importance_sample_posterior(weight_key, model, strain, n_importance)
    weights = weighted.weights
    weights.weights.block_until_ready()
    is_seconds = time.perf_counter() - start

    # C2ST against the reference: the NPE alone, and the reweighted samples (resampled
    # without duplicates beyond the effective sample size)
    rng = np.random.default_rng(0)
    n_test = int(min(n_draw, float(weights.effective_sample_size) / 2,
                     reference.samples.shape[0]))
    reference_test = reference.samples[rng.choice(reference.samples.shape[0], n_test,
                                                  replace=False)]
    before_key, resample_key, after_key = jax.random.split(c2st_key, 3)
    steps = 300 if quick else 1000
    c2st_npe = c2st(before_key, jnp.asarray(reference_test, jnp.float32),
                    jnp.asarray(npe_samples[:n_test], jnp.float32), n_steps=steps)
    resampled = gw.importance_resample(resample_key, weighted.samples, weights.weights, n_test)
    c2st_is = c2st(after_key, jnp.asarray(reference_test, jnp.float32), resampled,
                   n_steps=steps)

    path_corner = out_dir / "ch22_corner.png"
    finite = np.asarray(weights.weights) > 0
    is_samples = np.asarray(weighted.samples, np.float64)[finite]
    plot_corner({"reference MCMC (exact likelihood)": _display(reference.samples),
                 "NPE": _display(npe_samples),
                 "NPE + importance sampling": _display(is_samples)},
                weights={"NPE + importance sampling": np.asarray(weights.weights)[finite]},
                names=LABELS, truth=_display(np.asarray(truth)),
                title=f"Posterior at SNR {SNR:.0f}: C2ST vs the reference {c2st_npe:.3f} "
                      f"(NPE), {c2st_is:.3f} (NPE + IS)", path=path_corner)
    path_weights = out_dir / "ch22_importance_weights.png"
    _plot_weights(path_weights, weights, n_importance)

    n_inj = N_INJECTIONS[quick]
    sim_key, post_key = jax.random.split(pp_key)
    theta_inj, x_inj = gw.simulate_dataset(sim_key, problem, n_inj)
    inj_samples, _ = gw.sample_posterior(post_key, model, x_inj, 500)
    levels = gw.credible_levels(np.asarray(inj_samples), np.asarray(theta_inj))
    pp = gw.pp_plot_data(levels)
    gain = (float(np.mean(np.asarray(gw.posterior_log_prob(model, x_inj, theta_inj))))
            - gw.prior_log_prob_baseline(model, theta_inj))
    path_pp = out_dir / "ch22_pp.png"
    plot_pp(levels, names=[f"{s}: KS p = {p:.2f}" for s, p in zip(SHORT_LABELS, pp.ks_pvalue)],
            title=f"NPE calibration over {n_inj} simulated injections", path=path_pp)

    w_theta = np.asarray(weights.weights, np.float64)[:, None]
    is_mean = np.sum(w_theta * np.asarray(weighted.samples, np.float64), axis=0)
    metrics = {
        "snr": SNR,
        "training_seconds": model.training_time,
        "simulation_seconds": model.simulation_time,
        "npe_sampling_ms": npe_ms,
        "importance_sampling_seconds": is_seconds,
        "reference_seconds": reference.wall_time,
        "reference_max_rhat": float(np.max(reference.rhat)),
        "reference_min_ess": float(np.min(reference.effective_sample_size)),
        "reference_converged": float(reference.converged),
        "c2st_npe": c2st_npe,
        "c2st_importance_sampled": c2st_is,
        "c2st_samples": n_test,
        "sample_efficiency": float(weights.sample_efficiency),
        "effective_sample_size": float(weights.effective_sample_size),
        "log_bayes_factor": float(weights.log_evidence),
        "log_bayes_factor_error": float(weights.log_evidence_error),
        "log_q_gain_over_prior_nats": gain,
        "pp_ks_band": pp.ks_band,
        "pp_injections": n_inj,
        "pp_inside_band": float(np.all(pp.inside)),
    }
    for i, name in enumerate(gw.PARAMETER_NAMES):
        metrics[f"truth_{name}"] = float(truth[i])
        metrics[f"reference_mean_{name}"] = float(np.mean(reference.samples[:, i]))
        metrics[f"reference_std_{name}"] = float(np.std(reference.samples[:, i]))
        metrics[f"npe_mean_{name}"] = float(np.mean(npe_samples[:, i]))
        metrics[f"importance_mean_{name}"] = float(is_mean[i])
        metrics[f"pp_ks_distance_{name}"] = float(pp.ks_distance[i])
    summary = (f"SNR {SNR:.0f}: NPE trained in {model.training_time:.0f} s; C2ST vs the "
               f"reference MCMC {c2st_npe:.3f} (NPE) → {c2st_is:.3f} (NPE + IS, efficiency "
               f"{float(weights.sample_efficiency):.3f}, ESS "
               f"{float(weights.effective_sample_size):.0f}); log Bayes factor "
               f"{float(weights.log_evidence):.1f} ± {float(weights.log_evidence_error):.1f}; "
               f"𝓜 = {is_mean[0]:.2f} (reference {metrics['reference_mean_chirp_mass']:.2f} ± "
               f"{metrics['reference_std_chirp_mass']:.2f}, truth {float(truth[0]):.2f}); P–P "
               f"KS p-values {', '.join(f'{p:.2f}' for p in pp.ks_pvalue)}")
    return ChapterResult(summary=summary, metrics=metrics,
                         figures=[path_strain, path_corner, path_weights, path_pp])


CHAPTER = Chapter(22, "gravitational-waves",
                  "Gravitational waves: NPE, importance sampling and the exact posterior", run)
