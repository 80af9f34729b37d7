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
`graph_id, method, k, size, boundary_size, hash, hash_noattr`. The boundary of a community is the
set of nodes outside it adjacent to it in either direction. `hash` is the yg-wl-1 hash of the
community plus its boundary (boundary labels marked) with every flow that has an endpoint inside the
community; `hash_noattr` the same over the no-attribute labels. Equal hashes = the same subgraph.

Work goes in batches of whole graphs: read through Cypher, computed here, written in one
transaction per batch, so reruns skip graphs that already have communities of the method
(`force=True` deletes and recomputes them, in the same transaction as the new rows).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from younger_graph import dialect
from younger_graph.canonical import dumps
from younger_graph.graph import GraphBuilder
from younger_graph.hashing import graph_hash
from younger_graph.model import DEFAULT_SEED, KIND_INPUT, KIND_OUTPUT
from younger_graph.store.base import QueryError, Store
from younger_graph.store.embedded import COMMUNITY_DDL

METHODS = ("cnm", "louvain", "wcc")
BOUNDARY_MARK = "boundary|"
BATCH_NODES = 200_000  # operators read per batch (at least one whole graph)
BATCH_GRAPHS = 1_000

COMMUNITY_CONSTRAINTS = [
    "CREATE CONSTRAINT community_id IF NOT EXISTS FOR (c:Community) REQUIRE c.community_id IS UNIQUE",
    "CREATE INDEX community_graph IF NOT EXISTS FOR (c:Community) ON (c.graph_id)",
    "CREATE INDEX community_method IF NOT EXISTS FOR (c:Community) ON (c.method)",
    "CREATE INDEX community_hash IF NOT EXISTS FOR (c:Community) ON (c.hash)",
]
COMMUNITY_SCHEMA = pa.schema([
    ("community_id", pa.string()), ("graph_id", pa.string()), ("method", pa.string()), ("k", pa.int64()),
    ("size", pa.int64()), ("boundary_size", pa.int64()), ("hash", pa.string()), ("hash_noattr", pa.string()),
])
LINK_SCHEMA = pa.schema([("from", pa.string()), ("to", pa.string())])

OPERATORS_OF = (
    "MATCH (g:Graph)-[:CONTAINS]->(o:Operator) WHERE g.graph_id IN $ids "
    "RETURN o.graph_id AS graph_id, o.idx AS idx, o.uid AS uid, o.kind AS kind, o.op_type AS op_type, "
    "o.domain AS domain, o.scope AS scope, o.attrs AS attrs, o.initializers AS initializers"
)
FLOWS_OF = (
    "MATCH (g:Graph)-[:CONTAINS]->(a:Operator)-[f:FLOWS]->(b:Operator) WHERE g.graph_id IN $ids "
    "RETURN a.graph_id AS graph_id, a.idx AS src, f.src_slot AS src_slot, b.idx AS dst, f.dst_slot AS dst_slot"
)
# Community nodes are written with their links in one transaction, so these need no traversal.
DONE_GRAPHS = "MATCH (c:Community) WHERE c.method = $method RETURN DISTINCT c.graph_id AS graph_id"
DELETE_COMMUNITIES = "MATCH (c:Community) WHERE c.graph_id IN $ids AND c.method = $method DETACH DELETE c"
DEDUP = ("MATCH (c:Community) WHERE c.method = $method RETURN count(c) AS communities, "
         "count(DISTINCT c.hash) AS unique_hash, count(DISTINCT c.hash_noattr) AS unique_noattr")

Progress = Callable[[int, int], None]


@dataclass
class CommunitySummary:
    method: str
    seed: int | None = None
    graphs: int = 0  # graphs computed in this run
    skipped: int = 0  # graphs that already had communities of this method (rerun with force)
    communities: int = 0  # communities written in this run
    total_communities: int = 0  # communities of this method in the store after the run
    unique_subgraphs: int = 0  # distinct `hash` (with attributes) among them
    unique_subgraphs_noattr: int = 0  # distinct `hash_noattr`
    engine: str = "networkx"  # "gds" when Neo4j Graph Data Science computed every wcc partition (checked)
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.method}: {self.communities} communities in {self.graphs} graphs "
                f"({self.skipped} graphs already done); {self.total_communities} {self.method} communities in "
                f"the store, {self.unique_subgraphs} unique subgraphs with attributes, "
                f"{self.unique_subgraphs_noattr} without")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- schema ---------------------------------------------------------------------------------------
def ensure_community_schema(store: Store) -> None:
    """Declare Community, HAS_COMMUNITY and MEMBER_OF (embedded) or their constraint (Neo4j)."""
    store.ensure_schema({}, [])
    for statement in COMMUNITY_DDL if store.backend == "embedded" else COMMUNITY_CONSTRAINTS:
        store.run(statement, write=True)


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


def partition(nodes: Sequence[int], edges: Sequence[tuple[int, int]], method: str,
              seed: int = DEFAULT_SEED) -> list[list[int]]:
    """Communities of an undirected simple graph, each sorted, numbered by their smallest node."""
    if method not in METHODS:
        raise ValueError(f"unknown community method {method!r}; choose one of {', '.join(METHODS)}")
    import networkx as nx  # imported on use: 0.5 s, and only this step needs it

    g = nx.Graph()
    g.add_nodes_from(sorted(nodes))
    g.add_edges_from(sorted({(min(u, v), max(u, v)) for u, v in edges if u != v}))
    if method == "wcc":
        parts: Any = nx.connected_components(g)
    elif g.number_of_edges() == 0:
        parts = ([v] for v in g)
    elif method == "cnm":
        parts = nx.algorithms.community.greedy_modularity_communities(g)
    else:
        parts = nx.algorithms.community.louvain_communities(g, seed=seed)
    return sorted((sorted(p) for p in parts), key=lambda c: c[0])


@dataclass
class GraphCommunities:
    graph_id: str
    parts: list[list[int]]  # node idx per community, community k = parts[k]
    boundaries: list[list[int]]
    hashes: list[str]
    hashes_noattr: list[str]


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
    comm = np.empty(n, dtype=np.int64)
    members = [pos[np.asarray(p, dtype=np.int64)] for p in parts]
    for k, m in enumerate(members):
        comm[m] = k
    cs, cd = comm[src], comm[dst]
    crossing = cs != cd
    edge_ids = np.arange(len(src))
    owner = np.concatenate([cs, cd[crossing]])
    incident = np.concatenate([edge_ids, edge_ids[crossing]])
    order = np.argsort(owner, kind="stable")
    owner, incident = owner[order], incident[order]
    bounds = np.searchsorted(owner, np.arange(len(parts) + 1))
    local = np.full(n, -1, dtype=np.int64)
    out = GraphCommunities(graph_id, parts, [], [], [])
    for k, m in enumerate(members):
        e = incident[bounds[k]:bounds[k + 1]]
        ends = np.unique(np.concatenate([src[e], dst[e]]))
        boundary = np.setdiff1d(ends, m, assume_unique=True)
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
def _selected_graphs(store: Store, where: str | None) -> pd.DataFrame:
    from younger_graph.query import looks_like_write

    if where and looks_like_write(where):
        raise ValueError("--where must be a condition on g (the Graph), e.g. 'g.num_operators < 5000'")
    text = f"MATCH (g:Graph) WHERE {where} " if where else "MATCH (g:Graph) "
    text += "RETURN g.graph_id AS graph_id, g.num_nodes AS num_nodes"
    df = store.run(dialect.translate(text, store.backend))
    return df.sort_values("graph_id", kind="stable").reset_index(drop=True)


def _batches(graphs: pd.DataFrame, max_nodes: int) -> Iterator[list[str]]:
    batch: list[str] = []
    nodes = 0
    for gid, n in zip(graphs["graph_id"], graphs["num_nodes"].fillna(0)):
        if batch and (nodes + int(n) > max_nodes or len(batch) >= BATCH_GRAPHS):
            yield batch
            batch, nodes = [], 0
        batch.append(gid)
        nodes += int(n)
    if batch:
        yield batch


def _gds_available(store: Store) -> bool:
    if store.backend != "neo4j":
        return False
    try:
        store.run("CALL gds.version() YIELD gdsVersion RETURN gdsVersion")
    except QueryError:
        return False
    return True


def _gds_wcc(store: Store, ids: list[str]) -> dict[str, list[list[int]]] | None:
    """Weakly connected components of these graphs by GDS (one projection per batch), or None."""
    name = f"younger-graph-wcc-{uuid.uuid4().hex}"
    try:
        store.run("MATCH (g:Graph)-[:CONTAINS]->(s:Operator) WHERE g.graph_id IN $ids "
                  "OPTIONAL MATCH (s)-[:FLOWS]->(t:Operator) "
                  "WITH gds.graph.project($name, s, t) AS p RETURN p.nodeCount AS nodes",
                  {"ids": ids, "name": name}, write=True)
        df = store.run("CALL gds.wcc.stream($name) YIELD nodeId, componentId "
                       "WITH gds.util.asNode(nodeId) AS o, componentId "
                       "RETURN o.graph_id AS graph_id, o.idx AS idx, componentId AS component",
                       {"name": name}, write=True)
    except QueryError:
        return None
    finally:
        with contextlib.suppress(QueryError):
            store.run("CALL gds.graph.drop($name, false) YIELD graphName RETURN graphName", {"name": name},
                      write=True)
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
                            "hash_noattr": result.hashes_noattr[k]})
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
    if method not in METHODS:
        raise ValueError(f"unknown community method {method!r}; choose one of {', '.join(METHODS)}")
    summary = CommunitySummary(method, seed if method == "louvain" else None)
    ensure_community_schema(store)
    graphs = _selected_graphs(store, where)
    if not force:
        done = set(store.run(DONE_GRAPHS, {"method": method})["graph_id"])
        keep = ~graphs["graph_id"].isin(done)
        summary.skipped = int((~keep).sum())
        graphs = graphs[keep]
    gds = method == "wcc" and use_gds and _gds_available(store)
    gds_graphs = 0
    total = len(graphs)
    limit = batch_nodes or min(BATCH_NODES, max(store.chunk_rows, 1))
    done_count = 0
    if on_progress:
        on_progress(0, total)
    for ids in _batches(graphs, limit):
        ops_all = store.run(OPERATORS_OF, {"ids": ids})
        flows_all = store.run(FLOWS_OF, {"ids": ids})
        ops_by = dict(tuple(ops_all.sort_values(["graph_id", "idx"]).groupby("graph_id", sort=False)))
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
            parts = partition(ops["idx"].tolist(), list(zip(flows["src"].tolist(), flows["dst"].tolist())),
                              method, seed)
            if from_gds is not None:
                if from_gds.get(gid) == parts:
                    gds_graphs += 1
                else:
                    summary.warnings.append(f"{gid}: GDS wcc differs from networkx; networkx's result is stored")
            uid_of = dict(zip(ops["idx"].tolist(), ops["uid"].tolist()))
            c, h, mf, mt = _rows(method, describe(gid, ops, flows, parts), uid_of)
            communities += c
            has_from += [gid] * len(h)
            has_to += h
            member_from += mf
            member_to += mt
        prepare = [(DELETE_COMMUNITIES, {"ids": ids, "method": method})] if force else []
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
    dedup = store.run(DEDUP, {"method": method})
    summary.total_communities = int(dedup["communities"].iloc[0])
    summary.unique_subgraphs = int(dedup["unique_hash"].iloc[0])
    summary.unique_subgraphs_noattr = int(dedup["unique_noattr"].iloc[0])
    return summary
