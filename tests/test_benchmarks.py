"""The benchmark runner in quick mode: files written, keys present, numbers sane.

Times are never asserted on (they depend on the machine and its load); only
that every figure is a positive finite number and that the derived figures
agree with the measured ones they are computed from.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # benchmarks/ is a repository folder, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks import REGISTRY  # noqa: E402
from benchmarks.__main__ import main  # noqa: E402
from benchmarks._runner import Context, cpu_count, peer_threads  # noqa: E402
from benchmarks._timing import Timing, time_fn, time_interleaved  # noqa: E402
from benchmarks.mlp_train_step import flop_counts  # noqa: E402

JAX_KEYS = [
    "jaxphys_compile_s", "jaxphys_steps_per_s", "jaxphys_steps_per_s_best",
    "jaxphys_scan_compile_s", "jaxphys_scan_steps_per_s", "jaxphys_scan_steps_per_s_best",
    "flops_per_step_analytic", "flops_per_step_matmul_exact", "jaxphys_gflops",
    "jaxphys_scan_gflops", "jaxphys_fraction_of_peak", "jaxphys_scan_fraction_of_peak",
]
TORCH_KEYS = [
    "torch_first_step_s", "torch_steps_per_s", "torch_steps_per_s_best", "torch_gflops",
    "torch_fraction_of_peak", "ratio_jaxphys_over_torch", "ratio_jaxphys_scan_over_torch",
]


def _positive_finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


# the default tier runs the benchmarks whose figures it checks; the slow tier runs all
CHECKED = ("matmul_peak", "mlp_train_step", "fitting_toys")


def _quick(out, names=None):
    only = [arg for name in names for arg in ("--only", name)] if names else []
    assert main(["--quick", "--quiet", "--out", str(out), *only]) == 0
    doc = json.loads((out / "results.json").read_text(encoding="utf-8"))
    md = (out / "results.md").read_text(encoding="utf-8")
    return doc, md, out


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    return _quick(tmp_path_factory.mktemp("bench"), CHECKED)


def _check_files_and_machine(doc, md, out, names):
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "results.md"]
    assert doc["quick"] is True
    assert set(doc["benchmarks"]) == set(names)
    machine = doc["machine"]
    for key in ("jax", "jaxlib", "torch", "device", "backend", "cpu_count", "python"):
        assert key in machine
    assert isinstance(machine["jax"], str) and machine["jax"]
    assert isinstance(machine["cpu_count"], int) and machine["cpu_count"] >= 1
    assert md.startswith("# jaxphys benchmarks")
    for name in names:
        assert f"## {name}" in md


def test_files_and_machine_info(quick_run):
    _check_files_and_machine(*quick_run, CHECKED)


@pytest.mark.slow
def test_every_benchmark_runs_in_quick_mode(tmp_path):
    """All of the registry, quick: every benchmark runs to the end and writes its section."""
    doc, md, out = _quick(tmp_path)
    _check_files_and_machine(doc, md, out, REGISTRY)
    assert {"matmul_peak", "mlp_train_step"} <= set(REGISTRY)
    for name in REGISTRY:
        for value in doc["benchmarks"][name]["figures"].values():
            assert value is None or isinstance(value, (bool, str)) or math.isfinite(value), name


def test_matmul_peak_figures(quick_run):
    doc, md, _ = quick_run
    figs = doc["benchmarks"]["matmul_peak"]["figures"]
    for key in ("peak_gflops", "median_gflops", "compile_s"):
        assert _positive_finite(figs[key]), (key, figs[key])
    assert figs["peak_gflops"] >= figs["median_gflops"]  # best of the repeats >= median
    assert "`peak_gflops`" in md


def test_mlp_jaxphys_figures(quick_run):
    doc, md, _ = quick_run
    bench = doc["benchmarks"]["mlp_train_step"]
    figs = bench["figures"]
    for key in JAX_KEYS:
        assert _positive_finite(figs[key]), (key, figs[key])
        assert bench["units"][key] and bench["labels"][key]
        assert f"`{key}`" in md
    assert figs["jaxphys_steps_per_s_best"] >= figs["jaxphys_steps_per_s"]
    assert figs["jaxphys_scan_steps_per_s_best"] >= figs["jaxphys_scan_steps_per_s"]
    # Derived figures are consistent with the measured ones.
    peak = doc["benchmarks"]["matmul_peak"]["figures"]["peak_gflops"]
    achieved = figs["flops_per_step_analytic"] * figs["jaxphys_steps_per_s"] / 1e9
    assert figs["jaxphys_gflops"] == pytest.approx(achieved, rel=1e-9)
    assert figs["jaxphys_fraction_of_peak"] == pytest.approx(achieved / peak, rel=1e-9)
    # XLA's count, when the backend gives one, is close to the analytic matmul count
    # (it adds the elementwise work that the analytic figure leaves out).
    xla = figs["flops_per_step_xla"]
    if xla is not None:
        assert 0.5 * figs["flops_per_step_matmul_exact"] < xla < 3 * figs["flops_per_step_analytic"]
    assert "| variant |" in md


def test_fitting_toys_figures(quick_run):
    """The toy-fit study agrees with iminuit toy by toy: every toy valid in both, none in
    another minimum, values within 5 % of a HESSE error; every time positive."""
    figs = quick_run[0]["benchmarks"]["fitting_toys"]["figures"]
    assert figs["fraction_both_valid"] == 1.0
    assert figs["toys_in_different_minima"] == 0
    assert figs["max_value_gap_in_errors"] < 0.05
    for key in ("jaxphys_compile_s", "jaxphys_study_s", "iminuit_study_s",
                "jaxphys_single_fit_s", "iminuit_single_fit_s", "ratio_jaxphys_over_iminuit"):
        assert _positive_finite(figs[key]), (key, figs[key])


def test_mlp_torch_figures(quick_run):
    pytest.importorskip("torch")
    doc, md, _ = quick_run
    bench = doc["benchmarks"]["mlp_train_step"]
    figs = bench["figures"]
    for key in TORCH_KEYS:
        assert _positive_finite(figs[key]), (key, figs[key])
    assert figs["ratio_jaxphys_over_torch"] == pytest.approx(
        figs["jaxphys_steps_per_s"] / figs["torch_steps_per_s"], rel=1e-9)
    # every core for reported figures; one in quick mode (see test_peer_threads)
    assert bench["config"]["torch_threads"] == 1
    assert doc["machine"]["torch"].startswith("2.")
    assert "PyTorch" in md


def test_flop_count_closed_form():
    # 784-512-512-10, batch 256: forward = 2·256·(784·512 + 512·512 + 512·10).
    counts = flop_counts(784, (512, 512, 10), 256)
    forward = 2 * 256 * (784 * 512 + 512 * 512 + 512 * 10)
    assert counts["forward"] == forward == 342_360_064
    assert counts["step"] == 3 * forward
    assert counts["step_matmul_exact"] == 3 * forward - 2 * 256 * 784 * 512


def test_peer_threads():
    def ctx(quick):
        return Context(quick=quick, results={}, log=lambda msg: None)

    assert peer_threads(ctx(True)) == 1
    assert peer_threads(ctx(False)) == cpu_count() >= 1


def test_time_fn_counts_calls_and_orders_stats():
    calls = []
    t = time_fn(lambda: calls.append(1), warmup=2, repeats=5)
    assert isinstance(t, Timing)
    assert len(calls) == 7 and t.repeats == 5 and t.warmup == 2
    assert t.min_s <= t.median_s <= t.max_s
    with pytest.raises(ValueError, match="repeats"):
        time_fn(lambda: None, repeats=0)


def test_time_interleaved_round_robin():
    order = []
    timings = time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                               warmup=1, repeats=3)
    assert order == ["a", "b"] * 4  # one warm-up round, then three timed rounds
    assert set(timings) == {"a", "b"}
    assert all(t.repeats == 3 and t.min_s <= t.median_s <= t.max_s for t in timings.values())


def test_unknown_benchmark_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--only", "no_such_bench", "--out", str(tmp_path)])
    assert "no_such_bench" in capsys.readouterr().err
