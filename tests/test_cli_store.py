"""The store commands through the real console script: load, ingest, query, queries, demo."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **(env or {})}, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "tables"
    r = cli("extract", str(SAMPLE), "--out", str(out), "--meta", str(SAMPLE / "meta.csv"), "-j", "2")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def db(tables: Path) -> Path:
    path = tables.parent / "store.db"
    r = cli("load", str(tables), "--db", str(path), "--format", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    graphs = pd.read_parquet(tables / "graphs.parquet")
    assert summary["graphs"] == len(graphs)
    return path


def test_load_twice_skips_everything(tables: Path, db: Path) -> None:
    r = cli("load", str(tables), "--db", str(db), "--format", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["graphs"] == 0 and summary["models"] == 0
    assert summary["skipped_graphs"] == len(pd.read_parquet(tables / "graphs.parquet"))


def test_load_without_attribute_properties(tables: Path, db: Path, tmp_path: Path) -> None:
    """--no-attr-properties: the same graph, no attr_* property, attributes still in the attrs JSON."""
    bare = tmp_path / "bare.db"
    r = cli("load", str(tables), "--db", str(bare), "--no-attr-properties", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["attribute_properties"] == 0
    count = "MATCH (o:Operator) WHERE o.attrs CONTAINS '\"group\"' RETURN count(o) AS n"
    with_group = json.loads(cli("query", count, "--db", str(db), "-f", "json").stdout)[0]["n"]
    assert with_group > 0
    assert json.loads(cli("query", count, "--db", str(bare), "-f", "json").stdout)[0]["n"] == with_group
    r = cli("query", "MATCH (o:Operator) WHERE o.attr_group > 1 RETURN count(o) AS n", "--db", str(bare))
    assert r.returncode != 0 and "attr_group" in r.stderr


def test_db_from_environment_variable(db: Path) -> None:
    r = cli("query", "overview", "--format", "json", env={"YOUNGER_GRAPH_DB": str(db)})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["models"] == len(list(SAMPLE.glob("*.onnx")))


@pytest.mark.parametrize("fmt", ["json", "csv", "table", "parquet"])
def test_query_formats(db: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"hist.{fmt}"
    r = cli("query", "op_histogram", "--param", "top=5", "--db", str(db), "--format", fmt, "--out", str(out))
    assert r.returncode == 0, r.stderr
    if fmt == "json":
        rows = json.loads(out.read_text())
        assert len(rows) == 5 and {"op_type", "occurrences", "graphs"} <= set(rows[0])
    elif fmt == "csv":
        assert len(pd.read_csv(out)) == 5
    elif fmt == "parquet":
        assert len(pd.read_parquet(out)) == 5
    else:
        assert "op_type" in out.read_text()


def test_query_parameters_are_bound_not_pasted(db: Path) -> None:
    hostile = "Conv' RETURN 1 //"
    r = cli("query", "op_neighbours", "-p", f"op_type={hostile}", "--db", str(db), "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_list_parameter_and_cypher_text(db: Path) -> None:
    r = cli("query", "graphs_with_path", "-p", "ops=Conv,Relu", "--db", str(db), "-f", "json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) > 0
    r = cli("query", "MATCH (g:Graph) WHERE g.num_operators > $n RETURN count(g) AS n", "-p", "n=0",
            "--db", str(db), "-f", "csv")
    assert r.returncode == 0, r.stderr
    assert int(pd.read_csv(io.StringIO(r.stdout)).n[0]) > 0


def test_query_file(db: Path, tmp_path: Path) -> None:
    f = tmp_path / "mine.cypher"
    f.write_text("// name: mine\n// param: k int = 1\nMATCH (g:Graph) RETURN count(g) AS n LIMIT $k\n")
    r = cli("query", str(f), "--db", str(db), "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["n"] > 0


def test_writes_need_write_flag(db: Path) -> None:
    r = cli("query", "MATCH (m:Model) SET m.task = 'x' RETURN count(m) AS n", "--db", str(db))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "read-only" in r.stderr


def test_cypher_error_is_one_line_with_position(db: Path) -> None:
    r = cli("query", "MATCH (o:Operator RETURN o", "--db", str(db))
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "offset" in r.stderr or "line" in r.stderr


def test_missing_parameter_and_unknown_query(db: Path) -> None:
    r = cli("query", "graph_summary", "--db", str(db))
    assert r.returncode == 2 and "graph_id" in r.stderr
    r = cli("query", "no_such_query", "--db", str(db))
    assert r.returncode == 2 and "no query named" in r.stderr


def test_queries_lists_the_library() -> None:
    r = cli("queries", "--format", "json")
    assert r.returncode == 0, r.stderr
    names = {q["name"] for q in json.loads(r.stdout)}
    assert len(names) >= 12
    public = {p.stem for p in (ROOT / "cypher").rglob("*.cypher") if "internal" not in p.parts}
    assert names == public, "`queries` lists the public library, not cypher/internal/"


def test_ingest_extracts_and_loads(tmp_path: Path) -> None:
    db = tmp_path / "ingested.db"
    models = sorted(SAMPLE.glob("skl2onnx_*.onnx"))
    r = cli("ingest", *map(str, models), "--db", str(db), "-j", "1", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.split("\n", 1)[1])["models"] == len(models)
    assert (tmp_path / "ingested.db.tables" / "models.parquet").exists()


def test_unreachable_neo4j_is_one_line() -> None:
    r = cli("query", "overview", "--db", "bolt://127.0.0.1:1")
    assert r.returncode == 2
    assert "cannot reach Neo4j" in r.stderr and "Traceback" not in r.stderr


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    r = cli("demo", "--out", str(tmp_path / "demo"), "-j", "1")
    assert r.returncode == 0, r.stderr
    hist = pd.read_csv(tmp_path / "demo" / "op_histogram.csv")
    assert "Conv" in set(hist.op_type)
    overview = pd.read_csv(tmp_path / "demo" / "overview.csv")
    assert overview.models[0] == len(list(SAMPLE.glob("*.onnx")))
