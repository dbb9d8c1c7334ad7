r"""Recurrent networks: Elman RNN, LSTM and GRU cells run over time with ``lax.scan``.

A *cell* maps ``(carry, x_t) -> (carry', y_t)`` for one time step of a batch;
:class:`Recurrent` runs a cell over the time axis of an input of shape
``(batch, time, features)`` with ``flax.linen.scan`` (one ``lax.scan``;
back-propagation through time is the scan's transpose), optionally in both
directions, and returns every step (many-to-many) or the last one (many-to-one),
optionally followed by a dense head.

Cell equations (row vectors, :math:`x_t` of size F, hidden size H,
:math:`\sigma` the logistic sigmoid, :math:`\odot` the elementwise product):

* :class:`SimpleRNNCell` (Elman):
  :math:`h_t = \phi(x_t W_x + h_{t-1} W_h + b)` with :math:`\phi = \tanh` by default.
* :class:`LSTMCell` (gates in the order i, f, g, o along the last axis of the
  kernels ``W_x (F, 4H)``, ``W_h (H, 4H)`` and the bias ``b (4H,)``):

  .. math::
      [a_i, a_f, a_g, a_o] = x_t W_x + h_{t-1} W_h + b,\quad
      c_t = \sigma(a_f) \odot c_{t-1} + \sigma(a_i) \odot \tanh(a_g),\quad
      h_t = \sigma(a_o) \odot \tanh(c_t).

  The forget-gate bias starts at ``forget_bias`` (1 by default), so that the
  cell remembers by default at initialisation.
* :class:`GRUCell` (gates r, z, n; PyTorch's convention with two biases):

  .. math::
      r = \sigma(x W_{xr} + b_{xr} + h W_{hr} + b_{hr}),\quad
      z = \sigma(x W_{xz} + b_{xz} + h W_{hz} + b_{hz}),\\
      n = \tanh(x W_{xn} + b_{xn} + r \odot (h W_{hn} + b_{hn})),\quad
      h_t = (1 - z) \odot n + z \odot h_{t-1}.

The recurrent kernels :math:`W_h` are initialised with one random orthogonal
``(H, H)`` block per gate (``recurrent_init='orthogonal'``): their singular
values are all 1, so at initialisation the linearised recurrence neither
shrinks nor blows up the state over many steps. Input kernels use LeCun normal
by default. Both are selectable by name (``jaxphys.nn`` initialiser names) or as
callables.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from ._activations import get_activation
from ._initializers import get_initializer


def _initializer(init: Any, name: str) -> Callable:
    try:
        return get_initializer(init)
    except (ValueError, TypeError) as err:  # name the attribute the user set
        msg = str(err).split(":", 1)[-1].strip()
        raise type(err)(f"{name}: {msg}") from None


def _blockwise(init: Callable, n_blocks: int) -> Callable:
    """An initialiser for a ``(H, n_blocks·H)`` kernel: ``init`` drawn per ``(H, H)`` block."""

    def init_fn(key, shape, dtype=jnp.float32):
        rows, cols = shape
        if cols != n_blocks * rows:
            return init(key, shape, dtype)
        keys = jax.random.split(key, n_blocks)
        return jnp.concatenate([init(k, (rows, rows), dtype) for k in keys], axis=1)

    return init_fn


class LSTMState(NamedTuple):
    """The carry of an :class:`LSTMCell`.

    Fields:
        h: hidden state (output), shape ``(batch, hidden)``.
        c: memory cell, shape ``(batch, hidden)``.

    Example:
        >>> from jaxphys.nn import LSTMCell, LSTMState
        >>> state = LSTMCell(hidden=3).initial_carry(2)     # zero state for 2 sequences
        >>> isinstance(state, LSTMState), state.h.shape, float(abs(state.c).sum())
        (True, (2, 3), 0.0)
    """

    h: jax.Array
    c: jax.Array


def _check_step_input(x: jax.Array, in_features: int, cell: str) -> None:
    if x.ndim != 2:
        raise ValueError(f"x: {cell} expects one time step of shape (batch, features), "
                         f"got shape {tuple(x.shape)}")
    if x.shape[-1] != in_features:
        raise ValueError(f"x: expected {in_features} input features (the size the parameters "
                         f"were initialised with), got {x.shape[-1]}")


class _Cell(nn.Module):
    """Shared parameters of the three cells (``n_gates`` blocks of width ``hidden``)."""

    hidden: int
    kernel_init: Any = "lecun_normal"
    recurrent_init: Any = "orthogonal"

    def _kernels(self, x: jax.Array, n_gates: int):
        if self.hidden < 1:
            raise ValueError(f"hidden: expected a positive size, got {self.hidden}")
        k_init = _initializer(self.kernel_init, "kernel_init")
        r_init = _blockwise(_initializer(self.recurrent_init, "recurrent_init"), n_gates)
        width = n_gates * self.hidden
        in_features = jnp.shape(x)[-1]
        if self.has_variable("params", "kernel_input"):
            in_features = self.get_variable("params", "kernel_input").shape[0]
        _check_step_input(x, in_features, type(self).__name__)
        w_x = self.param("kernel_input", k_init, (in_features, width))
        w_h = self.param("kernel_hidden", r_init, (self.hidden, width))
        return w_x, w_h

    def initial_carry(self, batch_size: int, dtype: Any = jnp.float32):
        """The zero state for ``batch_size`` sequences."""
        return jnp.zeros((batch_size, self.hidden), dtype)


class SimpleRNNCell(_Cell):
    """Elman cell ``h_t = φ(x_t W_x + h_{t-1} W_h + b)``; carry and output are ``h``.

    Attributes:
        hidden: state size H.
        activation: φ, a name or callable (``'tanh'`` by default).
        kernel_init / recurrent_init: initialiser names or callables.

    Example:
        >>> cell = SimpleRNNCell(hidden=3)
        >>> h0 = cell.initial_carry(2)
        >>> params = cell.init(jax.random.key(0), h0, jnp.ones((2, 5)))
        >>> h1, y1 = cell.apply(params, h0, jnp.ones((2, 5)))
        >>> y1.shape
        (2, 3)
    """

    activation: Any = "tanh"

    @nn.compact
    def __call__(self, carry: jax.Array, x: jax.Array):
        w_x, w_h = self._kernels(x, 1)
        b = self.param("bias", nn.initializers.zeros, (self.hidden,))
        act = get_activation(self.activation)
        h = act(x @ w_x + carry @ w_h + b[None, :])
        return h, h


class LSTMCell(_Cell):
    """Long short-term memory cell (see the module docstring for the equations).

    Attributes:
        hidden: state size H.
        forget_bias: initial value of the forget-gate bias (1.0).
        kernel_init / recurrent_init: initialiser names or callables.

    Parameters: ``kernel_input (F, 4H)``, ``kernel_hidden (H, 4H)``, ``bias (4H,)``,
    gate blocks in the order i, f, g, o. The carry is an :class:`LSTMState`; the output
    is ``h``.

    Example:
        >>> cell = LSTMCell(hidden=3)
        >>> state = cell.initial_carry(2)
        >>> params = cell.init(jax.random.key(0), state, jnp.ones((2, 5)))
        >>> new_state, y = cell.apply(params, state, jnp.ones((2, 5)))
        >>> y.shape, new_state.c.shape
        ((2, 3), (2, 3))
    """

    forget_bias: float = 1.0

    @nn.compact
    def __call__(self, carry: LSTMState, x: jax.Array):
        w_x, w_h = self._kernels(x, 4)
        hid = self.hidden
        forget_bias = self.forget_bias

        def bias_init(key, shape, dtype=jnp.float32):
            del key
            return jnp.zeros(shape, dtype).at[hid:2 * hid].set(forget_bias)

        b = self.param("bias", bias_init, (4 * hid,))
        a = x @ w_x + carry.h @ w_h + b[None, :]
        a_i, a_f, a_g, a_o = jnp.split(a, 4, axis=-1)
        c = nn.sigmoid(a_f) * carry.c + nn.sigmoid(a_i) * jnp.tanh(a_g)
        h = nn.sigmoid(a_o) * jnp.tanh(c)
        return LSTMState(h=h, c=c), h

    def initial_carry(self, batch_size: int, dtype: Any = jnp.float32) -> LSTMState:
        """The zero state ``LSTMState(h=0, c=0)`` for ``batch_size`` sequences."""
        zeros = jnp.zeros((batch_size, self.hidden), dtype)
        return LSTMState(h=zeros, c=zeros)


class GRUCell(_Cell):
    """Gated recurrent unit (see the module docstring; PyTorch's gate convention).

    Attributes:
        hidden: state size H.
        kernel_init / recurrent_init: initialiser names or callables.

    Parameters: ``kernel_input (F, 3H)``, ``kernel_hidden (H, 3H)``, ``bias_input (3H,)``,
    ``bias_hidden (3H,)``, gate blocks in the order r, z, n. Carry and output are ``h``.

    Example:
        >>> cell = GRUCell(hidden=3)
        >>> h0 = cell.initial_carry(2)
        >>> params = cell.init(jax.random.key(0), h0, jnp.ones((2, 5)))
        >>> cell.apply(params, h0, jnp.ones((2, 5)))[1].shape
        (2, 3)
    """

    @nn.compact
    def __call__(self, carry: jax.Array, x: jax.Array):
        w_x, w_h = self._kernels(x, 3)
        b_x = self.param("bias_input", nn.initializers.zeros, (3 * self.hidden,))
        b_h = self.param("bias_hidden", nn.initializers.zeros, (3 * self.hidden,))
        gx_r, gx_z, gx_n = jnp.split(x @ w_x + b_x[None, :], 3, axis=-1)
        gh_r, gh_z, gh_n = jnp.split(carry @ w_h + b_h[None, :], 3, axis=-1)
        r = nn.sigmoid(gx_r + gh_r)
        z = nn.sigmoid(gx_z + gh_z)
        n = jnp.tanh(gx_n + r * gh_n)
        h = (1.0 - z) * n + z * carry
        return h, h


def _run_cell(cell: nn.Module, carry: Any, x: jax.Array, reverse: bool):
    """Scan ``cell`` over axis 1 of ``x`` (batch, time, features); params are shared."""
    scan = nn.scan(lambda mdl, c, xt: mdl(c, xt), variable_broadcast="params",
                   split_rngs={"params": False}, in_axes=1, out_axes=1, reverse=reverse)
    return scan(cell, carry, x)


class RecurrentOutput(NamedTuple):
    """What :meth:`Recurrent.__call__` returns with ``return_carry=True``.

    Fields:
        outputs: ``(batch, time, D)`` (``return_sequences``) or ``(batch, D)``, where
            ``D`` is ``out_features`` if set, else ``hidden`` (``2·hidden`` bidirectional).
        carry: the final carry of the forward cell (for a bidirectional layer a tuple
            ``(forward, backward)``, the backward one after reaching time 0).

    Example:
        >>> from jaxphys.nn import LSTMCell, Recurrent, RecurrentOutput
        >>> layer = Recurrent(LSTMCell(hidden=8))
        >>> x = jnp.ones((4, 10, 2))                         # (batch, time, features)
        >>> params = layer.init(jax.random.key(0), x)
        >>> res = layer.apply(params, x, return_carry=True)
        >>> isinstance(res, RecurrentOutput), res.outputs.shape, res.carry.c.shape
        (True, (4, 10, 8), (4, 8))
        >>> bool(jnp.allclose(res.carry.h, res.outputs[:, -1]))   # the last output is h_T
        True
    """

    outputs: jax.Array
    carry: Any


class Recurrent(nn.Module):
    """Run a recurrent cell over a sequence with ``lax.scan``.

    Attributes:
        cell: a cell module (:class:`SimpleRNNCell`, :class:`LSTMCell`, :class:`GRUCell`
            or any module ``cell(carry, x_t) -> (carry, y_t)`` with ``initial_carry``).
        bidirectional: also run a second copy of the cell (its own parameters) from the
            last time step to the first and concatenate its outputs on the feature axis.
        return_sequences: ``True`` (many-to-many) returns every step
            ``(batch, time, D)``; ``False`` (many-to-one) returns the last step
            ``(batch, D)`` (for a bidirectional layer: the forward output at the last
            step and the backward output at step 0, each having seen the whole sequence).
        out_features: optional width of a dense head applied to the outputs.

    Call ``layer(x, initial_carry=None, return_carry=False)`` with ``x`` of shape
    ``(batch, time, features)`` (batch first; a single sequence needs a leading axis
    of 1). ``initial_carry`` is the forward cell's starting carry (zeros by default; a
    backward cell always starts from zeros). Inputs of the wrong rank, an empty
    time axis, or a feature count different from the one the parameters were
    initialised with raise a ``ValueError`` naming ``x``.

    Example:
        >>> layer = Recurrent(LSTMCell(hidden=8), return_sequences=False, out_features=1)
        >>> x = jnp.ones((4, 10, 2))                       # (batch, time, features)
        >>> params = layer.init(jax.random.key(0), x)
        >>> layer.apply(params, x).shape
        (4, 1)
        >>> Recurrent(GRUCell(hidden=8), bidirectional=True).init_with_output(
        ...     jax.random.key(1), x)[0].shape
        (4, 10, 16)
    """

    cell: nn.Module
    bidirectional: bool = False
    return_sequences: bool = True
    out_features: int | None = None

    @nn.compact
    def __call__(self, x: jax.Array, initial_carry: Any = None, return_carry: bool = False):
        x = jnp.asarray(x)
        if x.ndim != 3:
            raise ValueError(f"x: expected shape (batch, time, features), got rank {x.ndim} "
                             f"with shape {tuple(x.shape)}")
        if x.shape[1] < 1:
            raise ValueError(f"x: expected at least one time step, got shape {tuple(x.shape)}")
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(jnp.result_type(float))
        batch = x.shape[0]
        fwd_cell = self.cell.clone(parent=self, name="forward")
        carry0 = fwd_cell.initial_carry(batch, x.dtype) if initial_carry is None \
            else initial_carry
        carry_f, y = _run_cell(fwd_cell, carry0, x, reverse=False)
        y_last = y[:, -1]
        carry = carry_f
        if self.bidirectional:
            bwd_cell = self.cell.clone(parent=self, name="backward")
            carry_b, y_b = _run_cell(bwd_cell, bwd_cell.initial_carry(batch, x.dtype), x,
                                     reverse=True)
            y = jnp.concatenate([y, y_b], axis=-1)
            y_last = jnp.concatenate([y_last, y_b[:, 0]], axis=-1)
            carry = (carry_f, carry_b)
        out = y if self.return_sequences else y_last
        if self.out_features is not None:
            out = nn.Dense(int(self.out_features), name="head")(out)
        if return_carry:
            return RecurrentOutput(outputs=out, carry=carry)
        return out
