"""The README's Python examples run as written, and its test command is what CI runs."""

import re
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
    block = re.search(r"<!-- test-command -->\n```bash\n(.*?)\n```", README, flags=re.S).group(1)
    assert block == 'pip install ".[test]" && python -m pytest'
    assert f"TEST_COMMAND='{block}'" in script      # the drift check compares against this
    assert f"\n{block}\n" in script                  # and this line is what CI runs
