"""The model convention: a pair of pure functions ``init`` and ``apply``."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple


class Model(NamedTuple):
    """A model as a pair of pure functions.

    Fields:
        init: ``init(key, example_input) -> params``, params any pytree.
        apply: ``apply(params, x, **kw) -> y``.

    A ``flax.linen.Module`` already has this shape (its ``init`` returns the
    variables dict ``{'params': ..., 'batch_stats': ...}``) and can be used
    directly wherever a model is expected; :func:`as_model` wraps either.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> line = Model(init=lambda key, x: {"w": jnp.zeros(()), "b": jnp.zeros(())},
        ...              apply=lambda p, x: p["w"] * x + p["b"])
        >>> params = line.init(jax.random.key(0), jnp.zeros(3))
        >>> line.apply({"w": 2.0, "b": 1.0}, jnp.arange(3.0))
        Array([1., 3., 5.], dtype=float32)
    """

    init: Callable[..., Any]
    apply: Callable[..., Any]


def as_model(model: Any) -> Model:
    """Return ``model`` as a :class:`Model`.

    Accepts a :class:`Model`, a ``flax.linen.Module`` (its bound ``init`` and
    ``apply``), or any object with callable ``init`` and ``apply`` attributes.

    Raises:
        TypeError: if ``model`` has no callable ``init`` and ``apply``.

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.core import as_model
        >>> class Line:                       # any object with init and apply
        ...     def init(self, key, x):
        ...         return {"a": 2.0}
        ...     def apply(self, params, x):
        ...         return params["a"] * x
        >>> m = as_model(Line())
        >>> type(m).__name__, m.apply(m.init(None, None), jnp.array([1.0, 3.0])).tolist()
        ('Model', [2.0, 6.0])
        >>> as_model(42)
        Traceback (most recent call last):
        ...
        TypeError: model: expected a jaxphys.core.Model or an object with callable ... got int
    """
    if isinstance(model, Model):
        return model
    init = getattr(model, "init", None)
    apply = getattr(model, "apply", None)
    if not (callable(init) and callable(apply)):
        raise TypeError("model: expected a jaxphys.core.Model or an object with callable "
                        f"init(key, x) and apply(params, x), got {type(model).__name__}")
    return Model(init=init, apply=apply)


def split_variables(variables: Any) -> tuple[Any, dict]:
    """Split a flax variables dict into ``(params, model_state)``.

    ``params`` is ``variables['params']``; ``model_state`` holds every other
    collection (``batch_stats`` and the like), ``{}`` if there is none. A pytree
    without a ``'params'`` entry is returned whole as params.

    Example:
        >>> params, state = split_variables({"params": {"w": 1.0}, "batch_stats": {"m": 0.0}})
        >>> params, state
        ({'w': 1.0}, {'batch_stats': {'m': 0.0}})
    """
    if isinstance(variables, dict) or hasattr(variables, "keys"):
        if "params" in variables:
            rest = {k: v for k, v in variables.items() if k != "params"}
            return variables["params"], rest
    return variables, {}
