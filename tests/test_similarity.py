"""The architecture view in the stores, embeddings, `similar`, `diff`, `embed`, `--view` and the map.

The sample is extracted and loaded into a real embedded store (and a real Neo4j when NEO4J_URI is
set). Expected values are recomputed here from the extraction tables: the view by
`younger_graph.views.arch_of` per graph (what the load is checked against), op-type counts with
pandas, nearest neighbours by brute force over the stored vectors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from conftest import cli_env, make_model, write_model
from neo4j_env import require_neo4j, wipe

import younger_graph as yg
from younger_graph.store import open_store
from younger_graph.views import arch_of, cypher

h = onnx.helper


@pytest.fixture(scope="module")
def corpus(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("arch") / "tables"
    yg.extract([str(sample_dir)], out, meta=str(sample_dir / "meta.csv"), workers=1)
    return out


@pytest.fixture(scope="module")
def store_path(corpus: Path) -> Path:
    db = corpus.parent / "store.db"
    with open_store(db, write=True) as store:
        store.load(corpus)
    return db


def views_from_tables(corpus: Path) -> dict[str, object]:
    ops = pq.read_table(corpus / "operators.parquet")
    edges = pq.read_table(corpus / "edges.parquet")
    out = {}
    for gid in pq.read_table(corpus / "graphs.parquet").column("graph_id").to_pylist():
        out[gid] = arch_of(ops.filter(pc.equal(ops.column("graph_id"), gid)),
                           edges.filter(pc.equal(edges.column("graph_id"), gid)))
    return out


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=600)


# -- the view in the store ------------------------------------------------------------------------
def test_load_writes_the_architecture_view_of_every_graph(corpus: Path, store_path: Path) -> None:
    expected = views_from_tables(corpus)
    graphs = pd.read_parquet(corpus / "graphs.parquet").set_index("graph_id")
    with open_store(store_path) as store:
        nodes = store.run("MATCH (g:Graph)-[:ARCH_CONTAINS]->(a:ArchOperator) RETURN g.graph_id AS g, count(a) AS n")
        flows = store.run("MATCH (g:Graph)-[:ARCH_CONTAINS]->(a:ArchOperator)-[f:ARCH_FLOWS]->(:ArchOperator) "
                          "RETURN g.graph_id AS g, count(f) AS n")
        props = store.run("MATCH (g:Graph) RETURN g.graph_id AS g, g.graph_id_arch AS a, g.arch_num_nodes AS n, "
                          "g.arch_num_edges AS m, g.arch_depth AS d")
        kinds = store.run("MATCH (a:ArchOperator) WHERE a.kind = 'operator' RETURN a.op_type AS t, count(*) AS n")
        # a constant stays only where it is a graph output (an If branch returning one)
        constant_uses = store.run("MATCH (a:ArchOperator)-[:ARCH_FLOWS]->(b:ArchOperator) "
                                  "WHERE a.op_type = 'Constant' RETURN DISTINCT b.kind AS kind")
    assert dict(zip(nodes["g"], nodes["n"])) == {g: v.num_nodes for g, v in expected.items() if v.num_nodes}
    assert dict(zip(flows["g"], flows["n"])) == {g: v.num_edges for g, v in expected.items() if v.num_edges}
    for row in props.itertuples():
        assert row.a == graphs.graph_id_arch[row.g]  # the extracted hash, kept
        assert row.n == expected[row.g].num_nodes and row.m == expected[row.g].num_edges
        assert row.d >= 1
    stored = dict(zip(kinds["t"], kinds["n"]))
    assert "Identity" not in stored and stored.get("Constant", 0) <= 1
    assert set(constant_uses["kind"]) <= {"output"}
    want = Counter(t for v in expected.values() for t, k in zip(v.op_type, v.kind) if k == "operator")
    assert stored == dict(want)


def test_embeddings_are_unit_vectors(store_path: Path) -> None:
    from younger_graph.arch.embed import DIM

    with open_store(store_path) as store:
        ids, vectors = store.embeddings("arch")
        exact_ids, exact = store.embeddings("exact")
        models = store.run("MATCH (m:Model) RETURN m.name AS name, m.graph_id AS g")
    assert len(ids) == len(exact_ids) == 32 and vectors.shape == exact.shape == (32, DIM)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (vectors >= 0).all()
    assert set(models["g"]) == set(ids)


def test_quantized_models_lose_their_quantizers_in_the_view(store_path: Path) -> None:
    """The QDQ squeezenet and the QOperator mobilenet of the sample: no (De)QuantizeLinear, QLinear*
    or *Integer operator is left, and every convolution is one (the quantizer also folded the Relus
    into its output range: those cannot come back from the tables, which keep no zero points)."""
    with open_store(store_path) as store:
        rows = store.run("MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph)-[:ARCH_CONTAINS]->(a:ArchOperator) "
                         "WHERE m.name IN ['squeezenet1_0', 'mobilenet_v3_small'] AND a.kind = 'operator' "
                         "RETURN m.name AS name, m.origin AS origin, a.op_type AS t, count(*) AS n")
    for name in ("squeezenet1_0", "mobilenet_v3_small"):
        quant = rows[(rows["name"] == name) & (rows["origin"] == "onnxruntime")]
        plain = rows[(rows["name"] == name) & (rows["origin"] == "torchvision")]
        assert not any("Quantize" in t or t.startswith("QLinear") or t.endswith("Integer") for t in quant["t"])
        conv = {o: int(df[df["t"] == "Conv"]["n"].sum()) for o, df in (("q", quant), ("f", plain))}
        assert conv["q"] == conv["f"] > 0, name


def test_similar_ranks_by_cosine_and_excludes_the_query(store_path: Path, sample_dir: Path) -> None:
    with open_store(store_path) as store:
        ids, vectors = store.embeddings("arch")
        df = yg.similar(store, ["resnet18", str(sample_dir / "transformers_gpt2.onnx")], k=5)
        by_id = yg.similar(store, [ids[0]], k=len(ids))
    assert list(df.columns[:5]) == ["query", "query_graph_id", "rank", "graph_id", "score"]
    for _, rows in df.groupby("query", sort=False):
        assert list(rows["rank"]) == [1, 2, 3, 4, 5]
        assert (rows["graph_id"] != rows["query_graph_id"]).all()
        assert list(rows["score"]) == sorted(rows["score"], reverse=True)
        assert ((rows["score"] >= 0) & (rows["score"] <= 1)).all()
    # brute force over the stored vectors gives the same order
    pos = {g: i for i, g in enumerate(ids)}
    scores = vectors @ vectors[0]
    expected = sorted((g for g in ids if g != ids[0]), key=lambda g: (-scores[pos[g]], g))
    assert list(by_id["graph_id"]) == expected
    assert np.allclose(by_id["score"], [scores[pos[g]] for g in expected], atol=1e-5)
    assert set(by_id["graph_id"]) == set(ids) - {ids[0]}
    resnet = df[df["query"] == "resnet18"]
    assert resnet.iloc[0]["models"] == "resnet10t"  # the only other resnet of the sample
    assert "image-classification" in resnet.iloc[0]["tasks"]


def test_similar_bad_input_is_one_line_and_a_failing_exit(store_path: Path, tmp_path: Path) -> None:
    bad = tmp_path / "not-a-model.onnx"
    bad.write_text("hello")
    cases = {
        "nothing-like-this": "is not a model file, a graph_id in the store or the name of a stored model",
        "0" * 32: "no graph 00000000000000000000000000000000 in the store",
        str(bad): "not-a-model.onnx",
        str(tmp_path / "missing.onnx"): "no such file",
    }
    for query, message in cases.items():
        r = run_cli("similar", query, "--db", str(store_path))
        assert r.returncode == 2, (query, r.stderr)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "Traceback" not in r.stderr
    r = run_cli("similar", "resnet18", "--db", str(store_path), "--k", "0")
    assert r.returncode != 0 and "--k must be at least 1" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("similar", "resnet18", "--db", str(store_path), "-f", "json", "-k", "2")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["rank"] for row in rows] == [1, 2] and rows[0]["query"] == "resnet18"


def test_a_store_without_embeddings_says_which_command_builds_them(corpus: Path, tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with open_store(db, write=True) as store:
        store.load(corpus)
        # what a store loaded before the architecture view looks like
        store.run("MATCH (a:ArchOperator) DETACH DELETE a", write=True)
        store.run("MATCH (g:Graph) SET g.embedding_arch = NULL, g.embedding_exact = NULL, g.arch_num_nodes = NULL, "
                  "g.embedding_version = NULL", write=True)
    r = run_cli("similar", "resnet18", "--db", str(db))
    assert r.returncode == 2 and "run `younger-graph embed --db" in r.stderr, r.stderr
    r = run_cli("embed", "--db", str(db), "-f", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["views_added"] == 32 and summary["embedded"] == 32
    fresh = tmp_path / "fresh.db"
    with open_store(fresh, write=True) as store:
        store.load(corpus)
    with open_store(db) as old, open_store(fresh) as new:
        for view in ("arch", "exact"):
            ids_a, va = old.embeddings(view)
            ids_b, vb = new.embeddings(view)
            order = np.argsort(ids_a), np.argsort(ids_b)
            assert sorted(ids_a) == sorted(ids_b)
            assert np.allclose(va[order[0]], vb[order[1]], atol=1e-6), view
        q = "MATCH (g:Graph)-[:ARCH_CONTAINS]->(a:ArchOperator) RETURN g.graph_id AS g, count(a) AS n ORDER BY g"
        assert old.run(q).equals(new.run(q))
    r = run_cli("embed", "--db", str(db), "-f", "json")
    assert json.loads(r.stdout)["embedded"] == 0  # up to date: nothing to do


def test_embed_force_recomputes_what_the_load_computed(corpus: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`embed --force` reads the graphs back from the store (token, weight and flow queries, several
    graphs per statement) and must give the bits the load computed from the tables."""
    from younger_graph.arch import backfill

    db = tmp_path / "force.db"
    with open_store(db, write=True) as store:
        store.load(corpus)
        before = {view: store.embeddings(view) for view in ("arch", "exact")}
        store.run("MATCH (g:Graph) SET g.embedding_arch = NULL, g.embedding_exact = NULL", write=True)
        monkeypatch.setattr(backfill, "BATCH_NODES", 2_000)  # several batches, a large graph alone in one
        summary = yg.embed(store, force=True)
        assert summary.embedded == 32 and summary.views_added == 0
        for view, (ids, vectors) in before.items():
            again_ids, again = store.embeddings(view)
            assert sorted(again_ids) == sorted(ids)
            assert np.array_equal(again[np.argsort(again_ids)], vectors[np.argsort(ids)]), view


def test_diff_reports_substitutions_and_extra_blocks(tmp_path: Path) -> None:
    def blocks(n: int, act: str) -> onnx.ModelProto:
        nodes, inits, x = [], [], "x"
        for i in range(n):
            w = h.make_tensor(f"w{i}", onnx.TensorProto.FLOAT, [8, 8], [0.0] * 64)
            inits.append(w)
            nodes += [h.make_node("MatMul", [x, f"w{i}"], [f"m{i}"]), h.make_node(act, [f"m{i}"], [f"a{i}"]),
                      h.make_node("Add", [f"a{i}", x], [f"r{i}"])]
            x = f"r{i}"
        nodes.append(h.make_node("Identity", [x], ["y"]))
        return make_model(nodes, ["x"], ["y"], inits)

    four = write_model(blocks(4, "Relu"), tmp_path / "four.onnx")
    six = write_model(blocks(6, "Relu"), tmp_path / "six.onnx")
    gelu = write_model(blocks(4, "Gelu"), tmp_path / "gelu.onnx")
    doc = yg.diff(None, str(four), str(six))
    assert doc["sizes"]["operators"] == {"a": 12, "b": 18, "delta": 6}
    assert {r["op_type"]: r["delta"] for r in doc["op_types"]} == {"MatMul": 2, "Relu": 2, "Add": 2}
    assert any("B = A with 2 more repeats of a 3-operator block" in n for n in doc["alignment"]["notes"]), doc
    doc = yg.diff(None, str(four), str(gelu))
    assert "Relu → Gelu in 4 places" in doc["alignment"]["notes"]
    assert {p["path"] for p in doc["paths"]["only_b"]} >= {"MatMul → Gelu", "Gelu → Add"}
    r = run_cli("diff", str(four), str(six), "-f", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["sizes"]["edges"]["delta"] > 0, r.stderr
    r = run_cli("diff", str(four), str(six))
    assert r.returncode == 0 and "more repeats" in r.stdout
    r = run_cli("diff", str(four), "no-such-model", "--db", str(tmp_path / "none.db"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_diff_against_stored_graphs(store_path: Path, sample_dir: Path) -> None:
    with open_store(store_path) as store:
        doc = yg.diff(store, "resnet10t", str(sample_dir / "torchvision_resnet18.onnx"))
        same = yg.diff(store, "resnet10t", "resnet10t")
    assert doc["a"]["models"] == "resnet10t" and 0 < doc["score"] < 1
    assert {r["op_type"] for r in doc["op_types"]} >= {"AveragePool"}  # resnet-d downsampling
    assert same["same_graph"] and same["score"] == pytest.approx(1.0) and not same["op_types"]


# -- --view on stats, patterns, export --------------------------------------------------------------
def test_stats_and_patterns_on_the_architecture_view(corpus: Path, store_path: Path) -> None:
    expected = views_from_tables(corpus)
    with open_store(store_path) as store:
        doc = yg.compute_stats(store, view="arch")
        exact = yg.compute_stats(store)
        paths = yg.frequent_paths(store, [2], top=0, view="arch")
    assert doc["selection"]["view"] == "arch"
    ov = doc["overview"]
    assert ov["nodes"] == sum(v.num_nodes for v in expected.values())
    assert ov["edges"] == sum(v.num_edges for v in expected.values())
    assert ov["graphs"] == exact["overview"]["graphs"] and ov["nodes"] < exact["overview"]["nodes"]
    ops = {r["op_type"] for r in doc["op_types"]["by_occurrences"]}
    assert "Identity" not in ops and "Constant" not in ops
    want: Counter[str] = Counter()
    for v in expected.values():
        for s, d in zip(v.src, v.dst):
            if v.kind[s] == "operator" and v.kind[d] == "operator":
                want[f"{v.op_type[s]},{v.op_type[d]}"] += 1
    assert dict(zip(paths["ops"], paths["occurrences"])) == dict(want)


def test_export_dense_on_the_architecture_view(store_path: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    with open_store(store_path) as store:
        meta = yg.export_dense(store, tmp_path / "arch", yg.DenseOptions(max_nodes=200, graph_view="arch"))
        exact = yg.export_dense(store, tmp_path / "exact", yg.DenseOptions(max_nodes=200))
    assert meta["counts"]["graphs"] > exact["counts"]["graphs"]  # smaller graphs: more fit under 200 nodes
    with pytest.raises(yg.ExportError, match="--view exact"):
        yg.PygOptions(task="operator", graph_view="arch").check()


def test_cypher_view_rewrite_leaves_quoted_text_alone() -> None:
    text = "MATCH (g:Graph)-[:CONTAINS]->(o:Operator)-[:FLOWS]->(b) WHERE o.name = ':Operator' AND g.num_nodes > 3"
    out = cypher(text, "arch")
    assert out == ("MATCH (g:Graph)-[:ARCH_CONTAINS]->(o:ArchOperator)-[:ARCH_FLOWS]->(b) WHERE o.name = "
                   "':Operator' AND g.arch_num_nodes > 3")
    assert cypher(text, "exact") == text
    with pytest.raises(yg.UsageError):
        cypher(text, "other")


def test_stats_report_has_the_corpus_map(store_path: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    r = run_cli("stats", "--db", str(store_path), "--report", str(report), "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    points = doc["map"]["points"]
    assert len(points) == doc["overview"]["graphs"] and doc["map"]["method"] in ("tsne", "pca")
    assert all(-1.0 <= p["x"] <= 1.0 and -1.0 <= p["y"] <= 1.0 for p in points)
    assert any(n["family"] == "resnet" and n["neighbour_family"] == "resnet" for n in doc["map"]["neighbours"])
    page = report.read_text()
    assert "id=plot-corpus_map" in page and "Map of the corpus" in page
    r = run_cli("stats", "--db", str(store_path), "--format", "json")
    assert "map" not in json.loads(r.stdout)  # off unless asked for (a t-SNE costs)


# -- Neo4j ----------------------------------------------------------------------------------------
@pytest.mark.neo4j
def test_neo4j_vector_index_agrees_with_the_embedded_index(corpus: Path, store_path: Path) -> None:
    uri, user, password = require_neo4j()
    with open_store(uri, write=True, username=user, password=password) as store:
        wipe(store)  # the test server is shared: only this corpus may be in it
        store.load(corpus)
    with open_store(uri, username=user, password=password) as neo, open_store(store_path) as emb:
        a = yg.similar(neo, ["resnet18", "bert"], k=5)
        b = yg.similar(emb, ["resnet18", "bert"], k=5)
        assert list(a["graph_id"]) == list(b["graph_id"])
        assert np.allclose(a["score"], b["score"], atol=1e-4)
        doc_neo, doc_emb = yg.compute_stats(neo, view="arch"), yg.compute_stats(emb, view="arch")
        assert doc_neo == doc_emb


def test_extraction_writes_the_view_and_a_format_1_folder_still_loads(corpus: Path, store_path: Path,
                                                                        tmp_path: Path) -> None:
    import shutil

    expected = views_from_tables(corpus)
    arch_ops = pd.read_parquet(corpus / "arch_operators.parquet")
    assert arch_ops.groupby("graph_id").size().to_dict() == {g: v.num_nodes for g, v in expected.items()
                                                             if v.num_nodes}
    manifest = json.loads((corpus / "manifest.json").read_text())
    assert manifest["format_version"] == "2" and manifest["counts"]["arch_operators"] == len(arch_ops)
    old = tmp_path / "format1"
    shutil.copytree(corpus, old)
    for name in ("arch_operators", "arch_edges"):
        (old / f"{name}.parquet").unlink()
    graphs = pq.read_table(old / "graphs.parquet")
    pq.write_table(graphs.drop_columns(["graph_id_arch"]), old / "graphs.parquet")  # as format 1 wrote it
    db = tmp_path / "format1.db"
    with open_store(db, write=True) as store:
        summary = store.load(old)
    assert summary.graphs == 32 and not summary.warnings
    q = ("MATCH (g:Graph) OPTIONAL MATCH (g)-[:ARCH_CONTAINS]->(a:ArchOperator) "
         "RETURN g.graph_id AS g, g.arch_depth AS depth, count(a) AS n ORDER BY g")
    with open_store(db) as computed, open_store(store_path) as extracted:
        assert computed.run(q).equals(extracted.run(q))  # the load computed what extraction wrote
        arch_ids = computed.run("MATCH (g:Graph) RETURN g.graph_id_arch AS a")["a"]
        assert arch_ids.isna().all()  # as in the folder: the hash comes from the extraction only
        ids_a, va = computed.embeddings("arch")
        ids_b, vb = extracted.embeddings("arch")
        assert ids_a == ids_b or sorted(ids_a) == sorted(ids_b)
        order_a, order_b = np.argsort(ids_a), np.argsort(ids_b)
        assert np.allclose(va[order_a], vb[order_b], atol=1e-6)
