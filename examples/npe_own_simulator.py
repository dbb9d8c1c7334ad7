"""Neural posterior estimation on your own simulator.

The simulator is a plain JAX function written here: a radioactive source of unknown
activity A and decay rate λ, counted at 12 times with Gaussian read-out noise. Pairs
(θ, x) drawn from the prior train a conditional spline flow ``q(θ | x)`` with
``jaxphys.generative.train_npe``; the posterior for one observation is then a distrax
distribution, sampled in milliseconds.

    python examples/npe_own_simulator.py [--quick]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.generative import NeuralSplineFlow, train_npe

TIMES = jnp.linspace(0.0, 3.0, 12)
NOISE = 0.05
LOW, HIGH = jnp.array([0.5, 0.2]), jnp.array([1.5, 2.0])       # prior box for (A, λ)


def simulate(key, theta):
    """x_i = A exp(-λ t_i) + noise, for one θ = (A, λ)."""
    amplitude, rate = theta[0], theta[1]
    clean = amplitude * jnp.exp(-rate * TIMES)
    return clean + NOISE * jax.random.normal(key, TIMES.shape)


def sample_prior(key, n):
    return LOW[None, :] + (HIGH - LOW)[None, :] * jax.random.uniform(key, (n, 2))


def main(quick: bool = False) -> dict:
    n_simulations, n_steps = (2000, 300) if quick else (20_000, 4000)
    key_prior, key_sim, key_train, key_obs, key_post = jax.random.split(jax.random.key(0), 5)
    theta = sample_prior(key_prior, n_simulations)
    x = jax.jit(jax.vmap(simulate))(jax.random.split(key_sim, n_simulations), theta)

    flow = NeuralSplineFlow(n_layers=2 if quick else 4, hidden=(32,) if quick else (64, 64))
    npe = train_npe(key_train, theta, x, flow=flow, n_steps=n_steps, batch_size=128,
                    learning_rate=3e-3).state

    theta_true = jnp.array([1.1, 0.8])
    x_obs = simulate(key_obs, theta_true)
    sample = jax.jit(npe.sample, static_argnums=2)     # one compiled program, not eager ops
    samples = np.asarray(sample(key_post, x_obs, 2000))
    mean, sd = samples.mean(axis=0), samples.std(axis=0)
    for name, m, s, t in zip(("A", "λ"), mean, sd, np.asarray(theta_true)):
        print(f"{name}: posterior {m:.3f} ± {s:.3f}   (true {t:.3f})")
    z = (mean - np.asarray(theta_true)) / sd
    print(f"{n_simulations} simulations, {n_steps} steps at most: true values "
          f"{np.abs(z).max():.2f} posterior standard deviations from the posterior mean at most")
    return {"mean": mean, "sd": sd, "truth": np.asarray(theta_true), "z": z}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
