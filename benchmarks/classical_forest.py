"""Decision tree and random forest: jaxphys.classical against scikit-learn, same splits.

Data: scikit-learn's breast-cancer (569 × 30, 2 classes) and the 8×8 digits
(1797 × 64, 10 classes), one stratified 70/30 split each (random_state 0).

* tree: ``jaxphys.classical.tree_fit`` (CART, Gini, depth 8, 63 quantile thresholds
  per feature, only the bins that hold rows searched; level-wise histograms by
  scatter-add, cumulative sums by ``lax.scan`` over the bins, the nodes that can
  still split taken in chunks, one or two ``lax.fori_loop`` bodies over the levels)
  vs ``sklearn.tree.DecisionTreeClassifier(max_depth=8)`` (exact split search);
* forest: ``jaxphys.classical.forest_fit`` (100 trees of depth 8, bootstrap,
  √d features per split, the trees grown together level by level under ``vmap``) vs
  ``sklearn.ensemble.RandomForestClassifier(n_estimators=100, max_depth=8,
  n_jobs=<cores>)`` (one job in quick mode).

jaxphys first calls (binning + trace + compile + run) are reported apart from the
steady state. Each fit (binning included) and its peer run interleaved
(``time_interleaved``: same load for both), median of the repeats, jaxphys with a
fresh key each repeat. Test accuracies side by side; ratios are scikit-learn
seconds over jaxphys seconds (> 1: jaxphys faster).
"""

from __future__ import annotations

import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, peer_threads, register
from ._timing import time_first_call, time_interleaved

NAME = "classical_forest"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"depth": 2, "n_trees": 4, "repeats": 1, "datasets": ("breast_cancer",)}
    return {"depth": 8, "n_trees": 100, "repeats": 5, "datasets": ("breast_cancer", "digits")}


def _case(name: str, cfg: dict, ctx: Context) -> dict:
    import jax

    from sklearn import datasets
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    from jaxphys.classical import forest_fit, forest_predict, tree_fit, tree_predict

    x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x.astype(np.float32), y, test_size=0.3,
                                          random_state=0, stratify=y)
    depth, n_trees = cfg["depth"], cfg["n_trees"]
    reps = cfg["repeats"]
    out = {}

    def sk_tree():
        return DecisionTreeClassifier(max_depth=depth, random_state=0).fit(xtr, ytr)

    compile_s, tree = time_first_call(tree_fit, None, xtr, ytr, max_depth=depth)
    t = time_interleaved({"jaxphys": lambda: tree_fit(None, xtr, ytr, max_depth=depth),
                          "sklearn": sk_tree}, warmup=1, repeats=reps)
    out["tree"] = {"compile_s": compile_s, "s": t["jaxphys"].median_s,
                   "sk_s": t["sklearn"].median_s,
                   "acc": float(np.mean(np.asarray(tree_predict(tree, xte)) == yte)),
                   "sk_acc": float(sk_tree().score(xte, yte))}
    keys = iter(jax.random.split(jax.random.key(0), 3 + reps))

    def ours():
        return forest_fit(next(keys), xtr, ytr, n_trees=n_trees, max_depth=depth)

    def sk_forest():
        return RandomForestClassifier(n_estimators=n_trees, max_depth=depth, random_state=0,
                                      n_jobs=peer_threads(ctx)).fit(xtr, ytr)

    compile_s, forest = time_first_call(ours)
    t = time_interleaved({"jaxphys": ours, "sklearn": sk_forest}, warmup=1, repeats=reps)
    out["forest"] = {"compile_s": compile_s, "s": t["jaxphys"].median_s,
                     "sk_s": t["sklearn"].median_s,
                     "acc": float(np.mean(np.asarray(forest_predict(forest, xte)) == yte)),
                     "sk_acc": float(sk_forest().score(xte, yte)),
                     "oob": float(forest.oob_score)}
    for kind in ("tree", "forest"):
        r = out[kind]
        ctx.log(f"[bench]   {name} {kind}: jaxphys {r['s']:.3f} s (first {r['compile_s']:.2f} s) "
                f"acc {r['acc']:.3f}; sklearn {r['sk_s']:.3f} s acc {r['sk_acc']:.3f}")
    return out


@register(NAME)
def classical_forest(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return BenchResult(description="tree / forest vs scikit-learn", config=cfg, figures={},
                           notes=("scikit-learn not installed: benchmark skipped",))
    fig, table = {}, [["data", "model", "jaxphys first call (s)", "jaxphys fit (s)",
                       "sklearn fit (s)", "sklearn s / jaxphys s", "jaxphys acc.",
                       "sklearn acc."]]
    for name in cfg["datasets"]:
        res = _case(name, cfg, ctx)
        for kind, r in res.items():
            pre = f"{name}_{kind}"
            fig[f"{pre}_jaxphys_s"] = Figure(r["s"], "s", f"{kind} fit, median")
            fig[f"{pre}_jaxphys_compile_s"] = Figure(r["compile_s"], "s", "first call")
            fig[f"{pre}_sklearn_s"] = Figure(r["sk_s"], "s", "scikit-learn fit, median")
            fig[f"{pre}_speedup"] = Figure(r["sk_s"] / r["s"], "1", "sklearn s / jaxphys s")
            fig[f"{pre}_jaxphys_acc"] = Figure(r["acc"], "1", "test accuracy")
            fig[f"{pre}_sklearn_acc"] = Figure(r["sk_acc"], "1", "test accuracy")
            label = (f"tree depth {cfg['depth']}" if kind == "tree" else
                     f"forest {cfg['n_trees']} × depth {cfg['depth']}")
            table.append([name, label, fmt(r["compile_s"], 3), fmt(r["s"], 4),
                          fmt(r["sk_s"], 4), fmt(r["sk_s"] / r["s"], 3), fmt(r["acc"], 4),
                          fmt(r["sk_acc"], 4)])
    return BenchResult(
        description="CART tree and random forest fit times and test accuracy, "
                    "jaxphys.classical vs scikit-learn, same splits, same run.",
        config={**cfg, "datasets": list(cfg["datasets"])}, figures=fig, table=table,
        notes=("jaxphys and scikit-learn fits interleaved, median of the repeats; jaxphys "
               "forests with a fresh key per repeat (same shapes: no recompilation).",
               "jaxphys splits among the 63 quantile thresholds per feature (the bins that "
               "hold rows); scikit-learn searches every threshold.",))
