"""Chapter 2: logistic classification of gravitational-wave triggers.

Fake detector triggers (``jaxphys.data.gw_triggers``) carry two features, the
signal-to-noise ratio and the chirp mass, and a label: astrophysical signal (1)
or noise (0). The set is split 60/20/20 (stratified on the label), the features
are standardised with statistics of the training set only, and a logistic
regression ``p(signal | x) = sigmoid(w·z + b)`` is fitted
(``jaxphys.linear.logistic_regression``). The L2 strength is chosen on the
validation set (lowest log-loss); the test set is touched once, at the end,
for the confusion matrix at threshold 0.5, accuracy, precision, recall, F1 and
the ROC curve. Two references bracket it: the SNR alone (the classic
detection statistic) and the Bayes-optimal classifier, the generator's exact
likelihood ratio, which no classifier can beat on average.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import numpy as np

    from jaxphys import data, linear, metrics, plot

    n_triggers = 1000 if quick else 4000
    l2_grid = [0.0, 1e-2, 1e-1] if quick else [0.0, 1e-3, 1e-2, 1e-1, 1.0]

    data_key, split_key = jax.random.split(key)
    ds = data.gw_triggers(data_key, n=n_triggers)
    x, y = np.asarray(ds.x), np.asarray(ds.y).astype(np.int32)
    split = data.train_val_test_split(split_key, x.shape[0], fractions=(0.6, 0.2, 0.2),
                                      stratify=y)
    tr, va, te = (np.asarray(i) for i in (split.train, split.val, split.test))
    scaler = data.Standardizer.fit(x[tr])
    z_tr, z_va, z_te = (np.asarray(scaler.transform(x[i])) for i in (tr, va, te))

    val_loss = {}
    fits = {}
    for l2 in l2_grid:
        fits[l2] = linear.logistic_regression(z_tr, y[tr], l2=l2)
        p_va = linear.logistic_predict_proba(fits[l2], z_va)
        val_loss[l2] = float(metrics.log_loss(y[va], p_va))
    best_l2 = min(l2_grid, key=lambda l: (val_loss[l], -l))
    fit = fits[best_l2]

    p_te = linear.logistic_predict_proba(fit, z_te)
    pred = np.asarray(linear.logistic_predict(fit, z_te))
    y_te = y[te]
    cm = np.asarray(metrics.confusion_matrix(y_te, pred, 2))
    roc = metrics.roc_curve(y_te, p_te)
    roc_snr = metrics.roc_curve(y_te, x[te, 0])
    roc_bayes = metrics.roc_curve(y_te, np.asarray(ds.truth["log_likelihood_ratio"])[te])
    result = {
        "test_accuracy": float(metrics.accuracy(y_te, pred)),
        "auc": float(metrics.auc(roc.fpr, roc.tpr)),
        "precision": float(metrics.precision(y_te, pred)),
        "recall": float(metrics.recall(y_te, pred)),
        "f1": float(metrics.f1_score(y_te, pred)),
        "auc_snr_only": float(metrics.auc(roc_snr.fpr, roc_snr.tpr)),
        "auc_bayes_optimal": float(metrics.auc(roc_bayes.fpr, roc_bayes.tpr)),
        "l2": float(best_l2),
        "val_log_loss": val_loss[best_l2],
        "n_test": float(te.size),
    }

    fig_cm = out_dir / "ch02_confusion_matrix.png"
    plot.plot_confusion_matrix(cm, ["noise", "signal"],
                               title=f"GW triggers, test set (N = {te.size}), threshold p = 0.5",
                               path=fig_cm)
    fig_roc = out_dir / "ch02_roc.png"
    plot.plot_roc({"logistic regression (SNR, chirp mass)": roc, "SNR alone": roc_snr,
                   "Bayes optimal (true likelihood ratio)": roc_bayes},
                  title="ROC on the test set", path=fig_roc)

    summary = (f"test accuracy {result['test_accuracy']:.3f}, AUC {result['auc']:.3f} "
               f"(SNR alone {result['auc_snr_only']:.3f}, Bayes optimal "
               f"{result['auc_bayes_optimal']:.3f}), precision {result['precision']:.3f}, "
               f"recall {result['recall']:.3f}, F1 {result['f1']:.3f} (L2 = {best_l2:g})")
    return ChapterResult(summary=summary, metrics=result, figures=[fig_cm, fig_roc])


CHAPTER = Chapter(number=2, name="classification",
                  title="Logistic classification of gravitational-wave triggers", run=run)
