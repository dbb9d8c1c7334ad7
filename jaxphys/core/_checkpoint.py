"""Checkpoints of pytrees: atomic, pickle-free, checked on restore.

Format: one ``.npz`` (a zip with per-member CRC-32) holding each leaf as raw
bytes (``leaf_00000`` …) and a ``__meta__`` member with JSON: the tree
structure (compared by leaf paths), every leaf's path, shape and dtype, and user
metadata. Typed PRNG
keys are stored as their key data. A file is written to a temporary name in the
same folder, flushed to disk, then renamed over the target, so a crash never
leaves a half-written checkpoint under the final name.
"""

from __future__ import annotations

import json
import os
import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

_FORMAT = "jaxphys-checkpoint-v1"
# What reading a damaged zip can raise (a flipped byte may change a header's sizes,
# compression method or flags); every one is reported as a corrupt checkpoint.
_DAMAGE = (zipfile.BadZipFile, ValueError, KeyError, OSError, EOFError, UnicodeDecodeError,
           NotImplementedError, RuntimeError, zlib.error, struct.error, IndexError,
           TypeError, OverflowError, MemoryError)
_CKPT_RE = re.compile(r"^ckpt_(\d{10})\.npz$")
_TMP_RE = re.compile(r"^\.ckpt_\d{10}\.npz\.tmp-(\d+)$")


def _leaf_record(path, leaf) -> tuple[dict, np.ndarray]:
    if isinstance(leaf, jax.Array) and jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        impl = str(jax.random.key_impl(leaf))
        arr = np.asarray(jax.random.key_data(leaf))
        kind = {"key_impl": impl}
    else:
        arr = np.asarray(leaf)
        kind = {}
    rec = {"path": jax.tree_util.keystr(path), "shape": list(arr.shape),
           "dtype": str(arr.dtype), **kind}
    if kind:
        rec["key_shape"] = list(np.shape(leaf))
    return rec, arr


def save_checkpoint(path: str | os.PathLike, tree: Any, *, metadata: dict | None = None) -> Path:
    """Write ``tree`` (any pytree of arrays and scalars) to ``path`` atomically.

    Args:
        path: the file to write (``.npz`` is conventional).
        tree: a pytree, e.g. a :class:`~jaxphys.core.TrainState`.
        metadata: JSON-serialisable dict stored beside the arrays.

    Returns:
        The path written.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> d = tempfile.mkdtemp()
        >>> p = save_checkpoint(d + "/c.npz", {"w": jnp.arange(3.0)}, metadata={"epoch": 2})
        >>> restore_checkpoint(p, {"w": jnp.zeros(3)})["w"]
        Array([0., 1., 2.], dtype=float32)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(tree)
    records, arrays = [], {}
    for i, (p, leaf) in enumerate(leaves_with_path):
        rec, arr = _leaf_record(p, leaf)
        records.append(rec)
        arrays[f"leaf_{i:05d}"] = np.frombuffer(np.ascontiguousarray(arr).tobytes(), np.uint8)
    meta = {"format": _FORMAT, "treedef": str(treedef), "leaves": records,
            "metadata": metadata or {}}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _read(path: Path) -> tuple[dict, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint file at {path}")
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(bytes(data["__meta__"]).decode())
        if not isinstance(meta, dict):
            raise ValueError("the header is not a JSON object")
    except _DAMAGE as err:
        raise ValueError(f"path: {path} is corrupt or not a jaxphys checkpoint ({err})") from None
    if meta.get("format") != _FORMAT:
        raise ValueError(f"path: {path} is not a {_FORMAT} file (format {meta.get('format')!r})")
    return meta, data


def read_checkpoint_metadata(path: str | os.PathLike) -> dict:
    """The user ``metadata`` dict stored in a checkpoint.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> from jaxphys.core import read_checkpoint_metadata, save_checkpoint
        >>> p = save_checkpoint(tempfile.mkdtemp() + "/c.npz", {"w": jnp.ones(2)},
        ...                     metadata={"epoch": 3, "lr": 0.01})
        >>> read_checkpoint_metadata(p)
        {'epoch': 3, 'lr': 0.01}
    """
    meta, _ = _read(Path(path))
    return meta["metadata"]


def restore_checkpoint(path: str | os.PathLike, target: Any) -> Any:
    """Read a checkpoint into the structure of ``target``.

    ``target`` gives the expected tree structure, leaf shapes and dtypes (its
    values are not used). A checkpoint whose structure, any shape or any dtype
    differs is refused with a ``ValueError`` naming the first mismatching
    leaves; a damaged file is refused as corrupt.

    Returns:
        A pytree like ``target`` holding the stored values: JAX arrays where the
        target has JAX arrays, NumPy arrays elsewhere.

    Example:
        >>> import tempfile, jax.numpy as jnp
        >>> from jaxphys import restore_checkpoint, save_checkpoint
        >>> p = save_checkpoint(tempfile.mkdtemp() + "/c.npz", {"w": jnp.arange(3.0), "step": 7})
        >>> state = restore_checkpoint(p, {"w": jnp.zeros(3), "step": 0})
        >>> state["w"].tolist(), int(state["step"])
        ([0.0, 1.0, 2.0], 7)
        >>> restore_checkpoint(p, {"w": jnp.zeros(4), "step": 0})
        Traceback (most recent call last):
        ...
        ValueError: target: checkpoint ... does not match the target's shapes/dtypes:
          ['w']: checkpoint float32(3,), target float32(4,)
    """
    path = Path(path)
    meta, data = _read(path)
    target_leaves, target_def = jax.tree_util.tree_flatten_with_path(target)
    # Compare the trees by their leaf paths: static fields (a TrainState's optimiser)
    # are functions whose text differs from process to process.
    stored_paths = [rec["path"] for rec in meta["leaves"]]
    target_paths = [jax.tree_util.keystr(p) for p, _ in target_leaves]
    if stored_paths != target_paths:
        only_stored = [p for p in stored_paths if p not in set(target_paths)][:5]
        only_target = [p for p in target_paths if p not in set(stored_paths)][:5]
        raise ValueError(f"target: checkpoint {path} has another tree structure "
                         f"({len(stored_paths)} leaves, target {len(target_paths)}); only in the "
                         f"checkpoint: {only_stored}; only in the target: {only_target}")
    problems, out = [], []
    for i, ((p, t_leaf), rec) in enumerate(zip(target_leaves, meta["leaves"])):
        want, _ = _leaf_record(p, t_leaf)
        if rec["shape"] != want["shape"] or rec["dtype"] != want["dtype"] or \
                rec.get("key_impl") != want.get("key_impl"):
            problems.append(f"{rec['path']}: checkpoint {rec['dtype']}{tuple(rec['shape'])}, "
                            f"target {want['dtype']}{tuple(want['shape'])}")
            continue
        try:
            raw = data[f"leaf_{i:05d}"]
            arr = np.frombuffer(raw.tobytes(), dtype=jnp.dtype(rec["dtype"])).reshape(rec["shape"])
        except _DAMAGE as err:
            raise ValueError(f"path: {path} is corrupt ({rec['path']}: {err})") from None
        if "key_impl" in rec:
            leaf = jax.random.wrap_key_data(jnp.asarray(arr), impl=rec["key_impl"])
        elif isinstance(t_leaf, jax.Array):
            leaf = jnp.asarray(arr)
        else:  # numpy arrays and scalars stay numpy, keeping float64 without x64
            leaf = arr.copy()
        out.append(leaf)
    if problems:
        raise ValueError(f"target: checkpoint {path} does not match the target's shapes/dtypes:\n  "
                         + "\n  ".join(problems[:10]))
    return jax.tree_util.tree_unflatten(target_def, out)


def checkpoint_path(directory: str | os.PathLike, step: int) -> Path:
    """The file name used by :func:`~jaxphys.core.fit` for a checkpoint at ``step``.

    Example:
        >>> from jaxphys.core import checkpoint_path
        >>> checkpoint_path("runs/a", 1500).as_posix()
        'runs/a/ckpt_0000001500.npz'
    """
    return Path(directory) / f"ckpt_{int(step):010d}.npz"


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The checkpoint with the highest step in ``directory``, or None.

    Example:
        >>> import tempfile
        >>> from jaxphys.core import checkpoint_path, latest_checkpoint, save_checkpoint
        >>> d = tempfile.mkdtemp()
        >>> for step in (100, 20, 300):
        ...     _ = save_checkpoint(checkpoint_path(d, step), {"step": step})
        >>> latest_checkpoint(d).name
        'ckpt_0000000300.npz'
        >>> latest_checkpoint(d + "/no-such-folder") is None
        True
    """
    d = Path(directory)
    if not d.is_dir():
        return None
    found = sorted((int(m.group(1)), p) for p in d.iterdir() if (m := _CKPT_RE.match(p.name)))
    return found[-1][1] if found else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Delete the temporary files of writers that died mid-save (their process is gone).

    A killed writer leaves ``.ckpt_<step>.npz.tmp-<pid>`` behind; the checkpoint it was
    replacing is untouched, so nothing is lost. Returns the paths removed.
    """
    d = Path(directory)
    removed = []
    if d.is_dir():
        for p in d.iterdir():
            m = _TMP_RE.match(p.name)
            if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def prune_checkpoints(directory: str | os.PathLike, keep: int) -> None:
    """Delete all but the ``keep`` most recent ``ckpt_*.npz`` files and the temporaries
    of dead writers."""
    d = Path(directory)
    remove_stale_temporaries(d)
    found = sorted((int(m.group(1)), p) for p in d.iterdir() if (m := _CKPT_RE.match(p.name)))
    for _, p in found[:-keep] if keep > 0 else []:
        p.unlink()
