"""Synthetic sequence tasks: the oscillator obeys its equations of motion, additions are right."""

import jax
import numpy as np
import pytest
import scipy.linalg

from jaxphys.data._sequences import (ADDITION_VOCAB, addition_problems, coupled_oscillator,
                                     decode_addition, encode_addition, normal_modes,
                                     recall_first)

MASSES = (1.0, 1.5)
SPRINGS = (1.0, 0.6, 1.4)          # k1 (left wall), kc (coupling), k2 (right wall)


def test_oscillator_satisfies_equations_of_motion(x64):
    dt = 1e-3
    ds = coupled_oscillator(jax.random.key(0), n=4, n_steps=2001, dt=dt, masses=MASSES,
                            springs=SPRINGS)
    x = np.asarray(ds.truth["positions"])
    x1, x2 = x[..., 0], x[..., 1]
    np.testing.assert_array_equal(np.asarray(ds.x[..., 0]), x1)      # noise=0: x is x1
    np.testing.assert_array_equal(np.asarray(ds.y[..., 0]), x2)      # y is the hidden x2
    acc = (x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]) / dt**2
    m1, m2 = MASSES
    k1, kc, k2 = SPRINGS
    rhs1 = -(k1 * x1 + kc * (x1 - x2))[:, 1:-1] / m1
    rhs2 = -(k2 * x2 + kc * (x2 - x1))[:, 1:-1] / m2
    np.testing.assert_allclose(acc[..., 0], rhs1, atol=1e-6)          # O(dt²) error
    np.testing.assert_allclose(acc[..., 1], rhs2, atol=1e-6)
    v = np.asarray(ds.truth["velocities"])
    np.testing.assert_allclose((x[:, 2:] - x[:, :-2]) / (2 * dt), v[:, 1:-1], atol=1e-6)


def test_oscillator_conserves_energy(x64):
    ds = coupled_oscillator(jax.random.key(1), n=8, n_steps=500, dt=0.05, masses=MASSES,
                            springs=SPRINGS, amplitude=2.0)
    x = np.asarray(ds.truth["positions"])
    v = np.asarray(ds.truth["velocities"])
    m1, m2 = MASSES
    k1, kc, k2 = SPRINGS
    energy = 0.5 * (m1 * v[..., 0] ** 2 + m2 * v[..., 1] ** 2 + k1 * x[..., 0] ** 2
                    + kc * (x[..., 0] - x[..., 1]) ** 2 + k2 * x[..., 1] ** 2)
    assert np.all(energy > 0)
    np.testing.assert_allclose(energy, energy[:, :1] * np.ones((1, energy.shape[1])),
                               rtol=1e-10)
    np.testing.assert_allclose(np.asarray(ds.truth["energy"]), energy[:, 0], rtol=1e-10)


def test_normal_modes_match_scipy_generalised_eigenproblem(x64):
    k1, kc, k2 = SPRINGS
    stiffness = np.array([[k1 + kc, -kc], [-kc, k2 + kc]])
    lam = scipy.linalg.eigh(stiffness, np.diag(MASSES), eigvals_only=True)
    omega, modes = normal_modes(MASSES, SPRINGS)
    np.testing.assert_allclose(omega, np.sqrt(lam), rtol=1e-12)
    np.testing.assert_allclose(modes.T @ np.diag(MASSES) @ modes, np.eye(2), atol=1e-12)


def test_oscillator_seeds_noise_and_bad_input():
    a = coupled_oscillator(jax.random.key(2), n=3, n_steps=10)
    b = coupled_oscillator(jax.random.key(3), n=3, n_steps=10)
    assert not np.allclose(a.y, b.y)
    noisy = coupled_oscillator(jax.random.key(2), n=3, n_steps=10, noise=0.1)
    np.testing.assert_allclose(noisy.y, a.y)                           # targets stay exact
    resid = np.asarray(noisy.x - a.x)
    assert 0.03 < resid.std() < 0.3
    with pytest.raises(ValueError, match="masses"):
        coupled_oscillator(jax.random.key(4), masses=(1.0, -1.0))
    with pytest.raises(ValueError, match="springs"):
        coupled_oscillator(jax.random.key(4), springs=(1.0, 1.0))
    with pytest.raises(ValueError, match="dt"):
        coupled_oscillator(jax.random.key(4), dt=0.0)
    with pytest.raises(ValueError, match="n_steps"):
        coupled_oscillator(jax.random.key(4), n_steps=1)


@pytest.mark.parametrize("n_digits, n_train, n_test", [(2, 3000, 500), (3, 2000, 500),
                                                       (5, 500, 200)])
def test_addition_strings_are_correct_and_splits_disjoint(n_digits, n_train, n_test):
    task = addition_problems(jax.random.key(5), n_digits=n_digits, n_train=n_train,
                             n_test=n_test)
    width = 3 * n_digits + 3
    assert task.train.shape == (n_train, width) and task.test.shape == (n_test, width)
    assert task.prompt_length == 2 * n_digits + 2
    for tokens, operands in ((task.train, task.train_operands), (task.test, task.test_operands)):
        for text, (a, b) in zip(decode_addition(tokens), operands.tolist()):
            lhs, rhs = text.split("=")
            left, right = lhs.split("+")
            assert len(left) == len(right) == n_digits and len(rhs) == n_digits + 1
            assert (int(left), int(right)) == (a, b)
            assert int(left) + int(right) == int(rhs)
    train_pairs = set(map(tuple, task.train_operands.tolist()))
    test_pairs = set(map(tuple, task.test_operands.tolist()))
    assert len(train_pairs) == n_train and len(test_pairs) == n_test     # no duplicates
    assert not train_pairs & test_pairs


def test_addition_covers_every_problem_when_asked_and_rejects_too_many():
    task = addition_problems(jax.random.key(6), n_digits=1, n_train=80, n_test=20)
    pairs = set(map(tuple, np.concatenate([task.train_operands, task.test_operands]).tolist()))
    assert pairs == {(a, b) for a in range(10) for b in range(10)}
    with pytest.raises(ValueError, match="n_train"):
        addition_problems(jax.random.key(6), n_digits=1, n_train=90, n_test=20)
    with pytest.raises(ValueError, match="n_digits"):
        addition_problems(jax.random.key(6), n_digits=0)


def test_encode_decode_round_trip_and_errors():
    assert decode_addition(encode_addition("07+45=052")) == "07+45=052"
    assert encode_addition(["1+2=", "3+4="]).shape == (2, 4)
    assert list(np.asarray(encode_addition(ADDITION_VOCAB))) == list(range(12))
    with pytest.raises(ValueError, match="text"):
        encode_addition("1-2")
    with pytest.raises(ValueError, match="text"):
        encode_addition(["1+2=", "1+2=3"])
    with pytest.raises(ValueError, match="tokens"):
        decode_addition(np.array([0, 12]))


def test_recall_first_labels_are_the_first_symbol():
    ds = recall_first(jax.random.key(7), n=200, length=9, n_symbols=5)
    symbols = np.asarray(ds.truth["symbols"])
    np.testing.assert_array_equal(np.asarray(ds.y), symbols[:, 0])
    np.testing.assert_array_equal(np.asarray(ds.x).argmax(-1), symbols)
    np.testing.assert_allclose(np.asarray(ds.x).sum(-1), 1.0)
    assert set(np.unique(symbols)) == set(range(5)) and ds.truth["chance"] == 0.2
