"""Wall-clock timing that waits for asynchronous work.

JAX dispatches work asynchronously: a jitted call returns as soon as the work
is queued. Every timer here therefore blocks on the outputs
(``block_until_ready``) before reading the clock, warms up before measuring,
repeats, and reports the median (the steady-state figure) and the minimum
(the best case, used for peaks).
"""

from __future__ import annotations

import statistics
import time
from typing import Any, Callable, NamedTuple

import jax


def block(tree: Any) -> Any:
    """Wait until every JAX array in ``tree`` is computed; other leaves pass through.

    Torch tensors and Python numbers are leaves without ``block_until_ready``:
    PyTorch on CPU is synchronous, so there is nothing to wait for.
    """
    for leaf in jax.tree.leaves(tree):
        wait = getattr(leaf, "block_until_ready", None)
        if callable(wait):
            wait()
    return tree


class Timing(NamedTuple):
    """Seconds per call of a timed function.

    Fields:
        median_s: median over the timed repeats (steady-state figure).
        min_s: fastest repeat (best case).
        max_s: slowest repeat.
        times_s: every timed repeat, in order.
        warmup: untimed calls made first.
    """

    median_s: float
    min_s: float
    max_s: float
    times_s: tuple[float, ...]
    warmup: int

    @property
    def repeats(self) -> int:
        return len(self.times_s)


def time_first_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Time one call of ``fn`` (for a fresh jitted function: tracing, compilation and
    one execution), blocking on its outputs. Returns ``(seconds, outputs)``."""
    start = time.perf_counter()
    out = block(fn(*args, **kwargs))
    return time.perf_counter() - start, out


def time_fn(fn: Callable[[], Any], *, warmup: int = 1, repeats: int = 5) -> Timing:
    """Time ``fn()`` (no arguments; close over state with ``nonlocal`` if it must carry
    state from call to call): ``warmup`` untimed calls, then ``repeats`` timed ones,
    each blocked on its outputs before the clock is read."""
    if repeats < 1:
        raise ValueError(f"repeats: must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: must be >= 0, got {warmup}")
    for _ in range(warmup):
        block(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        block(fn())
        times.append(time.perf_counter() - start)
    return Timing(median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                  times_s=tuple(times), warmup=warmup)


def time_interleaved(fns: dict[str, Callable[[], Any]], *, warmup: int = 1, repeats: int = 5,
                     pause_s: float = 0.0) -> dict[str, Timing]:
    """Time several functions round-robin: warm-up rounds, then ``repeats`` rounds in
    which each function is called once, blocked on its outputs.

    Interleaving makes a comparison fair on a machine whose load changes during the
    run: every variant sees the same conditions. ``pause_s`` (untimed) is slept before
    each call so that the spinning worker threads of the previous variant (OpenMP,
    Eigen) go idle before the next one starts.
    """
    if repeats < 1:
        raise ValueError(f"repeats: must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup: must be >= 0, got {warmup}")
    for _ in range(warmup):
        for fn in fns.values():
            block(fn())
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if pause_s > 0:
                time.sleep(pause_s)
            start = time.perf_counter()
            block(fn())
            times[name].append(time.perf_counter() - start)
    return {name: Timing(median_s=statistics.median(ts), min_s=min(ts), max_s=max(ts),
                         times_s=tuple(ts), warmup=warmup)
            for name, ts in times.items()}
