"""Benchmark registry, runner and result files (``results.json``, ``results.md``)."""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

import jax

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


class Figure(NamedTuple):
    """One measured or derived number.

    Fields:
        value: the number (float), or None when it could not be obtained.
        unit: e.g. ``"s"``, ``"steps/s"``, ``"GFLOP/s"``, ``"1"`` for ratios.
        label: one line saying what it is.
    """

    value: float | None
    unit: str
    label: str


class BenchResult(NamedTuple):
    """What a benchmark returns.

    Fields:
        description: one sentence.
        config: the sizes and settings it ran with (JSON-serialisable).
        figures: name -> :class:`Figure`, in display order.
        table: optional summary table for the Markdown, as ``[header, *rows]`` of strings.
        notes: free-text lines (what is counted, what was unavailable).
    """

    description: str
    config: dict
    figures: dict
    table: list | None = None
    notes: tuple[str, ...] = ()


class Context(NamedTuple):
    """What a benchmark receives.

    Fields:
        quick: tiny sizes and few repeats (smoke test), not for reporting.
        results: the results of the benchmarks already run, by name (dependencies first).
        log: ``log(message)`` prints a progress line.
    """

    quick: bool
    results: dict
    log: Callable[[str], None]


class Benchmark(NamedTuple):
    name: str
    fn: Callable[[Context], BenchResult]
    requires: tuple[str, ...]


REGISTRY: dict[str, Benchmark] = {}


def register(name: str, *, requires: tuple[str, ...] = ()) -> Callable:
    """Decorator: register ``fn(ctx) -> BenchResult`` under ``name``; benchmarks run in
    registration order, and those named in ``requires`` run first even under ``--only``."""

    def deco(fn: Callable[[Context], BenchResult]) -> Callable[[Context], BenchResult]:
        if name in REGISTRY:
            raise ValueError(f"name: benchmark {name!r} is registered twice")
        REGISTRY[name] = Benchmark(name, fn, tuple(requires))
        return fn

    return deco


def cpu_count() -> int:
    """CPU cores this process may run on (affinity-aware where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def peer_threads(ctx: Context) -> int:
    """Threads for a peer library's own pool (torch, joblib, XGBoost): every core
    (``cpu_count()``) for reported figures, one in quick mode. A quick run is a smoke test,
    often beside other processes (the test suite runs on ``pytest -n auto``), and OpenMP
    pools spin-waiting on shared cores are many times slower than one thread there."""
    return 1 if ctx.quick else cpu_count()


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict:
    """Versions and hardware the figures were measured on."""
    import jax
    import jaxlib

    try:
        import torch

        torch_version = torch.__version__
        torch_threads = torch.get_num_threads()
    except ImportError:
        torch_version, torch_threads = None, None
    try:
        import jaxphys

        jaxphys_version = getattr(jaxphys, "__version__", None)
    except ImportError:
        jaxphys_version = None
    dev = jax.devices()[0]
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jaxphys": jaxphys_version,
        "torch": torch_version,
        "torch_default_threads": torch_threads,
        "backend": jax.default_backend(),
        "device": str(dev),
        "device_kind": dev.device_kind,
        "device_count": jax.device_count(),
        "cpu_count": cpu_count(),
        "cpu_model": _cpu_model(),
        # Other processes on the machine disturb CPU timings; this says how busy it was.
        "load_avg_1m_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }


def resolve(only: list[str] | None) -> list[str]:
    """Names to run, in registration order, with their dependencies added."""
    if not only:
        return list(REGISTRY)
    unknown = [n for n in only if n not in REGISTRY]
    if unknown:
        raise ValueError(f"--only: unknown benchmark(s) {unknown}; known: {sorted(REGISTRY)}")
    wanted: set[str] = set()

    def add(name: str) -> None:
        if name not in wanted:
            wanted.add(name)
            for dep in REGISTRY[name].requires:
                add(dep)

    for name in only:
        add(name)
    return [n for n in REGISTRY if n in wanted]


def _clean(value: Any) -> Any:
    """JSON-safe: non-finite floats become None (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def to_json(machine: dict, results: dict[str, BenchResult], *, quick: bool, command: str,
            elapsed_s: float) -> dict:
    return _clean({
        "schema": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": command,
        "quick": quick,
        "elapsed_s": elapsed_s,
        "machine": machine,
        "benchmarks": {
            name: {
                "description": r.description,
                "config": r.config,
                "figures": {k: f.value for k, f in r.figures.items()},
                "units": {k: f.unit for k, f in r.figures.items()},
                "labels": {k: f.label for k, f in r.figures.items()},
                "notes": list(r.notes),
            }
            for name, r in results.items()
        },
    })


def fmt(value: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant figures, or an em dash for None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 1e6 or mag < 1e-3:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}" if mag < 10 ** digits else f"{value:.0f}"


def _md_table(rows: list[list[str]]) -> list[str]:
    header, *body = rows
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in body]
    return lines


def to_markdown(doc: dict, results: dict[str, BenchResult]) -> str:
    m = doc["machine"]
    lines = [
        "# jaxphys benchmarks",
        "",
        f"Command: `{doc['command']}`" + ("  (quick mode: smoke-test sizes, not for reporting)"
                                           if doc["quick"] else ""),
        "",
        f"Measured {doc['created']} on {m['cpu_count']} CPU core(s) ({m['cpu_model']}), "
        f"JAX device `{m['device']}` ({m['backend']}); Python {m['python']}, jax {m['jax']}, "
        f"jaxlib {m['jaxlib']}, torch {m['torch'] or 'not installed'}; 1-minute load "
        f"average at start {fmt(m.get('load_avg_1m_at_start'), 3)}.",
        "",
    ]
    load = m.get("load_avg_1m_at_start")
    if load is not None and load > 0.5 * m["cpu_count"]:
        lines += [f"> **Warning:** the machine was busy (load {load:.2f} on {m['cpu_count']} "
                  "cores) when this run started; CPU timings, PyTorch's OpenMP threads above "
                  "all, suffer from sharing cores. Re-run on a quiet machine for figures to "
                  "quote.", ""]
    for name, r in results.items():
        lines += [f"## {name}", "", r.description, ""]
        if r.table:
            lines += _md_table(r.table) + [""]
        rows = [["figure", "value", "unit", "what"]]
        rows += [[f"`{k}`", fmt(f.value), f.unit, f.label] for k, f in r.figures.items()]
        lines += _md_table(rows) + [""]
        if r.notes:
            lines += [f"- {n}" for n in r.notes] + [""]
        cfg = ", ".join(f"{k}={v}" for k, v in r.config.items())
        lines += [f"Config: {cfg}.", ""]
    return "\n".join(lines)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def run(only: list[str] | None = None, *, quick: bool = False, out_dir: str | Path | None = None,
        command: str | None = None, verbose: bool = True) -> dict:
    """Run benchmarks and write ``results.json`` and ``results.md`` into ``out_dir``.

    Returns the JSON document (a dict)."""
    names = resolve(only)
    out = Path(out_dir) if out_dir is not None else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    if command is None:
        command = "python -m benchmarks" + (" --quick" if quick else "") + "".join(
            f" --only {n}" for n in (only or []))

    def log(msg: str) -> None:
        if verbose:
            print(msg, file=sys.stderr, flush=True)

    machine = machine_info()
    log(f"[bench] {machine['cpu_count']} cores, jax {machine['jax']} on {machine['device']}, "
        f"torch {machine['torch']}")
    results: dict[str, BenchResult] = {}
    start = time.perf_counter()
    for name in names:
        log(f"[bench] {name} ...")
        t0 = time.perf_counter()
        # Timing loops call one compiled function with the same inputs (keys included) on
        # purpose, so the key-reuse checker (on in the test suite) is off while timing.
        with jax.debug_key_reuse(False):
            results[name] = REGISTRY[name].fn(Context(quick=quick, results=results, log=log))
        log(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s")
    doc = to_json(machine, results, quick=quick, command=command,
                  elapsed_s=time.perf_counter() - start)
    _atomic_write(out / "results.json", json.dumps(doc, indent=2) + "\n")
    _atomic_write(out / "results.md", to_markdown(doc, results))
    log(f"[bench] wrote {out / 'results.json'} and {out / 'results.md'}")
    return doc
