"""Checkpoints under faults: every damaged byte is caught, a killed writer loses nothing."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings, strategies as st

from jaxphys.core import (TrainState, fit, latest_checkpoint, read_checkpoint_metadata,
                          restore_checkpoint, save_checkpoint)

SCRIPT = Path(__file__).parent / "_scripts" / "checkpoint_writer.py"


def _tree():
    return {"w": jnp.arange(12.0).reshape(3, 4), "b": jnp.arange(3, dtype=jnp.int32),
            "key": jax.random.key(3)}


def _same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        if not np.array_equal(np.asarray(x), np.asarray(y)):
            return False
    return True


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "c.npz"
    save_checkpoint(path, _tree(), metadata={"note": "x"})
    return path.read_bytes()


@settings(max_examples=300, deadline=None)
@given(position=st.floats(0.0, 1.0, exclude_max=True), mask=st.integers(1, 255))
def test_any_flipped_byte_is_refused_or_harmless(saved, tmp_path_factory, position, mask):
    """A checkpoint with one byte changed anywhere either is refused as corrupt or (a flip
    in zip bookkeeping that carries no data) restores exactly the saved values."""
    raw = bytearray(saved)
    raw[int(position * len(raw))] ^= mask
    path = tmp_path_factory.mktemp("flip") / "c.npz"
    path.write_bytes(bytes(raw))
    try:
        restored = restore_checkpoint(path, _tree())
    except ValueError as err:
        assert "path" in str(err) or "target" in str(err)
    else:
        assert _same(restored, _tree())


@settings(max_examples=60, deadline=None)
@given(fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_any_truncation_is_refused(saved, tmp_path_factory, fraction):
    path = tmp_path_factory.mktemp("cut") / "c.npz"
    path.write_bytes(saved[:int(fraction * len(saved))])
    with pytest.raises(ValueError, match="path"):
        restore_checkpoint(path, _tree())


def test_structure_mismatch_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "c.npz", _tree())
    for other in ({**_tree(), "extra": jnp.zeros(1)},
                  {k: v for k, v in _tree().items() if k != "b"},
                  {**_tree(), "w": jnp.zeros((4, 3))},
                  {**_tree(), "b": jnp.arange(3.0)},
                  [_tree()["w"], _tree()["b"], _tree()["key"]]):
        with pytest.raises(ValueError, match="target"):
            restore_checkpoint(path, other)


def _start(mode, directory):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(SCRIPT), mode, str(directory)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _kill_when(proc, ready, timeout=120.0):
    start = time.monotonic()
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"writer exited early: {proc.stderr.read()[-2000:]}")
        if time.monotonic() - start > timeout:
            proc.kill()
            raise AssertionError("writer too slow")
        time.sleep(0.001)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.no_key_reuse_check
def test_writer_killed_mid_save_leaves_the_previous_checkpoint(tmp_path):
    """SIGKILL while a temporary file is being written: the newest complete checkpoint
    still restores with its own values, and the dead writer's temporary is cleaned up."""
    proc = _start("save", tmp_path)

    def writing_after_two():
        names = os.listdir(tmp_path)
        return (sum(n.startswith("ckpt_") for n in names) >= 2
                and any(n.startswith(".ckpt_") for n in names))

    _kill_when(proc, writing_after_two)
    latest = latest_checkpoint(tmp_path)
    i = read_checkpoint_metadata(latest)["i"]
    restored = restore_checkpoint(latest, {"w": np.zeros(2_000_000, np.float32)})
    assert np.all(restored["w"] == i)
    from jaxphys.core._checkpoint import remove_stale_temporaries
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".ckpt_")]
    removed = remove_stale_temporaries(tmp_path)
    assert len(removed) == len(leftovers)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".ckpt_")]


def run_fit(directory, callback=None):
    """The fit both processes run: a small regression, a checkpoint every step."""
    x = jnp.linspace(-1.0, 1.0, 32)[:, None]
    data = {"x": x, "y": jnp.sin(3.0 * x)}
    params = {"w": 0.3 * jnp.ones((1, 8)), "v": 0.1 * jnp.ones((8, 1))}

    def loss_fn(p, batch, key):
        return jnp.mean((jnp.tanh(batch["x"] @ p["w"]) @ p["v"] - batch["y"]) ** 2), {}

    return fit(jax.random.key(0), TrainState.create(params, optax.adam(1e-2)), data,
               loss_fn=loss_fn, n_steps=60, batch_size=8, chunk_size=1, checkpoint_every=1,
               checkpoint_dir=directory, progress=False, callback=callback)


@pytest.mark.no_key_reuse_check
def test_run_killed_at_a_random_step_resumes_exactly(tmp_path):
    proc = _start("fit", tmp_path / "killed")
    _kill_when(proc, lambda: len(list((tmp_path / "killed").glob("ckpt_*.npz"))) >= 2
               if (tmp_path / "killed").is_dir() else False)
    resumed = run_fit(tmp_path / "killed")
    whole = run_fit(tmp_path / "whole")
    assert int(resumed.state.step) == 60
    assert _same(resumed.state, whole.state)
    assert resumed.history == whole.history
