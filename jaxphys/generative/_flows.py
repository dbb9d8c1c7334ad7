r"""Normalising flows on distrax: RealNVP, neural spline flows, MAF; conditional flows.

The shared machinery (parameters, context, the distribution) is in
:mod:`jaxphys.generative._flow_base`; maximum-likelihood training
(:func:`flow_nll_loss`, :func:`fit_flow`) in :mod:`jaxphys.generative._flow_training`.
"""

from __future__ import annotations

import dataclasses

import distrax
import jax.numpy as jnp

from ._bijectors import MaskedAutoregressiveAffine, SplitCoupling
from ._conditioners import MADE
from ._flow_base import FlowDistribution, _CouplingFlow, _Flow, _coupling_mask
from ._flow_training import fit_flow, flow_data, flow_nll_loss, flow_optimizer
from ._spline import RationalQuadraticSpline

__all__ = ["RealNVP", "NeuralSplineFlow", "MAF", "FlowDistribution", "flow_nll_loss",
           "flow_optimizer", "fit_flow", "flow_data", "_Flow", "_coupling_mask"]


@dataclasses.dataclass(frozen=True)
class RealNVP(_CouplingFlow):
    r"""RealNVP (Dinh et al. 2017): affine masked coupling layers.

    Layer ``i`` keeps the coordinates selected by a mask ``m`` (the first half, or
    alternating parities without permutations) and transforms the others:
    ``y_{\bar m} = x_{\bar m} e^{s(x_m, c)} + t(x_m, c)``, ``y_m = x_m``, with
    ``s`` soft-clamped to ``±log_scale_bound`` by ``b·tanh(·/b)``. A permutation
    (``'reverse'`` by default, ``'random'`` fixed by ``seed``, or ``None``) sits between
    layers. Conditioners: MLPs with ``hidden`` widths, zero-initialised output.

    **Standardisation (default).** With ``standardise=True`` the last map is a
    trainable elementwise affine ``x = μ + e^{λ}⊙y`` (``params['affine']``) that
    ``init`` sets to the mean and standard deviation of ``example_x`` when it has
    more than one row (:func:`fit_flow` passes the whole training set), so the
    couplings work on data of unit scale and the flow starts as the diagonal
    Gaussian fit. A single-row ``example_x`` gives the identity.

    **Training.** Two moons (noise 0.05, 10k train / 10k test points; the generating
    density scores 0.29 nats), 8 layers of 2x64, 5000 Adam steps of batch 256 with
    :func:`fit_flow` (``learning_rate=3e-3``, its default ``clip_norm=10``): test NLL
    0.300-0.305 over four seeds. Dropping one ingredient at a time (two seeds each):
    no standardisation 0.319, 0.325; no clipping 0.307, 0.455; learning rate 1e-3
    0.313, 0.452 (a run that meets a loss spike early never recovers).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> flow = RealNVP(n_layers=2, hidden=(8,))
        >>> params = flow.init(jax.random.key(0), jnp.zeros(2))
        >>> dist = flow.apply(params)
        >>> x = dist.sample(seed=jax.random.key(1), sample_shape=3)
        >>> x.shape, dist.log_prob(x).shape
        ((3, 2), (3,))
        >>> round(float(dist.log_prob(jnp.zeros(2))), 4)     # identity at init: -log 2π
        -1.8379
    """

    log_scale_bound: float = 5.0
    standardise: bool = True

    def _layer(self, i, d, net):
        b = float(self.log_scale_bound)

        def affine(p):
            return distrax.ScalarAffine(shift=p[..., 0], log_scale=b * jnp.tanh(p[..., 1] / b))

        return SplitCoupling(self._mask(i, d), net, affine)


@dataclasses.dataclass(frozen=True)
class NeuralSplineFlow(_CouplingFlow):
    r"""Neural spline flow (Durkan et al. 2019): rational-quadratic spline couplings.

    Each transformed coordinate goes through a monotone rational-quadratic spline
    with ``n_bins`` bins on ``[range_min, range_max]`` whose widths, heights and
    interior knot slopes (``3K-1`` numbers; the conditioner emits ``3K+1``, distrax's
    layout, with the two boundary slopes then fixed to 1) come from the conditioner.
    Layers are :class:`SplitCoupling` around the lean
    :class:`~jaxphys.generative._spline.RationalQuadraticSpline` (the mathematics of
    ``distrax.RationalQuadraticSpline(boundary_slopes='identity')`` inside
    ``distrax.MaskedCoupling``, but the spline runs on the transformed coordinates only).

    **Data outside the range (identity tails).** Outside ``[range_min, range_max]``
    every spline is the identity, with slope 1 at the boundaries so the map is
    continuously differentiable: ``log_prob`` stays exact and finite for any input
    (those coordinates contribute ``log|det J| = 0`` in that layer), but the flow
    cannot reshape density out there, it is the base Gaussian's tail carried through
    the other layers. Standardise data so that it lies well inside the range (the
    default ±5 suits standardised data; :class:`jaxphys.generative.NPE` does this).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> flow = NeuralSplineFlow(n_layers=2, hidden=(8,), n_bins=4)
        >>> params = flow.init(jax.random.key(0), jnp.zeros(2))
        >>> dist = flow.apply(params)
        >>> round(float(dist.log_prob(jnp.array([7.0, 0.0]))), 4)   # outside the range: exact
        -26.3379
    """

    n_bins: int = 8
    range_min: float = -5.0
    range_max: float = 5.0

    def __post_init__(self):
        object.__setattr__(self, "n_params", 3 * int(self.n_bins) + 1)
        if not self.range_min < self.range_max:
            raise ValueError(f"range_min, range_max: expected range_min < range_max, got "
                             f"{self.range_min} and {self.range_max}")

    def _layer(self, i, d, net):
        lo, hi = float(self.range_min), float(self.range_max)

        def spline(p):
            return RationalQuadraticSpline(p, lo, hi)

        # data → base applies the spline's forward map (no quadratic to solve): the
        # density, and so training, takes the cheap direction; sampling inverts
        return distrax.Inverse(SplitCoupling(self._mask(i, d), net, spline))


@dataclasses.dataclass(frozen=True)
class MAF(_Flow):
    r"""Masked autoregressive flow (Papamakarios et al. 2017) with MADE conditioners.

    Each layer is :class:`MaskedAutoregressiveAffine`: densities take one MADE pass per
    layer, sampling ``d`` passes per layer (the autoregressive loop in
    ``lax.fori_loop``). Between layers the coordinate order is reversed (or a fixed
    random permutation), so every coordinate gets conditioned on every other.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> flow = MAF(n_layers=2, hidden=(16,))
        >>> params = flow.init(jax.random.key(0), jnp.zeros(3))
        >>> flow.apply(params).sample(seed=jax.random.key(1), sample_shape=4).shape
        (4, 3)
    """

    log_scale_bound: float = 5.0

    def _net(self, i, d):
        return MADE(tuple(int(h) for h in self.hidden), 2, self.activation)

    def _net_input(self, i, x):
        return x

    def _dim(self, group_params) -> int:
        return group_params["params"]["out"]["bias"].shape[-1] // self.n_params

    def _layer(self, i, d, net):
        return MaskedAutoregressiveAffine(net, float(self.log_scale_bound))
