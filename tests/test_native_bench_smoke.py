"""Smoke test of benchmarks/extract_native.py: --quick runs, writes its JSON with the expected keys,
and the native tables equal the Python walker's. Speed is measured by the benchmark, never here."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, cli_env, native_core

pytestmark = pytest.mark.slow
native_core()


def test_extract_native_quick(tmp_path, onnx_backend_models, sample_dir):
    out = tmp_path / "native.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "extract_native.py"),
            "--quick",
            "--no-younger",
            "--corpus",
            str(tmp_path / "corpus"),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=REPO_ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert {"corpora", "results", "targets", "missed", "machine"} <= set(result)
    assert set(result["results"]) == {"weights", "structure", "many-weights", "many-structure"}
    for name, r in result["results"].items():
        assert {"native-j1", "native-j2", "touch-floor"} <= set(r["timings"]), name
        for tables in r["tables_equal"].values():
            assert all(tables.values()), (name, tables)
