"""A conditional normalising flow on your own data: p(x | c) for a detector response.

Each event has a true energy c (the context) and a measured pair x = (E, t): an energy
smeared with a resolution that grows with c, and a time whose mean falls as 1/c. A
RealNVP flow learns the whole conditional density with ``fit_flow(..., context=...)``;
``flow.apply(params, context)`` is then a distrax distribution for any c.

    python examples/conditional_flow.py [--quick]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from jaxphys.generative import RealNVP, fit_flow


def detector(key, energy):
    """x = (measured energy, time) for true energies ``energy`` (n,)."""
    key_e, key_t = jax.random.split(key)
    resolution = 0.05 + 0.1 * energy
    measured = energy + resolution * jax.random.normal(key_e, energy.shape)
    time = 1.0 / energy + 0.1 * jax.random.normal(key_t, energy.shape)
    return jnp.stack([measured, time], axis=-1)


def main(quick: bool = False) -> dict:
    n_events, n_steps = (4000, 400) if quick else (50_000, 5000)
    key_c, key_x, key_fit, key_sample = jax.random.split(jax.random.key(0), 4)
    energy = jax.random.uniform(key_c, (n_events,), minval=1.0, maxval=3.0)
    x = detector(key_x, energy)
    flow = RealNVP(n_layers=2 if quick else 4, hidden=(32, 32))
    result = fit_flow(key_fit, flow, x, energy[:, None], n_steps=n_steps, batch_size=256,
                      learning_rate=3e-3)

    @jax.jit                    # jitted: one compiled program instead of many eager ops
    def sample(params, c, key):
        return flow.apply(params, c).sample(seed=key, sample_shape=4000)   # p(x | c), distrax

    @jax.jit
    def training_nll(params):
        return -flow.apply(params, energy[:, None]).log_prob(x).mean()

    checks = {}
    for c in (1.5, 2.5):
        samples = np.asarray(sample(result.state.params, jnp.array([c]),
                                    jax.random.fold_in(key_sample, int(10 * c))))
        mean, sd = samples.mean(axis=0), samples.std(axis=0)
        truth_mean, truth_sd = np.array([c, 1.0 / c]), np.array([0.05 + 0.1 * c, 0.1])
        checks[c] = (mean, sd, truth_mean, truth_sd)
        print(f"c = {c}: E {mean[0]:.3f} ± {sd[0]:.3f} (truth {truth_mean[0]:.3f} ± "
              f"{truth_sd[0]:.3f}), t {mean[1]:.3f} ± {sd[1]:.3f} (truth {truth_mean[1]:.3f} ± "
              f"{truth_sd[1]:.3f})")
    nll = float(training_nll(result.state.params))
    print(f"{n_steps} steps on {n_events} events: training NLL {nll:.3f} nats")
    return {"checks": checks, "nll": nll}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
