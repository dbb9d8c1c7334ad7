"""The bundled digits against scikit-learn's copy; IDX round trips on files written here."""

import gzip

import numpy as np
import pytest

from jaxphys.data._digits import load_digits
from jaxphys.data._idx import load_idx, load_mnist


def test_digits_match_sklearn_exactly():
    sk = pytest.importorskip("sklearn.datasets").load_digits()
    ds = load_digits()
    assert ds.x.shape == (1797, 8, 8) and ds.y.shape == (1797,)
    assert ds.x.dtype == np.float32 and np.issubdtype(ds.y.dtype, np.integer)
    assert ds.truth == {}
    counts = np.bincount(np.asarray(ds.y), minlength=10)
    assert counts.sum() == 1797 and counts.size == 10
    np.testing.assert_array_equal(counts, np.bincount(sk.target, minlength=10))
    np.testing.assert_array_equal(np.asarray(ds.y), sk.target)
    np.testing.assert_array_equal(np.asarray(ds.x) * 16, sk.images)
    raw = load_digits(scaled=False)
    np.testing.assert_array_equal(np.asarray(raw.x), sk.images)
    assert float(ds.x.min()) == 0.0 and float(ds.x.max()) == 1.0


def _write_idx(path, arr, code, *, compress=False):
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    big = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    raw = header + arr.astype(big).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


@pytest.mark.parametrize("code,dtype", [(0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
                                        (0x0C, np.int32), (0x0D, np.float32),
                                        (0x0E, np.float64)])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, code, dtype, compress):
    rng = np.random.default_rng(code)
    arr = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    got = load_idx(_write_idx(tmp_path / "a.idx", arr, code, compress=compress))
    assert got.shape == (3, 4, 5) and got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, arr)


def test_idx_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="path"):
        load_idx(tmp_path / "missing-idx1-ubyte")
    bad = tmp_path / "bad"
    bad.write_bytes(bytes([1, 2, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="path: .*bad IDX magic number 0x01020801"):
        load_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(ValueError, match="magic"):
        load_idx(bad)
    full = _write_idx(tmp_path / "t", np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)
    full.write_bytes(full.read_bytes()[:-5])
    with pytest.raises(ValueError, match="path: .*truncated.*needs 24 data bytes, file has 19"):
        load_idx(full)
    full.write_bytes(full.read_bytes()[:10])
    with pytest.raises(ValueError, match="truncated"):
        load_idx(full)
    gz = _write_idx(tmp_path / "g.gz", np.arange(100, dtype=np.uint8), 0x08, compress=True)
    gz.write_bytes(gz.read_bytes()[:-8])
    with pytest.raises(ValueError, match="path: .*(gzip|truncated)"):
        load_idx(gz)


def test_load_mnist_from_small_files(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n, gz in (("train", 6, True), ("t10k", 4, False)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        sfx = ".gz" if gz else ""
        _write_idx(tmp_path / f"{prefix}-images-idx3-ubyte{sfx}", images, 0x08, compress=gz)
        _write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte{sfx}", labels, 0x08, compress=gz)
        ds = load_mnist(tmp_path, "train" if prefix == "train" else "test")
        assert ds.x.shape == (n, 28, 28) and ds.y.shape == (n,)
        np.testing.assert_allclose(np.asarray(ds.x), images / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(np.asarray(ds.y), labels)
    raw = load_mnist(tmp_path, "test", scaled=False)
    assert float(raw.x.max()) > 1.0
    with pytest.raises(ValueError, match="split"):
        load_mnist(tmp_path, "validation")
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="directory: no t10k-labels"):
        load_mnist(tmp_path, "test")
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8), 0x08)
    with pytest.raises(ValueError, match="directory: 4 images but labels"):
        load_mnist(tmp_path, "test")
