"""Chapter 15: PCA and t-SNE of the handwritten digits.

The 8×8 digits (1797 images, 64 pixel features scaled to [0, 1]; a random subset
in quick mode) are projected on their first two principal components
(``jaxphys.classical.pca_fit``: SVD of the centred data) and embedded by exact
t-SNE (``jaxphys.classical.tsne_fit``: perplexity 30, early exaggeration, momentum
gradient descent with gains, PCA initialisation, one jitted ``lax.scan``). Both
maps are coloured by the true digit, which neither method saw. PCA is linear
and keeps the global variance (the first two components hold only about 29 % of
it, so the classes overlap); t-SNE keeps neighbourhoods and separates the ten
digits into islands. The trustworthiness (k = 5) measures how many of each
point's neighbours in the map are true neighbours, and the leave-one-out
5-nearest-neighbour accuracy in 2-D how well the map separates the classes.
The chapter also draws the cumulative explained-variance curve.

Then a CART decision tree (``jaxphys.classical.tree_fit``, depth 4, Gini), a random
forest (``forest_fit``: 100 trees of depth 6, 20 of depth 5 in quick mode;
bootstrap and √d features per split, fitted under ``vmap``) and gradient-boosted
trees (``gb_fit``: depth 3, learning rate 0.1, 80 % row subsamples, early stopping
on a validation split) separate fake gravitational-wave triggers from glitches
(``jaxphys.data.gw_triggers``: SNR and chirp mass). The figure shows their
decision regions over the test triggers (the tree's axis-aligned boxes, the
forest's averaged staircase, the boosted sum of small trees) with test
accuracies, and the three models' feature importances (total impurity decrease
per feature, normalised).
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def _load_digits():
    """``(x (n, 64) float32 in [0, 1], y (n,) int, source)`` or ``None`` if unavailable."""
    import numpy as np

    try:
        from jaxphys.data import load_digits

        ds = load_digits()
        return np.asarray(ds.x).reshape(-1, 64), np.asarray(ds.y), "jaxphys.data"
    except ImportError:
        pass
    try:
        from sklearn.datasets import load_digits as sk_load

        d = sk_load()
        return (d.data / 16.0).astype(np.float32), d.target, "scikit-learn"
    except ImportError:
        return None


def _knn_accuracy(emb, labels, k=5):
    import numpy as np

    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nbrs = np.argpartition(d, k, axis=1)[:, :k]
    pred = np.array([np.bincount(labels[row], minlength=10).argmax() for row in nbrs])
    return float(np.mean(pred == labels))


def _scatter(ax, emb, labels, title):
    import numpy as np
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    for digit in range(10):
        sel = labels == digit
        ax.scatter(emb[sel, 0], emb[sel, 1], s=6, color=cmap(digit), label=str(digit))
        center = np.median(emb[sel], axis=0)
        ax.text(center[0], center[1], str(digit), fontsize=13, weight="bold",
                ha="center", va="center", color="black",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0})
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import numpy as np

    from jaxphys import classical
    from jaxphys.plot import new_figure, save_figure

    loaded = _load_digits()
    if loaded is None:
        return ChapterResult(summary="skipped: the digits are not available (neither "
                                     "jaxphys.data._digits nor scikit-learn is installed)",
                             metrics={}, figures=[])
    x_all, y_all, source = loaded
    n = 500 if quick else x_all.shape[0]
    n_iter = 500 if quick else 1000
    idx = np.sort(np.asarray(jax.random.permutation(key, x_all.shape[0])[:n]))
    x, y = x_all[idx].astype(np.float32), y_all[idx].astype(np.int64)

    pca = classical.pca_fit(None, x)
    z = np.asarray(classical.pca_transform(pca, x))[:, :2]
    ratios = np.asarray(pca.explained_variance_ratio)
    cum = np.cumsum(ratios)
    tsne = classical.tsne_fit(None, x, perplexity=30.0, n_iter=n_iter)
    emb = np.asarray(tsne.embedding)

    trust_pca = float(classical.trustworthiness(x, z, 5))
    trust_tsne = float(classical.trustworthiness(x, emb, 5))
    knn_pca, knn_tsne = _knn_accuracy(z, y), _knn_accuracy(emb, y)

    fig = new_figure(figsize=(12.0, 5.6))
    ax_pca, ax_tsne = fig.subplots(1, 2)
    _scatter(ax_pca, z, y, f"PCA (PC1, PC2: {100 * cum[1]:.0f} % of the variance)\n"
                           f"trustworthiness {trust_pca:.3f}, 5-NN accuracy {knn_pca:.3f}")
    ax_pca.set_xlabel("PC 1")
    ax_pca.set_ylabel("PC 2")
    _scatter(ax_tsne, emb, y, f"t-SNE (perplexity 30, {n_iter} iterations, KL "
                              f"{float(tsne.kl_divergence):.2f})\n"
                              f"trustworthiness {trust_tsne:.3f}, 5-NN accuracy {knn_tsne:.3f}")
    ax_tsne.legend(title="digit", markerscale=3, fontsize=8, loc="center left",
                   bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"{n} handwritten digits (8×8 pixels, from {source}), coloured by class")
    fig_maps = save_figure(fig, out_dir / "ch15_digits_pca_tsne.png")

    fig2 = new_figure(figsize=(6.0, 4.2))
    ax = fig2.subplots()
    k = np.arange(1, ratios.size + 1)
    ax.bar(k, ratios, color="tab:blue", alpha=0.6, label="per component")
    ax.plot(k, cum, color="tab:red", marker=".", label="cumulative")
    k90 = int(np.searchsorted(cum, 0.9) + 1)
    ax.axhline(0.9, color="grey", lw=0.8, ls="--")
    ax.axvline(k90, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("principal component")
    ax.set_ylabel("explained-variance ratio")
    ax.set_title(f"PCA of the digits: {k90} components hold 90 % of the variance")
    ax.legend()
    path_var = out_dir / "ch15_pca_variance.png"
    save_figure(fig2, path_var)
    del fig_maps

    tree_metrics, tree_fig = _trees(key, out_dir, quick)

    metrics = {"n_samples": n, "pca_variance_2": float(cum[1]), "pca_components_90": k90,
               "pca_trustworthiness_5": trust_pca, "pca_knn5_accuracy": knn_pca,
               "tsne_trustworthiness_5": trust_tsne, "tsne_knn5_accuracy": knn_tsne,
               "tsne_kl": float(tsne.kl_divergence)}
    metrics.update(tree_metrics)
    summary = (f"{n} digits: PCA 2-D trustworthiness {trust_pca:.3f}, 5-NN acc {knn_pca:.3f}; "
               f"t-SNE {trust_tsne:.3f}, 5-NN acc {knn_tsne:.3f}; "
               f"{k90} PCs hold 90 % of the variance; GW triggers: test accuracy tree "
               f"{tree_metrics['tree_accuracy']:.3f}, forest "
               f"{tree_metrics['forest_accuracy']:.3f}, gradient boosting "
               f"{tree_metrics['boosting_accuracy']:.3f}")
    return ChapterResult(summary=summary, metrics=metrics,
                         figures=[out_dir / "ch15_digits_pca_tsne.png", path_var, tree_fig])


def _trees(key, out_dir: Path, quick: bool):
    """Tree vs forest vs gradient boosting on the GW triggers: decision regions,
    importances."""
    import jax
    import numpy as np

    from jaxphys import data
    from jaxphys.classical import (forest_fit, forest_predict, forest_predict_proba, gb_fit,
                                   gb_predict, gb_predict_proba, tree_fit, tree_predict,
                                   tree_predict_proba)
    from jaxphys.plot import new_figure, save_figure

    data_key, split_key, forest_key, gb_key = jax.random.split(jax.random.fold_in(key, 1), 4)
    ds = data.gw_triggers(data_key, n=1500 if quick else 4000)
    x = np.asarray(ds.x, np.float32)
    y = np.asarray(ds.y).astype(np.int32)
    feats = np.stack([np.log10(x[:, 0]), np.log10(x[:, 1])], axis=1)   # log SNR, log M_chirp
    split = data.train_val_test_split(split_key, x.shape[0], fractions=(0.6, 0.1, 0.3))
    tr, va, te = np.asarray(split.train), np.asarray(split.val), np.asarray(split.test)
    n_trees, f_depth = (20, 5) if quick else (100, 6)
    n_rounds = 60 if quick else 300
    names = {"tree": "decision tree (depth 4)",
             "forest": f"random forest ({n_trees} trees, depth {f_depth})",
             "boosting": f"gradient boosting (depth 3, rate 0.1, ≤ {n_rounds} rounds)"}
    models = {
        "tree": tree_fit(None, feats[tr], y[tr], max_depth=4),
        "forest": forest_fit(forest_key, feats[tr], y[tr], n_trees=n_trees, max_depth=f_depth),
        # early stopping on the validation triggers (10 rounds without improvement)
        "boosting": gb_fit(gb_key, feats[tr], y[tr], n_estimators=n_rounds, learning_rate=0.1,
                           max_depth=3, subsample=0.8, X_val=feats[va], y_val=y[va],
                           n_iter_no_change=10),
    }
    predict = {"tree": (tree_predict, tree_predict_proba),
               "forest": (forest_predict, forest_predict_proba),
               "boosting": (gb_predict, gb_predict_proba)}
    lo, hi = feats.min(0), feats.max(0)
    n_grid = 120 if quick else 200
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], n_grid), np.linspace(lo[1], hi[1], n_grid))
    grid = np.stack([g0.ravel(), g1.ravel()], axis=1).astype(np.float32)
    fig = new_figure(figsize=(22.0, 5.0))
    axes = fig.subplots(1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.6]})
    metrics = {}
    importances = {}
    for ax, (kind, params) in zip(axes[:3], models.items()):
        pred_fn, proba_fn = predict[kind]
        acc = float(np.mean(np.asarray(pred_fn(params, feats[te])) == y[te]))
        prob = np.asarray(proba_fn(params, grid))[:, 1].reshape(g0.shape)
        ax.contourf(g0, g1, prob, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.6)
        ax.contour(g0, g1, prob, levels=[0.5], colors="k", linewidths=1.0)
        for label, color, text in ((0, "tab:blue", "noise"), (1, "tab:red", "signal")):
            sel = y[te] == label
            ax.scatter(feats[te][sel, 0], feats[te][sel, 1], s=4, color=color, label=text)
        imp = np.asarray(params.feature_importances)
        importances[kind] = imp
        extra = (f", {int(params.n_estimators_used)} rounds kept" if kind == "boosting"
                 else "")
        ax.set_title(f"{names[kind]}\ntest accuracy {acc:.3f}{extra}", fontsize=10)
        ax.set_xlabel("log10 SNR")
        ax.set_ylabel("log10 chirp mass [M☉]")
        ax.legend(loc="upper right", markerscale=3)
        metrics[f"{kind}_accuracy"] = acc
        metrics[f"{kind}_importance_snr"] = float(imp[0])
    metrics["boosting_rounds"] = int(models["boosting"].n_estimators_used)
    ax = axes[3]
    width = 0.25
    for i, (kind, imp) in enumerate(importances.items()):
        ax.bar(np.arange(2) + (i - 1) * width, imp, width, label=kind)
    ax.set_xticks(np.arange(2), ["SNR", "chirp mass"])
    ax.set_ylabel("feature importance (impurity decrease)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("feature importances")
    fig.suptitle("GW triggers: P(signal) decision regions (black: 0.5) on the test triggers")
    path = out_dir / "ch15_gw_trees.png"
    save_figure(fig, path)
    return metrics, path


CHAPTER = Chapter(number=15, name="classical", title="PCA and t-SNE of the handwritten digits",
                  run=run)
