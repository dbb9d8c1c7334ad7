"""Strict numerics for the whole suite.

* rank promotion raises (no silent broadcasting of (n,) against (n, 1));
* consumed PRNG keys may not be reused (``jax_debug_key_reuse``) in every test,
  except long training tests marked ``@pytest.mark.no_key_reuse_check``, where the
  checker's tracing overhead would dominate (their keys come from ``fit``, which
  is itself covered by checked tests);
* the ``x64`` fixture runs a test in float64;
* XLA compiles without LLVM's optimisation passes (see below), except in tests or
  modules marked ``@pytest.mark.xla_default_level`` (the repository's conftest.py):
  execution-bound work, and the numerics group.
"""

import os
import re

# Most of the suite's CPU time is XLA compilation, much of it LLVM optimising the
# generated code. The tests check what is computed, not how fast, so they compile
# without those passes (the same HLO programs; float rounding may differ in the last
# bits, e.g. the order of a vectorised sum). Benchmarks and users keep the default.
# Set before the first backend starts; an XLA_FLAGS that names the level wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import numpy as np
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
# CPU programs run synchronously: with asynchronous dispatch, jaxlib 0.10's CPU client has
# left a test waiting forever on a result no thread was computing (all XLA threads idle;
# jax-ml/jax#25861 describes the same hang and this workaround)
jax.config.update("jax_cpu_enable_async_dispatch", False)

def pytest_configure(config):
    config.addinivalue_line("markers", "no_key_reuse_check: run without jax_debug_key_reuse")




@pytest.fixture(autouse=True)
def _key_reuse_check(request):
    enabled = request.node.get_closest_marker("no_key_reuse_check") is None
    with jax.debug_key_reuse(enabled):
        yield


@pytest.fixture
def x64():
    """Run the test body with 64-bit floats enabled."""
    with jax.enable_x64(True):
        yield


@pytest.fixture
def key():
    """A fresh typed PRNG key."""
    return jax.random.key(0)

@pytest.fixture(scope="module")
def quick_chapter(tmp_path_factory):
    """Run one real tour chapter with --quick, cached per test module:
    ``name -> (TourResult, out_dir)``."""
    from jaxphys.tour import run_tour

    cache = {}

    def run(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            cache[name] = (run_tour(out, quick=True, only=name, progress=False, verbose=False,
                                    raise_errors=True), out)
        return cache[name]
    return run


def check_quick_chapter(name, result, out):
    """The checks every real chapter passes: no error, finite metrics, the report links
    every figure, and every figure is a non-trivial PNG."""
    (run,) = result.runs
    assert run.chapter.name == name and run.error is None
    assert run.result.figures and run.result.metrics
    assert all(np.isfinite(v) for v in run.result.metrics.values())
    text = result.report.read_text()
    assert f"`{name}`" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == len(run.result.figures)
    for link in links:
        png = out / link
        assert png.is_file() and png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 5000


@pytest.fixture
def chapter_checks():
    return check_quick_chapter


# helper scripts run in subprocesses (e.g. with 8 forced CPU devices); never import them here
collect_ignore = ["_scripts"]


@pytest.fixture(scope="module", autouse=True)
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module: one xdist worker runs many
    files, and their executables (hundreds, a few GB in all) are never reused across
    files; keeping them all has made a worker abort inside XLA late in a run."""
    yield
    import gc

    jax.clear_caches()
    gc.collect()
