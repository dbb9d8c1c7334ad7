r"""Calibration of amortised posteriors: simulation-based calibration (SBC) with a test of
uniformity, expected coverage of highest-density regions, and TARP.

Every diagnostic takes a ``posterior``: a trained :class:`~jaxphys.generative.NPE`, or
any function ``x (n_x,) -> distrax.Distribution`` over θ (an analytic posterior, say),
and held-out pairs ``θ_i ~ p(θ)``, ``x_i ~ p(x | θ_i)``. For a posterior that equals
the true one on average over the prior,

* the rank of θ_i among ``M`` posterior draws is uniform on ``0..M`` per component
  (Talts et al. 2018, "Validating Bayesian inference algorithms with simulation-based
  calibration");
* θ_i lies in the ``α`` highest-posterior-density region with probability ``α``
  (expected coverage, Hermans et al. 2022, "A trust crisis in simulation-based
  inference?");
* the fraction of draws closer to a random reference point than θ_i is uniform on
  [0, 1] (TARP, Lemos et al. 2023, "Sampling-based accuracy testing of posterior
  estimators for general inference"; unlike the other two this tests the joint
  posterior, and is necessary and sufficient for calibration).

The uniformity tests (:func:`sbc_uniformity`, and the one inside :func:`tarp_coverage`)
are Pearson χ² tests on binned counts, with p-values from the χ² distribution
(``1 - P(k/2, χ²/2)``, the regularised incomplete gamma function).
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

import distrax
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaincc

from .._checks import as_array, as_int, check_finite, check_key, check_same_length


def _posterior_fn(posterior: Any) -> Callable[[jax.Array], distrax.Distribution]:
    if hasattr(posterior, "posterior") and callable(posterior.posterior):
        return posterior.posterior
    if callable(posterior):
        return posterior
    raise TypeError(f"posterior: expected an NPE or a function x -> distrax distribution, "
                    f"got {type(posterior).__name__}")


def _check_pairs(theta, x) -> tuple[jax.Array, jax.Array]:
    theta = as_array(theta, "theta", ndim=2)
    x = as_array(x, "x", ndim=2)
    check_same_length("theta", theta, "x", x)
    check_finite(theta, "theta")
    check_finite(x, "x")
    return theta, x


def posterior_samples(key: jax.Array, posterior: Any, x, n_samples: int,
                      *, batch_size: int = 64) -> tuple[jax.Array, jax.Array]:
    """``n_samples`` draws of ``q(θ | x_i)`` for every row of ``x`` (n, n_x) and their
    log-densities: arrays (n, n_samples, d) and (n, n_samples). One compiled function
    maps over the rows, ``batch_size`` at a time (``jax.lax.map``).

    Example:
        >>> import distrax, jax, jax.numpy as jnp
        >>> from jaxphys.generative import posterior_samples
        >>> posterior = lambda x: distrax.MultivariateNormalDiag(x, 0.1 * jnp.ones(2))  # q(θ|x)
        >>> x = jnp.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
        >>> theta, log_q = posterior_samples(jax.random.key(0), posterior, x, 5)
        >>> theta.shape, log_q.shape
        ((3, 5, 2), (3, 5))
        >>> d2 = jnp.sum((theta[1] - x[1][None, :]) ** 2, axis=-1)   # N(θ; x, 0.1² I):
        >>> bool(jnp.allclose(log_q[1], -jnp.log(2 * jnp.pi * 0.01) - d2 / 0.02, atol=1e-3))
        True
    """
    check_key(key, "key")
    fn = _posterior_fn(posterior)
    x = as_array(x, "x", ndim=2)
    check_finite(x, "x")
    n_samples = as_int(n_samples, "n_samples", minimum=1)
    batch_size = as_int(batch_size, "batch_size", minimum=1)
    keys = jax.random.split(key, x.shape[0])

    @jax.jit
    def draw(keys, x):
        def one(args):
            k, xi = args
            # distrax's Normal sampler adds loc (d,) to draws (n, d) by rank promotion
            with jax.numpy_rank_promotion("allow"):
                return fn(xi).sample_and_log_prob(seed=k, sample_shape=n_samples)
        return jax.lax.map(one, (keys, x), batch_size=int(batch_size))

    return draw(keys, x)


def chi2_survival(statistic, dof) -> np.ndarray:
    """``P(χ²_dof > statistic)``: the regularised upper incomplete gamma function
    ``Q(dof/2, statistic/2)``.

    Example:
        >>> round(float(chi2_survival(3.841459, 1)), 4)        # the 95 % point of χ²₁
        0.05
    """
    stat = np.asarray(statistic, np.float64)
    return np.asarray(gammaincc(jnp.asarray(0.5 * float(dof), jnp.float32),
                                jnp.asarray(0.5 * stat, jnp.float32)), np.float64)


class UniformityTest(NamedTuple):
    """Pearson χ² test that integer ranks are uniform on ``0..n_values-1``.

    Fields:
        statistic: (d,) float, ``Σ_b (O_b - E_b)² / E_b`` over the bins, per component.
        p_value: (d,) float, ``P(χ²_{bins-1} > statistic)``.
        counts: (bins, d) int, observed counts ``O_b``.
        expected: (bins,) float, expected counts ``E_b = n · (values in bin b) / n_values``.

    Example:
        >>> import numpy as np
        >>> from jaxphys.generative import UniformityTest, rank_uniformity
        >>> res = rank_uniformity(np.array([0, 0, 0, 1]), 2)      # a fair coin? 3 to 1
        >>> isinstance(res, UniformityTest), res.counts[:, 0].tolist(), res.expected.tolist()
        (True, [3, 1], [2.0, 2.0])
        >>> float(res.statistic[0]), round(float(res.p_value[0]), 4)   # (1² + 1²)/2, P(χ²₁ > 1)
        (1.0, 0.3173)
    """

    statistic: np.ndarray
    p_value: np.ndarray
    counts: np.ndarray
    expected: np.ndarray


def rank_uniformity(ranks, n_values: int, *, n_bins: int | None = None) -> UniformityTest:
    """χ² test of uniformity of integer ``ranks`` (n,) or (n, d) on ``0..n_values-1``.

    The values are grouped into ``n_bins`` consecutive bins of (nearly) equal size
    (default: about n/10 expected counts per bin, at most 20 bins and at most
    ``n_values``); the expected count of a bin is ``n`` times its share of the values.

    Example:
        >>> ranks = np.arange(1000) % 10                     # perfectly uniform on 0..9
        >>> res = rank_uniformity(ranks, 10)
        >>> float(res.statistic[0]), float(res.p_value[0])
        (0.0, 1.0)
    """
    ranks = np.asarray(ranks)
    if ranks.ndim == 1:
        ranks = ranks[:, None]
    if ranks.ndim != 2 or not np.issubdtype(ranks.dtype, np.integer):
        raise ValueError(f"ranks: expected integer ranks (n,) or (n, d), got dtype "
                         f"{ranks.dtype} and shape {ranks.shape}")
    n_values = as_int(n_values, "n_values", minimum=2)
    if ranks.size and (ranks.min() < 0 or ranks.max() >= n_values):
        raise ValueError(f"ranks: expected values in 0..{n_values - 1}, got "
                         f"{ranks.min()}..{ranks.max()}")
    n = ranks.shape[0]
    if n_bins is None:
        n_bins = int(min(20, n_values, max(2, n // 10)))
    n_bins = as_int(n_bins, "n_bins", minimum=2)
    if n_bins > n_values:
        raise ValueError(f"n_bins: expected at most n_values={n_values}, got {n_bins}")
    edges = np.round(np.linspace(0, n_values, n_bins + 1)).astype(int)
    counts = np.stack([np.sum((ranks >= lo) & (ranks < hi), axis=0)
                       for lo, hi in zip(edges[:-1], edges[1:])])
    expected = n * np.diff(edges) / n_values
    stat = np.sum((counts - expected[:, None]) ** 2 / expected[:, None], axis=0)
    return UniformityTest(stat, chi2_survival(stat, n_bins - 1), counts, expected)


class SBCResult(NamedTuple):
    """Simulation-based calibration (Talts et al. 2018).

    Fields:
        ranks: (n_sbc, d) int, rank of the true θ_j among the posterior samples' θ_j.
        n_posterior: number of posterior samples per simulation (ranks lie in
            0..n_posterior, uniform for a calibrated posterior).

    Example:
        >>> import numpy as np
        >>> from jaxphys.generative import SBCResult, sbc_uniformity
        >>> ranks = (np.arange(100) % 10)[:, None]        # 100 simulations, 9 draws: 0..9
        >>> result = SBCResult(ranks=ranks, n_posterior=9)
        >>> test = sbc_uniformity(result)                 # every rank equally often
        >>> float(test.statistic[0]), float(test.p_value[0])
        (0.0, 1.0)
    """

    ranks: np.ndarray
    n_posterior: int


def sbc_ranks(key: jax.Array, posterior: Any, theta, x, *, n_posterior: int = 200) -> SBCResult:
    """SBC ranks of the true parameters ``theta`` (n, d) given their simulations ``x``
    (n, n_x): ``rank_ij = #{m : θ^{(m)}_j < θ_ij}`` over ``n_posterior`` draws of the
    posterior of ``x_i``. Test them with :func:`sbc_uniformity`.

    Example:
        >>> import jax
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> task = gaussian_linear(dim=2)
        >>> theta, x = simulate_batch(jax.random.key(0), task, 50)
        >>> sbc_ranks(jax.random.key(1), task.posterior, theta, x, n_posterior=9).ranks.shape
        (50, 2)
    """
    theta, x = _check_pairs(theta, x)
    samples, _ = posterior_samples(key, posterior, x, as_int(n_posterior, "n_posterior",
                                                             minimum=1))
    ranks = np.asarray(jnp.sum(samples < theta[:, None, :], axis=1))
    return SBCResult(ranks, int(n_posterior))


def sbc_uniformity(result: SBCResult, *, n_bins: int | None = None) -> UniformityTest:
    """χ² test that the SBC ranks are uniform on ``0..n_posterior`` (per component);
    small p-values reject calibration. See :func:`rank_uniformity`.

    Example:
        >>> import numpy as np
        >>> from jaxphys.generative import SBCResult, sbc_uniformity
        >>> ranks = np.array([0, 9] * 50)[:, None]     # over-confident: truth outside the draws
        >>> test = sbc_uniformity(SBCResult(ranks, 9))  # 10 bins, 10 expected in each
        >>> test.counts[:, 0].tolist()
        [50, 0, 0, 0, 0, 0, 0, 0, 0, 50]
        >>> float(test.statistic[0]), bool(test.p_value[0] < 1e-6)   # 2·40²/10 + 8·10²/10
        (400.0, True)
    """
    if not isinstance(result, SBCResult):
        raise TypeError(f"result: expected an SBCResult, got {type(result).__name__}")
    return rank_uniformity(result.ranks, result.n_posterior + 1, n_bins=n_bins)


class CoverageResult(NamedTuple):
    """Expected coverage of highest-posterior-density regions.

    Fields:
        levels: (k,) nominal credibility levels.
        coverage: (k,) fraction of simulations whose true θ lies in the
            ``level`` HPD region of q(θ | x) (≈ level when calibrated).
        credibility: (n,) for each simulation, the smallest HPD level containing
            the true θ (the fraction of posterior samples with higher density).
        standard_error: (k,) binomial standard error ``√(α(1-α)/n)`` of the coverage of a
            calibrated posterior.

    Example (built by hand from four credibilities, as :func:`expected_coverage` does):
        >>> import numpy as np
        >>> from jaxphys.generative import CoverageResult
        >>> cred = np.array([0.1, 0.3, 0.6, 0.9])      # HPD level of the truth, per simulation
        >>> levels = np.array([0.5, 0.95])
        >>> res = CoverageResult(levels, np.array([np.mean(cred < a) for a in levels]), cred,
        ...                      np.sqrt(levels * (1 - levels) / len(cred)))
        >>> res.coverage.tolist(), [round(float(s), 4) for s in res.standard_error]
        ([0.5, 1.0], [0.25, 0.109])
    """

    levels: np.ndarray
    coverage: np.ndarray
    credibility: np.ndarray
    standard_error: np.ndarray


def expected_coverage(key: jax.Array, posterior: Any, theta, x, *,
                      levels: Sequence[float] = (0.5, 0.68, 0.95),
                      n_posterior: int = 500) -> CoverageResult:
    r"""Expected coverage: for each simulation, the HPD credibility of the truth

    .. math:: c_i = \frac{1}{M}\sum_{m=1}^{M} \mathbb 1[q(θ_m|x_i) > q(θ_i^*|x_i)],
              \quad θ_m \sim q(·|x_i),

    and coverage(α) = mean_i 1[c_i < α]; a calibrated posterior gives α (within the
    binomial ``standard_error``).

    Example:
        >>> import jax
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> task = gaussian_linear(dim=2)
        >>> theta, x = simulate_batch(jax.random.key(0), task, 400)
        >>> cov = expected_coverage(jax.random.key(1), task.posterior, theta, x)
        >>> bool(np.all(np.abs(cov.coverage - cov.levels) < 4 * cov.standard_error))
        True
    """
    theta, x = _check_pairs(theta, x)
    levels = np.asarray(levels, np.float64)
    if levels.ndim != 1 or np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"levels: expected credibility levels in (0, 1), got {levels}")
    _, logq = posterior_samples(key, posterior, x, as_int(n_posterior, "n_posterior",
                                                          minimum=1))
    logq_true = jax.jit(lambda x, t: _posterior_fn(posterior)(x).log_prob(t))(x, theta)
    cred = np.asarray(jnp.mean(logq > logq_true[:, None], axis=1))
    cov = np.array([np.mean(cred < a) for a in levels])
    return CoverageResult(levels, cov, cred, np.sqrt(levels * (1 - levels) / len(cred)))


class TARPResult(NamedTuple):
    """Tests of Accuracy with Random Points (Lemos et al. 2023).

    Fields:
        levels: (k,) credibility levels α.
        coverage: (k,) expected coverage probability ECP(α) = mean_i 1[f_i < α]
            (≈ α when calibrated).
        fractions: (n,) ``f_i``, the fraction of posterior draws closer to the
            reference point than the true θ_i (uniform on [0, 1] when calibrated).
        uniformity: the χ² test of the ``f_i`` on ``n_bins`` equal bins of [0, 1].
        max_deviation: max over α of ``|ECP(α) - α|``.

    Example (built by hand, as :func:`tarp_coverage` does, from ten evenly spread ``f_i``):
        >>> import numpy as np
        >>> from jaxphys.generative import TARPResult, rank_uniformity
        >>> f = np.arange(10) / 10
        >>> levels = np.array([0.0, 0.5, 1.0])
        >>> ecp = np.array([np.mean(f < a) for a in levels])
        >>> res = TARPResult(levels, ecp, f, rank_uniformity(np.arange(10), 10),
        ...                  float(np.max(np.abs(ecp - levels))))
        >>> res.coverage.tolist(), res.max_deviation, float(res.uniformity.p_value[0])
        ([0.0, 0.5, 1.0], 0.0, 1.0)
    """

    levels: np.ndarray
    coverage: np.ndarray
    fractions: np.ndarray
    uniformity: UniformityTest
    max_deviation: float


def tarp_coverage(key: jax.Array, posterior: Any, theta, x, *, n_posterior: int = 500,
                  n_levels: int = 51, n_bins: int | None = None,
                  references=None) -> TARPResult:
    r"""TARP expected coverage (Lemos et al. 2023).

    All points are first scaled to the unit box of the true parameters (``u = (θ - lo) /
    (hi - lo)``, ``lo``/``hi`` the componentwise extremes of ``theta``). For simulation
    ``i`` a reference point ``θ_r,i`` is drawn uniformly in that box (or taken from
    ``references`` (n, d), in θ units), and with ``θ_m ~ q(·|x_i)``

    .. math:: f_i = \frac1M \sum_{m=1}^{M} \mathbb 1\big[\|θ_m - θ_{r,i}\| <
              \|θ_i - θ_{r,i}\|\big], \qquad \mathrm{ECP}(α) = \frac1n\sum_i
              \mathbb 1\Big[\frac{M f_i + u_i}{M + 1} < α\Big],

    with ``u_i ~ U(0, 1)`` breaking the ties of the discrete ``f_i`` (a randomised rank,
    exactly uniform for a calibrated posterior).

    For the true posterior the ``f_i`` are uniform and ECP(α) = α for every α and every
    reference distribution independent of θ_i; an over-confident posterior puts the
    ``f_i`` near 1 and a biased one on one side. Uniform references barely see a shifted
    posterior; references that depend on ``x`` (Lemos et al.'s sufficiency condition),
    e.g. ``x + 1`` when x lives in θ's space, expose it.

    Example:
        >>> import jax
        >>> from jaxphys.physics.simulators import gaussian_linear, simulate_batch
        >>> task = gaussian_linear(dim=2)
        >>> theta, x = simulate_batch(jax.random.key(0), task, 400)
        >>> res = tarp_coverage(jax.random.key(1), task.posterior, theta, x)
        >>> res.max_deviation < 0.1
        True
    """
    check_key(key, "key")
    theta, x = _check_pairs(theta, x)
    n_levels = as_int(n_levels, "n_levels", minimum=2)
    if n_bins is not None:
        n_bins = as_int(n_bins, "n_bins", minimum=2)
    sample_key, ref_key, tie_key = jax.random.split(key, 3)
    samples, _ = posterior_samples(sample_key, posterior, x,
                                   as_int(n_posterior, "n_posterior", minimum=1))
    lo, hi = jnp.min(theta, axis=0), jnp.max(theta, axis=0)
    width = jnp.where(hi > lo, hi - lo, 1.0)
    if references is None:
        refs = jax.random.uniform(ref_key, theta.shape, theta.dtype)
    else:
        refs = as_array(references, "references", ndim=2)
        if refs.shape != theta.shape:
            raise ValueError(f"references: expected shape {tuple(theta.shape)} like theta, "
                             f"got {tuple(refs.shape)}")
        refs = (refs - lo[None]) / width[None]
    unit_true = (theta - lo[None]) / width[None]
    unit_samples = (samples - lo[None, None]) / width[None, None]
    d_true = jnp.sum((unit_true - refs) ** 2, axis=-1)
    d_samples = jnp.sum((unit_samples - refs[:, None]) ** 2, axis=-1)
    fractions = np.asarray(jnp.mean(d_samples < d_true[:, None], axis=1), np.float64)
    m = int(n_posterior)
    # f_i takes the values k/M: the integer k is uniform on 0..M for a calibrated posterior.
    # The ECP curve uses the randomised rank (k + u)/(M + 1), u ~ U(0, 1): exactly uniform
    # on (0, 1) for a calibrated posterior, so ECP(0) = 0 and ECP(1) = 1 without ties.
    counts = np.rint(fractions * m).astype(np.int64)
    jitter = np.asarray(jax.random.uniform(tie_key, (counts.shape[0],)), np.float64)
    levels = np.linspace(0.0, 1.0, n_levels)
    continuous = (counts + jitter) / (m + 1)
    ecp = np.array([np.mean(continuous < a) for a in levels])
    uniformity = rank_uniformity(counts, m + 1, n_bins=n_bins)
    return TARPResult(levels, ecp, fractions, uniformity, float(np.max(np.abs(ecp - levels))))
