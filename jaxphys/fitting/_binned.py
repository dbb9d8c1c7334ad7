"""Binned Poisson likelihood of a histogram, in Baker and Cousins' deviance form."""

from __future__ import annotations

from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_int, is_concrete

from ._cost import Cost, _float_data, _register

__all__ = ["BinnedNLL"]


@_register
class BinnedNLL(Cost):
    r"""Poisson likelihood of histogram counts, as a χ²-like deviance.

    The model gives the expected count :math:`\mu_i(\theta)` of bin
    :math:`[e_i, e_{i+1})` through its integral, never its value at the bin
    centre: either a ``cdf`` (exact bin integrals
    :math:`I_i = F(e_{i+1}) - F(e_i)`) or a ``density`` integrated over each
    bin by Gauss–Legendre quadrature with ``quadrature_order`` = q nodes,
    :math:`I_i = \tfrac{h_i}{2}\sum_{k=1}^{q} w_k f(c_i + \tfrac{h_i}{2} t_k)`
    (c, h the bin centre and width; exact for polynomials of degree 2q - 1 in
    each bin, error of order :math:`h^{2q} f^{(2q)}`).

    Per bin the cost is Baker and Cousins' Poisson deviance (S. Baker and R. D.
    Cousins, "Clarification of the use of chi-square and likelihood functions
    in fits to histograms", Nucl. Instrum. Meth. 221 (1984) 437):

    .. math::
        C = 2\sum_i \Big[\mu_i - n_i + n_i \log\frac{n_i}{\mu_i}\Big]
        \qquad (n_i \log(n_i/\mu_i) = 0 \text{ for } n_i = 0),

    that is :math:`-2\log L + \text{const}`, whose minimum is asymptotically
    χ²-distributed with (bins − free parameters) degrees of freedom;
    ``errordef = 1``. This is iminuit's ``poisson_chi2``/``multinomial_chi2``.

    * ``extended=True``: the model gives expected counts (the cdf is the
      cumulative expected count, the density an intensity in counts per unit
      x) and :math:`\mu_i = I_i`.
    * ``extended=False`` (shape only): :math:`\mu_i = N I_i / \sum_j I_j`
      with :math:`N = \sum_i n_i`, the multinomial likelihood; the density
      need only be normalised up to a constant inside the histogram range
      (iminuit's ``BinnedNLL`` asks for it normalised over that range), and
      the cost is :math:`2\sum_i n_i \log(n_i/\mu_i)`.

    An expected count :math:`\mu_i \le 0` in a bin with :math:`n_i > 0` (or
    any :math:`\mu_i < 0`) makes the cost +inf; :func:`~jaxphys.fitting.minimize`
    names the bin if this happens at the starting values.

    Args:
        counts: ``(m,)`` non-negative counts (not all zero unless
            ``extended``); non-integer values are used as given.
        edges: ``(m + 1,)`` strictly increasing bin edges.
        cdf: ``cdf(x, params) -> (len(x),)``, evaluated at ``edges``.
        density: ``density(x, params) -> (len(x),)``, evaluated at the
            quadrature nodes (give exactly one of ``cdf`` and ``density``).
        extended: include the Poisson term of the total count (see above).
        quadrature_order: Gauss–Legendre nodes per bin for ``density`` (>= 1).

    Example:
        >>> import jax.scipy.stats as st
        >>> from jaxphys.fitting import BinnedNLL
        >>> cost = BinnedNLL(jnp.array([2.0, 5.0, 2.0]), jnp.array([-1.5, -0.5, 0.5, 1.5]),
        ...                  cdf=lambda x, p: st.norm.cdf(x, p["mu"], p["sigma"]))
        >>> cost.n_data, bool(cost({"mu": 0.0, "sigma": 1.0}) > 0)
        (3, True)
    """

    _children = ("counts", "edges")
    _static = ("cdf", "density", "extended", "quadrature_order")

    def __init__(self, counts: Any, edges: Any, *, cdf: Callable | None = None,
                 density: Callable | None = None, extended: bool = False,
                 quadrature_order: int = 5):
        if (cdf is None) == (density is None):
            raise ValueError("cdf, density: give exactly one of the model's cdf (exact bin "
                             "integrals) or density (integrated by quadrature)")
        model = cdf if cdf is not None else density
        if not callable(model):
            raise TypeError(f"{'cdf' if cdf is not None else 'density'}: expected a callable "
                            f"model(x, params), got {type(model).__name__}")
        self.counts = _float_data(counts, "counts", ndim=1)
        self.edges = _float_data(edges, "edges", ndim=1)
        m = self.counts.shape[0]
        if m == 0:
            raise ValueError("counts: expected at least one bin, got shape (0,)")
        if self.edges.shape != (m + 1,):
            raise ValueError(f"edges: expected shape ({m + 1},), one more than counts, got "
                             f"{tuple(self.edges.shape)}")
        if is_concrete(self.counts):
            if np.any(self.counts < 0):
                i = int(np.argmax(self.counts < 0))
                raise ValueError(f"counts: expected non-negative counts, got counts[{i}] = "
                                 f"{self.counts[i]}")
            if not extended and not np.sum(self.counts) > 0:
                raise ValueError("counts: all counts are zero; a shape fit (extended=False) "
                                 "needs at least one entry")
        if is_concrete(self.edges) and not np.all(np.diff(self.edges) > 0):
            i = int(np.argmax(np.diff(self.edges) <= 0))
            raise ValueError(f"edges: expected strictly increasing bin edges, got edges[{i}] = "
                             f"{self.edges[i]} >= edges[{i + 1}] = {self.edges[i + 1]}")
        self.cdf, self.density, self.extended = cdf, density, bool(extended)
        self.quadrature_order = as_int(quadrature_order, "quadrature_order", minimum=1)

    @property
    def n_data(self) -> int:
        return int(self.counts.shape[0])

    def integrals(self, params: Any) -> jax.Array:
        """The bin integrals :math:`I_i` of the model, shape ``(m,)``."""
        edges = jnp.asarray(self.edges)
        if self.cdf is not None:
            c = jnp.asarray(self.cdf(edges, params))
            _check_model_shape(c, edges.shape, "cdf")
            return c[1:] - c[:-1]
        nodes, weights = np.polynomial.legendre.leggauss(self.quadrature_order)
        half = 0.5 * (edges[1:] - edges[:-1])
        centre = 0.5 * (edges[1:] + edges[:-1])
        x = centre[:, None] + half[:, None] * jnp.asarray(nodes, edges.dtype)[None, :]
        f = jnp.asarray(self.density(x.reshape(-1), params))
        _check_model_shape(f, (x.size,), "density")
        return half * (f.reshape(x.shape) @ jnp.asarray(weights, edges.dtype))

    def expected(self, params: Any) -> jax.Array:
        """Expected counts :math:`\\mu_i`, shape ``(m,)``."""
        integrals = self.integrals(params)
        if self.extended:
            return integrals
        return jnp.sum(jnp.asarray(self.counts)) * integrals / jnp.sum(integrals)

    def __call__(self, params):
        n = jnp.asarray(self.counts)
        mu = self.expected(params)
        log_mu = jnp.log(jnp.where(mu > 0, mu, 1.0))
        log_n = jnp.log(jnp.where(n > 0, n, 1.0))
        term = jnp.where(n > 0, n * (log_n - log_mu), 0.0)
        if self.extended:
            term = term + mu - n
        bad = jnp.any((mu < 0) | ((mu <= 0) & (n > 0)) | ~jnp.isfinite(mu))
        return jnp.where(bad, jnp.inf, 2.0 * jnp.sum(term))

    def diagnose(self, params):
        mu = np.asarray(self.expected(params))
        n = np.asarray(self.counts)
        name = "cdf" if self.cdf is not None else "density"
        bad = ~np.isfinite(mu) | (mu < 0) | ((mu <= 0) & (n > 0))
        if np.any(bad):
            i = int(np.argmax(bad))
            return (f"{name}: the expected count of bin {i} [{self.edges[i]}, "
                    f"{self.edges[i + 1]}) is {mu[i]} at the starting values, where "
                    f"counts[{i}] = {n[i]}; the model must be positive (and finite) "
                    "wherever data lie")
        return super().diagnose(params)


def _check_model_shape(values: jax.Array, shape: tuple, name: str) -> None:
    if tuple(values.shape) != tuple(shape):
        raise ValueError(f"{name}: expected the model to return shape {tuple(shape)} (one "
                         f"value per point), got {tuple(values.shape)}")
