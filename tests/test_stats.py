"""`younger-graph stats` and the per-graph metrics it reads.

- metrics.py against networkx on every graph of the shipped sample and the ONNX backend test models
  (and on hand-made graphs: cycles, isolated nodes, parallel edges, empty);
- the whole stats document on the embedded store against an independent recomputation from the
  Parquet tables with pandas + networkx (written here, sharing no code with younger_graph.stats);
- `stats --format json` identical on the embedded store and on Neo4j for the same data;
- the CLI through a subprocess; the HTML report rendered by headless Chromium;
- old databases and old extraction folders (without the metric columns) still load and report.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import onnx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import BACKEND_DATA, REPO_ROOT, cli_env, make_model, write_model

from younger_graph.extract import extract
from younger_graph.store import open_store

SAMPLE = REPO_ROOT / "sample"
METRICS = ["num_components", "max_in_degree", "max_out_degree", "depth", "width", "num_op_types",
           "op_type_entropy", "has_control_flow", "has_custom_domain"]
TASK = "image-classification"


# -- corpus -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped sample (with its metadata), every ONNX backend test model, and two models that
    fail (a cycle, an empty file), extracted once."""
    if not any(SAMPLE.glob("*.onnx")):
        pytest.skip("sample/ holds no .onnx files")
    base = tmp_path_factory.mktemp("stats")
    bad = base / "bad"
    h = onnx.helper
    write_model(make_model([h.make_node("Add", ["x", "t"], ["u"]), h.make_node("Relu", ["u"], ["t"])],
                           ["x"], ["t"]), bad / "cycle.onnx")
    (bad / "empty.onnx").write_bytes(b"")
    # First in the tables: a graph without any edge (an input and an unused Constant). Its empty
    # edge run once made the embedded store drop the FLOWS of the whole load chunk.
    lone = base / "lone"
    const = h.make_node("Constant", [], ["c"], value=h.make_tensor("v", onnx.TensorProto.FLOAT, [1], [1.0]))
    write_model(make_model([const], ["x"], []), lone / "no_edges.onnx")
    sources = [lone, SAMPLE, bad] + ([BACKEND_DATA] if BACKEND_DATA.is_dir() else [])
    out = base / "tables"
    summary = extract(sources, out, workers=1, meta=SAMPLE / "meta.csv")
    assert summary.ok >= 30 and summary.failed == 2
    assert pq.read_table(out / "graphs.parquet").column("num_edges")[0].as_py() == 0
    return out


@pytest.fixture(scope="module")
def tables(corpus: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(corpus / f"{t}.parquet") for t in ("models", "graphs", "operators", "edges")}


@pytest.fixture(scope="module")
def embedded(corpus: Path) -> Path:
    db = corpus.parent / "store.db"
    with open_store(db, write=True) as store:
        store.load(corpus)
    return db


def test_the_store_holds_every_node_and_edge(embedded: Path, tables: dict[str, pd.DataFrame]) -> None:
    with open_store(embedded) as store:
        counts = store.counts()
    assert counts["Graph"] == len(tables["graphs"])
    assert counts["Operator"] == len(tables["operators"])
    assert counts["FLOWS"] == len(tables["edges"])


def _selections(tables: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    return [
        {},
        {"task": TASK},
        {"where": "graphs_by_size", "where_params": {"min_operators": 100}},
        {"task": "feature-extraction", "where": "graphs_by_size", "where_params": {"max_operators": 300}},
        {"where": "graphs_by_size", "where_params": {"min_operators": 10**9}},  # selects nothing
    ]


# -- metrics.py against networkx ----------------------------------------------------------------
def _nx_metrics(kind: list[str], op_type: list[str], domain: list[str], src: Any, dst: Any) -> dict[str, Any]:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(len(kind)))
    g.add_edges_from(zip(map(int, src), map(int, dst)))
    if nx.is_directed_acyclic_graph(g):
        generations = [len(level) for level in nx.topological_generations(g)]
        depth = nx.dag_longest_path_length(g) + 1 if len(g) else 0
        width = max(generations, default=0)
        assert depth == len(generations)
    else:
        depth = width = -1
    ops = pd.DataFrame({"kind": kind, "op_type": op_type, "domain": domain})
    ops = ops[ops.kind == "operator"]
    p = ops.op_type.value_counts(normalize=True).to_numpy()
    return {
        "num_components": nx.number_weakly_connected_components(g),
        "max_in_degree": max((d for _, d in g.in_degree()), default=0),
        "max_out_degree": max((d for _, d in g.out_degree()), default=0),
        "depth": depth,
        "width": width,
        "num_op_types": int(ops.op_type.nunique()),
        "op_type_entropy": float(-(p * np.log2(p)).sum()) if len(p) else 0.0,
        "has_control_flow": bool((ops.op_type.isin(["If", "Loop", "Scan"]) & ops.domain.isin(["", "ai.onnx"])).any()),
        "has_custom_domain": bool((~ops.domain.isin(["", "ai.onnx", "ai.onnx.ml"])).any()),
    }


def _same_metrics(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    for key in METRICS:
        if key == "op_type_entropy":
            assert got[key] == pytest.approx(want[key], abs=1e-12), (where, key)
        else:
            assert got[key] == want[key], (where, key, got[key], want[key])


def test_metrics_match_networkx_on_every_extracted_graph(tables: dict[str, pd.DataFrame]) -> None:
    ops = {g: df for g, df in tables["operators"].groupby("graph_id", sort=False)}
    edges = {g: df for g, df in tables["edges"].groupby("graph_id", sort=False)}
    graphs = tables["graphs"]
    assert len(graphs) > 100 and graphs["has_control_flow"].any() and graphs["has_custom_domain"].any()
    assert (graphs["num_components"] > 1).any()
    empty = tables["edges"].iloc[:0]
    for row in graphs.itertuples():
        o, e = ops[row.graph_id], edges.get(row.graph_id, empty)
        want = _nx_metrics(o.kind.tolist(), o.op_type.tolist(), o.domain.tolist(), e.src, e.dst)
        _same_metrics({k: getattr(row, k) for k in METRICS}, want, row.graph_id)


@pytest.mark.parametrize("case", ["cycle", "self_loop", "isolated", "parallel", "empty", "flags", "chain", "wide"])
def test_metrics_on_hand_made_graphs(case: str) -> None:
    from younger_graph.metrics import graph_metrics

    rng = np.random.default_rng(7)
    kind = ["input", "operator", "operator", "operator", "output"]
    op, dom = ["Input", "A", "B", "A", "Output"], [""] * 5
    edges = {
        "cycle": ([0, 1, 2, 3, 2], [1, 2, 3, 1, 4]),
        "self_loop": ([0, 1, 1], [1, 1, 4]),
        "isolated": ([0], [1]),
        "parallel": ([0, 0, 1, 1, 2, 3], [1, 1, 2, 2, 3, 4]),
        "empty": ([], []),
        "flags": ([0, 1, 2, 3], [1, 2, 3, 4]),
    }
    if case == "empty":
        kind, op, dom = [], [], []
    if case == "flags":
        op = ["Input", "Loop", "If", "Custom", "Output"]
        dom = ["", "", "ai.onnx", "com.example", ""]
    if case in ("chain", "wide"):  # big enough to use both the narrow and the numpy frontier paths
        n = 3000
        kind, op, dom = ["operator"] * n, [f"T{i % 7}" for i in range(n)], ["ai.onnx.ml"] * n
        if case == "chain":  # a long chain with short forward skips: mostly one node per level
            skip = rng.integers(0, n - 20, 500)
            src = np.concatenate([np.arange(n - 1), skip])
            dst = np.concatenate([np.arange(1, n), skip + rng.integers(1, 20, 500)])
        else:  # random forward edges: wide levels
            src = rng.integers(0, n // 2, 6000)
            dst = src + rng.integers(1, n // 2, 6000)
        src, dst = src.tolist(), dst.tolist()
    else:
        src, dst = edges[case]
    got = graph_metrics(kind, op, dom, src, dst)
    _same_metrics(got, _nx_metrics(kind, op, dom, src, dst), case)
    if case in ("cycle", "self_loop"):
        assert got["depth"] == got["width"] == -1
    if case == "flags":
        assert got["has_control_flow"] and got["has_custom_domain"]
    if case == "empty":
        assert got["num_components"] == got["depth"] == 0


# -- an independent recomputation of the document from the Parquet tables -----------------------
def _key(v: int) -> int:
    """log2 bin of a non-negative integer: 0 → 0, 1 → 1, 2..3 → 2, 4..7 → 3 (frexp's exponent)."""
    return 0 if v == 0 else math.frexp(v)[1]


def _dist(values: Any, linear: bool = False) -> dict[str, Any]:
    s = pd.Series(list(values), dtype="float64")
    if s.empty:
        return {"count": 0, "min": None, "max": None, "mean": None, "median": None, "p90": None,
                "bins": "linear:0.5" if linear else "log2", "histogram": []}
    if linear:
        keys = (s // 0.5).astype(int)
        hist = [{"lo": k * 0.5, "hi": (k + 1) * 0.5, "count": int((keys == k).sum())}
                for k in range(keys.min(), keys.max() + 1)]
    else:
        keys = s.astype(int).map(_key)
        hist = [{"lo": 0 if k == 0 else 2 ** (k - 1), "hi": 0 if k == 0 else 2 ** k - 1,
                 "count": int((keys == k).sum())} for k in range(keys.min(), keys.max() + 1)]
    cast = float if linear else int
    return {"count": len(s), "min": cast(s.min()), "max": cast(s.max()), "mean": s.mean(),
            "median": s.quantile(0.5), "p90": s.quantile(0.9), "bins": "linear:0.5" if linear else "log2",
            "histogram": hist}


def _counts(models: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    m = models.assign(**{by: models[by].fillna("")})
    rows = [{by: k, "models": len(g), "models_ok": int((g.status == "ok").sum()),
             "models_failed": int((g.status != "ok").sum()), "graphs": int(g.graph_id.dropna().nunique())}
            for k, g in m.groupby(by)]
    return sorted(rows, key=lambda r: (-r["models"], r[by]))


def _degree_hist(per_node: pd.Series) -> dict[str, Any]:
    counts = per_node.value_counts().sort_index()
    hist = [{"degree": int(d), "nodes": int(n)} for d, n in counts.items()]
    nodes = int(counts.sum())
    return {"nodes": nodes, "mean": float((counts.index * counts).sum()) / nodes if nodes else None,
            "max": hist[-1]["degree"] if hist else None, "histogram": hist}


_NX_CACHE: dict[str, dict[str, Any]] = {}  # graph_id → networkx metrics (graphs never change)


def expected_doc(t: dict[str, pd.DataFrame], task: str | None = None, where_ids: list[str] | None = None,
                 where: str | None = None, where_params: dict[str, Any] | None = None) -> dict[str, Any]:
    models = t["models"]
    if task is not None:
        models = models[models.task == task]
    if where_ids is not None:
        models = models[models.graph_id.isin(where_ids)]
    graphs = t["graphs"]
    if task is not None:
        ok = t["models"][(t["models"].task == task) & (t["models"].status == "ok")]
        graphs = graphs[graphs.graph_id.isin(ok.graph_id)]
    if where_ids is not None:
        graphs = graphs[graphs.graph_id.isin(where_ids)]
    gids = set(graphs.graph_id)
    nodes = t["operators"][t["operators"].graph_id.isin(gids)]
    ops = nodes[nodes.kind == "operator"]
    edges = t["edges"][t["edges"].graph_id.isin(gids)]
    n_ok = int((models.status == "ok").sum())

    types = ops.groupby(["op_type", "domain"]).agg(occurrences=("idx", "size"), graphs=("graph_id", "nunique"),
                                                   attr_variants=("attrs", "nunique"))
    type_rows = [{"op_type": o, "domain": d, "occurrences": int(r.occurrences), "graphs": int(r.graphs),
                  "attr_variants": int(r.attr_variants), "share": r.occurrences / len(ops)}
                 for (o, d), r in types.iterrows()]

    ends = nodes[["graph_id", "idx", "kind", "op_type"]]
    src = edges.merge(ends, left_on=["graph_id", "src"], right_on=["graph_id", "idx"], how="left")
    dst = edges.merge(ends, left_on=["graph_id", "dst"], right_on=["graph_id", "idx"], how="left")
    both = (src.kind == "operator").to_numpy() & (dst.kind == "operator").to_numpy()
    pairs = pd.DataFrame({"producer": src.op_type[both].to_numpy(), "consumer": dst.op_type[both].to_numpy(),
                          "graph_id": src.graph_id[both].to_numpy()})
    co = pairs.groupby(["producer", "consumer"]).agg(edges=("graph_id", "size"), graphs=("graph_id", "nunique"))
    co_rows = sorted(({"producer": p, "consumer": c, "edges": int(r.edges), "graphs": int(r.graphs)}
                      for (p, c), r in co.iterrows()), key=lambda r: (-r["edges"], r["producer"], r["consumer"]))

    node_index = pd.MultiIndex.from_frame(nodes[["graph_id", "idx"]])
    in_deg = edges.groupby(["graph_id", "dst"]).size().reindex(node_index, fill_value=0)
    out_deg = edges.groupby(["graph_id", "src"]).size().reindex(node_index, fill_value=0)

    by_graph_nodes = {g: df for g, df in nodes.groupby("graph_id")}
    by_graph_edges = {g: df for g, df in edges.groupby("graph_id")}
    per_graph = []
    for g in sorted(gids):
        if g not in _NX_CACHE:
            o, e = by_graph_nodes[g], by_graph_edges.get(g, edges.iloc[:0])
            _NX_CACHE[g] = _nx_metrics(o.kind.tolist(), o.op_type.tolist(), o.domain.tolist(), e.src, e.dst)
        o, e, m = by_graph_nodes[g], by_graph_edges.get(g, edges.iloc[:0]), _NX_CACHE[g]
        per_graph.append({"graph_id": g, "nodes": len(o), "operators": int((o.kind == "operator").sum()),
                          "edges": len(e), **m})
    pg = pd.DataFrame(per_graph, columns=["graph_id", "nodes", "operators", "edges", *METRICS])
    acyclic = pg[pg.depth >= 0]
    counts = {
        "control_flow": int(pg.has_control_flow.sum()),
        "subgraphs": int((graphs.num_subgraphs > 0).sum()),
        "functions": int((graphs.num_functions > 0).sum()),
        "custom_domain": int(pg.has_custom_domain.sum()),
        "multi_component": int((pg.num_components > 1).sum()),
        "cyclic": int((pg.depth < 0).sum()),
        "missing_metrics": 0,
    }
    n_graphs = len(gids)
    return {
        "schema_version": 2,
        "selection": {"view": "exact", "task": task, "where": where, "where_params": where_params or {},
                      "graphs": n_graphs},
        "overview": {
            "models": len(models), "models_ok": n_ok, "models_failed": len(models) - n_ok, "graphs": n_graphs,
            "graphs_noattr": int(graphs.graph_id_noattr.nunique()),
            "graphs_arch": int(graphs.graph_id_arch.nunique()),
            "dedup_ratio": n_ok / n_graphs if n_graphs else None,
            "nodes": len(nodes), "operators": len(ops), "edges": len(edges),
            "op_types": int(ops.op_type.nunique()),
            "vocabulary_with_attrs": len(ops.drop_duplicates(["op_type", "domain", "attrs"])),
            "vocabulary_without_attrs": len(ops.drop_duplicates(["op_type", "domain"])),
        },
        "by_task": _counts(models, "task"),
        "by_origin": _counts(models, "origin"),
        "sizes": {"operators": _dist(pg.operators), "edges": _dist(pg.edges), "nodes": _dist(pg.nodes)},
        "op_types": {
            "distinct": len(type_rows), "occurrences": len(ops), "top": 30,
            "by_occurrences": sorted(type_rows, key=lambda r: (-r["occurrences"], r["op_type"], r["domain"]))[:30],
            "by_graphs": sorted(type_rows, key=lambda r: (-r["graphs"], -r["occurrences"], r["op_type"],
                                                          r["domain"]))[:30],
        },
        "degrees": {"in": _degree_hist(in_deg), "out": _degree_hist(out_deg)},
        "structure": {
            "graphs": n_graphs, "with_metrics": n_graphs,
            "depth": _dist(acyclic.depth), "width": _dist(acyclic.width),
            "entropy": _dist(pg.op_type_entropy, linear=True), "components": _dist(pg.num_components),
            "op_types_per_graph": _dist(pg.num_op_types), "max_in_degree": _dist(pg.max_in_degree),
            "max_out_degree": _dist(pg.max_out_degree),
            "counts": counts, "fractions": {k: v / n_graphs if n_graphs else None for k, v in counts.items()},
        },
        "cooccurrence": co_rows[:30],
    }


def assert_same(got: Any, want: Any, path: str = "doc") -> None:
    """Equal structure and values; floats within 1e-9 (an independent computation may round differently)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (path, list(got), list(want))
        for k in want:
            assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (path, got, want)
    else:
        assert got == want and type(got) is type(want), (path, got, want)


def _where_ids(t: dict[str, pd.DataFrame], params: dict[str, Any]) -> list[str]:
    """graphs_by_size, recomputed."""
    g = t["graphs"]
    keep = (g.num_operators >= params.get("min_operators", 0)) & (g.num_operators <= params.get("max_operators", 10**9))
    return sorted(g.graph_id[keep])


def test_stats_equal_an_independent_recomputation(embedded: Path, tables: dict[str, pd.DataFrame]) -> None:
    from younger_graph.stats import compute_stats

    with open_store(embedded) as store:
        for sel in _selections(tables):
            doc = compute_stats(store, **sel)
            json.dumps(doc, allow_nan=False)  # a plain JSON document
            ids = _where_ids(tables, sel["where_params"]) if "where" in sel else None
            want = expected_doc(tables, sel.get("task"), ids, sel.get("where"), sel.get("where_params"))
            assert_same(doc, want, f"selection {sel}")
    full = expected_doc(tables)
    # The corpus exercises what the document reports: failures, tasks, control flow, custom domains.
    assert full["overview"]["models_failed"] == 2 and full["overview"]["graphs_noattr"] < full["overview"]["graphs"]
    assert full["structure"]["counts"]["control_flow"] > 0 and full["structure"]["counts"]["custom_domain"] > 0
    assert {r["task"] for r in full["by_task"]} >= {TASK, ""}


# -- Neo4j parity -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def neo4j_store(corpus: Path):  # type: ignore[no-untyped-def]
    from neo4j_env import require_neo4j

    uri, user, password = require_neo4j()
    store = open_store(uri, write=True, username=user, password=password)
    store.run("MATCH (n) DETACH DELETE n", write=True)
    store.load(corpus)
    yield store
    store.run("MATCH (n) DETACH DELETE n", write=True)
    store.close()


@pytest.mark.neo4j
def test_stats_json_identical_on_embedded_and_neo4j(neo4j_store, embedded: Path,  # type: ignore[no-untyped-def]
                                                    tables: dict[str, pd.DataFrame]) -> None:
    from younger_graph.stats import compute_stats, render_json

    with open_store(embedded) as emb:
        sels = _selections(tables)
        for sel in (sels[0], sels[3], sels[4]):  # all graphs, --task with --where, an empty selection
            assert render_json(compute_stats(neo4j_store, **sel)) == render_json(compute_stats(emb, **sel)), sel


# -- CLI ----------------------------------------------------------------------------------------
def stats_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`younger-graph stats ...` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", "stats", *args],
                          capture_output=True, text=True, env=cli_env(), timeout=300)


@pytest.fixture(scope="module")
def cli_outputs(embedded: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-stats")
    r = stats_cli("--db", str(embedded), "--format", "json", "--out", str(out / "stats.json"),
                  "--report", str(out / "report.html"), "--plots", str(out / "plots"))
    assert r.returncode == 0, r.stderr
    return out


def test_cli_writes_json_report_and_plots(cli_outputs: Path, embedded: Path) -> None:
    from younger_graph.stats import compute_stats, render_json

    with open_store(embedded) as store:  # --report adds the map of the corpus unless --no-map
        assert (cli_outputs / "stats.json").read_text(encoding="utf-8") == render_json(
            compute_stats(store, corpus_map=True))
    names = {p.name for p in (cli_outputs / "plots").iterdir()}
    for plot in ("operators_per_graph", "edges_per_graph", "top_op_types", "degree_distribution", "structure"):
        assert {f"{plot}.png", f"{plot}.svg"} <= names
        assert (cli_outputs / "plots" / f"{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (cli_outputs / "plots" / f"{plot}.svg").read_text(encoding="utf-8")[:2000]
    page = (cli_outputs / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 6  # the five stats plots and the map of the corpus
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)|@import|url\(\s*["']?https?:""", page), \
        "the report must not load anything from the network"
    embedded_doc = page.split("<script type=application/json id=stats-data>", 1)[1].split("</script>", 1)[0]
    assert json.loads(embedded_doc.replace("<\\/", "</")) == json.loads((cli_outputs / "stats.json").read_text())


def _in_process(*args: str) -> Any:
    """The stats command of the CLI's app, in this process."""
    from typer.testing import CliRunner

    from younger_graph.cli import app

    return CliRunner().invoke(app, ["stats", *args], env={"COLUMNS": "200", "NO_COLOR": "1"})


def test_cli_formats_and_filters(embedded: Path) -> None:
    r = _in_process("--db", str(embedded), "--task", TASK, "--format", "md")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("# younger-graph stats") and f"task = {TASK}" in r.stdout
    assert "| Conv |" in r.stdout
    r = _in_process("--db", str(embedded), "--where", "graphs_by_size", "-p", "min_operators=100", "-f", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["selection"]["where_params"] == {"min_operators": 100}
    assert doc["sizes"]["operators"]["min"] >= 100
    r = _in_process("--db", str(embedded), "--top", "5")
    assert r.exit_code == 0 and "Overview" in r.stdout
    assert "Top 5 operator types by occurrences" in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--where", "no_such_query"], "no query named"),
    (["--where", "graphs_with_path"], "needs --param ops"),
    (["--format", "xml"], "--format must be one of"),
    (["--param", "a=1"], "give --where too"),
])
def test_cli_rejects_bad_options(embedded: Path, args: list[str], message: str) -> None:
    from younger_graph.errors import YoungerGraphError

    r = _in_process("--db", str(embedded), *args)
    assert isinstance(r.exception, YoungerGraphError) and message in str(r.exception), r.output


def test_cli_error_is_one_line_and_exit_2(embedded: Path) -> None:
    r = stats_cli("--db", str(embedded), "--where", "failed_models")
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "returns no graph_id column" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


# -- the HTML report in a real browser ----------------------------------------------------------
def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    from neo4j_env import on_ci

    if on_ci():
        pytest.fail("chromium is not installed (scripts/test installs it on CI)", pytrace=False)
    pytest.skip("chromium not found (apt-get install -y chromium); the HTML report test runs on CI")


def _browser(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120)


PROBE = """<!DOCTYPE html><html><body>
<iframe id=f src="report.html" style="width:1200px;height:3000px"></iframe><pre id=out>pending</pre>
<script>
document.getElementById('f').addEventListener('load', function () {
  var d = this.contentDocument, out = [];
  if (!d) { document.getElementById('out').textContent = 'no access'; return; }
  d.querySelectorAll('figure.plot svg, figure.plot img').forEach(function (el) {
    var r = el.getBoundingClientRect();
    out.push({tag: el.tagName.toLowerCase(), id: el.parentNode.id, width: r.width, height: r.height});
  });
  document.getElementById('out').textContent = JSON.stringify(out);
});
</script></body></html>"""


def test_html_report_renders_in_headless_chromium(cli_outputs: Path, tmp_path: Path) -> None:
    import matplotlib.image

    exe = _chromium()
    report = cli_outputs / "report.html"
    shot = tmp_path / "shot.png"
    r = _browser(exe, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,3000", report.as_uri())
    assert shot.exists(), r.stderr[-2000:]
    pixels = matplotlib.image.imread(str(shot))[..., :3]
    assert pixels.shape[0] >= 2000 and pixels.shape[1] >= 1000, pixels.shape
    assert pixels.std() > 0.05, "the screenshot is blank"
    # The plots' bars (#1f77b4, #ff7f0e) are on screen, not only the tables' text.
    for rgb in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):
        near = np.abs(pixels - np.array(rgb) / 255).max(axis=-1) < 0.03
        assert near.sum() > 2000, f"too few plot pixels of colour {rgb}"
    # Every plot is laid out with a non-zero size (measured in the page by the browser itself).
    (report.parent / "probe.html").write_text(PROBE, encoding="utf-8")
    r = _browser(exe, tmp_path / "profile2", "--allow-file-access-from-files", "--virtual-time-budget=2000",
                 "--dump-dom", (report.parent / "probe.html").as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    text = r.stdout.split('<pre id="out">', 1)[1].split("</pre>", 1)[0]
    plots = json.loads(text)
    assert len(plots) == 6, plots  # the five stats plots and the map of the corpus
    assert all(p["width"] > 100 and p["height"] > 100 for p in plots), plots


# -- older databases and extraction folders -----------------------------------------------------
def test_old_database_gains_the_metric_columns(corpus: Path, tmp_path: Path) -> None:
    import ladybug

    from younger_graph.schema import SCHEMAS
    from younger_graph.store.embedded import SCHEMA_DDL, _columns_ddl

    db = tmp_path / "old.db"
    old_graph = SCHEMAS["graphs"]
    for name in METRICS:
        old_graph = old_graph.remove(old_graph.get_field_index(name))
    database = ladybug.Database(str(db))
    conn = ladybug.Connection(database)
    for ddl in SCHEMA_DDL:
        if ddl.startswith("CREATE NODE TABLE IF NOT EXISTS Graph("):
            columns = _columns_ddl(old_graph)
            ddl = f"CREATE NODE TABLE IF NOT EXISTS Graph({columns}, serial INT64, PRIMARY KEY(graph_id))"
        conn.execute(ddl)
    conn.close()
    database.close()
    with open_store(db, write=True) as store:
        store.load(corpus)
        df = store.run("MATCH (g:Graph) RETURN g.graph_id AS graph_id, g.depth AS depth, "
                       "g.has_control_flow AS has_control_flow, g.op_type_entropy AS op_type_entropy")
    graphs = pd.read_parquet(corpus / "graphs.parquet").set_index("graph_id")
    assert len(df) == len(graphs)
    for row in df.itertuples():
        assert row.depth == graphs.depth[row.graph_id]
        assert row.has_control_flow is bool(graphs.has_control_flow[row.graph_id])
        assert row.op_type_entropy == graphs.op_type_entropy[row.graph_id]


def test_old_extraction_folder_resumes_and_reports_missing_metrics(corpus: Path, tmp_path: Path) -> None:
    from younger_graph.stats import compute_stats

    old = tmp_path / "old"
    shutil.copytree(corpus, old)
    graphs = pq.read_table(old / "graphs.parquet")
    pq.write_table(graphs.drop_columns(METRICS), old / "graphs.parquet")  # as written before the metrics
    h = onnx.helper
    node = h.make_node("LeakyRelu", ["x"], ["y"], alpha=0.123)  # an architecture the corpus lacks
    new_model = write_model(make_model([node], ["x"], ["y"]), tmp_path / "m" / "new.onnx")
    summary = extract([new_model], old, workers=1)
    assert summary.ok == 1 and summary.new_graphs == 1
    merged = pd.read_parquet(old / "graphs.parquet")
    assert len(merged) == graphs.num_rows + 1
    assert merged.depth.isna().sum() == graphs.num_rows and merged.depth.iloc[-1] == 3
    with open_store(tmp_path / "old.db", write=True) as store:
        store.load(old)
        doc = compute_stats(store)
    st = doc["structure"]
    assert st["with_metrics"] == 1 and st["counts"]["missing_metrics"] == graphs.num_rows
    assert st["depth"]["count"] == 1 and doc["sizes"]["operators"]["count"] == graphs.num_rows + 1


# -- benchmarks/stats.py ------------------------------------------------------------------------
@pytest.mark.slow
def test_benchmark_quick_runs_and_both_sides_agree(tmp_path: Path) -> None:
    """Smoke only: the script runs, writes its JSON, and its two documents agree (no timing asserted)."""
    out = tmp_path / "stats.json"
    r = subprocess.run([sys.executable, str(REPO_ROOT / "benchmarks" / "stats.py"), "--quick", "--json", str(out)],
                       capture_output=True, text=True, env=cli_env(), cwd=REPO_ROOT, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    assert {"benchmark", "machine", "datasets", "ratios", "targets", "missed", "agree"} <= set(result)
    sample = result["datasets"]["sample"]
    assert sample["agree"] is True and sample["differences"] == []
    assert sample["graphs"] >= 30 and sample["stats_s"] > 0 and sample["pandas_s"] > 0
    assert result["datasets"]["synthetic"]["status"] == "skipped"
