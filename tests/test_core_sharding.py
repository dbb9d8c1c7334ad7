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


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.no_key_reuse_check
def test_two_processes_on_localhost_equal_one_process():
    """jax.distributed over two local processes (CPU, gloo collectives): the README's
    multi-host recipe (make_mesh over all processes, shard_local_batch, data_parallel)
    gives the single-process parameters after 10 steps."""
    script = Path(__file__).parent / "_scripts" / "multiprocess_check.py"
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[1]),
                                         env.get("PYTHONPATH", "")])
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, str(script), str(i), port], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(2)]
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=300)
        finally:
            p.kill()
        assert p.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    for i, result in enumerate(outs):
        assert result["process"] == i
        assert result["local_shards"] == 1 and result["global_shape"] == [64, 5]
        assert result["moved"] > 1e-2
        assert result["step_diff"] < 1e-5
