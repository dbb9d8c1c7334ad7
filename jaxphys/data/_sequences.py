r"""Small synthetic sequence tasks for recurrent networks and transformers.

* :func:`coupled_oscillator` — two masses between two walls joined by three
  springs; a model sees the first coordinate and must infer the hidden second one.
  Exact solution by normal modes.
* :func:`addition_problems` — fixed-width strings ``"07+45=052"`` over a 12-symbol
  vocabulary, with disjoint train and test problems.
* :func:`recall_first` — a memory task: recall the first symbol of a random sequence.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import check_key

from jaxphys._checks import as_int
from ._synthetic import Dataset

# --------------------------------------------------------------------------- oscillator


def _positive_tuple(values: Any, name: str, length: int) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected {length} positive numbers, got {values!r}") from None
    if arr.shape != (length,) or not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(f"{name}: expected {length} finite positive numbers, got {values!r}")
    return arr


def normal_modes(masses: Any = (1.0, 1.5), springs: Any = (1.0, 0.6, 1.4)
                 ) -> tuple[np.ndarray, np.ndarray]:
    r"""Angular frequencies ``(2,)`` and mass-normalised mode shapes ``(2, 2)`` (columns)
    of the two-mass, three-spring chain, from :math:`K v = \omega^2 M v`, :math:`V^\top M V = I`.

    Example:
        >>> omega, modes = normal_modes((1.0, 1.0), (1.0, 1.0, 1.0))
        >>> [round(float(w), 4) for w in omega]                  # 1 and √3
        [1.0, 1.7321]
    """
    m = _positive_tuple(masses, "masses", 2)
    k1, kc, k2 = _positive_tuple(springs, "springs", 3)
    stiffness = np.array([[k1 + kc, -kc], [-kc, k2 + kc]])
    m_isqrt = np.diag(1.0 / np.sqrt(m))
    lam, u = np.linalg.eigh(m_isqrt @ stiffness @ m_isqrt)
    return np.sqrt(lam), m_isqrt @ u


def coupled_oscillator(key: jax.Array, n: int = 256, n_steps: int = 100, dt: float = 0.1,
                       masses: Any = (1.0, 1.5), springs: Any = (1.0, 0.6, 1.4),
                       amplitude: float = 1.0, noise: float = 0.0) -> Dataset:
    r"""Trajectories of two coupled oscillators; observe :math:`x_1`, predict :math:`x_2`.

    Wall — :math:`k_1` — :math:`m_1` — :math:`k_c` — :math:`m_2` — :math:`k_2` — wall,
    displacements :math:`x_1, x_2` from equilibrium:

    .. math::
        m_1\ddot x_1 = -k_1 x_1 - k_c(x_1 - x_2),\qquad
        m_2\ddot x_2 = -k_2 x_2 - k_c(x_2 - x_1),

    i.e. :math:`M\ddot x = -Kx`. With the normal modes
    (:func:`normal_modes`, :math:`V^\top M V = I`) the exact solution is
    :math:`x(t) = V[q_0\cos\omega t + (\dot q_0/\omega)\sin\omega t]` with
    :math:`q_0 = V^\top M x_0`, :math:`\dot q_0 = V^\top M v_0`. Initial positions and
    velocities are i.i.d. uniform on ``[-amplitude, amplitude]`` (velocities scaled by
    the lower mode frequency). The energy
    :math:`E = \tfrac12\sum_i m_i v_i^2 + \tfrac12 k_1x_1^2 + \tfrac12 k_c(x_1-x_2)^2
    + \tfrac12 k_2x_2^2` is conserved. Arbitrary consistent units (e.g. kg, N/m, s, m).

    Args:
        key: a JAX PRNG key.
        n: number of trajectories.
        n_steps: samples per trajectory, at times ``t = 0, dt, …, (n_steps-1)·dt``.
        dt: sampling interval (> 0).
        masses: ``(m1, m2)`` > 0.
        springs: ``(k1, kc, k2)`` > 0 (left wall, coupling, right wall).
        amplitude: scale of the initial conditions (> 0).
        noise: standard deviation of Gaussian noise added to the observed ``x``
            (the targets ``y`` stay exact).

    Returns:
        :class:`Dataset` with ``x`` the observed :math:`x_1` ``(n, n_steps, 1)``,
        ``y`` the hidden :math:`x_2` ``(n, n_steps, 1)``, and ``truth`` = {``'t'``
        ``(n_steps,)``, ``'positions'`` ``(n, n_steps, 2)``, ``'velocities'``
        ``(n, n_steps, 2)``, ``'energy'`` ``(n,)``, ``'omega'`` ``(2,)``,
        ``'masses'``, ``'springs'``, ``'noise'``}.

    Example:
        >>> ds = coupled_oscillator(jax.random.key(0), n=4, n_steps=50)
        >>> ds.x.shape, ds.y.shape, ds.truth["positions"].shape
        ((4, 50, 1), (4, 50, 1), (4, 50, 2))
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    n_steps = as_int(n_steps, "n_steps", minimum=2)
    for value, name in ((dt, "dt"), (amplitude, "amplitude")):
        if not (np.isfinite(float(value)) and float(value) > 0):
            raise ValueError(f"{name}: expected a finite value > 0, got {value!r}")
    if not (np.isfinite(float(noise)) and float(noise) >= 0):
        raise ValueError(f"noise: expected a finite value >= 0, got {noise!r}")
    m = _positive_tuple(masses, "masses", 2)
    k = _positive_tuple(springs, "springs", 3)
    omega, modes = normal_modes(m, k)
    dtype = jnp.result_type(float)
    key_x0, key_v0, key_noise = jax.random.split(key, 3)
    x0 = jax.random.uniform(key_x0, (n, 2), dtype, -amplitude, amplitude)
    v0 = omega[0] * jax.random.uniform(key_v0, (n, 2), dtype, -amplitude, amplitude)
    t = jnp.arange(n_steps, dtype=dtype) * dt
    v_mat = jnp.asarray(modes, dtype)                       # (2 coords, 2 modes)
    proj = v_mat.T @ jnp.diag(jnp.asarray(m, dtype))        # V^T M
    q0 = x0 @ proj.T                                        # (n, modes)
    qd0 = v0 @ proj.T
    w = jnp.asarray(omega, dtype)
    phase = t[:, None] * w[None, :]                         # (T, modes)
    q = q0[:, None, :] * jnp.cos(phase)[None] \
        + (qd0 / w[None, :])[:, None, :] * jnp.sin(phase)[None]
    qd = -q0[:, None, :] * w[None, None, :] * jnp.sin(phase)[None] \
        + qd0[:, None, :] * jnp.cos(phase)[None]
    positions = q @ v_mat.T                                 # (n, T, 2)
    velocities = qd @ v_mat.T
    energy = oscillator_energy(positions[:, 0], velocities[:, 0], m, k)
    observed = positions[..., :1]
    if float(noise) > 0:
        observed = observed + noise * jax.random.normal(key_noise, observed.shape, dtype)
    truth = {"t": t, "positions": positions, "velocities": velocities, "energy": energy,
             "omega": w, "masses": jnp.asarray(m, dtype), "springs": jnp.asarray(k, dtype),
             "noise": float(noise)}
    return Dataset(x=observed, y=positions[..., 1:], truth=truth)


def oscillator_energy(positions: Any, velocities: Any, masses: Any = (1.0, 1.5),
                      springs: Any = (1.0, 0.6, 1.4)) -> jax.Array:
    r"""Total energy of the chain for positions and velocities ``(..., 2)``: shape ``(...)``.

    Example:
        >>> float(oscillator_energy(jnp.array([1.0, 0.0]), jnp.zeros(2), (1, 1), (2, 1, 1)))
        1.5
    """
    x = jnp.asarray(positions)
    v = jnp.asarray(velocities)
    if x.shape[-1:] != (2,) or v.shape != x.shape:
        raise ValueError(f"velocities: expected the shape of positions (..., 2) "
                         f"{tuple(x.shape)}, got {tuple(v.shape)}")
    m = _positive_tuple(masses, "masses", 2)
    k1, kc, k2 = _positive_tuple(springs, "springs", 3)
    kinetic = 0.5 * (m[0] * v[..., 0] ** 2 + m[1] * v[..., 1] ** 2)
    potential = 0.5 * (k1 * x[..., 0] ** 2 + kc * (x[..., 0] - x[..., 1]) ** 2
                       + k2 * x[..., 1] ** 2)
    return kinetic + potential


# --------------------------------------------------------------------------- addition

ADDITION_VOCAB = "0123456789+="
"""Symbols of :func:`addition_problems`: digit d has id d, ``'+'`` 10, ``'='`` 11."""


class AdditionTask(NamedTuple):
    """Multi-digit addition as token sequences ``a+b=s`` (fixed width, zero-padded).

    Fields:
        train: int32 tokens ``(n_train, length)``.
        test: int32 tokens ``(n_test, length)``.
        train_operands: int ``(n_train, 2)``, the pairs ``(a, b)``.
        test_operands: int ``(n_test, 2)``; no pair appears in both sets.
        n_digits: digits per operand; the sum has ``n_digits + 1``.
        prompt_length: tokens up to and including ``'='`` (``2·n_digits + 2``); the
            answer is ``tokens[:, prompt_length:]``.
        vocab: the symbol string (:data:`ADDITION_VOCAB`), ``vocab_size = 12``.

    Example:
        >>> from jaxphys.data import addition_problems, decode_addition
        >>> task = addition_problems(jax.random.key(0), n_digits=2, n_train=4, n_test=2)
        >>> task.train.shape, task.test.shape, task.prompt_length, task.vocab
        ((4, 9), (2, 9), 6, '0123456789+=')
        >>> a, b = task.train_operands[0].tolist()
        >>> text = decode_addition(task.train[0])                  # e.g. '07+45=052'
        >>> int(text[:2]) == a, int(text[3:5]) == b, int(text[task.prompt_length:]) == a + b
        (True, True, True)
    """

    train: jax.Array
    test: jax.Array
    train_operands: np.ndarray
    test_operands: np.ndarray
    n_digits: int
    prompt_length: int
    vocab: str = ADDITION_VOCAB


def encode_addition(text: str | list[str]) -> jax.Array:
    """Strings over :data:`ADDITION_VOCAB` → int32 ids; equal-length strings → ``(n, L)``.

    Example:
        >>> encode_addition("12+3=").tolist()
        [1, 2, 10, 3, 11]
    """
    single = isinstance(text, str)
    rows = [text] if single else list(text)
    if len({len(r) for r in rows}) > 1:
        raise ValueError("text: a list of strings must all have the same length")
    bad = sorted(set("".join(rows)) - set(ADDITION_VOCAB))
    if bad:
        raise ValueError(f"text: symbols {bad} are not in the vocabulary {ADDITION_VOCAB!r}")
    lookup = np.full(128, -1, np.int32)
    lookup[[ord(c) for c in ADDITION_VOCAB]] = np.arange(len(ADDITION_VOCAB), dtype=np.int32)
    codes = np.frombuffer("".join(rows).encode("ascii"), np.uint8).reshape(len(rows), -1)
    ids = lookup[codes]
    return jnp.asarray(ids[0] if single else ids)


def decode_addition(tokens: Any) -> str | list[str]:
    """int ids → string (rank 1) or list of strings (rank 2).

    Example:
        >>> decode_addition(jnp.array([1, 2, 10, 3, 11]))
        '12+3='
    """
    arr = np.asarray(tokens)
    if arr.ndim == 2:
        return [decode_addition(row) for row in arr]
    if arr.ndim != 1:
        raise ValueError(f"tokens: expected rank 1 or 2, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= len(ADDITION_VOCAB)):
        raise ValueError(f"tokens: ids must lie in [0, {len(ADDITION_VOCAB)}), got "
                         f"{arr.min()}..{arr.max()}")
    return "".join(ADDITION_VOCAB[int(i)] for i in arr)


def format_addition(a: int, b: int, n_digits: int) -> str:
    """The problem string: operands zero-padded to ``n_digits``, the sum to ``n_digits + 1``.

    Example:
        >>> from jaxphys.data import format_addition
        >>> format_addition(7, 45, 2), format_addition(99, 99, 2)
        ('07+45=052', '99+99=198')
    """
    a = as_int(a, "a", minimum=0)
    b = as_int(b, "b", minimum=0)
    n_digits = as_int(n_digits, "n_digits", minimum=1)
    return f"{a:0{n_digits}d}+{b:0{n_digits}d}={a + b:0{n_digits + 1}d}"


def addition_problems(key: jax.Array, n_digits: int = 2, n_train: int = 8000,
                      n_test: int = 1000) -> AdditionTask:
    r"""Distinct addition problems ``a + b`` with ``0 <= a, b < 10^n_digits``, split into
    disjoint train and test sets.

    Each problem is the string ``a+b=s`` (operands zero-padded to ``n_digits``, the sum
    to ``n_digits + 1``), e.g. ``"07+45=052"``, length ``3·n_digits + 3``. The
    ``n_train + n_test`` pairs are drawn without replacement from the
    :math:`10^{2 n}` possible ones, so no ordered pair ``(a, b)`` is in both sets.

    Args:
        key: a JAX PRNG key.
        n_digits: digits per operand, 1 to 6.
        n_train / n_test: set sizes; together at most :math:`10^{2n}`.

    Returns:
        :class:`AdditionTask`.

    Example:
        >>> task = addition_problems(jax.random.key(0), n_digits=2, n_train=5, n_test=3)
        >>> task.train.shape, task.prompt_length, len(decode_addition(task.test[0]))
        ((5, 9), 6, 9)
    """
    check_key(key)
    n_digits = as_int(n_digits, "n_digits", minimum=1)
    if n_digits > 6:
        raise ValueError(f"n_digits: expected 1 to 6, got {n_digits}")
    n_train = as_int(n_train, "n_train", minimum=1)
    n_test = as_int(n_test, "n_test", minimum=0)
    base = 10 ** n_digits
    n_pairs = base * base
    need = n_train + n_test
    if need > n_pairs:
        raise ValueError(f"n_train: n_train + n_test = {need} exceeds the {n_pairs} distinct "
                         f"{n_digits}-digit problems")
    if n_pairs <= 2_000_000:
        chosen = np.asarray(jax.random.permutation(key, n_pairs)[:need], np.int64)
    else:  # sample with replacement and keep first occurrences (duplicates are rare)
        chosen = np.empty(0, np.int64)
        attempt = 0
        while chosen.size < need:
            draw_key = jax.random.fold_in(key, attempt)
            a = np.asarray(jax.random.randint(draw_key, (2 * need, 2), 0, base), np.int64)
            cand = np.concatenate([chosen, a[:, 0] * base + a[:, 1]])
            _, first = np.unique(cand, return_index=True)
            chosen = cand[np.sort(first)]
            attempt += 1
        chosen = chosen[:need]
    operands = np.stack([chosen // base, chosen % base], axis=1)
    strings = [format_addition(int(a), int(b), n_digits) for a, b in operands]
    tokens = encode_addition(strings) if strings else jnp.zeros((0, 3 * n_digits + 3), jnp.int32)
    return AdditionTask(train=tokens[:n_train], test=tokens[n_train:],
                        train_operands=operands[:n_train], test_operands=operands[n_train:],
                        n_digits=n_digits, prompt_length=2 * n_digits + 2)


# --------------------------------------------------------------------------- memory


def recall_first(key: jax.Array, n: int = 1024, length: int = 20, n_symbols: int = 4) -> Dataset:
    """A memory task: one-hot random symbols; the label is the *first* symbol.

    A many-to-one model must carry the first input across ``length - 1`` steps of
    distracting symbols; chance accuracy is ``1 / n_symbols``.

    Returns:
        :class:`Dataset` with ``x`` float one-hot ``(n, length, n_symbols)``, ``y`` int32
        ``(n,)`` and ``truth = {'symbols': (n, length) int32, 'chance': 1/n_symbols}``.

    Example:
        >>> ds = recall_first(jax.random.key(0), n=8, length=5, n_symbols=3)
        >>> ds.x.shape, bool((ds.x[:, 0].argmax(-1) == ds.y).all())
        ((8, 5, 3), True)
    """
    check_key(key)
    n = as_int(n, "n", minimum=1)
    length = as_int(length, "length", minimum=1)
    n_symbols = as_int(n_symbols, "n_symbols", minimum=2)
    symbols = jax.random.randint(key, (n, length), 0, n_symbols, dtype=jnp.int32)
    x = jax.nn.one_hot(symbols, n_symbols, dtype=jnp.result_type(float))
    return Dataset(x=x, y=symbols[:, 0], truth={"symbols": symbols, "chance": 1.0 / n_symbols})
