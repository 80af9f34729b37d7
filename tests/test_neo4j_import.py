"""`export neo4j-import` + `scripts/neo4j import`: the bulk initial load of Neo4j equals the Bolt load.

The Bolt side loads the test server (NEO4J_URI); the import side runs `neo4j-admin database import
full` into a private server of its own (a temporary NEO4J_LOCAL_DIR on free ports, the jars of the
test server's folder), so the shared server is never stopped. Both are compared by counts and by
every library query; then `embed` on the imported database gives the architecture view and the
embeddings the Bolt load computed. Then: an import over data without --yes refuses, a failed import
puts the previous database back.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from neo4j_env import require_neo4j, wipe
from test_store import _library_params, _normalised

from younger_graph.arch.backfill import embed_store
from younger_graph.extract import extract
from younger_graph.query import library
from younger_graph.store import open_store
from younger_graph.store.neo4j_import import export_neo4j_import

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "neo4j"


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory, onnx_backend_models: list[Path]) -> Path:
    out = tmp_path_factory.mktemp("n4i") / "tables"
    meta = ROOT / "sample" / "meta.csv"
    extract([ROOT / "sample", *onnx_backend_models[:60]], out, workers=1, meta=meta if meta.exists() else None)
    return out


def test_the_files_hold_every_row_with_typed_headers(tables: Path, tmp_path: Path) -> None:
    out = tmp_path / "import"
    manifest = export_neo4j_import(tables, out)
    counts = {t: pq.ParquetFile(tables / f"{t}.parquet").metadata.num_rows for t in ("models", "graphs",
                                                                                     "operators", "edges")}
    assert manifest["counts"]["Operator"] == manifest["counts"]["CONTAINS"] == counts["operators"]
    assert manifest["counts"]["FLOWS"] == counts["edges"] and manifest["counts"]["Graph"] == counts["graphs"]
    assert manifest["counts"]["Model"] == counts["models"]
    header = (out / "Operator.header.csv").read_text().strip().split(",")
    assert header[:3] == ["uid:ID(Operator)", "graph_id:string", "idx:long"]
    assert any(h.endswith(":long[]") for h in header) and any(h.endswith(":double") for h in header)
    assert (out / "FLOWS.header.csv").read_text().startswith(":START_ID(Operator),:END_ID(Operator),src_slot:long")
    data_lines = sum(1 for f in out.glob("Operator-*.csv") for _ in f.open())
    assert data_lines == counts["operators"]  # no string breaks a line here (multiline is off)
    assert not manifest["multiline_fields"]
    args = (out / "import.args").read_text().splitlines()
    assert "--id-type=string" in args and any(a.startswith("--nodes=Operator=Operator.header.csv,") for a in args)
    assert "CREATE CONSTRAINT operator_uid" in (out / "schema.cypher").read_text()
    assert not (tmp_path / "import.tmp").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _snapshot(store) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    params = _library_params(store)
    return store.counts(), {q.name: _normalised(store.query(q.name, **params.get(q.name, {}))) for q in library()}


ARCH_COUNTS = ("MATCH (g:Graph) OPTIONAL MATCH (g)-[:ARCH_CONTAINS]->(o:ArchOperator) "
               "OPTIONAL MATCH (o)-[f:ARCH_FLOWS]->() "
               "RETURN g.graph_id AS graph_id, g.graph_id_arch AS graph_id_arch, count(DISTINCT o) AS nodes, "
               "count(f) AS flows ORDER BY graph_id")


def _arch_snapshot(store) -> tuple[list, dict]:  # type: ignore[no-untyped-def]
    """The architecture view per graph (hash, node and flow counts) and both views' embeddings."""
    rows = [tuple(r) for r in store.run(ARCH_COUNTS).itertuples(index=False, name=None)]
    vectors = {}
    for view in ("arch", "exact"):
        ids, matrix = store.embeddings(view)
        vectors[view] = {g: matrix[i].round(6).tolist() for i, g in enumerate(ids)}
    return rows, vectors


@pytest.fixture
def private_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Environment for scripts/neo4j on a private folder and ports, sharing the test server's jars."""
    uri, user, password = require_neo4j()
    if shutil.which("java") is None:
        pytest.skip("no java for neo4j-admin")
    source = Path(os.environ.get("NEO4J_LOCAL_DIR") or ROOT / ".neo4j")
    base = tmp_path / "server"
    base.mkdir()
    env = {**os.environ, "NEO4J_LOCAL_DIR": str(base), "NEO4J_BOLT_PORT": str(_free_port()),
           "NEO4J_HTTP_PORT": str(_free_port()), "NEO4J_HEAP": "384m", "NEO4J_PAGECACHE": "128m",
           "NEO4J_USERNAME": user, "NEO4J_PASSWORD": password}
    stamp = source / ".jars.stamp"
    if stamp.exists() and (source / "lib").is_dir():  # reuse the jars instead of running Maven again
        (base / "lib").symlink_to(source / "lib")
        (base / "plugins").symlink_to(source / "plugins")
        shutil.copy(stamp, base / ".jars.stamp")
        env["NEO4J_WITH_GDS"] = stamp.read_text().rsplit("gds=", 1)[-1].strip()
    yield env, uri, user, password
    subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)


def _script(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=600,
                          stdin=subprocess.DEVNULL)


@pytest.mark.neo4j
@pytest.mark.slow
def test_admin_import_equals_the_bolt_load(tables: Path, tmp_path: Path, private_server) -> None:  # type: ignore[no-untyped-def]
    env, uri, user, password = private_server
    with open_store(uri, write=True, username=user, password=password) as bolt:
        wipe(bolt)
        bolt.load(tables)
        expected = _snapshot(bolt)
        expected_arch = _arch_snapshot(bolt)
        wipe(bolt)
    files = tmp_path / "import"
    export_neo4j_import(tables, files)
    r = _script(env, "import", str(files))  # a new server holds no data: no --yes needed
    assert r.returncode == 0, r.stdout + r.stderr
    private = f"bolt://127.0.0.1:{env['NEO4J_BOLT_PORT']}"
    with open_store(private, username=user, password=password) as imported:
        counts, queries = _snapshot(imported)
        indexes = set(imported.run("SHOW INDEXES YIELD name, state RETURN name, state")
                      .itertuples(index=False, name=None))
    assert counts == expected[0]
    for name, rows in expected[1].items():
        assert queries[name] == rows, name
    assert ("operator_uid", "ONLINE") in indexes and ("operator_type", "ONLINE") in indexes
    # The files hold the exact graphs; `embed` (docs/neo4j.md) adds the architecture view and the
    # embeddings the Bolt load computes, equal to the Bolt load's.
    with open_store(private, write=True, username=user, password=password) as imported:
        assert not imported.embeddings("arch")[0], "the import files carry no embeddings"
        summary = embed_store(imported)
        assert summary.views_added == expected[0]["Graph"], summary
        assert _arch_snapshot(imported) == expected_arch

    # Data in place: no --yes, no replacement (stdin is not a terminal, so no prompt either).
    r = _script(env, "import", str(files))
    assert r.returncode != 0 and "pass --yes" in r.stderr
    # A failed import (a header naming an unknown id space) puts the previous database back.
    broken = tmp_path / "broken"
    shutil.copytree(files, broken)
    (broken / "FLOWS.header.csv").write_text(":START_ID(Nowhere),:END_ID(Operator)\n")
    r = _script(env, "import", str(broken), "--yes")
    assert r.returncode != 0 and "previous database is back" in r.stderr
    with open_store(private, username=user, password=password) as again:
        assert again.counts() == expected[0]
