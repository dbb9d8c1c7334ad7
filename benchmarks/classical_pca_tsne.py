"""PCA and t-SNE: jaxphys.classical against scikit-learn and openTSNE, in the same run.

Data: the 8×8 digits (1797 × 64, pixels / 16), from ``jaxphys.data`` when it ships
them, else scikit-learn's copy; for PCA also a larger synthetic Gaussian matrix
(20000 × 256, decaying spectrum) where the SVD dominates.

* PCA: ``jaxphys.classical.pca_fit`` (jitted thin SVD of the centred data) vs
  ``sklearn.decomposition.PCA(n_components, svd_solver="full")``; quality: the
  largest difference of the explained-variance ratios.
* t-SNE on the digits: ``jaxphys.classical.tsne_fit`` with ``method="exact"``
  (O(N²) gradient, 1000 iterations, one ``lax.scan``) and ``method="fft"``
  (nearest-neighbour affinities, FFT-interpolated repulsion) vs
  ``sklearn.manifold.TSNE`` with the same settings (perplexity 30, early
  exaggeration 12 for 250 iterations, learning rate "auto", PCA init), its default
  Barnes–Hut method and (full run only) ``method="exact"``, and vs ``openTSNE.TSNE``
  (its FFT method, the same 250 + 750 iterations, ``n_jobs=<cores>``) when it is
  installed. Quality side by side: trustworthiness (k = 5) and the leave-one-out
  5-nearest-neighbour accuracy of the digit labels in 2-D.
* full run only, t-SNE at scale: 70 000 points of a synthetic 50-D mixture (10
  clusters, each a noisy random 3-D Gaussian slab), jaxphys ``method="fft"`` vs
  openTSNE, one run each (jaxphys's time includes its compilation, openTSNE's its
  nearest-neighbour index); trustworthiness (k = 5) on the same random 5000 points.

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
                "pca_components": 8, "repeats": 1, "sk_exact": False, "n_large": 0}
    return {"n_tsne": 1797, "tsne_iter": 1000, "exag_iter": 250, "pca_big": (20000, 256),
            "pca_components": 32, "repeats": 5, "sk_exact": True, "n_large": 70000}


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


def _opentsne(x: np.ndarray, cfg: dict, ctx: Context):
    """openTSNE's embedding and seconds, or None when it is not installed."""
    try:
        from openTSNE import TSNE as OpenTSNE
    except ImportError:
        return None
    est = OpenTSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0,
                   early_exaggeration_iter=cfg["exag_iter"],
                   n_iter=cfg["tsne_iter"] - cfg["exag_iter"], initialization="pca",
                   negative_gradient_method="fft", n_jobs=peer_threads(ctx), random_state=0)
    start = time.perf_counter()
    emb = np.asarray(est.fit(x.astype(np.float64)))
    return emb, time.perf_counter() - start


def _tsne_case(x: np.ndarray, y: np.ndarray, cfg: dict, ctx: Context) -> dict:
    from jaxphys.classical import trustworthiness, tsne_fit

    out = {}
    for method in ("exact", "fft"):
        kw = dict(perplexity=30.0, n_iter=cfg["tsne_iter"], exaggeration_iter=cfg["exag_iter"],
                  method=method)
        compile_s, res = time_first_call(tsne_fit, None, x, **kw)
        t_ours = time_fn(lambda: tsne_fit(None, x, **kw), warmup=0,
                         repeats=max(1, cfg["repeats"] // 2))
        emb = np.asarray(res.embedding)
        out[f"jaxphys_{method}"] = {"compile_s": compile_s, "s": t_ours.median_s,
                                    "trust": float(trustworthiness(x, emb, 5)),
                                    "knn": knn_accuracy(emb, y)}
        ctx.log(f"[bench]   t-SNE jaxphys {method}: {t_ours.median_s:.2f} s "
                f"(first call {compile_s:.2f} s)")
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
    got = _opentsne(x, cfg, ctx)
    if got is not None:
        emb_o, secs = got
        out["opentsne"] = {"s": secs, "trust": float(sk_trust(x, emb_o, n_neighbors=5)),
                           "knn": knn_accuracy(emb_o, y)}
        ctx.log(f"[bench]   t-SNE openTSNE: {secs:.2f} s")
    return out


def synthetic_mixture(n: int, d: int = 50, n_clusters: int = 10, seed: int = 0):
    """``(x (n, d) float32, labels (n,))``: a mixture of noisy random 3-D Gaussian slabs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 6.0, (n_clusters, d))
    labels = rng.integers(0, n_clusters, n)
    bases = rng.normal(size=(n_clusters, 3, d)) / np.sqrt(d) * 4.0
    coords = rng.normal(size=(n, 3))
    x = centres[labels] + np.einsum("ni,nid->nd", coords, bases[labels]) \
        + 0.5 * rng.normal(size=(n, d))
    return x.astype(np.float32), labels


def _tsne_large_case(cfg: dict, ctx: Context) -> dict:
    from jaxphys.classical import trustworthiness, tsne_fit

    n = cfg["n_large"]
    x, _ = synthetic_mixture(n)
    sub = np.sort(np.random.default_rng(1).choice(n, 5000, replace=False))
    start = time.perf_counter()
    res = tsne_fit(None, x, perplexity=30.0, n_iter=cfg["tsne_iter"],
                   exaggeration_iter=cfg["exag_iter"], method="fft")
    emb = np.asarray(res.embedding)
    out = {"jaxphys": {"s": time.perf_counter() - start,
                       "trust": float(trustworthiness(x[sub], emb[sub], 5))}}
    ctx.log(f"[bench]   t-SNE {n} points jaxphys fft: {out['jaxphys']['s']:.1f} s")
    got = _opentsne(x, cfg, ctx)
    if got is not None:
        emb_o, secs = got
        out["opentsne"] = {"s": secs, "trust": float(trustworthiness(x[sub], emb_o[sub], 5))}
        ctx.log(f"[bench]   t-SNE {n} points openTSNE: {secs:.1f} s")
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
    }
    table = [["method", "n", "first call (s)", "fit (s)", "÷ jaxphys fft time",
              "trustworthiness (k=5)", "5-NN acc. (2-D)"]]
    fft_s = ts["jaxphys_fft"]["s"]
    for method in ("exact", "fft"):
        r = ts[f"jaxphys_{method}"]
        pre = f"tsne_jaxphys_{method}"
        fig[f"{pre}_s"] = Figure(r["s"], "s", f"t-SNE {method}, steady state")
        fig[f"{pre}_compile_s"] = Figure(r["compile_s"], "s", "first call")
        fig[f"{pre}_trust5"] = Figure(r["trust"], "1", "trustworthiness k=5")
        fig[f"{pre}_knn5"] = Figure(r["knn"], "1", "LOO 5-NN accuracy in 2-D")
        table.append([f"jaxphys tsne_fit (method={method!r})", str(len(x_tsne)),
                      fmt(r["compile_s"], 3), fmt(r["s"], 3), fmt(r["s"] / fft_s, 3),
                      fmt(r["trust"], 4), fmt(r["knn"], 4)])
    peers = {"barnes_hut": "scikit-learn TSNE (barnes_hut)",
             "exact": "scikit-learn TSNE (exact)", "opentsne": "openTSNE (fft)"}
    for method, label in peers.items():
        if method in ts:
            r = ts[method]
            fig[f"tsne_{method}_s"] = Figure(r["s"], "s", label)
            fig[f"tsne_{method}_over_jaxphys_fft"] = Figure(r["s"] / fft_s, "1",
                                                            f"{label} s / jaxphys fft s")
            fig[f"tsne_{method}_over_jaxphys_exact"] = Figure(
                r["s"] / ts["jaxphys_exact"]["s"], "1", f"{label} s / jaxphys exact s")
            fig[f"tsne_{method}_trust5"] = Figure(r["trust"], "1", "trustworthiness")
            fig[f"tsne_{method}_knn5"] = Figure(r["knn"], "1", "LOO 5-NN accuracy")
            table.append([label, str(len(x_tsne)), "—", fmt(r["s"], 3),
                          fmt(r["s"] / fft_s, 3), fmt(r["trust"], 4), fmt(r["knn"], 4)])
    if cfg["n_large"]:
        large = _tsne_large_case(cfg, ctx)
        n_l = str(cfg["n_large"])
        for who, label in (("jaxphys", "jaxphys tsne_fit (method='fft'), synthetic"),
                           ("opentsne", "openTSNE (fft), synthetic")):
            if who in large:
                r = large[who]
                fig[f"tsne_large_{who}_s"] = Figure(r["s"], "s", f"{label}, one run")
                fig[f"tsne_large_{who}_trust5"] = Figure(r["trust"], "1",
                                                         "trustworthiness k=5, 5000 points")
                table.append([label, n_l, "—", fmt(r["s"], 1),
                              fmt(r["s"] / large["jaxphys"]["s"], 3), fmt(r["trust"], 4), "—"])
        if "opentsne" in large:
            fig["tsne_large_opentsne_over_jaxphys"] = Figure(
                large["opentsne"]["s"] / large["jaxphys"]["s"], "1",
                "openTSNE s / jaxphys fft s, synthetic")
    for label, case, n in (("digits", pca_dig, x_dig.shape), ("synthetic", pca_big,
                                                               x_big.shape)):
        table.append([f"PCA {label} {n[0]}×{n[1]}, k={k}: jaxphys / sklearn", str(n[0]),
                      fmt(case["compile_s"], 3),
                      f"{fmt(case['jaxphys_s'], 4)} / {fmt(case.get('sklearn_s'), 4)}",
                      fmt(ratio(case.get("sklearn_s"), case["jaxphys_s"]), 3), "—", "—"])
    notes = (f"Digits from {source}, pixels / 16.",
             "t-SNE peers: one timed run each (no compile step); jaxphys on the digits: "
             "first call reported apart, then the median of the timed runs; at scale: one "
             "run each, jaxphys's including its compilation.",
             "t-SNE at scale: trustworthiness on the same random 5000 points of the 70 000 "
             "(all pairs of 70 000 would not fit in memory).",
             "PCA quality: max |Δ explained-variance ratio| = "
             f"{fmt(pca_dig.get('ratio_diff'), 3)} (digits).")
    return BenchResult(
        description="PCA and t-SNE fit times and quality, jaxphys.classical vs "
                    "scikit-learn and openTSNE, same data, same run.",
        config={**cfg, "pca_big": list(cfg["pca_big"])}, figures=fig, table=table,
        notes=notes)
