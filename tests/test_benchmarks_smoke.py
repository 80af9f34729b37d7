"""Smoke tests of benchmarks/: each script runs in --quick mode on tiny inputs, exits 0 and writes
its JSON result with the expected keys. Speed is measured by the benchmarks, never asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, cli_env

BENCH = REPO_ROOT / "benchmarks"

pytestmark = pytest.mark.slow


def _run(script: str, *args: str, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          env=cli_env(), cwd=REPO_ROOT, timeout=timeout)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _result(path: Path) -> dict:
    assert path.exists(), f"no JSON result at {path}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_extract_quick(tmp_path: Path, onnx_backend_models: list[Path]) -> None:
    out = tmp_path / "extract.json"
    # Younger's converter runs only if its venv (.bench/younger-venv) exists; the script decides.
    _run("extract.py", "--quick", "--corpus", str(tmp_path / "corpus"), "--json", str(out))
    result = _result(out)
    assert {"benchmark", "machine", "corpus", "timings", "ratios", "targets", "missed"} <= set(result)
    assert result["benchmark"] == "extract" and result["quick"] is True
    assert result["corpus"]["files"] == 5
    assert {"ours-j1", "ours-j2", "touch-floor"} <= set(result["timings"])
    for timing in result["timings"].values():
        assert {"median_s", "ms_per_model", "runs_s", "cpu_median_s"} <= set(timing)
    assert {"ours_j1_over_touch_floor", "younger_over_ours_j1", "ours_j1_over_ours_j2"} <= set(result["ratios"])


def test_synth_quick(tmp_path: Path, sample_dir: Path) -> None:
    out, json_path = tmp_path / "synth", tmp_path / "synth.json"
    args = ["--quick", "--from", str(sample_dir), "--base-out", str(tmp_path / "base"), "--out", str(out)]
    _run("synth.py", *args, "--json", str(json_path))
    result = _result(json_path)
    assert {"benchmark", "counts", "params", "seconds", "size_percentiles", "out"} <= set(result)
    counts = result["counts"]
    assert counts["graphs"] >= 1 and counts["operators"] > 0 and counts["edges"] > 0
    assert counts["models"] >= counts["graphs"]
    for table in ("models", "graphs", "operators", "edges"):
        assert (out / f"{table}.parquet").exists()
    _check_tables(out)
    # Same seed, same input: the second run reuses the folder (deterministic parameters).
    _run("synth.py", *args, "--json", str(json_path))
    assert _result(json_path)["reused"] is True


def _check_tables(folder: Path) -> None:
    """Schemas are the extraction schemas; idx are 0..n-1 per graph; every edge stays in its graph."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from younger_graph.schema import CORE_TABLES, SCHEMAS

    # synth.py writes the four core tables (no architecture view: the load computes it)
    tables = {t: pq.read_table(folder / f"{t}.parquet") for t in CORE_TABLES}
    for name, table in tables.items():
        assert table.schema.equals(SCHEMAS[name]), name
    sizes = dict(zip(tables["graphs"].column("graph_id").to_pylist(), tables["graphs"].column("num_nodes").to_pylist()))
    assert len(sizes) == tables["graphs"].num_rows  # graph ids are unique
    ops = tables["operators"].group_by("graph_id").aggregate([("idx", "min"), ("idx", "max"), ("idx", "count")])
    for gid, lo, hi, n in zip(*(ops.column(c).to_pylist() for c in ("graph_id", "idx_min", "idx_max", "idx_count"))):
        assert (lo, hi, n) == (0, sizes[gid] - 1, sizes[gid])
    edges = tables["edges"]
    limit = pc.take(tables["graphs"].column("num_nodes"),
                    pc.index_in(edges.column("graph_id"), value_set=tables["graphs"].column("graph_id")))
    assert pc.all(pc.less(edges.column("src"), pc.cast(limit, "int32"))).as_py()
    assert pc.all(pc.less(edges.column("dst"), pc.cast(limit, "int32"))).as_py()
    assert pc.min(edges.column("src")).as_py() >= 0
    assert set(tables["models"].column("graph_id").to_pylist()) == set(sizes)


def test_load_quick(tmp_path: Path, sample_dir: Path) -> None:
    json_path = tmp_path / "load.json"
    args = ["--quick", "--from", str(sample_dir), "--base-out", str(tmp_path / "base"),
            "--synth-out", str(tmp_path / "synth"), "--json", str(json_path)]
    if not os.environ.get("NEO4J_URI"):
        args.append("--no-neo4j")
    _run("load.py", *args, timeout=180)
    result = _result(json_path)
    assert {"benchmark", "machine", "tables", "embedded", "neo4j", "ratios", "targets"} <= set(result)
    embedded = result["embedded"]
    assert {"seconds", "rows_per_s", "peak_rss_mb", "summary"} <= set(embedded)
    assert embedded["summary"]["operators"] == result["tables"]["counts"]["operators"]
    assert embedded["summary"]["edges"] == result["tables"]["counts"]["edges"]
    assert result["neo4j"]["status"] in ("ok", "skipped", "failed")
    if result["neo4j"]["status"] == "ok":
        assert {"batched", "naive"} <= set(result["neo4j"])


def test_walk_quick(tmp_path: Path) -> None:
    out = tmp_path / "walk.json"
    _run("walk.py", "--quick", "--rev", "HEAD", "--json", str(out))  # HEAD: any clone has it
    result = _result(out)
    assert {"benchmark", "machine", "timings", "ratios", "targets", "missed"} <= set(result)
    assert result["benchmark"] == "walk" and result["models"] >= 5


def test_generation_quick(tmp_path: Path, sample_dir: Path) -> None:
    json_path = tmp_path / "generation.json"
    _run("generation.py", "--quick", "--json", str(json_path), timeout=300)
    result = _result(json_path)
    assert {"benchmark", "machine", "corpus", "timings", "ratios", "targets", "round_trip"} <= set(result)
    assert {"extract", "to-onnx", "to-onnx-no-check", "export-dense", "check-generated"} <= set(result["timings"])
    assert result["round_trip"]["graphs"] == result["corpus"]["graphs"] > 0
    assert set(result["ratios"]) >= {"to_onnx_over_extract", "check_over_dense_export"}


def test_match_quick(tmp_path: Path, sample_dir: Path) -> None:
    tables, json_path = tmp_path / "synth", tmp_path / "match.json"
    _run("synth.py", "--quick", "--from", str(sample_dir), "--base-out", str(tmp_path / "base"), "--out", str(tables))
    _run("match.py", "--quick", "--tables", str(tables), "--db", str(tmp_path / "m.db"), "--json", str(json_path))
    result = _result(json_path)
    assert result["benchmark"] == "match" and result["quick"] is True
    timings = result["backends"]["embedded"]
    assert {"match_chain3", "match_chain3_count", "match_residual5", "scan", "plain_chain3"} <= set(timings)
    assert timings["match_chain3"]["rows"] > 0 and timings["match_chain3"]["over_scan"] is not None
    assert result["count_consistent"] is True
    assert len(result["targets"]) == 6


def test_scale_quick(tmp_path: Path, sample_dir: Path) -> None:
    json_path = tmp_path / "scale.json"
    _run("scale.py", "--quick", "--from", str(sample_dir), "--base-out", str(tmp_path / "base"), "--synth-out",
         str(tmp_path / "synth"), "--work", str(tmp_path / "work"), "--json", str(json_path), timeout=600)
    result = _result(json_path)
    assert [r["scale"] for r in result["results"]] == [0.001, 0.002]
    for r in result["results"]:
        assert set(r["steps"]) == {"load", "stats", "neo4j-import"}
        assert all(s["status"] == "ok" and s["peak_rss_mb"] > 0 and s["disk_mb"] > 0 for s in r["steps"].values())
    assert set(result["projection"]["steps"]) == {"load", "stats", "neo4j-import"}
    assert not (tmp_path / "work" / "scale-0.002").exists()  # removed unless --keep


def test_similarity_quick(tmp_path: Path) -> None:
    out = tmp_path / "similarity.json"
    # Quality needs the exported corpus (benchmarks/similarity_corpus.py, minutes of exports); without
    # it --quick measures speed only, on the scale-0.01 synthetic tables.
    _run("similarity.py", "--quick", "--json", str(out), timeout=900)
    result = _result(out)
    assert {"machine", "targets", "speed"} <= set(result)
    speed = result["speed"]
    assert speed["graphs"] > 0 and speed["similar_median_ms"] > 0 and speed["embed_s"] > 0


def test_communities_quick(tmp_path: Path, sample_dir: Path) -> None:
    json_path = tmp_path / "communities.json"
    _run("communities.py", "--quick", "--sample", str(sample_dir), "--synth-out", str(tmp_path / "synth"),
         "--json", str(json_path), timeout=300)
    result = _result(json_path)
    assert {"benchmark", "machine", "corpus", "communities_command", "stats_before", "stats_after", "added_s",
            "ratios", "targets", "missed", "consistent"} <= set(result)
    assert result["consistent"] is True and result["problems"] == []
    command = result["communities_command"]
    assert command["wall_s"] > 0 and command["peak_rss_mb"] > 0 and command["communities"] > 0
    assert any(k.startswith("stats_community") for k in result["section_queries_s"])


def test_corpus_quick(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    out, json_path = tmp_path / "corpus", tmp_path / "corpus.json"
    _run("corpus.py", "--quick", "--out", str(out), "--json", str(json_path), timeout=600)
    result = _result(json_path)
    assert result["exported"]["transformers"] == 6 and not result["failed"]
    counts = result["counts"]
    assert counts["graphs"] == 6 and counts["operators"] > 0 and counts["edges"] > 0
    assert (out / "corpus.db").exists() and len(list((out / "onnx").rglob("*.onnx"))) == 6
    assert "graphs=6" in result["communities"]
