"""`embed`: give a store's graphs their architecture view and embeddings (docs/arch.md).

Graphs loaded by this version already have both (the load computes them). This is for the rest:

1. graphs loaded before the architecture view existed (no `arch_num_nodes`): their exact operators
   and flows are read back (younger_graph.reading), the view is computed (younger_graph.views, the
   same function the load runs) and written: ArchOperator nodes, ARCH_CONTAINS, ARCH_FLOWS, the
   `arch_*` Graph properties, graph_id_arch where the tables had none, and the embeddings;
2. graphs whose embeddings are missing or of another `EMBED_VERSION` (or all, with `force`): the
   embeddings are recomputed from what the store holds, reading only op types, the attributes and
   initializers of weighted layers, and flow ends (the architecture view from ArchOperator/ARCH_FLOWS,
   the exact one from Operator/FLOWS), many graphs per statement and one row per graph (lists); tokens
   are hashed once per distinct operator row, the rest is numpy over the batch's disjoint union; the
   embeddings go back as one Arrow table per batch (`Store.write_embeddings`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from younger_graph.views import arch_chunk, cypher

if TYPE_CHECKING:
    from younger_graph.store.base import Store

Progress = Callable[[str, int, int], None]
BATCH_NODES = 500_000  # stored nodes read per statement when recomputing embeddings
VIEW_BATCH_NODES = 100_000  # exact nodes per batch when computing missing views (rows travel as Python objects)
ROWS_PER_STATEMENT = 2_000


@dataclass
class EmbedSummary:
    graphs: int = 0
    views_added: int = 0
    embedded: int = 0
    skipped: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"{self.graphs} graphs: architecture view added to {self.views_added}, embeddings computed for "
                f"{self.embedded}, {self.skipped} already up to date")

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def embed_store(store: Store, *, force: bool = False, on_progress: Progress | None = None) -> EmbedSummary:
    """Add the architecture view and embeddings where a store lacks them (module docstring);
    `force` recomputes every embedding. The store must be open for writing."""
    from younger_graph.arch.embed import EMBED_VERSION
    from younger_graph.reading import batches

    store.require_writable()
    store.ensure_schema({}, [])  # the view's node tables and Graph properties (stores older than them)
    summary = EmbedSummary()
    missing = store.query("graphs_without_view")
    summary.graphs = int(store.run("MATCH (g:Graph) RETURN count(g) AS n")["n"].iloc[0])
    done = 0
    for ids in batches(_sized(missing), VIEW_BATCH_NODES):
        add_views(store, ids)
        done += len(ids)
        summary.views_added += len(ids)
        if on_progress:
            on_progress("architecture views", done, len(missing))
    have = store.query("graphs_with_view")
    stale = have if force else have[have["embedding_version"].astype(str) != EMBED_VERSION]
    stale = stale[~stale["graph_id"].isin(set(missing["graph_id"]) if len(missing) else set())]
    summary.skipped = len(have) - len(stale) - len(missing)
    done = 0
    for ids in batches(_sized(stale), BATCH_NODES, max_graphs=5_000):
        write_embeddings(store, ids, *recompute_embeddings(store, ids))
        done += len(ids)
        summary.embedded += len(ids)
        if on_progress:
            on_progress("embeddings", done, len(stale))
    summary.embedded += summary.views_added
    store.reset_index()
    return summary


def _sized(df: Any) -> Any:
    import pandas as pd

    if not len(df):
        return pd.DataFrame({"graph_id": [], "num_nodes": [], "num_edges": []})
    df = df.copy()
    df["num_nodes"] = pd.to_numeric(df["num_nodes"], errors="coerce").fillna(0).astype("int64")
    return df


def add_views(store: Store, ids: list[str]) -> None:
    """Compute and write the architecture view of these graphs from their stored exact graph."""
    from younger_graph.reading import read_batch
    from younger_graph.schema import EDGES_SCHEMA, OPERATORS_SCHEMA

    ops, flows = read_batch(store, ids)
    operators = pa.Table.from_pandas(ops[OPERATORS_SCHEMA.names], schema=OPERATORS_SCHEMA, preserve_index=False)
    flows = flows.assign(scope="", tensor=flows["tensor"].replace("", None), dtype=flows["dtype"].replace("", None),
                         shape=flows["shape"].replace("", None))
    edges = pa.Table.from_pandas(flows[EDGES_SCHEMA.names], schema=EDGES_SCHEMA, preserve_index=False)
    known = store.run("MATCH (g:Graph) WHERE g.graph_id IN $ids RETURN g.graph_id AS graph_id, "
                      "g.graph_id_arch AS graph_id_arch", {"ids": ids})
    chunk = arch_chunk(ids, operators, edges, dict(zip(known["graph_id"], known["graph_id_arch"])))
    store.write_arch_view(chunk)
    props = chunk.graphs.drop_columns(["embedding_arch", "embedding_exact", "embedding_version"]).to_pylist()
    for start in range(0, len(props), ROWS_PER_STATEMENT):
        store.query("write_graph_views", rows=props[start:start + ROWS_PER_STATEMENT], write=True)
    store.write_embeddings(chunk.graphs.select(["graph_id", "embedding_arch", "embedding_exact", "embedding_version"]))


def _token_arrays(store: Store, ids: list[str], view: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """(structure token ints, width token ints, src, dst, graph index) of these graphs' stored view, as
    one disjoint union. The store returns one row per graph (lists): nodes stay in the order they come
    (the embedding does not depend on it); weighted layers' attributes and flow ends are mapped to
    those rows through (graph, idx)."""
    from younger_graph.arch.embed import table_token_ints

    position = {gid: i for i, gid in enumerate(ids)}
    graph_of, nodes = _flattened(_read(store, "read_tokens", view, ids), position)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(graph_of, minlength=len(ids)))[:-1]]).astype(np.int64)
    row_of = _rows_by_slot(offsets, graph_of, _ints(nodes, "idx"))
    w_graph, weights = _flattened(_read(store, "read_token_weights", view, ids), position)
    nodes = _with_weights(nodes, weights, row_of[_ints(weights, "idx") + offsets[w_graph]])
    structure, width = table_token_ints(nodes)
    f_graph, flows = _flattened(_read(store, "read_flow_ends", view, ids), position)
    f_offsets = offsets[f_graph]
    return structure, width, row_of[_ints(flows, "src") + f_offsets], row_of[_ints(flows, "dst") + f_offsets], graph_of


def _read(store: Store, name: str, view: str, ids: list[str]) -> pa.Table:
    from younger_graph.query import resolve

    return store.run_arrow(cypher(resolve(name).text_for(store.backend), view), {"ids": ids})


def _with_weights(nodes: pa.Table, weights: pa.Table, rows: np.ndarray) -> pa.Table:
    """`nodes` plus attrs and initializers columns: the weighted layers' (at `rows`), '' elsewhere."""
    pick = np.full(nodes.num_rows, len(rows), dtype=np.int64)
    pick[rows] = np.arange(len(rows), dtype=np.int64)
    for name in ("attrs", "initializers"):
        values = weights.column(name).combine_chunks() if len(rows) else pa.array([], pa.string())
        nodes = nodes.append_column(name, pa.concat_arrays([values.cast(pa.string()), pa.array([""])]).take(pick))
    return nodes


def _ints(table: pa.Table, name: str) -> np.ndarray:
    if name not in table.column_names:  # no rows (a store may not type an empty result)
        return np.zeros(0, np.int64)
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.int64)


def _flattened(table: pa.Table, position: dict[str, int]) -> tuple[np.ndarray, pa.Table]:
    """A result of one row per graph (graph_id, then lists of equal length) as (each element's graph
    position in the batch, a table of the flattened lists)."""
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return np.zeros(0, np.int64), pa.table({})
    names = [n for n in table.column_names if n != "graph_id"]
    lengths = pc.list_value_length(table.column(names[0])).to_numpy(zero_copy_only=False).astype(np.int64)
    graphs = np.array([position[g] for g in table.column("graph_id").to_pylist()], dtype=np.int64)
    return np.repeat(graphs, lengths), pa.table({n: pc.list_flatten(table.column(n)) for n in names})


def _rows_by_slot(offsets: np.ndarray, graph_of: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """row_of[offsets[graph] + idx] = the row holding that node; each graph's idx must be 0..n-1."""
    n = len(idx)
    sizes = np.bincount(graph_of, minlength=len(offsets))
    if n and (idx.min() < 0 or (idx >= sizes[graph_of]).any()):
        raise ValueError("stored operators are not numbered 0..n-1 in their graph (idx)")
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[offsets[graph_of] + idx] = np.arange(n, dtype=np.int64)
    if n and row_of.min() < 0:
        raise ValueError("stored operators are not numbered 0..n-1 in their graph (idx repeated)")
    return row_of


def recompute_embeddings(store: Store, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(arch, exact) embeddings of these graphs from what the store holds."""
    from younger_graph.arch.embed import embed_hashed

    out = []
    for view in ("arch", "exact"):
        tokens, widths, src, dst, graph_of = _token_arrays(store, ids, view)
        out.append(embed_hashed(tokens, widths, src, dst, graph_of, len(ids)))
    return out[0], out[1]


def write_embeddings(store: Store, ids: list[str], arch: np.ndarray, exact: np.ndarray) -> None:
    from younger_graph.arch.embed import EMBED_VERSION

    def vectors(m: np.ndarray) -> pa.Array:
        flat = pa.array(np.ascontiguousarray(m, dtype=np.float32).reshape(-1))
        return pa.FixedSizeListArray.from_arrays(flat, m.shape[1]).cast(pa.list_(pa.float32()))

    store.write_embeddings(pa.table({"graph_id": pa.array(ids, pa.string()), "embedding_arch": vectors(arch),
                                     "embedding_exact": vectors(exact),
                                     "embedding_version": pa.array([EMBED_VERSION] * len(ids), pa.string())}))


__all__ = ["EmbedSummary", "add_views", "embed_store", "recompute_embeddings",
           "write_embeddings"]
