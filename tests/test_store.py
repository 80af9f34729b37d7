"""Stores on real databases: embedded LadybugDB always, Neo4j through NEO4J_URI.

Counts are checked against pandas on the Parquet tables; library queries against each other on
both backends (order-normalised); loads for idempotency and kill -9 resumability.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from neo4j_env import wipe

from younger_graph.extract import extract
from younger_graph.query import library
from younger_graph.store import QueryError, StoreError, open_store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sample plus the ONNX backend test models, extracted once."""
    import onnx

    out = tmp_path_factory.mktemp("corpus") / "tables"
    backend = Path(onnx.__file__).parent / "backend" / "test" / "data"
    sources = [ROOT / "sample", *sorted(backend.glob("*/*/model.onnx"))[:60]]
    meta = ROOT / "sample" / "meta.csv"
    summary = extract(sources, out, workers=1, meta=meta if meta.exists() else None)
    assert summary.ok > 30
    return out


@pytest.fixture(scope="module")
def embedded(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("emb") / "store.db"
    with open_store(db, write=True) as store:
        store.load(corpus)
    return db


def _tables(corpus: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(corpus / f"{t}.parquet") for t in ("models", "graphs", "operators", "edges")}


def test_counts_match_the_tables(corpus: Path, embedded: Path) -> None:
    t = _tables(corpus)
    with open_store(embedded) as store:
        counts = store.counts()
    assert counts["Model"] == len(t["models"])
    assert counts["Graph"] == len(t["graphs"])
    assert counts["Operator"] == counts["CONTAINS"] == len(t["operators"])
    assert counts["FLOWS"] == len(t["edges"])
    assert counts["INSTANCE_OF"] == int((t["models"].status == "ok").sum())


def test_op_histogram_matches_pandas(corpus: Path, embedded: Path) -> None:
    ops = _tables(corpus)["operators"]
    ops = ops[ops.kind == "operator"]
    expected = Counter(zip(ops.op_type, ops.domain))
    with open_store(embedded) as store:
        df = store.query("op_histogram", top=1000)
    assert {(r.op_type, r.domain): r.occurrences for r in df.itertuples()} == dict(expected)
    graphs = ops.groupby(["op_type", "domain"]).graph_id.nunique().to_dict()
    assert {(r.op_type, r.domain): r.graphs for r in df.itertuples()} == graphs


def test_top_paths_match_pandas(corpus: Path, embedded: Path) -> None:
    t = _tables(corpus)
    ops = t["operators"].set_index(["graph_id", "idx"])
    e = t["edges"]
    src = ops.loc[list(zip(e.graph_id, e.src))].reset_index(drop=True)
    dst = ops.loc[list(zip(e.graph_id, e.dst))].reset_index(drop=True)
    both = (src.kind == "operator") & (dst.kind == "operator")
    expected = Counter(zip(src.op_type[both], dst.op_type[both]))
    with open_store(embedded) as store:
        df = store.query("top_paths_2", top=100000)
    assert {(r.first, r.second): r.occurrences for r in df.itertuples()} == dict(expected)


def test_attribute_properties_are_filterable(corpus: Path, embedded: Path) -> None:
    import json

    ops = _tables(corpus)["operators"]
    conv = ops[ops.op_type == "Conv"]
    grouped = sum(1 for a in conv["attrs"] if json.loads(a).get("group", 1) >= 2)
    assert grouped > 0, "the sample should contain depthwise/grouped convolutions"
    with open_store(embedded) as store:
        df = store.query("grouped_convolutions", min_group=2)
        assert int(df.operators.sum()) == grouped
        k7 = store.run("MATCH (o:Operator) WHERE o.op_type = 'Conv' AND 7 IN o.attr_kernel_shape RETURN count(*) AS n")
    assert int(k7.n[0]) == sum(1 for a in conv["attrs"] if 7 in json.loads(a).get("kernel_shape", []))


def test_load_is_idempotent(corpus: Path, embedded: Path) -> None:
    with open_store(embedded, write=True) as store:
        before = store.counts()
        summary = store.load(corpus)
        after = store.counts()
    assert before == after
    assert summary.graphs == summary.models == 0
    assert summary.skipped_graphs == len(_tables(corpus)["graphs"])


def test_read_only_by_default(embedded: Path) -> None:
    with open_store(embedded) as store, pytest.raises((QueryError, StoreError)):
        store.run("MATCH (o:Operator) SET o.name = 'x'", write=False)
    with open_store(embedded) as store, pytest.raises(StoreError):
        store.run("MATCH (o:Operator) SET o.name = 'x'", write=True)


def test_query_error_carries_the_database_message(embedded: Path) -> None:
    with open_store(embedded) as store, pytest.raises(QueryError, match=r"(?i)parser|syntax|invalid"):
        store.run("MATCH (o:Operator RETURN o")


def test_missing_database_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        open_store(tmp_path / "absent.db")


def test_embedded_database_with_string_keys_is_refused(corpus: Path, tmp_path: Path) -> None:
    import ladybug

    db = tmp_path / "old.db"
    database = ladybug.Database(str(db))
    conn = ladybug.Connection(database)
    conn.execute("CREATE NODE TABLE Operator(uid STRING, graph_id STRING, PRIMARY KEY(uid))")
    conn.close()
    database.close()
    with open_store(db, write=True) as store, pytest.raises(StoreError, match="older younger-graph"):
        store.load(corpus)


def test_community_queries_run_before_any_communities_run(embedded: Path) -> None:
    with open_store(embedded) as store:
        df = store.run("MATCH (o:Operator)-[:MEMBER_OF]->(c:Community) RETURN count(c) AS n")
    assert int(df.n[0]) == 0


def test_embedded_operator_keys_name_their_graph_and_index(embedded: Path) -> None:
    """uid = serial << 32 | idx with one distinct serial per Graph; FLOWS stay inside one graph."""
    with open_store(embedded) as store:
        ops = store.run("MATCH (g:Graph)-[:CONTAINS]->(o:Operator) "
                        "RETURN g.graph_id AS gid, g.serial AS serial, o.graph_id AS ogid, o.idx AS idx, o.uid AS uid")
        flows = store.run("MATCH (a:Operator)-[:FLOWS]->(b:Operator) RETURN a.graph_id AS ga, b.graph_id AS gb")
    assert (ops.gid == ops.ogid).all()
    assert (ops.uid == ops.serial.astype("int64") * 2**32 + ops.idx).all()
    assert ops.groupby("gid").serial.nunique().max() == 1
    assert ops.drop_duplicates("gid").serial.is_unique
    assert (flows.ga == flows.gb).all() and len(flows)


def test_models_sharing_an_architecture_keep_provenance(corpus: Path, embedded: Path) -> None:
    models = _tables(corpus)["models"]
    shared = models[models.status == "ok"].groupby("graph_id").model_id.count()
    with open_store(embedded) as store:
        df = store.query("shared_architectures", min_models=2)
    assert dict(zip(df.graph_id, df.models)) == {g: n for g, n in shared.items() if n >= 2}


COMMUNITY_PARAMS = {"method": "cnm", "hashes": [], "ids": []}


def _library_params(store) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    gid = store.run("MATCH (g:Graph) RETURN g.graph_id AS gid ORDER BY g.num_operators DESC, gid LIMIT 1").gid[0]
    return {
        "graph_summary": {"graph_id": gid},
        "models_of_graph": {"graph_id": gid},
        "graphs_with_path": {"ops": ["Conv", "Relu"]},
        "operators_by_attribute": {"op_type": "Conv", "fragment": '"group":1'},
        "op_neighbours": {"op_type": "Relu"},
        # the stats_community_* queries: the default community method, no particular blocks
        **{q.name: {p.name: COMMUNITY_PARAMS[p.name] for p in q.params if p.required}
           for q in library() if q.name.startswith("stats_community_")},
    }


def _normalised(df: pd.DataFrame) -> list[tuple]:
    rows = [tuple(sorted(map(str, v)) if isinstance(v, list) else v for v in row)
            for row in df.astype(object).itertuples(index=False)]
    return sorted(rows, key=repr)


def test_every_library_query_runs_on_embedded(embedded: Path) -> None:
    with open_store(embedded) as store:
        params = _library_params(store)
        for q in library():
            df = store.query(q.name, **params.get(q.name, {}))
            assert list(df.columns), q.name
    assert len(list(library())) >= 12


# -- loads survive kill -9 ---------------------------------------------------------------------
LOADER = """
import sys
from younger_graph.store import open_store
from younger_graph.store import embedded
embedded.EmbeddedStore.chunk_rows = int(sys.argv[3])
with open_store(sys.argv[1], write=True) as store:
    store.load(sys.argv[2])
"""


def test_embedded_load_resumes_after_kill(corpus: Path, embedded: Path, tmp_path: Path) -> None:
    """The per-graph (incremental) path: the store already holds a graph, so the load is not a bulk one."""
    db = tmp_path / "killed.db"
    first = tmp_path / "first"
    extract([sorted((ROOT / "sample").glob("*.onnx"))[0]], first, workers=1)
    with open_store(db, write=True) as store:
        store.load(first)
    proc = subprocess.Popen([sys.executable, "-c", LOADER, str(db), str(corpus), "2000"])
    time.sleep(2.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not Path(f"{db}.bulk-load").exists()
    with open_store(db, write=True) as store:
        partial = store.counts()
        # whatever was committed is made of whole graphs
        check = store.run("MATCH (g:Graph) OPTIONAL MATCH (g)-[:CONTAINS]->(o:Operator) "
                          "WITH g, count(o) AS n WHERE n <> g.num_nodes RETURN count(g) AS bad")
        assert partial["Graph"] >= 1 and int(check.bad[0]) == 0
        store.load(corpus)
        resumed = store.counts()
    with open_store(embedded) as clean:
        assert resumed == clean.counts()
        q = clean.query("op_histogram", top=50)
    with open_store(db) as store:
        pd.testing.assert_frame_equal(store.query("op_histogram", top=50), q)


BULK_LOADER = """
import sys
from younger_graph.store import open_store
from younger_graph.store import embedded
embedded.EmbeddedStore.bulk_rows = int(sys.argv[3])
with open_store(sys.argv[1], write=True) as store:
    store.load(sys.argv[2])
"""


def test_a_killed_bulk_load_says_so_and_is_rebuilt_by_the_rerun(corpus: Path, embedded: Path,
                                                               tmp_path: Path) -> None:
    for attempt in range(3):  # the kill must land between the marker and the end of the load
        db = tmp_path / f"bulk{attempt}.db"
        marker = Path(f"{db}.bulk-load")
        proc = subprocess.Popen([sys.executable, "-c", BULK_LOADER, str(db), str(corpus), "500"])
        while proc.poll() is None and not marker.exists():
            time.sleep(0.01)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if marker.exists():
            break
    else:
        pytest.fail("the bulk load finished before it could be killed, 3 times")
    with pytest.raises(StoreError, match="interrupted bulk load") as info:
        open_store(db)
    assert f"younger-graph load {corpus} --db {db}" in str(info.value)
    r = subprocess.run([sys.executable, "-m", "younger_graph.cli", "query", "op_histogram", "--db", str(db)],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "interrupted bulk load" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    with open_store(db, write=True) as store:
        with pytest.raises(StoreError, match="interrupted bulk load"):
            store.run("MATCH (g:Graph) SET g.x = 1", write=True)
        summary = store.load(corpus)
    assert not marker.exists()
    with open_store(embedded) as clean, open_store(db) as store:
        assert store.counts() == clean.counts()
        assert summary.graphs == clean.counts()["Graph"]
        pd.testing.assert_frame_equal(store.query("op_histogram", top=50), clean.query("op_histogram", top=50))


def test_bulk_then_incremental_equals_one_bulk_load(corpus: Path, embedded: Path, tmp_path: Path) -> None:
    """An empty store is bulk-loaded, a later load of more graphs goes graph by graph: same store."""
    part = tmp_path / "part"
    meta = ROOT / "sample" / "meta.csv"  # as the corpus has it: models already present are not updated
    extract(sorted((ROOT / "sample").glob("*.onnx"))[:5], part, workers=1, meta=meta if meta.exists() else None)
    db = tmp_path / "two-step.db"
    with open_store(db, write=True) as store:
        first = store.load(part)
        second = store.load(corpus)
    assert first.graphs >= 4 and second.skipped_graphs == first.graphs
    with open_store(embedded) as clean, open_store(db) as store:
        assert store.counts() == clean.counts()
        params = _library_params(clean)
        for q in library():
            a = clean.query(q.name, **params.get(q.name, {}))
            b = store.query(q.name, **params.get(q.name, {}))
            assert _normalised(a) == _normalised(b), q.name


# -- Neo4j --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def neo4j_store(corpus: Path):  # type: ignore[no-untyped-def]
    from neo4j_env import loaded_store

    yield from loaded_store(corpus)


@pytest.mark.neo4j
def test_neo4j_counts_equal_embedded(neo4j_store, embedded: Path) -> None:  # type: ignore[no-untyped-def]
    with open_store(embedded) as emb:
        assert neo4j_store.counts() == emb.counts()


@pytest.mark.neo4j
def test_every_library_query_agrees_across_backends(neo4j_store, embedded: Path) -> None:  # type: ignore[no-untyped-def]
    with open_store(embedded) as emb:
        params = _library_params(emb)
        for q in library():
            a = emb.query(q.name, **params.get(q.name, {}))
            b = neo4j_store.query(q.name, **params.get(q.name, {}))
            assert list(a.columns) == list(b.columns), q.name
            assert _normalised(a) == _normalised(b), q.name


@pytest.mark.neo4j
def test_neo4j_load_is_idempotent_and_read_only(neo4j_store, corpus: Path) -> None:  # type: ignore[no-untyped-def]
    before = neo4j_store.counts()
    summary = neo4j_store.load(corpus)
    assert summary.graphs == 0 and neo4j_store.counts() == before
    from neo4j_env import require_neo4j

    uri, user, password = require_neo4j()
    with open_store(uri, username=user, password=password) as ro, pytest.raises((QueryError, StoreError)):
        ro.run("MATCH (o:Operator) SET o.name = 'x'")


@pytest.mark.neo4j
def test_neo4j_bad_credentials_and_uri_are_one_line_errors() -> None:
    from neo4j_env import require_neo4j

    uri, user, _ = require_neo4j()
    with pytest.raises(StoreError, match="refused the credentials"):
        open_store(uri, username=user, password="definitely-wrong")
    with pytest.raises(StoreError, match="cannot reach Neo4j"):
        open_store("bolt://127.0.0.1:1", username=user, password="x")


@pytest.mark.neo4j
def test_neo4j_load_resumes_after_kill(corpus: Path, neo4j_store, embedded: Path) -> None:  # type: ignore[no-untyped-def]
    wipe(neo4j_store)
    env = {**os.environ}
    code = LOADER.replace("from younger_graph.store import embedded\nembedded.EmbeddedStore",
                          "from younger_graph.store import neo4j as n4\nn4.Neo4jStore")
    proc = subprocess.Popen([sys.executable, "-c", code, env["NEO4J_URI"], str(corpus), "2000"], env=env)
    time.sleep(4)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    bad = neo4j_store.run("MATCH (g:Graph) OPTIONAL MATCH (g)-[:CONTAINS]->(o:Operator) "
                          "WITH g, count(o) AS n WHERE n <> g.num_nodes RETURN count(g) AS bad")
    assert int(bad.bad[0]) == 0
    neo4j_store.load(corpus)
    with open_store(embedded) as emb:
        assert neo4j_store.counts() == emb.counts()


@pytest.mark.neo4j
def test_neo4j_staged_load_of_large_graphs(corpus: Path, neo4j_store, embedded: Path) -> None:  # type: ignore[no-untyped-def]
    """Graphs above stage_rows are written in many transactions under staging labels, then published."""
    wipe(neo4j_store)
    neo4j_store.stage_rows, neo4j_store.chunk_rows = 500, 2000
    try:
        neo4j_store.load(corpus)
    finally:
        del neo4j_store.stage_rows, neo4j_store.chunk_rows
    staging = neo4j_store.run("MATCH (n) WHERE n:GraphStaging OR n:OperatorStaging RETURN count(n) AS n")
    assert int(staging.n[0]) == 0
    with open_store(embedded) as emb:
        assert neo4j_store.counts() == emb.counts()
        assert _normalised(neo4j_store.query("top_paths_3", top=50)) == _normalised(emb.query("top_paths_3", top=50))
