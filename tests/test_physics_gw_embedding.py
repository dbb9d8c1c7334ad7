"""The reduced basis (orthonormality, Eckart–Young optimality, white noise stays white,
held-out reconstruction) and the embedding network (fixed or trainable projection)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxphys.physics.gw import (GWEmbedding, gw_problem, project, reduced_basis,
                                simulate_dataset, waveform_basis)
from jaxphys.physics.gw._problem import _whitened_parts


@pytest.fixture(scope="module")
def basis_and_waves():
    problem = gw_problem()
    basis = waveform_basis(jax.random.key(0), problem, 2000, 32)
    theta = problem.prior.sample(seed=jax.random.key(1), sample_shape=300)
    phases = jax.random.uniform(jax.random.key(2), (300,), maxval=2 * np.pi)
    re, im = jax.vmap(lambda t, p: _whitened_parts(t, problem, p))(theta, phases)
    held_out = np.asarray(re, np.float64) + 1j * np.asarray(im, np.float64)
    return problem, basis, held_out


def test_basis_is_orthonormal_and_reconstructs_held_out_waveforms(basis_and_waves):
    problem, basis, held_out = basis_and_waves
    v = basis.basis
    assert v.shape == (problem.n_bins, 32)
    np.testing.assert_allclose(v.conj().T @ v, np.eye(32), atol=1e-10)
    assert np.all(np.diff(basis.singular_values) <= 0)
    residual = held_out - (held_out @ v) @ v.conj().T
    lost = np.sum(np.abs(residual) ** 2, axis=1) / np.sum(np.abs(held_out) ** 2, axis=1)
    assert np.max(lost) < 1e-3, np.max(lost)
    # fewer vectors lose more
    v8 = v[:, :8]
    lost8 = np.sum(np.abs(held_out - (held_out @ v8) @ v8.conj().T) ** 2, axis=1)
    assert np.mean(lost8) > 10 * np.mean(lost * np.sum(np.abs(held_out) ** 2, axis=1))
    # the real projection gives the complex coefficients c = w V
    x = np.concatenate([held_out.real, held_out.imag], axis=1).astype(np.float32)
    coeffs = np.asarray(project(jnp.asarray(x), basis))
    want = held_out @ v
    np.testing.assert_allclose(coeffs[:, :32] + 1j * coeffs[:, 32:], want,
                               atol=2e-4 * np.abs(want).max())


def test_eckart_young_residual():
    """||H - H V_K V_K^H||_F² = Σ_{k>K} s_k² for the training matrix itself."""
    rng = np.random.default_rng(0)
    h = rng.normal(size=(40, 30)) + 1j * rng.normal(size=(40, 30))
    rb = reduced_basis(h, 10)
    all_s = np.linalg.svd(h, compute_uv=False)
    residual = h - (h @ rb.basis) @ rb.basis.conj().T
    assert abs(np.sum(np.abs(residual) ** 2) / np.sum(all_s[10:] ** 2) - 1) < 1e-10
    np.testing.assert_allclose(rb.singular_values, all_s[:10], rtol=1e-12)
    with pytest.raises(ValueError, match="n_basis"):
        reduced_basis(h, 31)
    with pytest.raises(ValueError, match="waveforms"):
        reduced_basis(h[0], 2)


def test_projected_noise_stays_white(basis_and_waves):
    problem, basis, _ = basis_and_waves
    noise = np.asarray(jax.random.normal(jax.random.key(3), (20000, 2 * problem.n_bins)))
    coeffs = np.asarray(project(jnp.asarray(noise), basis), np.float64)
    cov = np.cov(coeffs.T)
    # sampling error of a covariance entry: about 1/sqrt(20000) = 0.007
    assert np.max(np.abs(cov - np.eye(64))) < 0.04


def test_embedding_fixed_and_trainable_projection(basis_and_waves):
    problem, basis, _ = basis_and_waves
    _, x = simulate_dataset(jax.random.key(4), problem, 8)
    fixed = GWEmbedding(basis.projection, width=32, n_blocks=2, output_dim=8)
    params = fixed.init(jax.random.key(5), x)
    assert "projection" not in params["params"]
    out = fixed.apply(params, x)
    assert out.shape == (8, 8) and np.all(np.isfinite(np.asarray(out)))
    # the output depends on x only through the 64 projected coefficients: moving x
    # orthogonally to the basis leaves it unchanged
    p = jnp.asarray(basis.projection)
    direction = jax.random.normal(jax.random.key(6), (x.shape[1],))
    direction = direction - p @ jnp.linalg.lstsq(p, direction)[0]
    moved = fixed.apply(params, x + 10.0 * direction[None])
    np.testing.assert_allclose(np.asarray(moved), np.asarray(out), atol=1e-3)
    trainable = GWEmbedding(basis.projection, width=32, n_blocks=2, output_dim=8,
                            trainable_basis=True)
    tparams = trainable.init(jax.random.key(5), x)
    np.testing.assert_array_equal(np.asarray(tparams["params"]["projection"]), basis.projection)
    grads = jax.grad(lambda q: jnp.sum(trainable.apply(q, x) ** 2))(tparams)
    assert float(jnp.abs(grads["params"]["projection"]).max()) > 0
    with pytest.raises(ValueError, match="x.*242"):
        fixed.apply(params, x[:, :-1])
