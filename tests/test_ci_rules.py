"""The suite's own rule: on CI a skipped test is a failure (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent

PROBE = '''
import pytest

def test_skips():
    pytest.skip("a part is missing")

@pytest.mark.xfail(reason="expected")
def test_xfails():
    assert False

def test_passes():
    pass
'''


def run_probe(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(TESTS_DIR)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "conftest", "-q", "-rA", "-p", "no:cacheprovider",
                           str(tmp_path / "test_probe.py")], cwd=tmp_path, env=env, capture_output=True, text=True)


def test_a_skip_fails_on_ci(tmp_path: Path) -> None:
    result = run_probe(tmp_path, "true")
    assert result.returncode == 1, result.stdout
    assert "1 failed, 1 passed, 1 xfailed" in result.stdout, result.stdout
    assert "skipped on CI" in result.stdout


def test_a_skip_is_a_skip_locally(tmp_path: Path) -> None:
    result = run_probe(tmp_path, "")
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped, 1 xfailed" in result.stdout, result.stdout
