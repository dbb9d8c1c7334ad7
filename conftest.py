"""Doctests in ``jaxphys/`` run with the same strict numerics as ``tests/``, and the
XLA optimisation level per test (the suite's level is 0, see below)."""

import os

# Most of the suite's CPU time is XLA compilation, much of it LLVM optimising the
# generated code. The tests check what is computed, not how fast, so they compile
# without those passes (the same HLO programs; float rounding may differ in the last
# bits, e.g. the order of a vectorised sum). Benchmarks and users keep the default.
# Set before the first backend starts; an XLA_FLAGS that names the level wins.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_backend_optimization_level=0").strip()
# One Eigen thread per test process: pytest-xdist already puts one worker on each core,
# so a multi-threaded Eigen pool in each worker only oversubscribes the cores.
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_cpu_multi_thread_eigen=false").strip()

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_debug_key_reuse", True)
# CPU programs run synchronously: with asynchronous dispatch, jaxlib 0.10's CPU client has
# left a test waiting forever on a result no thread was computing (all XLA threads idle;
# jax-ml/jax#25861 describes the same hang and this workaround)
jax.config.update("jax_cpu_enable_async_dispatch", False)

# The level is a per-program compile option too (what `jax.jit(compiler_options=...)`
# sets): while `_OPTIMISED` is on, every program compiles at XLA's default backend
# level, 3. An execution-bound test gains more than its compiles cost: the L = 20 Ising
# data of test_physics_phase.py take 61 s unoptimised and 12 s optimised.
from jax._src import compiler as _xla_compiler

_OPTIMISED = {"on": False}
_get_compile_options = _xla_compiler.get_compile_options


def _compile_options(*args, env_options_overrides=None, **kwargs):
    if _OPTIMISED["on"]:
        env_options_overrides = {"xla_backend_optimization_level": 3,
                                 **(env_options_overrides or {})}
    return _get_compile_options(*args, env_options_overrides=env_options_overrides, **kwargs)


_xla_compiler.get_compile_options = _compile_options


# The level is also a correctness matter on jaxlib 0.10.2's CPU runtime: a vmapped PPO
# train (4 seeds, CartPole, 20480 steps) compiled at level 0 waits forever on its result
# with every XLA thread idle, while the same program at level 3 runs in about a second
# (reproduced alone, outside pytest). The slow tier's vmapped agent runs are marked.

# doctests whose tolerance is the one users get (float32 at the default level)
OPTIMISED_DOCTESTS = {"jaxphys.dynamics._random_features.double_descent"}


# the process's stderr, duplicated before pytest captures the tests' output (the stall
# dump must reach the terminal, not a capture file that dies with the process)
_REAL_STDERR = {"fd": 2}


def pytest_configure(config):
    import sys
    _REAL_STDERR["fd"] = os.dup(sys.__stderr__.fileno())
    config.addinivalue_line("markers", "xla_default_level: compile at XLA's default "
                            "optimisation level (execution-bound tests and the numerics "
                            "group; on a module it covers its module-scoped fixtures too)")


@pytest.fixture(scope="module", autouse=True)
def _xla_level_for_module(request):
    previous = _OPTIMISED["on"]
    _OPTIMISED["on"] = request.node.get_closest_marker("xla_default_level") is not None
    yield
    _OPTIMISED["on"] = previous


@pytest.fixture(autouse=True)
def _xla_level_for_test(request):
    previous = _OPTIMISED["on"]
    marked = request.node.get_closest_marker("xla_default_level") is not None
    _OPTIMISED["on"] = previous or marked or request.node.name in OPTIMISED_DOCTESTS
    yield
    _OPTIMISED["on"] = previous


# A slow (acceptance) test that runs past this many seconds ends its process, after
# dumping every thread's stack: jaxlib 0.10.2's CPU runtime can wait forever on a vmapped
# agent's result with every thread idle (docs/development.md), and a run must fail then,
# not hold CI until its limit. Under pytest-xdist the worker is reported down, the test
# fails, and the run goes on with a new worker. JAXPHYS_SLOW_TEST_LIMIT_S sets the limit.
SLOW_TEST_LIMIT_S = float(os.environ.get("JAXPHYS_SLOW_TEST_LIMIT_S", "1800"))


@pytest.fixture(autouse=True)
def _slow_test_limit(request):
    if request.node.get_closest_marker("slow") is None:
        yield
        return
    import faulthandler

    faulthandler.dump_traceback_later(SLOW_TEST_LIMIT_S, exit=True, file=_REAL_STDERR["fd"])
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
