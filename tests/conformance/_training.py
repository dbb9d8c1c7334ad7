"""What a training-conformance case is.

A case builds a tiny problem from a trainer's *public* pieces: the step the trainer
hands to :func:`jaxphys.core.fit` / :func:`jaxphys.core.run_steps`, a fresh state and the
data. The high-level trainer (``train_vae``, ``fit_flow``, ``train_gan`` …) must be built
on exactly these pieces; ``trainer`` runs it for two steps so the table checks that it
returns a :class:`jaxphys.core.FitResult`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple


class TrainerCase(NamedTuple):
    """One row of the training conformance table.

    Fields:
        name: the public trainer it stands for (``'generative.train_vae'``).
        make: ``make(key) -> (step, state, data)``: ``step`` unjitted (``jit=False``)
            with the non-finite guard, ``state`` with an integer ``step`` field, ``data``
            a pytree with a leading example axis; the key seeds the initialisation.
        poison: ``poison(data) -> data`` with a NaN (or inf) in the first example, so that
            a step on it is non-finite (for a minibatch row the table poisons every pair
            of examples with it: ``data`` then needs an even number of examples).
        batch_size: the minibatch size the table uses (None: full batch).
        trainer: optional ``trainer(key, **fit_kwargs) -> FitResult``: the public high-level
            function on the same problem, called with ``n_steps=2, progress=False``.
        atol: tolerance for "the state moved" checks (0 means any change).
    """

    name: str
    make: Callable[[Any], tuple[Callable, Any, Any]]
    poison: Callable[[Any], Any]
    batch_size: int | None = None
    trainer: Callable[..., Any] | None = None
