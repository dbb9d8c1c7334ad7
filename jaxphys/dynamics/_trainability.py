"""Trainability of deep random networks against the mean-field depth scale ``ξ_c``.

Schoenholz et al. (2017, "Deep information propagation") predicted that a network
initialised at ``(σ_w², σ_b²)`` trains only if its depth is below a few correlation
depth scales ``ξ_c`` (:func:`mean_field`); :func:`trainability` trains a grid of depths
and weight variances to check it.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys import _checks

from ._mean_field import _activation, _param, mean_field

__all__ = ["TrainabilityResult", "trainability"]


class TrainabilityResult(NamedTuple):
    """Training accuracy of deep random-initialised tanh networks over a (σ_w², depth) grid.

    Fields:
      sigma_w2: ``(S,)`` weight variances.
      depth: ``(D,)`` depths (hidden layers).
      accuracy: ``(S, D)`` final training accuracy (mean over the last 10 % of steps).
      loss: ``(S, D)`` final training loss.
      xi_c: ``(S,)`` mean-field correlation depth scale at each ``σ_w²``.

    Example (built by hand: :func:`trainability` trains every network, which takes
    seconds; ``xi_c`` is ``mean_field(jnp.array([1.5, 4.0]), 0.05).xi_c`` rounded, the
    accuracies are illustrative; reading it against Schoenholz et al.'s ``depth ≲ 6 ξ_c``):
        >>> import jax.numpy as jnp
        >>> from jaxphys.dynamics import TrainabilityResult
        >>> res = TrainabilityResult(sigma_w2=jnp.array([1.5, 4.0]), depth=jnp.array([10, 60]),
        ...                          accuracy=jnp.array([[1.0, 0.98], [1.0, 0.5]]),
        ...                          loss=jnp.array([[0.01, 0.05], [0.01, 0.69]]),
        ...                          xi_c=jnp.array([15.8, 7.0]))
        >>> (res.depth[None, :] <= 6 * res.xi_c[:, None]).tolist()    # predicted trainable
        [[True, True], [True, False]]
        >>> (res.accuracy > 0.9).tolist()                             # trained
        [[True, True], [True, False]]
    """

    sigma_w2: jax.Array
    depth: jax.Array
    accuracy: jax.Array
    loss: jax.Array
    xi_c: jax.Array


def trainability(key: jax.Array, x: Any, y: Any, sigma_w2: Any, sigma_b2: Any, depths: Any, *,
                 width: int = 64, n_steps: int = 300, batch_size: int = 128,
                 learning_rate: float = 1e-3, activation: str | Callable = "tanh",
                 optimizer: Any = None) -> TrainabilityResult:
    """Train deep ``activation`` networks from mean-field initialisation; accuracy vs depth.

    For each depth (one compilation each) the ``σ_w²`` values are trained at once
    under ``vmap``: ``depth`` hidden layers of ``width`` units initialised with
    ``W ~ N(0, σ_w²/n_in)``, ``b ~ N(0, σ_b²)``, a linear softmax read-out, trained
    on the softmax cross-entropy by minibatch Adam (``learning_rate``) or any
    ``optimizer``, each run :func:`jaxphys.core.run_steps` over ``make_train_step``.
    Schoenholz et al. (2017, "Deep information propagation") found the trainable region
    to be ``depth ≲ 6 ξ_c``.

    Args:
      key: PRNG key.
      x: ``(n, d)`` inputs (standardised); y: ``(n,)`` integer labels.
      sigma_w2: ``(S,)`` weight variances (traced); sigma_b2: ``()`` bias variance.
      depths: sequence of Python ints (hidden layers).
      width, n_steps, batch_size (at most ``n``), learning_rate, activation: the networks
        and their training.
      optimizer: an optax transformation instead of ``optax.adam(learning_rate)``.

    Returns:
      :class:`TrainabilityResult`.

    Example (a call trains and compiles one network per depth, seconds even for a tiny
    problem, so only the argument check runs here):
      >>> import jax, jax.numpy as jnp
      >>> from jaxphys.dynamics import trainability
      >>> x = jax.random.normal(jax.random.key(0), (8, 2))
      >>> y = (x[:, 0] > 0).astype(jnp.int32)                    # two classes
      >>> trainability(jax.random.key(1), x, y, jnp.array([1.0, 2.0]), 0.05, [2, 4],
      ...              batch_size=16)
      Traceback (most recent call last):
      ...
      ValueError: batch_size: must be at most the number of examples (8), got 16
    """
    import optax

    from jaxphys.core import TrainState, make_train_step, resolve_optimizer, run_steps

    _checks.check_key(key)
    x = _checks.as_array(x, "x", ndim=2, dtype=jnp.float32)
    _checks.check_finite(x, "x")
    y = _checks.as_array(y, "y", ndim=1)
    if _checks.is_concrete(y):
        labels = np.asarray(y)
        if not np.all(np.isfinite(labels) & (labels >= 0) & (labels == np.round(labels))):
            raise ValueError("y: expected integer class labels >= 0")
    y = y.astype(jnp.int32)
    _checks.check_same_length("x", x, "y", y)
    sw = _param(sigma_w2, "sigma_w2", strict=True)
    sw = jnp.atleast_1d(sw).astype(jnp.float32)
    sb = _param(sigma_b2, "sigma_b2", strict=False).astype(jnp.float32)
    depth_list = [_checks.as_int(d, "depths", minimum=1) for d in np.atleast_1d(depths)]
    n_steps = _checks.as_int(n_steps, "n_steps", minimum=1)
    batch_size = _checks.as_int(batch_size, "batch_size", minimum=1)
    width = _checks.as_int(width, "width", minimum=1)
    lr = _checks.as_array(learning_rate, "learning_rate", ndim=0)
    _checks.check_finite(lr, "learning_rate")
    _checks.check_positive(lr, "learning_rate")
    if batch_size > x.shape[0]:
        raise ValueError(f"batch_size: must be at most the number of examples "
                         f"({x.shape[0]}), got {batch_size}")
    phi = _activation(activation)
    n_classes = int(np.max(np.asarray(y))) + 1
    optimizer = (optax.adam(learning_rate) if optimizer is None
                 else resolve_optimizer(optimizer, "optimizer"))
    data = {"x": x, "y": y}

    def forward(p, xb):
        h = xb @ p["w_in"] + p["b"][0][None, :]

        def layer(h_, wb):
            w, b = wb
            return phi(h_) @ w + b[None, :], None

        h, _ = jax.lax.scan(layer, h, (p["w_h"], p["b"][1:]))
        return phi(h) @ p["w_out"] + p["b_out"][None, :]

    def loss_fn(p, batch, key):
        del key
        logits = forward(p, batch["x"])
        lp = jax.nn.log_softmax(logits)
        loss = -jnp.mean(jnp.take_along_axis(lp, batch["y"][:, None], axis=1))
        return loss, {"accuracy": jnp.mean(jnp.argmax(logits, -1) == batch["y"])}

    step = make_train_step(loss_fn, jit=False)

    def run(k, s2, depth):
        init_key, loop_key = jax.random.split(k)
        ik, hk, ok, bk = jax.random.split(init_key, 4)
        params = {"w_in": jax.random.normal(ik, (x.shape[1], width)) * jnp.sqrt(s2 / x.shape[1]),
                  "w_h": jax.random.normal(hk, (depth - 1, width, width)) * jnp.sqrt(s2 / width),
                  "b": jax.random.normal(bk, (depth, width)) * jnp.sqrt(sb),
                  "w_out": jax.random.normal(ok, (width, n_classes)) * jnp.sqrt(1.0 / width),
                  "b_out": jnp.zeros(n_classes)}
        _, metrics = run_steps(step, TrainState.create(params, optimizer), data, loop_key,
                               n_steps=n_steps, batch_size=batch_size)
        tail = max(1, n_steps // 10)
        return jnp.mean(metrics["accuracy"][-tail:]), jnp.mean(metrics["loss"][-tail:])

    keys = jax.random.split(key, len(depth_list))
    accs, losses = [], []
    for dk, depth in zip(keys, depth_list):
        run_d = jax.jit(jax.vmap(lambda k, s2: run(k, s2, depth)))
        a, lo = run_d(jax.random.split(dk, sw.shape[0]), sw)
        accs.append(a)
        losses.append(lo)
    xi_c = mean_field(sw, sb, activation).xi_c
    return TrainabilityResult(sw, jnp.asarray(depth_list), jnp.stack(accs, 1),
                              jnp.stack(losses, 1), xi_c)
