"""End to end: the benchmark's native driver (benchmarks/native_extract_driver.py, what `extract`
does on the native core) writes the same four Parquet tables as `younger_graph.extract.extract`."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import REPO_ROOT, cli_env, native_core

from younger_graph.extract import extract

native_core()


@pytest.mark.parametrize("threads", [1, 2])
def test_driver_tables_equal_extract(tmp_path, sample_dir, threads):
    from test_extract_robustness import write_bad, write_good

    corpus = tmp_path / "corpus"
    write_good(corpus / "good")
    write_bad(corpus / "bad")
    sources = [str(sample_dir), str(corpus), str(tmp_path / "missing.onnx")]
    extract(sources, tmp_path / "python", workers=1)
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "native_extract_driver.py"),
            *sources,
            "--out",
            str(tmp_path / "native"),
            "-j",
            str(threads),
        ],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr  # some models fail (the bad ones)
    for table in ("models", "graphs", "operators", "edges"):
        a = pq.read_table(tmp_path / "python" / f"{table}.parquet")
        b = pq.read_table(tmp_path / "native" / f"{table}.parquet")
        assert a.equals(b), table
    manifest = [json.loads((tmp_path / side / "manifest.json").read_text()) for side in ("python", "native")]
    assert manifest[0] == manifest[1]
