"""The one gradient step, and the one non-finite guard.

A loss is ``loss_fn(params, batch, key) -> (loss, aux)``: a scalar and a dict of
scalar diagnostics. When the :class:`~jaxphys.core.TrainState` carries a
``model_state`` (flax batch statistics), the first argument is the flax variables
dict ``{'params': params, **model_state}`` (gradients flow into ``'params'`` only)
and ``aux`` is a :class:`LossAux` holding the metrics and the updated model state.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import optax

from ._train_state import TrainState

LossFn = Callable[[Any, Any, jax.Array], tuple[jax.Array, Any]]
Step = Callable[[Any, Any, jax.Array], tuple[Any, dict]]


class LossAux(NamedTuple):
    """What a loss returns beside the scalar when the model has non-trainable state.

    Fields:
        metrics: dict of scalar diagnostics (as the plain ``aux`` dict).
        model_state: the updated non-trainable collections, e.g. the
            ``mutable=['batch_stats']`` output of a flax ``apply``.

    Example:
        >>> import flax.linen as nn, jax, jax.numpy as jnp, optax
        >>> class Net(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x, train):
        ...         return nn.Dense(1)(nn.BatchNorm(use_running_average=not train)(x))
        >>> net, x = Net(), jnp.arange(8.0).reshape(4, 2)
        >>> def loss_fn(variables, batch, key):
        ...     y, updates = net.apply(variables, batch, train=True, mutable=["batch_stats"])
        ...     return jnp.mean(y ** 2), LossAux({}, updates)
        >>> state = TrainState.from_variables(net.init(jax.random.key(0), x, False),
        ...                                   optax.sgd(0.1))
        >>> state, metrics = make_train_step(loss_fn)(state, x, jax.random.key(1))
        >>> [round(float(m), 2) for m in state.model_state["batch_stats"]["BatchNorm_0"]["mean"]]
        [0.03, 0.04]
    """

    metrics: dict
    model_state: Any


def _all_finite(tree: Any) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
              if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack(leaves))


def global_norm(tree: Any) -> jax.Array:
    """The L2 norm of all leaves of ``tree`` together, √Σ|x|² (0 for an empty tree)."""
    squares = [jnp.sum(jnp.square(jnp.abs(x))) for x in jax.tree.leaves(tree)]
    return jnp.sqrt(sum(squares)) if squares else jnp.zeros(())


def replace_fields(state: Any, **fields: Any) -> Any:
    """``state`` with ``fields`` replaced: a flax struct (``.replace``) or a NamedTuple."""
    if hasattr(state, "replace") and callable(state.replace):
        return state.replace(**fields)
    if hasattr(state, "_replace"):
        return state._replace(**fields)
    raise TypeError(f"state: expected a flax struct or NamedTuple with fields {sorted(fields)}, "
                    f"got {type(state).__name__}")


def check_step_counter(state: Any, who: str) -> None:
    """Raise unless ``state`` has an integer scalar ``step`` field."""
    counter = getattr(state, "step", None)
    if counter is None or jnp.ndim(counter) != 0 or not jnp.issubdtype(
            jnp.result_type(counter), jnp.integer):
        raise TypeError(f"state: {who} needs a state with an integer scalar `step` field (a "
                        f"jaxphys.core.TrainState, or a flax struct / NamedTuple with `step`), "
                        f"got {type(state).__name__}"
                        + ("" if counter is None else f" whose step is {jnp.result_type(counter)}"
                           f"{tuple(jnp.shape(counter))}"))


def skip_nonfinite(step: Step) -> Step:
    """Wrap any step so that a non-finite result leaves the state untouched.

    The wrapped step runs ``step``; if any floating-point leaf of the new state
    or any floating-point scalar metric is NaN or ±inf, it returns the *old*
    state (params, optimiser state, model state, everything) with only
    ``step`` advanced by one and ``n_skipped`` (when the state has that field)
    advanced by one. ``metrics['skipped']`` is 1 for a skipped step, 0 otherwise.
    This is the library's one non-finite guard: :func:`make_train_step` applies
    it by default, a custom step (a GAN's two players) wraps itself.

    Args:
        step: ``step(state, batch, key) -> (state, metrics)``; the state needs an
            integer scalar ``step`` field.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> raw = make_train_step(lambda p, b, k: (jnp.sum((p - b) ** 2), {}),
        ...                       guard_nonfinite=False, jit=False)
        >>> step = skip_nonfinite(raw)
        >>> state = TrainState.create(jnp.ones(2), optax.sgd(0.1))
        >>> new, metrics = step(state, jnp.array([0.0, jnp.nan]), jax.random.key(0))
        >>> int(metrics["skipped"]), int(new.step), new.params.tolist()
        (1, 1, [1.0, 1.0])
    """
    if not callable(step):
        raise TypeError(f"step: expected a callable step(state, batch, key), got "
                        f"{type(step).__name__}")

    def guarded(state: Any, batch: Any, key: jax.Array) -> tuple[Any, dict]:
        check_step_counter(state, "skip_nonfinite")
        new_state, metrics = step(state, batch, key)
        if not isinstance(metrics, dict):
            raise TypeError(f"step: must return (state, metrics_dict), metrics was "
                            f"{type(metrics).__name__}")
        scalar_metrics = [m for m in metrics.values() if jnp.ndim(m) == 0]
        ok = _all_finite(new_state) & _all_finite(scalar_metrics)
        kept = jax.tree.map(lambda new, old: jnp.where(ok, new, old), new_state, state)
        fields = {"step": new_state.step}
        if hasattr(state, "n_skipped"):
            fields["n_skipped"] = state.n_skipped + (~ok).astype(state.n_skipped.dtype)
        kept = replace_fields(kept, **fields)
        return kept, {**metrics, "skipped": (~ok).astype(jnp.int32)}

    guarded.__wrapped__ = step  # type: ignore[attr-defined]
    return guarded


def _check_state(state: Any, optimizer: Any) -> None:
    if not isinstance(state, TrainState):
        raise TypeError("state: a step from make_train_step needs a jaxphys.core.TrainState "
                        f"(params, opt_state, model_state, tx), got {type(state).__name__}")
    if optimizer is not None and state.tx is not optimizer and state.tx != optimizer:
        raise ValueError("optimizer: make_train_step was given one optimiser and the state "
                         "carries another (state.tx). The optimiser travels in the state: "
                         "build the step without it, make_train_step(loss_fn), or create the "
                         "state with the same transformation object.")


def _has_model_state(state: TrainState) -> bool:
    return bool(jax.tree.leaves(state.model_state))


def _split_aux(aux: Any, stateful: bool, model_state: Any) -> tuple[dict, Any]:
    if isinstance(aux, LossAux):
        if not isinstance(aux.metrics, dict):
            raise TypeError(f"loss_fn: LossAux.metrics must be a dict, got "
                            f"{type(aux.metrics).__name__}")
        if not stateful and jax.tree.leaves(aux.model_state):
            raise ValueError("loss_fn: returned a LossAux with a model_state, but the TrainState "
                             "has none; create it with TrainState.from_variables")
        new = aux.model_state if stateful else model_state
        if stateful:
            # flax returns only the mutated collections: keep the others
            new = {**dict(model_state), **dict(new)}
        return dict(aux.metrics), new
    if isinstance(aux, dict):
        if stateful:
            raise TypeError("loss_fn: the TrainState carries a model_state "
                            f"({sorted(dict(model_state))}), so the loss receives the flax "
                            "variables and must return (loss, LossAux(metrics, model_state)); "
                            "it returned a plain dict")
        return dict(aux), model_state
    raise TypeError("loss_fn: must return (scalar_loss, aux) with aux a dict of metrics "
                    f"(or a LossAux); aux was {type(aux).__name__}")


def evaluate_loss(loss_fn: LossFn, params: Any, batch: Any, key: jax.Array,
                  model_state: Any) -> tuple[jax.Array, tuple[dict, Any]]:
    """Call ``loss_fn`` as the contract says; return ``(loss, (metrics, new_model_state))``."""
    stateful = bool(jax.tree.leaves(model_state))
    if stateful:
        variables = {"params": params, **jax.lax.stop_gradient(dict(model_state))}
        out = loss_fn(variables, batch, key)
    else:
        out = loss_fn(params, batch, key)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError("loss_fn: must return a pair (scalar_loss, aux), got "
                        f"{type(out).__name__}")
    loss, aux = out
    if jnp.ndim(loss) != 0:
        raise ValueError(f"loss_fn: the loss must be a scalar, got shape {jnp.shape(loss)}")
    return loss, _split_aux(aux, stateful, model_state)


def _stored_value_and_grad(opt_state: Any, params: Any) -> tuple[Any, Any] | None:
    """The value and gradient a line-search optimiser (``optax.lbfgs``) stored for the
    current parameters, as pytrees like ``params``; None if it stores none."""
    import optax.tree_utils as otu

    value, grad = otu.tree_get(opt_state, "value"), otu.tree_get(opt_state, "grad")
    if value is None or grad is None:
        return None
    if jax.tree.structure(grad) != jax.tree.structure(params):
        flat, unravel = jax.flatten_util.ravel_pytree(params)
        if jnp.shape(grad) != flat.shape:
            return None
        grad = unravel(grad)
    return value, grad


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation | None = None, *,
                    guard_nonfinite: bool = True, deterministic_loss: bool = False,
                    jit: bool = True, donate: bool = True) -> Step:
    """Build ``step(state, batch, key) -> (state, metrics)``, the library's one gradient step.

    One step computes ``(loss, aux), g = value_and_grad(loss_fn)(params, batch, key)`` and
    applies ``state.tx``: ``updates, opt_state = tx.update(g, opt_state, params)``,
    ``params ← params + updates``. An optimiser that takes extra arguments
    (``optax.lbfgs`` and its line search) also receives ``value=loss``, ``grad=g`` and
    ``value_fn = params ↦ loss_fn(params, batch, key)[0]``, so L-BFGS runs through this
    step too. Gradient clipping is an optax stage in the optimiser
    (``optax.chain(optax.clip_by_global_norm(c), optax.adam(lr))``); the non-finite
    guard is :func:`skip_nonfinite`, applied when ``guard_nonfinite``.

    Args:
        loss_fn: ``loss_fn(params, batch, key) -> (scalar, aux_dict)``; with a model
            state, ``loss_fn(variables, batch, key) -> (scalar, LossAux)`` (module doc).
        optimizer: optional; the optimiser travels in the state (``state.tx``). Given
            here as well, it must be that same transformation, or the step raises.
        guard_nonfinite: wrap in :func:`skip_nonfinite` (default True).
        deterministic_loss: declare that the loss depends on the parameters alone (one
            fixed full batch, no use of the key): an optimiser that stores the value and
            gradient at its new parameters (``optax.lbfgs``'s line search) then has them
            reused instead of recomputed, saving one gradient evaluation per step. Only
            the loss's metrics, if any, are computed again (a forward pass).
        jit: return a jitted step (default); ``False`` returns the pure function, for
            use inside ``lax.scan``, :func:`run_steps` or a sharded ``jax.jit``.
        donate: donate the input state's buffers to the output (jit only).

    Returns:
        ``step``. Its metrics: ``loss``, ``grad_norm`` (global L2 norm of the gradient
        as computed, before any clipping stage), ``skipped`` (int32 0/1, with the guard)
        and the loss's own metrics.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> def loss_fn(params, batch, key):
        ...     return jnp.mean((params["w"] * batch["x"] - batch["y"]) ** 2), {}
        >>> state = TrainState.create({"w": jnp.zeros(())}, optax.sgd(0.1))
        >>> step = make_train_step(loss_fn)
        >>> batch = {"x": jnp.arange(4.0), "y": 3.0 * jnp.arange(4.0)}
        >>> for i in range(50):
        ...     state, metrics = step(state, batch, jax.random.key(i))
        >>> round(float(state.params["w"]), 4)
        3.0
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    if optimizer is not None and not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError("optimizer: expected None (use state.tx) or the optax "
                        f"GradientTransformation the state carries, got {type(optimizer).__name__}")

    def step(state: TrainState, batch: Any, key: jax.Array) -> tuple[TrainState, dict]:
        _check_state(state, optimizer)
        tx = state.tx

        def objective(params):
            return evaluate_loss(loss_fn, params, batch, key, state.model_state)

        stored = (_stored_value_and_grad(state.opt_state, state.params)
                  if deterministic_loss and not _has_model_state(state) else None)
        if stored is None:
            (loss, (aux, new_model_state)), grads = jax.value_and_grad(
                objective, has_aux=True)(state.params)
        else:
            stored_value, stored_grad = stored
            loss_shape, (aux_shape, _) = jax.eval_shape(objective, state.params)

            def fresh():
                (value, (metrics, _)), g = jax.value_and_grad(objective, has_aux=True)(
                    state.params)
                return value, g

            reuse = jnp.isfinite(stored_value)
            loss, grads = jax.lax.cond(
                reuse, lambda: (jnp.asarray(stored_value, loss_shape.dtype), stored_grad), fresh)
            aux = objective(state.params)[1][0] if aux_shape else {}
            new_model_state = state.model_state
        if isinstance(tx, optax.GradientTransformationExtraArgs):
            updates, new_opt_state = tx.update(
                grads, state.opt_state, state.params, value=loss, grad=grads,
                value_fn=lambda p: objective(p)[0])
        else:
            updates, new_opt_state = tx.update(grads, state.opt_state, state.params)
        new_state = state.replace(step=state.step + 1,
                                  params=optax.apply_updates(state.params, updates),
                                  opt_state=new_opt_state, model_state=new_model_state)
        return new_state, {"loss": loss, "grad_norm": global_norm(grads), **aux}

    fn = skip_nonfinite(step) if guard_nonfinite else step
    if not jit:
        return fn
    return jax.jit(fn, donate_argnums=(0,) if donate else ())


def make_eval_step(loss_fn: LossFn, *, jit: bool = True) -> Callable[..., dict]:
    """Build ``eval_step(state, batch, key) -> metrics`` (no gradient, no update).

    ``metrics`` is ``{'loss': loss, **aux}``. The first argument is a
    :class:`TrainState`; with a model state the loss receives the variables as in
    training and the model state it returns is dropped.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> ev = make_eval_step(lambda p, b, k: (jnp.sum((p - b) ** 2), {}))
        >>> state = TrainState.create(jnp.ones(2), optax.sgd(0.1))
        >>> float(ev(state, jnp.zeros(2), jax.random.key(0))["loss"])
        2.0
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")

    def eval_step(state: TrainState, batch: Any, key: jax.Array) -> dict:
        _check_state(state, None)
        loss, (aux, _) = evaluate_loss(loss_fn, state.params, batch, key, state.model_state)
        return {"loss": loss, **aux}

    return jax.jit(eval_step) if jit else eval_step


_CACHE: dict = {}


def _make(kind: str, loss_fn: LossFn) -> Callable:
    if kind == "train":
        return make_train_step(loss_fn, jit=False)
    if kind == "lbfgs":
        return make_train_step(loss_fn, deterministic_loss=True, jit=False)
    return make_eval_step(loss_fn)


def cached_step(kind: str, loss_fn: LossFn) -> Callable:
    """``make_train_step(loss_fn, jit=False)`` (``kind='train'``), the same with
    ``deterministic_loss=True`` (``kind='lbfgs'``) or ``make_eval_step(loss_fn)``
    (``kind='eval'``), one per loss function, so that the
    trainers' repeated calls with the same loss reuse the compiled loop."""
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable, got {type(loss_fn).__name__}")
    try:
        return _CACHE[(kind, loss_fn)]
    except KeyError:
        pass
    except TypeError:          # an unhashable callable: no caching
        return _make(kind, loss_fn)
    fn = _make(kind, loss_fn)
    if len(_CACHE) >= 128:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[(kind, loss_fn)] = fn
    return fn
