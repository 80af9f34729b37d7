"""The `communities` section of `stats` (issue #17), on a real LadybugDB and a real Neo4j.

- the section against an independent recomputation with pandas + networkx from the raw
  `HAS_COMMUNITY` / `MEMBER_OF` rows (read back with plain MATCH statements written here) and the
  Parquet tables: distributions, block rankings with their examples, coverage, modularity;
  on the shipped sample and on a larger corpus (the sample + the ONNX backend test models), with
  the `--task` / `--where` selections of the rest of `stats`;
- the same `--format json` document on the embedded store and on Neo4j, each computing its own
  communities;
- outdated communities (written before `operators` / `modularity`): reported, left out, and
  recomputed by a rerun of `communities`;
- the renderers: table / md / html show the block tables, plots, the message without communities,
  links from blocks to views when asked; the report in headless Chromium.
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
import pandas as pd
import pytest
from conftest import BACKEND_DATA, REPO_ROOT, cli_env

from younger_graph.communities import METHODS, compute_communities
from younger_graph.extract import extract
from younger_graph.store import open_store

SAMPLE = REPO_ROOT / "sample"
TASK = "image-classification"
SEED = 1234
TOP = 12
HAS = ("MATCH (g:Graph)-[:HAS_COMMUNITY]->(c:Community) "
       "RETURN g.graph_id AS graph_id, c.community_id AS community_id, c.method AS method, c.k AS k, "
       "c.boundary_size AS boundary_size, c.hash AS hash, c.hash_noattr AS hash_noattr, c.modularity AS modularity")
MEMBERS = ("MATCH (o:Operator)-[:MEMBER_OF]->(c:Community) "
           "RETURN c.community_id AS community_id, o.graph_id AS graph_id, o.idx AS idx, o.kind AS kind, "
           "o.op_type AS op_type")


# -- corpora --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not any(SAMPLE.glob("*.onnx")):
        pytest.skip("sample/ holds no .onnx files")
    out = tmp_path_factory.mktemp("commstats-sample") / "tables"
    summary = extract([SAMPLE], out, workers=1, meta=SAMPLE / "meta.csv")
    assert summary.ok >= 30
    return out


@pytest.fixture(scope="module")
def larger_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample and every ONNX backend test model (real networks: AlexNet, ResNet-50, ...)."""
    if not any(SAMPLE.glob("*.onnx")) or not BACKEND_DATA.is_dir():
        pytest.skip("needs sample/ and the onnx package's backend test models")
    out = tmp_path_factory.mktemp("commstats-larger") / "tables"
    summary = extract([SAMPLE, BACKEND_DATA], out, workers=1, meta=SAMPLE / "meta.csv")
    assert summary.ok >= 100
    return out


# Every method on the sample; on the larger corpus two (louvain runs the same code path as cnm here).
METHODS_OF = {"sample": METHODS, "larger": ("cnm", "wcc")}


def _with_communities(store: Any, corpus: str) -> None:
    for method in METHODS_OF[corpus]:
        compute_communities(store, method, seed=SEED)


def _embedded(tables: Path, corpus: str) -> Path:
    db = tables.parent / "store.db"
    with open_store(db, write=True) as store:
        store.load(tables)
        _with_communities(store, corpus)
    return db


@pytest.fixture(scope="module")
def sample_db(sample_tables: Path) -> Path:
    return _embedded(sample_tables, "sample")


@pytest.fixture(scope="module")
def larger_db(larger_tables: Path) -> Path:
    return _embedded(larger_tables, "larger")


@pytest.fixture(scope="module")
def bare_db(sample_tables: Path) -> Path:
    """The sample loaded, no communities computed."""
    db = sample_tables.parent / "bare.db"
    with open_store(db, write=True) as store:
        store.load(sample_tables)
    return db


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(folder / f"{t}.parquet") for t in ("models", "graphs", "edges")}


# -- the independent recomputation -------------------------------------------------------------
def _key(v: int) -> int:
    return 0 if v == 0 else math.frexp(v)[1]


def _dist(values: Any, width: float | None = None) -> dict[str, Any]:
    """A distribution as docs/stats.md defines it, written here with pandas (log2 bins, or linear ones)."""
    s = pd.Series(list(values), dtype="float64").dropna()
    label = "log2" if width is None else f"linear:{width:g}"
    if s.empty:
        return {"count": 0, "min": None, "max": None, "mean": None, "median": None, "p90": None, "bins": label,
                "histogram": []}
    if width is None:
        keys = s.astype(int).map(_key)
        hist = [{"lo": 0 if k == 0 else 2 ** (k - 1), "hi": 0 if k == 0 else 2 ** k - 1,
                 "count": int((keys == k).sum())} for k in range(keys.min(), keys.max() + 1)]
        lo, hi = int(s.min()), int(s.max())
    else:
        keys = s.map(lambda v: math.floor(v / width))
        hist = [{"lo": round(k * width, 12), "hi": round((k + 1) * width, 12), "count": int((keys == k).sum())}
                for k in range(keys.min(), keys.max() + 1)]
        lo, hi = float(s.min()), float(s.max())
    return {"count": len(s), "min": lo, "max": hi, "mean": s.mean(), "median": s.quantile(0.5),
            "p90": s.quantile(0.9), "bins": label, "histogram": hist}


def _raw(store: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The communities and their members, straight from the relationships."""
    return store.run(HAS), store.run(MEMBERS)


def _modularity(tables: dict[str, pd.DataFrame], members: pd.DataFrame) -> dict[str, float | None]:
    """community_id → networkx's modularity of its graph's partition (of its method), on the undirected
    simple DAG; None for a graph without flows."""
    edges = dict(tuple(tables["edges"].groupby("graph_id")))
    out: dict[str, float | None] = {}
    for (gid, _), rows in members.groupby(["graph_id", "method"]):
        g = nx.Graph()
        g.add_nodes_from(rows["idx"].tolist())
        e = edges.get(gid)
        if e is not None:
            g.add_edges_from((s, d) for s, d in zip(e["src"], e["dst"]) if s != d)
        parts = [set(p) for _, p in rows.groupby("community_id")["idx"]]
        modularity = nx.algorithms.community.modularity(g, parts) if g.number_of_edges() else None
        for cid in rows["community_id"].unique():
            out[cid] = modularity
    return out


def _ranking(comm: pd.DataFrame, members: pd.DataFrame, kind: str, top: int) -> list[dict[str, Any]]:
    blocks = comm[comm.operators > 0]
    rows = []
    for h, grp in blocks.groupby(kind):
        first_graph = grp.graph_id.min()
        example = grp[grp.graph_id == first_graph].sort_values("k").iloc[0]
        ops = members[members.community_id == example.community_id].sort_values("idx")
        rows.append({"hash": h, "graphs": grp.graph_id.nunique(), "occurrences": len(grp),
                     "size": int(grp["size"].min()), "operators": int(grp.operators.min()),
                     "boundary_size": int(grp.boundary_size.min()), "op_types": ops.op_type.tolist(),
                     "example": {"graph_id": first_graph, "community_id": example.community_id,
                                 "nodes": [int(i) for i in ops.idx]}})
    rows.sort(key=lambda r: (-r["graphs"], -r["occurrences"], r["hash"]))
    return rows[:top]


def check_raw(raw: tuple[pd.DataFrame, pd.DataFrame], tables: dict[str, pd.DataFrame]) -> None:
    """What the section relies on, checked on the raw rows: equal hashes have equal sizes, and the stored
    modularity is networkx's for the stored partition."""
    comm, members = raw
    ops = members.assign(is_op=members.kind == "operator").groupby("community_id")
    comm = comm.assign(size=comm.community_id.map(ops.size()), operators=comm.community_id.map(ops.is_op.sum()))
    for kind in ("hash", "hash_noattr"):
        assert (comm.groupby(kind)[["size", "boundary_size", "operators"]].nunique() <= 1).all().all()
    modularity = _modularity(tables, members.assign(method=members.community_id.map(
        dict(zip(comm.community_id, comm.method)))))
    for q_stored, cid in zip(comm.modularity, comm.community_id):
        want = modularity[cid]
        assert (q_stored is None or pd.isna(q_stored)) if want is None else q_stored == pytest.approx(want, abs=1e-12)


def expected_section(raw: tuple[pd.DataFrame, pd.DataFrame], graph_ids: list[str] | None,
                     top: int) -> dict[str, Any]:
    """The section recomputed from the raw rows (`_raw`) with pandas, over the graphs `graph_ids`."""
    comm, members = raw
    methods = sorted(comm.method.unique(), key=list(METHODS).index)  # every method in the store has an entry
    if graph_ids is not None:
        comm = comm[comm.graph_id.isin(graph_ids)]
        members = members[members.graph_id.isin(graph_ids)]
    ops = members.assign(is_op=members.kind == "operator").groupby("community_id")
    comm = comm.assign(size=comm.community_id.map(ops.size()).fillna(0).astype(int),
                       operators=comm.community_id.map(ops.is_op.sum()).fillna(0).astype(int))
    out = {}
    for method in methods:
        c = comm[comm.method == method]
        per_graph = c.groupby("graph_id").agg(n=("k", "size"), q=("modularity", "min"))
        entry: dict[str, Any] = {
            "graphs": len(per_graph), "graphs_outdated": 0, "communities": len(c),
            "per_graph": _dist(per_graph.n), "size": _dist(c["size"]), "boundary_size": _dist(c.boundary_size),
            "modularity": _dist(per_graph.q, 0.05), "blocks": {"top": top}, "coverage": {},
        }
        with_ops = c[c.operators > 0]
        for kind in ("hash", "hash_noattr"):
            graphs_per = with_ops.groupby(kind).graph_id.nunique()
            shared = graphs_per[graphs_per >= 2].index
            entry["blocks"][kind] = {"distinct": len(graphs_per), "shared": len(shared),
                                     "ranking": _ranking(c, members, kind, top)}
            total = int(with_ops.operators.sum())
            in_shared = int(with_ops[with_ops[kind].isin(shared)].operators.sum())
            entry["coverage"]["operators"] = total
            entry["coverage"][kind] = {"operators": in_shared, "share": in_shared / total if total else None}
        out[method] = entry
    return out


def assert_same(got: Any, want: Any, path: str = "doc") -> None:
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (path, list(got), list(want))
        for k in want:
            assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (path, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), (path, got, want)
    else:
        assert got == want and type(got) is type(want), (path, got, want)


def _selections(tables: dict[str, pd.DataFrame]) -> list[tuple[dict[str, Any], list[str] | None]]:
    """(compute_stats arguments, the graph ids they select, recomputed here)."""
    m, g = tables["models"], tables["graphs"]
    task_ids = sorted(set(m[(m.task == TASK) & (m.status == "ok")].graph_id))
    big = sorted(g[g.num_operators >= 100].graph_id)
    return [
        ({}, None),
        ({"task": TASK}, task_ids),
        ({"where": "graphs_by_size", "where_params": {"min_operators": 100}}, big),
        ({"where": "graphs_by_size", "where_params": {"min_operators": 10**9}}, []),
    ]


@pytest.mark.parametrize("corpus", ["sample", "larger"])
def test_community_section_equals_an_independent_recomputation(corpus: str, request: pytest.FixtureRequest) -> None:
    from younger_graph.stats import compute_stats

    db = request.getfixturevalue(f"{corpus}_db")
    tables = _tables(request.getfixturevalue(f"{corpus}_tables"))
    with open_store(db) as store:
        raw = _raw(store)
        check_raw(raw, tables)
        for args, ids in _selections(tables):
            doc = compute_stats(store, top=TOP, **args)
            json.dumps(doc, allow_nan=False)
            assert doc["schema_version"] == 2 and list(doc)[-1] == "communities"
            assert_same(doc["communities"], expected_section(raw, ids, TOP), f"{corpus} {args}")
            if not args:
                full = doc["communities"]
    # The corpus exercises what the section reports: repeated blocks, attribute-only differences.
    assert list(full) == list(METHODS_OF[corpus])
    cnm = full["cnm"]
    assert cnm["blocks"]["hash"]["shared"] > 0 and cnm["coverage"]["hash"]["share"] > 0
    assert cnm["blocks"]["hash_noattr"]["distinct"] < cnm["blocks"]["hash"]["distinct"]
    # (tiny graphs are one community: modularity 0; the sample's real networks split well)
    assert cnm["modularity"]["count"] > 0 and 0.5 < cnm["modularity"]["max"] < 1
    if corpus == "larger":  # the ResNet/Inception-style backend models repeat their blocks across graphs
        assert cnm["blocks"]["hash"]["ranking"][0]["graphs"] >= 3


# -- both backends ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def neo4j_store():  # type: ignore[no-untyped-def]
    from neo4j_env import require_neo4j, wipe

    uri, user, password = require_neo4j()
    store = open_store(uri, write=True, username=user, password=password)
    wipe(store)
    yield store
    wipe(store)
    store.close()


@pytest.mark.neo4j
@pytest.mark.parametrize("corpus", ["sample", "larger"])
def test_section_identical_on_embedded_and_neo4j(corpus: str, neo4j_store, request) -> None:  # type: ignore[no-untyped-def]
    from neo4j_env import wipe

    from younger_graph.stats import compute_stats, render_json

    db = request.getfixturevalue(f"{corpus}_db")
    folder = request.getfixturevalue(f"{corpus}_tables")
    wipe(neo4j_store)
    neo4j_store.load(folder)
    _with_communities(neo4j_store, corpus)  # Neo4j computes its own communities
    tables = _tables(folder)
    with open_store(db) as emb:
        for args, ids in _selections(tables):
            got = compute_stats(neo4j_store, top=TOP, **args)
            assert render_json(got) == render_json(compute_stats(emb, top=TOP, **args)), (corpus, args)
            if not args:  # and the Neo4j document against the recomputation from Neo4j's own rows
                assert_same(got["communities"], expected_section(_raw(neo4j_store), ids, TOP))


@pytest.mark.neo4j
def test_outdated_communities_on_neo4j_are_left_out_then_refreshed(sample_tables: Path, neo4j_store) -> None:  # type: ignore[no-untyped-def]
    from neo4j_env import wipe

    from younger_graph.stats import compute_stats, render_json

    wipe(neo4j_store)
    neo4j_store.load(sample_tables)
    compute_communities(neo4j_store, "cnm")
    before = render_json(compute_stats(neo4j_store))
    gid = str(neo4j_store.run("MATCH (c:Community) RETURN min(c.graph_id) AS g").g[0])
    neo4j_store.run("MATCH (c:Community) WHERE c.graph_id = $g REMOVE c.operators, c.modularity", {"g": gid},
                    write=True)
    entry = compute_stats(neo4j_store)["communities"]["cnm"]
    assert entry["graphs_outdated"] == 1 and entry["graphs"] == json.loads(before)["communities"]["cnm"]["graphs"] - 1
    again = compute_communities(neo4j_store, "cnm")
    assert (again.graphs, again.outdated) == (1, 1)
    assert render_json(compute_stats(neo4j_store)) == before


# -- outdated communities on the embedded store ---------------------------------------------------
def test_old_embedded_store_reports_outdated_then_a_rerun_fills_it(sample_db: Path, tmp_path: Path) -> None:
    from younger_graph.stats import compute_stats, render_json, render_markdown

    db = tmp_path / "old.db"
    shutil.copy(sample_db, db)  # one file
    with open_store(sample_db) as fresh:
        want = render_json(compute_stats(fresh))
    with open_store(db, write=True) as store:  # as written before `operators` and `modularity` existed
        for prop in ("operators", "modularity"):
            store.run(f"ALTER TABLE Community DROP {prop}", write=True)
    with open_store(db) as store:
        doc = compute_stats(store)
    n = doc["selection"]["graphs"]
    for method in METHODS:
        entry = doc["communities"][method]
        assert (entry["graphs"], entry["graphs_outdated"], entry["communities"]) == (0, n, 0)
        assert entry["blocks"]["hash"]["ranking"] == [] and entry["coverage"]["hash"]["share"] is None
    assert "run `younger-graph communities --method cnm` again" in render_markdown(doc)
    with open_store(db, write=True) as store:
        summary = compute_communities(store, "cnm")
        assert (summary.graphs, summary.outdated, summary.skipped) == (n, n, 0)
        # one graph's communities outdated again (null, as a partial rerun under an older version leaves them)
        gid = str(store.run("MATCH (c:Community) WHERE c.method = 'louvain' RETURN min(c.graph_id) AS g").g[0])
        for method in ("louvain", "wcc"):
            compute_communities(store, method, seed=SEED)
        store.run("MATCH (c:Community) WHERE c.graph_id = $g AND c.method = 'wcc' SET c.operators = NULL",
                  {"g": gid}, write=True)
    with open_store(db) as store:
        wcc = compute_stats(store)["communities"]["wcc"]
    assert (wcc["graphs"], wcc["graphs_outdated"]) == (n - 1, 1)
    with open_store(db, write=True) as store:
        assert compute_communities(store, "wcc").outdated == 1
    with open_store(db) as store:
        assert render_json(compute_stats(store)) == want


def test_without_communities_the_section_is_absent_and_the_report_says_how(bare_db: Path) -> None:
    from younger_graph.stats import compute_stats, render_html, render_markdown

    with open_store(bare_db) as store:
        doc = compute_stats(store)
    assert "communities" not in doc and doc["schema_version"] == 2
    for text in (render_markdown(doc), render_html(doc)):
        assert "younger-graph communities --method cnm|louvain|wcc" in text


# -- renderers and the CLI ------------------------------------------------------------------------
def _stats_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", "stats", *args], capture_output=True,
                          text=True, env=cli_env(), timeout=300)


def test_cli_prints_the_block_tables(sample_db: Path) -> None:
    from younger_graph.stats import compute_stats

    with open_store(sample_db) as store:
        doc = compute_stats(store, top=5, where="graphs_by_size", where_params={"min_operators": 100})
    first = doc["communities"]["cnm"]["blocks"]["hash"]["ranking"][0]
    for fmt in ("table", "md"):
        r = _stats_cli("--db", str(sample_db), "--top", "5", "--where", "graphs_by_size", "-p", "min_operators=100",
                       "-f", fmt)
        assert r.returncode == 0, r.stderr
        for method in METHODS:
            assert f"Top 5 building blocks ({method}, with attributes)" in r.stdout, fmt
            assert f"Top 5 building blocks ({method}, ignoring attribute values)" in r.stdout, fmt
        assert first["hash"][:8] in r.stdout and first["example"]["graph_id"][:8] in r.stdout
    assert "| # | graphs | occurrences | size | operators | boundary | op types | example | hash |" in r.stdout


def test_html_report_links_blocks_when_asked(sample_db: Path) -> None:
    from younger_graph.stats import compute_stats, render_html

    with open_store(sample_db) as store:
        doc = compute_stats(store, top=4)
    plain = render_html(doc)
    assert "<a href" not in plain
    linked = render_html(doc, block_link=lambda method, b: f"views/{b['example']['community_id']}.html")
    for method in METHODS:
        for b in doc["communities"][method]["blocks"]["hash"]["ranking"]:
            assert f'<a href="views/{b["example"]["community_id"]}.html">' in linked
    assert plain.count("<svg") == 5 + len(METHODS)  # one figure per community method


def test_plots_of_each_method(sample_db: Path, tmp_path: Path) -> None:
    from younger_graph.stats import compute_stats, write_plots

    with open_store(sample_db) as store:
        doc = compute_stats(store)
    names = {p.name for p in write_plots(doc, tmp_path)}
    assert {f"communities_{m}.{ext}" for m in METHODS for ext in ("png", "svg")} <= names


def test_report_with_communities_renders_in_headless_chromium(sample_db: Path, tmp_path: Path) -> None:
    import matplotlib.image

    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        from neo4j_env import on_ci

        if on_ci():
            pytest.fail("chromium is not installed", pytrace=False)
        pytest.skip("chromium not found")
    report = tmp_path / "report.html"
    r = _stats_cli("--db", str(sample_db), "--report", str(report), "-f", "json", "-o", str(tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr
    page = report.read_text(encoding="utf-8")
    # the top blocks' example cells link pages of their example graph with the block marked
    doc = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    block = doc["communities"]["cnm"]["blocks"]["hash"]["ranking"][0]
    linked = re.findall(r'href="(report\.views/block-cnm-hash-[^"]+)"', page)
    assert linked, "the block tables link their examples"
    block_page = (tmp_path / linked[0]).read_text(encoding="utf-8")
    assert block["example"]["graph_id"] in block_page and f"block {block['hash'][:8]}" in block_page
    start = page.index("<section id=communities_cnm>")
    cut = tmp_path / "cut.html"  # the report from the communities section on, so the screenshot shows it
    cut.write_text(page[:page.index("<h1>")] + page[start:], encoding="utf-8")
    shot = tmp_path / "shot.png"
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                        f"--screenshot={shot}", "--window-size=1200,2400", cut.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert shot.exists(), r.stderr[-2000:]
    pixels = matplotlib.image.imread(str(shot))[..., :3]
    for rgb in ((0x1F, 0x77, 0xB4), (0xFF, 0x7F, 0x0E)):  # the community histograms' bars are drawn
        near = np.abs(pixels - np.array(rgb) / 255).max(axis=-1) < 0.03
        assert near.sum() > 2000, f"too few plot pixels of colour {rgb}"
