"""Chapter 18: signal propagation at initialisation — the order-to-chaos phase diagram.

Mean-field theory of deep random tanh networks (``jaxphys.dynamics.mean_field``,
Gauss–Hermite quadrature): over a grid of weight and bias variances
``(σ_w², σ_b²)`` it computes the fixed point ``q*``, the slope ``χ₁`` of the
correlation map at ``c = 1`` and the correlation depth scale ``ξ_c``. ``χ₁ = 1``
(``critical_sigma_w2``) separates the ordered phase (all inputs end up perfectly
correlated) from the chaotic one (nearby inputs decorrelate), and ``ξ_c``
diverges on that line. A second panel draws the one-layer correlation map
``c_in → c_out`` for three ``σ_w²`` beside its measurement on random width-1000
layers (``empirical_correlation_map``). The third trains deep tanh networks
(Adam, on the 8×8 digits, ``trainability``) from these initialisations and
shows the training accuracy against depth and ``σ_w²`` with the ``6 ξ_c``
curve of Schoenholz et al.: only networks shallower than a few ``ξ_c`` train.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def _digits(n):
    import numpy as np

    from jaxphys.data import load_digits

    ds = load_digits()
    x = np.asarray(ds.x, np.float32).reshape(-1, 64)[:n]
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return x, np.asarray(ds.y)[:n]


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from jaxphys.dynamics import (correlation_map, critical_sigma_w2, empirical_correlation_map,
                                  fixed_point_length, mean_field, trainability)
    from jaxphys.plot import new_figure, save_figure

    emp_key, train_key = jax.random.split(key)
    sw_grid = np.linspace(0.5, 4.0, 24 if quick else 60)
    sb_grid = np.linspace(0.0, 0.5, 12 if quick else 40)
    SW, SB = np.meshgrid(sw_grid, sb_grid)
    sws = np.linspace(0.6, 3.5, 4 if quick else 8)
    fine = np.linspace(sws.min(), sws.max(), 96)
    # one compiled mean-field call: the phase-diagram grid and the 6 ξ_c curve at σ_b² = sb
    sb = 0.05
    mf_all = mean_field(jnp.asarray(np.concatenate([SW.ravel(), fine])),
                        jnp.asarray(np.concatenate([SB.ravel(), np.full(fine.size, sb)])),
                        n_quad=32 if quick else 48, n_iter=300 if quick else 1000)
    mf = type(mf_all)(*(np.asarray(f)[:SW.size].reshape(SW.shape) for f in mf_all))
    xi_fine = np.asarray(mf_all.xi_c)[SW.size:]
    sb_line = np.linspace(0.0, 0.5, 15 if quick else 40)
    crit_line = np.asarray(critical_sigma_w2(jnp.asarray(sb_line)))
    crit_005, crit_001 = (float(v) for v in critical_sigma_w2(jnp.array([0.05, 0.01])))

    fig = new_figure(figsize=(16.0, 4.8))
    ax_pd, ax_map, ax_tr = fig.subplots(1, 3)
    xi = np.log10(np.clip(np.asarray(mf.xi_c), 1e-2, 1e3))
    im = ax_pd.pcolormesh(SW, SB, xi, shading="auto", cmap="viridis")
    fig.colorbar(im, ax=ax_pd, label=r"$\log_{10}\,\xi_c$ (layers)")
    ax_pd.plot(crit_line, sb_line, color="white", lw=2, label=r"$\chi_1 = 1$")
    ax_pd.text(0.9, 0.4, "ordered", color="white")
    ax_pd.text(3.0, 0.1, "chaotic", color="white")
    ax_pd.set_xlabel(r"$\sigma_w^2$")
    ax_pd.set_ylabel(r"$\sigma_b^2$")
    ax_pd.set_title("tanh: correlation depth scale and the edge of chaos")
    ax_pd.legend(loc="lower right")

    c_in = jnp.linspace(-0.9, 1.0, 12)
    cs = jnp.linspace(-1.0, 1.0, 81)
    # the mean-field map at q* on both grids, one compiled function for the three σ_w²
    cmap = jax.jit(jax.vmap(lambda c, s, q: correlation_map(c, s, sb, q=q), (0, None, None)))
    max_dev = 0.0
    for sw, color, k in zip((1.0, crit_005, 3.0), ("tab:blue", "tab:green", "tab:red"),
                             jax.random.split(emp_key, 3)):
        qs = fixed_point_length(sw, sb)
        mf_map = np.asarray(cmap(cs, sw, qs))
        ax_map.plot(cs, mf_map, color=color, label=fr"$\sigma_w^2$ = {sw:.3f}")
        emp = np.asarray(empirical_correlation_map(k, c_in, qs, sw, sb, width=1000,
                                                   n_networks=16 if quick else 64))
        ref = np.asarray(cmap(c_in, sw, qs))
        max_dev = max(max_dev, float(np.max(np.abs(emp - ref))))
        ax_map.plot(c_in, emp, "o", color=color, ms=4)
    ax_map.plot([-1, 1], [-1, 1], color="grey", ls=":", lw=0.8)
    ax_map.set_xlabel(r"$c_{in}$")
    ax_map.set_ylabel(r"$c_{out}$")
    ax_map.set_title(f"correlation map, σ_b² = {sb} (lines: mean field;\n"
                     f"dots: random width-1000 layers, max deviation {max_dev:.3f})")
    ax_map.legend(fontsize=8)

    x, y = _digits(600 if quick else 1797)
    depths = (4, 16) if quick else (5, 10, 20, 40, 70)
    res = trainability(train_key, x, y, jnp.asarray(sws), sb, depths, width=32 if quick else 64,
                       n_steps=100 if quick else 600, learning_rate=1e-3)
    acc = np.asarray(res.accuracy)
    im2 = ax_tr.pcolormesh(sws, np.asarray(depths), acc.T, shading="nearest", cmap="magma",
                           vmin=0, vmax=1)
    fig.colorbar(im2, ax=ax_tr, label="training accuracy")
    ax_tr.plot(fine, np.clip(6 * xi_fine, 0, max(depths) * 1.1), color="cyan", lw=2,
               label=r"$6\,\xi_c$")
    ax_tr.set_ylim(min(depths) * 0.8, max(depths) * 1.1)
    ax_tr.set_xlabel(r"$\sigma_w^2$")
    ax_tr.set_ylabel("depth (hidden layers)")
    ax_tr.set_title(f"trainability on the digits ({res.depth.shape[0]} depths, "
                    f"{'100' if quick else '600'} Adam steps)")
    ax_tr.legend(loc="upper right")
    path = out_dir / "ch18_order_chaos.png"
    save_figure(fig, path)

    metrics = {"critical_sigma_w2_sb_0.05": crit_005, "critical_sigma_w2_sb_0.01": crit_001,
               "empirical_map_max_deviation": max_dev,
               "best_accuracy_deepest": float(acc[:, -1].max()),
               "sigma_w2_best_deepest": float(sws[int(acc[:, -1].argmax())])}
    summary = (f"critical σ_w² (tanh) {crit_005:.3f} at σ_b²=0.05, {crit_001:.3f} at 0.01; "
               f"random width-1000 layers match the mean-field correlation map within "
               f"{max_dev:.3f}; the deepest nets ({depths[-1]} layers) train best at "
               f"σ_w² = {metrics['sigma_w2_best_deepest']:.2f}")
    return ChapterResult(summary=summary, metrics=metrics, figures=[path])


CHAPTER = Chapter(18, "signal", "Signal propagation: the order-to-chaos phase diagram", run)
