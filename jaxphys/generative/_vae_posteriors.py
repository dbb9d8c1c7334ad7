r"""Amortised VAE posteriors as distrax distributions: the diagonal Gaussian, and the
Gaussian carried through inverse autoregressive flow layers.

An encoder ends in :func:`posterior_head`: from its features ``h`` (n, F) it makes

* ``q(z|x) = N(μ(h), diag σ(h)²)`` (``flow_layers=0``): a
  ``distrax.MultivariateNormalDiag`` with batch shape (n,) and event shape (L,); or
* the same Gaussian followed by ``flow_layers`` inverse autoregressive affine layers
  (Kingma et al. 2016), each a MADE network of ``z`` that also sees the features ``h``,
  with reversals of the coordinates between layers: ``z_0 ~ N(μ, σ²)``,
  ``z_t = z_{t-1} e^{α_t(z_{t-1}, h)} + m_t(z_{t-1}, h)``, so that

  .. math:: \log q(z_T | x) = \log \mathcal N(z_0; μ, σ^2) - \sum_t \sum_i α_{t,i}.

  It is a :class:`FlowPosterior` (a ``distrax.Transformed``): ``sample_and_log_prob``
  costs one MADE pass per layer; ``log_prob`` of an arbitrary ``z`` inverts the layers
  (``L`` passes each). Every MADE's output layer starts at zero, so the fresh flow
  posterior is the Gaussian.

With a flow the KL term of the ELBO has no closed form: :func:`jaxphys.generative.elbo`
then uses the single-sample estimate ``log q(z|x) - log p(z)`` at the reparameterised
sample.
"""

from __future__ import annotations

from typing import Callable, Sequence

import distrax
import flax.linen as nn
import jax
import numpy as np

from ._bijectors import InverseAutoregressiveAffine, Permute
from ._conditioners import MADE


class FlowPosterior(distrax.Transformed):
    """``distrax.Transformed`` with the batch shape (n,) and event shape (L,) of the
    Gaussian it transforms (set, not inferred by tracing the conditioners).

    Example (built by hand with an affine layer; ``VAE(..., flow_layers=2)`` makes one
    with inverse autoregressive layers):
        >>> import distrax, jax.numpy as jnp
        >>> from jaxphys.generative import ElementwiseAffine, FlowPosterior
        >>> base = distrax.MultivariateNormalDiag(jnp.zeros((2, 2)), jnp.ones((2, 2)))
        >>> q = FlowPosterior(base, ElementwiseAffine(jnp.array([1.0, -1.0]),
        ...                                           jnp.array([2.0, 2.0])))   # z ↦ μ + 2z
        >>> q.batch_shape, q.event_shape                 # two examples, two latents
        ((2,), (2,))
        >>> [round(float(v), 4) for v in q.log_prob(jnp.array([[1.0, -1.0], [1.0, -1.0]]))]
        [-3.2242, -3.2242]
    """

    def __init__(self, base: distrax.Distribution, bijector: distrax.Bijector):
        super().__init__(base, bijector)
        self._batch_shape = tuple(base.batch_shape)
        self._event_shape = tuple(base.event_shape)
        self._dtype = base.dtype


def posterior_head(h: jax.Array, latent_dim: int, *, flow_layers: int = 0,
                   flow_hidden: Sequence[int] = (64,), activation: str | Callable = "relu",
                   log_scale_bound: float = 3.0) -> distrax.Distribution:
    """The posterior from an encoder's features ``h`` (n, F); call it inside a compact
    flax method (it creates the submodules ``loc``, ``scale`` and ``iaf_<t>``). The
    Gaussian's scale is ``softplus(s) + 1e-4``; see the module docstring for the flow.

    Example:
        >>> import flax.linen as nn, jax, jax.numpy as jnp
        >>> from jaxphys.generative import posterior_head
        >>> class Encoder(nn.Module):
        ...     @nn.compact
        ...     def __call__(self, x):
        ...         return posterior_head(nn.Dense(8)(x), latent_dim=2)
        >>> q, variables = Encoder().init_with_output(jax.random.key(0), jnp.ones((3, 4)))
        >>> q.batch_shape, q.event_shape, sorted(variables["params"])   # q(z | x) per row
        ((3,), (2,), ['Dense_0', 'loc', 'scale'])
    """
    loc = nn.Dense(latent_dim, name="loc")(h)
    scale = jax.nn.softplus(nn.Dense(latent_dim, name="scale")(h)) + 1e-4
    base = distrax.MultivariateNormalDiag(loc, scale)
    if int(flow_layers) == 0:
        return base
    layers = []
    reverse = np.arange(latent_dim)[::-1].copy()
    for t in range(int(flow_layers)):
        made = MADE(tuple(int(w) for w in flow_hidden), 2, activation, name=f"iaf_{t}")
        made(loc, h)        # binds (at init: creates) its parameters; unused output, dropped by XLA
        variables = made.variables
        plain = MADE(tuple(int(w) for w in flow_hidden), 2, activation)

        def conditioner(z, variables=variables, plain=plain):
            return plain.apply(variables, z, h)

        if t > 0 and latent_dim > 1:
            layers.append(Permute(reverse))
        layers.append(InverseAutoregressiveAffine(conditioner, log_scale_bound))
    # distrax's Chain applies its last element first: reverse so layer 0 acts first
    return FlowPosterior(base, distrax.Chain(layers[::-1]))


def posterior_location(q: distrax.Distribution) -> jax.Array:
    """A representative latent point of each posterior in the batch (n, L): the mean of a
    Gaussian, and for a :class:`FlowPosterior` the Gaussian's mean carried through the
    flow (the flow's image of the base mode).

    Example:
        >>> import distrax, jax.numpy as jnp
        >>> from jaxphys.generative import ElementwiseAffine, FlowPosterior, posterior_location
        >>> base = distrax.MultivariateNormalDiag(jnp.zeros((2, 2)), jnp.ones((2, 2)))
        >>> posterior_location(base).tolist()            # a Gaussian: its mean
        [[0.0, 0.0], [0.0, 0.0]]
        >>> q = FlowPosterior(base, ElementwiseAffine(jnp.array([1.0, -1.0]),
        ...                                           jnp.array([2.0, 2.0])))
        >>> posterior_location(q).tolist()               # the mean carried through z ↦ μ + 2z
        [[1.0, -1.0], [1.0, -1.0]]
    """
    if isinstance(q, distrax.Transformed):
        return q.bijector.forward(q.distribution.mean())
    return q.mean()
