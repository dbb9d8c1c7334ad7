r"""t-SNE in :math:`O(n)` per iteration: sparse input affinities and FFT-interpolated
repulsion (Linderman, Rachh, Hoskins, Steinerberger & Kluger 2019, *Fast
interpolation-based t-SNE for improved visualization of single-cell RNA-seq data*,
Nature Methods 16, 243; "FIt-SNE"). Private; :func:`jaxphys.classical.tsne_fit` with
``method="fft"`` runs it.

**Input affinities.** Each point keeps its ``k = min(n - 1, 3·perplexity)`` nearest
neighbours (exact, by blocks of squared distances); :math:`p_{j|i}\propto
e^{-\beta_i d_{ij}}` over them with :math:`\beta_i` bisected to the perplexity, and
:math:`p_{ij} = (p_{j|i} + p_{i|j})/2n` (van der Maaten 2014, *Accelerating t-SNE
using tree-based algorithms*, JMLR 15, sec. 4.1). The directed edges ``i -> j``
carry :math:`v_{ij} = p_{j|i}/2n`, so :math:`p_{ij} = v_{ij} + v_{ji}`.

**Gradient.** With :math:`w_{ij} = (1+\lVert y_i-y_j\rVert^2)^{-1}` and
:math:`Z = \sum_{k\ne l} w_{kl}`,

.. math:: \frac{\partial C}{\partial y_i} = 4\Big[\sum_j p_{ij} w_{ij}(y_i-y_j)
          - \frac1Z\sum_j w_{ij}^2 (y_i-y_j)\Big].

The attraction is a sum over the edges (each edge adds to its source and takes from
its target). The repulsion needs the kernel sums :math:`\sum_j w_{ij}^2\{1, y_j\}`
and :math:`\sum_j w_{ij}`: the points' charges are spread onto a grid of
``n_boxes`` × ``n_boxes`` boxes with ``p`` equispaced Lagrange nodes each
(``p``-point interpolation in each box), convolved with the kernels on the grid by
zero-padded 2-D FFTs (the node spacing is uniform, so the kernel matrix is block
Toeplitz), and interpolated back with the same weights. The coordinates are
centred first (the sums do not change) to keep the charges small.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

__all__ = ["knn", "sparse_affinities", "kernel_spectra", "fft_kernel_sums", "grid_spectra",
           "kernel_sums", "sparse_gradient", "symmetric_edges", "GRID_BOXES",
           "sparse_kl", "optimise_sparse"]

_N_BISECT = 64


def knn(x, k, block=256):
    """Exact ``k`` nearest neighbours of every row of ``x`` ``(n, d)`` (itself left
    out): ``(squared distances (n, k), indices (n, k) int32)``, nearest first. The
    distances come by blocks of ``block`` rows (``lax.map``) so memory stays
    ``O(block · n)``."""
    n = x.shape[0]
    norms = jnp.sum(x * x, axis=1)
    n_blocks = -(-n // block)
    pad = n_blocks * block - n
    rows = jnp.pad(jnp.arange(n), (0, pad))

    def one(idx):
        q = x[idx]
        d2 = jnp.maximum(norms[idx][:, None] - 2.0 * q @ x.T + norms[None, :], 0.0)
        d2 = jnp.where(idx[:, None] == jnp.arange(n)[None, :], jnp.inf, d2)
        neg, nbr = jax.lax.top_k(-d2, k)
        return -neg, nbr.astype(jnp.int32)

    dist, nbr = jax.lax.map(one, rows.reshape(n_blocks, block))
    return dist.reshape(-1, k)[:n], nbr.reshape(-1, k)[:n]


def _bisect_rows(dist, perplexity):
    """:math:`p_{j|i}` ``(n, k)`` and :math:`\\beta_i` ``(n,)``: bisection on
    :math:`\\ln\\beta` (scaled by each row's mean distance) for entropy ``ln perp``."""
    target = jnp.log(perplexity)
    scale = jnp.mean(dist, axis=1)
    scale = jnp.where(scale > 0, scale, 1.0)
    d = dist / scale[:, None]

    def entropy(log_beta):         # -sum p ln p from ln p itself (no cancellation)
        logits = -jnp.exp(log_beta)[:, None] * d
        log_p = logits - jax.nn.logsumexp(logits, axis=1)[:, None]
        p = jnp.exp(log_p)
        return -jnp.sum(p * log_p, axis=1), p

    def step(_, bounds):
        lo, hi = bounds
        mid = 0.5 * (lo + hi)
        h, _ = entropy(mid)
        return jnp.where(h > target, mid, lo), jnp.where(h > target, hi, mid)

    n = dist.shape[0]
    lo, hi = jax.lax.fori_loop(0, _N_BISECT, step, (jnp.full(n, -30.0, dist.dtype),
                                                    jnp.full(n, 30.0, dist.dtype)))
    log_beta = 0.5 * (lo + hi)
    _, p = entropy(log_beta)
    return p, jnp.exp(log_beta) / scale


@partial(jax.jit, static_argnames=("k",))
def sparse_affinities(x, perplexity, k):
    """Directed kNN edges of the symmetrised :math:`P`: ``(neighbours (n, k) int32,
    v (n, k), beta (n,))`` with :math:`p_{ij} = v_{ij} + v_{ji}` (see the module
    docstring)."""
    n = x.shape[0]
    dist, nbr = knn(x, k)
    cond, beta = _bisect_rows(dist, perplexity)
    return nbr, cond / (2.0 * n), beta


def _lagrange(u, n_nodes):
    """Lagrange basis ``(m, p)`` at ``u`` ``(m,)`` in [0, 1] for the nodes
    ``(j + 1/2)/p``."""
    t = (jnp.arange(n_nodes) + 0.5) / n_nodes
    cols = []
    for j in range(n_nodes):
        w = jnp.ones_like(u)
        for m in range(n_nodes):
            if m != j:
                w = w * (u - t[m]) / (t[j] - t[m])
        cols.append(w)
    return jnp.stack(cols, axis=1)


def kernel_spectra(n_boxes, n_nodes, width, dtype):
    """2-D FFTs of the kernels :math:`(1+r^2)^{-1}` and :math:`(1+r^2)^{-2}` on the
    node offsets of a grid of ``n_boxes`` boxes of side ``width`` with ``n_nodes``
    nodes each, zero-padded (circulant embedding of size ``2 g``, ``g`` the nodes per
    side)."""
    g = n_boxes * n_nodes
    size = 2 * g
    off = jnp.arange(size)
    off = jnp.where(off <= g, off, off - size).astype(dtype) * (width / n_nodes)
    k1 = 1.0 / (1.0 + off[:, None] ** 2 + off[None, :] ** 2)
    return jnp.fft.rfft2(k1), jnp.fft.rfft2(k1 * k1)


def fft_kernel_sums(y, n_boxes, n_nodes, width, spectra):
    r"""``(s1, s2, s2y)``: :math:`\sum_j w_{ij}`, :math:`\sum_j w_{ij}^2` ``(n,)`` and
    :math:`\sum_j w_{ij}^2 y_j` ``(n, 2)`` over all ``j`` (``j = i`` included: it adds
    1, 1 and :math:`y_i`), interpolated on a grid of ``n_boxes`` boxes of side
    ``width`` from the points' minimum (it must cover them); ``spectra`` from
    :func:`kernel_spectra`. ``y`` ``(n, 2)`` centred."""
    n = y.shape[0]
    g = n_boxes * n_nodes
    s = (y - jnp.min(y)) / width
    box = jnp.clip(jnp.floor(s), 0, n_boxes - 1)
    u = s - box
    wx, wy = _lagrange(u[:, 0], n_nodes), _lagrange(u[:, 1], n_nodes)          # (n, p)
    gx = box[:, 0].astype(jnp.int32)[:, None] * n_nodes + jnp.arange(n_nodes)[None, :]
    gy = box[:, 1].astype(jnp.int32)[:, None] * n_nodes + jnp.arange(n_nodes)[None, :]
    cell = (gx[:, :, None] * g + gy[:, None, :]).reshape(-1)                  # (n p^2,)
    weight = (wx[:, :, None] * wy[:, None, :]).reshape(n, -1)                  # (n, p^2)
    charges = jnp.stack([jnp.ones_like(y[:, 0]), y[:, 0], y[:, 1]], axis=1)    # (n, 3)
    grid = jnp.zeros((g * g, 3), y.dtype).at[cell].add(
        (weight[:, :, None] * charges[:, None, :]).reshape(-1, 3))
    grid = jnp.pad(grid.reshape(g, g, 3), ((0, g), (0, g), (0, 0)))
    f1, f2 = spectra
    spectrum = jnp.fft.rfft2(jnp.moveaxis(grid, 2, 0))                         # (3, 2g, g+1)
    pot = jnp.fft.irfft2(jnp.concatenate([spectrum[:1] * f1[None], spectrum * f2[None]], 0),
                         s=(2 * g, 2 * g))[:, :g, :g]                          # (4, g, g)
    pot = jnp.moveaxis(pot, 0, 2).reshape(g * g, 4)
    phi = jnp.sum(pot[cell].reshape(n, -1, 4) * weight[:, :, None], axis=1)   # (n, 4)
    return phi[:, 0], phi[:, 1], phi[:, 2:]


# Boxes per side of the interpolation grids, one compiled branch each: an iteration
# takes the fewest boxes of side ``box_width`` that cover the embedding (FIt-SNE's
# grid grows with the embedding the same way; the interpolation error grows fast
# past width 1), whose kernel spectra are computed once per fit; past the largest,
# its boxes widen to cover the points (and its spectra are recomputed). The widened
# boxes lose accuracy as they grow (measured, 3 nodes: the repulsion's relative error
# 4 % at width 1, 5 % at 1.1, 16 % at 1.7), so embeddings wider than
# 256 · box_width (far beyond the ±60 of 70 000 points) should lower box_width.
GRID_BOXES = (16, 32, 48, 64, 96, 128, 192, 256)


def grid_spectra(box_width, n_nodes, dtype):
    """:func:`kernel_spectra` of every grid of :data:`GRID_BOXES` at ``box_width``."""
    return tuple(kernel_spectra(b, n_nodes, box_width, dtype) for b in GRID_BOXES)


def kernel_sums(y, box_width, n_nodes, spectra):
    """:func:`fft_kernel_sums` on the smallest grid of :data:`GRID_BOXES` that covers
    ``y`` with boxes of side ``box_width`` (``lax.switch``)."""
    extent = jnp.max(y) - jnp.min(y)
    sizes = jnp.asarray(GRID_BOXES, y.dtype)
    index = jnp.sum(sizes * box_width <= extent)                   # len: none covers it
    largest = GRID_BOXES[-1]

    def wider(yy):
        width = extent * (1.0 + 1e-6) / largest
        return fft_kernel_sums(yy, largest, n_nodes, width,
                               kernel_spectra(largest, n_nodes, width, yy.dtype))

    branches = [partial(fft_kernel_sums, n_boxes=b, n_nodes=n_nodes, width=box_width,
                        spectra=sp) for b, sp in zip(GRID_BOXES, spectra)] + [wider]
    return jax.lax.switch(index, branches, y)


def sparse_gradient(y, nbr, v, exaggeration, box_width, n_nodes, spectra):
    """KL gradient ``(n, 2)`` (attraction scaled by ``exaggeration``) and ``Z``;
    ``spectra`` from :func:`grid_spectra`."""
    n = y.shape[0]
    yc = y - jnp.mean(y, axis=0, keepdims=True)
    s1, s2, s2y = kernel_sums(yc, box_width, n_nodes, spectra)
    z = jnp.sum(s1) - n
    repulsion = (yc * s2[:, None] - s2y) / z
    diff = yc[:, None, :] - yc[nbr]                                          # (n, k, 2)
    w = 1.0 / (1.0 + jnp.sum(diff * diff, axis=2))
    force = (v * w)[:, :, None] * diff
    attraction = jnp.sum(force, axis=1) - jnp.zeros_like(yc).at[nbr.reshape(-1)].add(
        force.reshape(-1, 2))
    return 4.0 * (exaggeration * attraction - repulsion), z


def symmetric_edges(nbr, v, block=1024):
    """``(p (n, k), count (n, k))`` for the directed edges: :math:`p_{ij} = v_{ij} +
    v_{ji}` (``v_ji = 0`` when ``j`` does not list ``i``), and how often the ordered
    pair ``(i, j)`` and its reverse are not already counted by another edge (2 for an
    edge without a reverse edge, 1 otherwise). By blocks of rows."""
    n, k = nbr.shape
    n_blocks = -(-n // block)
    rows = jnp.pad(jnp.arange(n), (0, n_blocks * block - n))

    def one(idx):
        back = nbr[nbr[idx]] == idx[:, None, None]                        # (b, k, k)
        v_back = jnp.sum(jnp.where(back, v[nbr[idx]], 0.0), axis=2)
        return v[idx] + v_back, jnp.where(jnp.any(back, axis=2), 1.0, 2.0).astype(v.dtype)

    p, count = jax.lax.map(one, rows.reshape(n_blocks, block))
    return p.reshape(-1, k)[:n], count.reshape(-1, k)[:n]


def sparse_kl(y, nbr, p, count, z):
    r"""KL(P‖Q) :math:`= \sum_{i\ne j} p_{ij}\ln(p_{ij} Z / w_{ij})` over the ordered
    pairs of positive :math:`p_{ij}`, from :func:`symmetric_edges` and ``z``."""
    diff = y[:, None, :] - y[nbr]
    w = 1.0 / (1.0 + jnp.sum(diff * diff, axis=2))
    return jnp.sum(count * p * jnp.log(jnp.maximum(p, 1e-30) * z / w))


@partial(jax.jit, static_argnames=("n_iter", "n_nodes"))
def optimise_sparse(nbr, v, p_sym, count, y0, n_iter, exaggeration, exaggeration_iter,
                    learning_rate, momenta, min_gain, box_width, n_nodes):
    """The optimiser of the exact method (momentum, gains, early exaggeration) on the
    sparse gradient; returns ``(y, kl, kl every 50 iterations)``."""
    spectra = grid_spectra(box_width, n_nodes, y0.dtype)
    def step(carry, it):
        y, update, gains = carry
        early = it < exaggeration_iter
        restart = it == exaggeration_iter
        update = jnp.where(restart, 0.0, update)
        gains = jnp.where(restart, 1.0, gains)
        exag = jnp.where(early, exaggeration, 1.0)
        grad, z = sparse_gradient(y, nbr, v, exag, box_width, n_nodes, spectra)
        kl = jax.lax.cond(it % 50 == 0, lambda: sparse_kl(y, nbr, exag * p_sym, count, z),
                          lambda: jnp.zeros((), y.dtype))
        same_sign = update * grad < 0.0
        gains = jnp.maximum(jnp.where(same_sign, gains + 0.2, gains * 0.8), min_gain)
        momentum = jnp.where(early, momenta[0], momenta[1])
        update = momentum * update - learning_rate * gains * grad
        return (y + update, update, gains), kl

    init = (y0, jnp.zeros_like(y0), jnp.ones_like(y0))
    (y, _, _), kls = jax.lax.scan(step, init, jnp.arange(n_iter))
    _, z = sparse_gradient(y, nbr, v, 1.0, box_width, n_nodes, spectra)
    return y, sparse_kl(y, nbr, p_sym, count, z), kls[::50]
