"""Chapter 4: an MLP and a small CNN on the 8×8 handwritten digits; overfitting and its cures.

The 1797 digits shipped with jaxphys (``jaxphys.data.load_digits``) are split
75/25 (stratified on the class) into a training part and a test set; 15 % of
the whole set is taken from the training part as a validation set for early
stopping (so 60/15/25). Pixels are standardised with the training statistics
only. Two classifiers are trained with ``jaxphys.core.fit`` (Adam, minibatches
of 64, validation every epoch, early stopping on the validation loss with the
best parameters restored):

* an MLP 64 → 128 → 10 (ReLU, dropout 0.1) on the flattened images;
* a small CNN, 3×3 conv with 32 channels → ReLU → 2×2 max-pool → dense 64 →
  10, on the images as (8, 8, 1) channels-last arrays.

The test set is used once, at the end: accuracy and the confusion matrix.

Then overfitting, deliberately: a wide MLP (64 → 512 → 512 → 10; 64 → 256 →
256 → 10 in --quick) trained on a small subset (150 examples) memorises it; the
training loss goes to zero while the validation loss turns up. The same network with dropout (0.5), L2 weight
decay (``optax.add_decayed_weights(1e-2)`` before Adam, i.e. the gradient of
a penalty λ/2 ‖w‖² on every parameter) and early stopping keeps the validation loss
lower and the test accuracy higher. Figures: learning curves of both
classifiers, the CNN's confusion matrix, and train vs validation curves of the
overfitting network with and without regularisation.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def _classifier_losses(model):
    """(train loss with dropout on, eval loss with dropout off); both report accuracy."""
    import jax
    import jax.numpy as jnp

    from jaxphys.losses import softmax_cross_entropy

    def loss(params, batch, key, train):
        logits = model.apply({"params": params}, batch["x"], train=train,
                             rngs={"dropout": key} if train else None)
        xent = jnp.mean(jax.vmap(softmax_cross_entropy)(logits, batch["y"]))
        acc = jnp.mean((jnp.argmax(logits, -1) == batch["y"]).astype(jnp.float32))
        return xent, {"accuracy": acc}

    return (lambda p, b, k: loss(p, b, k, True)), (lambda p, b, k: loss(p, b, k, False))


def _train(key, model, optimizer, train, val, *, n_epochs, batch_size, patience, chunk=100,
           eval_every=None):
    """Fit ``model`` on ``train`` with validation on ``val`` and early stopping."""
    import jax

    from jaxphys.core import EarlyStopping, TrainState, fit, make_eval_step

    init_key, fit_key = jax.random.split(key)
    variables = jax.jit(model.init)(init_key, train["x"][:1])
    state = TrainState.from_variables(variables, optimizer)
    train_loss, eval_loss = _classifier_losses(model)
    stopper = None if patience is None else EarlyStopping("loss", patience=patience)
    return fit(fit_key, state, train, loss_fn=train_loss, n_epochs=n_epochs,
               batch_size=batch_size, val_data=val, eval_fn=make_eval_step(eval_loss),
               eval_every=eval_every, early_stopping=stopper, progress=False,
               chunk_size=chunk)


def _test_accuracy(model, params, x, y):
    import jax
    import numpy as np

    pred = np.argmax(np.asarray(jax.jit(model.apply)({"params": params}, x)), axis=-1)
    return pred, float(np.mean(pred == np.asarray(y)))


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import numpy as np
    import optax

    from jaxphys import metrics, plot
    from jaxphys.data import Standardizer, load_digits, train_val_test_split
    from jaxphys.nn import CNN, MLP

    split_key, mlp_key, cnn_key, subset_key, plain_key, reg_key = jax.random.split(key, 6)
    ds = load_digits()
    x, y = np.asarray(ds.x).reshape(-1, 64), np.asarray(ds.y)
    split = train_val_test_split(split_key, x.shape[0], fractions=(0.60, 0.15, 0.25),
                                 stratify=y)
    tr, va, te = (np.asarray(i) for i in split)
    scaler = Standardizer.fit(x[tr])
    z = np.asarray(scaler.transform(x))
    flat = {name: {"x": z[i], "y": y[i]} for name, i in (("train", tr), ("val", va),
                                                         ("test", te))}
    img = {name: {"x": d["x"].reshape(-1, 8, 8, 1), "y": d["y"]} for name, d in flat.items()}

    n_epochs = 12 if quick else 100
    patience = 4 if quick else 10
    adam = optax.adam(1e-3)
    per_epoch = tr.size // 64  # one jitted chunk per epoch (validation after each)

    # --- MLP and CNN with early stopping ---------------------------------------------------
    mlp = MLP(widths=(128, 10), dropout=0.1)
    mlp_fit = _train(mlp_key, mlp, adam, flat["train"], flat["val"], n_epochs=n_epochs,
                     batch_size=64, patience=patience, chunk=per_epoch)
    _, mlp_acc = _test_accuracy(mlp, mlp_fit.state.params, flat["test"]["x"], y[te])

    cnn = CNN(features=(32,), dense=(64,))
    cnn_fit = _train(cnn_key, cnn, adam, img["train"], img["val"], n_epochs=n_epochs,
                     batch_size=64, patience=patience, chunk=per_epoch)
    cnn_pred, cnn_acc = _test_accuracy(cnn, cnn_fit.state.params, img["test"]["x"], y[te])
    cm = np.asarray(metrics.confusion_matrix(y[te], cnn_pred, 10))

    figures = []
    for name, res in (("mlp", mlp_fit), ("cnn", cnn_fit)):
        for metric in ("loss", "accuracy"):
            path = out_dir / f"ch04_{name}_{metric}.png"
            plot.plot_loss_curves(res.history, metric=metric, best_step=res.best_step,
                                  log_y=metric == "loss", ylabel=metric,
                                  title=f"{name.upper()} on digits: {metric} "
                                        f"(early stopping, patience {patience})", path=path)
            figures.append(path)
    fig_cm = out_dir / "ch04_cnn_confusion_matrix.png"
    plot.plot_confusion_matrix(cm, [str(d) for d in range(10)],
                               title=f"CNN, digits test set (N = {te.size}), accuracy "
                                     f"{cnn_acc:.3f}", path=fig_cm)
    figures.append(fig_cm)

    # --- overfitting: a wide MLP on 150 examples, without and with regularisation ----------
    n_small = 150
    small = np.asarray(jax.random.permutation(subset_key, tr.size))[:n_small]
    small_train = {"x": flat["train"]["x"][small], "y": flat["train"]["y"][small]}
    overfit_steps, every = (300, 20) if quick else (2000, 25)
    wide = (256, 256, 10) if quick else (512, 512, 10)
    plain = MLP(widths=wide)
    plain_fit = _train(plain_key, plain, optax.adam(1e-3), small_train, flat["val"],
                       n_epochs=overfit_steps, batch_size=n_small, patience=None, chunk=every,
                       eval_every=every)
    regularized = MLP(widths=wide, dropout=0.5)
    l2 = 1e-2
    reg_opt = optax.chain(optax.add_decayed_weights(l2), optax.adam(1e-3))
    reg_fit = _train(reg_key, regularized, reg_opt, small_train, flat["val"],
                     n_epochs=overfit_steps, batch_size=n_small, patience=10, chunk=every,
                     eval_every=every)
    _, plain_acc = _test_accuracy(plain, plain_fit.state.params, flat["test"]["x"], y[te])
    _, reg_acc = _test_accuracy(regularized, reg_fit.state.params, flat["test"]["x"], y[te])
    for name, res, label in (("plain", plain_fit, "no regularisation"),
                             ("regularized", reg_fit,
                              f"dropout 0.5 + L2 {l2:g} + early stopping")):
        path = out_dir / f"ch04_overfit_{name}.png"
        plot.plot_loss_curves(res.history, log_y=True, xlabel="optimiser step (full batch)",
                              best_step=res.best_step if name == "regularized" else None,
                              title=f"wide MLP on {n_small} digits: {label}", path=path)
        figures.append(path)

    def final(res, key_):
        return float(res.history[key_][-1])

    plain_val_min = float(np.min(plain_fit.history["val_loss"]))
    result = {
        "mlp_test_accuracy": mlp_acc,
        "cnn_test_accuracy": cnn_acc,
        "mlp_best_step": float(mlp_fit.best_step),
        "cnn_best_step": float(cnn_fit.best_step),
        "overfit_plain_train_loss": final(plain_fit, "loss"),
        "overfit_plain_val_loss_final": final(plain_fit, "val_loss"),
        "overfit_plain_val_loss_min": plain_val_min,
        "overfit_plain_test_accuracy": plain_acc,
        "overfit_regularized_val_loss_best": float(np.min(reg_fit.history["val_loss"])),
        "overfit_regularized_test_accuracy": reg_acc,
        "n_test": float(te.size),
    }
    summary = (f"test accuracy MLP {mlp_acc:.3f}, CNN {cnn_acc:.3f} (N = {te.size}); wide MLP "
               f"on {n_small} examples: train loss {result['overfit_plain_train_loss']:.2g}, "
               f"val loss {plain_val_min:.3f} → {result['overfit_plain_val_loss_final']:.3f} "
               f"(overfits), test acc {plain_acc:.3f}; with dropout + L2 + early stopping val "
               f"loss {result['overfit_regularized_val_loss_best']:.3f}, test acc {reg_acc:.3f}")
    return ChapterResult(summary=summary, metrics=result, figures=figures)


CHAPTER = Chapter(number=4, name="digits",
                  title="MLP and CNN on handwritten digits; dropout, L2 and early stopping",
                  run=run)
