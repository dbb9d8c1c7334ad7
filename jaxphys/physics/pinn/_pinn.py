r"""Physics-informed neural networks: the problem, the networks, the loss.

A PINN represents a field ``u(z)`` on coordinates ``z = (x, t, ...)`` by a network
and minimises

    L(θ) = w_r · mean_i r(z_i)²  +  Σ_c w_c · mean_j (D_c u(z_cj) − g_cj)²,

where ``r`` is the PDE residual at collocation points ``z_i`` (built by
:func:`make_pde_residual` from a per-point ``residual_fn``) and each condition
``c`` (initial, boundary, observations) asks a derivative ``D_c u`` (often ``u``
itself) to take values ``g_cj`` at its points (Raissi, Perdikaris and Karniadakis
2019, "Physics-informed neural networks", J. Comput. Phys. 378, 686).

Units follow the problem's; nothing here assumes any.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, check_key

from ._derivatives import _check_coords, derivative_at, make_pde_residual

__all__ = ["Condition", "PINNProblem", "PINNNet", "PINNField", "pinn_loss", "relative_l2"]


# --------------------------------------------------------------------------- problem, network

class Condition(NamedTuple):
    """A data term ``mean_j (D u(points_j) − values_j)²`` of the PINN loss.

    Fields:
      name: label in the loss's aux dict (``"cond_<name>"``).
      points: ``(n, n_coords)`` coordinates.
      values: ``(n,)`` target values of the derivative.
      derivative: which derivative (``"u"``, ``"u_t"``, …) is constrained.
      weight: its loss weight (float; traced, part of the batch).

    Example:
      >>> import numpy as np
      >>> from jaxphys.physics.pinn import Condition
      >>> x0 = np.linspace(0.0, 1.0, 5)
      >>> ic = Condition("initial", np.stack([x0, 0 * x0], 1), np.sin(np.pi * x0))  # u(x, 0)
      >>> ic.derivative, ic.weight, ic.points.shape      # the value u itself, weight 1
      ('u', 1.0, (5, 2))
      >>> Condition("v0", np.zeros((1, 1)), np.array([0.0]), "u_t").derivative   # u'(0) = 0
      'u_t'
    """

    name: str
    points: Any
    values: Any
    derivative: str = "u"
    weight: float = 1.0


class PINNProblem(NamedTuple):
    """A PDE problem for :func:`train_pinn`.

    Fields:
      residual_fn: ``residual_fn(d, z, coeffs)``, see :func:`make_pde_residual`.
      coords: one-letter coordinate names, e.g. ``("x", "t")``.
      lo, hi: tuples, the domain box the collocation points fill.
      conditions: tuple of :class:`Condition` (initial, boundary, observed data).
      coeffs: dict of fixed PDE coefficients (scalars; traced, part of the batch).
      residual_weight: weight ``w_r`` of the residual term.

    Example (heat, ``u_t = κ u_xx`` on the unit box, with its initial condition):
      >>> import numpy as np
      >>> from jaxphys.physics.pinn import Condition, PINNProblem, heat_residual
      >>> x0 = np.linspace(0.0, 1.0, 5)
      >>> ic = Condition("initial", np.stack([x0, 0 * x0], 1), np.sin(np.pi * x0))
      >>> problem = PINNProblem(heat_residual, ("x", "t"), (0.0, 0.0), (1.0, 1.0), (ic,),
      ...                       {"kappa": 0.1})
      >>> batch = problem.batch(np.array([[0.5, 0.5], [0.25, 0.75]]))   # 2 collocation points
      >>> batch["collocation"].shape, batch["conditions"]["initial"]["values"].shape
      ((2, 2), (5,))
      >>> round(float(batch["coeffs"]["kappa"]), 4)
      0.1
    """

    residual_fn: Callable
    coords: tuple
    lo: tuple
    hi: tuple
    conditions: tuple = ()
    coeffs: dict = {}
    residual_weight: float = 1.0

    def batch(self, collocation: Any) -> dict:
        """The loss batch: ``{"collocation": (n, d), "coeffs", "weights", "conditions"}``."""
        dtype = jnp.result_type(float)
        collocation = as_array(collocation, "collocation", ndim=2).astype(dtype)
        if collocation.shape[1] != len(self.coords):
            raise ValueError(f"collocation: expected shape (n, {len(self.coords)}), got "
                             f"{tuple(collocation.shape)}")
        conds = {}
        for c in self.conditions:
            pts = as_array(c.points, f"conditions[{c.name}].points", ndim=2).astype(dtype)
            vals = as_array(c.values, f"conditions[{c.name}].values", ndim=1).astype(dtype)
            if pts.shape != (vals.shape[0], len(self.coords)):
                raise ValueError(f"conditions[{c.name}].points: expected shape "
                                 f"({vals.shape[0]}, {len(self.coords)}), got {tuple(pts.shape)}")
            conds[c.name] = {"points": pts, "values": vals,
                             "weight": jnp.asarray(c.weight, dtype)}
        return {"collocation": collocation,
                "coeffs": {k: jnp.asarray(v, dtype) for k, v in self.coeffs.items()},
                "residual_weight": jnp.asarray(self.residual_weight, dtype),
                "conditions": conds}

    def dataset(self, collocation: Any) -> dict:
        """:meth:`batch` as a data set of one example, the full batch: every array gets a
        leading axis of length 1. This is what :func:`jaxphys.core.run_steps` and
        :func:`jaxphys.core.fit` take (full batch, ``batch_size=None``); :func:`pinn_loss`
        accepts either form."""
        return jax.tree.map(lambda a: a[None], self.batch(collocation))


class PINNNet(NamedTuple):
    """A tanh MLP field ``u(z)`` with inputs rescaled from the box ``[lo, hi]`` to ``[-1, 1]``
    and an optional hard-constraint output transform.

    ``init(key, z=None)`` → params ``[{"w": (a, b), "b": (b,)}, …]`` (Glorot-normal
    weights, zero biases); ``apply(params, z)``: ``z`` ``(..., d)`` → ``(...,)``;
    ``field(params, z)`` is the per-point scalar for :func:`make_pde_residual`.

    Fields:
      widths: hidden widths, e.g. ``(20, 20, 20)`` (the output width is 1).
      lo, hi: the coordinate box (tuples of ``d`` floats).
      transform: ``None`` or ``transform(z, n) -> u`` mapping the raw network output
        ``n`` at point ``z`` to the field, e.g. ``-sin(πx) + t(1-x²) n`` builds the
        Burgers initial and boundary conditions into the network.

    Example:
      >>> import jax, jax.numpy as jnp
      >>> net = PINNNet((8, 8), (-1.0, 0.0), (1.0, 1.0))
      >>> p = net.init(jax.random.key(0))
      >>> net.apply(p, jnp.zeros((5, 2))).shape
      (5,)
    """

    widths: tuple
    lo: tuple
    hi: tuple
    transform: Callable | None = None

    def init(self, key: jax.Array, z: Any = None) -> list[dict]:
        check_key(key)
        dims = (len(self.lo), *self.widths, 1)
        dtype = jnp.result_type(float)
        params = []
        for layer_key, a, b in zip(jax.random.split(key, len(dims) - 1), dims[:-1], dims[1:]):
            std = np.sqrt(2.0 / (a + b))
            params.append({"w": std * jax.random.normal(layer_key, (a, b), dtype),
                           "b": jnp.zeros((b,), dtype)})
        return params

    def field(self, params: list[dict], z: jax.Array) -> jax.Array:
        h = _to_unit_box(z, self.lo, self.hi)
        for layer in params[:-1]:
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        n = (h @ params[-1]["w"] + params[-1]["b"])[0]
        return n if self.transform is None else self.transform(z, n)

    def apply(self, params: list[dict], z: Any) -> jax.Array:
        return _apply_field(self.field, len(self.lo), params, z)


def _to_unit_box(z: jax.Array, lo: tuple, hi: tuple) -> jax.Array:
    lo_, hi_ = jnp.asarray(lo, z.dtype), jnp.asarray(hi, z.dtype)
    return 2.0 * (z - lo_) / (hi_ - lo_) - 1.0


def _apply_field(field: Callable, n_coords: int, params: Any, z: Any) -> jax.Array:
    z = jnp.asarray(z)
    if z.ndim < 1 or z.shape[-1] != n_coords:
        raise ValueError(f"z: expected shape (..., {n_coords}), got {tuple(z.shape)}")
    flat = z.reshape((-1, z.shape[-1]))
    return jax.vmap(field, (None, 0))(params, flat).reshape(z.shape[:-1])


class PINNField(NamedTuple):
    """The user's network as a PINN field: :class:`PINNNet` with any model in place of its
    tanh MLP.

    ``model`` is a ``flax.linen`` module or a :class:`jaxphys.core.Model`; it receives one
    point at a time as a ``(1, d)`` batch of coordinates rescaled from the box
    ``[lo, hi]`` to ``[-1, 1]`` and returns one number (shape ``(1,)`` or ``(1, 1)``),
    the raw output ``n`` that ``transform`` (if any) turns into the field.
    ``init(key, z=None)`` → the model's variables (a stateless model: a flax module
    with batch statistics is refused); ``field`` and ``apply`` as :class:`PINNNet`'s.

    Fields:
      model: the network (flax module or ``jaxphys.core.Model``).
      lo, hi: the coordinate box (tuples of ``d`` floats).
      transform: ``None`` or ``transform(z, n) -> u`` (see :class:`PINNNet`).

    Example:
      >>> import jax, jax.numpy as jnp
      >>> from jaxphys.nn import MLP
      >>> net = PINNField(MLP(widths=(8, 1), activation="tanh"), (-1.0, 0.0), (1.0, 1.0))
      >>> variables = net.init(jax.random.key(0))
      >>> net.apply(variables, jnp.zeros((5, 2))).shape
      (5,)
    """

    model: Any
    lo: tuple
    hi: tuple
    transform: Callable | None = None

    def init(self, key: jax.Array, z: Any = None) -> Any:
        from jaxphys.core import as_model, split_variables

        check_key(key)
        model = as_model(self.model)
        example = jnp.zeros((1, len(self.lo)), jnp.result_type(float))
        variables = model.init(key, example)
        _, model_state = split_variables(variables)
        if jax.tree.leaves(model_state):
            raise ValueError(f"model: a PINN field needs a stateless model; its variables hold "
                             f"the collections {sorted(model_state)} beside 'params'")
        out = jax.eval_shape(model.apply, variables, example)
        if int(np.prod(out.shape)) != 1:
            raise ValueError(f"model: expected one output per point, shape (1,) or (1, 1) for a "
                             f"(1, {len(self.lo)}) input, got {tuple(out.shape)}")
        return variables

    def field(self, params: Any, z: jax.Array) -> jax.Array:
        from jaxphys.core import as_model

        out = as_model(self.model).apply(params, _to_unit_box(z, self.lo, self.hi)[None])
        if int(np.prod(jnp.shape(out))) != 1:
            raise ValueError(f"model: expected one output per point, got shape {jnp.shape(out)}")
        n = jnp.reshape(out, ())
        return n if self.transform is None else self.transform(z, n)

    def apply(self, params: Any, z: Any) -> jax.Array:
        return _apply_field(self.field, len(self.lo), params, z)


def _one_batch(batch: dict) -> dict:
    """A :meth:`PINNProblem.batch`, also from its one-example data set form."""
    colloc = batch["collocation"]
    if jnp.ndim(colloc) == 3:
        if jnp.shape(colloc)[0] != 1:
            raise ValueError("batch: a PINN data set holds one full batch (leading axis of "
                             "length 1, from PINNProblem.dataset), got a leading axis of "
                             f"{jnp.shape(colloc)[0]}")
        return jax.tree.map(lambda a: a[0], batch)
    return batch


def pinn_loss(problem: PINNProblem, field: Callable) -> Callable:
    """``loss_fn(params, batch, key) -> (loss, aux)`` of a PINN (``jaxphys.core`` contract).

    ``params = {"field": θ, "coeffs": {trainable PDE coefficients}}`` (``"coeffs"`` may
    be ``{}``); ``batch = problem.batch(collocation)`` or its one-example data set
    ``problem.dataset(collocation)`` (what :func:`jaxphys.core.run_steps` and
    :func:`jaxphys.core.fit` hand over). The residual sees the batch's fixed
    coefficients updated with the trainable ones. ``aux``: ``"residual"`` (mean r²) and
    ``"cond_<name>"`` (mean squared misfit of each condition). The key is not used.

    Example (any optimiser, through the library's one step and loop):
      >>> import jax, optax
      >>> from jaxphys.core import TrainState, make_train_step, run_steps
      >>> from jaxphys.physics.pinn import PINNNet, PINNProblem, pinn_loss, sample_uniform
      >>> problem = PINNProblem(lambda d, z, c: d["u_t"] - c["k"] * d["u_xx"], ("x", "t"),
      ...                       (0.0, 0.0), (1.0, 1.0), coeffs={"k": 0.1})
      >>> net = PINNNet((8,), problem.lo, problem.hi)
      >>> state = TrainState.create({"field": net.init(jax.random.key(0))}, optax.adam(1e-2))
      >>> data = problem.dataset(sample_uniform(jax.random.key(1), 64, problem.lo, problem.hi))
      >>> state, metrics = run_steps(make_train_step(pinn_loss(problem, net.field), jit=False),
      ...                            state, data, jax.random.key(2), n_steps=20)
      >>> bool(metrics["loss"][-1] < metrics["loss"][0])
      True
    """
    residual = make_pde_residual(problem.residual_fn, field, coords=problem.coords)
    coords = _check_coords(problem.coords)
    names = {c.name: c.derivative for c in problem.conditions}

    def loss_fn(params, batch, key):
        del key
        batch = _one_batch(batch)
        theta = params["field"]
        coeffs = {**batch["coeffs"], **params.get("coeffs", {})}
        r = jax.vmap(residual, (None, 0, None))(theta, batch["collocation"], coeffs)
        res = jnp.mean(r ** 2)
        loss = batch["residual_weight"] * res
        aux = {"residual": res}
        for cname, cb in batch["conditions"].items():
            deriv = names[cname]
            pred = jax.vmap(lambda z: derivative_at(field, theta, z, deriv, coords))(cb["points"])
            mis = jnp.mean((pred - cb["values"]) ** 2)
            loss = loss + cb["weight"] * mis
            aux["cond_" + cname] = mis
        return loss, aux

    return loss_fn


def relative_l2(pred: Any, exact: Any) -> float:
    """``‖pred − exact‖₂ / ‖exact‖₂`` over all entries (the PINN literature's error).

    Example:
      >>> relative_l2([1.0, 2.0], [1.0, 2.0])
      0.0
    """
    pred, exact = np.asarray(pred, np.float64), np.asarray(exact, np.float64)
    if pred.shape != exact.shape:
        raise ValueError(f"pred: expected the shape of exact {exact.shape}, got {pred.shape}")
    return float(np.linalg.norm(pred - exact) / np.linalg.norm(exact))
