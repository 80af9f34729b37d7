"""Stores under hostile input (issue #11), on the real embedded database and a real Neo4j server:
sidecar column names, read-only queries that touch files, `--where` smuggling a write, incomplete
extraction folders, attribute fan-out, long indexed strings, graphs a store rejects, FIFOs as
databases, interrupted checkpoints, unreachable servers."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import onnx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import cli_env, make_model, write_model
from neo4j_env import require_neo4j, wipe
from onnx import helper as oh

from younger_graph.communities import compute_communities
from younger_graph.errors import StoreError, StoreErrorKind, UsageError
from younger_graph.extract import extract
from younger_graph.reading import selection_cypher
from younger_graph.store import open_store
from younger_graph.store.properties import property_name

SMUGGLE = "g.graph_id <> 'a\\'' WITH g MATCH (m:Model) DETACH DELETE m WITH g WHERE g.graph_id <> ''"
INJECTION = "x STRING; MATCH (g:Graph) DETACH DELETE g; ALTER TABLE Model ADD y"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode not in (0, None), proc.stdout[-500:]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return lines[0]


def chain(ops: list[str], name: str) -> onnx.ModelProto:
    nodes, prev = [], "x"
    for k, op in enumerate(ops):
        out = "y" if k == len(ops) - 1 else f"h{k}"
        nodes.append(oh.make_node(op, [prev], [out], name=f"{name}_{k}"))
        prev = out
    return make_model(nodes, ["x"], ["y"])


def small_corpus(folder: Path) -> list[Path]:
    return [write_model(chain(ops, f"m{k}"), folder / f"m{k}.onnx") for k, ops in enumerate(
        (["Relu"], ["Relu", "Neg"], ["Sigmoid", "Tanh", "Abs"], ["Exp"], ["Log", "Relu"]))]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hard")
    small_corpus(folder / "models")
    extract([folder / "models"], folder / "tables", workers=1)
    return folder / "tables"


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def backend(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """`backend.open(write=...)` opens one fresh store of the parameter's kind for this test."""
    class Opener:
        name = request.param
        db = str(tmp_path / "store.db")
        auth: dict[str, str] = {}  # noqa: RUF012 (one opener per test)

        def open(self, write: bool = False):  # type: ignore[no-untyped-def]
            return open_store(self.db, write=write, **self.auth)

    opener = Opener()
    if request.param == "neo4j":
        uri, user, password = require_neo4j()
        opener.db, opener.auth = uri, {"username": user, "password": password}
        with opener.open(write=True) as store:
            wipe(store)
    yield opener
    if request.param == "neo4j":
        with opener.open(write=True) as store:
            wipe(store)


def counts(opener) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with opener.open(write=True) as store:
        store.ensure_schema({}, [])  # an embedded database that a refused load created holds no tables yet
        c = store.counts()
    return c["Model"], c["Graph"], c["FLOWS"]


# -- sidecar column names (D3) ---------------------------------------------------------------------
def test_sidecar_column_names_never_reach_schema_statements(backend, tables: Path, tmp_path: Path) -> None:
    with backend.open(write=True) as store:
        store.load(tables)
    before = counts(backend)
    models = tmp_path / "more"
    write_model(chain(["Softplus", "Relu"], "extra"), models / "extra.onnx")
    write_model(chain(["Cos"], "other"), models / "other.onnx")
    meta = tmp_path / "meta.csv"
    meta.write_text(f'file,"{INJECTION}",model family,License,status\n'
                    "extra.onnx,1,resnets,MIT,frozen\nother.onnx,2,vits,BSD,\n", encoding="utf-8")
    extract([models], tmp_path / "t2", workers=1, meta=meta)
    manifest = json.loads((tmp_path / "t2" / "manifest.json").read_text())
    stored = manifest["metadata_columns"]
    assert stored["model family"] == "meta_model_family" and stored["License"] == "meta_license"
    assert stored["status"] == "meta_status" and stored[INJECTION].startswith("meta_x_string_match_g_graph")
    assert set(pq.read_table(tmp_path / "t2" / "models.parquet").column_names) >= set(stored.values())

    with backend.open(write=True) as store:
        store.load(tmp_path / "t2")
    after = counts(backend)
    assert after[1] == before[1] + 2  # every Graph is still there, and the two new ones
    with backend.open() as store:
        df = store.run("MATCH (m:Model) WHERE m.meta_model_family IS NOT NULL "
                       f"RETURN m.name AS name, m.meta_model_family AS family, m.{stored[INJECTION]} AS x, "
                       "m.meta_license AS license ORDER BY name")
    assert df.to_dict("records") == [
        {"name": "extra", "family": "resnets", "x": "1", "license": "MIT"},
        {"name": "other", "family": "vits", "x": "2", "license": "BSD"},
    ]


def test_tables_written_elsewhere_get_the_same_safe_names(backend, tables: Path, tmp_path: Path) -> None:
    folder = tmp_path / "foreign"
    shutil.copytree(tables, folder)
    models = pq.read_table(folder / "models.parquet")
    n = models.num_rows
    models = models.append_column("model family", pa.array(["x"] * n)).append_column(INJECTION, pa.array(["y"] * n))
    pq.write_table(models, folder / "models.parquet")
    with backend.open(write=True) as store:
        store.load(folder)
    with backend.open() as store:
        df = store.run("MATCH (m:Model) RETURN count(m.meta_model_family) AS n")
        graphs = store.run("MATCH (g:Graph) RETURN count(g) AS n")
    assert int(df["n"][0]) == n and int(graphs["n"][0]) == 5


# -- read-only queries (D4) ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def embedded_db(tables: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("ro") / "store.db"
    with open_store(db, write=True) as store:
        store.load(tables)
    return db


def escapes(tmp: Path) -> dict[str, str]:
    """Statements that must not run without --write, by what they would do."""
    target, secret, export = tmp / "existing.csv", tmp / "secret.csv", tmp / "exported"
    return {
        "COPY TO over a file": f"COPY (RETURN 'x' AS x) TO '{target}'",
        "EXPORT DATABASE": f"EXPORT DATABASE '{export}'",
        "LOAD FROM a local file": f"LOAD FROM '{secret}' (header=false) RETURN *",
        "LOAD FROM inside a longer statement": f"MATCH (g:Graph) WITH count(g) AS n LOAD FROM '{secret}' "
                                               "(header=false) RETURN *",
        "lowercase": f"copy (return 'x' as x) to '{target}'",
        "after a comment": f"/* a comment */ COPY (RETURN 'x' AS x) TO '{target}' // another",
        "unicode whitespace": f"COPY\u00a0(RETURN 'x' AS x)\u2003TO '{target}'",
        "second statement": f"RETURN 1 AS x; COPY (RETURN 'x' AS x) TO '{target}'",
        "behind an escaped quote": f"RETURN 'a\\'' AS x; COPY (RETURN 'x' AS x) TO '{target}'",
        "INSTALL": "INSTALL json",
        "LOAD EXTENSION": "LOAD EXTENSION json",
        "ATTACH": f"ATTACH '{tmp / 'other.db'}' AS other (dbtype lbug)",
        "CALL a setting": "CALL threads=1",
        "CALL a procedure not in the list": "CALL clear_warnings() RETURN *",
        "a write": "MATCH (m:Model) DETACH DELETE m",
        "a schema change": "ALTER TABLE Model ADD evil STRING",
    }


def test_read_only_embedded_queries_cannot_touch_files(embedded_db: Path, tmp_path: Path) -> None:
    (tmp_path / "existing.csv").write_text("keep me\n")
    (tmp_path / "secret.csv").write_text("s3cr3t\n")
    for what, statement in escapes(tmp_path).items():
        proc = cli("query", statement, "--db", str(embedded_db), "-f", "csv")
        line = one_line_error(proc)
        assert proc.returncode == 2 and "read-only" in line, (what, line)
        assert "s3cr3t" not in proc.stdout, what
    assert (tmp_path / "existing.csv").read_text() == "keep me\n"
    assert not (tmp_path / "exported").exists() and not (tmp_path / "other.db").exists()
    with open_store(embedded_db) as store:
        assert store.counts()["Model"] == 5


def test_a_store_open_for_writing_still_reads_read_only(embedded_db: Path, tmp_path: Path) -> None:
    (tmp_path / "existing.csv").write_text("keep me\n")
    (tmp_path / "secret.csv").write_text("s3cr3t\n")
    with open_store(embedded_db, write=True) as store:
        for what, statement in escapes(tmp_path).items():
            with pytest.raises(StoreError) as caught:
                store.run(statement)
            assert caught.value.kind is StoreErrorKind.READ_ONLY, what
        # reads that merely mention the words still run
        df = store.run("MATCH (m:Model) WHERE m.name <> 'COPY (x) TO f; DELETE' RETURN count(*) AS n // SET x")
        assert int(df["n"][0]) == 5
        assert len(store.run("CALL show_tables() RETURN *"))
        assert store.run("MATCH (o:Operator) RETURN o.op_type AS `delete` LIMIT 1").columns.tolist() == ["delete"]
    assert (tmp_path / "existing.csv").read_text() == "keep me\n"


@pytest.mark.neo4j
def test_neo4j_read_sessions_refuse_writes(tables: Path) -> None:
    uri, user, password = require_neo4j()
    with open_store(uri, write=True, username=user, password=password) as store:
        wipe(store)
        store.load(tables)
        with pytest.raises(StoreError) as caught:
            store.run("MATCH (m:Model) DETACH DELETE m")  # a store open for writing, a read run
        assert caught.value.kind is StoreErrorKind.READ_ONLY
    with open_store(uri, username=user, password=password) as store:
        with pytest.raises(StoreError) as caught:
            store.run("CREATE (:Evil)")
        assert caught.value.kind is StoreErrorKind.READ_ONLY
        assert int(store.run("MATCH (m:Model) RETURN count(m) AS n")["n"][0]) == 5
        assert int(store.run("MATCH (e:Evil) RETURN count(e) AS n")["n"][0]) == 0
    with open_store(uri, write=True, username=user, password=password) as store:
        wipe(store)


@pytest.mark.neo4j
def test_neo4j_read_only_queries_cannot_reach_files_or_urls() -> None:
    """A READ session lets LOAD CSV read the server's import folder and any URL; we refuse it first."""
    uri, user, password = require_neo4j()
    env_args = ("--db", uri, "--username", user, "--password", password)
    for statement in ("LOAD CSV FROM 'file:///x.csv' AS r RETURN r",
                      "MATCH (g:Graph) WITH count(g) AS n load csv from 'http://127.0.0.1:7474/' AS r RETURN r",
                      "CALL apoc.load.json('file:///x.json') YIELD value RETURN value",
                      "CALL gds.graph.export.csv('g', {exportName: 'x'})",
                      "CALL `apoc`.`import`.csv([], [], {})"):
        proc = cli("query", statement, *env_args)
        line = one_line_error(proc)
        assert proc.returncode == 2 and "read-only" in line, (statement, line)
    proc = cli("query", "MATCH (g:Graph) RETURN count(g) AS `load`", *env_args, "-f", "json")
    assert proc.returncode == 0, proc.stderr


# -- --where cannot smuggle a write (D11) ------------------------------------------------------------
def test_where_cannot_smuggle_a_write(backend, tables: Path) -> None:
    with backend.open(write=True) as store:
        store.load(tables)
        with pytest.raises(UsageError):
            compute_communities(store, "wcc", where=SMUGGLE)
        # and the condition pasted without parentheses, run as the selection runs (a read statement of
        # its own), is refused by the store itself: the embedded allow-list, Neo4j's READ session
        with pytest.raises(StoreError) as caught:
            store.run(f"MATCH (g:Graph) WHERE {SMUGGLE} RETURN g.graph_id AS graph_id")
        assert caught.value.kind is StoreErrorKind.READ_ONLY
        with pytest.raises(StoreError):
            store.run(selection_cypher(SMUGGLE, by_ids=False))
    assert counts(backend)[0] == 5  # no model was deleted
    if backend.name == "embedded":
        for command in (["communities", "--method", "wcc"], ["export", "dense", "--out", str(Path(backend.db).parent /
                                                                                              "dense")]):
            line = one_line_error(cli(*command, "--where", SMUGGLE, "--db", backend.db))
            assert "--where" in line
        assert counts(backend)[0] == 5


# -- incomplete folders (D8) --------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["no edges", "no models", "truncated operators", "no folder"])
def test_an_incomplete_folder_loads_nothing(backend, tables: Path, tmp_path: Path, damage: str) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(tables, folder)
    if damage == "no edges":
        (folder / "edges.parquet").unlink()
    elif damage == "no models":
        (folder / "models.parquet").unlink()
    elif damage == "truncated operators":
        data = (folder / "operators.parquet").read_bytes()
        (folder / "operators.parquet").write_bytes(data[: len(data) // 2])
    else:
        shutil.rmtree(folder)
    if backend.name == "embedded":
        line = one_line_error(cli("load", str(folder), "--db", backend.db))
        assert str(folder) in line
    else:
        with backend.open(write=True) as store, pytest.raises(StoreError):
            store.load(folder)
    assert counts(backend) == (0, 0, 0)
    with backend.open(write=True) as store:  # the complete folder then loads every edge
        store.load(tables)
    assert counts(backend) == (5, 5, pq.read_table(tables / "edges.parquet").num_rows)


# -- attributes (D6, D12) ------------------------------------------------------------------------------
def test_attribute_names_that_look_alike_stay_apart(backend, tmp_path: Path) -> None:
    node = oh.make_node("Custom", ["x"], ["y"], domain="com.example", **{"k-x": 1, "k.x": 2, "k_x": 3,
                                                                         "Alpha": 4, "alpha": 5})
    write_model(make_model([node], ["x"], ["y"], domains=["com.example"]), tmp_path / "m" / "attrs.onnx")
    extract([tmp_path / "m"], tmp_path / "t", workers=1)
    with backend.open(write=True) as store:
        summary = store.load(tmp_path / "t")
    assert any("'Alpha', 'alpha'" in w for w in summary.warnings), summary.warnings
    names = [property_name(a) for a in ("k-x", "k.x", "k_x")]
    assert len(set(names)) == 3
    with backend.open() as store:
        df = store.run("MATCH (o:Operator) WHERE o.op_type = 'Custom' RETURN "
                       + ", ".join(f"o.{p} AS p{k}" for k, p in enumerate(names)) + ", o.attr_Alpha AS a, o.attrs AS j")
    row = df.to_dict("records")[0]
    assert (row["p0"], row["p1"], row["p2"], row["a"]) == (1, 2, 3, 4)
    assert json.loads(row["j"])["alpha"] == 5  # the one left out stays in the JSON


_LOAD_RSS = """
import json, resource, sys
from younger_graph.store import open_store
with open_store(sys.argv[1], write=True) as store:
    summary = store.load(sys.argv[2])
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "props": summary.attribute_properties, "warnings": summary.warnings}))
"""


@pytest.mark.slow
def test_a_node_with_thousands_of_attributes_does_not_multiply_load_memory(tmp_path: Path) -> None:
    """Load memory grows with the attr_* columns a store declares (LadybugDB buffers every column of a
    node group): a node with 3,000 attributes must cost what one with MAX_ATTR_PROPERTIES does."""
    from younger_graph.store.properties import MAX_ATTR_PROPERTIES

    body = [oh.make_node("Relu", ["w" if k == 0 else f"r{k - 1}"], [f"r{k}"], name=f"relu{k}") for k in range(40_000)]
    body[-1] = oh.make_node("Relu", ["r39998"], ["y"])
    results = {}
    for name, width in (("capped", MAX_ATTR_PROPERTIES), ("wide", 3000)):
        wide = oh.make_node("Custom", ["x"], ["w"], domain="com.example", **{f"a{k:04d}": k for k in range(width)})
        write_model(make_model([wide, *body], ["x"], ["y"], domains=["com.example"]), tmp_path / name / "m.onnx")
        extract([tmp_path / name], tmp_path / f"t-{name}", workers=1)
        proc = subprocess.run([sys.executable, "-c", _LOAD_RSS, str(tmp_path / f"{name}.db"),
                               str(tmp_path / f"t-{name}")], capture_output=True, text=True, env=cli_env(), timeout=900)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results["capped"]["props"] == results["wide"]["props"] == MAX_ATTR_PROPERTIES
    assert any("2744 attribute names beyond the first 256 stay in attrs only" in w
               for w in results["wide"]["warnings"]), results["wide"]["warnings"]
    # peak memory of the two loads, measured in this run
    assert results["wide"]["rss_mb"] / results["capped"]["rss_mb"] < 1.25, results
    with open_store(tmp_path / "wide.db") as store:
        attrs = store.run("MATCH (o:Operator) WHERE o.op_type = 'Custom' RETURN o.attrs AS a")["a"][0]
    assert len(json.loads(attrs)) == 3000


# -- long indexed strings, graphs a store rejects (D7) -------------------------------------------------
def test_a_very_long_op_type_loads_bounded(backend, tables: Path, tmp_path: Path) -> None:
    from younger_graph.store.properties import bounded_text

    long_type = "Op" + "x" * 40_000
    node = oh.make_node(long_type, ["x"], ["y"], domain="com.example")
    write_model(make_model([node], ["x"], ["y"], domains=["com.example"]), tmp_path / "m" / "long.onnx")
    write_model(chain(["Cos", "Sin"], "after"), tmp_path / "m" / "z_after.onnx")
    extract([tmp_path / "m"], tmp_path / "t", workers=1)
    with backend.open(write=True) as store:
        summary = store.load(tmp_path / "t")
        again = store.load(tmp_path / "t")
    assert summary.graphs == 2 and not summary.rejected_graphs and again.graphs == 0
    with backend.open() as store:
        stored = store.run("MATCH (o:Operator) WHERE o.op_type STARTS WITH 'Opxxx' RETURN o.op_type AS t")["t"]
        models = store.run("MATCH (m:Model)-[:INSTANCE_OF]->(:Graph) RETURN count(m) AS n")["n"]
    assert list(stored) == [bounded_text(long_type)] and len(stored[0]) < 400
    assert int(models[0]) == 2


def test_a_graph_the_store_rejects_is_reported_and_the_rest_loads(backend, tables: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corrupt"
    shutil.copytree(tables, folder)
    ops = pq.read_table(folder / "operators.parquet")
    victim = ops.column("graph_id")[0].as_py()
    idx = ops.column("idx").to_pylist()
    idx[1] = idx[0]  # two operators of one graph share a key: no store can hold that graph
    pq.write_table(ops.set_column(ops.schema.get_field_index("idx"), "idx", pa.array(idx, pa.int32())),
                   folder / "operators.parquet")
    if backend.name == "embedded":
        proc = cli("load", str(folder), "--db", backend.db)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert victim in proc.stderr and "rejected 1 graphs" in proc.stdout
    else:
        with backend.open(write=True) as store:
            summary = store.load(folder)
        assert list(summary.rejected_graphs) == [victim]
    models, graphs, _ = counts(backend)
    assert (models, graphs) == (5, 4)
    with backend.open() as store:
        row = store.run("MATCH (m:Model) WHERE m.graph_id = $g RETURN m.status AS s, m.error AS e", {"g": victim})
    assert row["s"][0] == "error" and row["e"][0].startswith("the store rejected its graph")


# -- odd databases (D12) ---------------------------------------------------------------------------------
def test_a_fifo_as_database_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.db"
    os.mkfifo(fifo)
    line = one_line_error(cli("query", "overview", "--db", str(fifo), timeout=120))
    assert "not a database file" in line


def _checkpointing_child() -> str:
    return """
import ladybug, sys, pyarrow as pa
db = ladybug.Database(sys.argv[1]); c = ladybug.Connection(db)
c.execute("CREATE NODE TABLE IF NOT EXISTS M(id INT64, s STRING, PRIMARY KEY(id))")
i = 0
while True:
    t = pa.table({"id": pa.array(range(i, i + 5000), pa.int64()), "s": pa.array(["x" * 20] * 5000)})
    c.execute("COPY M FROM $t", {"t": t}); i += 5000
    c.execute("CHECKPOINT")
    if i == 20000:
        print("ready", flush=True)
"""


def _pending_recovery(path: Path) -> bool:
    import ladybug

    try:
        ladybug.Database(str(path), read_only=True).close()
    except RuntimeError as exc:
        return "read-write mode" in str(exc)
    return False


@pytest.mark.slow
def test_a_database_killed_during_its_checkpoint_opens_read_only(tmp_path: Path) -> None:
    rng = random.Random(2)
    for attempt in range(8):  # a kill lands inside a checkpoint about 5 times in 6
        db = tmp_path / f"killed{attempt}.db"
        proc = subprocess.Popen([sys.executable, "-c", _checkpointing_child(), str(db)], stdout=subprocess.PIPE,
                                text=True)
        proc.stdout.readline()
        time.sleep(rng.uniform(0.05, 0.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if _pending_recovery(db):
            break
    else:
        pytest.fail("no kill landed inside a checkpoint in 8 attempts")
    proc = cli("query", "MATCH (m:M) RETURN count(m) AS n", "--db", str(db), "-f", "csv")
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) >= 20000
    assert not _pending_recovery(db)


def test_neo4j_unreachable_says_why() -> None:
    with pytest.raises(StoreError) as caught:
        open_store("bolt://127.0.0.1:9", username="neo4j", password="x" * 8)
    message = str(caught.value)
    assert caught.value.kind is StoreErrorKind.UNREACHABLE
    assert message.startswith("cannot reach Neo4j at bolt://127.0.0.1:9: ")
    assert not message.endswith(":") and len(message) > len("cannot reach Neo4j at bolt://127.0.0.1:9: ") + 10
