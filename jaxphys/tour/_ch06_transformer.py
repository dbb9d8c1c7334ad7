"""Chapter 6: a small transformer learns multi-digit addition and generates answers.

Problems ``a+b=s`` with two-digit operands, written at fixed width (``"07+45=052"``,
``jaxphys.data.addition_problems``), are split into disjoint train and test sets
(no pair (a, b) in both). A decoder-only causal transformer
(``CausalLM``: token embedding, learned positions, two pre-norm blocks with four
heads) is trained with ``jaxphys.core.fit`` on the cross-entropy of the answer
digits only, given the prompt ``a+b=``. The test score is the exact-match
accuracy of greedy generation (``generate``, jitted ``lax.scan`` with a
key-value cache) from the test prompts: the whole three-digit answer must be
right. During training the same quantity is tracked on the test set with
teacher forcing (the argmax of every answer position is right; with greedy
decoding that is the same event). The figure shows the loss and the
exact-match curve, and the attention of the last layer's heads while the model
writes the answer: the answer digits attend to the operand digits they need.
"""

from __future__ import annotations

from pathlib import Path

from ._runner import Chapter, ChapterResult


def run(key, out_dir: Path, quick: bool) -> ChapterResult:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    from jaxphys.core import TrainState, fit
    from jaxphys.data import addition_problems, decode_addition
    from jaxphys.nn import CausalLM, generate
    from jaxphys.plot import new_figure, save_figure

    n_train, n_test, n_steps = (6000, 1000, 300) if quick else (8000, 2000, 1500)
    data_key, init_key, fit_key, gen_key, sample_key = jax.random.split(key, 5)
    task = addition_problems(data_key, n_digits=2, n_train=n_train, n_test=n_test)
    length, start = task.train.shape[1], task.prompt_length
    lm = CausalLM(vocab_size=len(task.vocab), max_len=length, d_model=64, num_heads=4,
                  num_layers=2)

    def loss_fn(params, batch, key):
        del key
        logits = lm.apply({"params": params}, batch["tokens"][:, :-1])[:, start - 1:]
        target = batch["tokens"][:, start:]
        logp = jax.nn.log_softmax(logits)
        nll = -jnp.mean(jnp.take_along_axis(logp, target[..., None], -1))
        exact = jnp.mean(jnp.all(jnp.argmax(logits, -1) == target, axis=-1))
        return nll, {"exact_match": exact}

    schedule = optax.warmup_cosine_decay_schedule(0.0, 3e-3, 50, n_steps, 1.5e-4)
    opt = optax.adamw(schedule, weight_decay=0.01)
    params = lm.init(init_key, task.train[:1])["params"]
    res = fit(fit_key, TrainState.create(params, opt), {"tokens": task.train}, loss_fn=loss_fn,
              n_steps=n_steps, batch_size=128, val_data={"tokens": task.test},
              eval_every=max(n_steps // 10, 1), progress=False, desc="ch06 transformer")
    variables = {"params": res.state.params}

    prompts = task.test[:, :start]
    out = generate(gen_key, lm, variables, prompts, length - start, temperature=0.0)
    answers = np.array([int(s.split("=")[1]) for s in decode_addition(out)])
    truth = task.test_operands.sum(axis=1)
    exact = float(np.mean(answers == truth))
    digit_acc = float(np.mean(np.asarray(out[:, start:]) == np.asarray(task.test[:, start:])))
    # Same shapes as above: the jitted generation is reused (temperature, top_k are traced).
    sampled = generate(sample_key, lm, variables, prompts, length - start,
                       temperature=1.0, top_k=3)
    sampled_exact = float(np.mean(np.all(np.asarray(sampled) == np.asarray(task.test),
                                         axis=1)))
    shown = [f"{s}{' ✓' if a == t_ else ' ✗'}" for s, a, t_ in
             zip(decode_addition(out[:4]), answers[:4], truth[:4])]

    # Attention of the last block while the answer is written, for one test problem.
    _, inter = jax.jit(lambda v, t: lm.apply(v, t, mutable=["intermediates"]))(
        variables, task.test[:1, :-1])
    last = f"block_{lm.num_layers - 1}"
    weights = np.asarray(inter["intermediates"][last]["attention"]["attention_weights"][0][0])
    labels = list(decode_addition(task.test[0, :-1]))

    fig_path = out_dir / "ch06_transformer.png"
    fig = new_figure(figsize=(10.0, 6.4))
    grid = fig.add_gridspec(2, lm.num_heads)
    ax_loss = fig.add_subplot(grid[0, : lm.num_heads // 2])
    ax_loss.plot(res.history["step"], res.history["loss"], color="C0", label="train")
    ax_loss.plot(res.history["val_step"], res.history["val_loss"], "o-", ms=3, color="C1",
                 label="test")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("optimiser step")
    ax_loss.set_ylabel("cross-entropy of the answer")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend()
    ax_acc = fig.add_subplot(grid[0, lm.num_heads // 2:])
    ax_acc.plot(res.history["step"], res.history["exact_match"], color="C0", label="train")
    ax_acc.plot(res.history["val_step"], res.history["val_exact_match"], "o-", ms=3,
                color="C1", label="test")
    ax_acc.axhline(0.95, color="0.4", ls=":", lw=1, label="95 %")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.set_xlabel("optimiser step")
    ax_acc.set_ylabel("exact match")
    ax_acc.set_title(f"greedy generation on the test set: {exact:.1%}")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(loc="lower right")
    for h in range(lm.num_heads):
        ax = fig.add_subplot(grid[1, h])
        ax.imshow(weights[h, start - 1:], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_yticks(range(len(labels) - start + 1),
                      [f"→{c}" for c in decode_addition(task.test[0, start:])])
        ax.set_title(f"last layer, head {h}", fontsize=9)
        if h == 0:
            ax.set_ylabel("predicting")
    save_figure(fig, fig_path)

    metrics = {"test_exact_match": exact, "test_digit_accuracy": digit_acc,
               "test_exact_match_sampled_t1_top3": sampled_exact,
               "final_val_loss": float(res.history["val_loss"][-1]),
               "n_train": float(n_train), "n_test": float(n_test), "n_steps": float(n_steps)}
    summary = (f"2-digit addition, held-out exact match {exact:.1%} (digits {digit_acc:.1%}; "
               f"sampled at T=1, top-3: {sampled_exact:.1%}); generations: "
               + ", ".join(shown))
    return ChapterResult(summary=summary, metrics=metrics, figures=[fig_path])


CHAPTER = Chapter(number=6, name="transformer", title="A small transformer learns addition and "
                  "generates answers", run=run)
