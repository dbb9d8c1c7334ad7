"""PCA and exact t-SNE: jaxphys.classical against scikit-learn, in the same run.

Data: the 8×8 digits (1797 × 64, pixels / 16), from ``jaxphys.data`` when it ships
them, else scikit-learn's copy; for PCA also a larger synthetic Gaussian matrix
(20000 × 256, decaying spectrum) where the SVD dominates.

* PCA: ``jaxphys.classical.pca_fit`` (jitted thin SVD of the centred data) vs
  ``sklearn.decomposition.PCA(n_components, svd_solver="full")``; quality: the
  largest difference of the explained-variance ratios.
* t-SNE: ``jaxphys.classical.tsne_fit`` (exact O(N²) gradient, 1000 iterations, one
  ``lax.scan``) vs ``sklearn.manifold.TSNE`` with the same settings (perplexity 30,
  early exaggeration 12 for 250 iterations (fixed in scikit-learn), learning rate
  "auto", PCA init), both its default Barnes–Hut method (what a user would pick)
  and ``method="exact"`` (the same algorithm as ours; full run only). Quality side
  by side: trustworthiness (k = 5) and the leave-one-out 5-nearest-neighbour
  accuracy of the digit labels in 2-D.

jaxphys compile time (first call: trace + compile + run) is reported apart from
the steady state (median of the timed repeats, each blocked on its outputs).
Ratios are scikit-learn seconds over jaxphys seconds (> 1: jaxphys faster).
"""

from __future__ import annotations

import time

import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, peer_threads, register
from ._timing import time_first_call, time_fn

NAME = "classical_pca_tsne"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        # scikit-learn needs n > perplexity and at least 250 iterations (all of them
        # exaggerated at 250): the smallest run that exercises both phases
        return {"n_tsne": 100, "tsne_iter": 260, "exag_iter": 250, "pca_big": (500, 32),
                "pca_components": 8, "repeats": 1, "sk_exact": False}
    return {"n_tsne": 1797, "tsne_iter": 1000, "exag_iter": 250, "pca_big": (20000, 256),
            "pca_components": 32, "repeats": 5, "sk_exact": True}


def load_digits_flat() -> tuple[np.ndarray, np.ndarray, str]:
    """Digits as ``(1797, 64)`` float32 in [0, 1] and int labels, and where they came from."""
    try:
        from jaxphys.data._digits import load_digits

        ds = load_digits()
        return (np.asarray(ds.x).reshape(-1, 64).astype(np.float32), np.asarray(ds.y),
                "jaxphys.data")
    except ImportError:
        from sklearn.datasets import load_digits

        d = load_digits()
        return (d.data / 16.0).astype(np.float32), d.target, "sklearn.datasets"


def knn_accuracy(emb: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy (majority vote) in the embedding."""
    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nbrs = np.argpartition(d, k, axis=1)[:, :k]
    n_cls = int(labels.max()) + 1
    pred = np.array([np.bincount(labels[row], minlength=n_cls).argmax() for row in nbrs])
    return float(np.mean(pred == labels))


def threadpool_limits(n_threads: int):
    """Cap the BLAS and OpenMP pools scikit-learn runs on (a no-op context without
    ``threadpoolctl``, which scikit-learn depends on)."""
    try:
        from threadpoolctl import threadpool_limits as limits
    except ImportError:
        import contextlib

        return contextlib.nullcontext()
    return limits(limits=n_threads)


def _pca_case(x: np.ndarray, k: int, repeats: int, ctx: Context, label: str) -> dict:
    import jax.numpy as jnp

    from jaxphys.classical import pca_fit

    xj = jnp.asarray(x)
    warmup = 0 if ctx.quick else 1      # the first (compiling) call has run it once already
    compile_s, ours = time_first_call(pca_fit, None, xj, k)
    t_ours = time_fn(lambda: pca_fit(None, xj, k), warmup=warmup, repeats=repeats)
    out = {"compile_s": compile_s, "jaxphys_s": t_ours.median_s}
    try:
        from sklearn.decomposition import PCA
    except ImportError:
        ctx.log("[bench]   scikit-learn missing: PCA peer skipped")
        return out
    x64 = x.astype(np.float64)
    with threadpool_limits(peer_threads(ctx)):
        ref = PCA(n_components=k, svd_solver="full").fit(x64)
        t_sk = time_fn(lambda: PCA(n_components=k, svd_solver="full").fit(x64), warmup=warmup,
                       repeats=repeats)
    out.update(sklearn_s=t_sk.median_s,
               ratio_diff=float(np.max(np.abs(np.asarray(ours.explained_variance_ratio)
                                              - ref.explained_variance_ratio_))))
    ctx.log(f"[bench]   PCA {label}: jaxphys {out['jaxphys_s'] * 1e3:.1f} ms, "
            f"sklearn {out['sklearn_s'] * 1e3:.1f} ms")
    return out


def _tsne_case(x: np.ndarray, y: np.ndarray, cfg: dict, ctx: Context) -> dict:
    from jaxphys.classical import trustworthiness, tsne_fit

    kw = dict(perplexity=30.0, n_iter=cfg["tsne_iter"], exaggeration_iter=cfg["exag_iter"])
    compile_s, res = time_first_call(tsne_fit, None, x, **kw)
    t_ours = time_fn(lambda: tsne_fit(None, x, **kw), warmup=0,
                     repeats=max(1, cfg["repeats"] // 2))
    emb = np.asarray(res.embedding)
    out = {"jaxphys": {"compile_s": compile_s, "s": t_ours.median_s,
                       "trust": float(trustworthiness(x, emb, 5)),
                       "knn": knn_accuracy(emb, y)}}
    ctx.log(f"[bench]   t-SNE jaxphys: {t_ours.median_s:.2f} s (first call {compile_s:.2f} s)")
    try:
        from sklearn.manifold import TSNE
        from sklearn.manifold import trustworthiness as sk_trust
    except ImportError:
        ctx.log("[bench]   scikit-learn missing: t-SNE peers skipped")
        return out
    methods = ["barnes_hut"] + (["exact"] if cfg["sk_exact"] else [])
    for method in methods:
        est = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0,
                   learning_rate="auto", init="pca", method=method,
                   max_iter=cfg["tsne_iter"], random_state=0)
        with threadpool_limits(peer_threads(ctx)):
            start = time.perf_counter()
            emb_sk = est.fit_transform(x.astype(np.float64))
            secs = time.perf_counter() - start
        out[method] = {"s": secs, "trust": float(sk_trust(x, emb_sk, n_neighbors=5)),
                       "knn": knn_accuracy(emb_sk, y)}
        ctx.log(f"[bench]   t-SNE sklearn {method}: {secs:.2f} s")
    return out


@register(NAME)
def classical_pca_tsne(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    x_dig, y_dig, source = load_digits_flat()
    x_tsne, y_tsne = x_dig[:cfg["n_tsne"]], y_dig[:cfg["n_tsne"]]
    rng = np.random.default_rng(0)
    n_big, d_big = cfg["pca_big"]
    x_big = (rng.standard_normal((n_big, d_big)) * np.geomspace(10.0, 0.1, d_big)).astype(
        np.float32)
    k = cfg["pca_components"]
    pca_dig = _pca_case(x_dig, k, cfg["repeats"], ctx, "digits")
    pca_big = _pca_case(x_big, k, cfg["repeats"], ctx, f"{n_big}x{d_big}")
    ts = _tsne_case(x_tsne, y_tsne, cfg, ctx)

    def ratio(a, b):
        return None if a is None or b is None else a / b

    fig = {
        "pca_digits_jaxphys_s": Figure(pca_dig["jaxphys_s"], "s", "PCA fit, digits, median"),
        "pca_digits_compile_s": Figure(pca_dig["compile_s"], "s", "first call"),
        "pca_digits_sklearn_s": Figure(pca_dig.get("sklearn_s"), "s", "sklearn PCA full"),
        "pca_digits_speedup": Figure(ratio(pca_dig.get("sklearn_s"), pca_dig["jaxphys_s"]),
                                     "1", "sklearn s / jaxphys s"),
        "pca_digits_max_ratio_diff": Figure(pca_dig.get("ratio_diff"), "1",
                                            "max |Δ explained-variance ratio|"),
        "pca_big_jaxphys_s": Figure(pca_big["jaxphys_s"], "s", f"PCA fit, {n_big}×{d_big}"),
        "pca_big_sklearn_s": Figure(pca_big.get("sklearn_s"), "s", "sklearn PCA full"),
        "pca_big_speedup": Figure(ratio(pca_big.get("sklearn_s"), pca_big["jaxphys_s"]), "1",
                                  "sklearn s / jaxphys s"),
        "tsne_jaxphys_s": Figure(ts["jaxphys"]["s"], "s", "t-SNE exact, steady state"),
        "tsne_jaxphys_compile_s": Figure(ts["jaxphys"]["compile_s"], "s", "first call"),
        "tsne_jaxphys_trust5": Figure(ts["jaxphys"]["trust"], "1", "trustworthiness k=5"),
        "tsne_jaxphys_knn5": Figure(ts["jaxphys"]["knn"], "1", "LOO 5-NN accuracy in 2-D"),
    }
    table = [["method", "n", "first call (s)", "fit (s)", "× jaxphys time",
              "trustworthiness (k=5)", "5-NN acc. (2-D)"],
             ["jaxphys tsne_fit (exact, jit + scan)", str(len(x_tsne)),
              fmt(ts["jaxphys"]["compile_s"], 3), fmt(ts["jaxphys"]["s"], 3), "1",
              fmt(ts["jaxphys"]["trust"], 4), fmt(ts["jaxphys"]["knn"], 4)]]
    for method in ("barnes_hut", "exact"):
        if method in ts:
            r = ts[method]
            fig[f"tsne_sklearn_{method}_s"] = Figure(r["s"], "s", f"sklearn TSNE {method}")
            fig[f"tsne_speedup_vs_{method}"] = Figure(r["s"] / ts["jaxphys"]["s"], "1",
                                                      f"sklearn {method} s / jaxphys s")
            fig[f"tsne_sklearn_{method}_trust5"] = Figure(r["trust"], "1", "trustworthiness")
            fig[f"tsne_sklearn_{method}_knn5"] = Figure(r["knn"], "1", "LOO 5-NN accuracy")
            table.append([f"scikit-learn TSNE ({method})", str(len(x_tsne)), "—",
                          fmt(r["s"], 3), fmt(r["s"] / ts["jaxphys"]["s"], 3),
                          fmt(r["trust"], 4), fmt(r["knn"], 4)])
    for label, case, n in (("digits", pca_dig, x_dig.shape), ("synthetic", pca_big,
                                                               x_big.shape)):
        table.append([f"PCA {label} {n[0]}×{n[1]}, k={k}: jaxphys / sklearn", str(n[0]),
                      fmt(case["compile_s"], 3),
                      f"{fmt(case['jaxphys_s'], 4)} / {fmt(case.get('sklearn_s'), 4)}",
                      fmt(ratio(case.get("sklearn_s"), case["jaxphys_s"]), 3), "—", "—"])
    notes = (f"Digits from {source}, pixels / 16.",
             "t-SNE peers: one timed run each (scikit-learn has no compile step); jaxphys: "
             "first call reported apart, then the median of the timed runs.",
             "PCA quality: max |Δ explained-variance ratio| = "
             f"{fmt(pca_dig.get('ratio_diff'), 3)} (digits).")
    return BenchResult(
        description="PCA and exact t-SNE fit times and quality, jaxphys.classical vs "
                    "scikit-learn, same data, same run.",
        config={**cfg, "pca_big": list(cfg["pca_big"])}, figures=fig, table=table,
        notes=notes)
