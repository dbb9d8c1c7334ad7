"""Strict numerics for the whole suite.

* rank promotion raises (no silent broadcasting of (n,) against (n, 1));
* consumed PRNG keys may not be reused (``jax_debug_key_reuse``) in every test,
  except long training tests marked ``@pytest.mark.no_key_reuse_check``, where the
  checker's tracing overhead would dominate (their keys come from ``fit``, which
  is itself covered by checked tests);
* the ``x64`` fixture runs a test in float64;
* XLA runs with one Eigen thread and synchronous dispatch, and compiles without
  LLVM's optimisation passes except in tests or modules marked
  ``@pytest.mark.xla_default_level`` (execution-bound work, and the numerics group);
  all three are set in the repository's conftest.py.
"""

import re

import jax
import numpy as np
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")

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
