"""A slow test past its time limit ends its process (conftest.py's _slow_test_limit), so a
stalled acceptance run fails instead of holding CI."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_slow_test_past_its_limit_ends_the_run(tmp_path):
    (tmp_path / "test_stall.py").write_text(
        "import time\nimport pytest\n\n"
        "@pytest.mark.slow\ndef test_stalls():\n    time.sleep(60)\n\n"
        "def test_not_slow_is_not_limited():\n    time.sleep(3)\n")
    env = {**os.environ, "JAXPHYS_SLOW_TEST_LIMIT_S": "2"}
    # the repository's conftest.py as a plugin (the test file lies outside the repository)
    base = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
            "-p", "conftest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path)]
    start = time.perf_counter()
    slow = subprocess.run(base + ["-m", "slow", str(tmp_path / "test_stall.py")],
                          capture_output=True, text=True, env=env, timeout=50, cwd=ROOT, check=False)
    assert time.perf_counter() - start < 45           # ended long before the 60 s sleep
    assert slow.returncode != 0
    assert "Timeout" in slow.stderr and "test_stalls" in slow.stderr   # the stack was dumped
    fast = subprocess.run(base + ["-m", "not slow", str(tmp_path / "test_stall.py")],
                          capture_output=True, text=True, env=env, timeout=50, cwd=ROOT, check=False)
    assert fast.returncode == 0, fast.stdout + fast.stderr
