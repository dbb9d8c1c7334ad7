"""The README's Python examples run as written, and its test command is what CI runs."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()


@pytest.mark.no_key_reuse_check
def test_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) >= 4
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)   # noqa: S102
    out = capsys.readouterr().out
    mse = float(re.search(r"MSE after 500 steps: ([0-9.]+)", out).group(1))
    assert mse < 0.05                      # the composed step really trains
    assert "slope" in out and "M = " in out


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    extracted = subprocess.run(
        ["awk", "/<!-- test-command -->/{f=1; next} f && /^```/{if (started) exit; started=1; "
                "next} f && started {print}", str(ROOT / "README.md")],
        capture_output=True, text=True, check=True).stdout.strip()
    assert extracted == 'pip install ".[test]" && python -m pytest'
    assert "<!-- test-command -->" in script
