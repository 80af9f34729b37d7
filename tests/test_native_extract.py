"""End to end: `younger-graph extract` on the native core (Rust threads, -j 1 and -j 2) writes the
same four Parquet tables and manifest as on the Python walker (YOUNGER_GRAPH_NATIVE=0), good and
bad models mixed."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest
from conftest import cli_env, native_core

native_core()


def _extract(sources: list[str], out, workers: int, use_native: bool) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", "extract", *sources, "--out", str(out), "-j",
                           str(workers)], capture_output=True, text=True, timeout=300,
                          env=cli_env(YOUNGER_GRAPH_NATIVE="1" if use_native else "0"))


@pytest.mark.parametrize("threads", [1, 2])
def test_native_extraction_writes_the_python_walkers_tables(tmp_path, sample_dir, threads):
    from test_extract_robustness import write_bad, write_good

    corpus = tmp_path / "corpus"
    write_good(corpus / "good")
    write_bad(corpus / "bad")
    sources = [str(sample_dir), str(corpus), str(tmp_path / "missing.onnx")]
    python = _extract(sources, tmp_path / "python", 1, use_native=False)
    ours = _extract(sources, tmp_path / "native", threads, use_native=True)
    assert python.returncode == ours.returncode == 1, (python.stderr, ours.stderr)  # the bad ones fail
    assert python.stdout.replace("python", "native") == ours.stdout  # the summary names its --out
    for table in ("models", "graphs", "operators", "edges"):
        a = pq.read_table(tmp_path / "python" / f"{table}.parquet")
        b = pq.read_table(tmp_path / "native" / f"{table}.parquet")
        assert a.equals(b), table
    manifest = [json.loads((tmp_path / side / "manifest.json").read_text()) for side in ("python", "native")]
    assert manifest[0] == manifest[1]
