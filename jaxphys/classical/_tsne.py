r"""t-distributed stochastic neighbour embedding and trustworthiness.

Two methods: ``"exact"`` (below; :math:`O(n^2)` time and memory per iteration) and
``"fft"`` (:mod:`jaxphys.classical._tsne_fft`: sparse nearest-neighbour affinities
and FFT-interpolated repulsion, :math:`O(n)` per iteration, for large ``n``).

Input affinities :math:`p_{j|i}\propto\exp(-\beta_i\lVert x_i-x_j\rVert^2)`, each
:math:`\beta_i` set so that the perplexity :math:`2^{H(P_i)}` (here :math:`e^{H}`,
entropy in nats) equals the requested one; symmetrised
:math:`p_{ij} = (p_{j|i}+p_{i|j})/2N`. Output affinities are Student-t,
:math:`q_{ij}\propto(1+\lVert y_i-y_j\rVert^2)^{-1}`, and the embedding minimises
:math:`\mathrm{KL}(P\Vert Q)` by momentum gradient descent with adaptive gains.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys._checks import as_array, as_int, check_finite, check_in, check_key, \
    check_positive, check_same_length
from jaxphys.classical._common import as_features
from jaxphys.classical._kmeans import pairwise_sq_dists
from jaxphys.classical._pca import _pca_fit
from jaxphys.classical._tsne_fft import optimise_sparse, sparse_affinities, symmetric_edges

__all__ = ["TSNEResult", "tsne_fit", "tsne_affinities", "trustworthiness", "TSNE_METHODS"]

TSNE_METHODS = ("auto", "exact", "fft")
_AUTO_EXACT_MAX = 5000        # "auto": exact up to this many points, "fft" above

_EPS = 1e-12          # floor of P and Q (as scikit-learn's machine-epsilon floor)
_N_BISECT = 64        # bisection steps on log β (interval of 60 → 3e-18 resolution)


class TSNEResult(NamedTuple):
    """A t-SNE embedding of ``n`` points in ``c`` dimensions.

    Fields:
        embedding: ``(n, c)`` the low-dimensional coordinates.
        kl_divergence: ``()`` final KL(P‖Q) in nats (without exaggeration).
        beta: ``(n,)`` calibrated Gaussian precisions β_i of the input affinities,
            in inverse squared input units (σ_i = 1/sqrt(2 β_i)); for ``"fft"``, over
            each point's nearest neighbours.
        kl_history: ``(n_iter // 50,)`` KL(P‖Q) every 50 iterations (with the
            exaggerated P during early exaggeration).

    Built by hand (a fit is :func:`tsne_fit`), to read the input widths from ``beta``:

    >>> from jaxphys.classical import TSNEResult
    >>> r = TSNEResult(embedding=jnp.zeros((3, 2)), kl_divergence=jnp.array(0.1),
    ...                beta=jnp.array([0.5, 2.0, 0.125]), kl_history=jnp.zeros(20))
    >>> (1.0 / jnp.sqrt(2.0 * r.beta)).tolist()       # σ_i of each point's Gaussian
    [1.0, 0.5, 2.0]
    """

    embedding: jax.Array
    kl_divergence: jax.Array
    beta: jax.Array
    kl_history: jax.Array


def _row_entropy(d_row, self_mask, log_beta):
    logits = jnp.where(self_mask, -jnp.inf, -jnp.exp(log_beta) * d_row)
    log_z = jax.nn.logsumexp(logits)
    p = jnp.exp(logits - log_z)
    return log_z + jnp.exp(log_beta) * jnp.sum(jnp.where(self_mask, 0.0, p * d_row)), p


def _calibrate(sq_dists, perplexity):
    """Bisection on log β for every row (vmapped): entropy H(P_i) = ln(perplexity)."""
    n = sq_dists.shape[0]
    target = jnp.log(perplexity)
    eye = jnp.eye(n, dtype=bool)
    scale = jnp.sum(sq_dists, axis=1) / jnp.maximum(n - 1, 1)              # mean distance
    scale = jnp.where(scale > 0, scale, 1.0)

    def one_row(d_row, self_mask, s):
        d_scaled = d_row / s

        def step(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            h, _ = _row_entropy(d_scaled, self_mask, mid)
            # entropy falls as β grows: too high an entropy → raise β
            return jnp.where(h > target, mid, lo), jnp.where(h > target, hi, mid)

        lo, hi = jax.lax.fori_loop(0, _N_BISECT, step, (jnp.asarray(-30.0, d_row.dtype),
                                                       jnp.asarray(30.0, d_row.dtype)))
        log_beta = 0.5 * (lo + hi)
        _, p = _row_entropy(d_scaled, self_mask, log_beta)
        return p, jnp.exp(log_beta) / s

    return jax.vmap(one_row)(sq_dists, eye, scale)


@jax.jit
def _affinities(x, perplexity):
    n = x.shape[0]
    sq = pairwise_sq_dists(x, x)
    cond, beta = _calibrate(sq, perplexity)
    p = cond + cond.T
    p = p / jnp.maximum(jnp.sum(p), _EPS)
    p = jnp.where(jnp.eye(n, dtype=bool), 0.0, jnp.maximum(p, _EPS))
    return p, beta


def _student_t(y):
    """``w_ij = 1/(1 + |y_i - y_j|²)`` (diagonal 1) and ``Z = Σ_{i≠j} w_ij``."""
    n = y.shape[0]
    # coordinate by coordinate: fuses into one elementwise pass, exact zero diagonal
    sq = sum((y[:, i][:, None] - y[:, i][None, :]) ** 2 for i in range(y.shape[1]))
    w = 1.0 / (1.0 + sq)
    return w, jnp.sum(w) - n


def _grad(p, y):
    """∂KL/∂y = 4 Σ_j (p_ij - q_ij) w_ij (y_i - y_j); the diagonal terms vanish."""
    w, z = _student_t(y)
    a = (p - w / z) * w
    return 4.0 * (jnp.sum(a, axis=1)[:, None] * y - a @ y)


def _kl(p, y):
    """KL(P‖Q) = Σ_{i≠j} p_ij ln(p_ij / q_ij), q floored at 1e-12."""
    n = y.shape[0]
    w, z = _student_t(y)
    q = jnp.maximum(w / z, _EPS)
    off = ~jnp.eye(n, dtype=bool)
    return jnp.sum(jnp.where(off, p * jnp.log(jnp.maximum(p, _EPS) / q), 0.0))


@partial(jax.jit, static_argnames=("n_iter",))
def _optimise(p, y0, n_iter, exaggeration, exaggeration_iter, learning_rate, momenta,
              min_gain):
    def step(carry, it):
        y, update, gains = carry
        early = it < exaggeration_iter
        restart = it == exaggeration_iter          # fresh update and gains for stage 2
        update = jnp.where(restart, 0.0, update)
        gains = jnp.where(restart, 1.0, gains)
        p_it = jnp.where(early, exaggeration, 1.0) * p
        grad = _grad(p_it, y)
        kl = jax.lax.cond(it % 50 == 0, _kl, lambda *_: jnp.zeros((), y.dtype), p_it, y)
        same_sign = update * grad < 0.0
        gains = jnp.maximum(jnp.where(same_sign, gains + 0.2, gains * 0.8), min_gain)
        momentum = jnp.where(early, momenta[0], momenta[1])
        update = momentum * update - learning_rate * gains * grad
        return (y + update, update, gains), kl

    init = (y0, jnp.zeros_like(y0), jnp.ones_like(y0))
    (y, _, _), kls = jax.lax.scan(step, init, jnp.arange(n_iter))
    kl_final = _kl(p, y)
    return y, kl_final, kls[::50]


def tsne_affinities(X: Any, perplexity: float = 30.0) -> jax.Array:
    r"""Symmetric input affinities :math:`P` of t-SNE, ``(n, n)``, summing to 1.

    :math:`p_{j|i} = e^{-\beta_i d_{ij}}/\sum_{k\ne i}e^{-\beta_i d_{ik}}` with
    :math:`d_{ij}=\lVert x_i-x_j\rVert^2`; each :math:`\beta_i` by a bisection on
    :math:`\ln\beta` (vmapped over rows, 64 steps) so that
    :math:`H(P_i) = -\sum_j p_{j|i}\ln p_{j|i} = \ln(\text{perplexity})`; then
    :math:`p_{ij} = (p_{j|i}+p_{i|j})/2n`, floored at 1e-12 off the diagonal, zero on it.

    Args:
        X: ``(n, d)`` finite data. perplexity: ``0 < perplexity < n``.

    Returns:
        ``(n, n)`` affinities.

    >>> p = tsne_affinities(jnp.array([[0.], [1.], [3.]]), perplexity=1.5)
    >>> round(float(p.sum()), 4), p.shape
    (1.0, (3, 3))
    """
    x = as_features(X, "X", min_samples=2)
    perp = _check_perplexity(perplexity, x.shape[0], x.dtype)
    return _affinities(x, perp)[0]


def _check_perplexity(perplexity, n, dtype):
    perp = as_array(perplexity, "perplexity", ndim=0).astype(dtype)
    check_finite(perp, "perplexity")
    check_positive(perp, "perplexity")
    if float(perp) >= n:
        raise ValueError(f"perplexity: must be less than the number of samples n = {n}, "
                         f"got {float(perp):g}")
    return perp


def tsne_fit(key: jax.Array | None, X: Any, n_components: int = 2, *,
             perplexity: float = 30.0, n_iter: int = 1000, early_exaggeration: float = 12.0,
             exaggeration_iter: int = 250, learning_rate: float | None = None,
             momentum: tuple[float, float] = (0.5, 0.8), min_gain: float = 0.01,
             init: str = "pca", method: str = "auto", box_width: float = 1.0,
             n_interpolation_nodes: int = 3) -> TSNEResult:
    r"""t-SNE: embed ``X`` in ``n_components`` dimensions.

    Minimises :math:`C = \mathrm{KL}(P\Vert Q) = \sum_{i\ne j}p_{ij}\ln(p_{ij}/q_{ij})`,
    :math:`q_{ij} = w_{ij}/\sum_{k\ne l}w_{kl}`, :math:`w_{ij} = (1+\lVert y_i-y_j\rVert^2)^{-1}`,
    with :math:`P` from :func:`tsne_affinities`. The gradient is

    .. math:: \frac{\partial C}{\partial y_i} = 4\sum_j (p_{ij}-q_{ij})\,w_{ij}\,(y_i-y_j).

    Optimiser (as van der Maaten's and scikit-learn's): for the first
    ``exaggeration_iter`` iterations :math:`P` is multiplied by ``early_exaggeration``
    and the momentum is ``momentum[0]``, then ``momentum[1]``; update
    :math:`u \leftarrow \mu u - \eta\,g\odot\nabla C`, :math:`y \leftarrow y + u`, with
    per-coordinate gains ``g`` raised by 0.2 where the gradient's sign opposes the
    last update and multiplied by 0.8 elsewhere (floored at ``min_gain``); update
    and gains restart when the exaggeration ends. Learning rate ``"auto"``:
    :math:`\eta = \max(n/(4\cdot\text{exaggeration}), 50)`. PCA initialisation: the
    first ``n_components`` principal projections scaled so the first has standard
    deviation 1e-4 (``"random"``: N(0, 1e-8)). Everything after the argument checks
    runs in two jitted calls (the affinities, and one ``lax.scan`` over iterations).

    ``method="exact"`` computes :math:`P` and the gradient over all pairs (memory
    :math:`O(n^2)`). ``method="fft"`` (two components only) keeps each point's
    ``min(n - 1, 3·perplexity)`` nearest neighbours in :math:`P` and interpolates the
    repulsion on a grid of boxes at most ``box_width`` wide with
    ``n_interpolation_nodes`` nodes per box and side, convolved by FFT
    (:mod:`jaxphys.classical._tsne_fft`, after Linderman et al. 2019): :math:`O(n)`
    per iteration. ``"auto"``: exact up to 5000 points, else FFT.

    Args:
        key: PRNG key for ``init="random"``; may be ``None`` with ``init="pca"``.
        X: ``(n, d)`` finite data.
        n_components: embedding dimension ``c >= 1`` (≤ ``d`` for PCA init).
        perplexity: effective number of neighbours, ``0 < perplexity < n``.
        n_iter: total iterations (static).
        early_exaggeration, exaggeration_iter, learning_rate, momentum, min_gain:
            optimiser settings (traced: changing them does not recompile).
        init: ``"pca"`` or ``"random"``.
        method: ``"auto"``, ``"exact"`` or ``"fft"``.
        box_width: ``"fft"``: the widest interpolation box, in embedding units (> 0; the
            error of the interpolated repulsion grows quickly past 1).
        n_interpolation_nodes: ``"fft"``: Lagrange nodes per box and side, ``>= 2``
            (static).

    Returns:
        :class:`TSNEResult`.

    >>> x = jnp.repeat(jnp.eye(3), 20, axis=0) \
    ...     + 0.05 * jax.random.normal(jax.random.key(1), (60, 3))
    >>> r = tsne_fit(None, x, perplexity=10.0, n_iter=1000)
    >>> r.embedding.shape
    (60, 2)
    >>> centres = r.embedding.reshape(3, 20, 2).mean(1)
    >>> d = jnp.sum((r.embedding[:, None] - centres[None]) ** 2, -1)
    >>> bool(jnp.all(jnp.argmin(d, 1) == jnp.arange(60) // 20))   # each point nearest its own cluster
    True
    """
    x = as_features(X, "X", min_samples=2)
    n, d = x.shape
    c = as_int(n_components, "n_components", minimum=1)
    check_in(init, "init", ("pca", "random"))
    check_in(method, "method", TSNE_METHODS)
    if method == "auto":
        method = "exact" if n <= _AUTO_EXACT_MAX or c != 2 else "fft"
    if method == "fft" and c != 2:
        raise ValueError(f"n_components: method='fft' embeds in 2 dimensions, got {c}")
    nodes = as_int(n_interpolation_nodes, "n_interpolation_nodes", minimum=2)
    width = as_array(box_width, "box_width", ndim=0).astype(x.dtype)
    check_finite(width, "box_width")
    check_positive(width, "box_width")
    if init == "random":
        check_key(key)
    elif key is not None:
        check_key(key)
    if init == "pca" and c > min(n, d):
        raise ValueError(f"n_components: PCA initialisation needs n_components <= "
                         f"min(n_samples, n_features) = {min(n, d)}, got {c}")
    perp = _check_perplexity(perplexity, n, x.dtype)
    n_iter = as_int(n_iter, "n_iter", minimum=1)
    exag_iter = as_int(exaggeration_iter, "exaggeration_iter", minimum=0)
    exag = as_array(early_exaggeration, "early_exaggeration", ndim=0).astype(x.dtype)
    check_finite(exag, "early_exaggeration")
    check_positive(exag, "early_exaggeration")
    if learning_rate is None or (isinstance(learning_rate, str) and learning_rate == "auto"):
        lr = jnp.asarray(max(n / float(exag) / 4.0, 50.0), x.dtype)
    else:
        lr = as_array(learning_rate, "learning_rate", ndim=0).astype(x.dtype)
        check_finite(lr, "learning_rate")
        check_positive(lr, "learning_rate")
    mom = as_array(momentum, "momentum", ndim=1).astype(x.dtype)
    if mom.shape != (2,) or not bool(jnp.all((mom >= 0) & (mom < 1))):
        raise ValueError(f"momentum: expected two values in [0, 1), got {np.asarray(mom)}")
    gmin = as_array(min_gain, "min_gain", ndim=0).astype(x.dtype)
    check_positive(gmin, "min_gain")

    if init == "pca":
        z = (x - jnp.mean(x, axis=0)[None, :]) @ _pca_fit(x, c, jnp.asarray(False)).components.T
        y0 = z / jnp.std(z[:, 0]) * 1e-4
    else:
        y0 = 1e-4 * jax.random.normal(key, (n, c), x.dtype)
    if method == "exact":
        p, beta = _affinities(x, perp)
        y, kl, hist = _optimise(p, y0, n_iter, exag, jnp.asarray(exag_iter, jnp.int32), lr,
                                mom, gmin)
    else:
        k = int(min(n - 1, np.floor(3.0 * float(perp))))
        nbr, v, beta = sparse_affinities(x, perp, k)
        p_sym, count = jax.jit(symmetric_edges)(nbr, v)
        y, kl, hist = optimise_sparse(nbr, v, p_sym, count, y0, n_iter, exag,
                                      jnp.asarray(exag_iter, jnp.int32), lr, mom, gmin, width,
                                      nodes)
    return TSNEResult(embedding=y, kl_divergence=kl, beta=beta, kl_history=hist)


@partial(jax.jit, static_argnames=("n_neighbors",))
def _trustworthiness(x, y, n_neighbors):
    n = x.shape[0]
    eye = jnp.eye(n, dtype=bool)
    dx = jnp.where(eye, jnp.inf, pairwise_sq_dists(x, x))
    order = jnp.argsort(dx, axis=1)
    rows = jnp.arange(n)[:, None]
    rank = jnp.zeros((n, n), jnp.int32).at[rows, order].set(
        jnp.broadcast_to(jnp.arange(1, n + 1, dtype=jnp.int32)[None, :], (n, n)))
    dy = jnp.where(eye, jnp.inf, pairwise_sq_dists(y, y))
    _, nbrs = jax.lax.top_k(-dy, n_neighbors)                               # (n, k)
    excess = jnp.take_along_axis(rank, nbrs, axis=1) - n_neighbors
    penalty = jnp.sum(jnp.maximum(excess, 0)).astype(x.dtype)
    k = n_neighbors
    return 1.0 - penalty * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0)))


def trustworthiness(X: Any, embedding: Any, n_neighbors: int = 5) -> jax.Array:
    r"""How well an embedding keeps only true neighbours (Venna & Kaski), in [0, 1].

    .. math:: T(k) = 1 - \frac{2}{nk(2n-3k-1)}\sum_{i=1}^n\sum_{j\in U_i^{(k)}}
              \big(r(i,j) - k\big),

    :math:`U_i^{(k)}` the ``k`` nearest neighbours of point ``i`` in the embedding
    that are not among its ``k`` nearest in the input space, and :math:`r(i,j)` the
    rank of ``j`` among ``i``'s input-space neighbours (1 = nearest). Euclidean
    distances in both spaces; ties broken by index.

    Args:
        X: ``(n, d)`` input data. embedding: ``(n, c)``.
        n_neighbors: ``k``, ``1 <= k < n / 2``.

    Returns:
        ``()`` the trustworthiness.

    >>> x = jnp.arange(10.0)[:, None]
    >>> float(trustworthiness(x, 2.0 * x, n_neighbors=2))
    1.0
    """
    x = as_features(X, "X", min_samples=3)
    y = as_features(embedding, "embedding")
    check_same_length("X", x, "embedding", y)
    n = x.shape[0]
    k = as_int(n_neighbors, "n_neighbors", minimum=1)
    if k >= n / 2:
        raise ValueError(f"n_neighbors: expected k < n_samples / 2 = {n / 2:g}, got {k}")
    dtype = jnp.promote_types(x.dtype, y.dtype)
    return _trustworthiness(x.astype(dtype), y.astype(dtype), k)
