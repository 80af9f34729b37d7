"""Communities of every graph's operator DAG, written back to the store, hashed and deduplicated.

Methods (networkx, on the DAG taken as an undirected simple graph: direction is ignored and
parallel flows collapse; every Operator node takes part, graph inputs and outputs included):

- `cnm`: Clauset–Newman–Moore greedy modularity maximisation (`greedy_modularity_communities`);
- `louvain`: Louvain modularity maximisation with a fixed seed (`louvain_communities(seed=...)`);
- `wcc`: weakly connected components. On Neo4j with Graph Data Science they are computed by GDS
  and checked against networkx; on any difference (or without GDS) networkx's result is stored.

A graph without edges gives one community per node. Results are deterministic and identical on
both backends: nodes and edges reach networkx in sorted order and communities are numbered by their
smallest node idx (k = 0, 1, ...).

Write-back (docs/communities.md): `(:Graph)-[:HAS_COMMUNITY]->(:Community)` and
`(:Operator)-[:MEMBER_OF]->(:Community)`, Community keyed by `<graph_id>:<method>:<k>` with
`graph_id, method, k, size, operators, boundary_size, hash, hash_noattr, modularity`. The boundary
of a community is the set of nodes outside it adjacent to it in either direction. `hash` is the yg-wl-1 hash of the
community plus its boundary (boundary labels marked) with every flow that has an endpoint inside the
community; `hash_noattr` the same over the no-attribute labels. Equal hashes = the same subgraph.
`operators` counts the members of kind `operator`; `modularity` is the modularity of the graph's
whole partition (networkx's `modularity` on the same undirected simple graph; the same value on every
community of the graph and method, null for a graph without flows), so `stats` reads it per graph.

Work goes in batches of whole graphs: read through Cypher, computed here, written in one
transaction per batch, so reruns skip graphs that already have communities of the method
(`force=True` deletes and recomputes them, in the same transaction as the new rows). Communities
written before `operators` and `modularity` existed are *outdated*: a rerun recomputes their graphs
the same way, so an older store is completed by running the command again.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from younger_graph.canonical import dumps
from younger_graph.errors import QueryError, UsageError
from younger_graph.graph import GraphBuilder
from younger_graph.hashing import graph_hash
from younger_graph.query import library
from younger_graph.reading import (
    Selection,
    batches,
    boundary_nodes,
    community_incidence,
    graphs_with_communities,
    graphs_with_outdated_communities,
    read_batch,
    select_graphs,
)
from younger_graph.schema import DEFAULT_SEED, KIND_INPUT, KIND_OPERATOR, KIND_OUTPUT
from younger_graph.store.base import Store

METHODS = ("cnm", "louvain", "wcc")
BOUNDARY_MARK = "boundary|"
BATCH_NODES = 200_000  # operators read per batch (at least one whole graph)
BATCH_GRAPHS = 1_000

COMMUNITY_SCHEMA = pa.schema([
    ("community_id", pa.string()), ("graph_id", pa.string()), ("method", pa.string()), ("k", pa.int64()),
    ("size", pa.int64()), ("boundary_size", pa.int64()), ("hash", pa.string()), ("hash_noattr", pa.string()),
    ("operators", pa.int64()), ("modularity", pa.float64()),
])
# Community properties added after the first release: declared on older stores at the next run.
ADDED_PROPERTIES = {"operators": "INT64", "modularity": "DOUBLE"}
LINK_SCHEMA = pa.schema([("from", pa.string()), ("to", pa.string())])

Progress = Callable[[int, int], None]


@dataclass
class CommunitySummary:
    method: str
    seed: int | None = None
    graphs: int = 0  # graphs computed in this run
    skipped: int = 0  # graphs that already had communities of this method (rerun with force)
    outdated: int = 0  # graphs recomputed because their communities predate `operators` and `modularity`
    communities: int = 0  # communities written in this run
    total_communities: int = 0  # communities of this method in the store after the run
    unique_subgraphs: int = 0  # distinct `hash` (with attributes) among them
    unique_subgraphs_noattr: int = 0  # distinct `hash_noattr`
    engine: str = "networkx"  # "gds" when Neo4j Graph Data Science computed every wcc partition (checked)
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        refreshed = f", {self.outdated} outdated ones recomputed" if self.outdated else ""
        return (f"{self.method}: {self.communities} communities in {self.graphs} graphs "
                f"({self.skipped} graphs already done{refreshed}); {self.total_communities} {self.method} "
                f"communities in the store, {self.unique_subgraphs} unique subgraphs with attributes, "
                f"{self.unique_subgraphs_noattr} without")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- one graph --------------------------------------------------------------------------------------
def _hash_attrs(attrs_json: str) -> str | None:
    """The attribute JSON the hash sees: subgraph references (scope paths) → "subgraph", as at extraction."""
    if '"graph"' not in attrs_json:
        return None
    attrs = json.loads(attrs_json)
    if not isinstance(attrs, dict):
        return None

    def is_ref(v: Any) -> bool:
        return isinstance(v, dict) and set(v) == {"graph"}

    refs = {k for k, v in attrs.items() if is_ref(v) or (isinstance(v, list) and v and all(map(is_ref, v)))}
    if not refs:
        return None
    return dumps({k: ("subgraph" if k in refs else v) for k, v in attrs.items()})


def node_labels(ops: pd.DataFrame) -> tuple[list[str], list[str]]:
    """yg-wl-1 node labels (with, without attributes) of one graph's nodes, in the frame's (idx) order.

    Rebuilt from the stored columns through `GraphBuilder.add_node`, the path extraction takes; an
    input/output node's position is its rank among the nodes of its kind in its scope (by idx).
    """
    builder = GraphBuilder()
    seen: dict[tuple[str, str], int] = {}
    for kind, op_type, domain, scope, attrs, inits in zip(
        ops["kind"], ops["op_type"], ops["domain"], ops["scope"], ops["attrs"], ops["initializers"]
    ):
        scope, attrs = scope or "", attrs or "{}"
        position = None
        if kind in (KIND_INPUT, KIND_OUTPUT):
            position = seen.get((scope, kind), 0)
            seen[(scope, kind)] = position + 1
        slots = {int(s): v for s, v in json.loads(inits).items()} if inits and inits != "{}" else None
        builder.add_node(kind, op_type, domain or "", scope, "", attrs, _hash_attrs(attrs), slots, position)
    return builder.label, builder.label_noattr


def check_method(method: str) -> str:
    if method not in METHODS:
        raise UsageError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    return method


def _simple_graph(nodes: Sequence[int], edges: Sequence[tuple[int, int]]) -> Any:
    """The DAG as networkx sees it here: undirected, simple, nodes and edges added in sorted order."""
    import networkx as nx  # imported on use: 0.5 s, and only this step needs it

    g = nx.Graph()
    g.add_nodes_from(sorted(nodes))
    g.add_edges_from(sorted({(min(u, v), max(u, v)) for u, v in edges if u != v}))
    return g


def partition(nodes: Sequence[int], edges: Sequence[tuple[int, int]], method: str,
              seed: int = DEFAULT_SEED) -> list[list[int]]:
    """Communities of an undirected simple graph, each sorted, numbered by their smallest node."""
    return _partition(_simple_graph(nodes, edges), method, seed)


def _partition(g: Any, method: str, seed: int) -> list[list[int]]:
    check_method(method)
    import networkx as nx

    if method == "wcc":
        parts: Any = nx.connected_components(g)
    elif g.number_of_edges() == 0:
        parts = ([v] for v in g)
    elif method == "cnm":
        parts = nx.algorithms.community.greedy_modularity_communities(g)
    else:
        parts = nx.algorithms.community.louvain_communities(g, seed=seed)
    return sorted((sorted(p) for p in parts), key=lambda c: c[0])


def partition_modularity(g: Any, parts: list[list[int]]) -> float | None:
    """Modularity of a partition of `g` (networkx's `modularity`); None without edges (undefined)."""
    import networkx as nx

    if g.number_of_edges() == 0:
        return None
    return float(nx.algorithms.community.modularity(g, parts))


@dataclass
class GraphCommunities:
    graph_id: str
    parts: list[list[int]]  # node idx per community, community k = parts[k]
    boundaries: list[list[int]]
    hashes: list[str]
    hashes_noattr: list[str]
    operators: list[int] = field(default_factory=list)  # members of kind `operator`, per community
    modularity: float | None = None  # of the whole partition


def describe(graph_id: str, ops: pd.DataFrame, flows: pd.DataFrame, parts: list[list[int]]) -> GraphCommunities:
    """Boundaries and subgraph hashes of one graph's communities (ops sorted by idx)."""
    labels, labels_noattr = node_labels(ops)
    idx = ops["idx"].to_numpy(np.int64)
    n = len(idx)
    pos = np.full(int(idx.max()) + 1 if n else 0, -1, dtype=np.int64)
    pos[idx] = np.arange(n)
    src = pos[flows["src"].to_numpy(np.int64)]
    dst = pos[flows["dst"].to_numpy(np.int64)]
    src_slot = flows["src_slot"].to_numpy(np.int64)
    dst_slot = flows["dst_slot"].to_numpy(np.int64)
    owner = np.full(n, -1, dtype=np.int64)
    members = [pos[np.asarray(p, dtype=np.int64)] for p in parts]
    for k, m in enumerate(members):
        owner[m] = k
    ptr, incident = community_incidence(src, dst, owner, len(parts))
    local = np.full(n, -1, dtype=np.int64)
    out = GraphCommunities(graph_id, parts, [], [], [])
    is_operator = ops["kind"].to_numpy() == KIND_OPERATOR
    out.operators = [int(is_operator[m].sum()) for m in members]
    for k, m in enumerate(members):
        e = incident[ptr[k]:ptr[k + 1]]
        boundary = boundary_nodes(m, src, dst, e)
        nodes = np.concatenate([m, boundary])
        local[nodes] = np.arange(len(nodes))
        flows_k = (local[src[e]], src_slot[e], local[dst[e]], dst_slot[e])
        marked = [BOUNDARY_MARK + labels[i] for i in boundary]
        marked_noattr = [BOUNDARY_MARK + labels_noattr[i] for i in boundary]
        out.hashes.append(graph_hash([labels[i] for i in m] + marked, flows_k))
        out.hashes_noattr.append(graph_hash([labels_noattr[i] for i in m] + marked_noattr, flows_k))
        out.boundaries.append(idx[boundary].tolist())
        local[nodes] = -1
    return out


# -- the whole store ------------------------------------------------------------------------------
def _gds_available(store: Store) -> bool:
    if store.backend != "neo4j":
        return False
    try:
        store.query("gds_version")
    except QueryError:
        return False
    return True


def _gds_wcc(store: Store, ids: list[str]) -> dict[str, list[list[int]]] | None:
    """Weakly connected components of these graphs by GDS (one projection per batch), or None."""
    name = f"younger-graph-wcc-{uuid.uuid4().hex}"
    try:
        store.query("gds_wcc_project", ids=ids, name=name)
        df = store.query("gds_wcc_stream", name=name)
    except QueryError:
        return None
    finally:
        with contextlib.suppress(QueryError):
            store.query("gds_drop", name=name)
    out: dict[str, list[list[int]]] = {}
    for gid, rows in df.groupby("graph_id", sort=False):
        parts = rows.groupby("component")["idx"].apply(lambda s: sorted(int(i) for i in s))
        out[str(gid)] = sorted(parts.tolist(), key=lambda c: c[0])
    return out


def _rows(method: str, result: GraphCommunities, uid_of: dict[int, Any]
          ) -> tuple[list[dict[str, Any]], list[str], list[Any], list[str]]:
    """Community rows and links; members are named by the store's own operator keys (`uid_of[idx]`)."""
    communities, has_to, member_from, member_to = [], [], [], []
    gid = result.graph_id
    for k, part in enumerate(result.parts):
        cid = f"{gid}:{method}:{k}"
        communities.append({"community_id": cid, "graph_id": gid, "method": method, "k": k, "size": len(part),
                            "boundary_size": len(result.boundaries[k]), "hash": result.hashes[k],
                            "hash_noattr": result.hashes_noattr[k], "operators": result.operators[k],
                            "modularity": result.modularity})
        has_to.append(cid)
        member_from.extend(uid_of[i] for i in part)
        member_to.extend([cid] * len(part))
    return communities, has_to, member_from, member_to


def compute_communities(store: Store, method: str = "cnm", *, where: str | None = None, seed: int = DEFAULT_SEED,
                        force: bool = False, use_gds: bool = True, batch_nodes: int | None = None,
                        on_progress: Progress | None = None) -> CommunitySummary:
    """Compute, write back and hash the communities of every selected graph (see the module docstring).

    `where` is a Cypher condition on `g` (the Graph node) selecting graphs, e.g. `g.num_operators < 5000`.
    The store must be open for writing.
    """
    check_method(method)
    summary = CommunitySummary(method, seed if method == "louvain" else None)
    delete = library().get("delete_communities")
    store.require_writable()
    store.ensure_schema({}, [])  # each backend declares Community and its links with the rest of its schema
    store.ensure_properties("Community", ADDED_PROPERTIES)  # a store written before they existed
    graphs = select_graphs(store, Selection(where=where))
    outdated: set[str] = set()
    if not force:
        done = graphs_with_communities(store, method)
        outdated = graphs_with_outdated_communities(store, method) if done else set()
        done -= outdated
        keep = ~graphs["graph_id"].isin(done)
        summary.skipped = int((~keep).sum())
        summary.outdated = int(graphs["graph_id"].isin(outdated).sum())
        graphs = graphs[keep]
    gds = method == "wcc" and use_gds and _gds_available(store)
    gds_graphs = 0
    total = len(graphs)
    limit = batch_nodes or min(BATCH_NODES, max(store.chunk_rows, 1))
    done_count = 0
    if on_progress:
        on_progress(0, total)
    for ids in batches(graphs, limit):
        ops_all, flows_all = read_batch(store, ids)
        ops_by = dict(tuple(ops_all.groupby("graph_id", sort=False)))
        flows_by = dict(tuple(flows_all.groupby("graph_id", sort=False)))
        from_gds = _gds_wcc(store, ids) if gds else None
        if gds and from_gds is None:
            summary.warnings.append("Graph Data Science failed on a batch; networkx computed it")
        empty_flows = flows_all.iloc[0:0]
        communities: list[dict[str, Any]] = []
        has_from, has_to, member_from, member_to = [], [], [], []
        for gid in ids:
            ops = ops_by.get(gid)
            if ops is None or not len(ops):
                continue
            flows = flows_by.get(gid, empty_flows)
            simple = _simple_graph(ops["idx"].tolist(), list(zip(flows["src"].tolist(), flows["dst"].tolist())))
            parts = _partition(simple, method, seed)
            if from_gds is not None:
                if from_gds.get(gid) == parts:
                    gds_graphs += 1
                else:
                    summary.warnings.append(f"{gid}: GDS wcc differs from networkx; networkx's result is stored")
            uid_of = dict(zip(ops["idx"].tolist(), ops["uid"].tolist()))
            described = describe(gid, ops, flows, parts)
            described.modularity = partition_modularity(simple, parts)
            c, h, mf, mt = _rows(method, described, uid_of)
            communities += c
            has_from += [gid] * len(h)
            has_to += h
            member_from += mf
            member_to += mt
        replace = force or not outdated.isdisjoint(ids)  # old communities go in the same transaction
        prepare = [(delete.text_for(store.backend), {"ids": ids, "method": method})] if replace else []
        store.write_rows([
            ("Community", pa.Table.from_pylist(communities, schema=COMMUNITY_SCHEMA)),
            ("HAS_COMMUNITY", pa.table({"from": has_from, "to": has_to}, schema=LINK_SCHEMA)),
            # Operator keys as the store has them: INT64 embedded, strings in Neo4j (pa.array infers which).
            ("MEMBER_OF", pa.table({"from": pa.array(member_from), "to": pa.array(member_to, pa.string())})),
        ], prepare=prepare)
        summary.graphs += len(ids)
        summary.communities += len(communities)
        done_count += len(ids)
        if on_progress:
            on_progress(done_count, total)
    if gds and gds_graphs and not summary.warnings:
        summary.engine = "gds"
    dedup = store.query("community_counts", method=method)
    summary.total_communities = int(dedup["communities"].iloc[0])
    summary.unique_subgraphs = int(dedup["unique_hash"].iloc[0])
    summary.unique_subgraphs_noattr = int(dedup["unique_noattr"].iloc[0])
    return summary
