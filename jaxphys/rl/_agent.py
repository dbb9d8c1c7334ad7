"""The agent contract: ``make_<algo>(env, env_params, config, *, network=None) -> Agent``.

Every agent of :mod:`jaxphys.rl` (DQN, REINFORCE, A2C, PPO, TRPO, SAC, tabular
Q-learning and TD(0), the curriculum learner) is built one way and used one way:

* ``config``, a frozen dataclass, holds what fixes shapes and loop lengths (numbers of
  environments and steps, buffer sizes, network widths): changing it recompiles.
* ``hparams``, a NamedTuple of float32 arrays (``agent.default_hparams``), holds every
  float one may sweep (learning rate, γ, λ, ε schedule, clip ε, coefficients, τ, α):
  they are traced, so ``jax.vmap(agent.train)(keys, hparams)`` trains many seeds and
  settings in one compiled call.
* ``init(key, hparams) -> state``: the agent's state, a NamedTuple with an int32
  ``step`` field (updates done), its networks' ``jaxphys.core.TrainState`` s, the
  environments (:class:`~jaxphys.rl.RunnerState`), any replay buffer, and ``hparams``.
  ``state.params`` are the parameters the policy needs.
* ``step(state, batch, key) -> (state, metrics)``: one update (collect experience,
  learn from it), a :func:`jaxphys.core.run_steps` step (``batch`` is unused): the host
  driver trains agents too, ``jaxphys.core.fit(key, state, NO_DATA, step=agent.step,
  n_steps=n, checkpoint_dir=...)`` (progress bar, periodic checkpoints, resume).
* ``train_from(key, state, n_updates) -> (state, metrics)``: ``n_updates`` updates with
  :func:`jaxphys.core.run_steps`; update ``s`` draws its randomness from
  ``fold_in(step_key, s)``, so a run cut in two and resumed (through
  :func:`jaxphys.core.save_checkpoint` / :func:`~jaxphys.core.restore_checkpoint` of the
  state) equals the uninterrupted run bit for bit.
* ``train(key, hparams=None) -> AgentResult``: ``init`` then ``train_from`` for
  ``agent.n_updates`` updates, with ``key_init, key_run = jax.random.split(key)``.
* ``policy(params, deterministic=True) -> act(key, obs) -> action`` for
  :func:`jaxphys.rl.evaluate`.

Hyperparameters are checked before any tracing: the structure (the agent's NamedTuple,
one float per field), and, for concrete values, the ranges (γ in [0, 1], positive
rates, …), each error naming ``hparams.<field>``. Inside ``jit``/``vmap`` only the
structure can be checked: ``agent.check_hparams(batched)`` checks a whole sweep
(arrays of any leading shape) beforehand.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, check_key, check_range
from jaxphys.core import run_steps
from jaxphys.rl._rollout import forward_fill

__all__ = ["Agent", "AgentResult", "HyperparamSpec", "build_agent", "check_config_type",
           "sweep_axes",
           "RATE", "UNIT", "NONNEGATIVE", "POSITIVE", "ANY", "NO_DATA"]

#: The (unused) data argument of ``run_steps`` for agents: experience is collected inside
#: the step. One row so that ``run_steps`` / ``fit`` see a leading axis.
NO_DATA = np.zeros((1,), np.float32)


class HyperparamSpec(NamedTuple):
    """The allowed values of one hyperparameter: the interval and the shape of one value.

    Fields: low, high (None: unbounded), low_open, high_open (exclusive bounds), shape
    (of one setting; ``()`` for a scalar).

    Example:
        >>> from jaxphys.rl import HyperparamSpec
        >>> rate = HyperparamSpec(0.0, None, low_open=True)     # a learning rate: (0, inf)
        >>> rate.low, rate.high, rate.low_open, rate.high_open, rate.shape
        (0.0, None, True, False, ())
        >>> HyperparamSpec(0.0, 1.0)                            # a discount γ: [0, 1]
        HyperparamSpec(low=0.0, high=1.0, low_open=False, high_open=False, shape=())
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    shape: tuple = ()


RATE = HyperparamSpec(0.0, None, low_open=True)          # learning rates, > 0
POSITIVE = RATE
UNIT = HyperparamSpec(0.0, 1.0)                           # γ, λ, τ, ε: [0, 1]
NONNEGATIVE = HyperparamSpec(0.0, None)                   # coefficients
ANY = HyperparamSpec()                                    # any finite value


class AgentResult(NamedTuple):
    """What ``agent.train`` returns.

    Fields:
        state: the agent's final state (``state.params`` for ``agent.policy``).
        metrics: dict of per-update arrays, shape ``(n_updates,)`` (a leading axis more per
            ``vmap``): at least ``episode_return`` (mean return of the episodes that ended
            in the update, carried forward over updates in which none did; NaN before the
            first), ``n_episodes`` and ``env_steps`` (environment steps so far, summed
            over the parallel environments).

    Example:
        >>> import jax.numpy as jnp
        >>> from jaxphys.rl import AgentResult
        >>> metrics = {"episode_return": jnp.array([jnp.nan, 9.0, 12.0]),  # none ended yet
        ...            "env_steps": jnp.array([64, 128, 192])}
        >>> result = AgentResult(state=None, metrics=metrics)    # what agent.train returns
        >>> result.metrics["env_steps"].shape                    # one entry per update
        (3,)
        >>> float(result.metrics["episode_return"][-1])
        12.0
    """

    state: Any
    metrics: dict


class Agent(NamedTuple):
    """An agent: static configuration, default hyperparameters and pure functions.

    Fields:
        name: the algorithm, e.g. ``"ppo"``.
        config: the frozen config dataclass it was built with.
        default_hparams: the hyperparameter NamedTuple (float32 arrays) of the defaults.
        n_updates: int, the updates ``train`` runs.
        init: ``init(key, hparams=None) -> state``.
        step: ``step(state, batch, key) -> (state, metrics)``, one update (``batch`` unused).
        train_from: ``train_from(key, state, n_updates) -> (state, metrics)``.
        train: ``train(key, hparams=None) -> AgentResult``.
        policy: ``policy(params, deterministic=True) -> act(key, obs) -> action``.
        check_hparams: ``check_hparams(hparams) -> hparams`` (float32 arrays; a sweep's
            arrays may have leading axes).
        network: the network in use (the default or the user's), ``None`` for tables.

    Example:
        >>> from jaxphys.rl import Agent, ReinforceConfig, make_reinforce
        >>> from jaxphys.rl.envs import CartPole
        >>> cfg = ReinforceConfig(total_timesteps=1000, n_envs=2, n_steps=500, hidden=(8,))
        >>> agent = make_reinforce(CartPole(), None, cfg)      # no training yet
        >>> isinstance(agent, Agent), agent.name, agent.n_updates   # 1000 / (2 × 500)
        (True, 'reinforce', 1)
        >>> agent.default_hparams._fields
        ('learning_rate', 'gamma', 'ent_coef', 'vf_coef', 'max_grad_norm')
    """

    name: str
    config: Any
    default_hparams: Any
    n_updates: int
    init: Callable[..., Any]
    step: Callable[..., tuple[Any, dict]]
    train_from: Callable[..., tuple[Any, dict]]
    train: Callable[..., AgentResult]
    policy: Callable[..., Callable[[jax.Array, jax.Array], jax.Array]]
    check_hparams: Callable[[Any], Any]
    network: Any


def sweep_axes(hparams: Any, *fields: str) -> Any:
    """``in_axes`` for ``jax.vmap(agent.train, in_axes=(0, sweep_axes(hparams, ...)))``:
    axis 0 on the named hyperparameters, None (shared) on the others.

    Example:
        >>> from typing import NamedTuple
        >>> class H(NamedTuple):
        ...     learning_rate: float = 1e-3
        ...     gamma: float = 0.99
        >>> sweep_axes(H(), "learning_rate")
        H(learning_rate=0, gamma=None)
    """
    unknown = sorted(set(fields) - set(hparams._fields))
    if unknown:
        raise ValueError(f"fields: {unknown} are not hyperparameters; expected some of "
                         f"{list(hparams._fields)}")
    return type(hparams)(*[0 if name in fields else None for name in hparams._fields])


def check_config_type(config: Any, config_type: type) -> Any:
    """``config`` if it is a ``config_type`` (else a TypeError naming ``config``)."""
    if not isinstance(config, config_type):
        raise TypeError(f"config: expected a {config_type.__name__}, got "
                        f"{type(config).__name__}")
    return config


def _hparams_checker(hparams_type: type, defaults: Any, specs: dict) -> Callable:
    fields = hparams_type._fields

    def check(hparams: Any, *, batched: bool = True) -> Any:
        if hparams is None:
            return defaults
        if not isinstance(hparams, hparams_type):
            raise TypeError(f"hparams: expected a {hparams_type.__name__} with fields "
                            f"{', '.join(fields)} (agent.default_hparams._replace(...)), got "
                            f"{type(hparams).__name__}")
        out = []
        for name, value in zip(fields, hparams):
            spec = specs[name]
            label = f"hparams.{name}"
            if isinstance(value, (dict, list, tuple)) or value is None:
                raise TypeError(f"{label}: expected a float array, got {type(value).__name__}")
            try:
                arr = jnp.asarray(value)
            except TypeError as err:
                raise TypeError(f"{label}: expected a float array, got "
                                f"{type(value).__name__} ({err})") from None
            if not (jnp.issubdtype(arr.dtype, jnp.floating)
                    or jnp.issubdtype(arr.dtype, jnp.integer)):
                raise TypeError(f"{label}: expected a float, got dtype {arr.dtype}")
            arr = arr.astype(jnp.float32)
            shape = tuple(arr.shape)
            want = tuple(spec.shape)
            ok = shape[len(shape) - len(want):] == want if batched else shape == want
            if not ok or len(shape) < len(want):
                what = "a scalar" if not want else f"shape {want}"
                extra = " (a leading sweep axis is allowed)" if batched else (
                    " per setting (vmap over a sweep)")
                raise ValueError(f"{label}: expected {what}{extra}, got shape {shape}")
            check_range(arr, label, low=spec.low, high=spec.high, low_open=spec.low_open,
                        high_open=spec.high_open)
            out.append(arr)
        return hparams_type(*out)

    return check


def build_agent(name: str, config: Any, hparams_type: type, default_hparams: Any,
                specs: dict, state_type: type, init_fn: Callable, step_fn: Callable,
                n_updates: int, policy_fn: Callable, network: Any,
                check: Callable[[Any], None] | None = None) -> Agent:
    """Assemble an :class:`Agent` from an agent's pieces (used by every ``make_<algo>``).

    Args:
        name, config, network: stored as they are.
        hparams_type: the NamedTuple class of the hyperparameters.
        default_hparams: an instance of it (floats or arrays).
        specs: ``{field: HyperparamSpec}`` for every field.
        state_type: the NamedTuple class of the agent's state.
        init_fn: ``init_fn(key, hparams) -> state`` (hparams already checked).
        step_fn: ``step_fn(state, batch, key) -> (state, metrics)``.
        n_updates: the updates ``train`` runs (int ≥ 1).
        policy_fn: ``policy_fn(params, deterministic) -> act(key, obs) -> action``.
        check: optional ``check(hparams)`` of relations between checked concrete values.
    """
    missing = sorted(set(hparams_type._fields) - set(specs))
    if missing:
        raise ValueError(f"specs: no HyperparamSpec for {missing}")
    n_updates = as_int(n_updates, "n_updates", minimum=1)
    checker = _hparams_checker(hparams_type, None, specs)
    defaults = checker(default_hparams, batched=False)
    checker = _hparams_checker(hparams_type, defaults, specs)

    def checked(hparams: Any) -> Any:
        hparams = checker(hparams, batched=False)
        if check is not None and all(not isinstance(x, jax.core.Tracer) for x in hparams):
            check(hparams)
        return hparams

    init_jit = jax.jit(init_fn)

    def init(key: jax.Array, hparams: Any = None) -> Any:
        check_key(key)
        return init_jit(key, checked(hparams))

    def train_from(key: jax.Array, state: Any, n_updates: int) -> tuple[Any, dict]:
        check_key(key)
        if not isinstance(state, state_type):
            raise TypeError(f"state: expected a {state_type.__name__} (agent.init), got "
                            f"{type(state).__name__}")
        return run_steps(step_fn, state, NO_DATA, key, n_steps=n_updates)

    def train_impl(key: jax.Array, hparams: Any) -> AgentResult:
        key_init, key_run = jax.random.split(key)
        state = init_fn(key_init, hparams)
        state, metrics = run_steps(step_fn, state, NO_DATA, key_run, n_steps=n_updates)
        metrics = dict(metrics)
        metrics["episode_return"] = forward_fill(metrics["episode_return"])
        return AgentResult(state, metrics)

    train_jit = jax.jit(train_impl)

    def train(key: jax.Array, hparams: Any = None) -> AgentResult:
        check_key(key)
        return train_jit(key, checked(hparams))

    def policy(params: Any, deterministic: bool = True) -> Callable:
        if not isinstance(deterministic, (bool, np.bool_)):
            raise TypeError(f"deterministic: expected a bool, got {type(deterministic).__name__}")
        return policy_fn(params, bool(deterministic))

    return Agent(name=name, config=config, default_hparams=defaults, n_updates=n_updates,
                 init=init, step=step_fn, train_from=train_from, train=train, policy=policy,
                 check_hparams=lambda hparams: checker(hparams, batched=True), network=network)
