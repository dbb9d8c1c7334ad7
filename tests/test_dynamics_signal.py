"""Mean-field signal propagation against quadrature/closed forms and random networks."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import integrate

from jaxphys.dynamics import (chi1, correlation_map, critical_sigma_w2,
                              empirical_correlation_map, fixed_point_length, length_map,
                              mean_field, propagate_pair, trainability)


def _gauss(f):
    return integrate.quad(lambda z: f(z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
                          -12, 12, limit=200)[0]


def test_length_map_and_chi1_against_scipy_quad(x64):
    sw, sb, q = 1.7, 0.05, 0.6
    ref = sw * _gauss(lambda z: np.tanh(np.sqrt(q) * z) ** 2) + sb
    assert float(length_map(q, sw, sb)) == pytest.approx(ref, rel=1e-10)
    qs = float(fixed_point_length(sw, sb))
    assert qs == pytest.approx(sw * _gauss(lambda z: np.tanh(np.sqrt(qs) * z) ** 2) + sb,
                               rel=1e-9)
    ref_chi = sw * _gauss(lambda z: (1 - np.tanh(np.sqrt(qs) * z) ** 2) ** 2)
    assert float(chi1(sw, sb)) == pytest.approx(ref_chi, rel=1e-9)
    # correlation map against a 2-D quadrature
    c = 0.4

    def integrand(z2, z1):
        u1 = np.sqrt(qs) * z1
        u2 = np.sqrt(qs) * (c * z1 + np.sqrt(1 - c * c) * z2)
        return np.tanh(u1) * np.tanh(u2) * np.exp(-(z1 ** 2 + z2 ** 2) / 2) / (2 * np.pi)

    ref_c = (sw * integrate.dblquad(integrand, -10, 10, -10, 10)[0] + sb) / qs
    assert float(correlation_map(c, sw, sb)) == pytest.approx(ref_c, abs=1e-7)
    # ReLU, closed forms: ∫Dz relu(√q z)² = q/2, so q ↦ σ_w² q/2 + σ_b²
    assert float(length_map(0.8, 2.0, 0.1, "relu")) == pytest.approx(0.9, rel=1e-9)
    # arc-cosine kernel: c ↦ [√(1-c²) + (π - arccos c) c] / π for ReLU, σ_w² = 2, σ_b² = 0
    cc = 0.3
    arccos = (np.sqrt(1 - cc ** 2) + (np.pi - np.arccos(cc)) * cc) / np.pi
    assert float(correlation_map(cc, 2.0, 0.0, "relu", q=1.0, n_quad=200)) == pytest.approx(
        arccos, abs=2e-3)


def test_critical_line_tanh():
    """Done-when: σ_w²* = 1.761 at σ_b² = 0.05 and 1.424 at 0.01 (± 0.005)."""
    crit = np.asarray(critical_sigma_w2(jnp.array([0.05, 0.01])))
    assert crit[0] == pytest.approx(1.761, abs=0.005)
    assert crit[1] == pytest.approx(1.424, abs=0.005)
    # χ₁ = 1 on the line, and the line rises with σ_b²
    assert float(chi1(crit[0], 0.05)) == pytest.approx(1.0, abs=1e-4)
    more = np.asarray(critical_sigma_w2(jnp.array([0.1, 0.5, 1.0])))
    assert np.all(np.diff(np.concatenate([crit[::-1], more])) > 0)


def test_user_activation_and_phases():
    # a user callable: erf-like scaled tanh; critical line exists and differs from tanh
    def act(x):
        return jnp.tanh(1.5 * x)

    crit = float(critical_sigma_w2(0.05, act))
    assert float(chi1(crit, 0.05, act)) == pytest.approx(1.0, abs=1e-3)
    # φ(x) = tanh(a x) with h' = a h is a tanh network with (a²σ_w², a²σ_b²): exact identity
    assert crit == pytest.approx(float(critical_sigma_w2(2.25 * 0.05)) / 2.25, rel=1e-4)
    mf = mean_field(jnp.array([1.0, 1.761, 4.0]), 0.05)
    assert float(mf.c_star[0]) == 1.0 and float(mf.c_star[2]) < 0.9
    assert float(mf.xi_c[1]) > 20 * float(mf.xi_c[0])         # ξ_c diverges at the edge
    # ordered phase: ξ_c = -1/ln χ₁
    assert float(mf.xi_c[0]) == pytest.approx(-1 / np.log(float(mf.chi1[0])), rel=1e-6)


def test_empirical_correlation_map_width_1000():
    """Done-when: the measured correlation map of width-1000 layers matches mean field (0.02)."""
    sw, sb = 2.5, 0.05
    qs = fixed_point_length(sw, sb)
    c_in = jnp.linspace(-0.8, 1.0, 8)
    emp = empirical_correlation_map(jax.random.key(0), c_in, qs, sw, sb, width=1000,
                                    n_networks=100)   # O(width) per layer: many are cheap
    mf = jax.vmap(lambda c: correlation_map(c, sw, sb))(c_in)
    assert np.max(np.abs(np.asarray(emp) - np.asarray(mf))) < 0.02
    # a deep network: correlations of two inputs follow the iterated map layer by layer
    key_in, key_net = jax.random.split(jax.random.key(1))
    z = jax.random.normal(key_in, (2, 1000))
    c0 = 0.2
    ha = jnp.sqrt(qs) * z[0]
    hb = jnp.sqrt(qs) * (c0 * z[0] + np.sqrt(1 - c0 ** 2) * z[1])
    outs = [propagate_pair(k, ha, hb, sw, sb, depth=6, width=1000)
            for k in jax.random.split(key_net, 6)]
    c_emp = np.mean([np.asarray(o.c) for o in outs], axis=0)
    q_emp = np.mean([np.asarray(o.q_a) for o in outs], axis=0)
    c, curve = float(jnp.dot(ha, hb) / jnp.sqrt(jnp.dot(ha, ha) * jnp.dot(hb, hb))), []
    for _ in range(6):
        c = float(correlation_map(c, sw, sb))
        curve.append(c)
    assert np.max(np.abs(c_emp - np.array(curve))) < 0.03
    assert np.max(np.abs(q_emp / float(qs) - 1)) < 0.05


def test_bad_inputs():
    with pytest.raises(ValueError, match="sigma_w2"):
        chi1(0.0, 0.05)
    with pytest.raises(ValueError, match="sigma_w2"):
        mean_field(jnp.array([1.0, -1.0]), 0.05)
    with pytest.raises(ValueError, match="sigma_b2"):
        critical_sigma_w2(-0.1)
    with pytest.raises(ValueError, match="sigma_w2"):
        propagate_pair(jax.random.key(0), jnp.ones(4), jnp.ones(4), 0.0, 0.1, depth=2, width=4)
    with pytest.raises(ValueError, match="h_b"):
        propagate_pair(jax.random.key(0), jnp.ones(4), jnp.ones(5), 1.0, 0.1, depth=2, width=4)
    with pytest.raises(ValueError, match="activation|unknown"):
        chi1(1.0, 0.05, "no-such-activation")


@pytest.mark.no_key_reuse_check
def test_trainability_depth_against_xi_c():
    """Deep nets train at the edge of chaos, not deep in the ordered phase (depth ≫ 6 ξ_c)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 16)).astype(np.float32)
    y = np.argmax(x @ rng.normal(size=(16, 4)), axis=1).astype(np.int32)   # linear teacher
    res = trainability(jax.random.key(0), x, y, jnp.array([0.3, 1.761]), 0.05, [30],
                       width=32, n_steps=300, learning_rate=2e-3)
    acc = np.asarray(res.accuracy)[:, 0]
    xi = np.asarray(res.xi_c)
    assert 30 > 6 * xi[0] and 30 < 6 * xi[1]
    assert acc[1] > 0.6 and acc[0] < 0.4, acc
    # the user's optimiser runs: at learning rate 0 the edge-of-chaos net stays at chance
    frozen = trainability(jax.random.key(0), x, y, jnp.array([1.761]), 0.05, [4], width=16,
                          n_steps=20, optimizer=optax.sgd(0.0))
    assert float(frozen.accuracy[0, 0]) < 0.45
    with pytest.raises(ValueError, match="batch_size"):
        trainability(jax.random.key(0), x, y, jnp.array([1.0]), 0.05, [2], batch_size=513)


@pytest.mark.slow
@pytest.mark.no_key_reuse_check
def test_chapter_18_quick(tmp_path):
    pytest.importorskip("matplotlib")
    from jaxphys.tour._ch18_signal import CHAPTER

    res = CHAPTER.run(jax.random.key(0), tmp_path, quick=True)
    assert all(f.is_file() for f in res.figures)
    assert res.metrics["critical_sigma_w2_sb_0.05"] == pytest.approx(1.761, abs=0.005)


def _scipy_q_star(sw, sb):
    from scipy import optimize
    def gauss(f):
        return integrate.quad(lambda z: f(z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi),
                              -np.inf, np.inf, epsabs=1e-13, epsrel=1e-13, limit=500)[0]

    def g(q):
        return sw * gauss(lambda z: np.tanh(np.sqrt(q) * z) ** 2) + sb - q

    q = optimize.brentq(g, sb, sw + sb + 1, xtol=1e-15, rtol=1e-14)
    return q, sw * gauss(lambda z: (1 - np.tanh(np.sqrt(q) * z) ** 2) ** 2)


def test_critical_line_and_maps_over_sigma_b2_0_to_5_against_adaptive_quadrature(x64):
    """The critical line (χ₁ = 1), q* and χ₁ over σ_b² ∈ [0, 5] against scipy's adaptive
    quadrature and root finding, within 1e-6 (with 64 Gauss–Hermite nodes the line was
    off by 3e-4 at σ_b² = 0.5 and 0.78 at 5: φ'(√q z)² narrows as q grows); at σ_b² = 0
    the line is σ_w² = 1 exactly. The correlation map at σ_b² = 5 (the largest q*)
    against a 2-D adaptive quadrature, within 1e-6."""
    from scipy import optimize

    sb2 = np.array([0.0, 0.5, 1.0, 2.0, 3.0, 5.0])
    crit = np.asarray(critical_sigma_w2(sb2))
    assert crit[0] == pytest.approx(1.0, abs=1e-6)
    for b, got in zip(sb2[1:], crit[1:]):
        want = optimize.brentq(lambda sw: _scipy_q_star(sw, b)[1] - 1.0, 1.0, 20.0, xtol=1e-13)
        assert got == pytest.approx(want, abs=1e-6), (b, got, want)
        q_ref, chi_ref = _scipy_q_star(2.5, b)
        assert float(fixed_point_length(2.5, b)) == pytest.approx(q_ref, abs=1e-6)
        assert float(chi1(2.5, b)) == pytest.approx(chi_ref, abs=1e-6)
    sw, sb, c = 2.5, 5.0, 0.4
    qs = _scipy_q_star(sw, sb)[0]

    def integrand(z2, z1):
        u1 = np.sqrt(qs) * z1
        u2 = np.sqrt(qs) * (c * z1 + np.sqrt(1 - c * c) * z2)
        return np.tanh(u1) * np.tanh(u2) * np.exp(-(z1 ** 2 + z2 ** 2) / 2) / (2 * np.pi)

    ref_c = (sw * integrate.dblquad(integrand, -12, 12, -12, 12, epsabs=1e-11,
                                    epsrel=1e-11)[0] + sb) / qs
    assert float(correlation_map(c, sw, sb)) == pytest.approx(ref_c, abs=1e-6)
