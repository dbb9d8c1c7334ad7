"""A generated bad-input sweep over the public API (issue 21, item 3).

Every public function (from every public module's ``__all__``) is classified by its
signature: each parameter whose *name* matches a pattern in :data:`KIND_PATTERNS` (and
whose annotation does not say it is a string, flag, callable or sequence, see
:data:`NOT_AN_ARRAY_OR_NUMBER`) is a key, a count, a rate or a data array. The only
hand-written part is :data:`VALID_CALLS`: one valid, cheap call of each such function.
From it the sweep *generates* the bad cases: each classified parameter's valid value is
replaced by every bad value of its kind (:data:`BAD_VALUES`), and the call must raise a
``ValueError`` or ``TypeError`` whose message names the parameter, before any
compilation of note (XLA compile time during the call under :data:`MAX_COMPILE_SECONDS`,
measured with ``jax.monitoring``). The baselines themselves run in the slow tier
(``test_valid_calls_run``), so a case cannot pass on an error the baseline already had.

Four tables say where a generated case does not apply, each entry with its reason:
:data:`EXCLUDED` (whole functions), :data:`ZERO_ALLOWED` (counts for which 0 is valid,
besides those whose default is 0), :data:`ANY_RANK` (data that takes any rank by
contract) and :data:`NAN_ALLOWED` (data where NaN is not bad input).

``python tests/test_bad_input_sweep.py`` prints the number of entry points and cases.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import pkgutil
import re
from collections import Counter
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import jaxphys

# --------------------------------------------------------------------------------------
# The classification rule: a table of name patterns (full matches), checked in this order.
# --------------------------------------------------------------------------------------

KIND_PATTERNS: dict[str, tuple[str, ...]] = {
    # a JAX PRNG key
    "key": (r"key", r".+_key", r"rng"),
    # a step size, rate, discount, temperature: a finite number >= 0
    "rate": (r"learning_rate", r"lr", r".+_rate", r"step_size", r"eta", r"gamma", r"tau",
             r"epsilon", r"temperature"),
    # a number of things (an int >= 1; >= 0 where the default is 0 or ZERO_ALLOWED says so)
    "count": (r"n", r"k", r"L", r"n_.+", r"num_.+", r".+_size", r"steps", r".+_steps",
              r"max_iter", r"max_iterations", r".+_iter", r".+_iters", r"epochs", r"depth",
              r"width", r".+_width", r"hidden", r"capacity", r"max_new_tokens", r"dim",
              r".+_dim", r"d_in", r"d_out", r"chunk", r"deg", r"thin", r"max_draws"),
    # a data array (examples, observations, parameters of a simulator)
    "data": (r"x", r"y", r"X", r"data", r"samples", r"theta", r"x_.+", r"y_.+", r"X_.+",
             r".+_data", r"val_x", r"pred"),
}
# an annotation matching this is not an array or a number (`x: str | int` names a
# parameter, `hidden: Sequence[int]` lists widths, `key: Callable` is a sort key ...)
NOT_AN_ARRAY_OR_NUMBER = re.compile(r"str|bool|Callable|tuple|Sequence|Mapping|Path|dict|list")
# a count must be annotated as an int (or not at all)
COUNT_ANNOTATION = re.compile(r"(int( \| None)?)?")


def classify(param: inspect.Parameter) -> str | None:
    """The kind of ``param`` ("key", "rate", "count", "data") or None."""
    if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
        return None
    ann = param.annotation
    ann = "" if ann is inspect.Parameter.empty else (ann if isinstance(ann, str) else str(ann))
    for kind, patterns in KIND_PATTERNS.items():
        if any(re.fullmatch(p, param.name) for p in patterns):
            if NOT_AN_ARRAY_OR_NUMBER.search(ann):
                return None
            if kind == "count" and not COUNT_ANNOTATION.fullmatch(ann):
                return None
            return kind
    return None


# --------------------------------------------------------------------------------------
# The bad values of each kind. Each maps the parameter's valid value to a bad one.
# --------------------------------------------------------------------------------------

def _nan_first(valid: Any) -> Any:
    """``valid`` (an array or a pytree of arrays) as floats with a NaN first entry."""
    def leaf(a):
        a = np.array(a)                     # a copy; complex and float dtypes are kept
        if not np.issubdtype(a.dtype, np.inexact):
            a = a.astype(np.float32)
        a.reshape(-1)[:1] = np.nan
        return jnp.asarray(a)
    return jax.tree.map(leaf, valid)


def _rate(bad: float) -> Callable[[Any], Any]:
    """A bad rate shaped like the valid one: the scalar itself, or the valid array with
    its first entry replaced (so that an array of temperatures gets one bad entry)."""
    def make(valid: Any) -> Any:
        if np.ndim(valid) == 0:
            return bad
        a = np.array(valid, dtype=np.float32)
        a.reshape(-1)[:1] = bad
        return jnp.asarray(a)
    return make


def _extra_axis(valid: Any) -> Any:
    """``valid`` with one more (trailing) axis: an (n,) array becomes (n, 1)."""
    return jnp.asarray(valid)[..., None]


BAD_VALUES: dict[str, dict[str, Callable[[Any], Any]]] = {
    "key": {"float_key": lambda v: jnp.zeros(2, jnp.float32),
            "int_key": lambda v: 3,
            "raw_key_wrong_shape": lambda v: jnp.zeros(3, jnp.uint32)},
    "count": {"zero": lambda v: 0, "negative": lambda v: -3, "float": lambda v: 2.5,
              "bool": lambda v: True},
    "rate": {"negative": _rate(-0.1), "nan": _rate(math.nan), "inf": _rate(math.inf)},
    "data": {"nan": _nan_first, "wrong_rank": _extra_axis},
}

# --------------------------------------------------------------------------------------
# Where a generated case does not apply (each with its reason; keep these short).
# --------------------------------------------------------------------------------------

# whole functions left out of the sweep
EXCLUDED: dict[str, str] = {
    **dict.fromkeys([f"jaxphys.nn.{name}" for name in (
        "sigmoid", "tanh", "leaky_relu", "elu", "selu", "gelu", "gelu_exact", "silu",
        "softplus", "softmax", "log_softmax")],
        "an elementwise activation on any shape, traced inside models (NaN in, NaN out)"),
    "jaxphys.nn.flatten": "reshapes any (N, ...) array, never reads its values",
    "jaxphys.generative.posterior_head": "builds flax submodules: valid only inside @compact",
    "jaxphys.rl.forward_fill": "NaN marks the gaps it fills (any values are valid)",
    "jaxphys.physics.gw.log_i0": "a special function on any shape, traced in likelihoods",
    "jaxphys.linear.polyval": "a model of x of any shape, traced in fits (NaN in, NaN out)",
    "jaxphys.linear.breit_wigner": "a model of x of any shape, traced in fits (NaN in, NaN out)",
    "jaxphys.plot.plot_fit": "draws what it is given (matplotlib shows NaN as a gap)",
    "jaxphys.plot.plot_curves": "draws what it is given (matplotlib shows NaN as a gap)",
}

# (function, count) pairs for which 0 is valid (besides counts whose default is 0)
ZERO_ALLOWED: dict[tuple[str, str], str] = {
    ("jaxphys.classical.tsne_fit", "exaggeration_iter"): "0 turns early exaggeration off",
    ("jaxphys.data.addition_problems", "n_test"): "an empty test set is allowed",
    ("jaxphys.linear.polyfit", "deg"): "a polynomial degree: 0 fits a constant",
    ("jaxphys.linear.design_matrix_poly", "deg"): "a polynomial degree: 0 is a constant column",
    ("jaxphys.dynamics.gradient_descent", "n_steps"): "0 steps: the path is the start",
    ("jaxphys.dynamics.optimizer_trajectories", "n_steps"): "0 steps: the paths are the starts",
    ("jaxphys.dynamics.gd_quadratic", "n"): "0 steps: the path is the start",
    ("jaxphys.nn.fit_symbolic_edge", "n_zoom"): "0 zoom rounds: the plain grid search",
    ("jaxphys.generative.latent_traversal", "dim"): "an index into the latent dimensions",
    ("jaxphys.physics.ising.ising_configurations", "n_thermal"): "0: no thermalisation sweeps",
    ("jaxphys.physics.ising.metropolis_multispin", "n_sweeps"): "0 sweeps: the input back",
    ("jaxphys.physics.ising.wolff_multispin", "n_flips"): "0 cluster flips: the input back",
    ("jaxphys.physics.pinn.train_pinn", "n_adam"): "0 skips the Adam stage",
    ("jaxphys.physics.pinn.train_pinn", "n_lbfgs"): "0 skips the L-BFGS stage",
    ("jaxphys.physics.gw.reference_posterior", "n_burn"): "0: no burn-in",
}

# (function, data parameter) pairs that take any rank (or a pytree) by contract:
# their "wrong_rank" case is not generated
ANY_RANK: dict[tuple[str, str], str] = {
    ("jaxphys.run_steps", "data"): "a pytree of arrays with a common leading axis",
    ("jaxphys.fit", "train_data"): "a pytree of arrays with a common leading axis",
    ("jaxphys.fit", "val_data"): "a pytree of arrays with a common leading axis",
    ("jaxphys.data.minibatches", "data"): "a pytree of arrays with a common leading axis",
    ("jaxphys.data.leading_size", "data"): "a pytree of arrays with a common leading axis",
    ("jaxphys.classical.cross_validate", "y"): "(n, ...) targets of any trailing shape",
    ("jaxphys.classical.learning_curve", "y"): "(n, ...) targets of any trailing shape",
    ("jaxphys.classical.grid_search", "y"): "(n, ...) targets of any trailing shape",
    ("jaxphys.fitting.minimize_toys", "data"): "a pytree of toy data sets along axis 0",
    ("jaxphys.dynamics.bias_variance", "x_test"): "(n_test, ...) inputs of any trailing shape",
    ("jaxphys.nn.bspline_basis", "x"): "points of any shape S, basis S + (G + k,)",
    ("jaxphys.nn.fit_symbolic_edge", "x"): "samples of one edge, flattened",
    ("jaxphys.nn.fit_symbolic_edge", "y"): "samples of one edge, flattened",
    ("jaxphys.nn.suggest_symbolic", "x"): "samples of one edge, flattened",
    ("jaxphys.nn.suggest_symbolic", "y"): "samples of one edge, flattened",
    ("jaxphys.generative.corrupt", "x"): "noise on a batch of any shape, inside the loss",
    ("jaxphys.generative.pretrain_stacked", "x"): "(N, ...) examples, flattened to data_dim",
    ("jaxphys.generative.reconstruction_error", "x"): "(N, ...) examples of any model",
    ("jaxphys.generative.detect_anomalies", "x"): "(N, ...) examples of any model",
    ("jaxphys.physics.pinn.heat_exact", "x"): "points of any shape (the shape of t)",
    ("jaxphys.physics.ising.jackknife", "data"): "a pytree of (n, ...) series",
}

# (function, data parameter) pairs where NaN is not bad input
_SKIPPED = "fit trains on NaN batches by skipping them (test_core_fit.py, nan_examples...)"
NAN_ALLOWED: dict[tuple[str, str], str] = {
    ("jaxphys.data.leading_size", "data"): "reads shapes only, never values",
    ("jaxphys.data.minibatches", "data"): "moves examples, never computes on them",
    ("jaxphys.run_steps", "data"): _SKIPPED,
    ("jaxphys.fit", "train_data"): _SKIPPED,
    ("jaxphys.fit", "val_data"): "checked like train_data",
    **{(f"jaxphys.dynamics.{name}", "theta"): "a loss traced by grad (NaN in, NaN out)"
       for name in ("ill_conditioned_quadratic", "rosenbrock", "chi2_line", "gaussian_wells")},
    **{(f"jaxphys.nn.{name}", "x"): "a network layer traced inside models (NaN in, NaN out)"
       for name in ("max_pool", "avg_pool", "bspline_basis")},
    ("jaxphys.generative.corrupt", "x"): "noise on a batch of any shape, inside the loss",
    **{(f"jaxphys.generative.two_moons_{name}", param): "a simulator traced under vmap"
       for name, param in (("simulate", "theta"), ("mean", "theta"),
                           ("log_likelihood", "theta"), ("log_likelihood", "x"))},
    ("jaxphys.physics.simulators.oscillator_signal", "theta"): "a simulator traced under vmap",
    ("jaxphys.physics.simulators.chirp_signal", "theta"): "a simulator traced under vmap",
    **{(f"jaxphys.losses.{name}", param): "a per-example loss traced in loss_fn (NaN in, NaN out)"
       for name, param in (("mse", "pred"), ("mae", "pred"), ("huber", "pred"), ("chi2", "pred"))},
    ("jaxphys.physics.pinn.relative_l2", "pred"): "an error metric: a diverged model scores NaN",
}

# --------------------------------------------------------------------------------------
# The public entry points and their classified parameters.
# --------------------------------------------------------------------------------------

PUBLIC_MODULES = ["jaxphys"] + sorted(
    info.name for info in pkgutil.walk_packages(jaxphys.__path__, "jaxphys.")
    if not any(part.startswith("_") for part in info.name.split(".")[1:]))


def _public_functions() -> dict[str, Callable]:
    """Qualified name -> function, for every public function (first exporter wins)."""
    found: dict[str, Callable] = {}
    seen: set[int] = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isfunction(obj) and id(obj) not in seen:
                seen.add(id(obj))
                found[f"{module_name}.{name}"] = obj
    return found


FUNCTIONS = _public_functions()


def _classified(fn: Callable) -> dict[str, str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name: kind for p in params if (kind := classify(p))}


ENTRY_POINTS: dict[str, dict[str, str]] = {
    name: kinds for name, fn in FUNCTIONS.items() if (kinds := _classified(fn))}


class Case(NamedTuple):
    entry: str
    param: str
    kind: str
    bad: str

    @property
    def id(self) -> str:
        return f"{self.entry.removeprefix('jaxphys.')}-{self.param}-{self.bad}"


def _applies(entry: str, param: str, kind: str, bad: str) -> bool:
    if kind == "count" and bad == "zero":
        default = inspect.signature(FUNCTIONS[entry]).parameters[param].default
        zero_default = isinstance(default, int) and default == 0
        return not zero_default and (entry, param) not in ZERO_ALLOWED
    if kind == "data" and bad == "wrong_rank":
        return (entry, param) not in ANY_RANK
    if kind == "data" and bad == "nan":
        return (entry, param) not in NAN_ALLOWED
    return True


def generate_cases() -> list[Case]:
    """Every (entry point, parameter, bad value) case, from the signatures."""
    return [Case(entry, param, kind, bad)
            for entry, kinds in ENTRY_POINTS.items() if entry not in EXCLUDED
            for param, kind in kinds.items()
            for bad in BAD_VALUES[kind] if _applies(entry, param, kind, bad)]


# --------------------------------------------------------------------------------------
# Shared, cached building blocks for the valid calls (small sizes throughout).
# --------------------------------------------------------------------------------------

def K(seed: int = 0) -> jax.Array:
    return jax.random.key(seed)


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def X2() -> jax.Array:
    """20 examples with 2 features."""
    return jnp.asarray(_rng().normal(size=(20, 2)), jnp.float32)


def Y2() -> jax.Array:
    """Binary labels of :func:`X2`."""
    return jnp.asarray(np.arange(20) % 2, jnp.int32)


@functools.cache
def _pca():
    from jaxphys.classical import pca_fit
    return pca_fit(None, X2(), 1)


@functools.cache
def _kmeans():
    from jaxphys.classical import KMeansParams
    return KMeansParams(jnp.array([[0., 0.], [5., 5.]]), jnp.array(0.), jnp.array(0), jnp.zeros(1))


@functools.cache
def _histogram():
    from jaxphys.classical import histogram_fit
    return histogram_fit(None, jnp.array([0.1, 0.2, 0.6, 0.7, 0.8]), 2, range=(0.0, 1.0))


@functools.cache
def _kde():
    from jaxphys.classical import kde_fit
    return kde_fit(None, X2(), bandwidth=1.0)


@functools.cache
def _gmm():
    from jaxphys.classical import GMMParams
    return GMMParams(jnp.array([0.5, 0.5]), jnp.array([[-1., 0.], [1., 0.]]),
                     jnp.stack([jnp.eye(2)] * 2), jnp.array(0.), jnp.array(0), jnp.array(True))


def _stump(regression: bool = False):
    """A depth-1 tree on feature 0 (split at 0), built by hand: fits compile for seconds,
    and a prediction only needs the fields. The slow tier runs every baseline."""
    from jaxphys.classical import TreeParams
    value = (jnp.array([[0.0], [-0.4], [1.2]]) if regression
             else jnp.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]]))
    return TreeParams(feature=jnp.zeros(3, jnp.int32), threshold=jnp.zeros(3),
                      is_leaf=jnp.array([False, True, True]), value=value,
                      n_samples=jnp.array([20.0, 10.0, 10.0]),
                      feature_importances=jnp.array([1.0, 0.0]), regression=jnp.array(regression))


def _stack(tree, *lead: int):
    return jax.tree.map(lambda a: jnp.broadcast_to(a, (*lead, *jnp.shape(a))), tree)


@functools.cache
def _tree():
    return _stump()


@functools.cache
def _forest():
    from jaxphys.classical import ForestParams
    return ForestParams(trees=_stack(_stump(), 2), feature_importances=jnp.array([1.0, 0.0]),
                        oob_score=jnp.array(0.5), oob_prediction=jnp.full((20, 2), 0.5))


@functools.cache
def _adaboost():
    from jaxphys.classical import AdaBoostParams
    return AdaBoostParams(trees=_stack(_stump(), 2), estimator_weight=jnp.array([0.6, 0.3]),
                          estimator_error=jnp.array([0.35, 0.4]),
                          n_estimators_used=jnp.array(2, jnp.int32),
                          feature_importances=jnp.array([1.0, 0.0]))


@functools.cache
def _gb():
    from jaxphys.classical import GBParams
    return GBParams(trees=_stack(_stump(regression=True), 2, 1), tree_weight=jnp.full(2, 0.1),
                    init=jnp.zeros(2), n_estimators_used=jnp.array(2, jnp.int32),
                    train_loss=jnp.array([0.68, 0.67]), val_loss=jnp.full(2, jnp.nan),
                    feature_importances=jnp.array([1.0, 0.0]))


def _kde_fit_fn(k, X, y):
    from jaxphys.classical import kde_fit
    return kde_fit(None, X, bandwidth=0.5)


def _kde_score_fn(p, X, y):
    from jaxphys.classical import kde_score_samples
    return jnp.mean(kde_score_samples(p, X))


def _lstsq_fit_fn(k, X, y, lam=0.0):
    return jnp.linalg.solve(X.T @ X + (lam + 1e-3) * jnp.eye(X.shape[1]), X.T @ y)


def _lstsq_score_fn(w, X, y):
    return -jnp.mean((X @ w - y) ** 2)


def _linear_problem():
    x = jnp.linspace(-1.0, 1.0, 16)
    return {"x": x, "y": 2.0 * x + 0.5}


def _linear_loss(p, batch, key):
    return jnp.mean((p * batch["x"] - batch["y"]) ** 2), {}


@functools.cache
def _train_state():
    import optax

    from jaxphys.core import TrainState
    return TrainState.create(jnp.zeros(()), optax.sgd(0.1))


@functools.cache
def _train_step():
    from jaxphys.core import make_train_step
    return make_train_step(_linear_loss, jit=False)


def _line_cost():
    from jaxphys.fitting import LeastSquares
    return LeastSquares(jnp.array([0.0, 1.0, 2.0]), jnp.array([1.0, 3.0, 5.2]), 1.0,
                        lambda x, p: p["a"] + p["b"] * x)


@functools.cache
def _line_fit():
    from jaxphys.fitting import minimize
    return minimize(_line_cost(), {"a": 0.0, "b": 0.0})


def _line_fit_kwargs():
    return dict(cost=_line_cost(), parameters={"a": 0.0, "b": 0.0}, result=_line_fit())


def _toy_cost(data):
    from jaxphys.fitting import LeastSquares
    return LeastSquares(jnp.array([0.0, 1.0, 2.0]), data, 1.0, lambda x, p: p["a"] + p["b"] * x)


@functools.cache
def _logistic():
    from jaxphys.linear import LogisticFit
    return LogisticFit(weights=jnp.array([1.0, -1.0]), bias=jnp.array(0.0), n_iter=jnp.array(0),
                       converged=jnp.array(True), loss=jnp.array(0.0))


def _x16() -> jax.Array:
    return jnp.linspace(-1.0, 1.0, 16)


@functools.cache
def _feature_map():
    from jaxphys.dynamics import init_feature_map
    return init_feature_map(K(), 1, 5)


def _draw_line(k):
    kx, ke = jax.random.split(k)
    x = jax.random.uniform(kx, (8,))
    return x, 2.0 * x + 0.1 * jax.random.normal(ke, (8,))


def _scaling_fn(k, n):
    return jnp.stack([2.0 / n, 1.0 / n]) + 0.0 * jax.random.uniform(k)


@functools.cache
def _kan():
    from jaxphys.nn import KAN
    kan = KAN.create((2, 3, 1), grid_size=5)
    return kan, kan.init(K(), jnp.zeros(2))


def _kan_x() -> jax.Array:
    return jnp.asarray(_rng(1).uniform(-1.0, 1.0, size=(8, 2)), jnp.float32)


@functools.cache
def _lm():
    from jaxphys.nn import CausalLM
    lm = CausalLM(vocab_size=5, max_len=8, d_model=8, num_heads=2, num_layers=1)
    return lm, jax.jit(lm.init)(K(), jnp.zeros((1, 8), jnp.int32))   # jit: faster than eager


def _ones(*shape) -> jax.Array:
    return jnp.ones(shape, jnp.float32)


@functools.cache
def _vae():
    from jaxphys.generative import VAE
    vae = VAE(data_dim=4, latent_dim=2, hidden=(8,))
    return vae, jax.jit(vae.init)(K(), jnp.zeros((1, 4)))


@functools.cache
def _gan():
    import optax

    from jaxphys.generative import MLPDiscriminator, MLPGenerator, init_gan
    g, d = MLPGenerator(2, (4,)), MLPDiscriminator((4,))
    return g, d, init_gan(K(), g, d, optax.adam(1e-3), optax.adam(1e-3), 3, jnp.zeros((4, 2)))


@functools.cache
def _time_mlp(n_classes=None):
    from jaxphys.generative import TimeMLP
    net = TimeMLP(widths=(8,), n_classes=n_classes)
    return net, jax.jit(net.init)(K(), jnp.zeros((1, 2)), jnp.zeros(1, jnp.int32))


def _schedule(n_steps=10):
    from jaxphys.generative import linear_schedule
    return linear_schedule(n_steps)


@functools.cache
def _task():
    from jaxphys.physics.simulators import gaussian_linear
    return gaussian_linear(dim=2)


@functools.cache
def _sims(n=24):
    """(theta, x) pairs of the Gaussian-linear task, drawn in NumPy (no compile)."""
    theta = _rng(3).normal(scale=0.1 ** 0.5, size=(n, 2))
    x = theta + _rng(4).normal(scale=0.1 ** 0.5, size=(n, 2))
    return jnp.asarray(theta, jnp.float32), jnp.asarray(x, jnp.float32)


def _nsf():
    from jaxphys.generative import NeuralSplineFlow
    return NeuralSplineFlow(n_layers=1, hidden=(4,))


@functools.cache
def _npe():
    import optax

    from jaxphys.generative import init_npe
    theta, x = _sims()
    return init_npe(K(), theta, x, flow=_nsf(), optimizer=optax.adam(1e-3))


def _normal_posterior(x):
    import distrax
    return distrax.MultivariateNormalDiag(x, 0.1 * jnp.ones(2))


def _disc_log_density(theta):
    return -jnp.sum(theta ** 2, axis=-1)


@functools.cache
def _phase_classifier():
    from jaxphys.core import Model
    from jaxphys.physics.ising import PhaseClassifier
    by_m = Model(init=lambda key, x: {"a": 10.0},
                 apply=lambda p, x: p["a"] * (jnp.abs(x.mean(axis=-1)) - 0.5))
    return PhaseClassifier("dense", by_m, {"a": 10.0}, L=4, result=None)


def _spins(n=4, L=4) -> jax.Array:
    return jnp.asarray(np.where(_rng(2).uniform(size=(n, L, L)) < 0.5, -1, 1), jnp.int8)


def _hard_heat(z, n):
    return jnp.sin(jnp.pi * z[0]) + z[1] * z[0] * (1 - z[0]) * n


@functools.cache
def _pinn():
    from jaxphys.physics.pinn import PINNNet, PINNProblem, heat_residual
    problem = PINNProblem(heat_residual, ("x", "t"), (0.0, 0.0), (1.0, 1.0),
                          coeffs={"kappa": 0.1})
    net = PINNNet((4,), problem.lo, problem.hi, transform=_hard_heat)
    return problem, net, {"field": net.init(K())}


def _burgers_points():
    pts = np.stack([np.linspace(-0.9, 0.9, 8), np.linspace(0.1, 0.9, 8)], 1)
    from jaxphys.physics.pinn import burgers_cole_hopf
    return pts, np.asarray(burgers_cole_hopf(pts[:, 0], pts[:, 1], 0.05, n_nodes=20))


@functools.cache
def _cartpole():
    from jaxphys.rl.envs import CartPole
    env = CartPole()
    return env, env.default_params()


@functools.cache
def _runner():
    from jaxphys.rl import init_runner
    env, params = _cartpole()
    return init_runner(K(), env, params, n_envs=2)


def _push_right(key, obs):
    from jaxphys.rl import ActOutput
    return ActOutput(jnp.ones(obs.shape[0], jnp.int32))


@functools.cache
def _replay():
    from jaxphys.rl import replay_add_batch, replay_init
    buf = replay_init({"x": jnp.float32(0.0)}, capacity=3)
    return replay_add_batch(buf, {"x": jnp.array([1.0, 2.0])})


@functools.cache
def _mdp():
    from jaxphys.rl.envs import make_mdp_params
    return make_mdp_params(jnp.ones((1, 2, 1)), jnp.array([[[1.0], [2.0]]]))


@functools.cache
def _ising_chain():
    from jaxphys.rl.envs import IsingChain, IsingChainState
    env = IsingChain(4)
    spins = jnp.array([1.0, 1.0, 1.0, -1.0])
    state = IsingChainState(spins, time=jnp.int32(0), e_min=jnp.float32(-3.0))
    return env, env.default_params(), spins, state


def _mcts_config():
    from jaxphys.rl import MCTSConfig
    return MCTSConfig(n_simulations=2, rollout_depth=2, max_depth=4)


@functools.cache
def _gw_problem():
    from jaxphys.physics.gw import gw_problem
    return gw_problem()


def _gw_theta() -> jax.Array:
    return jnp.array([30.0, 0.5, 1000.0, 0.0])


@functools.cache
def _gw_strain():
    from jaxphys.physics.gw import gw_signal
    return gw_signal(_gw_theta(), _gw_problem())


@functools.cache
def _tiny_noise():
    from jaxphys.physics.gw import make_noise_model
    return make_noise_model(jnp.array([1.0, 2.0]), 1.0, asd=jnp.array([2.0, 2.0]))


def _tiny_strain() -> jax.Array:
    return jnp.array([3.0 + 0j, 4.0 + 0j])


def _gaussian_log_p(x):
    return -0.5 * jnp.sum(x ** 2)


@functools.cache
def _ensemble_state():
    from jaxphys.physics.gw import ensemble_init
    walkers = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    return ensemble_init(walkers, _gaussian_log_p)


@functools.cache
def _gw_model():
    """A GWPosteriorModel with an untrained NPE (no embedding): enough for argument checks."""
    import optax

    from jaxphys.generative import init_npe
    from jaxphys.physics.gw import GWPosteriorModel
    # features of the problem's shape (no simulation needed for argument checks)
    theta = _gw_problem().prior.sample(seed=K(5), sample_shape=8)
    x = jnp.asarray(_rng(5).normal(size=(8, 2 * _gw_problem().n_bins)), jnp.float32)
    npe = init_npe(K(6), theta, x, flow=_nsf(), optimizer=optax.adam(1e-3))
    return GWPosteriorModel(npe, {}, None, _gw_problem(), 0.0, 0.0), theta, x


def _adam():
    import optax
    return optax.adam(1e-3)


def _autoencoder():
    from jaxphys.generative import Autoencoder
    return Autoencoder(data_dim=3, latent_dim=1, hidden=())


def _stacked():
    from jaxphys.generative import StackedAutoencoder
    return StackedAutoencoder(data_dim=4, widths=(3, 2))


def _sbc_result():
    from jaxphys.generative import SBCResult
    return SBCResult(np.array([0, 9] * 50)[:, None], 9)


def _two_moons_prior():
    from jaxphys.generative import two_moons_prior
    return two_moons_prior()


def _grid_params():
    from jaxphys.rl.envs import GridWorld
    return GridWorld(["S...G"]).default_params()


def _ridge():
    from jaxphys.linear import ridge
    return ridge


# --------------------------------------------------------------------------------------
# VALID_CALLS: one valid, cheap call of every entry point (the only hand-written part).
# --------------------------------------------------------------------------------------

VALID_CALLS: dict[str, Callable[[], dict[str, Any]]] = {
    # jaxphys (core, re-exported at the top level)
    "jaxphys.run_steps": lambda: dict(step=_train_step(), state=_train_state(),
                                      data=_linear_problem(), key=K(), n_steps=2, batch_size=4),
    "jaxphys.fit": lambda: dict(key=K(), state=_train_state(), train_data=_linear_problem(),
                                loss_fn=_linear_loss, n_steps=2, batch_size=4,
                                val_data=_linear_problem(), progress=False),
    "jaxphys.core.train_lbfgs": lambda: dict(
        loss_fn=lambda p, b, k: (jnp.sum((p - b) ** 2), {}), params=jnp.zeros(3),
        batch=jnp.arange(3.0), n_steps=2, key=K()),
    "jaxphys.core.make_mesh": lambda: dict(n_devices=1),
    "jaxphys.core.get_optimizer": lambda: dict(name_or_transform="adam", learning_rate=0.1),
    # classical
    "jaxphys.classical.pca_fit": lambda: dict(key=K(), X=X2(), n_components=1),
    "jaxphys.classical.pca_transform": lambda: dict(params=_pca(), X=X2()),
    "jaxphys.classical.kmeans_fit": lambda: dict(key=K(), X=X2(), n_clusters=2, n_init=1,
                                                 max_iter=2),
    "jaxphys.classical.kmeans_predict": lambda: dict(params=_kmeans(), X=X2()),
    "jaxphys.classical.histogram_fit": lambda: dict(key=K(), x=jnp.linspace(0.0, 1.0, 10)),
    "jaxphys.classical.histogram_density": lambda: dict(params=_histogram(),
                                                        x=jnp.array([0.3, 0.9])),
    "jaxphys.classical.kde_fit": lambda: dict(key=K(), X=X2(), bandwidths=jnp.array([0.5, 1.0]),
                                              n_folds=2),
    "jaxphys.classical.kde_score_samples": lambda: dict(params=_kde(), X=X2()),
    "jaxphys.classical.gmm_fit": lambda: dict(key=K(), X=X2(), n_components=2, max_iter=2,
                                              n_init=1),
    "jaxphys.classical.gmm_score_samples": lambda: dict(params=_gmm(), X=X2()),
    "jaxphys.classical.gmm_predict": lambda: dict(params=_gmm(), X=X2()),
    "jaxphys.classical.gmm_predict_proba": lambda: dict(params=_gmm(), X=X2()),
    "jaxphys.classical.gmm_bic": lambda: dict(params=_gmm(), X=X2()),
    "jaxphys.classical.gmm_aic": lambda: dict(params=_gmm(), X=X2()),
    "jaxphys.classical.gmm_n_parameters": lambda: dict(n_components=3, n_features=2),
    "jaxphys.classical.gmm_select": lambda: dict(key=K(), X=X2(), n_components=(1, 2),
                                                 max_iter=2, n_init=1),
    "jaxphys.classical.tsne_fit": lambda: dict(key=K(), X=X2(), n_components=2, perplexity=3.0,
                                               n_iter=2, exaggeration_iter=1, learning_rate=10.0,
                                               n_interpolation_nodes=3),
    "jaxphys.classical.tsne_affinities": lambda: dict(X=X2(), perplexity=3.0),
    "jaxphys.classical.trustworthiness": lambda: dict(X=X2(), embedding=X2(), n_neighbors=2),
    "jaxphys.classical.tree_fit": lambda: dict(key=K(), X=X2(), y=Y2(), max_depth=1, n_bins=4,
                                               n_classes=2),
    "jaxphys.classical.tree_predict": lambda: dict(params=_tree(), X=X2()),
    "jaxphys.classical.tree_predict_proba": lambda: dict(params=_tree(), X=X2()),
    "jaxphys.classical.forest_fit": lambda: dict(key=K(), X=X2(), y=Y2(), n_trees=2, max_depth=1,
                                                 n_bins=4, n_classes=2),
    "jaxphys.classical.forest_predict": lambda: dict(params=_forest(), X=X2()),
    "jaxphys.classical.forest_predict_proba": lambda: dict(params=_forest(), X=X2()),
    "jaxphys.classical.adaboost_fit": lambda: dict(key=K(), X=X2(), y=Y2(), n_estimators=2,
                                                   learning_rate=0.5, n_bins=4, n_classes=2),
    "jaxphys.classical.adaboost_predict": lambda: dict(params=_adaboost(), X=X2()),
    "jaxphys.classical.adaboost_predict_proba": lambda: dict(params=_adaboost(), X=X2()),
    "jaxphys.classical.adaboost_decision_function": lambda: dict(params=_adaboost(), X=X2()),
    "jaxphys.classical.gb_fit": lambda: dict(key=K(), X=X2(), y=Y2(), n_estimators=2,
                                             learning_rate=0.1, max_depth=1, n_bins=4,
                                             n_classes=2, X_val=X2(), y_val=Y2(),
                                             n_iter_no_change=2, gamma=0.0),
    "jaxphys.classical.gb_predict": lambda: dict(params=_gb(), X=X2()),
    "jaxphys.classical.gb_predict_proba": lambda: dict(params=_gb(), X=X2()),
    "jaxphys.classical.gb_decision_function": lambda: dict(params=_gb(), X=X2()),
    "jaxphys.classical.cross_validate": lambda: dict(key=K(), fit=_kde_fit_fn, score=_kde_score_fn,
                                                     X=X2(), y=Y2(), n_folds=2),
    "jaxphys.classical.learning_curve": lambda: dict(key=K(), fit=_lstsq_fit_fn,
                                                     score=_lstsq_score_fn, X=X2(),
                                                     y=X2()[:, 0], train_sizes=(0.5, 1.0),
                                                     n_folds=2),
    "jaxphys.classical.grid_search": lambda: dict(key=K(), fit=_lstsq_fit_fn,
                                                  score=_lstsq_score_fn, X=X2(), y=X2()[:, 0],
                                                  grid={"lam": jnp.array([0.1, 1.0])}, n_folds=2),
    # data
    "jaxphys.data.coupled_oscillator": lambda: dict(key=K(), n=2, n_steps=3),
    "jaxphys.data.addition_problems": lambda: dict(key=K(), n_digits=1, n_train=3, n_test=2),
    "jaxphys.data.format_addition": lambda: dict(a=3, b=4, n_digits=1),
    "jaxphys.data.recall_first": lambda: dict(key=K(), n=4, length=3, n_symbols=2),
    "jaxphys.data.train_val_test_split": lambda: dict(key=K(), n=10),
    "jaxphys.data.kfold_indices": lambda: dict(key=K(), n=10, k=2),
    "jaxphys.data.split_sizes": lambda: dict(n=10, fractions=(0.6, 0.2, 0.2)),
    "jaxphys.data.minibatches": lambda: dict(key=K(), data=_linear_problem(), batch_size=4),
    "jaxphys.data.leading_size": lambda: dict(data=_linear_problem()),
    "jaxphys.data.straight_line": lambda: dict(key=K(), n=5),
    "jaxphys.data.gw_triggers": lambda: dict(key=K(), n=10),
    "jaxphys.data.two_moons": lambda: dict(key=K(), n=10),
    # linear
    "jaxphys.linear.lstsq_fit": lambda: dict(design=jnp.stack([jnp.ones(5), jnp.arange(5.0)], 1),
                                             y=jnp.arange(5.0) + 1.0),
    "jaxphys.linear.polyfit": lambda: dict(x=jnp.arange(5.0), y=jnp.arange(5.0) ** 2, deg=2),
    "jaxphys.linear.design_matrix_poly": lambda: dict(x=jnp.arange(3.0), deg=2),
    "jaxphys.linear.curve_fit": lambda: dict(f=lambda x, p: p[0] + p[1] * x, x=jnp.arange(5.0),
                                             y=2.0 * jnp.arange(5.0), p0=jnp.zeros(2),
                                             max_iter=3),
    "jaxphys.linear.ridge": lambda: dict(design=X2(), y=X2()[:, 0], lam=0.1),
    "jaxphys.linear.lasso": lambda: dict(design=X2(), y=X2()[:, 0], lam=0.1, max_iter=3),
    "jaxphys.linear.regularization_path": lambda: dict(fit_fn=_ridge(), design=X2(), y=X2()[:, 0],
                                                       lams=jnp.array([0.1, 1.0])),
    "jaxphys.linear.logistic_regression": lambda: dict(X=X2(), y=Y2(), n_classes=2, max_iter=3),
    "jaxphys.linear.logistic_predict_proba": lambda: dict(fit=_logistic(), X=X2()),
    "jaxphys.linear.logistic_predict": lambda: dict(fit=_logistic(), X=X2()),
    # losses
    **{f"jaxphys.losses.{name}": (lambda: dict(pred=jnp.array([1.0, 2.0, 3.0]),
                                                target=jnp.array([1.0, 2.0, 4.0])))
       for name in ("mse", "mae", "huber")},
    "jaxphys.losses.chi2": lambda: dict(pred=jnp.array([1.0, 2.0, 3.0]),
                                        target=jnp.array([1.0, 2.0, 4.0]), sigma=0.5),
    # metrics
    **{f"jaxphys.metrics.{name}": (lambda: dict(y_true=Y2(), y_pred=1 - Y2()))
       for name in ("accuracy", "binary_counts", "precision", "recall", "selectivity",
                    "f1_score")},
    "jaxphys.metrics.confusion_matrix": lambda: dict(y_true=Y2(), y_pred=1 - Y2(), n_classes=2),
    **{f"jaxphys.metrics.{name}": (lambda: dict(y_true=Y2(), scores=X2()[:, 0]))
       for name in ("roc_curve", "roc_auc", "precision_recall_curve")},
    "jaxphys.metrics.log_loss": lambda: dict(y_true=Y2(), prob=jnp.full(20, 0.4)),
    "jaxphys.metrics.calibration_curve": lambda: dict(y_true=Y2(), prob=jnp.linspace(0, 1, 20),
                                                      n_bins=2),
    "jaxphys.metrics.background_rejection": lambda: dict(y_true=Y2(), scores=X2()[:, 0],
                                                         signal_efficiency=0.5),
    # fitting
    "jaxphys.fitting.minimize": lambda: dict(cost=_line_cost(), parameters={"a": 0.0, "b": 0.0},
                                             max_iterations=3),
    "jaxphys.fitting.minos": lambda: dict(**_line_fit_kwargs(), parameter="b", max_iterations=3),
    "jaxphys.fitting.profile_scan": lambda: dict(**_line_fit_kwargs(), parameter="b",
                                                 values=jnp.array([1.5, 2.0]), max_iterations=3),
    "jaxphys.fitting.contour": lambda: dict(**_line_fit_kwargs(), x="a", y="b", size=4,
                                            max_iterations=3),
    "jaxphys.fitting.delta_for": lambda: dict(cl=0.68, n_parameters=1),
    "jaxphys.fitting.discovery_significance": lambda: dict(**_line_fit_kwargs(), parameter="a",
                                                           max_iterations=3),
    "jaxphys.fitting.upper_limit": lambda: dict(**_line_fit_kwargs(), parameter="a",
                                                max_iterations=3),
    "jaxphys.fitting.minimize_toys": lambda: dict(make_cost=_toy_cost,
                                                  data=jnp.array([[1.0, 3.0, 5.0]] * 2),
                                                  parameters={"a": 0.0, "b": 0.0}, batch_size=2,
                                                  max_iterations=3),
    # dynamics
    "jaxphys.dynamics.ill_conditioned_quadratic": lambda: dict(theta=jnp.array([1.0, 1.0])),
    "jaxphys.dynamics.rosenbrock": lambda: dict(theta=jnp.array([1.0, 1.0])),
    "jaxphys.dynamics.chi2_line": lambda: dict(theta=jnp.array([2.0, 1.0]), x=jnp.arange(3.0),
                                               y=2.0 * jnp.arange(3.0) + 1.0, sigma=0.5),
    "jaxphys.dynamics.gaussian_wells": lambda: dict(theta=jnp.array([1.0, 1.0])),
    "jaxphys.dynamics.chi2_landscape": lambda: dict(key=K(), n=5),
    "jaxphys.dynamics.gradient_descent": lambda: dict(loss=lambda t: jnp.sum(t ** 2),
                                                      theta0=jnp.array([1.0, -2.0]),
                                                      learning_rate=0.25, n_steps=2),
    "jaxphys.dynamics.optimizer_trajectories": lambda: dict(
        loss=lambda t: jnp.sum(t ** 2), optimizers=["gd"], starts=jnp.array([[1.0, 2.0]]),
        n_steps=2, learning_rates=jnp.array([0.25])),
    "jaxphys.dynamics.gd_quadratic": lambda: dict(theta0=-1.5, theta_star=3.0, eta=0.25, n=3),
    "jaxphys.dynamics.init_feature_map": lambda: dict(key=K(), d_in=1, n_features=5),
    "jaxphys.dynamics.apply_features": lambda: dict(feature_map=_feature_map(),
                                                    x=jnp.zeros((4, 1))),
    "jaxphys.dynamics.min_norm_lstsq": lambda: dict(features=jnp.array([[1.0, 1.0]]),
                                                    y=jnp.array([2.0])),
    "jaxphys.dynamics.double_descent": lambda: dict(
        key=K(), x_train=_x16()[:, None], y_train=jnp.sin(3 * _x16()), x_test=_x16()[:, None],
        y_test=jnp.sin(3 * _x16()), n_features=[2, 4], n_seeds=1),
    "jaxphys.dynamics.width_sweep": lambda: dict(
        key=K(), x_train=_x16()[:, None], y_train=jnp.sin(3 * _x16()), x_test=_x16()[:, None],
        y_test=jnp.sin(3 * _x16()), widths=[4], n_seeds=1, n_steps=2, learning_rate=0.05),
    "jaxphys.dynamics.depth_sweep": lambda: dict(
        key=K(), x_train=_x16()[:, None], y_train=jnp.sin(3 * _x16()), x_test=_x16()[:, None],
        y_test=jnp.sin(3 * _x16()), depths=[2], n_params=60, n_seeds=1, n_steps=2,
        learning_rate=0.05),
    "jaxphys.dynamics.fit_mlp_seeds": lambda: dict(
        key=K(), x_train=_x16()[:, None], y_train=jnp.sin(3 * _x16()), x_test=_x16()[:, None],
        y_test=jnp.sin(3 * _x16()), widths=(6, 1), n_seeds=1, n_steps=2, learning_rate=0.05),
    "jaxphys.dynamics.width_for_budget": lambda: dict(depth=3, n_params=1000, d_in=1, d_out=1),
    "jaxphys.dynamics.mlp_param_count": lambda: dict(d_in=1, widths=(4, 1)),
    "jaxphys.dynamics.fit_power_law": lambda: dict(
        sizes=jnp.array([10.0, 30.0, 100.0, 300.0]),
        losses=0.05 + 3.0 * jnp.array([10.0, 30.0, 100.0, 300.0]) ** -0.7, key=K(),
        n_bootstrap=5),
    "jaxphys.dynamics.scaling_sweep": lambda: dict(key=K(), train_fn=_scaling_fn, sizes=[1, 2],
                                                   n_seeds=1),
    "jaxphys.dynamics.teacher_student_sweep": lambda: dict(
        key=K(), n_train=[8], d_in=2, teacher_width=4, student_width=4, n_steps=2,
        learning_rate=0.003, n_test=8, n_seeds=1, n_eval=1),
    "jaxphys.dynamics.kan_grid_scaling": lambda: dict(key=K(), grid_sizes=(3, 4, 5), n_train=16,
                                                      n_test=16, n_lbfgs=2, n_bootstrap=5),
    "jaxphys.dynamics.bias_variance": lambda: dict(
        key=K(), fit_predict=lambda x, y, xt: jnp.full(xt.shape, jnp.mean(y)),
        sample_train=_draw_line, x_test=jnp.linspace(0.0, 1.0, 5), f_true=lambda x: 2.0 * x,
        sigma=0.1, n_sets=4),
    "jaxphys.dynamics.polynomial_bias_variance": lambda: dict(key=K(), degrees=[0, 1], n_train=5,
                                                              n_sets=4, n_test=5),
    "jaxphys.dynamics.length_map": lambda: dict(q=1.0, sigma_w2=1.0, sigma_b2=0.0, n_quad=8),
    "jaxphys.dynamics.fixed_point_length": lambda: dict(sigma_w2=0.5, sigma_b2=0.0, n_quad=8,
                                                        n_iter=5),
    "jaxphys.dynamics.correlation_map": lambda: dict(c=0.5, sigma_w2=1.5, sigma_b2=0.05, n_quad=8),
    "jaxphys.dynamics.fixed_point_correlation": lambda: dict(sigma_w2=0.5, sigma_b2=0.05,
                                                             n_quad=8, n_iter=5),
    "jaxphys.dynamics.chi1": lambda: dict(sigma_w2=0.5, sigma_b2=0.05, n_quad=8),
    "jaxphys.dynamics.mean_field": lambda: dict(sigma_w2=0.5, sigma_b2=0.05, n_quad=8, n_iter=5),
    "jaxphys.dynamics.critical_sigma_w2": lambda: dict(sigma_b2=0.05, n_quad=8, n_bisect=5),
    "jaxphys.dynamics.propagate_pair": lambda: dict(key=K(), h_a=jnp.ones(10), h_b=jnp.ones(10),
                                                    sigma_w2=1.5, sigma_b2=0.05, depth=2,
                                                    width=10),
    "jaxphys.dynamics.empirical_correlation_map": lambda: dict(
        key=K(), c_in=jnp.array([1.0]), q=0.5, sigma_w2=1.5, sigma_b2=0.05, width=10,
        n_networks=2),
    "jaxphys.dynamics.trainability": lambda: dict(
        key=K(), x=X2()[:8], y=Y2()[:8], sigma_w2=jnp.array([1.0]), sigma_b2=0.05, depths=[2],
        width=4, n_steps=2, batch_size=8, learning_rate=0.001),
    # nn
    "jaxphys.nn.max_pool": lambda: dict(x=jnp.arange(16.0).reshape(1, 4, 4, 1)),
    "jaxphys.nn.avg_pool": lambda: dict(x=jnp.arange(16.0).reshape(1, 4, 4, 1)),
    "jaxphys.nn.generate": lambda: dict(key=K(1), model=_lm()[0], params=_lm()[1],
                                        prompt=jnp.array([[1, 2]]), max_new_tokens=2,
                                        temperature=1.0),
    "jaxphys.nn.sample_logits": lambda: dict(key=K(), logits=jnp.array([0.0, 3.0, 1.0]),
                                             temperature=1.0),
    "jaxphys.nn.bspline_basis": lambda: dict(x=jnp.array([-1.0, 0.3, 1.0]), lo=-1.0, hi=1.0,
                                             grid_size=4, order=3),
    "jaxphys.nn.check_in_range": lambda: dict(kan=_kan()[0], x=_kan_x()),
    "jaxphys.nn.refine_grid": lambda: dict(kan=_kan()[0], params=_kan()[1], grid_size=10,
                                           x=_kan_x(), n_fit=16),
    "jaxphys.nn.edge_importance": lambda: dict(kan=_kan()[0], params=_kan()[1], x=_kan_x()),
    "jaxphys.nn.sparsity_penalty": lambda: dict(kan=_kan()[0], params=_kan()[1], x=_kan_x()),
    "jaxphys.nn.prune": lambda: dict(kan=_kan()[0], params=_kan()[1], x=_kan_x()),
    "jaxphys.nn.kan_activations": lambda: dict(kan=_kan()[0], params=_kan()[1], x=_kan_x()),
    "jaxphys.nn.fit_symbolic_edge": lambda: dict(x=jnp.linspace(-1.0, 1.0, 21),
                                                 y=jnp.sin(jnp.linspace(-1.0, 1.0, 21)),
                                                 name="sin", n_grid=5, n_zoom=1),
    "jaxphys.nn.suggest_symbolic": lambda: dict(x=jnp.linspace(-1.0, 1.0, 21),
                                                y=jnp.linspace(-1.0, 1.0, 21), library=["x"]),
    "jaxphys.nn.auto_symbolic": lambda: dict(kan=_kan()[0], params=_kan()[1], x=_kan_x(),
                                             library=["x"]),
    # generative
    "jaxphys.generative.corrupt": lambda: dict(key=K(), x=_ones(2, 8), kind="gaussian", level=0.1),
    "jaxphys.generative.train_autoencoder": lambda: dict(
        key=K(), model=_autoencoder(), x=_ones(16, 3), n_steps=2, batch_size=8,
        learning_rate=1e-3, val_x=_ones(8, 3)),
    "jaxphys.generative.pretrain_stacked": lambda: dict(key=K(), model=_stacked(), x=_ones(8, 4),
                                                        n_steps=2, batch_size=4,
                                                        learning_rate=1e-3),
    "jaxphys.generative.reconstruction_error": lambda: dict(apply_fn=lambda p, x: 0 * x,
                                                            params=None, x=_ones(2, 4)),
    "jaxphys.generative.detect_anomalies": lambda: dict(apply_fn=lambda p, x: 0 * x, params=None,
                                                        x=jnp.array([[0.1], [3.0]]),
                                                        threshold=1.0),
    "jaxphys.generative.elbo": lambda: dict(vae=_vae()[0], params=_vae()[1], x=_ones(3, 4),
                                            key=K(1)),
    "jaxphys.generative.train_vae": lambda: dict(key=K(), vae=_vae()[0], x=_ones(16, 4), n_steps=2,
                                                 batch_size=8, learning_rate=1e-3,
                                                 val_x=_ones(8, 4)),
    "jaxphys.generative.importance_log_likelihood": lambda: dict(
        key=K(1), vae=_vae()[0], params=_vae()[1], x=_ones(3, 4), k=4, chunk=2),
    "jaxphys.generative.sample_prior": lambda: dict(key=K(1), vae=_vae()[0], params=_vae()[1],
                                                    n=3),
    "jaxphys.generative.interpolate": lambda: dict(vae=_vae()[0], params=_vae()[1],
                                                   x_a=jnp.zeros(4), x_b=_ones(4), n_points=3),
    "jaxphys.generative.latent_traversal": lambda: dict(vae=_vae()[0], params=_vae()[1],
                                                        z0=jnp.zeros(2), dim=1,
                                                        values=jnp.linspace(-2.0, 2.0, 3)),
    "jaxphys.generative.latent_manifold": lambda: dict(vae=_vae()[0], params=_vae()[1], n_side=3),
    "jaxphys.generative.make_gan_step": lambda: dict(generator=_gan()[0], discriminator=_gan()[1],
                                                     latent_dim=3),
    "jaxphys.generative.init_gan": lambda: dict(
        key=K(), generator=_gan()[0], discriminator=_gan()[1], g_optimizer=_adam(),
        d_optimizer=_adam(), latent_dim=3, example_x=jnp.zeros((4, 2))),
    "jaxphys.generative.train_gan": lambda: dict(
        key=K(), generator=_gan()[0], discriminator=_gan()[1], x=_ones(16, 2), latent_dim=2,
        n_steps=2, batch_size=4, learning_rate=2e-4, chunk_size=2),
    "jaxphys.generative.gan_sample": lambda: dict(key=K(1), generator=_gan()[0], state=_gan()[2],
                                                  n=5, latent_dim=3),
    "jaxphys.generative.linear_schedule": lambda: dict(n_steps=10),
    "jaxphys.generative.cosine_schedule": lambda: dict(n_steps=10),
    "jaxphys.generative.make_schedule": lambda: dict(kind="linear", n_steps=10),
    "jaxphys.generative.timestep_embedding": lambda: dict(t=jnp.array([0, 5]), dim=4),
    "jaxphys.generative.ddpm_sample": lambda: dict(key=K(1), model=_time_mlp()[0],
                                                   params=_time_mlp()[1], schedule=_schedule(),
                                                   n=2, sample_shape=(2,)),
    "jaxphys.generative.ddim_sample": lambda: dict(key=K(1), model=_time_mlp()[0],
                                                   params=_time_mlp()[1], schedule=_schedule(20),
                                                   n=2, sample_shape=(2,), n_steps=4, eta=0.0),
    "jaxphys.generative.train_diffusion": lambda: dict(
        key=K(), model=_time_mlp(2)[0], schedule=_schedule(), x=_ones(16, 2), y=Y2()[:16],
        n_steps=2, batch_size=8, learning_rate=1e-3),
    "jaxphys.generative.diffusion_optimizer": lambda: dict(learning_rate=1e-3, n_steps=10),
    "jaxphys.generative.init_diffusion": lambda: dict(key=K(), model=_time_mlp()[0],
                                                      example_x=jnp.zeros((1, 2))),
    "jaxphys.generative.flow_optimizer": lambda: dict(learning_rate=1e-3, n_steps=10),
    "jaxphys.generative.fit_flow": lambda: dict(key=K(), flow=_nsf(), x=X2(), n_steps=2,
                                                batch_size=8, learning_rate=1e-2, val_x=X2()[:8]),
    "jaxphys.generative.init_npe": lambda: dict(key=K(), theta=_sims()[0], x=_sims()[1],
                                                flow=_nsf(), optimizer=_adam()),
    "jaxphys.generative.train_npe": lambda: dict(key=K(), theta=_sims()[0], x=_sims()[1],
                                                 flow=_nsf(), n_steps=2, batch_size=8,
                                                 learning_rate=1e-3),
    "jaxphys.generative.fit_npe": lambda: dict(key=K(), npe=_npe(), theta=_sims()[0],
                                               x=_sims()[1], n_steps=2, batch_size=8),
    "jaxphys.generative.sbc_ranks": lambda: dict(key=K(), posterior=_task().posterior,
                                                 theta=_sims()[0], x=_sims()[1], n_posterior=4),
    "jaxphys.generative.expected_coverage": lambda: dict(key=K(), posterior=_task().posterior,
                                                         theta=_sims()[0], x=_sims()[1],
                                                         n_posterior=4),
    "jaxphys.generative.sbc_uniformity": lambda: dict(result=_sbc_result(), n_bins=5),
    "jaxphys.generative.rank_uniformity": lambda: dict(ranks=np.arange(100) % 10, n_values=10,
                                                       n_bins=5),
    "jaxphys.generative.tarp_coverage": lambda: dict(key=K(), posterior=_task().posterior,
                                                     theta=_sims()[0], x=_sims()[1],
                                                     n_posterior=4, n_levels=5, n_bins=5),
    "jaxphys.generative.posterior_samples": lambda: dict(key=K(), posterior=_normal_posterior,
                                                         x=X2()[:3], n_samples=5, batch_size=2),
    "jaxphys.generative.train_sequential_npe": lambda: dict(
        key=K(), prior=_task().prior, simulate=_task().simulate, x_obs=jnp.array([0.1, -0.2]),
        n_rounds=1, simulations_per_round=24, n_support=50, flow=_nsf(), n_steps=2,
        batch_size=8, learning_rate=1e-3),
    "jaxphys.generative.truncated_prior_samples": lambda: dict(
        key=K(), prior=_two_moons_prior(), log_density=_disc_log_density, threshold=-0.25, n=10,
        batch_size=100, max_draws=1000),
    "jaxphys.generative.two_moons_simulate": lambda: dict(key=K(), theta=jnp.zeros(2)),
    "jaxphys.generative.two_moons_mean": lambda: dict(theta=jnp.zeros(2)),
    "jaxphys.generative.two_moons_log_likelihood": lambda: dict(theta=jnp.zeros(2),
                                                                x=jnp.array([0.35, 0.0])),
    "jaxphys.generative.two_moons_reference_posterior": lambda: dict(
        key=K(), x_obs=jnp.array([0.35, 0.0]), n_samples=10, coarse=20, refine=2),
    "jaxphys.generative.c2st": lambda: dict(key=K(), x=X2(), y=X2() + 3.0, n_folds=2, n_steps=2,
                                            batch_size=8, learning_rate=3e-3),
    "jaxphys.generative.fit_image_judge": lambda: dict(
        train_images=np.linspace(-1, 1, 40 * 6).reshape(40, 6) ** 3,
        train_labels=np.arange(40) % 3, reference_images=np.linspace(-1, 1, 60).reshape(10, 6),
        reference_labels=np.arange(10) % 3, n_classes=3, n_components=2),
    # physics.ising
    "jaxphys.physics.ising.elliptic_k": lambda: dict(k=0.5, n_iter=12),
    "jaxphys.physics.ising.onsager_energy": lambda: dict(temperature=2.0),
    "jaxphys.physics.ising.onsager_magnetization": lambda: dict(temperature=2.0),
    "jaxphys.physics.ising.simulate": lambda: dict(key=K(), L=4, temperature=jnp.array([1.0, 5.0]),
                                                   n_samples=2, n_thermal=1),
    "jaxphys.physics.ising.metropolis_sweep": lambda: dict(key=K(), spins=_spins(1)[0],
                                                           temperature=0.5),
    "jaxphys.physics.ising.wolff_update": lambda: dict(key=K(), spins=_spins(1)[0],
                                                       temperature=0.5),
    "jaxphys.physics.ising.metropolis_multispin": lambda: dict(
        key=K(), spins=_spins(2), temperature=jnp.full((2,), 0.3), n_sweeps=1),
    "jaxphys.physics.ising.wolff_multispin": lambda: dict(key=K(), spins=_spins(2),
                                                         temperature=0.5, n_flips=1),
    "jaxphys.physics.ising.random_spins": lambda: dict(key=K(), L=4),
    "jaxphys.physics.ising.ising_observables": lambda: dict(
        energy=-jnp.ones((1, 40)), magnetization=jnp.ones((1, 40)), temperature=jnp.array([1.0]),
        n_spins=16, n_blocks=4),
    "jaxphys.physics.ising.integrated_autocorrelation_time": lambda: dict(
        x=jnp.asarray(_rng().normal(size=200), jnp.float32)),
    "jaxphys.physics.ising.mean_with_error": lambda: dict(
        x=jnp.asarray(_rng().normal(size=200), jnp.float32)),
    "jaxphys.physics.ising.jackknife": lambda: dict(fn=lambda d: d.mean(), data=jnp.arange(100.0),
                                                    n_blocks=10),
    "jaxphys.physics.ising.ising_configurations": lambda: dict(
        key=K(), L=4, temperatures=jnp.array([1.5, 3.5]), n_per_temperature=2, n_chains=2,
        n_thermal=2),
    "jaxphys.physics.ising.phase_model": lambda: dict(kind="dense", hidden=8),
    "jaxphys.physics.ising.train_phase_classifier": lambda: dict(
        key=K(), spins=_spins(8), label=Y2()[:8], hidden=4, n_steps=2, batch_size=4,
        learning_rate=1e-3),
    "jaxphys.physics.ising.phase_curve": lambda: dict(clf=_phase_classifier(), spins=_spins(),
                                                      temperature=jnp.array([1.5, 1.5, 3.5, 3.5])),
    "jaxphys.physics.ising.bootstrap_crossing": lambda: dict(
        key=K(), p_ordered=np.repeat([0.9, 0.6, 0.2], 4), temperature=np.repeat([2.0, 2.3, 2.6], 4),
        n_boot=4),
    "jaxphys.physics.ising.crossing_temperature": lambda: dict(temperature=[1.0, 2.0, 3.0],
                                                               p_ordered=[1.0, 0.75, 0.25]),
    "jaxphys.physics.ising.accuracy_away_from_tc": lambda: dict(
        clf=_phase_classifier(), spins=_spins(), label=jnp.array([1, 1, 0, 0]),
        temperature=jnp.array([1.5, 1.5, 3.5, 2.3])),
    # physics.pinn
    "jaxphys.physics.pinn.train_pinn": lambda: dict(
        key=K(), problem=_pinn()[0], field=_pinn()[1].field, params=_pinn()[2], n_collocation=8,
        n_adam=1, learning_rate=1e-3, n_lbfgs=1, memory_size=2),
    "jaxphys.physics.pinn.sample_uniform": lambda: dict(key=K(), n=5, lo=[-1.0, 0.0],
                                                        hi=[1.0, 1.0]),
    "jaxphys.physics.pinn.sample_latin_hypercube": lambda: dict(key=K(), n=4, lo=[0.0], hi=[1.0]),
    "jaxphys.physics.pinn.adaptive_resample": lambda: dict(
        key=K(), candidates=jnp.array([[0.0], [1.0], [2.0], [3.0]]),
        scores=jnp.array([0.1, 5.0, 0.2, 3.0]), n=2),
    "jaxphys.physics.pinn.burgers_cole_hopf": lambda: dict(x=jnp.array([-0.5, 0.0, 0.5]),
                                                           t=jnp.array([0.0, 0.5, 0.0]),
                                                           n_nodes=10),
    "jaxphys.physics.pinn.heat_exact": lambda: dict(x=jnp.array([0.5]), t=jnp.array([1.0]),
                                                    kappa=0.1),
    "jaxphys.physics.pinn.burgers_problem": lambda: dict(n_condition_points=8),
    "jaxphys.physics.pinn.relative_l2": lambda: dict(pred=jnp.array([1.0, 2.0]),
                                                     exact=jnp.array([1.0, 2.5])),
    **{f"jaxphys.physics.pinn.{name}": (lambda: dict(key=K(), widths=(4,), n_collocation=8,
                                                      n_adam=1, n_lbfgs=0))
       for name in ("solve_burgers", "solve_heat", "solve_damped_oscillator")},
    "jaxphys.physics.pinn.burgers_inverse": lambda: dict(
        key=K(), points=_burgers_points()[0], values=_burgers_points()[1], widths=(4,),
        n_collocation=8, n_adam=1, n_lbfgs=0),
    # physics.simulators
    "jaxphys.physics.simulators.simulate_batch": lambda: dict(key=K(), task=_task(), n=4),
    "jaxphys.physics.simulators.damped_oscillator": lambda: dict(n_obs=5),
    "jaxphys.physics.simulators.oscillator_signal": lambda: dict(theta=jnp.array([1.25, 0.75]),
                                                                 times=jnp.array([0.0, 1.0])),
    "jaxphys.physics.simulators.gw_chirp": lambda: dict(n_samples=16, sample_rate=32.0),
    "jaxphys.physics.simulators.chirp_signal": lambda: dict(
        theta=jnp.array([1.0, 10.0, 0.0]), times=jnp.linspace(0.0, 0.5, 16), t_c=0.6),
    "jaxphys.physics.simulators.gaussian_linear": lambda: dict(dim=2),
    # physics.gw
    "jaxphys.physics.gw.colored_noise": lambda: dict(key=K(), noise=_gw_problem().noise),
    "jaxphys.physics.gw.matched_filter_snr": lambda: dict(data=_tiny_strain(),
                                                          template=_tiny_strain(),
                                                          noise=_tiny_noise()),
    "jaxphys.physics.gw.to_time_domain": lambda: dict(series=_gw_strain(),
                                                      noise=_gw_problem().noise,
                                                      sample_rate=256.0),
    "jaxphys.physics.gw.whitened_time_series": lambda: dict(strain=_gw_strain(),
                                                            noise=_gw_problem().noise,
                                                            sample_rate=256.0),
    **{f"jaxphys.physics.gw.{name}": (lambda: dict(data=_tiny_strain(), template=_tiny_strain(),
                                                    noise=_tiny_noise()))
       for name in ("log_likelihood_ratio", "whittle_log_likelihood",
                    "phase_marginalized_log_likelihood_ratio")},
    "jaxphys.physics.gw.noise_log_likelihood": lambda: dict(data=_tiny_strain(),
                                                            noise=_tiny_noise()),
    "jaxphys.physics.gw.gw_signal": lambda: dict(theta=_gw_theta(), problem=_gw_problem()),
    "jaxphys.physics.gw.simulate_features": lambda: dict(key=K(), theta=_gw_theta(),
                                                         problem=_gw_problem()),
    "jaxphys.physics.gw.simulate_dataset": lambda: dict(key=K(), problem=_gw_problem(), n=3),
    "jaxphys.physics.gw.make_log_posterior": lambda: dict(data=_gw_strain(),
                                                          problem=_gw_problem()),
    "jaxphys.physics.gw.distance_for_snr": lambda: dict(theta=_gw_theta(), snr=20.0,
                                                        problem=_gw_problem()),
    "jaxphys.physics.gw.intrinsic_bank": lambda: dict(key=K(), problem=_gw_problem(), n=3),
    "jaxphys.physics.gw.ensemble_step": lambda: dict(key=K(), state=_ensemble_state(),
                                                     log_prob_fn=_gaussian_log_p),
    "jaxphys.physics.gw.ensemble_sample": lambda: dict(
        key=K(), log_prob_fn=_gaussian_log_p, initial_positions=X2()[:8], n_steps=4, n_burn=1,
        thin=1),
    "jaxphys.physics.gw.reference_posterior": lambda: dict(
        key=K(), data=_gw_strain(), problem=_gw_problem(), n_walkers=8, n_steps=8, n_burn=2,
        thin=1, n_candidates=16),
    "jaxphys.physics.gw.importance_resample": lambda: dict(
        key=K(), samples=jnp.array([[10.0], [20.0]]), weights=jnp.array([0.25, 0.75]), n=8),
    "jaxphys.physics.gw.reduced_basis": lambda: dict(
        waveforms=np.exp(2j * np.pi * np.outer(3 + 0.1 * np.arange(20), np.linspace(0, 1, 50))),
        n_basis=5),
    "jaxphys.physics.gw.waveform_basis": lambda: dict(key=K(), problem=_gw_problem(),
                                                      n_waveforms=8, n_basis=3),
    "jaxphys.physics.gw.train_gw_npe": lambda: dict(
        key=K(), problem=_gw_problem(), n_simulations=16, n_basis=2, n_basis_waveforms=4,
        embedding_width=4, embedding_blocks=1, embedding_dim=2, flow_layers=1, flow_hidden=(4,),
        n_bins=2, n_steps=1, batch_size=4, learning_rate=1e-3),
    "jaxphys.physics.gw.sample_posterior": lambda: dict(key=K(), model=_gw_model()[0],
                                                        data=_gw_strain(), n=4),
    "jaxphys.physics.gw.posterior_log_prob": lambda: dict(model=_gw_model()[0],
                                                          data=_gw_model()[2][:2],
                                                          theta=_gw_model()[1][:2]),
    "jaxphys.physics.gw.importance_sample_posterior": lambda: dict(key=K(), model=_gw_model()[0],
                                                                  strain=_gw_strain(), n=4),
    "jaxphys.physics.gw.prior_log_prob_baseline": lambda: dict(model=_gw_model()[0],
                                                               theta=_gw_theta()[None]),
    "jaxphys.physics.gw.credible_levels": lambda: dict(samples=np.arange(10.0).reshape(1, 10, 1),
                                                       truths=np.array([[2.5]])),
    "jaxphys.physics.gw.kolmogorov_pvalue": lambda: dict(distance=0.1, n=100),
    "jaxphys.physics.gw.pp_plot_data": lambda: dict(levels=_rng().uniform(size=(30, 2)),
                                                    n_grid=11),
    # plot
    "jaxphys.plot.plot_pp": lambda: dict(credible_levels=_rng().uniform(size=(30, 2)), n_grid=11),
    # rl
    "jaxphys.rl.evaluate": lambda: dict(key=K(), env=_cartpole()[0], env_params=None,
                                        policy=lambda key, obs: 1, n_episodes=2, max_steps=3),
    "jaxphys.rl.q_network": lambda: dict(n_actions=2, hidden=(4,)),
    "jaxphys.rl.init_runner": lambda: dict(key=K(), env=_cartpole()[0], env_params=_cartpole()[1],
                                           n_envs=2),
    "jaxphys.rl.rollout": lambda: dict(key=K(1), env=_cartpole()[0], env_params=_cartpole()[1],
                                       act=_push_right, runner=_runner(), n_steps=2),
    "jaxphys.rl.replay_init": lambda: dict(example={"x": jnp.float32(0.0)}, capacity=3),
    "jaxphys.rl.replay_sample": lambda: dict(key=K(), buffer=_replay(), batch_size=2),
    "jaxphys.rl.dqn_target": lambda: dict(reward=1.0, terminated=0.0,
                                          q_next_online=jnp.array([0.0, 2.0]),
                                          q_next_target=jnp.array([5.0, 3.0]), gamma=0.5),
    "jaxphys.rl.epsilon_greedy": lambda: dict(key=K(), q_values=jnp.array([0.1, 2.0, -1.0]),
                                              epsilon=0.1),
    "jaxphys.rl.gae": lambda: dict(reward=jnp.ones(3), value=jnp.zeros(3), next_value=jnp.zeros(3),
                                   terminated=jnp.zeros(3, bool), done=jnp.zeros(3, bool),
                                   gamma=0.5, lam=1.0),
    "jaxphys.rl.returns_to_go": lambda: dict(
        reward=jnp.ones(4), terminated=jnp.array([False, True, False, False]),
        truncated=jnp.array([False, False, False, True]), bootstrap=jnp.full(4, 10.0), gamma=0.5),
    "jaxphys.rl.conjugate_gradient": lambda: dict(
        matvec=lambda v: jnp.array([[4.0, 1.0], [1.0, 3.0]]) @ v, b=jnp.array([1.0, 2.0]),
        n_iters=2),
    "jaxphys.rl.tanh_gaussian_sample": lambda: dict(key=K(), mean=jnp.zeros((3, 2)),
                                                    log_std=jnp.zeros((3, 2))),
    "jaxphys.rl.soft_q_target": lambda: dict(reward=1.0, terminated=False, next_q_min=2.0,
                                             next_log_prob=-1.0, gamma=0.5, alpha=0.1),
    "jaxphys.rl.bellman_q": lambda: dict(mdp=_mdp(), values=jnp.zeros(1), gamma=0.9),
    "jaxphys.rl.policy_evaluation": lambda: dict(mdp=_mdp(), policy=jnp.array([0]), gamma=0.9,
                                                 max_iter=5),
    "jaxphys.rl.value_iteration": lambda: dict(mdp=_mdp(), gamma=0.9, max_iter=5),
    "jaxphys.rl.q_value_iteration": lambda: dict(mdp=_mdp(), gamma=0.9, max_iter=5),
    "jaxphys.rl.random_argmax": lambda: dict(key=K(), values=jnp.array([1.0, 3.0, 3.0]),
                                             mask=jnp.array([True, True, True])),
    "jaxphys.rl.sparse_maze": lambda: dict(max_steps=10),
    "jaxphys.rl.plain_starts": lambda: dict(env_params=_grid_params(), n_stages=3),
    "jaxphys.rl.mcts_search": lambda: dict(key=K(), env=_ising_chain()[0],
                                           params=_ising_chain()[1], state=_ising_chain()[3],
                                           obs=_ising_chain()[2], config=_mcts_config()),
    "jaxphys.rl.mcts_episode": lambda: dict(key=K(), env=_ising_chain()[0],
                                            params=_ising_chain()[1], config=_mcts_config(),
                                            max_steps=2,
                                            initial=(_ising_chain()[2], _ising_chain()[3])),
    "jaxphys.rl.envs.enumerate_ising_chain": lambda: dict(J=[1.0, 1.0], h=0.0, n_spins=3),
    "jaxphys.rl.envs.random_pm_j_couplings": lambda: dict(key=K(), n_bonds=5),
    "jaxphys.rl.envs.make_mdp_params": lambda: dict(transitions=jnp.ones((1, 2, 1)),
                                                    rewards=jnp.zeros((1, 2, 1)), max_steps=5),
    "jaxphys.rl.envs.three_state_mdp": lambda: dict(max_steps=50),
}


# --------------------------------------------------------------------------------------
# The checks.
# --------------------------------------------------------------------------------------

CASES = generate_cases()

_COMPILE = {"on": False, "seconds": 0.0}


def _on_duration(event: str, duration: float, **_: Any) -> None:
    if _COMPILE["on"] and event == "/jax/core/compile/backend_compile_duration":
        _COMPILE["seconds"] += duration


jax.monitoring.register_event_duration_secs_listener(_on_duration)

# the XLA compile time a rejected call may spend (small eager helpers, no training)
MAX_COMPILE_SECONDS = 1.0


def _call(entry: str, param: str, value: Any) -> tuple[BaseException | None, float]:
    """Call ``entry`` with its valid arguments but ``param=value``; return the error
    raised (None if none) and the seconds XLA spent compiling during the call."""
    fn = FUNCTIONS[entry]
    kwargs = VALID_CALLS[entry]()
    kwargs[param] = value
    _COMPILE.update(on=True, seconds=0.0)
    try:
        fn(**kwargs)
    except (TypeError, ValueError) as err:
        return err, _COMPILE["seconds"]
    finally:
        _COMPILE["on"] = False
    return None, _COMPILE["seconds"]


def _valid_value(entry: str, param: str) -> Any:
    kwargs = VALID_CALLS[entry]()
    if param in kwargs:
        return kwargs[param]
    return inspect.signature(FUNCTIONS[entry]).parameters[param].default


def _check_rejected(entry: str, param: str, value: Any, what: str) -> None:
    err, compile_s = _call(entry, param, value)
    assert err is not None, f"{entry} accepted {what} for {param!r} without an error"
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(param)}(?![A-Za-z0-9_])", str(err)), (
        f"{entry}({param}={what}) raised {type(err).__name__} without naming {param!r}: {err}")
    assert compile_s < MAX_COMPILE_SECONDS, (
        f"{entry}({param}={what}) compiled for {compile_s:.1f} s before rejecting it")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_rejected(case: Case):
    bad = BAD_VALUES[case.kind][case.bad](_valid_value(case.entry, case.param))
    _check_rejected(case.entry, case.param, bad, case.bad)


def test_every_entry_point_has_a_valid_call_or_is_excluded():
    missing = sorted(set(ENTRY_POINTS) - set(VALID_CALLS) - set(EXCLUDED))
    assert not missing, f"entry points with a key/count/rate/data parameter, no call: {missing}"
    stale = sorted((set(VALID_CALLS) | set(EXCLUDED)) - set(ENTRY_POINTS))
    assert not stale, f"VALID_CALLS or EXCLUDED name no entry point: {stale}"
    both = sorted(set(VALID_CALLS) & set(EXCLUDED))
    assert not both, f"both in VALID_CALLS and EXCLUDED: {both}"


def test_valid_calls_bind_to_their_signatures():
    """Every baseline names real parameters and supplies the required ones (the calls
    themselves run in the slow tier, test_valid_calls_run)."""
    for entry, make in VALID_CALLS.items():
        inspect.signature(FUNCTIONS[entry]).bind(**make())


@pytest.mark.slow
@pytest.mark.parametrize("entry", sorted(VALID_CALLS))
def test_valid_calls_run(entry: str):
    """The baselines are valid: each runs without an error (slow: this trains)."""
    out = FUNCTIONS[entry](**VALID_CALLS[entry]())
    if inspect.isgenerator(out):
        next(out)


_COUNTS = sorted({(c.entry, c.param) for c in CASES if c.kind == "count"})
_RATES = sorted({(c.entry, c.param) for c in CASES if c.kind == "rate"})


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(_COUNTS), value=st.integers(max_value=-1))
def test_any_negative_count_is_rejected(where, value):
    _check_rejected(*where, value, f"{value}")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=st.sampled_from(_RATES),
       value=st.floats(min_value=-1e30, max_value=-1e-6) | st.sampled_from([math.nan, -math.inf]))
def test_any_negative_or_nan_rate_is_rejected(where, value):
    _check_rejected(*where, _rate(value)(_valid_value(*where)), f"{value}")


def sweep_size() -> tuple[int, int]:
    """(entry points swept, generated cases)."""
    return len(set(ENTRY_POINTS) - set(EXCLUDED)), len(CASES)


def test_reported_size_is_the_sweeps():
    """The README and docs/development.md quote the sweep's size; they must quote this one."""
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    phrase = "{} entry points with {} generated cases".format(*sweep_size())
    for page in ("README.md", "docs/development.md"):
        text = " ".join((root / page).read_text().split())
        assert phrase in text, f"{page} does not say {phrase!r}"


if __name__ == "__main__":
    n_entries, n_cases = sweep_size()
    by_kind = Counter(c.kind for c in CASES)
    print(f"{n_entries} entry points, {n_cases} generated cases "
          f"({', '.join(f'{k}: {v}' for k, v in sorted(by_kind.items()))}); "
          f"{len(EXCLUDED)} excluded")
