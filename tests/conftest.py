"""Strict numerics for the whole suite.

* rank promotion raises (no silent broadcasting of (n,) against (n, 1));
* consumed PRNG keys may not be reused (``jax_debug_key_reuse``) in every test,
  except long training tests marked ``@pytest.mark.no_key_reuse_check``, where the
  checker's tracing overhead would dominate (their keys come from ``fit``, which
  is itself covered by checked tests);
* the ``x64`` fixture runs a test in float64.
"""

import jax
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

# helper scripts run in subprocesses (e.g. with 8 forced CPU devices); never import them here
collect_ignore = ["_scripts"]
