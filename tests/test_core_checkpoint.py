"""Checkpoints: exact round trips, atomic writes, refusal of mismatched or damaged files."""

import os
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxphys.core import TrainState, latest_checkpoint, restore_checkpoint, save_checkpoint


def _state():
    params = {"dense": {"kernel": jnp.arange(6.0).reshape(2, 3), "bias": jnp.ones(3)},
              "scale": jnp.asarray(2.5, jnp.bfloat16)}
    return TrainState.create(params, optax.adam(1e-3), model_state={"count": jnp.arange(3)})


def test_round_trip_is_exact(tmp_path):
    state = _state()
    tree = {"state": state, "key": jax.random.key(7), "note": np.float64(1.5)}
    path = save_checkpoint(tmp_path / "c.npz", tree, metadata={"epoch": 3})
    restored = restore_checkpoint(path, tree)
    assert jax.tree.structure(restored) == jax.tree.structure(tree)
    for a, b in zip(jax.tree.leaves(tree), jax.tree.leaves(restored)):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            np.testing.assert_array_equal(jax.random.key_data(a), jax.random.key_data(b))
        else:
            assert np.asarray(a).dtype == np.asarray(b).dtype
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # no temporary files are left behind; the file is a plain zip without pickles
    assert sorted(os.listdir(tmp_path)) == ["c.npz"]
    np.load(path, allow_pickle=False)


def test_overwrite_is_atomic_and_latest_is_found(tmp_path):
    from jaxphys.core import checkpoint_path
    state = _state()
    save_checkpoint(checkpoint_path(tmp_path, 5), state)
    save_checkpoint(checkpoint_path(tmp_path, 12), state)
    save_checkpoint(checkpoint_path(tmp_path, 12), state)
    assert latest_checkpoint(tmp_path).name == "ckpt_0000000012.npz"
    assert latest_checkpoint(tmp_path / "missing") is None


def test_mismatched_structure_shape_or_dtype_is_refused(tmp_path):
    state = _state()
    path = save_checkpoint(tmp_path / "c.npz", state)
    other_tree = state.replace(params={"dense": state.params["dense"]})
    with pytest.raises(ValueError, match="tree structure"):
        restore_checkpoint(path, other_tree)
    bigger = jax.tree.map(lambda x: x, state)
    bigger = bigger.replace(params={**state.params, "dense": {
        "kernel": jnp.zeros((2, 4)), "bias": jnp.ones(3)}})
    with pytest.raises(ValueError, match=r"kernel.*\(2, 3\).*\(2, 4\)"):
        restore_checkpoint(path, bigger)
    as_f64 = state.replace(model_state={"count": jnp.arange(3.0)})
    with pytest.raises(ValueError, match="count"):
        restore_checkpoint(path, as_f64)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip"])
def test_corrupt_checkpoint_is_refused(tmp_path, damage):
    state = _state()
    path = save_checkpoint(tmp_path / "c.npz", state)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "garbage":
        raw = bytearray(b"not a checkpoint" * 10)
    else:
        # flip a byte inside the first stored leaf's data (zip stores it uncompressed)
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("leaf_00000.npy")
        offset = info.header_offset + 30 + len(info.filename) + len(info.extra) + 140
        raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        restore_checkpoint(path, state)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        restore_checkpoint(tmp_path / "none.npz", _state())
