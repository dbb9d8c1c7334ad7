"""A physics-informed network for your own PDE: a driven, damped string at rest.

The steady state u(x) of a string on [0, 1] with restoring force k u and a sinusoidal
load solves the boundary-value problem

    u''(x) − k u(x) = −(π² + k) sin(πx),    u(0) = u(1) = 0,

whose exact solution is u = sin(πx). The residual is written as a plain function of the
derivatives (``d["u_xx"]``, ``d["u"]``) and the point ``z``; ``PINNProblem`` holds it
with the boundary conditions, and ``train_pinn`` runs Adam then L-BFGS.

    python examples/pinn_own_pde.py [--quick]
"""

import argparse

import jax
import jax.numpy as jnp

from jaxphys.physics.pinn import Condition, PINNNet, PINNProblem, relative_l2, train_pinn


def residual(d, z, coeffs):
    """Per point: the PDE's left side minus its right side (zero for the solution)."""
    k = coeffs["k"]
    return d["u_xx"] - k * d["u"] + (jnp.pi ** 2 + k) * jnp.sin(jnp.pi * z[0])


def main(quick: bool = False) -> dict:
    boundary = Condition("boundary", points=jnp.array([[0.0], [1.0]]), values=jnp.zeros(2))
    problem = PINNProblem(residual, ("x",), (0.0,), (1.0,), conditions=(boundary,),
                          coeffs={"k": 4.0})
    net = PINNNet((16, 16), problem.lo, problem.hi)
    key_init, key_train = jax.random.split(jax.random.key(0))
    result = train_pinn(key_train, problem, net.field, {"field": net.init(key_init)},
                        n_collocation=128 if quick else 1000, n_adam=200 if quick else 3000,
                        learning_rate=1e-2, n_lbfgs=100 if quick else 2000)
    x = jnp.linspace(0.0, 1.0, 201)[:, None]
    u = net.apply(result.state.params["field"], x)
    error = float(relative_l2(u, jnp.sin(jnp.pi * x[:, 0])))
    print(f"PINN for u'' - k u = -(π² + k) sin(πx): relative L2 error {error:.2e} against "
          f"sin(πx) after {int(result.state.step)} steps (Adam, then L-BFGS)")
    return {"relative_l2": error, "steps": int(result.state.step)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, small sizes")
    main(quick=parser.parse_args().quick)
