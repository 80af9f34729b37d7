"""Graphs out of a store, for analysis (communities) and export: selection, batches, boundaries.

1. `select_graphs`: the graphs to read (every Graph, a library query's `graph_id` column, a Cypher
   condition on `g`, or both), with their stored sizes, sorted by graph_id;
2. `batches`: consecutive runs of those ids holding at most `max_nodes` stored nodes (always at least
   one whole graph);
3. `read_batch`: per batch, the named queries `read_operators` and `read_flows`
   (cypher/internal/), returned sorted (graph_id, idx) and (graph_id, src, dst, src_slot, dst_slot)
   so that every backend gives identical rows; `read_communities` likewise for stored communities;
   `read_flow_types` (flows with their declared dtype and shape, None when undeclared),
   `read_graph_models` (each graph's Model nodes, whole) and `read_graph_keys` (graph_id_noattr,
   num_nodes) for to-onnx and splits;
4. `community_incidence` / `boundary_nodes`: which flows touch each community of a graph and which
   operators outside it they reach (the boundary), one computation for `communities` (hashes) and
   for the operator-prediction export (items).

The selection is the one piece of generated Cypher here: the user's `--where` condition is a
Cypher expression by design, so it is checked to only read (`check_read_only_condition`) and runs
as a read statement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from younger_graph import dialect, views
from younger_graph.errors import QueryError, UsageError
from younger_graph.query import looks_like_write, resolve
from younger_graph.store.base import Store

__all__ = [
    "OPERATOR_COLUMNS", "Selection", "batches", "boundary_nodes", "community_incidence", "graphs_with_communities",
    "graphs_with_outdated_communities", "read_batch", "read_communities", "read_flow_types", "read_graph_keys",
    "read_graph_models", "select_graphs",
]

ID_CHUNK = 10_000  # graph ids bound to one statement, at most
MAX_GRAPHS = 1_000  # graphs per batch, at most
GRAPH_FIELDS = "g.graph_id AS graph_id, g.num_nodes AS num_nodes, g.num_edges AS num_edges"
WHERE_HELP = "a condition on g (the Graph), e.g. 'g.num_operators < 5000'"

# Columns of read_batch's frames, with the types they are given (integers int64, strings '' for null).
OPERATOR_COLUMNS = {"graph_id": "str", "idx": "int", "uid": "any", "kind": "str", "op_type": "str",
                    "domain": "str", "scope": "str", "name": "str", "attrs": "str", "initializers": "str"}
FLOW_COLUMNS = {"graph_id": "str", "src": "int", "dst": "int", "src_slot": "int", "dst_slot": "int",
                "tensor": "str", "dtype": "str", "shape": "str"}
FLOW_TYPE_COLUMNS = {**FLOW_COLUMNS, "dtype": "any", "shape": "any"}
KEY_COLUMNS = {"graph_id": "str", "graph_id_noattr": "str", "graph_id_arch": "str", "num_nodes": "int"}
COMMUNITY_COLUMNS = {"graph_id": "str", "k": "int", "community_id": "str", "hash": "str", "hash_noattr": "str",
                     "idx": "int"}


@dataclass
class Selection:
    """Which graphs to read: a query returning `graph_id` and/or a Cypher condition on `g`."""

    query: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    where: str | None = None

    def describe(self, backend: str) -> dict[str, Any]:
        out: dict[str, Any] = {"query": self.query, "params": self.params, "where": self.where}
        if self.query:
            out["cypher"] = resolve(self.query).text_for(backend)
        out["selection_cypher"] = selection_cypher(self.where, by_ids=bool(self.query))
        return out


def check_read_only_condition(where: str) -> None:
    """The selection statement with `where` in it must only read (store/readonly.py reads it as the
    engine does: an escaped quote cannot hide a clause). It also runs as a read statement of its
    own, before anything is written: the embedded store checks it again, Neo4j in a READ session."""
    if looks_like_write(selection_cypher(where, by_ids=False)):
        raise UsageError(f"--where must be {WHERE_HELP}, and only read")


def selection_cypher(where: str | None, *, by_ids: bool) -> str:
    """The statement selecting graphs: `g.graph_id IN $ids` (a query's result) and/or `(where)`."""
    conditions = (["g.graph_id IN $ids"] if by_ids else []) + ([f"({where})"] if where else [])
    text = "MATCH (g:Graph) "
    if conditions:
        text += "WHERE " + " AND ".join(conditions) + " "
    return text + "RETURN " + GRAPH_FIELDS


def select_graphs(store: Store, selection: Selection | None = None, view: str = "exact") -> pd.DataFrame:
    """graph_id, num_nodes, num_edges of the selected graphs, sorted by graph_id (unique); sizes of
    the view (younger_graph.views; with `arch` the --where condition is rewritten too:
    `g.num_operators` means the architecture view's operators)."""
    selection = selection or Selection()
    if selection.where:
        check_read_only_condition(selection.where)
    if selection.query:
        q = resolve(selection.query)
        if q.writes or looks_like_write(q.text):
            raise UsageError(f"query {q.name} modifies the store; a selection query must only read")
        found = store.run(q.text_for(store.backend), q.bind(dict(selection.params)))
        if "graph_id" not in found.columns:
            raise UsageError(f"query {q.name} returns no graph_id column (it returns {', '.join(found.columns)})")
        ids = sorted({str(g) for g in found["graph_id"] if g is not None})
        text = views.cypher(dialect.translate(selection_cypher(selection.where, by_ids=True), store.backend), view)
        frames = [store.run(text, {"ids": ids[i:i + ID_CHUNK]}) for i in range(0, len(ids), ID_CHUNK)]
        frames = [f for f in frames if len(f)]
        df = pd.concat(frames, ignore_index=True) if frames else _empty_graphs()
    else:
        df = store.run(views.cypher(dialect.translate(selection_cypher(selection.where, by_ids=False),
                                                      store.backend), view))
    if not len(df):
        df = _empty_graphs()
    if view != "exact" and df["num_nodes"].isna().any():
        missing = int(df["num_nodes"].isna().sum())
        raise UsageError(f"{missing} selected graphs have no {view} view (loaded by an older younger-graph): run "
                         f"`younger-graph embed --db {store.location}` first")
    df = df.drop_duplicates("graph_id").sort_values("graph_id", kind="stable").reset_index(drop=True)
    for column in ("num_nodes", "num_edges"):
        df[column] = pd.to_numeric(df[column], errors="coerce").fillna(0).astype("int64")
    return df


def _empty_graphs() -> pd.DataFrame:
    return pd.DataFrame({"graph_id": pd.Series([], dtype=object), "num_nodes": pd.Series([], dtype="int64"),
                         "num_edges": pd.Series([], dtype="int64")})


def batches(graphs: pd.DataFrame, max_nodes: int, max_graphs: int = MAX_GRAPHS) -> Iterator[list[str]]:
    """Runs of consecutive graph ids with at most `max_nodes` stored nodes (one graph at least)."""
    batch: list[str] = []
    nodes = 0
    for gid, n in zip(graphs["graph_id"], graphs["num_nodes"]):
        if batch and (nodes + int(n) > max_nodes or len(batch) >= max_graphs):
            yield batch
            batch, nodes = [], 0
        batch.append(str(gid))
        nodes += int(n)
    if batch:
        yield batch


def typed(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The frame with these columns, `int` ones as int64 and `str` ones with '' for nulls."""
    out = {}
    for name, kind in columns.items():
        col = df[name] if name in df.columns else pd.Series([None] * len(df), dtype=object)
        if kind == "int":
            out[name] = pd.to_numeric(col, errors="coerce").fillna(0).astype("int64").to_numpy()
        elif kind == "str":
            out[name] = col.astype(object).where(col.notna(), "").to_numpy()
        else:
            out[name] = col.to_numpy()
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def read_batch(store: Store, ids: list[str], view: str = "exact") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(operators, flows) of these graphs in a view (younger_graph.views), typed and sorted (see the
    module docstring)."""
    ops = typed(store.query("read_operators", ids=ids, view=view), OPERATOR_COLUMNS)
    flows = typed(store.query("read_flows", ids=ids, view=view), FLOW_COLUMNS)
    ops = ops.sort_values(["graph_id", "idx"], kind="stable").reset_index(drop=True)
    flows = flows.sort_values(["graph_id", "src", "dst", "src_slot", "dst_slot"], kind="stable").reset_index(drop=True)
    return ops, flows


def read_flow_types(store: Store, ids: list[str]) -> pd.DataFrame:
    """The flows of these graphs with their tensors' declared dtype and shape (None when undeclared),
    sorted like read_batch's flows."""
    flows = typed(store.query("read_flows", ids=ids), FLOW_TYPE_COLUMNS)
    for column in ("dtype", "shape"):
        flows[column] = flows[column].astype(object).where(flows[column].notna(), None)
    return flows.sort_values(["graph_id", "src", "dst", "src_slot", "dst_slot"], kind="stable").reset_index(drop=True)


def read_graph_models(store: Store, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """graph_id → its Model nodes as property dicts (every stored property), sorted by model_id."""
    df = store.query("read_graph_models", ids=ids)
    out: dict[str, list[dict[str, Any]]] = {}
    if not len(df):
        return out
    rows = sorted(zip(df["graph_id"], df["model_id"].astype(str), df["model"]), key=lambda r: (str(r[0]), r[1]))
    for gid, _mid, model in rows:
        props = {k: v for k, v in dict(model).items() if not str(k).startswith("_")}  # LadybugDB's _ID, _LABEL
        out.setdefault(str(gid), []).append(props)
    return out


def read_graph_keys(store: Store, ids: list[str]) -> pd.DataFrame:
    """graph_id, graph_id_noattr, graph_id_arch ('' when the store has none), num_nodes of these graphs,
    sorted by graph_id."""
    df = typed(store.query("read_graph_keys", ids=ids), KEY_COLUMNS)
    return df.sort_values("graph_id", kind="stable").reset_index(drop=True)


def read_communities(store: Store, ids: list[str], method: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(communities, members) of these graphs for one method, sorted (graph_id, k[, idx])."""
    rows = typed(store.query("read_community_members", ids=ids, method=method), COMMUNITY_COLUMNS)
    rows = rows.sort_values(["graph_id", "k", "idx"], kind="stable").reset_index(drop=True)
    communities = rows.drop_duplicates(["graph_id", "k"])[["graph_id", "k", "community_id", "hash", "hash_noattr"]]
    return communities.reset_index(drop=True), rows[["graph_id", "k", "idx"]]


def graphs_with_communities(store: Store, method: str) -> set[str]:
    try:
        df = store.query("graphs_with_communities", method=method)
    except QueryError:  # a store written before Community existed
        return set()
    return {str(g) for g in df["graph_id"]} if len(df) else set()


def graphs_with_outdated_communities(store: Store, method: str) -> set[str]:
    """Graphs whose communities of `method` were written before `operators`/`modularity` existed
    (the store must declare those properties: communities.compute_communities does)."""
    df = store.query("graphs_with_outdated_communities", method=method)
    return {str(g) for g in df["graph_id"]} if len(df) else set()


# -- communities and their boundaries ---------------------------------------------------------------
def community_incidence(src: np.ndarray, dst: np.ndarray, owner: np.ndarray,
                        count: int) -> tuple[np.ndarray, np.ndarray]:
    """The flows touching each community, as (ptr, edges): community k's flow positions, sorted,
    are edges[ptr[k]:ptr[k + 1]]. `owner[i]` is node i's community (0..count-1, or -1 for none);
    a flow between two communities touches both."""
    cs, cd = owner[src], owner[dst]
    crossing = cs != cd
    edge_ids = np.arange(len(src), dtype=np.int64)
    who = np.concatenate([cs, cd[crossing]])
    incident = np.concatenate([edge_ids, edge_ids[crossing]])
    order = np.lexsort((incident, who))
    who, incident = who[order], incident[order]
    ptr = np.searchsorted(who, np.arange(count + 1))
    return ptr, incident


def boundary_nodes(members: np.ndarray, src: np.ndarray, dst: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The nodes outside `members` (sorted, unique) at an end of these flows: the community's boundary."""
    ends = np.unique(np.concatenate([src[edges], dst[edges]]))
    return np.setdiff1d(ends, members)
