"""Data parallelism over 8 forced CPU devices equals one device (in a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest

from jaxphys.core import make_mesh, shard_batch

SCRIPT = Path(__file__).parent / "_scripts" / "data_parallel_check.py"


@pytest.mark.no_key_reuse_check
def test_eight_device_step_matches_one_device():
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]),
                                         env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["batch_shards"] == 8
    assert result["moved"] > 1e-2            # training really changed the parameters
    assert result["step_diff"] < 1e-5        # 20 explicit sharded steps
    assert result["fit_diff"] < 1e-5         # fit(..., mesh=...) over 40 steps
    assert result["loss_diff"] < 1e-5


def test_shard_batch_refuses_indivisible_batch():
    mesh = make_mesh(1)
    with pytest.raises(ValueError, match="n_devices"):
        make_mesh(len(jax.devices()) + 1)
    assert shard_batch({"x": jax.numpy.ones((3, 2))}, mesh)["x"].shape == (3, 2)
    with pytest.raises(ValueError, match="batch"):
        shard_batch({"x": jax.numpy.ones(())}, mesh)
