"""The README's Python example runs as written, its benchmark table is the committed
results of ``python -m benchmarks``, and its test command is what CI runs."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_is_short():
    assert len(README.splitlines()) <= 200


def test_readme_links_point_to_docs_pages():
    links = re.findall(r"\]\(([^)#]+)\)", README)
    assert len([link for link in links if link.startswith("docs/guides/")]) >= 13
    missing = [link for link in links if "://" not in link and not (ROOT / link).is_file()]
    assert not missing, missing


@pytest.mark.no_key_reuse_check
def test_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 1
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)   # noqa: S102
    out = capsys.readouterr().out
    mse = float(re.search(r"MSE after 500 steps: ([0-9.]+)", out).group(1))
    assert mse < 0.05                      # the composed step really trains
    after_fit = float(re.search(r"with fit: ([0-9.]+)", out).group(1))
    assert after_fit < 0.05                # and fit drives the same step on


def _figures(results):
    return {f"{bench}.{name}": value for bench, entry in results["benchmarks"].items()
            for name, value in entry["figures"].items()}


# README benchmark rows -> (jaxphys figure, peer figure, ratio figure) in results.json
_ROWS = [
    ("mlp_train_step.jaxphys_steps_per_s", "mlp_train_step.torch_steps_per_s",
     "mlp_train_step.ratio_jaxphys_over_torch"),
    ("mlp_train_step.jaxphys_scan_steps_per_s", "mlp_train_step.torch_steps_per_s",
     "mlp_train_step.ratio_jaxphys_scan_over_torch"),
    ("cnn_train_step.jaxphys_steps_per_s", "cnn_train_step.torch_steps_per_s",
     "cnn_train_step.ratio_jaxphys_over_torch"),
    ("cnn_train_step.jaxphys_scan_steps_per_s", "cnn_train_step.torch_steps_per_s",
     "cnn_train_step.ratio_jaxphys_scan_over_torch"),
    ("kan_forward_backward.jaxphys_ms", "kan_forward_backward.jaxkan_ms",
     "kan_forward_backward.speedup_vs_jaxkan"),
    ("kan_forward_backward.jaxphys_ms", "kan_forward_backward.pykan_ms",
     "kan_forward_backward.speedup_vs_pykan"),
    ("transformer_generation.cache_tokens_per_s", "transformer_generation.no_cache_tokens_per_s",
     "transformer_generation.speedup_cache_vs_no_cache"),
    ("classical_pca_tsne.tsne_jaxphys_s", "classical_pca_tsne.tsne_sklearn_barnes_hut_s",
     "classical_pca_tsne.tsne_speedup_vs_barnes_hut"),
    ("classical_pca_tsne.pca_big_jaxphys_s", "classical_pca_tsne.pca_big_sklearn_s",
     "classical_pca_tsne.pca_big_speedup"),
    ("classical_forest.digits_tree_jaxphys_s", "classical_forest.digits_tree_sklearn_s",
     "classical_forest.digits_tree_speedup"),
    ("classical_forest.digits_forest_jaxphys_s", "classical_forest.digits_forest_sklearn_s",
     "classical_forest.digits_forest_speedup"),
]


def _shown(text):
    """The first number in a table cell, and how many significant digits it shows."""
    number = re.search(r"[0-9]+(?:\.[0-9]+)?", text).group(0)
    digits = len(number.replace(".", "").lstrip("0"))
    return float(number), digits


def test_benchmark_table_is_the_committed_results():
    results = json.loads((ROOT / "benchmarks" / "results" / "results.json").read_text())
    assert results["command"] == "python -m benchmarks" and not results["quick"]
    assert "`python -m benchmarks`" in README
    figures = _figures(results)
    section = README[README.index("## Benchmarks"):README.index("## How to cite")]
    rows = [line for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| benchmark")]
    assert len(rows) == len(_ROWS)
    for line, keys in zip(rows, _ROWS):
        cells = [cell.strip() for cell in line.strip("|").split("|")][1:]
        for cell, key in zip(cells, keys):
            number, digits = _shown(cell)          # equal to the digits the README shows
            assert f"{figures[key]:.{digits}g}" == f"{number:.{digits}g}", (line, key)


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    block = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", README, flags=re.S).group(1)
    assert block == 'pip install ".[test]" && python -m pytest'
    assert f"TEST_COMMAND='{block}'" in script      # the drift check compares against this
    assert f"\n{block}\n" in script                  # and this line is what CI runs
