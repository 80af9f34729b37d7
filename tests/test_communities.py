"""Communities and frequent paths on the shipped sample, in a real LadybugDB and a real Neo4j.

Expected values are recomputed independently from the Parquet tables (networkx straight on the
edges, boundaries and path counts with pandas), never from what the store holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

from younger_graph.communities import METHODS, compute_communities, describe, node_labels
from younger_graph.extract import extract
from younger_graph.hashing import graph_hash
from younger_graph.patterns import frequent_paths, parse_lengths
from younger_graph.store import open_store

SEED = 1234
MEMBERS = ("MATCH (o:Operator)-[:MEMBER_OF]->(c:Community) WHERE c.method = $method "
           "RETURN o.graph_id AS graph_id, o.idx AS idx, c.community_id AS community_id, c.graph_id AS c_graph, "
           "c.k AS k")
COMMUNITIES = ("MATCH (g:Graph)-[:HAS_COMMUNITY]->(c:Community) WHERE c.method = $method "
               "RETURN g.graph_id AS graph_id, c.community_id AS community_id, c.graph_id AS c_graph, "
               "c.method AS method, c.k AS k, c.size AS size, c.boundary_size AS boundary_size, c.hash AS hash, "
               "c.hash_noattr AS hash_noattr")
# The boundary through the store (docs/communities.md): neighbours in another community of the method.
BOUNDARIES = ("MATCH (c:Community)<-[:MEMBER_OF]-(:Operator)-[:FLOWS]-(b:Operator)-[:MEMBER_OF]->(d:Community) "
              "WHERE c.method = $method AND d.method = c.method AND d.community_id <> c.community_id "
              "RETURN DISTINCT c.community_id AS community_id, b.idx AS idx")


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("communities") / "tables"
    summary = extract([sample_dir], out, workers=1)
    assert summary.ok >= 30 and not summary.failed
    return out


@pytest.fixture(scope="module")
def frames(tables: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(tables / f"{t}.parquet") for t in ("graphs", "operators", "edges")}


@pytest.fixture(scope="module")
def embedded(tables: Path) -> tuple[Path, dict]:
    db = tables.parent / "store.db"
    with open_store(db, write=True) as store:
        store.load(tables)
        summaries = {m: compute_communities(store, m, seed=SEED) for m in METHODS}
    return db, summaries


def _canonical(parts) -> list[list[int]]:  # type: ignore[no-untyped-def]
    return sorted((sorted(int(i) for i in p) for p in parts), key=lambda c: c[0])


@pytest.fixture(scope="module")
def expected(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, list[list[int]]]]:
    """method → graph_id → communities, computed with networkx straight from the Parquet tables."""
    edges_by = dict(tuple(frames["edges"].groupby("graph_id")))
    out: dict[str, dict[str, list[list[int]]]] = {m: {} for m in METHODS}
    for gid, ops in frames["operators"].groupby("graph_id"):
        e = edges_by.get(gid, frames["edges"].iloc[0:0])
        directed = nx.MultiDiGraph()
        directed.add_nodes_from(ops["idx"].tolist())
        directed.add_edges_from(zip(e["src"].tolist(), e["dst"].tolist()))
        out["wcc"][gid] = _canonical(nx.weakly_connected_components(directed))
        g = nx.Graph()
        g.add_nodes_from(sorted(ops["idx"].tolist()))
        g.add_edges_from(sorted({(min(s, d), max(s, d)) for s, d in zip(e["src"], e["dst"])}))
        if g.number_of_edges() == 0:
            out["cnm"][gid] = out["louvain"][gid] = [[v] for v in sorted(g)]
            continue
        out["cnm"][gid] = _canonical(nx.algorithms.community.greedy_modularity_communities(g))
        out["louvain"][gid] = _canonical(nx.algorithms.community.louvain_communities(g, seed=SEED))
    return out


def _boundaries(frames: dict[str, pd.DataFrame], parts: dict[str, list[list[int]]]) -> dict[tuple[str, int], set]:
    """(graph_id, k) → nodes outside community k adjacent to it in either direction, from edges.parquet."""
    out = {}
    for gid, e in frames["edges"].groupby("graph_id"):
        for k, members in enumerate(parts.get(gid, [])):
            inside = set(members)
            b = {d for s, d in zip(e["src"], e["dst"]) if s in inside and d not in inside}
            b |= {s for s, d in zip(e["src"], e["dst"]) if d in inside and s not in inside}
            out[(gid, k)] = b
    return out


def _stored_parts(store, method: str) -> dict[str, list[list[int]]]:  # type: ignore[no-untyped-def]
    df = store.run(MEMBERS, {"method": method})
    out: dict[str, list[list[int]]] = {}
    for gid, rows in df.groupby("graph_id"):
        by_k = rows.groupby("k")["idx"].apply(lambda s: sorted(int(i) for i in s))
        assert list(by_k.index) == list(range(len(by_k))), gid
        out[gid] = by_k.tolist()
    return out


def _snapshot(store, method: str) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    comm = store.run(COMMUNITIES, {"method": method}).sort_values("community_id").reset_index(drop=True)
    members = store.run(MEMBERS, {"method": method}).sort_values(["graph_id", "idx"]).reset_index(drop=True)
    return comm.astype(object).values.tolist(), members.astype(object).values.tolist()


# -- results against an independent computation --------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_communities_equal_networkx_on_the_tables(method: str, embedded, expected) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    with open_store(db) as store:
        stored = _stored_parts(store, method)
    assert stored == expected[method]
    assert any(len(p) > 1 for p in expected[method].values()), "the sample should split some graphs"


@pytest.mark.parametrize("method", METHODS)
def test_every_operator_is_in_exactly_one_community(method: str, embedded, frames) -> None:  # type: ignore[no-untyped-def]
    db, summaries = embedded
    with open_store(db) as store:
        members = store.run(MEMBERS, {"method": method})
        comm = store.run(COMMUNITIES, {"method": method})
        n_comm = int(store.run("MATCH (c:Community) WHERE c.method = $m RETURN count(c) AS n", {"m": method}).n[0])
    ops = frames["operators"]
    assert len(members) == len(ops)
    assert Counter(zip(members.graph_id, members.idx)) == Counter({k: 1 for k in zip(ops.graph_id, ops.idx)})
    assert (members.c_graph == members.graph_id).all()
    assert (members.community_id == members.graph_id + f":{method}:" + members.k.astype(str)).all()
    # one HAS_COMMUNITY per community, from its own graph; sizes are member counts
    assert len(comm) == n_comm == summaries[method].communities == summaries[method].total_communities
    assert (comm.c_graph == comm.graph_id).all() and (comm.method == method).all()
    sizes = members.groupby("community_id").size()
    assert dict(zip(comm.community_id, comm["size"])) == sizes.to_dict()


@pytest.mark.parametrize("method", METHODS)
def test_boundaries_equal_the_independent_ones(method: str, embedded, frames, expected) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    want = _boundaries(frames, expected[method])
    with open_store(db) as store:
        comm = store.run(COMMUNITIES, {"method": method})
        via_store = store.run(BOUNDARIES, {"method": method}).groupby("community_id")["idx"].apply(set).to_dict()
    sizes = {(r.graph_id, int(r.k)): int(r.boundary_size) for r in comm.itertuples()}
    assert sizes == {key: len(b) for key, b in want.items()}
    assert {cid: b for cid, b in via_store.items()} == {f"{g}:{method}:{k}": b for (g, k), b in want.items() if b}
    if method == "wcc":
        assert all(not b for b in want.values())
    else:
        assert sum(map(len, want.values())) > 0
    # the Python API's boundaries too
    ops_by = dict(tuple(frames["operators"].sort_values(["graph_id", "idx"]).groupby("graph_id")))
    edges_by = dict(tuple(frames["edges"].groupby("graph_id")))
    for gid in list(expected[method])[:8]:
        result = describe(gid, ops_by[gid], edges_by.get(gid, frames["edges"].iloc[0:0]), expected[method][gid])
        assert [set(b) for b in result.boundaries] == [want[(gid, k)] for k in range(len(result.parts))]


# -- hashes ---------------------------------------------------------------------------------------
def _nesting_from_scopes(scopes: list[str]) -> tuple[list[int], list[int], list[str]]:
    """Parent operator → nested node links, read back from scope paths (docs/formats.md)."""
    parents, children, labels = [], [], []
    for i, scope in enumerate(scopes):
        if not scope:
            continue
        seg = scope.split("/")
        if seg[-1].isdigit():
            parents.append(int(seg[-3]))
            labels.append(f"{seg[-2]}/{seg[-1]}")
        elif ":" in seg[-1]:
            parents.append(int(seg[-2]))
            labels.append("fn:" + seg[-1].split(":", 1)[1])
        else:
            parents.append(int(seg[-2]))
            labels.append(seg[-1])
        children.append(i)
    return parents, children, labels


def test_rebuilt_labels_reproduce_every_graph_id(frames) -> None:  # type: ignore[no-untyped-def]
    edges_by = dict(tuple(frames["edges"].groupby("graph_id")))
    ops_by = dict(tuple(frames["operators"].sort_values(["graph_id", "idx"]).groupby("graph_id")))
    nested = 0
    for g in frames["graphs"].itertuples():
        ops, e = ops_by[g.graph_id], edges_by.get(g.graph_id, frames["edges"].iloc[0:0])
        labels, labels_noattr = node_labels(ops)
        flows = (e.src.tolist(), e.src_slot.tolist(), e.dst.tolist(), e.dst_slot.tolist())
        nesting = _nesting_from_scopes(ops.scope.tolist())
        nested += bool(nesting[0])
        assert graph_hash(labels, flows, nesting) == g.graph_id
        assert graph_hash(labels_noattr, flows, nesting) == g.graph_id_noattr
    assert nested >= 3, "the sample has If/Loop/Scan bodies"


def test_a_whole_graph_component_hashes_to_its_graph_id(embedded, frames) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    graphs = frames["graphs"]
    flat = graphs[(graphs.num_subgraphs == 0) & (graphs.num_functions == 0)].set_index("graph_id")
    with open_store(db) as store:
        comm = store.run(COMMUNITIES, {"method": "wcc"})
    whole = comm[comm.graph_id.isin(flat.index) & (comm["size"] == comm.graph_id.map(flat.num_nodes))]
    assert len(whole) >= 20
    assert (whole.hash == whole.graph_id).all()
    assert (whole.hash_noattr == whole.graph_id.map(flat.graph_id_noattr)).all()


@pytest.mark.parametrize("method", ["cnm", "louvain"])
def test_community_hashes_follow_the_documented_recipe(method: str, embedded, frames, expected) -> None:  # type: ignore[no-untyped-def]
    """members + `boundary|`-marked boundary nodes, every flow with an endpoint inside, yg-wl-1."""
    db, _ = embedded
    with open_store(db) as store:
        stored = {(r.graph_id, int(r.k)): (r.hash, r.hash_noattr)
                  for r in store.run(COMMUNITIES, {"method": method}).itertuples()}
    ops_by = dict(tuple(frames["operators"].sort_values(["graph_id", "idx"]).groupby("graph_id")))
    edges_by = dict(tuple(frames["edges"].groupby("graph_id")))
    checked = 0
    for gid in sorted(expected[method])[:12]:
        labels, labels_noattr = node_labels(ops_by[gid])
        edges = list(edges_by[gid][["src", "src_slot", "dst", "dst_slot"]].itertuples(index=False, name=None))
        for k, members in enumerate(expected[method][gid]):
            inside = set(members)
            mine = [e for e in edges if e[0] in inside or e[2] in inside]
            boundary = sorted({n for e in mine for n in (e[0], e[2])} - inside)
            order = {n: i for i, n in enumerate(members + boundary)}
            flows = tuple(list(col) for col in zip(*[(order[s], ss, order[d], ds) for s, ss, d, ds in mine])) or (
                [], [], [], [])
            for which, lab in ((0, labels), (1, labels_noattr)):
                nodes = [lab[n] for n in members] + ["boundary|" + lab[n] for n in boundary]
                assert graph_hash(nodes, flows) == stored[(gid, k)][which], (gid, k)
            checked += 1
    assert checked > 50


@pytest.mark.parametrize("method", METHODS)
def test_dedup_counts_and_hash_consistency(method: str, embedded) -> None:  # type: ignore[no-untyped-def]
    db, summaries = embedded
    with open_store(db) as store:
        comm = store.run(COMMUNITIES, {"method": method})
    s = summaries[method]
    assert s.unique_subgraphs == comm.hash.nunique() and s.unique_subgraphs_noattr == comm.hash_noattr.nunique()
    assert s.unique_subgraphs_noattr <= s.unique_subgraphs <= len(comm)
    # equal hashes describe equal subgraphs: at least their sizes agree
    assert (comm.groupby("hash")[["size", "boundary_size"]].nunique() == 1).all().all()
    assert (comm.groupby("hash_noattr")[["size", "boundary_size"]].nunique() == 1).all().all()
    if method != "wcc":
        assert s.unique_subgraphs < len(comm), "repeated blocks should share a hash"


# -- resumable, --force ---------------------------------------------------------------------------
def test_rerun_skips_and_force_recomputes_identically(embedded, frames) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    n = len(frames["graphs"])
    with open_store(db, write=True) as store:
        before = {m: _snapshot(store, m) for m in ("cnm", "wcc")}
        again = compute_communities(store, "cnm", seed=SEED)
        assert (again.graphs, again.skipped, again.communities) == (0, n, 0)
        forced = compute_communities(store, "cnm", seed=SEED, force=True)
        assert (forced.graphs, forced.skipped) == (n, 0) and forced.communities == forced.total_communities
        forced = compute_communities(store, "wcc", force=True, batch_nodes=500)  # many small batches
        assert forced.graphs == n
        after = {m: _snapshot(store, m) for m in ("cnm", "wcc")}
    assert after == before


def test_interrupted_run_resumes(tables: Path, embedded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "resume.db"
    def stop_after_three(done: int, total: int) -> None:
        if done >= 3:
            raise KeyboardInterrupt

    with open_store(db, write=True) as store:
        store.load(tables)
        with pytest.raises(KeyboardInterrupt):
            compute_communities(store, "wcc", batch_nodes=1, on_progress=stop_after_three)
        partial = store.run("MATCH (c:Community) RETURN count(DISTINCT c.graph_id) AS n").n[0]
        assert int(partial) == 3
        resumed = compute_communities(store, "wcc")
        assert resumed.skipped == 3
        got = _snapshot(store, "wcc")
    with open_store(embedded[0]) as clean:
        assert got == _snapshot(clean, "wcc")


def test_where_selects_graphs_and_bad_input_is_refused(embedded, frames) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    small = int((frames["graphs"].num_operators < 100).sum())
    assert 0 < small < len(frames["graphs"])
    with open_store(db, write=True) as store:
        s = compute_communities(store, "wcc", where="g.num_operators < 100", force=True)
        assert s.graphs == small
        with pytest.raises(ValueError, match="method"):
            compute_communities(store, "girvan-newman")
        with pytest.raises(ValueError, match="condition"):
            compute_communities(store, "wcc", where="true DETACH DELETE g")
        assert store.counts()["Graph"] == len(frames["graphs"])


# -- frequent paths ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def expected_paths(frames) -> dict[tuple[int, str], tuple[int, int]]:  # type: ignore[no-untyped-def]
    """(length, 'A,B,...') → (support, occurrences), counting data-flow paths with pandas."""
    ops = frames["operators"][["graph_id", "idx", "kind", "op_type"]]
    e = frames["edges"][["graph_id", "src", "dst"]]
    for end, tag in (("src", "a"), ("dst", "b")):
        e = e.merge(ops.rename(columns={"idx": end, "kind": f"kind_{tag}", "op_type": f"t_{tag}"}),
                    on=["graph_id", end])
    step = e[(e.kind_a == "operator") & (e.kind_b == "operator")][["graph_id", "src", "dst", "t_a", "t_b"]]
    paths = step.rename(columns={"src": "n1", "dst": "n2", "t_a": "t1", "t_b": "t2"})
    out = {}
    for length in (2, 3, 4):
        if length > 2:
            nxt = step.rename(columns={"src": f"n{length - 1}", "dst": f"n{length}", "t_a": f"t{length - 1}x",
                                       "t_b": f"t{length}"})
            paths = paths.merge(nxt, on=["graph_id", f"n{length - 1}"]).drop(columns=[f"t{length - 1}x"])
        types = [f"t{i}" for i in range(1, length + 1)]
        grouped = paths.groupby(types).agg(support=("graph_id", "nunique"), occurrences=("graph_id", "size"))
        for key, row in grouped.iterrows():
            out[(length, ",".join(key))] = (int(row.support), int(row.occurrences))
    return out


def _ranked(expected_paths, length: int, min_support: int) -> list[tuple]:  # type: ignore[no-untyped-def]
    rows = [(ops, s, o) for (n, ops), (s, o) in expected_paths.items() if n == length and s >= min_support]
    return sorted(rows, key=lambda r: (-r[1], -r[2], r[0].split(",")))


def test_patterns_equal_pandas(embedded, expected_paths) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    with open_store(db) as store:
        every = frequent_paths(store, (2, 3, 4), top=0)
        top = frequent_paths(store, parse_lengths("2..4"), top=5, min_support=3)
    got = {(int(r.length), r.ops): (int(r.support), int(r.occurrences)) for r in every.itertuples()}
    assert got == expected_paths
    assert len(got) > 100
    for length in (2, 3, 4):
        rows = top[top.length == length]
        assert list(zip(rows.ops, rows.support, rows.occurrences)) == _ranked(expected_paths, length, 3)[:5]


def test_patterns_agree_with_graphs_with_path(embedded, expected_paths) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    with open_store(db) as store:
        for length in (2, 3, 4):
            ops, support, occurrences = _ranked(expected_paths, length, 1)[0]
            df = store.query("graphs_with_path", ops=ops.split(","))
            assert (len(df), int(df.occurrences.sum())) == (support, occurrences)


def test_parse_lengths() -> None:
    assert parse_lengths("2..4") == [2, 3, 4] and parse_lengths("3") == [3] and parse_lengths("4,2") == [2, 4]
    for bad in ("1..3", "5", "x", "4..2"):
        with pytest.raises(ValueError):
            parse_lengths(bad)


# -- the CLI --------------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}, timeout=300)


def test_cli_communities_and_patterns(embedded, frames, expected_paths) -> None:  # type: ignore[no-untyped-def]
    db, _ = embedded
    r = _cli("communities", "--db", str(db), "--method", "wcc", "--force", "--where", "g.num_operators >= 100",
             "--format", "json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["graphs"] == int((frames["graphs"].num_operators >= 100).sum())
    assert summary["method"] == "wcc" and summary["total_communities"] >= summary["communities"] > 0
    r = _cli("communities", "--db", str(db), "--method", "cnm")
    assert r.returncode == 0, r.stderr
    assert f"0 communities in 0 graphs ({len(frames['graphs'])} graphs already done)" in r.stdout
    r = _cli("communities", "--db", str(db), "--method", "nope")
    assert r.returncode == 2 and "cnm, louvain, wcc" in r.stderr and not r.stdout
    r = _cli("patterns", "--db", str(db), "--length", "3", "--top", "4", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(x["ops"], x["support"], x["occurrences"]) for x in rows] == _ranked(expected_paths, 3, 1)[:4]
    r = _cli("patterns", "--db", str(db), "--length", "2..7")
    assert r.returncode == 2 and "2, 3, 4" in r.stderr


# -- Neo4j ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def neo4j_store(tables: Path):  # type: ignore[no-untyped-def]
    from neo4j_env import loaded_store

    yield from loaded_store(tables)


@pytest.mark.neo4j
def test_neo4j_results_equal_embedded(neo4j_store, embedded, expected, expected_paths) -> None:  # type: ignore[no-untyped-def]
    db, summaries = embedded
    gds = True
    try:
        neo4j_store.run("CALL gds.version() YIELD gdsVersion RETURN gdsVersion")
    except Exception:
        gds = False
    with open_store(db) as emb:
        for method in METHODS:
            s = compute_communities(neo4j_store, method, seed=SEED)
            assert not s.warnings, s.warnings
            assert s.engine == ("gds" if gds and method == "wcc" else "networkx")
            assert _stored_parts(neo4j_store, method) == expected[method]
            assert _snapshot(neo4j_store, method) == _snapshot(emb, method)
            a = neo4j_store.run(BOUNDARIES, {"method": method}).sort_values(["community_id", "idx"])
            b = emb.run(BOUNDARIES, {"method": method}).sort_values(["community_id", "idx"])
            assert a.values.tolist() == b.values.tolist()
            assert (s.unique_subgraphs, s.unique_subgraphs_noattr) == (
                summaries[method].unique_subgraphs, summaries[method].unique_subgraphs_noattr)
        again = compute_communities(neo4j_store, "wcc")
        assert again.graphs == 0 and again.skipped == len(expected["wcc"])
        before = _snapshot(neo4j_store, "wcc")
        compute_communities(neo4j_store, "wcc", force=True)
        assert _snapshot(neo4j_store, "wcc") == before
        paths = frequent_paths(neo4j_store, (2, 3, 4), top=0)
        assert {(int(r.length), r.ops): (int(r.support), int(r.occurrences)) for r in paths.itertuples()} == (
            expected_paths)
        top = frequent_paths(neo4j_store, (2, 3, 4), top=7, min_support=2)
        pd.testing.assert_frame_equal(top, frequent_paths(emb, (2, 3, 4), top=7, min_support=2))
