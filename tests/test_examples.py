"""Every script in ``examples/`` runs in its quick mode and measures what it says.

Each script defines ``main(quick=False) -> dict`` of the figures it prints (its
command line, ``python examples/NAME.py --quick``, calls the same function). The test
imports the script, runs ``main(quick=True)`` and checks the figures against the truth
the script was built around: a fitted parameter near its true value, a policy that beats
a random one, a resumed run equal to the uninterrupted one.
"""

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def _mlp_regression(r):
    assert r["val_mse"] < 0.05                       # the signal's variance is about 0.1


def _custom_model_and_step(r):
    assert r["val_ema"] < 0.01 and r["val_raw"] < 0.01
    assert r["val_ema"] < r["first_loss"] / 5


def _sweep_learning_rates(r):
    assert r["losses_shape"] == (3, 4, 200)          # seeds × learning rates × steps
    assert r["best_learning_rate"] >= 1e-2
    assert r["final_mean"][0] > 2 * r["final_mean"].min()   # 1e-4 is far too small
    assert r["final_mean"].min() < r["initial_loss"] / 3


def _data_parallel(r):
    assert r["difference"] < 1e-5                    # the mesh gives the one-device result
    assert r["accuracy"] > 0.6


def _checkpoint_resume(r):
    assert r["interrupted_at"] < r["n_steps"] == r["final_step"]
    assert r["difference"] == 0.0                    # bit for bit


def _ppo_custom_network(r):
    assert r["mean_return"] > 4 * r["random_return"]


def _dqn_custom_env(r):
    assert r["reached"] >= 0.9 and r["reached"] > r["reached_random"] + 0.3


def _histogram_likelihood_fit(r):
    assert r["valid"]
    assert abs(r["mass_pull"]) < 3
    for name in ("n_sig", "mass", "width", "n_bkg", "slope"):
        from_truth = r["values"][name] - {"n_sig": 400.0, "mass": 5.2, "width": 0.35,
                                          "n_bkg": 3000.0, "slope": 0.35}[name]
        assert abs(from_truth) < 4 * r["errors"][name], name
    assert np.all(r["minos_lower"] < 0) and np.all(r["minos_upper"] > 0)
    # MINOS on the mass agrees with HESSE (a near-parabolic profile)
    assert abs(-r["minos_lower"][1] - r["errors"]["mass"]) < 0.2 * r["errors"]["mass"]
    mid = len(r["profile"]) // 2
    assert r["profile"][mid] < 1e-3 < r["profile"][0] and r["profile"][-1] > 1.0
    assert r["deviance"] < 2 * r["dof"]


def _npe_own_simulator(r):
    assert np.all(np.abs(r["z"]) < 3)
    prior_sd = np.array([1.0, 1.8]) / np.sqrt(12.0)
    assert np.all(r["sd"] < prior_sd / 2)            # the data taught the posterior something


def _pinn_own_pde(r):
    assert r["relative_l2"] < 1e-2


def _conditional_flow(r):
    for c, (mean, sd, truth_mean, truth_sd) in r["checks"].items():
        assert np.all(np.abs(mean - truth_mean) < 0.05), c
        assert np.all(np.abs(sd / truth_sd - 1) < 0.25), c


CHECKS = {
    "mlp_regression": _mlp_regression,
    "custom_model_and_step": _custom_model_and_step,
    "sweep_learning_rates": _sweep_learning_rates,
    "data_parallel": _data_parallel,
    "checkpoint_resume": _checkpoint_resume,
    "ppo_custom_network": _ppo_custom_network,
    "dqn_custom_env": _dqn_custom_env,
    "histogram_likelihood_fit": _histogram_likelihood_fit,
    "npe_own_simulator": _npe_own_simulator,
    "pinn_own_pde": _pinn_own_pde,
    "conditional_flow": _conditional_flow,
}


def test_every_example_is_checked():
    scripts = sorted(p.stem for p in EXAMPLES.glob("*.py"))
    assert len(scripts) >= 10
    assert scripts == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_uses_public_names_only(name):
    source = (EXAMPLES / f"{name}.py").read_text()
    imports = re.findall(r"^\s*(?:from|import)\s+(jaxphys[\w.]*)", source, flags=re.M)
    assert imports, "an example shows the library"
    assert not [m for m in imports if re.search(r"\._", m)], imports
    assert "--quick" in source and 'if __name__ == "__main__":' in source


@pytest.mark.no_key_reuse_check
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_example_runs_quick(name, capsys):
    module = runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name=f"example_{name}")
    result = module["main"](quick=True)
    printed = capsys.readouterr().out
    assert printed.strip(), "an example prints what it measured"
    CHECKS[name](result)
