"""Gradient boosting (and AdaBoost): jaxphys.classical vs scikit-learn and XGBoost.

Data: scikit-learn's breast-cancer (569 × 30, 2 classes) and, in the full run, the
8×8 digits (1797 × 64, 10 classes: one tree per class and round), one stratified
70/30 split each (random_state 0).

* gradient boosting, log loss, depth-3 trees, learning rate 0.1, all rows:
  ``jaxphys.classical.gb_fit`` (63 quantile thresholds per feature, one jitted
  ``lax.scan`` over the rounds; the ``K`` trees of a round grown together: one
  root histogram for all, then only the smaller child's rows histogrammed and the
  sibling by subtraction) with scikit-learn's first-order splits and Newton leaves
  (``criterion="squared_error"``) vs ``sklearn.ensemble.GradientBoostingClassifier``
  (exact split search) vs ``xgboost.XGBClassifier(tree_method="hist", max_bin=64,
  n_jobs=<cores>)`` (one job in quick mode; XGBoost's defaults λ = 1,
  min_child_weight = 1);
* the same with XGBoost's regularised second-order gain and leaves
  (``criterion="xgboost", reg_lambda=1, min_child_weight=1``) vs the same XGBoost;
* full run only: AdaBoost (SAMME, 50 stumps), ``adaboost_fit`` vs
  ``sklearn.ensemble.AdaBoostClassifier``.

jaxphys first calls (binning + trace + compile + run) are reported apart from the
steady state. Each jaxphys fit and its peers run interleaved (``time_interleaved``:
the same load for all), median of the repeats, jaxphys with a fresh key each repeat.
Test accuracies side by side; ratios are peer seconds over jaxphys seconds
(> 1: jaxphys faster).
"""

from __future__ import annotations

import numpy as np

from ._runner import BenchResult, Context, Figure, fmt, peer_threads, register
from ._timing import time_first_call, time_interleaved

NAME = "classical_boosting"


def _config(ctx: Context) -> dict:
    if ctx.quick:
        return {"n_estimators": 10, "depth": 2, "repeats": 1, "datasets": ("breast_cancer",),
                "adaboost": False}
    return {"n_estimators": 100, "depth": 3, "repeats": 5,
            "datasets": ("breast_cancer", "digits"), "adaboost": True}


def _case(name: str, cfg: dict, ctx: Context) -> dict:
    import jax

    from sklearn import datasets
    from sklearn.ensemble import AdaBoostClassifier, GradientBoostingClassifier
    from sklearn.model_selection import train_test_split
    from sklearn.tree import DecisionTreeClassifier

    from jaxphys.classical import adaboost_fit, adaboost_predict, gb_fit, gb_predict

    x, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x.astype(np.float32), y, test_size=0.3,
                                          random_state=0, stratify=y)
    n_est, depth, reps = cfg["n_estimators"], cfg["depth"], cfg["repeats"]
    out = {}
    keys = iter(jax.random.split(jax.random.key(0), 4 + 2 * reps))

    def sk():
        return GradientBoostingClassifier(n_estimators=n_est, max_depth=depth,
                                          learning_rate=0.1, random_state=0).fit(xtr, ytr)

    try:
        from xgboost import XGBClassifier

        def xgb():
            return XGBClassifier(n_estimators=n_est, max_depth=depth, learning_rate=0.1,
                                 tree_method="hist", max_bin=64, n_jobs=peer_threads(ctx),
                                 random_state=0).fit(xtr, ytr)
    except ImportError:
        xgb = None
    xgb_acc = None if xgb is None else float(np.mean(xgb().predict(xte) == yte))
    for kind, criterion in (("gradient boosting", "squared_error"),
                            ("gradient boosting, XGBoost gain", "xgboost")):
        def ours(criterion=criterion):
            return gb_fit(next(keys), xtr, ytr, n_estimators=n_est, max_depth=depth,
                          learning_rate=0.1, criterion=criterion)

        compile_s, model = time_first_call(ours)
        fns = {"jaxphys": ours}
        if criterion == "squared_error":
            fns["sklearn"] = sk
        if xgb is not None:
            fns["xgboost"] = xgb
        t = time_interleaved(fns, warmup=1, repeats=reps, pause_s=0.0 if ctx.quick else 0.05)
        r = {"compile_s": compile_s, "s": t["jaxphys"].median_s,
             "acc": float(np.mean(np.asarray(gb_predict(model, xte)) == yte)),
             "sk_s": t["sklearn"].median_s if "sklearn" in t else None,
             "sk_acc": float(sk().score(xte, yte)) if "sklearn" in t else None,
             "xgb_s": t["xgboost"].median_s if "xgboost" in t else None, "xgb_acc": xgb_acc}
        out[kind] = r
    if cfg["adaboost"]:
        def ada():
            return adaboost_fit(None, xtr, ytr, n_estimators=50, max_depth=1)

        def sk_ada():
            return AdaBoostClassifier(DecisionTreeClassifier(max_depth=1), n_estimators=50,
                                      random_state=0).fit(xtr, ytr)

        compile_s, model = time_first_call(ada)
        t = time_interleaved({"jaxphys": ada, "sklearn": sk_ada}, warmup=1, repeats=reps)
        out["adaboost"] = {"compile_s": compile_s, "s": t["jaxphys"].median_s,
                           "sk_s": t["sklearn"].median_s,
                           "acc": float(np.mean(np.asarray(adaboost_predict(model, xte)) == yte)),
                           "sk_acc": float(sk_ada().score(xte, yte)), "xgb_s": None,
                           "xgb_acc": None}
    for kind, r in out.items():
        xg = ("" if r["xgb_s"] is None else
              f"; xgboost {r['xgb_s']:.3f} s acc {r['xgb_acc']:.3f}")
        skl = ("" if r["sk_s"] is None else
               f"; sklearn {r['sk_s']:.3f} s acc {r['sk_acc']:.3f}")
        ctx.log(f"[bench]   {name} {kind}: jaxphys {r['s']:.3f} s (first {r['compile_s']:.2f} s) "
                f"acc {r['acc']:.3f}{skl}{xg}")
    return out


@register(NAME)
def classical_boosting(ctx: Context) -> BenchResult:
    cfg = _config(ctx)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return BenchResult(description="boosting vs scikit-learn / XGBoost", config=cfg,
                           figures={}, notes=("scikit-learn not installed: benchmark skipped",))
    fig = {}
    table = [["data", "model", "jaxphys first call (s)", "jaxphys fit (s)", "sklearn fit (s)",
              "xgboost fit (s)", "sklearn s / jaxphys s", "xgboost s / jaxphys s",
              "jaxphys acc.", "sklearn acc.", "xgboost acc."]]
    for name in cfg["datasets"]:
        res = _case(name, cfg, ctx)
        for kind, r in res.items():
            short = {"gradient boosting": "gb", "gradient boosting, XGBoost gain": "gb_xgbgain",
                     "adaboost": "adaboost"}[kind]
            pre = f"{name}_{short}"
            fig[f"{pre}_jaxphys_s"] = Figure(r["s"], "s", f"{kind} fit, median")
            fig[f"{pre}_jaxphys_compile_s"] = Figure(r["compile_s"], "s", "first call")
            fig[f"{pre}_jaxphys_acc"] = Figure(r["acc"], "1", "test accuracy")
            if r["sk_s"] is not None:
                fig[f"{pre}_sklearn_s"] = Figure(r["sk_s"], "s", "scikit-learn fit, median")
                fig[f"{pre}_sklearn_speedup"] = Figure(r["sk_s"] / r["s"], "1",
                                                       "sklearn s / jaxphys s")
                fig[f"{pre}_sklearn_acc"] = Figure(r["sk_acc"], "1", "test accuracy")
            if r["xgb_s"] is not None:
                fig[f"{pre}_xgboost_s"] = Figure(r["xgb_s"], "s", "XGBoost (hist) fit, median")
                fig[f"{pre}_xgboost_speedup"] = Figure(r["xgb_s"] / r["s"], "1",
                                                       "xgboost s / jaxphys s")
                fig[f"{pre}_xgboost_acc"] = Figure(r["xgb_acc"], "1", "test accuracy")
            label = {"gb": f"gradient boosting {cfg['n_estimators']} × depth {cfg['depth']}",
                     "gb_xgbgain": f"gradient boosting {cfg['n_estimators']} × depth "
                                   f"{cfg['depth']}, XGBoost gain (λ = 1)",
                     "adaboost": "AdaBoost SAMME 50 stumps"}[short]
            xs, ss = r["xgb_s"], r["sk_s"]
            table.append([name, label, fmt(r["compile_s"], 3), fmt(r["s"], 4), fmt(ss, 4),
                          fmt(xs, 4), fmt(None if ss is None else ss / r["s"], 3),
                          fmt(None if xs is None else xs / r["s"], 3), fmt(r["acc"], 4),
                          fmt(r["sk_acc"], 4), fmt(r["xgb_acc"], 4)])
    return BenchResult(
        description="Gradient boosting (and AdaBoost) fit times and test accuracy, "
                    "jaxphys.classical vs scikit-learn and XGBoost (hist), same splits, "
                    "same run.",
        config={**cfg, "datasets": list(cfg["datasets"])}, figures=fig, table=table,
        notes=("jaxphys and its peers interleaved, median of the repeats; jaxphys gradient "
               "boosting with a fresh key per repeat (same shapes: no recompilation).",
               f"XGBoost: tree_method='hist', max_bin=64, n_jobs={peer_threads(ctx)}, its "
               "defaults λ = 1 and min_child_weight = 1; the 'XGBoost gain' rows use the "
               "same λ and min_child_weight in jaxphys (its multi-class hessian 2p(1-p) "
               "too), the plain rows scikit-learn's first-order splits and Newton leaves."))
