r"""What every normalising flow shares: parameters, context, the distrax distribution.

A flow is a model (DESIGN convention 4)::

    params = flow.init(key, example_x, context=None)
    dist = flow.apply(params, context=None)       # a distrax.Transformed
    dist.log_prob(x); dist.sample(seed=key, sample_shape=n); dist.sample_and_log_prob(...)

The distribution is ``Transformed(N(0, I_d), T)`` with ``T`` a distrax ``Chain`` of
conditioned layers and fixed permutations. ``T`` maps base to data, so

.. math:: \log q(x) = \log \mathcal N(T^{-1}(x); 0, I) + \log|\det J_{T^{-1}}(x)|.

**Parameters.** ``params['layers']`` is a list of groups; the layers whose
conditioners have the same shapes form one group, their parameters stacked along a
leading axis (one group for every flow except a coupling flow without permutations in
odd dimension, whose alternating masks give two). Few large leaves instead of one set
per layer keep the optimiser update, the gradient norm and the non-finite guard of a
train step to a handful of kernels.

**Context.** distrax bijectors have no context argument, so ``apply`` closes each
conditioner over the context: layer ``i``'s bijector is built from
``lambda x: net(params_i, x, embed(context))``. The context may be one vector ``(c,)``
(shared by every sample: ``dist.sample(seed=k, sample_shape=n)`` draws ``n``
samples of ``q(·|c)``) or a batch ``(n, c)`` matching a batch of ``x`` in
``log_prob`` (one context per row; for sampling use ``sample_shape=n``). An optional
``embedding`` (any flax module ``(..., c) -> (..., e)``) compresses a
high-dimensional context first; it is trained jointly.

Every conditioner's last layer is zero-initialised, so ``init`` returns the identity
flow: ``log_prob`` is the standard-normal log-density. A flow with ``standardise=True``
ends with a trainable elementwise affine layer that ``init`` sets from the rows of
``example_x``: the flow then starts as the diagonal Gaussian fit to them (the identity
again for a single row).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import distrax
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_array, check_key
from ._bijectors import Permute, StandardNormal


class FlowDistribution(distrax.Transformed):
    """``distrax.Transformed`` with its event shape (d,), batch shape () and dtype set
    from the flow (distrax would infer them by tracing ``forward`` on one base sample,
    which a batch of contexts (n, c) cannot broadcast against).

    Example (every flow's ``apply(params, context)`` returns one; here one built by hand,
    the standard normal through ``z ↦ (1, -1) + (2, 3) ⊙ z``, i.e. ``N((1, -1), diag(4, 9))``):
        >>> import jax.numpy as jnp
        >>> from jaxphys.generative import ElementwiseAffine, FlowDistribution, StandardNormal
        >>> shift, scale = jnp.array([1.0, -1.0]), jnp.array([2.0, 3.0])
        >>> q = FlowDistribution(StandardNormal(2), ElementwiseAffine(shift, scale), 2,
        ...                      jnp.float32)
        >>> q.event_shape, q.batch_shape
        ((2,), ())
        >>> round(float(q.log_prob(shift)), 4)          # at the mean: -log 2π - log(2·3)
        -3.6296
    """

    def __init__(self, base, bijector, d: int, dtype):
        super().__init__(base, bijector)
        self._event_shape = (int(d),)
        self._batch_shape = ()
        self._dtype = dtype


def _coupling_mask(i: int, d: int, alternate: bool) -> np.ndarray:
    """Coupling mask (True = conditioned on, passed through): the first half of the
    coordinates when a permutation sits between layers (the permutation moves the
    coordinates around), else alternating parity masks. For d = 1 the only coordinate
    is transformed (the conditioner then sees only the context)."""
    if d == 1:
        return np.zeros(1, bool)
    if not alternate:
        return np.arange(d) < d // 2
    return (np.arange(d) % 2) == (i % 2)


def _layer_slice(group, j: int):
    return jax.tree.map(lambda a: a[j], group)


@dataclasses.dataclass(frozen=True)
class _Flow:
    """Shared machinery; subclasses define the conditioner and the layer bijector."""

    n_layers: int = 4
    hidden: Sequence[int] = (64, 64)
    activation: str | Callable = "relu"
    permutation: str | None = "reverse"
    embedding: nn.Module | None = None
    seed: int = 0
    standardise: bool = False

    # -- subclass hooks -------------------------------------------------------------
    n_params: int = dataclasses.field(default=2, init=False)

    def _net(self, i: int, d: int) -> nn.Module:
        """Layer ``i``'s conditioner network."""
        raise NotImplementedError

    def _net_input(self, i: int, x: jax.Array) -> jax.Array:
        """The conditioner's example input for layer ``i`` given data rows ``x`` (n, d)."""
        raise NotImplementedError

    def _dim(self, group_params) -> int:
        """The event dimension d from the stacked parameters of the first group."""
        raise NotImplementedError

    def _layer(self, i: int, d: int, net: Callable) -> distrax.Bijector:
        raise NotImplementedError

    # -------------------------------------------------------------------------------
    def _perm(self, i: int, d: int) -> np.ndarray:
        if self.permutation == "reverse":
            return np.arange(d)[::-1].copy()
        if self.permutation == "random":
            return np.random.default_rng([self.seed, i]).permutation(d)
        raise ValueError(f"permutation: expected 'reverse', 'random' or None, got "
                         f"{self.permutation!r}")

    def _check(self):
        if int(self.n_layers) < 1:
            raise ValueError(f"n_layers: expected at least 1, got {self.n_layers}")
        if len(tuple(self.hidden)) < 1:
            raise ValueError("hidden: expected at least one hidden width, got ()")

    def _groups(self, d: int) -> tuple[list[int], list[int]]:
        """For each layer its group and its index in the group; layers with equal
        conditioners (same module, same input width) share a group."""
        signatures, group_of, index_in = [], [], []
        counts: dict[int, int] = {}
        for i in range(int(self.n_layers)):
            sig = (self._net(i, d), self._net_input(i, jnp.zeros((1, d))).shape[-1])
            if sig not in signatures:
                signatures.append(sig)
            g = signatures.index(sig)
            group_of.append(g)
            index_in.append(counts.get(g, 0))
            counts[g] = counts.get(g, 0) + 1
        return group_of, index_in

    def init(self, key: jax.Array, example_x, context=None) -> dict:
        """Parameters ``{'layers': [group, ...], 'embedding': ..., 'affine': ...}`` for
        data shaped like ``example_x`` ((d,) or (n, d)) and, for a conditional flow, a
        context like ``context`` ((c,) or (n, c)). The coupling layers start as the
        identity map; with ``standardise`` the output affine layer starts at the mean
        and standard deviation of the rows of ``example_x`` (the identity for a single
        row), so the flow starts as the diagonal Gaussian fit to ``example_x``."""
        check_key(key, "key")
        self._check()
        x_all = jnp.atleast_2d(as_array(example_x, "example_x", ndim=(1, 2)))
        x = x_all[:1]
        d = x.shape[-1]
        emb_key, layer_key = jax.random.split(key)
        params: dict[str, Any] = {}
        ctx = None
        if context is not None:
            ctx = jnp.atleast_2d(as_array(context, "context", ndim=(1, 2)))[:1].astype(x.dtype)
            if self.embedding is not None:
                params["embedding"] = self.embedding.init(emb_key, ctx)
                ctx = self.embedding.apply(params["embedding"], ctx)
        elif self.embedding is not None:
            raise ValueError("context: an embedding network needs an example context")
        group_of, _ = self._groups(d)
        layer_keys = jax.random.split(layer_key, int(self.n_layers))
        groups = []
        for g in range(max(group_of) + 1):
            members = [i for i in range(int(self.n_layers)) if group_of[i] == g]
            net, inp = self._net(members[0], d), self._net_input(members[0], x)
            groups.append(jax.vmap(lambda k: net.init(k, inp, ctx))(layer_keys[np.array(members)]))
        params["layers"] = groups
        if self.standardise:
            # the data's dtype (float64 under x64: distrax inverts the affine with
            # exp(-log_scale), which in float32 is not the exact inverse of exp(log_scale))
            dtype = (x_all.dtype if jnp.issubdtype(x_all.dtype, jnp.floating)
                     else jax.tree.leaves(groups)[0].dtype)
            if x_all.shape[0] > 1:
                std = jnp.std(x_all, axis=0)
                shift = jnp.mean(x_all, axis=0)
                log_scale = jnp.log(jnp.where(std > 0, std, 1.0))     # constant column: 1
            else:
                shift = log_scale = jnp.zeros(d)
            params["affine"] = {"shift": shift.astype(dtype), "log_scale": log_scale.astype(dtype)}
        return params

    def event_dim(self, params) -> int:
        """The dimension d of the flow's variable, read from ``params``."""
        return self._dim(params["layers"][0])

    def context_dim(self, params) -> int | None:
        """The context size the conditioners take (after the embedding), or None."""
        first = params["layers"][0]["params"]
        return first["context"]["kernel"].shape[-2] if "context" in first else None

    def _embed(self, params, context):
        c_dim = self.context_dim(params)
        if context is None:
            if c_dim is not None:
                raise ValueError("context: this flow is conditional, expected a context of "
                                 "shape (c,) or (n, c), got None")
            return None
        context = as_array(context, "context", ndim=(1, 2))
        if c_dim is None:
            raise ValueError(f"context: this flow was initialised without a context, got "
                             f"shape {tuple(context.shape)}")
        if "embedding" in params:
            try:
                jax.eval_shape(self.embedding.apply, params["embedding"], context)
            except (flax.errors.ScopeParamShapeError, TypeError, ValueError) as err:
                raise ValueError(f"context: shape {tuple(context.shape)} does not fit the "
                                 f"embedding network ({err})") from None
            return self.embedding.apply(params["embedding"], context)
        if context.shape[-1] != c_dim:
            raise ValueError(f"context: expected shape (c,) or (n, c) with c={c_dim}, got "
                             f"{tuple(context.shape)}")
        return context

    def bijector(self, params, context=None) -> distrax.Bijector:
        """The base → data bijector ``T`` (a distrax ``Chain``) for this context."""
        ctx = self._embed(params, context)
        d = self.event_dim(params)
        group_of, index_in = self._groups(d)
        layers = []
        for i in range(int(self.n_layers)):
            net = self._net(i, d)
            p = _layer_slice(params["layers"][group_of[i]], index_in[i])
            fn = (lambda x, p=p, net=net: net.apply(p, x, ctx))
            if i > 0 and self.permutation is not None and d > 1:
                layers.append(Permute(self._perm(i, d)))
            layers.append(self._layer(i, d, fn))
        if self.standardise:
            if "affine" not in params:
                raise ValueError("params: this flow has standardise=True, expected an 'affine' "
                                 "entry (params from flow.init of the same flow)")
            a = params["affine"]
            layers.append(distrax.Block(distrax.ScalarAffine(a["shift"], log_scale=a["log_scale"]), 1))
        # distrax's Chain applies the last bijector first in the forward direction:
        # reverse so that layer 0 acts on the base sample first
        return distrax.Chain(layers[::-1])

    def apply(self, params, context=None) -> distrax.Transformed:
        """The flow distribution ``q(x | context)`` (a ``distrax.Transformed``: event
        shape (d,); with a batch of contexts (n, c), ``log_prob`` takes (n, d) and
        ``sample`` needs ``sample_shape=n``)."""
        dtype = jax.tree.leaves(params["layers"])[0].dtype
        d = self.event_dim(params)
        return FlowDistribution(StandardNormal(d, dtype), self.bijector(params, context), d,
                                dtype)


@dataclasses.dataclass(frozen=True)
class _CouplingFlow(_Flow):
    """A flow of :class:`~jaxphys.generative._bijectors.SplitCoupling` layers whose
    conditioner (a :class:`CouplingNet`) sees the kept coordinates only."""

    def _mask(self, i: int, d: int) -> np.ndarray:
        return _coupling_mask(i, d, self.permutation is None)

    def _net(self, i, d):
        from ._conditioners import CouplingNet
        n_move = int(np.sum(~self._mask(i, d)))
        return CouplingNet(tuple(int(h) for h in self.hidden), n_move, self.n_params,
                           self.activation)

    def _net_input(self, i, x):
        return x[..., self._mask(i, x.shape[-1])]

    def _dim(self, group_params) -> int:
        p = group_params["params"]
        n_move = p["out"]["bias"].shape[-1] // self.n_params
        n_keep = p["dense_0"]["kernel"].shape[-2] if "dense_0" in p else 0
        return n_keep + n_move
