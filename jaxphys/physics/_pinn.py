r"""Physics-informed neural networks: residual builder, losses, Adam → L-BFGS training.

A PINN represents a field ``u(z)`` on coordinates ``z = (x, t, ...)`` by a network
and minimises

    L(θ) = w_r · mean_i r(z_i)²  +  Σ_c w_c · mean_j (D_c u(z_cj) − g_cj)²,

where ``r`` is the PDE residual at collocation points ``z_i`` and each condition
``c`` (initial, boundary, observations) asks a derivative ``D_c u`` (often ``u``
itself) to take values ``g_cj`` at its points.

The residual is written by the user as a plain per-point function

    residual_fn(d, z, coeffs) -> scalar or (n_eq,)

where ``d`` is a lazy mapping of derivatives by name — ``d["u"]``, ``d["u_x"]``,
``d["u_xx"]``, ``d["u_xt"]`` … (one letter per differentiation, coordinate names
are single letters) —, ``z`` the point ``(n_coords,)`` and ``coeffs`` a dict of PDE
coefficients (arrays; fixed ones come in the batch, trainable ones in the params).
First derivatives come from one reverse-mode ``jax.grad``; higher ones are
forward-mode ``jax.jvp`` of that gradient along unit directions (forward over
reverse: one extra JVP per derivative order, memoised within a point), which is
the cheap way for the few inputs of a PDE. Burgers reads

    def burgers(d, z, c):
        return d["u_t"] + d["u"] * d["u_x"] - c["nu"] * d["u_xx"]

Units follow the problem's; nothing here assumes any.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Callable, NamedTuple, Sequence

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, check_positive

from ._collocation import adaptive_resample, sample_latin_hypercube, sample_uniform

__all__ = [
    "Derivatives", "make_pde_residual", "Condition", "PINNProblem", "PINNNet", "pinn_loss",
    "PINNResult", "train_pinn", "relative_l2",
]


# --------------------------------------------------------------------------- derivatives

class Derivatives(Mapping):
    """Lazy, memoised derivatives of a scalar field at one point.

    ``d["u"]`` is the value, ``d["u_<letters>"]`` the mixed partial derivative with
    one letter (a coordinate name) per differentiation, e.g. ``u_xx``, ``u_xt``.
    First order: ``jax.grad``; each further order: a forward-mode ``jax.jvp``.
    """

    def __init__(self, u: Callable[[jax.Array], jax.Array], z: jax.Array,
                 coords: Sequence[str], name: str = "u"):
        self._u, self._z, self._coords, self._name = u, z, tuple(coords), name
        self._cache: dict = {}

    def _index(self, key: str) -> tuple[int, ...]:
        if key == self._name:
            return ()
        prefix = self._name + "_"
        if isinstance(key, str) and key.startswith(prefix) and len(key) > len(prefix):
            letters = key[len(prefix):]
            if all(ch in self._coords for ch in letters):
                return tuple(sorted(self._coords.index(ch) for ch in letters))
        raise KeyError(f"residual_fn: unknown derivative {key!r}; expected {self._name!r} or "
                       f"{self._name!r}_<coords> with coordinates {self._coords}, e.g. "
                       f"{self._name + '_' + self._coords[0] * 2!r}")

    def _vector(self, dirs: tuple[int, ...]) -> jax.Array:
        """∂_{dirs} ∇u at z (a vector over coordinates), memoised."""
        if dirs not in self._cache:
            if not dirs:
                self._cache[dirs] = jax.grad(self._u)(self._z)
            else:
                eye = jnp.eye(self._z.shape[0], dtype=self._z.dtype)

                def along(fn, i):
                    return lambda z: jax.jvp(fn, (z,), (eye[i],))[1]

                fn = jax.grad(self._u)
                for i in dirs:
                    fn = along(fn, i)
                self._cache[dirs] = fn(self._z)
        return self._cache[dirs]

    def __getitem__(self, key: str) -> jax.Array:
        idx = self._index(key)
        if not idx:
            if "value" not in self._cache:
                self._cache["value"] = self._u(self._z)
            return self._cache["value"]
        return self._vector(idx[:-1])[idx[-1]]

    def __iter__(self):
        return iter((self._name,))

    def __len__(self) -> int:
        return 1


def _check_residual_fn(residual_fn: Callable) -> None:
    if not callable(residual_fn):
        raise ValueError(f"residual_fn: expected a function residual_fn(d, z, coeffs), got "
                         f"{type(residual_fn).__name__}")
    try:
        sig = inspect.signature(residual_fn)
    except (TypeError, ValueError):
        return                                    # builtins etc.: cannot check
    try:
        sig.bind(object(), object(), object())
    except TypeError:
        raise ValueError(f"residual_fn: expected the signature residual_fn(d, z, coeffs) "
                         f"(derivatives mapping, point (n_coords,), coefficient dict), got "
                         f"{residual_fn.__name__ if hasattr(residual_fn, '__name__') else ''}"
                         f"{sig}") from None


def _check_coords(coords: Sequence[str]) -> tuple[str, ...]:
    coords = tuple(coords)
    if not coords or any(not isinstance(c, str) or len(c) != 1 for c in coords) \
            or len(set(coords)) != len(coords):
        raise ValueError(f"coords: expected distinct one-letter coordinate names, e.g. "
                         f"('x', 't'), got {coords}")
    return coords


def make_pde_residual(residual_fn: Callable, field: Callable, *, coords: Sequence[str] = ("x", "t"),
                      name: str = "u") -> Callable:
    """Per-point PDE residual ``residual(params, z, coeffs) -> (n_eq,)``.

    Args:
      residual_fn: ``residual_fn(d, z, coeffs) -> scalar or (n_eq,)``, ``d`` a
        :class:`Derivatives` mapping (see the module doc).
      field: ``field(params, z) -> scalar``, the network as a function of one point
        ``z`` ``(len(coords),)``.
      coords: one-letter coordinate names in the order of ``z``'s entries.
      name: the field's name in derivative keys (``"u"`` → ``"u_x"``).

    Raises ``ValueError`` naming ``residual_fn`` if it does not take ``(d, z, coeffs)``.
    ``vmap`` the result over points.

    Example:
      >>> import jax.numpy as jnp
      >>> field = lambda p, z: p * z[0] ** 3 * z[1]               # u = p x³ t
      >>> res = make_pde_residual(lambda d, z, c: d["u_xx"] - c["k"] * d["u_t"], field)
      >>> float(res(2.0, jnp.array([1.0, 0.5]), {"k": 3.0})[0])   # 6 p x t - 3 p x³
      0.0
    """
    _check_residual_fn(residual_fn)
    coords = _check_coords(coords)

    def residual(params, z, coeffs):
        if z.shape != (len(coords),):
            raise ValueError(f"z: expected one point of shape ({len(coords)},), got {z.shape}")
        d = Derivatives(lambda zz: field(params, zz), z, coords, name)
        try:
            r = residual_fn(d, z, coeffs)
        except KeyError as err:
            raise ValueError(str(err.args[0]) if err.args else str(err)) from None
        r = jnp.asarray(r)
        if r.ndim > 1:
            raise ValueError(f"residual_fn: expected a scalar or (n_eq,) residual per point, got "
                             f"shape {r.shape}")
        return r.reshape(-1)

    return residual


def derivative_at(field: Callable, params: Any, z: jax.Array, derivative: str,
                  coords: Sequence[str], name: str = "u") -> jax.Array:
    """One named derivative of ``field(params, ·)`` at one point ``z`` (scalar)."""
    return Derivatives(lambda zz: field(params, zz), z, coords, name)[derivative]


# --------------------------------------------------------------------------- problem, network

class Condition(NamedTuple):
    """A data term ``mean_j (D u(points_j) − values_j)²`` of the PINN loss.

    Fields:
      name: label in the loss's aux dict (``"cond_<name>"``).
      points: ``(n, n_coords)`` coordinates.
      values: ``(n,)`` target values of the derivative.
      derivative: which derivative (``"u"``, ``"u_t"``, …) is constrained.
      weight: its loss weight (float; traced, part of the batch).
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
        lo = jnp.asarray(self.lo, z.dtype)
        hi = jnp.asarray(self.hi, z.dtype)
        h = 2.0 * (z - lo) / (hi - lo) - 1.0
        for layer in params[:-1]:
            h = jnp.tanh(h @ layer["w"] + layer["b"])
        n = (h @ params[-1]["w"] + params[-1]["b"])[0]
        return n if self.transform is None else self.transform(z, n)

    def apply(self, params: list[dict], z: Any) -> jax.Array:
        z = jnp.asarray(z)
        if z.ndim < 1 or z.shape[-1] != len(self.lo):
            raise ValueError(f"z: expected shape (..., {len(self.lo)}), got {tuple(z.shape)}")
        flat = z.reshape((-1, z.shape[-1]))
        return jax.vmap(self.field, (None, 0))(params, flat).reshape(z.shape[:-1])


def pinn_loss(problem: PINNProblem, field: Callable) -> Callable:
    """``loss_fn(params, batch, key) -> (loss, aux)`` of a PINN (``jaxphys.core`` contract).

    ``params = {"field": θ, "coeffs": {trainable PDE coefficients}}`` (``"coeffs"`` may
    be ``{}``); ``batch = problem.batch(collocation)``. The residual sees the batch's
    fixed coefficients updated with the trainable ones. ``aux``: ``"residual"``
    (mean r²) and ``"cond_<name>"`` (mean squared misfit of each condition).
    """
    residual = make_pde_residual(problem.residual_fn, field, coords=problem.coords)
    coords = _check_coords(problem.coords)
    names = {c.name: c.derivative for c in problem.conditions}

    def loss_fn(params, batch, key):
        del key
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


# --------------------------------------------------------------------------- training

class PINNResult(NamedTuple):
    """Result of :func:`train_pinn`.

    Fields:
      params: final ``{"field", "coeffs"}`` params.
      adam_losses: ``(n_adam_total,)`` loss at every Adam step (all stages).
      lbfgs_losses: ``(n_lbfgs,)`` loss at every L-BFGS step.
      collocation: ``(n, d)`` final collocation points (with the RAR additions).
      aux: the final loss's aux dict (floats).
    """

    params: Any
    adam_losses: jax.Array
    lbfgs_losses: jax.Array
    collocation: jax.Array
    aux: dict


def _adam_stage(loss_fn, params, batch, key, n_steps, lr, decay):
    """``n_steps`` Adam steps in one jitted scan; lr decays exponentially from ``lr`` to
    ``lr·decay`` (lr and decay traced). Non-finite steps are skipped."""
    @jax.jit
    def run(params, batch, key, lr, decay):
        sched = lambda i: lr * decay ** (i / n_steps)  # noqa: E731
        opt = optax.adam(sched)

        def body(carry, _):
            p, s, k = carry
            k, sub = jax.random.split(k)
            (loss, _), g = jax.value_and_grad(loss_fn, has_aux=True)(p, batch, sub)
            upd, s_new = opt.update(g, s, p)
            p_new = optax.apply_updates(p, upd)
            ok = jnp.isfinite(loss) & jnp.all(jnp.asarray(
                [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(g)]))
            p = jax.tree.map(lambda a, b: jnp.where(ok, a, b), p_new, p)
            s = jax.tree.map(lambda a, b: jnp.where(ok, a, b), s_new, s)
            return (p, s, k), loss

        (p, _, _), losses = jax.lax.scan(body, (params, opt.init(params), key), None,
                                         length=n_steps)
        return p, losses

    return run(params, batch, key, lr, decay)


def _lbfgs_stage(loss_fn, params, batch, n_steps, memory_size):
    """``n_steps`` of ``optax.lbfgs`` (zoom line search) in one jitted scan; a step whose
    loss is not finite or does not decrease is rejected (the iterate stays)."""
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    opt = optax.lbfgs(memory_size=memory_size)

    @jax.jit
    def run(flat, batch):
        fun = lambda v: loss_fn(unravel(v), batch, None)[0]  # noqa: E731
        vg = optax.value_and_grad_from_state(fun)

        def body(carry, _):
            v, s, best = carry
            value, grad = vg(v, state=s)
            upd, s_new = opt.update(grad, s, v, value=value, grad=grad, value_fn=fun)
            v_new = v + upd
            ok = jnp.all(jnp.isfinite(v_new)) & jnp.isfinite(value)
            v = jnp.where(ok, v_new, v)
            s = jax.tree.map(lambda a, b: jnp.where(ok, a, b), s_new, s)
            return (v, s, jnp.minimum(best, value)), value

        init = (flat, opt.init(flat), jnp.asarray(jnp.inf, flat.dtype))
        (v, _, _), losses = jax.lax.scan(body, init, None, length=n_steps)
        return v, losses

    v, losses = run(flat, batch)
    return unravel(v), losses


def train_pinn(key: jax.Array, problem: PINNProblem, field: Callable, params: Any, *,
               n_collocation: int = 2000, sampler: str = "latin_hypercube", n_adam: int = 2000,
               learning_rate: float = 1e-3, lr_decay: float = 0.1, n_lbfgs: int = 500,
               memory_size: int = 20, rar_rounds: int = 0, rar_points: int = 200,
               rar_candidates: int = 10000, rar_adam: int = 500) -> PINNResult:
    """Train a PINN: Adam (lr decaying ``learning_rate → learning_rate·lr_decay``),
    optional residual-based adaptive refinement rounds, then L-BFGS.

    Args:
      key: PRNG key (collocation sampling and RAR).
      problem: the :class:`PINNProblem`.
      field: per-point ``field(params["field"], z) -> scalar`` (e.g. ``PINNNet.field``).
      params: initial ``{"field": θ, "coeffs": {…}}`` (``"coeffs"`` optional, trainable).
      n_collocation: initial collocation points, drawn by ``sampler``
        (``"latin_hypercube"`` or ``"uniform"``) in the problem's box.
      n_adam, learning_rate, lr_decay: the first Adam stage.
      n_lbfgs, memory_size: the final L-BFGS stage (optax.lbfgs, zoom line search).
      rar_rounds, rar_points, rar_candidates, rar_adam: each round scores
        ``rar_candidates`` uniform points by ``|r|``, adds the ``rar_points`` worst
        (:func:`adaptive_resample`, greedy) and runs ``rar_adam`` more Adam steps at
        ``learning_rate·lr_decay``.

    Returns a :class:`PINNResult`.
    """
    check_key(key)
    check_in(sampler, "sampler", ("latin_hypercube", "uniform"))
    n_collocation = as_int(n_collocation, "n_collocation", minimum=1)
    n_adam = as_int(n_adam, "n_adam", minimum=0)
    n_lbfgs = as_int(n_lbfgs, "n_lbfgs", minimum=0)
    rar_rounds = as_int(rar_rounds, "rar_rounds", minimum=0)
    for name, v in (("learning_rate", learning_rate), ("lr_decay", lr_decay)):
        check_finite(jnp.asarray(v), name)
        check_positive(jnp.asarray(v), name)
    if not isinstance(params, dict) or "field" not in params:
        raise ValueError("params: expected a dict {'field': θ, 'coeffs': {...}}, got "
                         f"{type(params).__name__}")
    params = {"field": params["field"], "coeffs": dict(params.get("coeffs", {}))}
    sample_key, adam_key, rar_key = jax.random.split(key, 3)
    sample = sample_latin_hypercube if sampler == "latin_hypercube" else sample_uniform
    colloc = sample(sample_key, n_collocation, problem.lo, problem.hi)
    loss_fn = pinn_loss(problem, field)
    lr = jnp.asarray(learning_rate, colloc.dtype)
    decay = jnp.asarray(lr_decay, colloc.dtype)
    adam_losses = []
    if n_adam:
        params, losses = _adam_stage(loss_fn, params, problem.batch(colloc), adam_key, n_adam,
                                     lr, decay)
        adam_losses.append(losses)
    residual = make_pde_residual(problem.residual_fn, field, coords=problem.coords)
    score = jax.jit(lambda p, z, c: jnp.sqrt(jnp.sum(
        jax.vmap(residual, (None, 0, None))(p, z, c) ** 2, axis=-1)))
    for round_key in jax.random.split(rar_key, rar_rounds) if rar_rounds else []:
        cand_key, pick_key, step_key = jax.random.split(round_key, 3)
        cand = sample_uniform(cand_key, rar_candidates, problem.lo, problem.hi)
        coeffs = {**problem.batch(colloc)["coeffs"], **params["coeffs"]}
        new = adaptive_resample(pick_key, cand, score(params["field"], cand, coeffs), rar_points)
        colloc = jnp.concatenate([colloc, new])
        params, losses = _adam_stage(loss_fn, params, problem.batch(colloc), step_key,
                                     as_int(rar_adam, "rar_adam", minimum=1), lr * decay,
                                     jnp.asarray(1.0, colloc.dtype))
        adam_losses.append(losses)
    batch = problem.batch(colloc)
    lbfgs_losses = jnp.zeros((0,), colloc.dtype)
    if n_lbfgs:
        params, lbfgs_losses = _lbfgs_stage(loss_fn, params, batch, n_lbfgs, memory_size)
    _, aux = jax.jit(loss_fn)(params, batch, None)
    adam = jnp.concatenate(adam_losses) if adam_losses else jnp.zeros((0,), colloc.dtype)
    return PINNResult(params, adam, lbfgs_losses, colloc, {k: float(v) for k, v in aux.items()})


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
